/**
 * Pub/sub differential tests: the same multi-client scenarios run against a real redis-server
 * and against Tessera, in RESP2 and in RESP3 (every client starts with HELLO 3), and every
 * message each client receives (replies and pushes, byte for byte, in arrival order) must be
 * the same.
 *
 * After each step the clients are synchronised with a `PING <token>` barrier (the step's own
 * client first, then the others), so a step's transcript for a client is everything that
 * arrived since the previous barrier, ending with the PING's answer (whose shape also shows
 * whether the client was in RESP2 subscribed mode). Steps whose order Redis leaves to its hash
 * tables (several patterns matching one channel, UNSUBSCRIBE without arguments, PUBSUB
 * CHANNELS) compare the messages as a multiset.
 *
 * Skipped when redis-server is not installed.
 */
import assert from "node:assert/strict";
import { TesseraServer } from "../server/server.ts";
import { hasCommand, RedisProcess } from "./support/redis_process.ts";
import { frameEnd, RawConn } from "./support/raw_conn.ts";

const HAS_REDIS = hasCommand("redis-server");

// ---------------------------------------------------------------------------------------------
// Scenarios

interface Step {
  /** Which client sends. */
  c: number;
  /** Commands sent in one write (usually one). */
  cmds: string[][];
  /**
   * Orders Redis leaves to its hash tables: "messages" compares each client's messages of the
   * step as a multiset (the counts that confirmations end with stay in sequence: they fall by
   * one per channel whatever the order); "elements" compares each reply's elements as a
   * multiset (PUBSUB CHANNELS).
   */
  unordered?: "messages" | "elements";
}

interface Scenario {
  name: string;
  clients: number;
  steps: Step[];
  /** Only in this protocol (both when absent). */
  proto?: 2 | 3;
}

const s = (c: number, ...cmd: string[]): Step => ({ c, cmds: [cmd] });
const u = (c: number, ...cmd: string[]): Step => ({ c, cmds: [cmd], unordered: "messages" });
const e = (c: number, ...cmd: string[]): Step => ({ c, cmds: [cmd], unordered: "elements" });
const many = (c: number, cmds: string[][]): Step => ({ c, cmds });

