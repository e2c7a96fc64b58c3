import assert from "node:assert/strict";
import { TestEngine } from "../testing.ts";
import { type Entry } from "../keyspace.ts";
import { ReplyError, type ReplyValue } from "../reply.ts";
import { Deque } from "../deque.ts";
import { SortedSet } from "../sorted_set.ts";
import {
  hashIsListpack,
  memoryUsage,
  objectEncoding,
  setIsIntset,
  zsetIsListpack,
} from "./keys.ts";

// Values are put straight into the keyspace so these tests do not depend on other families.
function put(e: TestEngine, key: string, entry: Entry, db = e.db): void {
  e.ks.db(db).set(key, entry);
}
const str = (value: string): Entry => ({ type: "string", value });
const hash = (...kv: string[]): Entry => {
  const m = new Map<string, string>();
  for (let i = 0; i + 1 < kv.length; i += 2) m.set(kv[i]!, kv[i + 1]!);
  return { type: "hash", value: m };
};
const list = (...items: string[]): Entry => ({ type: "list", value: Deque.from(items) });
const set = (...items: string[]): Entry => ({ type: "set", value: new Set(items) });
const zset = (...pairs: [string, number][]): Entry => ({
  type: "zset",
  value: SortedSet.from(pairs),
});

function err(v: ReplyValue): string {
  assert.ok(v instanceof ReplyError, `expected an error, got ${JSON.stringify(v)}`);
  return v.message;
}

function sorted(v: ReplyValue): ReplyValue[] {
  assert.ok(Array.isArray(v));
  return [...v].sort();
}

Deno.test("DEL / UNLINK count existing keys and propagate the removed ones", () => {
  const e = new TestEngine();
  put(e, "a", str("1"));
  put(e, "b", hash("f", "v"));
  assert.equal(e.call("DEL", "a", "missing", "b", "a"), 2);
  assert.deepEqual(e.propagated, [[0, ["DEL", "a", "b"]]]);
  assert.equal(e.call("DEL", "a"), 0);
  assert.equal(e.propagated.length, 1);
  put(e, "c", str("1"));
  assert.equal(e.call("UNLINK", "c"), 1);
  assert.deepEqual(e.propagated[1], [0, ["UNLINK", "c"]]);
  assert.equal(err(e.call("DEL")), "ERR wrong number of arguments for 'del' command");
});

Deno.test("DEL of an expired key counts nothing", () => {
  const e = new TestEngine();
  put(e, "a", str("1"));
  e.call("PEXPIRE", "a", 100);
  e.advance(100);
  assert.equal(e.call("DEL", "a"), 0);
});

Deno.test("EXISTS / TOUCH count repetitions", () => {
  const e = new TestEngine();
  put(e, "a", str("1"));
  assert.equal(e.call("EXISTS", "a", "a", "missing"), 2);
  assert.equal(e.call("TOUCH", "a", "missing"), 1);
  assert.equal(e.call("EXISTS", "missing"), 0);
});

Deno.test("TYPE", () => {
  const e = new TestEngine();
  put(e, "s", str("v"));
  put(e, "h", hash("f", "v"));
  put(e, "l", list("a"));
  put(e, "st", set("a"));
  put(e, "z", zset(["a", 1]));
  assert.equal(e.call("TYPE", "s"), "string");
  assert.equal(e.call("TYPE", "h"), "hash");
  assert.equal(e.call("TYPE", "l"), "list");
  assert.equal(e.call("TYPE", "st"), "set");
  assert.equal(e.call("TYPE", "z"), "zset");
  assert.equal(e.call("TYPE", "missing"), "none");
});

