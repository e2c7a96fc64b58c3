/**
 * Hash commands: HSET, HSETNX, HGET, HMSET, HMGET, HDEL, HEXISTS, HLEN, HSTRLEN, HKEYS, HVALS,
 * HGETALL, HINCRBY, HINCRBYFLOAT, HRANDFIELD, HSCAN.
 *
 * A hash is a `Map<string, string>` in insertion order, which is also the order Redis' listpack
 * encoding keeps (updates in place, new fields appended), so small hashes list their fields in
 * the same order as Redis.
 */
import type { CommandContext, CommandDef } from "../command.ts";
import type { ReplySink } from "../reply.ts";
import { CommandError, notFloatError, notIntegerError, syntaxError } from "../errors.ts";
import { isOpt, tryParseBigInt } from "../args.ts";
import { globMatch } from "../glob.ts";
import { parseScanCursor, parseScanOptions, scanCollection, writeEmptyScan } from "../scan.ts";
import { hashIsListpack } from "./keys.ts";

const LLONG_MAX = 9223372036854775807n;
const LLONG_MIN = -9223372036854775808n;

// ---------------------------------------------------------------------------------------------
// x87 80-bit long double arithmetic, exactly as HINCRBYFLOAT (and INCRBYFLOAT) compute on
// x86-64 Linux: strtold to parse, one rounded addition, printf("%.17Lf") with trailing zeros
// trimmed. Doubles would not do: Redis replies "0.3" to 0.1 + 0.2, and
// "1000000000000000.0999755859375" to 1e15 + 0.1.

/** A finite long double m × 2^e with m = 0 or 2^63 <= m < 2^64 (or smaller when subnormal). */
interface LongDouble {
  neg: boolean;
  m: bigint;
  e: number;
}

/** ±Infinity as a parse result. */
const LD_INF = "inf" as const;
const LD_NEG_INF = "-inf" as const;
type LongDoubleValue = LongDouble | typeof LD_INF | typeof LD_NEG_INF;

const MANT_BITS = 64;
const MIN_EXP = -16445; // exponent of the smallest subnormal
const MAX_EXP = 16320; // largest e with m × 2^e finite (m < 2^64)
const TWO63 = 1n << 63n;
const TWO64 = 1n << 64n;
/** string2ld rejects strings of MAX_LONG_DOUBLE_CHARS (5 KB) or more. */
const MAX_LONG_DOUBLE_CHARS = 5 * 1024;

function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

/**
 * Rounds n/d × 2^e2 (n, d > 0) to a long double, round-half-even, with subnormals; undefined
 * when it overflows.
 */
function roundToLongDouble(neg: boolean, n: bigint, d: bigint, e2: number): LongDouble | undefined {
  let s = MANT_BITS - (bitLength(n) - bitLength(d));
  let q: bigint;
  let r: bigint;
  let den: bigint;
  for (;;) {
    const num = s >= 0 ? n << BigInt(s) : n;
    den = s >= 0 ? d : d << BigInt(-s);
    q = num / den;
    if (q >= TWO64) {
      s--;
      continue;
    }
    if (q < TWO63) {
      s++;
      continue;
    }
    let e = e2 - s;
    if (e < MIN_EXP) {
      // Subnormal: fewer mantissa bits.
      s -= MIN_EXP - e;
      e = MIN_EXP;
      const num2 = s >= 0 ? n << BigInt(s) : n;
      den = s >= 0 ? d : d << BigInt(-s);
      q = num2 / den;
      r = num2 - q * den;
    } else {
      r = num - q * den;
    }
    const twice = r * 2n;
    if (twice > den || (twice === den && (q & 1n) === 1n)) q++;
    if (q === TWO64) {
      q = TWO63;
      e++;
    }
    if (e > MAX_EXP) return undefined;
    return { neg, m: q, e };
  }
}

const DEC_RE = /^([+-]?)(?:([0-9]+)(?:\.([0-9]*))?|\.([0-9]+))(?:[eE]([+-]?[0-9]+))?$/;
const HEX_RE =
  /^([+-]?)0[xX](?:([0-9a-fA-F]+)(?:\.([0-9a-fA-F]*))?|\.([0-9a-fA-F]+))(?:[pP]([+-]?[0-9]+))?$/;
