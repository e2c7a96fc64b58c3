import assert from "node:assert/strict";
import { TestEngine } from "../testing.ts";
import { ReplyError, type ReplyValue } from "../reply.ts";
import { COMMANDS } from "../commands.ts";
import { keyPositions } from "../command.ts";
import { Deque } from "../deque.ts";

function errOf(v: ReplyValue): string {
  assert.ok(v instanceof ReplyError, `expected an error, got ${String(v)}`);
  return v.message;
}

const WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value";
const NOT_INT = "ERR value is not an integer or out of range";
const NOT_FLOAT = "ERR value is not a valid float";

/** An engine with a list under "list" for WRONGTYPE checks. */
function engine(): TestEngine {
  const e = new TestEngine();
  const d = new Deque<string>();
  d.pushBack("x");
  e.ks.db(0).set("list", { type: "list", value: d });
  return e;
}

function ttlOf(e: TestEngine, key: string): number | undefined {
  return e.ks.db(e.db).expireAt(key);
}

function effects(e: TestEngine): string[][] {
  return e.propagated.map(([, args]) => args);
}

Deno.test("GET / SET basics", () => {
  const e = engine();
  assert.equal(e.call("GET", "k"), null);
  assert.equal(e.call("SET", "k", "v"), "OK");
  assert.equal(e.call("GET", "k"), "v");
  assert.equal(e.call("SET", "k", "bin\x00\xff"), "OK");
  assert.equal(e.call("GET", "k"), "bin\x00\xff");
  assert.equal(errOf(e.call("GET", "list")), WRONGTYPE);
  assert.equal(errOf(e.call("GET")), "ERR wrong number of arguments for 'get' command");
  assert.equal(errOf(e.call("SET", "k")), "ERR wrong number of arguments for 'set' command");
  // SET overwrites any type and clears the TTL.
  assert.equal(e.call("SET", "list", "s"), "OK");
  assert.equal(e.call("GET", "list"), "s");
  assert.deepEqual(effects(e), [["SET", "k", "v"], ["SET", "k", "bin\x00\xff"], [
    "SET",
    "list",
    "s",
  ]]);
});

Deno.test("SET NX / XX / GET", () => {
  const e = engine();
  assert.equal(e.call("SET", "k", "1", "XX"), null);
  assert.equal(e.call("GET", "k"), null);
  assert.equal(e.call("SET", "k", "1", "NX"), "OK");
  assert.equal(e.call("SET", "k", "2", "nx"), null);
  assert.equal(e.call("GET", "k"), "1");
  assert.equal(e.call("SET", "k", "3", "xx"), "OK");
  assert.equal(e.call("SET", "k", "4", "NX", "NX"), null);
  assert.equal(errOf(e.call("SET", "k", "4", "NX", "XX")), "ERR syntax error");
  assert.equal(errOf(e.call("SET", "k", "4", "XX", "NX")), "ERR syntax error");
  assert.equal(errOf(e.call("SET", "k", "4", "FOO")), "ERR syntax error");
  assert.equal(errOf(e.call("SET", "k", "4", "PERSIST")), "ERR syntax error");
  assert.equal(e.call("SET", "k", "5", "GET"), "3");
  assert.equal(e.call("SET", "n", "5", "GET"), null);
  assert.equal(e.call("GET", "n"), "5");
  assert.equal(e.call("SET", "k", "6", "NX", "GET"), "5"); // not set, old value returned
  assert.equal(e.call("GET", "k"), "5");
  assert.equal(e.call("SET", "m", "7", "NX", "GET"), null);
  assert.equal(e.call("GET", "m"), "7");
  assert.equal(e.call("SET", "z", "8", "XX", "GET"), null);
  assert.equal(e.call("GET", "z"), null);
  assert.equal(errOf(e.call("SET", "list", "v", "GET")), WRONGTYPE);
  assert.equal(errOf(e.call("SET", "list", "v", "NX", "GET")), WRONGTYPE);
  assert.equal(e.call("SET", "list", "v", "NX"), null);
  assert.equal(e.call("SET", "list", "v", "XX"), "OK");
  assert.equal(e.call("GET", "list"), "v");
});