Deno.test("EXPIRE family sets absolute times and propagates PEXPIREAT", () => {
  const e = new TestEngine();
  const now = e.time;
  put(e, "k", str("v"));
  assert.equal(e.call("EXPIRE", "k", 10), 1);
  assert.deepEqual(e.propagated.at(-1), [0, ["PEXPIREAT", "k", String(now + 10_000)]]);
  assert.equal(e.call("TTL", "k"), 10);
  assert.equal(e.call("PTTL", "k"), 10_000);
  assert.equal(e.call("PEXPIRETIME", "k"), now + 10_000);
  assert.equal(e.call("EXPIRETIME", "k"), Math.trunc((now + 10_000 + 500) / 1000));
  assert.equal(e.call("PEXPIRE", "k", 1500), 1);
  assert.deepEqual(e.propagated.at(-1), [0, ["PEXPIREAT", "k", String(now + 1500)]]);
  assert.equal(e.call("TTL", "k"), 2); // 1.5 s rounds to 2
  e.advance(1000);
  assert.equal(e.call("TTL", "k"), 1); // 0.5 s rounds up
  assert.equal(e.call("PTTL", "k"), 500);
  assert.equal(e.call("EXPIREAT", "k", 4_000_000_000), 1);
  assert.deepEqual(e.propagated.at(-1), [0, ["PEXPIREAT", "k", "4000000000000"]]);
  assert.equal(e.call("EXPIRETIME", "k"), 4_000_000_000);
  assert.equal(e.call("PEXPIREAT", "k", "4000000000499"), 1);
  assert.deepEqual(e.propagated.at(-1), [0, ["PEXPIREAT", "k", "4000000000499"]]);
  assert.equal(e.call("EXPIRETIME", "k"), 4_000_000_000);
  assert.equal(e.call("PEXPIREAT", "k", "4000000000500"), 1);
  assert.equal(e.call("EXPIRETIME", "k"), 4_000_000_001);
});

Deno.test("EXPIRE on a missing key replies 0 and propagates nothing", () => {
  const e = new TestEngine();
  assert.equal(e.call("EXPIRE", "missing", 10), 0);
  assert.equal(e.call("PEXPIREAT", "missing", 10), 0);
  assert.deepEqual(e.propagated, []);
});

Deno.test("EXPIRE in the past deletes the key and propagates DEL", () => {
  const e = new TestEngine();
  put(e, "a", str("1"));
  assert.equal(e.call("EXPIRE", "a", -1), 1);
  assert.equal(e.call("EXISTS", "a"), 0);
  assert.deepEqual(e.propagated, [[0, ["DEL", "a"]]]);
  put(e, "b", str("1"));
  assert.equal(e.call("PEXPIRE", "b", 0), 1);
  assert.equal(e.call("EXISTS", "b"), 0);
  put(e, "c", str("1"));
  assert.equal(e.call("EXPIREAT", "c", 1), 1);
  assert.equal(e.call("EXISTS", "c"), 0);
  put(e, "d", str("1"));
  assert.equal(e.call("PEXPIREAT", "d", "-9223372036854775808"), 1);
  assert.equal(e.call("EXISTS", "d"), 0);
  assert.equal(e.propagated.length, 4);
});

Deno.test("keys expire with the clock", () => {
  const e = new TestEngine();
  put(e, "k", str("v"));
  e.call("PEXPIRE", "k", 100);
  e.advance(99);
  assert.equal(e.call("EXISTS", "k"), 1);
  e.advance(1);
  assert.equal(e.call("EXISTS", "k"), 0);
  assert.equal(e.call("TTL", "k"), -2);
});

Deno.test("EXPIRE NX XX GT LT", () => {
  const e = new TestEngine();
  const now = e.time;
  put(e, "k", str("v"));
  assert.equal(e.call("EXPIRE", "k", 100, "XX"), 0);
  assert.equal(e.call("EXPIRE", "k", 100, "GT"), 0); // no TTL counts as infinite
  assert.equal(e.call("EXPIRE", "k", 100, "LT"), 1);
  assert.equal(e.call("EXPIRE", "k", 50, "NX"), 0);
  assert.equal(e.call("EXPIRE", "k", 50, "xx"), 1);
  assert.equal(e.call("PEXPIRETIME", "k"), now + 50_000);
  assert.equal(e.call("EXPIRE", "k", 40, "GT"), 0);
  assert.equal(e.call("EXPIRE", "k", 50, "GT"), 0);
  assert.equal(e.call("EXPIRE", "k", 60, "gt"), 1);
  assert.equal(e.call("EXPIRE", "k", 70, "LT"), 0);
  assert.equal(e.call("EXPIRE", "k", 60, "LT"), 0);
  assert.equal(e.call("EXPIRE", "k", 30, "LT", "XX"), 1);
  assert.equal(e.call("PEXPIRETIME", "k"), now + 30_000);
  e.call("PERSIST", "k");
  assert.equal(e.call("EXPIRE", "k", 30, "NX"), 1);
  assert.equal(e.call("EXPIRE", "k", -5, "GT"), 0);
  assert.equal(e.call("EXISTS", "k"), 1);
  assert.equal(e.call("EXPIRE", "k", -5, "LT"), 1);
  assert.equal(e.call("EXISTS", "k"), 0);
});

