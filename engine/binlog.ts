/**
 * The per-shard binlog: an append-only log of the effects of writes, split into numbered files.
 *
 * It is what a shard replays after loading a snapshot, and what replication ships to replicas
 * (incremental sync): records travel verbatim (framed bytes with their CRC) and a replica writes
 * them at the same positions as its master, so positions mean the same thing on every node.
 *
 * ## Layout
 *
 * A directory per shard (see {@link binlogDir}), files `binlog.000001`, `binlog.000002`, ...
 * (6 or more digits), numbered consecutively. A new file starts when the next record would take
 * the current one past `fileSize`.
 *
 * Each file starts with a {@link FILE_HEADER_SIZE}-byte header (little-endian):
 *
 *     0  magic "TSBINLOG"            12  file number u32
 *     8  format version u32 (1)      16  offset of the first record u64
 *    24  reserved u32                28  CRC-32C of bytes 0..28
 *
 * The first record normally sits right after the header; a log that restarts at a given
 * position ({@link BinlogWriter.resetTo}, after a replica's full sync) creates a file whose first
 * record sits at that offset, the gap being a sparse hole, so offsets stay plain byte offsets.
 *
 * A record is a {@link RECORD_HEADER_SIZE}-byte header then a msgpack payload:
 *
 *     0  magic 0xB1 0x7E    2  version 1    3  flags (0)
 *     4  payload length u32 LE               8  CRC-32C of header bytes 0..8 then the payload, LE
 *
 * The payload is a msgpack map, args as `bin` (raw bytes, binary safe):
 * `{ ts, db, args: [bin...] }` for one command, or `{ ts, ops: [{ db, args }...] }` for a unit of
 * several commands that must apply together (MULTI/EXEC, cross-shard moves): a unit is one
 * record, so it is all there or, torn, all gone. Decoders skip unknown map keys.
 *
 * ## Positions
 *
 * A {@link Position} `{ file, offset }` is the byte offset where the next record starts (the end
 * of the last record applied). Positions are totally ordered ({@link comparePositions}). The end
 * of file N and the start of file N+1 denote the same point of the log; readers treat them alike.
 *
 * ## Recovery
 *
 * {@link BinlogWriter.open} checks the log: a torn record at the tail of the last file (a short
 * read, or a bad record with nothing valid after it) is cut off and reported in
 * `writer.recovery` (`{ kind: "torn-tail", file, offset }`) for the caller to log as a warning; a
 * corrupt record anywhere else throws {@link CorruptionError} naming the file and offset, unless
 * `truncateCorrupt` is set, in which case everything from that point on is dropped.
 *
 * Everything here is synchronous: the writer lives in its shard's worker thread.
 */
import { crc32c } from "./crc32.ts";
import { MsgReader } from "./entry_codec.ts";
import { CorruptionError, TesseraError } from "./errors.ts";

// ---------------------------------------------------------------------------------------------
// Positions

/** A point in the binlog: the offset where the next record starts, in file `file`. */
export interface Position {
  file: number;
  offset: number;
}

/** Orders positions: negative when a < b, 0 when equal, positive when a > b. */
export function comparePositions(a: Position, b: Position): number {
  return a.file !== b.file ? a.file - b.file : a.offset - b.offset;
}

/** True when both positions are the same. */
export function positionsEqual(a: Position, b: Position): boolean {
  return a.file === b.file && a.offset === b.offset;
}

/** `file:offset`, e.g. `3:1048576`. */
export function formatPosition(p: Position): string {
  return `${p.file}:${p.offset}`;
}

/** Parses {@link formatPosition}'s output; undefined when malformed. */
export function parsePosition(s: string): Position | undefined {
  const m = /^(\d{1,15}):(\d{1,15})$/.exec(s);
  if (m === null) return undefined;
  return { file: Number(m[1]), offset: Number(m[2]) };
}

// ---------------------------------------------------------------------------------------------
// Format constants

/** Bytes of the file header; the first record of a normal file starts here. */
export const FILE_HEADER_SIZE = 32;
/** Bytes of a record header. */
export const RECORD_HEADER_SIZE = 12;
/** Largest payload accepted (1 GiB). */
export const MAX_RECORD_PAYLOAD = 1 << 30;
/** Default file size before rotation (100 MiB). */
export const DEFAULT_FILE_SIZE = 100 * 1024 * 1024;
/** Where a brand-new binlog starts. */
export const BINLOG_START: Position = Object.freeze({ file: 1, offset: FILE_HEADER_SIZE });

const FILE_MAGIC = [0x54, 0x53, 0x42, 0x49, 0x4e, 0x4c, 0x4f, 0x47]; // "TSBINLOG"
const FILE_VERSION = 1;
const REC_MAGIC0 = 0xb1;
const REC_MAGIC1 = 0x7e;
const REC_VERSION = 1;
const FILE_NAME_RE = /^binlog\.(\d{6,})$/;

/** The binlog directory of shard `shard` under a data directory. */
export function binlogDir(root: string, shard: number): string {
  return `${root}/binlog/shard-${shard}`;
}

/** File name of binlog file `n` (`binlog.000042`). */
export function binlogFileName(n: number): string {
  return `binlog.${String(n).padStart(6, "0")}`;
}

function filePath(dir: string, n: number): string {
  return `${dir}/${binlogFileName(n)}`;
}

