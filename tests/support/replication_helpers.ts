/**
 * Helpers for replication tests: in-process Tessera nodes on temp dirs with fast retries, that
 * can be stopped and restarted on the same dir and port; wait-until helpers with timeouts; and a
 * key-by-key comparison of two datasets (every db: keys, TYPE, value by type, PTTL within a
 * tolerance, PEXPIRETIME exactly) plus TESSERA DIGEST.
 */
import assert from "node:assert/strict";
import { type ServerOptions, TesseraServer } from "../../server/server.ts";
import type { ReplicationCoordinator } from "../../replication/coordinator.ts";
import type { ReplicaLink } from "../../replication/replica_link.ts";
import type { FullSyncResult } from "../../replication/rsync_types.ts";
import { keySlotOfString, slotShard } from "../../engine/slot.ts";
import { type Arg, ReplyError, type ReplyValue, RespClient } from "../resp_client.ts";

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Options every test node gets unless overridden: quick retries, no save rules. */
export function defaultNodeOptions(): ServerOptions {
  return {
    shards: 2,
    save: "",
    replication: {
      backoff: { baseMs: 50, maxMs: 400 },
      fullSync: { metaAttempts: 3, fileAttempts: 3, backoffBaseMs: 10 },
    },
  };
}

/**
 * An in-process Tessera server on its own temp dir. `call()` uses one cached connection (opened
 * again after a restart); `stop()` / `restart()` keep the dir and the port; disposing stops the
 * server and removes the dir.
 */
export class TestNode implements AsyncDisposable {
  readonly name: string;
  readonly dir: string;
  options: ServerOptions;
  port = 0;
  #server: TesseraServer | undefined;
  #client: RespClient | undefined;
  readonly #clients = new Set<RespClient>();

  private constructor(name: string, dir: string, options: ServerOptions) {
    this.name = name;
    this.dir = dir;
    this.options = options;
  }