Deno.test("SET expiry options store absolute times and propagate PXAT", () => {
  const e = engine();
  const now = e.time;
  assert.equal(e.call("SET", "k", "v", "EX", "10"), "OK");
  assert.equal(ttlOf(e, "k"), now + 10_000);
  assert.equal(e.call("SET", "k", "v", "PX", "1500"), "OK");
  assert.equal(ttlOf(e, "k"), now + 1500);
  assert.equal(e.call("SET", "k", "v", "EXAT", "4102444800"), "OK");
  assert.equal(ttlOf(e, "k"), 4102444800000);
  assert.equal(e.call("SET", "k", "v", "PXAT", "4102444800123"), "OK");
  assert.equal(ttlOf(e, "k"), 4102444800123);
  assert.equal(e.call("SET", "k", "v", "EX", "10", "EX", "20"), "OK");
  assert.equal(ttlOf(e, "k"), now + 20_000);
  assert.deepEqual(effects(e), [
    ["SET", "k", "v", "PXAT", String(now + 10_000)],
    ["SET", "k", "v", "PXAT", String(now + 1500)],
    ["SET", "k", "v", "PXAT", "4102444800000"],
    ["SET", "k", "v", "PXAT", "4102444800123"],
    ["SET", "k", "v", "PXAT", String(now + 20_000)],
  ]);
  // KEEPTTL keeps it, plain SET clears it.
  assert.equal(e.call("SET", "k", "w", "KEEPTTL"), "OK");
  assert.equal(ttlOf(e, "k"), now + 20_000);
  assert.deepEqual(effects(e).at(-1), ["SET", "k", "w", "KEEPTTL"]);
  assert.equal(e.call("SET", "k", "x"), "OK");
  assert.equal(ttlOf(e, "k"), undefined);
  // Expiry happens.
  assert.equal(e.call("SET", "t", "v", "PX", "100"), "OK");
  e.advance(99);
  assert.equal(e.call("GET", "t"), "v");
  e.advance(1);
  assert.equal(e.call("GET", "t"), null);
  // GET option is dropped from the propagated form.
  assert.equal(e.call("SET", "k", "y", "GET"), "x");
  assert.deepEqual(effects(e).at(-1), ["SET", "k", "y"]);
  assert.equal(e.call("SET", "k", "z", "NX"), null);
  assert.deepEqual(effects(e).at(-1), ["SET", "k", "y"]);
});

Deno.test("SET expiry errors", () => {
  const e = engine();
  const invalid = "ERR invalid expire time in 'set' command";
  for (
    const [opt, val] of [["EX", "0"], ["EX", "-1"], ["PX", "0"], ["EXAT", "0"], ["PXAT", "-5"]]
  ) {
    assert.equal(errOf(e.call("SET", "k", "v", opt!, val!)), invalid);
  }
  assert.equal(errOf(e.call("SET", "k", "v", "EX", "9223372036854775807")), invalid);
  assert.equal(errOf(e.call("SET", "k", "v", "EX", "9223372036854775")), invalid);
  assert.equal(errOf(e.call("SET", "k", "v", "PX", "9223372036854775807")), invalid);
  assert.equal(errOf(e.call("SET", "k", "v", "EX", "abc")), NOT_INT);
  assert.equal(errOf(e.call("SET", "k", "v", "EX", "1.5")), NOT_INT);
  assert.equal(errOf(e.call("SET", "k", "v", "EX", "-0")), NOT_INT);
  assert.equal(errOf(e.call("SET", "k", "v", "EX", "9223372036854775808")), NOT_INT);
  assert.equal(errOf(e.call("SET", "k", "v", "EX", "abc", "NX", "XX")), "ERR syntax error");
  assert.equal(errOf(e.call("SET", "k", "v", "EX")), "ERR syntax error");
  assert.equal(errOf(e.call("SET", "k", "v", "EX", "1", "PX", "1")), "ERR syntax error");
  assert.equal(errOf(e.call("SET", "k", "v", "PXAT", "1", "EXAT", "1")), "ERR syntax error");
  assert.equal(errOf(e.call("SET", "k", "v", "KEEPTTL", "EX", "1")), "ERR syntax error");
  assert.equal(errOf(e.call("SET", "k", "v", "EX", "1", "KEEPTTL")), "ERR syntax error");
  // Expire time validated before the GET type check.
  assert.equal(errOf(e.call("SET", "list", "v", "EX", "0", "GET")), invalid);
  assert.equal(e.call("GET", "k"), null);
  assert.deepEqual(e.propagated, []);
  // Huge but valid absolute times.
  assert.equal(e.call("SET", "k", "v", "PXAT", "9223372036854775807"), "OK");
  assert.deepEqual(effects(e).at(-1), ["SET", "k", "v", "PXAT", "9223372036854775807"]);
  assert.equal(e.call("SET", "k", "v", "EXAT", "9223372036854775"), "OK");
  assert.deepEqual(effects(e).at(-1), ["SET", "k", "v", "PXAT", "9223372036854775000"]);
  assert.equal(e.call("GET", "k"), "v");
});

Deno.test("SET with a past EXAT/PXAT leaves an already expired key", () => {
  const e = engine();
  assert.equal(e.call("SET", "k", "v", "EXAT", "1"), "OK");
  assert.deepEqual(effects(e), [["SET", "k", "v", "PXAT", "1000"]]);
  assert.equal(e.call("GET", "k"), null);
  assert.equal(e.call("SET", "k", "v", "PXAT", "1", "GET"), null);
  assert.equal(e.call("SET", "k", "w", "KEEPTTL"), "OK");
  // KEEPTTL on an expired key does not resurrect the old TTL.
  assert.equal(e.call("GET", "k"), "w");
  assert.equal(ttlOf(e, "k"), undefined);
});

