import assert from "node:assert/strict";
import { formatDouble, type ReplySink, type ReplyValue, ValueSink } from "../engine/reply.ts";
import { bytesToLatin1, latin1ToBytes, ReplyReader, RequestReader } from "./resp_reader.ts";
import { encodeCommand, RespWriter, writeLatin1 } from "./resp_writer.ts";

const s = bytesToLatin1;

/** What `fn` writes, as a latin1 string, in the given protocol. */
function enc(proto: 2 | 3, fn: (w: RespWriter) => void): string {
  const w = new RespWriter(proto);
  fn(w);
  return s(w.take());
}

/** Asserts the RESP2 and RESP3 encodings of `fn`. */
function shapes(fn: (w: RespWriter) => void, resp2: string, resp3: string): void {
  assert.equal(enc(2, fn), resp2);
  assert.equal(enc(3, fn), resp3);
}

Deno.test("RespWriter: simple, error, int", () => {
  shapes((w) => w.simple("OK"), "+OK\r\n", "+OK\r\n");
  shapes((w) => w.simple("PONG"), "+PONG\r\n", "+PONG\r\n");
  shapes((w) => w.simple(""), "+\r\n", "+\r\n");
  shapes((w) => w.simple("a\r\nb"), "+a  b\r\n", "+a  b\r\n"); // never breaks the framing
  shapes((w) => w.error("ERR syntax error"), "-ERR syntax error\r\n", "-ERR syntax error\r\n");
  shapes((w) => w.error("ERR x\ny"), "-ERR x y\r\n", "-ERR x y\r\n");
  const ints: [number | bigint, string][] = [
    [0, "0"],
    [1, "1"],
    [-1, "-1"],
    [9, "9"],
    [10, "10"],
    [99999, "99999"],
    [100000, "100000"],
    [123456789, "123456789"],
    [-987654321012, "-987654321012"],
    [Number.MAX_SAFE_INTEGER, "9007199254740991"],
    [Number.MIN_SAFE_INTEGER, "-9007199254740991"],
    [1e15, "1000000000000000"],
    [2 ** 62, "4611686018427387904"],
    [5n, "5"],
    [9223372036854775807n, "9223372036854775807"],
    [-9223372036854775808n, "-9223372036854775808"],
  ];
  for (const [n, text] of ints) shapes((w) => w.int(n), `:${text}\r\n`, `:${text}\r\n`);
});

Deno.test("RespWriter: bulk strings", () => {
  shapes((w) => w.bulk(""), "$0\r\n\r\n", "$0\r\n\r\n");
  shapes((w) => w.bulk("hello"), "$5\r\nhello\r\n", "$5\r\nhello\r\n");
  const all = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join("");
  for (
    const str of [
      all,
      all.repeat(1000),
      "a".repeat(48),
      "a".repeat(49),
      "b".repeat(100_000),
      "x\xff",
    ]
  ) {
    shapes((w) => w.bulk(str), `$${str.length}\r\n${str}\r\n`, `$${str.length}\r\n${str}\r\n`);
  }
  // ASCII prefix then a high byte past the native-encoder threshold.
  const mixed = "a".repeat(60) + "\xe9" + "z".repeat(10);
  shapes((w) => w.bulk(mixed), `$71\r\n${mixed}\r\n`, `$71\r\n${mixed}\r\n`);
  // bulkBytes
  const bytes = new Uint8Array(256).map((_, i) => 255 - i);
  shapes((w) => w.bulkBytes(bytes), `$256\r\n${s(bytes)}\r\n`, `$256\r\n${s(bytes)}\r\n`);
});

Deno.test("RespWriter: nulls, aggregates and RESP3 types with RESP2 fallbacks", () => {
  shapes((w) => w.nullBulk(), "$-1\r\n", "_\r\n");
  shapes((w) => w.nullArray(), "*-1\r\n", "_\r\n");
  shapes((w) => w.array(0), "*0\r\n", "*0\r\n");
  shapes((w) => w.array(3), "*3\r\n", "*3\r\n");
  shapes((w) => w.map(2), "*4\r\n", "%2\r\n");
  shapes((w) => w.map(0), "*0\r\n", "%0\r\n");
  shapes((w) => w.set(5), "*5\r\n", "~5\r\n");
  shapes((w) => w.push(3), "*3\r\n", ">3\r\n");
  shapes((w) => w.bool(true), ":1\r\n", "#t\r\n");
  shapes((w) => w.bool(false), ":0\r\n", "#f\r\n");
  shapes((w) => w.verbatim("hi there"), "$8\r\nhi there\r\n", "=12\r\ntxt:hi there\r\n");
  shapes((w) => w.verbatim(""), "$0\r\n\r\n", "=4\r\ntxt:\r\n");
  const long = "line\r\n".repeat(50);
  shapes((w) => w.verbatim(long), `$300\r\n${long}\r\n`, `=304\r\ntxt:${long}\r\n`);
  for (const d of [1.5, 0, -2, 3.14159, 1e300, -1.5e-10, Infinity, -Infinity, NaN]) {
    const f = formatDouble(d);
    shapes((w) => w.double(d), `$${f.length}\r\n${f}\r\n`, `,${f}\r\n`);
  }
  shapes((w) => w.double(Infinity), "$3\r\ninf\r\n", ",inf\r\n");
  shapes((w) => w.double(-Infinity), "$4\r\n-inf\r\n", ",-inf\r\n");
  shapes((w) => w.double(NaN), "$3\r\nnan\r\n", ",nan\r\n");
});

