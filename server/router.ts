/**
 * Routes parsed requests: connection and server commands run on the main thread, key commands go
 * to the shard owning the key, keyless commands are broadcast, and commands whose keys live on
 * several shards run under a gate (see {@link Router.handle}).
 */
import { getLogger } from "@logtape/logtape";
import {
  arityErrorLine,
  arityOk,
  type CommandDef,
  keyRefs,
  unknownCommandLine,
} from "../engine/command.ts";
import { COMMANDS } from "../engine/commands.ts";
import { TesseraError } from "../engine/errors.ts";
import { keySlot } from "../engine/slot.ts";
import type { ReplyValue } from "../engine/reply.ts";
import type { KeyDump } from "../workers/protocol.ts";
import type { ReplySlot, ShardPool } from "../workers/shard_pool.ts";
import {
  bytesToLatin1,
  latin1ToBytes,
  lowerAscii,
  type ParsedRequest,
  ReplyReader,
} from "./resp_reader.ts";
import { encodeCommand, RespWriter } from "./resp_writer.ts";
import type { Client } from "./client.ts";
import type { ServerConfig } from "./config.ts";
import { infoSections, MAIN_COMMANDS, type MainCommand } from "./server_commands.ts";
import type { ShardStats } from "../workers/protocol.ts";

type Route =
  | { main: MainCommand; def?: undefined; write: boolean }
  | { main?: undefined; def: CommandDef; write: boolean };

/** Server-wide counters for INFO stats. */
export interface RouterStats {
  commands: number;
  connectionsReceived: number;
  rejectedCalls: number;
  crossShardCommands: number;
}

const log = getLogger(["tessera", "router"]);

/** Commands that are not queued inside MULTI. */
const TX_CONTROL = new Set(["exec", "discard", "multi", "watch", "quit", "reset"]);
const QUEUED = new TextEncoder().encode("+QUEUED\r\n");

function groupWatched(c: Client): Map<number, Array<[string, string]>> {
  const out = new Map<number, Array<[string, string]>>();
  for (const [id, print] of c.watched) {
    const cut = id.indexOf("\0");
    const db = Number(id.slice(0, cut));
    let list = out.get(db);
    if (!list) out.set(db, list = []);
    list.push([id.slice(cut + 1), print]);
  }
  return out;
}

