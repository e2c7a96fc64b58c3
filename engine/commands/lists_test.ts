import assert from "node:assert/strict";
import { TestEngine } from "../testing.ts";
import { ReplyError, type ReplyValue } from "../reply.ts";
import { keyPositions } from "../command.ts";
import { COMMANDS } from "../commands.ts";

const WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value";

function err(v: ReplyValue): string {
  assert.ok(v instanceof ReplyError, `expected an error, got ${JSON.stringify(v)}`);
  return v.message;
}

/** An engine with a string key "str" (set directly so this test needs no string commands). */
function engine(): TestEngine {
  const e = new TestEngine();
  e.ks.db(0).set("str", { type: "string", value: "v" });
  return e;
}

function list(e: TestEngine, key: string): ReplyValue {
  return e.call("LRANGE", key, 0, -1);
}

function hasKey(e: TestEngine, key: string): boolean {
  return e.ks.db(e.db).has(key);
}

Deno.test("LPUSH / RPUSH: order, length, creation, wrong type, propagation", () => {
  const e = engine();
  assert.equal(e.call("LPUSH", "l", "a", "b", "c"), 3);
  assert.deepEqual(list(e, "l"), ["c", "b", "a"]);
  assert.equal(e.call("RPUSH", "l", "x", "y"), 5);
  assert.deepEqual(list(e, "l"), ["c", "b", "a", "x", "y"]);
  assert.equal(e.call("rpush", "r", "1"), 1);
  assert.equal(err(e.call("LPUSH", "str", "a")), WRONGTYPE);
  assert.equal(err(e.call("RPUSH", "str", "a")), WRONGTYPE);
  assert.equal(err(e.call("LPUSH", "l")), "ERR wrong number of arguments for 'lpush' command");
  assert.deepEqual(e.propagated, [
    [0, ["LPUSH", "l", "a", "b", "c"]],
    [0, ["RPUSH", "l", "x", "y"]],
    [0, ["rpush", "r", "1"]],
  ]);
});

Deno.test("LPUSH: binary-safe values and many elements", () => {
  const e = engine();
  const bin = "\x00\xff\r\n";
  assert.equal(e.call("RPUSH", "l", bin), 1);
  assert.equal(e.call("LINDEX", "l", 0), bin);
  for (let i = 0; i < 1000; i++) e.call("LPUSH", "big", String(i));
  assert.equal(e.call("LLEN", "big"), 1000);
  assert.equal(e.call("LINDEX", "big", 0), "999");
  assert.equal(e.call("LINDEX", "big", -1), "0");
});

Deno.test("LPUSHX / RPUSHX only push onto existing lists", () => {
  const e = engine();
  assert.equal(e.call("LPUSHX", "l", "a"), 0);
  assert.equal(e.call("RPUSHX", "l", "a"), 0);
  assert.equal(hasKey(e, "l"), false);
  assert.deepEqual(e.propagated, []);
  e.call("RPUSH", "l", "m");
  assert.equal(e.call("LPUSHX", "l", "a", "b"), 3);
  assert.equal(e.call("RPUSHX", "l", "z"), 4);
  assert.deepEqual(list(e, "l"), ["b", "a", "m", "z"]);
  assert.equal(err(e.call("LPUSHX", "str", "a")), WRONGTYPE);
  assert.equal(err(e.call("RPUSHX", "str", "a")), WRONGTYPE);
  assert.deepEqual(e.propagated.slice(1), [
    [0, ["LPUSHX", "l", "a", "b"]],
    [0, ["RPUSHX", "l", "z"]],
  ]);
});

Deno.test("LPOP / RPOP without count", () => {
  const e = engine();
  assert.equal(e.call("LPOP", "l"), null);
  assert.equal(e.call("RPOP", "l"), null);
  e.call("RPUSH", "l", "a", "b", "c");
  assert.equal(e.call("LPOP", "l"), "a");
  assert.equal(e.call("RPOP", "l"), "c");
  assert.equal(e.call("RPOP", "l"), "b");
  assert.equal(hasKey(e, "l"), false);
  assert.equal(err(e.call("LPOP", "str")), WRONGTYPE);
  assert.deepEqual(e.propagated.slice(1), [
    [0, ["LPOP", "l"]],
    [0, ["RPOP", "l"]],
    [0, ["RPOP", "l"]],
  ]);
});

