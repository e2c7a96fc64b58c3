/**
 * Sorted set commands: ZADD, ZINCRBY, ZREM, ZSCORE, ZMSCORE, ZCARD, ZCOUNT, ZLEXCOUNT, the ZRANGE
 * family (ZRANGE, ZRANGESTORE, ZRANGEBYSCORE, ZREVRANGE, ZREVRANGEBYSCORE, ZRANGEBYLEX,
 * ZREVRANGEBYLEX), ZRANK, ZREVRANK, ZREMRANGEBYRANK/SCORE/LEX, ZPOPMIN, ZPOPMAX, ZMPOP,
 * ZRANDMEMBER, ZUNION(STORE), ZINTER(STORE), ZDIFF(STORE), ZINTERCARD and ZSCAN, with Redis 7.0
 * semantics, reply shapes and error texts.
 *
 * Scores: ZADD/ZINCRBY/WEIGHTS parse like Redis' getDoubleFromObject (strtod over the whole
 * string: decimal, hex, inf; no spaces, no NaN, no overflow/underflow); range bounds parse like
 * zslParseRange (strtod with leading spaces allowed and overflow to inf accepted). A stored
 * score of -0 becomes 0, as in Redis' listpack encoding (what small sorted sets use).
 *
 * Propagation:
 * - ZADD (without INCR), ZREM and ZREMRANGEBY* propagate their own arguments (deterministic
 *   given the data), only when something changed.
 * - ZINCRBY and ZADD INCR propagate `ZADD key <resulting score> member`.
 * - ZPOPMIN, ZPOPMAX and ZMPOP propagate `ZREM key <popped members>`.
 * - The STORE forms (ZRANGESTORE, ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE) propagate their concrete
 *   result: `DEL dst` when dst existed, then `ZADD dst score member ...` (in batches) when the
 *   result is not empty; so a replayed effect never depends on keys of other shards.
 */
import type { CommandContext, CommandDef, CommandFlag } from "../command.ts";
import { formatDouble, type ReplySink } from "../reply.ts";
import { compareEntries, SortedSet } from "../sorted_set.ts";
import { CommandError, notFloatError, syntaxError, WrongTypeError } from "../errors.ts";
import { isOpt, parseInt64, tryParseBigInt, tryParseInt } from "../args.ts";
import {
  parseScanCursor,
  parseScanOptions,
  scanCollection,
  snapshotIterator,
  writeEmptyScan,
} from "../scan.ts";
import { globMatch } from "../glob.ts";
import { zsetIsListpack } from "./keys.ts";

// ---------------------------------------------------------------------------------------------
// Errors

const ERR_MINMAX_FLOAT = "min or max is not a float";
const ERR_MINMAX_LEX = "min or max not valid string range item";
const ERR_NAN = "resulting score is not a number (NaN)";
const ERR_POSITIVE = "value is out of range, must be positive";

// ---------------------------------------------------------------------------------------------
// Number parsing

const DEC_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const HEX_RE =
  /^([+-]?)0[xX](?:([0-9a-fA-F]+)(?:\.([0-9a-fA-F]*))?|\.([0-9a-fA-F]+))(?:[pP]([+-]?\d+))?$/;
const INF_RE = /^[+-]?(?:inf|infinity)$/i;
const NONZERO_MANTISSA_RE = /^[^eE]*[1-9]/;

/** x * 2^e without intermediate overflow (ldexp). */
function ldexp(x: number, e: number): number {
  while (e > 1000) {
    x *= 2 ** 1000;
    e -= 1000;
  }
  while (e < -1000) {
    x *= 2 ** -1000;
    e += 1000;
  }
  return x * 2 ** e;
}

/**
 * strtod over all of `s` for the forms the fast decimal path does not take: inf/infinity and
 * hex floats. Returns undefined when `s` is not one of them; `strict` rejects overflow to inf
 * and underflow to zero (ERANGE) as getDoubleFromObject does.
 */
function parseSpecialDouble(s: string, strict: boolean): number | undefined {
  if (INF_RE.test(s)) return s.charCodeAt(0) === 45 ? -Infinity : Infinity;
  const m = HEX_RE.exec(s);
  if (m === null) return undefined;
  const neg = m[1] === "-";
  const frac = m[3] ?? m[4] ?? "";
  let digits = ((m[2] ?? "") + frac).replace(/^0+/, "");
  let exp2 = (m[5] === undefined ? 0 : Number(m[5])) - 4 * frac.length;
  let v = 0;
  if (digits.length !== 0) {
    if (digits.length > 200) {
      exp2 += 4 * (digits.length - 200);
      digits = digits.slice(0, 200);
    }
    if (exp2 > 5000) exp2 = 5000;
    if (exp2 < -5000) exp2 = -5000;
    v = ldexp(Number(BigInt("0x" + digits)), exp2);
    if (strict && (v === Infinity || v === 0)) return undefined;
  }
  return neg ? -v : v;
}

/** Redis' getDoubleFromObject: a score or weight argument, or undefined when invalid. */
export function parseScore(s: string): number | undefined {
  if (DEC_RE.test(s)) {
    const n = Number(s);
    if (n === Infinity || n === -Infinity) return undefined; // overflow (ERANGE)
    if (n === 0 && NONZERO_MANTISSA_RE.test(s)) return undefined; // underflow (ERANGE)
    return n;
  }
  return parseSpecialDouble(s, true);
}

function isCSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

