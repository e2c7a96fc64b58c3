import assert from "node:assert/strict";
import { crc16, keySlotOfString, SLOT_COUNT, slotShard } from "./slot.ts";

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("crc16 matches the XMODEM check value", () => {
  assert.equal(crc16(enc("123456789")), 0x31c3);
});

Deno.test("key slots agree with Redis Cluster (CLUSTER KEYSLOT)", () => {
  // Values from redis-cli CLUSTER KEYSLOT on Redis 7.
  assert.equal(keySlotOfString("foo"), 12182);
  assert.equal(keySlotOfString("bar"), 5061);
  assert.equal(keySlotOfString("{user1}.a"), keySlotOfString("{user1}.b"));
  assert.equal(keySlotOfString("{user1}.a"), keySlotOfString("user1"));
  // An empty tag does not count: the whole key is hashed.
  assert.equal(keySlotOfString("{}a"), crc16(enc("{}a")) % SLOT_COUNT);
});

Deno.test("slots are split into contiguous ranges covering every shard", () => {
  for (const n of [1, 2, 3, 7]) {
    let prev = 0;
    const seen = new Set<number>();
    for (let s = 0; s < SLOT_COUNT; s++) {
      const sh = slotShard(s, n);
      assert.ok(sh >= prev && sh < n);
      prev = sh;
      seen.add(sh);
    }
    assert.equal(seen.size, n);
  }
});
