/**
 * Everything a shard worker does, as a plain class: it owns a {@link Keyspace}, executes command
 * batches, serves cross-shard exports/imports and reports stats. `shard_worker.ts` binds it to the
 * worker's message port; tests can drive it directly.
 */
import { Executor } from "../engine/command.ts";
import { COMMANDS } from "../engine/commands.ts";
import { Keyspace } from "../engine/keyspace.ts";
import { dumpKey, restoreKey } from "../engine/entry_codec.ts";
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

/** Receives every write effect of the shard, in order (the binlog). */
export interface EffectLog {
  append(db: number, args: string[]): void;
  /** Called once after a batch, before its replies are sent (fsync policy `always`). */
  commit(): void;
  close(): void;
}

/** Options for {@link ShardHost}. */
export interface ShardHostOptions {
  clock?: () => number;
  log?: EffectLog;
}

export class ShardHost {
  readonly ks: Keyspace;
  readonly exec: Executor;
  readonly config: ShardConfig;
  #log: EffectLog | undefined;
  #writer = new RespWriter(2);
  #suppress = false;
  #commands = 0;
  #expired = 0;

  constructor(config: ShardConfig, options: ShardHostOptions = {}) {
    this.config = config;
    this.ks = new Keyspace({ clock: options.clock });
    this.#log = options.log;
    this.exec = new Executor(this.ks, COMMANDS, (db, args) => {
      if (!this.#suppress) this.#log?.append(db, args);
    });
    this.ks.onExpired = (db, key) => {
      this.#expired++;
      // Replicas and replay must see the expiry as a deletion at this point of the stream.
      this.#log?.append(db, ["DEL", key]);
    };
  }

  /** Sets or replaces the effect log (after recovery has replayed the old one). */
  setLog(log: EffectLog | undefined): void {
    this.#log = log;
  }

  /** Handles one message and returns its answer plus the buffers to transfer. */
  handle(msg: ToShard): [FromShard, Transferable[]] {
    switch (msg.t) {
      case "batch": {
        const r = this.runBatch(msg.buf);
        return [r, [r.buf.buffer as ArrayBuffer, r.ends.buffer as ArrayBuffer]];
      }
      case "export":
        return [{ t: "exported", dumps: msg.keys.map(([db, key]) => [db, key, dumpKey(this.ks.db(db), key)]) }, []];
      case "cross": {
        const r = this.runCross(msg);
        return [r, []];
      }
      case "restore":
        this.restore(msg.items);
        this.#log?.commit();
        return [{ t: "restored" }, []];
      case "stats":
        return [{ t: "stats", stats: this.stats() }, []];
      case "config":
        return [{ t: "ok" }, []];
      case "init":
      case "close":
        return [{ t: "ok" }, []];
    }
  }

  /** Executes a batch of frames and returns the concatenated replies with their end offsets. */
  runBatch(buf: Uint8Array): { t: "replies"; buf: Uint8Array; ends: Uint32Array } {
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const w = this.#writer;
    const ends: number[] = [];
    let off = 0;
    while (off + FRAME_HEADER <= buf.length) {
      const db = buf[off]!;
      const proto = buf[off + 1] === 3 ? 3 : 2;
      const len = view.getUint32(off + 4, true);
      const args = parseMultibulk(buf, off + FRAME_HEADER, off + FRAME_HEADER + len);
      off += FRAME_HEADER + len;
      w.proto = proto;
      this.#execute(db, args, w);
      ends.push(w.length);
    }
    this.#log?.commit();
    return { t: "replies", buf: w.take(), ends: Uint32Array.from(ends) };
  }

  #execute(db: number, args: string[], w: RespWriter): void {
    this.#commands++;
    const mark = w.length;
    try {
      this.exec.execute(db, args, w);
    } catch (e) {
      // A bug in a handler must not take the shard down: answer an error and keep serving.
      w.truncate(mark);
      w.error(`ERR internal error in '${args[0] ?? ""}': ${e instanceof Error ? e.message : String(e)}`);
      console.error(e);
    }
  }

  /**
   * Runs a command whose keys live on several shards: the foreign keys are imported, the command
   * runs here, and their final state is handed back for their owners (under the router's gate,
   * so nobody sees the intermediate state).
   */
  runCross(msg: Extract<ToShard, { t: "cross" }>): { t: "crossed"; reply: Uint8Array; writeback: KeyDump[] } {
    for (const [db, key, dump] of msg.imports) {
      const d = this.ks.db(db);
      d.data.delete(key);
      d.expires.delete(key);
      if (dump !== null) restoreKey(d, key, dump);
    }
    const w = this.#writer;
    w.proto = msg.proto;
    this.#suppress = true;
    try {
      this.#execute(msg.db, msg.args, w);
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
      for (const [db, key] of msg.local) this.#logKeyState(db, key, dumpKey(this.ks.db(db), key));
      this.#log?.commit();
    }
    return { t: "crossed", reply, writeback: msg.write ? writeback : [] };
  }

  /** Installs keys handed back after a cross-shard command, logging their new state. */
  restore(items: KeyDump[]): void {
    for (const [db, key, dump] of items) {
      const d = this.ks.db(db);
      d.data.delete(key);
      d.expires.delete(key);
      if (dump !== null) restoreKey(d, key, dump);
      this.#logKeyState(db, key, dump);
    }
  }

  #logKeyState(db: number, key: string, dump: Uint8Array | null): void {
    this.exec.dirty++;
    this.#log?.append(db, dump === null ? ["DEL", key] : ["__restore", key, bytesToLatin1(dump)]);
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
    this.#log?.commit();
  }

  /** Flushes and closes the effect log. */
  close(): void {
    this.#log?.close();
    this.#log = undefined;
  }

  stats(): ShardStats {
    return {
      shard: this.config.shard,
      dbs: this.ks.dbs.map((db) => ({ keys: db.size, expires: db.expires.size })),
      dirty: this.exec.dirty,
      commands: this.#commands,
      expiredKeys: this.#expired,
    };
  }
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
