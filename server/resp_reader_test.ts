import assert from "node:assert/strict";
import { ProtocolError } from "../engine/errors.ts";
import { ReplyError, type ReplyValue } from "../engine/reply.ts";
import {
  asciiLowerEquals,
  bytesToLatin1,
  latin1Slice,
  latin1ToBytes,
  lowerAscii,
  type ParsedRequest,
  ReplyProtocolError,
  ReplyReader,
  type RequestLimits,
  RequestReader,
  splitInlineArgs,
} from "./resp_reader.ts";
import { encodeCommand } from "./resp_writer.ts";

const b = latin1ToBytes;
const s = bytesToLatin1;

interface Cmd {
  args: string[];
  raw: string;
}

function view(r: ParsedRequest): Cmd {
  assert.equal(r.argc, r.args.length);
  return { args: r.args.map(s), raw: s(r.raw) };
}

/** Drains the reader; results are converted immediately (views die at the next push). */
function drain(r: RequestReader, out: Cmd[]): void {
  for (let x = r.next(); x !== undefined; x = r.next()) out.push(view(x));
}

/** Parses `input` delivered in chunks of `size` bytes. */
function parseChunked(input: string, size: number, limits?: Partial<RequestLimits>): Cmd[] {
  const r = new RequestReader(limits);
  const out: Cmd[] = [];
  const bytes = b(input);
  for (let i = 0; i < bytes.length; i += size) {
    r.push(bytes.slice(i, i + size));
    drain(r, out);
  }
  return out;
}

function parseAll(input: string, limits?: Partial<RequestLimits>): Cmd[] {
  return parseChunked(input, Math.max(1, input.length), limits);
}

function mb(...args: string[]): string {
  return s(encodeCommand(args));
}

/** Asserts that parsing `input` (whole, and one byte at a time) fails with `message`. */
function assertProtocolError(input: string, message: string, limits?: Partial<RequestLimits>) {
  for (const size of [input.length, 1]) {
    const r = new RequestReader(limits);
    const bytes = b(input);
    let err: unknown;
    try {
      for (let i = 0; i < bytes.length; i += size) {
        r.push(bytes.slice(i, i + size));
        while (r.next() !== undefined);
      }
    } catch (e) {
      err = e;
    }
    assert.ok(
      err instanceof ProtocolError,
      `expected a protocol error for ${JSON.stringify(input)}`,
    );
    assert.equal(err.message, `Protocol error: ${message}`);
    assert.equal(err.toReplyLine(), `ERR Protocol error: ${message}`);
    // The reader stays dead.
    assert.throws(() => r.next(), (e) => e === err);
  }
}

/** Asserts the reader accepts the input so far and waits for more. */
function assertIncomplete(input: string, limits?: Partial<RequestLimits>): void {
  const r = new RequestReader(limits);
  r.push(b(input));
  assert.equal(r.next(), undefined);
}

Deno.test("RequestReader: multibulk and inline basics", () => {
  const input = mb("SET", "key", "value") + "PING\r\n" + mb("GET", "key") + "echo  hi\n";
  assert.deepEqual(parseAll(input), [
    { args: ["SET", "key", "value"], raw: mb("SET", "key", "value") },
    { args: ["PING"], raw: mb("PING") },
    { args: ["GET", "key"], raw: mb("GET", "key") },
    { args: ["echo", "hi"], raw: mb("echo", "hi") },
  ]);
});

