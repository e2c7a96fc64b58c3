/**
 * Everything a shard worker does, as a plain class: it owns a {@link Keyspace}, executes command
 * batches, keeps the binlog, writes snapshots, applies records shipped by a master and serves
 * cross-shard exports/imports. `shard_worker.ts` binds it to the worker's message port; tests can
 * drive it directly.
 */
import { type BinlogWriter, decodeRecord, splitRecords } from "../engine/binlog.ts";
import { type CommandDef, Executor, keyRefs } from "../engine/command.ts";
import { COMMANDS } from "../engine/commands.ts";
import { Keyspace } from "../engine/keyspace.ts";
import { dumpKey, restoreKey } from "../engine/entry_codec.ts";
import { loadShardSnapshot, SnapshotCursor } from "../engine/snapshot.ts";
import { datasetDigest } from "../engine/digest.ts";
import { bytesToLatin1 } from "../server/resp_reader.ts";
import { RespWriter } from "../server/resp_writer.ts";
import {
  FRAME_HEADER,
  type FromShard,
  type KeyDump,
  type ShardConfig,
  type ShardStats,
  type ToShard,
} from "./protocol.ts";

/** Options for {@link ShardHost}. */
export interface ShardHostOptions {
  clock?: () => number;
}

/** How long one snapshot step may hold the shard (ms). */
const SNAPSHOT_STEP_MS = 1;

type SnapshotState =
  | { state: "idle" }
  | { state: "running"; cursor: SnapshotCursor }
  | { state: "done"; part: Extract<FromShard, { t: "snapshot-status"; state: "done" }>["part"] }
  | { state: "failed"; message: string };

export class ShardHost {
  readonly ks: Keyspace;
  readonly exec: Executor;
  readonly config: ShardConfig;
  #binlog: BinlogWriter | undefined;
  #writer = new RespWriter(2);
  #suppress = false;
  #commands = 0;
  #expired = 0;
  #snapshot: SnapshotState = { state: "idle" };
  /** Versions of the keys clients WATCH ("db\0key"), with how many watches hold each. */
  readonly #watched = new Map<string, { v: number; refs: number }>();
  /** While a transaction runs: its effects, logged together as one unit record at the end. */
  #unit: Array<{ db: number; args: string[] }> | undefined;
  /** Following a master: nothing but shipped records goes to the binlog. */
  #replica: boolean;
  #prepared: Keyspace | undefined;

