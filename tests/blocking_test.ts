/**
 * Blocking pops over a server with 3 shard workers: FIFO service, wake-ups from any connection
 * and any shard, timeouts, a producer/consumer queue, held pipelines, disconnects, CLIENT
 * UNBLOCK/KILL and CLIENT PAUSE.
 */
import assert from "node:assert/strict";
import { TesseraServer } from "../server/server.ts";
import { keySlotOfString } from "../engine/slot.ts";
import { ReplyError, type ReplyValue, RespClient } from "./resp_client.ts";

async function start(): Promise<TesseraServer> {
  return await TesseraServer.start({ port: 0, inMemory: true, shards: 3 });
}

/** One key per shard, named `${prefix}<n>`, in shard order. */
function keysPerShard(server: TesseraServer, prefix: string): string[] {
  const found: string[] = [];
  for (let i = 0; found.filter(Boolean).length < server.pool.count; i++) {
    const k = `${prefix}${i}`;
    found[server.pool.slotToShard[keySlotOfString(k)]!] ??= k;
  }
  return found;
}

function connectAll(port: number, n: number): Promise<RespClient[]> {
  return Promise.all(Array.from({ length: n }, () => RespClient.connect({ port })));
}

async function closeAll(cs: RespClient[]): Promise<void> {
  await Promise.all(cs.map((c) => c.close()));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function blockedClients(c: RespClient): Promise<number> {
  const info = await c.call("INFO", "clients") as string;
  return Number(/blocked_clients:(\d+)/.exec(info)?.[1]);
}

/** Waits until INFO reports `n` blocked clients. */
async function waitBlocked(c: RespClient, n: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await blockedClients(c) === n) return;
    await sleep(5);
  }
  assert.fail(`blocked_clients never reached ${n} (now ${await blockedClients(c)})`);
}

/** Asserts that `c` has no reply within `ms`. */
async function assertNoReply(c: RespClient, ms: number): Promise<void> {
  const r = await c.readReply(ms).then((v) => ({ v }), () => undefined);
  assert.equal(r, undefined, `unexpected reply ${JSON.stringify(r?.v)}`);
}

Deno.test("clients blocked on one key are served in the order they blocked", async () => {
  await using server = await start();
  const [other0, other1] = keysPerShard(server, "other:");
  const [admin, c1, c2, c3, c4, pusher] = await connectAll(server.port, 6);
  try {
    // Mixed key lists (some spanning shards), all including "k".
    c1!.send("BLPOP", "k", "0");
    await waitBlocked(admin!, 1);
    c2!.send("BLPOP", other0!, "k", "0");
    await waitBlocked(admin!, 2);
    c3!.send("BRPOP", "k", other1!, "0");
    await waitBlocked(admin!, 3);
    c4!.send("BLMOVE", "k", "moved", "LEFT", "LEFT", "0");
    await waitBlocked(admin!, 4);
    assert.equal(await pusher!.call("RPUSH", "k", "a", "b", "c", "d", "e"), 5);
    assert.deepEqual(await c1!.readReply(2000), ["k", "a"]);
    assert.deepEqual(await c2!.readReply(2000), ["k", "b"]);
    // BRPOP takes from the tail.
    assert.deepEqual(await c3!.readReply(2000), ["k", "e"]);
    assert.equal(await c4!.readReply(2000), "c");
    assert.deepEqual(await pusher!.call("LRANGE", "k", "0", "-1"), ["d"]);
    assert.deepEqual(await pusher!.call("LRANGE", "moved", "0", "-1"), ["c"]);
    assert.equal(await blockedClients(admin!), 0);
    // One element for three waiters: only the first is served, the others keep waiting.
    for (const c of [c1!, c2!, c3!]) {
      c.send("BLPOP", "one", "0");
      await waitBlocked(admin!, [c1, c2, c3].indexOf(c) + 1);
    }
    await pusher!.call("LPUSH", "one", "x");
    assert.deepEqual(await c1!.readReply(2000), ["one", "x"]);
    await assertNoReply(c2!, 100);
    await waitBlocked(admin!, 2);
    await pusher!.call("LPUSH", "one", "y", "z");
    assert.deepEqual(await c2!.readReply(2000), ["one", "z"]);
    assert.deepEqual(await c3!.readReply(2000), ["one", "y"]);
  } finally {
    await closeAll([admin!, c1!, c2!, c3!, c4!, pusher!]);
  }
});

