/**
 * Differential tests: the same command sequences go to a real redis-server and to Tessera, and
 * every reply must match. Tessera runs twice: as the TCP server with 3 shard workers (so
 * multi-key commands cross shards) and persistence on, and in process through mod.ts.
 */
import assert from "node:assert/strict";
import { Tessera } from "../mod.ts";
import { TesseraServer } from "../server/server.ts";
import { RespClient } from "./resp_client.ts";
import { allSequences } from "./sequences/all.ts";
import { hasCommand, RedisProcess } from "./support/redis_process.ts";
import { runDifferential, type Target } from "./support/compare.ts";
import { randomSteps } from "./support/random_commands.ts";

const haveRedis = hasCommand("redis-server");

function clientTarget(c: RespClient): Target {
  return { call: (args) => c.call(...args) };
}

Deno.test({
  name: "sequences: redis-server vs Tessera server (3 shards) vs Tessera in process",
  ignore: !haveRedis,
  async fn(t) {
    await using redis = await RedisProcess.start();
    // Persistence on: every write also goes through the binlog.
    const dir = await Deno.makeTempDir({ prefix: "tessera-diff-" });
    await using _cleanup = { [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
    await using server = await TesseraServer.start({ port: 0, dir, shards: 3, appendfsync: "no" });
    await using embedded = await Tessera.open({ shards: 2 });
    await using rc = await RespClient.connect({ port: redis.port });
    await using tc = await RespClient.connect({ port: server.port });
    const targets: Array<[string, Target]> = [
      ["server", clientTarget(tc)],
      ["in-process", { call: (args) => embedded.command(...args) }],
    ];
    for (const [family, sequences] of Object.entries(allSequences)) {
      await t.step(family, async () => {
        const problems: string[] = [];
        for (const [label, target] of targets) {
          for (const seq of sequences) {
            for (const p of await runDifferential(seq, clientTarget(rc), target)) {
              problems.push(`[${label}] ${p}`);
            }
          }
        }
        assert.deepEqual(problems, []);
      });
    }
  },
});

Deno.test({
  name: "random command streams: redis-server vs Tessera server",
  ignore: !haveRedis,
  async fn() {
    await using redis = await RedisProcess.start();
    await using server = await TesseraServer.start({ port: 0, inMemory: true, shards: 3 });
    await using rc = await RespClient.connect({ port: redis.port });
    await using tc = await RespClient.connect({ port: server.port });
    const problems: string[] = [];
    for (let seed = 1; seed <= 20; seed++) {
      const seq = { name: `seed ${seed}`, steps: randomSteps(seed, 400) };
      problems.push(
        ...(await runDifferential(seq, clientTarget(rc), clientTarget(tc))).slice(0, 3),
      );
    }
    assert.deepEqual(problems, []);
  },
});
