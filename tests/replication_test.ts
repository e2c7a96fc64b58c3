/**
 * Replication end to end, in process over TCP (Tessera issue 4): full sync then the incremental
 * stream; a restarted replica resumes incrementally; a purged position sends it to a full sync;
 * MetaSync from a replica the master still knows is an upsert (no "already exists" loop);
 * read-only replicas, promotion, SLAVEOF, ROLE; keys expiring while replicated; the master's
 * view of a replica that left; the full sync's throttle and parallelism.
 */
import assert from "node:assert/strict";
import { ReplyError } from "./resp_client.ts";
import { FlakyProxy } from "./support/flaky_proxy.ts";
import {
  assertSameDataset,
  crossShardKeys,
  fillBytes,
  follow,
  hasZsets,
  linkDetail,
  recordErrors,
  shardOf,
  sleep,
  snapshotBytes,
  TestNode,
  trackChunks,
  waitFor,
  waitSynced,
} from "./support/replication_helpers.ts";

const READONLY = "READONLY You can't write against a read only replica.";
const FAR = Date.now() + 1000 * 1000_000; // an absolute expiry far in the future (ms)

/** Strings, hashes, lists, sets (and sorted sets when ZADD exists) in db 0, a few keys in db 3. */
async function writeEveryType(node: TestNode, zsets: boolean): Promise<void> {
  const bin = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join("");
  const cmds: Array<Array<string | number>> = [
    ["SET", "str", "hello"],
    ["SET", "bin\x00key\xff", bin],
    ["SET", "counter", 41],
    ["INCR", "counter"],
    ["SET", "ttl:ex", "v", "EX", 5000],
    ["SET", "ttl:pxat", "v", "PXAT", FAR],
    ["SET", "ttl:expire", "v"],
    ["EXPIRE", "ttl:expire", 7000],
    ["HSET", "hash", "f1", "v1", "f2", "v2", "f3", bin],
    ["HSET", "hash:ttl", "a", "1"],
    ["PEXPIRE", "hash:ttl", 9_000_000],
    ["RPUSH", "list", "a", "b", "c", "", "a"],
    ["LPUSH", "list", "z"],
    ["RPUSH", "list:ttl", "x"],
    ["EXPIREAT", "list:ttl", Math.floor(FAR / 1000)],
    ["SADD", "set", "m1", "m2", "m3", bin],
    ["SADD", "set:ttl", "only"],
    ["PEXPIREAT", "set:ttl", FAR + 123],
  ];
  for (let i = 0; i < 200; i++) cmds.push(["SET", `bulk:${i}`, `value-${i}`.repeat(1 + (i % 7))]);
  for (let i = 0; i < 20; i++) cmds.push(["HSET", `h:${i}`, "n", i, "sq", i * i]);
  for (let i = 0; i < 20; i++) {
    cmds.push([
      "RPUSH",
      `l:${i}`,
      ...Array.from({ length: i + 1 }, (_, j) => `e${j}`),
    ]);
  }
  for (let i = 0; i < 20; i++) {
    cmds.push([
      "SADD",
      `s:${i}`,
      ...Array.from({ length: i + 1 }, (_, j) => `m${j}`),
    ]);
  }
  if (zsets) {
    cmds.push(["ZADD", "zset", 1, "a", 2.5, "b", -3, "c", "inf", "top"]);
    cmds.push(["ZADD", "zset:ttl", 0, "x"], ["PEXPIRE", "zset:ttl", 8_000_000]);
    for (let i = 0; i < 20; i++) cmds.push(["ZADD", `z:${i}`, i, `m${i}`, -i, `n${i}`]);
  }
  await node.pipeline(cmds);
  await node.pipeline([
    ["SELECT", 3],
    ["SET", "db3:str", "x"],
    ["HSET", "db3:hash", "f", "v"],
    ["RPUSH", "db3:list", "1", "2"],
    ["SET", "db3:ttl", "y", "PX", 6_000_000],
    ["SELECT", 0],
  ]);
}

