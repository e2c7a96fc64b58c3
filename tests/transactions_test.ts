/**
 * Transactions over a server with 3 shard workers: optimistic locking under contention, EXEC
 * atomic across shards, and EXEC replies in order.
 */
import assert from "node:assert/strict";
import { TesseraServer } from "../server/server.ts";
import { keySlotOfString } from "../engine/slot.ts";
import { ReplyError, RespClient } from "./resp_client.ts";

async function start(): Promise<TesseraServer> {
  return await TesseraServer.start({ port: 0, inMemory: true, shards: 3 });
}

/** One key per shard, named `${prefix}<n>`, in shard order. */
function keysPerShard(server: TesseraServer, prefix: string): string[] {
  const found: string[] = [];
  for (let i = 0; found.filter(Boolean).length < server.pool.count; i++) {
    const k = `${prefix}${i}`;
    const s = server.pool.slotToShard[keySlotOfString(k)]!;
    found[s] ??= k;
  }
  return found;
}

function connectAll(port: number, n: number): Promise<RespClient[]> {
  return Promise.all(Array.from({ length: n }, () => RespClient.connect({ port })));
}

async function closeAll(cs: RespClient[]): Promise<void> {
  await Promise.all(cs.map((c) => c.close()));
}

Deno.test("keysPerShard finds keys on three different shards", async () => {
  await using server = await start();
  const keys = keysPerShard(server, "counter:");
  assert.equal(keys.length, 3);
  assert.equal(new Set(keys.map((k) => server.pool.slotToShard[keySlotOfString(k)])).size, 3);
});

Deno.test("WATCH/GET/MULTI/SET/EXEC from 50 clients: no increment is lost", async () => {
  await using server = await start();
  const counters = keysPerShard(server, "counter:");
  const clients = await connectAll(server.port, 50);
  const perClient = 6;
  let aborted = 0;
  try {
    await Promise.all(clients.map(async (c, ci) => {
      for (let n = 0; n < perClient; n++) {
        const key = counters[(ci + n) % counters.length]!;
        for (let attempt = 0;; attempt++) {
          assert.ok(attempt < 1000, "too many retries");
          assert.equal(await c.call("WATCH", key), "OK");
          const v = await c.call("GET", key);
          const next = (v === null ? 0 : Number(v)) + 1;
          // Let the other clients run between the read and the write.
          if ((ci + attempt) % 3 === 0) await new Promise((r) => setTimeout(r, 0));
          assert.equal(await c.call("MULTI"), "OK");
          assert.equal(await c.call("SET", key, String(next)), "QUEUED");
          const res = await c.call("EXEC");
          if (res === null) {
            aborted++;
            continue;
          }
          assert.deepEqual(res, ["OK"]);
          break;
        }
      }
    }));
  } finally {
    await closeAll(clients);
  }
  await using check = await RespClient.connect({ port: server.port });
  // 50 clients × 6 increments, spread evenly over the 3 counters.
  assert.deepEqual(await check.call("MGET", ...counters), ["100", "100", "100"]);
  assert.ok(aborted > 0, "contention made some EXEC return null");
});

Deno.test("WATCH on keys of two shards: transfers keep the total exact", async () => {
  await using server = await start();
  const [a, b] = keysPerShard(server, "acct:");
  await using setup = await RespClient.connect({ port: server.port });
  await setup.call("MSET", a!, "1000", b!, "1000");
  const clients = await connectAll(server.port, 20);
  let done = 0;
  let aborted = 0;
  try {
    await Promise.all(clients.map(async (c, ci) => {
      for (let n = 0; n < 10; n++) {
        const [from, to] = (ci + n) % 2 === 0 ? [a!, b!] : [b!, a!];
        for (let attempt = 0;; attempt++) {
          await c.call("WATCH", from, to);
          const [f, t] = await c.call("MGET", from, to) as string[];
          if ((ci + attempt) % 2 === 0) await new Promise((r) => setTimeout(r, 0));
          await c.call("MULTI");
          await c.call("SET", from, String(Number(f) - 7));
          await c.call("SET", to, String(Number(t) + 7));
          const res = await c.call("EXEC");
          if (res !== null) {
            assert.deepEqual(res, ["OK", "OK"]);
            done++;
            break;
          }
          aborted++;
        }
      }
    }));
  } finally {
    await closeAll(clients);
  }
  assert.equal(done, 200);
  assert.ok(aborted > 0, "contention made some EXEC return null");
  const [x, y] = await setup.call("MGET", a!, b!) as string[];
  assert.equal(Number(x) + Number(y), 2000);
  // As many transfers went each way.
  assert.deepEqual([x, y], ["1000", "1000"]);
});

