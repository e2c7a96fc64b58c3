/**
 * String and bitmap commands: GET/SET and friends, counters, ranges, bits.
 *
 * Values are latin1 strings (one char per byte). Integer counters take a number-only fast path
 * and fall back to BigInt only near the 64-bit limits; INCRBYFLOAT emulates the x87 80-bit long
 * double arithmetic Redis uses (strtold, `+`, `%.17Lf`) with exact BigInt rationals so its
 * replies match Redis digit for digit.
 */
import type { CommandContext, CommandDef } from "../command.ts";
import type { Entry } from "../keyspace.ts";
import type { ReplySink } from "../reply.ts";
import { tryParseBigInt, tryParseInt } from "../args.ts";
import {
  CommandError,
  notFloatError,
  notIntegerError,
  syntaxError,
  WrongTypeError,
} from "../errors.ts";

type StringEntry = Extract<Entry, { type: "string" }>;

const LLONG_MAX = 9223372036854775807n;
const LLONG_MIN = -9223372036854775808n;
/** Redis' default proto-max-bulk-len (512MB): the largest string value. */
const MAX_STRING = 512 * 1024 * 1024;
/** Longest string V8 can hold; bigger results are refused like Redis' own size limit. */
const MAX_JS_STRING = 2 ** 29 - 24;
const ERR_STRING_SIZE = "string exceeds maximum allowed size (proto-max-bulk-len)";
const ERR_BIT_OFFSET = "bit offset is not an integer or out of range";
const ERR_BIT_VALUE = "bit is not an integer or out of range";

// ---------------------------------------------------------------------------------------------
// Integer parsing (Redis' string2ll: no "+", no leading zeros, no "-0").

/** A canonical integer of at most 15 digits as a number, without regex or allocation. */
function smallInt(s: string): number | undefined {
  const len = s.length;
  if (len === 0) return undefined;
  let i = 0;
  const neg = s.charCodeAt(0) === 45;
  if (neg) i = 1;
  if (len - i > 15 || len === i) return undefined;
  let c = s.charCodeAt(i);
  if (c === 48) return len === 1 ? 0 : undefined;
  let n = 0;
  for (; i < len; i++) {
    c = s.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
    n = n * 10 + (c - 48);
  }
  return neg ? -n : n;
}

/** Integer argument or "value is not an integer or out of range". */
function intArg(s: string): number {
  const n = tryParseInt(s);
  if (n === undefined) throw notIntegerError();
  return n;
}

// ---------------------------------------------------------------------------------------------
// Expiry arguments (EX PX EXAT PXAT) as Redis' getExpireMillisecondsOrReply.

const F_NX = 1;
const F_XX = 2;
const F_GET = 4;
const F_KEEPTTL = 8;
const F_EX = 16;
const F_PX = 32;
const F_EXAT = 64;
const F_PXAT = 128;
const F_PERSIST = 256;
const F_EXPIRE = F_EX | F_PX | F_EXAT | F_PXAT;

function invalidExpire(cmd: string): CommandError {
  return new CommandError(`invalid expire time in '${cmd}' command`);
}

/**
 * Absolute expiry in ms, as an exact decimal string, for an expiry argument `raw` of kind
 * `unit` (one of the F_EX.. flags). Throws Redis' errors for bad or overflowing values.
 */
function expireAtMs(ctx: CommandContext, raw: string, unit: number, cmd: string): string {
  const n = tryParseInt(raw);
  if (n === undefined) throw notIntegerError();
  if (n <= 0) throw invalidExpire(cmd);
  const seconds = unit === F_EX || unit === F_EXAT;
  const relative = unit === F_EX || unit === F_PX;
  if (Number.isSafeInteger(n)) {
    let ms = seconds ? n * 1000 : n;
    if (relative) ms += ctx.now();
    if (Number.isSafeInteger(ms)) return String(ms);
  }
  // Exact 64-bit arithmetic for huge values (overflow is an error, as in Redis).
  let b = BigInt(raw);
  if (seconds) {
    if (b > LLONG_MAX / 1000n) throw invalidExpire(cmd);
    b *= 1000n;
  }
  if (relative) b += BigInt(ctx.now());
  if (b > LLONG_MAX) throw invalidExpire(cmd);
  return String(b);
}

