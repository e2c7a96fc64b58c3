/**
 * A transaction whose keys live on one shard reaches that shard's binlog as ONE record (a unit),
 * so replay after a crash and replicas apply all of it or none of it.
 */
import assert from "node:assert/strict";
import { binlogDir, readRecords } from "../engine/binlog.ts";
import { keySlotOfString, slotShard } from "../engine/slot.ts";
import { TesseraServer } from "../server/server.ts";
import { RespClient } from "./resp_client.ts";

Deno.test("MULTI/EXEC on one shard is logged as a single unit record and replays whole", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tessera-txlog-" });
  try {
    {
      await using server = await TesseraServer.start({
        port: 0,
        dir,
        shards: 2,
        appendfsync: "always",
      });
      await using c = await RespClient.connect({ port: server.port });
      const replies = await c.pipeline([
        ["MULTI"],
        ["SET", "{acct}:a", "90"],
        ["INCRBY", "{acct}:b", "10"],
        ["RPUSH", "{acct}:log", "moved 10"],
        ["EXEC"],
      ]);
      assert.deepEqual(replies.at(-1), ["OK", 10, 1]);
    }
    const shard = slotShard(keySlotOfString("{acct}:a"), 2);
    const units = [...readRecords(binlogDir(dir, shard))].filter((r) => r.entry.ops.length > 1);
    assert.equal(units.length, 1, "exactly one multi-op record");
    assert.deepEqual(
      units[0]!.entry.ops.map((op) => op.args),
      [["SET", "{acct}:a", "90"], ["INCRBY", "{acct}:b", "10"], [
        "RPUSH",
        "{acct}:log",
        "moved 10",
      ]],
    );
    // Replaying the log restores the transaction's effects.
    await using server = await TesseraServer.start({ port: 0, dir, shards: 2 });
    await using c = await RespClient.connect({ port: server.port });
    assert.deepEqual(await c.call("MGET", "{acct}:a", "{acct}:b"), ["90", "10"]);
    assert.deepEqual(await c.call("LRANGE", "{acct}:log", "0", "-1"), ["moved 10"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("MULTI/EXEC across shards: each shard logs its part as one record", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tessera-txlog-" });
  try {
    // Two keys on each of the two shards.
    const byShard: string[][] = [[], []];
    for (let i = 0; byShard.some((l) => l.length < 2); i++) {
      const key = `k${i}`;
      const list = byShard[slotShard(keySlotOfString(key), 2)]!;
      if (list.length < 2) list.push(key);
    }
    const keys = [...byShard[0]!, ...byShard[1]!];
    {
      await using server = await TesseraServer.start({
        port: 0,
        dir,
        shards: 2,
        appendfsync: "always",
      });
      await using c = await RespClient.connect({ port: server.port });
      const replies = await c.pipeline([["MULTI"], ...keys.map((k, i) => ["SET", k, `v${i}`]), [
        "EXEC",
      ]]);
      assert.deepEqual(replies.at(-1), ["OK", "OK", "OK", "OK"]);
    }
    for (const shard of [0, 1]) {
      const records = [...readRecords(binlogDir(dir, shard))];
      assert.equal(records.length, 1, `shard ${shard}: one record for the transaction`);
      const touched = records[0]!.entry.ops.map((op) => op.args[1]).sort();
      assert.deepEqual(touched, [...byShard[shard]!].sort());
    }
    await using server = await TesseraServer.start({ port: 0, dir, shards: 2 });
    await using c = await RespClient.connect({ port: server.port });
    assert.deepEqual(await c.call("MGET", ...keys), keys.map((_, i) => `v${i}`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