Deno.test("LPOP / RPOP with count: shapes, zero, errors", () => {
  const e = engine();
  assert.equal(e.call("LPOP", "l", 2), null); // null array
  e.call("RPUSH", "l", "a", "b", "c", "d", "e");
  assert.deepEqual(e.call("LPOP", "l", 0), []);
  assert.deepEqual(e.call("LPOP", "l", 2), ["a", "b"]);
  assert.deepEqual(e.call("RPOP", "l", 2), ["e", "d"]);
  assert.deepEqual(e.call("RPOP", "l", 10), ["c"]);
  assert.equal(hasKey(e, "l"), false);
  const positive = "ERR value is out of range, must be positive";
  assert.equal(err(e.call("LPOP", "l", -1)), positive);
  assert.equal(err(e.call("LPOP", "l", "x")), positive);
  assert.equal(err(e.call("RPOP", "str", -1)), positive);
  assert.equal(err(e.call("RPOP", "str", 1)), WRONGTYPE);
  assert.equal(err(e.call("LPOP", "l", 1, 2)), "ERR wrong number of arguments for 'lpop' command");
  assert.equal(err(e.call("RPOP", "l", 1, 2)), "ERR wrong number of arguments for 'rpop' command");
  assert.deepEqual(e.propagated.slice(1), [
    [0, ["LPOP", "l", "2"]],
    [0, ["RPOP", "l", "2"]],
    [0, ["RPOP", "l", "10"]],
  ]);
});

Deno.test("LPOP with count: RESP3 null for a missing key", () => {
  const e = engine();
  e.proto = 3;
  assert.equal(e.call("LPOP", "nol", 1), null);
  assert.equal(e.call("LPOP", "nol"), null);
  e.call("RPUSH", "l", "a");
  assert.deepEqual(e.call("LPOP", "l", 1), ["a"]);
});

Deno.test("LLEN", () => {
  const e = engine();
  assert.equal(e.call("LLEN", "l"), 0);
  e.call("RPUSH", "l", "a", "b");
  assert.equal(e.call("LLEN", "l"), 2);
  assert.equal(err(e.call("LLEN", "str")), WRONGTYPE);
});

Deno.test("LRANGE: ranges, clamping, errors", () => {
  const e = engine();
  assert.deepEqual(e.call("LRANGE", "l", 0, -1), []);
  e.call("RPUSH", "l", "a", "b", "c", "d");
  assert.deepEqual(e.call("LRANGE", "l", 1, 2), ["b", "c"]);
  assert.deepEqual(e.call("LRANGE", "l", -2, -1), ["c", "d"]);
  assert.deepEqual(e.call("LRANGE", "l", -100, 100), ["a", "b", "c", "d"]);
  assert.deepEqual(e.call("LRANGE", "l", 2, 1), []);
  assert.deepEqual(e.call("LRANGE", "l", 4, 10), []);
  assert.deepEqual(e.call("LRANGE", "l", 0, -5), []);
  const notInt = "ERR value is not an integer or out of range";
  assert.equal(err(e.call("LRANGE", "l", "x", 1)), notInt);
  assert.equal(err(e.call("LRANGE", "nol", 0, "1.5")), notInt);
  assert.equal(err(e.call("LRANGE", "str", 0, 1)), WRONGTYPE);
  assert.equal(err(e.call("LRANGE", "str", "x", 1)), notInt);
});

Deno.test("LINDEX: positive and negative indexes; lookup before parsing", () => {
  const e = engine();
  e.call("RPUSH", "l", "a", "b", "c");
  assert.equal(e.call("LINDEX", "l", 0), "a");
  assert.equal(e.call("LINDEX", "l", -1), "c");
  assert.equal(e.call("LINDEX", "l", -3), "a");
  assert.equal(e.call("LINDEX", "l", 3), null);
  assert.equal(e.call("LINDEX", "l", -4), null);
  assert.equal(e.call("LINDEX", "nol", "x"), null);
  assert.equal(err(e.call("LINDEX", "l", "x")), "ERR value is not an integer or out of range");
  assert.equal(err(e.call("LINDEX", "str", "x")), WRONGTYPE);
});

