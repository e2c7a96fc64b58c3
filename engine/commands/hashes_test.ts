import assert from "node:assert/strict";
import { TestEngine } from "../testing.ts";
import { ReplyError, type ReplyValue } from "../reply.ts";
import { incrByFloatLongDouble } from "./hashes.ts";

function err(v: ReplyValue): string {
  assert.ok(v instanceof ReplyError, `expected an error, got ${JSON.stringify(v)}`);
  return v.message;
}

function withString(key = "s"): TestEngine {
  const e = new TestEngine();
  e.ks.db(0).set(key, { type: "string", value: "v" });
  return e;
}

const WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value";

Deno.test("HSET / HGET / HMSET / HMGET", () => {
  const e = new TestEngine();
  assert.equal(e.call("HSET", "h", "f1", "v1"), 1);
  assert.equal(e.call("HSET", "h", "f1", "v1b", "f2", "v2", "f3", "v3"), 2);
  assert.equal(e.call("HSET", "h", "f4", "a", "f4", "b"), 1);
  assert.equal(e.call("HGET", "h", "f1"), "v1b");
  assert.equal(e.call("HGET", "h", "f4"), "b");
  assert.equal(e.call("HGET", "h", "nope"), null);
  assert.equal(e.call("HGET", "nokey", "f"), null);
  assert.equal(e.call("HMSET", "h", "f5", "v5", "f1", "v1c"), "OK");
  assert.deepEqual(e.call("HMGET", "h", "f1", "nope", "f5"), ["v1c", null, "v5"]);
  assert.deepEqual(e.call("HMGET", "nokey", "a", "b"), [null, null]);
  assert.deepEqual(e.propagated, [
    [0, ["HSET", "h", "f1", "v1"]],
    [0, ["HSET", "h", "f1", "v1b", "f2", "v2", "f3", "v3"]],
    [0, ["HSET", "h", "f4", "a", "f4", "b"]],
    [0, ["HMSET", "h", "f5", "v5", "f1", "v1c"]],
  ]);
  // Binary safe fields and values.
  assert.equal(e.call("HSET", "b", "f\x00\xff", "v\r\n"), 1);
  assert.equal(e.call("HGET", "b", "f\x00\xff"), "v\r\n");
});

Deno.test("HSET keeps the key's TTL", () => {
  const e = new TestEngine();
  e.call("HSET", "h", "a", "1");
  e.call("EXPIRE", "h", 100);
  e.call("HSET", "h", "b", "2");
  assert.equal(e.call("TTL", "h"), 100);
});

Deno.test("HSET / HMSET arity and type errors", () => {
  const e = withString();
  assert.equal(err(e.call("HSET", "h", "f")), "ERR wrong number of arguments for 'hset' command");
  assert.equal(
    err(e.call("HSET", "h", "f", "v", "g")),
    "ERR wrong number of arguments for 'hset' command",
  );
  assert.equal(
    err(e.call("HMSET", "h", "f", "v", "g")),
    "ERR wrong number of arguments for 'hmset' command",
  );
  assert.equal(e.call("EXISTS", "h"), 0);
  for (
    const cmd of [
      ["HSET", "s", "f", "v"],
      ["HMSET", "s", "f", "v"],
      ["HSETNX", "s", "f", "v"],
      ["HGET", "s", "f"],
      ["HMGET", "s", "f"],
      ["HDEL", "s", "f"],
      ["HEXISTS", "s", "f"],
      ["HLEN", "s"],
      ["HSTRLEN", "s", "f"],
      ["HKEYS", "s"],
      ["HVALS", "s"],
      ["HGETALL", "s"],
      ["HINCRBY", "s", "f", "1"],
      ["HINCRBYFLOAT", "s", "f", "1"],
      ["HRANDFIELD", "s"],
      ["HRANDFIELD", "s", "0"],
      ["HSCAN", "s", "0"],
    ]
  ) {
    assert.equal(err(e.call(...cmd)), WRONGTYPE, cmd.join(" "));
  }
  assert.deepEqual(e.propagated, []);
});

Deno.test("HSETNX", () => {
  const e = new TestEngine();
  assert.equal(e.call("HSETNX", "h", "f", "v"), 1);
  assert.equal(e.call("HSETNX", "h", "f", "w"), 0);
  assert.equal(e.call("HSETNX", "h", "g", "w"), 1);
  assert.deepEqual(e.call("HGETALL", "h"), ["f", "v", "g", "w"]);
  assert.deepEqual(e.propagated, [
    [0, ["HSETNX", "h", "f", "v"]],
    [0, ["HSETNX", "h", "g", "w"]],
  ]);
});