Deno.test({
  name: "full sync of every type and expiry, then incremental writes across shards and dbs",
  async fn() {
    await using master = await TestNode.start("master");
    await using replica = await TestNode.start("replica");
    const zsets = await hasZsets(master);
    await writeEveryType(master, zsets);
    // The replica's own data before following: replaced by the full sync.
    await replica.ok("SET", "replica-only", "gone after the sync");

    await follow(replica, master);
    const link = replica.requireLink;
    assert.equal(link.counters.fullSyncs, 1, "one full sync");
    assert.ok(link.lastFullSync?.ok, "the full sync succeeded");
    assert.equal(master.coordinator.stats.syncFull, 1, "master: sync_full");
    assert.equal(await master.infoField("sync_full", "stats"), "1");
    const first = await assertSameDataset(master, replica);
    assert.equal(await replica.call("EXISTS", "replica-only"), 0);
    assert.ok(first.keys.has(3), "db 3 was copied");
    assert.ok(first.withTtl === (zsets ? 8 : 7), `keys with a TTL compared: ${first.withTtl}`);
    assert.equal(
      await replica.call("PEXPIRETIME", "ttl:pxat"),
      FAR,
      "an absolute expiry is copied exactly",
    );

    // Incremental writes: single- and multi-shard commands, deletions, expiries, other dbs.
    const keys = crossShardKeys("mk", 8);
    assert.ok(new Set(keys.map((k) => shardOf(k, 2))).size === 2, "keys span both shards");
    const before = { ...link.counters };
    const cmds: Array<Array<string | number>> = [
      ["MSET", ...keys.flatMap((k, i) => [k, `v${i}`])],
      ["MSETNX", "nx:a", "1", "nx:b", "2"],
      ["DEL", keys[0]!, keys[1]!, "bulk:0", "bulk:1", "missing"],
      ["UNLINK", "bulk:2"],
      ["EXPIRE", keys[2]!, 4000],
      ["PEXPIREAT", keys[3]!, FAR + 77],
      ["PERSIST", "ttl:expire"],
      ["INCRBY", "counter", 100],
      ["INCRBYFLOAT", "float", "1.5"],
      ["APPEND", "str", " world"],
      ["SETRANGE", "str", 0, "J"],
      ["GETDEL", "bulk:3"],
      ["GETEX", "bulk:4", "EX", 3000],
      ["HSET", "hash", "f4", "v4"],
      ["HDEL", "hash", "f1"],
      ["HINCRBY", "h:0", "n", 5],
      ["HINCRBYFLOAT", "h:1", "n", "0.25"],
      ["LPUSH", "list", "new-head"],
      ["RPOP", "list"],
      ["LMOVE", "l:3", "l:9", "LEFT", "RIGHT"],
      ["RPOPLPUSH", "l:4", "l:new"],
      ["LSET", "l:5", 0, "changed"],
      ["LTRIM", "l:6", 1, -1],
      ["SADD", "set", "m4"],
      ["SREM", "set", "m1"],
      ["SPOP", "s:10", 3],
      ["SMOVE", "s:11", "s:12", "m0"],
      ["SUNIONSTORE", "s:union", "s:1", "s:2", "s:3"],
      ["SINTERSTORE", "s:inter", "s:5", "s:6"],
      ["RENAME", "bulk:5", keys[4]! + ":renamed"],
      ["COPY", "hash", "hash:copy"],
      ["SET", "short", "lives", "PX", 2_000_000],
      ["DEL", "l:7", "s:7", "h:7"],
    ];
    if (zsets) {
      cmds.push(["ZADD", "zset", 9, "d"], ["ZINCRBY", "zset", 2, "a"], ["ZREM", "z:1", "m1"]);
    }
    await master.pipeline(cmds);
    // FLUSHDB in another db; db 0 must be untouched by it.
    await master.pipeline([["SELECT", 3], ["FLUSHDB"], ["SELECT", 5], ["SET", "db5", "new"], [
      "SELECT",
      0,
    ]]);
    await waitSynced(master, replica);
    const second = await assertSameDataset(master, replica);
    assert.ok(!second.keys.has(3), "FLUSHDB of db 3 replicated");
    assert.equal(second.keys.get(5), 1, "db 5 written");
    assert.equal(await replica.call("GET", "float"), "1.5");
    assert.equal(await replica.call("EXISTS", keys[0]!, keys[1]!), 0);
    assert.equal(await replica.call("GET", keys[7]!), "v7");

    // All of that went through the stream: no further full sync, nothing refused.
    assert.equal(link.counters.fullSyncs, 1, "no second full sync");
    assert.equal(link.counters.connects, before.connects, "the link stayed up");
    assert.equal(link.counters.applyFailures, 0);
    assert.ok(link.counters.recordsApplied > before.recordsApplied);
    assert.equal(master.coordinator.stats.syncFull, 1);
    const info = await replica.info();
    assert.equal(info.get("master_link_status"), "up");
    assert.equal(info.get("tessera_last_error"), "");
    assert.equal(info.get("master_replid"), await master.infoField("master_replid"));
  },
});