Deno.test("EXPIRE errors", () => {
  const e = new TestEngine();
  put(e, "k", str("v"));
  const compat = "ERR NX and XX, GT or LT options at the same time are not compatible";
  assert.equal(err(e.call("EXPIRE", "k", 10, "NX", "XX")), compat);
  assert.equal(err(e.call("EXPIRE", "k", 10, "NX", "GT")), compat);
  assert.equal(err(e.call("EXPIRE", "k", 10, "LT", "NX")), compat);
  assert.equal(
    err(e.call("EXPIRE", "k", 10, "GT", "LT")),
    "ERR GT and LT options at the same time are not compatible",
  );
  assert.equal(err(e.call("EXPIRE", "k", 10, "FOO")), "ERR Unsupported option FOO");
  // Options are checked before the time.
  assert.equal(err(e.call("EXPIRE", "k", "abc", "FOO")), "ERR Unsupported option FOO");
  assert.equal(err(e.call("EXPIRE", "k", "abc")), "ERR value is not an integer or out of range");
  assert.equal(err(e.call("EXPIRE", "k", "-0")), "ERR value is not an integer or out of range");
  assert.equal(
    err(e.call("EXPIRE", "k", "9223372036854775807")),
    "ERR invalid expire time in 'expire' command",
  );
  assert.equal(
    err(e.call("EXPIRE", "k", "9223372036854775")),
    "ERR invalid expire time in 'expire' command",
  );
  assert.equal(
    err(e.call("EXPIRE", "k", "-9223372036854776")),
    "ERR invalid expire time in 'expire' command",
  );
  assert.equal(
    err(e.call("PEXPIRE", "k", "9223372036854775807")),
    "ERR invalid expire time in 'pexpire' command",
  );
  assert.equal(
    err(e.call("EXPIREAT", "k", "9223372036854776")),
    "ERR invalid expire time in 'expireat' command",
  );
  // The time is checked before the key.
  assert.equal(
    err(e.call("EXPIRE", "missing", "9223372036854775807")),
    "ERR invalid expire time in 'expire' command",
  );
  assert.equal(e.call("PEXPIREAT", "k", "9223372036854775807"), 1);
  assert.equal(e.call("TTL", "k") as number > 0, true);
  assert.equal(err(e.call("EXPIRE", "k")), "ERR wrong number of arguments for 'expire' command");
  assert.equal(e.call("EXISTS", "k"), 1);
});

Deno.test("TTL family on keys without expiry and missing keys", () => {
  const e = new TestEngine();
  put(e, "k", str("v"));
  for (const c of ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"]) {
    assert.equal(e.call(c, "k"), -1);
    assert.equal(e.call(c, "missing"), -2);
  }
});

Deno.test("PERSIST", () => {
  const e = new TestEngine();
  put(e, "k", str("v"));
  assert.equal(e.call("PERSIST", "k"), 0);
  assert.equal(e.call("PERSIST", "missing"), 0);
  assert.deepEqual(e.propagated, []);
  e.call("EXPIRE", "k", 100);
  assert.equal(e.call("PERSIST", "k"), 1);
  assert.deepEqual(e.propagated.at(-1), [0, ["PERSIST", "k"]]);
  assert.equal(e.call("TTL", "k"), -1);
  e.advance(200_000);
  assert.equal(e.call("EXISTS", "k"), 1);
});

