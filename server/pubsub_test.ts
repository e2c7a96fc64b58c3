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

/** The next `n` RESP3 pushes. */
async function pushes(c: RespClient, n: number): Promise<ReplyValue[]> {
  const out: ReplyValue[] = [];
  for (let i = 0; i < n; i++) out.push(await c.readPush(5000));
  return out;
}

function errorText(v: ReplyValue): string {
  assert.ok(v instanceof ReplyError, `expected an error, got ${JSON.stringify(v)}`);
  return v.message;
}

function refused(name: string): string {
  return `ERR Can't execute '${name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / ` +
    "RESET are allowed in this context";
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
  assert.equal(await pub.call("PUBLISH", "a", "p"), 1); // through the pattern only
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

  assert.equal(errorText(await c.call("GET", "k")), refused("get"));
  assert.equal(errorText(await c.call("set", "k", "v")), refused("set"));
  assert.equal(errorText(await c.call("PUBLISH", "a", "x")), refused("publish"));
  assert.equal(errorText(await c.call("HELLO", "3")), refused("hello"));
  assert.equal(errorText(await c.call("DBSIZE")), refused("dbsize"));
  assert.equal(errorText(await c.call("ECHO", "x")), refused("echo"));
  assert.match(errorText(await c.call("NOSUCH")), /^ERR unknown command 'NOSUCH'/);

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
  // Nothing ran: the key was never set.
  assert.deepEqual(await c.call("UNSUBSCRIBE"), ["unsubscribe", "a", 0]);
  assert.equal(await c.call("GET", "k"), null);

  // A pattern alone also restricts; leaving it lifts the restriction.
  assert.deepEqual(await c.call("PSUBSCRIBE", "p*"), ["psubscribe", "p*", 1]);
  assert.equal(errorText(await c.call("GET", "k")), refused("get"));
  assert.deepEqual(await c.call("PUNSUBSCRIBE", "p*"), ["punsubscribe", "p*", 0]);
  assert.equal(await c.call("PING"), "PONG");
});

Deno.test("pubsub: container commands are named with their subcommand", () => {
  assert.equal(subscribedModeError("get"), refused("get"));
  assert.equal(subscribedModeError("get", "x"), refused("get"));
  assert.equal(subscribedModeError("config", "GET"), refused("config|get"));
  assert.equal(subscribedModeError("client", "Id"), refused("client|id"));
  assert.equal(subscribedModeError("pubsub", "numsub"), refused("pubsub|numsub"));
  assert.equal(subscribedModeError("client"), refused("client"));
});

Deno.test("pubsub: RESP3 pushes, no restriction, HELLO 2 restricts", async () => {
  await using server = await start();
  await using sub = await connect(server);
  await using pub = await connect(server);
  assert.ok((await sub.call("HELLO", "3")) instanceof Map);

  sub.send("SUBSCRIBE", "a", "b");
  assert.deepEqual(await pushes(sub, 2), [["subscribe", "a", 1], ["subscribe", "b", 2]]);
  sub.send("PSUBSCRIBE", "?");
  assert.deepEqual(await sub.readPush(5000), ["psubscribe", "?", 3]);

  // Any command works while subscribed in RESP3; PING answers normally.
  assert.equal(await sub.call("SET", "k", "v"), "OK");
  assert.equal(await sub.call("GET", "k"), "v");
  assert.equal(await sub.call("PING"), "PONG");

  assert.equal(await pub.call("PUBLISH", "a", "m1"), 2);
  assert.deepEqual(await pushes(sub, 2), [["message", "a", "m1"], ["pmessage", "?", "a", "m1"]]);

  // The publisher's own message comes before its PUBLISH reply; both are read in order.
  assert.equal(await sub.call("PUBLISH", "b", "self"), 2);
  assert.deepEqual(await pushes(sub, 2), [
    ["message", "b", "self"],
    ["pmessage", "?", "b", "self"],
  ]);

  sub.send("UNSUBSCRIBE", "a", "zz");
  assert.deepEqual(await pushes(sub, 2), [["unsubscribe", "a", 2], ["unsubscribe", "zz", 2]]);

  // HELLO 2 while subscribed: now restricted, and messages are arrays.
  assert.ok(Array.isArray(await sub.call("HELLO", "2")));
  assert.equal(errorText(await sub.call("GET", "k")), refused("get"));
  assert.deepEqual(await sub.call("PING"), ["pong", ""]);
  assert.equal(await pub.call("PUBLISH", "b", "m2"), 2);
  assert.deepEqual(await replies(sub, 2), [["message", "b", "m2"], ["pmessage", "?", "b", "m2"]]);
  assert.equal(errorText(await sub.call("HELLO", "3")), refused("hello"));

  sub.send("UNSUBSCRIBE");
  assert.deepEqual(await sub.readReply(5000), ["unsubscribe", "b", 1]);
  sub.send("PUNSUBSCRIBE");
  assert.deepEqual(await sub.readReply(5000), ["punsubscribe", "?", 0]);
  sub.send("UNSUBSCRIBE");
  assert.deepEqual(await sub.readReply(5000), ["unsubscribe", null, 0]);
  assert.equal(await sub.call("GET", "k"), "v");
});