Deno.test("LSET: no such key, index out of range, wrong type", () => {
  const e = engine();
  assert.equal(err(e.call("LSET", "nol", 0, "a")), "ERR no such key");
  assert.equal(err(e.call("LSET", "nol", "x", "a")), "ERR no such key");
  assert.equal(err(e.call("LSET", "str", "x", "a")), WRONGTYPE);
  e.call("RPUSH", "l", "a", "b", "c");
  assert.equal(e.call("LSET", "l", 1, "B"), "OK");
  assert.equal(e.call("LSET", "l", -1, "C"), "OK");
  assert.deepEqual(list(e, "l"), ["a", "B", "C"]);
  assert.equal(err(e.call("LSET", "l", 3, "z")), "ERR index out of range");
  assert.equal(err(e.call("LSET", "l", -4, "z")), "ERR index out of range");
  assert.equal(err(e.call("LSET", "l", "x", "z")), "ERR value is not an integer or out of range");
  assert.deepEqual(e.propagated.slice(1), [
    [0, ["LSET", "l", "1", "B"]],
    [0, ["LSET", "l", "-1", "C"]],
  ]);
});

Deno.test("LINSERT: before/after, missing pivot, missing key, syntax", () => {
  const e = engine();
  assert.equal(e.call("LINSERT", "nol", "BEFORE", "a", "z"), 0);
  assert.equal(err(e.call("LINSERT", "nol", "middle", "a", "z")), "ERR syntax error");
  assert.equal(err(e.call("LINSERT", "str", "before", "a", "z")), WRONGTYPE);
  e.call("RPUSH", "l", "a", "b", "a");
  assert.equal(e.call("LINSERT", "l", "before", "a", "x"), 4);
  assert.equal(e.call("LINSERT", "l", "AFTER", "a", "y"), 5);
  assert.equal(e.call("LINSERT", "l", "after", "a", "w"), 6);
  assert.deepEqual(list(e, "l"), ["x", "a", "w", "y", "b", "a"]);
  assert.equal(e.call("LINSERT", "l", "before", "q", "z"), -1);
  assert.equal(e.call("LINSERT", "l", "AFTER", "a", "end"), 7);
  e.call("RPUSH", "m", "p");
  assert.equal(e.call("LINSERT", "m", "after", "p", "q"), 2);
  assert.deepEqual(list(e, "m"), ["p", "q"]);
  const effects = e.propagated.filter(([, a]) => a[0] === "LINSERT").length;
  assert.equal(effects, 5); // not for the missing pivot or key
});

Deno.test("LREM: count > 0, < 0, = 0, deletion of empty list", () => {
  const e = engine();
  assert.equal(e.call("LREM", "nol", 1, "a"), 0);
  assert.equal(err(e.call("LREM", "nol", "x", "a")), "ERR value is not an integer or out of range");
  assert.equal(err(e.call("LREM", "str", 1, "a")), WRONGTYPE);
  e.call("RPUSH", "l", "a", "b", "a", "c", "a");
  assert.equal(e.call("LREM", "l", 1, "a"), 1);
  assert.deepEqual(list(e, "l"), ["b", "a", "c", "a"]);
  assert.equal(e.call("LREM", "l", -1, "a"), 1);
  assert.deepEqual(list(e, "l"), ["b", "a", "c"]);
  assert.equal(e.call("LREM", "l", 0, "z"), 0);
  assert.equal(e.call("LREM", "l", 0, "a"), 1);
  assert.equal(e.call("LREM", "l", 5, "b"), 1);
  assert.equal(e.call("LREM", "l", -5, "c"), 1);
  assert.equal(hasKey(e, "l"), false);
  assert.deepEqual(
    e.propagated.filter(([, a]) => a[0] === "LREM").map(([, a]) => a.slice(2)),
    [["1", "a"], ["-1", "a"], ["0", "a"], ["5", "b"], ["-5", "c"]],
  );
});

