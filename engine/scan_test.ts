import assert from "node:assert/strict";
import {
  MAX_ITERATIONS,
  openIterations,
  parseScanCursor,
  parseScanOptions,
  scanCollection,
  type ScanSource,
  snapshotIterator,
  writeEmptyScan,
} from "./scan.ts";
import { CommandError } from "./errors.ts";
import { ValueSink } from "./reply.ts";

function mapSource(m: Map<string, string>, whole = false): ScanSource<string> {
  return { owner: m, iterate: () => m.keys(), alive: (k) => m.has(k), whole };
}

/** Runs a whole iteration, calling `between` after every step; returns every item reported. */
function fullScan<T>(src: ScanSource<T>, count: number, between?: (step: number) => void): T[] {
  const seen: T[] = [];
  let cursor = 0;
  let steps = 0;
  do {
    const r = scanCollection(src, cursor, count);
    seen.push(...r.items);
    cursor = r.cursor;
    between?.(steps++);
    assert.ok(steps < 100_000, "iteration does not terminate");
  } while (cursor !== 0);
  return seen;
}

function numbered(n: number, prefix = "k"): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i < n; i++) m.set(`${prefix}${i}`, String(i));
  return m;
}

Deno.test("scan: small collection ends in one step with cursor 0", () => {
  const m = numbered(5);
  const r = scanCollection(mapSource(m), 0, 10);
  assert.equal(r.cursor, 0);
  assert.deepEqual(r.items, ["k0", "k1", "k2", "k3", "k4"]);
  assert.equal(openIterations(m), 0);
});

Deno.test("scan: exactly COUNT items ends with cursor 0 (look-ahead)", () => {
  const m = numbered(10);
  const r = scanCollection(mapSource(m), 0, 10);
  assert.equal(r.cursor, 0);
  assert.equal(r.items.length, 10);
});

Deno.test("scan: steps of COUNT items, every item exactly once without changes", () => {
  const m = numbered(1000);
  const first = scanCollection(mapSource(m), 0, 7);
  assert.equal(first.items.length, 7);
  assert.notEqual(first.cursor, 0);
  const all = fullScan(mapSource(m), 7);
  assert.equal(all.length, 1000);
  assert.equal(new Set(all).size, 1000);
  assert.equal(openIterations(m), 1); // only the abandoned first iteration is still open
});

Deno.test("scan: items present throughout are reported despite inserts and deletes", () => {
  const m = numbered(500, "stable");
  const doomed = numbered(300, "doomed");
  for (const [k, v] of doomed) m.set(k, v);
  let added = 0;
  const seen = fullScan(mapSource(m), 13, (step) => {
    // Delete some doomed keys and add new ones between every step.
    for (let i = 0; i < 5; i++) m.delete(`doomed${step * 5 + i}`);
    for (let i = 0; i < 7; i++) m.set(`new${added++}`, "x");
  });
  const stable = seen.filter((k) => k.startsWith("stable"));
  // Every stable item is reported, and (live Map iterators) exactly once.
  assert.equal(stable.length, 500);
  assert.equal(new Set(stable).size, 500);
  // Reported items were all present when reported: none is reported twice.
  assert.equal(new Set(seen).size, seen.length);
});

Deno.test("scan: a deleted look-ahead item is not reported", () => {
  const m = numbered(20);
  const r1 = scanCollection(mapSource(m), 0, 5);
  assert.deepEqual(r1.items, ["k0", "k1", "k2", "k3", "k4"]);
  m.delete("k5"); // the item read ahead
  const r2 = scanCollection(mapSource(m), r1.cursor, 5);
  assert.deepEqual(r2.items, ["k6", "k7", "k8", "k9", "k10"]);
});

Deno.test("scan: a cursor resumes once; reusing it restarts (duplicates, no loss)", () => {
  const m = numbered(30);
  const r1 = scanCollection(mapSource(m), 0, 10);
  const r2 = scanCollection(mapSource(m), r1.cursor, 10);
  assert.deepEqual(r2.items[0], "k10");
  const again = scanCollection(mapSource(m), r1.cursor, 10);
  assert.deepEqual(again.items[0], "k0");
});

Deno.test("scan: unknown cursors start over", () => {
  const m = numbered(30);
  const r = scanCollection(mapSource(m), 987654, 10);
  assert.deepEqual(r.items.slice(0, 2), ["k0", "k1"]);
  assert.notEqual(r.cursor, 0);
});

Deno.test("scan: cursors are per collection", () => {
  const a = numbered(30, "a");
  const b = numbered(30, "b");
  const ra = scanCollection(mapSource(a), 0, 10);
  const rb = scanCollection(mapSource(b), ra.cursor, 10);
  assert.equal(rb.items[0], "b0");
});