Deno.test("pubsub: glob patterns, a client on a channel and patterns, PUBLISH counts", async () => {
  await using server = await start();
  await using a = await connect(server);
  await using b = await connect(server);
  await using pub = await connect(server);

  a.send("SUBSCRIBE", "hello");
  a.send("PSUBSCRIBE", "h?llo", "h[ae]llo");
  assert.equal((await replies(a, 3)).length, 3);
  b.send("PSUBSCRIBE", "h\\*llo", "*", "[^a]bc");
  assert.equal((await replies(b, 3)).length, 3);

  assert.equal(await pub.call("PUBLISH", "hello", "1"), 4);
  assert.deepEqual(await replies(a, 3), [
    ["message", "hello", "1"],
    ["pmessage", "h?llo", "hello", "1"],
    ["pmessage", "h[ae]llo", "hello", "1"],
  ]);
  assert.deepEqual(await b.readReply(5000), ["pmessage", "*", "hello", "1"]);

  assert.equal(await pub.call("PUBLISH", "h*llo", "2"), 3);
  assert.deepEqual(await a.readReply(5000), ["pmessage", "h?llo", "h*llo", "2"]);
  assert.deepEqual(await replies(b, 2), [
    ["pmessage", "h\\*llo", "h*llo", "2"],
    ["pmessage", "*", "h*llo", "2"],
  ]);
  assert.equal(await pub.call("PUBLISH", "abc", "3"), 1); // [^a]bc does not match abc
  assert.deepEqual(await b.readReply(5000), ["pmessage", "*", "abc", "3"]);
  assert.equal(await pub.call("PUBLISH", "xbc", "4"), 2);
  assert.equal((await replies(b, 2)).length, 2);
  assert.equal(await pub.call("PUBLISH", "", "5"), 0); // * does not match the empty channel

  assert.equal(await pub.call("PUBSUB", "NUMPAT"), 5);
  assert.deepEqual(await pub.call("PUBSUB", "CHANNELS"), ["hello"]);
  assert.deepEqual(await pub.call("PUBSUB", "CHANNELS", "x*"), []);
  assert.deepEqual(await pub.call("PUBSUB", "NUMSUB", "hello", "h?llo", "hello"), [
    "hello",
    1,
    "h?llo",
    0,
    "hello",
    1,
  ]);
  assert.deepEqual(await pub.call("PUBSUB", "SHARDCHANNELS"), []);
  assert.deepEqual(await pub.call("PUBSUB", "SHARDNUMSUB", "hello"), ["hello", 0]);
  // Two clients on one pattern count once in NUMPAT.
  a.send("PSUBSCRIBE", "*");
  assert.deepEqual(await a.readReply(5000), ["psubscribe", "*", 4]);
  assert.equal(await pub.call("PUBSUB", "NUMPAT"), 5);
});

