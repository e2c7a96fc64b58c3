/** The table of every command a shard executes. */
import { buildTable, type CommandDef } from "./command.ts";
import { stringCommands } from "./commands/strings.ts";
import { keyCommands } from "./commands/keys.ts";
import { hashCommands } from "./commands/hashes.ts";
import { listCommands } from "./commands/lists.ts";
import { setCommands } from "./commands/sets.ts";
import { zsetCommands } from "./commands/zsets.ts";
import { internalCommands } from "./commands/internal.ts";

/** Every command shard engines execute, by lower-case name. */
export const COMMANDS: Map<string, CommandDef> = buildTable(
  stringCommands,
  keyCommands,
  hashCommands,
  listCommands,
  setCommands,
  zsetCommands,
  internalCommands,
);
