/**
 * Snapshots: the whole dataset at one instant, one file per shard, plus a manifest.
 *
 * ## Layout
 *
 *     <root>/snapshots/<id>/manifest.json      written last, inside the tmp dir
 *     <root>/snapshots/<id>/shard-<n>.mpk      one per shard
 *     <root>/snapshots/tmp-<id>/...            a snapshot being written (or received)
 *
 * A snapshot is made in `tmp-<id>` (each shard worker writes its own file there with a
 * {@link SnapshotCursor}), then {@link commitSnapshot} writes the manifest and renames the
 * directory to `<id>` atomically: a crash at any point leaves the previous snapshot intact, and
 * a directory named `<id>` is always complete. {@link latestSnapshot} still checks every file
 * (present, right size) so a damaged directory is never taken for a snapshot, and
 * {@link loadShardSnapshot} checks the file checksum. A replica receiving a full sync writes the
 * master's files into its own tmp dir and commits with the master's manifest and
 * `verify: true`, so it swaps in only a snapshot whose every file matches (size and checksum).
 *
 * ## Shard file (`shard-<n>.mpk`)
 *
 * A 16-byte header (magic "TSSNAP01", format version u32 = 1, shard u32, little-endian), then
 * chunks, each `type u8, length u32 LE, crc32c u32 LE (of type, length and payload)` then a
 * msgpack payload:
 *
 * - type 1, meta (first): `{ format: 1, shard, position: { file, offset }, createdAt }`
 * - type 2, data: an array of items `[db, key (bin), entry]`, entry as
 *   {@link encodeEntry} (absolute expiry in `entry.x`)
 * - type 3, end (last): `{ keys, chunks }`
 *
 * The file is streamed chunk by chunk (never one giant buffer); its CRC-32C is computed on the way
 * and recorded in the manifest (8 lower-case hex digits).
 *
 * ## Point in time
 *
 * A {@link SnapshotCursor} captures each db's key list when created (instant T) and writes a
 * chunk per {@link SnapshotCursor.step}; the shard keeps serving between steps. To keep the
 * snapshot equal to the dataset at T, the shard MUST call, while a cursor is active:
 *
 * - `cursor.beforeWrite(db, key)` BEFORE any change to `key` in `db`: its value (in place or
 *   replaced), its expiry (set or removed), its existence (created, deleted, renamed away or
 *   to, moved, imported from another shard, removed after a cross-shard command). In practice:
 *   for every command flagged "write", for each of its keys (keyPositions), before executing
 *   it; MOVE/COPY/RENAME: both keys (and both dbs for MOVE);
 * - `cursor.beforeFlush(db)` BEFORE FLUSHDB (that db), FLUSHALL (every db) and SWAPDB (both).
 *
 * The first write to a key not yet written to the file saves a copy of its old entry
 * ({@link cloneEntry}); later writes cost nothing. Keys removed by expiry while the snapshot runs
 * may be missing from it: they are expired at any later time anyway, and the binlog carries
 * their DEL. Pair the cursor with the binlog position taken at the same instant
 * (`writer.position`, in the same synchronous step, before any other command runs): replaying
 * the binlog from that position over the loaded snapshot gives the live dataset.
 *
 * Everything is synchronous: it runs in the shard's worker thread.
 */
import { fsyncDir, type Position } from "./binlog.ts";
import { Crc32c, crc32c } from "./crc32.ts";
import { EntryFormatError, MsgReader, MsgWriter, packr, unpackr } from "./entry_codec.ts";
import { CorruptionError } from "./errors.ts";
import { cloneEntry, type Entry, type Keyspace } from "./keyspace.ts";

/** One shard file as the manifest lists it. */
export interface ShardFileInfo {
  /** File name inside the snapshot directory (`shard-<n>.mpk`). */
  name: string;
  /** Size in bytes. */
  size: number;
  /** CRC-32C of the whole file, 8 lower-case hex digits. */
  checksum: string;
  /** Number of keys in the file. */
  keys: number;
}