Deno.test("SETNX / SETEX / PSETEX", () => {
  const e = engine();
  assert.equal(e.call("SETNX", "k", "a"), 1);
  assert.equal(e.call("SETNX", "k", "b"), 0);
  assert.equal(e.call("SETNX", "list", "b"), 0);
  assert.equal(e.call("GET", "k"), "a");
  assert.deepEqual(effects(e), [["SET", "k", "a"]]);
  const now = e.time;
  assert.equal(e.call("SETEX", "k", "100", "c"), "OK");
  assert.equal(e.call("GET", "k"), "c");
  assert.equal(ttlOf(e, "k"), now + 100_000);
  assert.equal(e.call("PSETEX", "p", "250", "d"), "OK");
  assert.equal(ttlOf(e, "p"), now + 250);
  assert.equal(e.call("SETEX", "list", "10", "s"), "OK");
  assert.equal(e.call("GET", "list"), "s");
  assert.deepEqual(effects(e).slice(1), [
    ["SET", "k", "c", "PXAT", String(now + 100_000)],
    ["SET", "p", "d", "PXAT", String(now + 250)],
    ["SET", "list", "s", "PXAT", String(now + 10_000)],
  ]);
  e.advance(250);
  assert.equal(e.call("GET", "p"), null);
  assert.equal(errOf(e.call("SETEX", "k", "0", "c")), "ERR invalid expire time in 'setex' command");
  assert.equal(
    errOf(e.call("SETEX", "k", "-1", "c")),
    "ERR invalid expire time in 'setex' command",
  );
  assert.equal(
    errOf(e.call("SETEX", "k", "9223372036854775", "c")),
    "ERR invalid expire time in 'setex' command",
  );
  assert.equal(errOf(e.call("SETEX", "k", "abc", "c")), NOT_INT);
  assert.equal(
    errOf(e.call("PSETEX", "k", "0", "c")),
    "ERR invalid expire time in 'psetex' command",
  );
  assert.equal(
    errOf(e.call("PSETEX", "k", "9223372036854775807", "c")),
    "ERR invalid expire time in 'psetex' command",
  );
  assert.equal(
    errOf(e.call("SETEX", "k", "10")),
    "ERR wrong number of arguments for 'setex' command",
  );
  assert.equal(errOf(e.call("SETNX", "k")), "ERR wrong number of arguments for 'setnx' command");
});

Deno.test("MGET / MSET / MSETNX", () => {
  const e = engine();
  assert.equal(e.call("MSET", "a", "1", "b", "2"), "OK");
  assert.deepEqual(e.call("MGET", "a", "b", "c", "list"), ["1", "2", null, null]);
  assert.equal(
    errOf(e.call("MSET", "a", "1", "b")),
    "ERR wrong number of arguments for 'mset' command",
  );
  assert.equal(errOf(e.call("MSET", "a")), "ERR wrong number of arguments for 'mset' command");
  assert.equal(errOf(e.call("MGET")), "ERR wrong number of arguments for 'mget' command");
  assert.equal(e.call("MSET", "a", "x", "a", "y"), "OK");
  assert.equal(e.call("GET", "a"), "y");
  assert.equal(e.call("MSETNX", "a", "1", "z", "2"), 0);
  assert.equal(e.call("GET", "z"), null);
  assert.equal(e.call("MSETNX", "list", "1", "z", "2"), 0);
  assert.equal(e.call("MSETNX", "y", "1", "z", "2"), 1);
  assert.deepEqual(e.call("MGET", "y", "z"), ["1", "2"]);
  assert.equal(
    errOf(e.call("MSETNX", "q", "1", "r")),
    "ERR wrong number of arguments for 'msetnx' command",
  );
  assert.deepEqual(effects(e), [
    ["MSET", "a", "1", "b", "2"],
    ["MSET", "a", "x", "a", "y"],
    ["MSET", "y", "1", "z", "2"],
  ]);
  // MSET clears TTLs.
  assert.equal(e.call("SET", "t", "v", "EX", "10"), "OK");
  assert.equal(e.call("MSET", "t", "w"), "OK");
  assert.equal(ttlOf(e, "t"), undefined);
  e.proto = 3;
  assert.deepEqual(e.call("MGET", "t", "nokey"), ["w", null]);
});

Deno.test("key positions", () => {
  const pos = (...args: string[]) => keyPositions(COMMANDS.get(args[0]!)!, args);
  assert.deepEqual(pos("mset", "a", "1", "b", "2"), [1, 3]);
  assert.deepEqual(pos("msetnx", "a", "1", "b", "2", "c", "3"), [1, 3, 5]);
  assert.deepEqual(pos("mget", "a", "b", "c"), [1, 2, 3]);
  assert.deepEqual(pos("set", "k", "v", "EX", "10"), [1]);
  assert.deepEqual(pos("bitcount", "k", "0", "1", "BIT"), [1]);
  assert.deepEqual(COMMANDS.get("get")!.flags, ["readonly", "fast"]);
  assert.deepEqual(COMMANDS.get("set")!.flags, ["write", "denyoom"]);
  assert.deepEqual(COMMANDS.get("getex")!.flags, ["write", "fast"]);
  assert.equal(COMMANDS.get("substr")!.arity, 4);
});

