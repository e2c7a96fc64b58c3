/**
 * Generic key commands: DEL, UNLINK, EXISTS, TYPE, the EXPIRE/TTL family, PERSIST, KEYS, SCAN,
 * RANDOMKEY, RENAME(NX), COPY, DBSIZE, FLUSHDB, FLUSHALL, OBJECT, TOUCH, MEMORY USAGE.
 *
 * KEYS, SCAN, RANDOMKEY, DBSIZE, FLUSHDB and FLUSHALL are keyless: the router runs them on every
 * shard and merges the replies, so here they only see this shard's share of the data (and the
 * SCAN cursor is shard-local).
 */
import type { CommandContext, CommandDef } from "../command.ts";
import { cloneEntry, type Db, DB_COUNT, type Entry } from "../keyspace.ts";
import type { ReplySink } from "../reply.ts";
import { CommandError, ERR_NO_SUCH_KEY, notIntegerError, syntaxError } from "../errors.ts";
import { isOpt, parseInt64, tryParseBigInt, tryParseInt } from "../args.ts";
import { globMatch } from "../glob.ts";
import { parseScanCursor, parseScanOptions, scanCollection } from "../scan.ts";
import type { SortedSet } from "../sorted_set.ts";

// ---------------------------------------------------------------------------------------------
// Encodings (OBJECT ENCODING) with the thresholds redis-server 7.0 uses when started without a
// config file: hash-max-listpack-entries 512, hash-max-listpack-value 64,
// zset-max-listpack-entries 128, zset-max-listpack-value 64, set-max-intset-entries 512.
// Lists are always "quicklist" in 7.0. Redis never converts back to the compact encoding when a
// collection shrinks; the encoding here is derived from the current content only.

/** hash-max-listpack-entries as redis-server 7.0 defaults it (redis.conf sets 128). */
export const HASH_MAX_LISTPACK_ENTRIES = 512;
/** hash-max-listpack-value. */
export const HASH_MAX_LISTPACK_VALUE = 64;
/** zset-max-listpack-entries. */
export const ZSET_MAX_LISTPACK_ENTRIES = 128;
/** zset-max-listpack-value. */
export const ZSET_MAX_LISTPACK_VALUE = 64;
/** set-max-intset-entries. */
export const SET_MAX_INTSET_ENTRIES = 512;

/** True when Redis would keep this hash as a listpack (HSCAN then replies it whole). */
export function hashIsListpack(h: Map<string, string>): boolean {
  if (h.size > HASH_MAX_LISTPACK_ENTRIES) return false;
  for (const [f, v] of h) {
    if (f.length > HASH_MAX_LISTPACK_VALUE || v.length > HASH_MAX_LISTPACK_VALUE) return false;
  }
  return true;
}

/** True when Redis would keep this set as an intset (SSCAN then replies it whole). */
export function setIsIntset(s: Set<string>): boolean {
  if (s.size > SET_MAX_INTSET_ENTRIES) return false;
  for (const m of s) if (!isLongLong(m)) return false;
  return true;
}

/** True when Redis would keep this sorted set as a listpack (ZSCAN then replies it whole). */
export function zsetIsListpack(z: SortedSet): boolean {
  if (z.size > ZSET_MAX_LISTPACK_ENTRIES) return false;
  for (const [m] of z.entries()) if (m.length > ZSET_MAX_LISTPACK_VALUE) return false;
  return true;
}

/** Redis' string2ll: a canonical 64-bit integer ("-0", "+1", "01" are not). */
function isLongLong(s: string): boolean {
  return tryParseBigInt(s) !== undefined;
}

/** The encoding OBJECT ENCODING reports for `e`. */
export function objectEncoding(e: Entry): string {
  switch (e.type) {
    case "string":
      if (isLongLong(e.value)) return "int";
      return e.value.length <= 44 ? "embstr" : "raw";
    case "hash":
      return hashIsListpack(e.value) ? "listpack" : "hashtable";
    case "list":
      return "quicklist";
    case "set":
      return setIsIntset(e.value) ? "intset" : "hashtable";
    case "zset":
      return zsetIsListpack(e.value) ? "listpack" : "skiplist";
  }
}

