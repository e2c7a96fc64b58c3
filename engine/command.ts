/**
 * Command definitions and the executor that runs them against a {@link Keyspace}.
 *
 * A command family (strings, hashes, ...) exports a `CommandDef[]`; `commands.ts` gathers them
 * into one table. The same table is used on the main thread for arity checks, key extraction and
 * routing, and in shard workers to execute.
 */
import type { Db, Keyspace } from "./keyspace.ts";
import type { ReplySink } from "./reply.ts";
import { TesseraError } from "./errors.ts";

/** Flags as COMMAND INFO reports them. */
export type CommandFlag =
  | "write"
  | "readonly"
  | "denyoom"
  | "admin"
  | "pubsub"
  | "noscript"
  | "blocking"
  | "loading"
  | "stale"
  | "fast"
  | "no_auth"
  | "may_replicate";

/** What a handler can reach while it runs. */
export interface CommandContext {
  /** The shard's databases. */
  readonly ks: Keyspace;
  /** The database the client selected. */
  db: Db;
  /** Current time in ms (the keyspace's injected clock). */
  now(): number;
  /**
   * Records the effect of a write: appended to the binlog and shipped to replicas, in the
   * selected db. Must be deterministic when replayed (absolute expiry times, the members SPOP
   * removed, ...). Call it only when the dataset changed; call it several times for several
   * effects.
   */
  propagate(args: string[]): void;
}

/** Runs one command: reads `args` (args[0] is the command name as sent), writes to `out`. */
export type CommandHandler = (ctx: CommandContext, args: string[], out: ReplySink) => void;

/** One command of the table. */
export interface CommandDef {
  /** Lower-case name. */
  name: string;
  /** Redis convention: N means exactly N args (name included), -N means at least N. */
  arity: number;
  flags: readonly CommandFlag[];
  /** Position of the first key (0 = no keys), the last key (-1 = last arg) and the step. */
  firstKey: number;
  lastKey: number;
  step: number;
  /** Key positions for commands whose keys a numkeys argument announces (ZUNIONSTORE, ...). */
  keys?: (args: readonly string[]) => number[];
  handler: CommandHandler;
}

/** Arity check in Redis' convention. */
export function arityOk(def: { arity: number }, argc: number): boolean {
  return def.arity >= 0 ? argc === def.arity : argc >= -def.arity;
}

/** Positions of the keys in `args` according to `def` (assumes the arity is fine). */
export function keyPositions(def: CommandDef, args: readonly string[]): number[] {
  if (def.keys) return def.keys(args);
  if (def.firstKey === 0) return [];
  const last = def.lastKey < 0 ? args.length + def.lastKey : def.lastKey;
  const out: number[] = [];
  for (let i = def.firstKey; i <= last && i < args.length; i += def.step) out.push(i);
  return out;
}

/**
 * The (db, key) pairs a command touches, for commands run in `db`: the keys at their positions,
 * except that COPY ... DB n puts its destination in db n.
 */
export function keyRefs(
  def: CommandDef,
  args: readonly string[],
  db: number,
): Array<[number, string]> {
  const out: Array<[number, string]> = keyPositions(def, args).map((p) => [db, args[p]!]);
  if (def.name === "copy" && out.length === 2) {
    for (let i = 3; i + 1 < args.length; i++) {
      if (args[i]!.toLowerCase() !== "db") continue;
      const n = Number(args[i + 1]);
      if (Number.isInteger(n) && n >= 0 && n < 16) out[1] = [n, out[1]![1]];
    }
  }
  return out;
}

/** Redis' "unknown command" error line. */
export function unknownCommandLine(args: readonly string[]): string {
  let rest = "";
  for (let i = 1; i < args.length && rest.length < 128; i++) {
    rest += `'${args[i]!.slice(0, 128 - rest.length)}' `;
  }
  const name = (args[0] ?? "").slice(0, 128);
  return `ERR unknown command '${name}', with args beginning with: ${rest}`.replace(/[\r\n]/g, " ");
}

/** Redis' wrong-arity error line. */
export function arityErrorLine(name: string): string {
  return `ERR wrong number of arguments for '${name}' command`;
}

/** Builds a command table from families. Later definitions must not repeat a name. */
export function buildTable(...families: readonly CommandDef[][]): Map<string, CommandDef> {
  const table = new Map<string, CommandDef>();
  for (const family of families) {
    for (const def of family) {
      if (table.has(def.name)) throw new Error(`command ${def.name} defined twice`);
      table.set(def.name, def);
    }
  }
  return table;
}

/**
 * Runs commands against a keyspace with Redis' checks (unknown command, arity) and turns thrown
 * {@link TesseraError}s into error replies. Whatever a handler wrote before throwing is the
 * caller's sink's business: handlers check everything before writing.
 */
export class Executor implements CommandContext {
  readonly ks: Keyspace;
  db: Db;
  readonly table: Map<string, CommandDef>;
  /** Receives (db index, effect args) for every propagated write. */
  onPropagate: (db: number, args: string[]) => void;
  /** Writes since the last save (Redis' `dirty`). */
  dirty = 0;
  /**
   * Called before a command flagged "write" runs (after its checks), with the command and the
   * db it runs in: a snapshot in progress saves the old state of the keys it is about to touch.
   */
  beforeWrite: ((def: CommandDef, db: number, args: string[]) => void) | undefined;

  constructor(
    ks: Keyspace,
    table: Map<string, CommandDef>,
    onPropagate: (db: number, args: string[]) => void = () => {},
  ) {
    this.ks = ks;
    this.db = ks.db(0);
    this.table = table;
    this.onPropagate = onPropagate;
  }

  now(): number {
    return this.ks.now();
  }

  propagate(args: string[]): void {
    this.dirty++;
    this.onPropagate(this.db.index, args);
  }

  /** Executes `args` in database `dbIndex`, writing exactly one reply to `out`. */
  execute(dbIndex: number, args: string[], out: ReplySink): void {
    const name = args[0]?.toLowerCase() ?? "";
    const def = this.table.get(name);
    if (def === undefined) {
      out.error(unknownCommandLine(args));
      return;
    }
    if (!arityOk(def, args.length)) {
      out.error(arityErrorLine(def.name));
      return;
    }
    this.db = this.ks.db(dbIndex);
    if (this.beforeWrite !== undefined && def.flags.includes("write")) {
      this.beforeWrite(def, dbIndex, args);
    }
    try {
      def.handler(this, args, out);
    } catch (e) {
      if (e instanceof TesseraError) out.error(e.toReplyLine());
      else throw e;
    }
  }
}
