/**
 * Replication under faults (Tessera issue 4): failed meta requests (Pika #2299 — a failure must
 * never read as success), a file failing every attempt, a corrupted chunk, bytes flipped on the
 * wire in the stream and in a full sync, the snapshot changing mid-copy, the master going away
 * mid-copy. In every case the replica stays up on its old data (read-only) until a complete,
 * verified copy is installed, shows the cause, and retries.
 */
import assert from "node:assert/strict";
import { ReplyError } from "./resp_client.ts";
import { FlakyProxy } from "./support/flaky_proxy.ts";
import {
  assertSameDataset,
  crossShardKeys,
  fillBytes,
  follow,
  linkDetail,
  recordFullSyncs,
  sleep,
  snapshotBytes,
  TestNode,
  waitFor,
  waitSynced,
} from "./support/replication_helpers.ts";

const READONLY = "READONLY You can't write against a read only replica.";

/** A replica with data of its own (to check nothing replaces it before a verified sync). */
async function replicaWithOldData(
  options: Parameters<typeof TestNode.start>[1] = {},
): Promise<{ replica: TestNode; digest: unknown }> {
  const replica = await TestNode.start("replica", options);
  await replica.pipeline([
    ["SET", "old:str", "old"],
    ["HSET", "old:hash", "f", "v"],
    ["RPUSH", "old:list", "1", "2", "3"],
    ["SADD", "old:set", "a"],
  ]);
  return { replica, digest: await replica.digest() };
}

/** The replica still serves its old data, read-only, unchanged. */
async function assertOldDataServed(replica: TestNode, digest: unknown): Promise<void> {
  assert.deepEqual(await replica.digest(), digest, "nothing was loaded");
  assert.equal(await replica.call("GET", "old:str"), "old");
  assert.deepEqual(await replica.call("LRANGE", "old:list", 0, -1), ["1", "2", "3"]);
  assert.equal(await replica.call("EXISTS", "m:0"), 0, "none of the master's keys");
  const w = await replica.call("SET", "old:str", "new");
  assert.ok(w instanceof ReplyError && w.message === READONLY, "writes refused");
  assert.equal(await replica.infoField("role"), "slave");
  assert.equal(await replica.infoField("master_link_status"), "down");
}

Deno.test({
  name: "meta fails on every attempt: an error with its cause, nothing loaded, retried; then OK",
  async fn() {
    await using master = await TestNode.start("master");
    const { replica: r, digest } = await replicaWithOldData({
      replication: { fullSync: { metaAttempts: 2, backoffBaseMs: 10 } },
    });
    await using replica = r;
    await fillBytes(master, "m", 30_000, 300);
    await master.ok("SAVE");
    let metaCalls = 0;
    master.coordinator.rsync.faults.meta = () => {
      metaCalls++;
      return new Error("injected meta failure");
    };
    assert.equal(await replica.call("REPLICAOF", "127.0.0.1", master.port), "OK");
    const link = replica.requireLink;
    const syncs = recordFullSyncs(link);
    await waitFor("two failed full syncs", () => syncs.length >= 2, {
      detail: () => linkDetail(replica),
    });

    // Every attempt failed and says so: never a default "OK" after failed meta requests.
    for (const s of syncs) {
      assert.equal(s.ok, false);
      if (s.ok) continue;
      assert.equal(s.stage, "meta");
      assert.equal(s.metaAttempts, 2, "the configured number of meta attempts");
      assert.deepEqual(s.files, []);
      assert.deepEqual(s.failed, []);
      assert.match(s.cause.message, /injected meta failure/);
    }
    assert.ok(metaCalls >= 4, `${metaCalls} meta requests`);
    const info = await replica.info();
    assert.equal(info.get("tessera_last_full_sync"), "err,stage=meta,failed=");
    assert.match(info.get("tessera_last_error")!, /stage meta.*injected meta failure/);
    assert.equal(link.lastFullSync?.ok, false);
    await assertOldDataServed(replica, digest);
    assert.equal(master.coordinator.stats.syncFull, 0, "the master never served a snapshot");

    // It keeps retrying on its own.
    const connects = link.counters.connects;
    await waitFor("more attempts", () => link.counters.connects >= connects + 2, {
      detail: () => linkDetail(replica),
    });
    await assertOldDataServed(replica, digest);

    master.coordinator.rsync.faults.meta = undefined;
    await waitSynced(master, replica);
    assert.ok(link.lastFullSync?.ok);
    await assertSameDataset(master, replica);
    assert.equal(await replica.call("EXISTS", "old:str"), 0, "the old data was replaced");
    const after = await replica.info();
    assert.match(after.get("tessera_last_full_sync")!, /^ok,snapshot=/);
    assert.equal(after.get("tessera_last_error"), "");
    assert.equal(after.get("master_link_status"), "up");
  },
});

