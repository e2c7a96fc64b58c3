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
function engine(seed = 1): TestEngine {
  const e = new TestEngine(seed);
  e.ks.db(0).set("str", { type: "string", value: "v" });
  return e;
}

/** Sorted copy of an array reply (set order is unspecified). */
function sorted(v: ReplyValue): string[] {
  assert.ok(Array.isArray(v), `expected an array, got ${JSON.stringify(v)}`);
  return (v as string[]).slice().sort();
}

function members(e: TestEngine, key: string): string[] {
  return sorted(e.call("SMEMBERS", key));
}

function hasKey(e: TestEngine, key: string): boolean {
  return e.ks.db(e.db).has(key);
}

Deno.test("SADD / SREM: counts, duplicates, deletion, propagation", () => {
  const e = engine();
  assert.equal(e.call("SADD", "s", "a", "b", "a"), 2);
  assert.equal(e.call("SADD", "s", "b"), 0);
  assert.equal(e.call("SADD", "s", "c", "b"), 1);
  assert.deepEqual(members(e, "s"), ["a", "b", "c"]);
  assert.equal(e.call("SREM", "s", "a", "a", "z"), 1);
  assert.equal(e.call("SREM", "s", "z"), 0);
  assert.equal(e.call("SREM", "nos", "z"), 0);
  assert.equal(e.call("SREM", "s", "b", "c"), 2);
  assert.equal(hasKey(e, "s"), false);
  assert.equal(err(e.call("SADD", "str", "a")), WRONGTYPE);
  assert.equal(err(e.call("SREM", "str", "a")), WRONGTYPE);
  assert.equal(err(e.call("SADD", "s")), "ERR wrong number of arguments for 'sadd' command");
  assert.deepEqual(e.propagated, [
    [0, ["SADD", "s", "a", "b", "a"]],
    [0, ["SADD", "s", "c", "b"]],
    [0, ["SREM", "s", "a", "a", "z"]],
    [0, ["SREM", "s", "b", "c"]],
  ]);
});

Deno.test("SMEMBERS / SISMEMBER / SMISMEMBER / SCARD", () => {
  const e = engine();
  assert.deepEqual(e.call("SMEMBERS", "nos"), []);
  assert.equal(e.call("SCARD", "nos"), 0);
  assert.equal(e.call("SISMEMBER", "nos", "a"), 0);
  assert.deepEqual(e.call("SMISMEMBER", "nos", "a", "b"), [0, 0]);
  e.call("SADD", "s", "a", "b", "\x00\xff");
  assert.deepEqual(members(e, "s"), ["\x00\xff", "a", "b"]);
  assert.equal(e.call("SCARD", "s"), 3);
  assert.equal(e.call("SISMEMBER", "s", "a"), 1);
  assert.equal(e.call("SISMEMBER", "s", "z"), 0);
  assert.deepEqual(e.call("SMISMEMBER", "s", "a", "z", "\x00\xff"), [1, 0, 1]);
  for (const cmd of [["SMEMBERS"], ["SCARD"], ["SISMEMBER", "a"], ["SMISMEMBER", "a"]]) {
    assert.equal(err(e.call(cmd[0]!, "str", ...cmd.slice(1))), WRONGTYPE, cmd[0]);
  }
  assert.equal(
    err(e.call("SMISMEMBER", "s")),
    "ERR wrong number of arguments for 'smismember' command",
  );
});

Deno.test("SPOP without count", () => {
  const e = engine();
  assert.equal(e.call("SPOP", "nos"), null);
  e.call("SADD", "s", "a", "b", "c");
  const seen: string[] = [];
  for (let i = 0; i < 3; i++) {
    const m = e.call("SPOP", "s");
    assert.equal(typeof m, "string");
    seen.push(m as string);
    assert.deepEqual(e.propagated.at(-1), [0, ["SREM", "s", m]]);
  }
  assert.deepEqual(seen.sort(), ["a", "b", "c"]);
  assert.equal(hasKey(e, "s"), false);
  assert.equal(e.call("SPOP", "s"), null);
  assert.equal(err(e.call("SPOP", "str")), WRONGTYPE);
});

