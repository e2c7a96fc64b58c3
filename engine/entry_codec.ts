/**
 * Entry <-> a compact, msgpack-friendly plain form, binary safe.
 *
 * Keys, values, fields and members are latin1 strings in the engine (one char per byte); on disk
 * and on the wire they travel as the raw bytes (`Uint8Array`, msgpack `bin`), never as msgpack
 * `str`, so every byte value survives any msgpack implementation unchanged.
 *
 * The encoded form ({@link EncodedEntry}):
 *
 * | t | type   | v                                   | s                                  |
 * |---|--------|-------------------------------------|------------------------------------|
 * | 0 | string | the value bytes                     | -                                  |
 * | 1 | hash   | [field, value, field, value, ...]   | -                                  |
 * | 2 | list   | the items, head first               | -                                  |
 * | 3 | set    | the members                         | -                                  |
 * | 4 | zset   | the members in ascending order      | scores, float64 little-endian each |
 *
 * plus `x`: the absolute expiry in ms since the epoch, absent when the key has none. Scores travel
 * as raw float64 bytes so -0, infinities and every double round-trip exactly.
 *
 * Two ways to the same bytes: {@link encodeEntry}/{@link decodeEntry} give the plain object form
 * (for msgpackr or any msgpack library), and {@link MsgWriter}/{@link MsgReader} write and read
 * that msgpack straight from/to latin1 strings with no intermediate objects (used by snapshots,
 * {@link dumpKey}/{@link restoreKey} and binlog payloads; several times faster). Readers skip
 * unknown map keys, so fields can be added later.
 */
import { Packr, Unpackr } from "msgpackr";
import { Deque } from "./deque.ts";
import { type Db, type Entry } from "./keyspace.ts";
import { SortedSet } from "./sorted_set.ts";

/** Type codes of {@link EncodedEntry}. */
export const T_STRING = 0;
export const T_HASH = 1;
export const T_LIST = 2;
export const T_SET = 3;
export const T_ZSET = 4;

/** The plain form of an entry (see the module comment). */
export type EncodedEntry =
  | { t: 0; v: Uint8Array; x?: number }
  | { t: 1 | 2 | 3; v: Uint8Array[]; x?: number }
  | { t: 4; v: Uint8Array[]; s: Uint8Array; x?: number };

/** Bytes of a latin1 string (one byte per char; chars are expected to be <= 0xff). */
export function latin1Bytes(s: string): Uint8Array {
  const n = s.length;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** The latin1 string of `bytes[start, end)` (one char per byte). */
export function latin1String(bytes: Uint8Array, start = 0, end = bytes.length): string {
  const n = end - start;
  if (n <= 0) return "";
  if (n <= 4) {
    let s = "";
    for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i]!);
    return s;
  }
  const CHUNK = 8192;
  if (n <= CHUNK) {
    return String.fromCharCode.apply(null, bytes.subarray(start, end) as unknown as number[]);
  }
  const parts: string[] = [];
  for (let i = start; i < end; i += CHUNK) {
    const sub = bytes.subarray(i, Math.min(i + CHUNK, end));
    parts.push(String.fromCharCode.apply(null, sub as unknown as number[]));
  }
  return parts.join("");
}

function bytesList(items: Iterable<string>, size: number): Uint8Array[] {
  const out = new Array<Uint8Array>(size);
  let i = 0;
  for (const s of items) out[i++] = latin1Bytes(s);
  return out;
}