Deno.test("RequestReader: any chunking gives the same commands", () => {
  const bin = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join("");
  const input = mb("SET", "k\r\n", bin) + "  \r\n" + 'set a "b\\r\\n"\r\n' + "*0\r\n" +
    mb("") + "*-1\r\n" + mb("MSET", "a", "1", "b", "22", "c", "") + "PING\n" +
    mb("x".repeat(70_000));
  const expected = parseAll(input);
  assert.equal(expected.length, 6);
  assert.deepEqual(expected[0]!.args, ["SET", "k\r\n", bin]);
  assert.deepEqual(expected[1]!.args, ["set", "a", "b\r\n"]);
  assert.deepEqual(expected[2]!.args, [""]);
  assert.deepEqual(expected[5]!.args, ["x".repeat(70_000)]);
  for (const size of [1, 2, 3, 5, 7, 64, 1000, 16384]) {
    assert.deepEqual(parseChunked(input, size), expected, `chunk size ${size}`);
  }
  // Every two-piece split of the first part (covers boundaries inside every CRLF).
  const head = input.slice(0, input.length - 70_020);
  const headExpected = parseAll(head);
  for (let i = 1; i < head.length; i++) {
    const r = new RequestReader();
    const out: Cmd[] = [];
    r.push(b(head.slice(0, i)));
    drain(r, out);
    r.push(b(head.slice(i)));
    drain(r, out);
    assert.deepEqual(out, headExpected, `split at ${i}`);
  }
});

Deno.test("RequestReader: huge pipeline in one chunk, raw is the exact bytes", () => {
  const parts: string[] = [];
  for (let i = 0; i < 50_000; i++) {
    parts.push(i % 2 === 0 ? mb("SET", `key:${i}`, `value:${i}`) : mb("GET", `key:${i - 1}`));
  }
  const input = parts.join("");
  const r = new RequestReader();
  const bytes = b(input);
  r.push(bytes);
  let n = 0;
  for (let x = r.next(); x !== undefined; x = r.next()) {
    const expected = n % 2 === 0 ? ["SET", `key:${n}`, `value:${n}`] : ["GET", `key:${n - 1}`];
    assert.deepEqual(x.args.map(s), expected);
    assert.equal(s(x.raw), parts[n]);
    // Zero-copy: args and raw are views into the pushed chunk.
    assert.equal(x.raw.buffer, bytes.buffer);
    assert.equal(x.args[0]!.buffer, bytes.buffer);
    n++;
  }
  assert.equal(n, 50_000);
  assert.equal(r.pending, 0);
});

Deno.test("RequestReader: the caller may reuse its read buffer once next() returned undefined", () => {
  const input = b(mb("SET", "a", "1".repeat(100)) + mb("GET", "a") + mb("ECHO", "z".repeat(5000)));
  const readBuf = new Uint8Array(37);
  const r = new RequestReader();
  const out: Cmd[] = [];
  for (let i = 0; i < input.length; i += readBuf.length) {
    const n = Math.min(readBuf.length, input.length - i);
    readBuf.set(input.subarray(i, i + n));
    r.push(readBuf.subarray(0, n));
    drain(r, out);
    readBuf.fill(0x55); // simulate the next read overwriting the buffer
  }
  assert.deepEqual(out.map((c) => c.args), [
    ["SET", "a", "1".repeat(100)],
    ["GET", "a"],
    ["ECHO", "z".repeat(5000)],
  ]);
});

Deno.test("RequestReader: large bulk in small chunks", () => {
  const big = Array.from({ length: 3_000_000 }, (_, i) => String.fromCharCode(i % 251)).join("");
  const input = mb("SET", "big", big) + mb("PING");
  const cmds = parseChunked(input, 4096);
  assert.equal(cmds.length, 2);
  assert.equal(cmds[0]!.args[2], big);
  assert.equal(cmds[0]!.raw, mb("SET", "big", big));
  assert.deepEqual(cmds[1]!.args, ["PING"]);
});

Deno.test("RequestReader: binary-safe arguments (all 256 byte values)", () => {
  const all = new Uint8Array(256).map((_, i) => i);
  const raw = encodeCommand(["SET", all, all.slice().reverse()]);
  const r = new RequestReader();
  r.push(raw);
  const x = r.next()!;
  assert.deepEqual([...x.args[1]!], [...all]);
  assert.deepEqual([...x.args[2]!], [...all].reverse());
  assert.deepEqual([...x.raw], [...raw]);
  assert.equal(r.next(), undefined);
});

