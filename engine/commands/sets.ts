/** sets commands. */
import type { CommandDef } from "../command.ts";

export const setCommands: CommandDef[] = [];
