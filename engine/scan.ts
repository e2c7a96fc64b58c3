/**
 * Cursor machinery shared by SCAN, HSCAN, SSCAN and ZSCAN.
 *
 * Redis guarantees that an iteration started with cursor 0 and continued with the cursors it
 * returns until it returns 0 again reports every element that was present for the whole
 * iteration at least once, even when other elements are added or removed in between; elements
 * added or removed meanwhile may or may not be reported, and duplicates are allowed.
 *
 * Here an iteration is a *live iterator* kept on the server between steps:
 *
 * - `iterate()` creates it. JS `Map`/`Set` iterators are live: they survive insertions and
 *   deletions and visit every entry present throughout exactly once, which is precisely the
 *   guarantee above. Collections that cannot be iterated that way (e.g. an array-backed sorted
 *   order, where a deletion shifts positions) pass a snapshot instead:
 *   {@link snapshotIterator}`(members)` taken when the iteration starts; deleted items are then
 *   dropped with `alive()`.
 * - The iterator is stored under a fresh cursor number, per collection, in a `WeakMap` keyed by
 *   the collection object: deleting the collection (DEL, expiry, overwrite) frees its states.
 *   Every step hands out a new cursor and forgets the one it was given, so a repeated cursor
 *   never resumes twice.
 * - A cursor the collection does not know (never issued, evicted because more than
 *   {@link MAX_ITERATIONS} iterations are open on the same collection, issued before a restart
 *   or by another collection) starts over from the beginning: that can only add duplicates,
 *   never lose an element.
 *
 * Each step costs O(count), not O(size). Engine cursors are positive integers below 2^32 (the
 * router may encode the shard above them); 0 means "start" in a request and "done" in a reply.
 *
 * Small collections may be returned whole in one step with cursor 0 (`whole`), as Redis does
 * for its listpack/intset encodings whatever the cursor and COUNT.
 */
import { CommandError, syntaxError } from "./errors.ts";
import { isOpt, parseInt64 } from "./args.ts";
import type { ReplySink } from "./reply.ts";

/** Open iterations kept per collection; the least recently used is dropped beyond this. */
export const MAX_ITERATIONS = 256;

/** How many items past `count` a step may skip as dead (snapshot iterators) before replying. */
const DEAD_SKIP_FACTOR = 10;

/** Cursor numbers wrap below this (see the module comment). */
const CURSOR_LIMIT = 2 ** 32;

interface IterationState {
  it: Iterator<unknown>;
  /** The item read ahead to learn whether the iteration was over; reported by the next step. */
  pending: unknown;
}

const states = new WeakMap<object, Map<number, IterationState>>();
let nextCursor = 1;

function newCursor(): number {
  const c = nextCursor;
  nextCursor = nextCursor + 1 >= CURSOR_LIMIT ? 1 : nextCursor + 1;
  return c;
}

/** What {@link scanCollection} iterates. */
export interface ScanSource<T> {
  /**
   * The collection (a Db, a hash's Map, a Set, a SortedSet...). Its identity keys the stored
   * iterations, so it must be the object that lives exactly as long as the collection.
   */
  readonly owner: object;
  /**
   * A new iterator over every item: live (`map.keys()`, `set.values()`, `db.keys()`) or a
   * snapshot taken now ({@link snapshotIterator}).
   */
  iterate(): Iterator<T>;
  /**
   * Whether an item the iterator produced earlier is still in the collection (and, for keys,
   * not expired). Called once per reported item.
   */
  alive(item: T): boolean;
  /** Report the whole collection now with cursor 0 (Redis' listpack/intset behaviour). */
  readonly whole?: boolean;
}

/** One step's result: the next cursor (0 when the iteration is over) and the visited items. */
export interface ScanStep<T> {
  cursor: number;
  items: T[];
}

/**
 * Runs one step of a SCAN-family iteration over `src`, visiting about `count` items (COUNT).
 * `cursor` comes from {@link parseScanCursor}; 0 starts a new iteration. Filtering (MATCH,
 * TYPE) is the caller's job and happens after the step, as in Redis: a step may thus reply
 * fewer items than COUNT, even none, with a non-zero cursor.
 */