Deno.test("a push from any connection, by any list command, wakes a blocked client", async () => {
  await using server = await start();
  const [admin, waiter, a, b] = await connectAll(server.port, 4);
  const [src0, src1, src2] = keysPerShard(server, "src:");
  const pushes: Array<[string, string[][], ReplyValue]> = [
    ["RPUSH", [["RPUSH", "k", "v1"]], ["k", "v1"]],
    ["LPUSH", [["LPUSH", "k", "v2", "v3"]], ["k", "v3"]],
    ["LMOVE from another shard", [["RPUSH", src0!, "m"], ["LMOVE", src0!, "k", "LEFT", "LEFT"]], [
      "k",
      "m",
    ]],
    ["RPOPLPUSH", [["RPUSH", src1!, "r"], ["RPOPLPUSH", src1!, "k"]], ["k", "r"]],
    ["RENAME onto the key", [["RPUSH", src2!, "n"], ["RENAME", src2!, "k"]], ["k", "n"]],
    ["COPY onto the key", [["RPUSH", "tmp", "c"], ["COPY", "tmp", "k"]], ["k", "c"]],
    ["MULTI/EXEC", [["MULTI"], ["RPUSH", "k", "t"], ["EXEC"]], ["k", "t"]],
  ];
  try {
    let i = 0;
    for (const [label, cmds, want] of pushes) {
      await a!.call("DEL", "k");
      waiter!.send("BLPOP", "k", "0");
      await waitBlocked(admin!, 1);
      const pusher = i++ % 2 === 0 ? a! : b!;
      for (const cmd of cmds) await pusher.call(...cmd);
      assert.deepEqual(await waiter!.readReply(2000), want, label);
      await waitBlocked(admin!, 0);
    }
    // A BLMOVE that is served pushes to its destination, which serves the next client in turn.
    const [c1, c2] = await connectAll(server.port, 2);
    try {
      c1!.send("BLPOP", "dst", "0");
      await waitBlocked(admin!, 1);
      c2!.send("BLMOVE", "chain", "dst", "LEFT", "RIGHT", "0");
      await waitBlocked(admin!, 2);
      await a!.call("RPUSH", "chain", "hop");
      assert.equal(await c2!.readReply(2000), "hop");
      assert.deepEqual(await c1!.readReply(2000), ["dst", "hop"]);
      await waitBlocked(admin!, 0);
    } finally {
      await closeAll([c1!, c2!]);
    }
  } finally {
    await closeAll([admin!, waiter!, a!, b!]);
  }
});

Deno.test("BLPOP over keys on several shards takes the first non-empty key", async () => {
  await using server = await start();
  const keys = keysPerShard(server, "q:");
  const [admin, c, p] = await connectAll(server.port, 3);
  try {
    await p!.call("RPUSH", keys[2]!, "c1", "c2");
    await p!.call("RPUSH", keys[1]!, "b1");
    assert.deepEqual(await c!.call("BLPOP", keys[0]!, keys[1]!, keys[2]!, "0"), [keys[1], "b1"]);
    assert.deepEqual(await c!.call("BLPOP", keys[0]!, keys[1]!, keys[2]!, "0"), [keys[2], "c1"]);
    assert.deepEqual(await c!.call("BRPOP", keys[2]!, keys[1]!, keys[0]!, "0"), [keys[2], "c2"]);
    // All empty: a push to the last key wakes it.
    c!.send("BLPOP", keys[0]!, keys[1]!, keys[2]!, "0");
    await waitBlocked(admin!, 1);
    await p!.call("RPUSH", keys[2]!, "late");
    assert.deepEqual(await c!.readReply(2000), [keys[2], "late"]);
    // A write to another key of a waited-on shard does not serve it.
    c!.send("BLPOP", keys[0]!, keys[1]!, "0");
    await waitBlocked(admin!, 1);
    await p!.call("RPUSH", keys[2]!, "elsewhere");
    await assertNoReply(c!, 100);
    await p!.call("LPUSH", keys[0]!, "first");
    assert.deepEqual(await c!.readReply(2000), [keys[0], "first"]);
  } finally {
    await closeAll([admin!, c!, p!]);
  }
});

