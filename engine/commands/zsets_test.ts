import assert from "node:assert/strict";
import { TestEngine } from "../testing.ts";
import { ReplyError, type ReplyValue } from "../reply.ts";
import { COMMANDS } from "../commands.ts";
import { keyPositions } from "../command.ts";
import { parseScore } from "./zsets.ts";

function err(v: ReplyValue): string {
  assert.ok(v instanceof ReplyError, `expected an error, got ${JSON.stringify(v)}`);
  return v.message;
}

const WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value";

/** Propagated effects since `from`, without the db index. */
function effects(e: TestEngine, from = 0): string[][] {
  return e.propagated.slice(from).map(([, args]) => args);
}

function seeded(): TestEngine {
  const e = new TestEngine();
  e.call("ZADD", "z", 1, "a", 2, "b", 3, "c", 4, "d", 5, "e");
  return e;
}

Deno.test("ZADD: adds, updates, replies added count, propagates", () => {
  const e = new TestEngine();
  assert.equal(e.call("ZADD", "z", 1, "a", 2, "b"), 2);
  assert.equal(e.call("ZADD", "z", 1, "a"), 0);
  assert.equal(e.call("ZADD", "z", 5, "a", 3, "c"), 1);
  assert.deepEqual(e.call("ZRANGE", "z", 0, -1, "WITHSCORES"), ["b", "2", "c", "3", "a", "5"]);
  assert.deepEqual(effects(e), [
    ["ZADD", "z", "1", "a", "2", "b"],
    ["ZADD", "z", "5", "a", "3", "c"],
  ]);
  // A repeated member: the last score wins, counted once.
  assert.equal(e.call("ZADD", "n", 1, "x", 2, "x"), 1);
  assert.equal(e.call("ZSCORE", "n", "x"), "2");
  assert.equal(e.call("TYPE", "z"), "zset");
});

Deno.test("ZADD: NX XX GT LT CH", () => {
  const e = new TestEngine();
  e.call("ZADD", "z", 1, "a", 2, "b");
  assert.equal(e.call("ZADD", "z", "NX", 10, "a", 3, "c"), 1);
  assert.equal(e.call("ZSCORE", "z", "a"), "1");
  assert.equal(e.call("ZADD", "z", "XX", 10, "a", 4, "d"), 0);
  assert.equal(e.call("ZSCORE", "z", "a"), "10");
  assert.equal(e.call("ZSCORE", "z", "d"), null);
  assert.equal(e.call("ZADD", "z", "ch", 10, "a", 20, "b", 30, "e"), 2);
  assert.equal(e.call("ZADD", "z", "GT", "CH", 5, "a", 50, "b", 1, "f"), 2);
  assert.deepEqual(e.call("ZMSCORE", "z", "a", "b", "f"), ["10", "50", "1"]);
  assert.equal(e.call("ZADD", "z", "LT", "CH", 5, "a", 60, "b", 1, "g"), 2);
  assert.deepEqual(e.call("ZMSCORE", "z", "a", "b", "g"), ["5", "50", "1"]);
  // GT/LT on a new member still adds it.
  assert.equal(e.call("ZADD", "z", "GT", 100, "new"), 1);
  // NX / GT with repeated members of a new key.
  assert.equal(e.call("ZADD", "n", "NX", 1, "a", 2, "a"), 1);
  assert.equal(e.call("ZSCORE", "n", "a"), "1");
  assert.equal(e.call("ZADD", "g", "GT", 2, "a", 1, "a"), 1);
  assert.equal(e.call("ZSCORE", "g", "a"), "2");
  assert.equal(e.call("ZADD", "c", "CH", 1, "a", 2, "a"), 2);
  // XX on a missing key creates nothing.
  assert.equal(e.call("ZADD", "none", "XX", 1, "a"), 0);
  assert.equal(e.call("EXISTS", "none"), 0);
  assert.equal(e.call("ZADD", "none", "XX", "INCR", 1, "a"), null);
});

Deno.test("ZADD: option errors in Redis 7.0's order", () => {
  const e = new TestEngine();
  assert.equal(
    err(e.call("ZADD", "z", "NX", "XX", 1, "a")),
    "ERR XX and NX options at the same time are not compatible",
  );
  const gtlt = "ERR GT, LT, and/or NX options at the same time are not compatible";
  assert.equal(err(e.call("ZADD", "z", "NX", "GT", 1, "a")), gtlt);
  assert.equal(err(e.call("ZADD", "z", "LT", "NX", 1, "a")), gtlt);
  assert.equal(err(e.call("ZADD", "z", "GT", "LT", 1, "a")), gtlt);
  assert.equal(
    err(e.call("ZADD", "z", "INCR", 1, "a", 2, "b")),
    "ERR INCR option supports a single increment-element pair",
  );
  assert.equal(err(e.call("ZADD", "z", "XX", "NX", 1, "a", 2)), "ERR syntax error");
  assert.equal(err(e.call("ZADD", "z", "CH", "NX")), "ERR syntax error");
  assert.equal(err(e.call("ZADD", "z", 1)), "ERR wrong number of arguments for 'zadd' command");
  assert.equal(err(e.call("ZADD", "z", "abc", "a")), "ERR value is not a valid float");
  assert.equal(err(e.call("ZADD", "z", 1, "a", "abc", "b")), "ERR value is not a valid float");
  assert.equal(e.call("EXISTS", "z"), 0);
  e.call("SET", "s", "x");
  assert.equal(err(e.call("ZADD", "s", 1, "a")), WRONGTYPE);
  // Parse errors come before the type check.
  assert.equal(err(e.call("ZADD", "s", "abc", "a")), "ERR value is not a valid float");
  // Nothing but the SET was propagated.
  assert.deepEqual(effects(e), [["SET", "s", "x"]]);
});

Deno.test("ZADD: score syntax like getDoubleFromObject", () => {
  assert.equal(parseScore("1.5"), 1.5);
  assert.equal(parseScore("+1"), 1);
  assert.equal(parseScore(".5"), 0.5);
  assert.equal(parseScore("5."), 5);
  assert.equal(parseScore("1E3"), 1000);
  assert.equal(parseScore("0x10"), 16);
  assert.equal(parseScore("-0x1p3"), -8);
  assert.equal(parseScore("0x.8"), 0.5);
  assert.equal(parseScore("inf"), Infinity);
  assert.equal(parseScore("-Infinity"), -Infinity);
  assert.equal(parseScore("1e-310"), 1e-310);
  for (
    const bad of ["", " 1", "1 ", "nan", "1e400", "-1e400", "1e-400", "0b1", "1_0", "0x", "e5"]
  ) {
    assert.equal(parseScore(bad), undefined, bad);
  }
});