/** Numbers of the binlog files in `dir`, ascending ([] when the directory is missing). */
export function listBinlogFiles(dir: string): number[] {
  const out: number[] = [];
  try {
    for (const e of Deno.readDirSync(dir)) {
      if (!e.isFile) continue;
      const m = FILE_NAME_RE.exec(e.name);
      if (m) out.push(Number(m[1]));
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  return out.sort((a, b) => a - b);
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** fsyncs a directory so renames, creations and deletions in it are durable. */
export function fsyncDir(dir: string): void {
  let f: Deno.FsFile | undefined;
  try {
    f = Deno.openSync(dir, { read: true });
    f.syncSync();
  } catch (e) {
    // Windows cannot fsync a directory; durability of renames there is best effort.
    if (Deno.build.os !== "windows") throw e;
  } finally {
    f?.close();
  }
}

function writeAll(f: Deno.FsFile, data: Uint8Array): void {
  let done = 0;
  while (done < data.length) done += f.writeSync(data.subarray(done));
}

function encodeFileHeader(fileNum: number, start: number): Uint8Array {
  const h = new Uint8Array(FILE_HEADER_SIZE);
  const dv = new DataView(h.buffer);
  h.set(FILE_MAGIC, 0);
  dv.setUint32(8, FILE_VERSION, true);
  dv.setUint32(12, fileNum, true);
  dv.setUint32(16, start % 0x1_0000_0000, true);
  dv.setUint32(20, Math.floor(start / 0x1_0000_0000), true);
  dv.setUint32(28, crc32c(h, 0, 0, 28), true);
  return h;
}

/** Parses a file header; a string describes what is wrong. */
function decodeFileHeader(h: Uint8Array, fileNum: number): { start: number } | string {
  if (h.length < FILE_HEADER_SIZE) return "truncated file header";
  for (let i = 0; i < 8; i++) if (h[i] !== FILE_MAGIC[i]) return "bad file magic";
  const dv = new DataView(h.buffer, h.byteOffset, FILE_HEADER_SIZE);
  if (dv.getUint32(28, true) !== crc32c(h, 0, 0, 28)) return "file header checksum mismatch";
  if (dv.getUint32(8, true) !== FILE_VERSION) return `unsupported binlog version`;
  if (dv.getUint32(12, true) !== fileNum) return `file header names file ${dv.getUint32(12, true)}`;
  const start = dv.getUint32(16, true) + dv.getUint32(20, true) * 0x1_0000_0000;
  if (start < FILE_HEADER_SIZE) return "bad first record offset";
  return { start };
}

/** The first bytes (up to the header size) of a file, and its size. */
function readHead(path: string): { head: Uint8Array; size: number } {
  const f = Deno.openSync(path, { read: true });
  try {
    const size = f.statSync().size;
    const head = new Uint8Array(FILE_HEADER_SIZE);
    let got = 0;
    while (got < FILE_HEADER_SIZE) {
      const r = f.readSync(head.subarray(got));
      if (r === null || r === 0) break;
      got += r;
    }
    return { head: head.subarray(0, got), size };
  } finally {
    f.close();
  }
}

/** Reads and checks the header of binlog file `n`; throws CorruptionError when bad. */
function readFileHeader(dir: string, n: number): { start: number; size: number } {
  const path = filePath(dir, n);
  const { head, size } = readHead(path);
  const res = decodeFileHeader(head, n);
  if (typeof res === "string") throw new CorruptionError(path, 0, res);
  return { start: res.start, size };
}

/** Creates binlog file `n` whose first record sits at `start` (a sparse hole before it). */
function createFile(dir: string, n: number, start: number, durable: boolean): Deno.FsFile {
  const path = filePath(dir, n);
  const f = Deno.openSync(path, { read: true, write: true, createNew: true });
  try {
    writeAll(f, encodeFileHeader(n, start));
    if (start > FILE_HEADER_SIZE) f.truncateSync(start);
    f.seekSync(start, Deno.SeekMode.Start);
    if (durable) f.syncSync();
  } catch (e) {
    f.close();
    throw e;
  }
  if (durable) fsyncDir(dir);
  return f;
}

// ---------------------------------------------------------------------------------------------
// Record encoding

/** One command of a record: its db and its args (latin1 strings, args[0] the command name). */
export interface BinlogOp {
  db: number;
  args: string[];
}

/** A decoded record: when it was written and the commands it holds (one, or a unit of several). */
export interface BinlogEntry {
  /** Milliseconds since the epoch at append time. */
  ts: number;
  /** The commands, applied in order and together. */
  ops: BinlogOp[];
}

const KEY_TS = [0xa2, 0x74, 0x73]; // "ts"
const KEY_DB = [0xa2, 0x64, 0x62]; // "db"
const KEY_ARGS = [0xa4, 0x61, 0x72, 0x67, 0x73]; // "args"
const KEY_OPS = [0xa3, 0x6f, 0x70, 0x73]; // "ops"

/** Upper bound of the bytes the args of one command take in a payload. */
function argsBound(args: readonly string[]): number {
  let n = 40;
  for (let i = 0; i < args.length; i++) n += args[i]!.length + 5;
  return n;
}

/** Upper bound of the bytes a payload of these ops takes. */
function payloadBound(ops: readonly BinlogOp[]): number {
  let n = 32;
  for (const op of ops) n += argsBound(op.args);
  return n;
}

function putBytes(buf: Uint8Array, p: number, bytes: readonly number[]): number {
  for (let i = 0; i < bytes.length; i++) buf[p + i] = bytes[i]!;
  return p + bytes.length;
}

function putUint(buf: Uint8Array, p: number, n: number): number {
  if (n < 128) {
    buf[p] = n;
    return p + 1;
  }
  if (n < 0x100) {
    buf[p] = 0xcc;
    buf[p + 1] = n;
    return p + 2;
  }
  if (n < 0x10000) {
    buf[p] = 0xcd;
    buf[p + 1] = n >>> 8;
    buf[p + 2] = n & 0xff;
    return p + 3;
  }
  if (n < 0x1_0000_0000 && Number.isInteger(n)) {
    buf[p] = 0xce;
    buf[p + 1] = n >>> 24;
    buf[p + 2] = (n >>> 16) & 0xff;
    buf[p + 3] = (n >>> 8) & 0xff;
    buf[p + 4] = n & 0xff;
    return p + 5;
  }
  return putFloat(buf, p, n);
}

function putFloat(buf: Uint8Array, p: number, n: number): number {
  buf[p] = 0xcb;
  new DataView(buf.buffer, buf.byteOffset).setFloat64(p + 1, n, false);
  return p + 9;
}

function putLen(buf: Uint8Array, p: number, n: number, fix: number, c16: number): number {
  if (n < 16) {
    buf[p] = fix | n;
    return p + 1;
  }
  if (n < 0x10000) {
    buf[p] = c16;
    buf[p + 1] = n >>> 8;
    buf[p + 2] = n & 0xff;
    return p + 3;
  }
  buf[p] = c16 + 1;
  buf[p + 1] = n >>> 24;
  buf[p + 2] = (n >>> 16) & 0xff;
  buf[p + 3] = (n >>> 8) & 0xff;
  buf[p + 4] = n & 0xff;
  return p + 5;
}

function putArgs(buf: Uint8Array, p: number, args: readonly string[]): number {
  p = putLen(buf, p, args.length, 0x90, 0xdc);
  for (let a = 0; a < args.length; a++) {
    const s = args[a]!;
    const n = s.length;
    if (n < 0x100) {
      buf[p] = 0xc4;
      buf[p + 1] = n;
      p += 2;
    } else if (n < 0x10000) {
      buf[p] = 0xc5;
      buf[p + 1] = n >>> 8;
      buf[p + 2] = n & 0xff;
      p += 3;
    } else {
      buf[p] = 0xc6;
      buf[p + 1] = n >>> 24;
      buf[p + 2] = (n >>> 16) & 0xff;
      buf[p + 3] = (n >>> 8) & 0xff;
      buf[p + 4] = n & 0xff;
      p += 5;
    }
    for (let i = 0; i < n; i++) buf[p + i] = s.charCodeAt(i);
    p += n;
  }
  return p;
}

/** Timestamps above 2^32 go as float64 (exact up to 2^53): generic decoders give a number. */
function putTs(buf: Uint8Array, p: number, ts: number): number {
  return Number.isInteger(ts) && ts >= 0 && ts < 0x1_0000_0000
    ? putUint(buf, p, ts)
    : putFloat(buf, p, ts);
}

/** Payload of a one-command record at `buf[q]`; returns its end. */
function putSingle(
  buf: Uint8Array,
  q: number,
  db: number,
  args: readonly string[],
  ts: number,
): number {
  buf[q++] = 0x83;
  q = putBytes(buf, q, KEY_TS);
  q = putTs(buf, q, ts);
  q = putBytes(buf, q, KEY_DB);
  q = putUint(buf, q, db);
  q = putBytes(buf, q, KEY_ARGS);
  return putArgs(buf, q, args);
}

/** Payload of a unit record at `buf[q]`; returns its end. */
function putUnit(buf: Uint8Array, q: number, ops: readonly BinlogOp[], ts: number): number {
  if (ops.length === 1) return putSingle(buf, q, ops[0]!.db, ops[0]!.args, ts);
  buf[q++] = 0x82;
  q = putBytes(buf, q, KEY_TS);
  q = putTs(buf, q, ts);
  q = putBytes(buf, q, KEY_OPS);
  q = putLen(buf, q, ops.length, 0x90, 0xdc);
  for (const op of ops) {
    buf[q++] = 0x82;
    q = putBytes(buf, q, KEY_DB);
    q = putUint(buf, q, op.db);
    q = putBytes(buf, q, KEY_ARGS);
    q = putArgs(buf, q, op.args);
  }
  return q;
}

/** Fills the header of the record at `buf[p]` whose payload ends at `q`. */
function frame(buf: Uint8Array, p: number, q: number): void {
  const payloadStart = p + RECORD_HEADER_SIZE;
  const len = q - payloadStart;
  if (len > MAX_RECORD_PAYLOAD) throw new RangeError(`binlog record too large (${len} bytes)`);
  buf[p] = REC_MAGIC0;
  buf[p + 1] = REC_MAGIC1;
  buf[p + 2] = REC_VERSION;
  buf[p + 3] = 0;
  buf[p + 4] = len & 0xff;
  buf[p + 5] = (len >>> 8) & 0xff;
  buf[p + 6] = (len >>> 16) & 0xff;
  buf[p + 7] = len >>> 24;
  const crc = crc32c(buf, crc32c(buf, 0, p, p + 8), payloadStart, q);
  buf[p + 8] = crc & 0xff;
  buf[p + 9] = (crc >>> 8) & 0xff;
  buf[p + 10] = (crc >>> 16) & 0xff;
  buf[p + 11] = crc >>> 24;
}

function validateDb(db: number): void {
  if (!Number.isInteger(db) || db < 0 || db > 0xffff) throw new RangeError(`bad db ${db}`);
}

function validateOps(ops: readonly BinlogOp[]): void {
  if (ops.length === 0) throw new RangeError("binlog record without commands");
  for (const op of ops) {
    validateDb(op.db);
    if (op.args.length === 0) throw new RangeError("binlog command without args");
  }
}

/** One framed record (header + payload) for `ops`, as a fresh buffer. */
export function encodeRecord(ops: readonly BinlogOp[], ts: number): Uint8Array {
  validateOps(ops);
  const buf = new Uint8Array(RECORD_HEADER_SIZE + payloadBound(ops));
  const end = putUnit(buf, RECORD_HEADER_SIZE, ops, ts);
  frame(buf, 0, end);
  return buf.subarray(0, end);
}

/** What is wrong with the record at `buf[p]`, or its total length when it is whole and valid. */
function checkRecordAt(buf: Uint8Array, p: number, end: number): number | string {
  if (end - p < RECORD_HEADER_SIZE) return "truncated record header";
  if (buf[p] !== REC_MAGIC0 || buf[p + 1] !== REC_MAGIC1) return "bad record magic";
  if (buf[p + 2] !== REC_VERSION) return "unsupported record version";
  const len = (buf[p + 4]! | (buf[p + 5]! << 8) | (buf[p + 6]! << 16) | (buf[p + 7]! << 24)) >>>
    0;
  if (len > MAX_RECORD_PAYLOAD) return "bad record length";
  if (end - p < RECORD_HEADER_SIZE + len) return "truncated record";
  const want = (buf[p + 8]! | (buf[p + 9]! << 8) | (buf[p + 10]! << 16) | (buf[p + 11]! << 24)) >>>
    0;
  const got = crc32c(
    buf,
    crc32c(buf, 0, p, p + 8),
    p + RECORD_HEADER_SIZE,
    p + RECORD_HEADER_SIZE + len,
  );
  if (got !== want) return "record checksum mismatch";
  return RECORD_HEADER_SIZE + len;
}

/** Payload length announced by a record header at `buf[p]` (no checks). */
function announcedLength(buf: Uint8Array, p: number): number {
  return (buf[p + 4]! | (buf[p + 5]! << 8) | (buf[p + 6]! << 16) | (buf[p + 7]! << 24)) >>> 0;
}

/**
 * Splits `bytes` into whole framed records, checking each one's CRC. Throws CorruptionError
 * (file `source`, offset within `bytes`) when anything is wrong, including trailing bytes.
 */
export function splitRecords(bytes: Uint8Array, source = "<records>"): Uint8Array[] {
  const out: Uint8Array[] = [];
  let p = 0;
  while (p < bytes.length) {
    const r = checkRecordAt(bytes, p, bytes.length);
    if (typeof r === "string") throw new CorruptionError(source, p, r);
    out.push(bytes.subarray(p, p + r));
    p += r;
  }
  return out;
}

function readArgs(r: MsgReader): string[] {
  const n = r.array();
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) out[i] = r.latin1();
  return out;
}

/** `{ db, args }` map of a unit. */
function readOp(r: MsgReader): BinlogOp {
  const n = r.map();
  let db = -1;
  let args: string[] | undefined;
  for (let i = 0; i < n; i++) {
    const k = r.latin1();
    if (k === "db") db = r.number();
    else if (k === "args") args = readArgs(r);
    else r.skip();
  }
  if (db < 0 || args === undefined) return r.fail("command without db or args");
  return { db, args };
}

/** Decodes the payload of a framed record whose CRC is already known good. */
function decodePayload(raw: Uint8Array): BinlogEntry {
  const r = new MsgReader(raw, RECORD_HEADER_SIZE, RECORD_HEADER_SIZE + announcedLength(raw, 0));
  const n = r.map();
  let ts = 0;
  let db = -1;
  let args: string[] | undefined;
  let ops: BinlogOp[] | undefined;
  for (let i = 0; i < n; i++) {
    const k = r.latin1();
    if (k === "ts") ts = r.number();
    else if (k === "db") db = r.number();
    else if (k === "args") args = readArgs(r);
    else if (k === "ops") {
      const c = r.array();
      ops = new Array<BinlogOp>(c);
      for (let j = 0; j < c; j++) ops[j] = readOp(r);
    } else r.skip();
  }
  if (ops === undefined) {
    if (db < 0 || args === undefined) return r.fail("record without commands");
    ops = [{ db, args }];
  }
  if (!r.done) r.fail("trailing bytes in payload");
  return { ts, ops };
}

/**
 * Checks and decodes one framed record (exactly one: header + payload, nothing after). Throws
 * CorruptionError (file `source`, offset 0) when the framing or the CRC is wrong.
 */
export function decodeRecord(raw: Uint8Array, source = "<record>"): BinlogEntry {
  const r = checkRecordAt(raw, 0, raw.length);
  if (typeof r === "string") throw new CorruptionError(source, 0, r);
  if (r !== raw.length) throw new CorruptionError(source, r, "trailing bytes after the record");
  try {
    return decodePayload(raw);
  } catch (e) {
    throw new CorruptionError(source, 0, e instanceof Error ? e.message : String(e));
  }
}

/** A record read from the log: where it starts and ends, its framed bytes, and its content. */
export class BinlogRecord {
  /**
   * The position this record follows: `start`, except for the first record of a file reached
   * from the previous one, where it is the end of the previous file. A replica passes it to
   * {@link BinlogWriter.appendRaw} so it moves to a new file only when it has all of the old one.
   */
  readonly prev: Position;
  /** Position of the record's first byte (the position before it was applied). */
  readonly start: Position;
  /** Position after the record (what a consumer acknowledges once it applied the record). */
  readonly end: Position;
  /** The framed bytes (header + payload), CRC already checked: ship these verbatim. */
  readonly raw: Uint8Array;
  #entry: BinlogEntry | undefined;

  constructor(prev: Position, start: Position, end: Position, raw: Uint8Array) {
    this.prev = prev;
    this.start = start;
    this.end = end;
    this.raw = raw;
  }

  /** The decoded content (decoded on first access). */
  get entry(): BinlogEntry {
    if (this.#entry === undefined) {
      try {
        this.#entry = decodePayload(this.raw);
      } catch (e) {
        throw new CorruptionError(
          `binlog file ${this.start.file}`,
          this.start.offset,
          e instanceof Error ? e.message : String(e),
        );
      }
    }
    return this.#entry;
  }
}

// ---------------------------------------------------------------------------------------------
// Reader

/** A position the binlog cannot serve. */
export class BinlogPositionError extends TesseraError {
  /** purged: before the oldest record kept; ahead: past the end; invalid: not a record start. */
  readonly reason: "purged" | "ahead" | "invalid";
  readonly position: Position;
  constructor(reason: "purged" | "ahead" | "invalid", position: Position, detail: string) {
    super("ERR", `binlog position ${formatPosition(position)} ${reason}: ${detail}`);
    this.name = "BinlogPositionError";
    this.reason = reason;
    this.position = position;
  }
}

/** Why {@link BinlogReader.next} returned null. */
export type ReaderStop =
  /** Nothing has stopped the reader yet. */
  | { kind: "none" }
  /** Clean end of the log (more may come later: call next() again). */
  | { kind: "end" }
  /**
   * A partial or bad record at the tail of the last file with nothing valid after it: a torn
   * write after a crash, or a write still in progress. next() tries again when called again.
   */
  | { kind: "incomplete"; file: number; offset: number; reason: string }
  /** A corrupt record (only with `allowCorrupt`; otherwise next() throws CorruptionError). */
  | { kind: "corrupt"; file: number; offset: number; reason: string };

/** Options of {@link BinlogReader}. */
export interface BinlogReaderOptions {
  /** Report corruption through `stop` (next() returns null) instead of throwing. */
  allowCorrupt?: boolean;
  /** Read size (default 1 MiB). */
  chunkSize?: number;
}

/** Scans `bytes` after `from` for any whole, valid record. */
function hasValidRecordAfter(bytes: Uint8Array, from: number): boolean {
  for (let p = from; p + RECORD_HEADER_SIZE <= bytes.length; p++) {
    if (bytes[p] !== REC_MAGIC0 || bytes[p + 1] !== REC_MAGIC1) continue;
    if (typeof checkRecordAt(bytes, p, bytes.length) === "number") return true;
  }
  return false;
}

/**
 * Reads records in order from a position, across files. It can follow a log that is still
 * being written (replication): next() returns null at the current end and can be called again
 * later. Buffers handed out are never reused, so records may be kept.
 *
 * `from` must be a record boundary (a position the log handed out); {@link checkPosition}
 * validates positions that come from elsewhere (a replica).
 */
export class BinlogReader {
  readonly dir: string;
  readonly #allowCorrupt: boolean;
  readonly #chunkSize: number;
  #file = 0;
  #fd: Deno.FsFile | undefined;
  /** File offset of buf[0]. */
  #base = 0;
  #buf: Uint8Array = new Uint8Array(0);
  #start = 0;
  #end = 0;
  #stop: ReaderStop = { kind: "none" };
  #closed = false;
  /** End of the previous file, when the reader just moved to a new one. */
  #prev: Position | undefined;

  /** Throws BinlogPositionError when `from` is purged, past the end, or in a missing file. */
  constructor(dir: string, from: Position, options: BinlogReaderOptions = {}) {
    this.dir = dir;
    this.#allowCorrupt = options.allowCorrupt ?? false;
    this.#chunkSize = options.chunkSize ?? 1 << 20;
    const files = listBinlogFiles(dir);
    const first = files[0];
    const last = files[files.length - 1];
    if (first === undefined || last === undefined) {
      throw new BinlogPositionError("ahead", from, "the binlog is empty");
    }
    if (from.file < first) throw new BinlogPositionError("purged", from, `oldest file is ${first}`);
    if (from.file > last) throw new BinlogPositionError("ahead", from, `newest file is ${last}`);
    const { start, size } = readFileHeader(dir, from.file);
    if (from.offset > size) {
      throw new BinlogPositionError(
        from.file === last ? "ahead" : "invalid",
        from,
        `file ${from.file} has ${size} bytes`,
      );
    }
    this.#openFile(from.file, Math.max(from.offset, start));
  }

  /** Position after the last record returned: where the next one starts. */
  get position(): Position {
    return { file: this.#file, offset: this.#base + this.#start };
  }

  /** Why the last next() returned null. */
  get stop(): ReaderStop {
    return this.#stop;
  }

  #path(n = this.#file): string {
    return filePath(this.dir, n);
  }

  #openFile(n: number, offset: number): void {
    this.#fd?.close();
    this.#fd = Deno.openSync(this.#path(n), { read: true });
    this.#fd.seekSync(offset, Deno.SeekMode.Start);
    this.#file = n;
    this.#base = offset;
    this.#buf = new Uint8Array(0);
    this.#start = 0;
    this.#end = 0;
    this.#prev = undefined;
  }

  /** Makes at least `n` bytes available from #start if the file has them; returns how many are. */
  #fill(n: number): number {
    if (this.#end - this.#start >= n) return this.#end - this.#start;
    if (this.#buf.length - this.#start < n) {
      // Fresh buffer: records already handed out keep pointing into the old one.
      const size = Math.max(this.#chunkSize, n);
      const next = new Uint8Array(size);
      next.set(this.#buf.subarray(this.#start, this.#end));
      this.#base += this.#start;
      this.#end -= this.#start;
      this.#start = 0;
      this.#buf = next;
    }
    while (this.#end - this.#start < n && this.#end < this.#buf.length) {
      const r = this.#fd!.readSync(this.#buf.subarray(this.#end));
      if (r === null || r === 0) break;
      this.#end += r;
    }
    return this.#end - this.#start;
  }

  /** The next record, or null (see {@link stop}). Throws CorruptionError on corruption. */
  next(): BinlogRecord | null {
    if (this.#closed) throw new Error("binlog reader closed");
    for (;;) {
      const avail = this.#fill(RECORD_HEADER_SIZE);
      if (avail === 0) {
        // End of this file. Move on only once the next file exists: this one is then final.
        if (!exists(this.#path(this.#file + 1))) {
          this.#stop = { kind: "end" };
          return null;
        }
        if (this.#fill(RECORD_HEADER_SIZE) > 0) continue; // it grew before being sealed
        const nextPath = this.#path(this.#file + 1);
        const { head } = readHead(nextPath);
        if (head.length < FILE_HEADER_SIZE) {
          this.#stop = { kind: "end" }; // the next file is being created
          return null;
        }
        const h = decodeFileHeader(head, this.#file + 1);
        if (typeof h === "string") {
          if (!this.#allowCorrupt) throw new CorruptionError(nextPath, 0, h);
          this.#stop = { kind: "corrupt", file: this.#file + 1, offset: 0, reason: h };
          return null;
        }
        const prev = this.position;
        this.#openFile(this.#file + 1, h.start);
        this.#prev = prev;
        continue;
      }
      const p = this.#start;
      let r = checkRecordAt(this.#buf, p, this.#end);
      if (r === "truncated record") {
        // Read the rest of the record, unless the file is too short for the announced length
        // (which may be garbage: don't allocate for it).
        const need = RECORD_HEADER_SIZE + announcedLength(this.#buf, p);
        if (this.#fd!.statSync().size >= this.#base + p + need) {
          this.#fill(need);
          r = checkRecordAt(this.#buf, this.#start, this.#end);
        }
      }
      if (typeof r === "string") return this.#bad();
      const startPos = { file: this.#file, offset: this.#base + this.#start };
      const raw = this.#buf.subarray(this.#start, this.#start + r);
      this.#start += r;
      this.#stop = { kind: "none" };
      const prev = this.#prev ?? startPos;
      this.#prev = undefined;
      return new BinlogRecord(
        prev,
        startPos,
        { file: this.#file, offset: startPos.offset + r },
        raw,
      );
    }
  }

  /** A bad or partial record at the current position: a torn tail, or corruption. */
  #bad(): BinlogRecord | null {
    const offset = this.#base + this.#start;
    const sealed = exists(this.#path(this.#file + 1));
    // Everything from here to the end of the file as it is now.
    const rest = this.#readRest();
    const r = checkRecordAt(rest, 0, rest.length);
    if (typeof r === "number") {
      // The record completed meanwhile (written concurrently); retry from a fresh buffer.
      const prev = this.#prev;
      this.#openFile(this.#file, offset);
      this.#prev = prev;
      return this.next();
    }
    if (!sealed && !hasValidRecordAfter(rest, 1)) {
      this.#stop = { kind: "incomplete", file: this.#file, offset, reason: r };
      this.#reopenAt(offset); // re-read from here next time
      return null;
    }
    if (this.#allowCorrupt) {
      this.#stop = { kind: "corrupt", file: this.#file, offset, reason: r };
      this.#reopenAt(offset);
      return null;
    }
    throw new CorruptionError(this.#path(), offset, r);
  }

  /** Re-reads from `offset` next time, keeping the pending `prev`. */
  #reopenAt(offset: number): void {
    const prev = this.#prev;
    this.#openFile(this.#file, offset);
    this.#prev = prev;
  }

  #readRest(): Uint8Array {
    const offset = this.#base + this.#start;
    const f = Deno.openSync(this.#path(), { read: true });
    try {
      const size = f.statSync().size;
      const out = new Uint8Array(Math.max(0, size - offset));
      f.seekSync(offset, Deno.SeekMode.Start);
      let got = 0;
      while (got < out.length) {
        const r = f.readSync(out.subarray(got));
        if (r === null || r === 0) break;
        got += r;
      }
      return out.subarray(0, got);
    } finally {
      f.close();
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#fd?.close();
    this.#fd = undefined;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Every record from `from` (default: the oldest kept) to the current end of the log. Throws
 * CorruptionError on corruption (unless `allowCorrupt`: it then just stops); a torn tail ends
 * the iteration. The generator's return value is how it stopped.
 */
export function* readRecords(
  dir: string,
  from?: Position,
  options: BinlogReaderOptions = {},
): Generator<BinlogRecord, ReaderStop & { position: Position }> {
  const start = from ?? firstPosition(dir);
  const reader = new BinlogReader(dir, start, options);
  try {
    for (;;) {
      const rec = reader.next();
      if (rec === null) return { ...reader.stop, position: reader.position };
      yield rec;
    }
  } finally {
    reader.close();
  }
}

/** Position of the oldest record kept (throws BinlogPositionError when there is no binlog). */
export function firstPosition(dir: string): Position {
  const first = listBinlogFiles(dir)[0];
  if (first === undefined) throw new BinlogPositionError("ahead", BINLOG_START, "no binlog files");
  return { file: first, offset: readFileHeader(dir, first).start };
}

/** Result of {@link checkPosition}; every outcome is spelled out, there is no default. */
export type PositionCheck =
  | { kind: "ok" }
  /** Older than the oldest file kept: the requester needs a full sync. */
  | { kind: "purged"; first: Position }
  /** Beyond the end of the log (the requester has records this log has not). */
  | { kind: "ahead"; end: Position }
  /** Not a record boundary, or a hole. */
  | { kind: "invalid"; reason: string };

/**
 * Whether reading can start at `pos` (replication's TrySync check). A writer in this thread
 * must flush() first so the files hold everything it appended.
 */
export function checkPosition(dir: string, pos: Position): PositionCheck {
  const files = listBinlogFiles(dir);
  const first = files[0];
  const last = files[files.length - 1];
  if (first === undefined || last === undefined) return { kind: "invalid", reason: "no binlog" };
  if (!Number.isSafeInteger(pos.file) || !Number.isSafeInteger(pos.offset) || pos.offset < 0) {
    return { kind: "invalid", reason: "malformed position" };
  }
  if (pos.file < first) return { kind: "purged", first: firstPosition(dir) };
  const lastInfo = readFileHeader(dir, last);
  const end = { file: last, offset: lastInfo.size };
  if (pos.file > last) return { kind: "ahead", end };
  const { start, size } = pos.file === last ? lastInfo : readFileHeader(dir, pos.file);
  if (pos.offset === start) return { kind: "ok" };
  if (pos.offset < start) return { kind: "invalid", reason: "before the first record of its file" };
  if (pos.offset > size) {
    return pos.file === last
      ? { kind: "ahead", end }
      : { kind: "invalid", reason: "past its file" };
  }
  if (pos.offset === size) return { kind: "ok" };
  // A record must start exactly here.
  const f = Deno.openSync(filePath(dir, pos.file), { read: true });
  try {
    f.seekSync(pos.offset, Deno.SeekMode.Start);
    const head = new Uint8Array(RECORD_HEADER_SIZE);
    let got = 0;
    while (got < head.length) {
      const r = f.readSync(head.subarray(got));
      if (r === null || r === 0) break;
      got += r;
    }
    if (got < RECORD_HEADER_SIZE || head[0] !== REC_MAGIC0 || head[1] !== REC_MAGIC1) {
      return { kind: "invalid", reason: "not a record boundary" };
    }
    const len = announcedLength(head, 0);
    if (len > MAX_RECORD_PAYLOAD || pos.offset + RECORD_HEADER_SIZE + len > size) {
      return { kind: "invalid", reason: "not a record boundary" };
    }
    const rec = new Uint8Array(RECORD_HEADER_SIZE + len);
    rec.set(head);
    while (got < rec.length) {
      const r = f.readSync(rec.subarray(got));
      if (r === null || r === 0) break;
      got += r;
    }
    return typeof checkRecordAt(rec, 0, got) === "number"
      ? { kind: "ok" }
      : { kind: "invalid", reason: "not a record boundary" };
  } finally {
    f.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Purge

/** Options of {@link purgeBefore}. */
export interface PurgeOptions {
  /** Always keep at least this many newest files (default 10, as Pika). */
  keepFiles?: number;
  /**
   * A file is kept when any veto returns true for its number (a replica still reads it, a full
   * sync in progress pinned it, ...). Files are purged oldest first and purging stops at the
   * first file kept, so the log never gets a hole.
   */
  vetoes?: ReadonlyArray<(file: number) => boolean>;
}

/**
 * Deletes the oldest files that hold only records before `pos` (files numbered below
 * `pos.file`), within `keepFiles` and the vetoes; never the newest file. Returns the numbers of
 * the files deleted.
 */
export function purgeBefore(dir: string, pos: Position, options: PurgeOptions = {}): number[] {
  const keep = Math.max(0, options.keepFiles ?? 10);
  const vetoes = options.vetoes ?? [];
  const files = listBinlogFiles(dir);
  const deleted: number[] = [];
  const limit = Math.min(files.length - keep, files.length - 1);
  for (let i = 0; i < limit; i++) {
    const n = files[i]!;
    if (n >= pos.file) break;
    if (vetoes.some((v) => v(n))) break;
    Deno.removeSync(filePath(dir, n));
    deleted.push(n);
  }
  if (deleted.length > 0) fsyncDir(dir);
  return deleted;
}

// ---------------------------------------------------------------------------------------------
// Writer

/** When appended records reach the disk: see {@link BinlogWriter.commit}. */
export type FsyncPolicy = "always" | "everysec" | "no";

/** Options of {@link BinlogWriter.open}. */
export interface BinlogWriterOptions {
  /** Rotate before a record would take the file past this size (default 100 MiB). */
  fileSize?: number;
  /** Default "everysec". */
  fsync?: FsyncPolicy;
  /** Drop everything from a corrupt record on instead of throwing CorruptionError. */
  truncateCorrupt?: boolean;
  /**
   * Check every record from this position on (normally the position of the snapshot just
   * loaded) and hand each to `onRecord` (to replay it). Without it, only the last file is
   * checked. Throws BinlogPositionError when the position is purged, past the end, or not a
   * record boundary.
   */
  replayFrom?: Position;
  /** Receives every record from `replayFrom` on, in order, before the writer is ready. */
  onRecord?: (record: BinlogRecord) => void;
  /** Where a binlog that has no file yet starts (default {@link BINLOG_START}). */
  startAt?: Position;
}

/** What opening found. */
export type RecoveryReport =
  /** The log was intact. */
  | { kind: "clean" }
  /** There was no log; a new one was started. */
  | { kind: "created" }
  /** A torn record at the tail of the last file was cut off: log a warning. */
  | { kind: "torn-tail"; file: number; offset: number; droppedBytes: number; reason: string }
  /** `truncateCorrupt`: everything from a corrupt record on was dropped. */
  | {
    kind: "corrupt-truncated";
    file: number;
    offset: number;
    droppedBytes: number;
    droppedFiles: number[];
    reason: string;
  };

const INITIAL_BUFFER = 64 * 1024;
const FLUSH_THRESHOLD = 1 << 20;

/**
 * Appends records to a shard's binlog.
 *
 * Appends go to a memory buffer; {@link flush} writes it to the OS, {@link fsync} makes it
 * durable, and {@link commit} applies the fsync policy: call it once after each batch of
 * commands, before their replies go out (group commit), and about once a second when idle
 * (for "everysec"). Records never straddle files.
 */
export class BinlogWriter {
  readonly dir: string;
  readonly fileSize: number;
  readonly policy: FsyncPolicy;
  /** What opening found (log a warning unless clean/created). */
  readonly recovery: RecoveryReport;
  #file: number;
  #fd: Deno.FsFile;
  /** Offset of the first record of the current file. */
  #fileStart: number;
  /** Bytes of the current file already handed to the OS. */
  #written: number;
  #buf = new Uint8Array(INITIAL_BUFFER);
  #len = 0;
  #synced: Position;
  #lastSyncAt = 0;
  /** A background fsync ("everysec") in progress. */
  #inflight: Promise<void> | undefined;
  #broken: unknown = undefined;
  #closed = false;

  private constructor(
    dir: string,
    options: BinlogWriterOptions,
    state: { file: number; fd: Deno.FsFile; fileStart: number; size: number },
    recovery: RecoveryReport,
  ) {
    this.dir = dir;
    this.fileSize = options.fileSize ?? DEFAULT_FILE_SIZE;
    this.policy = options.fsync ?? "everysec";
    this.recovery = recovery;
    this.#file = state.file;
    this.#fd = state.fd;
    this.#fileStart = state.fileStart;
    this.#written = state.size;
    this.#synced = { file: state.file, offset: state.size };
  }

  /**
   * Opens (creating if needed) the binlog in `dir`, recovering as the module comment says.
   * Throws CorruptionError on corruption without `truncateCorrupt`.
   */
  static open(dir: string, options: BinlogWriterOptions = {}): BinlogWriter {
    if (options.fileSize !== undefined && !(options.fileSize > FILE_HEADER_SIZE)) {
      throw new RangeError("binlog fileSize too small");
    }
    Deno.mkdirSync(dir, { recursive: true });
    const durable = (options.fsync ?? "everysec") !== "no";
    const files = listBinlogFiles(dir);
    if (files.length === 0) {
      const at = options.startAt ?? BINLOG_START;
      if (options.replayFrom !== undefined && !positionsEqual(options.replayFrom, at)) {
        throw new BinlogPositionError("ahead", options.replayFrom, "the binlog is empty");
      }
      const start = Math.max(at.offset, FILE_HEADER_SIZE);
      const fd = createFile(dir, at.file, start, durable);
      return new BinlogWriter(dir, options, { file: at.file, fd, fileStart: start, size: start }, {
        kind: "created",
      });
    }
    for (let i = 1; i < files.length; i++) {
      if (files[i] !== files[i - 1]! + 1) {
        throw new CorruptionError(filePath(dir, files[i - 1]! + 1), 0, "binlog file missing");
      }
    }
    let last = files[files.length - 1]!;
    let recovery: RecoveryReport = { kind: "clean" };

    // A last file with a torn or bad header (crash while creating it).
    const lastPath = filePath(dir, last);
    const size = Deno.statSync(lastPath).size;
    const header = decodeFileHeader(readHead(lastPath).head, last);
    if (typeof header === "string") {
      if (size >= FILE_HEADER_SIZE && !options.truncateCorrupt) {
        throw new CorruptionError(lastPath, 0, header);
      }
      if (options.replayFrom !== undefined && options.replayFrom.file === last) {
        throw new CorruptionError(lastPath, 0, header);
      }
      Deno.removeSync(lastPath);
      createFile(dir, last, FILE_HEADER_SIZE, durable).close();
      recovery = size < FILE_HEADER_SIZE
        ? { kind: "torn-tail", file: last, offset: 0, droppedBytes: size, reason: header }
        : {
          kind: "corrupt-truncated",
          file: last,
          offset: 0,
          droppedBytes: size,
          droppedFiles: [],
          reason: header,
        };
    }

    let from: Position;
    if (options.replayFrom !== undefined) {
      const check = checkPosition(dir, options.replayFrom);
      if (check.kind !== "ok") {
        throw new BinlogPositionError(
          check.kind,
          options.replayFrom,
          check.kind === "invalid" ? check.reason : "cannot replay from there",
        );
      }
      from = options.replayFrom;
    } else {
      from = { file: last, offset: 0 };
    }

    const reader = new BinlogReader(dir, from, { allowCorrupt: true });
    let stop: ReaderStop;
    let endPos: Position;
    try {
      for (;;) {
        const rec = reader.next();
        if (rec === null) break;
        options.onRecord?.(rec);
      }
      stop = reader.stop;
      endPos = reader.position;
    } finally {
      reader.close();
    }
    if (stop.kind === "incomplete") {
      const path = filePath(dir, stop.file);
      const dropped = Deno.statSync(path).size - stop.offset;
      Deno.truncateSync(path, stop.offset);
      recovery = {
        kind: "torn-tail",
        file: stop.file,
        offset: stop.offset,
        droppedBytes: dropped,
        reason: stop.reason,
      };
    } else if (stop.kind === "corrupt") {
      const path = filePath(dir, stop.file);
      if (!options.truncateCorrupt) throw new CorruptionError(path, stop.offset, stop.reason);
      let dropped = Deno.statSync(path).size - stop.offset;
      if (stop.offset < FILE_HEADER_SIZE) {
        // The file's header itself is bad: start the file afresh.
        Deno.removeSync(path);
        createFile(dir, stop.file, FILE_HEADER_SIZE, durable).close();
      } else Deno.truncateSync(path, stop.offset);
      const droppedFiles: number[] = [];
      for (const n of files) {
        if (n <= stop.file) continue;
        dropped += Deno.statSync(filePath(dir, n)).size;
        Deno.removeSync(filePath(dir, n));
        droppedFiles.push(n);
      }
      recovery = {
        kind: "corrupt-truncated",
        file: stop.file,
        offset: stop.offset,
        droppedBytes: dropped,
        droppedFiles,
        reason: stop.reason,
      };
      last = stop.file;
    }
    if (stop.kind !== "corrupt" && endPos.file !== last) {
      throw new CorruptionError(filePath(dir, last), 0, "binlog did not read to its last file");
    }
    const { start, size: endSize } = readFileHeader(dir, last);
    const fd = Deno.openSync(filePath(dir, last), { read: true, write: true });
    fd.seekSync(endSize, Deno.SeekMode.Start);
    if (durable && recovery.kind !== "clean") {
      fd.syncSync();
      fsyncDir(dir);
    }
    return new BinlogWriter(
      dir,
      options,
      { file: last, fd, fileStart: start, size: endSize },
      recovery,
    );
  }

  /** Position after the last record appended (buffered or not). */
  get position(): Position {
    return { file: this.#file, offset: this.#written + this.#len };
  }

  /** Position up to which records are in the files (visible to readers). */
  get flushedPosition(): Position {
    return { file: this.#file, offset: this.#written };
  }

  /** Position up to which records are known durable (fsynced). */
  get syncedPosition(): Position {
    return { ...this.#synced };
  }

  /** Number of the file being written. */
  get currentFile(): number {
    return this.#file;
  }

  /** Numbers of the files of this binlog, ascending. */
  files(): number[] {
    return listBinlogFiles(this.dir);
  }

  #check(): void {
    if (this.#closed) throw new Error("binlog writer closed");
    if (this.#broken !== undefined) {
      throw new Error("binlog writer failed earlier; reopen it", { cause: this.#broken });
    }
  }

  #reserve(n: number): void {
    const need = this.#len + n;
    if (need <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  /** Appends one command; returns the position after it. */
  append(db: number, args: readonly string[], ts: number): Position {
    this.#check();
    validateDb(db);
    if (args.length === 0) throw new RangeError("binlog command without args");
    const recStart = this.#len;
    this.#reserve(RECORD_HEADER_SIZE + argsBound(args));
    const recEnd = putSingle(this.#buf, recStart + RECORD_HEADER_SIZE, db, args, ts);
    frame(this.#buf, recStart, recEnd);
    this.#place(recStart, recEnd);
    return { file: this.#file, offset: this.#written + this.#len };
  }

  /** Appends several commands as one atomic record; returns the position after it. */
  appendUnit(ops: readonly BinlogOp[], ts: number): Position {
    this.#check();
    validateOps(ops);
    const recStart = this.#len;
    this.#reserve(RECORD_HEADER_SIZE + payloadBound(ops));
    const recEnd = putUnit(this.#buf, recStart + RECORD_HEADER_SIZE, ops, ts);
    frame(this.#buf, recStart, recEnd);
    this.#place(recStart, recEnd);
    return this.position;
  }

  /**
   * Appends framed records received from a master, verbatim. `raw` is one or more whole
   * records, contiguous in one file of the master, starting at the master's position `at`.
   * When `at` is in the file after the current one (and `prev`, the record's
   * {@link BinlogRecord.prev}, if given, equals this log's position), this log moves to that
   * file too, so positions stay identical; any other mismatch throws BinlogPositionError
   * ("invalid") and nothing is written. Without `at`, records are placed as local appends
   * (rotation by size). Throws CorruptionError when a record's framing or CRC is wrong
   * (nothing is written).
   */
  appendRaw(raw: Uint8Array, at?: Position, prev?: Position): Position {
    this.#check();
    const records = splitRecords(raw, "<replicated records>");
    if (records.length === 0) return this.position;
    if (at !== undefined) {
      const cur = this.position;
      if (
        at.file === cur.file + 1 && at.offset >= FILE_HEADER_SIZE &&
        (prev === undefined || positionsEqual(prev, cur))
      ) {
        this.#rotateTo(at.file, at.offset);
      } else if (!positionsEqual(at, cur)) {
        throw new BinlogPositionError("invalid", at, `this binlog is at ${formatPosition(cur)}`);
      }
      this.#reserve(raw.length);
      this.#buf.set(raw, this.#len);
      this.#len += raw.length;
      if (this.#len >= FLUSH_THRESHOLD) this.flush();
      return this.position;
    }
    for (const rec of records) {
      const recStart = this.#len;
      this.#reserve(rec.length);
      this.#buf.set(rec, recStart);
      this.#place(recStart, recStart + rec.length);
    }
    return this.position;
  }

  /** The record just encoded at buf[recStart, recEnd) is final: rotate first if it doesn't fit. */
  #place(recStart: number, recEnd: number): void {
    const fileOffset = this.#written + recStart;
    if (fileOffset > this.#fileStart && fileOffset + (recEnd - recStart) > this.fileSize) {
      // Flush what precedes the record into the current file, then start the next file.
      const rec = this.#buf.slice(recStart, recEnd);
      this.#len = recStart;
      this.#rotateTo(this.#file + 1, FILE_HEADER_SIZE);
      this.#reserve(rec.length);
      this.#buf.set(rec, 0);
      this.#len = rec.length;
    } else {
      this.#len = recEnd;
    }
    if (this.#len >= FLUSH_THRESHOLD) this.flush();
  }

  /** Writes buffered records to the OS (readers see them; not yet durable). */
  flush(): void {
    this.#check();
    if (this.#len === 0) return;
    try {
      writeAll(this.#fd, this.#buf.subarray(0, this.#len));
    } catch (e) {
      this.#broken = e;
      throw e;
    }
    this.#written += this.#len;
    this.#len = 0;
    if (this.#buf.length > 4 * FLUSH_THRESHOLD) this.#buf = new Uint8Array(INITIAL_BUFFER);
  }

  /**
   * Flushes and fsyncs: everything appended so far is durable when this returns. `now` (the
   * commit clock) restarts the "everysec" interval when given.
   */
  fsync(now?: number): void {
    this.flush();
    if (now !== undefined) this.#lastSyncAt = now;
    if (this.#synced.file === this.#file && this.#synced.offset === this.#written) return;
    try {
      this.#fd.syncDataSync();
    } catch (e) {
      this.#broken = e;
      throw e;
    }
    this.#synced = { file: this.#file, offset: this.#written };
  }

  /**
   * Applies the fsync policy; call after each batch of appends, before replying. "always":
   * flush + fsync. "everysec": flush, and start a background fsync when the last one is 1 s
   * old or more (call commit about once a second when idle too). "no": flush.
   */
  commit(now: number = Date.now()): void {
    if (this.policy === "always") this.fsync(now);
    else if (this.policy === "everysec") {
      this.flush();
      if (now - this.#lastSyncAt >= 1000 && this.#inflight === undefined) {
        this.#backgroundSync(now);
      }
    } else this.flush();
  }

  /**
   * fsync on the runtime's blocking pool, so the shard thread does not wait for the disk;
   * `syncedPosition` advances when it completes. A failure makes later appends throw.
   */
  #backgroundSync(now: number): void {
    const target = { file: this.#file, offset: this.#written };
    if (positionsEqual(target, this.#synced)) return;
    this.#lastSyncAt = now;
    this.#inflight = this.#fd.syncData().then(
      () => {
        if (comparePositions(target, this.#synced) > 0) this.#synced = target;
      },
      (e) => {
        if (!this.#closed) this.#broken ??= e;
      },
    ).finally(() => {
      this.#inflight = undefined;
    });
  }

  /** Resolves once no background fsync is in progress. */
  async settled(): Promise<void> {
    while (this.#inflight !== undefined) await this.#inflight;
  }

  /** Starts a new file now (e.g. before a purge, or to seal the current one). */
  rotate(): void {
    this.#check();
    if (this.#written + this.#len === this.#fileStart) return; // current file is empty
    this.#rotateTo(this.#file + 1, FILE_HEADER_SIZE);
  }

  #rotateTo(next: number, start: number): void {
    const durable = this.policy !== "no";
    this.flush();
    if (durable) this.fsync();
    this.#fd.close();
    try {
      this.#fd = createFile(this.dir, next, start, durable);
    } catch (e) {
      this.#broken = e;
      throw e;
    }
    this.#file = next;
    this.#fileStart = start;
    this.#written = start;
    if (durable) this.#synced = { file: next, offset: start };
  }

  /**
   * Drops the whole log and continues at `pos` (a replica that loaded a full-sync snapshot taken
   * at its master's position `pos`): the next record appended starts at `pos`.
   */
  resetTo(pos: Position): void {
    this.#check();
    if (!Number.isSafeInteger(pos.file) || pos.file < 1 || pos.offset < 0) {
      throw new RangeError(`bad position ${formatPosition(pos)}`);
    }
    this.#len = 0;
    this.#fd.close();
    for (const n of listBinlogFiles(this.dir)) Deno.removeSync(filePath(this.dir, n));
    const start = Math.max(pos.offset, FILE_HEADER_SIZE);
    const durable = this.policy !== "no";
    try {
      this.#fd = createFile(this.dir, pos.file, start, durable);
    } catch (e) {
      this.#broken = e;
      throw e;
    }
    this.#file = pos.file;
    this.#fileStart = start;
    this.#written = start;
    this.#synced = { file: pos.file, offset: start };
  }

  /** {@link checkPosition} against this log, after flushing. */
  checkPosition(pos: Position): PositionCheck {
    this.flush();
    return checkPosition(this.dir, pos);
  }

  /** Flushes, fsyncs (unless the policy is "no") and closes. */
  close(): void {
    if (this.#closed) return;
    try {
      if (this.#broken === undefined) {
        if (this.policy === "no") this.flush();
        else this.fsync();
      }
    } finally {
      this.#closed = true;
      this.#fd.close();
    }
  }
}
