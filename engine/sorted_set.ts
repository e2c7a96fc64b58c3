/**
 * Sorted set: member → score map plus members ordered by (score, member).
 *
 * The order is a chunked sorted array: a list of chunks, each holding up to {@link CHUNK_MAX}
 * consecutive entries in two parallel arrays (members, scores). Finding an entry is a binary
 * search over the chunks' last entries, then inside one chunk; inserting or removing moves at
 * most one chunk's worth of items, so updates stay cheap at any size. Ranks need the number of
 * entries before each chunk: those prefix counts are kept in an array that is recomputed lazily
 * from the first chunk that changed, so runs of writes never pay for them and a rank lookup after
 * a write pays O(number of chunks) once.
 *
 * Small sets (up to {@link SMALL_MAX} members, the common case of many small keys) skip the
 * member → score map: they are one chunk, searched linearly, which saves most of the memory of
 * a tiny set. The map is built when the set outgrows that size and kept from then on.
 */

/** Compares (score, member) pairs the way Redis orders sorted sets (member by bytes). */
export function compareEntries(sa: number, ma: string, sb: number, mb: string): number {
  if (sa < sb) return -1;
  if (sa > sb) return 1;
  return ma < mb ? -1 : ma > mb ? 1 : 0;
}

/** A chunk grows to this many entries, then splits in two halves. */
const CHUNK_MAX = 512;
/** A chunk smaller than this is merged with a neighbour when the result fits in a chunk. */
const CHUNK_MIN = CHUNK_MAX / 4;
/** Sets up to this size have no member → score map (see the module comment). */
const SMALL_MAX = 16;

interface Chunk {
  members: string[];
  scores: number[];
}

/** Called with each entry of a range walk. */
export type EntryVisitor = (member: string, score: number) => void;

export class SortedSet {
  /** member → score; undefined while the set is small (then it has at most one chunk). */
  #dict: Map<string, number> | undefined = undefined;
  #size = 0;
  #chunks: Chunk[] = [];
  /** `#starts[i]` = number of entries before chunk i; valid for i < `#valid`. */
  #starts: number[] | undefined = undefined;
  #valid = 0;

  /** Builds a sorted set from (member, score) pairs (a repeated member keeps its last score). */
  static from(pairs: Iterable<readonly [string, number]>): SortedSet {
    const z = new SortedSet();
    const dict = new Map<string, number>();
    for (const [m, s] of pairs) dict.set(m, s);
    if (dict.size === 0) return z;
    z.#size = dict.size;
    if (dict.size > SMALL_MAX) z.#dict = dict;
    const all = Array.from(dict);
    all.sort((a, b) => compareEntries(a[1], a[0], b[1], b[0]));
    const per = CHUNK_MAX / 2;
    for (let i = 0; i < all.length; i += per) {
      const end = Math.min(all.length, i + per);
      const members = new Array<string>(end - i);
      const scores = new Array<number>(end - i);
      for (let j = i; j < end; j++) {
        const e = all[j]!;
        members[j - i] = e[0];
        scores[j - i] = e[1];
      }
      z.#chunks.push({ members, scores });
    }
    return z;
  }

  get size(): number {
    return this.#size;
  }

  score(member: string): number | undefined {
    const dict = this.#dict;
    if (dict !== undefined) return dict.get(member);
    const c = this.#chunks[0];
    if (c === undefined) return undefined;
    const i = c.members.indexOf(member);
    return i < 0 ? undefined : c.scores[i];
  }

  has(member: string): boolean {
    return this.score(member) !== undefined;
  }