/** Encodes `entry` (and its absolute expiry in ms, if any) to the plain form. */
export function encodeEntry(entry: Entry, expireAt?: number): EncodedEntry {
  let enc: EncodedEntry;
  switch (entry.type) {
    case "string":
      enc = { t: T_STRING, v: latin1Bytes(entry.value) };
      break;
    case "hash": {
      const v = new Array<Uint8Array>(entry.value.size * 2);
      let i = 0;
      for (const [f, val] of entry.value) {
        v[i++] = latin1Bytes(f);
        v[i++] = latin1Bytes(val);
      }
      enc = { t: T_HASH, v };
      break;
    }
    case "list":
      enc = { t: T_LIST, v: bytesList(entry.value, entry.value.length) };
      break;
    case "set":
      enc = { t: T_SET, v: bytesList(entry.value, entry.value.size) };
      break;
    case "zset": {
      const n = entry.value.size;
      const v = new Array<Uint8Array>(n);
      const s = new Uint8Array(n * 8);
      const dv = new DataView(s.buffer);
      let i = 0;
      for (const [m, score] of entry.value.entries()) {
        v[i] = latin1Bytes(m);
        dv.setFloat64(i * 8, score, true);
        i++;
      }
      enc = { t: T_ZSET, v, s };
      break;
    }
  }
  if (expireAt !== undefined) enc.x = expireAt;
  return enc;
}

/** Thrown when bytes or a plain form do not describe a valid entry. */
export class EntryFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EntryFormatError";
  }
}

function isBytes(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array;
}

function bytesArray(v: unknown, what: string): Uint8Array[] {
  if (!Array.isArray(v)) throw new EntryFormatError(`${what}: expected an array`);
  for (const item of v) if (!isBytes(item)) throw new EntryFormatError(`${what}: expected bytes`);
  return v as Uint8Array[];
}

/** Decodes the plain form back to an entry and its expiry (undefined when none). */
export function decodeEntry(enc: unknown): { entry: Entry; expireAt: number | undefined } {
  if (typeof enc !== "object" || enc === null) throw new EntryFormatError("entry: not a map");
  const e = enc as { t?: unknown; v?: unknown; s?: unknown; x?: unknown };
  let expireAt: number | undefined;
  if (e.x !== undefined && e.x !== null) {
    if (typeof e.x !== "number" || !Number.isFinite(e.x)) {
      throw new EntryFormatError("entry: bad expiry");
    }
    expireAt = e.x;
  }
  let entry: Entry;
  switch (e.t) {
    case T_STRING:
      if (!isBytes(e.v)) throw new EntryFormatError("string: expected bytes");
      entry = { type: "string", value: latin1String(e.v) };
      break;
    case T_HASH: {
      const v = bytesArray(e.v, "hash");
      if (v.length % 2 !== 0) throw new EntryFormatError("hash: odd number of items");
      const m = new Map<string, string>();
      for (let i = 0; i < v.length; i += 2) m.set(latin1String(v[i]!), latin1String(v[i + 1]!));
      entry = { type: "hash", value: m };
      break;
    }
    case T_LIST: {
      const v = bytesArray(e.v, "list");
      const d = new Deque<string>(v.length);
      for (const item of v) d.pushBack(latin1String(item));
      entry = { type: "list", value: d };
      break;
    }
    case T_SET: {
      const v = bytesArray(e.v, "set");
      const s = new Set<string>();
      for (const item of v) s.add(latin1String(item));
      entry = { type: "set", value: s };
      break;
    }
    case T_ZSET: {
      const v = bytesArray(e.v, "zset");
      if (!isBytes(e.s) || e.s.length !== v.length * 8) {
        throw new EntryFormatError("zset: scores do not match members");
      }
      const dv = new DataView(e.s.buffer, e.s.byteOffset, e.s.byteLength);
      const z = new SortedSet();
      for (let i = 0; i < v.length; i++) {
        const score = dv.getFloat64(i * 8, true);
        if (Number.isNaN(score)) throw new EntryFormatError("zset: NaN score");
        z.add(latin1String(v[i]!), score);
      }
      entry = { type: "zset", value: z };
      break;
    }
    default:
      throw new EntryFormatError(`entry: unknown type ${String(e.t)}`);
  }
  return { entry, expireAt };
}

// ---------------------------------------------------------------------------------------------
// Direct msgpack writer/reader: the same standard msgpack as packr.pack(encodeEntry(...)) gives,
// written straight from latin1 strings and read straight back to them, with no intermediate
// objects (snapshots, DUMP payloads, binlog records).