// ---------------------------------------------------------------------------------------------
// MEMORY USAGE: an estimate modelled on Redis' objectComputeSize with jemalloc size classes.

/** Rounds an allocation up to jemalloc's size class. */
function alloc(n: number): number {
  if (n <= 8) return 8;
  if (n <= 128) return (n + 15) & ~15;
  const step = 2 ** (Math.floor(Math.log2(n - 1)) - 2);
  return Math.ceil(n / step) * step;
}

/** Allocation of an sds string of `len` bytes (header + bytes + NUL). */
function sdsSize(len: number): number {
  const hdr = len < 256 ? 3 : len < 65536 ? 5 : 9;
  return alloc(hdr + len + 1);
}

/** Bytes a string takes inside a listpack (encoding + data + backlen). */
function listpackEntrySize(s: string): number {
  let n: number;
  const v = s.length <= 20 && isLongLong(s) ? Number(s) : undefined;
  if (v !== undefined) {
    if (v >= 0 && v <= 127) n = 1;
    else if (v >= -4096 && v <= 4095) n = 2;
    else if (v >= -32768 && v <= 32767) n = 3;
    else if (v >= -8388608 && v <= 8388607) n = 4;
    else if (v >= -2147483648 && v <= 2147483647) n = 5;
    else n = 9;
  } else {
    n = s.length + (s.length <= 63 ? 1 : s.length <= 4095 ? 2 : 5);
  }
  return n + (n <= 127 ? 1 : n < 16383 ? 2 : n < 2097151 ? 3 : n < 268435455 ? 4 : 5);
}

const ROBJ = 16;
const DICT = 56;
const DICT_ENTRY = 24;

function dictSlots(n: number): number {
  let slots = 4;
  while (slots < n) slots *= 2;
  return slots * 8;
}

/** Average of `size(item)` over the first `samples` items, times `count`. */
function sampled<T>(items: Iterable<T>, count: number, samples: number, size: (x: T) => number) {
  let total = 0;
  let seen = 0;
  for (const x of items) {
    if (seen >= samples) break;
    total += size(x);
    seen++;
  }
  return seen === 0 ? 0 : Math.round((total / seen) * count);
}

/** Approximate bytes used by `key` holding `e` (MEMORY USAGE). */
export function memoryUsage(key: string, e: Entry, samples: number): number {
  let size = DICT_ENTRY + sdsSize(key.length) + ROBJ;
  switch (e.type) {
    case "string": {
      const len = e.value.length;
      if (len <= 20 && isLongLong(e.value)) break;
      size += len <= 44 ? alloc(ROBJ + 3 + len + 1) - ROBJ : sdsSize(len);
      break;
    }
    case "hash": {
      const h = e.value;
      if (hashIsListpack(h)) {
        let lp = 7;
        for (const [f, v] of h) lp += listpackEntrySize(f) + listpackEntrySize(v);
        size += alloc(lp);
      } else {
        size += DICT + dictSlots(h.size) +
          sampled(
            h,
            h.size,
            samples,
            ([f, v]) => DICT_ENTRY + sdsSize(f.length) + sdsSize(v.length),
          );
      }
      break;
    }
    case "list": {
      // quicklist: 40-byte header, nodes of up to 8 KB listpacks.
      let lp = 7;
      let nodes = 1;
      let total = 0;
      for (const v of e.value) {
        const n = listpackEntrySize(v);
        if (lp + n > 8192) {
          total += alloc(lp);
          lp = 7;
          nodes++;
        }
        lp += n;
      }
      size += 40 + nodes * 32 + total + alloc(lp);
      break;
    }
    case "set": {
      const s = e.value;
      if (setIsIntset(s)) {
        let width = 2;
        for (const m of s) {
          const v = Number(m);
          if (v < -2147483648 || v > 2147483647) width = 8;
          else if ((v < -32768 || v > 32767) && width < 4) width = 4;
        }
        size += alloc(8 + width * s.size);
      } else {
        size += DICT + dictSlots(s.size) +
          sampled(s, s.size, samples, (m) => DICT_ENTRY + sdsSize(m.length));
      }
      break;
    }
    case "zset": {
      const z = e.value;
      if (zsetIsListpack(z)) {
        let lp = 7;
        for (const [m, sc] of z.entries()) {
          lp += listpackEntrySize(m) + listpackEntrySize(String(sc));
        }
        size += alloc(lp);
      } else {
        size += 16 + 32 + DICT + dictSlots(z.size) + 640 +
          sampled(z.entries(), z.size, samples, ([m]) => DICT_ENTRY + sdsSize(m.length) + 48);
      }
      break;
    }
  }
  return size;
}