/** `manifest.json`. */
export interface SnapshotManifest {
  format: 1;
  id: string;
  /** ms since the epoch. */
  createdAt: number;
  /** Number of shards; `files[i]` and `positions[i]` belong to shard i. */
  shards: number;
  files: ShardFileInfo[];
  /** Per shard: the binlog position the snapshot corresponds to (replay from there). */
  positions: Position[];
}

/** A complete snapshot on disk. */
export interface SnapshotInfo {
  id: string;
  /** Its directory. */
  path: string;
  manifest: SnapshotManifest;
}

const FILE_MAGIC = [0x54, 0x53, 0x53, 0x4e, 0x41, 0x50, 0x30, 0x31]; // "TSSNAP01"
const FILE_HEADER = 16;
const CHUNK_HEADER = 9;
const CHUNK_META = 1;
const CHUNK_DATA = 2;
const CHUNK_END = 3;
const MAX_CHUNK = 0x7fff_ffff;
const MANIFEST = "manifest.json";
const TMP_PREFIX = "tmp-";

/** `<root>/snapshots`. */
export function snapshotsDir(root: string): string {
  return `${root}/snapshots`;
}

/** File name of shard `n`'s file. */
export function shardFileName(shard: number): string {
  return `shard-${shard}.mpk`;
}

/** A new snapshot id: sortable by time (`<ms, 15 digits>-<random>`), safe as a directory name. */
export function newSnapshotId(now: number = Date.now()): string {
  const rand = Math.floor(Math.random() * 0x1_0000_0000).toString(16).padStart(8, "0");
  return `${String(now).padStart(15, "0")}-${rand}`;
}

/** Creates `<root>/snapshots/tmp-<id>` (empty) and returns its path. */
export function createSnapshotTmpDir(root: string, id: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(id) || id.startsWith(TMP_PREFIX)) {
    throw new RangeError(`bad snapshot id ${id}`);
  }
  const dir = `${snapshotsDir(root)}/${TMP_PREFIX}${id}`;
  Deno.mkdirSync(snapshotsDir(root), { recursive: true });
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  Deno.mkdirSync(dir);
  return dir;
}

function writeAll(f: Deno.FsFile, data: Uint8Array): void {
  let done = 0;
  while (done < data.length) done += f.writeSync(data.subarray(done));
}

/** Options of {@link SnapshotCursor}. */
export interface SnapshotCursorOptions {
  /** Keys per chunk at most (default 1024). */
  chunkKeys?: number;
  /** Approximate payload bytes per chunk at most (default 1 MiB); one big key may exceed it. */
  chunkBytes?: number;
  /** Recorded in the meta chunk (default Date.now()). */
  createdAt?: number;
  /** fsync the file when finished (default true). */
  fsync?: boolean;
}

/** The state of a key at the snapshot instant, saved before its first write. */
interface Saved {
  entry: Entry;
  expireAt: number | undefined;
}

/**
 * Writes one shard's snapshot file incrementally, as of the instant it was created. See the
 * module comment for what the shard must call while it is active.
 */
export class SnapshotCursor {
  readonly shard: number;
  /** The binlog position paired with this snapshot. */
  readonly position: Position;
  /** Path of the file being written. */
  readonly path: string;
  readonly createdAt: number;
  readonly #ks: Keyspace;
  readonly #chunkKeys: number;
  readonly #chunkBytes: number;
  readonly #fsync: boolean;
  /** Per db: the keys at the snapshot instant (released once the db is written). */
  readonly #keys: string[][];
  /** Per db: entries saved before their first write. */
  readonly #saved: Array<Map<string, Saved> | undefined>;
  /** Per db: keys already handled by beforeWrite (saved, or absent at their first write). */
  readonly #touched: Array<Set<string> | undefined>;
  /** Per db: copies of the maps taken before a flush. */
  readonly #frozen: Array<{ data: Map<string, Entry>; expires: Map<string, number> } | undefined>;
  #db = 0;
  #idx = 0;
  #fd: Deno.FsFile | undefined;
  readonly #crc = new Crc32c();
  #size = 0;
  #keysWritten = 0;
  #chunks = 0;
  #result: ShardFileInfo | undefined;
  #failed = false;
  readonly #body = new MsgWriter(256 * 1024);