Deno.test("GETSET / GETDEL", () => {
  const e = engine();
  assert.equal(e.call("GETSET", "k", "a"), null);
  assert.equal(e.call("GETSET", "k", "b"), "a");
  assert.equal(e.call("GET", "k"), "b");
  assert.equal(e.call("SET", "t", "v", "EX", "10"), "OK");
  assert.equal(e.call("GETSET", "t", "w"), "v");
  assert.equal(ttlOf(e, "t"), undefined);
  assert.equal(errOf(e.call("GETSET", "list", "v")), WRONGTYPE);
  assert.equal(e.call("GETDEL", "k"), "b");
  assert.equal(e.call("GET", "k"), null);
  assert.equal(e.call("GETDEL", "k"), null);
  assert.equal(errOf(e.call("GETDEL", "list")), WRONGTYPE);
  assert.deepEqual(effects(e), [
    ["SET", "k", "a"],
    ["SET", "k", "b"],
    ["SET", "t", "v", "PXAT", String(e.time + 10_000)],
    ["SET", "t", "w"],
    ["DEL", "k"],
  ]);
});

Deno.test("GETEX", () => {
  const e = engine();
  assert.equal(e.call("GETEX", "nokey"), null);
  assert.equal(e.call("GETEX", "nokey", "EX", "0"), null);
  assert.equal(errOf(e.call("GETEX", "nokey", "foo")), "ERR syntax error");
  assert.equal(e.call("SET", "k", "v"), "OK");
  e.propagated.length = 0;
  assert.equal(e.call("GETEX", "k"), "v");
  assert.equal(
    errOf(e.call("GETEX", "k", "EX", "0")),
    "ERR invalid expire time in 'getex' command",
  );
  assert.equal(
    errOf(e.call("GETEX", "k", "PXAT", "0")),
    "ERR invalid expire time in 'getex' command",
  );
  assert.equal(errOf(e.call("GETEX", "k", "EX", "abc")), NOT_INT);
  assert.equal(errOf(e.call("GETEX", "k", "PERSIST", "EX", "10")), "ERR syntax error");
  assert.equal(errOf(e.call("GETEX", "k", "EX", "10", "PERSIST")), "ERR syntax error");
  assert.equal(errOf(e.call("GETEX", "k", "EX", "10", "PX", "10")), "ERR syntax error");
  assert.equal(errOf(e.call("GETEX", "k", "NX")), "ERR syntax error");
  assert.equal(errOf(e.call("GETEX", "k", "KEEPTTL")), "ERR syntax error");
  assert.equal(errOf(e.call("GETEX", "k", "GET")), "ERR syntax error");
  assert.equal(errOf(e.call("GETEX", "list")), WRONGTYPE);
  assert.equal(errOf(e.call("GETEX", "list", "EX", "0")), WRONGTYPE);
  // Nothing changed so far.
  assert.deepEqual(e.propagated, []);
  assert.equal(e.call("GETEX", "k", "PERSIST"), "v");
  assert.deepEqual(e.propagated, []); // no TTL to remove
  const now = e.time;
  assert.equal(e.call("GETEX", "k", "EX", "10"), "v");
  assert.equal(ttlOf(e, "k"), now + 10_000);
  assert.equal(e.call("GETEX", "k", "px", "500"), "v");
  assert.equal(ttlOf(e, "k"), now + 500);
  assert.equal(e.call("GETEX", "k", "EXAT", "4102444800"), "v");
  assert.equal(ttlOf(e, "k"), 4102444800000);
  assert.equal(e.call("GETEX", "k", "PXAT", "4102444800123"), "v");
  assert.equal(ttlOf(e, "k"), 4102444800123);
  assert.equal(e.call("GETEX", "k", "PERSIST", "PERSIST"), "v");
  assert.equal(ttlOf(e, "k"), undefined);
  assert.deepEqual(effects(e), [
    ["PEXPIREAT", "k", String(now + 10_000)],
    ["PEXPIREAT", "k", String(now + 500)],
    ["PEXPIREAT", "k", "4102444800000"],
    ["PEXPIREAT", "k", "4102444800123"],
    ["PERSIST", "k"],
  ]);
  // An absolute time in the past deletes the key.
  assert.equal(e.call("GETEX", "k", "EXAT", "1"), "v");
  assert.equal(e.call("GET", "k"), null);
  assert.equal(e.ks.db(0).size, 1); // only "list" is left
  assert.deepEqual(effects(e).at(-1), ["DEL", "k"]);
  assert.equal(e.call("SET", "k", "v"), "OK");
  assert.equal(e.call("GETEX", "k", "PXAT", String(e.time)), "v");
  assert.deepEqual(effects(e).at(-1), ["DEL", "k"]);
  // Relative expiry later expires.
  assert.equal(e.call("SET", "k", "v"), "OK");
  assert.equal(e.call("GETEX", "k", "PX", "10"), "v");
  e.advance(10);
  assert.equal(e.call("GETEX", "k"), null);
});