Deno.test("RespWriter: raw, length, truncate, take", () => {
  const w = new RespWriter(2, 64);
  assert.equal(w.length, 0);
  w.simple("OK");
  assert.equal(w.length, 5);
  w.raw(latin1ToBytes("+PRE\r\n"));
  w.raw(latin1ToBytes("$20\r\n01234567890123456789\r\n"));
  const mark = w.length;
  w.array(2);
  w.bulk("partial");
  w.truncate(mark);
  assert.equal(w.length, mark);
  w.truncate(mark + 100); // never extends
  assert.equal(w.length, mark);
  w.error("ERR replaced");
  assert.equal(s(w.peek()), "+OK\r\n+PRE\r\n$20\r\n01234567890123456789\r\n-ERR replaced\r\n");
  const first = w.take();
  assert.equal(w.length, 0);
  w.int(7);
  const second = w.take();
  // take() copies small outputs: later writes don't change what was taken.
  assert.equal(s(first), "+OK\r\n+PRE\r\n$20\r\n01234567890123456789\r\n-ERR replaced\r\n");
  assert.equal(s(second), ":7\r\n");
  assert.equal(w.take().length, 0);
  // Growth from a tiny buffer, and hand-over of a large output.
  const big = "v".repeat(200_000);
  for (let i = 0; i < 3; i++) w.bulk(big);
  const out = w.take();
  assert.equal(out.length, 3 * ("$200000\r\n".length + 200_000 + 2));
  // Results own exactly their bytes (safe to transfer to a worker).
  assert.equal(out.byteOffset, 0);
  assert.equal(out.buffer.byteLength, out.length);
  assert.equal(second.byteOffset, 0);
  assert.equal(second.buffer.byteLength, second.length);
  w.bulk("after");
  assert.equal(s(w.take()), "$5\r\nafter\r\n");
  assert.equal(s(out.subarray(0, 12)), "$200000\r\nvvv");
});

Deno.test("RespWriter: proto can change at run time (HELLO)", () => {
  const w = new RespWriter(2);
  w.map(1);
  w.proto = 3;
  w.map(1);
  w.nullBulk();
  w.proto = 2;
  w.nullBulk();
  assert.equal(s(w.take()), "*2\r\n%1\r\n_\r\n$-1\r\n");
});

/** Replays the same ReplySink calls on a RespWriter (decoded) and a ValueSink. */
function roundTrip(proto: 2 | 3, fn: (out: ReplySink) => void): void {
  const w = new RespWriter(proto);
  fn(w);
  const bytes = w.take();
  const sink = new ValueSink(proto);
  fn(sink);
  const r = new ReplyReader();
  const decoded: ReplyValue[] = [];
  // One byte at a time, to exercise the reader too.
  for (let i = 0; i < bytes.length; i++) {
    r.push(bytes.subarray(i, i + 1));
    for (let v = r.next(); v !== undefined; v = r.next()) decoded.push(v.value);
  }
  assert.deepEqual(decoded, sink.values);
}

Deno.test("RespWriter → ReplyReader round trip equals ValueSink", () => {
  const all = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join("");
  const script = (out: ReplySink) => {
    out.simple("OK");
    out.error("WRONGTYPE Operation against a key holding the wrong kind of value");
    out.int(0);
    out.int(-12345);
    out.int(9007199254740991);
    out.int(9223372036854775807n);
    out.bulk(all);
    out.bulk("");
    out.nullBulk();
    out.nullArray();
    out.array(0);
    out.array(3);
    out.bulk("a");
    out.map(2);
    out.bulk("f1");
    out.double(2.5);
    out.bulk("f2");
    out.set(2);
    out.bool(true);
    out.bool(false);
    out.int(1);
    out.map(0);
    out.set(1);
    out.verbatim("text\r\nmore");
    out.double(-Infinity);
    out.double(1e-7);
  };
  roundTrip(2, script);
  roundTrip(3, script);
  roundTrip(3, (out) => {
    out.push(3);
    out.bulk("message");
    out.bulk("ch");
    out.bulk("payload");
  });
});

Deno.test("encodeCommand", () => {
  assert.equal(s(encodeCommand(["PING"])), "*1\r\n$4\r\nPING\r\n");
  assert.equal(s(encodeCommand([])), "*0\r\n");
  assert.equal(s(encodeCommand(["SET", "k", ""])), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
  const bin = new Uint8Array(256).map((_, i) => i);
  const long = "q".repeat(1000) + "\xfe";
  const raw = encodeCommand(["SET", bin, long, new Uint8Array([1, 2])]);
  const r = new RequestReader();
  r.push(raw);
  const req = r.next()!;
  assert.equal(req.argc, 4);
  assert.deepEqual([...req.args[1]!], [...bin]);
  assert.equal(s(req.args[2]!), long);
  assert.deepEqual([...req.args[3]!], [1, 2]);
  assert.equal(req.raw.length, raw.length);
  const args = Array.from({ length: 12 }, (_, i) => String(i));
  assert.equal(s(encodeCommand(args)).slice(0, 5), "*12\r\n");
});

Deno.test("writeLatin1 maps one byte per char", () => {
  const all = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join("");
  for (const str of [all, "ascii only ".repeat(20), "é".repeat(100), "a".repeat(49) + "\u0141"]) {
    const out = new Uint8Array(str.length + 4).fill(7);
    writeLatin1(out, 2, str);
    for (let i = 0; i < str.length; i++) assert.equal(out[2 + i], str.charCodeAt(i) & 0xff);
    assert.deepEqual([out[0], out[1], out[str.length + 2], out[str.length + 3]], [7, 7, 7, 7]);
  }
});
