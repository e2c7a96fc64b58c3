/**
 * A full sync longer than repl-timeout keeps its binlog pin on the master: purging during the
 * copy must not send the replica into another full sync (Pika's endless full syncs).
 */
import assert from "node:assert/strict";
import { parseInfo, TestNode, waitFor } from "./support/replication_helpers.ts";

Deno.test("a slow full sync outlives repl-timeout and continues incrementally afterwards", async () => {
  const sizes = { "binlog-file-size": 4096, "binlog-keep-files": 1, "repl-timeout": 1 };
  await using master = await TestNode.start("pin-master", sizes);
  await using replica = await TestNode.start("pin-replica", {
    ...sizes,
    replication: {
      backoff: { baseMs: 50, maxMs: 400 },
      fullSync: { metaAttempts: 3, fileAttempts: 3, backoffBaseMs: 10, chunkSize: 16 * 1024 },
    },
  });
  for (let i = 0; i < 300; i++) await master.call("SET", `k${i}`, "x".repeat(500));
  // About 150 KB of snapshot at 20 KB/s: the copy takes ~7 s, far beyond repl-timeout (1 s).
  assert.equal(await replica.call("CONFIG", "SET", "throttle-bytes-per-second", "20000"), "OK");
  assert.equal(await replica.call("REPLICAOF", "127.0.0.1", master.port), "OK");
  const info = async (node: TestNode, section: string) =>
    parseInfo(await node.call("INFO", section) as string);
  await waitFor(
    "the full sync to start",
    async () => (await info(replica, "replication")).get("master_sync_in_progress") === "1",
    {
      timeoutMs: 10_000,
    },
  );
  // Let the master's 1 s expiry check run a few times while the copy goes on.
  await new Promise((r) => setTimeout(r, 3000));
  // While it copies: lots of writes, a new snapshot, and a purge of everything not pinned.
  for (let i = 0; i < 300; i++) await master.call("SET", `late${i}`, "y".repeat(200));
  assert.equal(await master.call("SAVE"), "OK");
  await master.call("TESSERA", "PURGE-BINLOG");
  // Still copying when the purge ran (otherwise this test would prove nothing).
  assert.equal((await info(replica, "replication")).get("master_sync_in_progress"), "1");
  await waitFor(
    "the replica to be streaming",
    async () => (await info(replica, "replication")).get("master_link_status") === "up",
    {
      timeoutMs: 30_000,
    },
  );
  const stats = await info(master, "stats");
  assert.equal(stats.get("sync_full"), "1", "one full sync, not a second one after a purge");
  await waitFor("all keys on the replica", async () => await replica.call("DBSIZE") === 600, {
    timeoutMs: 10_000,
  });
  assert.deepEqual(await replica.call("TESSERA", "DIGEST"), await master.call("TESSERA", "DIGEST"));
});
