import assert from "node:assert/strict";
import { crc32c, crcHex } from "../engine/crc32.ts";
import {
  backoffDelay,
  fetchMetaWithRetry,
  fullSyncFiles,
  type FullSyncOptions,
  type FullSyncProgress,
  PART_SUFFIX,
  SYNC_STATE_NAME,
} from "./rsync_client.ts";
import { MANIFEST_NAME, RsyncServer, type SnapshotSource } from "./rsync_server.ts";
import {
  type ChunkReply,
  FileVerifyError,
  FullSyncFilesError,
  type FullSyncResult,
  type MetaWait,
  MetaWaitTimeoutError,
  RsyncTimeoutError,
  type RsyncTransport,
  SnapshotChangedError,
  type SnapshotMeta,
} from "./rsync_types.ts";
import { Throttle } from "./throttle.ts";

// ---------------------------------------------------------------------------------------------
// Fixtures

function randomBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(b.subarray(i, Math.min(n, i + 65536)));
  return b;
}

interface Snap {
  id: string;
  dir: string;
  /** Every file the replica should end with (shards + manifest.json). */
  contents: Map<string, Uint8Array>;
  total: number;
}

/** `<root>/snapshots/<id>/` with random shard files and a manifest computed from them. */
async function makeSnapshot(root: string, id: string, sizes: number[]): Promise<Snap> {
  const dir = `${root}/snapshots/${id}`;
  await Deno.mkdir(dir, { recursive: true });
  const contents = new Map<string, Uint8Array>();
  const files = [];
  for (let n = 0; n < sizes.length; n++) {
    const name = `shard-${n}.mpk`;
    const data = randomBytes(sizes[n]!);
    await Deno.writeFile(`${dir}/${name}`, data);
    contents.set(name, data);
    files.push({ name, size: data.length, checksum: crcHex(crc32c(data)) });
  }
  const manifest = { id, createdAt: 1, shards: sizes.length, files, positions: { binlog: [1, 2] } };
  const raw = new TextEncoder().encode(JSON.stringify(manifest));
  await Deno.writeFile(`${dir}/${MANIFEST_NAME}`, raw);
  contents.set(MANIFEST_NAME, raw);
  let total = 0;
  for (const c of contents.values()) total += c.length;
  return { id, dir, contents, total };
}

/** A fake clock whose sleep only moves time forward (no real waiting). */
class FakeTime {
  now = 0;
  sleeps: number[] = [];
  clock = () => this.now;
  sleep = async (ms: number, signal?: AbortSignal) => {
    signal?.throwIfAborted();
    this.sleeps.push(ms);
    this.now += ms;
    await Promise.resolve();
  };
}

interface ChunkCall {
  snapshotId: string;
  file: string;
  offset: number;
  length: number;
}

/** Transport over an RsyncServer with instrumentation and hooks. */
class TestTransport implements RsyncTransport {
  metaCalls = 0;
  chunkCalls: ChunkCall[] = [];
  inFlight = new Set<string>();
  maxInFlight = 0;
  /** Real milliseconds each chunk takes, so parallel copies overlap. */
  latencyMs = 1;
  metaHook: (() => SnapshotMeta | MetaWait | undefined) | undefined;
  beforeChunk: ((call: ChunkCall, n: number) => void | Promise<void>) | undefined;
  mapChunk: ((reply: ChunkReply, call: ChunkCall) => ChunkReply) | undefined;

  constructor(readonly server: RsyncServer) {}

  fetchMeta(): Promise<SnapshotMeta | MetaWait> {
    this.metaCalls++;
    const r = this.metaHook?.();
    return r ? Promise.resolve(r) : this.server.meta();
  }

  async fetchChunk(snapshotId: string, file: string, offset: number, length: number) {
    const call = { snapshotId, file, offset, length };
    this.chunkCalls.push(call);
    const key = `${file}@${offset}#${this.chunkCalls.length}`;
    this.inFlight.add(key);
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight.size);
    try {
      await this.beforeChunk?.(call, this.chunkCalls.length);
      if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
      const reply = await this.server.chunk(snapshotId, file, offset, length);
      return this.mapChunk ? this.mapChunk(reply, call) : reply;
    } finally {
      this.inFlight.delete(key);
    }
  }

  callsFor(file: string): number[] {
    return this.chunkCalls.filter((c) => c.file === file).map((c) => c.offset);
  }
}

