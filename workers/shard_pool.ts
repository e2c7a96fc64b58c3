/**
 * The main thread's side of the shard workers: starts them, batches command frames per shard and
 * routes each answer back to whoever waits for it.
 *
 * Batching: frames are appended to a per-shard buffer and posted in one message at the end of the
 * current task (a microtask), so a pipeline or many clients served in the same turn share one
 * message, while a lone client's command leaves at once — no timer ever holds it back.
 */
import { FRAME_HEADER, type FromShard, type ShardConfig, type ToShard } from "./protocol.ts";
import { slotTable } from "../engine/slot.ts";
import type { Position } from "../engine/binlog.ts";

/** Whoever owns reply slots is told when one is filled. */
export interface SlotOwner {
  slotReady(): void;
}

/** A place for one reply; filled with RESP bytes by the pool or by an aggregating command. */
export interface ReplySlot {
  data: Uint8Array | undefined;
  owner: SlotOwner;
}

type Waiting =
  | { kind: "batch"; slots: ReplySlot[] }
  | { kind: "call"; resolve: (m: FromShard) => void; reject: (e: Error) => void };

/** Options for {@link ShardPool.start}. */
export interface ShardPoolOptions {
  shards: number;
  dir?: string;
  appendfsync?: ShardConfig["appendfsync"];
  binlogFileSize?: number;
  hz?: number;
  ignoreCorruption?: boolean;
  /** The node follows a master (see ShardConfig.replica). */
  replica?: boolean;
  /** Per shard: restart the binlog at this position (finishing an interrupted install). */
  resetBinlogTo?: Position[];
  /** Called with warnings the shards reported while loading. */
  onWarning?: (shard: number, message: string) => void;
}

class ShardLink {
  readonly index: number;
  readonly worker: Worker;
  readonly waiting: Waiting[] = [];
  waitHead = 0;
  buf = new Uint8Array(64 * 1024);
  len = 0;
  slots: ReplySlot[] = [];
  dead: string | undefined;

  constructor(index: number, worker: Worker) {
    this.index = index;
    this.worker = worker;
  }

  push(w: Waiting): void {
    this.waiting.push(w);
  }

  shift(): Waiting | undefined {
    const w = this.waiting[this.waitHead];
    if (w === undefined) return undefined;
    this.waiting[this.waitHead++] = undefined as unknown as Waiting;
    // Compact now and then so the array does not grow without bound.
    if (this.waitHead > 1024 && this.waitHead * 2 > this.waiting.length) {
      this.waiting.splice(0, this.waitHead);
      this.waitHead = 0;
    }
    return w;
  }
}

/** Encodes an error reply for slots whose shard died. */
function errorBytes(message: string): Uint8Array {
  return new TextEncoder().encode(`-ERR ${message}\r\n`);
}

export class ShardPool implements AsyncDisposable {
  readonly count: number;
  /** slot → shard. */
  readonly slotToShard: Uint8Array;
  readonly #links: ShardLink[];
  #flushScheduled = false;
  #closed = false;

  private constructor(links: ShardLink[]) {
    this.#links = links;
    this.count = links.length;
    this.slotToShard = slotTable(links.length);
  }

  /** Starts the workers and waits until every shard has loaded its data. */
  static async start(options: ShardPoolOptions): Promise<ShardPool> {
    const links: ShardLink[] = [];
    const ready: Promise<void>[] = [];
    for (let i = 0; i < options.shards; i++) {
      const worker = new Worker(new URL("./shard_worker.ts", import.meta.url).href, {
        type: "module",
        name: `shard-${i}`,
      });
      const link = new ShardLink(i, worker);
      links.push(link);
      const config: ShardConfig = {
        shard: i,
        shards: options.shards,
        dir: options.dir,
        appendfsync: options.appendfsync ?? "everysec",
        binlogFileSize: options.binlogFileSize ?? 100 * 1024 * 1024,
        ignoreCorruption: options.ignoreCorruption,
        hz: options.hz ?? 10,
        resetBinlogTo: options.resetBinlogTo?.[i],
        replica: options.replica,
      };
      ready.push(
        new Promise<void>((resolve, reject) => {
          worker.onmessage = (e: MessageEvent<FromShard>) => {
            const m = e.data;
            if (m.t === "ready") {
              for (const w of m.warnings) options.onWarning?.(i, w);
              resolve();
            } else if (m.t === "fatal") reject(new Error(`shard ${i}: ${m.message}`));
          };
          worker.onerror = (ev) => {
            ev.preventDefault();
            reject(new Error(`shard ${i} failed to start: ${ev.message}`));
          };
        }),
      );
      worker.postMessage({ t: "init", config } satisfies ToShard);
    }
    try {
      await Promise.all(ready);
    } catch (e) {
      for (const l of links) l.worker.terminate();
      throw e;
    }
    const pool = new ShardPool(links);
    for (const link of links) pool.#attach(link);
    return pool;
  }