Deno.test("APPEND / STRLEN", () => {
  const e = engine();
  assert.equal(e.call("APPEND", "k", "Hello"), 5);
  assert.equal(e.call("APPEND", "k", " World"), 11);
  assert.equal(e.call("GET", "k"), "Hello World");
  assert.equal(e.call("STRLEN", "k"), 11);
  assert.equal(e.call("STRLEN", "nokey"), 0);
  assert.equal(e.call("APPEND", "e", ""), 0);
  assert.equal(e.ks.db(0).has("e"), true);
  assert.equal(errOf(e.call("APPEND", "list", "x")), WRONGTYPE);
  assert.equal(errOf(e.call("STRLEN", "list")), WRONGTYPE);
  assert.equal(e.call("SET", "t", "a", "PX", "100"), "OK");
  assert.equal(e.call("APPEND", "t", "b"), 2);
  assert.equal(ttlOf(e, "t"), e.time + 100);
  assert.deepEqual(effects(e).slice(0, 3), [
    ["APPEND", "k", "Hello"],
    ["APPEND", "k", " World"],
    ["APPEND", "e", ""],
  ]);
  assert.equal(e.call("SET", "n", "10"), "OK");
  assert.equal(e.call("APPEND", "n", "5"), 3);
  assert.equal(e.call("INCR", "n"), 106);
});

Deno.test("GETRANGE / SUBSTR", () => {
  const e = engine();
  assert.equal(e.call("GETRANGE", "nokey", "0", "-1"), "");
  assert.equal(errOf(e.call("GETRANGE", "nokey", "a", "0")), NOT_INT);
  assert.equal(e.call("SET", "s", "This is a string"), "OK");
  const cases: Array<[string, string, string]> = [
    ["0", "3", "This"],
    ["-3", "-1", "ing"],
    ["0", "-1", "This is a string"],
    ["10", "100", "string"],
    ["-1", "-3", ""],
    ["5", "3", ""],
    ["-100", "100", "This is a string"],
    ["-100", "-50", "T"],
    ["0", "-100", "T"],
    ["100", "200", ""],
    ["15", "15", "g"],
    ["9223372036854775807", "-9223372036854775808", ""],
    ["-9223372036854775808", "9223372036854775807", "This is a string"],
  ];
  for (const [a, b, want] of cases) assert.equal(e.call("GETRANGE", "s", a, b), want, `${a} ${b}`);
  assert.equal(e.call("SUBSTR", "s", "-6", "-1"), "string");
  assert.equal(errOf(e.call("GETRANGE", "s", "-0", "1")), NOT_INT);
  assert.equal(errOf(e.call("GETRANGE", "s", "1", "x")), NOT_INT);
  assert.equal(errOf(e.call("GETRANGE", "list", "0", "1")), WRONGTYPE);
  assert.equal(errOf(e.call("GETRANGE", "list", "a", "1")), NOT_INT);
  assert.equal(e.call("SET", "empty", ""), "OK");
  assert.equal(e.call("GETRANGE", "empty", "0", "-1"), "");
  assert.equal(e.call("GETRANGE", "empty", "0", "0"), "");
});

Deno.test("SETRANGE", () => {
  const e = engine();
  assert.equal(e.call("SETRANGE", "nokey", "5", ""), 0);
  assert.equal(e.ks.db(0).has("nokey"), false);
  assert.equal(e.call("SETRANGE", "nokey", "3", "ab"), 5);
  assert.equal(e.call("GET", "nokey"), "\0\0\0ab");
  assert.equal(e.call("SET", "s", "Hello World"), "OK");
  assert.equal(e.call("SETRANGE", "s", "6", "Redis"), 11);
  assert.equal(e.call("GET", "s"), "Hello Redis");
  assert.equal(e.call("SETRANGE", "s", "0", "J"), 11);
  assert.equal(e.call("GET", "s"), "Jello Redis");
  assert.equal(e.call("SETRANGE", "s", "13", "!"), 14);
  assert.equal(e.call("GET", "s"), "Jello Redis\0\0!");
  assert.equal(e.call("SETRANGE", "s", "100", ""), 14);
  assert.equal(errOf(e.call("SETRANGE", "s", "-1", "x")), "ERR offset is out of range");
  assert.equal(errOf(e.call("SETRANGE", "s", "a", "x")), NOT_INT);
  const big = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
  assert.equal(errOf(e.call("SETRANGE", "s", "536870912", "x")), big);
  assert.equal(errOf(e.call("SETRANGE", "s", "536870911", "xy")), big);
  assert.equal(errOf(e.call("SETRANGE", "s", "9223372036854775807", "x")), big);
  assert.equal(e.call("SETRANGE", "s", "536870912", ""), 14);
  assert.equal(errOf(e.call("SETRANGE", "list", "0", "x")), WRONGTYPE);
  assert.equal(errOf(e.call("SETRANGE", "list", "0", "")), WRONGTYPE);
  assert.equal(errOf(e.call("SETRANGE", "list", "-1", "x")), "ERR offset is out of range");
  assert.equal(e.call("SET", "t", "abc", "PX", "100"), "OK");
  assert.equal(e.call("SETRANGE", "t", "1", "X"), 3);
  assert.equal(e.call("GET", "t"), "aXc");
  assert.equal(ttlOf(e, "t"), e.time + 100);
  assert.deepEqual(
    effects(e).filter((a) => a[0] === "SETRANGE"),
    [
      ["SETRANGE", "nokey", "3", "ab"],
      ["SETRANGE", "s", "6", "Redis"],
      [
        "SETRANGE",
        "s",
        "0",
        "J",
      ],
      ["SETRANGE", "s", "13", "!"],
      ["SETRANGE", "t", "1", "X"],
    ],
  );
});

