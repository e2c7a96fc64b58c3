/** hashes commands. */
import type { CommandDef } from "../command.ts";

export const hashCommands: CommandDef[] = [];
