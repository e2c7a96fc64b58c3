/**
 * The TCP server: starts the shard pool, accepts connections and owns their lifetime.
 */
import { getLogger } from "@logtape/logtape";
import type { ShardPool } from "../workers/shard_pool.ts";
import { Connection } from "./connection.ts";
import type { Router } from "./router.ts";
import { TesseraNode } from "./node.ts";
import type { CoordinatorOptions } from "../replication/coordinator.ts";
import { defaultConfig, type ServerConfig } from "./config.ts";
import { VERSION } from "./version.ts";

const log = getLogger(["tessera", "server"]);

/**
 * Options for {@link TesseraServer.start}: any setting of {@link ServerConfig}, plus
 * `inMemory` and replication tuning; anything left out takes its default.
 *
 * @example
 * ```ts
 * import { type ServerOptions, TesseraServer } from "./mod.ts";
 * const options: ServerOptions = { port: 0, shards: 2, inMemory: true };
 * await using server = await TesseraServer.start(options);
 * ```
 */
export type ServerOptions = Partial<ServerConfig> & {
  /** Keep the data in memory only (no binlog, no snapshots). */
  inMemory?: boolean;
  /** Replication tuning (tests: faster retries). */
  replication?: CoordinatorOptions;
};

/**
 * A running Redis-protocol server: shard workers, persistence, replication and a TCP listener.
 * Close it with `close()`, `SHUTDOWN`, or `await using`.
 *
 * @example
 * ```ts
 * import { TesseraServer } from "./mod.ts";
 * await using server = await TesseraServer.start({ port: 0, dir: "./data", shards: 2 });
 * console.log(`redis-cli -p ${server.port}`);
 * ```
 */
export class TesseraServer implements AsyncDisposable {
  /** The settings in force (CONFIG SET changes them). */
  readonly config: ServerConfig;
  /** Shard workers, router, persistence and replication (internal). */
  readonly node: TesseraNode;
  /** The TCP listener. */
  readonly listener: Deno.TcpListener;
  readonly #conns = new Set<Connection>();
  #acceptLoop: Promise<void>;
  readonly #idleTimer: ReturnType<typeof setInterval>;
  #closing: Promise<void> | undefined;
  /** Resolves once the server has shut down (SHUTDOWN, a signal, or close()). */
  readonly closed: Promise<void>;
  #resolveClosed!: () => void;

  private constructor(config: ServerConfig, node: TesseraNode, listener: Deno.TcpListener) {
    this.config = config;
    this.node = node;
    this.listener = listener;
    this.router.port = listener.addr.port;
    this.router.onShutdown = () => void this.close();
    this.closed = new Promise((r) => this.#resolveClosed = r);
    this.#acceptLoop = this.#accept();
    this.#idleTimer = setInterval(() => this.#closeIdle(), 1000);
  }

  /** Starts a server; resolves once the shards have loaded and the port is listening. */
  static async start(options: ServerOptions = {}): Promise<TesseraServer> {
    const { inMemory, replication, ...settings } = options;
    const config = { ...defaultConfig(), ...settings } as ServerConfig;
    // Listen first: the node's replication announces the port, and a busy port fails fast.
    const listener = Deno.listen({ hostname: config.bind, port: config.port });
    let node: TesseraNode;
    try {
      // `appendonly no` runs without a data directory, like an in-memory Redis.
      const dir = inMemory || config.appendonly === "no" ? undefined : config.dir;
      node = await TesseraNode.start(config, dir, listener.addr.port, replication);
    } catch (e) {
      listener.close();
      throw e;
    }
    const server = new TesseraServer(config, node, listener);
    log.info("Tessera {version} listening on {addr}:{port} with {shards} shards, pid {pid}", {
      version: VERSION,
      addr: config.bind,
      port: listener.addr.port,
      shards: config.shards,
      pid: Deno.pid,
    });
    return server;
  }

  /** The shard workers. */
  get pool(): ShardPool {
    return this.node.pool;
  }

  /** The command router. */
  get router(): Router {
    return this.node.router;
  }

  /** The port actually bound (useful with port 0). */
  get port(): number {
    return this.listener.addr.port;
  }

  async #accept(): Promise<void> {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.listener.accept();
      } catch {
        return; // listener closed
      }
      if (this.#closing) {
        conn.close();
        continue;
      }
      if (this.#conns.size >= this.config.maxclients) {
        // As Redis: tell the client why, then close.
        conn.write(new TextEncoder().encode("-ERR max number of clients reached\r\n"))
          .catch(() => {}).finally(() => conn.close());
        continue;
      }
      const c = new Connection(conn, this.router);
      this.#conns.add(c);
      c.done.finally(() => this.#conns.delete(c));
    }
  }

  /** `timeout` (seconds): closes ordinary clients idle that long, as Redis does. */
  #closeIdle(): void {
    const limit = this.config.timeout * 1000;
    if (limit <= 0) return;
    const now = Date.now();
    for (const c of this.#conns) {
      // Replicas, blocked and subscribed clients are never idle in this sense.
      if (
        c.flags !== "N" || c.paused !== undefined || c.restricted !== undefined || c.pending > 0
      ) continue;
      if (now - c.lastCommandAt > limit) c.kill(false);
    }
  }

  /** Stops accepting, closes every connection, and stops the shards (flushing their logs). */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      log.info("shutting down");
      clearInterval(this.#idleTimer);
      try {
        this.listener.close();
      } catch {
        // already closed
      }
      await this.#acceptLoop;
      await Promise.allSettled([...this.#conns].map((c) => c[Symbol.asyncDispose]()));
      await this.node.close();
      this.#resolveClosed();
    })();
    return this.#closing;
  }

  /** Same as {@link close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