  /** Starts a node on a fresh temp dir; `options` are merged over {@link defaultNodeOptions}. */
  static async start(name: string, options: ServerOptions = {}): Promise<TestNode> {
    const dir = await Deno.makeTempDir({ prefix: `tessera-repl-${name}-` });
    const defaults = defaultNodeOptions();
    const merged: ServerOptions = {
      ...defaults,
      ...options,
      replication: {
        backoff: options.replication?.backoff ?? defaults.replication!.backoff,
        fullSync: { ...defaults.replication!.fullSync, ...options.replication?.fullSync },
      },
    };
    const node = new TestNode(name, dir, merged);
    try {
      await node.#start();
    } catch (e) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw e;
    }
    return node;
  }

  async #start(): Promise<void> {
    this.#server = await TesseraServer.start({
      ...this.options,
      port: this.port,
      dir: this.dir,
    });
    this.port = this.#server.port;
  }

  get running(): boolean {
    return this.#server !== undefined;
  }

  get server(): TesseraServer {
    if (this.#server === undefined) throw new Error(`${this.name} is not running`);
    return this.#server;
  }

  /** The node's replication coordinator (master side and replica side). */
  get coordinator(): ReplicationCoordinator {
    return this.server.node.replication;
  }

  /** The replica link, or undefined when this node is a master. */
  get link(): ReplicaLink | undefined {
    return this.#server?.node.replication.link;
  }

  /** The replica link; fails when there is none. */
  get requireLink(): ReplicaLink {
    const l = this.link;
    if (l === undefined) throw new Error(`${this.name} has no replica link`);
    return l;
  }

  /** A new connection, closed by stop(). */
  async client(): Promise<RespClient> {
    const c = await RespClient.connect({ port: this.port });
    this.#clients.add(c);
    c.closed.finally(() => this.#clients.delete(c));
    return c;
  }

  /** One command on the node's shared connection (reconnects after a restart). */
  async call(...args: Arg[]): Promise<ReplyValue> {
    if (this.#client === undefined || this.#client.isClosed) this.#client = await this.client();
    return await this.#client.call(...args);
  }

  /** Like call() but fails on an error reply. */
  async ok(...args: Arg[]): Promise<ReplyValue> {
    const r = await this.call(...args);
    if (r instanceof ReplyError) {
      throw new Error(`${this.name}: ${args.join(" ")} -> ${r.message}`);
    }
    return r;
  }

  /** Several commands in one write on the shared connection; fails on any error reply. */
  async pipeline(cmds: readonly (readonly Arg[])[]): Promise<ReplyValue[]> {
    if (this.#client === undefined || this.#client.isClosed) this.#client = await this.client();
    const replies = await this.#client.pipeline(cmds);
    const bad = replies.findIndex((r) => r instanceof ReplyError);
    if (bad !== -1) {
      throw new Error(
        `${this.name}: ${cmds[bad]!.join(" ")} -> ${(replies[bad] as ReplyError).message}`,
      );
    }
    return replies;
  }

  /** INFO `section` as a map of fields. */
  async info(section = "replication"): Promise<Map<string, string>> {
    return parseInfo(await this.ok("INFO", section) as string);
  }

  /** One INFO field (fails when absent). */
  async infoField(field: string, section = "replication"): Promise<string> {
    const v = (await this.info(section)).get(field);
    if (v === undefined) throw new Error(`${this.name}: INFO ${section} has no ${field}`);
    return v;
  }

  /** Binlog positions per shard (TESSERA BINLOG). */
  async positions(): Promise<string[]> {
    return await this.ok("TESSERA", "BINLOG") as string[];
  }

  /** TESSERA DIGEST: [db, digest, ...] for the non-empty dbs. */
  async digest(): Promise<ReplyValue> {
    return await this.ok("TESSERA", "DIGEST");
  }

  /** Closes the clients, then the server (the dir stays). */
  async stop(): Promise<void> {
    this.#client = undefined;
    await Promise.allSettled([...this.#clients].map((c) => c.close()));
    this.#clients.clear();
    const s = this.#server;
    this.#server = undefined;
    await s?.close();
  }

  /** Stops and starts again on the same dir and port. */
  async restart(): Promise<void> {
    await this.stop();
    await this.startAgain();
  }

  /** Starts again on the same dir and port after stop(). */
  async startAgain(): Promise<void> {
    if (this.#server !== undefined) throw new Error(`${this.name} is running`);
    // The port may be briefly unavailable right after the old listener closed.
    for (let i = 0;; i++) {
      try {
        await this.#start();
        return;
      } catch (e) {
        if (!(e instanceof Deno.errors.AddrInUse) || i >= 50) throw e;
        await sleep(50);
      }
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

/** Parses INFO output into field → value. */
export function parseInfo(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\r\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const i = line.indexOf(":");
    if (i > 0) out.set(line.slice(0, i), line.slice(i + 1));
  }
  return out;
}

/** Options of {@link waitFor}. */
export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Extra text for the timeout error (e.g. the state seen last). */
  detail?: () => string | Promise<string>;
}

/**
 * Polls `fn` until it returns a truthy value and returns it; fails after `timeoutMs` (default
 * 15 s) with `what` and the detail.
 */
export async function waitFor<T>(
  what: string,
  fn: () => T | Promise<T>,
  options: WaitOptions = {},
): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      let detail = "";
      try {
        detail = options.detail ? ` (${await options.detail()})` : "";
      } catch (e) {
        detail = ` (detail failed: ${e})`;
      }
      const cause = lastError === undefined ? "" : `; last error: ${String(lastError)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}${cause}`);
    }
    await sleep(options.intervalMs ?? 20);
  }
}

/** A line describing a replica's link, for timeout messages. */
export function linkDetail(replica: TestNode): string {
  const l = replica.link;
  if (l === undefined) return `${replica.name}: no link`;
  return `${replica.name}: state=${l.state} counters=${JSON.stringify(l.counters)} lastError=${
    l.lastError?.message ?? "-"
  } lastFullSync=${
    l.lastFullSync === undefined
      ? "-"
      : l.lastFullSync.ok
      ? "ok"
      : `err ${l.lastFullSync.stage}: ${l.lastFullSync.cause.message}`
  }`;
}

/**
 * Waits until the replica's link is connected and its binlog positions equal the master's (the
 * replica writes the master's records at the master's positions, so equal positions mean it has
 * applied everything the master logged).
 */
export async function waitSynced(
  master: TestNode,
  replica: TestNode,
  timeoutMs = 20_000,
): Promise<void> {
  await waitFor("the replica to catch up with the master", async () => {
    if (replica.link?.state !== "connected") return false;
    const [m, r] = await Promise.all([master.positions(), replica.positions()]);
    return JSON.stringify(m) === JSON.stringify(r);
  }, {
    timeoutMs,
    detail: async () =>
      `${linkDetail(replica)}; master at ${
        JSON.stringify(await master.positions().catch((e) => String(e)))
      }, replica at ${JSON.stringify(await replica.positions().catch((e) => String(e)))}`,
  });
}

/** REPLICAOF the master (or `port`, e.g. a proxy) and wait until the replica is in sync. */
export async function follow(
  replica: TestNode,
  master: TestNode,
  port = master.port,
): Promise<void> {
  assert.equal(await replica.call("REPLICAOF", "127.0.0.1", port), "OK");
  await waitSynced(master, replica);
}

/**
 * Records every value assigned to `link.lastFullSync` (the link keeps only the last one).
 * Install right after the link is created (same tick as the REPLICAOF reply is fine: a sync
 * takes several round trips).
 */
export function recordFullSyncs(link: ReplicaLink): FullSyncResult[] {
  const seen: FullSyncResult[] = [];
  let current = link.lastFullSync;
  Object.defineProperty(link, "lastFullSync", {
    configurable: true,
    enumerable: true,
    get: () => current,
    set: (v: FullSyncResult | undefined) => {
      current = v;
      if (v !== undefined) seen.push(v);
    },
  });
  return seen;
}

/** Records every error message the link shows (`link.lastError` is cleared once it recovers). */
export function recordErrors(link: ReplicaLink): string[] {
  const seen: string[] = [];
  let current = link.lastError;
  Object.defineProperty(link, "lastError", {
    configurable: true,
    enumerable: true,
    get: () => current,
    set: (v: ReplicaLink["lastError"]) => {
      current = v;
      if (v !== undefined) seen.push(v.message);
    },
  });
  return seen;
}

// ---------------------------------------------------------------------------------------------
// Dataset comparison

/** Every key of the selected db, sorted, through SCAN. */
async function scanAll(c: RespClient): Promise<string[]> {
  const keys = new Set<string>();
  let cursor = "0";
  do {
    const r = await c.call("SCAN", cursor, "COUNT", 1000);
    if (r instanceof ReplyError) throw r;
    const [next, batch] = r as [string, string[]];
    for (const k of batch) keys.add(k);
    cursor = next;
  } while (cursor !== "0");
  return [...keys].sort();
}

function valueCommand(type: string, key: string): Arg[] {
  switch (type) {
    case "string":
      return ["GET", key];
    case "hash":
      return ["HGETALL", key];
    case "list":
      return ["LRANGE", key, 0, -1];
    case "set":
      return ["SMEMBERS", key];
    case "zset":
      return ["ZRANGE", key, 0, -1, "WITHSCORES"];
    default:
      throw new Error(`unexpected type ${type} of ${key}`);
  }
}

/** A value in a canonical form: hash pairs and set members sorted. */
function canonicalValue(type: string, v: ReplyValue): unknown {
  if (type === "hash") {
    const a = v as string[];
    const pairs: Array<[string, string]> = [];
    for (let i = 0; i + 1 < a.length; i += 2) pairs.push([a[i]!, a[i + 1]!]);
    return pairs.sort((x, y) => x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0);
  }
  if (type === "set") return [...(v as string[])].sort();
  return v;
}

interface KeyState {
  type: string;
  value: unknown;
  pttl: number;
  pexpiretime: number;
}

async function readKeys(c: RespClient, keys: string[]): Promise<KeyState[]> {
  const types = await c.pipeline(keys.map((k) => ["TYPE", k]));
  const cmds: Arg[][] = [];
  for (const [i, k] of keys.entries()) {
    cmds.push(valueCommand(types[i] as string, k), ["PTTL", k], ["PEXPIRETIME", k]);
  }
  const replies = await c.pipeline(cmds);
  return keys.map((_, i) => {
    const type = types[i] as string;
    const [v, pttl, at] = replies.slice(i * 3, i * 3 + 3);
    for (const r of [v, pttl, at]) if (r instanceof ReplyError) throw r;
    return {
      type,
      value: canonicalValue(type, v!),
      pttl: pttl as number,
      pexpiretime: at as number,
    };
  });
}

/** What {@link assertSameDataset} compared. */
export interface DatasetSummary {
  /** Keys per db, for the non-empty dbs. */
  keys: Map<number, number>;
  total: number;
  withTtl: number;
}

/**
 * Asserts that the two nodes hold the same dataset: for every db the same keys (SCAN), and for
 * each key the same TYPE, value, PEXPIRETIME (exact) and PTTL (within `ttlToleranceMs`); then
 * the same TESSERA DIGEST. Use keys with long TTLs: reading an expired key changes the dataset.
 */
export async function assertSameDataset(
  master: TestNode,
  replica: TestNode,
  ttlToleranceMs = 2000,
): Promise<DatasetSummary> {
  await using mc = await RespClient.connect({ port: master.port });
  await using rc = await RespClient.connect({ port: replica.port });
  const summary: DatasetSummary = { keys: new Map(), total: 0, withTtl: 0 };
  for (let db = 0; db < 16; db++) {
    assert.equal(await mc.call("SELECT", db), "OK");
    assert.equal(await rc.call("SELECT", db), "OK");
    const [mk, rk] = await Promise.all([scanAll(mc), scanAll(rc)]);
    assert.deepEqual(rk, mk, `db ${db}: the replica's keys differ from the master's`);
    if (mk.length === 0) continue;
    summary.keys.set(db, mk.length);
    summary.total += mk.length;
    const [ms, rs] = await Promise.all([readKeys(mc, mk), readKeys(rc, rk)]);
    for (const [i, key] of mk.entries()) {
      const m = ms[i]!;
      const r = rs[i]!;
      const where = `db ${db} key ${JSON.stringify(key)}`;
      assert.equal(r.type, m.type, `${where}: type`);
      assert.deepEqual(r.value, m.value, `${where}: value`);
      assert.equal(r.pexpiretime, m.pexpiretime, `${where}: PEXPIRETIME`);
      if (m.pttl < 0 || r.pttl < 0) assert.equal(r.pttl, m.pttl, `${where}: PTTL`);
      else {
        assert.ok(
          Math.abs(r.pttl - m.pttl) <= ttlToleranceMs,
          `${where}: PTTL ${r.pttl} on the replica, ${m.pttl} on the master`,
        );
      }
      if (m.pexpiretime >= 0) summary.withTtl++;
    }
  }
  assert.deepEqual(await replica.digest(), await master.digest(), "TESSERA DIGEST");
  return summary;
}

// ---------------------------------------------------------------------------------------------
// Data

/** Shard of a key for a node with `shards` shards. */
export function shardOf(key: string, shards: number): number {
  return slotShard(keySlotOfString(key), shards);
}

/** `count` keys `${base}:<i>` alternating over the shards (so a multi-key write spans them). */
export function crossShardKeys(base: string, count: number, shards = 2): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < count; i++) {
    const k = `${base}:${i}`;
    if (shardOf(k, shards) === out.length % shards) out.push(k);
  }
  return out;
}

/** A deterministic pseudo-random string of `n` latin1 chars (binary-safe, incompressible). */
export function randomValue(seed: number, n: number): string {
  let x = (seed * 2654435761 + 1) >>> 0;
  let s = "";
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    s += String.fromCharCode(x & 0xff);
  }
  return s;
}

