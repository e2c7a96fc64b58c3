/**
 * A client TCP connection: reads RESP requests, hands them to the router, writes replies in order.
 */
import { getLogger } from "@logtape/logtape";
import { ProtocolError } from "../engine/errors.ts";
import { latin1ToBytes, RequestReader } from "./resp_reader.ts";
import { Client } from "./client.ts";
import type { Router } from "./router.ts";

const log = getLogger(["tessera", "conn"]);

function fmtAddr(a: Deno.Addr): string {
  return a.transport === "tcp" ? `${a.hostname}:${a.port}` : String(a.transport);
}

export class Connection extends Client implements AsyncDisposable {
  readonly conn: Deno.TcpConn;
  readonly reader: RequestReader;
  readonly #router: Router;
  readonly #addr: string;
  readonly #laddr: string;
  #out: Uint8Array[] = [];
  #writing = false;
  #closed = false;
  /** Resolves when the read loop has ended and the socket is closed. */
  readonly done: Promise<void>;

  constructor(conn: Deno.TcpConn, router: Router) {
    super();
    this.conn = conn;
    this.#router = router;
    this.#addr = fmtAddr(conn.remoteAddr);
    this.#laddr = fmtAddr(conn.localAddr);
    this.reader = new RequestReader({
      maxBulkLen: router.config["proto-max-bulk-len"],
      // Redis 7 allows INT_MAX items; a million is far beyond any real command and stops a
      // client from making the server allocate for a bogus count.
      maxMultibulk: 1024 * 1024,
    });
    conn.setNoDelay(true);
    this.done = this.#readLoop();
  }

  override get backlog(): number {
    let n = 0;
    for (const c of this.#out) n += c.length;
    return n;
  }

  get addr(): string {
    return this.#addr;
  }
  get laddr(): string {
    return this.#laddr;
  }

  async #readLoop(): Promise<void> {
    this.#router.clientOpened(this);
    try {
      // The reader copies what it keeps once next() returns undefined, so one buffer serves.
      const buf = new Uint8Array(64 * 1024);
      for (;;) {
        if (this.closing) break;
        let n: number | null;
        try {
          n = await this.conn.read(buf);
        } catch {
          break; // reset by peer or closed under us
        }
        if (n === null) break;
        if (this.closing) break;
        this.reader.unauthenticated = !this.authenticated;
        this.reader.push(buf.subarray(0, n));
        try {
          for (let req = this.reader.next(); req !== undefined; req = this.reader.next()) {
            this.#router.handle(this, req);
            this.reader.unauthenticated = !this.authenticated;
            if (this.closing) break;
          }
        } catch (e) {
          if (e instanceof ProtocolError) {
            // Redis answers the error, then closes; the server and other clients go on.
            log.info("protocol error from {addr}: {message}", {
              addr: this.#addr,
              message: e.message,
            });
            const slot = this.newSlot();
            slot.data = latin1ToBytes(`-${e.toReplyLine()}\r\n`);
            this.kill(true);
            this.slotReady();
            break;
          }
          throw e;
        }
      }
    } finally {
      if (!this.closing) this.#close();
      this.#router.clientClosed(this);
    }
  }

  protected deliver(chunks: Uint8Array[]): void {
    if (this.#closed) return;
    for (const c of chunks) this.#out.push(c);
    if (!this.#writing) void this.#writeLoop();
  }

  async #writeLoop(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#out.length && !this.#closed) {
        const chunks = this.#out;
        this.#out = [];
        let data: Uint8Array;
        if (chunks.length === 1) data = chunks[0]!;
        else {
          let total = 0;
          for (const c of chunks) total += c.length;
          data = new Uint8Array(total);
          let o = 0;
          for (const c of chunks) {
            data.set(c, o);
            o += c.length;
          }
        }
        let off = 0;
        while (off < data.length) off += await this.conn.write(data.subarray(off));
      }
    } catch {
      this.#close();
    } finally {
      this.#writing = false;
    }
    if (this.closing && this.pending === 0 && this.#out.length === 0) this.#close();
  }

  kill(graceful: boolean): void {
    this.closing = true;
    if (!graceful) {
      if (!this.#writing) this.#close();
      return;
    }
    if (this.pending === 0 && !this.#writing && this.#out.length === 0) this.#close();
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.closing = true;
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#close();
    await this.done;
  }
}
