/**
 * A small TCP proxy on 127.0.0.1 for replication tests: it forwards every connection to a target
 * port and can damage the traffic on demand.
 *
 * - counts the bytes passing in each direction (`up`: client → target, `down`: target → client),
 *   over all connections together;
 * - flips one byte in transit: {@link FlakyProxy.flipAfter} arms a flip of the byte that comes
 *   `n` bytes after everything counted so far in one direction;
 * - drops connections: {@link FlakyProxy.dropAll} closes both ends of every pair;
 *   {@link FlakyProxy.severClients} closes only the client's end and keeps the target's end open
 *   (draining it), so the target does not notice that the client went away — a half-dead link.
 */

/** `up`: from the client to the target; `down`: from the target to the client. */
export type Direction = "up" | "down";

/** What a flip did. */
export interface FlipInfo {
  direction: Direction;
  /** Offset of the byte in the direction's total count. */
  at: number;
  /** The connection it happened on (1 = first accepted). */
  connection: number;
  /** Offset of the byte in that connection's stream (same direction). */
  connectionOffset: number;
  before: number;
  after: number;
}

interface PendingFlip {
  direction: Direction;
  at: number;
  mask: number;
  resolve: (info: FlipInfo) => void;
}

/** One proxied connection: the client's socket and ours to the target. */
interface Pair {
  id: number;
  client: Deno.TcpConn;
  target: Deno.TcpConn;
  /** Bytes this pair carried, per direction. */
  bytes: { up: number; down: number };
  /** The client's end was closed on purpose while the target's end stays open. */
  severed: boolean;
  /** Who ended the pair first. */
  endedBy: "client" | "target" | "proxy" | undefined;
  /** Resolves when both ends are closed. */
  done: Promise<void>;
}

export interface FlakyProxyOptions {
  targetPort: number;
  targetHost?: string;
}

export class FlakyProxy implements AsyncDisposable {
  readonly #listener: Deno.TcpListener;
  readonly #pairs = new Set<Pair>();
  readonly #all: Pair[] = [];
  readonly #flips: PendingFlip[] = [];
  readonly #acceptLoop: Promise<void>;
  #closed = false;
  /** Where connections go; may be changed between connections. */
  targetPort: number;
  targetHost: string;
  /** Total bytes forwarded (or, for a severed pair's target end, drained), per direction. */
  readonly bytes = { up: 0, down: 0 };

  private constructor(listener: Deno.TcpListener, options: FlakyProxyOptions) {
    this.#listener = listener;
    this.targetPort = options.targetPort;
    this.targetHost = options.targetHost ?? "127.0.0.1";
    this.#acceptLoop = this.#accept();
  }

  /** Listens on a free port of 127.0.0.1 and forwards to `targetHost:targetPort`. */
  static start(options: FlakyProxyOptions): FlakyProxy {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    return new FlakyProxy(listener, options);
  }

  /** The port clients connect to. */
  get port(): number {
    return this.#listener.addr.port;
  }

  /** Connections accepted so far. */
  get accepted(): number {
    return this.#all.length;
  }

  /** Pairs with at least one end still open. */
  get open(): number {
    return this.#pairs.size;
  }

