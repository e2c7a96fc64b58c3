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
  if (n <= 16) {
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

/** Standard msgpack (no msgpackr records/structures), so any msgpack reader can decode it. */
export const packr: Packr = new Packr({ useRecords: false, moreTypes: false });
/** The matching decoder. */
export const unpackr: Unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

/** msgpack of an entry's plain form (with its absolute expiry). */
export function serializeEntry(entry: Entry, expireAt?: number): Uint8Array {
  return packr.pack(encodeEntry(entry, expireAt));
}

/** Inverse of {@link serializeEntry}. Throws EntryFormatError on bad bytes. */
export function deserializeEntry(
  bytes: Uint8Array,
): { entry: Entry; expireAt: number | undefined } {
  let plain: unknown;
  try {
    plain = unpackr.unpack(bytes);
  } catch (e) {
    throw new EntryFormatError(`bad msgpack: ${e instanceof Error ? e.message : String(e)}`);
  }
  return decodeEntry(plain);
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
