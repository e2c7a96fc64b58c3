/** keys commands. */
import type { CommandDef } from "../command.ts";

export const keyCommands: CommandDef[] = [];