Deno.test("LTRIM: trims, deletes when empty, propagates only changes", () => {
  const e = engine();
  assert.equal(e.call("LTRIM", "nol", 0, 1), "OK");
  assert.equal(err(e.call("LTRIM", "nol", "x", 1)), "ERR value is not an integer or out of range");
  assert.equal(err(e.call("LTRIM", "str", 0, 1)), WRONGTYPE);
  e.call("RPUSH", "l", "a", "b", "c", "d", "e");
  assert.equal(e.call("LTRIM", "l", 1, -2), "OK");
  assert.deepEqual(list(e, "l"), ["b", "c", "d"]);
  assert.equal(e.call("LTRIM", "l", -100, 100), "OK");
  assert.deepEqual(list(e, "l"), ["b", "c", "d"]);
  assert.equal(e.call("LTRIM", "l", 0, 0), "OK");
  assert.deepEqual(list(e, "l"), ["b"]);
  assert.equal(e.call("LTRIM", "l", 2, 1), "OK");
  assert.equal(hasKey(e, "l"), false);
  assert.deepEqual(
    e.propagated.filter(([, a]) => a[0] === "LTRIM").map(([, a]) => a.slice(2)),
    [["1", "-2"], ["0", "0"], ["2", "1"]],
  );
});

Deno.test("LPOS: RANK, COUNT, MAXLEN and their errors", () => {
  const e = engine();
  e.call("RPUSH", "l", "a", "b", "c", "a", "b", "c", "a");
  assert.equal(e.call("LPOS", "l", "a"), 0);
  assert.equal(e.call("LPOS", "l", "c"), 2);
  assert.equal(e.call("LPOS", "l", "z"), null);
  assert.equal(e.call("LPOS", "l", "a", "RANK", 2), 3);
  assert.equal(e.call("LPOS", "l", "a", "rank", -1), 6);
  assert.equal(e.call("LPOS", "l", "a", "RANK", -2), 3);
  assert.equal(e.call("LPOS", "l", "a", "RANK", 9), null);
  assert.deepEqual(e.call("LPOS", "l", "a", "COUNT", 0), [0, 3, 6]);
  assert.deepEqual(e.call("LPOS", "l", "a", "COUNT", 2), [0, 3]);
  assert.deepEqual(e.call("LPOS", "l", "a", "RANK", -1, "COUNT", 0), [6, 3, 0]);
  assert.deepEqual(e.call("LPOS", "l", "a", "RANK", 2, "COUNT", 0), [3, 6]);
  assert.deepEqual(e.call("LPOS", "l", "a", "MAXLEN", 3, "COUNT", 0), [0]);
  assert.deepEqual(e.call("LPOS", "l", "a", "RANK", -1, "MAXLEN", 2, "COUNT", 0), [6]);
  assert.equal(e.call("LPOS", "l", "b", "MAXLEN", 1), null);
  assert.deepEqual(e.call("LPOS", "l", "z", "COUNT", 0), []);
  assert.deepEqual(e.call("LPOS", "l", "a", "RANK", 9, "COUNT", 0), []);
  assert.deepEqual(e.call("LPOS", "l", "a", "RANK", "-9223372036854775808", "COUNT", 0), [6, 3, 0]);
  assert.equal(e.call("LPOS", "l", "a", "RANK", "-9223372036854775807"), null);
  assert.equal(e.call("LPOS", "nol", "a"), null);
  assert.deepEqual(e.call("LPOS", "nol", "a", "COUNT", 1), []);
  assert.equal(err(e.call("LPOS", "str", "a")), WRONGTYPE);
  const rank0 = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the " +
    "second ... or use negative to start from the end of the list";
  assert.equal(err(e.call("LPOS", "l", "a", "RANK", 0)), rank0);
  assert.equal(err(e.call("LPOS", "str", "a", "RANK", 0)), rank0);
  assert.equal(
    err(e.call("LPOS", "l", "a", "RANK", "x")),
    "ERR value is not an integer or out of range",
  );
  assert.equal(err(e.call("LPOS", "l", "a", "COUNT", -1)), "ERR COUNT can't be negative");
  assert.equal(err(e.call("LPOS", "l", "a", "COUNT", "x")), "ERR COUNT can't be negative");
  assert.equal(err(e.call("LPOS", "l", "a", "MAXLEN", -1)), "ERR MAXLEN can't be negative");
  assert.equal(err(e.call("LPOS", "l", "a", "RANK")), "ERR syntax error");
  assert.equal(err(e.call("LPOS", "l", "a", "FOO", 1)), "ERR syntax error");
});