Deno.test("RequestReader: *0 and negative counts are skipped", () => {
  assert.deepEqual(parseAll("*0\r\n*-1\r\n*-5\r\n" + mb("PING") + "*0\r\n"), [
    { args: ["PING"], raw: mb("PING") },
  ]);
  assert.deepEqual(parseAll("*-9223372036854775808\r\n" + mb("PING")).length, 1);
});

Deno.test("RequestReader: terminators are not checked (like Redis), raw is re-encoded", () => {
  // Redis skips the two bytes after a payload and the byte after a header's CR unchecked.
  assert.deepEqual(parseAll("*2\r\n$4\r\nECHOXY$3\r\nabcZZ"), [
    { args: ["ECHO", "abc"], raw: mb("ECHO", "abc") },
  ]);
  assert.deepEqual(parseAll("*1\rX$4\r\nPING\r\n"), [{ args: ["PING"], raw: mb("PING") }]);
  assert.deepEqual(parseAll("*1\r\n$4\r_PING\r\n"), [{ args: ["PING"], raw: mb("PING") }]);
  // A header needs one byte after its CR; a payload needs its two trailing bytes.
  assertIncomplete("*1\r");
  assertIncomplete("*1\r\n$4\r");
  assertIncomplete("*1\r\n$4\r\nPING");
  assertIncomplete("*1\r\n$4\r\nPING\r");
});

Deno.test("RequestReader: multibulk count errors", () => {
  for (const bad of ["*\r\n", "*-0\r\n", "*+1\r\n", "*01\r\n", "*1a\r\n", "* 1\r\n", "*1 \r\n"]) {
    assertProtocolError(bad, "invalid multibulk length");
  }
  assertProtocolError("*9223372036854775808\r\n", "invalid multibulk length");
  assertProtocolError("*-9223372036854775809\r\n", "invalid multibulk length");
  assertProtocolError("*99999999999999999999\r\n", "invalid multibulk length");
  // Redis 7.0 accepts counts up to INT_MAX.
  assertProtocolError("*2147483648\r\n", "invalid multibulk length");
  assertIncomplete("*2147483647\r\n");
  assertIncomplete("*2000000\r\n");
  assertProtocolError("*11\r\n", "invalid multibulk length", { maxMultibulk: 10 });
  assertIncomplete("*10\r\n", { maxMultibulk: 10 });
});

Deno.test("RequestReader: bulk length errors", () => {
  for (const bad of ["$-1", "$", "$abc", "$01", "$-0", "$+3", "$3 "]) {
    assertProtocolError(`*1\r\n${bad}\r\n`, "invalid bulk length");
  }
  assertProtocolError("*1\r\n$536870913\r\n", "invalid bulk length");
  assertIncomplete("*1\r\n$536870912\r\n");
  assertProtocolError("*1\r\n$11\r\n", "invalid bulk length", { maxBulkLen: 10 });
  assert.deepEqual(parseAll(mb("0123456789"), { maxBulkLen: 10 })[0]!.args, ["0123456789"]);
});

Deno.test("RequestReader: expected '$'", () => {
  assertProtocolError("*1\r\n:4\r\n", "expected '$', got ':'");
  assertProtocolError("*1\r\n 4\r\n", "expected '$', got ' '");
  assertProtocolError("*2\r\nPING\r\n", "expected '$', got 'P'");
  assertProtocolError("*2\r\n$3\r\nGET\r\n*1\r\n", "expected '$', got '*'");
  // CR/LF are reported as spaces (Redis sanitizes error lines).
  assertProtocolError("*2\r\n$4\r\nECHO1\r\n$3\r\nabc\r\n", "expected '$', got ' '");
  assertProtocolError("*1\r\n\r\r\n", "expected '$', got ' '");
  assertProtocolError("*1\r\n\xe9\r\n", "expected '$', got '\xe9'");
});

