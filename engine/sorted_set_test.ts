import assert from "node:assert/strict";
import { compareEntries, SortedSet } from "./sorted_set.ts";

/** The order every operation must agree with: a plain sorted array. */
function model(z: Map<string, number>): Array<[string, number]> {
  return [...z].sort((a, b) => compareEntries(a[1], a[0], b[1], b[0]));
}

function rangeOf(z: SortedSet, from: number, to: number): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  z.forRange(from, to, (m, s) => out.push([m, s]));
  return out;
}

function rangeRevOf(z: SortedSet, from: number, to: number): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  z.forRangeRev(from, to, (m, s) => out.push([m, s]));
  return out;
}

function check(z: SortedSet, m: Map<string, number>): void {
  const want = model(m);
  assert.equal(z.size, want.length);
  assert.deepEqual([...z.entries()], want);
  assert.deepEqual(rangeOf(z, 0, want.length - 1), want);
  assert.deepEqual(rangeRevOf(z, want.length - 1, 0), [...want].reverse());
  for (let i = 0; i < want.length; i += Math.max(1, want.length >> 4)) {
    const [member, score] = want[i]!;
    assert.equal(z.rank(member), i);
    assert.deepEqual(z.at(i), [member, score]);
    assert.equal(z.memberAt(i), member);
    assert.equal(z.score(member), score);
  }
}

Deno.test("SortedSet: add, update, delete, rank, at", () => {
  const z = new SortedSet();
  assert.equal(z.add("b", 2), true);
  assert.equal(z.add("a", 2), true);
  assert.equal(z.add("c", 1), true);
  assert.equal(z.add("c", 1), false);
  assert.deepEqual([...z.entries()], [["c", 1], ["a", 2], ["b", 2]]);
  assert.equal(z.add("c", 3), false);
  assert.deepEqual([...z.members()], ["a", "b", "c"]);
  assert.equal(z.rank("c"), 2);
  assert.equal(z.rank("x"), undefined);
  assert.deepEqual(z.at(0), ["a", 2]);
  assert.equal(z.at(3), undefined);
  assert.equal(z.at(-1), undefined);
  assert.equal(z.has("a"), true);
  assert.equal(z.delete("a"), true);
  assert.equal(z.delete("a"), false);
  assert.equal(z.has("a"), false);
  assert.equal(z.score("b"), 2);
  assert.equal(z.size, 2);
  assert.equal(z.delete("b"), true);
  assert.equal(z.delete("c"), true);
  assert.equal(z.size, 0);
  assert.deepEqual([...z.entries()], []);
  assert.equal(z.firstByScore(0, false), 0);
  z.add("x", -Infinity);
  z.add("y", Infinity);
  assert.deepEqual([...z.members()], ["x", "y"]);
});

Deno.test("SortedSet: firstByScore and firstByLex", () => {
  const z = SortedSet.from([["a", 1], ["b", 2], ["c", 2], ["d", 3]]);
  assert.equal(z.firstByScore(2, false), 1);
  assert.equal(z.firstByScore(2, true), 3);
  assert.equal(z.firstByScore(-Infinity, false), 0);
  assert.equal(z.firstByScore(Infinity, false), 4);
  assert.equal(z.firstByScore(3, true), 4);
  const l = SortedSet.from([["a", 0], ["b", 0], ["d", 0]]);
  assert.equal(l.firstByLex("b", false), 1);
  assert.equal(l.firstByLex("b", true), 2);
  assert.equal(l.firstByLex("c", false), 2);
  assert.equal(l.firstByLex("", false), 0);
  assert.equal(l.firstByLex("e", false), 3);
});

Deno.test("SortedSet: from keeps the last score of a repeated member", () => {
  const z = SortedSet.from([["a", 5], ["b", 1], ["a", 0]]);
  assert.deepEqual([...z.entries()], [["a", 0], ["b", 1]]);
  assert.equal(SortedSet.from([]).size, 0);
});

Deno.test("SortedSet: range walks clamp their bounds", () => {
  const z = SortedSet.from([["a", 1], ["b", 2], ["c", 3]]);
  assert.deepEqual(rangeOf(z, -5, 10).map((e) => e[0]), ["a", "b", "c"]);
  assert.deepEqual(rangeOf(z, 2, 1), []);
  assert.deepEqual(rangeRevOf(z, 10, 1).map((e) => e[0]), ["c", "b"]);
  assert.deepEqual(rangeRevOf(z, 0, 1), []);
  assert.equal(z.deleteRange(5, 9), 0);
  assert.equal(z.deleteRange(-3, 0), 1);
  assert.deepEqual([...z.members()], ["b", "c"]);
  assert.equal(z.deleteRange(0, 99), 2);
  assert.equal(z.size, 0);
  z.add("q", 1);
  assert.deepEqual([...z.entries()], [["q", 1]]);
});