Deno.test("HDEL / HEXISTS / HLEN, empty hashes are removed", () => {
  const e = new TestEngine();
  e.call("HSET", "h", "a", "1", "b", "2", "c", "3");
  e.propagated.length = 0;
  assert.equal(e.call("HEXISTS", "h", "a"), 1);
  assert.equal(e.call("HEXISTS", "h", "z"), 0);
  assert.equal(e.call("HEXISTS", "nokey", "a"), 0);
  assert.equal(e.call("HDEL", "h", "a", "a", "z"), 1);
  assert.equal(e.call("HDEL", "h", "a"), 0);
  assert.equal(e.call("HDEL", "nokey", "a"), 0);
  assert.deepEqual(e.propagated, [[0, ["HDEL", "h", "a", "a", "z"]]]);
  assert.equal(e.call("HLEN", "h"), 2);
  assert.equal(e.call("HLEN", "nokey"), 0);
  assert.equal(e.call("HDEL", "h", "b", "c"), 2);
  assert.equal(e.call("EXISTS", "h"), 0);
  assert.equal(e.call("TYPE", "h"), "none");
});

Deno.test("HSTRLEN / HKEYS / HVALS / HGETALL in insertion order", () => {
  const e = new TestEngine();
  e.call("HSET", "h", "a", "hello", "b", "", "c", "12345");
  assert.equal(e.call("HSTRLEN", "h", "a"), 5);
  assert.equal(e.call("HSTRLEN", "h", "b"), 0);
  assert.equal(e.call("HSTRLEN", "h", "c"), 5);
  assert.equal(e.call("HSTRLEN", "h", "nope"), 0);
  assert.equal(e.call("HSTRLEN", "nokey", "a"), 0);
  e.call("HDEL", "h", "b");
  e.call("HSET", "h", "b", "again", "a", "updated");
  assert.deepEqual(e.call("HKEYS", "h"), ["a", "c", "b"]);
  assert.deepEqual(e.call("HVALS", "h"), ["updated", "12345", "again"]);
  assert.deepEqual(e.call("HGETALL", "h"), ["a", "updated", "c", "12345", "b", "again"]);
  assert.deepEqual(e.call("HKEYS", "nokey"), []);
  assert.deepEqual(e.call("HVALS", "nokey"), []);
  assert.deepEqual(e.call("HGETALL", "nokey"), []);
});

Deno.test("HGETALL is a map in RESP3", () => {
  const e = new TestEngine();
  e.proto = 3;
  e.call("HSET", "h", "a", "1", "b", "2");
  assert.deepEqual(e.call("HGETALL", "h"), new Map([["a", "1"], ["b", "2"]]));
  assert.deepEqual(e.call("HGETALL", "nokey"), new Map());
  assert.equal(e.call("HGET", "h", "nope"), null);
});

Deno.test("HINCRBY", () => {
  const e = new TestEngine();
  assert.equal(e.call("HINCRBY", "h", "n", 5), 5);
  assert.equal(e.call("HINCRBY", "h", "n", -7), -2);
  assert.equal(e.call("HGET", "h", "n"), "-2");
  assert.deepEqual(e.propagated.at(-1), [0, ["HINCRBY", "h", "n", "-7"]]);
  e.call("HSET", "h", "s", "abc", "f", "1.5", "lz", "01", "mz", "-0", "sp", " 1");
  for (const f of ["s", "f", "lz", "mz", "sp"]) {
    assert.equal(err(e.call("HINCRBY", "h", f, 1)), "ERR hash value is not an integer", f);
  }
  for (const bad of ["abc", "1.0", "-0", "007", "", "9223372036854775808"]) {
    assert.equal(
      err(e.call("HINCRBY", "h", "n", bad)),
      "ERR value is not an integer or out of range",
    );
  }
  assert.equal(e.call("HINCRBY", "h", "big", "9223372036854775807"), 9223372036854775807n);
  assert.equal(err(e.call("HINCRBY", "h", "big", 1)), "ERR increment or decrement would overflow");
  assert.equal(e.call("HINCRBY", "h", "small", "-9223372036854775808"), -9223372036854775808n);
  assert.equal(
    err(e.call("HINCRBY", "h", "small", -1)),
    "ERR increment or decrement would overflow",
  );
  assert.equal(e.call("HINCRBY", "h", "small", 1), -9223372036854775807n);
  // Exact beyond 2^53.
  assert.equal(e.call("HINCRBY", "h", "x", "9007199254740993"), 9007199254740993n);
  assert.equal(e.call("HINCRBY", "h", "x", 2), 9007199254740995n);
  assert.equal(e.call("HGET", "h", "x"), "9007199254740995");
  // A bad increment on a missing key creates nothing.
  assert.equal(
    err(e.call("HINCRBY", "nokey", "n", "x")),
    "ERR value is not an integer or out of range",
  );
  assert.equal(e.call("EXISTS", "nokey"), 0);
});