const TWO32 = 0x1_0000_0000;

/** Appends msgpack values to a growable buffer. */
export class MsgWriter {
  buf: Uint8Array;
  pos = 0;
  #dv: DataView;

  constructor(initial = 64 * 1024) {
    this.buf = new Uint8Array(initial);
    this.#dv = new DataView(this.buf.buffer);
  }

  /** Makes room for `n` more bytes. */
  reserve(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.#dv = new DataView(next.buffer);
  }

  /** The bytes written so far (a view: copy before writing more if kept). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  /** Starts over, keeping the buffer (dropping it when it grew past `maxKeep`). */
  reset(maxKeep = 4 << 20): void {
    this.pos = 0;
    if (this.buf.length > maxKeep) {
      this.buf = new Uint8Array(64 * 1024);
      this.#dv = new DataView(this.buf.buffer);
    }
  }

  /** A number: integers in [-2^31, 2^32) as msgpack ints, anything else as float64. */
  number(n: number): void {
    this.reserve(9);
    const b = this.buf;
    const p = this.pos;
    if (Number.isInteger(n) && n >= 0 && n < TWO32 && !Object.is(n, -0)) {
      if (n < 128) {
        b[p] = n;
        this.pos = p + 1;
      } else if (n < 0x100) {
        b[p] = 0xcc;
        b[p + 1] = n;
        this.pos = p + 2;
      } else if (n < 0x10000) {
        b[p] = 0xcd;
        this.#dv.setUint16(p + 1, n);
        this.pos = p + 3;
      } else {
        b[p] = 0xce;
        this.#dv.setUint32(p + 1, n);
        this.pos = p + 5;
      }
    } else if (Number.isInteger(n) && n < 0 && n >= -0x8000_0000) {
      if (n >= -32) {
        b[p] = n & 0xff;
        this.pos = p + 1;
      } else {
        b[p] = 0xd2;
        this.#dv.setInt32(p + 1, n);
        this.pos = p + 5;
      }
    } else {
      b[p] = 0xcb;
      this.#dv.setFloat64(p + 1, n);
      this.pos = p + 9;
    }
  }

