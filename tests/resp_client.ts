/**
 * A minimal RESP client for tests (TCP via Deno.connect).
 *
 * Replies are matched to requests in order: `call()`, `pipeline()` and `readReply()` all take
 * the next reply from one FIFO (`call()` is `send()` + `readReply()`), so after
 * `sendRaw()`/`send()` read the replies those produce with `readReply()` before calling again. RESP3 pushes (`>`) never answer a request: they go to `readPush()`. Error
 * replies are returned as {@link ReplyError} values, not thrown; promises reject only when the
 * connection is closed, the server sends bytes that are not RESP, or a timeout expires.
 *
 * String arguments are sent as latin1 (one byte per char) like the server's values; a string
 * with chars above U+00FF is sent as UTF-8 instead (its reply will come back as latin1).
 */
import { ReplyReader } from "../server/resp_reader.ts";
import { encodeCommand } from "../server/resp_writer.ts";
import type { ReplyValue } from "../engine/reply.ts";

export { ReplyError } from "../engine/reply.ts";
export type { ReplyValue } from "../engine/reply.ts";

/** One argument: strings are latin1, numbers are sent as their decimal text. */
export type Arg = string | number | Uint8Array;

interface Waiter {
  resolve(v: ReplyValue): void;
  reject(e: Error): void;
}

/** A FIFO with O(1) shift. */
class Queue<T> {
  #items: (T | undefined)[] = [];
  #head = 0;
  get length(): number {
    return this.#items.length - this.#head;
  }
  push(v: T): void {
    this.#items.push(v);
  }
  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const v = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return v;
  }
  /** Removes `v` wherever it is (used by timeouts). */
  remove(v: T): void {
    const i = this.#items.indexOf(v, this.#head);
    if (i !== -1) this.#items.splice(i, 1);
  }
  drain(): T[] {
    const out = this.#items.slice(this.#head) as T[];
    this.#items = [];
    this.#head = 0;
    return out;
  }
}

const NON_LATIN1 = /[\u0100-\uffff]/;
const utf8 = new TextEncoder();

function toWire(a: Arg): string | Uint8Array {
  if (typeof a === "number") return String(a);
  if (typeof a === "string" && NON_LATIN1.test(a)) return utf8.encode(a);
  return a;
}