Deno.test("ZADD INCR and ZINCRBY: reply, NaN, propagation of the resulting score", () => {
  const e = new TestEngine();
  assert.equal(e.call("ZADD", "z", "INCR", 1.5, "a"), "1.5");
  assert.equal(e.call("ZADD", "z", "INCR", 0.1, "a"), "1.6000000000000001");
  assert.equal(e.call("ZADD", "z", "NX", "INCR", 1, "a"), null);
  assert.equal(e.call("ZADD", "z", "GT", "INCR", -1, "a"), null);
  assert.equal(e.call("ZADD", "z", "INCR", 0, "a"), "1.6000000000000001");
  assert.equal(e.call("ZADD", "z", "INCR", "inf", "a"), "inf");
  assert.equal(
    err(e.call("ZADD", "z", "INCR", "-inf", "a")),
    "ERR resulting score is not a number (NaN)",
  );
  assert.equal(e.call("ZINCRBY", "z", 1, "a"), "inf");
  assert.equal(
    err(e.call("ZINCRBY", "z", "-inf", "a")),
    "ERR resulting score is not a number (NaN)",
  );
  assert.equal(e.call("ZINCRBY", "y", "2.5", "m"), "2.5");
  assert.equal(e.call("ZINCRBY", "y", "-0.5", "m"), "2");
  assert.equal(err(e.call("ZINCRBY", "y", "abc", "m")), "ERR value is not a valid float");
  assert.equal(
    err(e.call("ZINCRBY", "y", 1)),
    "ERR wrong number of arguments for 'zincrby' command",
  );
  e.call("SET", "s", "x");
  assert.equal(err(e.call("ZINCRBY", "s", 1, "m")), WRONGTYPE);
  assert.deepEqual(effects(e), [
    ["ZADD", "z", "1.5", "a"],
    ["ZADD", "z", "1.6000000000000001", "a"],
    ["ZADD", "z", "inf", "a"],
    ["ZADD", "y", "2.5", "m"],
    ["ZADD", "y", "2", "m"],
    ["SET", "s", "x"],
  ]);
});

Deno.test("ZADD/ZINCRBY: -0 is stored as 0", () => {
  const e = new TestEngine();
  e.call("ZADD", "z", "-0", "a");
  assert.equal(e.call("ZSCORE", "z", "a"), "0");
  e.call("ZINCRBY", "z", "-0", "b");
  assert.equal(e.call("ZSCORE", "z", "b"), "0");
});

Deno.test("ZREM: removes, deletes empty keys, propagates only changes", () => {
  const e = seeded();
  const mark = e.propagated.length;
  assert.equal(e.call("ZREM", "z", "a", "nosuch"), 1);
  assert.equal(e.call("ZREM", "z", "nosuch"), 0);
  assert.equal(e.call("ZREM", "nokey", "a"), 0);
  assert.equal(e.call("ZREM", "z", "b", "b", "c", "d", "e"), 4);
  assert.equal(e.call("EXISTS", "z"), 0);
  assert.deepEqual(effects(e, mark), [["ZREM", "z", "a", "nosuch"], [
    "ZREM",
    "z",
    "b",
    "b",
    "c",
    "d",
    "e",
  ]]);
  e.call("SET", "s", "x");
  assert.equal(err(e.call("ZREM", "s", "a")), WRONGTYPE);
});

Deno.test("ZSCORE ZMSCORE ZCARD ZRANK ZREVRANK", () => {
  const e = seeded();
  assert.equal(e.call("ZSCORE", "z", "c"), "3");
  assert.equal(e.call("ZSCORE", "z", "x"), null);
  assert.equal(e.call("ZSCORE", "nokey", "x"), null);
  assert.deepEqual(e.call("ZMSCORE", "z", "a", "x", "e"), ["1", null, "5"]);
  assert.deepEqual(e.call("ZMSCORE", "nokey", "a", "b"), [null, null]);
  assert.equal(e.call("ZCARD", "z"), 5);
  assert.equal(e.call("ZCARD", "nokey"), 0);
  assert.equal(e.call("ZRANK", "z", "c"), 2);
  assert.equal(e.call("ZRANK", "z", "x"), null);
  assert.equal(e.call("ZRANK", "nokey", "x"), null);
  assert.equal(e.call("ZREVRANK", "z", "a"), 4);
  assert.equal(e.call("ZREVRANK", "z", "x"), null);
  assert.equal(
    err(e.call("ZRANK", "z", "a", "WITHSCORE")),
    "ERR wrong number of arguments for 'zrank' command",
  );
  e.call("SET", "s", "x");
  for (
    const cmd of [["ZSCORE", "s", "a"], ["ZMSCORE", "s", "a"], ["ZCARD", "s"], ["ZRANK", "s", "a"]]
  ) {
    assert.equal(err(e.call(...cmd)), WRONGTYPE);
  }
});

Deno.test("ZCOUNT and score ranges", () => {
  const e = seeded();
  assert.equal(e.call("ZCOUNT", "z", 1, 3), 3);
  assert.equal(e.call("ZCOUNT", "z", "(1", "(3"), 1);
  assert.equal(e.call("ZCOUNT", "z", "-inf", "+inf"), 5);
  assert.equal(e.call("ZCOUNT", "z", 3, 1), 0);
  assert.equal(e.call("ZCOUNT", "z", "(3", 3), 0);
  assert.equal(e.call("ZCOUNT", "z", "(", 2), 2); // "(" alone is an exclusive 0
  assert.equal(e.call("ZCOUNT", "z", "", 2), 2);
  assert.equal(e.call("ZCOUNT", "z", " 2", "0x3"), 2);
  assert.equal(e.call("ZCOUNT", "z", "1e400", "inf"), 0);
  for (const bad of ["x", "nan", "(nan", "[1", "1 ", " "]) {
    assert.equal(err(e.call("ZCOUNT", "z", bad, 3)), "ERR min or max is not a float", bad);
  }
  assert.equal(err(e.call("ZCOUNT", "nokey", "x", 3)), "ERR min or max is not a float");
  assert.equal(e.call("ZCOUNT", "nokey", 1, 3), 0);
});