/** strtod as zslParseRange uses it: leading spaces, nothing after, no NaN; "" is 0. */
function parseRangeDouble(s: string): number | undefined {
  if (s.length === 0) return 0;
  let i = 0;
  while (i < s.length && isCSpace(s.charCodeAt(i))) i++;
  const t = i === 0 ? s : s.slice(i);
  if (DEC_RE.test(t)) return Number(t);
  return parseSpecialDouble(t, false);
}

/** Redis' getPositiveLongFromObjectOrReply with its default message. */
function parsePositive(s: string, message = ERR_POSITIVE): number {
  const n = tryParseInt(s);
  if (n === undefined || n < 0) throw new CommandError(message);
  return n;
}

/** getRangeLongFromObjectOrReply(1, LONG_MAX, message). */
function parseAtLeastOne(s: string, message: string): number {
  const n = tryParseInt(s);
  if (n === undefined || n < 1) throw new CommandError(message);
  return n;
}

// ---------------------------------------------------------------------------------------------
// Ranges

interface ScoreRange {
  min: number;
  max: number;
  minex: boolean;
  maxex: boolean;
}

function parseScoreBound(s: string): [number, boolean] {
  const ex = s.charCodeAt(0) === 40; // (
  const v = parseRangeDouble(ex ? s.slice(1) : s);
  if (v === undefined || Number.isNaN(v)) throw new CommandError(ERR_MINMAX_FLOAT);
  return [v, ex];
}

function parseScoreRange(min: string, max: string): ScoreRange {
  const [a, aex] = parseScoreBound(min);
  const [b, bex] = parseScoreBound(max);
  return { min: a, max: b, minex: aex, maxex: bex };
}

/** A lex bound: `-` (below everything), `+` (above everything) or a member. */
interface LexBound {
  /** -1 for `-`, 1 for `+`, 0 for a member. */
  inf: -1 | 0 | 1;
  value: string;
  ex: boolean;
}

function parseLexBound(s: string): LexBound {
  const c = s.charCodeAt(0);
  if (c === 43 && s.length === 1) return { inf: 1, value: "", ex: true }; // +
  if (c === 45 && s.length === 1) return { inf: -1, value: "", ex: true }; // -
  if (c === 40) return { inf: 0, value: s.slice(1), ex: true }; // (
  if (c === 91) return { inf: 0, value: s.slice(1), ex: false }; // [
  throw new CommandError(ERR_MINMAX_LEX);
}

interface LexRange {
  min: LexBound;
  max: LexBound;
}

function parseLexRange(min: string, max: string): LexRange {
  return { min: parseLexBound(min), max: parseLexBound(max) };
}

/** [first, last] ranks (inclusive) of the entries within a score range; empty when last < first. */
function scoreSpan(z: SortedSet, r: ScoreRange): [number, number] {
  return [z.firstByScore(r.min, r.minex), z.firstByScore(r.max, !r.maxex) - 1];
}

function lexSpan(z: SortedSet, r: LexRange): [number, number] {
  const { min, max } = r;
  const first = min.inf === -1 ? 0 : min.inf === 1 ? z.size : z.firstByLex(min.value, min.ex);
  const last = max.inf === 1
    ? z.size - 1
    : max.inf === -1
    ? -1
    : z.firstByLex(max.value, !max.ex) - 1;
  return [first, last];
}

/** Redis' rank range normalisation: [first, last] clamped ranks, or undefined when empty. */
function rankSpan(len: number, start: number, end: number): [number, number] | undefined {
  if (start < 0) start += len;
  if (end < 0) end += len;
  if (start < 0) start = 0;
  if (start > end || start >= len) return undefined;
  if (end >= len) end = len - 1;
  return [start, end];
}

// ---------------------------------------------------------------------------------------------
// Helpers

function getZset(ctx: CommandContext, key: string): SortedSet | undefined {
  return ctx.db.getTyped(key, "zset");
}

/** Writes one (member, score) entry: `[member, score]` in RESP3, two flat items in RESP2. */
function writePair(out: ReplySink, m: string, s: number): void {
  if (out.proto === 3) out.array(2);
  out.bulk(m);
  out.double(s);
}

/** Header for `n` entries: pairs in RESP3, a flat array in RESP2 (when with scores). */
function writeEntriesHeader(out: ReplySink, n: number, withScores: boolean): void {
  out.array(withScores && out.proto === 2 ? n * 2 : n);
}

/** Propagates `DEL dst` (when it existed) and the concrete content of a stored result. */
function propagateStore(
  ctx: CommandContext,
  dst: string,
  existed: boolean,
  members: readonly string[],
  scores: readonly number[],
): void {
  if (existed) ctx.propagate(["DEL", dst]);
  const BATCH = 512;
  for (let i = 0; i < members.length; i += BATCH) {
    const end = Math.min(members.length, i + BATCH);
    const cmd = new Array<string>(2 + (end - i) * 2);
    cmd[0] = "ZADD";
    cmd[1] = dst;
    for (let j = i, k = 2; j < end; j++) {
      cmd[k++] = formatDouble(scores[j]!);
      cmd[k++] = members[j]!;
    }
    ctx.propagate(cmd);
  }
}