async function withTmp(fn: (root: string) => Promise<void>) {
  const root = await Deno.makeTempDir({ prefix: "rsync-client-test-" });
  try {
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

/** destDir holds exactly the snapshot's files (plus the sync state), byte for byte. */
async function assertCopied(destDir: string, snap: Snap) {
  assert.deepEqual(await listDir(destDir), [...snap.contents.keys(), SYNC_STATE_NAME].sort());
  for (const [name, data] of snap.contents) {
    assert.deepEqual(await Deno.readFile(`${destDir}/${name}`), data, name);
  }
  const state = JSON.parse(await Deno.readTextFile(`${destDir}/${SYNC_STATE_NAME}`));
  assert.equal(state.snapshotId, snap.id);
}

function options(
  time: FakeTime,
  destDir: string,
  extra: Partial<FullSyncOptions> = {},
): FullSyncOptions {
  return {
    destDir,
    clock: time.clock,
    sleep: time.sleep,
    chunkSize: 64 * 1024,
    backoff: { baseMs: 100, maxMs: 1000 },
    ...extra,
  };
}

function expectFailure(r: FullSyncResult) {
  if (r.ok) assert.fail("expected the full sync to fail");
  return r;
}

function expectOk(r: FullSyncResult) {
  if (!r.ok) assert.fail(`expected OK, got stage ${r.stage}: ${r.cause.message}`);
  return r;
}

const SIZES = [150_000, 0, 1, 300_001, 65_536, 200_000, 90_000, 131_073];

// ---------------------------------------------------------------------------------------------
// Tests

Deno.test("backoff doubles from base and is capped", () => {
  const b = { baseMs: 100, maxMs: 1000 };
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, b)), [
    100,
    200,
    400,
    800,
    1000,
    1000,
  ]);
  assert.equal(backoffDelay(1), 100);
  assert.equal(backoffDelay(100), 5000);
});

Deno.test("full sync: happy path copies every file verified, `parallel` at once", async () => {
  await withTmp(async (root) => {
    const snap = await makeSnapshot(root, "snap-1", SIZES);
    const t = new TestTransport(new RsyncServer({ source: snap.dir }));
    const time = new FakeTime();
    const progress: FullSyncProgress[] = [];
    // Hold the first requests until 3 are in flight, so overlap does not depend on timing (a
    // safety timer opens the gate if fewer ever arrive; the assertion below then fails).
    let open = false;
    const waiters: Array<() => void> = [];
    const openGate = () => {
      open = true;
      for (const w of waiters.splice(0)) w();
    };
    const safety = setTimeout(openGate, 2000);
    t.beforeChunk = () => {
      if (open) return;
      if (t.inFlight.size >= 3) return openGate();
      return new Promise<void>((r) => waiters.push(r));
    };
    const dest = `${root}/replica/staging`;
    const r = expectOk(
      await fullSyncFiles(
        t,
        options(time, dest, { parallel: 3, onProgress: (p) => progress.push(p) }),
      ),
    );
    clearTimeout(safety);
    assert.equal(r.snapshotId, "snap-1");
    assert.equal(r.metaAttempts, 1);
    assert.deepEqual(r.meta.positions, { binlog: [1, 2] });
    assert.deepEqual(
      r.files.map((f) => [f.file, f.ok, f.attempts]),
      [...snap.contents.keys()].map((n) => [n, true, 1]),
    );
    assert.equal(r.bytes, snap.total);
    await assertCopied(dest, snap);
    assert.equal(t.maxInFlight, 3, "max concurrency must equal `parallel`");
    assert.ok(t.chunkCalls.every((c) => c.length <= 64 * 1024 && c.snapshotId === "snap-1"));
    const last = progress.at(-1)!;
    assert.equal(last.filesDone, snap.contents.size);
    assert.equal(last.filesTotal, snap.contents.size);
    assert.equal(last.bytesDone, snap.total);
    assert.equal(last.bytesTotal, snap.total);
    assert.ok(progress.some((p) => p.current.length === 3));
    assert.ok(progress.every((p) => p.current.length <= 3));
    assert.deepEqual(time.sleeps, []);
  });
});