  #len(n: number, fix: number, fixMax: number, c8: number, c16: number): void {
    this.reserve(5);
    const b = this.buf;
    const p = this.pos;
    if (n < fixMax) {
      b[p] = fix | n;
      this.pos = p + 1;
    } else if (c8 !== 0 && n < 0x100) {
      b[p] = c8;
      b[p + 1] = n;
      this.pos = p + 2;
    } else if (n < 0x10000) {
      b[p] = c16;
      this.#dv.setUint16(p + 1, n);
      this.pos = p + 3;
    } else {
      b[p] = c16 + 1;
      this.#dv.setUint32(p + 1, n);
      this.pos = p + 5;
    }
  }

  /** An array header for `n` items. */
  array(n: number): void {
    this.#len(n, 0x90, 16, 0, 0xdc);
  }

  /** A map header for `n` pairs. */
  map(n: number): void {
    this.#len(n, 0x80, 16, 0, 0xde);
  }

  /** A short ASCII str (map keys). */
  key(s: string): void {
    const n = s.length;
    this.#len(n, 0xa0, 32, 0xd9, 0xda);
    this.reserve(n);
    for (let i = 0; i < n; i++) this.buf[this.pos + i] = s.charCodeAt(i);
    this.pos += n;
  }

  #binHeader(n: number): void {
    this.reserve(5 + n);
    const b = this.buf;
    const p = this.pos;
    if (n < 0x100) {
      b[p] = 0xc4;
      b[p + 1] = n;
      this.pos = p + 2;
    } else if (n < 0x10000) {
      b[p] = 0xc5;
      this.#dv.setUint16(p + 1, n);
      this.pos = p + 3;
    } else {
      b[p] = 0xc6;
      this.#dv.setUint32(p + 1, n);
      this.pos = p + 5;
    }
  }

  /** A latin1 string as bin (its bytes). */
  latin1(s: string): void {
    const n = s.length;
    this.#binHeader(n);
    const b = this.buf;
    const p = this.pos;
    for (let i = 0; i < n; i++) b[p + i] = s.charCodeAt(i);
    this.pos = p + n;
  }

  /** Raw bytes as bin. */
  bin(bytes: Uint8Array): void {
    this.#binHeader(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** An entry in the {@link EncodedEntry} layout: `{ t, v, [s], [x] }`. */
  entry(entry: Entry, expireAt?: number): void {
    const extra = expireAt !== undefined ? 1 : 0;
    switch (entry.type) {
      case "string":
        this.map(2 + extra);
        this.key("t");
        this.number(T_STRING);
        this.key("v");
        this.latin1(entry.value);
        break;
      case "hash":
        this.map(2 + extra);
        this.key("t");
        this.number(T_HASH);
        this.key("v");
        this.array(entry.value.size * 2);
        for (const [f, v] of entry.value) {
          this.latin1(f);
          this.latin1(v);
        }
        break;
      case "list":
        this.map(2 + extra);
        this.key("t");
        this.number(T_LIST);
        this.key("v");
        this.array(entry.value.length);
        for (const v of entry.value) this.latin1(v);
        break;
      case "set":
        this.map(2 + extra);
        this.key("t");
        this.number(T_SET);
        this.key("v");
        this.array(entry.value.size);
        for (const v of entry.value) this.latin1(v);
        break;
      case "zset": {
        const n = entry.value.size;
        this.map(3 + extra);
        this.key("t");
        this.number(T_ZSET);
        this.key("v");
        this.array(n);
        for (const [m] of entry.value.entries()) this.latin1(m);
        this.key("s");
        this.#binHeader(n * 8);
        const dv = this.#dv;
        let p = this.pos;
        for (const [, score] of entry.value.entries()) {
          dv.setFloat64(p, score, true);
          p += 8;
        }
        this.pos = p;
        break;
      }
    }
    if (expireAt !== undefined) {
      this.key("x");
      this.number(expireAt);
    }
  }
}

/** Thrown by {@link MsgReader} on malformed input. */
export class MsgFormatError extends EntryFormatError {
  constructor(message: string) {
    super(message);
    this.name = "MsgFormatError";
  }
}