  #attach(link: ShardLink): void {
    link.worker.onmessage = (e: MessageEvent<FromShard>) => this.#onMessage(link, e.data);
    link.worker.onerror = (ev) => {
      ev.preventDefault();
      this.#fail(link, `shard ${link.index} crashed: ${ev.message}`);
    };
  }

  #onMessage(link: ShardLink, m: FromShard): void {
    const w = link.shift();
    if (w === undefined) return;
    if (w.kind === "call") {
      w.resolve(m);
      return;
    }
    if (m.t !== "replies") {
      this.#fail(link, `shard ${link.index} answered a batch with ${m.t}`);
      return;
    }
    const { buf, ends } = m;
    let start = 0;
    const slots = w.slots;
    for (let i = 0; i < slots.length; i++) {
      const end = ends[i]!;
      const slot = slots[i]!;
      slot.data = buf.subarray(start, end);
      start = end;
      slot.owner.slotReady();
    }
  }

  #fail(link: ShardLink, message: string): void {
    link.dead = message;
    const err = errorBytes(message);
    for (let w = link.shift(); w !== undefined; w = link.shift()) {
      if (w.kind === "call") w.reject(new Error(message));
      else {
        for (const s of w.slots) {
          s.data = err;
          s.owner.slotReady();
        }
      }
    }
  }

  /** Queues a command's raw multibulk bytes for `shard`; the reply lands in `slot`. */
  enqueue(shard: number, db: number, proto: 2 | 3, raw: Uint8Array, slot: ReplySlot): void {
    const link = this.#links[shard]!;
    if (link.dead !== undefined) {
      slot.data = errorBytes(link.dead);
      slot.owner.slotReady();
      return;
    }
    const need = link.len + FRAME_HEADER + raw.length;
    if (need > link.buf.length) {
      let size = link.buf.length * 2;
      while (size < need) size *= 2;
      const next = new Uint8Array(size);
      next.set(link.buf.subarray(0, link.len));
      link.buf = next;
    }
    const b = link.buf;
    const o = link.len;
    b[o] = db;
    b[o + 1] = proto;
    b[o + 2] = 0;
    b[o + 3] = 0;
    const n = raw.length;
    b[o + 4] = n & 0xff;
    b[o + 5] = (n >>> 8) & 0xff;
    b[o + 6] = (n >>> 16) & 0xff;
    b[o + 7] = (n >>> 24) & 0xff;
    b.set(raw, o + FRAME_HEADER);
    link.len = need;
    link.slots.push(slot);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Posts every shard's pending batch now. */
  flush(): void {
    this.#flushScheduled = false;
    for (const link of this.#links) this.#flushLink(link);
  }

  #flushLink(link: ShardLink): void {
    if (link.len === 0) return;
    const payload = link.buf.slice(0, link.len);
    link.push({ kind: "batch", slots: link.slots });
    link.slots = [];
    link.len = 0;
    link.worker.postMessage({ t: "batch", buf: payload } satisfies ToShard, [payload.buffer]);
  }

  /** Sends a control message to `shard` after whatever is already queued for it. */
  call(shard: number, msg: ToShard): Promise<FromShard> {
    const link = this.#links[shard]!;
    if (link.dead !== undefined) return Promise.reject(new Error(link.dead));
    this.#flushLink(link);
    return new Promise<FromShard>((resolve, reject) => {
      link.push({ kind: "call", resolve, reject });
      link.worker.postMessage(msg);
    });
  }

  /** Sends the same control message to every shard; answers come back in shard order. */
  broadcast(msg: ToShard): Promise<FromShard[]> {
    return Promise.all(this.#links.map((l) => this.call(l.index, msg)));
  }

  /** Flushes the shards' logs and stops the workers. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.flush();
    await Promise.allSettled(
      this.#links.filter((l) => l.dead === undefined).map((l) =>
        Promise.race([this.call(l.index, { t: "close" }), new Promise((r) => setTimeout(r, 5000))])
      ),
    );
    for (const l of this.#links) l.worker.terminate();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
