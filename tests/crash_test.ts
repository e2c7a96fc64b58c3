/**
 * Crash safety of the real server process: main.ts is killed with SIGKILL while clients write,
 * then restarted on the same data directory.
 *
 * - `appendfsync always`: every write that got a reply is there after the restart (a write still
 *   in flight at the kill may or may not have landed).
 * - `appendfsync everysec`: what is lost is only a tail: each client's strictly increasing
 *   sequence survives as a prefix, never with a hole.
 * - Keys that expired (before the kill, or while the server was down) stay expired.
 */
import assert from "node:assert/strict";
import { TesseraProcess } from "./support/redis_process.ts";
import { ReplyError, type ReplyValue, RespClient } from "./resp_client.ts";
import { keySlotOfString, slotShard } from "../engine/slot.ts";

const SHARDS = 2;

async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "tessera-crash-" });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}

/** Starts main.ts on `dir` and waits until it serves (it listens before loading its data). */
async function start(dir: string, fsync: "always" | "everysec"): Promise<TesseraProcess> {
  const proc = await TesseraProcess.start([
    "--dir",
    dir,
    "--shards",
    String(SHARDS),
    "--appendfsync",
    fsync,
    "--loglevel",
    "warning",
  ]);
  try {
    const c = await RespClient.connect({ port: proc.port });
    try {
      assert.equal(await c.call("PING"), "PONG");
    } finally {
      await c.close();
    }
  } catch (e) {
    await proc.kill("SIGKILL");
    throw e;
  }
  return proc;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function shardOf(key: string): number {
  return slotShard(keySlotOfString(key), SHARDS);
}

/** `count` keys `${base}:<i>` that live on alternating shards (so MSET spans both). */
function crossShardKeys(base: string, count: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < count; i++) {
    const k = `${base}:${i}`;
    if (shardOf(k) === out.length % SHARDS) out.push(k);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// appendfsync always: every acknowledged write survives

type Kind = "set" | "setex" | "incr" | "rpush" | "hset" | "sadd" | "zadd" | "mset";

interface Op {
  kind: Kind;
  n: number;
  args: string[];
  /** Keys MSET writes (value `v<n>` each). */
  keys?: string[];
  acked: boolean;
}

/** Everything one client issued in one round. */
class WriterLog {
  readonly prefix: string;
  readonly ops: Op[] = [];
  error: string | undefined;
  /** When the connection died (must be after the kill). */
  endedAt = 0;
  constructor(prefix: string) {
    this.prefix = prefix;
  }
  of(kind: Kind): Op[] {
    return this.ops.filter((o) => o.kind === kind);
  }
}

function makeOp(p: string, n: number, kinds: readonly Kind[]): Op {
  const kind = kinds[n % kinds.length]!;
  const v = `v${n}`;
  switch (kind) {
    case "set":
      return { kind, n, args: ["SET", `${p}:s:${n}`, v], acked: false };
    case "setex":
      return { kind, n, args: ["SET", `${p}:ex:${n}`, v, "EX", "3600"], acked: false };
    case "incr":
      return { kind, n, args: ["INCR", `${p}:ctr`], acked: false };
    case "rpush":
      return { kind, n, args: ["RPUSH", `${p}:list`, String(n)], acked: false };
    case "hset":
      return { kind, n, args: ["HSET", `${p}:h`, `f${n}`, v], acked: false };
    case "sadd":
      return { kind, n, args: ["SADD", `${p}:set`, `m${n}`], acked: false };
    case "zadd":
      return { kind, n, args: ["ZADD", `${p}:z`, String(n), `m${n}`], acked: false };
    case "mset": {
      const keys = crossShardKeys(`${p}:m:${n}`, 4);
      return { kind, n, args: ["MSET", ...keys.flatMap((k) => [k, v])], keys, acked: false };
    }
  }
}

/** Writes until the connection dies (the kill), one command at a time, logging every ack. */
async function writer(port: number, log: WriterLog, kinds: readonly Kind[]): Promise<void> {
  let c: RespClient;
  try {
    c = await RespClient.connect({ port });
  } catch (e) {
    log.error = `cannot connect: ${e}`;
    return;
  }
  try {
    for (let n = 0;; n++) {
      const op = makeOp(log.prefix, n, kinds);
      log.ops.push(op);
      let reply: ReplyValue;
      try {
        reply = await c.call(...op.args);
      } catch {
        log.endedAt = Date.now();
        return; // the server was killed: this op is in doubt
      }
      if (reply instanceof ReplyError) {
        log.error = `${op.args.join(" ")} -> ${reply.message}`;
        return;
      }
      op.acked = true;
    }
  } finally {
    await c.close().catch(() => {});
  }
}

/** Checks every acknowledged write of `log` against the restarted server. */
async function verifyLog(c: RespClient, log: WriterLog): Promise<void> {
  const p = log.prefix;
  assert.equal(log.error, undefined, `${p}: a write failed: ${log.error}`);
  const ctx = (what: string) => `${p}: ${what}`;

  // Plain and EX strings: acked ones hold their value; an unacked one holds it or nothing.
  for (const kind of ["set", "setex"] as const) {
    const ops = log.of(kind);
    if (ops.length === 0) continue;
    const got = await c.pipeline(ops.map((o) => ["GET", o.args[1]!]));
    ops.forEach((o, i) => {
      if (o.acked) assert.equal(got[i], `v${o.n}`, ctx(`acked ${o.args.join(" ")} lost`));
      else assert.ok(got[i] === null || got[i] === `v${o.n}`, ctx(`${o.args[1]} = ${got[i]}`));
    });
    if (kind === "setex") {
      const ttls = await c.pipeline(ops.filter((o) => o.acked).map((o) => ["TTL", o.args[1]!]));
      for (const t of ttls) {
        assert.ok(typeof t === "number" && t > 3500 && t <= 3600, ctx(`EX key lost its TTL: ${t}`));
      }
    }
  }

  // Counter: at least the acked INCRs, at most the issued ones.
  const incr = log.of("incr");
  if (incr.length > 0) {
    const acked = incr.filter((o) => o.acked).length;
    const raw = await c.call("GET", `${p}:ctr`);
    const value = raw === null ? 0 : Number(raw);
    assert.ok(value >= acked && value <= incr.length, ctx(`ctr=${value}, acked ${acked}`));
  }

  // List: exactly the pushed values, in order, at least through the last acked push.
  const pushes = log.of("rpush");
  if (pushes.length > 0) {
    const acked = pushes.filter((o) => o.acked).length;
    const list = await c.call("LRANGE", `${p}:list`, 0, -1) as string[];
    assert.ok(Array.isArray(list), ctx(`LRANGE: ${list}`));
    assert.ok(list.length >= acked && list.length <= pushes.length, ctx(`LLEN ${list.length}`));
    assert.deepEqual(list, pushes.slice(0, list.length).map((o) => String(o.n)), ctx("list"));
  }

  // Hash, set, zset: every acked member is there; nothing that was never issued.
  const members: Array<[Kind, (o: Op) => string[], (o: Op) => ReplyValue, string[]]> = [
    ["hset", (o) => ["HGET", `${p}:h`, `f${o.n}`], (o) => `v${o.n}`, ["HLEN", `${p}:h`]],
    ["sadd", (o) => ["SISMEMBER", `${p}:set`, `m${o.n}`], () => 1, ["SCARD", `${p}:set`]],
    ["zadd", (o) => ["ZSCORE", `${p}:z`, `m${o.n}`], (o) => String(o.n), ["ZCARD", `${p}:z`]],
  ];
  for (const [kind, read, want, count] of members) {
    const ops = log.of(kind);
    if (ops.length === 0) continue;
    const acked = ops.filter((o) => o.acked);
    const got = await c.pipeline(acked.map(read));
    acked.forEach((o, i) => assert.deepEqual(got[i], want(o), ctx(`acked ${o.args.join(" ")}`)));
    const n = await c.call(...count) as number;
    assert.ok(n >= acked.length && n <= ops.length, ctx(`${count[0]} ${n}`));
  }

  // MSET across shards: every key of an acked MSET.
  const msets = log.of("mset").filter((o) => o.acked);
  if (msets.length > 0) {
    const got = await c.pipeline(msets.map((o) => ["MGET", ...o.keys!]));
    msets.forEach((o, i) => {
      assert.deepEqual(got[i], o.keys!.map(() => `v${o.n}`), ctx(`acked MSET ${o.n}`));
    });
  }
}

async function hasCommand(c: RespClient, name: string): Promise<boolean> {
  const info = await c.call("COMMAND", "INFO", name);
  return Array.isArray(info) && info[0] !== null;
}

Deno.test({
  name: "SIGKILL during concurrent writes (appendfsync always): every acknowledged write survives",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using dir = await tempDir();
    const ROUNDS = 5;
    const CLIENTS = 6;
    const logs: WriterLog[] = [];
    let kinds: Kind[] | undefined;
    let acks = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const proc = await start(dir.path, "always");
      try {
        const admin = await RespClient.connect({ port: proc.port });
        try {
          if (kinds === undefined) {
            kinds = ["set", "setex", "incr", "rpush", "hset", "sadd", "mset"];
            if (await hasCommand(admin, "zadd")) kinds.push("zadd");
          }
          // Everything acknowledged in earlier rounds is still there after this restart.
          for (const log of logs) await verifyLog(admin, log);

          const roundLogs = Array.from(
            { length: CLIENTS },
            (_, i) => new WriterLog(`r${round}:c${i}`),
          );
          logs.push(...roundLogs);
          const writers = roundLogs.map((log) => writer(proc.port, log, kinds!));
          // Some rounds also take a snapshot while writing: round 1 kills during/after BGSAVE,
          // round 3 completes a SAVE and keeps writing on top of it.
          await sleep(250 + Math.random() * 200);
          if (round === 1) assert.equal(await admin.call("BGSAVE"), "Background saving started");
          if (round === 3) assert.equal(await admin.call("SAVE"), "OK");
          await sleep(200 + Math.random() * 400);
          const killedAt = Date.now();
          await proc.kill("SIGKILL");
          await Promise.all(writers);
          for (const log of roundLogs) {
            assert.equal(log.error, undefined, log.error);
            assert.ok(log.endedAt >= killedAt, `${log.prefix}: connection lost before the kill`);
            acks += log.ops.filter((o) => o.acked).length;
          }
        } finally {
          await admin.close().catch(() => {});
        }
      } finally {
        await proc.kill("SIGKILL");
      }
    }
    assert.ok(acks > ROUNDS * CLIENTS * 20, `too few writes to mean anything: ${acks}`);
    // The last round's writes, after one more restart.
    const proc = await start(dir.path, "always");
    try {
      const c = await RespClient.connect({ port: proc.port });
      try {
        for (const log of logs) await verifyLog(c, log);
      } finally {
        await c.close();
      }
    } finally {
      await proc.kill("SIGKILL");
    }
  },
});