Deno.test("KEYS with patterns, skipping expired keys", () => {
  const e = new TestEngine();
  for (const k of ["hello", "hallo", "hxllo", "hllo", "heeeello", "", "a*b"]) put(e, k, str("1"));
  assert.deepEqual(sorted(e.call("KEYS", "*")), [
    "",
    "a*b",
    "hallo",
    "heeeello",
    "hello",
    "hllo",
    "hxllo",
  ]);
  assert.deepEqual(sorted(e.call("KEYS", "h?llo")), ["hallo", "hello", "hxllo"]);
  assert.deepEqual(sorted(e.call("KEYS", "h*llo")), [
    "hallo",
    "heeeello",
    "hello",
    "hllo",
    "hxllo",
  ]);
  assert.deepEqual(sorted(e.call("KEYS", "h[ae]llo")), ["hallo", "hello"]);
  assert.deepEqual(sorted(e.call("KEYS", "h[^e]llo")), ["hallo", "hxllo"]);
  assert.deepEqual(sorted(e.call("KEYS", "a\\*b")), ["a*b"]);
  // Only "*" itself skips matching: other patterns never match the empty key.
  assert.deepEqual(sorted(e.call("KEYS", "**")), [
    "a*b",
    "hallo",
    "heeeello",
    "hello",
    "hllo",
    "hxllo",
  ]);
  assert.deepEqual(e.call("KEYS", "nomatch"), []);
  e.call("PEXPIRE", "hello", 10);
  e.advance(10);
  assert.deepEqual(sorted(e.call("KEYS", "he*")), ["heeeello"]);
  assert.equal(err(e.call("KEYS")), "ERR wrong number of arguments for 'keys' command");
});

Deno.test("SCAN small db, MATCH and TYPE", () => {
  const e = new TestEngine();
  put(e, "k1", str("1"));
  put(e, "k2", str("2"));
  put(e, "h1", hash("f", "v"));
  put(e, "l1", list("a"));
  put(e, "s1", set("a"));
  put(e, "z1", zset(["a", 1]));
  const r = e.call("SCAN", 0) as [string, string[]];
  assert.equal(r[0], "0");
  assert.deepEqual([...r[1]].sort(), ["h1", "k1", "k2", "l1", "s1", "z1"]);
  assert.deepEqual(e.call("SCAN", 0, "MATCH", "k*"), ["0", ["k1", "k2"]]);
  assert.deepEqual(e.call("SCAN", 0, "TYPE", "hash"), ["0", ["h1"]]);
  assert.deepEqual(e.call("SCAN", 0, "TYPE", "ZSET"), ["0", ["z1"]]);
  assert.deepEqual(e.call("SCAN", 0, "TYPE", "nosuchtype"), ["0", []]);
  assert.deepEqual(e.call("SCAN", 0, "type", "string", "match", "*2"), ["0", ["k2"]]);
  assert.deepEqual(e.call("SCAN", "", "MATCH", "l*"), ["0", ["l1"]]);
  e.proto = 3;
  assert.deepEqual(e.call("SCAN", 0, "MATCH", "s*"), ["0", ["s1"]]);
});

Deno.test("SCAN errors", () => {
  const e = new TestEngine();
  assert.equal(err(e.call("SCAN", "abc")), "ERR invalid cursor");
  assert.equal(err(e.call("SCAN", " 0")), "ERR invalid cursor");
  assert.equal(err(e.call("SCAN", "18446744073709551616")), "ERR invalid cursor");
  assert.equal(err(e.call("SCAN", "0", "COUNT", "0")), "ERR syntax error");
  assert.equal(
    err(e.call("SCAN", "0", "COUNT", "x")),
    "ERR value is not an integer or out of range",
  );
  assert.equal(err(e.call("SCAN", "0", "MATCH")), "ERR syntax error");
  assert.equal(err(e.call("SCAN", "0", "FOO", "bar")), "ERR syntax error");
  assert.equal(err(e.call("SCAN", "abc", "COUNT", "0")), "ERR invalid cursor");
});