Deno.test("a push racing with the blocking attempt is never missed", async () => {
  await using server = await start();
  const [c, p] = await connectAll(server.port, 2);
  const keys = keysPerShard(server, "race:");
  try {
    for (let i = 0; i < 300; i++) {
      const key = keys[i % keys.length]!;
      // The push is sent while the BLPOP's first attempt may still be in flight.
      const popped = c!.call("BLPOP", key, "0");
      if (i % 3 !== 0) await sleep(i % 3 - 1);
      p!.send("RPUSH", key, `v${i}`);
      const got = await Promise.race([popped, sleep(2000).then(() => "missed")]);
      assert.deepEqual(got, [key, `v${i}`], `round ${i}`);
      assert.equal(await p!.readReply(2000), 1);
    }
  } finally {
    await closeAll([c!, p!]);
  }
});

Deno.test("timeouts: 0 waits for a push, fractions of a second time out", async () => {
  await using server = await start();
  const [admin, c, p] = await connectAll(server.port, 3);
  try {
    c!.send("BLPOP", "k", "0");
    await waitBlocked(admin!, 1);
    await assertNoReply(c!, 400);
    await p!.call("RPUSH", "k", "v");
    assert.deepEqual(await c!.readReply(2000), ["k", "v"]);

    for (
      const [timeout, min, max] of [["0.25", 230, 1500], ["0.05", 40, 1000], ["0.001", 0, 500]]
    ) {
      const t0 = performance.now();
      assert.equal(await c!.call("BLPOP", "k", timeout!), null);
      const took = performance.now() - t0;
      assert.ok(took >= Number(min) && took < Number(max), `BLPOP ${timeout}: ${took} ms`);
    }
    const t0 = performance.now();
    assert.equal(await c!.call("BLMOVE", "k", "d", "LEFT", "LEFT", "0.1"), null);
    assert.equal(await c!.call("BRPOPLPUSH", "k", "d", "0.1"), null);
    assert.ok(performance.now() - t0 >= 180);
    assert.equal(await blockedClients(admin!), 0);
    // A timeout far beyond a JS timer's range still blocks.
    c!.send("BLPOP", "k", "3000000");
    await waitBlocked(admin!, 1);
    await assertNoReply(c!, 100);
    await p!.call("RPUSH", "k", "w");
    assert.deepEqual(await c!.readReply(2000), ["k", "w"]);
  } finally {
    await closeAll([admin!, c!, p!]);
  }
});

Deno.test("queue: 4 producers, 4 consumers, every item delivered exactly once", async () => {
  await using server = await start();
  const queues = keysPerShard(server, "jobs:");
  const producers = await connectAll(server.port, 4);
  const consumers = await connectAll(server.port, 4);
  const perProducer = 60;
  const total = producers.length * perProducer;
  const seen = new Map<string, number>();
  let consumed = 0;
  const consume = async (c: RespClient, ci: number) => {
    const proc = `processing:${ci}`;
    while (consumed < total) {
      const q = queues[(ci + consumed) % queues.length]!;
      // Half use BRPOPLPUSH, half BLMOVE; short timeouts so a consumer moves between queues.
      const item = ci % 2 === 0
        ? await c.call("BRPOPLPUSH", q, proc, "0.05")
        : await c.call("BLMOVE", q, proc, "RIGHT", "LEFT", "0.05");
      if (item === null) continue;
      assert.equal(typeof item, "string");
      seen.set(item as string, (seen.get(item as string) ?? 0) + 1);
      consumed++;
      assert.equal(await c.call("LREM", proc, "1", item as string), 1);
    }
  };
  const produce = async (c: RespClient, pi: number) => {
    for (let n = 0; n < perProducer; n++) {
      await c.call("LPUSH", queues[(pi + n) % queues.length]!, `job-${pi}-${n}`);
      if (n % 10 === 0) await sleep(1);
    }
  };
  try {
    const running = consumers.map(consume);
    await Promise.all(producers.map(produce));
    await Promise.race([
      Promise.all(running),
      sleep(20_000).then(() => assert.fail(`stuck after ${consumed}/${total} items`)),
    ]);
  } finally {
    consumed = total;
    await closeAll([...producers, ...consumers]);
  }
  assert.equal(seen.size, total);
  assert.ok([...seen.values()].every((n) => n === 1), "no item delivered twice");
  for (let pi = 0; pi < 4; pi++) {
    for (let n = 0; n < perProducer; n++) assert.ok(seen.has(`job-${pi}-${n}`));
  }
  await using check = await RespClient.connect({ port: server.port });
  const left = await check.call(
    "EXISTS",
    ...queues,
    ...consumers.map((_, i) => `processing:${i}`),
  );
  assert.equal(left, 0, "queues and processing lists are empty");
});