Deno.test("ZLEXCOUNT and lex ranges", () => {
  const e = new TestEngine();
  e.call("ZADD", "z", 0, "a", 0, "b", 0, "c", 0, "d", 0, "e");
  assert.equal(e.call("ZLEXCOUNT", "z", "-", "+"), 5);
  assert.equal(e.call("ZLEXCOUNT", "z", "[b", "(d"), 2);
  assert.equal(e.call("ZLEXCOUNT", "z", "(a", "[a"), 0);
  assert.equal(e.call("ZLEXCOUNT", "z", "[a", "[a"), 1);
  assert.equal(e.call("ZLEXCOUNT", "z", "+", "+"), 0);
  assert.equal(e.call("ZLEXCOUNT", "z", "-", "-"), 0);
  assert.equal(e.call("ZLEXCOUNT", "z", "+", "-"), 0);
  assert.equal(e.call("ZLEXCOUNT", "z", "[", "+"), 5);
  for (const [a, b] of [["a", "b"], ["+a", "[c"], ["[", ""], ["[a", "c"]]) {
    assert.equal(
      err(e.call("ZLEXCOUNT", "z", a!, b!)),
      "ERR min or max not valid string range item",
    );
  }
  assert.equal(e.call("ZLEXCOUNT", "nokey", "-", "+"), 0);
});

Deno.test("ZRANGE by rank, REV, WITHSCORES and its errors", () => {
  const e = seeded();
  assert.deepEqual(e.call("ZRANGE", "z", 0, -1), ["a", "b", "c", "d", "e"]);
  assert.deepEqual(e.call("ZRANGE", "z", 1, 2, "REV", "WITHSCORES"), ["d", "4", "c", "3"]);
  assert.deepEqual(e.call("ZRANGE", "z", -2, -1), ["d", "e"]);
  assert.deepEqual(e.call("ZRANGE", "z", -100, 100), ["a", "b", "c", "d", "e"]);
  assert.deepEqual(e.call("ZRANGE", "z", 2, 1), []);
  assert.deepEqual(e.call("ZRANGE", "z", 5, 10), []);
  assert.deepEqual(e.call("ZRANGE", "nokey", 0, 1), []);
  assert.deepEqual(e.call("ZRANGE", "z", 0, 1, "LIMIT", 0, -1), ["a", "b"]);
  assert.equal(
    err(e.call("ZRANGE", "z", 0, 1, "LIMIT", 0, 1)),
    "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
  );
  assert.equal(err(e.call("ZRANGE", "z", "x", 1)), "ERR value is not an integer or out of range");
  assert.equal(
    err(e.call("ZRANGE", "nokey", "x", 1)),
    "ERR value is not an integer or out of range",
  );
  assert.equal(err(e.call("ZRANGE", "z", "x", 1, "foo")), "ERR syntax error");
  assert.equal(err(e.call("ZRANGE", "z", 0, 1, "LIMIT", 0)), "ERR syntax error");
  assert.equal(err(e.call("ZRANGE", "z", 0, 1, "REV", "REV")), "ERR syntax error");
  assert.equal(err(e.call("ZRANGE", "z", 0, 1, "BYSCORE", "BYLEX")), "ERR syntax error");
  assert.equal(
    err(e.call("ZRANGE", "z", 0, 1, "LIMIT", "x", "y", "foo")),
    "ERR value is not an integer or out of range",
  );
  assert.deepEqual(e.call("ZREVRANGE", "z", 0, 1, "WITHSCORES"), ["e", "5", "d", "4"]);
  assert.equal(err(e.call("ZREVRANGE", "z", 0, 1, "REV")), "ERR syntax error");
  e.call("SET", "s", "x");
  assert.equal(err(e.call("ZRANGE", "s", 0, 1)), WRONGTYPE);
  assert.equal(err(e.call("ZRANGE", "s", "x", 1)), "ERR value is not an integer or out of range");
});

Deno.test("ZRANGE BYSCORE / ZRANGEBYSCORE / ZREVRANGEBYSCORE with LIMIT", () => {
  const e = seeded();
  e.call("ZADD", "z", 3, "cc");
  assert.deepEqual(e.call("ZRANGE", "z", 1, 3, "BYSCORE"), ["a", "b", "c", "cc"]);
  assert.deepEqual(e.call("ZRANGE", "z", "(1", 3, "BYSCORE", "WITHSCORES"), [
    "b",
    "2",
    "c",
    "3",
    "cc",
    "3",
  ]);
  assert.deepEqual(e.call("ZRANGE", "z", 3, 1, "BYSCORE", "REV"), ["cc", "c", "b", "a"]);
  assert.deepEqual(e.call("ZRANGE", "z", 1, 3, "BYSCORE", "REV"), []);
  assert.deepEqual(e.call("ZRANGE", "z", 3, 1, "BYSCORE", "REV", "LIMIT", 1, 1), ["c"]);
  assert.deepEqual(e.call("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", 1, -5), [
    "b",
    "c",
    "cc",
    "d",
    "e",
  ]);
  assert.deepEqual(e.call("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", 1, 0), []);
  assert.deepEqual(e.call("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", -1, 5), []);
  assert.deepEqual(e.call("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", 6, 5), []);
  assert.deepEqual(e.call("ZRANGE", "z", 2, 4, "BYSCORE", "LIMIT", 2, 10), ["cc", "d"]);
  assert.equal(err(e.call("ZRANGE", "z", "x", 1, "BYSCORE")), "ERR min or max is not a float");
  assert.deepEqual(e.call("ZRANGEBYSCORE", "z", 1, 3, "WITHSCORES", "LIMIT", 1, 1), ["b", "2"]);
  assert.equal(err(e.call("ZRANGEBYSCORE", "z", 1, 3, "REV")), "ERR syntax error");
  assert.equal(err(e.call("ZRANGEBYSCORE", "z", 1, 3, "LIMIT", 1)), "ERR syntax error");
  assert.deepEqual(e.call("ZREVRANGEBYSCORE", "z", 3, 1, "WITHSCORES"), [
    "cc",
    "3",
    "c",
    "3",
    "b",
    "2",
    "a",
    "1",
  ]);
  assert.deepEqual(e.call("ZREVRANGEBYSCORE", "z", "+inf", "-inf", "LIMIT", 0, 2), ["e", "d"]);
  assert.deepEqual(e.call("ZREVRANGEBYSCORE", "z", "(3", "(1"), ["b"]);
});

