/**
 * Set commands (Redis 7.0 semantics). Sets are JS `Set`s of latin1 strings; a set that becomes
 * empty is deleted. Replies that are RESP3 sets in Redis 7 use `out.set(n)`.
 *
 * Propagation:
 * - SADD / SREM propagate their own arguments (idempotent, deterministic).
 * - SPOP propagates the concrete effect: `SREM key popped...`, or `DEL key` when every member was
 *   popped (as Redis does).
 * - SMOVE and the *STORE commands propagate one effect per key, built from the concrete result:
 *   `SREM src member` + `SADD dst member`, and `DEL dest` (when it existed) + `SADD dest members...`
 *   (when the result is not empty). The original commands are deterministic given the same data,
 *   but their source keys may live in other shards (imported only for the duration of the
 *   command), so replaying the original against this shard's data alone could give a different
 *   result; the concrete per-key form replays the same anywhere.
 */
import type { CommandContext, CommandDef } from "../command.ts";
import type { Db } from "../keyspace.ts";
import { CommandError, notIntegerError, syntaxError } from "../errors.ts";
import { isOpt, tryParseBigInt, tryParseInt } from "../args.ts";
import type { ReplySink } from "../reply.ts";
import { parseScanCursor, parseScanOptions, scanCollection, writeEmptyScan } from "../scan.ts";
import { globMatch } from "../glob.ts";

const ERR_MUST_BE_POSITIVE = "value is out of range, must be positive";
const LONG_MAX = 9223372036854775807n;

/** A random integer in [0, n). */
function randomIndex(ctx: CommandContext, n: number): number {
  const i = Math.floor(ctx.ks.random() * n);
  return i < n ? i : n - 1;
}

/** A random member of a non-empty set. */
function randomMember(ctx: CommandContext, set: Set<string>): string {
  let i = randomIndex(ctx, set.size);
  for (const m of set) if (i-- === 0) return m;
  throw new Error("unreachable: empty set");
}

/** `k` distinct random members (k < set size), by a partial Fisher-Yates shuffle. */
function randomDistinct(ctx: CommandContext, set: Set<string>, k: number): string[] {
  const arr = [...set];
  const n = arr.length;
  for (let i = 0; i < k; i++) {
    const j = i + randomIndex(ctx, n - i);
    const t = arr[i]!;
    arr[i] = arr[j]!;
    arr[j] = t;
  }
  arr.length = k;
  return arr;
}

/** Writes the members of `members` as a RESP3 set (RESP2 array). */
function replySet(out: ReplySink, members: Set<string>): void {
  out.set(members.size);
  for (const m of members) out.bulk(m);
}

/** Sets at `args[from..to)`, type-checked all of them (missing keys are undefined). */
function lookupSets(db: Db, args: readonly string[], from: number, to: number) {
  const sets: (Set<string> | undefined)[] = [];
  for (let i = from; i < to; i++) sets.push(db.getTyped(args[i]!, "set"));
  return sets;
}

/**
 * Intersection of `sets` (a missing set makes it empty). Stops once `limit` members were found
 * (0 = no limit).
 */
function intersect(sets: (Set<string> | undefined)[], limit = 0): Set<string> {
  const result = new Set<string>();
  const present: Set<string>[] = [];
  for (const s of sets) {
    if (s === undefined) return result;
    present.push(s);
  }
  present.sort((a, b) => a.size - b.size);
  const [smallest, ...rest] = present;
  if (smallest === undefined) return result;
  outer: for (const m of smallest) {
    for (const s of rest) if (!s.has(m)) continue outer;
    result.add(m);
    if (limit !== 0 && result.size >= limit) break;
  }
  return result;
}

function union(sets: (Set<string> | undefined)[]): Set<string> {
  const result = new Set<string>();
  for (const s of sets) if (s !== undefined) { for (const m of s) result.add(m); }
  return result;
}

function difference(sets: (Set<string> | undefined)[]): Set<string> {
  const result = new Set<string>();
  const [first, ...rest] = sets;
  if (first === undefined) return result;
  outer: for (const m of first) {
    for (const s of rest) if (s !== undefined && s.has(m)) continue outer;
    result.add(m);
  }
  return result;
}

type SetOp = (sets: (Set<string> | undefined)[]) => Set<string>;

function readOp(op: SetOp): CommandDef["handler"] {
  return (ctx, args, out) => {
    replySet(out, op(lookupSets(ctx.db, args, 1, args.length)));
  };
}

function storeOp(op: SetOp): CommandDef["handler"] {
  return (ctx, args, out) => {
    const result = op(lookupSets(ctx.db, args, 2, args.length));
    const dest = args[1]!;
    const existed = ctx.db.delete(dest);
    if (result.size > 0) ctx.db.set(dest, { type: "set", value: result });
    out.int(result.size);
    if (existed) ctx.propagate(["DEL", dest]);
    if (result.size > 0) ctx.propagate(["SADD", dest, ...result]);
  };
}

/** Redis 7.0 keeps sets of at most this many integers as an intset (set-max-intset-entries). */
const INTSET_MAX = 512;