Deno.test({
  name: "a restarted replica goes back to its persisted master and resumes incrementally",
  async fn() {
    await using master = await TestNode.start("master");
    await using replica = await TestNode.start("replica");
    await fillBytes(master, "base", 40_000, 500);
    await follow(replica, master);
    await master.ok("SET", "before-restart", "1");
    await waitSynced(master, replica);
    const full = master.coordinator.stats.syncFull;
    const partial = master.coordinator.stats.syncPartialOk;
    assert.equal(full, 1);

    await replica.stop();
    // Writes while the replica is away, across shards and with a multi-key command.
    const keys = crossShardKeys("away", 6);
    await master.ok("MSET", ...keys.flatMap((k) => [k, k]));
    await master.ok("DEL", "base:0", "base:1");
    await master.ok("HSET", "away:hash", "f", "v");
    await replica.startAgain();

    // Nothing told it whom to follow: the address came from its data dir.
    await waitSynced(master, replica);
    assert.equal(await replica.infoField("role"), "slave");
    assert.equal(await replica.infoField("master_port"), String(master.port));
    const link = replica.requireLink;
    assert.equal(link.counters.fullSyncs, 0, "the restarted replica did no full sync");
    assert.ok(link.counters.partialSyncs >= 1);
    assert.equal(master.coordinator.stats.syncFull, full, "master: sync_full unchanged");
    assert.ok(master.coordinator.stats.syncPartialOk > partial, "master: sync_partial_ok up");
    const stats = await master.info("stats");
    assert.equal(stats.get("sync_full"), String(full));
    assert.equal(stats.get("sync_partial_ok"), String(master.coordinator.stats.syncPartialOk));
    await assertSameDataset(master, replica);
    assert.equal(await replica.call("GET", keys[5]!), keys[5]);
  },
});