Deno.test("a MULTI writing keys on all shards is never seen half applied", async () => {
  await using server = await start();
  const keys = keysPerShard(server, "atomic:");
  const [writer, reader1, reader2] = await connectAll(server.port, 3);
  await writer!.call("MSET", ...keys.flatMap((k) => [k, "0"]));
  let stop = false;
  const torn: string[] = [];
  let reads = 0;
  const readLoop = async (c: RespClient, viaExec: boolean) => {
    while (!stop) {
      let vals: unknown;
      if (viaExec) {
        const res = await c.pipeline([
          ["MULTI"],
          ...keys.map((k) => ["GET", k]),
          ["EXEC"],
        ]);
        vals = res[res.length - 1];
      } else vals = await c.call("MGET", ...keys);
      const arr = vals as string[];
      reads++;
      if (new Set(arr).size !== 1) torn.push(JSON.stringify(arr));
    }
  };
  try {
    const readers = [readLoop(reader1!, false), readLoop(reader2!, true)];
    for (let i = 1; i <= 150; i++) {
      const v = String(i);
      const res = await writer!.pipeline([
        ["MULTI"],
        ...keys.map((k) => ["SET", k, v]),
        ["INCR", "writes"],
        ["EXEC"],
      ]);
      assert.deepEqual(res[res.length - 1], ["OK", "OK", "OK", i]);
    }
    stop = true;
    await Promise.all(readers);
  } finally {
    stop = true;
    await closeAll([writer!, reader1!, reader2!]);
  }
  assert.deepEqual(torn, []);
  assert.ok(reads > 20, `the readers ran alongside (${reads} reads)`);
});

Deno.test("EXEC replies in order with single-shard and cross-shard commands", async () => {
  await using server = await start();
  const [k0, k1, k2] = keysPerShard(server, "k:");
  const [s0, s1] = keysPerShard(server, "set:");
  const [l0, l1] = keysPerShard(server, "list:");
  await using c = await RespClient.connect({ port: server.port });
  await c.call("SET", "str", "text");
  const queued = [
    ["SET", k0!, "1"],
    ["MSET", k1!, "2", k2!, "3"], // cross-shard
    ["INCR", k0!],
    ["MGET", k0!, k1!, k2!], // cross-shard
    ["RENAME", k0!, k1!], // cross-shard, changes what follows sees
    ["GET", k1!],
    ["EXISTS", k0!, k1!, k2!],
    ["SADD", s0!, "a", "b"],
    ["SADD", s1!, "b", "c"],
    ["SINTERSTORE", "inter", s0!, s1!], // cross-shard
    ["SMEMBERS", "inter"],
    ["RPUSH", l0!, "x", "y"],
    ["LMOVE", l0!, l1!, "LEFT", "RIGHT"], // cross-shard
    ["LRANGE", l1!, "0", "-1"],
    ["INCR", "str"], // runtime error kept in place
    ["DEL", k1!, k2!, s0!, "missing"], // cross-shard
    ["DBSIZE"],
    ["PING", "last"],
  ];
  assert.equal(await c.call("MULTI"), "OK");
  for (const q of queued) assert.equal(await c.call(...q), "QUEUED");
  const res = await c.call("EXEC") as unknown[];
  assert.equal(res.length, queued.length);
  assert.deepEqual(res.slice(0, 14), [
    "OK",
    "OK",
    2,
    ["2", "2", "3"],
    "OK",
    "2",
    2,
    2,
    2,
    1,
    ["b"],
    2,
    "x",
    ["x"],
  ]);
  assert.ok(res[14] instanceof ReplyError);
  assert.equal(res[14].message, "ERR value is not an integer or out of range");
  // str, s1, inter, l0, l1 remain.
  assert.deepEqual(res.slice(15), [3, 5, "last"]);
  // A pipelined burst of transactions on one connection: each EXEC answers its own commands.
  const batch: string[][] = [];
  for (let i = 0; i < 20; i++) {
    batch.push(["MULTI"], ["SET", k0!, `v${i}`], ["MGET", k0!, k2!], ["EXEC"]);
  }
  const replies = await c.pipeline(batch);
  for (let i = 0; i < 20; i++) {
    assert.deepEqual(replies.slice(i * 4, i * 4 + 4), [
      "OK",
      "QUEUED",
      "QUEUED",
      ["OK", [`v${i}`, null]],
    ]);
  }
});

Deno.test("concurrent transactions on overlapping keys serialize", async () => {
  await using server = await start();
  const [x, y, z] = keysPerShard(server, "ov:");
  const clients = await connectAll(server.port, 10);
  const [observer] = await connectAll(server.port, 1);
  let stop = false;
  const mismatches: string[] = [];
  const watch = (async () => {
    while (!stop) {
      const v = await observer!.call("MGET", x!, y!, z!) as Array<string | null>;
      if (!(v[0] === v[1] && v[1] === v[2])) mismatches.push(JSON.stringify(v));
    }
  })();
  try {
    await Promise.all(clients.map(async (c) => {
      for (let i = 0; i < 20; i++) {
        const res = await c.pipeline([["MULTI"], ["INCR", x!], ["INCR", y!], ["INCR", z!], [
          "EXEC",
        ]]);
        const [a, b, d] = res[4] as number[];
        assert.ok(a === b && b === d, `one transaction saw the same counts: ${res[4]}`);
      }
    }));
  } finally {
    stop = true;
    await watch;
    await closeAll([...clients, observer!]);
  }
  assert.deepEqual(mismatches, []);
  await using c = await RespClient.connect({ port: server.port });
  assert.deepEqual(await c.call("MGET", x!, y!, z!), ["200", "200", "200"]);
});