/** Stores sorted (member, score) entries under `dst` (or deletes it when empty); replies count. */
function storeResult(
  ctx: CommandContext,
  dst: string,
  members: string[],
  scores: number[],
  out: ReplySink,
): void {
  const n = members.length;
  if (n === 0) {
    if (ctx.db.delete(dst)) ctx.propagate(["DEL", dst]);
    out.int(0);
    return;
  }
  const z = new SortedSet();
  for (let i = 0; i < n; i++) {
    const s = scores[i]! + 0; // -0 → 0
    scores[i] = s;
    z.add(members[i]!, s);
  }
  const existed = ctx.db.has(dst);
  ctx.db.set(dst, { type: "zset", value: z });
  propagateStore(ctx, dst, existed, members, scores);
  out.int(n);
}

/** Removes `key` when its sorted set became empty. */
function dropIfEmpty(ctx: CommandContext, key: string, z: SortedSet): void {
  if (z.size === 0) ctx.db.delete(key);
}

// ---------------------------------------------------------------------------------------------
// ZADD / ZINCRBY

const F_NX = 1;
const F_XX = 2;
const F_GT = 4;
const F_LT = 8;
const F_CH = 16;
const F_INCR = 32;

function zaddFlag(a: string): number {
  if (a.length < 2 || a.length > 4) return 0;
  const c = a.charCodeAt(0);
  // Scores start with a digit, a sign, a dot or "i" (inf): skip the upper-casing for them.
  if (c < 65) return 0;
  switch (a.toUpperCase()) {
    case "NX":
      return F_NX;
    case "XX":
      return F_XX;
    case "GT":
      return F_GT;
    case "LT":
      return F_LT;
    case "CH":
      return F_CH;
    case "INCR":
      return F_INCR;
    default:
      return 0;
  }
}

function zaddGeneric(ctx: CommandContext, args: string[], out: ReplySink, flags: number): void {
  const key = args[1]!;
  const argc = args.length;
  let i = 2;
  for (; i < argc; i++) {
    const f = zaddFlag(args[i]!);
    if (f === 0) break;
    flags |= f;
  }
  const elements = argc - i;
  if (elements === 0 || elements % 2 !== 0) throw syntaxError();
  const pairs = elements / 2;
  if ((flags & F_NX) !== 0 && (flags & F_XX) !== 0) {
    throw new CommandError("XX and NX options at the same time are not compatible");
  }
  const gtlt = flags & (F_GT | F_LT);
  if (
    (gtlt !== 0 && (flags & F_NX) !== 0) || gtlt === (F_GT | F_LT)
  ) {
    throw new CommandError("GT, LT, and/or NX options at the same time are not compatible");
  }
  const incr = (flags & F_INCR) !== 0;
  if (incr && pairs > 1) {
    throw new CommandError("INCR option supports a single increment-element pair");
  }
  const first = i;
  const score0 = parseScore(args[first]!);
  if (score0 === undefined) throw notFloatError();
  let scores: number[] | undefined;
  if (pairs > 1) {
    scores = new Array<number>(pairs);
    scores[0] = score0;
    for (let j = 1; j < pairs; j++) {
      const s = parseScore(args[first + j * 2]!);
      if (s === undefined) throw notFloatError();
      scores[j] = s;
    }
  }
  let z = ctx.db.getTyped(key, "zset");
  const nx = (flags & F_NX) !== 0;
  const xx = (flags & F_XX) !== 0;
  const gt = (flags & F_GT) !== 0;
  const lt = (flags & F_LT) !== 0;
  let created = false;
  if (z === undefined) {
    if (xx) {
      if (incr) out.nullBulk();
      else out.int(0);
      return;
    }
    z = new SortedSet();
    created = true;
  }
  let added = 0;
  let updated = 0;
  let processed = 0;
  /** The score of the last member processed (what ZADD INCR replies). */
  let last = score0;
  for (let j = 0; j < pairs; j++) {
    let score = pairs === 1 ? score0 : scores![j]!;
    const member = args[first + j * 2 + 1]!;
    const cur = z.score(member);
    if (cur !== undefined) {
      if (nx) continue;
      if (incr) {
        score += cur;
        if (Number.isNaN(score)) throw new CommandError(ERR_NAN);
      }
      if ((lt && score >= cur) || (gt && score <= cur)) continue;
      processed++;
      last = score;
      if (score !== cur) {
        z.add(member, score + 0);
        updated++;
      }
    } else if (!xx) {
      last = score;
      z.add(member, score + 0);
      added++;
      processed++;
    }
  }
  if (created) ctx.db.set(key, { type: "zset", value: z });
  if (added + updated > 0) {
    if (incr) ctx.propagate(["ZADD", key, formatDouble(last + 0), args[first + 1]!]);
    else ctx.propagate(args);
  }
  if (incr) {
    if (processed > 0) out.double(last);
    else out.nullBulk();
  } else {
    out.int((flags & F_CH) !== 0 ? added + updated : added);
  }
}

// ---------------------------------------------------------------------------------------------
// The ZRANGE family

const RANGE_AUTO = 0;
const RANGE_RANK = 1;
const RANGE_SCORE = 2;
const RANGE_LEX = 3;

const DIR_AUTO = 0;
const DIR_FORWARD = 1;
const DIR_REVERSE = 2;

/**
 * Redis' zrangeGenericCommand: `args[keyIdx]` is the source, followed by min/start and
 * max/stop, then options. `store` is the destination key for ZRANGESTORE.
 */