Deno.test({
  name: "expired keys stay expired after a restart (expired before the kill or while down)",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using dir = await tempDir();
    let proc = await start(dir.path, "always");
    let setLateAt: number;
    try {
      const c = await RespClient.connect({ port: proc.port });
      try {
        for (let i = 0; i < 10; i++) {
          assert.equal(await c.call("SET", `px:${i}`, "v", "PX", 100), "OK");
        }
        assert.equal(await c.call("RPUSH", "px:list", "a", "b"), 2);
        assert.equal(await c.call("PEXPIRE", "px:list", 100), 1);
        assert.equal(await c.call("HSET", "px:hash", "f", "v"), 1);
        assert.equal(await c.call("PEXPIREAT", "px:hash", Date.now() + 100), 1);
        assert.equal(await c.call("SET", "keep", "v", "PX", 600_000), "OK");
        assert.equal(await c.call("SET", "plain", "v"), "OK");
        // Expires while the server is down: replaying a relative PX would bring it back.
        setLateAt = Date.now();
        assert.equal(await c.call("SET", "px:late", "v", "PX", 1500), "OK");
        assert.equal(await c.call("GET", "px:late"), "v");
        await sleep(300); // the short ones expire (nobody reads them)
      } finally {
        await c.close();
      }
    } finally {
      await proc.kill("SIGKILL");
    }
    await sleep(Math.max(0, setLateAt + 1700 - Date.now()));

    const gone = [...Array.from({ length: 10 }, (_, i) => `px:${i}`), "px:list", "px:hash"];
    const check = async (c: RespClient, what: string) => {
      for (const k of [...gone, "px:late"]) {
        assert.equal(await c.call("EXISTS", k), 0, `${what}: ${k} came back`);
        assert.equal(await c.call("PTTL", k), -2, `${what}: ${k} has a TTL`);
      }
      assert.deepEqual(
        ((await c.call("KEYS", "*")) as string[]).sort(),
        ["keep", "plain"],
        what,
      );
      assert.equal(await c.call("GET", "px:late"), null, what);
      assert.equal(await c.call("GET", "keep"), "v", what);
      const ttl = await c.call("PTTL", "keep") as number;
      assert.ok(ttl > 500_000 && ttl <= 600_000, `${what}: keep PTTL ${ttl}`);
      assert.equal(await c.call("PTTL", "plain"), -1, what);
    };

    proc = await start(dir.path, "always");
    try {
      const c = await RespClient.connect({ port: proc.port });
      try {
        await check(c, "after the first restart");
      } finally {
        await c.close();
      }
    } finally {
      await proc.kill("SIGKILL");
    }
    // And again, with nothing read before the kill this time, and once more from a snapshot.
    proc = await start(dir.path, "always");
    try {
      const c = await RespClient.connect({ port: proc.port });
      try {
        assert.equal(await c.call("SAVE"), "OK");
      } finally {
        await c.close();
      }
    } finally {
      await proc.kill("SIGKILL");
    }
    proc = await start(dir.path, "always");
    try {
      const c = await RespClient.connect({ port: proc.port });
      try {
        await check(c, "after restarts and a snapshot");
      } finally {
        await c.close();
      }
    } finally {
      await proc.kill("SIGKILL");
    }
  },
});

