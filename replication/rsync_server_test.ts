import assert from "node:assert/strict";
import { crc32c, crcHex } from "../engine/crc32.ts";
import {
  directTransport,
  MANIFEST_NAME,
  RsyncServer,
  type SnapshotSource,
} from "./rsync_server.ts";
import {
  isSafeFileName,
  SnapshotChangedError,
  type SnapshotMeta,
  validateSnapshotMeta,
} from "./rsync_types.ts";

function randomBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(b.subarray(i, Math.min(n, i + 65536)));
  return b;
}

/** Writes `<root>/snapshots/<id>/` with random shard files and a manifest computed from them. */
async function makeSnapshot(root: string, id: string, sizes: number[]) {
  const dir = `${root}/snapshots/${id}`;
  await Deno.mkdir(dir, { recursive: true });
  const contents = new Map<string, Uint8Array>();
  const files = [];
  for (let n = 0; n < sizes.length; n++) {
    const name = `shard-${n}.mpk`;
    const data = randomBytes(sizes[n]!);
    await Deno.writeFile(`${dir}/${name}`, data);
    contents.set(name, data);
    files.push({ name, size: data.length, checksum: crcHex(crc32c(data)), keys: 7 });
  }
  // The shape of engine/snapshot.ts's SnapshotManifest.
  const manifest = {
    format: 1,
    id,
    createdAt: 1700000000000,
    shards: sizes.length,
    files,
    positions: [{ shard: 0, file: 3, offset: 4096 }],
  };
  const raw = new TextEncoder().encode(JSON.stringify(manifest));
  await Deno.writeFile(`${dir}/${MANIFEST_NAME}`, raw);
  return { dir, contents, manifest, raw };
}

