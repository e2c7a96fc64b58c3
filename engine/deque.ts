/**
 * A growable ring buffer: O(1) push and pop at both ends and O(1) indexed access, which is what
 * Redis lists need (JS arrays make `shift` O(n)).
 *
 * The capacity is always a power of two so positions wrap with a mask. The buffer grows by
 * doubling and shrinks by halving once it is mostly empty, so a list that was large once does not
 * keep its memory forever.
 */

/** Smallest capacity; also the capacity of a new deque. */
const MIN_CAPACITY = 8;

/** Capacity (a power of two, at least {@link MIN_CAPACITY}) that holds `n` items. */
function capacityFor(n: number): number {
  let cap = MIN_CAPACITY;
  while (cap < n) cap *= 2;
  return cap;
}

export class Deque<T> {
  #buf: (T | undefined)[];
  #head = 0;
  #len = 0;

  constructor(capacity = MIN_CAPACITY) {
    this.#buf = new Array(capacityFor(capacity));
  }

  /** Builds a deque holding `items` in order. */
  static from<T>(items: Iterable<T>): Deque<T> {
    const d = new Deque<T>();
    for (const item of items) d.pushBack(item);
    return d;
  }

  get length(): number {
    return this.#len;
  }

  /** Moves the items to a fresh buffer of `cap` slots (cap >= length), head at 0. */
  #resize(cap: number): void {
    const old = this.#buf;
    const mask = old.length - 1;
    const next = new Array<T | undefined>(cap);
    for (let i = 0; i < this.#len; i++) next[i] = old[(this.#head + i) & mask];
    this.#buf = next;
    this.#head = 0;
  }

  /** Halves the buffer when it is at most a quarter full (keeps pops amortised O(1)). */
  #maybeShrink(): void {
    const cap = this.#buf.length;
    if (cap > MIN_CAPACITY && this.#len <= cap >>> 2) this.#resize(cap >>> 1);
  }