Deno.test({
  name: "a position purged on the master sends the replica to a full sync, then it streams again",
  async fn() {
    const small = { "binlog-file-size": 4096, "binlog-keep-files": 1 };
    await using master = await TestNode.start("master", small);
    await using replica = await TestNode.start("replica", small);
    await fillBytes(master, "base", 20_000, 200);
    await follow(replica, master);
    const replicaAt = await replica.positions();
    const full = master.coordinator.stats.syncFull;
    await replica.stop();

    // While the replica is known, its position is protected; let the master forget it first.
    await master.ok("CONFIG", "SET", "repl-timeout", "1");
    await waitFor(
      "the master to drop the silent replica",
      () => master.coordinator.registry.size === 0,
    );
    await master.ok("CONFIG", "SET", "repl-timeout", "60");
    await fillBytes(master, "while-down", 60_000, 200);
    await master.ok("SAVE");
    await master.ok("TESSERA", "PURGE-BINLOG");
    const persistence = await master.info("persistence");
    for (const [shard, pos] of replicaAt.entries()) {
      const line = persistence.get(`binlog_shard${shard}`) ?? "";
      const firstFile = Number(/first_file=(\d+)/.exec(line)?.[1]);
      assert.ok(
        firstFile > Number(pos.split(":")[0]),
        `shard ${shard}: the replica's position ${pos} is purged (${line})`,
      );
    }

    await replica.startAgain();
    await waitSynced(master, replica);
    const link = replica.requireLink;
    assert.equal(link.counters.fullSyncs, 1, "a full sync replaced the purged position");
    assert.ok(link.lastFullSync?.ok);
    assert.ok(link.counters.partialSyncs >= 1, "then it continued incrementally");
    assert.equal(master.coordinator.stats.syncFull, full + 1);
    assert.ok(master.coordinator.stats.syncPartialErr >= 1);
    await assertSameDataset(master, replica);

    // And it streams from there: more writes (rotating binlog files) arrive without a new sync.
    const connects = link.counters.connects;
    await fillBytes(master, "after", 20_000, 200);
    await master.ok("DEL", "while-down:0");
    await waitSynced(master, replica);
    await assertSameDataset(master, replica);
    assert.equal(link.counters.fullSyncs, 1);
    assert.equal(link.counters.connects, connects, "the link stayed up");
  },
});

Deno.test({
  name:
    "MetaSync from a replica the master still knows replaces the old link: one META per attempt, no loop",
  async fn() {
    await using master = await TestNode.start("master");
    await using replica = await TestNode.start("replica");
    await using proxy = FlakyProxy.start({ targetPort: master.port });
    await master.ok("SET", "k", "1");
    await follow(replica, master, proxy.port);
    const registry = master.coordinator.registry;
    assert.equal(registry.size, 1);
    const id = registry.entries()[0]!.id;

    // 1. The replica's end dies; the master's end stays open (it has not noticed anything).
    let link = replica.requireLink;
    let metas = master.coordinator.stats.metaSyncs;
    let connects = link.counters.connects;
    const severed = proxy.severClients();
    assert.ok(severed.length >= 1);
    await waitFor("the replica to reconnect", () => link.counters.connects > connects, {
      detail: () => linkDetail(replica),
    });
    await master.ok("SET", "k", "2");
    await waitSynced(master, replica);
    // The master answered the second MetaSync normally and closed the connection it replaced.
    await waitFor(
      "the master to close the replaced connection",
      () => severed.every((i) => proxy.connections[i - 1]!.endedBy === "target"),
    );
    assert.equal(
      master.coordinator.stats.metaSyncs - metas,
      link.counters.connects - connects,
      "exactly one META round trip per connection attempt",
    );
    assert.equal(link.counters.connects - connects, 1, "one attempt was enough");
    assert.equal(registry.size, 1, "still one registry entry");
    assert.equal(registry.entries()[0]!.id, id);
    assert.equal(await replica.infoField("tessera_last_error"), "");
    assert.equal(await master.infoField("connected_slaves"), "1");
    assert.equal(await replica.call("GET", "k"), "2");

    // 2. Same, but the replica restarts before the master noticed the old link died.
    const oldLink = link;
    const oldConnects = oldLink.counters.connects;
    metas = master.coordinator.stats.metaSyncs;
    assert.equal(proxy.severClients().length, 1);
    await replica.restart();
    link = replica.requireLink;
    assert.notEqual(link, oldLink);
    await master.ok("SET", "k", "3");
    await waitSynced(master, replica);
    assert.equal(link.counters.fullSyncs, 0, "a known replica continues incrementally");
    assert.equal(
      master.coordinator.stats.metaSyncs - metas,
      oldLink.counters.connects - oldConnects + link.counters.connects,
      "exactly one META round trip per connection attempt",
    );
    assert.equal(registry.entries()[0]!.id, id, "the same replica (its id is persisted)");
    connects = link.counters.connects;
    metas = master.coordinator.stats.metaSyncs;

    // No loop: nothing keeps reconnecting or re-registering.
    await sleep(1500);
    assert.equal(link.counters.connects, connects, "no reconnection loop");
    assert.equal(master.coordinator.stats.metaSyncs, metas, "no MetaSync loop");
    assert.equal(link.state, "connected");
    assert.equal(registry.size, 1);
    assert.equal(await replica.infoField("tessera_last_error"), "");
    assert.equal(await replica.call("GET", "k"), "3");
    assert.equal(proxy.open, 1, "only the live link is open");
  },
});