Deno.test("scan: open iterations per collection are bounded", () => {
  const m = numbered(100);
  for (let i = 0; i < MAX_ITERATIONS + 50; i++) scanCollection(mapSource(m), 0, 1);
  assert.equal(openIterations(m), MAX_ITERATIONS);
});

Deno.test("scan: whole returns everything with cursor 0 whatever COUNT and cursor", () => {
  const m = numbered(50);
  const r = scanCollection(mapSource(m, true), 12345, 1);
  assert.equal(r.cursor, 0);
  assert.equal(r.items.length, 50);
});

Deno.test("scan: snapshot iterators drop deleted items", () => {
  const members = new Set(["a", "b", "c", "d", "e", "f"]);
  const src: ScanSource<string> = {
    owner: members,
    iterate: () => snapshotIterator(members),
    alive: (x) => members.has(x),
  };
  const r1 = scanCollection(src, 0, 2);
  assert.deepEqual(r1.items, ["a", "b"]);
  members.delete("d");
  members.add("z"); // added after the snapshot: may be missed
  const rest = fullScanFrom(src, r1.cursor, 2);
  assert.deepEqual(rest, ["c", "e", "f"]);
});

function fullScanFrom<T>(src: ScanSource<T>, cursor: number, count: number): T[] {
  const out: T[] = [];
  while (cursor !== 0) {
    const r = scanCollection(src, cursor, count);
    out.push(...r.items);
    cursor = r.cursor;
  }
  return out;
}

Deno.test("scan: a step over many dead snapshot items is bounded", () => {
  const members = new Set<string>();
  for (let i = 0; i < 1000; i++) members.add(`m${i}`);
  const src: ScanSource<string> = {
    owner: members,
    iterate: () => snapshotIterator(members),
    alive: (x) => members.has(x),
  };
  const r1 = scanCollection(src, 0, 1);
  members.clear();
  const r2 = scanCollection(src, r1.cursor, 1);
  assert.deepEqual(r2.items, []);
  assert.notEqual(r2.cursor, 0); // gave up after 10 dead items instead of walking 1000
  assert.deepEqual(fullScanFrom(src, r2.cursor, 1000), []);
});

Deno.test("parseScanCursor follows strtoul", () => {
  assert.equal(parseScanCursor("0"), 0);
  assert.equal(parseScanCursor(""), 0);
  assert.equal(parseScanCursor("+0"), 0);
  assert.equal(parseScanCursor("-0"), 0);
  assert.equal(parseScanCursor("17"), 17);
  assert.equal(parseScanCursor("00017"), 17);
  assert.equal(parseScanCursor("-18446744073709551615"), 1); // unsigned negation
  assert.ok(parseScanCursor("18446744073709551615") >= 2 ** 32);
  assert.ok(parseScanCursor("-1") >= 2 ** 32);
  for (const bad of ["abc", " 0", "0 ", "1.5", "0x1", "+", "-", "18446744073709551616"]) {
    assert.throws(
      () => parseScanCursor(bad),
      (e) => e instanceof CommandError && e.message === "invalid cursor",
      bad,
    );
  }
});

Deno.test("parseScanOptions", () => {
  assert.deepEqual(parseScanOptions(["scan", "0"], 2, true), {
    match: undefined,
    count: 10,
    type: undefined,
  });
  assert.deepEqual(
    parseScanOptions(["scan", "0", "match", "a*", "COUNT", "5", "type", "hash"], 2, true),
    { match: "a*", count: 5, type: "hash" },
  );
  assert.equal(parseScanOptions(["x", "0", "MATCH", "*"], 2, false).match, undefined);
  assert.equal(parseScanOptions(["x", "0", "COUNT", "1", "COUNT", "3"], 2, false).count, 3);
  const syntax = (e: unknown) => e instanceof CommandError && e.message === "syntax error";
  assert.throws(() => parseScanOptions(["x", "0", "COUNT", "0"], 2, false), syntax);
  assert.throws(() => parseScanOptions(["x", "0", "COUNT"], 2, false), syntax);
  assert.throws(() => parseScanOptions(["x", "0", "TYPE", "hash"], 2, false), syntax);
  assert.throws(() => parseScanOptions(["x", "0", "FOO", "bar"], 2, true), syntax);
  assert.throws(
    () => parseScanOptions(["x", "0", "COUNT", "x"], 2, false),
    (e) => e instanceof CommandError && e.message === "value is not an integer or out of range",
  );
});

Deno.test("writeEmptyScan", () => {
  const out = new ValueSink(3);
  writeEmptyScan(out);
  assert.deepEqual(out.take(), ["0", []]);
});