Deno.test("RequestReader: too big lines", () => {
  const max = 64 * 1024;
  assertProtocolError("A".repeat(max + 1), "too big inline request");
  assertIncomplete("A".repeat(max));
  assertProtocolError("*" + "1".repeat(max + 1), "too big mbulk count string");
  assertProtocolError("*1\r\n$" + "1".repeat(max + 1), "too big bulk count string");
  assertProtocolError("*1\r\n" + "x".repeat(max + 1), "too big bulk count string");
  // A terminated line up to 16 KiB over the limit is accepted (Redis reads 16 KiB at a time).
  assert.deepEqual(parseAll("ECHO " + "A".repeat(70_000) + "\r\n")[0]!.args, [
    "ECHO",
    "A".repeat(70_000),
  ]);
  assertProtocolError("ECHO " + "A".repeat(100_000) + "\r\n", "too big inline request");
  // Configurable.
  assertProtocolError("PING PING PING", "too big inline request", { maxInline: 10 });
  assertProtocolError("*12345678901", "too big mbulk count string", { maxInline: 10 });
  assertProtocolError("*1\r\n$12345678901", "too big bulk count string", { maxInline: 10 });
});

Deno.test("RequestReader: unauthenticated clients get small limits", () => {
  const parse = (input: string) => {
    const r = new RequestReader();
    r.unauthenticated = true;
    r.push(b(input));
    return r.next();
  };
  assert.throws(
    () => parse("*11\r\n"),
    /^ProtocolError: Protocol error: unauthenticated multibulk length$/,
  );
  assert.equal(parse("*10\r\n"), undefined);
  assert.throws(() => parse("*1\r\n$16385\r\n"), /Protocol error: unauthenticated bulk length/);
  assert.equal(parse("*1\r\n$16384\r\n"), undefined);
  // Invalid lengths are reported as such first.
  assert.throws(() => parse("*1\r\n$-5\r\n"), /Protocol error: invalid bulk length/);
  // Clearing the flag (after AUTH) lifts the limit for the following commands.
  const r = new RequestReader();
  r.unauthenticated = true;
  r.push(b(mb("AUTH", "pw") + mb(...Array.from({ length: 11 }, () => "x"))));
  assert.deepEqual(r.next()!.args.map(s), ["AUTH", "pw"]);
  r.unauthenticated = false;
  assert.equal(r.next()!.argc, 11);
});

Deno.test("RequestReader: pushing again before draining keeps every byte", () => {
  const r = new RequestReader();
  const first = b(mb("SET", "a", "1") + "*2\r\n$3\r\nGET");
  const second = b("\r\n$1\r\na\r\n" + mb("PING"));
  r.push(first);
  r.push(second); // the first chunk was borrowed and not drained yet
  const out: Cmd[] = [];
  drain(r, out);
  assert.deepEqual(out.map((c) => c.args), [["SET", "a", "1"], ["GET", "a"], ["PING"]]);
  assert.equal(r.pending, 0);
});

Deno.test("RequestReader: limits can change at run time", () => {
  const r = new RequestReader();
  r.push(b(mb("SET", "k", "x".repeat(2000))));
  assert.deepEqual(r.next()!.args.map(s), ["SET", "k", "x".repeat(2000)]);
  r.limits.maxBulkLen = 1000;
  r.push(b(mb("SET", "k", "x".repeat(2000))));
  assert.throws(() => r.next(), /Protocol error: invalid bulk length/);
});

