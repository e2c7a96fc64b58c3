/**
 * The server end to end over TCP: routing across shards, connection commands, bad input.
 */
import assert from "node:assert/strict";
import { TesseraServer } from "../server/server.ts";
import { ReplyError, RespClient } from "./resp_client.ts";

async function start(extra: Parameters<typeof TesseraServer.start>[0] = {}) {
  return await TesseraServer.start({ port: 0, inMemory: true, shards: 3, ...extra });
}

function isError(v: unknown, prefix: string): boolean {
  return v instanceof ReplyError && v.message.startsWith(prefix);
}

Deno.test("keys spread over shards and multi-key commands see all of them", async () => {
  await using server = await start();
  await using c = await RespClient.connect({ port: server.port });
  const keys = Array.from({ length: 50 }, (_, i) => `key:${i}`);
  const mset = keys.flatMap((k, i) => [k, `v${i}`]);
  assert.equal(await c.call("MSET", ...mset), "OK");
  assert.deepEqual(await c.call("MGET", ...keys), keys.map((_, i) => `v${i}`));
  assert.equal(await c.call("DBSIZE"), 50);
  assert.equal(await c.call("EXISTS", ...keys, "missing"), 50);
  const info = await c.call("INFO", "tessera") as string;
  const perShard = [...info.matchAll(/shard\d+:keys=(\d+)/g)].map((m) => Number(m[1]));
  assert.equal(perShard.length, 3);
  assert.ok(perShard.every((n) => n > 0), `every shard holds keys: ${perShard}`);
  assert.equal(perShard.reduce((a, b) => a + b), 50);
  assert.deepEqual(((await c.call("KEYS", "*")) as string[]).sort(), [...keys].sort());
  assert.equal(await c.call("DEL", ...keys.slice(0, 10)), 10);
  assert.equal(await c.call("DBSIZE"), 40);
});

Deno.test("cross-shard RENAME, SMOVE, SUNIONSTORE and LMOVE move data between shards", async () => {
  await using server = await start();
  await using c = await RespClient.connect({ port: server.port });
  // "a" and "b" hash to different slots; with 3 shards at least some pairs differ.
  await c.call("SET", "foo", "1");
  assert.equal(await c.call("RENAME", "foo", "bar"), "OK");
  assert.equal(await c.call("GET", "foo"), null);
  assert.equal(await c.call("GET", "bar"), "1");
  await c.call("SADD", "s1", "a", "b");
  await c.call("SADD", "s2", "c");
  assert.equal(await c.call("SMOVE", "s1", "s2", "a"), 1);
  assert.deepEqual(((await c.call("SMEMBERS", "s2")) as string[]).sort(), ["a", "c"]);
  assert.equal(await c.call("SUNIONSTORE", "s3", "s1", "s2"), 3);
  assert.deepEqual(((await c.call("SMEMBERS", "s3")) as string[]).sort(), ["a", "b", "c"]);
  await c.call("RPUSH", "l1", "x", "y");
  assert.equal(await c.call("LMOVE", "l1", "l2", "LEFT", "RIGHT"), "x");
  assert.deepEqual(await c.call("LRANGE", "l2", "0", "-1"), ["x"]);
  assert.deepEqual(await c.call("LRANGE", "l1", "0", "-1"), ["y"]);
  await c.call("SET", "ttlkey", "v", "EX", "1000");
  assert.equal(await c.call("COPY", "ttlkey", "copied"), 1);
  const ttl = await c.call("TTL", "copied") as number;
  assert.ok(ttl > 990 && ttl <= 1000, `TTL kept by a cross-shard COPY: ${ttl}`);
});

Deno.test("a multi-shard write is never seen half applied", async () => {
  await using server = await start();
  await using writer = await RespClient.connect({ port: server.port });
  await using reader = await RespClient.connect({ port: server.port });
  const keys = ["a", "b", "c", "d", "e", "f"];
  let stop = false;
  const writes = (async () => {
    for (let i = 1; i <= 200; i++) {
      await writer.call("MSET", ...keys.flatMap((k) => [k, String(i)]));
    }
    stop = true;
  })();
  let reads = 0;
  while (!stop) {
    const vals = await reader.call("MGET", ...keys) as (string | null)[];
    assert.equal(new Set(vals).size, 1, `torn read: ${vals}`);
    reads++;
  }
  await writes;
  assert.ok(reads > 0);
});