Deno.test({
  name: "read-only replica, ROLE on both sides, REPLICAOF NO ONE promotes, SLAVEOF is an alias",
  async fn() {
    await using master = await TestNode.start("master");
    await using replica = await TestNode.start("replica");
    const keys = crossShardKeys("ro", 4);
    await master.ok("MSET", ...keys.flatMap((k) => [k, "m"]));
    await master.ok("RPUSH", "list", "a");
    await follow(replica, master);
    const masterReplid = await master.infoField("master_replid");
    assert.equal(await replica.infoField("master_replid"), masterReplid, "the replica adopted it");

    // ROLE, both sides.
    const mRole = await master.ok("ROLE") as unknown[];
    assert.equal(mRole.length, 3);
    assert.equal(mRole[0], "master");
    assert.equal(typeof mRole[1], "number");
    const replicas = mRole[2] as string[][];
    assert.equal(replicas.length, 1);
    assert.equal(replicas[0]![0], "127.0.0.1");
    assert.equal(replicas[0]![1], String(replica.port));
    assert.match(replicas[0]![2]!, /^\d+$/);
    const rRole = await replica.ok("ROLE") as unknown[];
    assert.deepEqual(rRole.slice(0, 4), ["slave", "127.0.0.1", master.port, "connected"]);
    assert.equal(typeof rRole[4], "number");
    assert.equal(await replica.infoField("role"), "slave");
    assert.equal(await replica.infoField("slave_read_only"), "1");

    // Writes are refused, whatever their shape; reads are served.
    const digest = await replica.digest();
    for (
      const cmd of [
        ["SET", "x", "1"],
        ["DEL", keys[0]!],
        ["MSET", ...keys.flatMap((k) => [k, "r"])],
        ["RPUSH", "list", "b"],
        ["EXPIRE", keys[1]!, 100],
        ["FLUSHDB"],
        ["FLUSHALL"],
      ]
    ) {
      const r = await replica.call(...cmd);
      assert.ok(r instanceof ReplyError, `${cmd[0]} refused`);
      assert.equal(r.message, READONLY, `${cmd[0]}`);
    }
    assert.deepEqual(await replica.call("MGET", ...keys), keys.map(() => "m"));
    assert.deepEqual(await replica.digest(), digest, "refused writes changed nothing");
    assert.equal(
      await replica.call("REPLICAOF", "127.0.0.1", master.port),
      "OK Already connected to specified master",
    );
    const bad = await replica.call("REPLICAOF", "127.0.0.1", "notaport");
    assert.ok(bad instanceof ReplyError && bad.message === "ERR Invalid master port");
    assert.equal(replica.link?.state, "connected", "a bad REPLICAOF leaves the link alone");

    // Promotion keeps the data and the old replication id as the second id.
    assert.equal(await replica.call("REPLICAOF", "NO", "ONE"), "OK");
    assert.equal(replica.link, undefined);
    const promotedRole = await replica.ok("ROLE") as unknown[];
    assert.equal(promotedRole.length, 3);
    assert.equal(promotedRole[0], "master");
    assert.equal(typeof promotedRole[1], "number");
    assert.deepEqual(promotedRole[2], []);
    const info = await replica.info();
    assert.equal(info.get("role"), "master");
    assert.equal(info.get("master_replid2"), masterReplid);
    assert.notEqual(info.get("master_replid"), masterReplid);
    assert.match(info.get("master_replid")!, /^[0-9a-f]{40}$/);
    assert.deepEqual(await replica.digest(), digest, "data kept");
    assert.equal(await replica.call("SET", "x", "promoted"), "OK");
    assert.equal(await replica.call("GET", "x"), "promoted");
    // It no longer follows: the old master's writes stay there.
    await master.ok("SET", "after-promotion", "1");
    await sleep(300);
    assert.equal(await replica.call("EXISTS", "after-promotion"), 0);
    assert.equal(await replica.call("REPLICAOF", "NO", "ONE"), "OK", "NO ONE on a master is OK");

    // SLAVEOF is the same command: follow again (a full sync: its history diverged), then stop.
    assert.equal(await replica.call("SLAVEOF", "127.0.0.1", master.port), "OK");
    await waitSynced(master, replica);
    assert.equal(await replica.infoField("role"), "slave");
    assert.equal(await replica.call("GET", "x"), null, "its own writes were replaced");
    assert.equal(await replica.call("GET", "after-promotion"), "1");
    await assertSameDataset(master, replica);
    const again = await replica.call("SET", "y", "1");
    assert.ok(again instanceof ReplyError && again.message === READONLY);
    assert.equal(await replica.call("SLAVEOF", "NO", "ONE"), "OK");
    assert.equal(await replica.infoField("role"), "master");
    assert.equal(await replica.call("SET", "y", "1"), "OK");
  },
});