/** An array reply of `count` items whose encodings are `parts`, concatenated. */
function arrayReply(parts: Uint8Array[], count = parts.length): Uint8Array {
  const head = latin1ToBytes(`*${count}\r\n`);
  let total = head.length;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  out.set(head);
  let o = head.length;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Decodes one RESP reply held in `bytes`. */
export function decodeReply(bytes: Uint8Array): ReplyValue {
  const r = new ReplyReader();
  r.push(bytes);
  const v = r.next();
  if (v === undefined) throw new Error("incomplete reply from shard");
  return v.value;
}

/** A request held back (gate, paused client) with its bytes copied. */
export interface Deferred {
  client: Client;
  args: Uint8Array[];
  raw: Uint8Array;
}

export class Router {
  readonly pool: ShardPool;
  readonly config: ServerConfig;
  readonly clients: Map<number, Client> = new Map();
  readonly stats: RouterStats = {
    commands: 0,
    connectionsReceived: 0,
    rejectedCalls: 0,
    crossShardCommands: 0,
  };
  readonly startedAt: number = Date.now();
  /** Called by SHUTDOWN. */
  onShutdown: () => void = () => {};
  /** "master" or "slave", as ROLE and HELLO report it. */
  role: "master" | "slave" = "master";
  /** The port the server listens on (0 when embedded). */
  port = 0;
  /** Extra INFO sections (persistence, replication) provided by other modules. */
  readonly infoProviders: Map<string, () => string[] | Promise<string[]>> = new Map();
  /** Extra lines for INFO stats (replication counters). */
  readonly statsProviders: Array<() => string[]> = [];
  /** Refuses writes (a read-only replica): returns the error line, or undefined to allow. */
  writeGuard: ((c: Client) => string | undefined) | undefined;
  /** Blocked clients (set by the blocking module). */
  blocking:
    | { readonly blockedClients: number; unblock(c: Client, withError: boolean): boolean }
    | undefined;
  /** Told of every write dispatched, with the (db, key) pairs it touches. */
  readonly writeListeners: Array<
    (c: Client, name: string, refs: () => Array<[number, string]>) => void
  > = [];
  /** Channel and pattern subscriptions of a client (set by the pub/sub module). */
  subscriptionCounts: ((c: Client) => { channels: number; patterns: number }) | undefined;
  /** Told of every PUBLISH (replication forwards it to replicas). */
  readonly publishListeners: Array<(channel: string, message: string) => void> = [];
  /** Delivers a PUBLISH received from this node's master to local subscribers. */
  deliverReplicated: ((channel: string, message: string) => void) | undefined;
  /** Told when a client goes away. */
  readonly closeListeners: Array<(c: Client) => void> = [];
  /** Called after CONFIG SET changed settings. */
  readonly configListeners: Array<(config: ServerConfig) => void> = [];
  readonly #routes = new Map<string, Route>();
  #gated = false;
  #gates = 0;
  #deferred: Array<Deferred | (() => void)> = [];
  readonly #writer2 = new RespWriter(2);
  readonly #writer3 = new RespWriter(3);

  constructor(pool: ShardPool, config: ServerConfig) {
    this.pool = pool;
    this.config = config;
    for (const [name, def] of COMMANDS) {
      if (!name.startsWith("__")) {
        this.#routes.set(name, { def, write: def.flags.includes("write") });
      }
    }
    for (const [name, main] of MAIN_COMMANDS) {
      this.#routes.set(name, { main, write: main.flags.includes("write") });
    }
  }

  /** Every command a client may call, for COMMAND. */
  get routes(): ReadonlyMap<string, Route> {
    return this.#routes;
  }

  /** Adds a main-thread command (modules such as persistence and replication bring their own). */
  addCommand(cmd: MainCommand): void {
    this.#routes.set(cmd.name, { main: cmd, write: cmd.flags.includes("write") });
  }

  /** Tells interested modules that settings changed. */
  configChanged(): void {
    for (const l of this.configListeners) l(this.config);
  }

  /** INFO text for `sections`. */
  async infoText(sections: string[], stats: ShardStats[]): Promise<string> {
    const extra = new Map<string, string[]>();
    for (const s of sections) {
      const p = this.infoProviders.get(s);
      if (p) extra.set(s, await p());
    }
    return infoSections(this, sections, stats, extra);
  }

  clientOpened(c: Client): void {
    this.clients.set(c.id, c);
    this.stats.connectionsReceived++;
    if (this.config.requirepass === "") c.authenticated = true;
  }

  clientClosed(c: Client): void {
    this.clients.delete(c.id);
    this.unwatch(c);
    for (const l of this.closeListeners) l(c);
  }

  /** A writer in the client's protocol, for replies built on the main thread. */
  writer(c: Client): RespWriter {
    return c.proto === 3 ? this.#writer3 : this.#writer2;
  }

  /** Fills `slot` with whatever `build` writes. */
  reply(c: Client, slot: ReplySlot, build: (w: RespWriter) => void): void {
    const w = this.writer(c);
    const mark = w.length;
    try {
      build(w);
    } catch (e) {
      w.truncate(mark);
      if (e instanceof TesseraError) w.error(e.toReplyLine());
      else {
        w.error(`ERR ${e instanceof Error ? e.message : String(e)}`);
        log.error("command failed: {error}", {
          error: e instanceof Error ? e.stack ?? e.message : String(e),
        });
      }
    }
    slot.data = w.take();
    slot.owner.slotReady();
  }

  /** Fills `slot` with an error line (without `-`). */
  replyError(slot: ReplySlot, line: string): void {
    slot.data = latin1ToBytes(`-${line.replace(/[\r\n]/g, " ")}\r\n`);
    slot.owner.slotReady();
  }

  /**
   * Handles one request. The request's byte views are only valid during this call.
   *
   * While a command spanning several shards is in progress the router is gated: requests are
   * queued and replayed in arrival order afterwards, so no client can observe the command half
   * applied. Single-shard commands go straight to their shard's batch; since each shard applies
   * its queue in order and the main thread is the only sender, that keeps every shard consistent.
   */
  handle(c: Client, req: ParsedRequest): void {
    if (this.#pauseUntil !== 0 && c.paused === undefined && this.#pausedFor(c, req.args)) {
      this.pause(c);
    }
    if (this.#gated || c.paused !== undefined) {
      const d = { client: c, args: req.args.map((a) => a.slice()), raw: req.raw.slice() };
      if (c.paused !== undefined) c.paused.push(d);
      else this.#deferred.push(d);
      return;
    }
    this.#dispatch(c, req.args, req.raw);
  }

  #dispatch(c: Client, argv: Uint8Array[], raw: Uint8Array): void {
    this.#dispatchInto(c, argv, raw, c.newSlot(), false);
  }

  /**
   * Routes one command whose reply goes to `slot`. `inExec`: the command runs from EXEC's queue
   * (so it is not queued again).
   */
  #dispatchInto(
    c: Client,
    argv: Uint8Array[],
    raw: Uint8Array,
    slot: ReplySlot,
    inExec: boolean,
  ): void {
    this.stats.commands++;
    const nameBytes = argv[0]!;
    const name = lowerAscii(nameBytes);
    const route = this.#routes.get(name);
    c.lastCommandAt = Date.now();
    const queueing = !inExec && c.multi !== undefined && !TX_CONTROL.has(name);
    const reject = (line: string) => {
      this.stats.rejectedCalls++;
      if (!inExec && c.multi !== undefined) {
        if (name === "exec") {
          // A refused EXEC ends the transaction.
          c.multi = undefined;
          c.multiError = false;
          this.unwatch(c);
          line = `EXECABORT Transaction discarded because of: ${line.replace(/^ERR /, "")}`;
        } else {
          // Any refused command inside MULTI (queued or not) dooms the transaction.
          c.multiError = true;
        }
      }
      this.replyError(slot, line);
    };
    if (route === undefined) return reject(unknownCommandLine(argv.map(bytesToLatin1)));
    if (!c.authenticated && !(route.main?.noAuth ?? false)) {
      return reject("NOAUTH Authentication required.");
    }
    c.lastCommand = name;
    const spec = route.main ?? route.def;
    if (!arityOk(spec, argv.length)) return reject(arityErrorLine(spec.name));
    const subs = route.main?.subcommands;
    if (subs !== undefined && argv.length >= 2) {
      const sub = lowerAscii(argv[1]!);
      const arity = subs[sub];
      if (arity === undefined) {
        return reject(
          `ERR unknown subcommand '${
            bytesToLatin1(argv[1]!).slice(0, 128)
          }'. Try ${name.toUpperCase()} HELP.`,
        );
      }
      if (!arityOk({ arity }, argv.length)) return reject(arityErrorLine(`${name}|${sub}`));
    }
    // Subscribed RESP2 clients may run only a few commands (not checked for EXEC's queue).
    if (c.restricted !== undefined && !inExec) {
      const refused = c.restricted(
        name,
        argv[1] === undefined ? undefined : bytesToLatin1(argv[1]),
      );
      if (refused !== undefined) return reject(refused);
    }
    if (route.write && this.writeGuard !== undefined) {
      const refused = this.writeGuard(c);
      if (refused !== undefined) return reject(refused);
    }
    if (queueing) {
      c.multi!.push({ argv: argv.map((a) => a.slice()), raw: raw.slice() });
      slot.data = QUEUED;
      slot.owner.slotReady();
      return;
    }
    if (route.main !== undefined) route.main.run(this, c, argv.map(bytesToLatin1), slot);
    else this.#routeEngine(c, route.def, argv, raw, slot);
    // After routing, so whatever the listeners send (blocked clients retrying) runs after it.
    if (route.write && this.writeListeners.length !== 0) {
      this.#afterWrite(c, spec.name, route.def, argv);
    }
  }

  /** Sends an engine command to the shard owning its keys, or runs it across shards. */
  #routeEngine(
    c: Client,
    def: CommandDef,
    argv: Uint8Array[],
    raw: Uint8Array,
    slot: ReplySlot,
  ): void {
    const pool = this.pool;
    let shard = 0;
    if (def.keys === undefined) {
      if (def.firstKey !== 0) {
        const last = def.lastKey < 0 ? argv.length + def.lastKey : def.lastKey;
        shard = pool.slotToShard[keySlot(argv[def.firstKey]!)]!;
        for (let i = def.firstKey + def.step; i <= last && i < argv.length; i += def.step) {
          if (pool.slotToShard[keySlot(argv[i]!)] !== shard) {
            return this.#crossShard(c, def, argv.map(bytesToLatin1), slot);
          }
        }
      }
    } else {
      const args = argv.map(bytesToLatin1);
      const positions = def.keys(args);
      if (positions.length) shard = pool.slotToShard[keySlot(argv[positions[0]!]!)]!;
      for (const p of positions) {
        if (pool.slotToShard[keySlot(argv[p]!)] !== shard) {
          return this.#crossShard(c, def, args, slot);
        }
      }
    }
    pool.enqueue(shard, c.db, c.proto, raw, slot);
  }

  /**
   * Runs an engine command (internal `__` commands included) for `c` and resolves with its
   * reply bytes: blocking commands use it for their non-blocking attempts.
   */
  execInternal(c: Client, args: string[]): Promise<Uint8Array> {
    const def = COMMANDS.get(args[0]!.toLowerCase());
    if (def === undefined) return Promise.reject(new Error(`no command ${args[0]}`));
    const argv = args.map(latin1ToBytes);
    const p = new Promise<Uint8Array>((resolve) => {
      const slot: ReplySlot = { data: undefined, owner: { slotReady: () => resolve(slot.data!) } };
      this.#routeEngine(c, def, argv, encodeCommand(args), slot);
    });
    if (def.flags.includes("write") && this.writeListeners.length !== 0) {
      this.#afterWrite(c, def.name, def, argv);
    }
    return p;
  }

  /** Runs `fn` now, or once no multi-shard command or EXEC holds the gate. */
  whenOpen(fn: () => void): void {
    if (this.#gated) this.#deferred.push(fn);
    else fn();
  }

  /** A write was dispatched: tell the listeners (blocked clients). */
  #afterWrite(c: Client, name: string, def: CommandDef | undefined, argv: Uint8Array[]): void {
    // Computed only if a listener wants them: this runs for every write.
    const refs = () => def === undefined ? [] : keyRefs(def, argv.map(bytesToLatin1), c.db);
    for (const l of this.writeListeners) l(c, name, refs);
  }

  // ---- CLIENT PAUSE ----

  #pauseUntil = 0;
  #pauseWritesOnly = false;
  #pauseTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #pausedClients = new Set<Client>();

  /** CLIENT PAUSE: holds every client's commands (or only writes) for `ms`. */
  pauseClients(ms: number, writesOnly: boolean): void {
    // As in Redis, a pause in progress only gets longer or stricter (ALL beats WRITE).
    this.#pauseWritesOnly = this.#pauseUntil === 0
      ? writesOnly
      : this.#pauseWritesOnly && writesOnly;
    this.#pauseUntil = Math.max(this.#pauseUntil, Date.now() + ms);
    clearTimeout(this.#pauseTimer);
    const arm = () => {
      // Timers longer than 2^31-1 ms fire at once: wait in steps.
      const left = this.#pauseUntil - Date.now();
      this.#pauseTimer = setTimeout(
        () => left > 2 ** 31 - 1 ? arm() : this.unpauseClients(),
        Math.min(Math.max(0, left), 2 ** 31 - 1),
      );
    };
    arm();
  }

  /** CLIENT UNPAUSE (or the pause timing out): replays what was held. */
  unpauseClients(): void {
    clearTimeout(this.#pauseTimer);
    this.#pauseTimer = undefined;
    this.#pauseUntil = 0;
    const held = [...this.#pausedClients];
    this.#pausedClients.clear();
    for (const c of held) this.resume(c);
  }

  #pausedFor(c: Client, argv: Uint8Array[]): boolean {
    if (Date.now() >= this.#pauseUntil) return false;
    if (c.flags === "S") return false; // replicas are never paused
    const name = lowerAscii(argv[0]!);
    // As in Redis 7.0, PAUSE ALL holds every command, CLIENT UNPAUSE and the pauser's own too.
    if (this.#pauseWritesOnly && !this.#writes(c, name)) return false;
    this.#pausedClients.add(c);
    return true;
  }

  /** True when `name` writes; EXEC writes when a queued command does (as for Redis' pause). */
  #writes(c: Client, name: string): boolean {
    if (name === "exec" && c.multi !== undefined) {
      return c.multi.some((q) => this.#routes.get(lowerAscii(q.argv[0]!))?.write ?? false);
    }
    return this.#routes.get(name)?.write ?? false;
  }

  /** Holds `c`'s further requests (a blocked client) until {@link resume}. */
  pause(c: Client): void {
    c.paused ??= [];
  }

  /** Replays what `c` sent while it was paused, in order. */
  resume(c: Client): void {
    const queued = c.paused;
    c.paused = undefined;
    if (queued === undefined) return;
    // A client that went away: what it sent after the held command is dropped, as Redis drops
    // a closed client's unread input.
    if (c.closing || this.clients.get(c.id) !== c) return;
    for (let i = 0; i < queued.length; i++) {
      const d = queued[i]!;
      const again = c.paused as Deferred[] | undefined;
      if (again !== undefined) {
        // Paused again (another blocking command): keep the rest for later.
        again.push(...queued.slice(i));
        return;
      }
      if (this.#pauseUntil !== 0 && this.#pausedFor(c, d.args)) {
        // Held by CLIENT PAUSE now: the rest waits for the unpause.
        c.paused = queued.slice(i);
        return;
      }
      if (this.#gated) this.#deferred.push(d);
      else this.#dispatch(d.client, d.args, d.raw);
    }
  }

  // ---- transactions ----

  /**
   * WATCH: each shard keeps a version per watched key, bumped by every change it makes to the
   * key (a write that changed something, an expiry, a flush of an existing key, a cross-shard
   * restore, a replicated record); EXEC compares them with the versions seen at WATCH.
   */
  async watch(c: Client, keys: string[]): Promise<void> {
    const fresh = [...new Set(keys)].filter((k) => !c.watched.has(`${c.db}\0${k}`));
    const versions = await this.#watchCall(c.db, fresh, "watch");
    fresh.forEach((key, i) => c.watched.set(`${c.db}\0${key}`, versions[i]!));
  }

  /** UNWATCH (also after EXEC, DISCARD, RESET and disconnect). */
  unwatch(c: Client): void {
    if (c.watched.size === 0) return;
    for (const [db, keys] of groupWatched(c)) {
      void this.#watchCall(
        db,
        keys.map(([k]) => k),
        "unwatch",
      ).catch(() => {});
    }
    c.watched.clear();
  }

  /** Sends a watch/unwatch/versions request to the shards owning `keys`; versions in key order. */
  async #watchCall(
    db: number,
    keys: string[],
    t: "watch" | "unwatch" | "versions",
  ): Promise<string[]> {
    const byShard = new Map<number, number[]>();
    keys.forEach((k, i) => {
      const s = this.pool.slotToShard[keySlot(latin1ToBytes(k))]!;
      let list = byShard.get(s);
      if (!list) byShard.set(s, list = []);
      list.push(i);
    });
    const out: string[] = new Array(keys.length).fill("");
    await Promise.all([...byShard].map(async ([s, idx]) => {
      const m = await this.pool.call(s, { t, keys: idx.map((i) => [db, keys[i]!]) });
      if (m.t === "versions") m.versions.forEach((v, j) => out[idx[j]!] = String(v));
    }));
    return out;
  }

  /**
   * EXEC: under the gate (no other client runs meanwhile), checks the watched keys, then runs
   * the queued commands in order, each through the normal routing, and answers their replies
   * as one array.
   */
  async exec(c: Client): Promise<Uint8Array> {
    const queued = c.multi ?? [];
    const doomed = c.multiError;
    c.multi = undefined;
    c.multiError = false;
    if (doomed) {
      this.unwatch(c);
      return latin1ToBytes("-EXECABORT Transaction discarded because of previous errors.\r\n");
    }
    return await this.gated(async () => {
      try {
        for (const [db, keys] of groupWatched(c)) {
          const now = await this.#watchCall(db, keys.map(([k]) => k), "versions");
          if (now.some((v, i) => v !== keys[i]![1])) return this.#nullArray(c);
        }
        const unit = this.#singleShardUnit(c, queued);
        if (unit !== undefined) {
          const res = await this.pool.call(unit.shard, {
            t: "multi",
            db: c.db,
            proto: c.proto,
            commands: unit.commands,
          });
          if (res.t !== "multi-done") throw new Error(`unexpected answer ${res.t}`);
          return this.#ranAsUnit(c, queued, res.replies);
        }
        const cross = this.#crossShardUnit(c, queued);
        if (cross !== undefined) {
          const { reply, acks } = await this.#acrossShards(
            c.db,
            c.proto,
            cross.commands,
            cross.keys,
            true,
          );
          await acks;
          return this.#ranAsUnit(c, queued, reply);
        }
        const parts: Uint8Array[] = [];
        c.inExec = true;
        for (const q of queued) {
          parts.push(
            await new Promise<Uint8Array>((resolve) => {
              const slot: ReplySlot = {
                data: undefined,
                owner: { slotReady: () => resolve(slot.data!) },
              };
              this.#dispatchInto(c, q.argv, q.raw, slot, true);
            }),
          );
        }
        c.inExec = false;
        return arrayReply(parts);
      } finally {
        c.inExec = false;
        this.unwatch(c);
      }
    });
  }

  /**
   * EXEC's reply for a transaction a shard ran as a unit (its replies concatenated): counts the
   * commands and tells the write listeners (blocked clients retry once the gate opens), which
   * command-by-command dispatch would have done.
   */
  #ranAsUnit(
    c: Client,
    queued: ReadonlyArray<{ argv: Uint8Array[] }>,
    replies: Uint8Array,
  ): Uint8Array {
    this.stats.commands += queued.length;
    if (this.writeListeners.length !== 0) {
      for (const q of queued) {
        const def = this.#routes.get(lowerAscii(q.argv[0]!))?.def;
        if (def?.flags.includes("write")) this.#afterWrite(c, def.name, def, q.argv);
      }
    }
    return arrayReply([replies], queued.length);
  }

  /**
   * A transaction of plain key commands whose keys all live on one shard: that shard runs it in
   * one go and logs it as one unit. Anything else (server commands, blocking commands, keys on
   * several shards) runs command by command under the gate.
   */
  #singleShardUnit(
    c: Client,
    queued: ReadonlyArray<{ argv: Uint8Array[] }>,
  ): { shard: number; commands: string[][] } | undefined {
    if (queued.length === 0) return undefined;
    let shard: number | undefined;
    const commands: string[][] = [];
    for (const q of queued) {
      const route = this.#routes.get(lowerAscii(q.argv[0]!));
      if (route === undefined || route.def === undefined) return undefined;
      const args = q.argv.map(bytesToLatin1);
      const refs = keyRefs(route.def, args, c.db);
      if (refs.length === 0 || refs.some(([db]) => db !== c.db)) return undefined;
      for (const [, key] of refs) {
        const s = this.pool.slotToShard[keySlot(latin1ToBytes(key))]!;
        if (shard === undefined) shard = s;
        else if (s !== shard) return undefined;
      }
      commands.push(args);
    }
    return shard === undefined ? undefined : { shard, commands };
  }

  /**
   * A transaction of plain key commands in the current db whose keys span shards: it runs on
   * one shard with the others' keys imported, so each shard logs its part as one record.
   */
  #crossShardUnit(
    c: Client,
    queued: ReadonlyArray<{ argv: Uint8Array[] }>,
  ): { commands: string[][]; keys: Array<[number, string]> } | undefined {
    const commands: string[][] = [];
    const keys: Array<[number, string]> = [];
    for (const q of queued) {
      const route = this.#routes.get(lowerAscii(q.argv[0]!));
      if (route === undefined || route.def === undefined) return undefined;
      const args = q.argv.map(bytesToLatin1);
      const refs = keyRefs(route.def, args, c.db);
      if (refs.length === 0 || refs.some(([db]) => db !== c.db)) return undefined;
      keys.push(...refs);
      commands.push(args);
    }
    return keys.length === 0 ? undefined : { commands, keys };
  }

  #nullArray(c: Client): Uint8Array {
    return latin1ToBytes(c.proto === 3 ? "_\r\n" : "*-1\r\n");
  }

  /** Sends `args` to every shard at once (one consistent cut) and returns each shard's reply. */
  broadcast(c: Client, args: string[]): Promise<ReplyValue[]> {
    const raw = encodeCommand(args);
    const pool = this.pool;
    return new Promise((resolve) => {
      const results: ReplyValue[] = new Array(pool.count);
      let left = pool.count;
      for (let s = 0; s < pool.count; s++) {
        const part: ReplySlot = {
          data: undefined,
          owner: {
            slotReady: () => {
              results[s] = decodeReply(part.data!);
              if (--left === 0) resolve(results);
            },
          },
        };
        pool.enqueue(s, c.db, 2, raw, part);
      }
    });
  }

  /** Runs `args` on one shard and returns the raw reply bytes. */
  onShard(shard: number, db: number, proto: 2 | 3, args: string[]): Promise<Uint8Array> {
    return new Promise((resolve) => {
      const part: ReplySlot = { data: undefined, owner: { slotReady: () => resolve(part.data!) } };
      this.pool.enqueue(shard, db, proto, encodeCommand(args), part);
    });
  }

  /**
   * Holds every new request until `work` is done (see {@link handle}). Gates nest: a
   * cross-shard command inside EXEC keeps the outer gate closed.
   */
  async gated<T>(work: () => Promise<T>): Promise<T> {
    this.#gates++;
    this.#gated = true;
    try {
      return await work();
    } finally {
      if (--this.#gates === 0) {
        this.#gated = false;
        this.#replayDeferred();
      }
    }
  }

  #replayDeferred(): void {
    while (!this.#gated && this.#deferred.length) {
      const d = this.#deferred.shift()!;
      if (typeof d === "function") d();
      else if (d.client.paused !== undefined) d.client.paused.push(d);
      else if (this.#pauseUntil !== 0 && this.#pausedFor(d.client, d.args)) {
        d.client.paused = [d];
      } else this.#dispatch(d.client, d.args, d.raw);
    }
  }

  /**
   * A command whose keys live on several shards: export the foreign keys, run the command on the
   * first key's shard with them imported, then hand the changed keys back to their owners.
   */
  #crossShard(c: Client, def: CommandDef, args: string[], slot: ReplySlot): void {
    this.stats.crossShardCommands++;
    const db = c.db;
    const proto = c.proto;
    const write = def.flags.includes("write");
    void this.gated(async () => {
      try {
        const { reply, acks } = await this.#acrossShards(
          db,
          proto,
          [args],
          keyRefs(def, args, db),
          write,
        );
        void acks.then(() => {
          slot.data = reply;
          slot.owner.slotReady();
        }, (e) => this.replyError(slot, `ERR ${e instanceof Error ? e.message : e}`));
      } catch (e) {
        this.replyError(slot, `ERR ${e instanceof Error ? e.message : e}`);
      }
    });
  }

  /**
   * Runs `commands` (one command, or a transaction's) on the shard of the first key with the
   * other shards' keys imported, then hands the changed keys back to their owners. Each shard
   * logs its part as one record. Call it with the gate closed. `acks` settles once the owners
   * have their keys back (and logged them).
   */
  async #acrossShards(
    db: number,
    proto: 2 | 3,
    commands: string[][],
    keys: Array<[number, string]>,
    write: boolean,
  ): Promise<{ reply: Uint8Array; acks: Promise<unknown> }> {
    const pool = this.pool;
    const owner = (k: string) => pool.slotToShard[keySlot(latin1ToBytes(k))]!;
    const home = owner(keys[0]![1]);
    const foreign = new Map<number, Array<[number, string]>>();
    const local: Array<[number, string]> = [];
    const seen = new Set<string>();
    for (const [kdb, key] of keys) {
      const id = `${kdb}:${key}`;
      if (seen.has(id)) continue;
      seen.add(id);
      const s = owner(key);
      if (s === home) local.push([kdb, key]);
      else {
        let list = foreign.get(s);
        if (!list) foreign.set(s, list = []);
        list.push([kdb, key]);
      }
    }
    const imports: KeyDump[] = [];
    const exported = await Promise.all(
      [...foreign].map(([s, list]) => pool.call(s, { t: "export", keys: list })),
    );
    for (const m of exported) if (m.t === "exported") imports.push(...m.dumps);
    const res = await pool.call(home, { t: "cross", db, proto, commands, imports, local, write });
    if (res.t !== "crossed") throw new Error(`unexpected answer ${res.t}`);
    const back = new Map<number, KeyDump[]>();
    for (const item of res.writeback) {
      const s = owner(item[1]);
      let list = back.get(s);
      if (!list) back.set(s, list = []);
      list.push(item);
    }
    // Posted before the gate opens, so every later command sees the new state.
    const acks = Promise.all([...back].map(([s, items]) => pool.call(s, { t: "restore", items })));
    return { reply: res.reply, acks };
  }
}