Deno.test("RequestReader: inline commands and quoting", () => {
  const cases: [string, string[]][] = [
    ["PING", ["PING"]],
    ["  set   a    b  ", ["set", "a", "b"]],
    ["\tget\tk", ["get", "k"]],
    ['echo "hello world"', ["echo", "hello world"]],
    ['echo "a\\n\\r\\t\\b\\a\\\\\\"z"', ["echo", 'a\n\r\t\b\x07\\"z']],
    ['echo "\\x41\\x4g\\n\\q"', ["echo", "Ax4g\nq"]],
    ['echo "\\xff\\x00\\xAb"', ["echo", "\xff\x00\xab"]],
    ["echo 'a\\'b'", ["echo", "a'b"]],
    ["echo 'a\\nb'", ["echo", "a\\nb"]],
    ['echo a"b c"', ["echo", "ab c"]],
    ['echo ""', ["echo", ""]],
    ["echo ''", ["echo", ""]],
    ['echo "a" "b"', ["echo", "a", "b"]],
    ["echo a\x0bb", ["echo", "a\x0bb"]], // \v separates only when leading a token
    ["\x0becho x", ["echo", "x"]],
    ["echo a\rb", ["echo", "a", "b"]],
    ["echo a\x00b", ["echo", "a"]], // sdssplitargs works on C strings
  ];
  for (const [line, args] of cases) {
    assert.deepEqual(parseAll(line + "\r\n"), [{ args, raw: mb(...args) }], line);
    assert.deepEqual(parseChunked(line + "\n", 1), [{ args, raw: mb(...args) }], line);
  }
  for (
    const bad of ['echo "abc', "echo 'abc", 'echo "abc"d', "echo 'a'b", "echo '\\''x", 'x "\\']
  ) {
    assertProtocolError(bad + "\r\n", "unbalanced quotes in request");
  }
  // Empty and blank lines are skipped; LF alone ends a line.
  assert.deepEqual(parseAll("\r\n\n   \r\n\t\nPING\nPING\r\n").map((c) => c.args), [
    ["PING"],
    ["PING"],
  ]);
});

Deno.test("RequestReader: inline args are views into the fresh raw encoding", () => {
  const r = new RequestReader();
  r.push(b("set key value\r\n"));
  const x = r.next()!;
  assert.equal(x.argc, 3);
  assert.equal(x.args[1]!.buffer, x.raw.buffer);
  assert.equal(s(x.raw), mb("set", "key", "value"));
});

Deno.test("splitInlineArgs works on a sub-range", () => {
  const buf = b("xx a 'b c' d yy");
  assert.deepEqual(splitInlineArgs(buf, 2, 13)!.map(s), ["a", "b c", "d"]);
  assert.equal(splitInlineArgs(buf, 2, 8), undefined); // cut inside the quotes
});

Deno.test("latin1 helpers", () => {
  const all = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join("");
  for (const str of ["", "a", all, all.repeat(40), "abc".repeat(100), "x".repeat(49)]) {
    const bytes = latin1ToBytes(str);
    assert.equal(bytes.length, str.length);
    for (let i = 0; i < str.length; i++) assert.equal(bytes[i], str.charCodeAt(i));
    assert.equal(bytesToLatin1(bytes), str);
  }
  const u = latin1ToBytes("--" + all + "--");
  assert.equal(latin1Slice(u, 2, 258), all);
  assert.equal(bytesToLatin1(u.subarray(2, 5)), "\x00\x01\x02");
  assert.equal(latin1ToBytes("\u0141")[0], 0x41); // low byte
});

Deno.test("lowerAscii and asciiLowerEquals", () => {
  assert.equal(lowerAscii(b("GeT")), "get");
  assert.equal(lowerAscii(b("ZRANGEBYSCORE")), "zrangebyscore");
  assert.equal(lowerAscii(b("\xC0X")), "\xC0x"); // only ASCII letters change
  assert.equal(lowerAscii(b("A".repeat(100) + "\xC0")), "a".repeat(100) + "\xC0");
  assert.equal(asciiLowerEquals(b("GET"), "get"), true);
  assert.equal(asciiLowerEquals(b("gEt"), "get"), true);
  assert.equal(asciiLowerEquals(b("GETX"), "get"), false);
  assert.equal(asciiLowerEquals(b("GES"), "get"), false);
  assert.equal(asciiLowerEquals(b("[ET"), "{et"), false);
});

// ---------------------------------------------------------------------------------------------
// ReplyReader
// ---------------------------------------------------------------------------------------------