function latin1(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Options of {@link RespClient.connect}. */
export interface ConnectOptions {
  port: number;
  hostname?: string;
}

/** A minimal async RESP client for tests. */
export class RespClient implements AsyncDisposable {
  readonly #conn: Deno.Conn;
  readonly #reader = new ReplyReader();
  readonly #waiters = new Queue<Waiter>();
  readonly #replies = new Queue<ReplyValue>();
  readonly #pushWaiters = new Queue<Waiter>();
  readonly #pushes = new Queue<ReplyValue>();
  #out: Uint8Array[] = [];
  #writing = false;
  /** Set once the connection is unusable; pending and later requests reject with it. */
  #failure: Error | undefined;
  #closing = false;
  /** Resolves when the connection has ended (server close, error or `close()`). */
  readonly closed: Promise<void>;

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
    this.closed = this.#readLoop();
  }

  /** Connects to `hostname:port` (default host 127.0.0.1). */
  static async connect(opts: ConnectOptions): Promise<RespClient> {
    const conn = await Deno.connect({ hostname: opts.hostname ?? "127.0.0.1", port: opts.port });
    conn.setNoDelay(true);
    return new RespClient(conn);
  }

  /** True once the connection has ended. */
  get isClosed(): boolean {
    return this.#failure !== undefined;
  }

  async #readLoop(): Promise<void> {
    const buf = new Uint8Array(64 * 1024);
    let failure: Error = new Error("connection closed");
    try {
      for (;;) {
        let n: number | null;
        try {
          n = await this.#conn.read(buf);
        } catch (e) {
          if (!this.#closing) failure = new Error("connection lost", { cause: e });
          break;
        }
        if (n === null) {
          failure = new Error("connection closed by the server");
          break;
        }
        this.#reader.push(buf.subarray(0, n));
        for (let r = this.#reader.next(); r !== undefined; r = this.#reader.next()) {
          this.#deliver(r.value, r.push);
        }
      }
    } catch (e) {
      // Not RESP: nothing after this can be trusted.
      failure = e instanceof Error ? e : new Error(String(e));
    }
    this.#fail(failure);
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }

  #deliver(value: ReplyValue, push: boolean): void {
    if (push) {
      const w = this.#pushWaiters.shift();
      if (w) w.resolve(value);
      else this.#pushes.push(value);
      return;
    }
    const w = this.#waiters.shift();
    if (w) w.resolve(value);
    else this.#replies.push(value);
  }

  #fail(e: Error): void {
    if (this.#failure) return;
    this.#failure = e;
    for (const w of this.#waiters.drain()) w.reject(e);
    for (const w of this.#pushWaiters.drain()) w.reject(e);
  }

  #write(bytes: Uint8Array): void {
    this.#out.push(bytes);
    if (!this.#writing) void this.#flush();
  }

  async #flush(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#out.length > 0 && !this.#failure) {
        const chunks = this.#out;
        this.#out = [];
        let data: Uint8Array;
        if (chunks.length === 1) {
          data = chunks[0]!;
        } else {
          let size = 0;
          for (const c of chunks) size += c.length;
          data = new Uint8Array(size);
          let off = 0;
          for (const c of chunks) {
            data.set(c, off);
            off += c.length;
          }
        }
        for (let off = 0; off < data.length;) {
          off += await this.#conn.write(data.subarray(off));
        }
      }
    } catch (e) {
      this.#fail(new Error("write failed", { cause: e }));
      try {
        this.#conn.close();
      } catch {
        // already closed
      }
    } finally {
      this.#writing = false;
    }
  }

  /** The next reply in the FIFO (one already received, or the next to arrive). */
  #expect(): Promise<ReplyValue> {
    if (this.#replies.length > 0) return Promise.resolve(this.#replies.shift()!);
    return new Promise<ReplyValue>((resolve, reject) => {
      if (this.#failure) reject(this.#failure);
      else this.#waiters.push({ resolve, reject });
    });
  }

  /** Sends one command and resolves with its reply (error replies are ReplyError values). */
  call(...args: Arg[]): Promise<ReplyValue> {
    if (this.#failure) return Promise.reject(this.#failure);
    const p = this.#expect();
    this.#write(encodeCommand(args.map(toWire)));
    return p;
  }

  /** Sends all commands in one write and resolves with their replies, in order. */
  pipeline(cmds: readonly (readonly Arg[])[]): Promise<ReplyValue[]> {
    if (this.#failure) return Promise.reject(this.#failure);
    const encoded = cmds.map((c) => encodeCommand(c.map(toWire)));
    let size = 0;
    for (const e of encoded) size += e.length;
    const data = new Uint8Array(size);
    let off = 0;
    for (const e of encoded) {
      data.set(e, off);
      off += e.length;
    }
    const replies = cmds.map(() => this.#expect());
    this.#write(data);
    return Promise.all(replies);
  }

  /** Sends a command without waiting for its reply (read it with readReply()/readPush()). */
  send(...args: Arg[]): void {
    if (this.#failure) throw this.#failure;
    this.#write(encodeCommand(args.map(toWire)));
  }

  /** Sends raw bytes (a string is sent as latin1), e.g. inline commands or broken RESP. */
  sendRaw(bytes: Uint8Array | string): void {
    if (this.#failure) throw this.#failure;
    this.#write(typeof bytes === "string" ? latin1(bytes) : bytes);
  }

  /**
   * The next reply not claimed by a call: rejects when the connection ends first, or after
   * `timeoutMs` (no timeout when omitted).
   */
  readReply(timeoutMs?: number): Promise<ReplyValue> {
    if (this.#replies.length > 0) return Promise.resolve(this.#replies.shift()!);
    return this.#wait(this.#waiters, timeoutMs, "reply");
  }

  /** The next RESP3 push (`>`): same rules as {@link readReply}. */
  readPush(timeoutMs?: number): Promise<ReplyValue> {
    if (this.#pushes.length > 0) return Promise.resolve(this.#pushes.shift()!);
    return this.#wait(this.#pushWaiters, timeoutMs, "push");
  }

  #wait(queue: Queue<Waiter>, timeoutMs: number | undefined, what: string): Promise<ReplyValue> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise<ReplyValue>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const w: Waiter = {
        resolve(v) {
          if (timer !== undefined) clearTimeout(timer);
          resolve(v);
        },
        reject(e) {
          if (timer !== undefined) clearTimeout(timer);
          reject(e);
        },
      };
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          queue.remove(w);
          reject(new Error(`no ${what} within ${timeoutMs} ms`));
        }, timeoutMs);
      }
      queue.push(w);
    });
  }

  /** Closes the connection and waits for the read loop to end. */
  async close(): Promise<void> {
    if (!this.#failure) {
      this.#closing = true;
      try {
        this.#conn.close();
      } catch {
        // already closed
      }
    }
    await this.closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