const INF_RE = /^([+-]?)(?:inf|infinity)$/i;

/** Redis' string2ld (strtold, whole string, no NaN, no overflow/underflow); undefined if invalid. */
function parseLongDouble(s: string): LongDoubleValue | undefined {
  if (s.length === 0 || s.length >= MAX_LONG_DOUBLE_CHARS) return undefined;
  let m = DEC_RE.exec(s);
  if (m !== null) {
    const neg = m[1] === "-";
    const intPart = m[2] ?? "";
    const frac = m[3] ?? m[4] ?? "";
    const digits = (intPart + frac).replace(/^0+/, "");
    if (digits.length === 0) return { neg, m: 0n, e: 0 };
    const exp10 = (m[5] === undefined ? 0 : Number(m[5])) - frac.length;
    const magnitude = digits.length + exp10; // value < 10^magnitude
    if (magnitude > 4934) return undefined; // overflow (ERANGE, ±HUGE_VAL)
    if (magnitude < -4952) return undefined; // underflow to zero (ERANGE)
    const n = BigInt(digits);
    const r = exp10 >= 0
      ? roundToLongDouble(neg, n * 10n ** BigInt(exp10), 1n, 0)
      : roundToLongDouble(neg, n, 10n ** BigInt(-exp10), 0);
    if (r === undefined || r.m === 0n) return undefined;
    return r;
  }
  m = HEX_RE.exec(s);
  if (m !== null) {
    const neg = m[1] === "-";
    const frac = m[3] ?? m[4] ?? "";
    const digits = ((m[2] ?? "") + frac).replace(/^0+/, "");
    if (digits.length === 0) return { neg, m: 0n, e: 0 };
    const exp2 = (m[5] === undefined ? 0 : Number(m[5])) - 4 * frac.length;
    const magnitude = digits.length * 4 + exp2;
    if (magnitude > 16385) return undefined;
    if (magnitude < -16450) return undefined;
    const r = roundToLongDouble(neg, BigInt("0x" + digits), 1n, exp2);
    if (r === undefined || r.m === 0n) return undefined;
    return r;
  }
  m = INF_RE.exec(s);
  if (m !== null) return m[1] === "-" ? LD_NEG_INF : LD_INF;
  return undefined;
}

/** a + b rounded to long double; undefined when it overflows. */
function addLongDouble(a: LongDouble, b: LongDouble): LongDouble | undefined {
  if (a.m === 0n) return b;
  if (b.m === 0n) return a;
  const e = Math.min(a.e, b.e);
  const av = a.m << BigInt(a.e - e);
  const bv = b.m << BigInt(b.e - e);
  const sum = (a.neg ? -av : av) + (b.neg ? -bv : bv);
  if (sum === 0n) return { neg: false, m: 0n, e: 0 };
  return roundToLongDouble(sum < 0n, sum < 0n ? -sum : sum, 1n, e);
}

const TEN17 = 10n ** 17n;

/** printf("%.17Lf") with trailing zeros (and a bare '.') removed, "-0" as "0" (LD_STR_HUMAN). */
function formatLongDouble(v: LongDouble): string {
  let q: bigint;
  if (v.e >= 0) {
    q = (v.m << BigInt(v.e)) * TEN17;
  } else {
    const shift = BigInt(-v.e);
    const x = v.m * TEN17;
    q = x >> shift;
    const r = x - (q << shift);
    const half = 1n << (shift - 1n);
    if (r > half || (r === half && (q & 1n) === 1n)) q++;
  }
  const all = q.toString().padStart(18, "0");
  const intPart = all.slice(0, all.length - 17);
  const frac = all.slice(all.length - 17).replace(/0+$/, "");
  const digits = frac.length > 0 ? `${intPart}.${frac}` : intPart;
  return v.neg && digits !== "0" ? "-" + digits : digits;
}

