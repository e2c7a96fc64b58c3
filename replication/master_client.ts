/**
 * A replica's connection to its master's ordinary port: request/reply calls, then (after a
 * successful TrySync) a stream of frames the master pushes.
 */
import type { ReplyValue } from "../engine/reply.ts";
import { ReplyReader } from "../server/resp_reader.ts";
import { encodeCommand } from "../server/resp_writer.ts";

/** Options for {@link MasterClient.connect}. */
export interface MasterClientOptions {
  host: string;
  port: number;
  /** Give up connecting after this long. */
  connectTimeoutMs?: number;
}

export class MasterClient implements AsyncDisposable {
  readonly #conn: Deno.TcpConn;
  readonly #reader = new ReplyReader();
  readonly #waiting: Array<{ resolve: (v: ReplyValue) => void; reject: (e: Error) => void }> = [];
  #onFrame: ((v: ReplyValue) => void) | undefined;
  #closed = false;
  #error: Error | undefined;
  /** Time (ms) anything was last received. */
  lastIo: number = Date.now();
  /** Bytes received so far. */
  bytesIn = 0;
  /** Resolves when the connection is gone, with the reason. */
  readonly closed: Promise<Error>;
  #resolveClosed!: (e: Error) => void;

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
    conn.setNoDelay(true);
    this.closed = new Promise((r) => this.#resolveClosed = r);
    void this.#readLoop();
  }

  static async connect(options: MasterClientOptions): Promise<MasterClient> {
    const timeout = options.connectTimeoutMs ?? 5000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const conn = await Promise.race([
      Deno.connect({ hostname: options.host, port: options.port }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`connect to ${options.host}:${options.port} timed out`)),
          timeout,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    return new MasterClient(conn);
  }

  async #readLoop(): Promise<void> {
    const buf = new Uint8Array(256 * 1024);
    let reason = new Error("connection closed by master");
    try {
      for (;;) {
        const n = await this.#conn.read(buf);
        if (n === null) break;
        this.lastIo = Date.now();
        this.bytesIn += n;
        this.#reader.push(buf.subarray(0, n));
        for (let r = this.#reader.next(); r !== undefined; r = this.#reader.next()) {
          const w = this.#waiting.shift();
          if (w) w.resolve(r.value);
          else if (this.#onFrame) this.#onFrame(r.value);
        }
      }
    } catch (e) {
      reason = e instanceof Error ? e : new Error(String(e));
    }
    this.#shutdown(reason);
  }

  #shutdown(reason: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#error = reason;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
    for (const w of this.#waiting.splice(0)) w.reject(reason);
    this.#resolveClosed(reason);
  }

  /** Sends a command and waits for its reply (rejects when the link drops or times out). */
  call(args: Array<string | Uint8Array>, timeoutMs = 30_000): Promise<ReplyValue> {
    if (this.#closed) return Promise.reject(this.#error ?? new Error("closed"));
    return new Promise<ReplyValue>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.close(
          new Error(
            `no reply to ${String(args[0])} ${String(args[1] ?? "")} within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      this.#waiting.push({
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.send(args);
    });
  }

  /** Sends a command without waiting for a reply (ACKs, which get none). */
  send(args: Array<string | Uint8Array>): void {
    if (this.#closed) return;
    const bytes = encodeCommand(args);
    (async () => {
      let off = 0;
      while (off < bytes.length) off += await this.#conn.write(bytes.subarray(off));
    })().catch((e) => this.close(e instanceof Error ? e : new Error(String(e))));
  }

  /** From now on, anything that is not a reply to a call goes to `fn`. */
  onFrame(fn: (v: ReplyValue) => void): void {
    this.#onFrame = fn;
  }

  /** Closes the link with `reason`. */
  close(reason: Error = new Error("closed by replica")): void {
    this.#shutdown(reason);
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.closed;
  }
}
