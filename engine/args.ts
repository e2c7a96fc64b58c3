/** Argument parsing with Redis' strictness (string2ll / strtold rules). */
import { CommandError, notFloatError, notIntegerError } from "./errors.ts";

const INT_RE = /^(0|-?[1-9][0-9]*)$/;
const MAX = 9223372036854775807n;
const MIN = -9223372036854775808n;

/** Parses a 64-bit signed integer as Redis does; undefined when invalid or out of range. */
export function tryParseInt(s: string): number | undefined {
  if (s.length === 0 || s.length > 20 || !INT_RE.test(s)) return undefined;
  const n = Number(s);
  if (Number.isSafeInteger(n)) return n;
  const b = BigInt(s);
  if (b > MAX || b < MIN) return undefined;
  return n; // beyond 2^53: precision is lost, callers that care use tryParseBigInt
}

/** Like {@link tryParseInt} but exact over the whole 64-bit range. */
export function tryParseBigInt(s: string): bigint | undefined {
  if (s.length === 0 || s.length > 20 || !INT_RE.test(s)) return undefined;
  const b = BigInt(s);
  if (b > MAX || b < MIN) return undefined;
  return b;
}

/** Parses an integer argument or throws "value is not an integer or out of range". */
export function parseInt64(s: string): number {
  const n = tryParseInt(s);
  if (n === undefined) throw notIntegerError();
  return n;
}

/** Parses an integer argument that must be >= 0 ("... must be positive" variants are per command). */
export function parseNonNegative(
  s: string,
  message = "value is out of range, must be positive",
): number {
  const n = parseInt64(s);
  if (n < 0) throw new CommandError(message);
  return n;
}

const FLOAT_RE = /^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf|infinity)$/i;

/** Parses a double as Redis' strtold-based parsing does (no spaces, `inf` allowed, no NaN). */
export function tryParseFloat(s: string): number | undefined {
  if (s.length === 0 || !FLOAT_RE.test(s)) return undefined;
  const lower = s.toLowerCase();
  if (lower.endsWith("inf") || lower.endsWith("infinity")) {
    return lower.startsWith("-") ? -Infinity : Infinity;
  }
  const n = Number(s);
  return Number.isNaN(n) ? undefined : n;
}

/** Parses a float argument or throws "value is not a valid float". */
export function parseFloatArg(s: string): number {
  const n = tryParseFloat(s);
  if (n === undefined) throw notFloatError();
  return n;
}

/** True when `a` equals `b` ignoring ASCII case (option keywords). */
export function isOpt(a: string, b: string): boolean {
  return a.length === b.length && a.toUpperCase() === b;
}
