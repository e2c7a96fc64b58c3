/**
 * A growable ring buffer: O(1) push and pop at both ends and O(1) indexed access, which is what
 * Redis lists need (JS arrays make `shift` O(n)).
 */
export class Deque<T> {
  #buf: (T | undefined)[];
  #head = 0;
  #len = 0;

  constructor(capacity = 8) {
    let cap = 8;
    while (cap < capacity) cap *= 2;
    this.#buf = new Array(cap);
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

  #grow(): void {
    const old = this.#buf;
    const next = new Array<T | undefined>(old.length * 2);
    for (let i = 0; i < this.#len; i++) next[i] = old[(this.#head + i) & (old.length - 1)];
    this.#buf = next;
    this.#head = 0;
  }

  pushBack(v: T): void {
    if (this.#len === this.#buf.length) this.#grow();
    this.#buf[(this.#head + this.#len) & (this.#buf.length - 1)] = v;
    this.#len++;
  }

  pushFront(v: T): void {
    if (this.#len === this.#buf.length) this.#grow();
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
    return v;
  }

  popBack(): T | undefined {
    if (this.#len === 0) return undefined;
    const i = (this.#head + this.#len - 1) & (this.#buf.length - 1);
    const v = this.#buf[i];
    this.#buf[i] = undefined;
    this.#len--;
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

  toArray(): T[] {
    const out = new Array<T>(this.#len);
    for (let i = 0; i < this.#len; i++) out[i] = this.#buf[(this.#head + i) & (this.#buf.length - 1)]!;
    return out;
  }

  /** Items from `start` to `end` inclusive, already clamped by the caller. */
  slice(start: number, end: number): T[] {
    const out: T[] = [];
    for (let i = start; i <= end; i++) out.push(this.#buf[(this.#head + i) & (this.#buf.length - 1)]!);
    return out;
  }

  /** Replaces the whole content (used by LREM, LINSERT, LTRIM which rebuild the list). */
  replaceWith(items: T[]): void {
    let cap = 8;
    while (cap < items.length) cap *= 2;
    this.#buf = new Array(cap);
    for (let i = 0; i < items.length; i++) this.#buf[i] = items[i];
    this.#head = 0;
    this.#len = items.length;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.#len; i++) yield this.#buf[(this.#head + i) & (this.#buf.length - 1)]!;
  }
}
