/**
 * Messages between the main thread and shard workers.
 *
 * Every message to a worker gets exactly one answer, in order, so the main side keeps a FIFO of
 * what it is waiting for and needs no ids. Commands travel in batches of frames holding the raw
 * RESP bytes of each command: the main thread copies bytes, the worker parses them.
 */

/** Frame header: db (u8), proto (u8), flags (u16), payload length (u32 LE). */
export const FRAME_HEADER = 8;

import type { Position } from "../engine/binlog.ts";
import type { ShardFileInfo } from "../engine/snapshot.ts";

/** Per-shard settings sent at start. */
export interface ShardConfig {
  shard: number;
  shards: number;
  /** Data directory; persistence is off without one. */
  dir?: string;
  appendfsync: "always" | "everysec" | "no";
  binlogFileSize: number;
  /** Start even if a binlog or snapshot is corrupt, dropping what follows the damage. */
  ignoreCorruption?: boolean;
  /** Active expiry runs this many times per second (Redis' hz). */
  hz: number;
  /**
   * This node follows a master: its binlog receives only the master's records (at the master's
   * positions), so local effects such as expiry deletions are not logged.
   */
  replica?: boolean;
  /**
   * Start the binlog afresh at this position (a replica's full sync was installed just before a
   * crash: the snapshot is in place, the old log belongs to another history).
   */
  resetBinlogTo?: Position;
}

/** A key and the database it lives in, plus its dumped form (null: the key does not exist). */
export type KeyDump = [db: number, key: string, dump: Uint8Array | null];

export type ToShard =
  | { t: "init"; config: ShardConfig }
  | { t: "batch"; buf: Uint8Array }
  | { t: "export"; keys: Array<[db: number, key: string]> }
  | {
    t: "cross";
    db: number;
    proto: 2 | 3;
    /** One command, or a transaction's commands, run back to back. */
    commands: string[][];
    imports: KeyDump[];
    /** Keys of the command owned by this shard; their final state is logged when `write`. */
    local: Array<[db: number, key: string]>;
    write: boolean;
  }
  | { t: "restore"; items: KeyDump[] }
  /** A transaction whose keys are all on this shard: run it and log it as one unit record. */
  | { t: "multi"; db: number; proto: 2 | 3; commands: string[][] }
  | { t: "stats" }
  | { t: "config"; appendfsync?: ShardConfig["appendfsync"]; replica?: boolean }
  /** Start a point-in-time snapshot of this shard into `tmpDir` (written in the background). */
  | { t: "snapshot-begin"; tmpDir: string }
  /** How the running snapshot is doing. */
  | { t: "snapshot-status" }
  /** Records shipped by a master: verify, apply, append at the same positions. */
  | { t: "apply"; prev: Position; at: Position; records: Uint8Array }
  /** Load a received snapshot file aside (the live data stays until install-commit). */
  | { t: "install-prepare"; path: string; checksum: string }
  /** Swap the prepared data in and restart the binlog at `position`. */
  | { t: "install-commit"; position: Position }
  | { t: "install-abort" }
  /** WATCH bookkeeping: start/stop tracking keys, or read their versions. */
  | { t: "watch" | "unwatch" | "versions"; keys: Array<[db: number, key: string]> }
  /** Order-independent digest of each database (replication checks). */
  | { t: "digest" }
  | { t: "close" };

/** Per-database counters for INFO keyspace. */
export interface DbStats {
  keys: number;
  expires: number;
}

export interface ShardStats {
  shard: number;
  dbs: DbStats[];
  dirty: number;
  commands: number;
  expiredKeys: number;
  /** Binlog position after the last record (undefined without persistence). */
  position?: Position;
  /** Position known durable on disk. */
  syncedPosition?: Position;
  /** Binlog files present, oldest first. */
  binlogFiles?: number[];
  /** A snapshot being written by this shard. */
  snapshotInProgress: boolean;
}

/** A shard's part of a snapshot, once written. */
export interface ShardSnapshotPart {
  file: ShardFileInfo;
  position: Position;
}

export type FromShard =
  | { t: "ready"; keys: number; warnings: string[] }
  | { t: "fatal"; message: string }
  | { t: "replies"; buf: Uint8Array; ends: Uint32Array }
  | { t: "exported"; dumps: KeyDump[] }
  | { t: "crossed"; reply: Uint8Array; writeback: KeyDump[] }
  | { t: "restored" }
  | { t: "multi-done"; replies: Uint8Array }
  | { t: "stats"; stats: ShardStats }
  | { t: "snapshot-started"; position: Position }
  | { t: "snapshot-status"; state: "running" | "idle" }
  | { t: "snapshot-status"; state: "done"; part: ShardSnapshotPart }
  | { t: "snapshot-status"; state: "failed"; message: string }
  | { t: "applied"; position: Position; applied: number }
  | { t: "apply-failed"; position: Position; applied: number; message: string }
  | { t: "digest"; dbs: string[] }
  | { t: "versions"; versions: number[] }
  | { t: "error"; message: string }
  | { t: "ok" };
