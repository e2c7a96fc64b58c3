/**
 * Internal commands: never callable by clients (the router refuses names starting with `__`),
 * they appear in binlogs and replication streams.
 */
import type { CommandDef } from "../command.ts";
import { latin1Bytes, restoreKey } from "../entry_codec.ts";

export const internalCommands: CommandDef[] = [
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
