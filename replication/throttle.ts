/**
 * A token-bucket byte-rate limiter shared by every file copy of a full sync (and by every full
 * sync of the process, like Pika's `throttle-bytes-per-second`). The rate is read on every step,
 * so changing it (CONFIG SET) applies to transfers already under way.
 */

/** Milliseconds on some monotonic scale. */
export type Clock = () => number;
/** Waits `ms` milliseconds; rejects with the signal's reason when it is aborted. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** The real clock: monotonic milliseconds. */
export const realClock: Clock = () => performance.now();

/** The real sleep: a timer, cancelled (and the promise rejected) when `signal` aborts. */
export const realSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener("abort", onAbort, { once: true });
  });

export interface ThrottleOptions {
  /** Bytes per second, or a getter read at every step; 0, negative or non-finite = unlimited. */
  bytesPerSecond: number | (() => number);
  /** Bucket capacity as milliseconds of the current rate (default 1000: one second's worth). */
  burstMs?: number;
  /** Longest single sleep, so a rate change is seen soon (default 250 ms). */
  maxStepMs?: number;
  clock?: Clock;
  sleep?: Sleep;
}

/**
 * Token bucket with FIFO waiters. `acquire(n)` returns once `n` bytes may be sent. A request
 * larger than the bucket waits for a full bucket and leaves the bucket in debt, which later
 * requests repay, so the long-run rate is exact whatever the chunk size.
 */
export class Throttle {
  readonly #rate: () => number;
  readonly #burstMs: number;
  readonly #maxStepMs: number;
  readonly #clock: Clock;
  readonly #sleep: Sleep;
  /** Available tokens (bytes); negative = debt. Undefined until limited for the first time. */
  #tokens: number | undefined;
  #last = 0;
  #tail: Promise<void> = Promise.resolve();
  #granted = 0;
  #waitedMs = 0;

  constructor(options: ThrottleOptions) {
    const r = options.bytesPerSecond;
    this.#rate = typeof r === "function" ? r : () => r;
    this.#burstMs = options.burstMs !== undefined && options.burstMs > 0 ? options.burstMs : 1000;
    this.#maxStepMs = options.maxStepMs !== undefined && options.maxStepMs > 0
      ? options.maxStepMs
      : 250;
    this.#clock = options.clock ?? realClock;
    this.#sleep = options.sleep ?? realSleep;
  }

  /** The rate in force now (bytes per second), 0 when unlimited. */
  get bytesPerSecond(): number {
    const r = this.#rate();
    return r > 0 && Number.isFinite(r) ? r : 0;
  }

  /** Total bytes granted so far. */
  get granted(): number {
    return this.#granted;
  }

  /** Total time spent sleeping for tokens so far (ms, per the clock given). */
  get waitedMs(): number {
    return this.#waitedMs;
  }

  /**
   * Waits until `bytes` may be transferred, then takes them from the bucket. Callers are served
   * in order. Rejects with the signal's reason if `signal` aborts while waiting.
   */
  async acquire(bytes: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (!(bytes > 0)) return;
    const prev = this.#tail;
    let release!: () => void;
    this.#tail = new Promise<void>((r) => (release = r));
    try {
      await raceAbort(prev, signal);
    } catch (e) {
      // Give up our turn only once the caller before us is done, to keep the order.
      prev.then(release);
      throw e;
    }
    try {
      for (;;) {
        signal?.throwIfAborted();
        const rate = this.bytesPerSecond;
        if (rate === 0) break;
        const cap = (rate * this.#burstMs) / 1000;
        const now = this.#clock();
        if (this.#tokens === undefined) this.#tokens = cap;
        else {this.#tokens = Math.min(
            cap,
            this.#tokens + (Math.max(0, now - this.#last) * rate) / 1000,
          );}
        this.#last = now;
        const need = Math.min(bytes, cap);
        if (this.#tokens >= need) {
          this.#tokens -= bytes;
          break;
        }
        const ms = Math.min(
          this.#maxStepMs,
          Math.max(1, Math.ceil(((need - this.#tokens) * 1000) / rate)),
        );
        const before = this.#clock();
        await this.#sleep(ms, signal);
        this.#waitedMs += Math.max(0, this.#clock() - before);
      }
      this.#granted += bytes;
    } finally {
      release();
    }
  }
}

/** Resolves with `p`, or rejects with the signal's reason as soon as it aborts. */
function raceAbort(p: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return p;
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    });
  });
}