Deno.test("ZRANGE BYLEX / ZRANGEBYLEX / ZREVRANGEBYLEX", () => {
  const e = new TestEngine();
  e.call("ZADD", "z", 0, "a", 0, "b", 0, "bb", 0, "c", 0, "d");
  assert.deepEqual(e.call("ZRANGE", "z", "-", "+", "BYLEX"), ["a", "b", "bb", "c", "d"]);
  assert.deepEqual(e.call("ZRANGE", "z", "[a", "[c", "BYLEX", "LIMIT", 1, 5), ["b", "bb", "c"]);
  assert.deepEqual(e.call("ZRANGE", "z", "(d", "[b", "BYLEX", "REV"), ["c", "bb", "b"]);
  assert.equal(
    err(e.call("ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES")),
    "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
  );
  assert.equal(
    err(e.call("ZRANGE", "z", 0, 1, "BYLEX")),
    "ERR min or max not valid string range item",
  );
  assert.deepEqual(e.call("ZRANGEBYLEX", "z", "[b", "(d"), ["b", "bb", "c"]);
  assert.deepEqual(e.call("ZRANGEBYLEX", "z", "-", "+", "LIMIT", 1, 2), ["b", "bb"]);
  assert.deepEqual(e.call("ZRANGEBYLEX", "z", "+", "-"), []);
  assert.equal(
    err(e.call("ZRANGEBYLEX", "z", "-", "+", "WITHSCORES")),
    "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
  );
  assert.deepEqual(e.call("ZREVRANGEBYLEX", "z", "+", "-", "LIMIT", 1, 2), ["c", "bb"]);
  assert.deepEqual(e.call("ZREVRANGEBYLEX", "z", "[c", "-"), ["c", "bb", "b", "a"]);
  assert.deepEqual(e.call("ZRANGEBYLEX", "nokey", "-", "+"), []);
  assert.equal(
    err(e.call("ZRANGEBYLEX", "nokey", "a", "b")),
    "ERR min or max not valid string range item",
  );
});

Deno.test("ZRANGESTORE: stores, deletes on empty, propagates the concrete result", () => {
  const e = seeded();
  let mark = e.propagated.length;
  assert.equal(e.call("ZRANGESTORE", "d", "z", 1, 3, "BYSCORE", "LIMIT", 0, 2), 2);
  assert.deepEqual(e.call("ZRANGE", "d", 0, -1, "WITHSCORES"), ["a", "1", "b", "2"]);
  assert.deepEqual(effects(e, mark), [["ZADD", "d", "1", "a", "2", "b"]]);
  mark = e.propagated.length;
  assert.equal(e.call("ZRANGESTORE", "d", "z", 0, 1, "REV"), 2);
  assert.deepEqual(e.call("ZRANGE", "d", 0, -1), ["d", "e"]);
  assert.deepEqual(effects(e, mark), [["DEL", "d"], ["ZADD", "d", "4", "d", "5", "e"]]);
  mark = e.propagated.length;
  assert.equal(e.call("ZRANGESTORE", "d", "z", 10, 20), 0);
  assert.equal(e.call("EXISTS", "d"), 0);
  assert.equal(e.call("ZRANGESTORE", "d", "nokey", 0, 1), 0);
  assert.deepEqual(effects(e, mark), [["DEL", "d"]]);
  assert.equal(err(e.call("ZRANGESTORE", "d", "z", 0, -1, "WITHSCORES")), "ERR syntax error");
  // The destination is overwritten whatever its type, and loses its TTL.
  e.call("SET", "s", "x", "EX", 100);
  assert.equal(e.call("ZRANGESTORE", "s", "z", 0, 0), 1);
  assert.equal(e.call("TYPE", "s"), "zset");
  assert.equal(e.call("TTL", "s"), -1);
  // Source and destination may be the same key.
  assert.equal(e.call("ZRANGESTORE", "z", "z", 1, 2), 2);
  assert.deepEqual(e.call("ZRANGE", "z", 0, -1), ["b", "c"]);
  const def = COMMANDS.get("zrangestore")!;
  assert.deepEqual(keyPositions(def, ["ZRANGESTORE", "d", "z", "0", "1"]), [1, 2]);
});

Deno.test("ZREMRANGEBYRANK / BYSCORE / BYLEX", () => {
  const e = seeded();
  const mark = e.propagated.length;
  assert.equal(
    err(e.call("ZREMRANGEBYRANK", "z", "x", 1)),
    "ERR value is not an integer or out of range",
  );
  assert.equal(
    err(e.call("ZREMRANGEBYRANK", "nokey", "x", 1)),
    "ERR value is not an integer or out of range",
  );
  assert.equal(e.call("ZREMRANGEBYRANK", "nokey", 0, 1), 0);
  assert.equal(e.call("ZREMRANGEBYRANK", "z", 1, 2), 2);
  assert.deepEqual(e.call("ZRANGE", "z", 0, -1), ["a", "d", "e"]);
  assert.equal(e.call("ZREMRANGEBYRANK", "z", 5, 10), 0);
  assert.equal(e.call("ZREMRANGEBYRANK", "z", -1, -1), 1);
  assert.equal(err(e.call("ZREMRANGEBYSCORE", "z", "x", 1)), "ERR min or max is not a float");
  assert.equal(e.call("ZREMRANGEBYSCORE", "z", "(1", 4), 1);
  assert.equal(e.call("ZREMRANGEBYSCORE", "z", 10, 20), 0);
  assert.equal(e.call("ZREMRANGEBYSCORE", "z", "-inf", "+inf"), 1);
  assert.equal(e.call("EXISTS", "z"), 0);
  e.call("ZADD", "l", 0, "a", 0, "b", 0, "c", 0, "d");
  assert.equal(
    err(e.call("ZREMRANGEBYLEX", "l", "x", "y")),
    "ERR min or max not valid string range item",
  );
  assert.equal(e.call("ZREMRANGEBYLEX", "l", "[b", "(d"), 2);
  assert.equal(e.call("ZREMRANGEBYLEX", "l", "+", "-"), 0);
  assert.equal(e.call("ZREMRANGEBYLEX", "l", "-", "+"), 2);
  assert.equal(e.call("EXISTS", "l"), 0);
  assert.deepEqual(effects(e, mark), [
    ["ZREMRANGEBYRANK", "z", "1", "2"],
    ["ZREMRANGEBYRANK", "z", "-1", "-1"],
    ["ZREMRANGEBYSCORE", "z", "(1", "4"],
    ["ZREMRANGEBYSCORE", "z", "-inf", "+inf"],
    ["ZADD", "l", "0", "a", "0", "b", "0", "c", "0", "d"],
    ["ZREMRANGEBYLEX", "l", "[b", "(d"],
    ["ZREMRANGEBYLEX", "l", "-", "+"],
  ]);
  e.call("SET", "s", "x");
  assert.equal(err(e.call("ZREMRANGEBYRANK", "s", 0, 1)), WRONGTYPE);
});