Deno.test("full sync: chunks shorter than asked (server cap) are continued", async () => {
  await withTmp(async (root) => {
    const snap = await makeSnapshot(root, "snap-1", [100_000, 25_000]);
    const t = new TestTransport(new RsyncServer({ source: snap.dir, maxChunkBytes: 10_000 }));
    const dest = `${root}/replica`;
    const r = expectOk(await fullSyncFiles(t, options(new FakeTime(), dest, { parallel: 1 })));
    assert.equal(r.bytes, snap.total);
    assert.deepEqual(t.callsFor("shard-1.mpk"), [0, 10_000, 20_000]);
    await assertCopied(dest, snap);
  });
});

Deno.test("full sync: a stuck meta request times out and counts as a failed attempt", async () => {
  await withTmp(async (root) => {
    const snap = await makeSnapshot(root, "snap-1", [1000]);
    const t = new TestTransport(new RsyncServer({ source: snap.dir }));
    const realMeta = t.fetchMeta.bind(t);
    let calls = 0;
    t.fetchMeta = () => ++calls <= 2 ? new Promise<SnapshotMeta>(() => {}) : realMeta();
    const time = new FakeTime();
    const dest = `${root}/replica`;
    const r = expectOk(await fullSyncFiles(t, options(time, dest, { metaRequestTimeoutMs: 10 })));
    assert.equal(r.metaAttempts, 3);
    assert.deepEqual(time.sleeps, [100, 200]);
    const stuck: RsyncTransport = {
      fetchMeta: () => new Promise<SnapshotMeta>(() => {}),
      fetchChunk: () => Promise.reject(new Error("unused")),
    };
    const m = await fetchMetaWithRetry(stuck, {
      metaAttempts: 2,
      metaRequestTimeoutMs: 10,
      clock: time.clock,
      sleep: time.sleep,
    });
    assert.ok(!m.ok && m.cause instanceof RsyncTimeoutError && m.attempts === 2);
  });
});

Deno.test("full sync: meta failing on every attempt → stage meta, last cause, nothing written", async () => {
  await withTmp(async (root) => {
    const snap = await makeSnapshot(root, "snap-1", [1000]);
    const server = new RsyncServer({ source: snap.dir });
    let n = 0;
    server.faults = { meta: () => new Error(`meta failure #${++n}`) };
    const t = new TestTransport(server);
    const time = new FakeTime();
    const dest = `${root}/replica/staging`;
    const r = expectFailure(await fullSyncFiles(t, options(time, dest)));
    assert.equal(r.stage, "meta");
    assert.equal(r.metaAttempts, 10); // the default
    assert.equal(t.metaCalls, 10);
    assert.equal(r.cause.message, "meta failure #10");
    assert.deepEqual(r.files, []);
    assert.deepEqual(r.failed, []);
    assert.equal(t.chunkCalls.length, 0);
    assert.equal(await exists(dest), false);
    assert.equal(await exists(`${root}/replica`), false);
    assert.deepEqual(time.sleeps, [100, 200, 400, 800, 1000, 1000, 1000, 1000, 1000]);

    // Same with an explicit bound, through the meta stage function itself.
    n = 0;
    const m = await fetchMetaWithRetry(t, {
      metaAttempts: 3,
      clock: time.clock,
      sleep: time.sleep,
    });
    assert.equal(m.ok, false);
    assert.equal(m.attempts, 3);
    if (!m.ok) assert.equal(m.cause.message, "meta failure #3");
  });
});

Deno.test("full sync: a malformed meta (path traversal) is a failed attempt, never used", async () => {
  await withTmp(async (root) => {
    const snap = await makeSnapshot(root, "snap-1", [1000]);
    const t = new TestTransport(new RsyncServer({ source: snap.dir }));
    t.metaHook = () => ({
      snapshotId: "evil",
      files: [{ name: "../../outside", size: 3, checksum: "00000000" }],
      positions: null,
    });
    const time = new FakeTime();
    const dest = `${root}/replica`;
    const r = expectFailure(await fullSyncFiles(t, options(time, dest, { metaAttempts: 2 })));
    assert.equal(r.stage, "meta");
    assert.equal(r.metaAttempts, 2);
    assert.match(r.cause.message, /not allowed/);
    assert.equal(await exists(dest), false);
    assert.equal(t.chunkCalls.length, 0);
  });
});