Deno.test("LMOVE: all four directions, creation, deletion, errors", () => {
  const e = engine();
  e.call("RPUSH", "src", "a", "b", "c", "d");
  assert.equal(e.call("LMOVE", "src", "dst", "LEFT", "RIGHT"), "a");
  assert.equal(e.call("LMOVE", "src", "dst", "right", "left"), "d");
  assert.equal(e.call("LMOVE", "src", "dst", "LEFT", "LEFT"), "b");
  assert.equal(e.call("LMOVE", "src", "dst", "Right", "Right"), "c");
  assert.deepEqual(list(e, "dst"), ["b", "d", "a", "c"]);
  assert.equal(hasKey(e, "src"), false);
  assert.equal(e.call("LMOVE", "src", "dst", "LEFT", "RIGHT"), null);
  assert.equal(err(e.call("LMOVE", "dst", "dst", "UP", "RIGHT")), "ERR syntax error");
  assert.equal(err(e.call("LMOVE", "nol", "nol", "LEFT", "DOWN")), "ERR syntax error");
  // Source missing: nil even when the destination has the wrong type.
  assert.equal(e.call("LMOVE", "nol", "str", "LEFT", "RIGHT"), null);
  assert.equal(err(e.call("LMOVE", "dst", "str", "LEFT", "RIGHT")), WRONGTYPE);
  assert.deepEqual(list(e, "dst"), ["b", "d", "a", "c"]); // untouched by the failed move
  assert.equal(err(e.call("LMOVE", "str", "dst", "LEFT", "RIGHT")), WRONGTYPE);
  assert.deepEqual(e.propagated.slice(1, 5), [
    [0, ["LPOP", "src"]],
    [0, ["RPUSH", "dst", "a"]],
    [0, ["RPOP", "src"]],
    [0, ["LPUSH", "dst", "d"]],
  ]);
  assert.equal(e.propagated.length, 9);
});

Deno.test("LMOVE / RPOPLPUSH on one key rotate and keep the TTL", () => {
  const e = engine();
  e.call("RPUSH", "l", "a", "b", "c");
  assert.equal(e.call("LMOVE", "l", "l", "LEFT", "RIGHT"), "a");
  assert.deepEqual(list(e, "l"), ["b", "c", "a"]);
  assert.equal(e.call("RPOPLPUSH", "l", "l"), "a");
  assert.deepEqual(list(e, "l"), ["a", "b", "c"]);
  assert.equal(e.call("LMOVE", "l", "l", "RIGHT", "RIGHT"), "c");
  assert.deepEqual(list(e, "l"), ["a", "b", "c"]);
  e.call("RPUSH", "one", "x");
  const db = e.ks.db(0);
  db.setExpireAt("one", e.time + 1000);
  assert.equal(e.call("RPOPLPUSH", "one", "one"), "x");
  assert.deepEqual(list(e, "one"), ["x"]);
  assert.equal(db.expireAt("one"), e.time + 1000);
  assert.deepEqual(e.propagated.slice(1), [
    [0, ["LMOVE", "l", "l", "LEFT", "RIGHT"]],
    [0, ["RPOPLPUSH", "l", "l"]],
    [0, ["LMOVE", "l", "l", "RIGHT", "RIGHT"]],
    [0, ["RPUSH", "one", "x"]],
    [0, ["RPOPLPUSH", "one", "one"]],
  ]);
});

Deno.test("RPOPLPUSH between keys", () => {
  const e = engine();
  assert.equal(e.call("RPOPLPUSH", "nol", "str"), null);
  e.call("RPUSH", "s", "a", "b");
  assert.equal(err(e.call("RPOPLPUSH", "s", "str")), WRONGTYPE);
  assert.equal(err(e.call("RPOPLPUSH", "str", "s")), WRONGTYPE);
  assert.equal(e.call("RPOPLPUSH", "s", "d"), "b");
  assert.equal(e.call("RPOPLPUSH", "s", "d"), "a");
  assert.deepEqual(list(e, "d"), ["a", "b"]);
  assert.equal(hasKey(e, "s"), false);
  assert.deepEqual(e.propagated.slice(1), [
    [0, ["RPOP", "s"]],
    [0, ["LPUSH", "d", "b"]],
    [0, ["RPOP", "s"]],
    [0, ["LPUSH", "d", "a"]],
  ]);
});

