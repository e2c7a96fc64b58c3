import assert from "node:assert/strict";
import { Deque } from "./deque.ts";

Deno.test("deque: push and pop at both ends", () => {
  const d = new Deque<number>();
  assert.equal(d.length, 0);
  assert.equal(d.popFront(), undefined);
  assert.equal(d.popBack(), undefined);
  d.pushBack(2);
  d.pushFront(1);
  d.pushBack(3);
  assert.deepEqual(d.toArray(), [1, 2, 3]);
  assert.equal(d.popFront(), 1);
  assert.equal(d.popBack(), 3);
  assert.equal(d.popBack(), 2);
  assert.equal(d.length, 0);
});

Deno.test("deque: grows past its capacity and wraps around", () => {
  const d = new Deque<number>(2);
  for (let i = 0; i < 20; i++) d.pushBack(i);
  for (let i = 1; i < 20; i++) d.pushFront(-i);
  const expected = [];
  for (let i = -19; i < 20; i++) expected.push(i);
  assert.deepEqual(d.toArray(), expected);
  assert.deepEqual([...d], expected);
  assert.equal(d.at(0), -19);
  assert.equal(d.at(38), 19);
  assert.equal(d.at(39), undefined);
  assert.equal(d.at(-1), undefined);
  d.set(0, 100);
  assert.equal(d.at(0), 100);
  assert.deepEqual(d.slice(1, 3), [-18, -17, -16]);
});

Deno.test("deque: from, replaceWith, clear", () => {
  const d = Deque.from(["a", "b", "c"]);
  assert.deepEqual(d.toArray(), ["a", "b", "c"]);
  d.replaceWith(["x", "y"]);
  assert.deepEqual(d.toArray(), ["x", "y"]);
  d.pushFront("w");
  assert.deepEqual(d.toArray(), ["w", "x", "y"]);
  d.clear();
  assert.equal(d.length, 0);
  assert.deepEqual(d.toArray(), []);
  d.pushBack("z");
  assert.deepEqual(d.toArray(), ["z"]);
});

Deno.test("deque: insert at every position of a wrapped buffer", () => {
  for (let pos = 0; pos <= 6; pos++) {
    const d = new Deque<number>();
    // Make the content wrap: head near the end of the buffer.
    for (let i = 0; i < 5; i++) d.pushBack(i);
    for (let i = 0; i < 4; i++) d.popFront();
    for (let i = 5; i < 11; i++) d.pushBack(i);
    d.pushFront(3);
    // Content is now [3, 4, 5, ..., 10] (8 items, full buffer).
    const model = [3, 4, 5, 6, 7, 8, 9, 10];
    d.insert(pos, -1);
    model.splice(pos, 0, -1);
    assert.deepEqual(d.toArray(), model, `insert at ${pos}`);
  }
  const d = new Deque<number>();
  assert.throws(() => d.insert(1, 0), RangeError);
  d.insert(0, 7);
  assert.deepEqual(d.toArray(), [7]);
});

Deno.test("deque: removeAt from both halves", () => {
  for (let pos = 0; pos < 9; pos++) {
    const d = new Deque<number>();
    const model: number[] = [];
    for (let i = 0; i < 9; i++) {
      d.pushFront(i);
      model.unshift(i);
    }
    assert.equal(d.removeAt(pos), model.splice(pos, 1)[0]);
    assert.deepEqual(d.toArray(), model);
  }
  const d = Deque.from([1]);
  assert.equal(d.removeAt(1), undefined);
  assert.equal(d.removeAt(-1), undefined);
  assert.equal(d.removeAt(0), 1);
  assert.equal(d.length, 0);
});

Deno.test("deque: removeWhere with limits from the front and the back", () => {
  const src = ["a", "b", "a", "c", "a", "b", "a"];
  const isA = (v: string) => v === "a";
  let d = Deque.from(src);
  assert.equal(d.removeWhere(isA), 4);
  assert.deepEqual(d.toArray(), ["b", "c", "b"]);
  d = Deque.from(src);
  assert.equal(d.removeWhere(isA, 2), 2);
  assert.deepEqual(d.toArray(), ["b", "c", "a", "b", "a"]);
  d = Deque.from(src);
  assert.equal(d.removeWhere(isA, 2, true), 2);
  assert.deepEqual(d.toArray(), ["a", "b", "a", "c", "b"]);
  d = Deque.from(src);
  assert.equal(d.removeWhere(isA, 0, true), 4);
  assert.deepEqual(d.toArray(), ["b", "c", "b"]);
  assert.equal(d.removeWhere((v) => v === "z"), 0);
  assert.deepEqual(d.toArray(), ["b", "c", "b"]);
  d.pushFront("q");
  assert.deepEqual(d.toArray(), ["q", "b", "c", "b"]);
});

Deno.test("deque: dropFront and dropBack", () => {
  const d = Deque.from([1, 2, 3, 4, 5, 6]);
  d.dropFront(2);
  assert.deepEqual(d.toArray(), [3, 4, 5, 6]);
  d.dropBack(1);
  assert.deepEqual(d.toArray(), [3, 4, 5]);
  d.dropFront(0);
  d.dropBack(-3);
  assert.deepEqual(d.toArray(), [3, 4, 5]);
  d.dropBack(10);
  assert.equal(d.length, 0);
  d.pushBack(9);
  d.dropFront(5);
  assert.equal(d.length, 0);
});

Deno.test("deque: random operations match an array model (growth and shrinking)", () => {
  let seed = 42;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return Math.floor((seed / 2147483648) * n);
  };
  const d = new Deque<number>();
  const model: number[] = [];
  for (let step = 0; step < 20000; step++) {
    // Phases bias towards growth, then towards shrinking.
    const growing = Math.floor(step / 2500) % 2 === 0;
    const op = rnd(growing ? 10 : 14);
    if (op < 3) {
      d.pushBack(step);
      model.push(step);
    } else if (op < 6) {
      d.pushFront(step);
      model.unshift(step);
    } else if (op === 6) {
      const i = rnd(model.length + 1);
      d.insert(i, step);
      model.splice(i, 0, step);
    } else if (op === 7) {
      const i = rnd(model.length + 1);
      assert.equal(d.removeAt(i), model.splice(i, 1)[0]);
    } else if (op === 8 || op === 10 || op === 12) {
      assert.equal(d.popFront(), model.shift());
    } else {
      assert.equal(d.popBack(), model.pop());
    }
    if (step % 997 === 0) {
      const k = rnd(5);
      d.dropFront(k);
      model.splice(0, k);
      const mod = rnd(3) + 2;
      const removed = d.removeWhere((v) => v % mod === 0, rnd(4), rnd(2) === 1);
      assert.ok(removed >= 0);
      // Rebuild the model from the deque only after checking the kept order is a subsequence.
      const kept = d.toArray();
      let j = 0;
      for (const v of model) if (j < kept.length && kept[j] === v) j++;
      assert.equal(j, kept.length);
      assert.equal(model.length - kept.length, removed);
      model.length = 0;
      model.push(...kept);
    }
    assert.equal(d.length, model.length);
  }
  assert.deepEqual(d.toArray(), model);
});