function zrangeGeneric(
  ctx: CommandContext,
  args: string[],
  out: ReplySink,
  keyIdx: number,
  store: string | undefined,
  rangeType: number,
  direction: number,
): void {
  let withScores = false;
  let offset = 0;
  let limit = -1;
  const argc = args.length;
  for (let j = keyIdx + 3; j < argc; j++) {
    const a = args[j]!;
    const left = argc - j - 1;
    if (store === undefined && isOpt(a, "WITHSCORES")) {
      withScores = true;
    } else if (isOpt(a, "LIMIT") && left >= 2) {
      offset = parseInt64(args[j + 1]!);
      limit = parseInt64(args[j + 2]!);
      j += 2;
    } else if (direction === DIR_AUTO && isOpt(a, "REV")) {
      direction = DIR_REVERSE;
    } else if (rangeType === RANGE_AUTO && isOpt(a, "BYLEX")) {
      rangeType = RANGE_LEX;
    } else if (rangeType === RANGE_AUTO && isOpt(a, "BYSCORE")) {
      rangeType = RANGE_SCORE;
    } else {
      throw syntaxError();
    }
  }
  if (direction === DIR_AUTO) direction = DIR_FORWARD;
  if (rangeType === RANGE_AUTO) rangeType = RANGE_RANK;
  if (limit !== -1 && rangeType === RANGE_RANK) {
    throw new CommandError(
      "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
    );
  }
  if (withScores && rangeType === RANGE_LEX) {
    throw new CommandError("syntax error, WITHSCORES not supported in combination with BYLEX");
  }
  const rev = direction === DIR_REVERSE;
  let minArg = args[keyIdx + 1]!;
  let maxArg = args[keyIdx + 2]!;
  if (rev && rangeType !== RANGE_RANK) {
    const t = minArg;
    minArg = maxArg;
    maxArg = t;
  }
  let start = 0;
  let end = 0;
  let scoreRange: ScoreRange | undefined;
  let lexRange: LexRange | undefined;
  if (rangeType === RANGE_RANK) {
    start = parseInt64(minArg);
    end = parseInt64(maxArg);
  } else if (rangeType === RANGE_SCORE) {
    scoreRange = parseScoreRange(minArg, maxArg);
  } else {
    lexRange = parseLexRange(minArg, maxArg);
  }
  const z = getZset(ctx, args[keyIdx]!);
  // The ranks to emit: `count` entries from rank `from`, walking down when `rev`.
  let from = 0;
  let count = 0;
  if (z !== undefined) {
    const len = z.size;
    if (rangeType === RANGE_RANK) {
      const span = rankSpan(len, start, end);
      if (span !== undefined) {
        count = span[1] - span[0] + 1;
        from = rev ? len - 1 - span[0] : span[0];
      }
    } else {
      const [lo, hi] = scoreRange !== undefined ? scoreSpan(z, scoreRange) : lexSpan(z, lexRange!);
      const total = hi - lo + 1;
      if (total > 0 && offset >= 0 && offset < total) {
        count = total - offset;
        if (limit >= 0 && limit < count) count = limit;
        from = rev ? hi - offset : lo + offset;
      }
    }
  }
  if (store !== undefined) {
    const members: string[] = [];
    const scores: number[] = [];
    if (count > 0) {
      const push = (m: string, s: number) => {
        members.push(m);
        scores.push(s);
      };
      if (rev) z!.forRangeRev(from, from - count + 1, push);
      else z!.forRange(from, from + count - 1, push);
      if (rev) {
        members.reverse();
        scores.reverse();
      }
    }
    storeResult(ctx, store, members, scores, out);
    return;
  }
  writeEntriesHeader(out, count, withScores);
  if (count === 0) return;
  const visit = withScores
    ? (m: string, s: number) => writePair(out, m, s)
    : (m: string) => out.bulk(m);
  if (rev) z!.forRangeRev(from, from - count + 1, visit);
  else z!.forRange(from, from + count - 1, visit);
}

// ---------------------------------------------------------------------------------------------
// ZREMRANGEBY*

function zremrangeGeneric(
  ctx: CommandContext,
  args: string[],
  out: ReplySink,
  rangeType: number,
): void {
  const key = args[1]!;
  let start = 0;
  let end = 0;
  let scoreRange: ScoreRange | undefined;
  let lexRange: LexRange | undefined;
  if (rangeType === RANGE_RANK) {
    start = parseInt64(args[2]!);
    end = parseInt64(args[3]!);
  } else if (rangeType === RANGE_SCORE) {
    scoreRange = parseScoreRange(args[2]!, args[3]!);
  } else {
    lexRange = parseLexRange(args[2]!, args[3]!);
  }
  const z = getZset(ctx, key);
  if (z === undefined) {
    out.int(0);
    return;
  }
  let lo: number;
  let hi: number;
  if (rangeType === RANGE_RANK) {
    const span = rankSpan(z.size, start, end);
    if (span === undefined) {
      out.int(0);
      return;
    }
    [lo, hi] = span;
  } else {
    [lo, hi] = scoreRange !== undefined ? scoreSpan(z, scoreRange) : lexSpan(z, lexRange!);
  }
  const removed = hi >= lo ? z.deleteRange(lo, hi) : 0;
  if (removed > 0) {
    dropIfEmpty(ctx, key, z);
    ctx.propagate(args);
  }
  out.int(removed);
}

// ---------------------------------------------------------------------------------------------
// Pops