Deno.test("INCR / DECR / INCRBY / DECRBY", () => {
  const e = engine();
  assert.equal(e.call("INCR", "n"), 1);
  assert.equal(e.call("INCR", "n"), 2);
  assert.equal(e.call("DECR", "n"), 1);
  assert.equal(e.call("DECR", "m"), -1);
  assert.equal(e.call("INCRBY", "n", "10"), 11);
  assert.equal(e.call("INCRBY", "n", "-20"), -9);
  assert.equal(e.call("DECRBY", "n", "5"), -14);
  assert.equal(e.call("DECRBY", "n", "-4"), -10);
  assert.equal(e.call("DECRBY", "n", "0"), -10);
  assert.equal(e.call("GET", "n"), "-10");
  assert.deepEqual(effects(e).slice(0, 2), [["INCR", "n"], ["INCR", "n"]]);
  for (const bad of ["abc", "", "1.5", "-0", "+1", "01", " 1", "9223372036854775808"]) {
    assert.equal(errOf(e.call("INCRBY", "n", bad)), NOT_INT, bad);
  }
  assert.equal(errOf(e.call("INCRBY", "list", "abc")), NOT_INT);
  assert.equal(errOf(e.call("INCR", "list")), WRONGTYPE);
  for (const bad of ["abc", "-0", " 1", "01", "+1", "1.0", "", "9223372036854775808"]) {
    assert.equal(e.call("SET", "bad", bad), "OK");
    assert.equal(errOf(e.call("INCR", "bad")), NOT_INT, bad);
  }
  // Crossing 2^53 stays exact.
  assert.equal(e.call("SET", "n", "9007199254740991"), "OK");
  assert.equal(e.call("INCR", "n"), 9007199254740992);
  assert.equal(e.call("INCR", "n"), 9007199254740993n);
  assert.equal(e.call("GET", "n"), "9007199254740993");
  assert.equal(e.call("INCRBY", "n", "-9007199254740993"), 0);
  assert.equal(e.call("INCRBY", "n", "9007199254740993"), 9007199254740993n);
  // Overflow at the 64-bit limits.
  const over = "ERR increment or decrement would overflow";
  assert.equal(e.call("SET", "x", "9223372036854775806"), "OK");
  assert.equal(e.call("INCR", "x"), 9223372036854775807n);
  assert.equal(errOf(e.call("INCR", "x")), over);
  assert.equal(e.call("GET", "x"), "9223372036854775807");
  assert.equal(e.call("DECRBY", "x", "9223372036854775807"), 0);
  assert.equal(
    errOf(e.call("DECRBY", "x", "-9223372036854775808")),
    "ERR decrement would overflow",
  );
  assert.equal(e.call("SET", "x", "-9223372036854775807"), "OK");
  assert.equal(e.call("DECR", "x"), -9223372036854775808n);
  assert.equal(errOf(e.call("DECR", "x")), over);
  assert.equal(errOf(e.call("INCRBY", "x", "-1")), over);
  assert.equal(e.call("INCRBY", "x", "9223372036854775807"), -1);
  // TTL is kept.
  assert.equal(e.call("SET", "t", "5", "PX", "100"), "OK");
  assert.equal(e.call("INCR", "t"), 6);
  assert.equal(ttlOf(e, "t"), e.time + 100);
  e.advance(100);
  assert.equal(e.call("INCR", "t"), 1);
  assert.equal(ttlOf(e, "t"), undefined);
  assert.deepEqual(effects(e).at(-1), ["INCR", "t"]);
});