interface ExtendedArgs {
  flags: number;
  /** Index of the expiry value in args, 0 when none. */
  expireAt: number;
}

/**
 * Parses SET (isSet) or GETEX options from `args[start..]` with Redis' rules: repeating an option
 * is fine, conflicting ones are a syntax error.
 */
function parseExtended(args: string[], start: number, isSet: boolean): ExtendedArgs {
  let flags = 0;
  let expireAt = 0;
  for (let j = start; j < args.length; j++) {
    const opt = args[j]!.toUpperCase();
    const hasNext = j + 1 < args.length;
    if (opt === "NX" && isSet && !(flags & F_XX)) flags |= F_NX;
    else if (opt === "XX" && isSet && !(flags & F_NX)) flags |= F_XX;
    else if (opt === "GET" && isSet) flags |= F_GET;
    else if (opt === "KEEPTTL" && isSet && !(flags & (F_PERSIST | F_EXPIRE))) flags |= F_KEEPTTL;
    else if (opt === "PERSIST" && !isSet && !(flags & (F_KEEPTTL | F_EXPIRE))) flags |= F_PERSIST;
    else {
      let unit = 0;
      if (opt === "EX") unit = F_EX;
      else if (opt === "PX") unit = F_PX;
      else if (opt === "EXAT") unit = F_EXAT;
      else if (opt === "PXAT") unit = F_PXAT;
      if (unit === 0 || !hasNext || (flags & (F_KEEPTTL | F_PERSIST | (F_EXPIRE & ~unit)))) {
        throw syntaxError();
      }
      flags |= unit;
      expireAt = ++j;
    }
  }
  return { flags, expireAt };
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/** The string under `key` for a write that keeps the key's TTL; WRONGTYPE for other types. */
function stringEntry(ctx: CommandContext, key: string): StringEntry | undefined {
  const e = ctx.db.get(key);
  if (e === undefined) return undefined;
  if (e.type !== "string") throw new WrongTypeError();
  return e;
}

function bigToReply(b: bigint): number | bigint {
  return b >= -9007199254740991n && b <= 9007199254740991n ? Number(b) : b;
}

/** INCR/DECR/INCRBY/DECRBY with `delta`; number math when it is exact, BigInt otherwise. */
function incrBy(ctx: CommandContext, args: string[], out: ReplySink, delta: number | bigint): void {
  const key = args[1]!;
  const e = stringEntry(ctx, key);
  let cur: number | bigint = 0;
  if (e !== undefined) {
    const small = smallInt(e.value);
    if (small !== undefined) cur = small;
    else {
      const big = tryParseBigInt(e.value);
      if (big === undefined) throw notIntegerError();
      cur = big;
    }
  }
  let res: number | bigint = 0;
  let exact = false;
  if (typeof cur === "number" && typeof delta === "number") {
    res = cur + delta;
    exact = Number.isSafeInteger(res);
  }
  if (!exact) {
    const sum = BigInt(cur) + BigInt(delta);
    if (sum > LLONG_MAX || sum < LLONG_MIN) {
      throw new CommandError("increment or decrement would overflow");
    }
    res = bigToReply(sum);
  }
  const str = String(res);
  if (e !== undefined) e.value = str;
  else ctx.db.set(key, { type: "string", value: str });
  ctx.propagate(args);
  out.int(res);
}

/** An INCRBY/DECRBY increment: a number when small, a bigint otherwise. */
function deltaArg(s: string): number | bigint {
  const small = smallInt(s);
  if (small !== undefined) return small;
  const big = tryParseBigInt(s);
  if (big === undefined) throw notIntegerError();
  return bigToReply(big);
}

/** Bit offset for SETBIT/GETBIT: 0 .. 2^32-1. */
function bitOffsetArg(s: string): number {
  const n = tryParseInt(s);
  if (n === undefined || n < 0 || n >= MAX_STRING * 8) throw new CommandError(ERR_BIT_OFFSET);
  return n;
}

/** Set bits of every byte value. */
const POPCOUNT = new Uint8Array(256);
for (let i = 1; i < 256; i++) POPCOUNT[i] = (i & 1) + POPCOUNT[i >> 1]!;

function popcount(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i <= to; i++) n += POPCOUNT[s.charCodeAt(i) & 0xff]!;
  return n;
}

