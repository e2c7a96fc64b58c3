import assert from "node:assert/strict";
import { ReplicaRegistry } from "./replica_registry.ts";

function link() {
  const closed: string[] = [];
  return { closed, close: (r: string) => void closed.push(r) };
}

Deno.test("registering a known replica refreshes it and replaces the old link", () => {
  let now = 1000;
  const reg = new ReplicaRegistry(() => now);
  const a = link();
  const first = reg.upsert("r1", "10.0.0.1", 7000, a);
  assert.equal(first.known, false);
  now = 2000;
  const b = link();
  const second = reg.upsert("r1", "10.0.0.1", 7001, b);
  assert.equal(second.known, true);
  assert.equal(second.entry, first.entry);
  assert.equal(second.entry.port, 7001);
  assert.equal(second.entry.lastSeen, 2000);
  assert.equal(a.closed.length, 1, "the replaced link is closed");
  assert.equal(b.closed.length, 0);
  assert.equal(reg.size, 1);
  // The old link dying later does not detach the new one.
  reg.detach("r1", a);
  assert.equal(reg.get("r1")!.link, b);
});

Deno.test("silent replicas expire; binlog positions they need are reported", () => {
  let now = 0;
  const reg = new ReplicaRegistry(() => now);
  const a = link();
  reg.upsert("r1", "h", 1, a).entry.acked = [{ file: 3, offset: 100 }, { file: 1, offset: 50 }];
  reg.upsert("r2", "h", 2, undefined).entry.pinned = [{ file: 2, offset: 10 }, {
    file: 4,
    offset: 0,
  }];
  assert.deepEqual(reg.oldestNeeded(0), { file: 2, offset: 10 });
  assert.deepEqual(reg.oldestNeeded(1), { file: 1, offset: 50 });
  now = 10_000;
  reg.touch("r2");
  const gone = reg.expire(5000);
  assert.deepEqual(gone.map((e) => e.id), ["r1"]);
  assert.equal(a.closed.length, 1);
  assert.deepEqual(reg.oldestNeeded(1), { file: 4, offset: 0 });
});