/**
 * The string HINCRBYFLOAT / INCRBYFLOAT store when adding `incr` to `current` (undefined: the
 * field or key is missing, i.e. 0), computed in long double like Redis. Throws Redis' errors:
 * "value is not a valid float" (bad increment), "value is NaN or Infinity" (infinite
 * increment), `notFloatMessage` (current value is not a float), "increment would produce NaN or
 * Infinity". The increment is checked before the current value, as Redis does.
 */
export function incrByFloatLongDouble(
  current: string | undefined,
  incr: string,
  notFloatMessage = "hash value is not a float",
): string {
  const inc = checkFloatIncrement(incr);
  let cur: LongDoubleValue = { neg: false, m: 0n, e: 0 };
  if (current !== undefined) {
    const parsed = parseLongDouble(current);
    if (parsed === undefined) throw new CommandError(notFloatMessage);
    cur = parsed;
  }
  if (typeof cur === "string") throw new CommandError("increment would produce NaN or Infinity");
  const sum = addLongDouble(cur, inc);
  if (sum === undefined) throw new CommandError("increment would produce NaN or Infinity");
  return formatLongDouble(sum);
}

/** Parses a float increment: "value is not a valid float" / "value is NaN or Infinity". */
function checkFloatIncrement(incr: string): LongDouble {
  const inc = parseLongDouble(incr);
  if (inc === undefined) throw notFloatError();
  if (typeof inc === "string") throw new CommandError("value is NaN or Infinity");
  return inc;
}

// ---------------------------------------------------------------------------------------------

const ONE_KEY = { firstKey: 1, lastKey: 1, step: 1 } as const;

function wrongArity(name: string): CommandError {
  return new CommandError(`wrong number of arguments for '${name}' command`);
}

/** HSET / HMSET body: sets the pairs, returns how many fields were new. */
function setPairs(ctx: CommandContext, args: string[]): number {
  const key = args[1]!;
  let h = ctx.db.getTyped(key, "hash");
  if (h === undefined) {
    h = new Map();
    ctx.db.set(key, { type: "hash", value: h });
  }
  const before = h.size;
  for (let i = 2; i < args.length; i += 2) h.set(args[i]!, args[i + 1]!);
  return h.size - before;
}

/** Picks `count` distinct random indexes of [0, size) (partial Fisher-Yates). */
function distinctIndexes(size: number, count: number, random: () => number): number[] {
  const idx = Array.from({ length: size }, (_, i) => i);
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (size - i));
    const t = idx[i]!;
    idx[i] = idx[j]!;
    idx[j] = t;
  }
  idx.length = count;
  return idx;
}

function writePairsFlat(
  out: ReplySink,
  fields: string[],
  h: Map<string, string>,
  withValues: boolean,
) {
  if (withValues && out.proto === 2) out.array(fields.length * 2);
  else out.array(fields.length);
  for (const f of fields) {
    if (withValues) {
      if (out.proto === 3) out.array(2);
      out.bulk(f);
      out.bulk(h.get(f)!);
    } else {
      out.bulk(f);
    }
  }
}

/** HRANDFIELD counts Redis would try to serve; beyond that the reply could not be built. */
const MAX_RANDFIELD_REPLY = 1 << 26;