const SCENARIOS: Scenario[] = [
  {
    name: "subscribe, publish, unsubscribe",
    clients: 2,
    steps: [
      s(0, "SUBSCRIBE", "a", "b", "a"),
      s(1, "PUBLISH", "a", "hello"),
      s(1, "PUBLISH", "b", "x"),
      s(1, "PUBLISH", "zz", "nobody"),
      s(1, "PUBSUB", "NUMSUB", "a", "b", "zz", "a"),
      s(1, "PUBSUB", "CHANNELS", "a"),
      e(1, "PUBSUB", "CHANNELS"),
      s(1, "PUBSUB", "NUMPAT"),
      s(0, "UNSUBSCRIBE", "a"),
      s(1, "PUBLISH", "a", "gone"),
      s(1, "PUBLISH", "b", "still"),
      s(0, "UNSUBSCRIBE", "never", "b"),
      s(1, "PUBLISH", "b", "gone too"),
      s(0, "UNSUBSCRIBE"),
      s(0, "UNSUBSCRIBE", "never"),
      s(0, "PUNSUBSCRIBE"),
      s(0, "PUNSUBSCRIBE", "p*"),
      s(0, "GET", "k"),
      s(1, "PUBSUB", "NUMSUB", "a", "b"),
    ],
  },
  {
    name: "subscribed mode: refused commands, PING, HELLO",
    clients: 2,
    steps: [
      s(0, "SUBSCRIBE", "a"),
      s(0, "GET", "k"),
      s(0, "Get", "k"),
      s(0, "SET", "k", "v"),
      s(0, "PUBLISH", "a", "to myself"),
      s(0, "DBSIZE"),
      s(0, "SELECT", "1"),
      s(0, "ECHO", "x"),
      s(0, "PING"),
      s(0, "PING", "hi"),
      s(0, "PING", "a", "b"),
      s(0, "ping", ""),
      s(0, "SUBSCRIBE"),
      s(0, "PSUBSCRIBE"),
      s(0, "PSUBSCRIBE", "a*"),
      s(1, "PUBLISH", "a", "both"),
      s(0, "HELLO", "2"),
      s(0, "GET", "k"),
      s(0, "UNSUBSCRIBE", "a"),
      s(0, "GET", "k"),
      s(0, "PUNSUBSCRIBE", "a*"),
      s(0, "GET", "k"),
      s(0, "PING"),
      s(0, "DBSIZE"),
    ],
  },
  {
    name: "HELLO switches in and out of the restriction",
    clients: 1,
    proto: 2,
    steps: [
      s(0, "HELLO", "3"),
      s(0, "SUBSCRIBE", "a"),
      s(0, "GET", "k"),
      s(0, "PING"),
      s(0, "HELLO", "2"),
      s(0, "GET", "k"),
      s(0, "HELLO", "3"),
      s(0, "PING", "x"),
      s(0, "UNSUBSCRIBE"),
      s(0, "HELLO", "3"),
    ],
  },
  {
    name: "patterns with glob",
    clients: 4,
    steps: [
      s(0, "PSUBSCRIBE", "h?llo", "h?llo"),
      s(1, "PSUBSCRIBE", "h[ae]llo", "h\\*llo", "*", "[^a]bc", "x\\", "[a-"),
      s(2, "SUBSCRIBE", "hello"),
      u(3, "PUBLISH", "hello", "1"),
      u(3, "PUBLISH", "hallo", "2"),
      u(3, "PUBLISH", "h*llo", "3"),
      s(3, "PUBLISH", "hllo", "4"),
      s(3, "PUBLISH", "", "5"),
      u(3, "PUBLISH", "abc", "6"),
      u(3, "PUBLISH", "bbc", "7"),
      u(3, "PUBLISH", "x\\", "8"),
      u(3, "PUBLISH", "[a-", "9"),
      u(3, "PUBLISH", "a", "10"),
      s(3, "PUBSUB", "NUMPAT"),
      s(3, "PUBSUB", "CHANNELS", "h*"),
      s(3, "PUBSUB", "CHANNELS", "x*"),
      s(3, "PUBSUB", "NUMSUB", "hello", "h?llo"),
      s(1, "PUNSUBSCRIBE", "h[ae]llo", "notsubscribed", "*"),
      u(3, "PUBLISH", "hallo", "11"),
      u(1, "PUNSUBSCRIBE"),
      s(3, "PUBLISH", "hallo", "12"),
      s(3, "PUBSUB", "NUMPAT"),
    ],
  },
  {
    name: "a channel and a pattern on one client; the publisher subscribed too",
    clients: 2,
    steps: [
      s(0, "SUBSCRIBE", "news"),
      s(0, "PSUBSCRIBE", "n*"),
      s(1, "PUBLISH", "news", "x"),
      s(1, "PUBLISH", "nope", "y"),
      s(1, "SUBSCRIBE", "news"),
      s(0, "PUBLISH", "news", "self"),
      s(0, "UNSUBSCRIBE", "news"),
      s(0, "PUBLISH", "news", "self 2"),
    ],
  },
  {
    name: "MULTI/EXEC in RESP3",
    clients: 2,
    proto: 3,
    steps: [
      s(0, "MULTI"),
      s(0, "PSUBSCRIBE", "p*"),
      s(0, "SUBSCRIBE", "pa", "pb"),
      s(1, "PUBLISH", "pa", "before exec"),
      s(0, "EXEC"),
      u(1, "PUBLISH", "pa", "after exec"),
      s(0, "MULTI"),
      s(0, "PUBLISH", "pb", "self"),
      s(0, "GET", "k"),
      s(0, "EXEC"),
    ],
  },
  {
    name: "UNSUBSCRIBE and PUNSUBSCRIBE without arguments",
    clients: 2,
    steps: [
      s(0, "SUBSCRIBE", "a", "b", "c"),
      s(0, "PSUBSCRIBE", "x*", "y*"),
      u(0, "UNSUBSCRIBE"),
      s(1, "PUBLISH", "a", "none"),
      s(1, "PUBLISH", "xa", "pattern"),
      s(0, "PING"),
      u(0, "PUNSUBSCRIBE"),
      s(0, "PING"),
      s(0, "UNSUBSCRIBE"),
      s(0, "PUNSUBSCRIBE"),
      s(1, "PUBSUB", "NUMPAT"),
    ],
  },
  {
    name: "RESET leaves subscribed mode",
    clients: 2,
    steps: [
      s(0, "SUBSCRIBE", "a"),
      s(0, "PSUBSCRIBE", "p*"),
      s(0, "RESET"),
      s(1, "PUBLISH", "a", "x"),
      s(1, "PUBLISH", "pq", "x"),
      s(1, "PUBSUB", "NUMPAT"),
      s(1, "PUBSUB", "NUMSUB", "a"),
      s(0, "PING"),
      s(0, "GET", "k"),
      s(0, "SUBSCRIBE", "b"),
      s(1, "PUBLISH", "b", "again"),
      s(0, "UNSUBSCRIBE"),
    ],
  },
  {
    name: "QUIT while subscribed",
    clients: 2,
    steps: [
      s(0, "SUBSCRIBE", "a"),
      s(0, "QUIT"),
      s(1, "PUBLISH", "a", "x"),
      s(1, "PUBSUB", "NUMSUB", "a"),
    ],
  },
  {
    name: "many messages keep their order",
    clients: 3,
    steps: [
      s(0, "SUBSCRIBE", "ch"),
      s(2, "PSUBSCRIBE", "c*"),
      many(1, Array.from({ length: 500 }, (_, i) => ["PUBLISH", "ch", `msg-${i}`])),
      many(1, Array.from({ length: 200 }, (_, i) => ["PUBLISH", i % 2 ? "ch" : "cx", `m${i}`])),
    ],
  },
  {
    name: "binary-safe channels and messages",
    clients: 2,
    steps: [
      s(0, "SUBSCRIBE", "caf\xe9", "\x00\xff", ""),
      s(0, "PSUBSCRIBE", "caf?", "\xff*"),
      u(1, "PUBLISH", "caf\xe9", "line\r\nbreak"),
      s(1, "PUBLISH", "\x00\xff", "\x00"),
      s(1, "PUBLISH", "", ""),
      e(1, "PUBSUB", "CHANNELS"),
      s(1, "PUBSUB", "NUMSUB", "", "caf\xe9"),
    ],
  },
  {
    name: "PUBSUB and PUBLISH replies and errors",
    clients: 1,
    steps: [
      s(0, "PUBSUB"),
      s(0, "PUBSUB", "foo"),
      s(0, "PubSub", "FOO"),
      s(0, "PUBSUB", "CHANNELS", "a", "b"),
      s(0, "PUBSUB", "Channels", "a", "b"),
      s(0, "PUBSUB", "CHANNELS"),
      s(0, "PUBSUB", "NUMSUB"),
      s(0, "PUBSUB", "NUMPAT"),
      s(0, "PUBSUB", "NUMPAT", "x"),
      s(0, "PUBSUB", "SHARDCHANNELS"),
      s(0, "PUBSUB", "SHARDCHANNELS", "x"),
      s(0, "PUBSUB", "SHARDCHANNELS", "x", "y"),
      s(0, "PUBSUB", "SHARDNUMSUB"),
      s(0, "PUBSUB", "SHARDNUMSUB", "a", "b"),
      s(0, "PUBSUB", "HELP"),
      s(0, "pubsub", "help", "x"),
      s(0, "PUBLISH"),
      s(0, "PUBLISH", "a"),
      s(0, "PUBLISH", "a", "b", "c"),
      s(0, "PUBLISH", "a", "b"),
      s(0, "UNSUBSCRIBE", "x", "y"),
      s(0, "PUNSUBSCRIBE", "x*"),
      s(0, "PING"),
    ],
  },
];

