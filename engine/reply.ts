/**
 * How command handlers produce replies.
 *
 * Handlers write to a {@link ReplySink} instead of returning values: the server's sink encodes
 * straight to RESP bytes (no intermediate objects on the hot path), while {@link ValueSink}
 * builds plain JS values for the in-process engine and for tests. The sink knows the protocol
 * (2 or 3) so a handler asks for a map or a double and the sink picks the shape.
 */

/**
 * A RESP error reply as a value (returned, not thrown, by decoders and `Tessera.command`).
 *
 * @example
 * ```ts
 * import { ReplyError, Tessera } from "./mod.ts";
 * await using db = await Tessera.open();
 * await db.command("SET", "k", "v");
 * const r = await db.command("INCR", "k");
 * if (r instanceof ReplyError) console.log(r.code); // "ERR"
 * ```
 */
export class ReplyError extends Error {
  /** The error prefix, e.g. `ERR`, `WRONGTYPE`. */
  readonly code: string;
  /** `line` is the error line without the leading `-`, e.g. `ERR syntax error`. */
  constructor(line: string) {
    super(line);
    this.name = "ReplyError";
    const space = line.indexOf(" ");
    this.code = space === -1 ? line : line.slice(0, space);
  }
}

/**
 * A decoded reply. Bulk and simple strings are latin1 ("binary") strings, integers are numbers
 * (bigint past 2^53), RESP3 maps are `Map`, sets and pushes are arrays.
 *
 * @example
 * ```ts
 * import { type ReplyValue, Tessera } from "./mod.ts";
 * await using db = await Tessera.open();
 * await db.command("HSET", "h", "f", "v");
 * const all: ReplyValue = await db.command("HGETALL", "h"); // ["f", "v"]
 * ```
 */
export type ReplyValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | ReplyError
  | ReplyValue[]
  | Map<ReplyValue, ReplyValue>;

/** Where a command writes its reply. Aggregates are announced by count, then their items. */
export interface ReplySink {
  /** 2 or 3, as negotiated with HELLO. */
  readonly proto: 2 | 3;
  /** `+OK` style status. Must not contain CR or LF. */
  simple(s: string): void;
  /** An error line without the leading `-`, e.g. `ERR syntax error`. */
  error(line: string): void;
  int(n: number | bigint): void;
  /** A bulk string; `s` is a latin1 string (one char per byte). */
  bulk(s: string): void;
  /** RESP2 `$-1`, RESP3 `_`. */
  nullBulk(): void;
  /** RESP2 `*-1`, RESP3 `_`. */
  nullArray(): void;
  array(n: number): void;
  /** `n` key/value pairs follow (RESP2: a flat array of 2n items). */
  map(n: number): void;
  /** `n` items follow (RESP2: an array). */
  set(n: number): void;
  /** RESP3 double; RESP2 a bulk string formatted as Redis formats doubles. */
  double(d: number): void;
  /** RESP3 boolean; RESP2 integer 1/0. */
  bool(b: boolean): void;
  /** RESP3 verbatim text (`txt`); RESP2 bulk string. */
  verbatim(s: string): void;
  /** RESP3 push (`>`); RESP2 an array. */
  push(n: number): void;
}

/**
 * Formats a double the way Redis 7.0 does in replies (addReplyDouble): C's `%.17g` (17
 * significant digits, trailing zeros dropped, exponent form below 1e-4 and from 1e17), with
 * `inf`/`-inf`/`nan`. E.g. 1.5 → "1.5", 0.1 → "0.10000000000000001", 3 → "3", 1e20 → "1e+20",
 * 1e-7 → "9.9999999999999995e-08", -0 → "-0".
 */
