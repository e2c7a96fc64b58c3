/**
 * What the router knows about a client: its session state and an ordered queue of reply slots.
 *
 * Replies may complete out of order (different shards, main-thread commands); the queue hands
 * them to {@link Client.deliver} strictly in request order.
 */
import type { ReplySlot, SlotOwner } from "../workers/shard_pool.ts";

let nextClientId = 1;

/** Session state shared by TCP connections and in-process clients. */
export abstract class Client implements SlotOwner {
  readonly id: number = nextClientId++;
  db = 0;
  proto: 2 | 3 = 2;
  authenticated = false;
  name = "";
  readonly createdAt: number = Date.now();
  lastCommandAt: number = Date.now();
  lastCommand = "NULL";
  /** Set by QUIT or CLIENT KILL: close once the pending replies are written. */
  closing = false;
  /** Kind shown in CLIENT LIST flags (N normal, S replica, M master). */
  flags = "N";
  /**
   * Set while the client is in a mode that allows only some commands (RESP2 pub/sub): returns
   * the error line for a refused command name, undefined to allow it.
   */
  restricted: ((name: string, sub?: string) => string | undefined) | undefined;
  /** Commands queued by MULTI, undefined outside a transaction. */
  multi: Array<{ argv: Uint8Array[]; raw: Uint8Array }> | undefined;
  /** A command failed while queueing: EXEC answers EXECABORT. */
  multiError = false;
  /** Watched "db\0key" → the key's version (on its shard) at WATCH time. */
  readonly watched: Map<string, string> = new Map();
  /** Set while EXEC runs this client's queued commands (blocking commands don't block). */
  inExec = false;
  /** Requests held while the client is blocked (BLPOP...), replayed when it is served. */
  paused: Array<{ client: Client; args: Uint8Array[]; raw: Uint8Array }> | undefined;
  /** Pushes an out-of-band message (pub/sub) after the replies already queued. */
  push(bytes: Uint8Array): void {
    const slot = this.newSlot();
    slot.data = bytes;
    this.slotReady();
  }
  #queue: ReplySlot[] = [];
  #head = 0;
  #drainScheduled = false;

  /** Peer address as `ip:port`. */
  abstract get addr(): string;
  /** Local address as `ip:port`. */
  abstract get laddr(): string;
  /** Writes replies, in order. */
  protected abstract deliver(chunks: Uint8Array[]): void;
  /** Closes the client (after pending replies are delivered when `graceful`). */
  abstract kill(graceful: boolean): void;

  /** A new slot at the tail of the reply queue. */
  newSlot(): ReplySlot {
    const slot: ReplySlot = { data: undefined, owner: this };
    this.#queue.push(slot);
    return slot;
  }

  /** Reply bytes queued but not yet written out. */
  get backlog(): number {
    return 0;
  }

  /** Number of requests whose replies are not delivered yet. */
  get pending(): number {
    return this.#queue.length - this.#head;
  }

  slotReady(): void {
    if (this.#drainScheduled) return;
    this.#drainScheduled = true;
    queueMicrotask(() => this.#drain());
  }

  #drain(): void {
    this.#drainScheduled = false;
    const q = this.#queue;
    let h = this.#head;
    const chunks: Uint8Array[] = [];
    while (h < q.length) {
      const d = q[h]!.data;
      if (d === undefined) break;
      chunks.push(d);
      h++;
    }
    if (h === q.length) {
      q.length = 0;
      this.#head = 0;
    } else this.#head = h;
    if (chunks.length) this.deliver(chunks);
    if (this.closing && this.pending === 0) this.kill(false);
  }
}
