/**
 * Differential tests for transactions (MULTI/EXEC/DISCARD/WATCH/UNWATCH), blocking pops and
 * CLIENT UNBLOCK/PAUSE: the same multi-connection scripts run against a real redis-server and
 * against Tessera (3 shard workers, so keys spread over shards), and every reply must match
 * byte for byte (so `*-1`, `$-1` and RESP3 `_` are told apart).
 */
import assert from "node:assert/strict";
import { TesseraServer } from "../server/server.ts";
import { ReplyReader } from "../server/resp_reader.ts";
import { hasCommand, RedisProcess } from "./support/redis_process.ts";
import { latin1Bytes, RawConn } from "./support/raw_conn.ts";
import { agree } from "./support/compare.ts";
import type { Compare } from "./sequences/types.ts";

const haveRedis = hasCommand("redis-server");

function decode(text: string): ReturnType<ReplyReader["next"]> {
  const r = new ReplyReader();
  r.push(latin1Bytes(text));
  return r.next();
}

// ---- scripts ----

type Op =
  /** Call on connection `c` (default 0) and compare the reply. */
  | { c: number; cmd: string[]; mode?: Compare }
  /** Send without reading (a blocking command); its reply is read by a later `read`. */
  | { c: number; send: string[] }
  /** Read the next reply of connection `c` (waits up to `within` ms) and compare it. */
  | { c: number; read: true; within?: number; mode?: Compare }
  /** Check that connection `c` has no reply pending for `ms` ms. */
  | { c: number; quiet: number }
  | { sleep: number }
  /** Wait until INFO reports `blocked` blocked clients (compared too). */
  | { blocked: number };

interface Scenario {
  name: string;
  /** Protocol of each connection (default RESP2). */
  proto?: Array<2 | 3>;
  ops: Op[];
}

/** `cmd` on connection 0. */
const q = (...cmd: string[]): Op => ({ c: 0, cmd });
/** `cmd` on connection `c`. */
const on = (c: number, ...cmd: string[]): Op => ({ c, cmd });
const send = (c: number, ...cmd: string[]): Op => ({ c, send: cmd });
const read = (c: number, within = 5000): Op => ({ c, read: true, within });
const quiet = (c: number, ms = 100): Op => ({ c, quiet: ms });
const sleep = (ms: number): Op => ({ sleep: ms });
const blocked = (n: number): Op => ({ blocked: n });

