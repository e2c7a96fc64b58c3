/**
 * Commands that run on the main thread: connection state, server introspection, and keyless
 * commands that gather every shard's answer.
 */
import { CommandError, notIntegerError, syntaxError } from "../engine/errors.ts";
import { tryParseInt } from "../engine/args.ts";
import type { CommandFlag } from "../engine/command.ts";
import { globMatch } from "../engine/glob.ts";
import type { FromShard, ShardStats } from "../workers/protocol.ts";
import type { ReplySlot } from "../workers/shard_pool.ts";
import type { Client } from "./client.ts";
import { applySetting, type ServerConfig } from "./config.ts";
import { decodeReply, type Router } from "./router.ts";
import type { RespWriter } from "./resp_writer.ts";
import { VERSION } from "./version.ts";

/** A main-thread command. */
export interface MainCommand {
  name: string;
  arity: number;
  flags: readonly CommandFlag[];
  firstKey: number;
  lastKey: number;
  step: number;
  /** Allowed before AUTH. */
  noAuth?: boolean;
  /**
   * For container commands (CONFIG, CLIENT...): each subcommand's arity, Redis-style. The router
   * checks them before running or queueing the command, so errors doom a MULTI as in Redis.
   */
  subcommands?: Readonly<Record<string, number>>;
  run(r: Router, c: Client, args: string[], slot: ReplySlot): void;
}

/** Redis version Tessera answers as, so clients enable the features it implements. */
export const REDIS_COMPAT_VERSION = "7.0.15";

const table: MainCommand[] = [];
function def(
  name: string,
  arity: number,
  flags: CommandFlag[],
  run: MainCommand["run"],
  extra: Partial<MainCommand> = {},
): void {
  table.push({ name, arity, flags, firstKey: 0, lastKey: 0, step: 0, run, ...extra });
}

function sync(
  fn: (r: Router, c: Client, args: string[], w: RespWriter) => void,
): MainCommand["run"] {
  return (r, c, args, slot) => r.reply(c, slot, (w) => fn(r, c, args, w));
}

function async(
  fn: (r: Router, c: Client, args: string[]) => Promise<(w: RespWriter) => void>,
): MainCommand["run"] {
  return (r, c, args, slot) => {
    fn(r, c, args).then(
      (build) => r.reply(c, slot, build),
      (e) =>
        r.reply(c, slot, () => {
          throw e;
        }),
    );
  };
}

// ---- connection ----

def(
  "ping",
  -1,
  ["fast", "stale"],
  sync((_r, _c, args, w) => {
    if (args.length > 2) throw new CommandError("wrong number of arguments for 'ping' command");
    if (args.length === 2) w.bulk(args[1]!);
    else w.simple("PONG");
  }),
);

def("echo", 2, ["fast"], sync((_r, _c, args, w) => w.bulk(args[1]!)));

def(
  "select",
  2,
  ["fast", "loading", "stale"],
  sync((_r, c, args, w) => {
    const n = tryParseInt(args[1]!);
    if (n === undefined) throw notIntegerError();
    if (n < 0 || n >= 16) throw new CommandError("DB index is out of range");
    c.db = n;
    w.simple("OK");
  }),
);

function checkPassword(r: Router, user: string, pass: string): void {
  if (r.config.requirepass === "") {
    throw new CommandError(
      "AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
    );
  }
  if (user !== "default" || pass !== r.config.requirepass) {
    throw new CommandError("invalid username-password pair or user is disabled.", "WRONGPASS");
  }
}

def(
  "auth",
  -2,
  ["fast", "no_auth", "stale", "loading"],
  sync((r, c, args, w) => {
    if (args.length > 3) throw syntaxError();
    const user = args.length === 3 ? args[1]! : "default";
    const pass = args[args.length - 1]!;
    if (r.config.requirepass === "" && args.length === 3) {
      if (user !== "default") {
        throw new CommandError("invalid username-password pair or user is disabled.", "WRONGPASS");
      }
      c.authenticated = true;
      w.simple("OK");
      return;
    }
    checkPassword(r, user, pass);
    c.authenticated = true;
    w.simple("OK");
  }),
  { noAuth: true },
);