// ---------------------------------------------------------------------------------------------
// Helpers

const LLONG_MAX = 9223372036854775807n;
const LLONG_MIN = -9223372036854775808n;

function singleKey(firstKey = 1): Pick<CommandDef, "firstKey" | "lastKey" | "step"> {
  return { firstKey, lastKey: firstKey, step: 1 };
}

const ALL_KEYS = { firstKey: 1, lastKey: -1, step: 1 } as const;
const NO_KEYS = { firstKey: 0, lastKey: 0, step: 0 } as const;

function wrongSubArity(cmd: string, sub: string): CommandError {
  return new CommandError(`wrong number of arguments for '${cmd}|${sub.toLowerCase()}' command`);
}

function unknownSubcommand(cmd: string, sub: string): CommandError {
  return new CommandError(`unknown subcommand '${sub.slice(0, 128)}'. Try ${cmd} HELP.`);
}

function writeLines(out: ReplySink, lines: readonly string[]): void {
  out.array(lines.length);
  for (const l of lines) out.simple(l);
}

/** DEL and UNLINK: removes the keys, replies how many existed, propagates the ones removed. */
function delHandler(ctx: CommandContext, args: string[], out: ReplySink): void {
  let removed: string[] | undefined;
  let n = 0;
  for (let i = 1; i < args.length; i++) {
    const key = args[i]!;
    if (ctx.db.delete(key)) {
      n++;
      (removed ??= []).push(key);
    }
  }
  if (n > 0) ctx.propagate(n === args.length - 1 ? args : [args[0]!, ...removed!]);
  out.int(n);
}

/** EXISTS and TOUCH: how many of the keys (repetitions counted) exist. */
function countExisting(ctx: CommandContext, args: string[], out: ReplySink): void {
  let n = 0;
  for (let i = 1; i < args.length; i++) if (ctx.db.has(args[i]!)) n++;
  out.int(n);
}

/**
 * The EXPIRE family. `seconds`: the time argument is in seconds; `absolute`: it is a Unix time
 * rather than relative to now.
 */
function expireHandler(name: string, seconds: boolean, absolute: boolean): CommandDef {
  return {
    name,
    arity: -3,
    flags: ["write", "fast"],
    ...singleKey(),
    handler(ctx, args, out) {
      let nx = false;
      let xx = false;
      let gt = false;
      let lt = false;
      for (let j = 3; j < args.length; j++) {
        const opt = args[j]!;
        if (isOpt(opt, "NX")) nx = true;
        else if (isOpt(opt, "XX")) xx = true;
        else if (isOpt(opt, "GT")) gt = true;
        else if (isOpt(opt, "LT")) lt = true;
        else throw new CommandError(`Unsupported option ${opt}`);
      }
      if (nx && (xx || gt || lt)) {
        throw new CommandError("NX and XX, GT or LT options at the same time are not compatible");
      }
      if (gt && lt) throw new CommandError("GT and LT options at the same time are not compatible");
      let when = tryParseBigInt(args[2]!);
      if (when === undefined) throw notIntegerError();
      const invalid = () => new CommandError(`invalid expire time in '${name}' command`);
      if (seconds) {
        if (when > LLONG_MAX / 1000n || when < LLONG_MIN / 1000n) throw invalid();
        when *= 1000n;
      }
      const now = ctx.now();
      if (!absolute) {
        const base = BigInt(now);
        if (when > LLONG_MAX - base) throw invalid();
        when += base;
      }
      const key = args[1]!;
      if (!ctx.db.has(key)) {
        out.int(0);
        return;
      }
      if (nx || xx || gt || lt) {
        const current = ctx.db.expireAt(key);
        if (nx && current !== undefined) return out.int(0);
        if (xx && current === undefined) return out.int(0);
        if (gt && (current === undefined || when <= current)) return out.int(0);
        if (lt && current !== undefined && when >= current) return out.int(0);
      }
      if (when <= now) {
        ctx.db.delete(key);
        ctx.propagate(["DEL", key]);
      } else {
        ctx.db.setExpireAt(key, Number(when));
        ctx.propagate(["PEXPIREAT", key, String(when)]);
      }
      out.int(1);
    },
  };
}