/** Writes about `bytes` bytes of string keys `${prefix}:<i>` (values of `valueSize` bytes). */
export async function fillBytes(
  node: TestNode,
  prefix: string,
  bytes: number,
  valueSize = 2000,
): Promise<number> {
  const n = Math.ceil(bytes / valueSize);
  for (let i = 0; i < n; i += 100) {
    const cmds: Arg[][] = [];
    for (let j = i; j < Math.min(n, i + 100); j++) {
      cmds.push(["SET", `${prefix}:${j}`, randomValue(j + 7, valueSize)]);
    }
    await node.pipeline(cmds);
  }
  return n;
}

/** True when the node knows ZADD (sorted sets are being added). */
export async function hasZsets(node: TestNode): Promise<boolean> {
  const r = await node.ok("COMMAND", "INFO", "zadd") as ReplyValue[];
  return Array.isArray(r) && r[0] !== null && r[0] !== undefined;
}

/** Sum of the sizes of the files of a full sync result. */
export function snapshotBytes(r: FullSyncResult): number {
  if (!r.ok) throw new Error("not a successful full sync");
  return r.meta.files.reduce((s, f) => s + f.size, 0);
}

/** Concurrency of chunk requests served by a master (see {@link trackChunks}). */
export interface ChunkTracker {
  calls: number;
  inFlight: number;
  maxInFlight: number;
  files: Set<string>;
  /** Puts the original chunk() back. */
  restore(): void;
}

/**
 * Wraps the master's `rsync.chunk()` to count the chunk requests being served at once. Each
 * request is held `delayMs` first, so requests sent concurrently by the replica overlap on the
 * master whatever the disk speed (a request's whole service time is inside the count).
 */
export function trackChunks(master: TestNode, delayMs: number): ChunkTracker {
  const rsync = master.coordinator.rsync;
  const original = rsync.chunk;
  const t: ChunkTracker = {
    calls: 0,
    inFlight: 0,
    maxInFlight: 0,
    files: new Set(),
    restore: () => {
      rsync.chunk = original;
    },
  };
  rsync.chunk = async (snapshotId, file, offset, length) => {
    t.calls++;
    t.files.add(file);
    t.inFlight++;
    t.maxInFlight = Math.max(t.maxInFlight, t.inFlight);
    try {
      await sleep(delayMs);
      return await original.call(rsync, snapshotId, file, offset, length);
    } finally {
      t.inFlight--;
    }
  };
  return t;
}