Deno.test("SortedSet: large sets split into chunks and stay ordered", () => {
  const z = new SortedSet();
  const m = new Map<string, number>();
  for (let i = 0; i < 5000; i++) {
    const member = `m${(i * 7919) % 5000}`;
    z.add(member, i % 37);
    m.set(member, i % 37);
  }
  assert.ok(z.chunkCount > 5);
  check(z, m);
  // Deleting most entries merges chunks back.
  for (let i = 0; i < 4900; i++) {
    z.delete(`m${i}`);
    m.delete(`m${i}`);
  }
  check(z, m);
  assert.ok(z.chunkCount <= 2);
});

Deno.test("SortedSet: random operations agree with a model", () => {
  let seed = 42;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return Math.floor((seed / 2147483648) * n);
  };
  for (const universe of [10, 300, 3000]) {
    const z = new SortedSet();
    const m = new Map<string, number>();
    for (let step = 0; step < 6000; step++) {
      const op = rnd(100);
      const member = `k${rnd(universe)}`;
      if (op < 55) {
        const score = rnd(20) - 10 + (rnd(2) === 0 ? 0.5 : 0);
        assert.equal(z.add(member, score), !m.has(member));
        m.set(member, score);
      } else if (op < 80) {
        assert.equal(z.delete(member), m.delete(member));
      } else if (op < 85) {
        const want = model(m);
        const a = rnd(want.length + 2) - 1;
        const b = a + rnd(40);
        const n = z.deleteRange(a, b);
        const lo = Math.max(0, a);
        const hi = Math.min(want.length - 1, b);
        assert.equal(n, Math.max(0, hi - lo + 1));
        for (let i = lo; i <= hi; i++) m.delete(want[i]![0]);
      } else if (op < 95) {
        const want = model(m);
        const s = rnd(22) - 11;
        const ex = rnd(2) === 0;
        const idx = want.findIndex(([, sc]) => (ex ? sc > s : sc >= s));
        assert.equal(z.firstByScore(s, ex), idx === -1 ? want.length : idx);
        if (want.length > 0) {
          const i = rnd(want.length);
          assert.equal(z.rank(want[i]![0]), i);
          const j = Math.min(want.length - 1, i + rnd(600));
          assert.deepEqual(rangeOf(z, i, j), want.slice(i, j + 1));
          assert.deepEqual(rangeRevOf(z, j, i), want.slice(i, j + 1).reverse());
        }
      } else if (step % 50 === 0) {
        check(z, m);
      }
    }
    check(z, m);
    check(SortedSet.from(z.entries()), m);
  }
});

Deno.test("SortedSet: score updates in place and across chunks", () => {
  const z = new SortedSet();
  const m = new Map<string, number>();
  for (let i = 0; i < 2000; i++) {
    z.add(`m${i}`, i);
    m.set(`m${i}`, i);
  }
  // Small moves keep the position, large ones jump across chunks.
  for (let i = 0; i < 2000; i += 3) {
    const s = i % 2 === 0 ? i + 0.25 : 2000 - i;
    z.add(`m${i}`, s);
    m.set(`m${i}`, s);
  }
  check(z, m);
  // A zero of the other sign keeps the entry where it is.
  z.add("zero", 0);
  z.add("zero", -0);
  assert.ok(Object.is(z.score("zero"), -0));
  m.set("zero", -0);
  check(z, m);
});

Deno.test("SortedSet: growing past the small size and shrinking back", () => {
  const z = new SortedSet();
  const m = new Map<string, number>();
  for (let i = 0; i < 40; i++) {
    z.add(`m${i}`, 40 - i);
    m.set(`m${i}`, 40 - i);
    check(z, m);
    assert.equal(z.score(`m${i}`), 40 - i);
    assert.equal(z.has(`m${i + 1}`), false);
  }
  for (let i = 0; i < 40; i += 2) {
    assert.equal(z.delete(`m${i}`), true);
    m.delete(`m${i}`);
  }
  check(z, m);
  assert.equal(z.deleteRange(0, 4), 5);
  assert.equal(z.size, 15);
  assert.equal(z.deleteRange(0, 14), 15);
  assert.equal(z.size, 0);
  assert.equal(z.score("m1"), undefined);
  z.add("again", 1);
  assert.deepEqual([...z.entries()], [["again", 1]]);
  // from() picks the representation by size.
  const big = SortedSet.from(Array.from({ length: 30 }, (_, i) => [`k${i}`, i] as const));
  assert.equal(big.score("k29"), 29);
  assert.equal(big.rank("k17"), 17);
  const small = SortedSet.from([["b", 2], ["a", 2]]);
  assert.equal(small.score("b"), 2);
  assert.equal(small.rank("b"), 1);
});
