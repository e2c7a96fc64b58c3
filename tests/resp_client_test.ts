/**
 * RespClient against a real redis-server (spawned on port 7106, or RESP_CLIENT_TEST_PORT).
 * Skipped when redis-server is not installed.
 */
import assert from "node:assert/strict";
import { ReplyError, type ReplyValue, RespClient } from "./resp_client.ts";

const PORT = Number(Deno.env.get("RESP_CLIENT_TEST_PORT") ?? 7106);

function hasRedis(): boolean {
  try {
    return new Deno.Command("redis-server", { args: ["--version"], stdout: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

async function startRedis(port: number): Promise<Deno.ChildProcess> {
  const child = new Deno.Command("redis-server", {
    args: [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--enable-debug-command",
      "yes",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (let i = 0; i < 100; i++) {
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      c.close();
      return child;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  child.kill("SIGKILL");
  await child.status;
  throw new Error(`redis-server did not start on port ${port}`);
}

function isError(v: ReplyValue, text: string | RegExp): boolean {
  return v instanceof ReplyError &&
    (typeof text === "string" ? v.message === text : text.test(v.message));
}

const all256 = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join("");

Deno.test({
  name: "RespClient against redis-server",
  ignore: !hasRedis(),
  async fn(t) {
    const redis = await startRedis(PORT);
    try {
      const connect = () => RespClient.connect({ port: PORT });

      await t.step("strings, integers, nulls, errors, arrays", async () => {
        await using c = await connect();
        assert.equal(await c.call("FLUSHALL"), "OK");
        assert.equal(await c.call("SET", "k", "v"), "OK");
        assert.equal(await c.call("GET", "k"), "v");
        assert.equal(await c.call("GET", "missing"), null);
        assert.equal(await c.call("INCRBY", "n", 41), 41);
        assert.equal(await c.call("INCR", "n"), 42);
        assert.equal(await c.call("SET", "big", "9223372036854775806"), "OK");
        assert.equal(await c.call("INCR", "big"), 9223372036854775807n);
        const err = await c.call("INCR", "k");
        assert.ok(isError(err, "ERR value is not an integer or out of range"));
        assert.equal((err as ReplyError).code, "ERR");
        assert.ok(isError(await c.call("LPUSH", "k", "x"), /^WRONGTYPE /));
        assert.equal(await c.call("RPUSH", "l", "a", "b", "c"), 3);
        assert.deepEqual(await c.call("LRANGE", "l", 0, -1), ["a", "b", "c"]);
        assert.deepEqual(await c.call("LRANGE", "nolist", 0, -1), []);
        assert.equal(await c.call("BLPOP", "nolist", "0.01"), null); // *-1
        assert.ok(isError(await c.call("NOSUCHCOMMAND"), /^ERR unknown command/));
      });

      await t.step("binary-safe values and UTF-8 arguments", async () => {
        await using c = await connect();
        assert.equal(await c.call("SET", "bin", all256), "OK");
        assert.equal(await c.call("GET", "bin"), all256);
        assert.equal(await c.call("STRLEN", "bin"), 256);
        const bytes = new Uint8Array(256).map((_, i) => 255 - i);
        assert.equal(await c.call("SET", "bin2", bytes), "OK");
        assert.equal(await c.call("GETRANGE", "bin2", 0, 1), "\xff\xfe");
        assert.equal(await c.call("SET", "utf", "日本"), "OK");
        assert.equal(await c.call("STRLEN", "utf"), 6);
        assert.equal(await c.call("GET", "utf"), "\xe6\x97\xa5\xe6\x9c\xac"); // latin1 view
      });

      await t.step("HELLO 3: maps, sets, doubles, nulls", async () => {
        await using c = await connect();
        const hello = await c.call("HELLO", "3");
        assert.ok(hello instanceof Map);
        assert.equal(hello.get("server"), "redis");
        assert.equal(hello.get("proto"), 3);
        await c.call("DEL", "h", "s", "z");
        await c.call("HSET", "h", "f1", "v1", "f2", "v2");
        assert.deepEqual(
          await c.call("HGETALL", "h"),
          new Map([["f1", "v1"], ["f2", "v2"]]),
        );
        await c.call("SADD", "s", "x");
        assert.deepEqual(await c.call("SMEMBERS", "s"), ["x"]);
        await c.call("ZADD", "z", "1.5", "m", "inf", "top");
        assert.equal(await c.call("ZSCORE", "z", "m"), 1.5);
        assert.equal(await c.call("ZSCORE", "z", "top"), Infinity);
        assert.equal(await c.call("ZSCORE", "z", "nobody"), null);
        assert.equal(await c.call("GET", "missing"), null);
        assert.deepEqual(await c.call("ZRANGE", "z", 0, -1, "WITHSCORES"), [["m", 1.5], [
          "top",
          Infinity,
        ]]);
      });

      await t.step("DEBUG PROTOCOL: every RESP3 type from the real server", async () => {
        await using c = await connect();
        await c.call("HELLO", "3");
        assert.equal(await c.call("DEBUG", "PROTOCOL", "string"), "Hello World");
        assert.equal(await c.call("DEBUG", "PROTOCOL", "integer"), 12345);
        assert.equal(await c.call("DEBUG", "PROTOCOL", "double"), 3.141);
        assert.equal(
          await c.call("DEBUG", "PROTOCOL", "bignum"),
          1234567999999999999999999999999999999n,
        );
        assert.equal(await c.call("DEBUG", "PROTOCOL", "null"), null);
        assert.deepEqual(await c.call("DEBUG", "PROTOCOL", "array"), [0, 1, 2]);
        assert.deepEqual(await c.call("DEBUG", "PROTOCOL", "set"), [0, 1, 2]);
        assert.deepEqual(
          await c.call("DEBUG", "PROTOCOL", "map"),
          new Map([[0, false], [1, true], [2, false]]),
        );
        assert.equal(await c.call("DEBUG", "PROTOCOL", "true"), true);
        assert.equal(await c.call("DEBUG", "PROTOCOL", "false"), false);
        assert.equal(
          await c.call("DEBUG", "PROTOCOL", "verbatim"),
          "This is a verbatim\nstring",
        );
        // The attribute is dropped, the reply follows it.
        assert.equal(
          await c.call("DEBUG", "PROTOCOL", "attrib"),
          "Some real reply following the attribute",
        );
        // A push, then the command's own reply.
        const r = await c.call("DEBUG", "PROTOCOL", "push");
        assert.equal(r, "Some real reply following the push reply");
        assert.deepEqual(await c.readPush(1000), ["server-cpu-usage", 42]);
      });

      await t.step("RESP2 shapes of the same commands", async () => {
        await using c = await connect();
        assert.deepEqual(await c.call("HGETALL", "h"), ["f1", "v1", "f2", "v2"]);
        assert.equal(await c.call("ZSCORE", "z", "m"), "1.5");
        assert.equal(await c.call("DEBUG", "PROTOCOL", "true"), 1);
        assert.equal(await c.call("DEBUG", "PROTOCOL", "null"), null);
      });

      await t.step("pipeline of 10k commands and concurrent calls", async () => {
        await using c = await connect();
        const cmds: string[][] = [];
        for (let i = 0; i < 5000; i++) cmds.push(["SET", `key:${i}`, `value:${i}`]);
        for (let i = 0; i < 5000; i++) cmds.push(["GET", `key:${i}`]);
        const replies = await c.pipeline(cmds);
        assert.equal(replies.length, 10_000);
        for (let i = 0; i < 5000; i++) {
          assert.equal(replies[i], "OK");
          assert.equal(replies[5000 + i], `value:${i}`);
        }
        const concurrent = await Promise.all(
          Array.from({ length: 2000 }, (_, i) => c.call("ECHO", `m${i}`)),
        );
        assert.deepEqual(concurrent, Array.from({ length: 2000 }, (_, i) => `m${i}`));
        // Large replies cross many reads.
        const big = "x".repeat(3_000_000);
        assert.equal(await c.call("SET", "bigv", big), "OK");
        assert.equal(await c.call("GET", "bigv"), big);
      });

      await t.step("sendRaw, readReply, timeouts", async () => {
        await using c = await connect();
        c.sendRaw('PING\r\nECHO "a b"\r\n');
        assert.equal(await c.readReply(1000), "PONG");
        assert.equal(await c.readReply(1000), "a b");
        await assert.rejects(c.readReply(50), /no reply within 50 ms/);
        // The timed-out waiter is gone: the next reply goes to the next reader.
        c.send("ECHO", "next");
        assert.equal(await c.readReply(1000), "next");
        assert.equal(await c.call("PING"), "PONG");
        await assert.rejects(c.readPush(20), /no push within 20 ms/);
      });

      await t.step("pub/sub: RESP2 arrays, RESP3 pushes", async () => {
        await using pub = await connect();
        await using sub2 = await connect();
        assert.deepEqual(await sub2.call("SUBSCRIBE", "ch"), ["subscribe", "ch", 1]);
        await using sub3 = await connect();
        await sub3.call("HELLO", "3");
        sub3.send("SUBSCRIBE", "ch");
        assert.deepEqual(await sub3.readPush(1000), ["subscribe", "ch", 1]);
        assert.equal(await pub.call("PUBLISH", "ch", "hi"), 2);
        assert.deepEqual(await sub2.readReply(1000), ["message", "ch", "hi"]);
        assert.deepEqual(await sub3.readPush(1000), ["message", "ch", "hi"]);
      });

      await t.step("protocol error: error reply, then the server closes", async () => {
        const c = await connect();
        c.sendRaw("*1\r\n$x\r\n");
        const r = await c.readReply(1000);
        assert.ok(isError(r, "ERR Protocol error: invalid bulk length"));
        await c.closed;
        assert.equal(c.isClosed, true);
        await assert.rejects(c.call("PING"), /closed/);
        await c.close();
      });

      await t.step("closed resolves on QUIT; pending calls reject on close", async () => {
        const c = await connect();
        assert.equal(await c.call("QUIT"), "OK");
        await c.closed;
        await assert.rejects(c.readReply(), /closed/);
        const d = await connect();
        const pending = d.call("BLPOP", "never", "0");
        await d.close();
        await assert.rejects(pending, /closed/);
      });
    } finally {
      redis.kill("SIGTERM");
      await redis.status;
    }
  },
});
