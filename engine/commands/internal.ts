/**
 * Internal commands: never callable by clients (the router refuses names starting with `__`),
 * they appear in binlogs and replication streams.
 */
import type { CommandDef } from "../command.ts";
import { latin1Bytes, restoreKey } from "../entry_codec.ts";

/** Keys from position 2 to the end (the try forms of the blocking pops). */
function keysFrom2(args: readonly string[]): number[] {
  const out: number[] = [];
  for (let i = 2; i < args.length; i++) out.push(i);
  return out;
}

export const internalCommands: CommandDef[] = [
  {
    // __bpop LEFT|RIGHT key...: the non-blocking attempt of BLPOP/BRPOP — pops from the first
    // non-empty list, replies [key, element] or a null array.
    name: "__bpop",
    arity: -3,
    flags: ["write"],
    firstKey: 2,
    lastKey: -1,
    step: 1,
    keys: keysFrom2,
    handler(ctx, args, out) {
      const left = args[1] === "LEFT";
      for (let i = 2; i < args.length; i++) {
        const key = args[i]!;
        const list = ctx.db.getTyped(key, "list");
        if (list === undefined || list.length === 0) continue;
        const v = left ? list.popFront()! : list.popBack()!;
        if (list.length === 0) ctx.db.delete(key);
        ctx.propagate([left ? "LPOP" : "RPOP", key]);
        out.array(2);
        out.bulk(key);
        out.bulk(v);
        return;
      }
      out.nullArray();
    },
  },
  {
    // __bzpop MIN|MAX key...: the non-blocking attempt of BZPOPMIN/BZPOPMAX.
    name: "__bzpop",
    arity: -3,
    flags: ["write"],
    firstKey: 2,
    lastKey: -1,
    step: 1,
    keys: keysFrom2,
    handler(ctx, args, out) {
      const min = args[1] === "MIN";
      for (let i = 2; i < args.length; i++) {
        const key = args[i]!;
        const z = ctx.db.getTyped(key, "zset");
        if (z === undefined || z.size === 0) continue;
        const [member, score] = z.at(min ? 0 : z.size - 1)!;
        z.delete(member);
        if (z.size === 0) ctx.db.delete(key);
        ctx.propagate(["ZREM", key, member]);
        out.array(3);
        out.bulk(key);
        out.bulk(member);
        out.double(score);
        return;
      }
      out.nullArray();
    },
  },
  {
    // __restore key dump: sets `key` to a dumped entry (with its absolute expiry), as left by a
    // command that spanned several shards.
    name: "__restore",
    arity: 3,
    flags: ["write"],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    handler(ctx, args, out) {
      const key = args[1]!;
      ctx.db.delete(key);
      restoreKey(ctx.db, key, latin1Bytes(args[2]!));
      ctx.propagate(args);
      out.simple("OK");
    },
  },
];
