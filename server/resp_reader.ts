/**
 * RESP decoding.
 *
 * {@link RequestReader} parses what clients send to the server (multibulk and inline commands)
 * with Redis 7.0's rules and error texts; {@link ReplyReader} decodes RESP2/RESP3 replies on the
 * client side (test client, replication links). Both are push/pull decoders: feed received bytes
 * with `push()`, then call `next()` until it returns `undefined`. Both are robust to any split of
 * the input into chunks, down to one byte at a time.
 */
import { Buffer } from "node:buffer";
import { ProtocolError } from "../engine/errors.ts";
import { ReplyError, type ReplyValue } from "../engine/reply.ts";
import { encodeCommand, writeLatin1 } from "./resp_writer.ts";

const CR = 13;
const LF = 10;
const EMPTY = new Uint8Array(0);
/** Redis reads at most this much per read(2) while it looks for a line end (PROTO_IOBUF_LEN). */
const IOBUF_LEN = 16 * 1024;
/** An owned buffer larger than this is dropped when it becomes empty. */
const KEEP_CAPACITY = 1024 * 1024;
const MIN_CAPACITY = 16 * 1024;

// ---------------------------------------------------------------------------------------------
// Byte/string helpers
// ---------------------------------------------------------------------------------------------

/** Node's Buffer has an (undocumented, faster) latin1Slice besides toString("latin1"). */
interface Latin1Slicer {
  latin1Slice(start: number, end: number): string;
  toString(encoding: "latin1"): string;
}
const HAS_LATIN1_SLICE =
  typeof (Buffer.prototype as unknown as Partial<Latin1Slicer>).latin1Slice === "function";

/** Decodes bytes as latin1 (one char per byte, the project's "binary string"). */
export function bytesToLatin1(u8: Uint8Array): string {
  return latin1Slice(u8, 0, u8.length);
}

/** latin1 string of `u8[from, to)`. */
export function latin1Slice(u8: Uint8Array, from: number, to: number): string {
  const n = to - from;
  if (n <= 16) {
    let s = "";
    for (let i = from; i < to; i++) s += String.fromCharCode(u8[i]!);
    return s;
  }
  // Node's latin1 is the true ISO-8859-1 mapping (TextDecoder("latin1") is windows-1252).
  const b = Buffer.from(u8.buffer, u8.byteOffset + from, n) as unknown as Latin1Slicer;
  return HAS_LATIN1_SLICE ? b.latin1Slice(0, n) : b.toString("latin1");
}

/** Encodes a latin1 string as bytes (one byte per char; chars above 0xFF keep their low byte). */
export function latin1ToBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  writeLatin1(out, 0, s);
  return out;
}

/** The lower-case ASCII form of a command name given as bytes (e.g. `GET` → `get`). */
export function lowerAscii(u8: Uint8Array): string {
  const n = u8.length;
  if (n > 64) return bytesToLatin1(u8).replace(/[A-Z]+/g, (m) => m.toLowerCase());
  let s = "";
  for (let i = 0; i < n; i++) {
    const c = u8[i]!;
    s += String.fromCharCode(c >= 65 && c <= 90 ? c | 0x20 : c);
  }
  return s;
}