function setGeneric(
  ctx: CommandContext,
  key: string,
  value: string,
  atMs: string | undefined,
  keepTtl: boolean,
): void {
  const db = ctx.db;
  db.set(key, { type: "string", value }, keepTtl);
  if (atMs !== undefined) {
    db.setExpireAt(key, Number(atMs));
    ctx.propagate(["SET", key, value, "PXAT", atMs]);
  } else if (keepTtl) {
    ctx.propagate(["SET", key, value, "KEEPTTL"]);
  } else {
    ctx.propagate(["SET", key, value]);
  }
}

// ---------------------------------------------------------------------------------------------
// 80-bit long double emulation for INCRBYFLOAT.

/** A finite long double: exactly m * 2^e with |m| < 2^64. */
interface LongDouble {
  m: bigint;
  e: number;
}

const LD_MIN_E = -16445; // exponent of the smallest subnormal
const LD_MAX_E = 16320; // (2^64-1) * 2^16320 is the largest finite value
const TWO63 = 1n << 63n;
const TWO64 = 1n << 64n;
const LD_ZERO: LongDouble = { m: 0n, e: 0 };
const MAX_LONG_DOUBLE_CHARS = 5 * 1024;

function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

/**
 * Rounds the positive rational num/den to the long double grid, half to even. Returns null
 * on overflow; a zero `m` when it underflows to zero.
 */
function roundLD(neg: boolean, num: bigint, den: bigint): LongDouble | null {
  let e = bitLength(num) - bitLength(den) - 64;
  const quotient = (exp: number): bigint =>
    exp >= 0 ? num / (den << BigInt(exp)) : (num << BigInt(-exp)) / den;
  let q = quotient(e);
  if (q >= TWO64) q = quotient(++e);
  else if (q < TWO63) q = quotient(--e);
  if (e < LD_MIN_E) {
    e = LD_MIN_E;
    q = quotient(e);
  }
  // Twice the remainder against the divisor decides the rounding.
  let r2: bigint;
  let d: bigint;
  if (e >= 0) {
    d = den << BigInt(e);
    r2 = (num - q * d) * 2n;
  } else {
    d = den;
    r2 = ((num << BigInt(-e)) - q * den) * 2n;
  }
  if (r2 > d || (r2 === d && (q & 1n) === 1n)) q++;
  if (q === TWO64) {
    q = TWO63;
    e++;
  }
  if (e > LD_MAX_E) return null;
  if (q === 0n) return LD_ZERO;
  return { m: neg ? -q : q, e };
}

/** value = mant * base^exp exactly (base 10 or 2), rounded to a long double. */
function scaledToLD(neg: boolean, mant: bigint, exp: number, base: 2 | 10): LongDouble | null {
  if (exp >= 0) return roundLD(neg, mant * BigInt(base) ** BigInt(exp), 1n);
  return roundLD(neg, mant, BigInt(base) ** BigInt(-exp));
}

const LD_DEC_RE = /^([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?$/;
const LD_HEX_RE = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?[0-9]+))?$/;
const LD_INF_RE = /^[+-]?(inf|infinity)$/i;

/**
 * Parses `s` as Redis' string2ld (glibc strtold, whole string, no leading space, no NaN, no
 * overflow or underflow to zero). Returns Infinity for inf, undefined when invalid.
 */