Deno.test("SCAN iterates in steps and guarantees keys present throughout", () => {
  const e = new TestEngine();
  for (let i = 0; i < 300; i++) put(e, `stable:${i}`, str("x"));
  for (let i = 0; i < 200; i++) put(e, `tmp:${i}`, str("x"));
  const seen = new Set<string>();
  let cursor = "0";
  let steps = 0;
  let added = 0;
  do {
    const [next, keys] = e.call("SCAN", cursor, "COUNT", 20) as [string, string[]];
    assert.ok(keys.length <= 21);
    for (const k of keys) seen.add(k);
    cursor = next;
    // Churn between steps.
    for (let i = 0; i < 10; i++) e.call("DEL", `tmp:${steps * 10 + i}`);
    for (let i = 0; i < 10; i++) put(e, `new:${added++}`, str("x"));
    steps++;
  } while (cursor !== "0");
  assert.ok(steps > 10);
  for (let i = 0; i < 300; i++) assert.ok(seen.has(`stable:${i}`), `stable:${i} missed`);
});

Deno.test("SCAN skips expired keys", () => {
  const e = new TestEngine();
  put(e, "live", str("1"));
  put(e, "dead", str("1"));
  e.call("PEXPIRE", "dead", 5);
  e.advance(5);
  assert.deepEqual(e.call("SCAN", 0), ["0", ["live"]]);
});

Deno.test("RANDOMKEY", () => {
  const e = new TestEngine();
  assert.equal(e.call("RANDOMKEY"), null);
  put(e, "only", str("1"));
  assert.equal(e.call("RANDOMKEY"), "only");
  for (let i = 0; i < 20; i++) put(e, `k${i}`, str("1"));
  const seen = new Set<ReplyValue>();
  for (let i = 0; i < 200; i++) seen.add(e.call("RANDOMKEY"));
  assert.ok(seen.size > 10, "RANDOMKEY is not random");
  // Expired keys are never returned.
  const e2 = new TestEngine();
  put(e2, "a", str("1"));
  put(e2, "b", str("1"));
  e2.call("PEXPIRE", "a", 1);
  e2.call("PEXPIRE", "b", 1);
  e2.advance(1);
  assert.equal(e2.call("RANDOMKEY"), null);
  put(e2, "c", str("1"));
  put(e2, "d", str("1"));
  e2.call("PEXPIRE", "c", 1);
  e2.advance(1);
  for (let i = 0; i < 10; i++) assert.equal(e2.call("RANDOMKEY"), "d");
});

Deno.test("DBSIZE counts this db", () => {
  const e = new TestEngine();
  assert.equal(e.call("DBSIZE"), 0);
  put(e, "a", str("1"));
  put(e, "b", str("1"));
  put(e, "c", str("1"), 3);
  assert.equal(e.call("DBSIZE"), 2);
  e.db = 3;
  assert.equal(e.call("DBSIZE"), 1);
});

Deno.test("RENAME", () => {
  const e = new TestEngine();
  assert.equal(err(e.call("RENAME", "missing", "x")), "ERR no such key");
  assert.equal(err(e.call("RENAME", "missing", "missing")), "ERR no such key");
  put(e, "a", str("1"));
  assert.equal(e.call("RENAME", "a", "a"), "OK");
  assert.deepEqual(e.propagated, []);
  assert.equal(e.call("RENAME", "a", "b"), "OK");
  assert.deepEqual(e.propagated, [[0, ["RENAME", "a", "b"]]]);
  assert.equal(e.call("EXISTS", "a"), 0);
  assert.equal(e.call("TYPE", "b"), "string");
  // The TTL moves with the value and replaces the destination's.
  put(e, "c", hash("f", "v"));
  e.call("PEXPIREAT", "c", "4000000000000");
  e.call("PEXPIREAT", "b", "4000000000123");
  assert.equal(e.call("RENAME", "c", "b"), "OK");
  assert.equal(e.call("TYPE", "b"), "hash");
  assert.equal(e.call("PEXPIRETIME", "b"), 4000000000000);
  put(e, "d", str("x"));
  assert.equal(e.call("RENAME", "d", "b"), "OK");
  assert.equal(e.call("TTL", "b"), -1);
});

Deno.test("RENAMENX", () => {
  const e = new TestEngine();
  assert.equal(err(e.call("RENAMENX", "missing", "x")), "ERR no such key");
  put(e, "a", str("1"));
  put(e, "b", str("2"));
  assert.equal(e.call("RENAMENX", "a", "a"), 0);
  assert.equal(e.call("RENAMENX", "a", "b"), 0);
  assert.deepEqual(e.propagated, []);
  e.call("EXPIRE", "a", 100);
  assert.equal(e.call("RENAMENX", "a", "c"), 1);
  assert.deepEqual(e.propagated.at(-1), [0, ["RENAMENX", "a", "c"]]);
  assert.equal(e.call("TTL", "c"), 100);
  assert.equal(e.call("EXISTS", "a"), 0);
});

