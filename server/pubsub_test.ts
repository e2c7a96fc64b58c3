/**
 * Pub/sub against an in-process Tessera server: message shapes in RESP2 and RESP3, the RESP2
 * subscribed-mode restriction, PUBSUB introspection, cleanup on RESET / QUIT / disconnect,
 * ordering, and node-redis v4 as a subscriber.
 */
import assert from "node:assert/strict";
import { createClient } from "redis";
import { ReplyError, type ReplyValue, RespClient } from "../tests/resp_client.ts";
import { TesseraServer } from "./server.ts";
import { subscribedModeError } from "./pubsub.ts";

async function start(): Promise<TesseraServer> {
  return await TesseraServer.start({ port: 0, inMemory: true, shards: 2 });
}

async function connect(server: TesseraServer): Promise<RespClient> {
  return await RespClient.connect({ port: server.port });
}

/** The next `n` replies (RESP2 pub/sub messages arrive as replies). */
async function replies(c: RespClient, n: number): Promise<ReplyValue[]> {
  const out: ReplyValue[] = [];
  for (let i = 0; i < n; i++) out.push(await c.readReply(5000));
  return out;
}

async function pushes(c: RespClient, n: number): Promise<ReplyValue[]> {
  const out: ReplyValue[] = [];
  for (let i = 0; i < n; i++) out.push(await c.readPush(5000));
  return out;
}

function errorText(v: ReplyValue): string {
  assert.ok(v instanceof ReplyError, `expected an error, got ${JSON.stringify(v)}`);
  return v.message;
}

/** Polls `fn` until it returns `want` (cleanup after a disconnect is asynchronous). */
async function eventually(fn: () => Promise<ReplyValue>, want: ReplyValue): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const got = await fn();
    try {
      assert.deepEqual(got, want);
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test("pubsub: RESP2 subscribe, publish, message shapes and counts", async () => {
  await using server = await start();
  await using sub = await connect(server);
  await using pub = await connect(server);

  sub.send("SUBSCRIBE", "a", "b", "a");
  assert.deepEqual(await replies(sub, 3), [
    ["subscribe", "a", 1],
    ["subscribe", "b", 2],
    ["subscribe", "a", 2],
  ]);
  sub.send("PSUBSCRIBE", "a*");
  assert.deepEqual(await sub.readReply(5000), ["psubscribe", "a*", 3]);

  assert.equal(await pub.call("PUBLISH", "a", "hello"), 2);
  assert.deepEqual(await replies(sub, 2), [
    ["message", "a", "hello"],
    ["pmessage", "a*", "a", "hello"],
  ]);
  assert.equal(await pub.call("PUBLISH", "b", "x"), 1);
  assert.deepEqual(await sub.readReply(5000), ["message", "b", "x"]);
  assert.equal(await pub.call("PUBLISH", "nobody", "x"), 0);

  sub.send("UNSUBSCRIBE", "a", "never");
  assert.deepEqual(await replies(sub, 2), [
    ["unsubscribe", "a", 2],
    ["unsubscribe", "never", 2],
  ]);
  assert.equal(await pub.call("PUBLISH", "a", "p"), 1); // the pattern only
  assert.deepEqual(await sub.readReply(5000), ["pmessage", "a*", "a", "p"]);

  sub.send("UNSUBSCRIBE");
  assert.deepEqual(await sub.readReply(5000), ["unsubscribe", "b", 1]);
  sub.send("PUNSUBSCRIBE");
  assert.deepEqual(await sub.readReply(5000), ["punsubscribe", "a*", 0]);
  sub.send("UNSUBSCRIBE");
  assert.deepEqual(await sub.readReply(5000), ["unsubscribe", null, 0]);
  sub.send("PUNSUBSCRIBE", "x");
  assert.deepEqual(await sub.readReply(5000), ["punsubscribe", "x", 0]);
  // Out of subscribed mode again.
  assert.equal(await sub.call("PING"), "PONG");
  assert.equal(await sub.call("GET", "k"), null);
});

Deno.test("pubsub: RESP2 subscribed mode allows only pub/sub commands, PING, QUIT, RESET", async () => {
  await using server = await start();
  await using c = await connect(server);
  c.send("SUBSCRIBE", "a");
  await c.readReply(5000);

  const refused = (name: string) =>
    `ERR Can't execute '${name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`;
  assert.equal(errorText(await c.call("GET", "k")), refused("get"));
  assert.equal(errorText(await c.call("set", "k", "v")), refused("set"));
  assert.equal(errorText(await c.call("PUBLISH", "a", "x")), refused("publish"));
  assert.equal(errorText(await c.call("HELLO", "3")), refused("hello"));
  assert.equal(errorText(await c.call("DBSIZE")), refused("dbsize"));
  assert.equal(await server.router.clients.size, 1);
  assert.equal(await c.call("EXISTS", "k"), await c.call("EXISTS", "k")); // refused both times

  assert.deepEqual(await c.call("PING"), ["pong", ""]);
  assert.deepEqual(await c.call("PING", "hi"), ["pong", "hi"]);
  assert.equal(
    errorText(await c.call("PING", "a", "b")),
    "ERR wrong number of arguments for 'ping' command",
  );
  assert.equal(
    errorText(await c.call("SUBSCRIBE")),
    "ERR wrong number of arguments for 'subscribe' command",
  );

  // HELLO 2 is refused, but a RESP3 client is never restricted.
  assert.equal(await c.call("UNSUBSCRIBE"), null === null ? await Promise.resolve(null) : null)
    .catch?.(() => {});
});