Deno.test("SPOP with count: partial pops propagate SREM, a full pop propagates DEL", () => {
  const e = engine();
  e.call("SADD", "s", "a", "b", "c", "d", "e");
  const popped = e.call("SPOP", "s", 2) as string[];
  assert.equal(popped.length, 2);
  assert.equal(new Set(popped).size, 2);
  assert.equal(e.call("SCARD", "s"), 3);
  for (const m of popped) assert.equal(e.call("SISMEMBER", "s", m), 0);
  assert.deepEqual(e.propagated.at(-1), [0, ["SREM", "s", ...popped]]);
  const n = e.propagated.length;
  assert.deepEqual(e.call("SPOP", "s", 0), []);
  assert.equal(e.propagated.length, n);
  const rest = e.call("SPOP", "s", 10) as string[];
  assert.deepEqual([...rest, ...popped].sort(), ["a", "b", "c", "d", "e"]);
  assert.equal(hasKey(e, "s"), false);
  assert.deepEqual(e.propagated.at(-1), [0, ["DEL", "s"]]);
  assert.deepEqual(e.call("SPOP", "s", 3), []);
  e.call("SADD", "t", "x", "y");
  assert.deepEqual(sorted(e.call("SPOP", "t", 2)), ["x", "y"]);
  assert.deepEqual(e.propagated.at(-1), [0, ["DEL", "t"]]);
});

Deno.test("SPOP errors: count parsing first, extra args", () => {
  const e = engine();
  e.call("SADD", "s", "a");
  const positive = "ERR value is out of range, must be positive";
  assert.equal(err(e.call("SPOP", "s", -1)), positive);
  assert.equal(err(e.call("SPOP", "s", "x")), positive);
  assert.equal(err(e.call("SPOP", "str", -1)), positive);
  assert.equal(err(e.call("SPOP", "str", 0)), WRONGTYPE);
  assert.equal(err(e.call("SPOP", "s", 1, 2)), "ERR syntax error");
  assert.equal(e.call("SCARD", "s"), 1);
});

Deno.test("SPOP count: RESP3 set shapes", () => {
  const e = engine();
  e.proto = 3;
  assert.deepEqual(e.call("SPOP", "nos", 2), []);
  assert.equal(e.call("SPOP", "nos"), null);
  e.call("SADD", "s", "a");
  assert.deepEqual(e.call("SPOP", "s", 5), ["a"]);
});

Deno.test("SRANDMEMBER: no count, positive, negative, zero", () => {
  const e = engine();
  assert.equal(e.call("SRANDMEMBER", "nos"), null);
  assert.deepEqual(e.call("SRANDMEMBER", "nos", 3), []);
  assert.deepEqual(e.call("SRANDMEMBER", "nos", -3), []);
  e.call("SADD", "s", "a", "b", "c", "d");
  const one = e.call("SRANDMEMBER", "s");
  assert.ok(["a", "b", "c", "d"].includes(one as string));
  const two = e.call("SRANDMEMBER", "s", 2) as string[];
  assert.equal(two.length, 2);
  assert.equal(new Set(two).size, 2);
  for (const m of two) assert.ok(["a", "b", "c", "d"].includes(m));
  assert.deepEqual(sorted(e.call("SRANDMEMBER", "s", 4)), ["a", "b", "c", "d"]);
  assert.deepEqual(sorted(e.call("SRANDMEMBER", "s", 100)), ["a", "b", "c", "d"]);
  assert.deepEqual(e.call("SRANDMEMBER", "s", 0), []);
  const many = e.call("SRANDMEMBER", "s", -50) as string[];
  assert.equal(many.length, 50);
  for (const m of many) assert.ok(["a", "b", "c", "d"].includes(m));
  assert.ok(new Set(many).size > 1); // repeats allowed, but not a constant
  assert.equal(e.call("SCARD", "s"), 4); // read only
  assert.deepEqual(e.propagated.length, 1);
  e.call("SADD", "one", "x");
  assert.deepEqual(e.call("SRANDMEMBER", "one", -3), ["x", "x", "x"]);
});

