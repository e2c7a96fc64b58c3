/**
 * Messages between the main thread and shard workers.
 *
 * Every message to a worker gets exactly one answer, in order, so the main side keeps a FIFO of
 * what it is waiting for and needs no ids. Commands travel in batches of frames holding the raw
 * RESP bytes of each command: the main thread copies bytes, the worker parses them.
 */

/** Frame header: db (u8), proto (u8), flags (u16), payload length (u32 LE). */
export const FRAME_HEADER = 8;

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
    args: string[];
    imports: KeyDump[];
    /** Keys of the command owned by this shard; their final state is logged when `write`. */
    local: Array<[db: number, key: string]>;
    write: boolean;
  }
  | { t: "restore"; items: KeyDump[] }
  | { t: "stats" }
  | { t: "config"; appendfsync?: ShardConfig["appendfsync"] }
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
}

export type FromShard =
  | { t: "ready"; keys: number; warnings: string[] }
  | { t: "fatal"; message: string }
  | { t: "replies"; buf: Uint8Array; ends: Uint32Array }
  | { t: "exported"; dumps: KeyDump[] }
  | { t: "crossed"; reply: Uint8Array; writeback: KeyDump[] }
  | { t: "restored" }
  | { t: "stats"; stats: ShardStats }
  | { t: "ok" };