Deno.test("pubsub: PUBSUB and PUBLISH errors", async () => {
  await using server = await start();
  await using c = await connect(server);
  assert.equal(
    errorText(await c.call("PUBSUB")),
    "ERR wrong number of arguments for 'pubsub' command",
  );
  assert.equal(
    errorText(await c.call("PUBSUB", "Foo")),
    "ERR unknown subcommand 'Foo'. Try PUBSUB HELP.",
  );
  assert.equal(
    errorText(await c.call("PUBSUB", "NUMPAT", "x")),
    "ERR wrong number of arguments for 'pubsub|numpat' command",
  );
  assert.equal(
    errorText(await c.call("PUBSUB", "Channels", "a", "b")),
    "ERR unknown subcommand or wrong number of arguments for 'Channels'. Try PUBSUB HELP.",
  );
  assert.equal(
    errorText(await c.call("PUBSUB", "HELP", "x")),
    "ERR wrong number of arguments for 'pubsub|help' command",
  );
  const help = await c.call("PUBSUB", "help");
  assert.ok(Array.isArray(help) && help.length === 14);
  assert.match(help[0] as string, /^PUBSUB <subcommand>/);
  assert.equal(
    errorText(await c.call("PUBLISH", "a")),
    "ERR wrong number of arguments for 'publish' command",
  );
  assert.equal(
    errorText(await c.call("PSUBSCRIBE")),
    "ERR wrong number of arguments for 'psubscribe' command",
  );
});

Deno.test("pubsub: RESET, QUIT and disconnecting drop the subscriptions", async () => {
  await using server = await start();
  await using pub = await connect(server);

  await using a = await connect(server);
  a.send("SUBSCRIBE", "ch");
  a.send("PSUBSCRIBE", "c*");
  await replies(a, 2);
  assert.equal(await a.call("RESET"), "RESET");
  assert.equal(await pub.call("PUBLISH", "ch", "x"), 0);
  assert.equal(await pub.call("PUBSUB", "NUMPAT"), 0);
  assert.equal(await a.call("PING"), "PONG");
  assert.equal(await a.call("GET", "k"), null);

  // RESET still does what it did: back to RESP2 and db 0.
  await a.call("HELLO", "3");
  await a.call("SELECT", "3");
  a.send("SUBSCRIBE", "ch");
  await a.readPush(5000);
  assert.equal(await a.call("RESET"), "RESET");
  assert.match(String(await a.call("CLIENT", "INFO")), / db=0 /);
  assert.deepEqual(await a.call("HELLO"), [
    "server",
    "redis",
    "version",
    "7.0.15",
    "proto",
    2,
    "id",
    (await a.call("CLIENT", "ID")) as number,
    "mode",
    "standalone",
    "role",
    "master",
    "modules",
    [],
  ]);

  const b = await connect(server);
  b.send("SUBSCRIBE", "ch");
  await b.readReply(5000);
  assert.equal(await b.call("QUIT"), "OK");
  await b.closed;
  assert.equal(await pub.call("PUBLISH", "ch", "x"), 0);

  const d = await connect(server);
  d.send("SUBSCRIBE", "ch");
  d.send("PSUBSCRIBE", "*");
  await replies(d, 2);
  assert.deepEqual(await pub.call("PUBSUB", "NUMSUB", "ch"), ["ch", 1]);
  await d.close();
  await eventually(() => pub.call("PUBSUB", "NUMSUB", "ch"), ["ch", 0]);
  assert.equal(await pub.call("PUBSUB", "NUMPAT"), 0);
  assert.equal(await pub.call("PUBLISH", "ch", "x"), 0);

  // CLIENT KILL: the killed subscriber no longer counts.
  const e = await connect(server);
  e.send("SUBSCRIBE", "ch");
  await e.readReply(5000);
  const id = [...server.router.clients.values()].at(-1)!.id;
  assert.equal(await pub.call("CLIENT", "KILL", "ID", id), 1);
  assert.equal(await pub.call("PUBLISH", "ch", "x"), 0);
  await e.closed;
});

