/**
 * One Tessera node without its socket: shard workers, router, persistence (and, later in the
 * assembly, replication). The TCP server and the embedded engine are both built on it.
 */
import { getLogger } from "@logtape/logtape";
import { ShardPool } from "../workers/shard_pool.ts";
import { Router } from "./router.ts";
import { Persistence } from "./persistence.ts";
import { Blocking } from "./blocking.ts";
import { PubSub } from "./pubsub.ts";
import type { ServerConfig } from "./config.ts";
import type { Position } from "../engine/binlog.ts";
import { listSnapshots } from "../engine/snapshot.ts";
import { type CoordinatorOptions, ReplicationCoordinator } from "../replication/coordinator.ts";
import { installMarkerPath } from "../replication/replica_link.ts";
import { loadIdentity } from "../replication/replication_state.ts";

const log = getLogger(["tessera", "node"]);

export class TesseraNode implements AsyncDisposable {
  readonly config: ServerConfig;
  readonly pool: ShardPool;
  readonly router: Router;
  readonly persistence: Persistence;
  readonly replication: ReplicationCoordinator;
  #closing: Promise<void> | undefined;

  private constructor(
    config: ServerConfig,
    pool: ShardPool,
    dir: string | undefined,
    port: number,
    options: CoordinatorOptions,
  ) {
    this.config = config;
    this.pool = pool;
    this.router = new Router(pool, config);
    this.router.port = port;
    new PubSub(this.router);
    this.persistence = new Persistence(this.router, dir);
    this.replication = new ReplicationCoordinator(this.router, this.persistence, dir, options);
    new Blocking(this.router);
  }

  /**
   * Starts the shards (loading `dir` when given) and wires the node together. `port` is the
   * address replicas announce; `replication` tunes retries (tests).
   */
  static async start(
    config: ServerConfig,
    dir: string | undefined,
    port = 0,
    replication: CoordinatorOptions = {},
  ): Promise<TesseraNode> {
    const reset = dir === undefined ? undefined : pendingInstall(dir);
    const pool = await ShardPool.start({
      shards: config.shards,
      dir,
      appendfsync: config.appendfsync,
      binlogFileSize: config["binlog-file-size"],
      hz: config.hz,
      ignoreCorruption: config["ignore-corruption"] === "yes",
      resetBinlogTo: reset,
      // A node that follows a master must not log local effects from its very first moment.
      replica: dir !== undefined && loadIdentity(dir).master !== null,
      onWarning: (shard, message) => log.warn("shard {shard}: {message}", { shard, message }),
    });
    if (dir !== undefined) {
      try {
        Deno.removeSync(installMarkerPath(dir));
      } catch {
        // no install was pending
      }
    }
    return new TesseraNode(config, pool, dir, port, replication);
  }

  /** Stops background work, then the shards (flushing their binlogs). */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.replication.close();
      await this.persistence.close();
      await this.pool.close();
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * A replica's full sync that crashed between committing the received snapshot and restarting the
 * binlogs: if the snapshot is in place, the binlogs must restart at its positions (the old log
 * is another history); if not, the install never happened and the marker is dropped.
 */
function pendingInstall(dir: string): Position[] | undefined {
  let marker: { snapshotId: string; positions: Position[] };
  try {
    marker = JSON.parse(Deno.readTextFileSync(installMarkerPath(dir)));
  } catch {
    return undefined;
  }
  const snap = listSnapshots(dir).find((s) => s.id === marker.snapshotId);
  if (snap === undefined) return undefined;
  log.warn("finishing the install of snapshot {id} received from the master", {
    id: marker.snapshotId,
  });
  return marker.positions;
}