/**
 * Cases where Redis checks the arity before the subscribed-mode restriction, names a
 * container's subcommand (`config|get`), and does not restrict commands run by EXEC: they need
 * the router to check the restriction after the arity, to pass the request's second argument
 * to `client.restricted(name, sub)`, and to skip the restriction inside EXEC.
 */
const ROUTER_ORDER: Scenario = {
  name: "subscribed mode: arity errors first, subcommands named, EXEC unrestricted",
  clients: 2,
  proto: 2,
  steps: [
    s(0, "MULTI"),
    s(0, "SUBSCRIBE", "a"),
    s(0, "PUBLISH", "a", "in exec"),
    s(0, "EXEC"),
    s(1, "PUBLISH", "a", "x"),
    s(0, "GET"),
    s(0, "CLIENT", "ID"),
    s(0, "CONFIG", "GET", "x"),
    s(0, "PUBSUB", "NUMSUB", "a"),
    s(0, "OBJECT", "ENCODING", "k"),
  ],
};

// ---------------------------------------------------------------------------------------------
// Runner

/** The messages each client received in each step: transcript[step][client]. */
async function run(port: number, sc: Scenario, proto: 2 | 3): Promise<string[][][]> {
  const admin = await RawConn.open(port);
  await admin.send([["FLUSHALL"]]);
  await admin.until(0, () => true, "FLUSHALL");
  await admin.close();
  const conns: RawConn[] = [];
  for (let i = 0; i < sc.clients; i++) conns.push(await RawConn.open(port));
  const seen = conns.map(() => 0);
  const transcript: string[][][] = [];
  const inMulti = new Set<number>();
  const steps = proto === 3 ? [...conns.map((_, i) => s(i, "HELLO", "3")), ...sc.steps] : sc.steps;
  try {
    for (const [n, step] of steps.entries()) {
      const token = `\x01sync-${n}\x02`;
      const mine = conns[step.c]!;
      // A client in MULTI would only queue the PING: it answers each command instead.
      const last = step.cmds.at(-1)![0]!.toUpperCase();
      if (last === "MULTI") inMulti.add(step.c);
      else if (["EXEC", "DISCARD", "RESET", "QUIT"].includes(last)) inMulti.delete(step.c);
      const queued = inMulti.has(step.c);
      await mine.send(queued ? step.cmds : [...step.cmds, ["PING", token]]);
      const order = [step.c];
      for (let i = 0; i < conns.length; i++) if (i !== step.c) order.push(i);
      const got: string[][] = conns.map(() => []);
      for (const i of order) {
        const conn = conns[i]!;
        if (conn.closed) {
          // Whatever arrived before the close still counts.
          got[i] = conn.frames.slice(seen[i]);
          seen[i] = conn.frames.length;
          continue;
        }
        if (i !== step.c && inMulti.has(i)) {
          got[i] = [];
          continue; // what it receives shows up after its EXEC
        }
        if (i !== step.c) await conn.send([["PING", token]]);
        const at = queued && i === step.c
          ? await conn.until(seen[i]! + step.cmds.length - 1, () => true, `answers on ${i}`)
          : await conn.until(seen[i]!, (f) => f.includes(token), `${token} on ${i}`);
        const end = at === -1 ? conn.frames.length : at + 1;
        let frames = conn.frames.slice(seen[i], end).map(normalize);
        if (step.unordered === "messages" && at !== -1) frames = asMultiset(frames);
        else if (step.unordered === "elements") frames = frames.map(sortElements);
        got[i] = frames;
        seen[i] = end;
      }
      transcript.push(got);
    }
  } finally {
    for (const c of conns) {
      if (!c.closed) {
        const from = c.frames.length;
        await c.send([["RESET"]]);
        await c.until(from, (f) => f === "+RESET\r\n", "RESET");
      }
      await c.close();
    }
  }
  return transcript;
}