Deno.test("a blocked client's pipelined commands run only after it is served, in order", async () => {
  await using server = await start();
  const [admin, c, other] = await connectAll(server.port, 3);
  try {
    await other!.call("SET", "x", "before");
    const replies = c!.pipeline([
      ["BLPOP", "k", "0"],
      ["SET", "ran", "yes"],
      ["GET", "x"],
      ["INCR", "n"],
    ]);
    await waitBlocked(admin!, 1);
    await sleep(50);
    // Nothing after the BLPOP has run.
    assert.equal(await other!.call("GET", "ran"), null);
    assert.equal(await other!.call("GET", "n"), null);
    await other!.call("SET", "x", "after");
    await other!.call("RPUSH", "k", "v");
    assert.deepEqual(await replies, [["k", "v"], "OK", "after", 1]);
    assert.equal(await other!.call("GET", "ran"), "yes");
    // Served at once: the rest of the pipeline follows normally.
    await other!.call("RPUSH", "k", "w");
    assert.deepEqual(await c!.pipeline([["BLPOP", "k", "0"], ["INCR", "n"]]), [["k", "w"], 2]);
    // A second blocking command in the held part blocks in turn.
    const more = c!.pipeline([["BLPOP", "k", "0"], ["BRPOP", "j", "0"], ["INCR", "n"]]);
    await waitBlocked(admin!, 1);
    await other!.call("RPUSH", "k", "1");
    await waitBlocked(admin!, 1);
    assert.equal(await other!.call("GET", "n"), "2");
    await other!.call("RPUSH", "j", "2");
    assert.deepEqual(await more, [["k", "1"], ["j", "2"], 3]);
  } finally {
    await closeAll([admin!, c!, other!]);
  }
});

Deno.test("a blocked client that disconnects is forgotten", async () => {
  await using server = await start();
  const [admin, p] = await connectAll(server.port, 2);
  try {
    const c = await RespClient.connect({ port: server.port });
    c.send("BLPOP", "k", "0");
    c.send("SET", "held", "1");
    await waitBlocked(admin!, 1);
    await c.close();
    await waitBlocked(admin!, 0);
    assert.equal(await p!.call("RPUSH", "k", "v"), 1);
    await sleep(50);
    assert.deepEqual(
      await p!.call("LRANGE", "k", "0", "-1"),
      ["v"],
      "not taken by the dead client",
    );
    assert.equal(await p!.call("GET", "held"), null, "its unread commands are dropped");
    // Several waiters, the first one gone: the next one is served.
    const [d1, d2] = await connectAll(server.port, 2);
    d1!.send("BLPOP", "q", "0");
    await waitBlocked(admin!, 1);
    d2!.send("BLPOP", "q", "0");
    await waitBlocked(admin!, 2);
    await d1!.close();
    await waitBlocked(admin!, 1);
    await p!.call("RPUSH", "q", "x");
    assert.deepEqual(await d2!.readReply(2000), ["q", "x"]);
    await d2!.close();
  } finally {
    await closeAll([admin!, p!]);
  }
});

Deno.test("CLIENT UNBLOCK ends a wait as a timeout or with an error", async () => {
  await using server = await start();
  const [admin, c] = await connectAll(server.port, 2);
  try {
    const id = await c!.call("CLIENT", "ID") as number;
    assert.equal(await admin!.call("CLIENT", "UNBLOCK", String(id)), 0, "not blocked");
    const r1 = c!.pipeline([["BLPOP", "k", "0"], ["PING"]]);
    await waitBlocked(admin!, 1);
    assert.equal(await admin!.call("CLIENT", "UNBLOCK", String(id), "TIMEOUT"), 1);
    assert.deepEqual(await r1, [null, "PONG"]);
    await waitBlocked(admin!, 0);

    c!.send("BLMOVE", "k", "d", "LEFT", "LEFT", "0");
    await waitBlocked(admin!, 1);
    assert.equal(await admin!.call("CLIENT", "UNBLOCK", String(id), "ERROR"), 1);
    const err = await c!.readReply(2000);
    assert.ok(err instanceof ReplyError);
    assert.equal(err.message, "UNBLOCKED client unblocked via CLIENT UNBLOCK");
    assert.equal(await admin!.call("CLIENT", "UNBLOCK", String(id), "ERROR"), 0);
    // Still usable, and no longer waiting on "k".
    await admin!.call("RPUSH", "k", "v");
    assert.deepEqual(await admin!.call("LRANGE", "k", "0", "-1"), ["v"]);
    assert.equal(await c!.call("PING"), "PONG");
  } finally {
    await closeAll([admin!, c!]);
  }
});

