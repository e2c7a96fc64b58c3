/**
 * Tessera: a persistent Redis-protocol key-value server on Deno, usable as a server or in process.
 *
 * @module
 */
import { defaultConfig, type ServerConfig } from "./server/config.ts";
import { LocalClient } from "./server/local_client.ts";
import { TesseraNode } from "./server/node.ts";
import type { ReplyValue } from "./engine/reply.ts";

import { type ServerOptions, TesseraServer } from "./server/server.ts";

export { type ServerOptions, TesseraServer };
export { type ReplyValue } from "./engine/reply.ts";
export { ReplyError } from "./engine/reply.ts";
export {
  CommandError,
  CorruptionError,
  ProtocolError,
  ReplicationError,
  TesseraError,
  WrongTypeError,
} from "./engine/errors.ts";
export { type ServerConfig } from "./server/config.ts";

/**
 * Options for {@link Tessera.open}.
 *
 * @example
 * ```ts
 * import { type OpenOptions, Tessera } from "./mod.ts";
 * const options: OpenOptions = { dir: "./data", shards: 2, appendfsync: "always" };
 * await using db = await Tessera.open(options);
 * ```
 */
export interface OpenOptions {
  /** Data directory; without one the data lives in memory only. */
  dir?: string;
  /** Number of shard workers (default: number of cores). */
  shards?: number;
  /** `always`, `everysec` (default) or `no`. */
  appendfsync?: ServerConfig["appendfsync"];
}

/**
 * The engine in process: the same shard workers, routing and persistence as the server, without
 * a socket.
 *
 * @example
 * ```ts
 * import { Tessera } from "./mod.ts";
 * await using db = await Tessera.open({ shards: 2 });
 * await db.command("SET", "greeting", "hello");
 * console.log(await db.command("GET", "greeting")); // "hello"
 * ```
 */
export class Tessera implements AsyncDisposable {
  readonly #node: TesseraNode;
  readonly #client: LocalClient;

  private constructor(node: TesseraNode) {
    this.#node = node;
    this.#client = new LocalClient(node.router);
  }

  /** Opens (and with `dir`, loads) a dataset. */
  static async open(options: OpenOptions = {}): Promise<Tessera> {
    const config = defaultConfig();
    if (options.shards !== undefined) config.shards = options.shards;
    if (options.appendfsync !== undefined) config.appendfsync = options.appendfsync;
    if (options.dir !== undefined) config.dir = options.dir;
    return new Tessera(await TesseraNode.start(config, options.dir));
  }

  /**
   * Runs one command and resolves with its reply. Error replies resolve as `ReplyError` values.
   *
   * @example
   * ```ts
   * import { Tessera } from "./mod.ts";
   * await using db = await Tessera.open();
   * await db.command("RPUSH", "queue", "a", "b");
   * console.log(await db.command("LRANGE", "queue", 0, -1)); // ["a", "b"]
   * ```
   */
  command(...args: Array<string | number | Uint8Array>): Promise<ReplyValue> {
    return this.#client.call(args);
  }

  /**
   * Flushes the binlog and stops the shard workers.
   *
   * @example
   * ```ts
   * import { Tessera } from "./mod.ts";
   * const db = await Tessera.open();
   * await db.close();
   * ```
   */
  async close(): Promise<void> {
    this.#client.kill(false);
    await this.#node.close();
  }

  /** Same as {@link close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Starts a Redis-protocol server from code.
 *
 * @example
 * ```ts
 * import { serve } from "./mod.ts";
 * await using server = await serve({ port: 0, inMemory: true });
 * console.log(`listening on ${server.port}`);
 * ```
 */
export function serve(options: ServerOptions = {}): Promise<TesseraServer> {
  return TesseraServer.start(options);
}
