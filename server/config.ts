/**
 * Server settings: defaults, redis.conf-style files, command-line flags and CONFIG GET/SET.
 */
import { CommandError } from "../engine/errors.ts";

/**
 * Every setting Tessera knows, with its current value as CONFIG GET shows it.
 *
 * @example
 * ```ts
 * import { type ServerConfig, TesseraServer } from "./mod.ts";
 * const settings: Partial<ServerConfig> = { appendfsync: "always", "binlog-keep-files": 4 };
 * await using server = await TesseraServer.start({ port: 0, dir: "./data", ...settings });
 * ```
 */
export interface ServerConfig {
  /** TCP port (default 9221). */
  port: number;
  /** Address to listen on (default 127.0.0.1). */
  bind: string;
  /** Data directory: binlogs, snapshots, replication state. */
  dir: string;
  /** Number of shard workers (default: number of cores). */
  shards: number;
  /** Password clients must AUTH with; empty for none. */
  requirepass: string;
  /** Password this node uses to AUTH with its master. */
  masterauth: string;
  /** debug, verbose, notice or warning. */
  loglevel: string;
  /** When binlog writes reach the disk: before each reply, once a second, or when the OS decides. */
  appendfsync: "always" | "everysec" | "no";
  /** "no" runs in memory (no binlog, no snapshots). */
  appendonly: string;
  /** Snapshot rules as "<seconds> <changes> ..." pairs; empty for none. */
  save: string;
  /** Largest bulk string a client may send. */
  "proto-max-bulk-len": number;
  /** Largest pending query buffer per client. */
  "client-query-buffer-limit": number;
  /** Most client connections at once; more are refused with an error. */
  maxclients: number;
  /** Close ordinary clients idle this many seconds (0: never). */
  timeout: number;
  /** Number of databases (fixed at 16). */
  databases: number;
  /** Active expiry cycles per second. */
  hz: number;
  /** A binlog file rotates past this many bytes. */
  "binlog-file-size": number;
  /** Binlog files always kept by purges. */
  "binlog-keep-files": number;
  /** "yes": a replica refuses writes with READONLY. */
  "replica-read-only": string;
  /** Files a full sync copies at once. */
  "max-rsync-parallel-num": number;
  /** Byte-rate limit of a full sync's copy. */
  "throttle-bytes-per-second": number;
  /** Seconds of silence after which a replication link is dropped. */
  "repl-timeout": number;
  /** Seconds between keepalives on an idle replication link. */
  "repl-ping-replica-period": number;
  /** "yes": start even if a binlog or snapshot is damaged, dropping what follows the damage. */
  "ignore-corruption": string;
}

/** Defaults, as Redis' where the setting exists in Redis. */
export function defaultConfig(): ServerConfig {
  return {
    port: 9221,
    bind: "127.0.0.1",
    dir: "./data",
    shards: navigator.hardwareConcurrency || 1,
    requirepass: "",
    masterauth: "",
    loglevel: "notice",
    appendfsync: "everysec",
    appendonly: "yes",
    save: "3600 1 300 100 60 10000",
    "proto-max-bulk-len": 512 * 1024 * 1024,
    "client-query-buffer-limit": 1024 * 1024 * 1024,
    maxclients: 10000,
    timeout: 0,
    databases: 16,
    hz: 10,
    "binlog-file-size": 100 * 1024 * 1024,
    "binlog-keep-files": 10,
    "replica-read-only": "yes",
    "max-rsync-parallel-num": 4,
    "throttle-bytes-per-second": 200 * 1024 * 1024,
    "repl-timeout": 60,
    "repl-ping-replica-period": 10,
    "ignore-corruption": "no",
  };
}

type Key = keyof ServerConfig;

/** Settings that only take effect at start; CONFIG SET refuses them. */
const IMMUTABLE = new Set<Key>(["port", "bind", "dir", "shards", "databases"]);

const UNITS: Record<string, number> = {
  k: 1000,
  kb: 1024,
  m: 1000 * 1000,
  mb: 1024 * 1024,
  g: 1000 * 1000 * 1000,
  gb: 1024 * 1024 * 1024,
};

/** Parses `100mb`-style memory values as redis.conf does. */
export function parseMemory(s: string): number | undefined {
  const m = /^(-?\d+)([a-z]*)$/i.exec(s.trim());
  if (!m) return undefined;
  const unit = m[2]!.toLowerCase();
  if (unit === "") return Number(m[1]);
  const mul = UNITS[unit];
  return mul === undefined ? undefined : Number(m[1]) * mul;
}

/** Applies one setting, validating it. Throws CommandError with Redis-like text. */
export function applySetting(
  config: ServerConfig,
  name: string,
  value: string,
  atStart = false,
): void {
  const key = name.toLowerCase() as Key;
  if (!(key in config)) {
    throw new CommandError(`Unknown option or number of arguments for CONFIG SET - '${name}'`);
  }
  if (!atStart && IMMUTABLE.has(key)) {
    throw new CommandError(
      `CONFIG SET failed (possibly related to argument '${name}') - can't set immutable config`,
    );
  }
  const bad = () =>
    new CommandError(
      `CONFIG SET failed (possibly related to argument '${name}') - argument couldn't be parsed into an integer`,
    );
  const current = config[key];
  if (typeof current === "number") {
    const n = parseMemory(value);
    if (n === undefined || !Number.isFinite(n)) throw bad();
    if (key === "shards" && (n < 1 || n > 256)) {
      throw new CommandError("shards must be between 1 and 256");
    }
    (config as unknown as Record<string, number>)[key] = n;
    return;
  }
  if (key === "appendfsync") {
    const v = value.toLowerCase();
    if (v !== "always" && v !== "everysec" && v !== "no") {
      throw new CommandError(
        `CONFIG SET failed (possibly related to argument 'appendfsync') - argument(s) must be one of the following: always, everysec, no`,
      );
    }
    config.appendfsync = v;
    return;
  }
  if (key === "replica-read-only" || key === "appendonly" || key === "ignore-corruption") {
    const v = value.toLowerCase();
    if (v !== "yes" && v !== "no") {
      throw new CommandError(
        `CONFIG SET failed (possibly related to argument '${name}') - argument must be 'yes' or 'no'`,
      );
    }
    (config as unknown as Record<string, string>)[key] = v;
    return;
  }
  (config as unknown as Record<string, string>)[key] = value;
}

/** Splits a redis.conf line into words, honouring double and single quotes. */
function splitConfLine(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (const m of line.matchAll(re)) out.push(m[1] ?? m[2] ?? m[3] ?? "");
  return out;
}

/** Reads a redis.conf-style file (`key value` lines, `#` comments) into `config`. */
export function applyConfigFile(config: ServerConfig, text: string): void {
  const saves: string[] = [];
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const words = splitConfLine(line);
    const name = words[0]!.toLowerCase();
    if (name === "save") {
      saves.push(words.slice(1).join(" "));
      continue;
    }
    if (words.length < 2) throw new Error(`config line ${i + 1}: missing value for '${name}'`);
    try {
      applySetting(config, name, words.slice(1).join(" "), true);
    } catch (e) {
      throw new Error(`config line ${i + 1}: ${e instanceof Error ? e.message : e}`);
    }
  }
  if (saves.length) config.save = saves.join(" ").trim();
}

/** Names matching a CONFIG GET glob pattern. */
export function configNames(config: ServerConfig): Key[] {
  return Object.keys(config) as Key[];
}