function parseLongDouble(s: string): LongDouble | number | undefined {
  if (s.length === 0 || s.length >= MAX_LONG_DOUBLE_CHARS) return undefined;
  const hex = LD_HEX_RE.exec(s);
  const m = hex ?? LD_DEC_RE.exec(s);
  if (m === null) {
    if (LD_INF_RE.test(s)) return s.charCodeAt(0) === 45 ? -Infinity : Infinity;
    return undefined;
  }
  const neg = m[1] === "-";
  const intPart = m[2]!;
  const frac = m[3] ?? "";
  if (intPart.length + frac.length === 0) return undefined;
  const expArg = m[4] === undefined ? 0 : Number(m[4]);
  const digits = (intPart + frac).replace(/^0+/, "");
  if (digits.length === 0) return LD_ZERO;
  let r: LongDouble | null;
  if (hex !== null) {
    const exp = expArg - 4 * frac.length;
    const magnitude = digits.length * 4 + exp; // log2 of the value, roughly
    if (magnitude > 16400) return undefined;
    if (magnitude < -16600) return undefined;
    r = scaledToLD(neg, BigInt("0x" + digits), exp, 2);
  } else {
    const exp = expArg - frac.length;
    const magnitude = digits.length + exp; // value < 10^magnitude
    if (magnitude > 4940) return undefined;
    if (magnitude < -4960) return undefined;
    r = scaledToLD(neg, BigInt(digits), exp, 10);
  }
  if (r === null || r.m === 0n) return undefined; // ERANGE: overflow or underflow to zero
  return r;
}

/** a + b rounded to a long double; null on overflow. */
function addLD(a: LongDouble, b: LongDouble): LongDouble | null {
  if (a.m === 0n) return b;
  if (b.m === 0n) return a;
  const emin = Math.min(a.e, b.e);
  const sum = (a.m << BigInt(a.e - emin)) + (b.m << BigInt(b.e - emin));
  if (sum === 0n) return LD_ZERO;
  const neg = sum < 0n;
  const abs = neg ? -sum : sum;
  return emin >= 0 ? roundLD(neg, abs << BigInt(emin), 1n) : roundLD(neg, abs, 1n << BigInt(-emin));
}

const TEN17 = 10n ** 17n;

/** `%.17Lf` with trailing zeros (and a bare dot) removed, "-0" written "0": Redis' LD_STR_HUMAN. */
function formatLongDouble(v: LongDouble): string {
  const neg = v.m < 0n;
  const abs = neg ? -v.m : v.m;
  let q: bigint;
  if (v.e >= 0) {
    q = (abs << BigInt(v.e)) * TEN17;
  } else {
    const shift = BigInt(-v.e);
    const n = abs * TEN17;
    q = n >> shift;
    const r2 = (n - (q << shift)) * 2n;
    const d = 1n << shift;
    if (r2 > d || (r2 === d && (q & 1n) === 1n)) q++;
  }
  const intPart = (q / TEN17).toString();
  const frac = (q % TEN17).toString().padStart(17, "0").replace(/0+$/, "");
  const body = frac.length === 0 ? intPart : `${intPart}.${frac}`;
  return neg && body !== "0" ? `-${body}` : body;
}

// ---------------------------------------------------------------------------------------------
// The commands.

const WRITE = ["write", "denyoom"] as const;
const WRITE_FAST = ["write", "denyoom", "fast"] as const;
const READ_FAST = ["readonly", "fast"] as const;

function singleKey(
  name: string,
  arity: number,
  flags: CommandDef["flags"],
  handler: CommandDef["handler"],
): CommandDef {
  return { name, arity, flags, firstKey: 1, lastKey: 1, step: 1, handler };
}

function getrange(ctx: CommandContext, args: string[], out: ReplySink): void {
  let start = intArg(args[2]!);
  let end = intArg(args[3]!);
  const s = ctx.db.getTyped(args[1]!, "string");
  if (s === undefined || (start < 0 && end < 0 && start > end)) {
    out.bulk("");
    return;
  }
  const len = s.length;
  if (start < 0) start = len + start;
  if (end < 0) end = len + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= len) end = len - 1;
  if (start > end || len === 0) out.bulk("");
  else out.bulk(s.slice(start, end + 1));
}