Deno.test("HINCRBYFLOAT computes in long double and propagates HSET", () => {
  const e = new TestEngine();
  assert.equal(e.call("HINCRBYFLOAT", "h", "f", "10.5"), "10.5");
  assert.deepEqual(e.propagated.at(-1), [0, ["HSET", "h", "f", "10.5"]]);
  assert.equal(e.call("HINCRBYFLOAT", "h", "f", "0.1"), "10.6");
  assert.deepEqual(e.propagated.at(-1), [0, ["HSET", "h", "f", "10.6"]]);
  assert.equal(e.call("HINCRBYFLOAT", "h", "a", "0.1"), "0.1");
  assert.equal(e.call("HINCRBYFLOAT", "h", "a", "0.2"), "0.3");
  assert.equal(e.call("HINCRBYFLOAT", "h", "b", "1e15"), "1000000000000000");
  assert.equal(e.call("HINCRBYFLOAT", "h", "b", "0.1"), "1000000000000000.0999755859375");
  assert.equal(e.call("HINCRBYFLOAT", "h", "c", "5.0e3"), "5000");
  assert.equal(e.call("HINCRBYFLOAT", "h", "c", "2.0e2"), "5200");
  assert.equal(e.call("HINCRBYFLOAT", "h", "g", "-1e-20"), "0");
  assert.equal(e.call("HINCRBYFLOAT", "h", "hex", "0x10"), "16");
  assert.equal(e.call("HINCRBYFLOAT", "h", "hex", "0x.8p1"), "17");
  e.call("HSET", "h", "big", "123456789012345678901234567890");
  assert.equal(e.call("HINCRBYFLOAT", "h", "big", "1"), "123456789012345678899921813504");
  // Beyond double range, within long double range.
  const huge = e.call("HINCRBYFLOAT", "h", "e", "1e4000") as string;
  assert.equal(huge.length, 4000); // 1e4000 rounds down to 9.99...e3999
  assert.ok(huge.startsWith("99999999999999999999654638"));
  e.proto = 3;
  assert.equal(e.call("HINCRBYFLOAT", "h", "r3", "1.5"), "1.5"); // a bulk string in RESP3 too
});

Deno.test("HINCRBYFLOAT errors", () => {
  const e = new TestEngine();
  e.call("HSET", "h", "s", "abc", "inf", "inf", "sp", "1 ", "max", "1e4932");
  e.propagated.length = 0;
  assert.equal(err(e.call("HINCRBYFLOAT", "h", "s", "1")), "ERR hash value is not a float");
  assert.equal(err(e.call("HINCRBYFLOAT", "h", "sp", "1")), "ERR hash value is not a float");
  assert.equal(
    err(e.call("HINCRBYFLOAT", "h", "inf", "1")),
    "ERR increment would produce NaN or Infinity",
  );
  assert.equal(
    err(e.call("HINCRBYFLOAT", "h", "max", "1e4932")),
    "ERR increment would produce NaN or Infinity",
  );
  for (const bad of ["abc", "", ".", "1e", "0x", "0x1p", " 1", "1 ", "nan", "1e5000", "1e-5000"]) {
    assert.equal(err(e.call("HINCRBYFLOAT", "h", "n", bad)), "ERR value is not a valid float", bad);
  }
  assert.equal(err(e.call("HINCRBYFLOAT", "h", "n", "inf")), "ERR value is NaN or Infinity");
  assert.equal(err(e.call("HINCRBYFLOAT", "h", "n", "-Infinity")), "ERR value is NaN or Infinity");
  // The increment is checked before the current value.
  assert.equal(err(e.call("HINCRBYFLOAT", "h", "s", "abc")), "ERR value is not a valid float");
  assert.equal(err(e.call("HINCRBYFLOAT", "nokey", "n", "abc")), "ERR value is not a valid float");
  assert.equal(e.call("EXISTS", "nokey"), 0);
  assert.equal(e.call("HEXISTS", "h", "n"), 0);
  assert.deepEqual(e.propagated, []);
});

