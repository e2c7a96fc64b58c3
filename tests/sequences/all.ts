/** Every family's differential sequences. */
import type { Sequence } from "./types.ts";
import { stringSequences } from "./strings.ts";
import { keySequences } from "./keys.ts";
import { listSequences } from "./lists.ts";
import { setSequences } from "./sets.ts";
import { hashSequences } from "./hashes.ts";
import { zsetSequences } from "./zsets.ts";

export const allSequences: Record<string, Sequence[]> = {
  strings: stringSequences,
  keys: keySequences,
  lists: listSequences,
  sets: setSequences,
  hashes: hashSequences,
  zsets: zsetSequences,
};
