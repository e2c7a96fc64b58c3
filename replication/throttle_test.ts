import assert from "node:assert/strict";
import { Throttle } from "./throttle.ts";

/** A fake clock whose sleep just moves time forward (no real waiting). */
class FakeTime {
  now = 0;
  sleeps: number[] = [];
  onSleep: ((now: number) => void) | undefined;
  clock = () => this.now;
  sleep = async (ms: number, signal?: AbortSignal) => {
    signal?.throwIfAborted();
    this.sleeps.push(ms);
    this.now += ms;
    this.onSleep?.(this.now);
    await Promise.resolve();
  };
}

Deno.test("throttle: steady rate within bounds, one burst allowed", async () => {
  const t = new FakeTime();
  const th = new Throttle({ bytesPerSecond: 10_000, clock: t.clock, sleep: t.sleep });
  for (let i = 0; i < 100; i++) await th.acquire(1000);
  // 100 000 bytes, a full bucket (10 000) free at start, the rest at 10 000 B/s: 9 s.
  assert.ok(t.now >= 9000 && t.now <= 9100, `elapsed ${t.now}`);
  assert.equal(th.granted, 100_000);
  assert.equal(th.waitedMs, t.now);
  const rate = ((th.granted - 10_000) * 1000) / t.now;
  assert.ok(rate <= 10_000 && rate >= 9_900, `rate ${rate}`);
});

Deno.test("throttle: requests larger than the bucket keep the long-run rate", async () => {
  const t = new FakeTime();
  const th = new Throttle({ bytesPerSecond: 1000, clock: t.clock, sleep: t.sleep });
  await th.acquire(5000); // full bucket of 1000: goes at once, leaves a debt of 4000
  assert.equal(t.now, 0);
  for (let i = 0; i < 3; i++) await th.acquire(5000);
  // Each further request waits until the debt is repaid and the bucket full again: 5 s each.
  assert.ok(t.now >= 15_000 && t.now <= 15_100, `elapsed ${t.now}`);
});

Deno.test("throttle: unlimited rate never sleeps", async () => {
  const t = new FakeTime();
  for (const rate of [0, -5, Infinity, NaN]) {
    const th = new Throttle({ bytesPerSecond: rate, clock: t.clock, sleep: t.sleep });
    for (let i = 0; i < 50; i++) await th.acquire(1 << 20);
    assert.equal(th.bytesPerSecond, 0);
  }
  assert.deepEqual(t.sleeps, []);
});

Deno.test("throttle: a rate change applies to later requests (getter read at run time)", async () => {
  const t = new FakeTime();
  let rate = 1000;
  const th = new Throttle({
    bytesPerSecond: () => rate,
    burstMs: 100,
    clock: t.clock,
    sleep: t.sleep,
  });
  for (let i = 0; i < 50; i++) await th.acquire(100);
  const t1 = t.now;
  assert.ok(t1 >= 4800 && t1 <= 5000, `phase 1 ${t1}`);
  rate = 4000;
  assert.equal(th.bytesPerSecond, 4000);
  for (let i = 0; i < 200; i++) await th.acquire(100);
  const phase2 = (20_000 * 1000) / (t.now - t1);
  assert.ok(phase2 >= 3800 && phase2 <= 4200, `phase 2 rate ${phase2}`);
});

Deno.test("throttle: a rate change applies to a request already waiting", async () => {
  const t = new FakeTime();
  let rate = 1; // 1 byte/s: 1 MiB would take 12 days
  const th = new Throttle({
    bytesPerSecond: () => rate,
    burstMs: 1,
    clock: t.clock,
    sleep: t.sleep,
  });
  await th.acquire(1);
  t.onSleep = () => {
    rate = 1 << 20;
  };
  await th.acquire(1 << 20);
  // The first step sleeps at most maxStepMs (250), sees the new rate, then needs about 1 s.
  assert.ok(t.now <= 1500, `elapsed ${t.now}`);
  assert.ok(t.sleeps[0]! <= 250);
});

Deno.test("throttle: concurrent callers share one rate, served in order", async () => {
  const t = new FakeTime();
  const th = new Throttle({ bytesPerSecond: 1000, burstMs: 100, clock: t.clock, sleep: t.sleep });
  const order: number[] = [];
  await Promise.all([0, 1, 2, 3].map(async (w) => {
    for (let i = 0; i < 25; i++) {
      await th.acquire(100);
      order.push(w);
    }
  }));
  // 10 000 bytes at 1000 B/s minus the 100-byte initial bucket.
  assert.ok(t.now >= 9800 && t.now <= 10_000, `elapsed ${t.now}`);
  assert.equal(th.granted, 10_000);
  assert.deepEqual(order.slice(0, 8), [0, 1, 2, 3, 0, 1, 2, 3]);
});

Deno.test("throttle: abort while waiting rejects and lets the next caller through", async () => {
  let now = 0;
  const pending: Array<() => void> = [];
  const sleep = (ms: number, signal?: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
      pending.push(() => {
        now += ms;
        resolve();
      });
    });
  const th = new Throttle({ bytesPerSecond: 100, burstMs: 10, clock: () => now, sleep });
  await th.acquire(1); // empties the 1-byte bucket
  const ac = new AbortController();
  const a = th.acquire(50, ac.signal);
  let bDone = false;
  const b = th.acquire(1).then(() => {
    bDone = true;
  }); // queued behind a
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(pending.length, 1);
  ac.abort(new Error("stop now"));
  await assert.rejects(a, /stop now/);
  // b proceeds: it sleeps (driven by hand) and then gets its byte.
  for (let i = 0; i < 100 && !bDone; i++) {
    pending.shift()?.();
    await new Promise((r) => setTimeout(r, 0));
  }
  assert.ok(bDone);
  await b;
  assert.equal(th.granted, 2);
  await assert.rejects(th.acquire(10, ac.signal), /stop now/);
});