function decodeAll(
  input: string | Uint8Array,
  size = Infinity,
): { value: ReplyValue; push: boolean }[] {
  const bytes = typeof input === "string" ? b(input) : input;
  const r = new ReplyReader();
  const out: { value: ReplyValue; push: boolean }[] = [];
  const step = Math.min(size, Math.max(1, bytes.length));
  for (let i = 0; i < bytes.length; i += step) {
    r.push(bytes.slice(i, i + step));
    for (let v = r.next(); v !== undefined; v = r.next()) out.push(v);
  }
  assert.equal(r.pending, 0);
  return out;
}

function decodeOne(input: string): ReplyValue {
  const all = decodeAll(input);
  assert.equal(all.length, 1);
  return all[0]!.value;
}

Deno.test("ReplyReader: RESP2 types", () => {
  assert.equal(decodeOne("+OK\r\n"), "OK");
  assert.equal(decodeOne("+\r\n"), "");
  const err = decodeOne("-WRONGTYPE Operation against a key\r\n");
  assert.ok(err instanceof ReplyError);
  assert.equal(err.message, "WRONGTYPE Operation against a key");
  assert.equal(err.code, "WRONGTYPE");
  assert.equal(decodeOne(":0\r\n"), 0);
  assert.equal(decodeOne(":-42\r\n"), -42);
  assert.equal(decodeOne(":9007199254740991\r\n"), 9007199254740991);
  assert.equal(decodeOne(":-9007199254740991\r\n"), -9007199254740991);
  assert.equal(decodeOne(":9007199254740992\r\n"), 9007199254740992n);
  assert.equal(decodeOne(":9223372036854775807\r\n"), 9223372036854775807n);
  assert.equal(decodeOne(":-9223372036854775808\r\n"), -9223372036854775808n);
  assert.equal(decodeOne("$0\r\n\r\n"), "");
  assert.equal(decodeOne("$5\r\na\r\nbc\r\n"), "a\r\nbc");
  assert.equal(decodeOne("$-1\r\n"), null);
  assert.equal(decodeOne("*-1\r\n"), null);
  assert.deepEqual(decodeOne("*0\r\n"), []);
  assert.deepEqual(decodeOne("*3\r\n:1\r\n*2\r\n$1\r\na\r\n$-1\r\n+x\r\n"), [1, ["a", null], "x"]);
});

Deno.test("ReplyReader: RESP3 types", () => {
  assert.equal(decodeOne("_\r\n"), null);
  assert.equal(decodeOne(",1.5\r\n"), 1.5);
  assert.equal(decodeOne(",-0.25e-3\r\n"), -0.25e-3);
  assert.equal(decodeOne(",10\r\n"), 10);
  assert.equal(decodeOne(",inf\r\n"), Infinity);
  assert.equal(decodeOne(",-inf\r\n"), -Infinity);
  assert.ok(Number.isNaN(decodeOne(",nan\r\n")));
  assert.equal(decodeOne("#t\r\n"), true);
  assert.equal(decodeOne("#f\r\n"), false);
  assert.equal(
    decodeOne("(3492890328409238509324850943850943825024385\r\n"),
    3492890328409238509324850943850943825024385n,
  );
  assert.equal(decodeOne("(-1\r\n"), -1n);
  const blobErr = decodeOne("!21\r\nSYNTAX invalid syntax\r\n");
  assert.ok(blobErr instanceof ReplyError);
  assert.equal(blobErr.code, "SYNTAX");
  assert.equal(decodeOne("=15\r\ntxt:Some string\r\n"), "Some string");
  assert.equal(decodeOne("=4\r\nmkd:\r\n"), "");
  assert.deepEqual(
    decodeOne("%2\r\n+first\r\n:1\r\n$6\r\nsecond\r\n%1\r\n+x\r\n~0\r\n"),
    new Map<ReplyValue, ReplyValue>([["first", 1], ["second", new Map([["x", []]])]]),
  );
  assert.deepEqual(decodeOne("%0\r\n"), new Map());
  assert.deepEqual(decodeOne("~3\r\n+a\r\n:1\r\n#f\r\n"), ["a", 1, false]);
});

