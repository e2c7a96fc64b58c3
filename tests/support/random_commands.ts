/**
 * Random command sequences over a small keyspace, for differential tests against redis-server.
 * Only commands whose replies are deterministic are generated (no SPOP, RANDOMKEY, TTLs...).
 */
import type { Step } from "../sequences/types.ts";

/** Small seeded PRNG (mulberry32) so a failing seed can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Generates `n` random steps from `seed`. */
export function randomSteps(seed: number, n: number): Step[] {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const keys = ["k0", "k1", "k2", "k3", "k4", "{t}a", "{t}b", "bin\x00\xff"];
  const key = () => pick(keys);
  const val = () =>
    pick([
      "",
      "v",
      "10",
      "-3",
      "3.5",
      "hello world",
      "\x00\x01\xfe",
      "99999999999",
      "x".repeat(int(0, 40)),
    ]);
  const field = () => pick(["f0", "f1", "f2", "f3"]);
  const member = () => pick(["a", "b", "c", "d", "e", "1", "2"]);
  const score = () => pick(["0", "1", "-1", "2.5", "10", "+inf", "-inf", "1e3"]);
  const idx = () => String(int(-6, 6));
  const gens: Array<() => Step> = [
    () => ["SET", key(), val()],
    () => ["SET", key(), val(), pick(["NX", "XX", "GET"])],
    () => ["GET", key()],
    () => ["APPEND", key(), val()],
    () => ["INCR", key()],
    () => ["INCRBY", key(), String(int(-100, 100))],
    () => ["DECR", key()],
    () => ["STRLEN", key()],
    () => ["GETRANGE", key(), idx(), idx()],
    () => ["SETRANGE", key(), String(int(0, 10)), val()],
    () => ["MSET", key(), val(), key(), val()],
    () => ["MGET", key(), key(), key()],
    () => ["MSETNX", key(), val(), key(), val()],
    () => ["GETDEL", key()],
    () => ["DEL", key(), key()],
    () => ["EXISTS", key(), key(), key()],
    () => ["TYPE", key()],
    () => ["RENAME", key(), key()],
    () => ["RENAMENX", key(), key()],
    () => ["COPY", key(), key(), ...(rnd() < 0.5 ? ["REPLACE"] : [])],
    () => ["HSET", key(), field(), val(), ...(rnd() < 0.3 ? [field(), val()] : [])],
    () => ["HGET", key(), field()],
    () => ["HDEL", key(), field(), field()],
    () => ["HLEN", key()],
    () => ["HINCRBY", key(), field(), String(int(-5, 5))],
    () => ["HMGET", key(), field(), field()],
    () => ({ cmd: ["HGETALL", key()], compare: "unordered" }),
    () => ({ cmd: ["HKEYS", key()], compare: "unordered" }),
    () => ["LPUSH", key(), member(), member()],
    () => ["RPUSH", key(), member()],
    () => ["LPOP", key()],
    () => ["RPOP", key(), String(int(0, 3))],
    () => ["LRANGE", key(), idx(), idx()],
    () => ["LLEN", key()],
    () => ["LINDEX", key(), idx()],
    () => ["LREM", key(), String(int(-2, 2)), member()],
    () => ["LTRIM", key(), idx(), idx()],
    () => ["LINSERT", key(), pick(["BEFORE", "AFTER"]), member(), member()],
    () => ["LSET", key(), idx(), member()],
    () => ["LMOVE", key(), key(), pick(["LEFT", "RIGHT"]), pick(["LEFT", "RIGHT"])],
    () => ["RPOPLPUSH", key(), key()],
    () => ["SADD", key(), member(), member()],
    () => ["SREM", key(), member()],
    () => ["SCARD", key()],
    () => ["SISMEMBER", key(), member()],
    () => ({ cmd: ["SMEMBERS", key()], compare: "unordered" }),
    () => ({ cmd: ["SINTER", key(), key()], compare: "unordered" }),
    () => ({ cmd: ["SUNION", key(), key()], compare: "unordered" }),
    () => ({ cmd: ["SDIFF", key(), key()], compare: "unordered" }),
    () => ["SUNIONSTORE", key(), key(), key()],
    () => ["SINTERSTORE", key(), key(), key()],
    () => ["SMOVE", key(), key(), member()],
    () => ["ZADD", key(), score(), member(), ...(rnd() < 0.3 ? [score(), member()] : [])],
    () => ["ZREM", key(), member()],
    () => ["ZSCORE", key(), member()],
    () => ["ZINCRBY", key(), score(), member()],
    () => ["ZRANGE", key(), idx(), idx(), "WITHSCORES"],
    () => ["ZRANK", key(), member()],
    () => ["ZCOUNT", key(), score(), score()],
    () => ["ZRANGEBYSCORE", key(), "-inf", "+inf"],
    () => ["ZUNIONSTORE", key(), "2", key(), key()],
    () => ["ZINTERSTORE", key(), "2", key(), key(), "AGGREGATE", pick(["SUM", "MIN", "MAX"])],
    () => ["ZPOPMIN", key()],
    () => ["ZCARD", key()],
    () => ["DBSIZE"],
  ];
  const out: Step[] = [];
  for (let i = 0; i < n; i++) out.push(pick(gens)());
  return out;
}
