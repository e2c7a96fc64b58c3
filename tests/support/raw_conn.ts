/**
 * A raw RESP connection for differential tests: commands go out as RESP arrays and every
 * message that comes back is kept as its exact bytes (a latin1 string, one char per byte), so
 * replies can be compared byte for byte (`*-1`, `$-1` and RESP3 `_` stay apart).
 */

/** The bytes of a latin1 string (one byte per char). */
export function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** The latin1 string of some bytes (one char per byte). */
export function latin1(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

/** One command as a RESP array of bulk strings. */
export function encode(args: readonly string[]): Uint8Array {
  let s = `*${args.length}\r\n`;
  for (const a of args) s += `$${a.length}\r\n${a}\r\n`;
  return latin1Bytes(s);
}

/** Index just past the RESP message starting at `pos` in `buf`, or -1 when incomplete. */
export function frameEnd(buf: string, pos: number): number {
  if (pos >= buf.length) return -1;
  const eol = buf.indexOf("\r\n", pos);
  if (eol === -1) return -1;
  const type = buf[pos]!;
  const n = Number(buf.slice(pos + 1, eol));
  switch (type) {
    case "$":
    case "=":
    case "!": {
      if (n < 0) return eol + 2;
      const end = eol + 2 + n + 2;
      return end <= buf.length ? end : -1;
    }
    case "*":
    case ">":
    case "~":
    case "%":
    case "|": {
      let p = eol + 2;
      const items = n < 0 ? 0 : type === "%" || type === "|" ? n * 2 : n;
      for (let i = 0; i < items; i++) {
        p = frameEnd(buf, p);
        if (p === -1) return -1;
      }
      return p;
    }
    default:
      return eol + 2;
  }
}

/**
 * A loopback TCP connection that records every complete RESP message it receives in `frames`
 * (latin1 strings, in arrival order). Read them by index (`frames`, `until`) or in turn with a
 * cursor (`reply`, `call`).
 */
export class RawConn {
  readonly #conn: Deno.TcpConn;
  #buf = "";
  /** Every complete message received so far, as latin1 strings. */
  readonly frames: string[] = [];
  /** True once the connection has ended (closed by the peer, reset, or closed by us). */
  closed = false;
  /** Index in `frames` of the next message `reply` returns. */
  #next = 0;
  readonly #done: Promise<void>;
  #waiters: Array<() => void> = [];

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
    this.#done = this.#read();
  }

  /** Connects to 127.0.0.1:`port` (with TCP_NODELAY). */
  static async open(port: number): Promise<RawConn> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    return new RawConn(conn);
  }

  async #read(): Promise<void> {
    const chunk = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await this.#conn.read(chunk);
        if (n === null) break;
        this.#buf += latin1(chunk.subarray(0, n));
        let p = 0;
        for (let end = frameEnd(this.#buf, p); end !== -1; end = frameEnd(this.#buf, p)) {
          this.frames.push(this.#buf.slice(p, end));
          p = end;
        }
        this.#buf = this.#buf.slice(p);
        this.#wake();
      }
    } catch {
      // reset or closed by us
    }
    this.closed = true;
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves when more data arrives, the connection ends, or `ms` ms pass. */
  async #wait(ms: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve) => {
      this.#waiters.push(resolve);
      timer = setTimeout(resolve, ms);
    });
    clearTimeout(timer);
  }

  /** Writes `cmds` in one write; resolves once all of it is written. */
  async send(cmds: readonly (readonly string[])[]): Promise<void> {
    let size = 0;
    const parts = cmds.map(encode);
    for (const e of parts) size += e.length;
    const data = new Uint8Array(size);
    let off = 0;
    for (const e of parts) {
      data.set(e, off);
      off += e.length;
    }
    for (let o = 0; o < data.length;) o += await this.#conn.write(data.subarray(o));
  }

  /** Writes one command without waiting for it (write errors, e.g. a closed peer, ignored). */
  post(args: readonly string[]): void {
    void this.send([args]).catch(() => {});
  }

  /** Waits until a frame at index >= `from` satisfies `pred` (or the connection closes). */
  async until(from: number, pred: (f: string) => boolean, what: string): Promise<number> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      for (let i = from; i < this.frames.length; i++) if (pred(this.frames[i]!)) return i;
      if (this.closed) return -1;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await this.#wait(200);
    }
  }

  /**
   * The next message not yet returned by `reply`, or `"(connection closed)"` /
   * `"(no reply)"` when the connection ends or none comes within `ms`.
   */
  async reply(ms = 5000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      if (this.#next < this.frames.length) return this.frames[this.#next++]!;
      if (this.closed) return "(connection closed)";
      const left = deadline - Date.now();
      if (left <= 0) return "(no reply)";
      await this.#wait(left);
    }
  }

  /** Sends one command and returns the next reply (see `reply`). */
  async call(args: readonly string[]): Promise<string> {
    this.post(args);
    return await this.reply();
  }

  /** Closes the connection and waits for the reader to stop. */
  async close(): Promise<void> {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
    await this.#done;
  }
}