Deno.test("incrByFloatLongDouble formatting", () => {
  assert.equal(incrByFloatLongDouble(undefined, "0"), "0");
  assert.equal(incrByFloatLongDouble("-0", "-0.0"), "0");
  assert.equal(incrByFloatLongDouble("1.5", "-1.5"), "0");
  assert.equal(incrByFloatLongDouble("3", "-3.25"), "-0.25");
  assert.equal(incrByFloatLongDouble(undefined, "3.0000000000000000000000001"), "3");
  assert.equal(incrByFloatLongDouble(undefined, "+.5e1"), "5");
  assert.equal(incrByFloatLongDouble(undefined, "1e-4940"), "0");
  assert.equal(incrByFloatLongDouble("10", "1", "value is not a valid float"), "11");
  assert.throws(
    () => incrByFloatLongDouble("x", "1", "value is not a valid float"),
    (e) => e instanceof Error && e.message === "value is not a valid float",
  );
});

Deno.test("HRANDFIELD without count", () => {
  const e = new TestEngine();
  assert.equal(e.call("HRANDFIELD", "nokey"), null);
  e.call("HSET", "h", "a", "1", "b", "2", "c", "3");
  const seen = new Set<ReplyValue>();
  for (let i = 0; i < 60; i++) seen.add(e.call("HRANDFIELD", "h"));
  assert.deepEqual([...seen].sort(), ["a", "b", "c"]);
  e.proto = 3;
  assert.equal(e.call("HRANDFIELD", "nokey"), null);
});

Deno.test("HRANDFIELD with count", () => {
  const e = new TestEngine();
  assert.deepEqual(e.call("HRANDFIELD", "nokey", 3), []);
  assert.deepEqual(e.call("HRANDFIELD", "nokey", -3, "WITHVALUES"), []);
  e.call("HSET", "h", "a", "1", "b", "2", "c", "3", "d", "4");
  assert.deepEqual(e.call("HRANDFIELD", "h", 0), []);
  // Positive: distinct fields, at most the hash size.
  for (let i = 0; i < 20; i++) {
    const r = e.call("HRANDFIELD", "h", 2) as string[];
    assert.equal(r.length, 2);
    assert.equal(new Set(r).size, 2);
  }
  assert.deepEqual((e.call("HRANDFIELD", "h", 10) as string[]).sort(), ["a", "b", "c", "d"]);
  // Negative: repetitions allowed, exactly |count| items.
  const neg = e.call("HRANDFIELD", "h", -50) as string[];
  assert.equal(neg.length, 50);
  assert.ok(new Set(neg).size < 50);
  for (const f of neg) assert.ok(["a", "b", "c", "d"].includes(f));
  // WITHVALUES: flat pairs in RESP2...
  const wv = e.call("HRANDFIELD", "h", -3, "withvalues") as string[];
  assert.equal(wv.length, 6);
  for (let i = 0; i < 6; i += 2) assert.equal(wv[i + 1], String(wv[i]!.charCodeAt(0) - 96));
  // ...and [field, value] arrays in RESP3.
  e.proto = 3;
  const wv3 = e.call("HRANDFIELD", "h", 2, "WITHVALUES") as string[][];
  assert.equal(wv3.length, 2);
  for (const [f, v] of wv3) assert.equal(v, String(f!.charCodeAt(0) - 96));
  const one = e.call("HRANDFIELD", "h", 1, "WITHVALUES") as string[][];
  assert.equal(one.length, 1);
  assert.equal(one[0]!.length, 2);
  e.call("HSET", "one", "f", "v");
  assert.deepEqual(e.call("HRANDFIELD", "one", 1, "WITHVALUES"), [["f", "v"]]);
  assert.deepEqual(e.call("HRANDFIELD", "one", -2, "WITHVALUES"), [["f", "v"], ["f", "v"]]);
  assert.deepEqual(e.call("HRANDFIELD", "one", 5), ["f"]);
});