/** TTL, PTTL, EXPIRETIME, PEXPIRETIME. */
function ttlHandler(name: string, ms: boolean, absolute: boolean): CommandDef {
  return {
    name,
    arity: 2,
    flags: ["readonly", "fast"],
    ...singleKey(),
    handler(ctx, args, out) {
      const key = args[1]!;
      if (!ctx.db.has(key)) return out.int(-2);
      const at = ctx.db.expireAt(key);
      if (at === undefined) return out.int(-1);
      let t = absolute ? at : at - ctx.now();
      if (t < 0) t = 0;
      out.int(ms ? t : Math.trunc((t + 500) / 1000));
    },
  };
}

/** Optional ASYNC|SYNC of FLUSHDB / FLUSHALL. */
function checkFlushArgs(args: string[]): void {
  if (args.length > 2) throw syntaxError();
  if (args.length === 2 && !isOpt(args[1]!, "ASYNC") && !isOpt(args[1]!, "SYNC")) {
    throw syntaxError();
  }
}

function renameHandler(name: string, nx: boolean): CommandDef {
  return {
    name,
    arity: 3,
    flags: nx ? ["write", "fast"] : ["write"],
    firstKey: 1,
    lastKey: 2,
    step: 1,
    handler(ctx, args, out) {
      const src = args[1]!;
      const dst = args[2]!;
      const db = ctx.db;
      const e = db.get(src);
      if (e === undefined) throw new CommandError(ERR_NO_SUCH_KEY);
      if (src === dst) {
        if (nx) out.int(0);
        else out.simple("OK");
        return;
      }
      if (nx && db.has(dst)) {
        out.int(0);
        return;
      }
      const at = db.expireAt(src);
      db.delete(src);
      db.set(dst, e);
      if (at !== undefined) db.setExpireAt(dst, at);
      ctx.propagate(args);
      if (nx) out.int(1);
      else out.simple("OK");
    },
  };
}

const OBJECT_HELP = [
  "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "ENCODING <key>",
  "    Return the kind of internal representation used in order to store the value",
  "    associated with a <key>.",
  "FREQ <key>",
  "    Return the access frequency index of the <key>. The returned integer is",
  "    proportional to the logarithm of the recent access frequency of the key.",
  "IDLETIME <key>",
  "    Return the idle time of the <key>, that is the approximated number of",
  "    seconds elapsed since the last access to the key.",
  "REFCOUNT <key>",
  "    Return the number of references of the value associated with the specified",
  "    <key>.",
  "HELP",
  "    Prints this help.",
];

const MEMORY_HELP = [
  "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "DOCTOR",
  "    Return memory problems reports.",
  "MALLOC-STATS",
  "    Return internal statistics report from the memory allocator.",
  "PURGE",
  "    Attempt to purge dirty pages for reclamation by the allocator.",
  "STATS",
  "    Return information about the memory usage of the server.",
  "USAGE <key> [SAMPLES <count>]",
  "    Return memory in bytes used by <key> and its value. Nested values are",
  "    sampled up to <count> times (default: 5, 0 means sample all).",
  "HELP",
  "    Prints this help.",
];

const OBJECT_KEY_SUBCOMMANDS = new Set(["ENCODING", "FREQ", "IDLETIME", "REFCOUNT"]);

/** Redis shares the integer objects 0..9999; OBJECT REFCOUNT reports them as INT_MAX. */
const SHARED_REFCOUNT = 2147483647;

// ---------------------------------------------------------------------------------------------