async function withTmp(fn: (root: string) => Promise<void>) {
  const root = await Deno.makeTempDir({ prefix: "rsync-server-test-" });
  try {
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

async function metaOf(server: RsyncServer): Promise<SnapshotMeta> {
  const m = await server.meta();
  assert.ok(!("wait" in m), "expected meta, got WAIT");
  return m as SnapshotMeta;
}

Deno.test("server: meta lists files with sizes and checksums, manifest last, positions kept", async () => {
  await withTmp(async (root) => {
    const snap = await makeSnapshot(root, "snap-1", [10, 0, 70_000]);
    const server = new RsyncServer({ source: snap.dir });
    const meta = await metaOf(server);
    assert.equal(meta.snapshotId, "snap-1");
    assert.deepEqual(meta.positions, [{ shard: 0, file: 3, offset: 4096 }]);
    const listed = snap.manifest.files.map(({ name, size, checksum }) => ({
      name,
      size,
      checksum,
    }));
    assert.deepEqual(meta.files, [
      ...listed,
      { name: MANIFEST_NAME, size: snap.raw.length, checksum: crcHex(crc32c(snap.raw)) },
    ]);
    assert.deepEqual(server.servedIds, ["snap-1"]);
    const noManifest = new RsyncServer({ source: snap.dir, includeManifest: false });
    assert.deepEqual((await metaOf(noManifest)).files, listed);
  });
});

Deno.test("server: meta answers WAIT while the source says the snapshot is in progress", async () => {
  await withTmp(async (root) => {
    const snap = await makeSnapshot(root, "snap-1", [5]);
    let src: SnapshotSource = { wait: true, reason: "bgsave in progress" };
    const server = new RsyncServer({ source: () => src });
    assert.deepEqual(await server.meta(), { wait: true, reason: "bgsave in progress" });
    assert.deepEqual(server.servedIds, []);
    src = { dir: snap.dir };
    assert.equal((await metaOf(server)).snapshotId, "snap-1");
  });
});

Deno.test("server: meta fails on a missing, resized or invalid snapshot", async () => {
  await withTmp(async (root) => {
    const snap = await makeSnapshot(root, "snap-1", [100, 200]);
    await assert.rejects(
      new RsyncServer({ source: `${root}/nope` }).meta(),
      /no readable manifest/,
    );
    await Deno.writeFile(`${snap.dir}/shard-1.mpk`, randomBytes(199));
    await assert.rejects(
      new RsyncServer({ source: snap.dir }).meta(),
      /shard-1\.mpk has 199 bytes, manifest says 200/,
    );
    await Deno.remove(`${snap.dir}/shard-1.mpk`);
    await assert.rejects(new RsyncServer({ source: snap.dir }).meta(), /misses shard-1\.mpk/);
    const bad = {
      ...snap.manifest,
      files: [{ name: "../../etc/passwd", size: 1, checksum: "00000000" }],
    };
    await Deno.writeTextFile(`${snap.dir}/${MANIFEST_NAME}`, JSON.stringify(bad));
    await assert.rejects(new RsyncServer({ source: snap.dir }).meta(), /not allowed/);
    await Deno.writeTextFile(`${snap.dir}/${MANIFEST_NAME}`, "{nope");
    await assert.rejects(new RsyncServer({ source: snap.dir }).meta(), /not valid JSON/);
  });
});

Deno.test("server: chunks reassemble the files; eof, checksum and length cap are right", async () => {
  await withTmp(async (root) => {
    const snap = await makeSnapshot(root, "snap-1", [100_000, 0]);
    const server = new RsyncServer({ source: snap.dir, maxChunkBytes: 30_000 });
    assert.equal(server.maxChunkBytes, 30_000);
    const meta = await metaOf(server);
    for (const f of meta.files) {
      const want = f.name === MANIFEST_NAME ? snap.raw : snap.contents.get(f.name)!;
      const parts: Uint8Array[] = [];
      let offset = 0;
      for (;;) {
        const c = await server.chunk("snap-1", f.name, offset, 1 << 30);
        assert.ok(c.data.length <= 30_000);
        assert.equal(c.checksum, crcHex(crc32c(c.data)));
        parts.push(c.data);
        offset += c.data.length;
        assert.equal(c.eof, offset === want.length);
        if (c.eof) break;
      }
      const all = new Uint8Array(offset);
      let at = 0;
      for (const p of parts) {
        all.set(p, at);
        at += p.length;
      }
      assert.deepEqual(all, want);
    }
    const tail = await server.chunk("snap-1", "shard-0.mpk", 99_990, 5);
    assert.deepEqual(tail.data, snap.contents.get("shard-0.mpk")!.subarray(99_990, 99_995));
    assert.equal(tail.eof, false);
    const end = await server.chunk("snap-1", "shard-0.mpk", 100_000, 5);
    assert.equal(end.data.length, 0);
    assert.equal(end.eof, true);
    // Default cap is 4 MiB, and a larger configured cap is lowered to it.
    assert.equal(
      new RsyncServer({ source: snap.dir, maxChunkBytes: 1 << 30 }).maxChunkBytes,
      4 << 20,
    );
  });
});

Deno.test("server: chunk rejects traversal, unknown files and bad ranges", async () => {
  await withTmp(async (root) => {
    const snap = await makeSnapshot(root, "snap-1", [1000]);
    await Deno.writeTextFile(`${root}/snapshots/secret.txt`, "secret");
    const server = new RsyncServer({ source: snap.dir });
    await metaOf(server);
    for (const name of ["../secret.txt", "..", ".", "", "a/b", "/etc/passwd", "shard-0.mpk\0"]) {
      const err = await server.chunk("snap-1", name, 0, 10).then(() => undefined, (e) => e);
      assert.ok(err instanceof Error && !(err instanceof SnapshotChangedError), name);
      assert.match(err.message, /not allowed/);
    }
    await assert.rejects(server.chunk("snap-1", "shard-9.mpk", 0, 10), /no file shard-9\.mpk/);
    await assert.rejects(server.chunk("snap-1", "shard-0.mpk", 1001, 10), RangeError);
    await assert.rejects(server.chunk("snap-1", "shard-0.mpk", -1, 10), RangeError);
    await assert.rejects(server.chunk("snap-1", "shard-0.mpk", 0.5, 10), RangeError);
    await assert.rejects(server.chunk("snap-1", "shard-0.mpk", 0, 0), RangeError);
    await assert.rejects(server.chunk("snap-1", "shard-0.mpk", 0, -3), RangeError);
  });
});

Deno.test("server: an unknown, retired or removed snapshot id raises SnapshotChangedError", async () => {
  await withTmp(async (root) => {
    const a = await makeSnapshot(root, "snap-a", [1000]);
    const b = await makeSnapshot(root, "snap-b", [2000]);
    let dir = a.dir;
    const server = new RsyncServer({ source: () => ({ dir }) });
    // Nothing handed out by meta yet.
    await assert.rejects(server.chunk("snap-a", "shard-0.mpk", 0, 10), SnapshotChangedError);
    await metaOf(server);
    await assert.rejects(server.chunk("snap-x", "shard-0.mpk", 0, 10), SnapshotChangedError);
    assert.equal((await server.chunk("snap-a", "shard-0.mpk", 0, 10)).data.length, 10);
    // A newer snapshot does not cut off the older one while it still exists...
    dir = b.dir;
    assert.equal((await metaOf(server)).snapshotId, "snap-b");
    assert.equal((await server.chunk("snap-a", "shard-0.mpk", 0, 10)).data.length, 10);
    // ...but removing it does.
    await Deno.remove(a.dir, { recursive: true });
    const err = await server.chunk("snap-a", "shard-0.mpk", 10, 10).then(() => undefined, (e) => e);
    assert.ok(err instanceof SnapshotChangedError);
    assert.equal(err.snapshotId, "snap-a");
    assert.deepEqual(server.servedIds, ["snap-b"]);
    server.retire("snap-b");
    await assert.rejects(server.chunk("snap-b", "shard-0.mpk", 0, 10), SnapshotChangedError);
  });
});

Deno.test("server: fault hooks inject meta errors, chunk errors and corrupt chunks", async () => {
  await withTmp(async (root) => {
    const snap = await makeSnapshot(root, "snap-1", [5000, 5000]);
    const server = new RsyncServer({ source: snap.dir });
    server.faults = { meta: () => new Error("injected meta failure") };
    await assert.rejects(server.meta(), /injected meta failure/);
    server.faults = {};
    await metaOf(server);
    server.faults = {
      chunk: (file, offset) =>
        file === "shard-1.mpk"
          ? new Error(`injected at ${offset}`)
          : offset === 100
          ? "corrupt"
          : undefined,
    };
    await assert.rejects(server.chunk("snap-1", "shard-1.mpk", 7, 10), /injected at 7/);
    const bad = await server.chunk("snap-1", "shard-0.mpk", 100, 1000);
    assert.notEqual(crcHex(crc32c(bad.data)), bad.checksum);
    const good = await server.chunk("snap-1", "shard-0.mpk", 200, 1000);
    assert.equal(crcHex(crc32c(good.data)), good.checksum);
    assert.deepEqual(good.data, snap.contents.get("shard-0.mpk")!.subarray(200, 1200));
  });
});

Deno.test("server: directTransport forwards meta and chunks", async () => {
  await withTmp(async (root) => {
    const snap = await makeSnapshot(root, "snap-1", [300]);
    const t = directTransport(new RsyncServer({ source: snap.dir }));
    const meta = await t.fetchMeta();
    assert.ok(!("wait" in meta) && meta.snapshotId === "snap-1");
    const c = await t.fetchChunk("snap-1", "shard-0.mpk", 0, 1000);
    assert.deepEqual(c.data, snap.contents.get("shard-0.mpk"));
    assert.equal(c.eof, true);
  });
});

Deno.test("types: SnapshotChangedError round-trips through an error reply text", () => {
  const e = new SnapshotChangedError("abc123");
  assert.match(e.message, /^SNAPCHANGED snapshot abc123 /);
  const back = SnapshotChangedError.fromMessage(e.message);
  assert.ok(back instanceof SnapshotChangedError);
  assert.equal(back.snapshotId, "abc123");
  assert.equal(back.message, e.message);
  assert.equal(SnapshotChangedError.fromMessage("ERR something else"), undefined);
});

Deno.test("types: file names and meta are validated", () => {
  for (const ok of ["shard-0.mpk", "manifest.json", "a", "A_b-c.d"]) {
    assert.ok(isSafeFileName(ok), ok);
  }
  for (
    const bad of [
      "",
      ".",
      "..",
      "../x",
      "a/b",
      "a\\b",
      ".hidden",
      "x.part",
      "sync-state.json",
      "a\0b",
      5,
    ]
  ) {
    assert.ok(!isSafeFileName(bad), String(bad));
  }
  const good = {
    snapshotId: "s",
    files: [{ name: "f", size: 3, checksum: "0a0b0c0d" }],
    positions: [1],
  };
  assert.deepEqual(validateSnapshotMeta(good), good);
  const cases: Array<[unknown, RegExp]> = [
    [null, /not an object/],
    [{ ...good, snapshotId: "" }, /snapshot id/],
    [{ ...good, files: "x" }, /file list/],
    [{ ...good, files: [good.files[0], good.files[0]] }, /twice/],
    [{ ...good, files: [{ name: "f", size: -1, checksum: "0a0b0c0d" }] }, /size/],
    [{ ...good, files: [{ name: "f", size: 1.5, checksum: "0a0b0c0d" }] }, /size/],
    [{ ...good, files: [{ name: "f", size: 1, checksum: "0A0B0C0D" }] }, /checksum/],
    [{ ...good, files: [{ name: "f", size: 1, checksum: "abc" }] }, /checksum/],
  ];
  for (const [v, re] of cases) {
    const r = validateSnapshotMeta(v);
    assert.ok(r instanceof Error, JSON.stringify(v));
    assert.match(r.message, re);
  }
});