/** Runs `s` against the server on `port`; returns one labelled line per compared reply. */
async function runScenario(
  port: number,
  s: Scenario,
): Promise<Array<{ label: string; text: string; mode: Compare }>> {
  let conns = (s.proto ?? []).length;
  for (const op of s.ops) if ("c" in op) conns = Math.max(conns, op.c + 1);
  const admin = await RawConn.open(port);
  const cs: RawConn[] = [];
  try {
    await admin.call(["FLUSHALL"]);
    const ids: string[] = [];
    for (let i = 0; i < conns; i++) {
      const c = await RawConn.open(port);
      cs.push(c);
      if ((s.proto?.[i] ?? 2) === 3) await c.call(["HELLO", "3"]);
      ids.push((await c.call(["CLIENT", "ID"])).slice(1, -2));
    }
    const subst = (args: string[]) => args.map((a) => a.replace(/\$id(\d)/, (_, n) => ids[+n]!));
    const out: Array<{ label: string; text: string; mode: Compare }> = [];
    const waitBlocked = async (want: number) => {
      let n = -1;
      for (let tries = 0; tries < 300; tries++) {
        const info = await admin.call(["INFO", "clients"]);
        n = Number(/blocked_clients:(\d+)/.exec(info)?.[1]);
        if (n === want) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      return String(n);
    };
    for (const [i, op] of s.ops.entries()) {
      if ("sleep" in op) await new Promise((r) => setTimeout(r, op.sleep));
      else if ("blocked" in op) {
        out.push({
          label: `#${i} blocked_clients`,
          text: await waitBlocked(op.blocked),
          mode: "exact",
        });
      } else if ("cmd" in op) {
        const text = await cs[op.c]!.call(subst(op.cmd));
        out.push({ label: `#${i} c${op.c} ${op.cmd.join(" ")}`, text, mode: op.mode ?? "exact" });
      } else if ("send" in op) cs[op.c]!.post(subst(op.send));
      else if ("read" in op) {
        const text = await cs[op.c]!.reply(op.within);
        out.push({ label: `#${i} c${op.c} (read)`, text, mode: op.mode ?? "exact" });
      } else {
        const text = await cs[op.c]!.reply(op.quiet);
        out.push({ label: `#${i} c${op.c} (quiet)`, text, mode: "exact" });
      }
    }
    // Closing the connections leaves no blocked client behind.
    await Promise.all(cs.splice(0).map((c) => c.close()));
    out.push({
      label: "after closing: blocked_clients",
      text: await waitBlocked(0),
      mode: "exact",
    });
    return out;
  } finally {
    await Promise.all(cs.map((c) => c.close()));
    await admin.call(["CLIENT", "UNPAUSE"]);
    await admin.close();
  }
}

function same(a: string, b: string, mode: Compare): boolean {
  if (mode === "exact" || a === b) return a === b;
  const x = decode(a);
  const y = decode(b);
  return x !== undefined && y !== undefined && agree(x.value, y.value, mode);
}

/** Runs every scenario on both servers (in parallel) and asserts every reply matches. */
async function differential(scenarios: Scenario[]) {
  await using redis = await RedisProcess.start();
  await using server = await TesseraServer.start({ port: 0, inMemory: true, shards: 3 });
  const problems: string[] = [];
  const verbose = Deno.env.get("TX_DIFF_VERBOSE") !== undefined;
  const only = Deno.env.get("TX_DIFF_ONLY");
  for (const s of scenarios) {
    if (only !== undefined && !s.name.includes(only)) continue;
    const t0 = Date.now();
    const [want, got] = await Promise.all([
      runScenario(redis.port, s),
      runScenario(server.port, s),
    ]);
    if (verbose) console.log(`## ${s.name}: ${Date.now() - t0} ms`);
    for (const [i, w] of want.entries()) {
      const g = got[i]!;
      const ok = same(w.text, g.text, w.mode);
      if (verbose) {
        console.log(`${ok ? "  " : "!!"} ${s.name} ${w.label}: ${JSON.stringify(w.text)}`);
      }
      if (!ok) {
        problems.push(
          `${s.name} ${w.label}: redis ${JSON.stringify(w.text)} / tessera ${
            JSON.stringify(g.text)
          }`,
        );
      }
    }
  }
  assert.deepEqual(problems, []);
}

// ---- transactions on one connection ----

const transactionScenarios: Scenario[] = [
  {
    name: "EXEC and DISCARD without MULTI",
    ops: [q("EXEC"), q("DISCARD"), q("SET", "a", "1"), q("EXEC"), q("GET", "a")],
  },
  {
    name: "basic MULTI/EXEC over keys on several shards",
    ops: [
      q("MULTI"),
      q("SET", "a", "1"),
      q("INCR", "a"),
      q("GET", "a"),
      q("RPUSH", "list", "x", "y"),
      q("MSET", "k1", "v1", "k2", "v2", "k3", "v3", "k4", "v4"),
      q("MGET", "k1", "k2", "k3", "k4", "missing"),
      q("SADD", "set", "m"),
      q("HSET", "hash", "f", "v"),
      q("DEL", "k1", "k2", "missing"),
      q("EXEC"),
      q("GET", "a"),
      q("LRANGE", "list", "0", "-1"),
      q("MGET", "k1", "k2", "k3", "k4"),
      q("EXEC"),
    ],
  },
  { name: "empty MULTI/EXEC", ops: [q("MULTI"), q("EXEC"), q("EXEC")] },
  {
    name: "nested MULTI is an error that does not abort",
    ops: [q("MULTI"), q("MULTI"), q("SET", "a", "1"), q("MULTI"), q("EXEC"), q("GET", "a")],
  },
  {
    name: "WATCH inside MULTI is an error that does not abort",
    ops: [q("MULTI"), q("WATCH", "a"), q("SET", "a", "1"), q("EXEC"), q("GET", "a")],
  },
  {
    name: "unknown command while queueing: EXECABORT, nothing applied",
    ops: [
      q("MULTI"),
      q("SET", "a", "1"),
      q("NOSUCHCOMMAND", "x", "y"),
      q("SET", "b", "2"),
      q("EXEC"),
      q("MGET", "a", "b"),
      q("EXEC"),
    ],
  },
  {
    name: "wrong arity while queueing: EXECABORT",
    ops: [
      q("MULTI"),
      q("SET", "a"),
      q("EXEC"),
      q("MULTI"),
      q("INCR", "a"),
      q("GET"),
      q("LPUSH", "l"),
      q("EXEC"),
      q("EXISTS", "a", "l"),
    ],
  },
  {
    name: "subcommand arity while queueing: EXECABORT",
    ops: [q("MULTI"), q("SET", "a", "1"), q("CONFIG", "GET"), q("EXEC"), q("GET", "a")],
  },
  {
    name: "WATCH/MULTI/EXEC arity errors",
    ops: [q("WATCH"), q("MULTI", "x"), q("MULTI"), q("EXEC", "x"), q("DISCARD", "x"), q("EXEC")],
  },
  {
    name: "refused MULTI/WATCH/DISCARD inside MULTI doom it; a refused EXEC ends it",
    ops: [
      q("MULTI"),
      q("SET", "a", "1"),
      q("DISCARD", "x"),
      q("EXEC"),
      q("MULTI"),
      q("WATCH"),
      q("EXEC"),
      q("MULTI"),
      q("MULTI", "x"),
      q("EXEC"),
      q("MULTI"),
      q("SET", "a", "1"),
      q("EXEC", "x"),
      q("EXEC"),
      q("GET", "a"),
    ],
  },
  {
    name: "DISCARD after a queueing error resets the transaction",
    ops: [
      q("MULTI"),
      q("NOSUCHCOMMAND"),
      q("DISCARD"),
      q("MULTI"),
      q("SET", "a", "1"),
      q("EXEC"),
      q("MULTI"),
      q("SET", "a", "2"),
      q("DISCARD"),
      q("GET", "a"),
      q("DISCARD"),
    ],
  },
  {
    name: "runtime errors inside EXEC stay in the reply array",
    ops: [
      q("SET", "s", "abc"),
      q("RPUSH", "l", "x"),
      q("MULTI"),
      q("INCR", "s"),
      q("LPUSH", "s", "x"),
      q("GET", "l"),
      q("SET", "t", "1"),
      q("INCRBY", "t", "notanumber"),
      q("SET", "a", "1", "EX", "-5"),
      q("SET", "a", "1", "BADOPTION"),
      q("INCR", "t"),
      q("EXEC"),
      q("MGET", "s", "t", "a"),
    ],
  },
  {
    name: "SELECT inside MULTI switches db for the rest of EXEC and after",
    ops: [
      q("SET", "q", "db0"),
      q("MULTI"),
      q("SELECT", "3"),
      q("SET", "q", "db3"),
      q("SELECT", "99"),
      q("SELECT", "notanumber"),
      q("GET", "q"),
      q("EXEC"),
      q("GET", "q"),
      q("SELECT", "0"),
      q("GET", "q"),
      q("SELECT", "3"),
      q("FLUSHDB"),
      q("SELECT", "0"),
    ],
  },
  {
    name: "UNWATCH inside MULTI is queued",
    ops: [q("WATCH", "a"), q("MULTI"), q("UNWATCH"), q("SET", "a", "1"), q("EXEC"), q("GET", "a")],
  },
  {
    name: "blocking commands inside MULTI do not block",
    ops: [
      q("SET", "str", "x"),
      q("RPUSH", "full", "a", "b"),
      q("MULTI"),
      q("BLPOP", "empty1", "empty2", "0"),
      q("BRPOP", "empty1", "1"),
      q("BLMOVE", "empty1", "dst", "LEFT", "RIGHT", "0"),
      q("BRPOPLPUSH", "empty1", "dst", "0"),
      q("BLPOP", "empty1", "-1"),
      q("BLPOP", "empty1", "abc"),
      q("BLPOP", "str", "0"),
      q("BLPOP", "empty1", "full", "0"),
      q("BLMOVE", "full", "dst", "RIGHT", "LEFT", "0"),
      q("BRPOPLPUSH", "full", "dst", "0"),
      q("BLMOVE", "full", "dst", "UP", "LEFT", "0"),
      q("EXEC"),
      q("LRANGE", "dst", "0", "-1"),
      q("EXISTS", "full"),
    ],
  },
  {
    name: "RESP3 replies inside EXEC",
    proto: [3],
    ops: [
      q("MULTI"),
      q("HSET", "h", "f", "v"),
      q("HGETALL", "h"),
      q("SADD", "s", "x"),
      q("SMEMBERS", "s"),
      q("GET", "missing"),
      q("BLPOP", "missing", "0"),
      q("BLMOVE", "missing", "dst", "LEFT", "LEFT", "0"),
      q("INCRBYFLOAT", "f", "1.5"),
      q("EXEC"),
      q("MULTI"),
      q("EXEC"),
    ],
  },
];

// ---- WATCH with other connections ----

const watchScenarios: Scenario[] = [];
for (const proto of [2, 3] as const) {
  watchScenarios.push(
    {
      name: `RESP${proto}: WATCH + a write from another connection: EXEC is null`,
      proto: [proto, 2],
      ops: [
        q("SET", "k", "1"),
        q("WATCH", "k"),
        on(1, "SET", "k", "2"),
        q("MULTI"),
        q("SET", "k", "3"),
        q("EXEC"),
        q("GET", "k"),
        // The watch is gone after the failed EXEC.
        q("MULTI"),
        q("SET", "k", "4"),
        q("EXEC"),
        q("GET", "k"),
      ],
    },
    {
      name: `RESP${proto}: WATCH + expiry of the watched key`,
      proto: [proto],
      ops: [
        q("SET", "k", "v", "PX", "60"),
        q("WATCH", "k"),
        sleep(150),
        q("MULTI"),
        q("SET", "other", "1"),
        q("EXEC"),
        q("GET", "other"),
      ],
    },
  );
}
watchScenarios.push(
  {
    name: "WATCH a missing key + another connection creates it",
    ops: [q("WATCH", "k"), on(1, "RPUSH", "k", "x"), q("MULTI"), q("PING"), q("EXEC")],
  },
  {
    name: "WATCH + a read or a write of another key from another connection: EXEC runs",
    ops: [
      q("SET", "k", "1"),
      q("WATCH", "k", "k2"),
      on(1, "GET", "k"),
      on(1, "EXISTS", "k2"),
      on(1, "SET", "unrelated", "x"),
      on(1, "MSET", "u1", "1", "u2", "2", "u3", "3"),
      q("MULTI"),
      q("INCR", "k"),
      q("EXEC"),
    ],
  },
  {
    name: "WATCH keys on several shards, one written",
    ops: [
      q("MSET", "a", "1", "b", "2", "c", "3", "d", "4"),
      q("WATCH", "a", "b"),
      q("WATCH", "c", "d"),
      on(1, "APPEND", "d", "x"),
      q("MULTI"),
      q("SET", "a", "x"),
      q("EXEC"),
      q("GET", "a"),
    ],
  },
  {
    name: "WATCH + PEXPIRE from another connection, then expiry",
    ops: [
      q("SET", "k", "v"),
      q("WATCH", "k"),
      on(1, "PEXPIRE", "k", "50"),
      sleep(120),
      q("MULTI"),
      q("SET", "x", "1"),
      q("EXEC"),
      q("EXISTS", "k", "x"),
    ],
  },
  {
    name: "WATCH a key with a far expiry, untouched: EXEC runs",
    ops: [
      q("SET", "k", "v", "EX", "1000"),
      q("WATCH", "k"),
      sleep(50),
      q("MULTI"),
      q("GET", "k"),
      q("EXEC"),
    ],
  },
  {
    name: "WATCH then own write outside MULTI: EXEC is null",
    ops: [
      q("SET", "k", "1"),
      q("WATCH", "k"),
      q("SET", "k", "2"),
      q("MULTI"),
      q("SET", "k", "3"),
      q("EXEC"),
      q("GET", "k"),
    ],
  },
  {
    name: "WATCH then own write inside MULTI: EXEC runs",
    ops: [
      q("WATCH", "k"),
      q("MULTI"),
      q("SET", "k", "1"),
      q("INCR", "k"),
      q("EXEC"),
      q("GET", "k"),
    ],
  },
  {
    name: "UNWATCH forgets the keys",
    ops: [
      q("WATCH", "k", "j"),
      q("UNWATCH"),
      on(1, "SET", "k", "x"),
      q("MULTI"),
      q("SET", "j", "1"),
      q("EXEC"),
    ],
  },
  {
    name: "DISCARD forgets the watched keys",
    ops: [
      q("WATCH", "k"),
      q("MULTI"),
      q("DISCARD"),
      on(1, "SET", "k", "x"),
      q("MULTI"),
      q("GET", "k"),
      q("EXEC"),
    ],
  },
  {
    name: "WATCH is per database",
    ops: [
      q("SELECT", "1"),
      q("WATCH", "k"),
      on(1, "SET", "k", "db0"),
      q("MULTI"),
      q("SET", "k", "db1"),
      q("EXEC"),
      q("WATCH", "k"),
      on(1, "SELECT", "1"),
      on(1, "SET", "k", "other"),
      q("MULTI"),
      q("SET", "k", "mine"),
      q("EXEC"),
      q("GET", "k"),
      q("FLUSHDB"),
      q("SELECT", "0"),
    ],
  },
  {
    name: "WATCH + a transaction of another connection",
    ops: [
      q("WATCH", "k"),
      on(1, "MULTI"),
      on(1, "SET", "k", "theirs"),
      on(1, "EXEC"),
      q("MULTI"),
      q("SET", "k", "mine"),
      q("EXEC"),
      q("GET", "k"),
    ],
  },
  {
    name: "WATCH an existing key + FLUSHDB / FLUSHALL",
    ops: [
      q("SET", "k", "1"),
      q("WATCH", "k"),
      on(1, "FLUSHDB"),
      q("MULTI"),
      q("SET", "x", "1"),
      q("EXEC"),
      q("SET", "k", "1"),
      q("WATCH", "k"),
      on(1, "FLUSHALL"),
      q("MULTI"),
      q("SET", "x", "1"),
      q("EXEC"),
      q("EXISTS", "x"),
    ],
  },
  {
    name: "WATCH + FLUSHDB of another database",
    ops: [
      q("SET", "k", "1"),
      q("WATCH", "k"),
      on(1, "SELECT", "2"),
      on(1, "SET", "k", "1"),
      on(1, "FLUSHDB"),
      q("MULTI"),
      q("SET", "x", "1"),
      q("EXEC"),
    ],
  },
  {
    name: "WATCH a missing key + FLUSHDB",
    ops: [
      q("WATCH", "k"),
      on(1, "SET", "other", "1"),
      on(1, "FLUSHDB"),
      q("MULTI"),
      q("SET", "x", "1"),
      q("EXEC"),
    ],
  },
  {
    name: "WATCH + a write from another connection that changes nothing",
    ops: [
      q("SET", "k", "abc"),
      q("SADD", "s", "m"),
      q("WATCH", "k", "s", "missing"),
      on(1, "INCR", "k"),
      on(1, "LPUSH", "k", "x"),
      on(1, "SADD", "s", "m"),
      on(1, "DEL", "missing"),
      on(1, "EXPIRE", "missing", "100"),
      on(1, "BLPOP", "missing", "0.01"),
      q("MULTI"),
      q("SET", "x", "1"),
      q("EXEC"),
    ],
  },
);

// ---- blocking pops ----

const blockingScenarios: Scenario[] = [
  {
    name: "BLPOP/BRPOP/BLMOVE/BRPOPLPUSH time out with a null",
    ops: [
      q("BLPOP", "e1", "e2", "0.1"),
      q("BRPOP", "e1", "0.05"),
      q("BLMOVE", "e1", "d", "LEFT", "RIGHT", "0.05"),
      q("BRPOPLPUSH", "e1", "d", "0.05"),
      q("BLPOP", "e1", "0.0001"),
      q("EXISTS", "d"),
    ],
  },
  {
    name: "RESP3: blocking pops time out with _",
    proto: [3],
    ops: [
      q("BLPOP", "e1", "e2", "0.05"),
      q("BLMOVE", "e1", "d", "LEFT", "RIGHT", "0.05"),
      q("BRPOPLPUSH", "e1", "d", "0.05"),
    ],
  },
  {
    name: "blocking timeouts: negative, not a float, out of range",
    ops: [
      q("BLPOP", "k", "-1"),
      q("BLPOP", "k", "-0.5"),
      q("BLPOP", "k", "abc"),
      q("BLPOP", "k", "1s"),
      q("BLPOP", "k", ""),
      q("BLPOP", "k", "nan"),
      q("BLPOP", "k", "inf"),
      q("BLPOP", "k", "-inf"),
      q("BLPOP", "k", "1e300"),
      q("BLPOP", "k", "1e16"),
      q("BRPOP", "k", "-1"),
      q("BLMOVE", "k", "d", "LEFT", "LEFT", "-1"),
      q("BLMOVE", "k", "d", "LEFT", "LEFT", "x"),
      q("BLMOVE", "k", "d", "LEFT", "SIDEWAYS", "0"),
      q("BLMOVE", "k", "d", "left", "right", "0.01"),
      q("BRPOPLPUSH", "k", "d", "-1"),
      q("BLPOP", "k"),
      q("BLMOVE", "k", "d", "LEFT", "LEFT"),
      q("BRPOPLPUSH", "k", "d"),
    ],
  },
  {
    name: "blocking pops on a key of the wrong type",
    ops: [
      q("SET", "str", "x"),
      q("HSET", "h", "f", "v"),
      q("RPUSH", "l", "a", "b"),
      q("BLPOP", "str", "0"),
      q("BLPOP", "empty", "h", "0"),
      q("BRPOP", "str", "l", "0"),
      q("BLPOP", "l", "str", "0"),
      q("BLMOVE", "str", "d", "LEFT", "LEFT", "0"),
      q("BRPOPLPUSH", "l", "str", "0"),
      q("LRANGE", "l", "0", "-1"),
    ],
  },
  {
    name: "blocking pops take at once from a non-empty list, first key in argument order",
    ops: [
      q("RPUSH", "k3", "c1", "c2"),
      q("RPUSH", "k2", "b1"),
      q("BLPOP", "k1", "k2", "k3", "0"),
      q("BRPOP", "k1", "k2", "k3", "0"),
      q("BRPOPLPUSH", "k3", "k1", "0"),
      q("BLMOVE", "k1", "k3", "RIGHT", "LEFT", "0"),
      q("LRANGE", "k3", "0", "-1"),
      q("EXISTS", "k1", "k2"),
    ],
  },
];
for (const proto of [2, 3] as const) {
  blockingScenarios.push(
    {
      name: `RESP${proto}: BLPOP served by a push from another connection`,
      proto: [proto, 2],
      ops: [
        send(0, "BLPOP", "a", "b", "c", "0"),
        blocked(1),
        on(1, "RPUSH", "b", "x", "y"),
        read(0),
        blocked(0),
        on(1, "LRANGE", "b", "0", "-1"),
        send(0, "BRPOP", "a", "5"),
        blocked(1),
        on(1, "LPUSH", "a", "1", "2", "3"),
        read(0),
        on(1, "LRANGE", "a", "0", "-1"),
      ],
    },
    {
      name: `RESP${proto}: BLMOVE and BRPOPLPUSH served by a push`,
      proto: [proto, 2],
      ops: [
        send(0, "BLMOVE", "src", "dst", "RIGHT", "LEFT", "0"),
        blocked(1),
        on(1, "RPUSH", "src", "p", "q"),
        read(0),
        send(0, "BRPOPLPUSH", "src2", "dst", "0"),
        blocked(1),
        on(1, "LPUSH", "src2", "r"),
        read(0),
        on(1, "LRANGE", "dst", "0", "-1"),
        on(1, "LRANGE", "src", "0", "-1"),
        on(1, "EXISTS", "src2"),
      ],
    },
    {
      name: `RESP${proto}: CLIENT UNBLOCK with TIMEOUT and ERROR`,
      proto: [proto, 2],
      ops: [
        send(0, "BLPOP", "k", "0"),
        blocked(1),
        on(1, "CLIENT", "UNBLOCK", "$id0", "TIMEOUT"),
        read(0),
        blocked(0),
        on(1, "CLIENT", "UNBLOCK", "$id0"),
        send(0, "BLMOVE", "k", "d", "LEFT", "LEFT", "0"),
        blocked(1),
        on(1, "CLIENT", "UNBLOCK", "$id0"),
        read(0),
        send(0, "BRPOPLPUSH", "k", "d", "0"),
        blocked(1),
        on(1, "CLIENT", "UNBLOCK", "$id0", "ERROR"),
        read(0),
        blocked(0),
        q("PING"),
      ],
    },
  );
}
blockingScenarios.push(
  {
    name: "CLIENT UNBLOCK argument errors and unblocked targets",
    ops: [
      q("CLIENT", "UNBLOCK", "$id0"),
      q("CLIENT", "UNBLOCK", "$id1"),
      q("CLIENT", "UNBLOCK", "999999"),
      q("CLIENT", "UNBLOCK", "abc"),
      q("CLIENT", "UNBLOCK", "$id1", "SOMETIMES"),
      q("CLIENT", "UNBLOCK", "$id1", "timeout", "extra"),
      q("CLIENT", "UNBLOCK"),
      on(1, "PING"),
    ],
  },
  {
    name: "three clients blocked on one key are served in the order they blocked",
    ops: [
      send(0, "BLPOP", "k", "0"),
      blocked(1),
      send(1, "BLPOP", "k", "0"),
      blocked(2),
      send(2, "BRPOP", "other", "k", "0"),
      blocked(3),
      on(3, "RPUSH", "k", "a", "b", "c", "d"),
      read(0),
      read(1),
      read(2),
      blocked(0),
      on(3, "LRANGE", "k", "0", "-1"),
    ],
  },
  {
    name: "a blocked client's pipelined commands wait for it",
    ops: [
      on(1, "SET", "x", "before"),
      send(0, "BLPOP", "k", "0"),
      send(0, "GET", "x"),
      send(0, "INCR", "n"),
      blocked(1),
      quiet(0, 100),
      on(1, "SET", "x", "after"),
      on(1, "GET", "n"),
      on(1, "RPUSH", "k", "v"),
      read(0),
      read(0),
      read(0),
      on(1, "GET", "n"),
    ],
  },
  {
    name: "a blocked client stays blocked when its key becomes another type",
    ops: [
      send(0, "BLPOP", "k", "0.3"),
      blocked(1),
      on(1, "SET", "k", "string"),
      quiet(0, 50),
      on(1, "DEL", "k"),
      on(1, "RPUSH", "k", "v"),
      read(0),
    ],
  },
  {
    name: "a push inside another client's MULTI serves a blocked client after EXEC",
    ops: [
      send(0, "BLPOP", "k", "0"),
      blocked(1),
      on(1, "MULTI"),
      on(1, "RPUSH", "k", "a"),
      on(1, "RPUSH", "k", "b"),
      on(1, "LPOP", "k"),
      on(1, "EXEC"),
      read(0),
      on(1, "LRANGE", "k", "0", "-1"),
    ],
  },
  {
    name: "keys made ready together (MULTI): the first one written serves",
    ops: [
      send(0, "BLPOP", "k1", "k2", "k3", "k4", "0"),
      blocked(1),
      on(1, "MULTI"),
      on(1, "RPUSH", "k4", "x"),
      on(1, "RPUSH", "k2", "y"),
      on(1, "EXEC"),
      read(0),
      on(1, "DEL", "k2", "k4"),
      send(0, "BRPOP", "k4", "k3", "0"),
      blocked(1),
      send(2, "BLPOP", "k4", "k3", "0"),
      blocked(2),
      on(1, "MULTI"),
      on(1, "RPUSH", "k3", "z"),
      on(1, "RPUSH", "k4", "w"),
      on(1, "EXEC"),
      read(0),
      read(2),
      on(1, "MGET", "k1", "k2", "k3", "k4"),
      on(1, "LRANGE", "k2", "0", "-1"),
    ],
  },
  {
    name: "a push that is popped again inside the same MULTI does not serve",
    ops: [
      send(0, "BLPOP", "k", "0.3"),
      blocked(1),
      on(1, "MULTI"),
      on(1, "RPUSH", "k", "a"),
      on(1, "LPOP", "k"),
      on(1, "EXEC"),
      quiet(0, 50),
      read(0),
    ],
  },
  {
    name: "long timeouts keep the client blocked",
    ops: [
      send(0, "BLPOP", "k", "3000000"),
      blocked(1),
      quiet(0, 100),
      on(1, "RPUSH", "k", "v"),
      read(0),
      send(0, "BLPOP", "k", "9e15"),
      blocked(1),
      quiet(0, 50),
      on(1, "CLIENT", "UNBLOCK", "$id0"),
      read(0),
    ],
  },
  {
    name: "a negative timeout above -1ms rounds to 0 (blocks forever)",
    ops: [
      send(0, "BLPOP", "k", "-0.0001"),
      blocked(1),
      quiet(0, 50),
      on(1, "RPUSH", "k", "v"),
      read(0),
    ],
  },
  {
    name: "blocked client on keys of several shards, push to a later key",
    ops: [
      send(0, "BLPOP", "k1", "k2", "k3", "k4", "0"),
      blocked(1),
      on(1, "RPUSH", "k3", "x"),
      read(0),
      send(0, "BRPOP", "k1", "k2", "k3", "k4", "0"),
      blocked(1),
      on(1, "MSET", "other", "1", "more", "2"),
      quiet(0, 50),
      on(1, "RPUSH", "k4", "y"),
      read(0),
    ],
  },
  {
    name: "CLIENT PAUSE WRITE holds writes, not reads, until UNPAUSE",
    ops: [
      q("SET", "k", "1"),
      on(1, "CLIENT", "PAUSE", "5000", "WRITE"),
      q("GET", "k"),
      send(0, "SET", "k", "2"),
      send(0, "GET", "k"),
      quiet(0, 100),
      on(2, "GET", "k"),
      on(1, "CLIENT", "UNPAUSE"),
      read(0),
      read(0),
      on(2, "GET", "k"),
    ],
  },
  {
    name: "CLIENT PAUSE WRITE holds an EXEC with writes",
    ops: [
      q("MULTI"),
      q("SET", "k", "1"),
      on(1, "CLIENT", "PAUSE", "5000", "WRITE"),
      send(0, "EXEC"),
      quiet(0, 100),
      on(2, "GET", "k"),
      on(1, "CLIENT", "UNPAUSE"),
      read(0),
      on(2, "GET", "k"),
    ],
  },
  {
    name: "CLIENT PAUSE ALL holds reads too; the pause times out",
    ops: [
      q("SET", "k", "1"),
      on(1, "CLIENT", "PAUSE", "200", "ALL"),
      send(0, "GET", "k"),
      quiet(0, 100),
      read(0, 2000),
      q("PING"),
    ],
  },
  {
    name: "CLIENT PAUSE ALL: CLIENT commands of other clients and of the pauser",
    ops: [
      on(1, "CLIENT", "PAUSE", "300", "ALL"),
      send(0, "CLIENT", "UNPAUSE"),
      send(2, "CLIENT", "ID"),
      send(1, "PING"),
      quiet(0, 100),
      quiet(1, 10),
      read(0, 2000),
      read(1, 2000),
      { c: 2, read: true, within: 2000, mode: "shape" },
    ],
  },
  {
    name: "CLIENT PAUSE WRITE then a shorter ALL: ALL until the later end",
    ops: [
      on(1, "CLIENT", "PAUSE", "300", "WRITE"),
      on(2, "CLIENT", "PAUSE", "50", "ALL"),
      send(0, "GET", "x"),
      quiet(0, 150),
      read(0, 2000),
    ],
  },
  {
    name: "CLIENT PAUSE argument errors",
    ops: [
      q("CLIENT", "PAUSE", "abc"),
      q("CLIENT", "PAUSE", "-1"),
      q("CLIENT", "PAUSE", "10", "SOME"),
      q("CLIENT", "PAUSE"),
      q("CLIENT", "PAUSE", "0"),
      q("CLIENT", "UNPAUSE", "x"),
      q("CLIENT", "UNPAUSE"),
    ],
  },
);

const zsetBlockingScenarios: Scenario[] = [
  {
    name: "BZPOPMIN/BZPOPMAX: immediate, timeout, wrong type, MULTI",
    ops: [
      q("ZADD", "z", "1", "a", "2", "b", "3", "c"),
      q("SET", "str", "x"),
      q("BZPOPMIN", "nz", "z", "0"),
      q("BZPOPMAX", "nz", "z", "0"),
      q("BZPOPMIN", "nz", "0.05"),
      q("BZPOPMAX", "str", "0"),
      q("BZPOPMIN", "z", "-1"),
      q("BZPOPMIN", "z", "x"),
      q("MULTI"),
      q("BZPOPMIN", "nz", "0"),
      q("BZPOPMAX", "z", "0"),
      q("EXEC"),
      q("EXISTS", "z"),
    ],
  },
  {
    name: "RESP3 BZPOPMIN: immediate and timeout",
    proto: [3],
    ops: [
      q("ZADD", "z", "1.5", "a"),
      q("BZPOPMIN", "z", "0"),
      q("BZPOPMIN", "z", "0.05"),
    ],
  },
  {
    name: "BZPOPMIN/BZPOPMAX served by ZADD from another connection",
    ops: [
      send(0, "BZPOPMIN", "z1", "z2", "0"),
      blocked(1),
      on(1, "ZADD", "z2", "5", "m", "3", "n"),
      read(0),
      send(0, "BZPOPMAX", "z1", "z3", "0"),
      blocked(1),
      on(1, "ZADD", "z3", "1", "x", "2", "y"),
      read(0),
      on(1, "ZRANGE", "z2", "0", "-1", "WITHSCORES"),
    ],
  },
];

Deno.test({
  name: "differential: MULTI/EXEC/DISCARD on one connection",
  ignore: !haveRedis,
  fn: () => differential(transactionScenarios),
});

Deno.test({
  name: "differential: WATCH with other connections, expiry and flushes",
  ignore: !haveRedis,
  fn: () => differential(watchScenarios),
});

Deno.test({
  name: "differential: blocking list pops, CLIENT UNBLOCK, CLIENT PAUSE",
  ignore: !haveRedis,
  fn: () => differential(blockingScenarios),
});

Deno.test({
  name: "differential: BZPOPMIN/BZPOPMAX",
  ignore: !haveRedis,
  fn: () => differential(zsetBlockingScenarios),
});