export const keyCommands: CommandDef[] = [
  { name: "del", arity: -2, flags: ["write"], ...ALL_KEYS, handler: delHandler },
  { name: "unlink", arity: -2, flags: ["write", "fast"], ...ALL_KEYS, handler: delHandler },
  {
    name: "exists",
    arity: -2,
    flags: ["readonly", "fast"],
    ...ALL_KEYS,
    handler: countExisting,
  },
  { name: "touch", arity: -2, flags: ["readonly", "fast"], ...ALL_KEYS, handler: countExisting },
  {
    name: "type",
    arity: 2,
    flags: ["readonly", "fast"],
    ...singleKey(),
    handler(ctx, args, out) {
      const e = ctx.db.get(args[1]!);
      out.simple(e === undefined ? "none" : e.type);
    },
  },
  expireHandler("expire", true, false),
  expireHandler("pexpire", false, false),
  expireHandler("expireat", true, true),
  expireHandler("pexpireat", false, true),
  ttlHandler("ttl", false, false),
  ttlHandler("pttl", true, false),
  ttlHandler("expiretime", false, true),
  ttlHandler("pexpiretime", true, true),
  {
    name: "persist",
    arity: 2,
    flags: ["write", "fast"],
    ...singleKey(),
    handler(ctx, args, out) {
      const key = args[1]!;
      if (ctx.db.has(key) && ctx.db.persist(key)) {
        ctx.propagate(args);
        out.int(1);
      } else {
        out.int(0);
      }
    },
  },
  {
    name: "keys",
    arity: 2,
    flags: ["readonly"],
    ...NO_KEYS,
    handler(ctx, args, out) {
      const pattern = args[1]!;
      const all = pattern === "*";
      const found: string[] = [];
      for (const key of ctx.db.keys()) if (all || globMatch(pattern, key)) found.push(key);
      out.array(found.length);
      for (const k of found) out.bulk(k);
    },
  },
  {
    name: "scan",
    arity: -2,
    flags: ["readonly"],
    ...NO_KEYS,
    handler(ctx, args, out) {
      const cursor = parseScanCursor(args[1]!);
      const opts = parseScanOptions(args, 2, true);
      const db = ctx.db;
      const step = scanCollection<string>(
        { owner: db, iterate: () => db.keys(), alive: (k) => db.has(k) },
        cursor,
        opts.count,
      );
      const type = opts.type?.toLowerCase();
      const keys: string[] = [];
      for (const k of step.items) {
        if (opts.match !== undefined && !globMatch(opts.match, k)) continue;
        if (type !== undefined && db.get(k)?.type !== type) continue;
        keys.push(k);
      }
      out.array(2);
      out.bulk(String(step.cursor));
      out.array(keys.length);
      for (const k of keys) out.bulk(k);
    },
  },
  {
    name: "randomkey",
    arity: 1,
    flags: ["readonly"],
    ...NO_KEYS,
    handler(ctx, _args, out) {
      const key = randomKey(ctx);
      if (key === undefined) out.nullBulk();
      else out.bulk(key);
    },
  },
  renameHandler("rename", false),
  renameHandler("renamenx", true),
  {
    name: "copy",
    arity: -3,
    flags: ["write", "denyoom"],
    firstKey: 1,
    lastKey: 2,
    step: 1,
    handler(ctx, args, out) {
      let replace = false;
      let dstDb: Db = ctx.db;
      for (let j = 3; j < args.length; j++) {
        const opt = args[j]!;
        if (isOpt(opt, "REPLACE")) {
          replace = true;
        } else if (isOpt(opt, "DB") && j + 1 < args.length) {
          const n = tryParseInt(args[++j]!);
          if (n === undefined) throw notIntegerError();
          if (n < -2147483648 || n > 2147483647) {
            throw new CommandError(
              "value is out of range, value must between -2147483648 and 2147483647",
            );
          }
          if (n < 0 || n >= DB_COUNT) throw new CommandError("DB index is out of range");
          dstDb = ctx.ks.db(n);
        } else {
          throw syntaxError();
        }
      }
      const src = args[1]!;
      const dst = args[2]!;
      if (dstDb === ctx.db && src === dst) {
        throw new CommandError("source and destination objects are the same");
      }
      const e = ctx.db.get(src);
      if (e === undefined) return out.int(0);
      if (!replace && dstDb.has(dst)) return out.int(0);
      const at = ctx.db.expireAt(src);
      dstDb.set(dst, cloneEntry(e));
      if (at !== undefined) dstDb.setExpireAt(dst, at);
      ctx.propagate(args);
      out.int(1);
    },
  },
  {
    name: "dbsize",
    arity: 1,
    flags: ["readonly", "fast"],
    ...NO_KEYS,
    handler(ctx, _args, out) {
      out.int(ctx.db.size);
    },
  },
  {
    name: "flushdb",
    arity: -1,
    flags: ["write"],
    ...NO_KEYS,
    handler(ctx, args, out) {
      checkFlushArgs(args);
      const n = ctx.db.size;
      ctx.db.clear();
      if (n > 0) ctx.propagate(args);
      out.simple("OK");
    },
  },
  {
    name: "flushall",
    arity: -1,
    flags: ["write"],
    ...NO_KEYS,
    handler(ctx, args, out) {
      checkFlushArgs(args);
      let n = 0;
      for (const db of ctx.ks.dbs) {
        n += db.size;
        db.clear();
      }
      if (n > 0) ctx.propagate(args);
      out.simple("OK");
    },
  },
  {
    name: "object",
    arity: -2,
    flags: ["readonly"],
    ...NO_KEYS,
    keys(args) {
      const sub = args[1]?.toUpperCase();
      return sub !== undefined && OBJECT_KEY_SUBCOMMANDS.has(sub) && args.length > 2 ? [2] : [];
    },
    handler(ctx, args, out) {
      const sub = args[1]!;
      const upper = sub.toUpperCase();
      if (upper === "HELP") {
        if (args.length !== 2) throw wrongSubArity("object", sub);
        return writeLines(out, OBJECT_HELP);
      }
      if (!OBJECT_KEY_SUBCOMMANDS.has(upper)) throw unknownSubcommand("OBJECT", sub);
      if (args.length !== 3) throw wrongSubArity("object", sub);
      const e = ctx.db.get(args[2]!);
      if (e === undefined) return out.nullBulk();
      switch (upper) {
        case "ENCODING":
          return out.bulk(objectEncoding(e));
        case "FREQ":
          throw new CommandError(
            "An LFU maxmemory policy is not selected, access frequency not tracked. Please note " +
              "that when switching between policies at runtime LRU and LFU data will take some " +
              "time to adjust.",
          );
        case "IDLETIME":
          // Access times are not tracked: every key looks just used.
          return out.int(0);
        default: {
          const n = e.type === "string" && isLongLong(e.value) ? Number(e.value) : -1;
          return out.int(n >= 0 && n < 10000 ? SHARED_REFCOUNT : 1);
        }
      }
    },
  },
  {
    name: "memory",
    arity: -2,
    flags: ["readonly"],
    ...NO_KEYS,
    keys(args) {
      return args.length > 2 && args[1]!.toUpperCase() === "USAGE" ? [2] : [];
    },
    handler(ctx, args, out) {
      const sub = args[1]!;
      const upper = sub.toUpperCase();
      if (upper === "HELP") {
        if (args.length !== 2) throw wrongSubArity("memory", sub);
        return writeLines(out, MEMORY_HELP);
      }
      if (upper === "PURGE") {
        if (args.length !== 2) throw wrongSubArity("memory", sub);
        return out.simple("OK");
      }
      if (upper !== "USAGE") throw unknownSubcommand("MEMORY", sub);
      if (args.length < 3) throw wrongSubArity("memory", sub);
      let samples = 5;
      for (let j = 3; j < args.length; j++) {
        if (isOpt(args[j]!, "SAMPLES") && j + 1 < args.length) {
          const n = parseInt64(args[++j]!);
          if (n < 0) throw syntaxError();
          samples = n === 0 ? Infinity : n;
        } else {
          throw syntaxError();
        }
      }
      const key = args[2]!;
      const e = ctx.db.get(key);
      if (e === undefined) return out.nullBulk();
      out.int(memoryUsage(key, e, samples));
    },
  },
];

/** A random live key of the selected db, or undefined when it has none. */
function randomKey(ctx: CommandContext): string | undefined {
  const db = ctx.db;
  while (db.size > 0) {
    const target = Math.floor(ctx.ks.random() * db.size);
    let i = 0;
    let last: string | undefined;
    for (const k of db.keys()) {
      if (i++ === target) return k;
      last = k;
    }
    // Expired keys were removed on the way and the target fell past the end.
    if (last !== undefined) return last;
  }
  return undefined;
}
