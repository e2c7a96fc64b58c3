/**
 * RESP encoding: {@link RespWriter} is the server's {@link ReplySink}, encoding replies straight
 * into one growable byte buffer; {@link encodeCommand} encodes a request as a multibulk.
 */
import { formatDouble, type ReplySink } from "../engine/reply.ts";

const CR = 13;
const LF = 10;
const INITIAL_CAPACITY = 16 * 1024;
/** `take()` hands over (instead of copying) buffers holding more than this. */
const HAND_OVER = 64 * 1024;

const encoder = new TextEncoder();

/**
 * Writes latin1 string `s` at `out[off]` (the caller guarantees `s.length` bytes of room); one
 * byte per char, chars above 0xFF keep their low byte. Long pure-ASCII strings go through the
 * native UTF-8 encoder, which produces the same bytes for ASCII.
 */
export function writeLatin1(out: Uint8Array, off: number, s: string): void {
  const n = s.length;
  let i = 0;
  if (n > 64) {
    // Sample a prefix: binary data shows non-ASCII bytes early, then the native encoder's pass
    // would be wasted; text is ASCII and the native UTF-8 encoder writes the same bytes.
    let seen = 0;
    for (; i < 32; i++) {
      const c = s.charCodeAt(i);
      seen |= c;
      out[off + i] = c;
    }
    if (seen < 0x80) {
      const r = encoder.encodeInto(s, out.subarray(off, off + n));
      if (r.read === n) return; // all ASCII (a non-ASCII char would not have fit)
    }
  }
  for (; i < n; i++) out[off + i] = s.charCodeAt(i);
}

function ascii(s: string): Uint8Array {
  const u = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) u[i] = s.charCodeAt(i);
  return u;
}

const R_OK = ascii("+OK\r\n");
const R_ZERO = ascii(":0\r\n");
const R_ONE = ascii(":1\r\n");
const R_NULL_BULK = ascii("$-1\r\n");
const R_NULL_ARRAY = ascii("*-1\r\n");
const R_NULL3 = ascii("_\r\n");
const R_TRUE = ascii("#t\r\n");
const R_FALSE = ascii("#f\r\n");
const R_EMPTY_ARRAY = ascii("*0\r\n");

/** Number of decimal digits of a non-negative integer. */
function digitCount(n: number): number {
  if (n < 10) return 1;
  if (n < 100) return 2;
  if (n < 1000) return 3;
  if (n < 10000) return 4;
  if (n < 100000) return 5;
  let d = 6;
  let p = 1000000;
  while (n >= p && d < 16) {
    d++;
    p *= 10;
  }
  return d;
}

/** Writes the decimal digits of a non-negative safe integer at `buf[off]`; returns the end. */
function putDigits(buf: Uint8Array, off: number, n: number): number {
  const end = off + digitCount(n);
  let i = end;
  do {
    const q = Math.floor(n / 10);
    buf[--i] = 48 + (n - q * 10);
    n = q;
  } while (n > 0);
  return end;
}

/** The server's reply encoder: a {@link ReplySink} writing RESP2 or RESP3 bytes. */
export class RespWriter implements ReplySink {
  /** 2 or 3; HELLO changes it. */
  proto: 2 | 3;
  #buf: Uint8Array<ArrayBuffer>;
  #len = 0;

  constructor(proto: 2 | 3 = 2, initialCapacity = INITIAL_CAPACITY) {
    this.proto = proto;
    this.#buf = new Uint8Array(Math.max(64, initialCapacity));
  }

  /** Bytes written since the last `take()`. */
  get length(): number {
    return this.#len;
  }