/** The top-level elements of an aggregate frame (none for other frames). */
function elements(frame: string): { head: string; items: string[] } {
  const eol = frame.indexOf("\r\n");
  const head = frame.slice(0, eol + 2);
  const items: string[] = [];
  if (!"*>~".includes(frame[0]!)) return { head: frame, items };
  for (let p = eol + 2; p < frame.length;) {
    const end = frameEnd(frame, p);
    items.push(frame.slice(p, end));
    p = end;
  }
  return { head, items };
}

function sortElements(frame: string): string {
  const { head, items } = elements(frame);
  return head + items.sort().join("");
}

/**
 * Messages as a multiset, except the counts that (un)subscribe confirmations end with, which
 * are kept in order; the sync answer stays last.
 */
function asMultiset(frames: string[]): string[] {
  const counts: string[] = [];
  const bodies = frames.slice(0, -1).map((f) => {
    const { head, items } = elements(f);
    const last = items.at(-1);
    if (last?.startsWith(":") && items[0]?.includes("subscribe")) {
      counts.push(last);
      return head + items.slice(0, -1).join("");
    }
    return f;
  });
  return [...bodies.sort(), `counts ${counts.join("")}`, ...frames.slice(-1)];
}

/** Hides what legitimately differs between servers (HELLO's client id). */
function normalize(frame: string): string {
  return frame.replace(/(\$2\r\nid\r\n:)\d+/, "$1<id>");
}

function describe(step: Step): string {
  const cmd = step.cmds.length === 1
    ? step.cmds[0]!.join(" ")
    : `${step.cmds.length} pipelined commands`;
  return `client ${step.c}: ${JSON.stringify(cmd)}`;
}

async function differential(sc: Scenario, redisPort: number, tesseraPort: number) {
  for (const proto of [2, 3] as const) {
    if (sc.proto !== undefined && sc.proto !== proto) continue;
    const expected = await run(redisPort, sc, proto);
    const actual = await run(tesseraPort, sc, proto);
    const steps = proto === 3
      ? [...Array.from({ length: sc.clients }, (_, i) => s(i, "HELLO", "3")), ...sc.steps]
      : sc.steps;
    for (let i = 0; i < expected.length; i++) {
      for (let c = 0; c < sc.clients; c++) {
        assert.deepEqual(
          actual[i]![c],
          expected[i]![c],
          `${sc.name} (RESP${proto}), step ${i} (${describe(steps[i]!)}), client ${c}`,
        );
      }
    }
  }
}

