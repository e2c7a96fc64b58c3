/**
 * PUBLISH on a master reaches subscribers connected to its replicas, as in Redis.
 */
import assert from "node:assert/strict";
import { RespClient } from "./resp_client.ts";
import { follow, TestNode } from "./support/replication_helpers.ts";

Deno.test("a message published on the master reaches a subscriber on the replica", async () => {
  await using master = await TestNode.start("ps-master");
  await using replica = await TestNode.start("ps-replica");
  await follow(replica, master);
  await using sub = await RespClient.connect({ port: replica.port });
  sub.send("SUBSCRIBE", "news");
  assert.deepEqual(await sub.readReply(5000), ["subscribe", "news", 1]);
  // Published on the master: counted there (no local subscriber), delivered on the replica.
  assert.equal(await master.call("PUBLISH", "news", "hello"), 0);
  assert.deepEqual(await sub.readReply(5000), ["message", "news", "hello"]);
  for (let i = 0; i < 50; i++) await master.call("PUBLISH", "news", `m${i}`);
  for (let i = 0; i < 50; i++) {
    assert.deepEqual(await sub.readReply(5000), ["message", "news", `m${i}`]);
  }
});
