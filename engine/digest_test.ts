import assert from "node:assert/strict";
import { TestEngine } from "./testing.ts";
import { combineDigests, datasetDigest } from "./digest.ts";

Deno.test("digest ignores insertion order but sees every value, type and expiry", () => {
  const a = new TestEngine();
  const b = new TestEngine();
  a.call("HSET", "h", "f1", "1", "f2", "2");
  b.call("HSET", "h", "f2", "2", "f1", "1");
  a.call("SADD", "s", "x", "y");
  b.call("SADD", "s", "y", "x");
  a.call("SET", "k", "v");
  b.call("SET", "k", "v");
  assert.equal(datasetDigest(a.ks.db(0)), datasetDigest(b.ks.db(0)));
  b.call("PEXPIREAT", "k", String(b.time + 100000));
  assert.notEqual(datasetDigest(a.ks.db(0)), datasetDigest(b.ks.db(0)));
  a.call("PEXPIREAT", "k", String(a.time + 100000));
  assert.equal(datasetDigest(a.ks.db(0)), datasetDigest(b.ks.db(0)));
  a.call("RPUSH", "l", "1", "2");
  b.call("RPUSH", "l", "2", "1");
  assert.notEqual(datasetDigest(a.ks.db(0)), datasetDigest(b.ks.db(0)), "list order matters");
  assert.equal(datasetDigest(new TestEngine().ks.db(0)), "0".repeat(24));
});

Deno.test("combined digests do not depend on how keys are split over shards", () => {
  const whole = new TestEngine();
  const left = new TestEngine();
  const right = new TestEngine();
  for (let i = 0; i < 20; i++) {
    whole.call("SET", `k${i}`, String(i));
    (i % 3 === 0 ? left : right).call("SET", `k${i}`, String(i));
  }
  assert.equal(
    combineDigests([datasetDigest(left.ks.db(0)), datasetDigest(right.ks.db(0))]),
    datasetDigest(whole.ks.db(0)),
  );
});
