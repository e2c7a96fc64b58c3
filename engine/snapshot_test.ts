import assert from "node:assert/strict";
import { BinlogWriter, type Position, readRecords } from "./binlog.ts";
import { Deque } from "./deque.ts";
import { CorruptionError } from "./errors.ts";
import { type Entry, Keyspace } from "./keyspace.ts";
import {
  commitSnapshot,
  createSnapshotTmpDir,
  fileChecksum,
  latestSnapshot,
  listSnapshots,
  loadShardSnapshot,
  newSnapshotId,
  pruneSnapshots,
  readManifest,
  shardFileName,
  SnapshotCursor,
  type SnapshotManifest,
  snapshotsDir,
  verifySnapshotFiles,
  writeShardSnapshot,
} from "./snapshot.ts";
import { SortedSet } from "./sorted_set.ts";

const ALL_BYTES = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join("");
const FAR = 4_000_000_000_000; // absolute expiry far in the future

async function withRoot(fn: (root: string) => void | Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "tessera-snap-" });
  try {
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/** Comparable plain form of a whole keyspace. */
function state(ks: Keyspace): unknown[] {
  const out: unknown[] = [];
  ks.dbs.forEach((db, i) => {
    for (const key of [...db.data.keys()].sort()) {
      out.push([i, key, plain(db.data.get(key)!), db.expires.get(key) ?? null]);
    }
  });
  return out;
}

function plain(e: Entry): unknown {
  switch (e.type) {
    case "string":
      return e.value;
    case "hash":
      return ["hash", [...e.value].sort()];
    case "list":
      return ["list", e.value.toArray()];
    case "set":
      return ["set", [...e.value].sort()];
    case "zset":
      return ["zset", [...e.value.entries()]];
  }
}

/** Deterministic PRNG. */
function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

/**
 * A tiny write-command applier standing in for a shard: calls the cursor hooks first, as the
 * shard must, then mutates, then logs the effect to the binlog.
 */
class MiniShard {
  cursor: SnapshotCursor | null = null;
  constructor(readonly ks: Keyspace, readonly binlog: BinlogWriter | null) {}

  exec(db: number, args: string[]): void {
    const c = this.cursor;
    if (c) {
      if (args[0] === "FLUSHDB") c.beforeFlush(db);
      else if (args[0] === "RENAME") {
        c.beforeWrite(db, args[1]!);
        c.beforeWrite(db, args[2]!);
      } else c.beforeWrite(db, args[1]!);
    }
    if (apply(this.ks, db, args)) this.binlog?.append(db, args, 0);
  }
}

/** Applies a write; returns true when the dataset changed. */
function apply(ks: Keyspace, dbIndex: number, args: string[]): boolean {
  const db = ks.db(dbIndex);
  const [cmd, key = "", a = "", b = ""] = args;
  const get = <T extends Entry["type"]>(type: T) => {
    const e = db.get(key);
    return e?.type === type ? e.value as Extract<Entry, { type: T }>["value"] : undefined;
  };
  switch (cmd) {
    case "SET":
      db.set(key, { type: "string", value: a });
      return true;
    case "DEL":
      return db.delete(key);
    case "HSET": {
      const h = get("hash") ?? new Map<string, string>();
      h.set(a, b);
      if (!db.has(key)) db.set(key, { type: "hash", value: h });
      return true;
    }
    case "RPUSH": {
      const l = get("list") ?? new Deque<string>();
      l.pushBack(a);
      if (!db.has(key)) db.set(key, { type: "list", value: l });
      return true;
    }
    case "LPOP": {
      const l = get("list");
      if (!l) return false;
      l.popFront();
      if (l.length === 0) db.delete(key);
      return true;
    }
    case "SADD": {
      const s = get("set") ?? new Set<string>();
      s.add(a);
      if (!db.has(key)) db.set(key, { type: "set", value: s });
      return true;
    }
    case "ZADD": {
      const z = get("zset") ?? new SortedSet();
      z.add(b, Number(a));
      if (!db.has(key)) db.set(key, { type: "zset", value: z });
      return true;
    }
    case "PEXPIREAT":
      if (!db.has(key)) return false;
      db.setExpireAt(key, Number(a));
      return true;
    case "PERSIST":
      return db.has(key) && db.persist(key);
    case "RENAME": {
      const e = db.get(key);
      if (!e || key === a) return false;
      const x = db.expireAt(key);
      db.delete(key);
      db.set(a, e);
      if (x !== undefined) db.setExpireAt(a, x);
      return true;
    }
    case "FLUSHDB":
      db.clear();
      return true;
  }
  throw new Error(`unknown ${cmd}`);
}

const DBS = [0, 1, 5, 15];

function randomOp(r: () => number): [number, string[]] {
  const db = DBS[Math.floor(r() * DBS.length)]!;
  const k = `k${Math.floor(r() * 400)}`;
  const v = ALL_BYTES.slice(Math.floor(r() * 200), 256) + `${Math.floor(r() * 1000)}`;
  const n = Math.floor(r() * 12);
  switch (n) {
    case 0:
      return [db, ["SET", `s:${k}`, v]];
    case 1:
      return [db, ["DEL", ["s:", "h:", "l:", "z:", "t:"][Math.floor(r() * 5)]! + k]];
    case 2:
      return [db, ["HSET", `h:${k}`, `f${Math.floor(r() * 20)}\xff`, v]];
    case 3:
      return [db, ["RPUSH", `l:${k}`, v]];
    case 4:
      return [db, ["LPOP", `l:${k}`]];
    case 5:
      return [db, ["SADD", `t:${k}`, `m${Math.floor(r() * 30)}\x00`]];
    case 6:
      return [db, [
        "ZADD",
        `z:${k}`,
        String(Math.floor(r() * 100) - 50 + 0.5),
        `m${Math.floor(r() * 30)}`,
      ]];
    case 7:
      return [db, ["PEXPIREAT", `s:${k}`, String(FAR + Math.floor(r() * 1000))]];
    case 8:
      return [db, ["PERSIST", `s:${k}`]];
    case 9:
      return [db, ["RENAME", `h:${k}`, `h:k${Math.floor(r() * 400)}`]];
    default:
      return [db, ["SET", `s:new${Math.floor(r() * 5000)}`, v]];
  }
}

/** Fills a keyspace with every type in several dbs, binary keys and values, some expiries. */
function populate(shard: MiniShard, n: number): void {
  const r = rng(7);
  for (let i = 0; i < n; i++) {
    const db = DBS[i % DBS.length]!;
    const k = `k${i}`;
    shard.exec(db, ["SET", `s:${k}`, `${ALL_BYTES}${i}`]);
    if (i % 3 === 0) shard.exec(db, ["PEXPIREAT", `s:${k}`, String(FAR + i)]);
    for (let j = 0; j < 5; j++) {
      shard.exec(db, ["HSET", `h:${k}`, `f${j}\x00`, `v${i}-${j}\xfe`]);
      shard.exec(db, ["RPUSH", `l:${k}`, `${j}\r\n`]);
      shard.exec(db, ["SADD", `t:${k}`, `m${j}`]);
      shard.exec(db, ["ZADD", `z:${k}`, String(Math.floor(r() * 10) / 4 - 1), `m${j}\xff`]);
    }
  }
  shard.exec(0, ["SET", "big", ALL_BYTES.repeat(10_000)]);
  shard.exec(0, ["ZADD", "zinf", "Infinity", "a"]);
  shard.exec(0, ["ZADD", "zinf", "-Infinity", "b"]);
}

Deno.test("snapshot: write/load round trip with many keys of every type", async () => {
  await withRoot((root) => {
    const ks = new Keyspace({ clock: () => 1000 });
    populate(new MiniShard(ks, null), 2000);
    const id = newSnapshotId(1000);
    const tmp = createSnapshotTmpDir(root, id);
    const pos = { file: 3, offset: 12345 };
    const info = writeShardSnapshot(tmp, 2, ks, pos, { chunkKeys: 100, createdAt: 1000 });
    assert.equal(info.name, "shard-2.mpk");
    assert.equal(info.keys, ks.size);
    assert.equal(info.size, Deno.statSync(`${tmp}/shard-2.mpk`).size);
    assert.equal(info.checksum, fileChecksum(`${tmp}/shard-2.mpk`));
    assert.match(info.checksum, /^[0-9a-f]{8}$/);
    const ks2 = new Keyspace({ clock: () => 1000 });
    const loaded = loadShardSnapshot(`${tmp}/shard-2.mpk`, ks2, info.checksum);
    assert.deepEqual(loaded, { shard: 2, position: pos, createdAt: 1000, keys: ks.size });
    assert.deepEqual(state(ks2), state(ks));
    assert.equal(ks2.db(0).getTyped("zinf", "zset")!.score("a"), Infinity);
  });
});

Deno.test("snapshot: chunks bound memory (many chunks for many keys)", async () => {
  await withRoot((root) => {
    const ks = new Keyspace();
    for (let i = 0; i < 5000; i++) {
      ks.db(0).set(`key${i}`, { type: "string", value: "x".repeat(100) });
    }
    const tmp = createSnapshotTmpDir(root, "a");
    const cursor = new SnapshotCursor(tmp, 0, ks, { file: 1, offset: 32 }, {
      chunkKeys: 10_000,
      chunkBytes: 16 * 1024,
    });
    let steps = 0;
    while (!cursor.step()) steps++;
    assert.ok(steps >= 30, `${steps} steps`); // ~120 bytes a key, 16 KiB chunks
    const ks2 = new Keyspace();
    loadShardSnapshot(cursor.path, ks2, cursor.result().checksum);
    assert.equal(ks2.size, 5000);
  });
});

Deno.test("snapshot: checksum mismatch, damaged chunk, truncation and missing file detected", async () => {
  await withRoot((root) => {
    const ks = new Keyspace();
    populate(new MiniShard(ks, null), 300);
    const tmp = createSnapshotTmpDir(root, "x");
    const info = writeShardSnapshot(tmp, 0, ks, { file: 1, offset: 32 }, { chunkKeys: 50 });
    const path = `${tmp}/${info.name}`;
    const good = Deno.readFileSync(path);
    // One flipped byte in the middle: the checksum catches it, nothing is loaded.
    const bad = good.slice();
    bad[Math.floor(bad.length / 2)]! ^= 0x10;
    Deno.writeFileSync(path, bad);
    const ks2 = new Keyspace();
    assert.throws(
      () => loadShardSnapshot(path, ks2, info.checksum),
      (e: unknown) => e instanceof CorruptionError && e.file === path && /checksum/.test(e.message),
    );
    assert.equal(ks2.size, 0);
    // Without the expected checksum, the chunk CRC catches it (naming the chunk's offset).
    assert.throws(
      () => loadShardSnapshot(path, new Keyspace()),
      (e: unknown) => e instanceof CorruptionError && e.file === path && e.offset > 0,
    );
    // Truncated file.
    Deno.writeFileSync(path, good.subarray(0, good.length - 7));
    assert.throws(() => loadShardSnapshot(path, new Keyspace()), /truncated/);
    // Extra bytes.
    const longer = new Uint8Array(good.length + 1);
    longer.set(good);
    Deno.writeFileSync(path, longer);
    assert.throws(() => loadShardSnapshot(path, new Keyspace()), /after the end/);
    // Missing file.
    Deno.removeSync(path);
    assert.throws(
      () => loadShardSnapshot(path, new Keyspace(), info.checksum),
      (e: unknown) => e instanceof CorruptionError && e.file === path && /missing/.test(e.message),
    );
    // Not a snapshot at all.
    Deno.writeFileSync(path, new TextEncoder().encode("hello world, not a snapshot"));
    assert.throws(() => loadShardSnapshot(path, new Keyspace()), /not a snapshot/);
  });
});

/** Writes a complete n-shard snapshot of `ks` (the same keyspace for each shard) and commits it. */
function makeSnapshot(root: string, ks: Keyspace, createdAt: number, shards = 2): SnapshotManifest {
  const id = newSnapshotId(createdAt);
  const tmp = createSnapshotTmpDir(root, id);
  const positions: Position[] = [];
  const files = [];
  for (let s = 0; s < shards; s++) {
    const pos = { file: 1, offset: 32 + s };
    positions.push(pos);
    files.push(writeShardSnapshot(tmp, s, ks, pos, { createdAt, fsync: false }));
  }
  const manifest: SnapshotManifest = { format: 1, id, createdAt, shards, files, positions };
  const final = commitSnapshot(root, tmp, manifest, { verify: true });
  assert.equal(final, `${snapshotsDir(root)}/${id}`);
  return manifest;
}

Deno.test("commitSnapshot/latestSnapshot: atomic commit, incomplete and tmp dirs ignored", async () => {
  await withRoot((root) => {
    assert.equal(latestSnapshot(root), null);
    const ks = new Keyspace();
    ks.db(0).set("a", { type: "string", value: "1" });
    const m1 = makeSnapshot(root, ks, 1000);
    const m2 = makeSnapshot(root, ks, 2000);
    let latest = latestSnapshot(root);
    assert.equal(latest?.id, m2.id);
    assert.deepEqual(latest?.manifest, m2);
    assert.deepEqual(readManifest(latest!.path), m2);
    // A newer snapshot still being written (tmp dir, even with a manifest) is ignored.
    const tmp = createSnapshotTmpDir(root, newSnapshotId(3000));
    writeShardSnapshot(tmp, 0, ks, { file: 1, offset: 32 });
    Deno.writeTextFileSync(
      `${tmp}/manifest.json`,
      JSON.stringify({ ...m2, id: "x", createdAt: 3000 }),
    );
    assert.equal(latestSnapshot(root)?.id, m2.id);
    // A newer final dir with a missing file, a short file, or no manifest is not a snapshot.
    const m3 = makeSnapshot(root, ks, 4000);
    Deno.removeSync(`${snapshotsDir(root)}/${m3.id}/${shardFileName(1)}`);
    const m4 = makeSnapshot(root, ks, 5000);
    Deno.truncateSync(`${snapshotsDir(root)}/${m4.id}/${shardFileName(0)}`, 10);
    const m5 = makeSnapshot(root, ks, 6000);
    Deno.removeSync(`${snapshotsDir(root)}/${m5.id}/manifest.json`);
    latest = latestSnapshot(root);
    assert.equal(latest?.id, m2.id);
    assert.deepEqual(listSnapshots(root).map((s) => s.id), [m2.id, m1.id]);
    assert.throws(
      () => verifySnapshotFiles(`${snapshotsDir(root)}/${m3.id}`, m3),
      (e: unknown) => e instanceof CorruptionError && /shard-1\.mpk$/.test(e.file),
    );
    // Loading the latest works; positions per shard come from the manifest.
    const ks2 = new Keyspace();
    const f0 = latest!.manifest.files[0]!;
    const l = loadShardSnapshot(`${latest!.path}/${f0.name}`, ks2, f0.checksum);
    assert.deepEqual(l.position, latest!.manifest.positions[0]);
    assert.deepEqual(state(ks2), state(ks));
  });
});

Deno.test("commitSnapshot refuses missing or mismatching files (nothing renamed)", async () => {
  await withRoot((root) => {
    const ks = new Keyspace();
    ks.db(0).set("a", { type: "string", value: "1" });
    const id = newSnapshotId(1);
    const tmp = createSnapshotTmpDir(root, id);
    const f0 = writeShardSnapshot(tmp, 0, ks, { file: 1, offset: 32 });
    const manifest: SnapshotManifest = {
      format: 1,
      id,
      createdAt: 1,
      shards: 2,
      files: [f0, { ...f0, name: shardFileName(1) }],
      positions: [{ file: 1, offset: 32 }, { file: 1, offset: 32 }],
    };
    assert.throws(() => commitSnapshot(root, tmp, manifest), /file missing/);
    // A received file with the right size but other bytes: caught by verify.
    const other = Deno.readFileSync(`${tmp}/${f0.name}`);
    other[other.length - 1]! ^= 1;
    Deno.writeFileSync(`${tmp}/${shardFileName(1)}`, other);
    assert.throws(() => commitSnapshot(root, tmp, manifest, { verify: true }), /checksum/);
    assert.equal(latestSnapshot(root), null);
    assert.ok(Deno.statSync(tmp).isDirectory);
    Deno.writeFileSync(`${tmp}/${shardFileName(1)}`, Deno.readFileSync(`${tmp}/${f0.name}`));
    commitSnapshot(root, tmp, manifest, { verify: true });
    assert.equal(latestSnapshot(root)?.id, id);
    assert.throws(() => Deno.statSync(tmp), Deno.errors.NotFound);
  });
});

Deno.test("pruneSnapshots keeps the newest, honours vetoes, cleans incomplete dirs on request", async () => {
  await withRoot((root) => {
    const ks = new Keyspace();
    ks.db(0).set("a", { type: "string", value: "1" });
    const ms = [1000, 2000, 3000, 4000].map((t) => makeSnapshot(root, ks, t, 1));
    createSnapshotTmpDir(root, "inprogress");
    const removed = pruneSnapshots(root, 2, { vetoes: [(id) => id === ms[0]!.id] });
    assert.deepEqual(removed, [ms[1]!.id]);
    assert.deepEqual(listSnapshots(root).map((s) => s.id), [ms[3]!.id, ms[2]!.id, ms[0]!.id]);
    assert.ok(Deno.statSync(`${snapshotsDir(root)}/tmp-inprogress`).isDirectory);
    Deno.mkdirSync(`${snapshotsDir(root)}/junk`);
    const cleaned = pruneSnapshots(root, 10, { removeIncomplete: true });
    assert.deepEqual(cleaned.sort(), ["junk", "tmp-inprogress"]);
    assert.equal(listSnapshots(root).length, 3);
  });
});

Deno.test("point in time: writes between chunks (CoW hooks) do not leak into the snapshot; binlog replay from its position equals the live dataset", async () => {
  await withRoot((root) => {
    let now = 1_000;
    const ks = new Keyspace({ clock: () => now });
    const binlog = BinlogWriter.open(`${root}/binlog`, { fileSize: 64 * 1024, fsync: "no" });
    const shard = new MiniShard(ks, binlog);
    populate(shard, 400);
    const atT = state(ks);
    const position = binlog.position;
    const tmp = createSnapshotTmpDir(root, "pit");
    const cursor = new SnapshotCursor(tmp, 0, ks, position, { chunkKeys: 17 });
    shard.cursor = cursor;
    const r = rng(42);
    let steps = 0;
    while (!cursor.step()) {
      steps++;
      for (let i = 0; i < 25; i++) shard.exec(...randomOp(r));
      if (steps === 20) shard.exec(5, ["FLUSHDB"]); // a db not written yet
      if (steps === 21) shard.exec(5, ["SET", "s:k1", "after flush"]);
      if (steps === 45) shard.exec(1, ["FLUSHDB"]); // the db being written
      if (steps === 80) shard.exec(0, ["FLUSHDB"]); // a db already written
      now += 1;
    }
    shard.cursor = null;
    assert.ok(steps > 100, `${steps} steps`);
    for (let i = 0; i < 200; i++) shard.exec(...randomOp(r)); // and after it
    binlog.flush();
    assert.notDeepEqual(state(ks), atT);

    // The snapshot is the dataset at T.
    const info = cursor.result();
    const restored = new Keyspace({ clock: () => now });
    const loaded = loadShardSnapshot(cursor.path, restored, info.checksum);
    assert.deepEqual(loaded.position, position);
    assert.deepEqual(state(restored), atT);

    // Replaying the binlog from the snapshot's position gives the live dataset.
    for (const rec of readRecords(`${root}/binlog`, loaded.position)) {
      for (const op of rec.entry.ops) apply(restored, op.db, op.args);
    }
    assert.deepEqual(state(restored), state(ks));

    // And replaying everything from the start over an empty keyspace too (the binlog is whole).
    const fromScratch = new Keyspace({ clock: () => now });
    for (const rec of readRecords(`${root}/binlog`)) {
      for (const op of rec.entry.ops) apply(fromScratch, op.db, op.args);
    }
    assert.deepEqual(state(fromScratch), state(ks));
    binlog.close();
  });
});

Deno.test("point in time: every kind of write to not-yet-written keys keeps the old value", async () => {
  await withRoot((root) => {
    const ks = new Keyspace();
    const shard = new MiniShard(ks, null);
    for (let i = 0; i < 100; i++) {
      shard.exec(1, ["SET", `s${i}`, "old"]);
      shard.exec(1, ["HSET", `h${i}`, "f", "old"]);
      shard.exec(1, ["RPUSH", `l${i}`, "old"]);
    }
    shard.exec(1, ["PEXPIREAT", "s5", String(FAR)]);
    const atT = state(ks);
    const cursor = new SnapshotCursor(createSnapshotTmpDir(root, "k"), 0, ks, {
      file: 1,
      offset: 32,
    }, { chunkKeys: 1 });
    shard.cursor = cursor;
    // Before any chunk: change every key in place, delete some, expire some, rename some.
    for (let i = 0; i < 100; i++) {
      shard.exec(1, ["HSET", `h${i}`, "f", "new"]);
      shard.exec(1, ["RPUSH", `l${i}`, "new"]);
      shard.exec(1, ["LPOP", `l${i}`]);
    }
    shard.exec(1, ["DEL", "s1"]);
    shard.exec(1, ["SET", "s1", "recreated"]);
    shard.exec(1, ["PERSIST", "s5"]);
    shard.exec(1, ["PEXPIREAT", "s6", String(FAR)]);
    shard.exec(1, ["RENAME", "s7", "s8"]);
    shard.exec(1, ["SET", "brand-new", "x"]);
    shard.exec(1, ["FLUSHDB"]);
    shard.exec(1, ["SET", "s9", "after flush"]);
    while (!cursor.step());
    const restored = new Keyspace();
    loadShardSnapshot(cursor.path, restored, cursor.result().checksum);
    assert.deepEqual(state(restored), atT);
  });
});

Deno.test("cursor: abort deletes the partial file; a finished cursor ignores hooks", async () => {
  await withRoot((root) => {
    const ks = new Keyspace();
    for (let i = 0; i < 100; i++) ks.db(0).set(`k${i}`, { type: "string", value: "v" });
    const tmp = createSnapshotTmpDir(root, "ab");
    const c = new SnapshotCursor(tmp, 0, ks, { file: 1, offset: 32 }, { chunkKeys: 10 });
    c.step();
    c.abort();
    assert.throws(() => Deno.statSync(c.path), Deno.errors.NotFound);
    assert.throws(() => c.step(), /aborted/);
    assert.throws(() => c.result(), /not finished/);
    const d = new SnapshotCursor(tmp, 0, ks, { file: 1, offset: 32 });
    assert.equal(d.step(1000), true);
    assert.equal(d.done, true);
    d.beforeWrite(0, "k1");
    d.beforeFlush(0);
    assert.equal(d.step(), true);
    assert.equal(d.result().keys, 100);
  });
});