Deno.test("ZPOPMIN / ZPOPMAX: replies, errors, ZREM propagation, RESP3 shapes", () => {
  const e = seeded();
  const mark = e.propagated.length;
  assert.deepEqual(e.call("ZPOPMIN", "z"), ["a", "1"]);
  assert.deepEqual(e.call("ZPOPMAX", "z"), ["e", "5"]);
  assert.deepEqual(e.call("ZPOPMIN", "z", 2), ["b", "2", "c", "3"]);
  assert.deepEqual(e.call("ZPOPMAX", "z", 0), []);
  const positive = "ERR value is out of range, must be positive";
  assert.equal(err(e.call("ZPOPMAX", "z", -1)), positive);
  assert.equal(err(e.call("ZPOPMAX", "z", "x")), positive);
  assert.equal(err(e.call("ZPOPMIN", "z", 1, 2)), "ERR syntax error");
  assert.deepEqual(e.call("ZPOPMIN", "nokey"), []);
  assert.deepEqual(e.call("ZPOPMAX", "z", 10), ["d", "4"]);
  assert.equal(e.call("EXISTS", "z"), 0);
  assert.deepEqual(effects(e, mark), [
    ["ZREM", "z", "a"],
    ["ZREM", "z", "e"],
    ["ZREM", "z", "b", "c"],
    ["ZREM", "z", "d"],
  ]);
  e.proto = 3;
  e.call("ZADD", "y", 1, "a", 2, "b", 3, "c");
  assert.deepEqual(e.call("ZPOPMIN", "y"), ["a", 1]);
  assert.deepEqual(e.call("ZPOPMIN", "y", 1), [["b", 2]]);
  assert.deepEqual(e.call("ZPOPMAX", "nokey", 1), []);
  e.call("SET", "s", "x");
  assert.equal(err(e.call("ZPOPMIN", "s", 0)), WRONGTYPE);
});

Deno.test("ZMPOP", () => {
  const e = new TestEngine();
  e.call("ZADD", "a", 1, "x", 2, "y", 3, "z");
  const mark = e.propagated.length;
  assert.deepEqual(e.call("ZMPOP", 1, "a", "MIN"), ["a", [["x", "1"]]]);
  assert.deepEqual(e.call("ZMPOP", 2, "nokey", "a", "max", "COUNT", 5), ["a", [["z", "3"], [
    "y",
    "2",
  ]]]);
  assert.equal(e.call("EXISTS", "a"), 0);
  assert.equal(e.call("ZMPOP", 1, "a", "MIN"), null);
  assert.deepEqual(effects(e, mark), [["ZREM", "a", "x"], ["ZREM", "a", "z", "y"]]);
  e.call("ZADD", "a", 1, "x");
  assert.equal(err(e.call("ZMPOP", 0, "a", "MIN")), "ERR numkeys should be greater than 0");
  assert.equal(err(e.call("ZMPOP", "x", "a", "MIN")), "ERR numkeys should be greater than 0");
  assert.equal(err(e.call("ZMPOP", 5, "a", "MIN")), "ERR syntax error");
  assert.equal(err(e.call("ZMPOP", 1, "a", "foo")), "ERR syntax error");
  assert.equal(
    err(e.call("ZMPOP", 1, "a", "MIN", "COUNT", 0)),
    "ERR count should be greater than 0",
  );
  assert.equal(err(e.call("ZMPOP", 1, "a", "MIN", "COUNT", 1, "COUNT", 2)), "ERR syntax error");
  e.call("SADD", "st", "m");
  assert.equal(err(e.call("ZMPOP", 2, "nokey", "st", "MIN")), WRONGTYPE);
  e.proto = 3;
  assert.deepEqual(e.call("ZMPOP", 1, "a", "MIN"), ["a", [["x", 1]]]);
  assert.equal(e.call("ZMPOP", 1, "a", "MIN"), null);
  const def = COMMANDS.get("zmpop")!;
  assert.deepEqual(keyPositions(def, ["ZMPOP", "2", "a", "b", "MIN"]), [2, 3]);
  assert.deepEqual(keyPositions(def, ["ZMPOP", "9", "a", "MIN"]), [2, 3]);
  assert.deepEqual(keyPositions(def, ["ZMPOP", "x", "a", "MIN"]), []);
});