Deno.test("SRANDMEMBER errors", () => {
  const e = engine();
  e.call("SADD", "s", "a");
  assert.equal(
    err(e.call("SRANDMEMBER", "s", "x")),
    "ERR value is not an integer or out of range",
  );
  assert.equal(
    err(e.call("SRANDMEMBER", "nos", "9223372036854775808")),
    "ERR value is not an integer or out of range",
  );
  assert.equal(
    err(e.call("SRANDMEMBER", "s", "-9223372036854775808")),
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
  );
  assert.equal(err(e.call("SRANDMEMBER", "str")), WRONGTYPE);
  assert.equal(err(e.call("SRANDMEMBER", "str", 0)), WRONGTYPE);
  assert.equal(err(e.call("SRANDMEMBER", "s", 1, 2)), "ERR syntax error");
});

Deno.test("SPOP / SRANDMEMBER: the random source decides (different seeds differ)", () => {
  const results = new Set<string>();
  for (let seed = 1; seed <= 20; seed++) {
    const e = engine(seed);
    e.call("SADD", "s", "a", "b", "c", "d", "e", "f", "g", "h");
    results.add(String(e.call("SPOP", "s")));
  }
  assert.ok(results.size > 2);
  const again = engine(7);
  again.call("SADD", "s", "a", "b", "c", "d", "e", "f", "g", "h");
  const first = again.call("SRANDMEMBER", "s", 3);
  const twin = engine(7);
  twin.call("SADD", "s", "a", "b", "c", "d", "e", "f", "g", "h");
  assert.deepEqual(twin.call("SRANDMEMBER", "s", 3), first);
});

Deno.test("SMOVE: moves, no-ops, errors, propagation", () => {
  const e = engine();
  e.call("SADD", "src", "a", "b");
  e.call("SADD", "dst", "b");
  assert.equal(e.call("SMOVE", "src", "dst", "a"), 1);
  assert.deepEqual(members(e, "src"), ["b"]);
  assert.deepEqual(members(e, "dst"), ["a", "b"]);
  assert.equal(e.call("SMOVE", "src", "dst", "z"), 0);
  // Member already in the destination: only removed from the source; source deleted.
  assert.equal(e.call("SMOVE", "src", "dst", "b"), 1);
  assert.equal(hasKey(e, "src"), false);
  assert.equal(e.call("SMOVE", "nos", "dst", "a"), 0);
  assert.equal(e.call("SMOVE", "nos", "str", "a"), 0);
  assert.equal(err(e.call("SMOVE", "dst", "str", "a")), WRONGTYPE);
  assert.equal(err(e.call("SMOVE", "str", "dst", "a")), WRONGTYPE);
  assert.deepEqual(members(e, "dst"), ["a", "b"]);
  assert.equal(e.call("SMOVE", "dst", "dst", "a"), 1);
  assert.equal(e.call("SMOVE", "dst", "dst", "z"), 0);
  assert.equal(e.call("SMOVE", "dst", "new", "a"), 1);
  assert.deepEqual(members(e, "new"), ["a"]);
  assert.deepEqual(e.propagated.slice(2), [
    [0, ["SREM", "src", "a"]],
    [0, ["SADD", "dst", "a"]],
    [0, ["SREM", "src", "b"]],
    [0, ["SREM", "dst", "a"]],
    [0, ["SADD", "new", "a"]],
  ]);
});