Deno.test({
  name:
    "a file failing on every attempt: aggregated error naming it, other files OK, nothing loaded; the replica stays up and retries",
  async fn() {
    await using master = await TestNode.start("master");
    const { replica: r, digest } = await replicaWithOldData({
      replication: { fullSync: { fileAttempts: 2, backoffBaseMs: 10 } },
    });
    await using replica = r;
    await fillBytes(master, "m", 60_000, 300);
    await master.ok("SAVE");
    const bad = "shard-1.mpk";
    let badCalls = 0;
    master.coordinator.rsync.faults.chunk = (file) => {
      if (file !== bad) return undefined;
      badCalls++;
      return new Error(`injected failure reading ${file}`);
    };
    assert.equal(await replica.call("REPLICAOF", "127.0.0.1", master.port), "OK");
    const link = replica.requireLink;
    const syncs = recordFullSyncs(link);
    await waitFor("a failed full sync", () => syncs.length >= 1, {
      detail: () => linkDetail(replica),
    });
    const s = syncs[0]!;
    assert.equal(s.ok, false);
    if (s.ok) return;
    assert.equal(s.stage, "files");
    assert.deepEqual(s.failed, [bad]);
    assert.equal(s.files.length, 3);
    for (const f of s.files) {
      if (f.file === bad) {
        assert.equal(f.ok, false);
        assert.equal(f.attempts, 2, "the configured number of attempts");
        if (!f.ok) assert.match(f.cause.message, /injected failure reading shard-1\.mpk/);
      } else {
        assert.ok(f.ok, `${f.file} copied`);
        assert.equal(f.attempts, 1);
      }
    }
    assert.match(s.cause.message, /1 of 3 files failed: shard-1\.mpk: .*injected failure/);
    assert.equal(badCalls, 2);

    await waitFor("the next attempt", () => link.counters.connects >= 3, {
      detail: () => linkDetail(replica),
    });
    const info = await replica.info();
    assert.equal(info.get("tessera_last_full_sync"), `err,stage=files,failed=${bad}`);
    assert.match(info.get("tessera_last_error")!, /failed files: shard-1\.mpk/);
    await assertOldDataServed(replica, digest);
    // Later attempts reuse the verified files and fail on the same one only.
    await waitFor("a second failed full sync", () => syncs.length >= 2);
    const again = syncs[1]!;
    assert.ok(!again.ok);
    if (!again.ok) assert.deepEqual(again.failed, [bad]);
    await assertOldDataServed(replica, digest);

    master.coordinator.rsync.faults.chunk = undefined;
    await waitSynced(master, replica);
    await assertSameDataset(master, replica);
    assert.equal(await replica.infoField("tessera_last_error"), "");
  },
});

Deno.test({
  name: "a chunk corrupted once: that file's retry succeeds, the sync is OK",
  async fn() {
    await using master = await TestNode.start("master");
    await using replica = await TestNode.start("replica");
    await fillBytes(master, "m", 60_000, 300);
    await master.ok("SAVE");
    let corrupted = 0;
    master.coordinator.rsync.faults.chunk = (file) => {
      if (file !== "shard-0.mpk" || corrupted > 0) return undefined;
      corrupted++;
      return "corrupt";
    };
    await follow(replica, master);
    const r = replica.requireLink.lastFullSync;
    assert.ok(r?.ok);
    assert.equal(corrupted, 1);
    const attempts = Object.fromEntries(r.files.map((f) => [f.file, f.attempts]));
    assert.deepEqual(attempts, { "shard-0.mpk": 2, "shard-1.mpk": 1, "manifest.json": 1 });
    assert.equal(replica.requireLink.counters.fullSyncs, 1);
    await assertSameDataset(master, replica);
  },
});

Deno.test({
  name: "a byte flipped in the record stream is detected: never applied, the link resumes",
  async fn() {
    await using master = await TestNode.start("master");
    await using replica = await TestNode.start("replica");
    await using proxy = FlakyProxy.start({ targetPort: master.port });
    await master.ok("SET", "a", "1");
    await follow(replica, master, proxy.port);
    await master.pipeline(crossShardKeys("s", 10).map((k) => ["SET", k, k]));
    await waitSynced(master, replica);
    const link = replica.requireLink;
    const before = { ...link.counters };

    // The next frame the master sends is this write's record; its value starts ~100 bytes in.
    const flip = proxy.flipAfter("down", 400);
    const value = "x".repeat(3000);
    await master.ok("SET", "big", value);
    const f = await flip;
    assert.equal(f.before, "x".charCodeAt(0), "the flip hit the value inside the record");
    await waitFor("the link to be re-established", () => link.counters.connects > before.connects, {
      detail: () => linkDetail(replica),
    });
    assert.ok(link.counters.applyFailures > before.applyFailures, "the damaged batch was refused");
    await master.pipeline(crossShardKeys("t", 10).map((k) => ["SET", k, k]));
    await waitSynced(master, replica);
    assert.equal(await replica.call("GET", "big"), value);
    await assertSameDataset(master, replica);
    assert.equal(link.counters.fullSyncs, before.fullSyncs, "resumed incrementally");
  },
});