/** True when `u8` equals the lower-case ASCII string `lower` ignoring ASCII case. */
export function asciiLowerEquals(u8: Uint8Array, lower: string): boolean {
  const n = u8.length;
  if (n !== lower.length) return false;
  for (let i = 0; i < n; i++) {
    const c = u8[i]!;
    if ((c >= 65 && c <= 90 ? c | 0x20 : c) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Redis' string2ll over `buf[from, to)`: optional `-`, no `+`, no leading zeros, no spaces,
 * within the signed 64-bit range. Returns NaN when invalid; values beyond 2^53 are approximate.
 */
function parseLL(buf: Uint8Array, from: number, to: number): number {
  if (from >= to) return NaN;
  let i = from;
  let neg = false;
  if (buf[i] === 45) {
    neg = true;
    i++;
    if (i === to) return NaN;
  }
  const first = buf[i]!;
  if (first === 48) return to - from === 1 ? 0 : NaN; // "0" only; "-0" and "01" are invalid
  if (first < 49 || first > 57) return NaN;
  const digits = to - i;
  if (digits > 19) return NaN;
  let v = 0;
  for (; i < to; i++) {
    const c = buf[i]! - 48;
    if (c < 0 || c > 9) return NaN;
    v = v * 10 + c;
  }
  if (digits === 19) {
    const b = BigInt(latin1Slice(buf, from, to));
    if (b > 9223372036854775807n || b < -9223372036854775808n) return NaN;
  }
  return neg ? -v : v;
}

/** C isspace() in the C locale. */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

function hexVal(c: number): number {
  return c <= 57 ? c - 48 : (c | 0x20) - 87;
}

/**
 * Splits an inline command line like Redis' sdssplitargs: blanks separate arguments,
 * `"..."` supports `\n \r \t \b \a \xHH` and `\<any>` escapes, `'...'` supports `\'`, and a
 * closing quote must be followed by a blank or the end of the line. A NUL byte ends the line
 * (sdssplitargs works on C strings). Returns undefined for unbalanced quotes. The arguments may
 * be views of `buf`.
 */
export function splitInlineArgs(
  buf: Uint8Array,
  from: number,
  to: number,
): Uint8Array[] | undefined {
  let end = to;
  let quoted = false;
  for (let i = from; i < to; i++) {
    const c = buf[i]!;
    if (c === 0) {
      end = i;
      break;
    }
    if (c === 34 || c === 39) quoted = true;
  }
  const args: Uint8Array[] = [];
  if (!quoted) {
    // Fast path: no quotes, arguments are views of `buf`.
    let p = from;
    for (;;) {
      while (p < end && isSpace(buf[p]!)) p++;
      if (p >= end) return args;
      const start = p;
      for (; p < end; p++) {
        const c = buf[p]!;
        if (c === 32 || c === 10 || c === 13 || c === 9) break;
      }
      args.push(buf.subarray(start, p));
    }
  }
  let cur: number[] = [];
  let p = from;
  for (;;) {
    while (p < end && isSpace(buf[p]!)) p++;
    if (p >= end) return args;
    let inq = false;
    let insq = false;
    let done = false;
    cur = [];
    while (!done) {
      const c = p < end ? buf[p]! : 0;
      const c1 = p + 1 < end ? buf[p + 1]! : 0;
      if (inq) {
        if (c === 92 && c1 === 120 && p + 3 < end && isHex(buf[p + 2]!) && isHex(buf[p + 3]!)) {
          cur.push(hexVal(buf[p + 2]!) * 16 + hexVal(buf[p + 3]!));
          p += 3;
        } else if (c === 92 && p + 1 < end) {
          p++;
          switch (c1) {
            case 110:
              cur.push(10);
              break;
            case 114:
              cur.push(13);
              break;
            case 116:
              cur.push(9);
              break;
            case 98:
              cur.push(8);
              break;
            case 97:
              cur.push(7);
              break;
            default:
              cur.push(c1);
          }
        } else if (c === 34 && p < end) {
          if (p + 1 < end && !isSpace(c1)) return undefined;
          done = true;
        } else if (p >= end) {
          return undefined;
        } else {
          cur.push(c);
        }
      } else if (insq) {
        if (c === 92 && c1 === 39 && p + 1 < end) {
          p++;
          cur.push(39);
        } else if (c === 39 && p < end) {
          if (p + 1 < end && !isSpace(c1)) return undefined;
          done = true;
        } else if (p >= end) {
          return undefined;
        } else {
          cur.push(c);
        }
      } else if (p >= end || c === 32 || c === 10 || c === 13 || c === 9) {
        done = true;
      } else if (c === 34) {
        inq = true;
      } else if (c === 39) {
        insq = true;
      } else {
        cur.push(c);
      }
      if (p < end) p++;
    }
    args.push(Uint8Array.from(cur));
  }
}

// ---------------------------------------------------------------------------------------------
// RequestReader
// ---------------------------------------------------------------------------------------------

/** One complete client command. */
export interface ParsedRequest {
  argc: number;
  /** The arguments (args[0] is the command name): views valid until the next `push()`. */
  args: Uint8Array[];
  /**
   * The command as multibulk bytes: the exact bytes received (a view valid until the next
   * `push()`), or a fresh encoding for inline commands and for multibulk commands whose line
   * terminators were not CRLF (Redis accepts any two bytes there).
   */
  raw: Uint8Array;
}

/** Parser limits; mutable at run time (CONFIG SET proto-max-bulk-len). */
export interface RequestLimits {
  /** proto-max-bulk-len: larger bulk lengths are "invalid bulk length". */
  maxBulkLen: number;
  /** Larger multibulk counts are "invalid multibulk length" (Redis 7.0: INT_MAX). */
  maxMultibulk: number;
  /** PROTO_INLINE_MAX_SIZE: longest inline line / header line without its terminator. */
  maxInline: number;
}

/**
 * Parses client requests with Redis 7.0's rules.
 *
 * Buffering: when nothing is pending, `push()` keeps a reference to the caller's chunk instead of
 * copying it, so the common case (chunks holding whole commands) copies nothing. Leftover bytes
 * of an incomplete command are copied into an owned buffer when `next()` returns `undefined`, so
 * the caller may reuse its read buffer once `next()` has returned `undefined` (not before).
 *
 * Errors are thrown as {@link ProtocolError}s (message `Protocol error: ...`); after one, the
 * reader is dead and `next()` throws the same error again (Redis closes the connection).
 */
export class RequestReader {
  readonly limits: RequestLimits;
  /**
   * Set while the client still has to AUTH (requirepass): like Redis, multibulk counts above 10
   * and bulk lengths above 16384 are then protocol errors ("unauthenticated ... length").
   */
  unauthenticated = false;
  #buf: Uint8Array = EMPTY;
  #owned = false;
  /** Owned storage kept for reuse while #buf borrows a chunk. */
  #spare: Uint8Array | undefined;
  /** Start of the current, unfinished command. */
  #start = 0;
  /** End of the received bytes. */
  #end = 0;
  /** Parse position. */
  #pos = 0;
  /** Arguments still to read of the current multibulk; 0 at a command boundary. */
  #mbLeft = 0;
  /** Length of the bulk being read, -1 when its header is not read yet. */
  #bulkLen = -1;
  /** (offset from #start, length) pairs of the arguments read so far. */
  #offs: number[] = [];
  /** Bytes of the line at #pos already searched for its terminator. */
  #scanned = 0;
  /** True when the current command had a non-CRLF terminator (raw must be re-encoded). */
  #irregular = false;
  #error: ProtocolError | undefined;

  constructor(limits: Partial<RequestLimits> = {}) {
    this.limits = {
      maxBulkLen: limits.maxBulkLen ?? 512 * 1024 * 1024,
      maxMultibulk: limits.maxMultibulk ?? 2147483647,
      maxInline: limits.maxInline ?? 64 * 1024,
    };
  }

  /** Bytes received and not yet returned as commands. */
  get pending(): number {
    return this.#end - this.#start;
  }

  /** Appends received bytes. Views returned by earlier `next()` calls become invalid. */
  push(chunk: Uint8Array): void {
    const n = chunk.length;
    if (n === 0 || this.#error) return;
    if (this.#start === this.#end) {
      if (this.#owned && this.#buf.length <= KEEP_CAPACITY) this.#spare = this.#buf;
      this.#buf = chunk;
      this.#owned = false;
      this.#start = this.#pos = this.#scanned = 0;
      this.#end = n;
      return;
    }
    this.#reserve(n);
    this.#buf.set(chunk, this.#end);
    this.#end += n;
  }

  /** Makes room for `extra` more bytes after #end in an owned buffer. */
  #reserve(extra: number): void {
    const pending = this.#end - this.#start;
    const need = pending + extra;
    const buf = this.#buf;
    if (this.#owned && this.#end + extra <= buf.length) return;
    if (this.#owned && need <= buf.length && this.#start > 0) {
      buf.copyWithin(0, this.#start, this.#end);
    } else {
      let target: Uint8Array;
      if (!this.#owned && this.#spare !== undefined && need <= this.#spare.length) {
        target = this.#spare;
      } else {
        let cap = Math.max(MIN_CAPACITY, this.#owned ? buf.length * 2 : 0, need);
        // A big bulk being received: size the buffer for it at once (as Redis does).
        if (this.#bulkLen >= 0) {
          cap = Math.max(cap, this.#pos - this.#start + this.#bulkLen + 2);
        }
        target = new Uint8Array(cap);
      }
      target.set(buf.subarray(this.#start, this.#end), 0);
      this.#buf = target;
      this.#owned = true;
      this.#spare = undefined;
    }
    this.#pos -= this.#start;
    this.#end = pending;
    this.#start = 0;
  }

  /** Called when more bytes are needed: secure leftovers of a borrowed chunk. */
  #idle(): undefined {
    if (this.#start === this.#end) {
      if (!this.#owned) {
        this.#buf = EMPTY;
      } else if (this.#buf.length > KEEP_CAPACITY) {
        this.#buf = EMPTY;
        this.#owned = false;
      }
      this.#start = 0;
      this.#pos = 0;
      this.#end = 0;
      this.#scanned = 0;
    } else if (!this.#owned) {
      this.#reserve(0);
    }
    return undefined;
  }

  #fail(message: string): never {
    this.#error = new ProtocolError(message);
    throw this.#error;
  }

  /**
   * Index of the first `byte` of the line starting at #pos, searching from `skip` bytes in, or
   * -1. Remembers how far it searched so that a line arriving in many small chunks is scanned
   * once (no quadratic rescans).
   */
  #findInLine(byte: number, skip: number): number {
    const buf = this.#buf;
    const end = this.#end;
    const pos = this.#pos;
    for (let i = pos + Math.max(skip, this.#scanned); i < end; i++) {
      if (buf[i] === byte) {
        this.#scanned = i - pos;
        return i;
      }
    }
    this.#scanned = end - pos;
    return -1;
  }

  /** The next complete command, or undefined when more bytes are needed. */
  next(): ParsedRequest | undefined {
    if (this.#error) throw this.#error;
    const buf = this.#buf;
    const limits = this.limits;
    for (;;) {
      if (this.#mbLeft === 0) {
        const pos = this.#pos;
        if (pos >= this.#end) return this.#idle();
        if (buf[pos] !== 42) {
          const r = this.#inline();
          if (r === null) continue; // empty line
          return r;
        }
        const cr = this.#findInLine(CR, 1);
        // Redis needs one more byte after the CR (it does not check that it is LF).
        if (cr === -1 || cr + 1 >= this.#end) {
          if (cr === -1 && this.#end - pos > limits.maxInline) {
            this.#fail("too big mbulk count string");
          }
          return this.#idle();
        }
        if (cr - pos > limits.maxInline + IOBUF_LEN) this.#fail("too big mbulk count string");
        const n = parseLL(buf, pos + 1, cr);
        if (!(n <= limits.maxMultibulk)) this.#fail("invalid multibulk length"); // NaN too
        if (n > 10 && this.unauthenticated) this.#fail("unauthenticated multibulk length");
        this.#pos = cr + 2;
        this.#scanned = 0;
        if (n <= 0) {
          // *0 and negative counts are skipped without a reply.
          this.#start = this.#pos;
          continue;
        }
        this.#irregular = buf[cr + 1] !== LF;
        this.#mbLeft = n;
        this.#bulkLen = -1;
        this.#offs.length = 0;
      }
      while (this.#mbLeft > 0) {
        let pos = this.#pos;
        if (this.#bulkLen < 0) {
          const cr = this.#findInLine(CR, 0);
          if (cr === -1 || cr + 1 >= this.#end) {
            if (cr === -1 && this.#end - pos > limits.maxInline) {
              this.#fail("too big bulk count string");
            }
            return this.#idle();
          }
          if (cr - pos > limits.maxInline + IOBUF_LEN) this.#fail("too big bulk count string");
          const c = buf[pos]!;
          if (c !== 36) {
            // Redis turns CR/LF in error messages into spaces.
            this.#fail(
              `expected '$', got '${c === CR || c === LF ? " " : String.fromCharCode(c)}'`,
            );
          }
          const len = parseLL(buf, pos + 1, cr);
          if (!(len >= 0 && len <= limits.maxBulkLen)) this.#fail("invalid bulk length");
          if (len > 16384 && this.unauthenticated) this.#fail("unauthenticated bulk length");
          if (buf[cr + 1] !== LF) this.#irregular = true;
          this.#pos = pos = cr + 2;
          this.#scanned = 0;
          this.#bulkLen = len;
        }
        const len = this.#bulkLen;
        if (this.#end - pos < len + 2) return this.#idle();
        // Like Redis, the two bytes after the payload are skipped unchecked.
        if (buf[pos + len] !== CR || buf[pos + len + 1] !== LF) this.#irregular = true;
        this.#offs.push(pos - this.#start, len);
        this.#pos = pos + len + 2;
        this.#bulkLen = -1;
        this.#mbLeft--;
      }
      return this.#complete();
    }
  }

  #complete(): ParsedRequest {
    const buf = this.#buf;
    const start = this.#start;
    const offs = this.#offs;
    const argc = offs.length >> 1;
    const args = new Array<Uint8Array>(argc);
    for (let i = 0, j = 0; i < argc; i++, j += 2) {
      const off = start + offs[j]!;
      args[i] = buf.subarray(off, off + offs[j + 1]!);
    }
    let raw: Uint8Array;
    if (this.#irregular) {
      raw = encodeCommand(args);
      this.#irregular = false;
    } else {
      raw = buf.subarray(start, this.#pos);
    }
    this.#start = this.#pos;
    return { argc, args, raw };
  }

  /** Parses one inline line at #pos; null for an empty line, undefined when incomplete. */
  #inline(): ParsedRequest | null | undefined {
    const buf = this.#buf;
    const pos = this.#pos;
    const end = this.#end;
    const max = this.limits.maxInline;
    const nl = this.#findInLine(LF, 0);
    if (nl === -1) {
      if (end - pos > max) this.#fail("too big inline request");
      return this.#idle();
    }
    if (nl - pos > max + IOBUF_LEN) this.#fail("too big inline request");
    const lineEnd = nl > pos && buf[nl - 1] === CR ? nl - 1 : nl;
    const parts = splitInlineArgs(buf, pos, lineEnd);
    if (parts === undefined) this.#fail("unbalanced quotes in request");
    this.#pos = this.#start = nl + 1;
    this.#scanned = 0;
    if (parts.length === 0) return null;
    const raw = encodeCommand(parts);
    // Make the args views into `raw` (one allocation for the whole command).
    const args = new Array<Uint8Array>(parts.length);
    let off = digitsLen(parts.length) + 3;
    for (let i = 0; i < parts.length; i++) {
      const len = parts[i]!.length;
      off += digitsLen(len) + 3;
      args[i] = raw.subarray(off, off + len);
      off += len + 2;
    }
    return { argc: args.length, args, raw };
  }
}

function digitsLen(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
  return d;
}

// ---------------------------------------------------------------------------------------------
// ReplyReader
// ---------------------------------------------------------------------------------------------

/** One decoded reply; `push` is true for RESP3 out-of-band pushes (`>`). */
export interface DecodedReply {
  value: ReplyValue;
  push: boolean;
}

const enum FrameKind {
  Array,
  Map,
  Attribute,
}

interface ReplyFrame {
  kind: FrameKind;
  items: ReplyValue[];
  left: number;
}

/** The reply stream is not valid RESP. */
export class ReplyProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReplyProtocolError";
  }
}

/**
 * Decodes RESP2 and RESP3 replies into {@link ReplyValue}s: strings as latin1 strings, integers
 * as numbers (bigint beyond 2^53), doubles as numbers, big numbers as bigints, maps as `Map`,
 * sets and pushes as arrays, errors as {@link ReplyError} values, verbatim strings without their
 * `txt:` prefix. Attributes (`|`) are read and dropped. Partial aggregates are kept between
 * calls, so a huge reply arriving in many chunks is decoded in linear time.
 */
export class ReplyReader {
  #buf: Uint8Array = EMPTY;
  /** False while #buf is the caller's chunk (borrowed until next() returns undefined). */
  #owned = false;
  #start = 0;
  #end = 0;
  #stack: ReplyFrame[] = [];
  #rootPush = false;
  /** Bytes of the line at #start already searched for its CR. */
  #scanned = 0;

  /**
   * Appends received bytes. When nothing is pending the chunk is used in place: the caller must
   * not modify it until `next()` has returned `undefined`.
   */
  push(chunk: Uint8Array): void {
    const n = chunk.length;
    if (n === 0) return;
    if (this.#start === this.#end) {
      if (!this.#owned || this.#buf.length < n) {
        this.#buf = chunk;
        this.#owned = false;
        this.#start = 0;
        this.#end = n;
        return;
      }
      this.#start = this.#end = 0;
    }
    this.#reserve(n);
    this.#buf.set(chunk, this.#end);
    this.#end += n;
  }

  #reserve(extra: number): void {
    const pending = this.#end - this.#start;
    if (this.#owned && this.#end + extra <= this.#buf.length) return;
    if (this.#owned && pending + extra <= this.#buf.length) {
      this.#buf.copyWithin(0, this.#start, this.#end);
    } else {
      const cap = Math.max(MIN_CAPACITY, this.#owned ? this.#buf.length * 2 : 0, pending + extra);
      const next = new Uint8Array(cap);
      next.set(this.#buf.subarray(this.#start, this.#end));
      this.#buf = next;
      this.#owned = true;
    }
    this.#start = 0;
    this.#end = pending;
  }

  #idle(): undefined {
    if (this.#start === this.#end) {
      if (!this.#owned || this.#buf.length > KEEP_CAPACITY) {
        this.#buf = EMPTY;
        this.#owned = false;
      }
      this.#start = this.#end = 0;
    } else if (!this.#owned) {
      this.#reserve(0);
    }
    return undefined;
  }

  /** Bytes received and not consumed yet (including those of a partial aggregate's header). */
  get pending(): number {
    return this.#end - this.#start;
  }

  /** The next complete reply, or undefined when more bytes are needed. */
  next(): DecodedReply | undefined {
    const buf = this.#buf;
    for (;;) {
      const pos = this.#start;
      const end = this.#end;
      if (pos >= end) return this.#idle();
      let cr = -1;
      for (let i = pos + Math.max(1, this.#scanned); i < end; i++) {
        if (buf[i] === CR) {
          cr = i;
          break;
        }
      }
      if (cr === -1 || cr + 1 >= end) {
        this.#scanned = (cr === -1 ? end : cr) - pos;
        return this.#idle();
      }
      this.#scanned = cr - pos;
      if (buf[cr + 1] !== LF) throw new ReplyProtocolError("expected CRLF");
      const type = buf[pos]!;
      let next = cr + 2;
      let value: ReplyValue;
      switch (type) {
        case 43: // +
          value = latin1Slice(buf, pos + 1, cr);
          break;
        case 45: // -
          value = new ReplyError(latin1Slice(buf, pos + 1, cr));
          break;
        case 58: // :
          value = parseInteger(buf, pos + 1, cr);
          break;
        case 36: // $
        case 33: // !
        case 61: { // =
          const len = this.#len(pos, cr);
          if (len < 0) {
            value = null;
            break;
          }
          if (end - next < len + 2) return this.#idle();
          let from = next;
          if (type === 61 && len >= 4 && buf[from + 3] === 58) from += 4; // "txt:"
          const s = latin1Slice(buf, from, next + len);
          value = type === 33 ? new ReplyError(s) : s;
          next += len + 2;
          break;
        }
        case 95: // _
          value = null;
          break;
        case 44: // ,
          value = parseDouble(latin1Slice(buf, pos + 1, cr));
          break;
        case 35: // #
          value = buf[pos + 1] === 116; // t
          break;
        case 40: { // (
          const s = latin1Slice(buf, pos + 1, cr);
          try {
            value = BigInt(s);
          } catch {
            throw new ReplyProtocolError(`bad big number: ${s}`);
          }
          break;
        }
        case 42: // *
        case 126: // ~
        case 62: // >
        case 37: // %
        case 124: { // |
          const n = this.#len(pos, cr);
          this.#start = next;
          this.#scanned = 0;
          if (this.#stack.length === 0) this.#rootPush = type === 62;
          if (n < 0) {
            value = null;
            break;
          }
          const kind = type === 37
            ? FrameKind.Map
            : type === 124
            ? FrameKind.Attribute
            : FrameKind.Array;
          const left = kind === FrameKind.Array ? n : n * 2;
          if (left === 0) {
            if (kind === FrameKind.Attribute) continue;
            value = kind === FrameKind.Map ? new Map() : [];
            break;
          }
          this.#stack.push({ kind, items: [], left });
          continue;
        }
        default:
          throw new ReplyProtocolError(
            `unexpected reply type byte ${type} ('${String.fromCharCode(type)}')`,
          );
      }
      this.#start = next;
      this.#scanned = 0;
      if (this.#stack.length === 0) this.#rootPush = type === 62;
      const done = this.#emit(value);
      if (done) return done;
    }
  }

  /** Adds a completed value to the open aggregates; returns the reply when the root closes. */
  #emit(v: ReplyValue): DecodedReply | undefined {
    let value = v;
    const stack = this.#stack;
    for (;;) {
      const top = stack[stack.length - 1];
      if (top === undefined) return { value, push: this.#rootPush };
      top.items.push(value);
      if (--top.left > 0) return undefined;
      stack.pop();
      if (top.kind === FrameKind.Attribute) {
        // Attributes annotate the next value: drop them. At top level the reply follows.
        return undefined;
      }
      value = top.kind === FrameKind.Map ? toMap(top.items) : top.items;
    }
  }

  #len(pos: number, cr: number): number {
    const buf = this.#buf;
    if (cr - pos === 3 && buf[pos + 1] === 45 && buf[pos + 2] === 49) return -1;
    const n = parseLL(buf, pos + 1, cr);
    if (!(n >= 0)) {
      throw new ReplyProtocolError(`bad length: ${latin1Slice(buf, pos, cr)}`);
    }
    return n;
  }
}

function toMap(items: ReplyValue[]): Map<ReplyValue, ReplyValue> {
  const m = new Map<ReplyValue, ReplyValue>();
  for (let i = 0; i + 1 < items.length; i += 2) m.set(items[i]!, items[i + 1]!);
  return m;
}

function parseInteger(buf: Uint8Array, from: number, to: number): number | bigint {
  if (to - from <= 15) {
    const n = parseLL(buf, from, to);
    if (!Number.isNaN(n)) return n;
  }
  const s = latin1Slice(buf, from, to);
  let b: bigint;
  try {
    b = BigInt(s);
  } catch {
    throw new ReplyProtocolError(`bad integer: ${s}`);
  }
  return b >= -9007199254740991n && b <= 9007199254740991n ? Number(b) : b;
}

function parseDouble(s: string): number {
  switch (s.toLowerCase()) {
    case "inf":
    case "+inf":
      return Infinity;
    case "-inf":
      return -Infinity;
    case "nan":
    case "-nan":
      return NaN;
  }
  const d = Number(s);
  if (Number.isNaN(d)) throw new ReplyProtocolError(`bad double: ${s}`);
  return d;
}