// ---------------------------------------------------------------------------------------------
// appendfsync everysec: only a tail is lost

interface SeqLog {
  client: number;
  /** Values 1..issued were sent, in order, to the list and to `{tag}:seq:<i>`. */
  issued: number;
  /** Time each value was acknowledged (index i-1 for value i). */
  ackedAt: number[];
  error: string | undefined;
  endedAt?: number;
}

async function seqWriter(port: number, round: number, log: SeqLog): Promise<void> {
  let c: RespClient;
  try {
    c = await RespClient.connect({ port });
  } catch (e) {
    log.error = `cannot connect: ${e}`;
    return;
  }
  const tag = `{e${round}c${log.client}}`;
  try {
    for (let i = 1;; i++) {
      log.issued = i;
      let replies: ReplyValue[];
      try {
        // Both in one pipeline: the push, then the string, each strictly after the previous i.
        replies = await c.pipeline([
          ["RPUSH", `${tag}:list`, String(i)],
          ["SET", `${tag}:seq:${i}`, String(i)],
        ]);
      } catch {
        log.endedAt = Date.now();
        return;
      }
      if (replies[0] !== i || replies[1] !== "OK") {
        log.error = `step ${i}: ${JSON.stringify(replies)}`;
        return;
      }
      log.ackedAt.push(Date.now());
    }
  } finally {
    await c.close().catch(() => {});
  }
}