Deno.test("pubsub: many messages keep each publisher's order", async () => {
  await using server = await start();
  await using sub = await connect(server);
  sub.send("SUBSCRIBE", "ch");
  await sub.readReply(5000);
  const pubs = [await connect(server), await connect(server), await connect(server)];
  const n = 1000;
  const counts = await Promise.all(
    pubs.map((p, k) =>
      p.pipeline(Array.from({ length: n }, (_, i) => ["PUBLISH", "ch", `${k}:${i}`]))
    ),
  );
  for (const c of counts) assert.ok(c.every((x) => x === 1));
  const got = await replies(sub, pubs.length * n);
  for (let k = 0; k < pubs.length; k++) {
    const mine = got
      .map((m) => (m as string[])[2]!)
      .filter((m) => m.startsWith(`${k}:`));
    assert.deepEqual(mine, Array.from({ length: n }, (_, i) => `${k}:${i}`));
  }
  for (const p of pubs) await p.close();
});

Deno.test("pubsub: a message queues after the replies already due, never inside one", async () => {
  await using server = await start();
  await using sub = await connect(server);
  await using pub = await connect(server);
  sub.send("SUBSCRIBE", "ch");
  await sub.readReply(5000);
  for (let i = 0; i < 300; i++) sub.send("PING", `p${i}`);
  assert.equal(await pub.call("PUBLISH", "ch", "m"), 1);
  const got = await replies(sub, 301);
  const message = got.findIndex((r) => (r as string[])[0] === "message");
  assert.deepEqual(got[message], ["message", "ch", "m"]);
  got.splice(message, 1);
  assert.deepEqual(got, Array.from({ length: 300 }, (_, i) => ["pong", `p${i}`]));
});

Deno.test("pubsub: node-redis v4 subscriber receives what another client publishes", async () => {
  await using server = await start();
  const client = createClient({
    socket: { host: "127.0.0.1", port: server.port, reconnectStrategy: false },
  });
  client.on("error", () => {});
  await client.connect();
  const subscriber = client.duplicate();
  subscriber.on("error", () => {});
  await subscriber.connect();
  try {
    const got: string[] = [];
    let wake: () => void = () => {};
    const arrived = (n: number) =>
      new Promise<void>((resolve) => {
        const check = () => got.length >= n ? resolve() : (wake = check);
        check();
      });
    await subscriber.subscribe("news", (message, channel) => {
      got.push(`message ${channel} ${message}`);
      wake();
    });
    await subscriber.pSubscribe("n*", (message, channel) => {
      got.push(`pmessage ${channel} ${message}`);
      wake();
    });
    assert.equal(await client.publish("news", "hello"), 2);
    assert.equal(await client.publish("nope", "x"), 1);
    assert.equal(await client.publish("other", "y"), 0);
    await arrived(3);
    assert.deepEqual(got, [
      "message news hello",
      "pmessage news hello",
      "pmessage nope x",
    ]);
    assert.deepEqual(await client.pubSubChannels(), ["news"]);
    assert.deepEqual({ ...await client.pubSubNumSub(["news", "zz"]) }, { news: 1, zz: 0 });
    assert.equal(await client.pubSubNumPat(), 1);

    await subscriber.unsubscribe("news");
    assert.equal(await client.publish("news", "again"), 1);
    await arrived(4);
    assert.equal(got[3], "pmessage news again");
    await subscriber.pUnsubscribe();
    assert.equal(await client.publish("news", "gone"), 0);
    // Out of subscribed mode, the subscriber is a normal client again.
    assert.equal(await subscriber.set("k", "v"), "OK");
    assert.equal(await client.get("k"), "v");
  } finally {
    await subscriber.quit().catch(() => subscriber.disconnect());
    await client.quit().catch(() => client.disconnect());
  }
});

Deno.test("CLIENT LIST shows each client's channel and pattern subscriptions", async () => {
  await using server = await TesseraServer.start({ port: 0, inMemory: true, shards: 2 });
  await using sub = await RespClient.connect({ port: server.port });
  await using admin = await RespClient.connect({ port: server.port });
  sub.send("SUBSCRIBE", "a", "b");
  await sub.readReply(5000);
  await sub.readReply(5000);
  sub.send("PSUBSCRIBE", "x*");
  await sub.readReply(5000);
  const list = await admin.call("CLIENT", "LIST") as string;
  const line = list.split("\n").find((l) => / sub=2 /.test(l));
  assert.ok(line, list);
  assert.match(line!, / psub=1 /);
  assert.match(list, /sub=0 psub=0/, "the admin connection has none");
});
