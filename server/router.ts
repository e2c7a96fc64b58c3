/**
 * Routes parsed requests: connection and server commands run on the main thread, key commands go
 * to the shard owning the key, keyless commands are broadcast, and commands whose keys live on
 * several shards run under a gate (see {@link Router.handle}).
 */
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

/** Decodes one RESP reply held in `bytes`. */
export function decodeReply(bytes: Uint8Array): ReplyValue {
  const r = new ReplyReader();
  r.push(bytes);
  const v = r.next();
  if (v === undefined) throw new Error("incomplete reply from shard");
  return v.value;
}

interface Deferred {
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
  /** Told when a client goes away. */
  readonly closeListeners: Array<(c: Client) => void> = [];
  /** Called after CONFIG SET changed settings. */
  readonly configListeners: Array<(config: ServerConfig) => void> = [];
  readonly #routes = new Map<string, Route>();
  #gated = false;
  #deferred: Deferred[] = [];
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
        console.error(e);
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
    if (this.#gated) {
      this.#deferred.push({
        client: c,
        args: req.args.map((a) => a.slice()),
        raw: req.raw.slice(),
      });
      return;
    }
    this.#dispatch(c, req.args, req.raw);
  }

  #dispatch(c: Client, argv: Uint8Array[], raw: Uint8Array): void {
    this.stats.commands++;
    const nameBytes = argv[0]!;
    const name = lowerAscii(nameBytes);
    const route = this.#routes.get(name);
    const slot = c.newSlot();
    c.lastCommandAt = Date.now();
    if (route === undefined) {
      this.stats.rejectedCalls++;
      return this.replyError(slot, unknownCommandLine(argv.map(bytesToLatin1)));
    }
    if (!c.authenticated && !(route.main?.noAuth ?? false)) {
      this.stats.rejectedCalls++;
      return this.replyError(slot, "NOAUTH Authentication required.");
    }
    c.lastCommand = name;
    if (route.write && this.writeGuard !== undefined) {
      const refused = this.writeGuard(c);
      if (refused !== undefined) return this.replyError(slot, refused);
    }
    if (route.main !== undefined) {
      const m = route.main;
      if (!arityOk(m, argv.length)) return this.replyError(slot, arityErrorLine(m.name));
      m.run(this, c, argv.map(bytesToLatin1), slot);
      return;
    }
    const def = route.def;
    if (!arityOk(def, argv.length)) {
      this.stats.rejectedCalls++;
      return this.replyError(slot, arityErrorLine(def.name));
    }
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

  /** Holds every new request until `work` is done (see {@link handle}). */
  async gated<T>(work: () => Promise<T>): Promise<T> {
    this.#gated = true;
    try {
      return await work();
    } finally {
      this.#gated = false;
      this.#replayDeferred();
    }
  }

  #replayDeferred(): void {
    while (!this.#gated && this.#deferred.length) {
      const d = this.#deferred.shift()!;
      this.#dispatch(d.client, d.args, d.raw);
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
    const keys = keyRefs(def, args, db);
    const pool = this.pool;
    const owner = (k: string) => pool.slotToShard[keySlot(latin1ToBytes(k))]!;
    const home = owner(keys[0]![1]);
    const isWrite = def.flags.includes("write");
    void this.gated(async () => {
      try {
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
        const res = await pool.call(home, {
          t: "cross",
          db,
          proto,
          args,
          imports,
          local,
          write: isWrite,
        });
        if (res.t !== "crossed") throw new Error(`unexpected answer ${res.t}`);
        const back = new Map<number, KeyDump[]>();
        for (const item of res.writeback) {
          const s = owner(item[1]);
          let list = back.get(s);
          if (!list) back.set(s, list = []);
          list.push(item);
        }
        // Posted before the gate opens, so every later command sees the new state.
        const acks = [...back].map(([s, items]) => pool.call(s, { t: "restore", items }));
        void Promise.all(acks).then(() => {
          slot.data = res.reply;
          slot.owner.slotReady();
        }, (e) => this.replyError(slot, `ERR ${e instanceof Error ? e.message : e}`));
      } catch (e) {
        this.replyError(slot, `ERR ${e instanceof Error ? e.message : e}`);
      }
    });
  }
}