export function scanCollection<T>(src: ScanSource<T>, cursor: number, count: number): ScanStep<T> {
  if (src.whole) {
    const items: T[] = [];
    const it = src.iterate();
    for (let r = it.next(); !r.done; r = it.next()) if (src.alive(r.value)) items.push(r.value);
    return { cursor: 0, items };
  }
  let byCursor = states.get(src.owner);
  let state: IterationState | undefined;
  if (cursor !== 0 && byCursor !== undefined) {
    state = byCursor.get(cursor);
    if (state !== undefined) byCursor.delete(cursor);
  }
  let it: Iterator<T>;
  const items: T[] = [];
  if (state === undefined) {
    it = src.iterate();
  } else {
    it = state.it as Iterator<T>;
    const p = state.pending as T;
    if (src.alive(p)) items.push(p);
  }
  let budget = Math.max(count, 1) * DEAD_SKIP_FACTOR;
  while (items.length < count && budget-- > 0) {
    const r = it.next();
    if (r.done) return { cursor: 0, items };
    if (src.alive(r.value)) items.push(r.value);
  }
  const ahead = it.next();
  if (ahead.done) return { cursor: 0, items };
  if (byCursor === undefined) {
    byCursor = new Map();
    states.set(src.owner, byCursor);
  }
  const next = newCursor();
  byCursor.set(next, { it, pending: ahead.value });
  if (byCursor.size > MAX_ITERATIONS) {
    const oldest = byCursor.keys().next();
    if (!oldest.done) byCursor.delete(oldest.value);
  }
  return { cursor: next, items };
}

/** An iterator over a copy of `items` taken now, for collections without live iterators. */
export function snapshotIterator<T>(items: Iterable<T>): Iterator<T> {
  return Array.from(items)[Symbol.iterator]();
}

/** Number of iterations currently kept for `owner` (for tests and introspection). */
export function openIterations(owner: object): number {
  return states.get(owner)?.size ?? 0;
}

const MAX_U64 = 18446744073709551615n;
const CURSOR_RE = /^[+-]?[0-9]*$/;

/**
 * Parses a cursor as Redis does (strtoul, base 10): optional sign, digits, nothing else; the
 * empty string is 0; a leading space or a value past 2^64-1 is "ERR invalid cursor". Returns
 * the cursor as a number (0 for "start"; values that are not engine cursors are just unknown).
 */
export function parseScanCursor(s: string): number {
  if (!CURSOR_RE.test(s) || s === "+" || s === "-") throw new CommandError("invalid cursor");
  const neg = s.charCodeAt(0) === 45;
  const digits = neg || s.charCodeAt(0) === 43 ? s.slice(1) : s;
  if (digits.length === 0) return 0;
  if (digits.length < 16 && !neg) return Number(digits);
  let b = BigInt(digits);
  if (b > MAX_U64) throw new CommandError("invalid cursor");
  if (neg) b = (MAX_U64 + 1n - b) & MAX_U64; // strtoul negates in unsigned arithmetic
  return b < BigInt(CURSOR_LIMIT) ? Number(b) : CURSOR_LIMIT; // CURSOR_LIMIT: never a cursor
}

/** SCAN-family options. */
export interface ScanOptions {
  /** MATCH pattern, or undefined when absent or exactly "*" (which matches everything). */
  match: string | undefined;
  /** COUNT, default 10. */
  count: number;
  /** TYPE filter (SCAN only), as given. */
  type: string | undefined;
}

/**
 * Parses `[MATCH pattern] [COUNT count]` (and `[TYPE type]` when `allowType`) from
 * `args[start..]`, in any order, repeated options winning last, with Redis' errors: COUNT must
 * be an integer ("value is not an integer or out of range") >= 1 ("syntax error"); anything
 * else, or an option without its argument, is a "syntax error".
 */
export function parseScanOptions(
  args: readonly string[],
  start: number,
  allowType: boolean,
): ScanOptions {
  const opts: ScanOptions = { match: undefined, count: 10, type: undefined };
  for (let i = start; i < args.length; i += 2) {
    const opt = args[i]!;
    const value = args[i + 1];
    if (value === undefined) throw syntaxError();
    if (isOpt(opt, "COUNT")) {
      const n = parseInt64(value);
      if (n < 1) throw syntaxError();
      opts.count = n;
    } else if (isOpt(opt, "MATCH")) {
      opts.match = value === "*" ? undefined : value;
    } else if (allowType && isOpt(opt, "TYPE")) {
      opts.type = value;
    } else {
      throw syntaxError();
    }
  }
  return opts;
}

/** Writes the `[cursor, []]` reply of a scan over a missing key. */
export function writeEmptyScan(out: ReplySink): void {
  out.array(2);
  out.bulk("0");
  out.array(0);
}