Deno.test("pipelined replies keep request order across shards", async () => {
  await using server = await start();
  await using c = await RespClient.connect({ port: server.port });
  const cmds: string[][] = [];
  for (let i = 0; i < 2000; i++) {
    cmds.push(["SET", `p${i}`, String(i)]);
    cmds.push(["GET", `p${i}`]);
    if (i % 100 === 0) cmds.push(["PING"]);
  }
  const replies = await c.pipeline(cmds);
  let j = 0;
  for (let i = 0; i < 2000; i++) {
    assert.equal(replies[j++], "OK");
    assert.equal(replies[j++], String(i));
    if (i % 100 === 0) assert.equal(replies[j++], "PONG");
  }
});

Deno.test("SELECT isolates databases across shards", async () => {
  await using server = await start();
  await using c = await RespClient.connect({ port: server.port });
  await c.call("SET", "k", "db0");
  assert.equal(await c.call("SELECT", "5"), "OK");
  assert.equal(await c.call("GET", "k"), null);
  await c.call("SET", "k", "db5");
  assert.ok(isError(await c.call("SELECT", "16"), "ERR DB index is out of range"));
  await c.call("SELECT", "0");
  assert.equal(await c.call("GET", "k"), "db0");
  const info = await c.call("INFO", "keyspace") as string;
  assert.match(info, /db0:keys=1,expires=0/);
  assert.match(info, /db5:keys=1,expires=0/);
});

Deno.test("SCAN visits every key exactly through the shard-encoded cursor", async () => {
  await using server = await start();
  await using c = await RespClient.connect({ port: server.port });
  const n = 500;
  await c.pipeline(Array.from({ length: n }, (_, i) => ["SET", `scan:${i}`, "x"]));
  const seen = new Set<string>();
  let cursor = "0";
  let rounds = 0;
  do {
    const [next, keys] = await c.call("SCAN", cursor, "COUNT", "37") as [string, string[]];
    for (const k of keys) seen.add(k);
    cursor = next;
    rounds++;
  } while (cursor !== "0" && rounds < 10_000);
  assert.equal(seen.size, n);
});

Deno.test("unknown commands and wrong arity get Redis' exact errors", async () => {
  await using server = await start();
  await using c = await RespClient.connect({ port: server.port });
  const unknown = await c.call("FOOBAR", "a", "b") as ReplyError;
  assert.equal(unknown.message, "ERR unknown command 'FOOBAR', with args beginning with: 'a' 'b' ");
  const arity = await c.call("GET") as ReplyError;
  assert.equal(arity.message, "ERR wrong number of arguments for 'get' command");
  const internal = await c.call("__restore", "k", "x") as ReplyError;
  assert.ok(internal.message.startsWith("ERR unknown command '__restore'"));
});

Deno.test("malformed RESP gets a protocol error and only that connection closes", async () => {
  await using server = await start();
  await using other = await RespClient.connect({ port: server.port });
  const cases: Array<[string, string]> = [
    ["*1\r\n?foo\r\n", "ERR Protocol error: expected '$', got '?'"],
    ["*abc\r\n", "ERR Protocol error: invalid multibulk length"],
    ["*1\r\n$-5\r\n", "ERR Protocol error: invalid bulk length"],
    ["*99999999\r\n", "ERR Protocol error: invalid multibulk length"],
  ];
  for (const [bytes, message] of cases) {
    await using bad = await RespClient.connect({ port: server.port });
    bad.sendRaw(bytes);
    const reply = await bad.readReply(5000) as ReplyError;
    assert.equal(reply.message, message);
    await bad.closed;
    assert.equal(await other.call("PING"), "PONG");
  }
});

Deno.test("a bulk over proto-max-bulk-len is refused", async () => {
  await using server = await start({ "proto-max-bulk-len": 1024 });
  await using bad = await RespClient.connect({ port: server.port });
  bad.sendRaw("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000\r\n");
  const reply = await bad.readReply(5000) as ReplyError;
  assert.equal(reply.message, "ERR Protocol error: invalid bulk length");
  await bad.closed;
});

Deno.test("requirepass: NOAUTH before AUTH, WRONGPASS on a bad password", async () => {
  await using server = await start({ requirepass: "s3cret" });
  await using c = await RespClient.connect({ port: server.port });
  const denied = await c.call("GET", "k") as ReplyError;
  assert.equal(denied.message, "NOAUTH Authentication required.");
  const wrong = await c.call("AUTH", "nope") as ReplyError;
  assert.equal(wrong.message, "WRONGPASS invalid username-password pair or user is disabled.");
  assert.equal(await c.call("AUTH", "s3cret"), "OK");
  assert.equal(await c.call("SET", "k", "v"), "OK");
  await using c2 = await RespClient.connect({ port: server.port });
  const hello = await c2.call("HELLO", "3", "AUTH", "default", "s3cret") as Map<string, unknown>;
  assert.equal(hello.get("proto"), 3);
  assert.equal(await c2.call("GET", "k"), "v");
});