/** Returns the surviving length after checking the prefix property. */
async function verifySeq(
  c: RespClient,
  round: number,
  log: SeqLog,
  killedAt: number,
): Promise<number> {
  const tag = `{e${round}c${log.client}}`;
  const what = `round ${round} client ${log.client}`;
  assert.equal(log.error, undefined, `${what}: ${log.error}`);
  const list = await c.call("LRANGE", `${tag}:list`, 0, -1) as string[];
  assert.ok(list.length <= log.issued, `${what}: more than issued`);
  assert.deepEqual(list, Array.from({ length: list.length }, (_, i) => String(i + 1)), what);
  const seq = await c.pipeline(
    Array.from({ length: log.issued }, (_, i) => ["GET", `${tag}:seq:${i + 1}`]),
  );
  const present = seq.findIndex((v) => v === null);
  const prefix = present === -1 ? seq.length : present;
  seq.forEach((v, i) => {
    if (i < prefix) assert.equal(v, String(i + 1), `${what}: seq ${i + 1}`);
    else assert.equal(v, null, `${what}: hole before seq ${i + 1}`);
  });
  // Whatever was acknowledged well before the kill (two fsync periods) is durable.
  const old = log.ackedAt.filter((t) => t < killedAt - 2000).length;
  assert.ok(list.length >= old, `${what}: lost list items acked long before the kill`);
  assert.ok(prefix >= old, `${what}: lost strings acked long before the kill`);
  return list.length;
}

Deno.test({
  name:
    "SIGKILL with appendfsync everysec loses at most a tail: per-client sequences stay prefixes",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using dir = await tempDir();
    const CLIENTS = 4;
    const rounds: Array<{ logs: SeqLog[]; killedAt: number; survived: number[] }> = [];
    // After every restart: each earlier round's sequences are prefixes, and exactly as long as
    // they were after the first restart that followed their kill.
    const verifyAll = async (c: RespClient) => {
      for (const [r, { logs, killedAt, survived }] of rounds.entries()) {
        for (const [i, log] of logs.entries()) {
          assert.ok(log.ackedAt.length > 50, `round ${r}: too few writes (${log.ackedAt.length})`);
          const n = await verifySeq(c, r, log, killedAt);
          if (survived[i] === undefined) survived[i] = n;
          else assert.equal(n, survived[i], `round ${r} client ${i} changed after a restart`);
        }
      }
    };
    for (let round = 0; round <= 2; round++) {
      const proc = await start(dir.path, "everysec");
      try {
        const c = await RespClient.connect({ port: proc.port });
        try {
          await verifyAll(c);
        } finally {
          await c.close();
        }
        if (round === 2) break;
        const logs: SeqLog[] = Array.from(
          { length: CLIENTS },
          (_, client) => ({ client, issued: 0, ackedAt: [], error: undefined }),
        );
        const writers = logs.map((log) => seqWriter(proc.port, round, log));
        await sleep(2600 + Math.random() * 300);
        const killedAt = Date.now();
        await proc.kill("SIGKILL");
        await Promise.all(writers);
        for (const log of logs) {
          assert.ok((log.endedAt ?? 0) >= killedAt, `client ${log.client}: lost before the kill`);
        }
        rounds.push({ logs, killedAt, survived: [] });
      } finally {
        await proc.kill("SIGKILL");
      }
    }
    assert.equal(rounds.length, 2);
  },
});