Deno.test("ReplyReader: pushes are flagged", () => {
  const all = decodeAll(
    ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n+OK\r\n>0\r\n*1\r\n>1\r\n:1\r\n",
  );
  assert.deepEqual(all, [
    { value: ["message", "ch", "hi"], push: true },
    { value: "OK", push: false },
    { value: [], push: true },
    { value: [[1]], push: false }, // a nested '>' is just an array item
  ]);
});

Deno.test("ReplyReader: attributes are dropped", () => {
  const attr = "|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n";
  assert.deepEqual(decodeAll(attr + "*2\r\n:2039123\r\n:9543892\r\n"), [
    { value: [2039123, 9543892], push: false },
  ]);
  assert.deepEqual(decodeAll("*2\r\n:1\r\n" + attr + ":2\r\n"), [{ value: [1, 2], push: false }]);
  assert.deepEqual(decodeAll("|0\r\n+OK\r\n"), [{ value: "OK", push: false }]);
  assert.deepEqual(decodeAll(attr + ">1\r\n+x\r\n"), [{ value: ["x"], push: true }]);
});

Deno.test("ReplyReader: one byte at a time and every split", () => {
  const stream = "*3\r\n$3\r\nfoo\r\n%1\r\n+k\r\n,2.5\r\n~2\r\n#t\r\n_\r\n" +
    ":12345678901234567890\r\n-ERR x\r\n>2\r\n+a\r\n:1\r\n=7\r\ntxt:abc\r\n$-1\r\n" +
    "(12\r\n!3\r\nE x\r\n*-1\r\n";
  const expected = decodeAll(stream);
  assert.equal(expected.length, 9);
  assert.deepEqual(decodeAll(stream, 1), expected);
  for (let i = 1; i < stream.length; i++) {
    const r = new ReplyReader();
    const out: unknown[] = [];
    r.push(b(stream.slice(0, i)));
    for (let v = r.next(); v !== undefined; v = r.next()) out.push(v);
    r.push(b(stream.slice(i)));
    for (let v = r.next(); v !== undefined; v = r.next()) out.push(v);
    assert.deepEqual(out, expected, `split at ${i}`);
  }
});

Deno.test("ReplyReader: binary bulk strings and big aggregates in small chunks", () => {
  const all = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join("");
  assert.equal(decodeOne(`$256\r\n${all}\r\n`), all);
  const n = 200_000;
  let stream = `*${n}\r\n`;
  for (let i = 0; i < n; i++) stream += `$${String(i).length}\r\n${i}\r\n`;
  const t0 = performance.now();
  const out = decodeAll(stream, 1000);
  const ms = performance.now() - t0;
  assert.equal(out.length, 1);
  const arr = out[0]!.value as string[];
  assert.equal(arr.length, n);
  assert.equal(arr[n - 1], String(n - 1));
  assert.ok(ms < 5000, `decoding took ${ms} ms`); // linear, not quadratic
});

Deno.test("ReplyReader: the caller may reuse its read buffer once next() returned undefined", () => {
  const input = b("$10\r\n0123456789\r\n*2\r\n+a\r\n+b\r\n:7\r\n");
  const readBuf = new Uint8Array(3);
  const r = new ReplyReader();
  const out: ReplyValue[] = [];
  for (let i = 0; i < input.length; i += 3) {
    const n = Math.min(3, input.length - i);
    readBuf.set(input.subarray(i, i + n));
    r.push(readBuf.subarray(0, n));
    for (let v = r.next(); v !== undefined; v = r.next()) out.push(v.value);
    readBuf.fill(0x2a);
  }
  assert.deepEqual(out, ["0123456789", ["a", "b"], 7]);
});

Deno.test("ReplyReader: malformed input throws ReplyProtocolError", () => {
  for (const bad of ["?x\r\n", "$x\r\n", "*-2\r\n", ":abc\r\n", ",x\r\n", "(1.5\r\n", "+OK\rX"]) {
    const r = new ReplyReader();
    r.push(b(bad));
    assert.throws(() => r.next(), ReplyProtocolError, bad);
  }
});