Deno.test("CLIENT KILL of a blocked client closes it and unblocks", async () => {
  await using server = await start();
  const [admin, c] = await connectAll(server.port, 2);
  try {
    const id = await c!.call("CLIENT", "ID") as number;
    const pending = c!.call("BLPOP", "k", "0").catch((e: Error) => e);
    await waitBlocked(admin!, 1);
    assert.equal(await admin!.call("CLIENT", "KILL", "ID", String(id)), 1);
    assert.ok(await pending instanceof Error, "the blocked call ends with the connection");
    await c!.closed;
    await waitBlocked(admin!, 0);
    await admin!.call("RPUSH", "k", "v");
    assert.deepEqual(await admin!.call("LRANGE", "k", "0", "-1"), ["v"]);
  } finally {
    await closeAll([admin!, c!]);
  }
});

Deno.test("CLIENT PAUSE WRITE holds writes, not reads, until it ends", async () => {
  await using server = await start();
  const [admin, w, r] = await connectAll(server.port, 3);
  try {
    await w!.call("SET", "k", "1");
    // Ends by itself.
    assert.equal(await admin!.call("CLIENT", "PAUSE", "300", "WRITE"), "OK");
    const t0 = performance.now();
    const held = w!.pipeline([["SET", "k", "2"], ["GET", "k"]]);
    assert.equal(await r!.call("GET", "k"), "1", "reads go on");
    assert.deepEqual(await r!.call("MGET", "k", "other"), ["1", null]);
    await sleep(100);
    assert.equal(await r!.call("GET", "k"), "1", "the write is still held");
    assert.deepEqual(await held, ["OK", "2"]);
    assert.ok(performance.now() - t0 >= 250, "released when the pause ends");
    // Ended early by CLIENT UNPAUSE; a held EXEC with writes waits too.
    assert.equal(await admin!.call("CLIENT", "PAUSE", "10000", "WRITE"), "OK");
    const t1 = performance.now();
    const tx = w!.pipeline([["MULTI"], ["INCR", "k"], ["EXEC"]]);
    const read = await r!.pipeline([["MULTI"], ["GET", "k"], ["EXEC"]]);
    assert.deepEqual(read[2], ["2"], "a read-only EXEC runs");
    await sleep(100);
    assert.equal(await r!.call("GET", "k"), "2");
    assert.equal(await admin!.call("CLIENT", "UNPAUSE"), "OK");
    assert.deepEqual(await tx, ["OK", "QUEUED", [3]]);
    assert.ok(performance.now() - t1 < 5000);
  } finally {
    await admin!.call("CLIENT", "UNPAUSE");
    await closeAll([admin!, w!, r!]);
  }
});

Deno.test("CLIENT PAUSE ALL holds every command until it ends", async () => {
  await using server = await start();
  const [admin, a, b] = await connectAll(server.port, 3);
  try {
    await a!.call("SET", "k", "1");
    const t0 = performance.now();
    assert.equal(await admin!.call("CLIENT", "PAUSE", "300", "ALL"), "OK");
    const read = a!.call("GET", "k");
    const ping = b!.call("PING");
    const unpause = admin!.call("CLIENT", "UNPAUSE"); // held as well
    const first = await Promise.race([read, ping, unpause, sleep(150).then(() => "nothing")]);
    assert.equal(first, "nothing", "everything is held");
    assert.equal(await read, "1");
    assert.equal(await ping, "PONG");
    assert.equal(await unpause, "OK");
    assert.ok(performance.now() - t0 >= 250, "released when the pause ends");
    assert.equal(await a!.call("SET", "k", "2"), "OK");
  } finally {
    await closeAll([admin!, a!, b!]);
  }
});

Deno.test("timeouts may be hex floats, as Redis' strtold reads them", async () => {
  await using server = await start();
  await using c = await RespClient.connect({ port: server.port });
  const t0 = Date.now();
  assert.equal(await c.call("BLPOP", "hex:empty", "0x0.4p1"), null); // 0.5 s
  const waited = Date.now() - t0;
  assert.ok(waited >= 450 && waited < 3000, `waited ${waited} ms`);
  const negative = await c.call("BLPOP", "hex:empty", "-0x1") as ReplyError;
  assert.equal(negative.message, "ERR timeout is negative");
});