Deno.test("ZRANDMEMBER", () => {
  const e = seeded();
  const all = ["a", "b", "c", "d", "e"];
  const one = e.call("ZRANDMEMBER", "z");
  assert.ok(typeof one === "string" && all.includes(one));
  assert.equal(e.call("ZRANDMEMBER", "nokey"), null);
  assert.deepEqual(e.call("ZRANDMEMBER", "nokey", 3), []);
  assert.deepEqual(e.call("ZRANDMEMBER", "z", 0), []);
  const three = e.call("ZRANDMEMBER", "z", 3) as string[];
  assert.equal(new Set(three).size, 3);
  for (const m of three) assert.ok(all.includes(m));
  const four = e.call("ZRANDMEMBER", "z", 4) as string[];
  assert.equal(new Set(four).size, 4);
  assert.deepEqual(e.call("ZRANDMEMBER", "z", 10), ["e", "d", "c", "b", "a"]);
  const rep = e.call("ZRANDMEMBER", "z", -20) as string[];
  assert.equal(rep.length, 20);
  for (const m of rep) assert.ok(all.includes(m));
  const ws = e.call("ZRANDMEMBER", "z", -3, "WITHSCORES") as string[];
  assert.equal(ws.length, 6);
  for (let i = 0; i < 6; i += 2) assert.equal(e.call("ZSCORE", "z", ws[i]!), ws[i + 1]);
  assert.equal(err(e.call("ZRANDMEMBER", "z", "x")), "ERR value is not an integer or out of range");
  assert.equal(err(e.call("ZRANDMEMBER", "z", 2, "foo")), "ERR syntax error");
  assert.equal(
    err(e.call("ZRANDMEMBER", "z", "-9223372036854775808")),
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
  );
  assert.equal(
    err(e.call("ZRANDMEMBER", "z", "-4611686018427387904", "WITHSCORES")),
    "ERR value is out of range",
  );
  e.proto = 3;
  const pairs = e.call("ZRANDMEMBER", "z", 2, "WITHSCORES") as [string, number][];
  assert.equal(pairs.length, 2);
  for (const [m, s] of pairs) assert.equal(e.call("ZSCORE", "z", m), s);
  e.call("SET", "s", "x");
  assert.equal(err(e.call("ZRANDMEMBER", "s")), WRONGTYPE);
  assert.equal(err(e.call("ZRANDMEMBER", "s", 1)), WRONGTYPE);
  // Read-only: nothing propagated.
  assert.equal(effects(e).filter((a) => a[0] !== "ZADD" && a[0] !== "SET").length, 0);
});

Deno.test("ZUNION / ZINTER / ZDIFF: weights, aggregates, plain sets", () => {
  const e = new TestEngine();
  e.call("ZADD", "z1", 1, "a", 2, "b", 3, "c");
  e.call("ZADD", "z2", 10, "b", 20, "c", 30, "d");
  e.call("SADD", "st", "b", "c", "x");
  assert.deepEqual(e.call("ZUNION", 2, "z1", "z2"), ["a", "b", "c", "d"]);
  assert.deepEqual(e.call("ZUNION", 2, "z1", "z2", "WEIGHTS", 2, 3, "WITHSCORES"), [
    "a",
    "2",
    "b",
    "34",
    "c",
    "66",
    "d",
    "90",
  ]);
  assert.deepEqual(e.call("ZUNION", 2, "z1", "z2", "AGGREGATE", "MIN", "WITHSCORES"), [
    "a",
    "1",
    "b",
    "2",
    "c",
    "3",
    "d",
    "30",
  ]);
  assert.deepEqual(e.call("ZUNION", 2, "z1", "st", "WITHSCORES"), [
    "a",
    "1",
    "x",
    "1",
    "b",
    "3",
    "c",
    "4",
  ]);
  assert.deepEqual(e.call("ZUNION", 2, "z1", "z2", "WEIGHTS", "inf", "-inf", "WITHSCORES"), [
    "d",
    "-inf",
    "b",
    "0",
    "c",
    "0",
    "a",
    "inf",
  ]);
  assert.deepEqual(e.call("ZINTER", 2, "z1", "z2", "WITHSCORES"), ["b", "12", "c", "23"]);
  assert.deepEqual(e.call("ZINTER", 2, "z1", "st", "AGGREGATE", "MAX", "WITHSCORES"), [
    "b",
    "2",
    "c",
    "3",
  ]);
  assert.deepEqual(e.call("ZINTER", 2, "z1", "nokey"), []);
  assert.deepEqual(e.call("ZDIFF", 2, "z1", "z2", "WITHSCORES"), ["a", "1"]);
  assert.deepEqual(e.call("ZDIFF", 2, "st", "z1", "WITHSCORES"), ["x", "1"]);
  assert.deepEqual(e.call("ZDIFF", 1, "nokey"), []);
  // Sums are made smallest input first: (0.2 + 0.3) + 0.1.
  e.call("ZADD", "A", 0.1, "m", 1, "x", 1, "y");
  e.call("ZADD", "B", 0.2, "m");
  e.call("ZADD", "C", 0.3, "m", 1, "x");
  assert.deepEqual(e.call("ZINTER", 3, "A", "B", "C", "WITHSCORES"), ["m", "0.59999999999999998"]);
  // inf * 0 is NaN: 0 for a union input, and a SUM with NaN is 0 in an intersection.
  e.call("ZADD", "i1", 5, "a");
  e.call("ZADD", "i2", "inf", "a", 1, "b");
  assert.deepEqual(e.call("ZINTER", 2, "i1", "i2", "WEIGHTS", 1, 0, "WITHSCORES"), ["a", "0"]);
  assert.deepEqual(e.call("ZUNION", 2, "i1", "i2", "WEIGHTS", 1, 0, "WITHSCORES"), [
    "b",
    "0",
    "a",
    "5",
  ]);
  // Non-stored replies keep a -0.
  assert.deepEqual(e.call("ZUNION", 1, "i1", "WEIGHTS", "-0", "WITHSCORES"), ["a", "-0"]);
});

Deno.test("ZUNION family: errors", () => {
  const e = new TestEngine();
  e.call("ZADD", "z1", 1, "a");
  e.call("SET", "s", "x");
  assert.equal(
    err(e.call("ZUNION", 0, "z1")),
    "ERR at least 1 input key is needed for 'zunion' command",
  );
  assert.equal(
    err(e.call("zinter", -1, "z1")),
    "ERR at least 1 input key is needed for 'zinter' command",
  );
  assert.equal(err(e.call("ZUNION", "x", "z1")), "ERR value is not an integer or out of range");
  assert.equal(err(e.call("ZUNION", 3, "z1", "z1")), "ERR syntax error");
  assert.equal(err(e.call("ZUNION", 1, "z1", "foo")), "ERR syntax error");
  assert.equal(err(e.call("ZUNION", 1, "z1", "WEIGHTS")), "ERR syntax error");
  assert.equal(
    err(e.call("ZUNION", 2, "z1", "z1", "WEIGHTS", 1, "x")),
    "ERR weight value is not a float",
  );
  assert.equal(
    err(e.call("ZUNION", 2, "z1", "z1", "WEIGHTS", 1, "WITHSCORES")),
    "ERR weight value is not a float",
  );
  assert.equal(err(e.call("ZUNION", 1, "z1", "AGGREGATE", "foo")), "ERR syntax error");
  assert.equal(err(e.call("ZUNION", 1, "z1", "AGGREGATE")), "ERR syntax error");
  assert.equal(err(e.call("ZDIFF", 1, "z1", "WEIGHTS", 1)), "ERR syntax error");
  assert.equal(err(e.call("ZDIFF", 1, "z1", "AGGREGATE", "MIN")), "ERR syntax error");
  // Type errors come before option errors.
  assert.equal(err(e.call("ZUNION", 2, "z1", "s", "foo")), WRONGTYPE);
  assert.equal(err(e.call("ZINTER", 2, "nokey", "s")), WRONGTYPE);
  assert.equal(err(e.call("ZUNIONSTORE", "d", 1, "z1", "WITHSCORES")), "ERR syntax error");
  assert.equal(
    err(e.call("ZDIFFSTORE", "d", 0, "z1")),
    "ERR at least 1 input key is needed for 'zdiffstore' command",
  );
});