export function formatDouble(d: number): string {
  if (Number.isInteger(d) && d <= 9007199254740992 && d >= -9007199254740992) {
    return d === 0 && 1 / d < 0 ? "-0" : String(d);
  }
  if (d === Infinity) return "inf";
  if (d === -Infinity) return "-inf";
  if (Number.isNaN(d)) return "nan";
  const neg = d < 0;
  const a = neg ? -d : d;
  // 17 significant digits, correctly rounded; JS breaks exact ties away from zero where printf
  // rounds half to even, so fix the (rare) exact ties up.
  const e = a.toExponential(16);
  const ei = e.indexOf("e");
  let digits = e[0]! + e.slice(2, ei);
  let exp = Number(e.slice(ei + 1));
  const wide = a.toExponential(17);
  if (wide.charCodeAt(wide.indexOf("e") - 1) === 53 /* 5 */) {
    const exact = a.toExponential(100);
    const xi = exact.indexOf("e");
    if (/^0*$/.test(exact.slice(19, xi))) {
      // Exactly halfway: round the 17 digits half to even.
      const truncated = exact[0]! + exact.slice(2, 18);
      if ((truncated.charCodeAt(16) - 48) % 2 === 0) {
        digits = truncated;
        exp = Number(exact.slice(xi + 1));
      }
    }
  }
  let end = digits.length;
  while (end > 1 && digits.charCodeAt(end - 1) === 48) end--;
  digits = digits.slice(0, end);
  let s: string;
  if (exp < -4 || exp >= 17) {
    const ax = exp < 0 ? -exp : exp;
    s = digits[0]! + (digits.length > 1 ? "." + digits.slice(1) : "") + (exp < 0 ? "e-" : "e+") +
      (ax < 10 ? "0" + ax : String(ax));
  } else if (exp >= 0) {
    s = digits.length <= exp + 1
      ? digits + "0".repeat(exp + 1 - digits.length)
      : digits.slice(0, exp + 1) + "." + digits.slice(exp + 1);
  } else {
    s = "0." + "0".repeat(-exp - 1) + digits;
  }
  return neg ? "-" + s : s;
}

interface Frame {
  items: ReplyValue[];
  remaining: number;
  kind: "array" | "map" | "set";
}

/** A sink that builds {@link ReplyValue}s; used by the in-process engine and tests. */
export class ValueSink implements ReplySink {
  readonly proto: 2 | 3;
  /** Completed top-level replies, in order. */
  readonly values: ReplyValue[] = [];
  #stack: Frame[] = [];

  constructor(proto: 2 | 3 = 2) {
    this.proto = proto;
  }

  #emit(v: ReplyValue): void {
    let value = v;
    for (;;) {
      const top = this.#stack[this.#stack.length - 1];
      if (top === undefined) {
        this.values.push(value);
        return;
      }
      top.items.push(value);
      top.remaining--;
      if (top.remaining > 0) return;
      this.#stack.pop();
      value = top.kind === "map" ? pairsToMap(top.items) : top.items;
    }
  }

  #open(kind: Frame["kind"], n: number): void {
    if (n === 0) {
      this.#emit(kind === "map" ? new Map() : []);
      return;
    }
    this.#stack.push({ items: [], remaining: n, kind });
  }

  /** Returns the single reply written so far and resets the sink. */
  take(): ReplyValue {
    if (this.#stack.length !== 0) throw new Error("reply is incomplete");
    if (this.values.length !== 1) {
      throw new Error(`expected exactly one reply, got ${this.values.length}`);
    }
    return this.values.pop()!;
  }

  /** Drops anything written after `mark` top-level values (used to replace a partial reply). */
  truncate(mark: number): void {
    this.#stack.length = 0;
    this.values.length = mark;
  }

  simple(s: string): void {
    this.#emit(s);
  }
  error(line: string): void {
    this.#emit(new ReplyError(line));
  }
  int(n: number | bigint): void {
    this.#emit(typeof n === "bigint" && n >= -(2n ** 53n) && n <= 2n ** 53n ? Number(n) : n);
  }
  bulk(s: string): void {
    this.#emit(s);
  }
  nullBulk(): void {
    this.#emit(null);
  }
  nullArray(): void {
    this.#emit(null);
  }
  array(n: number): void {
    this.#open("array", n);
  }
  map(n: number): void {
    if (this.proto === 3) this.#open("map", n * 2);
    else this.#open("array", n * 2);
  }
  set(n: number): void {
    this.#open("set", n);
  }
  double(d: number): void {
    this.#emit(this.proto === 3 ? d : formatDouble(d));
  }
  bool(b: boolean): void {
    this.#emit(this.proto === 3 ? b : b ? 1 : 0);
  }
  verbatim(s: string): void {
    this.#emit(s);
  }
  push(n: number): void {
    this.#open("array", n);
  }
}

function pairsToMap(items: ReplyValue[]): Map<ReplyValue, ReplyValue> {
  const m = new Map<ReplyValue, ReplyValue>();
  for (let i = 0; i + 1 < items.length; i += 2) m.set(items[i]!, items[i + 1]!);
  return m;
}