Deno.test("full sync: WAIT answers are waited out and do not consume attempts", async () => {
  await withTmp(async (root) => {
    const snap = await makeSnapshot(root, "snap-1", [5000, 7000]);
    let waits = 0;
    const server = new RsyncServer({
      source: (): SnapshotSource => (++waits <= 5
        ? { wait: true, reason: "bgsave running" }
        : { dir: snap.dir }),
    });
    const t = new TestTransport(server);
    const time = new FakeTime();
    const dest = `${root}/replica`;
    const r = expectOk(await fullSyncFiles(t, options(time, dest, { metaAttempts: 1 })));
    assert.equal(r.metaAttempts, 1);
    assert.equal(t.metaCalls, 6);
    assert.deepEqual(time.sleeps, [100, 200, 400, 800, 1000]);
    await assertCopied(dest, snap);
  });
});

Deno.test("full sync: WAIT for longer than metaWaitTimeoutMs → stage meta, timeout cause", async () => {
  await withTmp(async (root) => {
    const server = new RsyncServer({ source: () => ({ wait: true, reason: "bgsave running" }) });
    const t = new TestTransport(server);
    const time = new FakeTime();
    const dest = `${root}/replica`;
    const r = expectFailure(
      await fullSyncFiles(t, options(time, dest, { metaWaitTimeoutMs: 10_000 })),
    );
    assert.equal(r.stage, "meta");
    assert.equal(r.metaAttempts, 0);
    assert.ok(r.cause instanceof MetaWaitTimeoutError);
    assert.match(r.cause.message, /bgsave running/);
    assert.equal(time.now, 10_000);
    assert.equal(await exists(dest), false);
  });
});

Deno.test("full sync: one file failing on every attempt → names exactly it, others kept", async () => {
  await withTmp(async (root) => {
    const snap = await makeSnapshot(root, "snap-1", SIZES);
    const server = new RsyncServer({ source: snap.dir });
    server.faults = {
      chunk: (
        file,
        offset,
      ) => (file === "shard-3.mpk" && offset >= 65536 ? new Error("disk on fire") : undefined),
    };
    const t = new TestTransport(server);
    const time = new FakeTime();
    const dest = `${root}/replica`;
    const r = expectFailure(await fullSyncFiles(t, options(time, dest, { fileAttempts: 3 })));
    assert.equal(r.stage, "files");
    assert.equal(r.snapshotId, "snap-1");
    assert.deepEqual(r.failed, ["shard-3.mpk"]);
    const bad = r.files.find((f) => f.file === "shard-3.mpk")!;
    assert.equal(bad.ok, false);
    assert.equal(bad.attempts, 3);
    if (!bad.ok) assert.equal(bad.cause.message, "disk on fire");
    assert.ok(r.cause instanceof FullSyncFilesError);
    assert.match(r.cause.message, /1 of 9 files failed: shard-3\.mpk: disk on fire \(3 attempts\)/);
    // Retries resumed from the last good offset, not from 0.
    assert.deepEqual(t.callsFor("shard-3.mpk"), [0, 65536, 65536, 65536]);
    for (const f of r.files) {
      if (f.file === "shard-3.mpk") continue;
      assert.ok(f.ok && f.attempts === 1, f.file);
      assert.deepEqual(await Deno.readFile(`${dest}/${f.file}`), snap.contents.get(f.file));
    }
    assert.equal(await exists(`${dest}/shard-3.mpk`), false);
  });
});

Deno.test("full sync: a chunk corrupted once → that file retried once from the bad chunk", async () => {
  await withTmp(async (root) => {
    const snap = await makeSnapshot(root, "snap-1", SIZES);
    const server = new RsyncServer({ source: snap.dir });
    let corrupted = 0;
    server.faults = {
      chunk: (
        file,
        offset,
      ) => (file === "shard-0.mpk" && offset === 65536 && corrupted++ === 0
        ? "corrupt"
        : undefined),
    };
    const t = new TestTransport(server);
    const time = new FakeTime();
    const dest = `${root}/replica`;
    const r = expectOk(await fullSyncFiles(t, options(time, dest)));
    assert.equal(corrupted, 2);
    for (const f of r.files) assert.equal(f.attempts, f.file === "shard-0.mpk" ? 2 : 1, f.file);
    assert.deepEqual(t.callsFor("shard-0.mpk"), [0, 65536, 65536, 131072]);
    assert.deepEqual(time.sleeps, [100]);
    await assertCopied(dest, snap);
  });
});