  /**
   * Starts a snapshot of `ks` as it is now, to `<tmpDir>/shard-<shard>.mpk`. `position` is the
   * shard's binlog position at this same instant.
   */
  constructor(
    tmpDir: string,
    shard: number,
    ks: Keyspace,
    position: Position,
    options: SnapshotCursorOptions = {},
  ) {
    this.shard = shard;
    this.position = { file: position.file, offset: position.offset };
    this.path = `${tmpDir}/${shardFileName(shard)}`;
    this.createdAt = options.createdAt ?? Date.now();
    this.#ks = ks;
    this.#chunkKeys = Math.max(1, options.chunkKeys ?? 1024);
    this.#chunkBytes = Math.max(1, options.chunkBytes ?? 1 << 20);
    this.#fsync = options.fsync ?? true;
    const n = ks.dbs.length;
    this.#keys = ks.dbs.map((db) => Array.from(db.data.keys()));
    this.#saved = new Array(n).fill(undefined);
    this.#touched = new Array(n).fill(undefined);
    this.#frozen = new Array(n).fill(undefined);
    this.#fd = Deno.openSync(this.path, { write: true, create: true, truncate: true });
    try {
      const head = new Uint8Array(FILE_HEADER);
      head.set(FILE_MAGIC, 0);
      const dv = new DataView(head.buffer);
      dv.setUint32(8, 1, true);
      dv.setUint32(12, shard, true);
      this.#write(head);
      this.#chunk(CHUNK_META, {
        format: 1,
        shard,
        position: this.position,
        createdAt: this.createdAt,
      });
    } catch (e) {
      this.abort();
      throw e;
    }
  }

  /** True once the file is complete (see {@link result}). */
  get done(): boolean {
    return this.#result !== undefined;
  }

  /** Call BEFORE changing `key` in db `db` (see the module comment). Cheap when already done. */
  beforeWrite(db: number, key: string): void {
    if (db < this.#db || this.#result !== undefined || this.#frozen[db] !== undefined) return;
    let touched = this.#touched[db];
    if (touched === undefined) touched = this.#touched[db] = new Set();
    else if (touched.has(key)) return;
    touched.add(key);
    const d = this.#ks.dbs[db];
    if (d === undefined) return;
    const entry = d.data.get(key);
    if (entry === undefined) return; // created after the snapshot instant (or expired)
    let saved = this.#saved[db];
    if (saved === undefined) saved = this.#saved[db] = new Map();
    saved.set(key, { entry: cloneEntry(entry), expireAt: d.expires.get(key) });
  }

  /** Call BEFORE emptying or swapping db `db` (FLUSHDB, FLUSHALL, SWAPDB). */
  beforeFlush(db: number): void {
    if (db < this.#db || this.#result !== undefined || this.#frozen[db] !== undefined) return;
    const d = this.#ks.dbs[db];
    if (d === undefined) return;
    // The db's entries at this moment, no longer reachable from the db after the flush, so
    // they stay as they are; keys written before keep their saved copies.
    this.#frozen[db] = { data: new Map(d.data), expires: new Map(d.expires) };
  }

  /**
   * Writes up to `chunks` more data chunks. Returns true when the snapshot is complete (the
   * file then is written, fsynced and closed; see {@link result}).
   */
  step(chunks = 1): boolean {
    if (this.#result !== undefined) return true;
    if (this.#failed || this.#fd === undefined) throw new Error("snapshot cursor aborted");
    try {
      for (let c = 0; c < chunks; c++) {
        const count = this.#collect();
        if (count > 0) {
          const head = new MsgWriter(8);
          head.array(count);
          this.#chunkOf(CHUNK_DATA, head.bytes(), this.#body.bytes());
        }
        if (this.#db >= this.#keys.length) {
          this.#finish();
          return true;
        }
      }
      return false;
    } catch (e) {
      this.abort();
      throw e;
    }
  }

  /**
   * Encodes the next chunk's items into #body (msgpack, without the array header); returns how
   * many (0 only when every db is written).
   */
  #collect(): number {
    const body = this.#body;
    body.reset();
    let count = 0;
    while (count < this.#chunkKeys && body.pos < this.#chunkBytes) {
      const db = this.#db;
      const keys = this.#keys[db];
      if (keys === undefined) break;
      if (this.#idx >= keys.length) {
        // This db is fully written: drop its bookkeeping; writes to it are free from now on.
        this.#keys[db] = [];
        this.#saved[db] = undefined;
        this.#touched[db] = undefined;
        this.#frozen[db] = undefined;
        this.#db++;
        this.#idx = 0;
        continue;
      }
      const key = keys[this.#idx++]!;
      let entry: Entry | undefined;
      let expireAt: number | undefined;
      const saved = this.#saved[db]?.get(key);
      if (saved !== undefined) {
        entry = saved.entry;
        expireAt = saved.expireAt;
        this.#saved[db]!.delete(key);
      } else if (this.#touched[db]?.has(key)) {
        continue; // absent at its first write: expired after the snapshot instant
      } else {
        const frozen = this.#frozen[db];
        const d = this.#ks.dbs[db]!;
        entry = frozen ? frozen.data.get(key) : d.data.get(key);
        if (entry === undefined) continue; // removed by expiry meanwhile
        expireAt = frozen ? frozen.expires.get(key) : d.expires.get(key);
      }
      body.array(3);
      body.number(db);
      body.latin1(key);
      body.entry(entry, expireAt);
      count++;
    }
    this.#keysWritten += count;
    return count;
  }

  #write(data: Uint8Array): void {
    writeAll(this.#fd!, data);
    this.#crc.update(data);
    this.#size += data.length;
  }

  #chunk(type: number, value: unknown): void {
    this.#chunkOf(type, new Uint8Array(0), packr.pack(value));
  }

  /** Writes a chunk whose payload is `a` then `b`, in one write. */
  #chunkOf(type: number, a: Uint8Array, b: Uint8Array): void {
    const len = a.length + b.length;
    if (len > MAX_CHUNK) throw new RangeError("snapshot chunk too large");
    const out = new Uint8Array(CHUNK_HEADER + len);
    const dv = new DataView(out.buffer);
    out[0] = type;
    dv.setUint32(1, len, true);
    out.set(a, CHUNK_HEADER);
    out.set(b, CHUNK_HEADER + a.length);
    dv.setUint32(5, crc32c(out, crc32c(out, 0, 0, 5), CHUNK_HEADER, out.length), true);
    this.#write(out);
    this.#chunks++;
  }

  #finish(): void {
    this.#chunk(CHUNK_END, { keys: this.#keysWritten, chunks: this.#chunks });
    if (this.#fsync) this.#fd!.syncSync();
    this.#fd!.close();
    this.#fd = undefined;
    this.#result = {
      name: shardFileName(this.shard),
      size: this.#size,
      checksum: this.#crc.hex(),
      keys: this.#keysWritten,
    };
  }

  /** The finished file's manifest entry. Throws when not done. */
  result(): ShardFileInfo {
    if (this.#result === undefined) throw new Error("snapshot not finished");
    return { ...this.#result };
  }

  /** Stops and deletes the partial file. */
  abort(): void {
    if (this.#result !== undefined || this.#failed) return;
    this.#failed = true;
    try {
      this.#fd?.close();
    } catch {
      // already closed
    }
    this.#fd = undefined;
    try {
      Deno.removeSync(this.path);
    } catch {
      // never created, or already gone
    }
  }
}

/**
 * Writes shard `shard`'s snapshot in one go (no writes can happen meanwhile) and returns its
 * manifest entry.
 */
export function writeShardSnapshot(
  tmpDir: string,
  shard: number,
  ks: Keyspace,
  position: Position,
  options: SnapshotCursorOptions = {},
): ShardFileInfo {
  const cursor = new SnapshotCursor(tmpDir, shard, ks, position, options);
  while (!cursor.step(64));
  return cursor.result();
}

/** CRC-32C of a file as 8 hex digits, streamed. */
export function fileChecksum(path: string): string {
  const f = Deno.openSync(path, { read: true });
  try {
    const crc = new Crc32c();
    const buf = new Uint8Array(1 << 20);
    for (;;) {
      const r = f.readSync(buf);
      if (r === null || r === 0) break;
      crc.update(buf, 0, r);
    }
    return crc.hex();
  } finally {
    f.close();
  }
}

/** What a shard file holds besides its keys. */
export interface LoadedShard {
  shard: number;
  position: Position;
  createdAt: number;
  keys: number;
}

function readExactly(f: Deno.FsFile, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const r = f.readSync(out.subarray(got));
    if (r === null || r === 0) break;
    got += r;
  }
  return got === n ? out : out.subarray(0, got);
}

function unpackOrUndefined(bytes: Uint8Array): unknown {
  try {
    return unpackr.unpack(bytes);
  } catch {
    return undefined;
  }
}

function isPosition(v: unknown): v is Position {
  if (typeof v !== "object" || v === null) return false;
  const p = v as { file?: unknown; offset?: unknown };
  return Number.isSafeInteger(p.file) && Number.isSafeInteger(p.offset);
}

/**
 * Loads a shard file into `ks` (meant to be empty: keys are added or replaced). With
 * `expectedChecksum` (from the manifest), the whole file is checked first and nothing is
 * loaded when it does not match. Every chunk's CRC is checked too. Throws CorruptionError naming
 * the file (and the offset of the bad chunk).
 */
export function loadShardSnapshot(
  path: string,
  ks: Keyspace,
  expectedChecksum?: string,
): LoadedShard {
  let f: Deno.FsFile;
  try {
    f = Deno.openSync(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new CorruptionError(path, 0, "file missing");
    throw e;
  }
  try {
    if (expectedChecksum !== undefined) {
      const got = fileChecksum(path);
      if (got !== expectedChecksum) {
        throw new CorruptionError(
          path,
          0,
          `checksum mismatch: expected ${expectedChecksum}, got ${got}`,
        );
      }
    }
    const head = readExactly(f, FILE_HEADER);
    if (head.length < FILE_HEADER || FILE_MAGIC.some((b, i) => head[i] !== b)) {
      throw new CorruptionError(path, 0, "not a snapshot file");
    }
    const hv = new DataView(head.buffer);
    if (hv.getUint32(8, true) !== 1) throw new CorruptionError(path, 8, "unsupported format");
    const shard = hv.getUint32(12, true);
    let offset = FILE_HEADER;
    let meta: { shard: number; position: Position; createdAt: number } | undefined;
    let keys = 0;
    let chunks = 0;
    for (;;) {
      const ch = readExactly(f, CHUNK_HEADER);
      if (ch.length === 0) throw new CorruptionError(path, offset, "truncated: no end chunk");
      if (ch.length < CHUNK_HEADER) throw new CorruptionError(path, offset, "truncated chunk");
      const dv = new DataView(ch.buffer);
      const type = ch[0]!;
      const len = dv.getUint32(1, true);
      const want = dv.getUint32(5, true);
      if (len > MAX_CHUNK) throw new CorruptionError(path, offset, "bad chunk length");
      const payload = readExactly(f, len);
      if (payload.length < len) throw new CorruptionError(path, offset, "truncated chunk");
      if (crc32c(payload, crc32c(ch, 0, 0, 5)) !== want) {
        throw new CorruptionError(path, offset, "chunk checksum mismatch");
      }
      if (chunks === 0) {
        const m = unpackOrUndefined(payload) as
          | { shard?: unknown; position?: unknown; createdAt?: unknown }
          | undefined;
        if (
          type !== CHUNK_META || typeof m !== "object" || m === null || m.shard !== shard ||
          !isPosition(m.position) || typeof m.createdAt !== "number"
        ) {
          throw new CorruptionError(path, offset, "bad meta chunk");
        }
        meta = { shard, position: m.position, createdAt: m.createdAt };
      } else if (type === CHUNK_DATA) {
        try {
          const r = new MsgReader(payload);
          const n = r.array();
          for (let i = 0; i < n; i++) {
            if (r.array() !== 3) r.fail("bad item");
            const d = ks.dbs[r.number()];
            if (d === undefined) return r.fail("bad db");
            const key = r.latin1();
            const { entry, expireAt } = r.entry();
            d.set(key, entry);
            if (expireAt !== undefined) d.setExpireAt(key, expireAt);
            keys++;
          }
          if (!r.done) r.fail("trailing bytes");
        } catch (e) {
          if (e instanceof EntryFormatError) throw new CorruptionError(path, offset, e.message);
          throw e;
        }
      } else if (type === CHUNK_END) {
        const end = unpackOrUndefined(payload) as { keys?: unknown } | undefined;
        if (typeof end !== "object" || end === null || end.keys !== keys) {
          throw new CorruptionError(path, offset, "key count mismatch");
        }
        if (readExactly(f, 1).length !== 0) {
          throw new CorruptionError(path, offset + CHUNK_HEADER + len, "bytes after the end");
        }
        return { shard, position: meta!.position, createdAt: meta!.createdAt, keys };
      } else {
        throw new CorruptionError(path, offset, `unknown chunk type ${type}`);
      }
      chunks++;
      offset += CHUNK_HEADER + len;
    }
  } finally {
    f.close();
  }
}

/** Reads and validates `<dir>/manifest.json`. Throws CorruptionError when missing or bad. */
export function readManifest(dir: string): SnapshotManifest {
  const path = `${dir}/${MANIFEST}`;
  let m: unknown;
  try {
    m = JSON.parse(Deno.readTextFileSync(path));
  } catch (e) {
    throw new CorruptionError(path, 0, e instanceof Deno.errors.NotFound ? "missing" : "bad JSON");
  }
  const problem = manifestProblem(m);
  if (problem !== undefined) throw new CorruptionError(path, 0, problem);
  return m as SnapshotManifest;
}

function manifestProblem(v: unknown): string | undefined {
  if (typeof v !== "object" || v === null) return "not an object";
  const m = v as Record<string, unknown>;
  if (m.format !== 1) return "unsupported format";
  if (typeof m.id !== "string" || !/^[A-Za-z0-9._-]+$/.test(m.id)) return "bad id";
  if (typeof m.createdAt !== "number") return "bad createdAt";
  if (!Number.isSafeInteger(m.shards) || (m.shards as number) < 1) return "bad shards";
  const n = m.shards as number;
  if (!Array.isArray(m.files) || m.files.length !== n) return "bad files";
  for (const f of m.files as unknown[]) {
    const fi = f as Record<string, unknown>;
    if (
      typeof f !== "object" || f === null || typeof fi.name !== "string" ||
      !/^[A-Za-z0-9._-]+$/.test(fi.name) || !Number.isSafeInteger(fi.size) ||
      typeof fi.checksum !== "string" || !/^[0-9a-f]{8}$/.test(fi.checksum) ||
      !Number.isSafeInteger(fi.keys)
    ) return "bad file entry";
  }
  if (!Array.isArray(m.positions) || m.positions.length !== n) return "bad positions";
  if (!(m.positions as unknown[]).every(isPosition)) return "bad position";
  return undefined;
}

/** Checks that every file of `manifest` is in `dir` with its size (and checksum when `deep`). */
export function verifySnapshotFiles(dir: string, manifest: SnapshotManifest, deep = true): void {
  for (const fi of manifest.files) {
    const path = `${dir}/${fi.name}`;
    let size: number;
    try {
      size = Deno.statSync(path).size;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) throw new CorruptionError(path, 0, "file missing");
      throw e;
    }
    if (size !== fi.size) {
      throw new CorruptionError(path, Math.min(size, fi.size), `size ${size}, expected ${fi.size}`);
    }
    if (deep) {
      const got = fileChecksum(path);
      if (got !== fi.checksum) {
        throw new CorruptionError(
          path,
          0,
          `checksum mismatch: expected ${fi.checksum}, got ${got}`,
        );
      }
    }
  }
}

/** Options of {@link commitSnapshot}. */
export interface CommitOptions {
  /** Check every file's checksum before committing (default false: sizes only). */
  verify?: boolean;
  /** fsync the manifest and directories (default true). */
  fsync?: boolean;
}

/**
 * Makes the snapshot in `tmpDir` (from {@link createSnapshotTmpDir}, holding every shard file)
 * the snapshot `manifest.id`: checks the files against the manifest, writes `manifest.json`,
 * fsyncs, and renames the directory to `<root>/snapshots/<id>` atomically. Returns that path.
 * Throws CorruptionError (nothing renamed) when a file is missing or does not match.
 */
export function commitSnapshot(
  root: string,
  tmpDir: string,
  manifest: SnapshotManifest,
  options: CommitOptions = {},
): string {
  const problem = manifestProblem(manifest);
  if (problem !== undefined) throw new RangeError(`bad manifest: ${problem}`);
  const durable = options.fsync ?? true;
  verifySnapshotFiles(tmpDir, manifest, options.verify ?? false);
  const final = `${snapshotsDir(root)}/${manifest.id}`;
  const tmpManifest = `${tmpDir}/${MANIFEST}.tmp`;
  const f = Deno.openSync(tmpManifest, { write: true, create: true, truncate: true });
  try {
    writeAll(f, new TextEncoder().encode(JSON.stringify(manifest, null, 2) + "\n"));
    if (durable) f.syncSync();
  } finally {
    f.close();
  }
  Deno.renameSync(tmpManifest, `${tmpDir}/${MANIFEST}`);
  if (durable) fsyncDir(tmpDir);
  let exists = true;
  try {
    Deno.statSync(final);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    exists = false;
  }
  if (exists) throw new Error(`snapshot ${manifest.id} already exists`);
  Deno.renameSync(tmpDir, final);
  if (durable) fsyncDir(snapshotsDir(root));
  return final;
}

/** Complete snapshots, newest first (manifest valid, every file present with its size). */
export function listSnapshots(root: string): SnapshotInfo[] {
  const base = snapshotsDir(root);
  const out: SnapshotInfo[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(base)];
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  for (const e of entries) {
    if (!e.isDirectory || e.name.startsWith(TMP_PREFIX)) continue;
    const path = `${base}/${e.name}`;
    try {
      const manifest = readManifest(path);
      if (manifest.id !== e.name) continue;
      verifySnapshotFiles(path, manifest, false);
      out.push({ id: manifest.id, path, manifest });
    } catch (err) {
      if (err instanceof CorruptionError) continue; // incomplete or damaged: not a snapshot
      throw err;
    }
  }
  return out.sort((a, b) =>
    b.manifest.createdAt - a.manifest.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)
  );
}

/** The newest complete snapshot, or null. Tmp and incomplete directories are ignored. */
export function latestSnapshot(root: string): SnapshotInfo | null {
  return listSnapshots(root)[0] ?? null;
}

/** Options of {@link pruneSnapshots}. */
export interface PruneOptions {
  /** A snapshot is kept when any veto returns true for its id (e.g. a full sync sends it). */
  vetoes?: ReadonlyArray<(id: string) => boolean>;
  /**
   * Also delete `tmp-*` directories and directories that are not complete snapshots. Only when
   * nothing can be writing one (at startup).
   */
  removeIncomplete?: boolean;
}

/**
 * Deletes complete snapshots beyond the `keep` newest, except vetoed ones. Returns the names of
 * the directories removed.
 */
export function pruneSnapshots(root: string, keep: number, options: PruneOptions = {}): string[] {
  const removed: string[] = [];
  const base = snapshotsDir(root);
  const complete = listSnapshots(root);
  const vetoes = options.vetoes ?? [];
  for (const s of complete.slice(Math.max(0, keep))) {
    if (vetoes.some((v) => v(s.id))) continue;
    Deno.removeSync(s.path, { recursive: true });
    removed.push(s.id);
  }
  if (options.removeIncomplete) {
    const good = new Set(complete.map((s) => s.id));
    let entries: Deno.DirEntry[] = [];
    try {
      entries = [...Deno.readDirSync(base)];
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    for (const e of entries) {
      if (!e.isDirectory || good.has(e.name)) continue;
      Deno.removeSync(`${base}/${e.name}`, { recursive: true });
      removed.push(e.name);
    }
  }
  if (removed.length > 0) fsyncDir(base);
  return removed;
}