Deno.test("SINTER / SUNION / SDIFF", () => {
  const e = engine();
  e.call("SADD", "a", "1", "2", "3", "4");
  e.call("SADD", "b", "2", "3", "5");
  e.call("SADD", "c", "3", "4", "5");
  assert.deepEqual(sorted(e.call("SINTER", "a", "b")), ["2", "3"]);
  assert.deepEqual(sorted(e.call("SINTER", "a", "b", "c")), ["3"]);
  assert.deepEqual(sorted(e.call("SINTER", "a")), ["1", "2", "3", "4"]);
  assert.deepEqual(e.call("SINTER", "a", "nos"), []);
  assert.deepEqual(sorted(e.call("SUNION", "a", "b", "nos")), ["1", "2", "3", "4", "5"]);
  assert.deepEqual(e.call("SUNION", "nos"), []);
  assert.deepEqual(sorted(e.call("SDIFF", "a", "b")), ["1", "4"]);
  assert.deepEqual(sorted(e.call("SDIFF", "a", "b", "c")), ["1"]);
  assert.deepEqual(sorted(e.call("SDIFF", "a", "nos")), ["1", "2", "3", "4"]);
  assert.deepEqual(e.call("SDIFF", "nos", "a"), []);
  assert.deepEqual(e.call("SDIFF", "a", "a"), []);
  // Every key is type-checked, even after a missing one.
  for (const cmd of ["SINTER", "SUNION", "SDIFF"]) {
    assert.equal(err(e.call(cmd, "nos", "str")), WRONGTYPE, cmd);
    assert.equal(err(e.call(cmd, "a", "str")), WRONGTYPE, cmd);
  }
  assert.deepEqual(e.propagated.length, 3);
});

Deno.test("SINTER / SUNION / SDIFF: RESP3 sets", () => {
  const e = engine();
  e.proto = 3;
  e.call("SADD", "a", "x");
  assert.deepEqual(e.call("SINTER", "a"), ["x"]);
  assert.deepEqual(e.call("SUNION", "a", "nos"), ["x"]);
  assert.deepEqual(e.call("SDIFF", "a", "nos"), ["x"]);
  assert.deepEqual(e.call("SMEMBERS", "nos"), []);
});

Deno.test("SINTERCARD: LIMIT and errors", () => {
  const e = engine();
  e.call("SADD", "a", "1", "2", "3", "4");
  e.call("SADD", "b", "2", "3", "4", "5");
  assert.equal(e.call("SINTERCARD", 2, "a", "b"), 3);
  assert.equal(e.call("SINTERCARD", 1, "a"), 4);
  assert.equal(e.call("SINTERCARD", 2, "a", "b", "LIMIT", 2), 2);
  assert.equal(e.call("SINTERCARD", 2, "a", "b", "limit", 0), 3);
  assert.equal(e.call("SINTERCARD", 2, "a", "b", "LIMIT", 10), 3);
  assert.equal(e.call("SINTERCARD", 2, "a", "b", "LIMIT", 1, "LIMIT", 5), 3);
  assert.equal(e.call("SINTERCARD", 2, "a", "nos"), 0);
  const numkeys = "ERR numkeys should be greater than 0";
  assert.equal(err(e.call("SINTERCARD", 0, "a")), numkeys);
  assert.equal(err(e.call("SINTERCARD", -1, "a")), numkeys);
  assert.equal(err(e.call("SINTERCARD", "x", "a")), numkeys);
  assert.equal(
    err(e.call("SINTERCARD", 3, "a", "b")),
    "ERR Number of keys can't be greater than number of args",
  );
  assert.equal(err(e.call("SINTERCARD", 1, "a", "LIMIT")), "ERR syntax error");
  assert.equal(err(e.call("SINTERCARD", 1, "a", "b")), "ERR syntax error");
  assert.equal(err(e.call("SINTERCARD", 1, "a", "FOO", 1)), "ERR syntax error");
  assert.equal(err(e.call("SINTERCARD", 1, "a", "LIMIT", -1)), "ERR LIMIT can't be negative");
  assert.equal(err(e.call("SINTERCARD", 1, "a", "LIMIT", "x")), "ERR LIMIT can't be negative");
  assert.equal(err(e.call("SINTERCARD", 2, "nos", "str")), WRONGTYPE);
});

