/**
 * One Tessera node without its socket: shard workers, router, persistence (and, later in the
 * assembly, replication). The TCP server and the embedded engine are both built on it.
 */
import { getLogger } from "@logtape/logtape";
import { ShardPool } from "../workers/shard_pool.ts";
import { Router } from "./router.ts";
import { Persistence } from "./persistence.ts";
import type { ServerConfig } from "./config.ts";

const log = getLogger(["tessera", "node"]);

export class TesseraNode implements AsyncDisposable {
  readonly config: ServerConfig;
  readonly pool: ShardPool;
  readonly router: Router;
  readonly persistence: Persistence;
  #closing: Promise<void> | undefined;

  private constructor(config: ServerConfig, pool: ShardPool, dir: string | undefined) {
    this.config = config;
    this.pool = pool;
    this.router = new Router(pool, config);
    this.persistence = new Persistence(this.router, dir);
  }

  /** Starts the shards (loading `dir` when given) and wires the node together. */
  static async start(config: ServerConfig, dir: string | undefined): Promise<TesseraNode> {
    const pool = await ShardPool.start({
      shards: config.shards,
      dir,
      appendfsync: config.appendfsync,
      binlogFileSize: config["binlog-file-size"],
      hz: config.hz,
      ignoreCorruption: config["ignore-corruption"] === "yes",
      onWarning: (shard, message) => log.warn("shard {shard}: {message}", { shard, message }),
    });
    return new TesseraNode(config, pool, dir);
  }

  /** Stops background work, then the shards (flushing their binlogs). */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.persistence.close();
      await this.pool.close();
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