Deno.test("full sync: a whole-file checksum mismatch is detected (persistent → file fails)", async () => {
  await withTmp(async (root) => {
    const snap = await makeSnapshot(root, "snap-1", [100_000, 50_000]);
    // The master's file no longer matches its manifest (same size, one byte changed).
    const path = `${snap.dir}/shard-0.mpk`;
    const data = await Deno.readFile(path);
    data[5000] = data[5000]! ^ 1;
    await Deno.writeFile(path, data);
    const t = new TestTransport(new RsyncServer({ source: snap.dir }));
    const time = new FakeTime();
    const dest = `${root}/replica`;
    const r = expectFailure(await fullSyncFiles(t, options(time, dest, { fileAttempts: 2 })));
    assert.equal(r.stage, "files");
    assert.deepEqual(r.failed, ["shard-0.mpk"]);
    const bad = r.files[0]!;
    assert.ok(!bad.ok && bad.cause instanceof FileVerifyError);
    assert.match(bad.cause.message, /checksum/);
    assert.equal(bad.attempts, 2);
    // Each attempt restarted from offset 0 (the bytes could not be trusted).
    assert.deepEqual(t.callsFor("shard-0.mpk"), [0, 65536, 0, 65536]);
    assert.equal(await exists(`${dest}/shard-0.mpk`), false);
    assert.equal(await exists(`${dest}/shard-0.mpk${PART_SUFFIX}`), false);
    assert.deepEqual(await Deno.readFile(`${dest}/shard-1.mpk`), snap.contents.get("shard-1.mpk"));
  });
});

Deno.test("full sync: a transient whole-file mismatch → restart from 0, then OK", async () => {
  await withTmp(async (root) => {
    const snap = await makeSnapshot(root, "snap-1", [100_000, 50_000]);
    const t = new TestTransport(new RsyncServer({ source: snap.dir }));
    let tampered = false;
    // Self-consistent chunk (checksum recomputed) with wrong bytes: only the end check can see it.
    t.mapChunk = (reply, call) => {
      if (tampered || call.file !== "shard-0.mpk" || call.offset !== 0) return reply;
      tampered = true;
      const data = reply.data.slice();
      data[10] = data[10]! ^ 0xff;
      return { data, eof: reply.eof, checksum: crcHex(crc32c(data)) };
    };
    const time = new FakeTime();
    const dest = `${root}/replica`;
    const r = expectOk(await fullSyncFiles(t, options(time, dest)));
    assert.equal(r.files[0]!.attempts, 2);
    assert.deepEqual(t.callsFor("shard-0.mpk"), [0, 65536, 0, 65536]);
    await assertCopied(dest, snap);
  });
});

Deno.test("full sync: snapshot changed mid-copy → stage snapshot-changed, workers stop, copy wiped", async () => {
  await withTmp(async (root) => {
    const a = await makeSnapshot(root, "snap-a", SIZES);
    const b = await makeSnapshot(root, "snap-b", [40_000, 20_000]);
    let dir = a.dir;
    const server = new RsyncServer({ source: () => ({ dir }) });
    const t = new TestTransport(server);
    t.beforeChunk = (_call, n) => {
      if (n === 6) {
        // The master replaces its snapshot: the old one disappears (every later request fails).
        dir = b.dir;
        Deno.removeSync(a.dir, { recursive: true });
      }
    };
    const time = new FakeTime();
    const dest = `${root}/replica`;
    const r = expectFailure(await fullSyncFiles(t, options(time, dest, { parallel: 3 })));
    assert.equal(r.stage, "snapshot-changed");
    assert.equal(r.snapshotId, "snap-a");
    assert.ok(r.cause instanceof SnapshotChangedError);
    assert.equal(await exists(dest), false);
    assert.ok(r.failed.length > 0);
    assert.deepEqual(r.failed, r.files.filter((f) => !f.ok).map((f) => f.file));
    // Every worker stopped: no request after the result, and only in-flight ones after the change.
    const calls = t.chunkCalls.length;
    assert.ok(calls <= 6 + 3, `chunk calls ${calls}`);
    await new Promise((res) => setTimeout(res, 20));
    assert.equal(t.chunkCalls.length, calls);
    assert.equal(t.inFlight.size, 0);

    // The next run picks up the new snapshot from scratch.
    t.beforeChunk = undefined;
    const again = expectOk(await fullSyncFiles(t, options(time, dest)));
    assert.equal(again.snapshotId, "snap-b");
    await assertCopied(dest, b);
  });
});