Deno.test({
  name:
    "keys expiring while replicated: the replica follows the master's deletions, the link stays up",
  async fn() {
    // hz 1: the master's active expiry is slow, so the replica sees each deadline pass first.
    await using master = await TestNode.start("master", { hz: 1 });
    await using replica = await TestNode.start("replica");
    await master.ok("SET", "stays", "1");
    await follow(replica, master);
    const link = replica.requireLink;
    const errors = recordErrors(link);
    const before = { ...link.counters };
    const keys = crossShardKeys("short", 10);
    const t0 = Date.now() + 300;
    await master.pipeline(keys.map((k, i) => ["SET", k, "v", "PXAT", t0 + i * 40]));
    await waitSynced(master, replica);
    // Reads on the replica right at each deadline: it must not turn the expiry into a write of
    // its own (its binlog must stay the master's, record for record).
    for (const k of keys) {
      await waitFor(
        `${k} to expire on the replica`,
        async () => (await replica.call("GET", k)) === null,
      );
    }
    // The master expires them too (lazily here), logs the deletions and ships them.
    await sleep(Math.max(0, t0 + keys.length * 40 - Date.now()));
    for (const k of keys) assert.equal(await master.call("EXISTS", k), 0);
    await master.ok("SET", "after", "1");
    await waitFor(
      "the last write to reach the replica",
      async () => (await replica.call("GET", "after")) === "1",
    );
    await sleep(200);
    assert.equal(
      link.counters.applyFailures,
      before.applyFailures,
      `no shipped batch refused: ${JSON.stringify(errors)}`,
    );
    assert.equal(link.counters.connects, before.connects, "the link never dropped");
    assert.equal(link.counters.fullSyncs, before.fullSyncs, "no full sync");
    await waitSynced(master, replica);
    assert.equal(await replica.call("DBSIZE"), 2);
    await assertSameDataset(master, replica);
    assert.equal(await replica.infoField("tessera_last_error"), "");
  },
});