Deno.test("SINTERCARD: key positions come from numkeys, robust to bad input", () => {
  const def = COMMANDS.get("sintercard")!;
  assert.deepEqual(keyPositions(def, ["sintercard", "2", "a", "b", "LIMIT", "1"]), [2, 3]);
  assert.deepEqual(keyPositions(def, ["sintercard", "1", "a"]), [2]);
  assert.deepEqual(keyPositions(def, ["sintercard", "5", "a", "b"]), [2, 3]);
  assert.deepEqual(keyPositions(def, ["sintercard", "0", "a"]), []);
  assert.deepEqual(keyPositions(def, ["sintercard", "x", "a"]), []);
  assert.deepEqual(keyPositions(def, ["sintercard"]), []);
});

Deno.test("S*STORE: overwrite, delete when empty, propagate DEL + SADD", () => {
  const e = engine();
  e.call("SADD", "a", "1", "2", "3");
  e.call("SADD", "b", "2", "3", "4");
  const base = e.propagated.length;
  assert.equal(e.call("SINTERSTORE", "d", "a", "b"), 2);
  assert.deepEqual(members(e, "d"), ["2", "3"]);
  assert.deepEqual(e.propagated.slice(base).map(([, a]) => [a[0], a[1], ...a.slice(2).sort()]), [
    ["SADD", "d", "2", "3"],
  ]);
  assert.equal(e.call("SUNIONSTORE", "d", "a", "b"), 4);
  assert.deepEqual(members(e, "d"), ["1", "2", "3", "4"]);
  assert.deepEqual(
    e.propagated.slice(base + 1).map(([, a]) => [a[0], a[1], ...a.slice(2).sort()]),
    [
      ["DEL", "d"],
      ["SADD", "d", "1", "2", "3", "4"],
    ],
  );
  assert.equal(e.call("SDIFFSTORE", "d", "a", "b"), 1);
  assert.deepEqual(members(e, "d"), ["1"]);
  // Empty result: destination deleted, DEL propagated.
  assert.equal(e.call("SDIFFSTORE", "d", "a", "a"), 0);
  assert.equal(hasKey(e, "d"), false);
  assert.deepEqual(e.propagated.at(-1), [0, ["DEL", "d"]]);
  // Empty result and no destination: nothing changes, nothing propagated.
  const n = e.propagated.length;
  assert.equal(e.call("SINTERSTORE", "d", "a", "nos"), 0);
  assert.equal(e.call("SUNIONSTORE", "d", "nos"), 0);
  assert.equal(e.propagated.length, n);
  // A destination of another type is overwritten.
  assert.equal(e.call("SUNIONSTORE", "str", "a"), 3);
  assert.deepEqual(members(e, "str"), ["1", "2", "3"]);
  // Destination among the sources.
  assert.equal(e.call("SINTERSTORE", "a", "a", "b"), 2);
  assert.deepEqual(members(e, "a"), ["2", "3"]);
  // Source of the wrong type.
  e.ks.db(0).set("s2", { type: "string", value: "v" });
  assert.equal(err(e.call("SUNIONSTORE", "d", "a", "s2")), WRONGTYPE);
  assert.equal(err(e.call("SINTERSTORE", "d", "nos", "s2")), WRONGTYPE);
  assert.equal(err(e.call("SDIFFSTORE", "d", "nos", "s2")), WRONGTYPE);
  assert.equal(hasKey(e, "d"), false);
  // The stored copy is independent of its source.
  e.call("SUNIONSTORE", "copy", "b");
  e.call("SADD", "b", "new");
  assert.deepEqual(members(e, "copy"), ["2", "3", "4"]);
});

Deno.test("S*STORE: the destination loses its TTL", () => {
  const e = engine();
  e.call("SADD", "a", "1");
  e.call("SADD", "d", "x");
  e.ks.db(0).setExpireAt("d", e.time + 1000);
  assert.equal(e.call("SUNIONSTORE", "d", "a"), 1);
  assert.equal(e.ks.db(0).expireAt("d"), undefined);
});