Deno.test("ZUNIONSTORE / ZINTERSTORE / ZDIFFSTORE: store, delete on empty, propagation", () => {
  const e = new TestEngine();
  e.call("ZADD", "z1", 1, "a", 2, "b", 3, "c");
  e.call("ZADD", "z2", 10, "b", 20, "c", 30, "d");
  let mark = e.propagated.length;
  assert.equal(e.call("ZUNIONSTORE", "d", 2, "z1", "z2"), 4);
  assert.deepEqual(e.call("ZRANGE", "d", 0, -1, "WITHSCORES"), [
    "a",
    "1",
    "b",
    "12",
    "c",
    "23",
    "d",
    "30",
  ]);
  assert.deepEqual(effects(e, mark), [["ZADD", "d", "1", "a", "12", "b", "23", "c", "30", "d"]]);
  mark = e.propagated.length;
  assert.equal(e.call("ZINTERSTORE", "d", 2, "z1", "z2", "WEIGHTS", 1, -1), 2);
  assert.deepEqual(e.call("ZRANGE", "d", 0, -1, "WITHSCORES"), ["c", "-17", "b", "-8"]);
  assert.deepEqual(effects(e, mark), [["DEL", "d"], ["ZADD", "d", "-17", "c", "-8", "b"]]);
  mark = e.propagated.length;
  assert.equal(e.call("ZINTERSTORE", "d", 2, "z1", "nokey"), 0);
  assert.equal(e.call("EXISTS", "d"), 0);
  assert.equal(e.call("ZINTERSTORE", "d", 2, "z1", "nokey"), 0);
  assert.deepEqual(effects(e, mark), [["DEL", "d"]]);
  assert.equal(e.call("ZDIFFSTORE", "d", 2, "z1", "z2"), 1);
  assert.deepEqual(e.call("ZRANGE", "d", 0, -1, "WITHSCORES"), ["a", "1"]);
  // Stored -0 becomes 0; a destination of another type with a TTL is replaced.
  e.call("SET", "t", "x", "EX", 100);
  assert.equal(e.call("ZUNIONSTORE", "t", 1, "z1", "WEIGHTS", "-0"), 3);
  assert.equal(e.call("ZSCORE", "t", "a"), "0");
  assert.equal(e.call("TTL", "t"), -1);
  // Destination among the sources.
  assert.equal(e.call("ZUNIONSTORE", "z1", 2, "z1", "z2"), 4);
  assert.equal(e.call("ZSCORE", "z1", "b"), "12");
  // Key positions: destination first, then numkeys keys (robust to a bad numkeys).
  const def = COMMANDS.get("zunionstore")!;
  assert.deepEqual(keyPositions(def, ["ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2"]), [
    1,
    3,
    4,
  ]);
  assert.deepEqual(keyPositions(def, ["ZUNIONSTORE", "d", "5", "a"]), [1, 3]);
  assert.deepEqual(keyPositions(def, ["ZUNIONSTORE", "d", "x", "a"]), [1]);
  assert.deepEqual(keyPositions(COMMANDS.get("zinter")!, ["ZINTER", "2", "a", "b", "WITHSCORES"]), [
    2,
    3,
  ]);
  assert.deepEqual(keyPositions(COMMANDS.get("zdiff")!, ["ZDIFF", "0", "a"]), []);
});

Deno.test("ZUNIONSTORE: large results propagate in batches", () => {
  const e = new TestEngine();
  const args: (string | number)[] = ["ZADD", "src"];
  for (let i = 0; i < 1200; i++) args.push(i, `m${i}`);
  e.call(...args);
  const mark = e.propagated.length;
  assert.equal(e.call("ZUNIONSTORE", "dst", 1, "src"), 1200);
  const fx = effects(e, mark);
  assert.deepEqual(fx.map((a) => a.length), [2 + 1024, 2 + 1024, 2 + 352]);
  // Replaying the effects rebuilds the same set.
  const r = new TestEngine();
  for (const a of fx) r.call(...a);
  assert.deepEqual(
    r.call("ZRANGE", "dst", 0, -1, "WITHSCORES"),
    e.call("ZRANGE", "dst", 0, -1, "WITHSCORES"),
  );
});

Deno.test("ZINTERCARD", () => {
  const e = new TestEngine();
  e.call("ZADD", "A", 1, "a", 2, "b", 3, "c");
  e.call("ZADD", "C", 1, "a", 2, "b", 5, "d");
  e.call("SADD", "st", "a", "q");
  assert.equal(e.call("ZINTERCARD", 2, "A", "C"), 2);
  assert.equal(e.call("ZINTERCARD", 2, "A", "C", "LIMIT", 1), 1);
  assert.equal(e.call("ZINTERCARD", 2, "A", "C", "LIMIT", 0), 2);
  assert.equal(e.call("ZINTERCARD", 1, "A", "LIMIT", 1, "LIMIT", 0), 3);
  assert.equal(e.call("ZINTERCARD", 2, "A", "st"), 1);
  assert.equal(e.call("ZINTERCARD", 2, "A", "nokey"), 0);
  assert.equal(err(e.call("ZINTERCARD", 2, "A", "C", "LIMIT", -1)), "ERR LIMIT can't be negative");
  assert.equal(err(e.call("ZINTERCARD", 2, "A", "C", "LIMIT", "x")), "ERR LIMIT can't be negative");
  assert.equal(err(e.call("ZINTERCARD", 2, "A", "C", "WEIGHTS", 1, 1)), "ERR syntax error");
  assert.equal(err(e.call("ZINTERCARD", 2, "A", "C", "WITHSCORES")), "ERR syntax error");
  assert.equal(
    err(e.call("ZINTERCARD", 0, "A")),
    "ERR at least 1 input key is needed for 'zintercard' command",
  );
  e.call("SET", "s", "x");
  assert.equal(err(e.call("ZINTERCARD", 2, "A", "s", "LIMIT", -1)), WRONGTYPE);
});