def(
  "hello",
  -1,
  ["fast", "no_auth", "stale", "loading"],
  sync((r, c, args, w) => {
    let proto = c.proto;
    let i = 1;
    if (args.length >= 2) {
      const v = tryParseInt(args[1]!);
      if (v === undefined) {
        throw new CommandError("Protocol version is not an integer or out of range");
      }
      if (v !== 2 && v !== 3) throw new CommandError("unsupported protocol version", "NOPROTO");
      proto = v;
      i = 2;
    }
    let name: string | undefined;
    for (; i < args.length; i++) {
      const opt = args[i]!.toUpperCase();
      if (opt === "AUTH" && i + 2 < args.length) {
        checkPassword(r, args[i + 1]!, args[i + 2]!);
        c.authenticated = true;
        i += 2;
      } else if (opt === "SETNAME" && i + 1 < args.length) {
        name = args[++i]!;
        if (/[\s]/.test(name)) {
          throw new CommandError(
            "Client names cannot contain spaces, newlines or special characters.",
          );
        }
      } else throw new CommandError(`Syntax error in HELLO option '${args[i]}'`);
    }
    if (!c.authenticated) {
      throw new CommandError(
        "HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
        "NOAUTH",
      );
    }
    if (name !== undefined) c.name = name;
    c.proto = proto;
    const out = r.writer(c);
    if (out !== w) {
      // The protocol changed: build this reply with the new writer's shape.
      helloReply(r, c, out);
      const bytes = out.take();
      w.raw(bytes);
      return;
    }
    helloReply(r, c, w);
  }),
  { noAuth: true },
);

function helloReply(r: Router, c: Client, w: RespWriter): void {
  w.map(7);
  w.bulk("server");
  w.bulk("redis");
  w.bulk("version");
  w.bulk(REDIS_COMPAT_VERSION);
  w.bulk("proto");
  w.int(c.proto);
  w.bulk("id");
  w.int(c.id);
  w.bulk("mode");
  w.bulk("standalone");
  w.bulk("role");
  w.bulk(r.role);
  w.bulk("modules");
  w.array(0);
}

def("quit", -1, ["fast", "no_auth", "stale", "loading"], (r, c, _args, slot) => {
  r.reply(c, slot, (w) => w.simple("OK"));
  c.kill(true);
}, { noAuth: true });

def(
  "reset",
  1,
  ["fast", "no_auth", "stale", "loading"],
  sync((r, c, _args, w) => {
    c.db = 0;
    c.proto = 2;
    c.name = "";
    c.authenticated = r.config.requirepass === "";
    c.multi = undefined;
    c.multiError = false;
    r.unwatch(c);
    w.simple("RESET");
  }),
  { noAuth: true },
);

function clientInfoLine(r: Router, c: Client): string {
  const subs = r.subscriptionCounts?.(c) ?? { channels: 0, patterns: 0 };
  const multi = c.multi === undefined ? -1 : c.multi.length;
  const now = Date.now();
  return `id=${c.id} addr=${c.addr} laddr=${c.laddr} fd=-1 name=${c.name} age=${
    Math.floor((now - c.createdAt) / 1000)
  } idle=${
    Math.floor((now - c.lastCommandAt) / 1000)
  } flags=${c.flags} db=${c.db} sub=${subs.channels} psub=${subs.patterns} ssub=0 multi=${multi} qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=${c.lastCommand} user=default redir=-1 resp=${c.proto}\n`;
}