  /** Index of the chunk that holds (or would hold) (score, member). -1 when there are none. */
  #chunkFor(score: number, member: string): number {
    const chunks = this.#chunks;
    let lo = 0;
    let hi = chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = chunks[mid]!;
      const last = c.members.length - 1;
      if (compareEntries(c.scores[last]!, c.members[last]!, score, member) < 0) lo = mid + 1;
      else hi = mid;
    }
    return hi;
  }

  /** Position of the first entry of `c` not less than (score, member). */
  static #lowerBound(c: Chunk, score: number, member: string): number {
    const scores = c.scores;
    const members = c.members;
    let lo = 0;
    let hi = scores.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const s = scores[mid]!;
      if (s < score || (s === score && members[mid]! < member)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Builds the member → score map (the set is about to outgrow {@link SMALL_MAX}). */
  #buildDict(): Map<string, number> {
    const dict = new Map<string, number>();
    for (const c of this.#chunks) {
      for (let i = 0; i < c.members.length; i++) dict.set(c.members[i]!, c.scores[i]!);
    }
    this.#dict = dict;
    return dict;
  }

  #touched(ci: number): void {
    if (this.#valid > ci + 1) this.#valid = ci + 1;
  }

  #insert(member: string, score: number): void {
    const chunks = this.#chunks;
    if (chunks.length === 0) {
      chunks.push({ members: [member], scores: [score] });
      this.#valid = 0;
      return;
    }
    const ci = this.#chunkFor(score, member);
    const c = chunks[ci]!;
    const n = c.members.length;
    const last = n - 1;
    if (compareEntries(c.scores[last]!, c.members[last]!, score, member) < 0) {
      c.members.push(member);
      c.scores.push(score);
    } else {
      const p = SortedSet.#lowerBound(c, score, member);
      c.members.splice(p, 0, member);
      c.scores.splice(p, 0, score);
    }
    if (n + 1 > CHUNK_MAX) {
      const half = (n + 1) >>> 1;
      chunks.splice(ci + 1, 0, {
        members: c.members.splice(half),
        scores: c.scores.splice(half),
      });
    }
    this.#touched(ci);
  }

  /** Removes the entry (score, member), which must be present. */
  #remove(member: string, score: number): void {
    const ci = this.#chunkFor(score, member);
    const c = this.#chunks[ci]!;
    const p = SortedSet.#lowerBound(c, score, member);
    if (p === c.members.length - 1) {
      c.members.pop();
      c.scores.pop();
    } else {
      c.members.splice(p, 1);
      c.scores.splice(p, 1);
    }
    this.#afterShrink(ci);
  }

  /** Drops chunk `ci` if empty or merges it into a neighbour when it got small. */
  #afterShrink(ci: number): void {
    const chunks = this.#chunks;
    const c = chunks[ci]!;
    const n = c.members.length;
    if (n === 0) {
      chunks.splice(ci, 1);
      if (this.#valid > ci) this.#valid = ci;
      return;
    }
    if (n < CHUNK_MIN && chunks.length > 1) {
      const next = chunks[ci + 1];
      if (next !== undefined && n + next.members.length <= CHUNK_MAX) {
        for (let i = 0; i < next.members.length; i++) {
          c.members.push(next.members[i]!);
          c.scores.push(next.scores[i]!);
        }
        chunks.splice(ci + 1, 1);
      } else {
        const prev = chunks[ci - 1];
        if (prev !== undefined && n + prev.members.length <= CHUNK_MAX) {
          for (let i = 0; i < n; i++) {
            prev.members.push(c.members[i]!);
            prev.scores.push(c.scores[i]!);
          }
          chunks.splice(ci, 1);
          if (this.#valid > ci) this.#valid = ci;
          return;
        }
      }
    }
    this.#touched(ci);
  }

  /** Sets `member` to `score`. Returns true when the member is new. */
  add(member: string, score: number): boolean {
    let dict = this.#dict;
    const old = this.score(member);
    if (old === undefined) {
      if (dict === undefined && this.#size >= SMALL_MAX) dict = this.#buildDict();
      if (dict !== undefined) dict.set(member, score);
      this.#size++;
      this.#insert(member, score);
      return true;
    }
    // Equal scores keep the order; only the sign of a zero may differ.
    if (old === score && Object.is(old, score)) return false;
    if (dict !== undefined) dict.set(member, score);
    const ci = this.#chunkFor(old, member);
    const c = this.#chunks[ci]!;
    const p = SortedSet.#lowerBound(c, old, member);
    // Update in place when the entry keeps its position within the chunk.
    const pm = p - 1;
    const nx = p + 1;
    if (
      (pm < 0 ? ci === 0 : compareEntries(c.scores[pm]!, c.members[pm]!, score, member) < 0) &&
      (nx >= c.members.length
        ? ci === this.#chunks.length - 1
        : compareEntries(c.scores[nx]!, c.members[nx]!, score, member) > 0)
    ) {
      c.scores[p] = score;
      return false;
    }
    c.members.splice(p, 1);
    c.scores.splice(p, 1);
    if (c.members.length === 0) {
      this.#chunks.splice(ci, 1);
      if (this.#valid > ci) this.#valid = ci;
    } else {
      this.#touched(ci);
    }
    this.#insert(member, score);
    return false;
  }

  /** Removes `member`. Returns true when it was there. */
  delete(member: string): boolean {
    const old = this.score(member);
    if (old === undefined) return false;
    this.#dict?.delete(member);
    this.#size--;
    this.#remove(member, old);
    return true;
  }

  /** Makes `#starts` valid for every chunk and returns it. */
  #ensureStarts(): number[] {
    const chunks = this.#chunks;
    let starts = this.#starts;
    if (starts === undefined) {
      starts = this.#starts = [];
      this.#valid = 0;
    }
    let i = this.#valid;
    if (i >= chunks.length) {
      starts.length = chunks.length;
      return starts;
    }
    let acc = i === 0 ? 0 : starts[i - 1]! + chunks[i - 1]!.members.length;
    for (; i < chunks.length; i++) {
      starts[i] = acc;
      acc += chunks[i]!.members.length;
    }
    starts.length = chunks.length;
    this.#valid = chunks.length;
    return starts;
  }

  /** Number of entries before chunk `ci`. */
  #startOf(ci: number): number {
    return ci === 0 ? 0 : this.#ensureStarts()[ci]!;
  }

  /** Chunk index holding global index `i` (0 <= i < size). */
  #chunkAt(i: number): number {
    if (this.#chunks.length === 1) return 0;
    const starts = this.#ensureStarts();
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid]! <= i) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** 0-based rank in ascending order, or undefined. */
  rank(member: string): number | undefined {
    const s = this.score(member);
    if (s === undefined) return undefined;
    const ci = this.#chunkFor(s, member);
    return this.#startOf(ci) + SortedSet.#lowerBound(this.#chunks[ci]!, s, member);
  }

  /** Entry at ascending rank `i`. */
  at(i: number): [string, number] | undefined {
    if (i < 0 || i >= this.#size) return undefined;
    const ci = this.#chunkAt(i);
    const c = this.#chunks[ci]!;
    const p = i - this.#startOf(ci);
    return [c.members[p]!, c.scores[p]!];
  }

  /** Member at ascending rank `i` (0 <= i < size). */
  memberAt(i: number): string {
    const ci = this.#chunkAt(i);
    return this.#chunks[ci]!.members[i - this.#startOf(ci)]!;
  }

  /** Index of the first entry with score >= `min` (or > `min` when `exclusive`); size if none. */
  firstByScore(min: number, exclusive: boolean): number {
    const chunks = this.#chunks;
    if (chunks.length === 0) return 0;
    let lo = 0;
    let hi = chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = chunks[mid]!;
      const s = c.scores[c.scores.length - 1]!;
      if (s < min || (exclusive && s === min)) lo = mid + 1;
      else hi = mid;
    }
    if (lo === chunks.length) return this.#size;
    const scores = chunks[lo]!.scores;
    let a = 0;
    let b = scores.length;
    while (a < b) {
      const mid = (a + b) >>> 1;
      const s = scores[mid]!;
      if (s < min || (exclusive && s === min)) a = mid + 1;
      else b = mid;
    }
    return this.#startOf(lo) + a;
  }

  /**
   * Index of the first entry whose member is >= `member` (or > when exclusive); size if none.
   * Lex ranges assume all scores are equal (as in Redis).
   */
  firstByLex(member: string, exclusive: boolean): number {
    const chunks = this.#chunks;
    if (chunks.length === 0) return 0;
    let lo = 0;
    let hi = chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = chunks[mid]!;
      const m = c.members[c.members.length - 1]!;
      if (m < member || (exclusive && m === member)) lo = mid + 1;
      else hi = mid;
    }
    if (lo === chunks.length) return this.#size;
    const members = chunks[lo]!.members;
    let a = 0;
    let b = members.length;
    while (a < b) {
      const mid = (a + b) >>> 1;
      const m = members[mid]!;
      if (m < member || (exclusive && m === member)) a = mid + 1;
      else b = mid;
    }
    return this.#startOf(lo) + a;
  }

  /** Calls `fn` for the entries at ranks `from` up to `to` (inclusive), ascending. */
  forRange(from: number, to: number, fn: EntryVisitor): void {
    if (from < 0) from = 0;
    if (to >= this.#size) to = this.#size - 1;
    if (from > to) return;
    let ci = this.#chunkAt(from);
    let p = from - this.#startOf(ci);
    let left = to - from + 1;
    const chunks = this.#chunks;
    while (left > 0) {
      const c = chunks[ci]!;
      const members = c.members;
      const scores = c.scores;
      const end = Math.min(members.length, p + left);
      for (let j = p; j < end; j++) fn(members[j]!, scores[j]!);
      left -= end - p;
      ci++;
      p = 0;
    }
  }

  /** Calls `fn` for the entries at ranks `from` down to `to` (inclusive, from >= to). */
  forRangeRev(from: number, to: number, fn: EntryVisitor): void {
    if (to < 0) to = 0;
    if (from >= this.#size) from = this.#size - 1;
    if (from < to) return;
    let ci = this.#chunkAt(from);
    let p = from - this.#startOf(ci);
    let left = from - to + 1;
    const chunks = this.#chunks;
    while (left > 0) {
      const c = chunks[ci]!;
      const members = c.members;
      const scores = c.scores;
      const end = Math.max(-1, p - left);
      for (let j = p; j > end; j--) fn(members[j]!, scores[j]!);
      left -= p - end;
      ci--;
      if (ci >= 0) p = chunks[ci]!.members.length - 1;
    }
  }

  /** Removes the entries at ranks `from` to `to` (inclusive, clamped). Returns how many. */
  deleteRange(from: number, to: number): number {
    if (from < 0) from = 0;
    if (to >= this.#size) to = this.#size - 1;
    if (from > to) return 0;
    const removed = to - from + 1;
    if (removed === this.#size) {
      this.#dict = undefined;
      this.#size = 0;
      this.#chunks = [];
      this.#starts = undefined;
      this.#valid = 0;
      return removed;
    }
    const chunks = this.#chunks;
    const first = this.#chunkAt(from);
    let ci = first;
    let p = from - this.#startOf(ci);
    let left = removed;
    const dict = this.#dict;
    this.#size -= removed;
    while (left > 0) {
      const c = chunks[ci]!;
      const k = Math.min(c.members.length - p, left);
      if (dict !== undefined) { for (let j = p; j < p + k; j++) dict.delete(c.members[j]!); }
      c.members.splice(p, k);
      c.scores.splice(p, k);
      left -= k;
      ci++;
      p = 0;
    }
    // Drop emptied chunks, then merge around the cut.
    let w = first;
    for (let r = first; r < chunks.length; r++) {
      const c = chunks[r]!;
      if (c.members.length !== 0) chunks[w++] = c;
    }
    chunks.length = w;
    if (this.#valid > first) this.#valid = first;
    const at = first < chunks.length ? first : chunks.length - 1;
    if (at >= 0) this.#afterShrink(at);
    if (at - 1 >= 0 && at - 1 < chunks.length) this.#afterShrink(at - 1);
    return removed;
  }

  /** Ascending (member, score) pairs. */
  *entries(): IterableIterator<[string, number]> {
    for (const c of this.#chunks) {
      for (let i = 0; i < c.members.length; i++) yield [c.members[i]!, c.scores[i]!];
    }
  }

  /** Ascending members. */
  *members(): IterableIterator<string> {
    for (const c of this.#chunks) yield* c.members;
  }

  /** Number of chunks (for tests). */
  get chunkCount(): number {
    return this.#chunks.length;
  }
}