Deno.test("ZSCAN", () => {
  const e = new TestEngine();
  e.call("ZADD", "z", 1, "a", 2, "b", 0.1, "ab");
  assert.deepEqual(e.call("ZSCAN", "z", 0), ["0", [
    "ab",
    "0.10000000000000001",
    "a",
    "1",
    "b",
    "2",
  ]]);
  assert.deepEqual(e.call("ZSCAN", "z", 0, "MATCH", "a*", "COUNT", 1), ["0", [
    "ab",
    "0.10000000000000001",
    "a",
    "1",
  ]]);
  assert.deepEqual(e.call("ZSCAN", "nokey", 0, "foo"), ["0", []]);
  assert.equal(err(e.call("ZSCAN", "z", "x")), "ERR invalid cursor");
  assert.equal(err(e.call("ZSCAN", "z", 0, "COUNT", 0)), "ERR syntax error");
  assert.equal(err(e.call("ZSCAN", "z", 0, "TYPE", "string")), "ERR syntax error");
  // A big set is iterated with cursors; every member comes back exactly once.
  const args: (string | number)[] = ["ZADD", "big"];
  for (let i = 0; i < 300; i++) args.push(i, `m${i}`);
  e.call(...args);
  const seen = new Map<string, string>();
  let cursor = "0";
  let steps = 0;
  do {
    const [next, items] = e.call("ZSCAN", "big", cursor, "COUNT", 50) as [string, string[]];
    for (let i = 0; i < items.length; i += 2) seen.set(items[i]!, items[i + 1]!);
    cursor = next;
    steps++;
  } while (cursor !== "0");
  assert.ok(steps > 1);
  assert.equal(seen.size, 300);
  assert.equal(seen.get("m42"), "42");
  e.proto = 3;
  assert.deepEqual(e.call("ZSCAN", "z", 0), ["0", [
    "ab",
    "0.10000000000000001",
    "a",
    "1",
    "b",
    "2",
  ]]);
  e.call("SET", "s", "x");
  assert.equal(err(e.call("ZSCAN", "s", 0)), WRONGTYPE);
});

Deno.test("RESP3 shapes: pairs for WITHSCORES, doubles for scores", () => {
  const e = new TestEngine();
  e.proto = 3;
  e.call("ZADD", "z1", 1, "a", 2, "b", 3, "c");
  e.call("ZADD", "z2", 10, "b");
  assert.equal(e.call("ZADD", "z1", "INCR", 1, "a"), 2);
  assert.equal(e.call("ZINCRBY", "z1", 1.5, "a"), 3.5);
  assert.equal(e.call("ZSCORE", "z1", "a"), 3.5);
  assert.equal(e.call("ZSCORE", "z1", "x"), null);
  assert.deepEqual(e.call("ZMSCORE", "z1", "b", "x"), [2, null]);
  assert.deepEqual(e.call("ZRANGE", "z1", 0, -1, "WITHSCORES"), [["b", 2], ["c", 3], ["a", 3.5]]);
  assert.deepEqual(e.call("ZRANGE", "z1", 0, -1), ["b", "c", "a"]);
  assert.deepEqual(e.call("ZREVRANGEBYSCORE", "z1", "+inf", "-inf", "WITHSCORES", "LIMIT", 0, 1), [
    ["a", 3.5],
  ]);
  assert.deepEqual(e.call("ZUNION", 2, "z1", "z2", "WITHSCORES"), [
    ["c", 3],
    ["a", 3.5],
    ["b", 12],
  ]);
  assert.deepEqual(e.call("ZINTER", 2, "z1", "z2", "WITHSCORES"), [["b", 12]]);
  assert.deepEqual(e.call("ZDIFF", 2, "z1", "z2", "WITHSCORES"), [["c", 3], ["a", 3.5]]);
  assert.equal(e.call("ZRANK", "z1", "x"), null);
  assert.equal(e.call("ZRANDMEMBER", "nokey"), null);
});

Deno.test("expired sorted sets behave as missing", () => {
  const e = seeded();
  e.call("PEXPIRE", "z", 100);
  assert.equal(e.call("ZCARD", "z"), 5);
  e.advance(101);
  assert.equal(e.call("ZCARD", "z"), 0);
  assert.equal(e.call("ZSCORE", "z", "a"), null);
  assert.deepEqual(e.call("ZRANGE", "z", 0, -1), []);
  assert.equal(e.call("ZADD", "z", "XX", 1, "a"), 0);
  assert.equal(e.call("ZADD", "z", 7, "q"), 1);
  assert.deepEqual(e.call("ZRANGE", "z", 0, -1, "WITHSCORES"), ["q", "7"]);
  assert.equal(e.call("TTL", "z"), -1);
});

Deno.test("command table: arities, flags and key positions", () => {
  const expect: Record<string, [number, string[], number, number, number]> = {
    zadd: [-4, ["write", "denyoom", "fast"], 1, 1, 1],
    zincrby: [4, ["write", "denyoom", "fast"], 1, 1, 1],
    zrem: [-3, ["write", "fast"], 1, 1, 1],
    zscore: [3, ["readonly", "fast"], 1, 1, 1],
    zrange: [-4, ["readonly"], 1, 1, 1],
    zrangestore: [-5, ["write", "denyoom"], 1, 2, 1],
    zremrangebyscore: [4, ["write"], 1, 1, 1],
    zpopmin: [-2, ["write", "fast"], 1, 1, 1],
    zrandmember: [-2, ["readonly"], 1, 1, 1],
    zunionstore: [-4, ["write", "denyoom"], 1, 1, 1],
    zunion: [-3, ["readonly"], 0, 0, 0],
    zscan: [-3, ["readonly"], 1, 1, 1],
  };
  for (const [name, [arity, flags, first, last, step]] of Object.entries(expect)) {
    const def = COMMANDS.get(name);
    assert.ok(def, name);
    assert.equal(def.arity, arity, name);
    assert.deepEqual([...def.flags], flags, name);
    assert.deepEqual([def.firstKey, def.lastKey, def.step], [first, last, step], name);
  }
});