/** Removes up to `count` entries from the low (or high) end; returns them in pop order. */
function popEntries(
  z: SortedSet,
  count: number,
  max: boolean,
): { members: string[]; scores: number[] } {
  const n = Math.min(count, z.size);
  const members: string[] = [];
  const scores: number[] = [];
  const push = (m: string, s: number) => {
    members.push(m);
    scores.push(s);
  };
  if (max) {
    z.forRangeRev(z.size - 1, z.size - n, push);
    z.deleteRange(z.size - n, z.size - 1);
  } else {
    z.forRange(0, n - 1, push);
    z.deleteRange(0, n - 1);
  }
  return { members, scores };
}

function zpopGeneric(ctx: CommandContext, args: string[], out: ReplySink, max: boolean): void {
  if (args.length > 3) throw syntaxError();
  const hasCount = args.length === 3;
  const count = hasCount ? parsePositive(args[2]!) : 1;
  const key = args[1]!;
  const z = getZset(ctx, key);
  if (z === undefined || count === 0) {
    out.array(0);
    return;
  }
  const { members, scores } = popEntries(z, count, max);
  dropIfEmpty(ctx, key, z);
  ctx.propagate(["ZREM", key, ...members]);
  if (hasCount && out.proto === 3) {
    out.array(members.length);
    for (let i = 0; i < members.length; i++) writePair(out, members[i]!, scores[i]!);
  } else {
    out.array(members.length * 2);
    for (let i = 0; i < members.length; i++) {
      out.bulk(members[i]!);
      out.double(scores[i]!);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// ZUNION / ZINTER / ZDIFF and their STORE forms, ZINTERCARD

const OP_UNION = 0;
const OP_INTER = 1;
const OP_DIFF = 2;

const AGG_SUM = 0;
const AGG_MIN = 1;
const AGG_MAX = 2;

/** One input of a set operation: a sorted set, a plain set (scores 1) or nothing. */
interface SetOpSource {
  zset: SortedSet | undefined;
  set: Set<string> | undefined;
  weight: number;
}

function sourceSize(s: SetOpSource): number {
  return s.zset !== undefined ? s.zset.size : s.set !== undefined ? s.set.size : 0;
}

function sourceScore(s: SetOpSource, member: string): number | undefined {
  if (s.zset !== undefined) return s.zset.score(member);
  if (s.set !== undefined) return s.set.has(member) ? 1 : undefined;
  return undefined;
}

function forEachInSource(s: SetOpSource, fn: (member: string, score: number) => void): void {
  if (s.zset !== undefined) {
    for (const [m, sc] of s.zset.entries()) fn(m, sc);
  } else if (s.set !== undefined) {
    for (const m of s.set) fn(m, 1);
  }
}

function aggregate(target: number, value: number, agg: number): number {
  if (agg === AGG_SUM) {
    const t = target + value;
    return Number.isNaN(t) ? 0 : t;
  }
  if (agg === AGG_MIN) return value < target ? value : target;
  return value > target ? value : target;
}

/** Reads numkeys at `args[idx]` (for the numkeys-style key extractors); undefined if invalid. */
function numkeysAt(args: readonly string[], idx: number): number | undefined {
  const s = args[idx];
  if (s === undefined) return undefined;
  const n = tryParseInt(s);
  return n === undefined || n < 1 ? undefined : n;
}

/** Key positions `idx + 1 .. idx + numkeys` (those that exist), after `before`. */
function numkeysPositions(args: readonly string[], idx: number, before: number[]): number[] {
  const out = before;
  const n = numkeysAt(args, idx);
  if (n === undefined) return out;
  for (let i = idx + 1; i <= idx + n && i < args.length; i++) out.push(i);
  return out;
}

/**
 * Redis' zunionInterDiffGenericCommand. `numkeysIdx` is where numkeys is; `dst` the STORE
 * destination; `cardinality` makes it ZINTERCARD.
 */
function setOpGeneric(
  ctx: CommandContext,
  args: string[],
  out: ReplySink,
  numkeysIdx: number,
  dst: string | undefined,
  op: number,
  cardinality = false,
): void {
  const setnum = parseInt64(args[numkeysIdx]!);
  if (setnum < 1) {
    throw new CommandError(
      `at least 1 input key is needed for '${args[0]!.toLowerCase()}' command`,
    );
  }
  if (setnum > args.length - numkeysIdx - 1) throw syntaxError();
  const sources: SetOpSource[] = new Array(setnum);
  let j = numkeysIdx + 1;
  for (let i = 0; i < setnum; i++, j++) {
    const e = ctx.db.get(args[j]!);
    if (e === undefined) sources[i] = { zset: undefined, set: undefined, weight: 1 };
    else if (e.type === "zset") sources[i] = { zset: e.value, set: undefined, weight: 1 };
    else if (e.type === "set") sources[i] = { zset: undefined, set: e.value, weight: 1 };
    else throw new WrongTypeError();
  }
  let agg = AGG_SUM;
  let withScores = false;
  let limit = 0;
  let remaining = args.length - j;
  while (remaining > 0) {
    const a = args[j]!;
    if (op !== OP_DIFF && !cardinality && remaining >= setnum + 1 && isOpt(a, "WEIGHTS")) {
      j++;
      remaining--;
      for (let i = 0; i < setnum; i++, j++, remaining--) {
        const w = parseScore(args[j]!);
        if (w === undefined) throw new CommandError("weight value is not a float");
        sources[i]!.weight = w;
      }
    } else if (op !== OP_DIFF && !cardinality && remaining >= 2 && isOpt(a, "AGGREGATE")) {
      const v = args[j + 1]!;
      if (isOpt(v, "SUM")) agg = AGG_SUM;
      else if (isOpt(v, "MIN")) agg = AGG_MIN;
      else if (isOpt(v, "MAX")) agg = AGG_MAX;
      else throw syntaxError();
      j += 2;
      remaining -= 2;
    } else if (cardinality && remaining >= 2 && isOpt(a, "LIMIT")) {
      limit = parsePositive(args[j + 1]!, "LIMIT can't be negative");
      j += 2;
      remaining -= 2;
    } else if (dst === undefined && !cardinality && isOpt(a, "WITHSCORES")) {
      withScores = true;
      j++;
      remaining--;
    } else {
      throw syntaxError();
    }
  }

  const result = new Map<string, number>();
  if (op === OP_DIFF) {
    const base = sources[0]!;
    forEachInSource(base, (m, s) => {
      for (let i = 1; i < setnum; i++) {
        if (sourceScore(sources[i]!, m) !== undefined) return;
      }
      result.set(m, s);
    });
  } else {
    // Smallest inputs first, as Redis does (it decides the order sums are made in).
    const ordered = sources.slice().sort((a, b) => sourceSize(a) - sourceSize(b));
    if (op === OP_INTER) {
      const base = ordered[0]!;
      if (sourceSize(base) > 0) {
        let n = 0;
        forEachInSource(base, (m, s) => {
          if (limit > 0 && n >= limit) return;
          let score = base.weight * s;
          if (Number.isNaN(score)) score = 0;
          for (let i = 1; i < setnum; i++) {
            const src = ordered[i]!;
            const v = sourceScore(src, m);
            if (v === undefined) return;
            score = aggregate(score, v * src.weight, agg);
          }
          result.set(m, score);
          n++;
        });
      }
    } else {
      for (const src of ordered) {
        const w = src.weight;
        forEachInSource(src, (m, s) => {
          let v = w * s;
          if (Number.isNaN(v)) v = 0;
          const cur = result.get(m);
          result.set(m, cur === undefined ? v : aggregate(cur, v, agg));
        });
      }
    }
  }

  if (cardinality) {
    out.int(limit > 0 && result.size > limit ? limit : result.size);
    return;
  }
  const entries = Array.from(result);
  entries.sort((a, b) => compareEntries(a[1], a[0], b[1], b[0]));
  if (dst !== undefined) {
    const members = new Array<string>(entries.length);
    const scores = new Array<number>(entries.length);
    for (let i = 0; i < entries.length; i++) {
      members[i] = entries[i]![0];
      scores[i] = entries[i]![1];
    }
    storeResult(ctx, dst, members, scores, out);
    return;
  }
  writeEntriesHeader(out, entries.length, withScores);
  for (const [m, s] of entries) {
    if (withScores) writePair(out, m, s);
    else out.bulk(m);
  }
}

// ---------------------------------------------------------------------------------------------
// ZRANDMEMBER

const LONG_MAX = 9223372036854775807n;

function zrandmemberWithCount(
  ctx: CommandContext,
  args: string[],
  out: ReplySink,
): void {
  const raw = tryParseBigInt(args[2]!);
  if (raw === undefined) throw new CommandError("value is not an integer or out of range");
  if (raw < -LONG_MAX) {
    throw new CommandError(
      "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
    );
  }
  let withScores = false;
  if (args.length > 4 || (args.length === 4 && !isOpt(args[3]!, "WITHSCORES"))) {
    throw syntaxError();
  } else if (args.length === 4) {
    withScores = true;
    if (raw < -(LONG_MAX / 2n) || raw > LONG_MAX / 2n) {
      throw new CommandError("value is out of range");
    }
  }
  const z = getZset(ctx, args[1]!);
  if (z === undefined || raw === 0n) {
    out.array(0);
    return;
  }
  const size = z.size;
  const random = ctx.ks.random;
  if (raw < 0n) {
    // With repetitions: any count, members picked independently.
    const count = Number(-raw);
    writeEntriesHeader(out, count, withScores);
    for (let i = 0; i < count; i++) {
      const idx = Math.floor(random() * size);
      const m = z.memberAt(idx < size ? idx : size - 1);
      if (withScores) writePair(out, m, z.score(m)!);
      else out.bulk(m);
    }
    return;
  }
  const count = raw >= BigInt(size) ? size : Number(raw);
  let picked: number[];
  if (count === size) {
    // The whole set, highest rank first (as Redis replies it).
    picked = Array.from({ length: size }, (_, i) => size - 1 - i);
  } else if (count * 3 > size) {
    // Partial Fisher-Yates over all ranks.
    const all = Array.from({ length: size }, (_, i) => i);
    for (let i = 0; i < count; i++) {
      const k = i + Math.floor(random() * (size - i));
      const t = all[i]!;
      all[i] = all[k < size ? k : size - 1]!;
      all[k < size ? k : size - 1] = t;
    }
    picked = all.slice(0, count);
  } else {
    const seen = new Set<number>();
    while (seen.size < count) {
      const idx = Math.floor(random() * size);
      seen.add(idx < size ? idx : size - 1);
    }
    picked = Array.from(seen);
  }
  writeEntriesHeader(out, picked.length, withScores);
  for (const idx of picked) {
    const m = z.memberAt(idx);
    if (withScores) writePair(out, m, z.score(m)!);
    else out.bulk(m);
  }
}

// ---------------------------------------------------------------------------------------------
// The table

const ONE_KEY = { firstKey: 1, lastKey: 1, step: 1 } as const;

function rangeCommand(
  name: string,
  arity: number,
  rangeType: number,
  direction: number,
): CommandDef {
  return {
    name,
    arity,
    flags: ["readonly"],
    ...ONE_KEY,
    handler(ctx, args, out) {
      zrangeGeneric(ctx, args, out, 1, undefined, rangeType, direction);
    },
  };
}

function storeSetOp(name: string, op: number): CommandDef {
  return {
    name,
    arity: -4,
    flags: ["write", "denyoom"],
    ...ONE_KEY,
    keys: (args) => numkeysPositions(args, 2, [1]),
    handler(ctx, args, out) {
      setOpGeneric(ctx, args, out, 2, args[1]!, op);
    },
  };
}

function setOp(name: string, op: number): CommandDef {
  return {
    name,
    arity: -3,
    flags: ["readonly"],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    keys: (args) => numkeysPositions(args, 1, []),
    handler(ctx, args, out) {
      setOpGeneric(ctx, args, out, 1, undefined, op);
    },
  };
}

const READ_FAST: readonly CommandFlag[] = ["readonly", "fast"];

export const zsetCommands: CommandDef[] = [
  {
    name: "zadd",
    arity: -4,
    flags: ["write", "denyoom", "fast"],
    ...ONE_KEY,
    handler(ctx, args, out) {
      zaddGeneric(ctx, args, out, 0);
    },
  },
  {
    name: "zincrby",
    arity: 4,
    flags: ["write", "denyoom", "fast"],
    ...ONE_KEY,
    handler(ctx, args, out) {
      const key = args[1]!;
      const member = args[3]!;
      const incr = parseScore(args[2]!);
      if (incr === undefined) throw notFloatError();
      let z = getZset(ctx, key);
      const cur = z?.score(member);
      const score = cur === undefined ? incr : cur + incr;
      if (Number.isNaN(score)) throw new CommandError(ERR_NAN);
      if (z === undefined) {
        z = new SortedSet();
        ctx.db.set(key, { type: "zset", value: z });
      }
      if (score !== cur) {
        z.add(member, score + 0);
        ctx.propagate(["ZADD", key, formatDouble(score + 0), member]);
      }
      out.double(score);
    },
  },
  {
    name: "zrem",
    arity: -3,
    flags: ["write", "fast"],
    ...ONE_KEY,
    handler(ctx, args, out) {
      const key = args[1]!;
      const z = getZset(ctx, key);
      if (z === undefined) {
        out.int(0);
        return;
      }
      let removed = 0;
      for (let i = 2; i < args.length; i++) {
        if (z.delete(args[i]!)) {
          removed++;
          if (z.size === 0) break;
        }
      }
      if (removed > 0) {
        dropIfEmpty(ctx, key, z);
        ctx.propagate(args);
      }
      out.int(removed);
    },
  },
  {
    name: "zscore",
    arity: 3,
    flags: READ_FAST,
    ...ONE_KEY,
    handler(ctx, args, out) {
      const s = getZset(ctx, args[1]!)?.score(args[2]!);
      if (s === undefined) out.nullBulk();
      else out.double(s);
    },
  },
  {
    name: "zmscore",
    arity: -3,
    flags: READ_FAST,
    ...ONE_KEY,
    handler(ctx, args, out) {
      const z = getZset(ctx, args[1]!);
      out.array(args.length - 2);
      for (let i = 2; i < args.length; i++) {
        const s = z?.score(args[i]!);
        if (s === undefined) out.nullBulk();
        else out.double(s);
      }
    },
  },
  {
    name: "zcard",
    arity: 2,
    flags: READ_FAST,
    ...ONE_KEY,
    handler(ctx, args, out) {
      out.int(getZset(ctx, args[1]!)?.size ?? 0);
    },
  },
  {
    name: "zcount",
    arity: 4,
    flags: READ_FAST,
    ...ONE_KEY,
    handler(ctx, args, out) {
      const range = parseScoreRange(args[2]!, args[3]!);
      const z = getZset(ctx, args[1]!);
      if (z === undefined) {
        out.int(0);
        return;
      }
      const [lo, hi] = scoreSpan(z, range);
      out.int(hi >= lo ? hi - lo + 1 : 0);
    },
  },
  {
    name: "zlexcount",
    arity: 4,
    flags: READ_FAST,
    ...ONE_KEY,
    handler(ctx, args, out) {
      const range = parseLexRange(args[2]!, args[3]!);
      const z = getZset(ctx, args[1]!);
      if (z === undefined) {
        out.int(0);
        return;
      }
      const [lo, hi] = lexSpan(z, range);
      out.int(hi >= lo ? hi - lo + 1 : 0);
    },
  },
  rangeCommand("zrange", -4, RANGE_AUTO, DIR_AUTO),
  rangeCommand("zrangebyscore", -4, RANGE_SCORE, DIR_FORWARD),
  rangeCommand("zrevrangebyscore", -4, RANGE_SCORE, DIR_REVERSE),
  rangeCommand("zrangebylex", -4, RANGE_LEX, DIR_FORWARD),
  rangeCommand("zrevrangebylex", -4, RANGE_LEX, DIR_REVERSE),
  rangeCommand("zrevrange", -4, RANGE_RANK, DIR_REVERSE),
  {
    name: "zrangestore",
    arity: -5,
    flags: ["write", "denyoom"],
    firstKey: 1,
    lastKey: 2,
    step: 1,
    handler(ctx, args, out) {
      zrangeGeneric(ctx, args, out, 2, args[1]!, RANGE_AUTO, DIR_AUTO);
    },
  },
  {
    name: "zrank",
    arity: 3,
    flags: READ_FAST,
    ...ONE_KEY,
    handler(ctx, args, out) {
      const r = getZset(ctx, args[1]!)?.rank(args[2]!);
      if (r === undefined) out.nullBulk();
      else out.int(r);
    },
  },
  {
    name: "zrevrank",
    arity: 3,
    flags: READ_FAST,
    ...ONE_KEY,
    handler(ctx, args, out) {
      const z = getZset(ctx, args[1]!);
      const r = z?.rank(args[2]!);
      if (r === undefined) out.nullBulk();
      else out.int(z!.size - 1 - r);
    },
  },
  {
    name: "zremrangebyrank",
    arity: 4,
    flags: ["write"],
    ...ONE_KEY,
    handler(ctx, args, out) {
      zremrangeGeneric(ctx, args, out, RANGE_RANK);
    },
  },
  {
    name: "zremrangebyscore",
    arity: 4,
    flags: ["write"],
    ...ONE_KEY,
    handler(ctx, args, out) {
      zremrangeGeneric(ctx, args, out, RANGE_SCORE);
    },
  },
  {
    name: "zremrangebylex",
    arity: 4,
    flags: ["write"],
    ...ONE_KEY,
    handler(ctx, args, out) {
      zremrangeGeneric(ctx, args, out, RANGE_LEX);
    },
  },
  {
    name: "zpopmin",
    arity: -2,
    flags: ["write", "fast"],
    ...ONE_KEY,
    handler(ctx, args, out) {
      zpopGeneric(ctx, args, out, false);
    },
  },
  {
    name: "zpopmax",
    arity: -2,
    flags: ["write", "fast"],
    ...ONE_KEY,
    handler(ctx, args, out) {
      zpopGeneric(ctx, args, out, true);
    },
  },
  {
    name: "zmpop",
    arity: -4,
    flags: ["write"],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    keys: (args) => numkeysPositions(args, 1, []),
    handler(ctx, args, out) {
      const numkeys = parseAtLeastOne(args[1]!, "numkeys should be greater than 0");
      const whereIdx = 1 + numkeys + 1;
      if (whereIdx >= args.length) throw syntaxError();
      const where = args[whereIdx]!;
      let max: boolean;
      if (isOpt(where, "MIN")) max = false;
      else if (isOpt(where, "MAX")) max = true;
      else throw syntaxError();
      let count = -1;
      for (let j = whereIdx + 1; j < args.length; j++) {
        const more = args.length - 1 - j;
        if (count === -1 && more > 0 && isOpt(args[j]!, "COUNT")) {
          j++;
          count = parseAtLeastOne(args[j]!, "count should be greater than 0");
        } else {
          throw syntaxError();
        }
      }
      if (count === -1) count = 1;
      for (let i = 2; i < whereIdx; i++) {
        const key = args[i]!;
        const z = getZset(ctx, key);
        if (z === undefined) continue;
        const { members, scores } = popEntries(z, count, max);
        dropIfEmpty(ctx, key, z);
        ctx.propagate(["ZREM", key, ...members]);
        out.array(2);
        out.bulk(key);
        out.array(members.length);
        for (let k = 0; k < members.length; k++) {
          out.array(2);
          out.bulk(members[k]!);
          out.double(scores[k]!);
        }
        return;
      }
      out.nullArray();
    },
  },
  {
    name: "zrandmember",
    arity: -2,
    flags: ["readonly"],
    ...ONE_KEY,
    handler(ctx, args, out) {
      if (args.length >= 3) {
        zrandmemberWithCount(ctx, args, out);
        return;
      }
      const z = getZset(ctx, args[1]!);
      if (z === undefined) {
        out.nullBulk();
        return;
      }
      const idx = Math.floor(ctx.ks.random() * z.size);
      out.bulk(z.memberAt(idx < z.size ? idx : z.size - 1));
    },
  },
  storeSetOp("zunionstore", OP_UNION),
  storeSetOp("zinterstore", OP_INTER),
  storeSetOp("zdiffstore", OP_DIFF),
  setOp("zunion", OP_UNION),
  setOp("zinter", OP_INTER),
  setOp("zdiff", OP_DIFF),
  {
    name: "zintercard",
    arity: -3,
    flags: ["readonly"],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    keys: (args) => numkeysPositions(args, 1, []),
    handler(ctx, args, out) {
      setOpGeneric(ctx, args, out, 1, undefined, OP_INTER, true);
    },
  },
  {
    name: "zscan",
    arity: -3,
    flags: ["readonly"],
    ...ONE_KEY,
    handler(ctx, args, out) {
      const cursor = parseScanCursor(args[2]!);
      const z = getZset(ctx, args[1]!);
      if (z === undefined) return writeEmptyScan(out);
      const opts = parseScanOptions(args, 3, false);
      const step = scanCollection<string>(
        {
          owner: z,
          iterate: () => snapshotIterator(z.members()),
          alive: (m) => z.has(m),
          whole: zsetIsListpack(z),
        },
        cursor,
        opts.count,
      );
      let members = step.items;
      const match = opts.match;
      if (match !== undefined) members = members.filter((m) => globMatch(match, m));
      out.array(2);
      out.bulk(String(step.cursor));
      out.array(members.length * 2);
      for (const m of members) {
        out.bulk(m);
        out.bulk(formatDouble(z.score(m)!));
      }
    },
  },
];