/** Every message a client received in a scenario, for sanity checks of the transcripts. */
function received(t: string[][][], client: number): string[] {
  return t.flatMap((step) => step[client] ?? []);
}

Deno.test({
  name: "pub/sub differential: Tessera receives what Redis sends",
  ignore: !HAS_REDIS,
  async fn(t) {
    await using redis = await RedisProcess.start();
    await using tessera = await TesseraServer.start({ port: 0, inMemory: true, shards: 2 });
    for (const sc of SCENARIOS) {
      await t.step(sc.name, () => differential(sc, redis.port, tessera.port));
    }
  },
});

Deno.test({
  name: "pub/sub differential: the transcripts hold what the scenarios expect",
  ignore: !HAS_REDIS,
  async fn() {
    // Guards the harness: a broken barrier would make both sides agree on nothing.
    await using redis = await RedisProcess.start();
    const many = SCENARIOS.find((x) => x.name === "many messages keep their order")!;
    const t = await run(redis.port, many, 2);
    const messages = received(t, 0).filter((f) => f.startsWith("*3\r\n$7\r\nmessage\r\n"));
    assert.equal(messages.length, 600);
    assert.equal(messages[0], "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nmsg-0\r\n");
    assert.equal(messages[499], "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$7\r\nmsg-499\r\n");
    const counts = received(t, 1).filter((f) => f.startsWith(":"));
    assert.equal(counts.length, 700);
    assert.ok(counts.slice(0, 500).every((f) => f === ":2\r\n"));
  },
});

Deno.test({
  name: "pub/sub differential: subscribed-mode arity errors and subcommand names",
  async fn() {
    await using redis = await RedisProcess.start();
    await using tessera = await TesseraServer.start({ port: 0, inMemory: true, shards: 2 });
    await differential(ROUTER_ORDER, redis.port, tessera.port);
  },
});

Deno.test({
  name: "pub/sub differential: per-publisher order with concurrent publishers",
  ignore: !HAS_REDIS,
  async fn() {
    await using redis = await RedisProcess.start();
    await using tessera = await TesseraServer.start({ port: 0, inMemory: true, shards: 2 });
    for (const port of [redis.port, tessera.port]) {
      const sub = await RawConn.open(port);
      await sub.send([["SUBSCRIBE", "ch"], ["PSUBSCRIBE", "c?"]]);
      await sub.until(0, (f) => f.includes("psubscribe"), "PSUBSCRIBE");
      const pubs = [await RawConn.open(port), await RawConn.open(port), await RawConn.open(port)];
      const n = 400;
      await Promise.all(
        pubs.map((p, k) =>
          p.send(Array.from({ length: n }, (_, i) => ["PUBLISH", "ch", `p${k}:${i}`]))
        ),
      );
      for (const p of pubs) await p.until(n - 1, () => true, "PUBLISH replies");
      for (const p of pubs) {
        assert.ok(p.frames.every((f) => f === ":2\r\n"), `port ${port}: PUBLISH counts`);
        await p.close();
      }
      await sub.send([["PING", "end"]]);
      await sub.until(0, (f) => f.includes("end"), "end");
      const msgs = sub.frames.filter((f) => f.includes("message"));
      assert.equal(msgs.length, 3 * n * 2);
      for (let k = 0; k < pubs.length; k++) {
        const direct = msgs.filter((f) => f.startsWith("*3") && f.includes(`p${k}:`));
        const viaPattern = msgs.filter((f) => f.startsWith("*4") && f.includes(`p${k}:`));
        const want = Array.from({ length: n }, (_, i) => `p${k}:${i}`);
        const payload = (f: string) => f.split("\r\n").at(-2)!;
        assert.deepEqual(direct.map(payload), want, `port ${port}: messages of publisher ${k}`);
        assert.deepEqual(viaPattern.map(payload), want, `port ${port}: pmessages of ${k}`);
      }
      // Each PUBLISH delivers the message, then the pmessage, back to back.
      for (let i = 0; i < msgs.length; i += 2) {
        assert.ok(msgs[i]!.startsWith("*3") && msgs[i + 1]!.startsWith("*4"));
        assert.equal(msgs[i]!.split("\r\n").at(-2), msgs[i + 1]!.split("\r\n").at(-2));
      }
      await sub.close();
    }
  },
});