Deno.test("COPY deep-copies values and keeps the TTL", () => {
  const e = new TestEngine();
  assert.equal(e.call("COPY", "missing", "x"), 0);
  put(e, "h", hash("f", "v"));
  e.call("PEXPIREAT", "h", "4000000000000");
  assert.equal(e.call("COPY", "h", "h2"), 1);
  assert.deepEqual(e.propagated.at(-1), [0, ["COPY", "h", "h2"]]);
  assert.equal(e.call("PEXPIRETIME", "h2"), 4000000000000);
  e.call("HSET", "h2", "g", "w");
  assert.deepEqual(e.call("HGETALL", "h"), ["f", "v"]);
  assert.deepEqual(e.call("HGETALL", "h2"), ["f", "v", "g", "w"]);
  // Lists, sets, sorted sets are copied, not shared.
  put(e, "l", list("a"));
  put(e, "s", set("a"));
  put(e, "z", zset(["a", 1]));
  for (const k of ["l", "s", "z"]) assert.equal(e.call("COPY", k, `${k}2`), 1);
  const db = e.ks.db(0);
  assert.notEqual(db.get("l")!.value, db.get("l2")!.value);
  assert.notEqual(db.get("s")!.value, db.get("s2")!.value);
  assert.notEqual(db.get("z")!.value, db.get("z2")!.value);
  assert.equal(db.getTyped("z2", "zset")!.score("a"), 1);
  // Existing destination.
  const before = e.propagated.length;
  assert.equal(e.call("COPY", "l", "s"), 0);
  assert.equal(e.propagated.length, before);
  assert.equal(e.call("COPY", "l", "s", "REPLACE"), 1);
  assert.equal(e.call("TYPE", "s"), "list");
});

Deno.test("COPY to another db", () => {
  const e = new TestEngine();
  put(e, "k", str("v"));
  e.call("EXPIRE", "k", 100);
  assert.equal(e.call("COPY", "k", "k", "DB", 1), 1);
  assert.equal(e.call("COPY", "k", "k", "DB", 1), 0);
  assert.equal(e.call("COPY", "k", "k", "db", 1, "replace"), 1);
  assert.deepEqual(e.propagated.at(-1), [0, ["COPY", "k", "k", "db", "1", "replace"]]);
  e.db = 1;
  assert.equal(e.call("TYPE", "k"), "string");
  assert.equal(e.call("TTL", "k"), 100);
});

Deno.test("COPY errors", () => {
  const e = new TestEngine();
  put(e, "k", str("v"));
  const same = "ERR source and destination objects are the same";
  assert.equal(err(e.call("COPY", "k", "k")), same);
  assert.equal(err(e.call("COPY", "k", "k", "DB", 0)), same);
  assert.equal(err(e.call("COPY", "k", "t", "DB", 16)), "ERR DB index is out of range");
  assert.equal(err(e.call("COPY", "k", "t", "DB", -1)), "ERR DB index is out of range");
  assert.equal(
    err(e.call("COPY", "k", "t", "DB", "x")),
    "ERR value is not an integer or out of range",
  );
  assert.equal(
    err(e.call("COPY", "k", "t", "DB", "99999999999")),
    "ERR value is out of range, value must between -2147483648 and 2147483647",
  );
  assert.equal(err(e.call("COPY", "k", "t", "DB")), "ERR syntax error");
  assert.equal(err(e.call("COPY", "k", "t", "FOO")), "ERR syntax error");
  assert.equal(err(e.call("COPY", "missing", "t", "DB", 16)), "ERR DB index is out of range");
  assert.equal(e.call("EXISTS", "t"), 0);
});