/** Reads msgpack values from `buf[pos, end)`; bin and str come back as latin1 strings. */
export class MsgReader {
  readonly buf: Uint8Array;
  pos: number;
  readonly end: number;
  readonly #dv: DataView;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    this.#dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  fail(what: string): never {
    throw new MsgFormatError(`${what} at byte ${this.pos}`);
  }

  #byte(): number {
    if (this.pos >= this.end) this.fail("unexpected end");
    return this.buf[this.pos++]!;
  }

  #need(n: number): void {
    if (this.pos + n > this.end) this.fail("unexpected end");
  }

  #u16(): number {
    this.#need(2);
    const v = this.#dv.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  #u32(): number {
    this.#need(4);
    const v = this.#dv.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  /** True when every byte was read. */
  get done(): boolean {
    return this.pos >= this.end;
  }

  /** An array header: its length. */
  array(): number {
    const b = this.#byte();
    if ((b & 0xf0) === 0x90) return b & 0x0f;
    if (b === 0xdc) return this.#u16();
    if (b === 0xdd) return this.#u32();
    return this.fail("expected an array");
  }

  /** A map header: its number of pairs. */
  map(): number {
    const b = this.#byte();
    if ((b & 0xf0) === 0x80) return b & 0x0f;
    if (b === 0xde) return this.#u16();
    if (b === 0xdf) return this.#u32();
    return this.fail("expected a map");
  }

  #strLen(b: number): number {
    if ((b & 0xe0) === 0xa0) return b & 0x1f;
    if (b === 0xc4 || b === 0xd9) return this.#byte();
    if (b === 0xc5 || b === 0xda) return this.#u16();
    if (b === 0xc6 || b === 0xdb) return this.#u32();
    return -1;
  }

  /** A str or bin as a latin1 string (one char per byte). */
  latin1(): string {
    const n = this.#strLen(this.#byte());
    if (n < 0) this.fail("expected bytes");
    this.#need(n);
    const s = latin1String(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  /** A str or bin as a view of its bytes. */
  bytes(): Uint8Array {
    const n = this.#strLen(this.#byte());
    if (n < 0) this.fail("expected bytes");
    this.#need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** Any msgpack number (int or float). */
  number(): number {
    const b = this.#byte();
    if (b < 0x80) return b;
    if (b >= 0xe0) return b - 0x100;
    const dv = this.#dv;
    let v: number;
    switch (b) {
      case 0xcc:
        return this.#byte();
      case 0xcd:
        return this.#u16();
      case 0xce:
        return this.#u32();
      case 0xcf: {
        const hi = this.#u32();
        return hi * TWO32 + this.#u32();
      }
      case 0xd0:
        this.#need(1);
        return dv.getInt8(this.pos++);
      case 0xd1:
        this.#need(2);
        v = dv.getInt16(this.pos);
        this.pos += 2;
        return v;
      case 0xd2:
        this.#need(4);
        v = dv.getInt32(this.pos);
        this.pos += 4;
        return v;
      case 0xd3:
        this.#need(8);
        v = Number(dv.getBigInt64(this.pos));
        this.pos += 8;
        return v;
      case 0xca:
        this.#need(4);
        v = dv.getFloat32(this.pos);
        this.pos += 4;
        return v;
      case 0xcb:
        this.#need(8);
        v = dv.getFloat64(this.pos);
        this.pos += 8;
        return v;
    }
    return this.fail("expected a number");
  }

  /** True (and consumed) when the next value is nil. */
  nil(): boolean {
    if (this.pos < this.end && this.buf[this.pos] === 0xc0) {
      this.pos++;
      return true;
    }
    return false;
  }

  /** Skips any value. */
  skip(): void {
    const b = this.#byte();
    if (b < 0x80 || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) return;
    if ((b & 0xf0) === 0x80 || (b & 0xf0) === 0x90) {
      const n = (b & 0x0f) * ((b & 0xf0) === 0x80 ? 2 : 1);
      for (let i = 0; i < n; i++) this.skip();
      return;
    }
    let n = this.#strLen(b);
    if (n < 0) {
      switch (b) {
        case 0xcc:
        case 0xd0:
          n = 1;
          break;
        case 0xcd:
        case 0xd1:
        case 0xd4:
          n = 2;
          break;
        case 0xd5:
          n = 3;
          break;
        case 0xce:
        case 0xd2:
        case 0xca:
          n = 4;
          break;
        case 0xd6:
          n = 5;
          break;
        case 0xcf:
        case 0xd3:
        case 0xcb:
          n = 8;
          break;
        case 0xd7:
          n = 9;
          break;
        case 0xd8:
          n = 17;
          break;
        case 0xc7:
          n = this.#byte() + 1;
          break;
        case 0xc8:
          n = this.#u16() + 1;
          break;
        case 0xc9:
          n = this.#u32() + 1;
          break;
        case 0xdc:
        case 0xde: {
          const c = this.#u16() * (b === 0xde ? 2 : 1);
          for (let i = 0; i < c; i++) this.skip();
          return;
        }
        case 0xdd:
        case 0xdf: {
          const c = this.#u32() * (b === 0xdf ? 2 : 1);
          for (let i = 0; i < c; i++) this.skip();
          return;
        }
        default:
          return this.fail("unknown type");
      }
    }
    this.#need(n);
    this.pos += n;
  }

  #strings(): string[] {
    const n = this.array();
    const out = new Array<string>(n);
    for (let i = 0; i < n; i++) out[i] = this.latin1();
    return out;
  }

  /** An entry in the {@link EncodedEntry} layout. */
  entry(): { entry: Entry; expireAt: number | undefined } {
    const pairs = this.map();
    let t = -1;
    let items: string[] | undefined;
    let value: string | undefined;
    let scores: Uint8Array | undefined;
    let expireAt: number | undefined;
    for (let i = 0; i < pairs; i++) {
      const k = this.latin1();
      if (k === "t") t = this.number();
      else if (k === "v") {
        const b = this.buf[this.pos];
        if (b !== undefined && ((b & 0xf0) === 0x90 || b === 0xdc || b === 0xdd)) {
          items = this.#strings();
        } else value = this.latin1();
      } else if (k === "s") scores = this.bytes();
      else if (k === "x") {
        if (!this.nil()) expireAt = this.number();
      } else this.skip();
    }
    if (expireAt !== undefined && !Number.isFinite(expireAt)) this.fail("bad expiry");
    let entry: Entry;
    if (t === T_STRING) {
      if (value === undefined) return this.fail("string: expected bytes");
      entry = { type: "string", value };
    } else {
      if (items === undefined) return this.fail(`type ${t}: expected an array`);
      if (t === T_HASH) {
        if (items.length % 2 !== 0) this.fail("hash: odd number of items");
        const m = new Map<string, string>();
        for (let i = 0; i < items.length; i += 2) m.set(items[i]!, items[i + 1]!);
        entry = { type: "hash", value: m };
      } else if (t === T_LIST) {
        entry = { type: "list", value: Deque.from(items) };
      } else if (t === T_SET) {
        entry = { type: "set", value: new Set(items) };
      } else if (t === T_ZSET) {
        if (scores === undefined || scores.length !== items.length * 8) {
          return this.fail("zset: scores do not match members");
        }
        const dv = new DataView(scores.buffer, scores.byteOffset, scores.byteLength);
        const z = new SortedSet();
        for (let i = 0; i < items.length; i++) {
          const score = dv.getFloat64(i * 8, true);
          if (Number.isNaN(score)) this.fail("zset: NaN score");
          z.add(items[i]!, score);
        }
        entry = { type: "zset", value: z };
      } else return this.fail(`unknown type ${t}`);
    }
    return { entry, expireAt };
  }
}

/** Standard msgpack (no msgpackr records/structures), so any msgpack reader can decode it. */
export const packr: Packr = new Packr({ useRecords: false, moreTypes: false });
/** The matching decoder. */
export const unpackr: Unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

const serWriter = new MsgWriter();

/** msgpack of an entry's plain form (with its absolute expiry), as a fresh buffer. */
export function serializeEntry(entry: Entry, expireAt?: number): Uint8Array {
  serWriter.reset();
  serWriter.entry(entry, expireAt);
  return serWriter.bytes().slice();
}

/** Inverse of {@link serializeEntry}. Throws EntryFormatError on bad bytes. */
export function deserializeEntry(
  bytes: Uint8Array,
): { entry: Entry; expireAt: number | undefined } {
  const r = new MsgReader(bytes);
  const res = r.entry();
  if (!r.done) throw new EntryFormatError("trailing bytes after the entry");
  return res;
}

/**
 * The serialized entry under `key` with its absolute expiry (msgpack of the plain form), or null
 * when the key does not exist. An expired key counts as missing (and is removed, as any read).
 */
export function dumpKey(db: Db, key: string): Uint8Array | null {
  const entry = db.get(key);
  if (entry === undefined) return null;
  return serializeEntry(entry, db.expireAt(key));
}

/**
 * Stores the entry `bytes` describe under `key`, replacing whatever was there, with the expiry
 * it carries (none when absent). The bytes are decoded fully before the db is touched.
 */
export function restoreKey(db: Db, key: string, bytes: Uint8Array): void {
  const { entry, expireAt } = deserializeEntry(bytes);
  db.set(key, entry);
  if (expireAt !== undefined) db.setExpireAt(key, expireAt);
}