Deno.test("INCRBYFLOAT follows long double arithmetic", () => {
  const e = engine();
  assert.equal(e.call("INCRBYFLOAT", "f", "0.1"), "0.1");
  assert.equal(e.call("INCRBYFLOAT", "f", "0.2"), "0.3");
  assert.deepEqual(effects(e), [["SET", "f", "0.1", "KEEPTTL"], ["SET", "f", "0.3", "KEEPTTL"]]);
  assert.equal(e.call("SET", "g", "10.50"), "OK");
  assert.equal(e.call("INCRBYFLOAT", "g", "0.1"), "10.6");
  assert.equal(e.call("INCRBYFLOAT", "g", "-5.0e3"), "-4989.39999999999999991");
  assert.equal(e.call("SET", "h", "5.0e3"), "OK");
  assert.equal(e.call("INCRBYFLOAT", "h", "2.0e2"), "5200");
  assert.equal(e.call("INCRBYFLOAT", "i", "0.000003814697265625"), "0.00000381469726562");
  assert.equal(
    e.call("INCRBYFLOAT", "m", "123456789012345678901234567890"),
    "123456789012345678899921813504",
  );
  assert.equal(e.call("INCRBYFLOAT", "o", "1e19"), "10000000000000000000");
  assert.equal(e.call("INCRBYFLOAT", "o", "1"), "10000000000000000001");
  assert.equal(e.call("INCRBYFLOAT", "p", "1e20"), "100000000000000000000");
  assert.equal(e.call("INCRBYFLOAT", "p", "1"), "100000000000000000000");
  assert.equal(e.call("INCRBYFLOAT", "n", "0.33333333333333333333333"), "0.33333333333333333");
  assert.equal(e.call("INCRBYFLOAT", "n", "0.33333333333333333333333"), "0.66666666666666666");
  assert.equal(e.call("INCRBYFLOAT", "n", "0.33333333333333333333333"), "0.99999999999999999");
  assert.equal(e.call("INCRBYFLOAT", "q", "0x1p3"), "8");
  assert.equal(e.call("INCRBYFLOAT", "q", "0X1.8P1"), "11");
  assert.equal(e.call("INCRBYFLOAT", "q", "+.5"), "11.5");
  assert.equal(e.call("INCRBYFLOAT", "q", "5."), "16.5");
  assert.equal(e.call("INCRBYFLOAT", "r", "-0"), "0");
  assert.equal(e.call("INCRBYFLOAT", "s", "-1e-20"), "0");
  assert.equal(e.call("INCRBYFLOAT", "u", "1e-4940"), "0");
  const j = e.call("INCRBYFLOAT", "j", "1e400");
  assert.equal(typeof j === "string" && j.length, 401);
  assert.ok(String(j).startsWith("10000000000000000000281880683947586514586453433629"));
  const nanInf = "ERR increment would produce NaN or Infinity";
  assert.equal(errOf(e.call("INCRBYFLOAT", "w", "inf")), nanInf);
  assert.equal(errOf(e.call("INCRBYFLOAT", "w", "-Infinity")), nanInf);
  for (const bad of ["nan", "abc", " 1", "1 ", "", "1e5000", "1e-5000", "0x", ".", "1e", "--1"]) {
    assert.equal(errOf(e.call("INCRBYFLOAT", "w", bad)), NOT_FLOAT, bad);
  }
  assert.equal(errOf(e.call("INCRBYFLOAT", "w", "9".repeat(5120))), NOT_FLOAT);
  assert.equal(e.call("INCRBYFLOAT", "big", "1e4932"), e.call("GET", "big"));
  assert.equal(errOf(e.call("INCRBYFLOAT", "big", "1e4932")), nanInf);
  assert.equal(e.call("SET", "bad", "abc"), "OK");
  assert.equal(errOf(e.call("INCRBYFLOAT", "bad", "1")), NOT_FLOAT);
  assert.equal(errOf(e.call("INCRBYFLOAT", "list", "abc")), WRONGTYPE);
  assert.equal(e.ks.db(0).has("w"), false);
  // TTL kept.
  assert.equal(e.call("SET", "t", "1.5", "PX", "100"), "OK");
  assert.equal(e.call("INCRBYFLOAT", "t", "1"), "2.5");
  assert.equal(ttlOf(e, "t"), e.time + 100);
  assert.deepEqual(effects(e).at(-1), ["SET", "t", "2.5", "KEEPTTL"]);
  // RESP3 still replies a bulk string.
  e.proto = 3;
  assert.equal(e.call("INCRBYFLOAT", "t", "1"), "3.5");
});