Deno.test("FLUSHDB / FLUSHALL", () => {
  const e = new TestEngine();
  put(e, "a", str("1"));
  put(e, "b", str("1"), 2);
  assert.equal(e.call("FLUSHDB"), "OK");
  assert.deepEqual(e.propagated, [[0, ["FLUSHDB"]]]);
  assert.equal(e.call("DBSIZE"), 0);
  assert.equal(e.ks.db(2).size, 1);
  assert.equal(e.call("FLUSHDB", "ASYNC"), "OK");
  assert.equal(e.propagated.length, 1); // nothing to flush
  assert.equal(err(e.call("FLUSHDB", "foo")), "ERR syntax error");
  assert.equal(err(e.call("FLUSHDB", "SYNC", "ASYNC")), "ERR syntax error");
  put(e, "a", str("1"));
  assert.equal(e.call("FLUSHALL", "sync"), "OK");
  assert.deepEqual(e.propagated.at(-1), [0, ["FLUSHALL", "sync"]]);
  assert.equal(e.ks.size, 0);
  assert.equal(err(e.call("FLUSHALL", "x")), "ERR syntax error");
});

Deno.test("OBJECT ENCODING", () => {
  const e = new TestEngine();
  const cases: [Entry, string][] = [
    [str("12345"), "int"],
    [str("-42"), "int"],
    [str("9223372036854775807"), "int"],
    [str("9223372036854775808"), "embstr"],
    [str("-0"), "embstr"],
    [str("012"), "embstr"],
    [str("a".repeat(44)), "embstr"],
    [str("a".repeat(45)), "raw"],
    [hash("f", "v"), "listpack"],
    [hash("f", "x".repeat(64)), "listpack"],
    [hash("f", "x".repeat(65)), "hashtable"],
    [hash("x".repeat(65), "v"), "hashtable"],
    [list("a"), "quicklist"],
    [set("1", "-2", "9223372036854775807"), "intset"],
    [set("1", "a"), "hashtable"],
    [set("01"), "hashtable"],
    [zset(["a", 1]), "listpack"],
    [zset(["x".repeat(65), 1]), "skiplist"],
  ];
  for (const [entry, enc] of cases) {
    put(e, "k", entry);
    assert.equal(e.call("OBJECT", "ENCODING", "k"), enc, JSON.stringify(entry.value));
  }
  assert.equal(e.call("OBJECT", "encoding", "missing"), null);
});

Deno.test("encoding thresholds by size", () => {
  const h = new Map<string, string>();
  for (let i = 0; i < 512; i++) h.set(`f${i}`, "v");
  assert.equal(hashIsListpack(h), true);
  h.set("one", "more");
  assert.equal(hashIsListpack(h), false);
  const s = new Set<string>();
  for (let i = 0; i < 512; i++) s.add(String(i));
  assert.equal(setIsIntset(s), true);
  s.add("512");
  assert.equal(setIsIntset(s), false);
  const z = new SortedSet();
  for (let i = 0; i < 128; i++) z.add(`m${i}`, i);
  assert.equal(zsetIsListpack(z), true);
  z.add("extra", 0);
  assert.equal(zsetIsListpack(z), false);
  assert.equal(objectEncoding({ type: "zset", value: z }), "skiplist");
});

