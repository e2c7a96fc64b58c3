/**
 * Sorted set: member → score map plus members ordered by (score, member).
 *
 * The order is kept in a sorted array with binary search. Insertions are O(n) memmoves, which
 * are fast up to large sizes in V8; rank lookups are O(log n).
 */

/** Compares (score, member) pairs the way Redis orders sorted sets (member by bytes). */
export function compareEntries(sa: number, ma: string, sb: number, mb: string): number {
  if (sa < sb) return -1;
  if (sa > sb) return 1;
  return ma < mb ? -1 : ma > mb ? 1 : 0;
}

export class SortedSet {
  readonly #scores = new Map<string, number>();
  #members: string[] = [];
  #order: number[] = [];

  /** Builds a sorted set from (member, score) pairs. */
  static from(pairs: Iterable<readonly [string, number]>): SortedSet {
    const z = new SortedSet();
    for (const [m, s] of pairs) z.add(m, s);
    return z;
  }

  get size(): number {
    return this.#scores.size;
  }

  score(member: string): number | undefined {
    return this.#scores.get(member);
  }

  has(member: string): boolean {
    return this.#scores.has(member);
  }

  /** Index of the first entry not less than (score, member). */
  #lowerBound(score: number, member: string): number {
    let lo = 0;
    let hi = this.#members.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareEntries(this.#order[mid]!, this.#members[mid]!, score, member) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Sets `member` to `score`. Returns true when the member is new. */
  add(member: string, score: number): boolean {
    const old = this.#scores.get(member);
    if (old !== undefined) {
      if (old === score) return false;
      const i = this.#lowerBound(old, member);
      this.#members.splice(i, 1);
      this.#order.splice(i, 1);
    }
    this.#scores.set(member, score);
    const j = this.#lowerBound(score, member);
    this.#members.splice(j, 0, member);
    this.#order.splice(j, 0, score);
    return old === undefined;
  }

  /** Removes `member`. Returns true when it was there. */
  delete(member: string): boolean {
    const old = this.#scores.get(member);
    if (old === undefined) return false;
    this.#scores.delete(member);
    const i = this.#lowerBound(old, member);
    this.#members.splice(i, 1);
    this.#order.splice(i, 1);
    return true;
  }

  /** 0-based rank in ascending order, or undefined. */
  rank(member: string): number | undefined {
    const s = this.#scores.get(member);
    if (s === undefined) return undefined;
    return this.#lowerBound(s, member);
  }

  /** Entry at ascending rank `i`. */
  at(i: number): [string, number] | undefined {
    if (i < 0 || i >= this.#members.length) return undefined;
    return [this.#members[i]!, this.#order[i]!];
  }

  /** Index of the first entry with score >= `min` (or > `min` when `exclusive`). */
  firstByScore(min: number, exclusive: boolean): number {
    let lo = 0;
    let hi = this.#order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const s = this.#order[mid]!;
      if (s < min || (exclusive && s === min)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of the first entry whose member is >= `member` (or > when exclusive); lex ranges assume equal scores. */
  firstByLex(member: string, exclusive: boolean): number {
    let lo = 0;
    let hi = this.#members.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = this.#members[mid]!;
      if (m < member || (exclusive && m === member)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Ascending (member, score) pairs. */
  *entries(): IterableIterator<[string, number]> {
    for (let i = 0; i < this.#members.length; i++) yield [this.#members[i]!, this.#order[i]!];
  }
}