  /** Every pair accepted so far, oldest first (read-only view for assertions). */
  get connections(): ReadonlyArray<
    Readonly<
      Pick<Pair, "id" | "bytes" | "severed" | "endedBy"> & { open: boolean }
    >
  > {
    return this.#all.map((p) => ({
      id: p.id,
      bytes: p.bytes,
      severed: p.severed,
      endedBy: p.endedBy,
      open: this.#pairs.has(p),
    }));
  }

  /**
   * Arms a flip (XOR with `mask`) of the byte `n` bytes after what has passed so far in
   * `direction` (n = 0: the very next byte). Resolves once the byte went through, flipped.
   */
  flipAfter(direction: Direction, n: number, mask = 0x01): Promise<FlipInfo> {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`bad offset ${n}`);
    if ((mask & 0xff) === 0) throw new RangeError("a zero mask flips nothing");
    return new Promise((resolve) => {
      this.#flips.push({ direction, at: this.bytes[direction] + n, mask: mask & 0xff, resolve });
    });
  }

  /** Closes both ends of every open pair. */
  dropAll(): void {
    for (const p of this.#pairs) this.#end(p, "proxy");
  }

  /**
   * Closes the client's end of every open pair but keeps the target's end open, reading and
   * discarding what the target still sends: the target sees a live connection.
   * Returns the ids of the severed pairs.
   */
  severClients(): number[] {
    const ids: number[] = [];
    for (const p of this.#pairs) {
      if (p.severed) continue;
      p.severed = true;
      ids.push(p.id);
      closeQuietly(p.client);
    }
    return ids;
  }

  async #accept(): Promise<void> {
    for (;;) {
      let client: Deno.TcpConn;
      try {
        client = await this.#listener.accept();
      } catch {
        return; // listener closed
      }
      if (this.#closed) {
        closeQuietly(client);
        continue;
      }
      let target: Deno.TcpConn;
      try {
        target = await Deno.connect({ hostname: this.targetHost, port: this.targetPort });
      } catch {
        closeQuietly(client); // the target is down: so is the proxied connection
        continue;
      }
      client.setNoDelay(true);
      target.setNoDelay(true);
      const pair: Pair = {
        id: this.#all.length + 1,
        client,
        target,
        bytes: { up: 0, down: 0 },
        severed: false,
        endedBy: undefined,
        done: Promise.resolve(),
      };
      this.#all.push(pair);
      this.#pairs.add(pair);
      pair.done = Promise.all([
        this.#pipe(pair, "up", client, target),
        this.#pipe(pair, "down", target, client),
      ]).then(() => {
        this.#pairs.delete(pair);
      });
    }
  }

  async #pipe(pair: Pair, dir: Direction, from: Deno.TcpConn, to: Deno.TcpConn): Promise<void> {
    const buf = new Uint8Array(64 * 1024);
    for (;;) {
      let n: number | null;
      try {
        n = await from.read(buf);
      } catch {
        n = null;
      }
      if (n === null) {
        // A severed pair's client end was closed by us: keep the target end open.
        if (!(pair.severed && dir === "up")) this.#end(pair, dir === "up" ? "client" : "target");
        return;
      }
      const chunk = buf.subarray(0, n);
      this.#applyFlips(pair, dir, chunk);
      this.bytes[dir] += n;
      pair.bytes[dir] += n;
      if (pair.severed && dir === "down") continue; // drained: the client is gone
      try {
        for (let off = 0; off < chunk.length;) off += await to.write(chunk.subarray(off));
      } catch {
        if (!(pair.severed && dir === "down")) this.#end(pair, "proxy");
        return;
      }
    }
  }

  #applyFlips(pair: Pair, dir: Direction, chunk: Uint8Array): void {
    const start = this.bytes[dir];
    for (let i = 0; i < this.#flips.length;) {
      const f = this.#flips[i]!;
      if (f.direction === dir && f.at >= start && f.at < start + chunk.length) {
        const k = f.at - start;
        const before = chunk[k]!;
        chunk[k] = before ^ f.mask;
        this.#flips.splice(i, 1);
        f.resolve({
          direction: dir,
          at: f.at,
          connection: pair.id,
          connectionOffset: pair.bytes[dir] + k,
          before,
          after: chunk[k]!,
        });
        continue;
      }
      i++;
    }
  }

  #end(pair: Pair, by: "client" | "target" | "proxy"): void {
    pair.endedBy ??= by;
    closeQuietly(pair.client);
    closeQuietly(pair.target);
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.#listener);
    await this.#acceptLoop;
    const pending = [...this.#pairs];
    for (const p of pending) this.#end(p, "proxy");
    await Promise.all(pending.map((p) => p.done));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function closeQuietly(c: { close(): void }): void {
  try {
    c.close();
  } catch {
    // already closed
  }
}