function setexGeneric(
  ctx: CommandContext,
  args: string[],
  out: ReplySink,
  unit: number,
  cmd: string,
): void {
  const at = expireAtMs(ctx, args[2]!, unit, cmd);
  setGeneric(ctx, args[1]!, args[3]!, at, false);
  out.simple("OK");
}

export const stringCommands: CommandDef[] = [
  singleKey("get", 2, READ_FAST, (ctx, args, out) => {
    const v = ctx.db.getTyped(args[1]!, "string");
    if (v === undefined) out.nullBulk();
    else out.bulk(v);
  }),

  singleKey("set", -3, WRITE, (ctx, args, out) => {
    const key = args[1]!;
    const value = args[2]!;
    if (args.length === 3) {
      ctx.db.set(key, { type: "string", value });
      ctx.propagate(args);
      out.simple("OK");
      return;
    }
    const { flags, expireAt } = parseExtended(args, 3, true);
    const at = expireAt === 0
      ? undefined
      : expireAtMs(ctx, args[expireAt]!, flags & F_EXPIRE, "set");
    const old = ctx.db.get(key);
    const get = (flags & F_GET) !== 0;
    let oldValue: string | undefined;
    if (get && old !== undefined) {
      if (old.type !== "string") throw new WrongTypeError();
      oldValue = old.value;
    }
    const found = old !== undefined;
    if (((flags & F_NX) && found) || ((flags & F_XX) && !found)) {
      if (oldValue !== undefined) out.bulk(oldValue);
      else out.nullBulk();
      return;
    }
    setGeneric(ctx, key, value, at, (flags & F_KEEPTTL) !== 0);
    if (!get) out.simple("OK");
    else if (oldValue === undefined) out.nullBulk();
    else out.bulk(oldValue);
  }),

  singleKey("setnx", 3, WRITE_FAST, (ctx, args, out) => {
    const key = args[1]!;
    if (ctx.db.has(key)) {
      out.int(0);
      return;
    }
    setGeneric(ctx, key, args[2]!, undefined, false);
    out.int(1);
  }),

  singleKey("setex", 4, WRITE, (ctx, args, out) => setexGeneric(ctx, args, out, F_EX, "setex")),
  singleKey("psetex", 4, WRITE, (ctx, args, out) => setexGeneric(ctx, args, out, F_PX, "psetex")),

  {
    name: "mget",
    arity: -2,
    flags: READ_FAST,
    firstKey: 1,
    lastKey: -1,
    step: 1,
    handler(ctx, args, out) {
      const db = ctx.db;
      out.array(args.length - 1);
      for (let i = 1; i < args.length; i++) {
        const e = db.get(args[i]!);
        if (e !== undefined && e.type === "string") out.bulk(e.value);
        else out.nullBulk();
      }
    },
  },

  {
    name: "mset",
    arity: -3,
    flags: WRITE,
    firstKey: 1,
    lastKey: -1,
    step: 2,
    handler(ctx, args, out) {
      if (args.length % 2 === 0) {
        throw new CommandError("wrong number of arguments for 'mset' command");
      }
      const db = ctx.db;
      for (let i = 1; i < args.length; i += 2) {
        db.set(args[i]!, { type: "string", value: args[i + 1]! });
      }
      ctx.propagate(args);
      out.simple("OK");
    },
  },

  {
    name: "msetnx",
    arity: -3,
    flags: WRITE,
    firstKey: 1,
    lastKey: -1,
    step: 2,
    handler(ctx, args, out) {
      if (args.length % 2 === 0) {
        throw new CommandError("wrong number of arguments for 'msetnx' command");
      }
      const db = ctx.db;
      for (let i = 1; i < args.length; i += 2) {
        if (db.has(args[i]!)) {
          out.int(0);
          return;
        }
      }
      for (let i = 1; i < args.length; i += 2) {
        db.set(args[i]!, { type: "string", value: args[i + 1]! });
      }
      ctx.propagate(["MSET", ...args.slice(1)]);
      out.int(1);
    },
  },

  singleKey("getset", 3, WRITE_FAST, (ctx, args, out) => {
    const key = args[1]!;
    const old = ctx.db.getTyped(key, "string");
    setGeneric(ctx, key, args[2]!, undefined, false);
    if (old === undefined) out.nullBulk();
    else out.bulk(old);
  }),

  singleKey("getdel", 2, ["write", "fast"], (ctx, args, out) => {
    const key = args[1]!;
    const v = ctx.db.getTyped(key, "string");
    if (v === undefined) {
      out.nullBulk();
      return;
    }
    ctx.db.delete(key);
    ctx.propagate(["DEL", key]);
    out.bulk(v);
  }),

  singleKey("getex", -2, ["write", "fast"], (ctx, args, out) => {
    const key = args[1]!;
    const { flags, expireAt } = parseExtended(args, 2, false);
    const db = ctx.db;
    const v = db.getTyped(key, "string");
    if (v === undefined) {
      out.nullBulk();
      return;
    }
    const at = expireAt === 0
      ? undefined
      : expireAtMs(ctx, args[expireAt]!, flags & F_EXPIRE, "getex");
    out.bulk(v);
    if (at !== undefined) {
      if ((flags & (F_EXAT | F_PXAT)) && Number(at) <= ctx.now()) {
        db.delete(key);
        ctx.propagate(["DEL", key]);
      } else {
        db.setExpireAt(key, Number(at));
        ctx.propagate(["PEXPIREAT", key, at]);
      }
    } else if ((flags & F_PERSIST) && db.persist(key)) {
      ctx.propagate(["PERSIST", key]);
    }
  }),

  singleKey("append", 3, WRITE_FAST, (ctx, args, out) => {
    const key = args[1]!;
    const add = args[2]!;
    const e = stringEntry(ctx, key);
    let len: number;
    if (e === undefined) {
      ctx.db.set(key, { type: "string", value: add });
      len = add.length;
    } else {
      len = e.value.length + add.length;
      if (len > MAX_STRING || len > MAX_JS_STRING) throw new CommandError(ERR_STRING_SIZE);
      e.value += add;
    }
    ctx.propagate(args);
    out.int(len);
  }),

  singleKey("strlen", 2, READ_FAST, (ctx, args, out) => {
    const v = ctx.db.getTyped(args[1]!, "string");
    out.int(v === undefined ? 0 : v.length);
  }),

  singleKey("getrange", 4, ["readonly"], getrange),
  singleKey("substr", 4, ["readonly"], getrange),

  singleKey("setrange", 4, WRITE, (ctx, args, out) => {
    const key = args[1]!;
    const offset = intArg(args[2]!);
    const value = args[3]!;
    if (offset < 0) throw new CommandError("offset is out of range");
    const e = stringEntry(ctx, key);
    if (value.length === 0) {
      out.int(e === undefined ? 0 : e.value.length);
      return;
    }
    const total = offset + value.length;
    if (total > MAX_STRING || total > MAX_JS_STRING) throw new CommandError(ERR_STRING_SIZE);
    const old = e === undefined ? "" : e.value;
    let next: string;
    if (offset >= old.length) next = old + "\0".repeat(offset - old.length) + value;
    else next = old.slice(0, offset) + value + old.slice(total);
    if (e === undefined) ctx.db.set(key, { type: "string", value: next });
    else e.value = next;
    ctx.propagate(args);
    out.int(next.length);
  }),

  singleKey("incr", 2, WRITE_FAST, (ctx, args, out) => incrBy(ctx, args, out, 1)),
  singleKey("decr", 2, WRITE_FAST, (ctx, args, out) => incrBy(ctx, args, out, -1)),
  singleKey("incrby", 3, WRITE_FAST, (ctx, args, out) => {
    incrBy(ctx, args, out, deltaArg(args[2]!));
  }),
  singleKey("decrby", 3, WRITE_FAST, (ctx, args, out) => {
    const d = deltaArg(args[2]!);
    if (typeof d === "bigint") {
      if (d === LLONG_MIN) throw new CommandError("decrement would overflow");
      incrBy(ctx, args, out, bigToReply(-d));
    } else {
      incrBy(ctx, args, out, -d);
    }
  }),

  singleKey("incrbyfloat", 3, WRITE_FAST, (ctx, args, out) => {
    const key = args[1]!;
    const e = stringEntry(ctx, key);
    const cur = e === undefined ? LD_ZERO : parseLongDouble(e.value);
    if (cur === undefined) throw notFloatError();
    const inc = parseLongDouble(args[2]!);
    if (inc === undefined) throw notFloatError();
    const sum = typeof cur === "number" || typeof inc === "number" ? null : addLD(cur, inc);
    if (sum === null) throw new CommandError("increment would produce NaN or Infinity");
    const str = formatLongDouble(sum);
    if (e === undefined) ctx.db.set(key, { type: "string", value: str });
    else e.value = str;
    ctx.propagate(["SET", key, str, "KEEPTTL"]);
    out.bulk(str);
  }),

  singleKey("setbit", 4, WRITE, (ctx, args, out) => {
    const key = args[1]!;
    const offset = bitOffsetArg(args[2]!);
    const on = tryParseInt(args[3]!);
    if (on !== 0 && on !== 1) throw new CommandError(ERR_BIT_VALUE);
    const byte = Math.floor(offset / 8);
    if (byte + 1 > MAX_JS_STRING) throw new CommandError(ERR_STRING_SIZE);
    const e = stringEntry(ctx, key);
    let s = e === undefined ? "" : e.value;
    const grown = byte >= s.length;
    if (grown) s += "\0".repeat(byte + 1 - s.length);
    const old = s.charCodeAt(byte) & 0xff;
    const mask = 1 << (7 - (offset & 7));
    const was = (old & mask) !== 0 ? 1 : 0;
    if (grown || was !== on) {
      const nb = on === 1 ? old | mask : old & ~mask;
      const next = s.slice(0, byte) + String.fromCharCode(nb) + s.slice(byte + 1);
      if (e === undefined) ctx.db.set(key, { type: "string", value: next });
      else e.value = next;
      ctx.propagate(args);
    }
    out.int(was);
  }),

  singleKey("getbit", 3, READ_FAST, (ctx, args, out) => {
    const offset = bitOffsetArg(args[2]!);
    const s = ctx.db.getTyped(args[1]!, "string");
    const byte = Math.floor(offset / 8);
    if (s === undefined || byte >= s.length) {
      out.int(0);
      return;
    }
    out.int((s.charCodeAt(byte) >> (7 - (offset & 7))) & 1);
  }),

  singleKey("bitcount", -2, ["readonly"], (ctx, args, out) => {
    const s = ctx.db.getTyped(args[1]!, "string");
    if (s === undefined) {
      out.int(0);
      return;
    }
    const len = s.length;
    let start: number;
    let end: number;
    let firstMask = 0;
    let lastMask = 0;
    if (args.length === 4 || args.length === 5) {
      start = intArg(args[2]!);
      end = intArg(args[3]!);
      if (start < 0 && end < 0 && start > end) {
        out.int(0);
        return;
      }
      let isBit = false;
      if (args.length === 5) {
        const unit = args[4]!.toUpperCase();
        if (unit === "BIT") isBit = true;
        else if (unit !== "BYTE") throw syntaxError();
      }
      const total = isBit ? len * 8 : len;
      if (start < 0) start = total + start;
      if (end < 0) end = total + end;
      if (start < 0) start = 0;
      if (end < 0) end = 0;
      if (end >= total) end = total - 1;
      if (isBit && start <= end) {
        firstMask = ~((1 << (8 - (start & 7))) - 1) & 0xff;
        lastMask = (1 << (7 - (end & 7))) - 1;
        start = Math.floor(start / 8);
        end = Math.floor(end / 8);
      }
    } else if (args.length === 2) {
      start = 0;
      end = len - 1;
    } else {
      throw syntaxError();
    }
    if (start > end) {
      out.int(0);
      return;
    }
    let n = popcount(s, start, end);
    n -= POPCOUNT[s.charCodeAt(start) & firstMask]!;
    n -= POPCOUNT[s.charCodeAt(end) & lastMask]!;
    out.int(n);
  }),
];
