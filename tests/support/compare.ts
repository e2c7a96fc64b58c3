/**
 * Reply comparison for differential tests.
 */
import { ReplyError, type ReplyValue } from "../../engine/reply.ts";
import type { Compare, Sequence, Step } from "../sequences/types.ts";

/** A stable text form of a reply, for diffs and multiset comparison. */
export function show(v: ReplyValue): string {
  if (v instanceof ReplyError) return `(error) ${v.message}`;
  if (v === null) return "(nil)";
  if (Array.isArray(v)) return `[${v.map(show).join(", ")}]`;
  if (v instanceof Map) return `{${[...v].map(([k, x]) => `${show(k)}: ${show(x)}`).join(", ")}}`;
  if (typeof v === "string") return JSON.stringify(v);
  return `${typeof v}:${String(v)}`;
}

function shape(v: ReplyValue): string {
  if (v instanceof ReplyError) return "error";
  if (v === null) return "nil";
  if (Array.isArray(v)) return `array(${v.length})`;
  if (v instanceof Map) return `map(${v.size})`;
  return typeof v;
}

/** True when `a` and `b` agree under `mode`. */
export function agree(a: ReplyValue, b: ReplyValue, mode: Compare): boolean {
  switch (mode) {
    case "exact":
      return show(a) === show(b);
    case "unordered": {
      if (Array.isArray(a) && Array.isArray(b)) {
        return JSON.stringify(a.map(show).sort()) === JSON.stringify(b.map(show).sort());
      }
      if (a instanceof Map && b instanceof Map) {
        return JSON.stringify([...a].map(([k, v]) => show(k) + show(v)).sort()) ===
          JSON.stringify([...b].map(([k, v]) => show(k) + show(v)).sort());
      }
      return show(a) === show(b);
    }
    case "shape":
      return shape(a) === shape(b);
  }
}

/** The command and comparison mode of a step. */
export function stepOf(s: Step): { cmd: string[]; compare: Compare } {
  return Array.isArray(s) ? { cmd: s, compare: "exact" } : s;
}

/** Something that answers commands. */
export interface Target {
  call(args: string[]): Promise<ReplyValue>;
}

/** Runs `seq` on both targets (after FLUSHALL) and returns the mismatches as readable lines. */
export async function runDifferential(
  seq: Sequence,
  expected: Target,
  actual: Target,
): Promise<string[]> {
  const problems: string[] = [];
  await expected.call(["FLUSHALL"]);
  await actual.call(["FLUSHALL"]);
  await expected.call(["SELECT", "0"]);
  await actual.call(["SELECT", "0"]);
  for (const [i, s] of seq.steps.entries()) {
    const { cmd, compare } = stepOf(s);
    const want = await expected.call(cmd);
    const got = await actual.call(cmd);
    if (!agree(want, got, compare)) {
      problems.push(
        `${seq.name} step ${i} ${JSON.stringify(cmd)}: redis ${show(want)} / tessera ${show(got)}`,
      );
    }
  }
  return problems;
}