Deno.test("HRANDFIELD errors", () => {
  const e = new TestEngine();
  e.call("HSET", "h", "a", "1");
  assert.equal(
    err(e.call("HRANDFIELD", "h", "abc")),
    "ERR value is not an integer or out of range",
  );
  assert.equal(
    err(e.call("HRANDFIELD", "nokey", "abc")),
    "ERR value is not an integer or out of range",
  );
  assert.equal(err(e.call("HRANDFIELD", "h", 1, "FOO")), "ERR syntax error");
  assert.equal(err(e.call("HRANDFIELD", "h", 1, "WITHVALUES", "x")), "ERR syntax error");
  assert.equal(
    err(e.call("HRANDFIELD", "h", "4611686018427387904", "WITHVALUES")),
    "ERR value is out of range",
  );
  assert.equal(
    err(e.call("HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES")),
    "ERR value is out of range",
  );
  assert.equal(
    err(e.call("HRANDFIELD", "h", "-9223372036854775808")),
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
  );
  assert.deepEqual(e.call("HRANDFIELD", "h", "9223372036854775807"), ["a"]);
});

Deno.test("HSCAN small hash is returned whole", () => {
  const e = new TestEngine();
  assert.deepEqual(e.call("HSCAN", "nokey", 0), ["0", []]);
  assert.deepEqual(e.call("HSCAN", "nokey", 0, "COUNT", "x"), ["0", []]); // options unchecked
  assert.equal(err(e.call("HSCAN", "nokey", "x")), "ERR invalid cursor");
  e.call("HSET", "h", "name", "n", "age", "3", "nick", "x");
  assert.deepEqual(e.call("HSCAN", "h", 0), ["0", ["name", "n", "age", "3", "nick", "x"]]);
  assert.deepEqual(e.call("HSCAN", "h", 0, "COUNT", 1), ["0", [
    "name",
    "n",
    "age",
    "3",
    "nick",
    "x",
  ]]);
  assert.deepEqual(e.call("HSCAN", "h", 99, "COUNT", 1), ["0", [
    "name",
    "n",
    "age",
    "3",
    "nick",
    "x",
  ]]);
  assert.deepEqual(e.call("HSCAN", "h", 0, "MATCH", "n*"), ["0", ["name", "n", "nick", "x"]]);
  assert.deepEqual(e.call("HSCAN", "h", 0, "MATCH", "zz"), ["0", []]);
  e.proto = 3;
  assert.deepEqual(e.call("HSCAN", "h", 0, "MATCH", "a*"), ["0", ["age", "3"]]);
});

Deno.test("HSCAN errors", () => {
  const e = new TestEngine();
  e.call("HSET", "h", "a", "1");
  assert.equal(err(e.call("HSCAN", "h", "abc")), "ERR invalid cursor");
  assert.equal(err(e.call("HSCAN", "h", 0, "COUNT", 0)), "ERR syntax error");
  assert.equal(
    err(e.call("HSCAN", "h", 0, "COUNT", "x")),
    "ERR value is not an integer or out of range",
  );
  assert.equal(err(e.call("HSCAN", "h", 0, "MATCH")), "ERR syntax error");
  assert.equal(err(e.call("HSCAN", "h", 0, "TYPE", "string")), "ERR syntax error");
});

Deno.test("HSCAN big hash iterates with cursors and survives changes", () => {
  const e = new TestEngine();
  const args: string[] = [];
  for (let i = 0; i < 1000; i++) args.push(`f${i}`, `v${i}`);
  e.call("HSET", "h", ...args);
  const seen = new Map<string, string>();
  let cursor = "0";
  let steps = 0;
  do {
    const [next, flat] = e.call("HSCAN", "h", cursor, "COUNT", 50) as [string, string[]];
    for (let i = 0; i < flat.length; i += 2) seen.set(flat[i]!, flat[i + 1]!);
    cursor = next;
    e.call("HSET", "h", `new${steps}`, "x");
    e.call("HDEL", "h", `f${999 - steps}`);
    steps++;
  } while (cursor !== "0");
  assert.ok(steps >= 15);
  for (let i = 0; i < 1000 - steps; i++) assert.equal(seen.get(`f${i}`), `v${i}`);
  // A hash with a long value is not a listpack: COUNT applies.
  e.call("HSET", "w", "a", "1", "b", "x".repeat(65), "c", "3");
  const [c1, items] = e.call("HSCAN", "w", 0, "COUNT", 1) as [string, string[]];
  assert.notEqual(c1, "0");
  assert.deepEqual(items, ["a", "1"]);
});
