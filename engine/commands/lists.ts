/** lists commands. */
import type { CommandDef } from "../command.ts";

export const listCommands: CommandDef[] = [];
