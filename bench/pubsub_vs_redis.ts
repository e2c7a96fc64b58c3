/**
 * Pub/sub fan-out, Tessera vs Redis in one run: S subscribers on one channel, one publisher
 * sending M messages (pipelined); measures the time until every subscriber has every message.
 *
 *   deno run --allow-all bench/pubsub_vs_redis.ts [--subscribers 50] [--messages 20000] [--rounds 3]
 */
import { RedisProcess, TesseraProcess } from "../tests/support/redis_process.ts";
import { RespClient } from "../tests/resp_client.ts";

function flag(name: string, dflt: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  const v = i === -1 ? undefined : Number(Deno.args[i + 1]);
  return v !== undefined && Number.isInteger(v) && v > 0 ? v : dflt;
}

const SUBS = flag("subscribers", 50);
const MSGS = flag("messages", 20000);
const ROUNDS = flag("rounds", 3);

/** Runs one fan-out and returns delivered messages per second (all subscribers together). */
async function fanOut(port: number): Promise<number> {
  const subs: RespClient[] = [];
  const done: Promise<void>[] = [];
  for (let i = 0; i < SUBS; i++) {
    const c = await RespClient.connect({ port });
    subs.push(c);
    c.send("SUBSCRIBE", "bench");
    await c.readReply(5000); // the subscribe confirmation (RESP2: an ordinary reply)
    done.push((async () => {
      for (let n = 0; n < MSGS; n++) await c.readReply(30_000);
    })());
  }
  await using pub = await RespClient.connect({ port });
  const t0 = performance.now();
  const batch = 1000;
  for (let n = 0; n < MSGS; n += batch) {
    await pub.pipeline(
      Array.from(
        { length: Math.min(batch, MSGS - n) },
        (_, j) => ["PUBLISH", "bench", `m${n + j}`],
      ),
    );
  }
  await Promise.all(done);
  const secs = (performance.now() - t0) / 1000;
  for (const c of subs) await c.close();
  return (SUBS * MSGS) / secs;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

await using redis = await RedisProcess.start();
await using tessera = await TesseraProcess.start(["--appendonly", "no"]);
const t: number[] = [];
const r: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  // Alternate who goes first.
  if (round % 2 === 0) {
    t.push(await fanOut(tessera.port));
    r.push(await fanOut(redis.port));
  } else {
    r.push(await fanOut(redis.port));
    t.push(await fanOut(tessera.port));
  }
}
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
console.log(
  `# pub/sub fan-out: ${SUBS} subscribers, ${MSGS} messages, median of ${ROUNDS} rounds (deliveries/s)`,
);
console.log("| server | deliveries/s | rounds |");
console.log("| --- | ---: | --- |");
console.log(`| Tessera | ${fmt(median(t))} | ${t.map(fmt).join(", ")} |`);
console.log(`| Redis | ${fmt(median(r))} | ${r.map(fmt).join(", ")} |`);
console.log(`ratio Tessera/Redis: ${(median(t) / median(r)).toFixed(2)}x`);