Deno.test("full sync: snapshot retired by the master → snapshot-changed", async () => {
  await withTmp(async (root) => {
    const a = await makeSnapshot(root, "snap-a", [300_000]);
    const server = new RsyncServer({ source: a.dir });
    const t = new TestTransport(server);
    t.beforeChunk = (_call, n) => {
      if (n === 2) server.retire("snap-a");
    };
    const dest = `${root}/replica`;
    const r = expectFailure(await fullSyncFiles(t, options(new FakeTime(), dest, { parallel: 1 })));
    assert.equal(r.stage, "snapshot-changed");
    assert.deepEqual(r.failed, ["shard-0.mpk", MANIFEST_NAME]);
    assert.match(r.files[1]!.ok ? "" : r.files[1]!.cause.message, /^not copied: SNAPCHANGED/);
    assert.equal(await exists(dest), false);
    assert.deepEqual(t.callsFor("shard-0.mpk"), [0, 65536]);
  });
});

Deno.test("full sync: resume after an abort continues from the .part offsets", async () => {
  await withTmp(async (root) => {
    const snap = await makeSnapshot(root, "snap-1", [1000, 400_000, 300_000, 250_000]);
    const t = new TestTransport(new RsyncServer({ source: snap.dir }));
    const ac = new AbortController();
    t.beforeChunk = (_call, n) => {
      if (n === 9) ac.abort(new Error("replica shutting down"));
    };
    const time = new FakeTime();
    const dest = `${root}/replica`;
    const first = expectFailure(
      await fullSyncFiles(t, options(time, dest, { parallel: 2, signal: ac.signal })),
    );
    assert.equal(first.stage, "aborted");
    assert.equal(first.cause.message, "replica shutting down");
    assert.ok(first.failed.length > 0);
    // The partial copy is kept: sync state, the finished small file, some .part files.
    const left = await listDir(dest);
    assert.ok(left.includes(SYNC_STATE_NAME));
    assert.ok(left.includes("shard-0.mpk"));
    const parts = left.filter((n) => n.endsWith(PART_SUFFIX));
    assert.ok(parts.length > 0);
    const partSizes = new Map<string, number>();
    for (const p of parts) {
      partSizes.set(p.slice(0, -PART_SUFFIX.length), (await Deno.stat(`${dest}/${p}`)).size);
    }
    assert.ok([...partSizes.values()].some((s) => s > 0));
    const firstBytes = t.chunkCalls.length;
    assert.ok(firstBytes >= 9);

    t.beforeChunk = undefined;
    t.chunkCalls = [];
    const second = expectOk(await fullSyncFiles(t, options(time, dest, { parallel: 2 })));
    assert.ok(second.bytes < snap.total, `second run received ${second.bytes} of ${snap.total}`);
    const part = second.files.find((f) => f.file === "shard-0.mpk")!;
    assert.equal(part.attempts, 0); // reused after re-verification
    assert.equal(part.bytes, 0);
    for (const [name, size] of partSizes) {
      const offsets = t.callsFor(name);
      if (size > 0) assert.equal(offsets[0], size, `${name} resumed from its .part size`);
    }
    await assertCopied(dest, snap);
  });
});

Deno.test("full sync: a staging dir of another snapshot is wiped; a bad finished file is re-copied", async () => {
  await withTmp(async (root) => {
    const snap = await makeSnapshot(root, "snap-2", [70_000, 30_000]);
    const dest = `${root}/replica`;
    await Deno.mkdir(dest, { recursive: true });
    await Deno.writeTextFile(
      `${dest}/${SYNC_STATE_NAME}`,
      JSON.stringify({ version: 1, snapshotId: "snap-1" }),
    );
    await Deno.writeFile(`${dest}/shard-0.mpk${PART_SUFFIX}`, randomBytes(5000));
    await Deno.writeFile(`${dest}/shard-1.mpk`, snap.contents.get("shard-1.mpk")!); // even if equal
    await Deno.writeTextFile(`${dest}/junk.txt`, "junk");
    const t = new TestTransport(new RsyncServer({ source: snap.dir }));
    const time = new FakeTime();
    const r = expectOk(await fullSyncFiles(t, options(time, dest)));
    assert.equal(r.bytes, snap.total);
    assert.deepEqual(t.callsFor("shard-0.mpk"), [0, 65536]);
    assert.deepEqual(t.callsFor("shard-1.mpk"), [0]);
    await assertCopied(dest, snap);

    // Same snapshot again: complete files are re-checked; a damaged one is copied anew, a stray
    // file is removed, and an over-long .part restarts from 0.
    const damaged = await Deno.readFile(`${dest}/shard-0.mpk`);
    damaged[1] = damaged[1]! ^ 1;
    await Deno.writeFile(`${dest}/shard-0.mpk`, damaged);
    await Deno.remove(`${dest}/shard-1.mpk`);
    await Deno.writeFile(`${dest}/shard-1.mpk${PART_SUFFIX}`, randomBytes(40_000));
    await Deno.writeTextFile(`${dest}/stray`, "x");
    t.chunkCalls = [];
    const again = expectOk(await fullSyncFiles(t, options(time, dest)));
    assert.deepEqual(again.files.map((f) => [f.file, f.attempts]), [["shard-0.mpk", 1], [
      "shard-1.mpk",
      1,
    ], [MANIFEST_NAME, 0]]);
    assert.equal(again.bytes, 100_000);
    assert.deepEqual(t.callsFor("shard-1.mpk"), [0]);
    await assertCopied(dest, snap);
  });
});

