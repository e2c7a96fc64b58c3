/** String commands. */
import type { CommandDef } from "../command.ts";

export const stringCommands: CommandDef[] = [
  {
    name: "get",
    arity: 2,
    flags: ["readonly", "fast"],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    handler(ctx, args, out) {
      const v = ctx.db.getTyped(args[1]!, "string");
      if (v === undefined) out.nullBulk();
      else out.bulk(v);
    },
  },
];