Deno.test("lists: expired keys behave as missing", () => {
  const e = engine();
  e.call("RPUSH", "l", "a", "b");
  e.ks.db(0).setExpireAt("l", e.time + 100);
  assert.equal(e.call("LLEN", "l"), 2);
  e.advance(100);
  assert.equal(e.call("LLEN", "l"), 0);
  assert.equal(e.call("LPUSHX", "l", "z"), 0);
  assert.equal(e.call("LPOP", "l"), null);
  assert.equal(e.call("RPUSH", "l", "c"), 1);
  assert.equal(e.ks.db(0).expireAt("l"), undefined);
  e.call("RPUSH", "src", "s");
  e.call("RPUSH", "dst", "old");
  e.ks.db(0).setExpireAt("dst", e.time + 10);
  e.advance(10);
  assert.equal(e.call("RPOPLPUSH", "src", "dst"), "s");
  assert.deepEqual(list(e, "dst"), ["s"]);
});

Deno.test("lists: a push keeps the TTL of an existing list", () => {
  const e = engine();
  e.call("RPUSH", "l", "a");
  e.ks.db(0).setExpireAt("l", e.time + 5000);
  e.call("LPUSH", "l", "b");
  e.call("LSET", "l", 0, "c");
  e.call("LINSERT", "l", "BEFORE", "c", "d");
  assert.equal(e.ks.db(0).expireAt("l"), e.time + 5000);
});

Deno.test("lists: other databases are independent", () => {
  const e = engine();
  e.call("RPUSH", "l", "a");
  e.db = 3;
  assert.equal(e.call("LLEN", "l"), 0);
  assert.equal(e.call("RPUSH", "l", "x", "y"), 2);
  assert.deepEqual(e.propagated.at(-1), [3, ["RPUSH", "l", "x", "y"]]);
});

Deno.test("lists: RESP3 replies keep their shapes", () => {
  const e = engine();
  e.proto = 3;
  e.call("RPUSH", "l", "a", "b");
  assert.deepEqual(e.call("LRANGE", "l", 0, -1), ["a", "b"]);
  assert.equal(e.call("LINDEX", "l", 5), null);
  assert.deepEqual(e.call("LPOS", "l", "b", "COUNT", 0), [1]);
});

Deno.test("lists: command table entries (arity, flags, keys)", () => {
  const expect: Record<string, [number, string[], number, number, number]> = {
    lpush: [-3, ["write", "denyoom", "fast"], 1, 1, 1],
    rpush: [-3, ["write", "denyoom", "fast"], 1, 1, 1],
    lpushx: [-3, ["write", "denyoom", "fast"], 1, 1, 1],
    rpushx: [-3, ["write", "denyoom", "fast"], 1, 1, 1],
    lpop: [-2, ["write", "fast"], 1, 1, 1],
    rpop: [-2, ["write", "fast"], 1, 1, 1],
    llen: [2, ["readonly", "fast"], 1, 1, 1],
    lrange: [4, ["readonly"], 1, 1, 1],
    lindex: [3, ["readonly"], 1, 1, 1],
    lset: [4, ["write", "denyoom"], 1, 1, 1],
    linsert: [5, ["write", "denyoom"], 1, 1, 1],
    lrem: [4, ["write"], 1, 1, 1],
    ltrim: [4, ["write"], 1, 1, 1],
    lpos: [-3, ["readonly"], 1, 1, 1],
    lmove: [5, ["write", "denyoom"], 1, 2, 1],
    rpoplpush: [3, ["write", "denyoom"], 1, 2, 1],
  };
  for (const [name, [arity, flags, first, last, step]] of Object.entries(expect)) {
    const def = COMMANDS.get(name);
    assert.ok(def, name);
    assert.deepEqual([def.arity, [...def.flags], def.firstKey, def.lastKey, def.step], [
      arity,
      flags,
      first,
      last,
      step,
    ], name);
  }
  assert.deepEqual(keyPositions(COMMANDS.get("lmove")!, ["lmove", "a", "b", "LEFT", "LEFT"]), [
    1,
    2,
  ]);
  const e = engine();
  assert.equal(err(e.call("LLEN")), "ERR wrong number of arguments for 'llen' command");
  assert.equal(
    err(e.call("LMOVE", "a", "b", "LEFT")),
    "ERR wrong number of arguments for 'lmove' command",
  );
});