Deno.test({
  name: "a byte flipped in a full sync's file data is detected: that file is fetched again",
  async fn() {
    await using master = await TestNode.start("master");
    await using replica = await TestNode.start("replica");
    await using proxy = FlakyProxy.start({ targetPort: master.port });
    await fillBytes(master, "m", 200_000, 1000);
    await master.ok("SAVE");
    // One file at a time: the stream from the master is META/TRY/SNAPMETA replies (well under
    // 20 kB), then the first file (~100 kB) in one chunk: byte 20000 is inside its data.
    assert.equal(await replica.call("CONFIG", "SET", "max-rsync-parallel-num", 1), "OK");
    const flip = proxy.flipAfter("down", 20_000, 0x10);
    await follow(replica, master, proxy.port);
    await flip;
    const r = replica.requireLink.lastFullSync;
    assert.ok(r?.ok);
    const retried = r.files.filter((f) => f.attempts === 2).map((f) => f.file);
    assert.equal(retried.length, 1, `exactly one file fetched twice: ${JSON.stringify(r.files)}`);
    assert.match(retried[0]!, /^shard-\d\.mpk$/);
    assert.equal(replica.requireLink.counters.fullSyncs, 1);
    await assertSameDataset(master, replica);
  },
});

Deno.test({
  name: "the snapshot id changes mid-copy: the copy restarts cleanly on the new snapshot",
  async fn() {
    await using master = await TestNode.start("master");
    await using replica = await TestNode.start("replica");
    await fillBytes(master, "m", 100_000, 500);
    await master.ok("SAVE");
    const rsync = master.coordinator.rsync;
    let retired: string[] = [];
    let saving: Promise<unknown> | undefined;
    rsync.faults.chunk = () => {
      if (saving !== undefined) return undefined;
      // First chunk request: a new snapshot is made and the one being copied is dropped.
      retired = rsync.servedIds;
      for (const id of retired) rsync.retire(id);
      saving = master.server.node.persistence.snapshot();
      return undefined;
    };
    assert.equal(await replica.call("REPLICAOF", "127.0.0.1", master.port), "OK");
    const link = replica.requireLink;
    const syncs = recordFullSyncs(link);
    await waitSynced(master, replica);
    await saving;

    assert.equal(retired.length, 1);
    assert.equal(syncs.length, 2, `two full syncs: ${JSON.stringify(syncs.map((s) => s.ok))}`);
    const [first, second] = syncs as [typeof syncs[0], typeof syncs[0]];
    assert.equal(first.ok, false);
    if (!first.ok) {
      assert.equal(first.stage, "snapshot-changed");
      assert.equal(first.snapshotId, retired[0]);
      assert.match(first.cause.message, /SNAPCHANGED/);
    }
    assert.ok(second.ok);
    assert.notEqual(second.snapshotId, retired[0], "the new snapshot");
    for (const f of second.files) {
      assert.ok(f.ok && f.attempts === 1, `${f.file} copied afresh: ${JSON.stringify(f)}`);
    }
    assert.equal(second.bytes, snapshotBytes(second), "nothing of the old copy was reused");
    assert.equal(master.coordinator.stats.syncFull, 2, "two snapshots served");
    let leftovers = 0;
    for await (const e of Deno.readDir(`${replica.dir}/snapshots`)) {
      if (e.name.startsWith("tmp")) leftovers++;
    }
    assert.equal(leftovers, 0, "no partial copy left behind");
    await assertSameDataset(master, replica);
  },
});

Deno.test({
  name: "the master goes away mid-copy: the replica resumes the same snapshot when it is back",
  async fn() {
    await using master = await TestNode.start("master");
    await using replica = await TestNode.start("replica", {
      replication: { fullSync: { chunkSize: 16 * 1024 } },
    });
    await fillBytes(master, "m", 400_000, 1000);
    await master.ok("SAVE");
    assert.equal(await replica.call("CONFIG", "SET", "throttle-bytes-per-second", 100_000), "OK");
    assert.equal(await replica.call("REPLICAOF", "127.0.0.1", master.port), "OK");
    const link = replica.requireLink;
    const syncs = recordFullSyncs(link);
    const progress = await waitFor(
      "part of the snapshot to be copied",
      () => (link.progress?.bytesDone ?? 0) >= 150_000 ? link.progress : undefined,
      { detail: () => linkDetail(replica) },
    );
    const total = progress.bytesTotal;
    assert.ok(progress.bytesDone < total, "still copying");

    await master.stop();
    await waitFor("the copy to fail", () => syncs.length >= 1, {
      detail: () => linkDetail(replica),
    });
    assert.equal(syncs[0]!.ok, false);
    assert.equal(await replica.infoField("master_link_status"), "down");
    await sleep(200);
    await master.startAgain();
    // Unthrottled from here (the setting applies at run time).
    assert.equal(await replica.call("CONFIG", "SET", "throttle-bytes-per-second", 0), "OK");
    await waitSynced(master, replica, 30_000);

    const last = syncs[syncs.length - 1]!;
    assert.ok(last.ok);
    assert.equal(last.snapshotId, progress.snapshotId, "the same snapshot");
    assert.equal(snapshotBytes(last), total);
    assert.ok(
      last.bytes <= total - 100_000,
      `the second copy fetched ${last.bytes} of ${total} bytes: it resumed`,
    );
    await assertSameDataset(master, replica);
  },
});