export const hashCommands: CommandDef[] = [
  {
    name: "hset",
    arity: -4,
    flags: ["write", "denyoom", "fast"],
    ...ONE_KEY,
    handler(ctx, args, out) {
      if ((args.length & 1) === 1) throw wrongArity("hset");
      const added = setPairs(ctx, args);
      ctx.propagate(args);
      out.int(added);
    },
  },
  {
    name: "hmset",
    arity: -4,
    flags: ["write", "denyoom", "fast"],
    ...ONE_KEY,
    handler(ctx, args, out) {
      if ((args.length & 1) === 1) throw wrongArity("hmset");
      setPairs(ctx, args);
      ctx.propagate(args);
      out.simple("OK");
    },
  },
  {
    name: "hsetnx",
    arity: 4,
    flags: ["write", "denyoom", "fast"],
    ...ONE_KEY,
    handler(ctx, args, out) {
      const key = args[1]!;
      const field = args[2]!;
      const h = ctx.db.getTyped(key, "hash");
      if (h === undefined) {
        ctx.db.set(key, { type: "hash", value: new Map([[field, args[3]!]]) });
      } else if (h.has(field)) {
        out.int(0);
        return;
      } else {
        h.set(field, args[3]!);
      }
      ctx.propagate(args);
      out.int(1);
    },
  },
  {
    name: "hget",
    arity: 3,
    flags: ["readonly", "fast"],
    ...ONE_KEY,
    handler(ctx, args, out) {
      const v = ctx.db.getTyped(args[1]!, "hash")?.get(args[2]!);
      if (v === undefined) out.nullBulk();
      else out.bulk(v);
    },
  },
  {
    name: "hmget",
    arity: -3,
    flags: ["readonly", "fast"],
    ...ONE_KEY,
    handler(ctx, args, out) {
      const h = ctx.db.getTyped(args[1]!, "hash");
      out.array(args.length - 2);
      for (let i = 2; i < args.length; i++) {
        const v = h?.get(args[i]!);
        if (v === undefined) out.nullBulk();
        else out.bulk(v);
      }
    },
  },
  {
    name: "hdel",
    arity: -3,
    flags: ["write", "fast"],
    ...ONE_KEY,
    handler(ctx, args, out) {
      const key = args[1]!;
      const h = ctx.db.getTyped(key, "hash");
      let n = 0;
      if (h !== undefined) {
        for (let i = 2; i < args.length; i++) if (h.delete(args[i]!)) n++;
        if (n > 0) {
          if (h.size === 0) ctx.db.delete(key);
          ctx.propagate(args);
        }
      }
      out.int(n);
    },
  },
  {
    name: "hexists",
    arity: 3,
    flags: ["readonly", "fast"],
    ...ONE_KEY,
    handler(ctx, args, out) {
      out.int(ctx.db.getTyped(args[1]!, "hash")?.has(args[2]!) ? 1 : 0);
    },
  },
  {
    name: "hlen",
    arity: 2,
    flags: ["readonly", "fast"],
    ...ONE_KEY,
    handler(ctx, args, out) {
      out.int(ctx.db.getTyped(args[1]!, "hash")?.size ?? 0);
    },
  },
  {
    name: "hstrlen",
    arity: 3,
    flags: ["readonly", "fast"],
    ...ONE_KEY,
    handler(ctx, args, out) {
      out.int(ctx.db.getTyped(args[1]!, "hash")?.get(args[2]!)?.length ?? 0);
    },
  },
  {
    name: "hkeys",
    arity: 2,
    flags: ["readonly"],
    ...ONE_KEY,
    handler(ctx, args, out) {
      const h = ctx.db.getTyped(args[1]!, "hash");
      if (h === undefined) return out.array(0);
      out.array(h.size);
      for (const f of h.keys()) out.bulk(f);
    },
  },
  {
    name: "hvals",
    arity: 2,
    flags: ["readonly"],
    ...ONE_KEY,
    handler(ctx, args, out) {
      const h = ctx.db.getTyped(args[1]!, "hash");
      if (h === undefined) return out.array(0);
      out.array(h.size);
      for (const v of h.values()) out.bulk(v);
    },
  },
  {
    name: "hgetall",
    arity: 2,
    flags: ["readonly"],
    ...ONE_KEY,
    handler(ctx, args, out) {
      const h = ctx.db.getTyped(args[1]!, "hash");
      if (h === undefined) return out.map(0);
      out.map(h.size);
      for (const [f, v] of h) {
        out.bulk(f);
        out.bulk(v);
      }
    },
  },
  {
    name: "hincrby",
    arity: 4,
    flags: ["write", "denyoom", "fast"],
    ...ONE_KEY,
    handler(ctx, args, out) {
      const incr = tryParseBigInt(args[3]!);
      if (incr === undefined) throw notIntegerError();
      const key = args[1]!;
      const field = args[2]!;
      const h = ctx.db.getTyped(key, "hash");
      let value = 0n;
      const old = h?.get(field);
      if (old !== undefined) {
        const v = tryParseBigInt(old);
        if (v === undefined) throw new CommandError("hash value is not an integer");
        value = v;
      }
      if (
        (incr < 0n && value < 0n && incr < LLONG_MIN - value) ||
        (incr > 0n && value > 0n && incr > LLONG_MAX - value)
      ) {
        throw new CommandError("increment or decrement would overflow");
      }
      value += incr;
      const s = value.toString();
      if (h === undefined) ctx.db.set(key, { type: "hash", value: new Map([[field, s]]) });
      else h.set(field, s);
      ctx.propagate(args);
      out.int(value);
    },
  },
  {
    name: "hincrbyfloat",
    arity: 4,
    flags: ["write", "denyoom", "fast"],
    ...ONE_KEY,
    handler(ctx, args, out) {
      checkFloatIncrement(args[3]!);
      const key = args[1]!;
      const field = args[2]!;
      const h = ctx.db.getTyped(key, "hash");
      const s = incrByFloatLongDouble(h?.get(field), args[3]!);
      if (h === undefined) ctx.db.set(key, { type: "hash", value: new Map([[field, s]]) });
      else h.set(field, s);
      ctx.propagate(["HSET", key, field, s]);
      out.bulk(s);
    },
  },
  {
    name: "hrandfield",
    arity: -2,
    flags: ["readonly"],
    ...ONE_KEY,
    handler(ctx, args, out) {
      const key = args[1]!;
      const random = ctx.ks.random;
      if (args.length === 2) {
        const h = ctx.db.getTyped(key, "hash");
        if (h === undefined) return out.nullBulk();
        const target = Math.floor(random() * h.size);
        let i = 0;
        for (const f of h.keys()) {
          if (i++ === target) return out.bulk(f);
        }
        return out.nullBulk(); // not reached: the hash is never empty
      }
      const l = tryParseBigInt(args[2]!);
      if (l === undefined) throw notIntegerError();
      if (l === LLONG_MIN) {
        throw new CommandError(
          "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        );
      }
      let withValues = false;
      if (args.length > 4 || (args.length === 4 && !isOpt(args[3]!, "WITHVALUES"))) {
        throw syntaxError();
      } else if (args.length === 4) {
        withValues = true;
        if (l < -(LLONG_MAX / 2n) || l > LLONG_MAX / 2n) {
          throw new CommandError("value is out of range");
        }
      }
      const h = ctx.db.getTyped(key, "hash");
      if (h === undefined || l === 0n) return out.array(0);
      const size = h.size;
      const unique = l > 0n;
      const absCount = unique ? l : -l;
      if (!unique && absCount > BigInt(MAX_RANDFIELD_REPLY)) {
        throw new CommandError("value is out of range");
      }
      const count = Number(absCount);
      const fields = Array.from(h.keys());
      let picked: string[];
      if (!unique) {
        picked = new Array<string>(count);
        for (let i = 0; i < count; i++) picked[i] = fields[Math.floor(random() * size)]!;
      } else if (count >= size) {
        picked = fields;
      } else {
        picked = distinctIndexes(size, count, random).map((i) => fields[i]!);
      }
      writePairsFlat(out, picked, h, withValues);
    },
  },
  {
    name: "hscan",
    arity: -3,
    flags: ["readonly"],
    ...ONE_KEY,
    handler(ctx, args, out) {
      const cursor = parseScanCursor(args[2]!);
      const h = ctx.db.getTyped(args[1]!, "hash");
      if (h === undefined) return writeEmptyScan(out);
      const opts = parseScanOptions(args, 3, false);
      const step = scanCollection<string>(
        {
          owner: h,
          iterate: () => h.keys(),
          alive: (f) => h.has(f),
          whole: hashIsListpack(h),
        },
        cursor,
        opts.count,
      );
      let fields = step.items;
      const match = opts.match;
      if (match !== undefined) fields = fields.filter((f) => globMatch(match, f));
      out.array(2);
      out.bulk(String(step.cursor));
      out.array(fields.length * 2);
      for (const f of fields) {
        out.bulk(f);
        out.bulk(h.get(f)!);
      }
    },
  },
];