Deno.test("HELLO 3 switches to RESP3 shapes", async () => {
  await using server = await start();
  await using c = await RespClient.connect({ port: server.port });
  const hello = await c.call("HELLO", "3") as Map<string, unknown>;
  assert.ok(hello instanceof Map);
  assert.equal(hello.get("server"), "redis");
  await c.call("HSET", "h", "f", "v");
  const all = await c.call("HGETALL", "h");
  assert.ok(all instanceof Map);
  assert.equal((all as Map<string, string>).get("f"), "v");
  assert.equal(await c.call("GET", "missing"), null);
  await c.call("ZADD", "z", "1.5", "m");
  assert.equal(await c.call("ZSCORE", "z", "m"), 1.5);
  await c.call("HELLO", "2");
  assert.equal(await c.call("ZSCORE", "z", "m"), "1.5");
});

Deno.test("binary-safe keys and values", async () => {
  await using server = await start();
  await using c = await RespClient.connect({ port: server.port });
  const all = new Uint8Array(256).map((_, i) => i);
  const key = new Uint8Array([0, 13, 10, 255, 128]);
  assert.equal(await c.call("SET", key, all), "OK");
  const back = await c.call("GET", key) as string;
  assert.equal(back.length, 256);
  for (let i = 0; i < 256; i++) assert.equal(back.charCodeAt(i), i);
});

Deno.test("CLIENT ID/SETNAME/GETNAME/LIST/KILL and QUIT", async () => {
  await using server = await start();
  await using a = await RespClient.connect({ port: server.port });
  await using b = await RespClient.connect({ port: server.port });
  const idB = await b.call("CLIENT", "ID") as number;
  assert.equal(await a.call("CLIENT", "SETNAME", "alpha"), "OK");
  assert.equal(await a.call("CLIENT", "GETNAME"), "alpha");
  const list = await a.call("CLIENT", "LIST") as string;
  assert.match(list, /name=alpha/);
  assert.match(list, new RegExp(`id=${idB} `));
  assert.equal(await a.call("CLIENT", "KILL", "ID", String(idB)), 1);
  await b.closed;
  assert.equal(await a.call("QUIT"), "OK");
  await a.closed;
});

Deno.test("CONFIG GET/SET and unknown settings", async () => {
  await using server = await start();
  await using c = await RespClient.connect({ port: server.port });
  assert.equal(await c.call("CONFIG", "SET", "appendfsync", "always"), "OK");
  assert.deepEqual(await c.call("CONFIG", "GET", "appendfsync"), ["appendfsync", "always"]);
  assert.deepEqual(await c.call("CONFIG", "GET", "no-such-thing"), []);
  const bad = await c.call("CONFIG", "SET", "no-such-thing", "1") as ReplyError;
  assert.equal(
    bad.message,
    "ERR Unknown option or number of arguments for CONFIG SET - 'no-such-thing'",
  );
  assert.ok(typeof await c.call("COMMAND", "COUNT") === "number");
});

Deno.test("maxclients refuses connections beyond the limit with Redis' error", async () => {
  await using server = await start({ maxclients: 2 });
  await using a = await RespClient.connect({ port: server.port });
  await using b = await RespClient.connect({ port: server.port });
  assert.equal(await a.call("PING"), "PONG");
  assert.equal(await b.call("PING"), "PONG");
  await using c = await RespClient.connect({ port: server.port });
  const refused = await c.readReply(5000) as ReplyError;
  assert.equal(refused.message, "ERR max number of clients reached");
  await c.closed;
  assert.equal(await a.call("PING"), "PONG");
});

Deno.test("timeout closes idle clients but not subscribers", async () => {
  await using server = await start();
  await using c = await RespClient.connect({ port: server.port });
  await using sub = await RespClient.connect({ port: server.port });
  sub.send("SUBSCRIBE", "ch");
  await sub.readReply(5000);
  assert.equal(await c.call("CONFIG", "SET", "timeout", "1"), "OK");
  const t0 = Date.now();
  await c.closed;
  const waited = Date.now() - t0;
  assert.ok(waited >= 900 && waited < 5000, `closed after ${waited} ms`);
  await using d = await RespClient.connect({ port: server.port });
  assert.equal(await d.call("PUBLISH", "ch", "still here"), 1);
});