Deno.test("sets: expired keys behave as missing", () => {
  const e = engine();
  e.call("SADD", "s", "a", "b");
  e.ks.db(0).setExpireAt("s", e.time + 50);
  assert.equal(e.call("SCARD", "s"), 2);
  e.advance(50);
  assert.equal(e.call("SCARD", "s"), 0);
  assert.equal(e.call("SISMEMBER", "s", "a"), 0);
  assert.equal(e.call("SPOP", "s"), null);
  assert.equal(e.call("SADD", "s", "c"), 1);
  assert.deepEqual(members(e, "s"), ["c"]);
  assert.equal(e.ks.db(0).expireAt("s"), undefined);
});

Deno.test("sets: command table entries (arity, flags, keys)", () => {
  const expect: Record<string, [number, string[], number, number, number]> = {
    sadd: [-3, ["write", "denyoom", "fast"], 1, 1, 1],
    srem: [-3, ["write", "fast"], 1, 1, 1],
    smembers: [2, ["readonly"], 1, 1, 1],
    sismember: [3, ["readonly", "fast"], 1, 1, 1],
    smismember: [-3, ["readonly", "fast"], 1, 1, 1],
    scard: [2, ["readonly", "fast"], 1, 1, 1],
    spop: [-2, ["write", "fast"], 1, 1, 1],
    srandmember: [-2, ["readonly"], 1, 1, 1],
    smove: [4, ["write", "fast"], 1, 2, 1],
    sinter: [-2, ["readonly"], 1, -1, 1],
    sunion: [-2, ["readonly"], 1, -1, 1],
    sdiff: [-2, ["readonly"], 1, -1, 1],
    sinterstore: [-3, ["write", "denyoom"], 1, -1, 1],
    sunionstore: [-3, ["write", "denyoom"], 1, -1, 1],
    sdiffstore: [-3, ["write", "denyoom"], 1, -1, 1],
    sintercard: [-3, ["readonly"], 0, 0, 0],
    sscan: [-3, ["readonly"], 1, 1, 1],
  };
  for (const [name, [arity, flags, first, last, step]] of Object.entries(expect)) {
    const def = COMMANDS.get(name);
    assert.ok(def, name);
    assert.deepEqual(
      [def.arity, [...def.flags], def.firstKey, def.lastKey, def.step],
      [arity, flags, first, last, step],
      name,
    );
  }
  assert.deepEqual(keyPositions(COMMANDS.get("sunionstore")!, ["sunionstore", "d", "a", "b"]), [
    1,
    2,
    3,
  ]);
});

/** Runs a full SSCAN iteration and returns every reported member (with duplicates). */
function fullScan(
  e: TestEngine,
  key: string,
  ...opts: string[]
): { seen: string[]; steps: number } {
  const seen: string[] = [];
  let cursor = "0";
  let steps = 0;
  do {
    const reply = e.call("SSCAN", key, cursor, ...opts) as [string, string[]];
    assert.equal(reply.length, 2);
    cursor = reply[0];
    seen.push(...reply[1]);
    steps++;
    assert.ok(steps < 10_000, "iteration does not end");
  } while (cursor !== "0");
  return { seen, steps };
}

Deno.test("SSCAN: small integer sets are returned whole and sorted (intset)", () => {
  const e = engine();
  e.call("SADD", "s", "5", "-3", "100", "0", "9223372036854775807", "-9223372036854775808");
  const sortedInts = ["-9223372036854775808", "-3", "0", "5", "100", "9223372036854775807"];
  assert.deepEqual(e.call("SSCAN", "s", 0), ["0", sortedInts]);
  assert.deepEqual(e.call("SSCAN", "s", 77, "COUNT", 1), ["0", sortedInts]);
  assert.deepEqual(e.call("SSCAN", "s", 0, "MATCH", "*0*"), [
    "0",
    ["-9223372036854775808", "0", "100", "9223372036854775807"],
  ]);
  // "-0" and "01" are not integers to Redis: no longer an intset, so a cursor-based scan.
  e.call("SADD", "t", "1", "01");
  const { seen } = fullScan(e, "t");
  assert.deepEqual(seen.sort(), ["01", "1"]);
});