Deno.test({
  name: "the master stops listing a replica that stopped following (ROLE, connected_slaves)",
  async fn() {
    await using master = await TestNode.start("master");
    await using replica = await TestNode.start("replica");
    await follow(replica, master);
    assert.equal(await master.infoField("connected_slaves"), "1");
    assert.equal(await replica.call("REPLICAOF", "NO", "ONE"), "OK");
    // Redis drops a replica from ROLE and connected_slaves as soon as its connection closes.
    await waitFor(
      "the master to drop the replica that left",
      async () => (await master.infoField("connected_slaves")) === "0",
      { timeoutMs: 5000, detail: async () => (await master.ok("INFO", "replication")) as string },
    );
    const role = await master.ok("ROLE") as unknown[];
    assert.deepEqual(role[2], []);
  },
});

Deno.test({
  name: "full sync: the byte-rate throttle is honoured",
  async fn() {
    const rate = 200_000;
    await using master = await TestNode.start("master");
    await using replica = await TestNode.start("replica", {
      replication: { fullSync: { chunkSize: 16 * 1024 } },
    });
    await fillBytes(master, "big", 1_000_000, 2000);
    await master.ok("SAVE"); // the snapshot is ready: the copy time is all transfer
    assert.equal(await replica.call("CONFIG", "SET", "throttle-bytes-per-second", rate), "OK");
    await follow(replica, master);
    const r = replica.requireLink.lastFullSync;
    assert.ok(r?.ok, "the full sync succeeded");
    const total = snapshotBytes(r);
    assert.ok(total > 900_000, `snapshot size ${total}`);
    assert.equal(r.bytes, total);
    // A token bucket of one second's worth: the first `rate` bytes go at once, the rest at
    // `rate` per second.
    const floor = ((total - rate) / rate) * 1000;
    assert.ok(
      r.elapsedMs >= floor * 0.8,
      `${total} bytes at ${rate} B/s took ${Math.round(r.elapsedMs)} ms (at least ~${
        Math.round(floor)
      } expected)`,
    );
    assert.ok(
      r.elapsedMs <= (total / rate) * 1000 * 2 + 2000,
      `${total} bytes at ${rate} B/s took ${Math.round(r.elapsedMs)} ms: far slower than the rate`,
    );
    await assertSameDataset(master, replica);
  },
});

Deno.test({
  name: "full sync: max-rsync-parallel-num bounds the files copied at once (1, then 4)",
  async fn() {
    const shards = 4;
    await using master = await TestNode.start("master", { shards });
    await using replica = await TestNode.start("replica", {
      shards,
      replication: { fullSync: { chunkSize: 8 * 1024 } },
    });
    await fillBytes(master, "p", 240_000, 1000);
    await master.ok("SAVE");
    const tracker = trackChunks(master, 20);
    try {
      assert.equal(await replica.call("CONFIG", "SET", "max-rsync-parallel-num", 1), "OK");
      await follow(replica, master);
      const first = replica.requireLink.lastFullSync;
      assert.ok(first?.ok);
      assert.equal(first.files.length, shards + 1, "a file per shard and the manifest");
      assert.equal(tracker.files.size, shards + 1);
      assert.ok(tracker.calls >= 30, `${tracker.calls} chunk requests`);
      assert.equal(tracker.maxInFlight, 1, "one file at a time");

      tracker.calls = 0;
      tracker.maxInFlight = 0;
      assert.equal(await replica.call("CONFIG", "SET", "max-rsync-parallel-num", 4), "OK");
      assert.equal(await replica.call("REPLICAOF", "127.0.0.1", master.port, "FORCE"), "OK");
      const link = replica.requireLink;
      await waitFor(
        "the forced full sync",
        () => link.lastFullSync?.ok && link.state === "connected",
        {
          detail: () => linkDetail(replica),
        },
      );
      assert.equal(link.counters.fullSyncs, 1);
      assert.ok(tracker.calls >= 30, `${tracker.calls} chunk requests`);
      assert.equal(tracker.maxInFlight, 4, "four files at a time, never five");
      await waitSynced(master, replica);
      await assertSameDataset(master, replica);
    } finally {
      tracker.restore();
    }
  },
});
