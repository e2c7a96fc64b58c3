/**
 * Command sequences for differential tests: each sequence runs from an empty database (FLUSHALL
 * first) against a real redis-server and against Tessera, and every reply must match.
 */

/** How a step's replies are compared. */
export type Compare =
  /** Replies must be identical (default). */
  | "exact"
  /** Arrays compared as multisets (SMEMBERS, HKEYS, KEYS...). */
  | "unordered"
  /** Only the shape: same kind of reply, same length for arrays (random results). */
  | "shape";

/** One command, optionally with a comparison mode. */
export type Step = string[] | { cmd: string[]; compare: Compare };

/** A named sequence of steps. */
export interface Sequence {
  name: string;
  steps: Step[];
}
