/**
 * How command handlers produce replies.
 *
 * Handlers write to a {@link ReplySink} instead of returning values: the server's sink encodes
 * straight to RESP bytes (no intermediate objects on the hot path), while {@link ValueSink}
 * builds plain JS values for the in-process engine and for tests. The sink knows the protocol
 * (2 or 3) so a handler asks for a map or a double and the sink picks the shape.
 */

/** A RESP error reply as a value (returned, not thrown, by decoders). */
export class ReplyError extends Error {
  /** The error prefix, e.g. `ERR`, `WRONGTYPE`. */
  readonly code: string;
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
 * Formats a double the way Redis 7 does in replies (shortest round-trip form, `inf`/`-inf`).
 */
export function formatDouble(d: number): string {
  if (d === Infinity) return "inf";
  if (d === -Infinity) return "-inf";
  if (Number.isNaN(d)) return "nan";
  if (Number.isInteger(d) && Math.abs(d) < 1e17) return d.toFixed(0) === "-0" ? "-0" : String(d);
  const s = String(d);
  // JS writes 1e+21 / 1.5e-7 like %.17g would; keep as is.
  return s;
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