Deno.test("full sync: a stuck request times out and counts as a failed attempt", async () => {
  await withTmp(async (root) => {
    const snap = await makeSnapshot(root, "snap-1", [100_000]);
    const t = new TestTransport(new RsyncServer({ source: snap.dir }));
    const realChunk = t.fetchChunk.bind(t);
    let stuck = 0;
    t.fetchChunk = (id, file, offset, length) =>
      file === "shard-0.mpk" && offset === 65536 && stuck++ === 0
        ? new Promise<ChunkReply>(() => {})
        : realChunk(id, file, offset, length);
    const time = new FakeTime();
    const dest = `${root}/replica`;
    const r = expectOk(await fullSyncFiles(t, options(time, dest, { requestTimeoutMs: 30 })));
    assert.equal(r.files[0]!.attempts, 2);
    await assertCopied(dest, snap);

    // And when it never recovers, the timeout is the cause reported.
    const dest2 = `${root}/replica2`;
    t.fetchChunk = () => new Promise<ChunkReply>(() => {});
    const f = expectFailure(
      await fullSyncFiles(t, options(time, dest2, { requestTimeoutMs: 10, fileAttempts: 2 })),
    );
    assert.equal(f.stage, "files");
    const bad = f.files[0]!;
    assert.ok(!bad.ok && bad.cause instanceof RsyncTimeoutError);
  });
});

Deno.test("full sync: abort while waiting for the master → stage aborted", async () => {
  await withTmp(async (root) => {
    const t = new TestTransport(
      new RsyncServer({ source: () => ({ wait: true, reason: "bgsave" }) }),
    );
    const time = new FakeTime();
    const ac = new AbortController();
    const sleep = async (ms: number, signal?: AbortSignal) => {
      if (time.sleeps.length === 3) ac.abort(new Error("shutdown"));
      await time.sleep(ms, signal);
    };
    const r = expectFailure(
      await fullSyncFiles(t, { ...options(time, `${root}/x`), sleep, signal: ac.signal }),
    );
    assert.equal(r.stage, "aborted");
    assert.equal(r.cause.message, "shutdown");
    assert.equal(await exists(`${root}/x`), false);
  });
});

Deno.test("full sync: the shared throttle bounds the transfer rate (injected clock)", async () => {
  await withTmp(async (root) => {
    const snap = await makeSnapshot(root, "snap-1", [400_000, 300_000, 200_000, 100_000]);
    const time = new FakeTime();
    const rate = 100_000;
    const throttle = new Throttle({
      bytesPerSecond: rate,
      burstMs: 100,
      clock: time.clock,
      sleep: time.sleep,
    });
    const t = new TestTransport(new RsyncServer({ source: snap.dir }));
    t.latencyMs = 0;
    const dest = `${root}/replica`;
    const r = expectOk(await fullSyncFiles(t, options(time, dest, { parallel: 4, throttle })));
    // Each request waits for a full 100 ms bucket and may leave a debt of up to one chunk, so
    // the elapsed time is between (total - chunk - bucket) / rate and total / rate.
    const lo = ((snap.total - 65536 - rate / 10) * 1000) / rate;
    const hi = (snap.total * 1000) / rate;
    assert.ok(time.now >= lo && time.now <= hi, `elapsed ${time.now}, expected ${lo}..${hi}`);
    assert.equal(throttle.granted, snap.total);
    assert.equal(r.elapsedMs, time.now);
    await assertCopied(dest, snap);
  });
});

