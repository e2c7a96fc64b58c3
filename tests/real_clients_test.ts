/**
 * Real Redis clients driving an in-process Tessera server: ioredis (v5), node-redis (v4, RESP2),
 * and the `redis-cli` / `redis-benchmark` tools (skipped when they are not installed).
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Redis } from "ioredis";
import { commandOptions, createClient } from "redis";
import { TesseraServer } from "../server/server.ts";
import { VERSION } from "../server/version.ts";
import { hasCommand } from "./support/redis_process.ts";

const HAS_CLI = hasCommand("redis-cli");
const HAS_BENCHMARK = hasCommand("redis-benchmark");

async function start(): Promise<TesseraServer> {
  return await TesseraServer.start({ port: 0, inMemory: true, shards: 2 });
}

/** Runs `fn` when disposed (for clients that do not implement AsyncDisposable). */
function disposer(fn: () => Promise<unknown>): AsyncDisposable {
  return {
    async [Symbol.asyncDispose]() {
      await fn();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// ioredis

/** An ioredis client that never reconnects, quit (or disconnected) on dispose. */
function ioredis(port: number, options: Record<string, unknown> = {}) {
  const r = new Redis({
    port,
    host: "127.0.0.1",
    retryStrategy: () => null,
    maxRetriesPerRequest: 1,
    ...options,
  });
  r.on("error", () => {}); // errors surface through the rejected commands
  const dispose = disposer(async () => {
    try {
      await r.quit();
    } catch {
      r.disconnect();
    }
  });
  return { r, dispose };
}

Deno.test("ioredis: strings, counters, expiry, multi-key commands across shards", async () => {
  await using server = await start();
  const { r, dispose } = ioredis(server.port);
  await using _c = dispose;

  assert.equal(await r.set("s:k", "hello"), "OK");
  assert.equal(await r.get("s:k"), "hello");
  assert.equal(await r.get("s:missing"), null);
  assert.equal(await r.append("s:k", " world"), 11);
  assert.equal(await r.strlen("s:k"), 11);
  assert.equal(await r.getrange("s:k", 0, 4), "hello");
  assert.equal(await r.set("s:k", "other", "NX"), null);
  assert.equal(await r.set("s:k2", "v", "XX"), null);
  assert.equal(await r.get("s:k"), "hello world");
  assert.equal(await r.getset("s:k", "replaced"), "hello world");
  assert.equal(await r.getdel("s:k"), "replaced");
  assert.equal(await r.exists("s:k"), 0);

  assert.equal(await r.set("s:n", "10"), "OK");
  assert.equal(await r.incr("s:n"), 11);
  assert.equal(await r.incrby("s:n", 5), 16);
  assert.equal(await r.decr("s:n"), 15);
  assert.equal(await r.decrby("s:n", 20), -5);
  assert.equal(await r.incrbyfloat("s:n", "1.5"), "-3.5");
  await assert.rejects(r.incr("s:n"), /ERR value is not an integer or out of range/);

  assert.equal(await r.set("s:ttl", "v", "EX", 100), "OK");
  const ttl = await r.ttl("s:ttl");
  assert.ok(ttl > 90 && ttl <= 100, `ttl ${ttl}`);
  assert.equal(await r.persist("s:ttl"), 1);
  assert.equal(await r.ttl("s:ttl"), -1);
  assert.equal(await r.ttl("s:missing"), -2);
  assert.equal(await r.set("s:px", "v", "PX", 30), "OK");
  await new Promise((res) => setTimeout(res, 80));
  assert.equal(await r.get("s:px"), null, "a PX 30 key is gone after 80 ms");

  // Many keys so that both shards are involved.
  const keys = Array.from({ length: 40 }, (_, i) => `s:multi:${i}`);
  const pairs: Record<string, string> = {};
  keys.forEach((k, i) => pairs[k] = `v${i}`);
  assert.equal(await r.mset(pairs), "OK");
  assert.deepEqual(await r.mget(...keys, "s:none"), [...keys.map((_, i) => `v${i}`), null]);
  assert.equal(await r.exists(...keys, "s:none"), 40);
  assert.equal(await r.msetnx("s:multi:0", "x", "s:fresh", "y"), 0);
  assert.equal(await r.get("s:fresh"), null);
  assert.equal(await r.del(...keys.slice(0, 10), "s:none"), 10);
  assert.equal(await r.dbsize(), 32); // 30 multi keys, s:n and s:ttl

  // UTF-8 text goes through as bytes.
  const text = "héllo ✓ 世界";
  assert.equal(await r.set("s:utf8", text), "OK");
  assert.equal(await r.get("s:utf8"), text);
  assert.equal(await r.strlen("s:utf8"), Buffer.byteLength(text));

  await r.rpush("s:list", "x");
  await assert.rejects(r.get("s:list"), /^ReplyError: WRONGTYPE Operation against a key/);
  assert.equal(await r.type("s:list"), "list");
  assert.equal(await r.type("s:utf8"), "string");
});

Deno.test("ioredis: hashes", async () => {
  await using server = await start();
  const { r, dispose } = ioredis(server.port);
  await using _c = dispose;

  assert.equal(await r.hset("h", { name: "tess", lang: "ts", n: "1" }), 3);
  assert.equal(await r.hset("h", "name", "tessera", "extra", "e"), 1);
  assert.equal(await r.hget("h", "name"), "tessera");
  assert.equal(await r.hget("h", "missing"), null);
  assert.deepEqual(await r.hgetall("h"), { name: "tessera", lang: "ts", n: "1", extra: "e" });
  assert.deepEqual(await r.hmget("h", "lang", "nope", "n"), ["ts", null, "1"]);
  assert.equal(await r.hincrby("h", "n", 41), 42);
  assert.equal(await r.hincrbyfloat("h", "f", "0.25"), "0.25");
  assert.equal(await r.hexists("h", "lang"), 1);
  assert.equal(await r.hexists("h", "nope"), 0);
  assert.equal(await r.hsetnx("h", "lang", "js"), 0);
  assert.equal(await r.hsetnx("h", "new", "js"), 1);
  assert.equal(await r.hlen("h"), 6);
  assert.equal(await r.hstrlen("h", "name"), 7);
  assert.deepEqual((await r.hkeys("h")).sort(), ["extra", "f", "lang", "n", "name", "new"]);
  assert.deepEqual((await r.hvals("h")).sort(), ["0.25", "42", "e", "js", "tessera", "ts"]);
  assert.equal(await r.hdel("h", "extra", "new", "nope"), 2);
  assert.equal(await r.hlen("h"), 4);
  assert.equal(await r.hdel("h", "name", "lang", "n", "f"), 4);
  assert.equal(await r.exists("h"), 0, "an emptied hash is removed");
  assert.deepEqual(await r.hgetall("h"), {});

  // HSCAN over a hash big enough not to be answered in one reply.
  const fields: Record<string, string> = {};
  for (let i = 0; i < 500; i++) fields[`f${i}`] = `v${i}`;
  assert.equal(await r.hset("big", fields), 500);
  const seen = new Map<string, string>();
  await new Promise<void>((resolve, reject) => {
    const s = r.hscanStream("big", { count: 50 });
    s.on("data", (chunk: string[]) => {
      for (let i = 0; i + 1 < chunk.length; i += 2) seen.set(chunk[i]!, chunk[i + 1]!);
    });
    s.on("end", resolve);
    s.on("error", reject);
  });
  assert.deepEqual(Object.fromEntries(seen), fields);
});

Deno.test("ioredis: lists", async () => {
  await using server = await start();
  const { r, dispose } = ioredis(server.port);
  await using _c = dispose;

  assert.equal(await r.rpush("l", "b", "c", "d"), 3);
  assert.equal(await r.lpush("l", "a"), 4);
  assert.deepEqual(await r.lrange("l", 0, -1), ["a", "b", "c", "d"]);
  assert.equal(await r.llen("l"), 4);
  assert.equal(await r.lindex("l", -1), "d");
  assert.equal(await r.lset("l", 1, "B"), "OK");
  assert.equal(await r.linsert("l", "BEFORE", "c", "x"), 5);
  assert.deepEqual(await r.lrange("l", 0, -1), ["a", "B", "x", "c", "d"]);
  assert.equal(await r.lpos("l", "c"), 3);
  assert.equal(await r.rpush("l", "x", "x"), 7);
  assert.equal(await r.lrem("l", 0, "x"), 3);
  assert.equal(await r.ltrim("l", 1, -1), "OK");
  assert.deepEqual(await r.lrange("l", 0, -1), ["B", "c", "d"]);
  assert.equal(await r.lpop("l"), "B");
  assert.equal(await r.rpop("l"), "d");
  assert.equal(await r.rpush("src", "1", "2", "3"), 3);
  assert.equal(await r.lmove("src", "dst", "LEFT", "RIGHT"), "1");
  assert.equal(await r.rpoplpush("src", "dst"), "3");
  assert.deepEqual(await r.lrange("dst", 0, -1), ["3", "1"]);
  assert.deepEqual(await r.lpop("src", 5), ["2"]);
  assert.equal(await r.exists("src"), 0, "an emptied list is removed");
  assert.equal(await r.lpop("src"), null);
  assert.equal(await r.lpushx("src", "v"), 0);
  await assert.rejects(r.lset("dst", 10, "v"), /ERR index out of range/);

  const many = Array.from({ length: 1000 }, (_, i) => String(i));
  assert.equal(await r.rpush("long", ...many), 1000);
  assert.deepEqual(await r.lrange("long", 0, -1), many);
  assert.deepEqual(await r.lrange("long", 995, 2000), ["995", "996", "997", "998", "999"]);
});

Deno.test("ioredis: sets", async () => {
  await using server = await start();
  const { r, dispose } = ioredis(server.port);
  await using _c = dispose;

  assert.equal(await r.sadd("a", "1", "2", "3", "3"), 3);
  assert.equal(await r.sadd("b", "2", "3", "4"), 3);
  assert.equal(await r.scard("a"), 3);
  assert.equal(await r.sismember("a", "2"), 1);
  assert.equal(await r.sismember("a", "9"), 0);
  assert.deepEqual(await r.smismember("a", "1", "9", "3"), [1, 0, 1]);
  assert.deepEqual((await r.smembers("a")).sort(), ["1", "2", "3"]);
  assert.deepEqual((await r.sinter("a", "b")).sort(), ["2", "3"]);
  assert.deepEqual((await r.sunion("a", "b")).sort(), ["1", "2", "3", "4"]);
  assert.deepEqual(await r.sdiff("a", "b"), ["1"]);
  assert.equal(await r.sinterstore("ab", "a", "b"), 2);
  assert.deepEqual((await r.smembers("ab")).sort(), ["2", "3"]);
  assert.equal(await r.smove("a", "b", "1"), 1);
  assert.equal(await r.scard("b"), 4);
  assert.equal(await r.srem("a", "2", "3", "9"), 2);
  assert.equal(await r.exists("a"), 0, "an emptied set is removed");
  const popped = await r.spop("ab");
  assert.ok(popped === "2" || popped === "3", `spop ${popped}`);
  assert.equal(await r.scard("ab"), 1);
  const rnd = await r.srandmember("b", 2);
  assert.equal(rnd.length, 2);
  assert.ok(rnd.every((m: string) => ["1", "2", "3", "4"].includes(m)));
});

Deno.test("ioredis: sorted sets", async () => {
  await using server = await start();
  const { r, dispose } = ioredis(server.port);
  await using _c = dispose;

  assert.equal(await r.zadd("z", 1, "one", 2, "two", 3, "three"), 3);
  assert.equal(await r.zadd("z", "1.5", "onehalf", "-inf", "min"), 2);
  assert.equal(await r.zcard("z"), 5);
  assert.equal(await r.zscore("z", "two"), "2");
  assert.equal(await r.zscore("z", "min"), "-inf");
  assert.equal(await r.zscore("z", "nope"), null);
  assert.deepEqual(await r.zrange("z", 0, -1), ["min", "one", "onehalf", "two", "three"]);
  assert.deepEqual(await r.zrange("z", 0, 1, "WITHSCORES"), ["min", "-inf", "one", "1"]);
  assert.deepEqual(await r.zrevrange("z", 0, 1), ["three", "two"]);
  assert.deepEqual(await r.zrangebyscore("z", "(1", "3", "LIMIT", 1, 5), ["two", "three"]);
  assert.deepEqual(await r.zrange("z", "+inf", 2, "BYSCORE", "REV"), ["three", "two"]);
  assert.equal(await r.zincrby("z", "0.5", "two"), "2.5");
  assert.equal(await r.zrank("z", "two"), 3);
  assert.equal(await r.zrevrank("z", "two"), 1);
  assert.equal(await r.zrank("z", "nope"), null);
  assert.equal(await r.zcount("z", "-inf", "+inf"), 5);
  assert.equal(await r.zcount("z", "(1", "2.5"), 2);
  assert.equal(await r.zadd("z", "GT", "CH", 0, "one", 10, "three"), 1);
  assert.equal(await r.zscore("z", "one"), "1");
  assert.equal(await r.zscore("z", "three"), "10");
  assert.deepEqual(await r.zpopmin("z"), ["min", "-inf"]);
  assert.deepEqual(await r.zpopmax("z", 2), ["three", "10", "two", "2.5"]);
  assert.equal(await r.zrem("z", "one", "nope"), 1);
  assert.deepEqual(await r.zrange("z", 0, -1, "WITHSCORES"), ["onehalf", "1.5"]);
  assert.equal(await r.zrem("z", "onehalf"), 1);
  assert.equal(await r.exists("z"), 0, "an emptied sorted set is removed");

  assert.equal(await r.zadd("lex", 0, "b", 0, "a", 0, "d", 0, "c"), 4);
  assert.deepEqual(await r.zrangebylex("lex", "[b", "(d"), ["b", "c"]);
  assert.equal(await r.zlexcount("lex", "-", "+"), 4);
  await assert.rejects(r.zadd("lex", "notafloat", "x"), /ERR value is not a valid float/);

  // Binary members.
  const v = Buffer.from([0xde, 0xad, 0xbe, 0xef]);
  const f = Buffer.from([0x00, 0xff]);
  assert.equal(await r.zadd("bin:z", 1, v, 2, f), 2);
  assert.deepEqual(await r.zrangeBuffer("bin:z", 0, -1), [v, f]);

  // ZSCAN stream over a big sorted set.
  const members = Array.from({ length: 700 }, (_, i) => `m${i}`);
  assert.equal(await r.zadd("bigz", ...members.flatMap((m, i) => [i, m])), 700);
  const zscores = await new Promise<Map<string, string>>((resolve, reject) => {
    const seen = new Map<string, string>();
    const s = r.zscanStream("bigz", { count: 64 });
    s.on("data", (chunk: string[]) => {
      for (let i = 0; i + 1 < chunk.length; i += 2) seen.set(chunk[i]!, chunk[i + 1]!);
    });
    s.on("end", () => resolve(seen));
    s.on("error", reject);
  });
  assert.equal(zscores.size, 700);
  assert.equal(zscores.get("m123"), "123");
});

Deno.test("ioredis: pipelines, auto-pipelining and error replies inside a pipeline", async () => {
  await using server = await start();
  const { r, dispose } = ioredis(server.port);
  await using _c = dispose;

  const res = await r.pipeline()
    .set("p:a", "1")
    .incr("p:a")
    .rpush("p:l", "x")
    .get("p:l") // WRONGTYPE inside the pipeline
    .hset("p:h", "f", "v")
    .get("p:a")
    .exec();
  assert.ok(res);
  assert.equal(res.length, 6);
  assert.deepEqual(res[0], [null, "OK"]);
  assert.deepEqual(res[1], [null, 2]);
  assert.deepEqual(res[2], [null, 1]);
  const [err, val] = res[3]!;
  assert.ok(err instanceof Error && /^WRONGTYPE/.test(err.message), String(err));
  assert.equal(val, undefined);
  assert.deepEqual(res[4], [null, 1]);
  assert.deepEqual(res[5], [null, "2"]);

  // A large pipeline: replies come back in order.
  const p = r.pipeline();
  for (let i = 0; i < 2000; i++) p.set(`p:k${i}`, `v${i}`);
  for (let i = 0; i < 2000; i++) p.get(`p:k${i}`);
  const big = await p.exec();
  assert.ok(big);
  assert.equal(big.length, 4000);
  for (let i = 0; i < 2000; i++) {
    assert.deepEqual(big[i], [null, "OK"]);
    assert.deepEqual(big[2000 + i], [null, `v${i}`]);
  }
  assert.equal(await r.dbsize(), 2003);

  // ioredis' auto-pipelining batches concurrent commands into one write.
  const { r: auto, dispose: autoDispose } = ioredis(server.port, { enableAutoPipelining: true });
  await using _a = autoDispose;
  const counts = await Promise.all(Array.from({ length: 500 }, () => auto.incr("p:counter")));
  assert.deepEqual([...counts].sort((x, y) => x - y), Array.from({ length: 500 }, (_, i) => i + 1));
  assert.equal(await r.get("p:counter"), "500");
});

Deno.test("ioredis: scanStream visits every key over many keys and both shards", async () => {
  await using server = await start();
  const { r, dispose } = ioredis(server.port);
  await using _c = dispose;

  const expected = new Set<string>();
  const p = r.pipeline();
  for (let i = 0; i < 3000; i++) {
    const k = `scan:${i}`;
    expected.add(k);
    p.set(k, String(i));
  }
  for (let i = 0; i < 200; i++) p.hset(`other:${i}`, "f", "v");
  await p.exec();
  assert.equal(await r.dbsize(), 3200);

  const collect = (opts: Record<string, unknown>) =>
    new Promise<Set<string>>((resolve, reject) => {
      const seen = new Set<string>();
      const s = r.scanStream(opts);
      s.on("data", (keys: string[]) => keys.forEach((k) => seen.add(k)));
      s.on("end", () => resolve(seen));
      s.on("error", reject);
    });

  const matched = await collect({ match: "scan:*", count: 100 });
  assert.equal(matched.size, 3000);
  assert.deepEqual([...matched].sort(), [...expected].sort());

  const all = await collect({ count: 1000 });
  assert.equal(all.size, 3200);

  const hashes = await collect({ type: "hash", count: 250 });
  assert.equal(hashes.size, 200);
  assert.ok([...hashes].every((k) => k.startsWith("other:")));

  // SSCAN stream over a big set.
  const members = Array.from({ length: 700 }, (_, i) => `m${i}`);
  await r.sadd("bigset", ...members);
  const smembers = await new Promise<Set<string>>((resolve, reject) => {
    const seen = new Set<string>();
    const s = r.sscanStream("bigset", { count: 64 });
    s.on("data", (ms: string[]) => ms.forEach((m) => seen.add(m)));
    s.on("end", () => resolve(seen));
    s.on("error", reject);
  });
  assert.deepEqual([...smembers].sort(), [...members].sort());
});

Deno.test("ioredis: binary Buffers as keys and values round-trip byte for byte", async () => {
  await using server = await start();
  const { r, dispose } = ioredis(server.port);
  await using _c = dispose;

  const all = Buffer.alloc(256 * 4);
  for (let i = 0; i < all.length; i++) all[i] = i % 256;
  assert.equal(await r.set("bin:all", all), "OK");
  assert.deepEqual(await r.getBuffer("bin:all"), all);
  assert.equal(await r.strlen("bin:all"), 1024);
  assert.deepEqual(await r.getrangeBuffer("bin:all", 254, 257), Buffer.from([254, 255, 0, 1]));

  // Invalid UTF-8 and CR/LF inside a key.
  const key = Buffer.from([0xff, 0xfe, 0x00, 0x0d, 0x0a, 0x80]);
  assert.equal(await r.set(key, Buffer.from("\r\n$-1\r\n")), "OK");
  assert.deepEqual(await r.getBuffer(key), Buffer.from("\r\n$-1\r\n"));
  assert.equal(await r.exists(key), 1);
  assert.equal(await r.append(key, Buffer.from([0x00, 0xc3])), 9);
  assert.deepEqual(await r.getBuffer(key), Buffer.from([13, 10, 36, 45, 49, 13, 10, 0, 0xc3]));

  // A 2 MB random value.
  const large = Buffer.alloc(2 * 1024 * 1024);
  for (let off = 0; off < large.length; off += 65536) {
    crypto.getRandomValues(large.subarray(off, off + 65536));
  }
  assert.equal(await r.set("bin:large", large), "OK");
  const back = await r.getBuffer("bin:large");
  assert.ok(back && back.equals(large), "2 MB value comes back unchanged");

  // Binary fields, members and list elements.
  const f = Buffer.from([0x00, 0xff]);
  const v = Buffer.from([0xde, 0xad, 0xbe, 0xef]);
  assert.equal(await r.hset("bin:h", f, v), 1);
  assert.deepEqual(await r.hgetBuffer("bin:h", f), v);
  assert.equal(await r.rpush("bin:l", v, f), 2);
  assert.deepEqual(await r.lrangeBuffer("bin:l", 0, -1), [v, f]);
  assert.equal(await r.sadd("bin:s", v, f, Buffer.from([0xde, 0xad, 0xbe, 0xef])), 2);
  assert.equal(await r.sismember("bin:s", v), 1);
});

// ---------------------------------------------------------------------------------------------
// node-redis (v4 speaks RESP2)

async function nodeRedis(port: number, options: Record<string, unknown> = {}) {
  const client = createClient({
    socket: { host: "127.0.0.1", port, reconnectStrategy: false },
    ...options,
  });
  client.on("error", () => {}); // errors surface through the rejected commands
  await client.connect();
  const dispose = disposer(async () => {
    if (!client.isOpen) return;
    try {
      await client.quit();
    } catch {
      await client.disconnect().catch(() => {});
    }
  });
  return { client, dispose };
}

Deno.test("node-redis: strings, hashes, lists, sets and sorted sets", async () => {
  await using server = await start();
  const { client, dispose } = await nodeRedis(server.port);
  await using _c = dispose;

  assert.equal(await client.set("s", "v", { EX: 100, NX: true }), "OK");
  assert.equal(await client.set("s", "w", { NX: true }), null);
  assert.equal(await client.get("s"), "v");
  const ttl = await client.ttl("s");
  assert.ok(ttl > 90 && ttl <= 100, `ttl ${ttl}`);
  assert.equal(await client.incr("n"), 1);
  assert.equal(await client.incrBy("n", 9), 10);
  assert.equal(await client.incrByFloat("n", 0.5), "10.5");
  assert.equal(await client.mSet({ a: "1", b: "2", c: "3" }), "OK");
  assert.deepEqual(await client.mGet(["a", "b", "c", "nope"]), ["1", "2", "3", null]);
  assert.equal(await client.del(["a", "b", "nope"]), 2);
  assert.equal(await client.exists(["a", "c"]), 1);

  assert.equal(await client.hSet("h", { f1: "v1", f2: "v2" }), 2);
  assert.equal(await client.hGet("h", "f1"), "v1");
  assert.deepEqual({ ...await client.hGetAll("h") }, { f1: "v1", f2: "v2" });
  assert.equal(await client.hIncrBy("h", "cnt", 3), 3);
  assert.equal(await client.hLen("h"), 3);
  assert.equal(await client.hExists("h", "f2"), true);
  assert.equal(await client.hDel("h", "f2"), 1);
  assert.deepEqual((await client.hKeys("h")).sort(), ["cnt", "f1"]);

  assert.equal(await client.rPush("l", ["a", "b", "c"]), 3);
  assert.equal(await client.lPush("l", "z"), 4);
  assert.deepEqual(await client.lRange("l", 0, -1), ["z", "a", "b", "c"]);
  assert.equal(await client.lPop("l"), "z");
  assert.equal(await client.rPop("l"), "c");
  assert.equal(await client.lLen("l"), 2);

  assert.equal(await client.sAdd("set", ["x", "y", "z", "x"]), 3);
  assert.equal(await client.sIsMember("set", "y"), true);
  assert.equal(await client.sIsMember("set", "q"), false);
  assert.deepEqual((await client.sMembers("set")).sort(), ["x", "y", "z"]);
  assert.equal(await client.sRem("set", ["x", "q"]), 1);
  assert.equal(await client.sCard("set"), 2);

  await assert.rejects(client.get("l"), (e: Error) => /^WRONGTYPE/.test(e.message));
  assert.equal(await client.type("set"), "set");
});

Deno.test("node-redis: sorted sets, scores as numbers and as RESP2 bulk strings", async () => {
  await using server = await start();
  const { client, dispose } = await nodeRedis(server.port);
  await using _c = dispose;

  assert.equal(
    await client.zAdd("z", [{ score: 2, value: "b" }, { score: 1, value: "a" }, {
      score: 3.5,
      value: "c",
    }]),
    3,
  );
  assert.deepEqual(await client.zRange("z", 0, -1), ["a", "b", "c"]);
  assert.deepEqual(await client.zRangeWithScores("z", 0, 1), [
    { value: "a", score: 1 },
    { value: "b", score: 2 },
  ]);
  assert.equal(await client.zScore("z", "c"), 3.5);
  assert.equal(await client.zIncrBy("z", 1, "a"), 2);
  assert.equal(await client.zRank("z", "c"), 2);
  assert.deepEqual(await client.zRangeByScore("z", 2, 3), ["a", "b"]);
  assert.equal(await client.zCard("z"), 3);
  assert.equal(await client.type("z"), "zset");
  // RESP2: a score is a bulk string.
  assert.equal(await client.sendCommand(["ZSCORE", "z", "c"]), "3.5");
  assert.deepEqual(await client.sendCommand(["ZRANGE", "z", "-1", "-1", "WITHSCORES"]), [
    "c",
    "3.5",
  ]);
});

Deno.test("node-redis: sendCommand uses RESP2 shapes; HELLO 2, CLIENT INFO, names, SELECT", async () => {
  await using server = await start();
  const { client, dispose } = await nodeRedis(server.port, { name: "nr-test", database: 3 });
  await using _c = dispose;

  assert.equal(await client.sendCommand(["PING"]), "PONG");
  assert.equal(await client.sendCommand(["SET", "k", "v"]), "OK");
  assert.equal(await client.sendCommand(["GET", "k"]), "v");
  assert.equal(await client.sendCommand(["GET", "missing"]), null);
  assert.equal(await client.sendCommand(["HSET", "h", "a", "1", "b", "2"]), 2);
  // RESP2: HGETALL is a flat array, ZSCORE a bulk string.
  const flat = await client.sendCommand(["HGETALL", "h"]) as string[];
  assert.ok(Array.isArray(flat), "HGETALL is a flat array in RESP2");
  const pairs: string[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) pairs.push(`${flat[i]}=${flat[i + 1]}`);
  assert.deepEqual(pairs.sort(), ["a=1", "b=2"]);
  // RESP2: a double is a bulk string.
  assert.equal(await client.sendCommand(["INCRBYFLOAT", "f", "1.5"]), "1.5");
  await assert.rejects(
    client.sendCommand(["NOSUCHCOMMAND", "x"]),
    (e: Error) => /^ERR unknown command 'NOSUCHCOMMAND'/i.test(e.message),
  );

  const hello = await client.sendCommand(["HELLO", "2"]) as unknown[];
  assert.ok(Array.isArray(hello));
  const protoAt = hello.indexOf("proto");
  assert.ok(protoAt >= 0, "HELLO reply has a proto field");
  assert.equal(hello[protoAt + 1], 2);

  const info = await client.sendCommand(["CLIENT", "INFO"]) as string;
  assert.match(info, /\bresp=2\b/);
  assert.match(info, /\bdb=3\b/);
  assert.match(info, /\bname=nr-test\b/);
  assert.equal(await client.clientGetName(), "nr-test");

  // The key lives in db 3 only.
  const { client: db0, dispose: dispose0 } = await nodeRedis(server.port);
  await using _d = dispose0;
  assert.equal(await db0.get("k"), null);
  assert.equal(await db0.dbSize(), 0);
  assert.equal(await client.dbSize(), 3);
});

Deno.test("node-redis: pipelines, auto-pipelining, scanIterator and Buffers", async () => {
  await using server = await start();
  const { client, dispose } = await nodeRedis(server.port);
  await using _c = dispose;

  // execAsPipeline sends the commands without MULTI/EXEC.
  const replies = await client.multi()
    .set("p:a", "1")
    .incr("p:a")
    .rPush("p:l", ["x", "y"])
    .get("p:a")
    .execAsPipeline();
  assert.deepEqual(replies, ["OK", 2, 2, "2"]);

  // Concurrent commands are written together (node-redis pipelines within one tick).
  const sets = await Promise.all(
    Array.from({ length: 1000 }, (_, i) => client.set(`it:${i}`, String(i))),
  );
  assert.ok(sets.every((s) => s === "OK"));
  const gets = await Promise.all(Array.from({ length: 1000 }, (_, i) => client.get(`it:${i}`)));
  assert.deepEqual(gets, Array.from({ length: 1000 }, (_, i) => String(i)));

  const seen = new Set<string>();
  for await (const key of client.scanIterator({ MATCH: "it:*", COUNT: 100 })) seen.add(key);
  assert.equal(seen.size, 1000);
  assert.ok(seen.has("it:0") && seen.has("it:999"));

  const bytes = Buffer.from([0x00, 0xff, 0x0d, 0x0a, 0x80, 0x7f]);
  assert.equal(await client.set("bin", bytes), "OK");
  const back = await client.get(commandOptions({ returnBuffers: true }), "bin");
  assert.ok(Buffer.isBuffer(back));
  assert.deepEqual(back, bytes);
  assert.equal(await client.strLen("bin"), 6);
});

// ---------------------------------------------------------------------------------------------
// redis-cli and redis-benchmark

interface Output {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a tool with optional stdin; kills it if it takes longer than `timeoutMs`. */
async function run(
  cmd: string,
  args: string[],
  stdin?: string | Uint8Array,
  timeoutMs = 60_000,
): Promise<Output> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, timeoutMs);
  try {
    if (stdin !== undefined) {
      const w = child.stdin.getWriter();
      await w.write(typeof stdin === "string" ? new TextEncoder().encode(stdin) : stdin);
      await w.close();
    }
    const out = await child.output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } finally {
    clearTimeout(timer);
  }
}

function cli(port: number, ...args: string[]): Promise<Output> {
  return run("redis-cli", ["-p", String(port), ...args]);
}

Deno.test({
  name: "redis-cli: commands as arguments, --raw and --no-raw output, INFO, DBSIZE",
  ignore: !HAS_CLI,
  async fn() {
    await using server = await start();
    const p = server.port;

    assert.deepEqual(await cli(p, "SET", "k", "v"), { code: 0, stdout: "OK\n", stderr: "" });
    assert.equal((await cli(p, "GET", "k")).stdout, "v\n");
    assert.equal((await cli(p, "--no-raw", "GET", "k")).stdout, '"v"\n');
    assert.equal((await cli(p, "--no-raw", "GET", "missing")).stdout, "(nil)\n");
    assert.equal((await cli(p, "--raw", "GET", "missing")).stdout, "\n");
    assert.equal((await cli(p, "--no-raw", "INCR", "n")).stdout, "(integer) 1\n");
    assert.equal((await cli(p, "--raw", "INCR", "n")).stdout, "2\n");
    assert.equal((await cli(p, "--no-raw", "PING")).stdout, "PONG\n");

    // A value with a newline and a non-ASCII byte: quoted and escaped only with --no-raw.
    assert.equal((await cli(p, "SET", "nl", "a\nb\tc")).stdout, "OK\n");
    assert.equal((await cli(p, "--no-raw", "GET", "nl")).stdout, '"a\\nb\\tc"\n');
    assert.equal((await cli(p, "--raw", "GET", "nl")).stdout, "a\nb\tc\n");

    assert.equal((await cli(p, "RPUSH", "l", "x", "y", "z")).stdout, "3\n");
    assert.equal(
      (await cli(p, "--no-raw", "LRANGE", "l", "0", "-1")).stdout,
      '1) "x"\n2) "y"\n3) "z"\n',
    );
    assert.equal((await cli(p, "--raw", "LRANGE", "l", "0", "-1")).stdout, "x\ny\nz\n");
    assert.equal((await cli(p, "--no-raw", "LRANGE", "nope", "0", "-1")).stdout, "(empty array)\n");
    assert.equal((await cli(p, "HSET", "h", "f", "1")).stdout, "1\n");
    assert.equal((await cli(p, "--no-raw", "HGETALL", "h")).stdout, '1) "f"\n2) "1"\n');

    const wrong = await cli(p, "--no-raw", "GET", "l");
    assert.equal(
      wrong.stdout,
      "(error) WRONGTYPE Operation against a key holding the wrong kind of value\n",
    );

    const info = await cli(p, "INFO");
    assert.equal(info.code, 0);
    assert.match(info.stdout, /^# Server$/m);
    assert.match(info.stdout, /^redis_version:\d+\.\d+\.\d+/m);
    assert.match(
      info.stdout,
      new RegExp(`^tessera_version:${VERSION.replaceAll(".", "\\.")}`, "m"),
    );
    assert.match(info.stdout, new RegExp(`^tcp_port:${p}\\r?$`, "m"));
    assert.match(info.stdout, /^# Keyspace$/m);
    assert.match(info.stdout, /^db0:keys=5,expires=0/m);
    const section = await cli(p, "INFO", "tessera");
    assert.match(section.stdout, /^shards:2\r?$/m);
    assert.doesNotMatch(section.stdout, /^# Server/m);

    assert.equal((await cli(p, "DBSIZE")).stdout, "5\n");
    assert.equal((await cli(p, "--no-raw", "DBSIZE")).stdout, "(integer) 5\n");
    assert.equal((await cli(p, "-n", "2", "DBSIZE")).stdout, "0\n");
  },
});

Deno.test({
  name: "redis-cli: several commands piped on stdin",
  ignore: !HAS_CLI,
  async fn() {
    await using server = await start();
    const script = [
      "SET a 1",
      "INCR a",
      "GET a",
      'SET "key with space" "hello world"',
      'GET "key with space"',
      "RPUSH list one two",
      "LRANGE list 0 -1",
      "DBSIZE",
      "",
    ].join("\n");
    const out = await run("redis-cli", ["-p", String(server.port)], script);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout, "OK\n2\n2\nOK\nhello world\n2\none\ntwo\n3\n");
  },
});

/** The RESP encoding of one command (what `redis-cli --pipe` expects on stdin). */
function resp(...args: string[]): string {
  let s = `*${args.length}\r\n`;
  for (const a of args) s += `$${new TextEncoder().encode(a).length}\r\n${a}\r\n`;
  return s;
}

Deno.test({
  name: "redis-cli --pipe: mass insertion of 10k SETs",
  ignore: !HAS_CLI,
  async fn() {
    await using server = await start();
    const n = 10_000;
    const parts: string[] = [];
    for (let i = 0; i < n; i++) parts.push(resp("SET", `mass:${i}`, `value-${i}`));
    parts.push(resp("RPUSH", "mass:list", "a", "b"));
    const out = await run("redis-cli", ["-p", String(server.port), "--pipe"], parts.join(""));
    assert.equal(out.code, 0, out.stdout + out.stderr);
    assert.match(out.stdout, new RegExp(`errors: 0, replies: ${n + 1}`));
    assert.equal((await cli(server.port, "DBSIZE")).stdout, `${n + 1}\n`);
    assert.equal((await cli(server.port, "GET", "mass:0")).stdout, "value-0\n");
    assert.equal((await cli(server.port, "GET", "mass:9999")).stdout, "value-9999\n");
    assert.equal((await cli(server.port, "LLEN", "mass:list")).stdout, "2\n");

    // Errors in the stream are counted, not fatal.
    const bad = resp("SET", "x") + resp("SET", "y", "1") + resp("INCR", "mass:0");
    const out2 = await run("redis-cli", ["-p", String(server.port), "--pipe"], bad);
    assert.match(out2.stdout, /errors: 2, replies: 3/);
    assert.equal((await cli(server.port, "GET", "y")).stdout, "1\n");
  },
});

Deno.test({
  name: "redis-benchmark: SET and GET complete with a non-zero rate (smoke)",
  ignore: !HAS_BENCHMARK,
  async fn() {
    await using server = await start();
    const out = await run(
      "redis-benchmark",
      [
        "-p",
        String(server.port),
        "-n",
        "2000",
        "-c",
        "10",
        "-t",
        "set,get",
        "-q",
      ],
      undefined,
      120_000,
    );
    assert.equal(out.code, 0, out.stdout + out.stderr);
    const rate = (name: string) => {
      const all = [
        ...out.stdout.matchAll(new RegExp(`${name}: ([\\d.]+) requests per second`, "g")),
      ];
      assert.ok(all.length > 0, `no ${name} result in: ${JSON.stringify(out.stdout)}`);
      return Number(all[all.length - 1]![1]);
    };
    assert.ok(rate("SET") > 0);
    assert.ok(rate("GET") > 0);
    // Without -r the benchmark SETs one key, "key:__rand_int__", to a 3-byte value (-d 3).
    assert.equal((await cli(server.port, "STRLEN", "key:__rand_int__")).stdout, "3\n");
    assert.equal((await cli(server.port, "DBSIZE")).stdout, "1\n");
  },
});