Deno.test("SETBIT / GETBIT", () => {
  const e = engine();
  assert.equal(e.call("SETBIT", "k", "7", "1"), 0);
  assert.equal(e.call("GET", "k"), "\x01");
  assert.equal(e.call("SETBIT", "k", "7", "1"), 1);
  assert.equal(e.call("SETBIT", "k", "7", "0"), 1);
  assert.equal(e.call("SETBIT", "k", "7", "0"), 0);
  assert.deepEqual(effects(e), [["SETBIT", "k", "7", "1"], ["SETBIT", "k", "7", "0"]]);
  assert.equal(e.call("SETBIT", "k", "20", "0"), 0);
  assert.equal(e.call("STRLEN", "k"), 3);
  assert.equal(effects(e).length, 3);
  assert.equal(e.call("SETBIT", "k", "1", "1"), 0);
  assert.equal(e.call("GETBIT", "k", "1"), 1);
  assert.equal(e.call("GETBIT", "k", "0"), 0);
  assert.equal(e.call("GETBIT", "k", "1000"), 0);
  assert.equal(e.call("GETBIT", "nokey", "4294967295"), 0);
  const off = "ERR bit offset is not an integer or out of range";
  const bit = "ERR bit is not an integer or out of range";
  assert.equal(errOf(e.call("GETBIT", "nokey", "4294967296")), off);
  assert.equal(errOf(e.call("GETBIT", "nokey", "-1")), off);
  assert.equal(errOf(e.call("SETBIT", "k", "-1", "1")), off);
  assert.equal(errOf(e.call("SETBIT", "k", "abc", "1")), off);
  assert.equal(errOf(e.call("SETBIT", "k", "4294967296", "2")), off);
  assert.equal(errOf(e.call("SETBIT", "k", "0", "2")), bit);
  assert.equal(errOf(e.call("SETBIT", "k", "0", "-0")), bit);
  assert.equal(errOf(e.call("SETBIT", "k", "0", "x")), bit);
  assert.equal(errOf(e.call("SETBIT", "list", "0", "1")), WRONGTYPE);
  assert.equal(errOf(e.call("SETBIT", "list", "0", "2")), bit);
  assert.equal(errOf(e.call("GETBIT", "list", "0")), WRONGTYPE);
  assert.equal(errOf(e.call("GETBIT", "list", "-1")), off);
  assert.equal(e.call("SET", "s", "a"), "OK"); // 0x61 = 01100001
  assert.deepEqual([0, 1, 2, 7].map((i) => e.call("GETBIT", "s", String(i))), [0, 1, 1, 1]);
  assert.equal(e.call("SETBIT", "s", "6", "1"), 0);
  assert.equal(e.call("SETBIT", "s", "7", "0"), 1);
  assert.equal(e.call("GET", "s"), "b");
  assert.equal(e.call("SETBIT", "z", "0", "0"), 0);
  assert.equal(e.call("GET", "z"), "\0");
  assert.equal(e.call("SET", "t", "a", "PX", "100"), "OK");
  assert.equal(e.call("SETBIT", "t", "20", "1"), 0);
  assert.equal(ttlOf(e, "t"), e.time + 100);
});

Deno.test("BITCOUNT", () => {
  const e = engine();
  assert.equal(e.call("BITCOUNT", "nokey"), 0);
  assert.equal(e.call("BITCOUNT", "nokey", "0"), 0);
  assert.equal(e.call("BITCOUNT", "nokey", "a", "b", "c", "d"), 0);
  assert.equal(e.call("SET", "b", "foobar"), "OK");
  const cases: Array<[string[], number]> = [
    [[], 26],
    [["0", "0"], 4],
    [["1", "1"], 6],
    [["1", "1", "BYTE"], 6],
    [["5", "30", "BIT"], 17],
    [["5", "30", "bit"], 17],
    [["-5", "-1", "BIT"], 2],
    [["0", "1000", "BIT"], 26],
    [["3", "3", "BIT"], 0],
    [["9", "8", "BIT"], 0],
    [["-100", "100"], 26],
    [["-1", "-5"], 0],
    [["-1", "-5", "foo"], 0],
    [["10", "20"], 0],
    [["-9223372036854775808", "9223372036854775807", "BIT"], 26],
  ];
  for (const [range, want] of cases) {
    assert.equal(e.call("BITCOUNT", "b", ...range), want, range.join(" "));
  }
  assert.equal(errOf(e.call("BITCOUNT", "b", "0", "-1", "foo")), "ERR syntax error");
  assert.equal(errOf(e.call("BITCOUNT", "b", "0")), "ERR syntax error");
  assert.equal(errOf(e.call("BITCOUNT", "b", "0", "1", "2", "3")), "ERR syntax error");
  assert.equal(errOf(e.call("BITCOUNT", "b", "a", "1")), NOT_INT);
  assert.equal(errOf(e.call("BITCOUNT", "b", "1", "a", "BIT")), NOT_INT);
  assert.equal(errOf(e.call("BITCOUNT", "list")), WRONGTYPE);
  assert.equal(errOf(e.call("BITCOUNT", "list", "a", "b")), WRONGTYPE);
  assert.equal(e.call("SET", "e", ""), "OK");
  assert.equal(e.call("BITCOUNT", "e"), 0);
  assert.equal(e.call("BITCOUNT", "e", "0", "-1", "BIT"), 0);
  assert.equal(e.call("SET", "ff", "\xff\xff\x00\x81"), "OK");
  assert.equal(e.call("BITCOUNT", "ff"), 18);
  assert.equal(e.call("BITCOUNT", "ff", "1", "30", "BIT"), 16);
  assert.equal(e.call("BITCOUNT", "ff", "7", "24", "BIT"), 10);
  assert.equal(e.call("BITCOUNT", "ff", "-2", "-1"), 2);
  assert.deepEqual(e.propagated.filter(([, a]) => a[0] === "BITCOUNT"), []);
});

Deno.test("RESP3 null shapes and db selection", () => {
  const e = engine();
  e.proto = 3;
  assert.equal(e.call("GET", "k"), null);
  assert.equal(e.call("SET", "k", "v", "XX"), null);
  assert.equal(e.call("GETDEL", "k"), null);
  e.db = 3;
  assert.equal(e.call("SET", "k", "v"), "OK");
  assert.equal(e.ks.db(3).has("k"), true);
  assert.equal(e.ks.db(0).has("k"), false);
  assert.deepEqual(e.propagated, [[3, ["SET", "k", "v"]]]);
});