def(
  "client",
  -2,
  ["stale"],
  sync((r, c, args, w) => {
    const sub = args[1]!.toLowerCase();
    switch (sub) {
      case "id":
        if (args.length !== 2) break;
        w.int(c.id);
        return;
      case "getname":
        if (args.length !== 2) break;
        if (c.name === "") w.nullBulk();
        else w.bulk(c.name);
        return;
      case "setname": {
        if (args.length !== 3) break;
        const name = args[2]!;
        for (let i = 0; i < name.length; i++) {
          const ch = name.charCodeAt(i);
          if (ch < 33 || ch > 126) {
            throw new CommandError(
              "Client names cannot contain spaces, newlines or special characters.",
            );
          }
        }
        c.name = name;
        w.simple("OK");
        return;
      }
      case "info":
        if (args.length !== 2) break;
        w.verbatim(clientInfoLine(r, c));
        return;
      case "list": {
        let lines = "";
        for (const other of r.clients.values()) lines += clientInfoLine(r, other);
        w.verbatim(lines);
        return;
      }
      case "pause": {
        if (args.length < 3) subcommandArity("pause");
        if (args.length !== 3 && args.length !== 4) break;
        const mode = args.length === 4 ? args[3]!.toLowerCase() : "all";
        if (mode !== "all" && mode !== "write") {
          throw new CommandError("CLIENT PAUSE mode must be WRITE or ALL");
        }
        const ms = tryParseInt(args[2]!);
        if (ms === undefined) throw new CommandError("timeout is not an integer or out of range");
        if (ms < 0) throw new CommandError("timeout is negative");
        r.pauseClients(ms, mode === "write");
        w.simple("OK");
        return;
      }
      case "unpause":
        if (args.length !== 2) subcommandArity("unpause");
        r.unpauseClients();
        w.simple("OK");
        return;
      case "unblock": {
        if (args.length < 3) subcommandArity("unblock");
        if (args.length !== 3 && args.length !== 4) break;
        const id = tryParseInt(args[2]!);
        if (id === undefined) throw notIntegerError();
        let withError = false;
        if (args.length === 4) {
          const how = args[3]!.toLowerCase();
          if (how === "error") withError = true;
          else if (how !== "timeout") {
            throw new CommandError("CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
          }
        }
        const target = r.clients.get(id);
        w.int(target !== undefined && r.blocking?.unblock(target, withError) ? 1 : 0);
        return;
      }
      case "setinfo":
      case "no-evict":
      case "no-touch":
        w.simple("OK");
        return;
      case "kill": {
        const targets = clientKillTargets(r, c, args);
        if (targets === "old") {
          const addr = args[2]!;
          const t = [...r.clients.values()].find((x) => x.addr === addr);
          if (!t) throw new CommandError("No such client");
          t.kill(t === c);
          w.simple("OK");
          return;
        }
        for (const t of targets) t.kill(t === c);
        w.int(targets.length);
        return;
      }
      case "help":
        w.array(1);
        w.simple(
          "CLIENT <subcommand> [<arg> ...]. Subcommands are: ID GETNAME SETNAME INFO LIST KILL",
        );
        return;
      default:
        throw new CommandError(`unknown subcommand '${args[1]}'. Try CLIENT HELP.`);
    }
    throw new CommandError(
      `unknown subcommand or wrong number of arguments for '${args[1]}'. Try CLIENT HELP.`,
    );
  }),
);

/** Throws Redis' arity error of a CLIENT subcommand. */
function subcommandArity(sub: string): never {
  throw new CommandError(`wrong number of arguments for 'client|${sub}' command`);
}

function clientKillTargets(r: Router, self: Client, args: string[]): Client[] | "old" {
  if (args.length === 3) return "old";
  if (args.length < 4 || args.length % 2 !== 0) throw syntaxError();
  let list = [...r.clients.values()];
  let skipMe = true;
  for (let i = 2; i + 1 < args.length; i += 2) {
    const opt = args[i]!.toLowerCase();
    const v = args[i + 1]!;
    if (opt === "id") {
      const id = tryParseInt(v);
      if (id === undefined || id <= 0) throw new CommandError("client-id should be greater than 0");
      list = list.filter((x) => x.id === id);
    } else if (opt === "addr") list = list.filter((x) => x.addr === v);
    else if (opt === "laddr") list = list.filter((x) => x.laddr === v);
    else if (opt === "type") {
      const t = v.toLowerCase();
      if (!["normal", "master", "replica", "slave", "pubsub"].includes(t)) {
        throw new CommandError(`Unknown client type '${v}'`);
      }
      const flag = t === "master" ? "M" : t === "normal" ? "N" : t === "pubsub" ? "P" : "S";
      list = list.filter((x) => x.flags === flag);
    } else if (opt === "user") list = v === "default" ? list : [];
    else if (opt === "skipme") {
      const s = v.toLowerCase();
      if (s !== "yes" && s !== "no") throw syntaxError();
      skipMe = s === "yes";
    } else throw syntaxError();
  }
  return skipMe ? list.filter((x) => x !== self) : list;
}

// ---- transactions ----

def(
  "multi",
  1,
  ["noscript", "loading", "stale", "fast"],
  sync((_r, c, _args, w) => {
    if (c.multi !== undefined) throw new CommandError("MULTI calls can not be nested");
    c.multi = [];
    c.multiError = false;
    w.simple("OK");
  }),
);

def("exec", 1, ["noscript", "loading", "stale"], (r, c, _args, slot) => {
  if (c.multi === undefined) return r.replyError(slot, "ERR EXEC without MULTI");
  r.exec(c).then((bytes) => {
    slot.data = bytes;
    slot.owner.slotReady();
  }, (e) => r.replyError(slot, `ERR ${e instanceof Error ? e.message : e}`));
});

def(
  "discard",
  1,
  ["noscript", "loading", "stale", "fast"],
  sync((r, c, _args, w) => {
    if (c.multi === undefined) throw new CommandError("DISCARD without MULTI");
    c.multi = undefined;
    c.multiError = false;
    r.unwatch(c);
    w.simple("OK");
  }),
);

def("watch", -2, ["noscript", "loading", "stale", "fast"], (r, c, args, slot) => {
  if (c.multi !== undefined) return r.replyError(slot, "ERR WATCH inside MULTI is not allowed");
  r.watch(c, args.slice(1)).then(
    () => r.reply(c, slot, (w) => w.simple("OK")),
    (e) => r.replyError(slot, `ERR ${e instanceof Error ? e.message : e}`),
  );
}, { firstKey: 1, lastKey: -1, step: 1 });

def(
  "unwatch",
  1,
  ["noscript", "loading", "stale", "fast"],
  sync((r, c, _args, w) => {
    r.unwatch(c);
    w.simple("OK");
  }),
);

// ---- server ----

def(
  "time",
  1,
  ["fast", "loading", "stale"],
  sync((_r, _c, _args, w) => {
    const us = BigInt(Math.floor(performance.timeOrigin * 1000 + performance.now() * 1000));
    w.array(2);
    w.bulk(String(us / 1000000n));
    w.bulk(String(us % 1000000n));
  }),
);

def(
  "function",
  -2,
  ["noscript"],
  sync((_r, _c, args, w) => {
    const sub = args[1]!.toLowerCase();
    if (sub === "flush") w.simple("OK");
    else if (sub === "list") w.array(0);
    else throw new CommandError(`unknown subcommand '${args[1]}'. Try FUNCTION HELP.`);
  }),
);

def("shutdown", -1, ["admin", "noscript", "loading", "stale"], (r, c, _args, slot) => {
  r.reply(c, slot, (w) => w.simple("OK"));
  queueMicrotask(() => r.onShutdown());
});

def(
  "config",
  -2,
  ["admin", "noscript", "loading", "stale"],
  sync((r, _c, args, w) => {
    const sub = args[1]!.toLowerCase();
    const cfg = r.config as unknown as Record<string, string | number>;
    if (sub === "get") {
      if (args.length < 3) {
        throw new CommandError("wrong number of arguments for 'config|get' command");
      }
      const names = new Set<string>();
      for (const pat of args.slice(2)) {
        for (const name of Object.keys(cfg)) {
          if (globMatch(pat.toLowerCase(), name)) names.add(name);
        }
      }
      w.map(names.size);
      for (const name of names) {
        w.bulk(name);
        w.bulk(
          name === "requirepass" || name === "masterauth" ? String(cfg[name]) : String(cfg[name]),
        );
      }
      return;
    }
    if (sub === "set") {
      if (args.length < 4 || args.length % 2 !== 0) {
        throw new CommandError("wrong number of arguments for 'config|set' command");
      }
      const staged = structuredClone(r.config) as ServerConfig;
      for (let i = 2; i < args.length; i += 2) applySetting(staged, args[i]!, args[i + 1]!);
      Object.assign(r.config, staged);
      r.configChanged();
      w.simple("OK");
      return;
    }
    if (sub === "resetstat") {
      r.stats.commands = 0;
      r.stats.rejectedCalls = 0;
      w.simple("OK");
      return;
    }
    if (sub === "rewrite") throw new CommandError("The server is running without a config file");
    throw new CommandError(`unknown subcommand '${args[1]}'. Try CONFIG HELP.`);
  }),
);

function commandInfo(
  w: RespWriter,
  name: string,
  m: { arity: number; flags: readonly string[]; firstKey: number; lastKey: number; step: number },
): void {
  w.array(10);
  w.bulk(name);
  w.int(m.arity);
  w.set(m.flags.length);
  for (const f of m.flags) w.simple(f);
  w.int(m.firstKey);
  w.int(m.lastKey);
  w.int(m.step);
  w.set(0);
  w.set(0);
  w.array(0);
  w.array(0);
}

def(
  "command",
  -1,
  ["loading", "stale"],
  sync((r, _c, args, w) => {
    const routes = r.routes;
    const spec = (name: string) => {
      const rt = routes.get(name);
      return rt === undefined ? undefined : (rt.main ?? rt.def);
    };
    if (args.length === 1) {
      w.array(routes.size);
      for (const name of routes.keys()) commandInfo(w, name, spec(name)!);
      return;
    }
    const sub = args[1]!.toLowerCase();
    if (sub === "count") {
      w.int(routes.size);
      return;
    }
    if (sub === "list") {
      w.array(routes.size);
      for (const name of routes.keys()) w.bulk(name);
      return;
    }
    if (sub === "info") {
      const names = args.length > 2
        ? args.slice(2).map((n) => n.toLowerCase())
        : [...routes.keys()];
      w.array(names.length);
      for (const n of names) {
        const s = spec(n);
        if (s === undefined) w.nullArray();
        else commandInfo(w, n, s);
      }
      return;
    }
    if (sub === "docs") {
      // Enough for redis-cli's hints: every command with an empty doc map.
      const names = args.length > 2
        ? args.slice(2).map((n) => n.toLowerCase()).filter((n) => routes.has(n))
        : [...routes.keys()];
      w.map(names.length);
      for (const n of names) {
        w.bulk(n);
        w.map(0);
      }
      return;
    }
    if (sub === "getkeys") {
      throw new CommandError("COMMAND GETKEYS is not supported");
    }
    throw new CommandError(`unknown subcommand '${args[1]}'. Try COMMAND HELP.`);
  }),
);

// ---- keyless commands answered by every shard ----

def(
  "dbsize",
  1,
  ["readonly", "fast"],
  async(async (r, c, args) => {
    const parts = await r.broadcast(c, args);
    let n = 0;
    for (const p of parts) n += typeof p === "number" ? p : 0;
    return (w) => w.int(n);
  }),
);

for (const name of ["flushdb", "flushall"]) {
  def(
    name,
    -1,
    ["write"],
    async(async (r, c, args) => {
      const parts = await r.broadcast(c, args);
      const err = parts.find((p) => p instanceof Error);
      return (w) => err ? w.error((err as Error).message) : w.simple("OK");
    }),
  );
}

def(
  "keys",
  2,
  ["readonly"],
  async(async (r, c, args) => {
    const parts = await r.broadcast(c, args);
    const all: string[] = [];
    for (const p of parts) if (Array.isArray(p)) { for (const k of p) all.push(k as string); }
    return (w) => {
      w.array(all.length);
      for (const k of all) w.bulk(k);
    };
  }),
);

def(
  "randomkey",
  1,
  ["readonly"],
  async(async (r, c, args) => {
    const parts = (await r.broadcast(c, args)).filter((p): p is string => typeof p === "string");
    return (w) => {
      if (parts.length === 0) w.nullBulk();
      else w.bulk(parts[Math.floor(Math.random() * parts.length)]!);
    };
  }),
);

def(
  "scan",
  -2,
  ["readonly"],
  async(async (r, c, args) => {
    // The cursor carries the shard in its low part: cursor = local * shards + shard. Shards are
    // visited in order; a reply gathers shards until COUNT keys were found, so a small database
    // comes back whole with cursor 0, as from Redis.
    const cur = parseScanCursor(args[1]!);
    if (cur === undefined) throw new CommandError("invalid cursor");
    const n = BigInt(r.pool.count);
    let shard = Number(cur % n);
    let local = cur / n;
    const rest = args.slice(2);
    let count = 10;
    for (let i = 0; i + 1 < rest.length; i += 2) {
      if (rest[i]!.toLowerCase() === "count") count = Number(rest[i + 1]) || 10;
    }
    const keys: string[] = [];
    let cursor = 0n;
    for (;;) {
      const reply = decodeReply(await r.onShard(shard, c.db, 2, ["SCAN", String(local), ...rest]));
      if (reply instanceof Error) throw new CommandError(reply.message.replace(/^ERR /, ""));
      const [next, found] = reply as [string, string[]];
      for (const k of found) keys.push(k);
      local = BigInt(next);
      if (local !== 0n) {
        cursor = local * n + BigInt(shard);
        break;
      }
      shard++;
      if (shard >= r.pool.count) break;
      if (keys.length >= count) {
        cursor = BigInt(shard);
        break;
      }
    }
    return (w) => {
      w.array(2);
      w.bulk(String(cursor));
      w.array(keys.length);
      for (const k of keys) w.bulk(k);
    };
  }),
);

/** A SCAN cursor as Redis reads it (strtoul: optional sign, "" is 0, negatives wrap). */
function parseScanCursor(s: string): bigint | undefined {
  if (!/^[+-]?\d*$/.test(s)) return undefined;
  const neg = s.startsWith("-");
  const digits = s.replace(/^[+-]/, "");
  const v = digits === "" ? 0n : BigInt(digits);
  if (v >= 1n << 64n) return undefined;
  return neg && v !== 0n ? (1n << 64n) - v : v;
}

// ---- INFO ----

async function shardStats(r: Router): Promise<ShardStats[]> {
  const answers: FromShard[] = await r.pool.broadcast({ t: "stats" });
  return answers.flatMap((a) => a.t === "stats" ? [a.stats] : []);
}

/** Sections INFO prints by default, in order. */
const DEFAULT_SECTIONS = [
  "server",
  "clients",
  "memory",
  "persistence",
  "stats",
  "replication",
  "cpu",
  "keyspace",
  "tessera",
];

def(
  "info",
  -1,
  ["loading", "stale"],
  async(async (r, _c, args) => {
    const wanted = args.slice(1).map((a) => a.toLowerCase());
    const all = wanted.includes("all") || wanted.includes("everything");
    const sections = wanted.length === 0 || wanted.includes("default") || all
      ? DEFAULT_SECTIONS
      : wanted;
    const stats = await shardStats(r);
    const text = await r.infoText(sections, stats);
    return (w) => w.verbatim(text);
  }),
);

/** Builds the INFO text for `sections` (shared with the replication module's fields). */
export function infoSections(
  r: Router,
  sections: string[],
  stats: ShardStats[],
  extra: Map<string, string[]>,
): string {
  const out: string[] = [];
  const mem = Deno.memoryUsage();
  const uptime = Math.floor((Date.now() - r.startedAt) / 1000);
  for (const s of sections) {
    const lines: string[] = [];
    switch (s) {
      case "server":
        lines.push(
          "# Server",
          `redis_version:${REDIS_COMPAT_VERSION}`,
          `tessera_version:${VERSION}`,
          "redis_mode:standalone",
          `os:${Deno.build.os} ${Deno.build.arch}`,
          `arch_bits:64`,
          `process_id:${Deno.pid}`,
          `tcp_port:${r.port}`,
          `uptime_in_seconds:${uptime}`,
          `uptime_in_days:${Math.floor(uptime / 86400)}`,
          `hz:${r.config.hz}`,
          `executable:deno`,
          `deno_version:${Deno.version.deno}`,
        );
        break;
      case "clients":
        lines.push(
          "# Clients",
          `connected_clients:${r.clients.size}`,
          `blocked_clients:${r.blocking?.blockedClients ?? 0}`,
          "maxclients:" + r.config.maxclients,
        );
        break;
      case "memory":
        lines.push(
          "# Memory",
          `used_memory:${mem.heapUsed}`,
          `used_memory_human:${(mem.heapUsed / 1048576).toFixed(2)}M`,
          `used_memory_rss:${mem.rss}`,
          `used_memory_rss_human:${(mem.rss / 1048576).toFixed(2)}M`,
          `total_system_memory:${Deno.systemMemoryInfo().total}`,
        );
        break;
      case "stats": {
        let expired = 0;
        for (const st of stats) expired += st.expiredKeys;
        lines.push(
          "# Stats",
          `total_connections_received:${r.stats.connectionsReceived}`,
          `total_commands_processed:${r.stats.commands}`,
          `rejected_calls:${r.stats.rejectedCalls}`,
          `expired_keys:${expired}`,
          `cross_shard_commands:${r.stats.crossShardCommands}`,
        );
        for (const p of r.statsProviders) lines.push(...p());
        break;
      }
      case "cpu":
        lines.push("# CPU");
        break;
      case "keyspace": {
        lines.push("# Keyspace");
        for (let db = 0; db < 16; db++) {
          let keys = 0;
          let expires = 0;
          for (const st of stats) {
            keys += st.dbs[db]?.keys ?? 0;
            expires += st.dbs[db]?.expires ?? 0;
          }
          if (keys > 0) lines.push(`db${db}:keys=${keys},expires=${expires},avg_ttl=0`);
        }
        break;
      }
      case "tessera": {
        lines.push("# Tessera", `shards:${r.pool.count}`);
        for (const st of stats) {
          let keys = 0;
          for (const d of st.dbs) keys += d.keys;
          lines.push(`shard${st.shard}:keys=${keys},commands=${st.commands},dirty=${st.dirty}`);
        }
        break;
      }
      default: {
        const more = extra.get(s);
        if (more) lines.push(...more);
      }
    }
    if (lines.length) out.push(lines.join("\r\n"));
  }
  return out.length ? out.join("\r\n\r\n") + "\r\n" : "";
}

/** Every main-thread command by name. */
export const MAIN_COMMANDS: Map<string, MainCommand> = new Map(table.map((m) => [m.name, m]));

// Subcommand arities as Redis 7.0's COMMAND INFO gives them.
const SUBCOMMANDS: Record<string, Record<string, number>> = {
  config: { get: -3, set: -4, resetstat: 2, rewrite: 2, help: 2 },
  client: {
    id: 2,
    getname: 2,
    setname: 3,
    info: 2,
    list: -2,
    kill: -3,
    pause: -3,
    unpause: 2,
    unblock: -3,
    setinfo: 4,
    "no-evict": 3,
    "no-touch": 3,
    help: 2,
  },
  command: { count: 2, info: -2, docs: -2, list: -2, getkeys: -3, help: 2 },
  function: { flush: -2, list: -2, help: 2 },
};
for (const [name, subs] of Object.entries(SUBCOMMANDS)) {
  const cmd = MAIN_COMMANDS.get(name);
  if (cmd) cmd.subcommands = subs;
}