/**
 * The members in ascending numeric order when the set is one Redis 7.0 would encode as an
 * intset (small, integers only), else undefined. SSCAN replies such sets whole, sorted, in one
 * step with cursor 0, whatever the cursor and COUNT.
 */
function intsetOrder(set: Set<string>): string[] | undefined {
  if (set.size > INTSET_MAX) return undefined;
  const nums: bigint[] = [];
  for (const m of set) {
    const n = tryParseBigInt(m);
    if (n === undefined || m === "-0") return undefined;
    nums.push(n);
  }
  nums.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return nums.map(String);
}

/** Key positions of SINTERCARD: `numkeys` keys from args[2], as many as exist. */
function sintercardKeys(args: readonly string[]): number[] {
  const n = tryParseInt(args[1] ?? "");
  const keys: number[] = [];
  if (n === undefined || n <= 0) return keys;
  for (let i = 2; i < 2 + n && i < args.length; i++) keys.push(i);
  return keys;
}

export const setCommands: CommandDef[] = [
  {
    name: "sadd",
    arity: -3,
    flags: ["write", "denyoom", "fast"],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    handler(ctx, args, out) {
      const key = args[1]!;
      let set = ctx.db.getTyped(key, "set");
      if (set === undefined) {
        set = new Set<string>();
        ctx.db.set(key, { type: "set", value: set });
      }
      const before = set.size;
      for (let i = 2; i < args.length; i++) set.add(args[i]!);
      const added = set.size - before;
      out.int(added);
      if (added !== 0) ctx.propagate(args);
    },
  },
  {
    name: "srem",
    arity: -3,
    flags: ["write", "fast"],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    handler(ctx, args, out) {
      const key = args[1]!;
      const set = ctx.db.getTyped(key, "set");
      if (set === undefined) {
        out.int(0);
        return;
      }
      let removed = 0;
      for (let i = 2; i < args.length; i++) if (set.delete(args[i]!)) removed++;
      out.int(removed);
      if (removed === 0) return;
      if (set.size === 0) ctx.db.delete(key);
      ctx.propagate(args);
    },
  },
  {
    name: "smembers",
    arity: 2,
    flags: ["readonly"],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    handler(ctx, args, out) {
      const set = ctx.db.getTyped(args[1]!, "set");
      if (set === undefined) out.set(0);
      else replySet(out, set);
    },
  },
  {
    name: "sismember",
    arity: 3,
    flags: ["readonly", "fast"],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    handler(ctx, args, out) {
      const set = ctx.db.getTyped(args[1]!, "set");
      out.int(set !== undefined && set.has(args[2]!) ? 1 : 0);
    },
  },
  {
    name: "smismember",
    arity: -3,
    flags: ["readonly", "fast"],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    handler(ctx, args, out) {
      const set = ctx.db.getTyped(args[1]!, "set");
      out.array(args.length - 2);
      for (let i = 2; i < args.length; i++) {
        out.int(set !== undefined && set.has(args[i]!) ? 1 : 0);
      }
    },
  },
  {
    name: "scard",
    arity: 2,
    flags: ["readonly", "fast"],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    handler(ctx, args, out) {
      const set = ctx.db.getTyped(args[1]!, "set");
      out.int(set === undefined ? 0 : set.size);
    },
  },
  {
    name: "spop",
    arity: -2,
    flags: ["write", "fast"],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    handler(ctx, args, out) {
      if (args.length > 3) throw syntaxError();
      const key = args[1]!;
      if (args.length === 2) {
        const set = ctx.db.getTyped(key, "set");
        if (set === undefined) {
          out.nullBulk();
          return;
        }
        const m = randomMember(ctx, set);
        set.delete(m);
        if (set.size === 0) ctx.db.delete(key);
        out.bulk(m);
        ctx.propagate(["SREM", key, m]);
        return;
      }
      const count = tryParseInt(args[2]!);
      if (count === undefined || count < 0) throw new CommandError(ERR_MUST_BE_POSITIVE);
      const set = ctx.db.getTyped(key, "set");
      if (set === undefined || count === 0) {
        out.set(0);
        return;
      }
      if (count >= set.size) {
        replySet(out, set);
        ctx.db.delete(key);
        ctx.propagate(["DEL", key]);
        return;
      }
      const popped = randomDistinct(ctx, set, count);
      out.set(popped.length);
      for (const m of popped) {
        set.delete(m);
        out.bulk(m);
      }
      ctx.propagate(["SREM", key, ...popped]);
    },
  },
  {
    name: "srandmember",
    arity: -2,
    flags: ["readonly"],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    handler(ctx, args, out) {
      if (args.length > 3) throw syntaxError();
      const key = args[1]!;
      if (args.length === 2) {
        const set = ctx.db.getTyped(key, "set");
        if (set === undefined) out.nullBulk();
        else out.bulk(randomMember(ctx, set));
        return;
      }
      const big = tryParseBigInt(args[2]!);
      if (big === undefined) throw notIntegerError();
      if (big < -LONG_MAX) {
        throw new CommandError(
          "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        );
      }
      const count = Number(big);
      const set = ctx.db.getTyped(key, "set");
      if (set === undefined || count === 0) {
        out.array(0);
        return;
      }
      if (count < 0) {
        // With repetitions: -count picks, each uniform over the whole set.
        const arr = [...set];
        const n = -count;
        out.array(n);
        for (let i = 0; i < n; i++) out.bulk(arr[randomIndex(ctx, arr.length)]!);
        return;
      }
      if (count >= set.size) {
        out.array(set.size);
        for (const m of set) out.bulk(m);
        return;
      }
      const picked = randomDistinct(ctx, set, count);
      out.array(picked.length);
      for (const m of picked) out.bulk(m);
    },
  },
  {
    name: "smove",
    arity: 4,
    flags: ["write", "fast"],
    firstKey: 1,
    lastKey: 2,
    step: 1,
    handler(ctx, args, out) {
      const srcKey = args[1]!;
      const dstKey = args[2]!;
      const member = args[3]!;
      const src = ctx.db.getTyped(srcKey, "set");
      if (src === undefined) {
        out.int(0); // even when the destination has the wrong type, as Redis
        return;
      }
      const dst = ctx.db.getTyped(dstKey, "set");
      if (src === dst) {
        out.int(src.has(member) ? 1 : 0);
        return;
      }
      if (!src.delete(member)) {
        out.int(0);
        return;
      }
      if (src.size === 0) ctx.db.delete(srcKey);
      let added = true;
      if (dst === undefined) ctx.db.set(dstKey, { type: "set", value: new Set([member]) });
      else if (dst.has(member)) added = false;
      else dst.add(member);
      out.int(1);
      ctx.propagate(["SREM", srcKey, member]);
      if (added) ctx.propagate(["SADD", dstKey, member]);
    },
  },
  {
    name: "sinter",
    arity: -2,
    flags: ["readonly"],
    firstKey: 1,
    lastKey: -1,
    step: 1,
    handler: readOp(intersect),
  },
  {
    name: "sintercard",
    arity: -3,
    flags: ["readonly"],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    keys: sintercardKeys,
    handler(ctx, args, out) {
      const numkeys = tryParseInt(args[1]!);
      if (numkeys === undefined || numkeys <= 0) {
        throw new CommandError("numkeys should be greater than 0");
      }
      if (numkeys > args.length - 2) {
        throw new CommandError("Number of keys can't be greater than number of args");
      }
      let limit = 0;
      for (let j = 2 + numkeys; j < args.length; j++) {
        if (j + 1 < args.length && isOpt(args[j]!, "LIMIT")) {
          const n = tryParseInt(args[++j]!);
          if (n === undefined || n < 0) throw new CommandError("LIMIT can't be negative");
          limit = n;
        } else {
          throw syntaxError();
        }
      }
      out.int(intersect(lookupSets(ctx.db, args, 2, 2 + numkeys), limit).size);
    },
  },
  {
    name: "sunion",
    arity: -2,
    flags: ["readonly"],
    firstKey: 1,
    lastKey: -1,
    step: 1,
    handler: readOp(union),
  },
  {
    name: "sdiff",
    arity: -2,
    flags: ["readonly"],
    firstKey: 1,
    lastKey: -1,
    step: 1,
    handler: readOp(difference),
  },
  {
    name: "sinterstore",
    arity: -3,
    flags: ["write", "denyoom"],
    firstKey: 1,
    lastKey: -1,
    step: 1,
    handler: storeOp(intersect),
  },
  {
    name: "sunionstore",
    arity: -3,
    flags: ["write", "denyoom"],
    firstKey: 1,
    lastKey: -1,
    step: 1,
    handler: storeOp(union),
  },
  {
    name: "sdiffstore",
    arity: -3,
    flags: ["write", "denyoom"],
    firstKey: 1,
    lastKey: -1,
    step: 1,
    handler: storeOp(difference),
  },
  {
    name: "sscan",
    arity: -3,
    flags: ["readonly"],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    handler(ctx, args, out) {
      // Redis' order: the cursor, then the key (a missing key replies an empty scan whatever the
      // options), then the options.
      const cursor = parseScanCursor(args[2]!);
      const set = ctx.db.getTyped(args[1]!, "set");
      if (set === undefined) {
        writeEmptyScan(out);
        return;
      }
      const opts = parseScanOptions(args, 3, false);
      const whole = intsetOrder(set);
      let next = 0;
      let items: string[];
      if (whole !== undefined) {
        items = whole;
      } else {
        const step = scanCollection<string>(
          {
            owner: set,
            iterate: () => set.values(),
            alive: (m) => set.has(m),
          },
          cursor,
          opts.count,
        );
        next = step.cursor;
        items = step.items;
      }
      const match = opts.match;
      if (match !== undefined) items = items.filter((m) => globMatch(match, m));
      out.array(2);
      out.bulk(String(next));
      out.array(items.length);
      for (const m of items) out.bulk(m);
    },
  },
];