  pushBack(v: T): void {
    if (this.#len === this.#buf.length) this.#resize(this.#buf.length * 2);
    this.#buf[(this.#head + this.#len) & (this.#buf.length - 1)] = v;
    this.#len++;
  }

  pushFront(v: T): void {
    if (this.#len === this.#buf.length) this.#resize(this.#buf.length * 2);
    this.#head = (this.#head - 1) & (this.#buf.length - 1);
    this.#buf[this.#head] = v;
    this.#len++;
  }

  popFront(): T | undefined {
    if (this.#len === 0) return undefined;
    const v = this.#buf[this.#head];
    this.#buf[this.#head] = undefined;
    this.#head = (this.#head + 1) & (this.#buf.length - 1);
    this.#len--;
    this.#maybeShrink();
    return v;
  }

  popBack(): T | undefined {
    if (this.#len === 0) return undefined;
    const i = (this.#head + this.#len - 1) & (this.#buf.length - 1);
    const v = this.#buf[i];
    this.#buf[i] = undefined;
    this.#len--;
    this.#maybeShrink();
    return v;
  }

  /** Item at `i` (0-based from the front), or undefined when out of range. */
  at(i: number): T | undefined {
    if (i < 0 || i >= this.#len) return undefined;
    return this.#buf[(this.#head + i) & (this.#buf.length - 1)];
  }

  /** Replaces the item at `i`; the caller checks the range. */
  set(i: number, v: T): void {
    this.#buf[(this.#head + i) & (this.#buf.length - 1)] = v;
  }

  /**
   * Inserts `v` so that it ends up at index `i` (0 <= i <= length), moving whichever side of the
   * deque is shorter.
   */
  insert(i: number, v: T): void {
    if (i < 0 || i > this.#len) throw new RangeError(`insert index ${i} out of range`);
    if (this.#len === this.#buf.length) this.#resize(this.#buf.length * 2);
    const buf = this.#buf;
    const mask = buf.length - 1;
    const head = this.#head;
    if (i < this.#len - i) {
      // Shift the first i items one slot towards the front.
      const newHead = (head - 1) & mask;
      for (let k = 0; k < i; k++) buf[(newHead + k) & mask] = buf[(head + k) & mask];
      this.#head = newHead;
    } else {
      // Shift the items from i on one slot towards the back.
      for (let k = this.#len; k > i; k--) buf[(head + k) & mask] = buf[(head + k - 1) & mask];
    }
    buf[(this.#head + i) & mask] = v;
    this.#len++;
  }

  /** Removes and returns the item at `i`, or undefined when out of range. */
  removeAt(i: number): T | undefined {
    if (i < 0 || i >= this.#len) return undefined;
    const buf = this.#buf;
    const mask = buf.length - 1;
    const head = this.#head;
    const v = buf[(head + i) & mask];
    if (i < this.#len - 1 - i) {
      for (let k = i; k > 0; k--) buf[(head + k) & mask] = buf[(head + k - 1) & mask];
      buf[head] = undefined;
      this.#head = (head + 1) & mask;
    } else {
      for (let k = i; k < this.#len - 1; k++) buf[(head + k) & mask] = buf[(head + k + 1) & mask];
      buf[(head + this.#len - 1) & mask] = undefined;
    }
    this.#len--;
    this.#maybeShrink();
    return v;
  }

  /**
   * Removes items for which `pred` is true, keeping the others in order, and returns how many
   * were removed. At most `limit` items are removed (0 = no limit), scanning from the back when
   * `fromBack` (LREM with a negative count), from the front otherwise.
   */
  removeWhere(pred: (v: T) => boolean, limit = 0, fromBack = false): number {
    const buf = this.#buf;
    const mask = buf.length - 1;
    const head = this.#head;
    const len = this.#len;
    let removed = 0;
    if (!fromBack) {
      let w = 0;
      for (let r = 0; r < len; r++) {
        const v = buf[(head + r) & mask] as T;
        if ((limit === 0 || removed < limit) && pred(v)) removed++;
        else {
          if (w !== r) buf[(head + w) & mask] = v;
          w++;
        }
      }
      for (let k = w; k < len; k++) buf[(head + k) & mask] = undefined;
    } else {
      let w = len - 1;
      for (let r = len - 1; r >= 0; r--) {
        const v = buf[(head + r) & mask] as T;
        if ((limit === 0 || removed < limit) && pred(v)) removed++;
        else {
          if (w !== r) buf[(head + w) & mask] = v;
          w--;
        }
      }
      for (let k = 0; k <= w; k++) buf[(head + k) & mask] = undefined;
      this.#head = (head + removed) & mask;
    }
    this.#len = len - removed;
    if (removed !== 0) this.#shrinkToFit();
    return removed;
  }

  /** Drops the first `n` items (all of them when n >= length). */
  dropFront(n: number): void {
    const k = Math.min(Math.max(n, 0), this.#len);
    const mask = this.#buf.length - 1;
    for (let i = 0; i < k; i++) this.#buf[(this.#head + i) & mask] = undefined;
    this.#head = (this.#head + k) & mask;
    this.#len -= k;
    if (k !== 0) this.#shrinkToFit();
  }

  /** Drops the last `n` items (all of them when n >= length). */
  dropBack(n: number): void {
    const k = Math.min(Math.max(n, 0), this.#len);
    const mask = this.#buf.length - 1;
    for (let i = this.#len - k; i < this.#len; i++) this.#buf[(this.#head + i) & mask] = undefined;
    this.#len -= k;
    if (k !== 0) this.#shrinkToFit();
  }

  /** Removes every item and releases the buffer. */
  clear(): void {
    this.#buf = new Array(MIN_CAPACITY);
    this.#head = 0;
    this.#len = 0;
  }

  /** After a bulk removal: shrink to the smallest capacity that keeps the buffer <= half full. */
  #shrinkToFit(): void {
    const cap = this.#buf.length;
    if (cap > MIN_CAPACITY && this.#len <= cap >>> 2) this.#resize(capacityFor(this.#len * 2));
  }

  toArray(): T[] {
    const out = new Array<T>(this.#len);
    const mask = this.#buf.length - 1;
    for (let i = 0; i < this.#len; i++) out[i] = this.#buf[(this.#head + i) & mask]!;
    return out;
  }

  /** Items from `start` to `end` inclusive, already clamped by the caller. */
  slice(start: number, end: number): T[] {
    const out: T[] = [];
    const mask = this.#buf.length - 1;
    for (let i = start; i <= end; i++) out.push(this.#buf[(this.#head + i) & mask]!);
    return out;
  }

  /** Replaces the whole content (used by LREM, LINSERT, LTRIM which rebuild the list). */
  replaceWith(items: T[]): void {
    this.#buf = new Array(capacityFor(items.length));
    for (let i = 0; i < items.length; i++) this.#buf[i] = items[i];
    this.#head = 0;
    this.#len = items.length;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.#len; i++) {
      yield this.#buf[(this.#head + i) & (this.#buf.length - 1)]!;
    }
  }
}