Deno.test("OBJECT REFCOUNT / IDLETIME / FREQ / HELP and errors", () => {
  const e = new TestEngine();
  put(e, "small", str("42"));
  put(e, "large", str("123456"));
  put(e, "s", str("abc"));
  assert.equal(e.call("OBJECT", "REFCOUNT", "small"), 2147483647);
  assert.equal(e.call("OBJECT", "REFCOUNT", "large"), 1);
  assert.equal(e.call("OBJECT", "REFCOUNT", "s"), 1);
  assert.equal(e.call("OBJECT", "REFCOUNT", "missing"), null);
  assert.equal(e.call("OBJECT", "IDLETIME", "s"), 0);
  assert.equal(e.call("OBJECT", "IDLETIME", "missing"), null);
  assert.equal(e.call("OBJECT", "FREQ", "missing"), null);
  assert.match(err(e.call("OBJECT", "FREQ", "s")), /^ERR An LFU maxmemory policy is not selected/);
  const help = e.call("OBJECT", "HELP") as string[];
  assert.equal(help.length, 15);
  assert.equal(help[0], "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
  assert.equal(
    err(e.call("OBJECT", "HELP", "x")),
    "ERR wrong number of arguments for 'object|help' command",
  );
  assert.equal(err(e.call("OBJECT", "FoO")), "ERR unknown subcommand 'FoO'. Try OBJECT HELP.");
  assert.equal(
    err(e.call("OBJECT", "ENCODING")),
    "ERR wrong number of arguments for 'object|encoding' command",
  );
  assert.equal(
    err(e.call("OBJECT", "Encoding", "a", "b")),
    "ERR wrong number of arguments for 'object|encoding' command",
  );
});

Deno.test("OBJECT / MEMORY declare their key position", () => {
  const e = new TestEngine();
  const obj = e.exec.table.get("object")!;
  const mem = e.exec.table.get("memory")!;
  assert.deepEqual(obj.keys!(["OBJECT", "ENCODING", "k"]), [2]);
  assert.deepEqual(obj.keys!(["OBJECT", "HELP"]), []);
  assert.deepEqual(obj.keys!(["OBJECT", "ENCODING"]), []);
  assert.deepEqual(mem.keys!(["MEMORY", "usage", "k", "SAMPLES", "1"]), [2]);
  assert.deepEqual(mem.keys!(["MEMORY", "HELP"]), []);
});

Deno.test("MEMORY USAGE", () => {
  const e = new TestEngine();
  put(e, "k", str("v"));
  put(e, "h", hash("f", "v"));
  assert.equal(e.call("MEMORY", "USAGE", "missing"), null);
  assert.equal(e.call("MEMORY", "USAGE", "k"), 64); // what Redis 7.0 reports
  assert.equal(e.call("MEMORY", "USAGE", "h"), 64);
  assert.equal(e.call("MEMORY", "USAGE", "h", "SAMPLES", 0), 64);
  assert.equal(err(e.call("MEMORY", "USAGE", "k", "SAMPLES", -1)), "ERR syntax error");
  assert.equal(
    err(e.call("MEMORY", "USAGE", "k", "SAMPLES", "x")),
    "ERR value is not an integer or out of range",
  );
  assert.equal(err(e.call("MEMORY", "USAGE", "k", "SAMPLES")), "ERR syntax error");
  assert.equal(err(e.call("MEMORY", "USAGE", "missing", "FOO")), "ERR syntax error");
  assert.equal(
    err(e.call("MEMORY", "USAGE")),
    "ERR wrong number of arguments for 'memory|usage' command",
  );
  assert.equal(err(e.call("MEMORY", "FOO")), "ERR unknown subcommand 'FOO'. Try MEMORY HELP.");
  assert.equal((e.call("MEMORY", "HELP") as string[]).length, 14);
  assert.equal(e.call("MEMORY", "PURGE"), "OK");
});

Deno.test("memoryUsage grows with content and matches Redis on small values", () => {
  // Reference points from redis-server 7.0 (key "k").
  assert.equal(memoryUsage("k", str("123"), 5), 48);
  assert.equal(memoryUsage("k", str("x".repeat(20)), 5), 80);
  assert.equal(memoryUsage("k", str("x".repeat(45)), 5), 112);
  assert.equal(memoryUsage("k", str("x".repeat(200)), 5), 272);
  assert.equal(memoryUsage("k", str("x".repeat(1000)), 5), 1072);
  const big = new Map<string, string>();
  for (let i = 0; i < 1000; i++) big.set(`field${i}`, `value${i}`);
  const usage = memoryUsage("h", { type: "hash", value: big }, Infinity);
  assert.ok(usage > 55_000 && usage < 75_000, String(usage)); // Redis: 64136
  const l = Deque.from(Array.from({ length: 3000 }, (_, i) => `value${i}`));
  assert.ok(memoryUsage("l", { type: "list", value: l }, 5) > 24_000);
});

Deno.test("RESP3 shapes of key commands", () => {
  const e = new TestEngine();
  e.proto = 3;
  assert.equal(e.call("RANDOMKEY"), null);
  put(e, "k", str("v"));
  assert.deepEqual(e.call("KEYS", "*"), ["k"]);
  assert.equal(e.call("TYPE", "k"), "string");
  assert.equal(e.call("OBJECT", "ENCODING", "missing"), null);
});