Deno.test("full sync: a throttle rate change mid-sync is honoured", async () => {
  await withTmp(async (root) => {
    const snap = await makeSnapshot(root, "snap-1", [500_000, 500_000]);
    const time = new FakeTime();
    let rate = 100_000;
    const throttle = new Throttle({
      bytesPerSecond: () => rate,
      burstMs: 10,
      clock: time.clock,
      sleep: time.sleep,
    });
    const t = new TestTransport(new RsyncServer({ source: snap.dir }));
    t.latencyMs = 0;
    let switchedAt: { now: number; bytes: number } | undefined;
    const onProgress = (p: FullSyncProgress) => {
      if (!switchedAt && p.bytesReceived >= 300_000) {
        rate = 1_000_000;
        switchedAt = { now: time.now, bytes: p.bytesReceived };
      }
    };
    const dest = `${root}/replica`;
    expectOk(
      await fullSyncFiles(
        t,
        options(time, dest, { parallel: 2, throttle, onProgress, chunkSize: 16_384 }),
      ),
    );
    assert.ok(switchedAt);
    const before = (switchedAt.bytes * 1000) / switchedAt.now;
    const after = ((snap.total - switchedAt.bytes) * 1000) / (time.now - switchedAt.now);
    assert.ok(before > 90_000 && before < 125_000, `rate before ${before}`);
    assert.ok(after > 850_000 && after < 1_200_000, `rate after ${after}`);
    await assertCopied(dest, snap);
  });
});

Deno.test("full sync: raising `parallel` mid-sync starts more copies", async () => {
  await withTmp(async (root) => {
    const snap = await makeSnapshot(root, "snap-1", Array.from({ length: 8 }, () => 200_000));
    let parallel = 1;
    const t = new TestTransport(new RsyncServer({ source: snap.dir }));
    const phases: Array<[number, number]> = []; // [parallel setting, files being copied]
    t.beforeChunk = (_call, n) => {
      if (n === 6) parallel = 4;
    };
    const onProgress = (p: FullSyncProgress) => phases.push([parallel, p.current.length]);
    const dest = `${root}/replica`;
    expectOk(
      await fullSyncFiles(
        t,
        options(new FakeTime(), dest, { parallel: () => parallel, onProgress }),
      ),
    );
    const low = phases.filter(([p]) => p === 1).map(([, c]) => c);
    const high = phases.filter(([p]) => p === 4).map(([, c]) => c);
    assert.ok(low.length > 0 && low.every((c) => c <= 1), `low ${low}`);
    assert.equal(Math.max(...high), 4);
    assert.ok(high.every((c) => c <= 4));
    await assertCopied(dest, snap);
  });
});

Deno.test("full sync: lowering `parallel` mid-sync drains down to the new limit", async () => {
  await withTmp(async (root) => {
    const snap = await makeSnapshot(root, "snap-1", Array.from({ length: 8 }, () => 200_000));
    let parallel = 4;
    const t = new TestTransport(new RsyncServer({ source: snap.dir }));
    const seen: string[][] = [];
    let changedAt = -1;
    const onProgress = (p: FullSyncProgress) => {
      seen.push(p.current);
      if (changedAt < 0 && seen.length >= 6 && p.current.length === 4) {
        parallel = 1;
        changedAt = seen.length;
      }
    };
    const dest = `${root}/replica`;
    expectOk(
      await fullSyncFiles(
        t,
        options(new FakeTime(), dest, { parallel: () => parallel, onProgress }),
      ),
    );
    assert.ok(changedAt > 0, "never saw 4 copies at once");
    const after = seen.slice(changedAt);
    const drained = after.findIndex((c) => c.length <= 1);
    assert.ok(drained >= 0);
    const rest = after.slice(drained);
    assert.ok(rest.every((c) => c.length <= 1), `after drain: ${rest.map((c) => c.length)}`);
    // The files left after the drain were copied one by one (not just the last one alone).
    const alone = new Set(rest.flat());
    assert.ok(alone.size >= 3, `files copied alone after the drain: ${[...alone]}`);
    await assertCopied(dest, snap);
  });
});
