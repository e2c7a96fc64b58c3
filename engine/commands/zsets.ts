/** zsets commands. */
import type { CommandDef } from "../command.ts";

export const zsetCommands: CommandDef[] = [];
