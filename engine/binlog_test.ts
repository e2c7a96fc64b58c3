import assert from "node:assert/strict";
import { Unpackr } from "msgpackr";
import {
  BINLOG_START,
  binlogDir,
  binlogFileName,
  BinlogPositionError,
  BinlogReader,
  type BinlogRecord,
  BinlogWriter,
  checkPosition,
  comparePositions,
  decodeRecord,
  encodeRecord,
  FILE_HEADER_SIZE,
  firstPosition,
  formatPosition,
  listBinlogFiles,
  parsePosition,
  type Position,
  positionsEqual,
  purgeBefore,
  readRecords,
  RECORD_HEADER_SIZE,
  splitRecords,
} from "./binlog.ts";
import { CorruptionError } from "./errors.ts";

const ALL_BYTES = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join("");

async function withDir(fn: (dir: string) => void | Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "tessera-binlog-" });
  try {
    await fn(binlogDir(root, 0));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

function all(dir: string, from?: Position): BinlogRecord[] {
  return [...readRecords(dir, from)];
}

function path(dir: string, n: number): string {
  return `${dir}/${binlogFileName(n)}`;
}

/** Flips one byte of a file in place. */
function flip(file: string, offset: number): void {
  const b = Deno.readFileSync(file);
  b[offset]! ^= 0x5a;
  Deno.writeFileSync(file, b);
}

function argsOf(r: BinlogRecord): string[] {
  assert.equal(r.entry.ops.length, 1);
  return r.entry.ops[0]!.args;
}

/** Asserts records are contiguous and strictly ordered, across files. */
function assertContinuous(recs: BinlogRecord[], first: Position = BINLOG_START): void {
  let prevEnd = first;
  for (const r of recs) {
    assert.ok(comparePositions(r.start, r.end) < 0);
    if (r.start.file === prevEnd.file) {
      assert.deepEqual(r.start, prevEnd);
      assert.deepEqual(r.prev, r.start);
    } else {
      assert.equal(r.start.file, prevEnd.file + 1);
      assert.equal(r.start.offset, FILE_HEADER_SIZE);
      assert.deepEqual(r.prev, prevEnd); // the end of the previous file
    }
    assert.equal(r.end.offset - r.start.offset, r.raw.length);
    prevEnd = r.end;
  }
}

Deno.test("positions: compare, format, parse", () => {
  assert.ok(comparePositions({ file: 1, offset: 900 }, { file: 2, offset: 32 }) < 0);
  assert.ok(comparePositions({ file: 2, offset: 40 }, { file: 2, offset: 32 }) > 0);
  assert.equal(comparePositions({ file: 2, offset: 40 }, { file: 2, offset: 40 }), 0);
  assert.equal(formatPosition({ file: 3, offset: 1048576 }), "3:1048576");
  assert.deepEqual(parsePosition("3:1048576"), { file: 3, offset: 1048576 });
  assert.equal(parsePosition("3:"), undefined);
  assert.equal(parsePosition("x:1"), undefined);
  assert.ok(positionsEqual({ file: 1, offset: 2 }, { file: 1, offset: 2 }));
});

Deno.test("framing: encode/decode round trip, binary args, msgpack payload, units", () => {
  const args = ["SET", `k${ALL_BYTES}`, "\r\n\x00\xff", "", "x".repeat(70_000)];
  const raw = encodeRecord([{ db: 7, args }], 1_700_000_000_123);
  const e = decodeRecord(raw);
  assert.equal(e.ts, 1_700_000_000_123);
  assert.deepEqual(e.ops, [{ db: 7, args }]);
  // The payload is standard msgpack with args as bin.
  const payload = new Unpackr({ useRecords: false }).unpack(raw.subarray(RECORD_HEADER_SIZE)) as {
    ts: number;
    db: number;
    args: Uint8Array[];
  };
  assert.equal(payload.ts, 1_700_000_000_123);
  assert.equal(payload.db, 7);
  assert.ok(payload.args[1] instanceof Uint8Array);
  assert.equal(payload.args[1]!.length, 257);
  assert.equal(payload.args[1]![256], 255);
  // A unit of several commands.
  const ops = [
    { db: 0, args: ["DEL", "a"] },
    { db: 15, args: ["__RESTORE", "b", "\x00\x01"] },
    ...Array.from({ length: 20 }, (_, i) => ({ db: 1, args: ["INCR", `c${i}`] })),
  ];
  const unit = decodeRecord(encodeRecord(ops, 5));
  assert.equal(unit.ts, 5);
  assert.deepEqual(unit.ops, ops);
  // Many args (array16) and a non-integer timestamp.
  const many = ["HSET", "h", ...Array.from({ length: 40 }, (_, i) => `f${i}`)];
  assert.deepEqual(decodeRecord(encodeRecord([{ db: 0, args: many }], 1.5)).ops[0]!.args, many);
  assert.equal(decodeRecord(encodeRecord([{ db: 0, args: many }], 1.5)).ts, 1.5);
  assert.throws(() => encodeRecord([], 1), RangeError);
  assert.throws(() => encodeRecord([{ db: -1, args: ["X"] }], 1), RangeError);
});

Deno.test("framing: a flipped byte anywhere in the record is detected", () => {
  const raw = encodeRecord([{ db: 2, args: ["SET", "key", "value"] }], 99);
  for (let i = 0; i < raw.length; i++) {
    const copy = raw.slice();
    copy[i]! ^= 0x01;
    assert.throws(() => decodeRecord(copy), CorruptionError, `byte ${i}`);
  }
  assert.throws(() => decodeRecord(raw.subarray(0, raw.length - 1)), CorruptionError);
  const two = new Uint8Array(raw.length * 2);
  two.set(raw);
  two.set(raw, raw.length);
  assert.throws(() => decodeRecord(two), /trailing/);
  assert.equal(splitRecords(two).length, 2);
  assert.throws(() => splitRecords(two.subarray(0, two.length - 3)), CorruptionError);
});

Deno.test("writer/reader: append, read back, positions continuous", async () => {
  await withDir((dir) => {
    const w = BinlogWriter.open(dir, { fsync: "no" });
    assert.equal(w.recovery.kind, "created");
    assert.deepEqual(w.position, BINLOG_START);
    const ends: Position[] = [];
    for (let i = 0; i < 100; i++) {
      ends.push(w.append(i % 16, ["SET", `k${i}`, ALL_BYTES], 1000 + i));
    }
    ends.push(w.appendUnit([{ db: 0, args: ["DEL", "x"] }, { db: 1, args: ["DEL", "y"] }], 2000));
    w.close();
    const recs = all(dir);
    assert.equal(recs.length, 101);
    assertContinuous(recs);
    recs.forEach((r, i) => assert.deepEqual(r.end, ends[i]));
    assert.deepEqual(argsOf(recs[42]!), ["SET", "k42", ALL_BYTES]);
    assert.equal(recs[42]!.entry.ops[0]!.db, 42 % 16);
    assert.equal(recs[42]!.entry.ts, 1042);
    assert.deepEqual(recs[100]!.entry.ops.map((o) => o.db), [0, 1]);
    assert.deepEqual(decodeRecord(recs[5]!.raw), recs[5]!.entry);
  });
});

Deno.test("writer: rotation at a small fileSize; positions ordered across files; reopen", async () => {
  await withDir((dir) => {
    const fileSize = 1024;
    let w = BinlogWriter.open(dir, { fileSize, fsync: "no" });
    const ends: Position[] = [];
    for (let i = 0; i < 200; i++) {
      ends.push(w.append(0, ["SET", `key:${i}`, "v".repeat(i % 50)], i));
    }
    // A record bigger than a whole file still goes in (alone in its file).
    ends.push(w.append(0, ["SET", "big", "B".repeat(3000)], 200));
    ends.push(w.append(0, ["SET", "after", "1"], 201));
    w.close();
    const files = listBinlogFiles(dir);
    assert.ok(files.length > 10, `${files.length} files`);
    assert.deepEqual(files, files.map((_, i) => i + 1));
    for (const n of files.slice(0, -1)) {
      const size = Deno.statSync(path(dir, n)).size;
      const bigFile = ends[200]!.file;
      if (n !== bigFile) assert.ok(size <= fileSize, `file ${n} has ${size}`);
    }
    const recs = all(dir);
    assert.equal(recs.length, 202);
    assertContinuous(recs);
    recs.forEach((r, i) => assert.deepEqual(r.end, ends[i]));
    for (let i = 1; i < ends.length; i++) assert.ok(comparePositions(ends[i - 1]!, ends[i]!) < 0);
    // Reopen: continues at the end, appends go on.
    w = BinlogWriter.open(dir, { fileSize, fsync: "no" });
    assert.equal(w.recovery.kind, "clean");
    assert.deepEqual(w.position, ends[ends.length - 1]);
    w.append(3, ["DEL", "after"], 300);
    w.close();
    const again = all(dir);
    assert.equal(again.length, 203);
    assertContinuous(again);
    assert.deepEqual(argsOf(again[202]!), ["DEL", "after"]);
  });
});

Deno.test("reader: from a mid position, from a file end, and following a growing log", async () => {
  await withDir((dir) => {
    const w = BinlogWriter.open(dir, { fileSize: 600, fsync: "no" });
    for (let i = 0; i < 60; i++) w.append(0, ["INCR", `n${i}`], i);
    w.flush();
    const recs = all(dir);
    const mid = recs[25]!;
    const tail = all(dir, mid.end);
    assert.equal(tail.length, 34);
    assert.deepEqual(tail[0]!.start, recs[26]!.start);
    assert.deepEqual(argsOf(tail[0]!), ["INCR", "n26"]);
    // The end of a file reads on from the next file.
    const lastOfFile = recs.findIndex((r, i) =>
      recs[i + 1] && recs[i + 1]!.start.file !== r.start.file
    );
    assert.ok(lastOfFile >= 0);
    const fromEnd = all(dir, recs[lastOfFile]!.end);
    assert.equal(fromEnd.length, 60 - lastOfFile - 1);
    assert.deepEqual(fromEnd[0]!.prev, recs[lastOfFile]!.end);
    // From the very end: nothing.
    assert.equal(all(dir, w.position).length, 0);
    // Following: next() returns null at the end, then picks up flushed appends (and rotations).
    const reader = new BinlogReader(dir, w.position);
    assert.equal(reader.next(), null);
    assert.equal(reader.stop.kind, "end");
    w.append(1, ["SADD", "s", "m0"], 0);
    assert.equal(reader.next(), null); // still buffered in the writer
    for (let i = 1; i < 30; i++) w.append(1, ["SADD", "s", `m${i}`], i);
    w.flush();
    const got: string[] = [];
    for (let r = reader.next(); r !== null; r = reader.next()) got.push(argsOf(r)[2]!);
    assert.equal(got.length, 30);
    assert.equal(got[29], "m29");
    assert.deepEqual(reader.position, w.position);
    reader.close();
    w.close();
  });
});

Deno.test("recovery: torn tail is reported, truncated, and appends continue consistently", async () => {
  for (const damage of ["cut", "zeros", "badcrc", "header"] as const) {
    await withDir((dir) => {
      let w = BinlogWriter.open(dir, { fileSize: 800, fsync: "always" });
      const ends: Position[] = [];
      for (let i = 0; i < 30; i++) ends.push(w.append(0, ["SET", `k${i}`, `v${i}`], i));
      w.close();
      const last = ends[29]!;
      const lastStart = ends[28]!.file === last.file ? ends[28]! : { file: last.file, offset: 32 };
      const file = path(dir, last.file);
      if (damage === "cut") Deno.truncateSync(file, last.offset - 3);
      if (damage === "zeros") {
        Deno.truncateSync(file, last.offset - 5);
        const f = Deno.openSync(file, { append: true });
        f.writeSync(new Uint8Array(100));
        f.close();
      }
      if (damage === "badcrc") flip(file, last.offset - 1);
      if (damage === "header") Deno.truncateSync(file, lastStart.offset + 5);
      // A reader sees the tail as incomplete, not as corruption.
      const stop = readRecords(dir);
      let res = stop.next();
      while (!res.done) res = stop.next();
      assert.equal(res.value.kind, "incomplete");
      w = BinlogWriter.open(dir, { fileSize: 800, fsync: "always" });
      const rec = w.recovery;
      assert.equal(rec.kind, "torn-tail", damage);
      if (rec.kind !== "torn-tail") return;
      assert.equal(rec.file, last.file);
      assert.equal(rec.offset, lastStart.offset);
      assert.ok(rec.droppedBytes > 0);
      assert.deepEqual(w.position, lastStart);
      assert.equal(Deno.statSync(file).size, lastStart.offset);
      const p = w.append(0, ["SET", "k29", "again"], 99);
      const q = w.append(0, ["SET", "k30", "v30"], 100);
      w.close();
      const recs = all(dir);
      assert.equal(recs.length, 31);
      assertContinuous(recs);
      assert.deepEqual(argsOf(recs[29]!), ["SET", "k29", "again"]);
      assert.deepEqual(recs[29]!.end, p);
      assert.deepEqual(recs[30]!.end, q);
      assert.deepEqual(checkPosition(dir, p), { kind: "ok" });
    });
  }
});

Deno.test("recovery: a last file shorter than its header is recreated", async () => {
  await withDir((dir) => {
    let w = BinlogWriter.open(dir, { fileSize: 400, fsync: "no" });
    for (let i = 0; i < 20; i++) w.append(0, ["SET", `k${i}`, "v"], i);
    w.close();
    const files = listBinlogFiles(dir);
    const next = files[files.length - 1]! + 1;
    Deno.writeFileSync(path(dir, next), new Uint8Array(7)); // crash while creating the file
    w = BinlogWriter.open(dir, { fileSize: 400, fsync: "no" });
    assert.equal(w.recovery.kind, "torn-tail");
    assert.deepEqual(w.position, { file: next, offset: FILE_HEADER_SIZE });
    w.append(0, ["SET", "x", "y"], 1);
    w.close();
    const recs = all(dir);
    assert.equal(recs.length, 21);
    assertContinuous(recs);
  });
});

Deno.test("recovery: a corrupt middle record throws CorruptionError with file and offset", async () => {
  await withDir((dir) => {
    let w = BinlogWriter.open(dir, { fileSize: 700, fsync: "no" });
    const ends: Position[] = [];
    for (let i = 0; i < 60; i++) ends.push(w.append(0, ["SET", `k${i}`, `value-${i}`], i));
    w.close();
    const lastFile = ends[59]!.file;
    // A record in the middle of the last file.
    const idx = ends.findIndex((e, i) => e.file === lastFile && ends[i + 2]?.file === lastFile);
    const bad = ends[idx]!; // the record starting here is damaged
    flip(path(dir, lastFile), bad.offset + RECORD_HEADER_SIZE + 3);
    assert.throws(
      () => BinlogWriter.open(dir, { fileSize: 700, fsync: "no" }),
      (e: unknown) =>
        e instanceof CorruptionError && e.file === path(dir, lastFile) && e.offset === bad.offset,
    );
    // A corrupt record in an older file: reading through it throws, naming it.
    const old = ends[3]!;
    flip(path(dir, old.file), old.offset + 1);
    assert.throws(
      () => all(dir),
      (e: unknown) =>
        e instanceof CorruptionError && e.file === path(dir, old.file) &&
        e.offset === old.offset && /magic/.test(e.message),
    );
    // allowCorrupt: the reader stops there and says so.
    const gen = readRecords(dir, undefined, { allowCorrupt: true });
    let n = 0;
    let res = gen.next();
    while (!res.done) {
      n++;
      res = gen.next();
    }
    assert.equal(n, 4);
    assert.equal(res.value.kind, "corrupt");
    assert.deepEqual(res.value.position, old);
    // Replaying through it at open time throws too.
    assert.throws(
      () => BinlogWriter.open(dir, { replayFrom: firstPosition(dir), fileSize: 700, fsync: "no" }),
      CorruptionError,
    );
    // truncateCorrupt: everything from the first corrupt record on is dropped.
    const seen: string[] = [];
    w = BinlogWriter.open(dir, {
      fileSize: 700,
      fsync: "no",
      truncateCorrupt: true,
      replayFrom: firstPosition(dir),
      onRecord: (r) => seen.push(argsOf(r)[1]!),
    });
    assert.deepEqual(seen, ["k0", "k1", "k2", "k3"]);
    const rec = w.recovery;
    assert.equal(rec.kind, "corrupt-truncated");
    if (rec.kind === "corrupt-truncated") {
      assert.equal(rec.file, old.file);
      assert.equal(rec.offset, old.offset);
      assert.ok(rec.droppedFiles.length > 0);
    }
    assert.deepEqual(w.position, old);
    assert.deepEqual(w.files(), Array.from({ length: old.file }, (_, i) => i + 1));
    const p = w.append(0, ["SET", "k4", "new"], 4);
    w.close();
    const recs = all(dir);
    assert.equal(recs.length, 5);
    assertContinuous(recs);
    assert.deepEqual(recs[4]!.end, p);
    assert.deepEqual(argsOf(recs[4]!), ["SET", "k4", "new"]);
  });
});

Deno.test("recovery: a bad header in an older file is corruption; truncateCorrupt restarts there", async () => {
  await withDir((dir) => {
    let w = BinlogWriter.open(dir, { fileSize: 300, fsync: "no" });
    for (let i = 0; i < 40; i++) w.append(0, ["SET", `k${i}`, "v"], i);
    w.close();
    const files = listBinlogFiles(dir);
    assert.ok(files.length >= 4);
    const before = all(dir).filter((r) => r.start.file < 3).length;
    flip(path(dir, 3), 13); // the file number in file 3's header
    assert.throws(
      () => all(dir),
      (e: unknown) => e instanceof CorruptionError && e.file === path(dir, 3) && e.offset === 0,
    );
    assert.throws(
      () => BinlogWriter.open(dir, { replayFrom: firstPosition(dir) }),
      CorruptionError,
    );
    w = BinlogWriter.open(dir, {
      fileSize: 300,
      fsync: "no",
      replayFrom: firstPosition(dir),
      truncateCorrupt: true,
    });
    assert.equal(w.recovery.kind, "corrupt-truncated");
    assert.deepEqual(w.position, { file: 3, offset: FILE_HEADER_SIZE });
    assert.deepEqual(w.files(), [1, 2, 3]);
    w.append(0, ["SET", "fresh", "1"], 1);
    w.close();
    const recs = all(dir);
    assert.equal(recs.length, before + 1);
    assertContinuous(recs);
  });
});

Deno.test("open: replayFrom hands every record after the position to onRecord", async () => {
  await withDir((dir) => {
    let w = BinlogWriter.open(dir, { fileSize: 500, fsync: "no" });
    const ends: Position[] = [];
    for (let i = 0; i < 50; i++) ends.push(w.append(0, ["RPUSH", "l", `${i}`], i));
    w.close();
    const seen: string[] = [];
    w = BinlogWriter.open(dir, {
      fileSize: 500,
      fsync: "no",
      replayFrom: ends[19]!,
      onRecord: (r) => seen.push(argsOf(r)[2]!),
    });
    assert.deepEqual(seen, Array.from({ length: 30 }, (_, i) => `${i + 20}`));
    assert.deepEqual(w.position, ends[49]);
    w.close();
    // A position that is not a record boundary is refused.
    assert.throws(
      () =>
        BinlogWriter.open(dir, {
          replayFrom: { file: ends[19]!.file, offset: ends[19]!.offset + 1 },
        }),
      (e: unknown) => e instanceof BinlogPositionError && e.reason === "invalid",
    );
    assert.throws(
      () => BinlogWriter.open(dir, { replayFrom: { file: 999, offset: 32 } }),
      (e: unknown) => e instanceof BinlogPositionError && e.reason === "ahead",
    );
  });
});

Deno.test("checkPosition: ok, purged, ahead, invalid", async () => {
  await withDir((dir) => {
    const w = BinlogWriter.open(dir, { fileSize: 400, fsync: "no" });
    const ends: Position[] = [];
    for (let i = 0; i < 40; i++) ends.push(w.append(0, ["SET", `k${i}`, "v"], i));
    w.flush();
    assert.deepEqual(checkPosition(dir, BINLOG_START), { kind: "ok" });
    for (const e of ends) assert.deepEqual(checkPosition(dir, e), { kind: "ok" });
    assert.equal(
      checkPosition(dir, { file: ends[5]!.file, offset: ends[5]!.offset + 4 }).kind,
      "invalid",
    );
    assert.equal(checkPosition(dir, { file: 1, offset: 3 }).kind, "invalid");
    const end = w.position;
    assert.deepEqual(checkPosition(dir, { file: end.file, offset: end.offset + 10 }), {
      kind: "ahead",
      end,
    });
    assert.equal(checkPosition(dir, { file: end.file + 1, offset: 32 }).kind, "ahead");
    const deleted = purgeBefore(dir, ends[20]!, { keepFiles: 0 });
    assert.ok(deleted.length > 0);
    const c = checkPosition(dir, BINLOG_START);
    assert.equal(c.kind, "purged");
    if (c.kind === "purged") assert.deepEqual(c.first, { file: deleted.length + 1, offset: 32 });
    assert.throws(
      () => new BinlogReader(dir, BINLOG_START),
      (e: unknown) => e instanceof BinlogPositionError && e.reason === "purged",
    );
    w.close();
  });
});

Deno.test("purgeBefore honours the position, keepFiles and vetoes, never leaving a hole", async () => {
  await withDir((dir) => {
    const w = BinlogWriter.open(dir, { fileSize: 300, fsync: "no" });
    for (let i = 0; i < 100; i++) w.append(0, ["SET", `k${i}`, "v"], i);
    w.flush();
    const files = w.files();
    const n = files.length;
    assert.ok(n >= 15, `${n} files`);
    // Position in file 5: files 1-4 may go.
    assert.deepEqual(purgeBefore(dir, { file: 5, offset: 32 }, { keepFiles: 0 }), [1, 2, 3, 4]);
    // keepFiles keeps the newest ones even when the position allows more.
    const far = w.position;
    assert.deepEqual(purgeBefore(dir, far, { keepFiles: n - 6 }), [5, 6]);
    // A veto on file 9 (a replica reads it) stops purging there, even for later files.
    const vetoed: number[] = [];
    const deleted = purgeBefore(dir, far, {
      keepFiles: 0,
      vetoes: [(f) => {
        vetoed.push(f);
        return f === 9;
      }, (f) => f > 100],
    });
    assert.deepEqual(deleted, [7, 8]);
    assert.deepEqual(listBinlogFiles(dir)[0], 9);
    // A full-sync pin as a veto: nothing at or after the pinned file goes.
    const pinned = { file: 11, offset: 32 };
    assert.deepEqual(
      purgeBefore(dir, far, { keepFiles: 0, vetoes: [(f) => f >= pinned.file] }),
      [9, 10],
    );
    // Never the file being written, even with keepFiles 0 and a position past it.
    purgeBefore(dir, { file: far.file + 5, offset: 0 }, { keepFiles: 0 });
    assert.deepEqual(listBinlogFiles(dir), [far.file]);
    // The writer is unaffected.
    w.append(0, ["SET", "z", "1"], 1);
    w.close();
    assert.equal(all(dir).length >= 1, true);
    assert.deepEqual(argsOf(all(dir).at(-1)!), ["SET", "z", "1"]);
  });
});

Deno.test("appendRaw: a replica mirrors its master byte for byte, rotations included", async () => {
  const root = await Deno.makeTempDir({ prefix: "tessera-binlog-" });
  try {
    const mdir = `${root}/master`;
    const rdir = `${root}/replica`;
    const m = BinlogWriter.open(mdir, { fileSize: 512, fsync: "no" });
    const r = BinlogWriter.open(rdir, { fileSize: 512, fsync: "no" });
    const reader = new BinlogReader(mdir, m.position);
    const ship = () => {
      m.flush();
      for (let rec = reader.next(); rec !== null; rec = reader.next()) {
        const end = r.appendRaw(rec.raw, rec.start, rec.prev);
        assert.deepEqual(end, rec.end);
      }
    };
    for (let i = 0; i < 40; i++) {
      m.append(i % 3, ["SET", `k${i}`, ALL_BYTES.slice(0, i * 3)], i);
      if (i % 7 === 0) ship();
    }
    ship();
    m.rotate(); // an explicit rotation too
    m.append(0, ["DEL", "k1"], 50);
    ship();
    assert.deepEqual(r.position, m.position);
    // Errors: a gap, or damaged bytes: nothing written.
    const rec = encodeRecord([{ db: 0, args: ["PING"] }], 1);
    assert.throws(
      () => r.appendRaw(rec, { file: r.position.file, offset: r.position.offset + 1 }),
      BinlogPositionError,
    );
    assert.throws(
      () => r.appendRaw(rec, { file: r.position.file + 2, offset: 32 }),
      BinlogPositionError,
    );
    assert.throws(
      () => r.appendRaw(rec, { file: r.position.file + 1, offset: 32 }, { file: 1, offset: 32 }),
      BinlogPositionError,
    );
    const bad = rec.slice();
    bad[bad.length - 1]! ^= 1;
    assert.throws(() => r.appendRaw(bad, r.position), CorruptionError);
    assert.deepEqual(r.position, m.position);
    m.close();
    r.close();
    reader.close();
    const mf = listBinlogFiles(mdir);
    assert.deepEqual(listBinlogFiles(rdir), mf);
    for (const n of mf) {
      assert.deepEqual(
        Deno.readFileSync(path(rdir, n)),
        Deno.readFileSync(path(mdir, n)),
        `file ${n}`,
      );
    }
    // Without `at`, raw records are appended like local ones.
    const r2 = BinlogWriter.open(`${root}/r2`, { fsync: "no" });
    const p = r2.appendRaw(rec);
    assert.deepEqual(p, { file: 1, offset: 32 + rec.length });
    r2.close();
    assert.deepEqual(argsOf(all(`${root}/r2`)[0]!), ["PING"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("resetTo: a replica continues at its master's position after a full sync", async () => {
  await withDir((dir) => {
    const w = BinlogWriter.open(dir, { fileSize: 4096, fsync: "always" });
    for (let i = 0; i < 10; i++) w.append(0, ["SET", `old${i}`, "v"], i);
    const at = { file: 7, offset: 3000 };
    w.resetTo(at);
    assert.deepEqual(w.position, at);
    assert.deepEqual(w.files(), [7]);
    assert.deepEqual(checkPosition(dir, at), { kind: "ok" });
    const rec = encodeRecord([{ db: 0, args: ["SET", "new", "1"] }], 1);
    const p1 = w.appendRaw(rec, at);
    assert.deepEqual(p1, { file: 7, offset: 3000 + rec.length });
    // The master rotated: its next record is at the start of file 8.
    const p2 = w.appendRaw(rec, { file: 8, offset: 32 }, p1);
    assert.deepEqual(p2, { file: 8, offset: 32 + rec.length });
    w.close();
    const recs = all(dir, at);
    assert.equal(recs.length, 2);
    assert.deepEqual(recs[0]!.start, at);
    assert.deepEqual(recs[1]!.prev, p1);
    // From the start of the kept log: the first record is at the reset position.
    assert.deepEqual(firstPosition(dir), at);
    // Reopen works and continues.
    const w2 = BinlogWriter.open(dir, { fileSize: 4096, fsync: "no" });
    assert.equal(w2.recovery.kind, "clean");
    assert.deepEqual(w2.position, p2);
    w2.close();
    // An empty binlog can also start at a given position.
    const root2 = Deno.makeTempDirSync();
    const w3 = BinlogWriter.open(root2, { startAt: { file: 3, offset: 100 } });
    assert.deepEqual(w3.position, { file: 3, offset: 100 });
    w3.close();
    Deno.removeSync(root2, { recursive: true });
  });
});

Deno.test("commit applies the fsync policy; synced/flushed positions track it", async () => {
  await withDir(async (dir) => {
    const always = BinlogWriter.open(`${dir}/a`, { fsync: "always" });
    always.append(0, ["SET", "a", "1"], 1);
    assert.deepEqual(always.flushedPosition, BINLOG_START);
    always.commit(1000);
    assert.deepEqual(always.syncedPosition, always.position);
    always.close();

    const every = BinlogWriter.open(`${dir}/e`, { fsync: "everysec", fileSize: 200 });
    every.append(0, ["SET", "a", "1"], 1);
    every.commit(10_000); // first commit: last fsync long ago; runs in the background
    assert.deepEqual(every.flushedPosition, every.position);
    await every.settled();
    assert.deepEqual(every.syncedPosition, every.position);
    every.append(0, ["SET", "b", "1"], 1);
    every.commit(10_500);
    await every.settled();
    assert.deepEqual(every.flushedPosition, every.position);
    assert.ok(comparePositions(every.syncedPosition, every.position) < 0);
    every.commit(11_000);
    // Writes and even rotations go on while the background fsync runs.
    for (let i = 0; i < 20; i++) every.append(0, ["SET", `k${i}`, "v".repeat(20)], 1);
    every.commit(11_001);
    await every.settled();
    assert.ok(every.currentFile > 1);
    assert.ok(comparePositions(every.syncedPosition, { file: 1, offset: 32 }) > 0);
    every.commit(12_001);
    await every.settled();
    assert.deepEqual(every.syncedPosition, every.position);
    every.close();
    assert.equal(all(`${dir}/e`).length, 22);

    const no = BinlogWriter.open(`${dir}/n`, { fsync: "no" });
    no.append(0, ["SET", "a", "1"], 1);
    no.commit(1);
    assert.deepEqual(no.flushedPosition, no.position);
    assert.deepEqual(no.syncedPosition, BINLOG_START);
    no.close();
    assert.throws(() => no.append(0, ["X"], 1), /closed/);
  });
});

Deno.test("big records and large batches buffer and flush correctly", async () => {
  await withDir((dir) => {
    const w = BinlogWriter.open(dir, { fileSize: 4 << 20, fsync: "no" });
    const big = ALL_BYTES.repeat(8192); // 2 MiB
    w.append(0, ["SET", "big", big], 1);
    for (let i = 0; i < 5000; i++) w.append(0, ["INCR", "n"], i);
    w.append(0, ["SET", "big2", big], 2);
    w.close();
    const recs = [...readRecords(dir, undefined, { chunkSize: 4096 })];
    assert.equal(recs.length, 5002);
    assertContinuous(recs);
    assert.equal(argsOf(recs[0]!)[2], big);
    assert.equal(argsOf(recs[5001]!)[2], big);
    assert.ok(recs[5001]!.start.file > 1);
  });
});