Deno.test("SSCAN: a large set iterates to completion with cursors, COUNT and MATCH", () => {
  const e = engine();
  const all: string[] = [];
  for (let i = 0; i < 1000; i++) all.push(`m${i}`);
  e.call("SADD", "s", ...all);
  const first = e.call("SSCAN", "s", 0) as [string, string[]];
  assert.notEqual(first[0], "0");
  assert.equal(first[1].length, 10);
  const { seen, steps } = fullScan(e, "s", "COUNT", "100");
  assert.deepEqual(seen.slice().sort(), all.slice().sort());
  assert.ok(steps >= 10 && steps <= 11, `steps ${steps}`);
  const matched = fullScan(e, "s", "MATCH", "m1?", "COUNT", "50").seen;
  assert.deepEqual(matched.sort(), [
    "m10",
    "m11",
    "m12",
    "m13",
    "m14",
    "m15",
    "m16",
    "m17",
    "m18",
    "m19",
  ]);
});

Deno.test("SSCAN: members present throughout are reported despite concurrent changes", () => {
  const e = engine();
  const stable: string[] = [];
  for (let i = 0; i < 300; i++) stable.push(`s${i}`);
  e.call("SADD", "s", ...stable);
  const seen = new Set<string>();
  let cursor = "0";
  let round = 0;
  do {
    const [next, items] = e.call("SSCAN", "s", cursor, "COUNT", 7) as [string, string[]];
    for (const m of items) seen.add(m);
    cursor = next;
    e.call("SADD", "s", `new${round}`);
    if (round % 3 === 0) e.call("SREM", "s", `new${round - 3}`);
    round++;
  } while (cursor !== "0");
  for (const m of stable) assert.ok(seen.has(m), m);
});

Deno.test("SSCAN: missing key, errors, order of checks", () => {
  const e = engine();
  assert.deepEqual(e.call("SSCAN", "nos", 0), ["0", []]);
  // A missing key replies an empty scan before options are checked.
  assert.deepEqual(e.call("SSCAN", "nos", 0, "COUNT", 0), ["0", []]);
  assert.deepEqual(e.call("SSCAN", "nos", 0, "FOO"), ["0", []]);
  assert.equal(err(e.call("SSCAN", "nos", "x")), "ERR invalid cursor");
  assert.equal(err(e.call("SSCAN", "str", 0)), WRONGTYPE);
  assert.equal(err(e.call("SSCAN", "str", "x")), "ERR invalid cursor");
  e.call("SADD", "s", "a", "b");
  assert.equal(err(e.call("SSCAN", "s", 0, "COUNT", 0)), "ERR syntax error");
  assert.equal(err(e.call("SSCAN", "s", 0, "COUNT", -1)), "ERR syntax error");
  assert.equal(
    err(e.call("SSCAN", "s", 0, "COUNT", "x")),
    "ERR value is not an integer or out of range",
  );
  assert.equal(err(e.call("SSCAN", "s", 0, "MATCH")), "ERR syntax error");
  assert.equal(err(e.call("SSCAN", "s", 0, "TYPE", "set")), "ERR syntax error");
  assert.equal(err(e.call("SSCAN", "s", "18446744073709551616")), "ERR invalid cursor");
  assert.equal(err(e.call("SSCAN", "s")), "ERR wrong number of arguments for 'sscan' command");
  const reply = e.call("SSCAN", "s", "0", "MATCH", "*", "COUNT", "5") as [string, string[]];
  assert.equal(reply[0], "0");
  assert.deepEqual(reply[1].sort(), ["a", "b"]);
  assert.deepEqual(e.call("SSCAN", "s", "0", "MATCH", "z*"), ["0", []]);
});