  constructor(config: ShardConfig, options: ShardHostOptions = {}) {
    this.config = config;
    this.#replica = config.replica ?? false;
    this.ks = new Keyspace({ clock: options.clock });
    this.exec = new Executor(this.ks, COMMANDS, (db, args) => {
      if (this.#watched.size !== 0) this.#touchEffect(db, args);
      if (this.#suppress || this.#replica) return;
      if (this.#unit !== undefined) this.#unit.push({ db, args });
      else this.#binlog?.append(db, args, this.ks.now());
    });
    this.ks.onExpired = (db, key) => {
      this.#expired++;
      if (this.#watched.size !== 0) this.#bump(db, key);
      // Replicas and replay must see the expiry as a deletion at this point of the stream; a
      // replica leaves that to its master's DEL.
      if (this.#suppress || this.#replica) return;
      if (this.#unit !== undefined) this.#unit.push({ db, args: ["DEL", key] });
      else this.#binlog?.append(db, ["DEL", key], this.ks.now());
    };
  }

  /** The shard's binlog, once persistence is open. */
  get binlog(): BinlogWriter | undefined {
    return this.#binlog;
  }

  /** Attaches the binlog (after recovery has replayed it). */
  setBinlog(writer: BinlogWriter | undefined): void {
    this.#binlog = writer;
  }

  /** Applies a record's commands without logging them again (replay, replication). */
  applyOps(ops: ReadonlyArray<{ db: number; args: string[] }>): void {
    const sink = new RespWriter(2);
    this.#suppress = true;
    try {
      for (const op of ops) {
        if (this.#watched.size !== 0) this.#beforeFlush(op.db, op.args);
        this.exec.execute(op.db, op.args, sink);
      }
    } finally {
      this.#suppress = false;
    }
    sink.take();
  }

  /** Applies the fsync policy after a batch, before its replies go out. */
  commit(): void {
    this.#binlog?.commit(this.ks.now());
  }

  /** Handles one message and returns its answer plus the buffers to transfer. */
  handle(msg: ToShard): [FromShard, Transferable[]] {
    switch (msg.t) {
      case "batch": {
        const r = this.runBatch(msg.buf);
        return [r, [r.buf.buffer as ArrayBuffer, r.ends.buffer as ArrayBuffer]];
      }
      case "export":
        return [{
          t: "exported",
          dumps: msg.keys.map(([db, key]) => [db, key, dumpKey(this.ks.db(db), key)]),
        }, []];
      case "multi":
        return [this.runMulti(msg), []];
      case "cross":
        return [this.runCross(msg), []];
      case "restore":
        this.restore(msg.items);
        this.commit();
        return [{ t: "restored" }, []];
      case "stats":
        return [{ t: "stats", stats: this.stats() }, []];
      case "snapshot-begin":
        return [this.beginSnapshot(msg.tmpDir), []];
      case "snapshot-status":
        return [this.snapshotStatus(), []];
      case "apply":
        return [this.applyShipped(msg), []];
      case "install-prepare":
        return [this.prepareInstall(msg.path, msg.checksum), []];
      case "install-commit":
        return [this.commitInstall(msg.position), []];
      case "install-abort":
        this.#prepared = undefined;
        return [{ t: "ok" }, []];
      case "watch":
      case "unwatch":
      case "versions":
        return [{ t: "versions", versions: this.watchKeys(msg.t, msg.keys) }, []];
      case "digest":
        return [{ t: "digest", dbs: this.ks.dbs.map((db) => datasetDigest(db)) }, []];
      case "config":
        if (msg.replica !== undefined) this.#replica = msg.replica;
        return [{ t: "ok" }, []];
      case "init":
      case "close":
        return [{ t: "ok" }, []];
    }
  }

  /**
   * Executes a batch of frames and returns the concatenated replies with their end offsets.
   * Without `commit`, the caller commits the binlog before sending the replies.
   */
  runBatch(buf: Uint8Array, commit = true): { t: "replies"; buf: Uint8Array; ends: Uint32Array } {
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const w = this.#writer;
    const ends = new Uint32Array(countFrames(buf, view));
    let off = 0;
    let i = 0;
    while (off + FRAME_HEADER <= buf.length) {
      const db = buf[off]!;
      const proto = buf[off + 1] === 3 ? 3 : 2;
      const len = view.getUint32(off + 4, true);
      const args = parseMultibulk(buf, off + FRAME_HEADER, off + FRAME_HEADER + len);
      off += FRAME_HEADER + len;
      w.proto = proto;
      this.#execute(db, args, w);
      ends[i++] = w.length;
    }
    // Group commit: one fsync (policy "always") covers the whole batch, before any reply leaves.
    if (commit) this.commit();
    return { t: "replies", buf: w.take(), ends };
  }

  // ---- WATCH ----

  /** Registers, releases or reads the versions of watched keys. */
  watchKeys(t: "watch" | "unwatch" | "versions", keys: Array<[number, string]>): number[] {
    return keys.map(([db, key]) => {
      const id = `${db}\0${key}`;
      let w = this.#watched.get(id);
      if (t === "watch") {
        if (w === undefined) this.#watched.set(id, w = { v: 0, refs: 0 });
        w.refs++;
      } else if (t === "unwatch") {
        if (w !== undefined && --w.refs <= 0) this.#watched.delete(id);
        return 0;
      } else {
        // A key that expired since WATCH is a change: look it up so lazy expiry runs.
        this.ks.db(db).get(key);
        w = this.#watched.get(id);
      }
      return w?.v ?? 0;
    });
  }

  #bump(db: number, key: string): void {
    const w = this.#watched.get(`${db}\0${key}`);
    if (w !== undefined) w.v++;
  }

  /** A propagated effect changed its keys. */
  #touchEffect(db: number, args: string[]): void {
    const def = COMMANDS.get(args[0]!.toLowerCase());
    if (def !== undefined) { for (const [d, k] of keyRefs(def, args, db)) this.#bump(d, k); }
  }

  /** FLUSHDB/FLUSHALL change the watched keys that exist when they run. */
  #beforeFlush(db: number, args: string[]): void {
    const name = args[0]!.toLowerCase();
    if (name !== "flushdb" && name !== "flushall") return;
    for (const id of this.#watched.keys()) {
      const cut = id.indexOf("\0");
      const d = Number(id.slice(0, cut));
      if ((name === "flushall" || d === db) && this.ks.db(d).has(id.slice(cut + 1))) {
        this.#bump(d, id.slice(cut + 1));
      }
    }
  }

  #execute(db: number, args: string[], w: RespWriter): void {
    this.#commands++;
    if (this.#watched.size !== 0) this.#beforeFlush(db, args);
    const mark = w.length;
    try {
      this.exec.execute(db, args, w);
    } catch (e) {
      // A bug in a handler must not take the shard down: answer an error and keep serving.
      w.truncate(mark);
      w.error(
        `ERR internal error in '${args[0] ?? ""}': ${e instanceof Error ? e.message : String(e)}`,
      );
      console.error(e);
    }
  }

  /**
   * Runs a transaction (MULTI/EXEC) whose keys all live here: the commands run back to back and
   * their effects reach the binlog as ONE record, so a crash or a replica never sees part of it.
   */
  runMulti(msg: Extract<ToShard, { t: "multi" }>): { t: "multi-done"; replies: Uint8Array } {
    const w = this.#writer;
    w.proto = msg.proto;
    const unit: Array<{ db: number; args: string[] }> = [];
    this.#unit = unit;
    try {
      for (const args of msg.commands) this.#execute(msg.db, args, w);
    } finally {
      this.#unit = undefined;
    }
    if (unit.length === 1) this.#binlog?.append(unit[0]!.db, unit[0]!.args, this.ks.now());
    else if (unit.length > 1) this.#binlog?.appendUnit(unit, this.ks.now());
    this.commit();
    return { t: "multi-done", replies: w.take() };
  }

  /**
   * Runs a command whose keys live on several shards: the foreign keys are imported, the command
   * runs here, and their final state is handed back for their owners (under the router's gate,
   * so nobody sees the intermediate state). The binlog gets the final state of this shard's
   * keys; the owners log theirs when they restore them.
   */
  runCross(
    msg: Extract<ToShard, { t: "cross" }>,
  ): { t: "crossed"; reply: Uint8Array; writeback: KeyDump[] } {
    for (const [db, key, dump] of msg.imports) this.#install(db, key, dump);
    const w = this.#writer;
    w.proto = msg.proto;
    this.#suppress = true;
    try {
      for (const args of msg.commands) this.#execute(msg.db, args, w);
    } finally {
      this.#suppress = false;
    }
    const reply = w.take();
    const writeback: KeyDump[] = [];
    for (const [db, key] of msg.imports) {
      const d = this.ks.db(db);
      writeback.push([db, key, dumpKey(d, key)]);
      d.data.delete(key);
      d.expires.delete(key);
    }
    if (msg.write) {
      this.#logKeyStates(msg.local.map(([db, key]) => [db, key, dumpKey(this.ks.db(db), key)]));
      this.commit();
    }
    return { t: "crossed", reply, writeback: msg.write ? writeback : [] };
  }

  /** Installs keys handed back after a cross-shard command, logging their new state. */
  restore(items: KeyDump[]): void {
    for (const [db, key, dump] of items) this.#install(db, key, dump);
    this.#logKeyStates(items);
  }

  #install(db: number, key: string, dump: Uint8Array | null): void {
    if (this.#snapshot.state === "running") this.#snapshot.cursor.beforeWrite(db, key);
    if (this.#watched.size !== 0) this.#bump(db, key);
    const d = this.ks.db(db);
    d.data.delete(key);
    d.expires.delete(key);
    if (dump !== null) restoreKey(d, key, dump);
  }

  /** Logs the final state of keys a multi-shard command changed, as one record. */
  #logKeyStates(items: KeyDump[]): void {
    if (items.length === 0) return;
    this.exec.dirty += items.length;
    if (this.#replica || this.#binlog === undefined) return;
    const ops = items.map(([db, key, dump]) => ({
      db,
      args: dump === null ? ["DEL", key] : ["__restore", key, bytesToLatin1(dump)],
    }));
    if (ops.length === 1) this.#binlog.append(ops[0]!.db, ops[0]!.args, this.ks.now());
    else this.#binlog.appendUnit(ops, this.ks.now());
  }

  // ---- snapshots ----

  /**
   * Starts a snapshot of this shard as it is now, paired with the binlog position of this same
   * instant. The file is written a few chunks at a time between batches; a write to a key not
   * yet written saves its old value first (copy on write), so commands never wait for the dump.
   */
  beginSnapshot(tmpDir: string): FromShard {
    if (this.#snapshot.state === "running") {
      return { t: "error", message: "a snapshot is already in progress" };
    }
    const binlog = this.#binlog;
    if (binlog === undefined) return { t: "error", message: "persistence is off" };
    // The snapshot must never be ahead of the durable log (recovery replays from its position).
    binlog.fsync(this.ks.now());
    const position = binlog.position;
    let cursor: SnapshotCursor;
    try {
      cursor = new SnapshotCursor(tmpDir, this.config.shard, this.ks, position, { chunkKeys: 256 });
    } catch (e) {
      return { t: "error", message: e instanceof Error ? e.message : String(e) };
    }
    this.#snapshot = { state: "running", cursor };
    this.exec.beforeWrite = (def, db, args) => this.#beforeWrite(cursor, def, db, args);
    // Small time-boxed steps yielded with setTimeout: queued command batches (message events)
    // run between steps, so a write waits at most about one step for the dump. (A
    // MessageChannel yield was tried: its tasks starve the worker's message queue.)
    const step = () => {
      if (this.#snapshot.state !== "running" || this.#snapshot.cursor !== cursor) return; // aborted
      try {
        const deadline = performance.now() + SNAPSHOT_STEP_MS;
        while (performance.now() < deadline) {
          if (cursor.step(1)) {
            this.exec.beforeWrite = undefined;
            this.#snapshot = { state: "done", part: { file: cursor.result(), position } };
            return;
          }
        }
      } catch (e) {
        this.exec.beforeWrite = undefined;
        this.#snapshot = { state: "failed", message: e instanceof Error ? e.message : String(e) };
        return;
      }
      setTimeout(step, 0);
    };
    setTimeout(step, 0);
    return { t: "snapshot-started", position };
  }

  #beforeWrite(cursor: SnapshotCursor, def: CommandDef, db: number, args: string[]): void {
    if (def.name === "flushall") {
      for (let i = 0; i < this.ks.dbs.length; i++) cursor.beforeFlush(i);
    } else if (def.name === "flushdb") {
      cursor.beforeFlush(db);
    } else {
      for (const [d, k] of keyRefs(def, args, db)) cursor.beforeWrite(d, k);
    }
  }

  /** Reports the running snapshot; a finished one is reported once, then the shard is idle. */
  snapshotStatus(): FromShard {
    const s = this.#snapshot;
    switch (s.state) {
      case "idle":
        return { t: "snapshot-status", state: "idle" };
      case "running":
        return { t: "snapshot-status", state: "running" };
      case "done":
        this.#snapshot = { state: "idle" };
        return { t: "snapshot-status", state: "done", part: s.part };
      case "failed":
        this.#snapshot = { state: "idle" };
        return { t: "snapshot-status", state: "failed", message: s.message };
    }
  }

  // ---- replication (replica side) ----

  /**
   * Applies records shipped by the master. They are verified (framing, CRC, position continuity)
   * and appended to this shard's binlog at the master's positions before anything is applied: a
   * damaged or out-of-place batch is refused whole and the link resumes from our position.
   */
  applyShipped(msg: Extract<ToShard, { t: "apply" }>): FromShard {
    const binlog = this.#binlog;
    if (binlog === undefined) {
      return {
        t: "apply-failed",
        position: { file: 0, offset: 0 },
        applied: 0,
        message: "persistence is off",
      };
    }
    let entries;
    try {
      entries = splitRecords(msg.records, "<shipped records>").map((raw) =>
        decodeRecord(raw, "<shipped record>")
      );
      binlog.appendRaw(msg.records, msg.at, msg.prev);
    } catch (e) {
      return {
        t: "apply-failed",
        position: binlog.position,
        applied: 0,
        message: e instanceof Error ? e.message : String(e),
      };
    }
    for (const entry of entries) this.applyOps(entry.ops);
    this.exec.dirty += entries.length;
    this.commit();
    return { t: "applied", position: binlog.position, applied: entries.length };
  }

  /** Loads a received snapshot file into a keyspace kept aside (checksum verified). */
  prepareInstall(path: string, checksum: string): FromShard {
    const ks = new Keyspace({ clock: this.ks.now });
    try {
      loadShardSnapshot(path, ks, checksum);
    } catch (e) {
      return { t: "error", message: e instanceof Error ? e.message : String(e) };
    }
    this.#prepared = ks;
    return { t: "ok" };
  }

  /** Swaps the prepared dataset in and restarts the binlog at the snapshot's position. */
  commitInstall(position: { file: number; offset: number }): FromShard {
    const ks = this.#prepared;
    if (ks === undefined) return { t: "error", message: "nothing prepared" };
    this.#prepared = undefined;
    if (this.#snapshot.state === "running") this.#snapshot.cursor.abort();
    this.#snapshot = { state: "idle" };
    this.exec.beforeWrite = undefined;
    for (let i = 0; i < this.ks.dbs.length; i++) this.ks.db(i).takeContents(ks.db(i));
    this.#binlog?.resetTo(position);
    this.#binlog?.fsync(this.ks.now());
    return { t: "ok" };
  }

  /** Removes expired keys, a bounded amount per call (called hz times per second). */
  activeExpire(): void {
    for (const db of this.ks.dbs) {
      if (db.expires.size === 0) continue;
      // Keep going while a good share of the sample was expired, like Redis' cycle.
      for (let round = 0; round < 16; round++) {
        if (db.activeExpire(20) < 5) break;
      }
    }
    this.commit();
  }

  /** Flushes and closes the binlog. */
  close(): void {
    if (this.#snapshot.state === "running") this.#snapshot.cursor.abort();
    this.#snapshot = { state: "idle" };
    this.#binlog?.close();
    this.#binlog = undefined;
  }

  stats(): ShardStats {
    const b = this.#binlog;
    return {
      shard: this.config.shard,
      dbs: this.ks.dbs.map((db) => ({ keys: db.size, expires: db.expires.size })),
      dirty: this.exec.dirty,
      commands: this.#commands,
      expiredKeys: this.#expired,
      position: b?.position,
      syncedPosition: b?.syncedPosition,
      binlogFiles: b?.files(),
      snapshotInProgress: this.#snapshot.state === "running",
    };
  }
}

function countFrames(buf: Uint8Array, view: DataView): number {
  let n = 0;
  for (
    let off = 0;
    off + FRAME_HEADER <= buf.length;
    off += FRAME_HEADER + view.getUint32(off + 4, true)
  ) n++;
  return n;
}

/**
 * Parses one multibulk command already validated by the main thread into latin1 strings.
 */
export function parseMultibulk(buf: Uint8Array, start: number, end: number): string[] {
  let p = start + 1; // skip '*'
  let argc = 0;
  while (buf[p] !== 13) argc = argc * 10 + (buf[p++]! - 48);
  p += 2;
  const args = new Array<string>(argc);
  for (let i = 0; i < argc; i++) {
    p++; // '$'
    let len = 0;
    while (buf[p] !== 13) len = len * 10 + (buf[p++]! - 48);
    p += 2;
    args[i] = bytesToLatin1(buf.subarray(p, p + len));
    p += len + 2;
  }
  if (p > end) throw new Error("frame overrun");
  return args;
}