  /** Drops everything written after the first `len` bytes (e.g. to replace a partial reply). */
  truncate(len: number): void {
    if (len < this.#len) this.#len = Math.max(0, len);
  }

  /**
   * Returns the bytes written and resets the writer. The result owns its ArrayBuffer, exactly
   * `length` bytes at offset 0 (safe to transfer or clone to a worker). Small outputs are copied
   * out and the buffer is reused; large ones are handed over (the writer starts a fresh buffer).
   */
  take(): Uint8Array<ArrayBuffer> {
    const len = this.#len;
    this.#len = 0;
    if (len > HAND_OVER) {
      // Detach the buffer, trimmed to its used part (no copy when the engine can shrink it).
      const out = new Uint8Array(this.#buf.buffer.transfer(len));
      this.#buf = new Uint8Array(INITIAL_CAPACITY);
      return out;
    }
    return this.#buf.slice(0, len);
  }

  /** A view of the bytes written so far (valid until the next write); does not reset. */
  peek(): Uint8Array {
    return this.#buf.subarray(0, this.#len);
  }

  #grow(need: number): void {
    let cap = this.#buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  /** Appends pre-encoded RESP bytes. */
  raw(bytes: Uint8Array): void {
    const n = bytes.length;
    const len = this.#len;
    if (len + n > this.#buf.length) this.#grow(len + n);
    const buf = this.#buf;
    if (n <= 16) {
      for (let i = 0; i < n; i++) buf[len + i] = bytes[i]!;
    } else {
      buf.set(bytes, len);
    }
    this.#len = len + n;
  }

  /** Writes `type`, the integer `n` (any sign) and CRLF. */
  #line(type: number, n: number): void {
    if (this.#len + 24 > this.#buf.length) this.#grow(this.#len + 24);
    const buf = this.#buf;
    let p = this.#len;
    buf[p++] = type;
    if (n < 0) {
      buf[p++] = 45;
      n = -n;
    }
    p = putDigits(buf, p, n);
    buf[p++] = CR;
    buf[p++] = LF;
    this.#len = p;
  }

  /** Writes `type`, the text `s` with CR/LF replaced by spaces, and CRLF. */
  #textLine(type: number, s: string): void {
    const n = s.length;
    if (this.#len + n + 3 > this.#buf.length) this.#grow(this.#len + n + 3);
    const buf = this.#buf;
    let p = this.#len;
    buf[p++] = type;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      buf[p++] = c === CR || c === LF ? 32 : c;
    }
    buf[p++] = CR;
    buf[p++] = LF;
    this.#len = p;
  }

  simple(s: string): void {
    if (s === "OK") this.raw(R_OK);
    else this.#textLine(43, s);
  }

  error(line: string): void {
    this.#textLine(45, line);
  }

  int(n: number | bigint): void {
    if (typeof n === "number" && Number.isSafeInteger(n)) {
      if (n === 0) this.raw(R_ZERO);
      else if (n === 1) this.raw(R_ONE);
      else this.#line(58, n);
      return;
    }
    let s: string;
    if (typeof n === "bigint") s = n.toString();
    else if (Number.isInteger(n)) s = BigInt(n).toString();
    else s = Number.isFinite(n) ? String(Math.trunc(n)) : "0";
    this.#textLine(58, s);
  }

  bulk(s: string): void {
    const n = s.length;
    if (this.#len + n + 24 > this.#buf.length) this.#grow(this.#len + n + 24);
    const buf = this.#buf;
    let p = this.#len;
    buf[p++] = 36;
    p = putDigits(buf, p, n);
    buf[p++] = CR;
    buf[p++] = LF;
    if (n <= 48) {
      for (let i = 0; i < n; i++) buf[p + i] = s.charCodeAt(i);
    } else {
      writeLatin1(buf, p, s);
    }
    p += n;
    buf[p++] = CR;
    buf[p++] = LF;
    this.#len = p;
  }

  /** A bulk string from raw bytes. */
  bulkBytes(bytes: Uint8Array): void {
    this.#line(36, bytes.length);
    this.raw(bytes);
    this.raw(CRLF);
  }

  nullBulk(): void {
    this.raw(this.proto === 3 ? R_NULL3 : R_NULL_BULK);
  }

  nullArray(): void {
    this.raw(this.proto === 3 ? R_NULL3 : R_NULL_ARRAY);
  }

  array(n: number): void {
    if (n === 0) this.raw(R_EMPTY_ARRAY);
    else this.#line(42, n);
  }

  map(n: number): void {
    if (this.proto === 3) this.#line(37, n);
    else this.#line(42, n * 2);
  }

  set(n: number): void {
    this.#line(this.proto === 3 ? 126 : 42, n);
  }

  double(d: number): void {
    if (this.proto === 3) this.#textLine(44, formatDouble(d));
    else this.bulk(formatDouble(d));
  }

  bool(b: boolean): void {
    if (this.proto === 3) this.raw(b ? R_TRUE : R_FALSE);
    else this.raw(b ? R_ONE : R_ZERO);
  }

  verbatim(s: string): void {
    if (this.proto !== 3) {
      this.bulk(s);
      return;
    }
    const n = s.length;
    this.#line(61, n + 4);
    if (this.#len + n + 6 > this.#buf.length) this.#grow(this.#len + n + 6);
    const buf = this.#buf;
    let p = this.#len;
    buf[p++] = 116; // t
    buf[p++] = 120; // x
    buf[p++] = 116; // t
    buf[p++] = 58; // :
    writeLatin1(buf, p, s);
    p += n;
    buf[p++] = CR;
    buf[p++] = LF;
    this.#len = p;
  }

  push(n: number): void {
    this.#line(this.proto === 3 ? 62 : 42, n);
  }
}

const CRLF = ascii("\r\n");

/**
 * Encodes a request as a RESP multibulk (`*N\r\n$len\r\narg\r\n...`). String arguments are
 * latin1 (one byte per char).
 */
export function encodeCommand(args: readonly (string | Uint8Array)[]): Uint8Array {
  const argc = args.length;
  let size = 1 + digitCount(argc) + 2;
  for (let i = 0; i < argc; i++) {
    const n = args[i]!.length;
    size += 1 + digitCount(n) + 2 + n + 2;
  }
  const out = new Uint8Array(size);
  out[0] = 42;
  let p = putDigits(out, 1, argc);
  out[p++] = CR;
  out[p++] = LF;
  for (let i = 0; i < argc; i++) {
    const a = args[i]!;
    const n = a.length;
    out[p++] = 36;
    p = putDigits(out, p, n);
    out[p++] = CR;
    out[p++] = LF;
    if (typeof a === "string") {
      if (n <= 48) {
        for (let j = 0; j < n; j++) out[p + j] = a.charCodeAt(j);
      } else {
        writeLatin1(out, p, a);
      }
    } else if (n <= 16) {
      for (let j = 0; j < n; j++) out[p + j] = a[j]!;
    } else {
      out.set(a, p);
    }
    p += n;
    out[p++] = CR;
    out[p++] = LF;
  }
  return out;
}
