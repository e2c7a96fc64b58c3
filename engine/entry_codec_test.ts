import assert from "node:assert/strict";
import { Unpackr } from "msgpackr";
import { Deque } from "./deque.ts";
import {
  decodeEntry,
  deserializeEntry,
  dumpKey,
  type EncodedEntry,
  encodeEntry,
  EntryFormatError,
  latin1Bytes,
  latin1String,
  MsgReader,
  MsgWriter,
  packr,
  restoreKey,
  serializeEntry,
  unpackr,
} from "./entry_codec.ts";
import { type Entry, Keyspace } from "./keyspace.ts";
import { SortedSet } from "./sorted_set.ts";

/** Every byte value 0..255 as a latin1 string, plus CR/LF/NUL heavy strings. */
const ALL_BYTES = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join("");
const BIN = ["", "\x00", "\r\n", "\xff\xfe\x00\x80", ALL_BYTES, "plain", "é\x9f\x81"];

/** Comparable plain JS form of an entry. */
function plain(e: Entry): unknown {
  switch (e.type) {
    case "string":
      return ["string", e.value];
    case "hash":
      return ["hash", [...e.value]];
    case "list":
      return ["list", e.value.toArray()];
    case "set":
      return ["set", [...e.value]];
    case "zset":
      return ["zset", [...e.value.entries()].map(([m, s]) => [m, Object.is(s, -0) ? "-0" : s])];
  }
}

function sampleEntries(): Entry[] {
  const hash = new Map<string, string>();
  BIN.forEach((b, i) => hash.set(`f${b}`, `${b}v${i}`));
  const list = Deque.from([...BIN, ...BIN]);
  const set = new Set(BIN.map((b) => `m${b}`));
  const zset = SortedSet.from([
    ["a", 1],
    ["b", -0],
    ["c", Infinity],
    ["d", -Infinity],
    ["e", 0.1 + 0.2],
    ["f", 1e308],
    ["g", 5e-324],
    [ALL_BYTES, 2.5],
    ["\x00", -3],
  ]);
  return [
    { type: "string", value: ALL_BYTES },
    { type: "string", value: "" },
    { type: "string", value: "x".repeat(100_000) + ALL_BYTES },
    { type: "hash", value: hash },
    { type: "list", value: list },
    { type: "set", value: set },
    { type: "zset", value: zset },
    { type: "hash", value: new Map() },
  ];
}

Deno.test("latin1 helpers round trip every byte and long strings", () => {
  const b = latin1Bytes(ALL_BYTES);
  assert.equal(b.length, 256);
  for (let i = 0; i < 256; i++) assert.equal(b[i], i);
  assert.equal(latin1String(b), ALL_BYTES);
  assert.equal(latin1String(b, 10, 12), "\x0a\x0b");
  assert.equal(latin1String(b, 5, 5), "");
  const long = ALL_BYTES.repeat(300); // 76800 chars: several chunks
  assert.equal(latin1String(latin1Bytes(long)), long);
  const mid = ALL_BYTES.repeat(20); // 5120 chars: one chunk
  assert.equal(latin1String(latin1Bytes(mid)), mid);
});

Deno.test("encodeEntry/decodeEntry round trip every type, with and without expiry", () => {
  for (const e of sampleEntries()) {
    for (const x of [undefined, 1_700_000_123_456]) {
      const enc = encodeEntry(e, x);
      assert.equal(enc.x, x);
      const back = decodeEntry(enc);
      assert.deepEqual(plain(back.entry), plain(e));
      assert.equal(back.expireAt, x);
      // And through msgpack bytes.
      const viaBytes = deserializeEntry(serializeEntry(e, x));
      assert.deepEqual(plain(viaBytes.entry), plain(e));
      assert.equal(viaBytes.expireAt, x);
    }
  }
});

Deno.test("encoded form is plain msgpack: values are bin, zset scores raw float64", () => {
  const zset = SortedSet.from([["m\xff", -0], ["n", 1.5]]);
  const bytes = serializeEntry({ type: "zset", value: zset }, 42);
  // Decode with a fresh, default-configured msgpackr: no records or extensions needed.
  const raw = new Unpackr({ useRecords: false }).unpack(bytes) as EncodedEntry & { s: Uint8Array };
  assert.equal(raw.t, 4);
  assert.equal(raw.x, 42);
  assert.ok(Array.isArray(raw.v));
  assert.deepEqual([...(raw.v as Uint8Array[])[0]!], [0x6d, 0xff]);
  const dv = new DataView(raw.s.buffer, raw.s.byteOffset, raw.s.byteLength);
  assert.ok(Object.is(dv.getFloat64(0, true), -0));
  assert.equal(dv.getFloat64(8, true), 1.5);
  const str = new Unpackr({ useRecords: false }).unpack(
    serializeEntry({ type: "string", value: "\x80\x00" }),
  ) as { t: number; v: Uint8Array };
  assert.ok(str.v instanceof Uint8Array);
  assert.deepEqual([...str.v], [0x80, 0x00]);
});

Deno.test("decodeEntry rejects malformed forms", () => {
  const bad: unknown[] = [
    null,
    7,
    { t: 9, v: new Uint8Array() },
    { t: 0, v: "str" },
    { t: 1, v: [new Uint8Array(1)] },
    { t: 2, v: [1, 2] },
    { t: 3, v: new Uint8Array() },
    { t: 4, v: [new Uint8Array(1)], s: new Uint8Array(7) },
    { t: 4, v: [new Uint8Array(1)], s: new Uint8Array(new Float64Array([NaN]).buffer) },
    { t: 0, v: new Uint8Array(), x: "soon" },
  ];
  for (const b of bad) assert.throws(() => decodeEntry(b), EntryFormatError, JSON.stringify(b));
  assert.throws(() => deserializeEntry(new Uint8Array([0xc1])), EntryFormatError);
});

Deno.test("dumpKey/restoreKey copy entries with absolute expiry; missing/expired -> null", () => {
  let now = 1_000_000;
  const src = new Keyspace({ clock: () => now });
  const dst = new Keyspace({ clock: () => now });
  const entries = sampleEntries();
  entries.forEach((e, i) => {
    src.db(3).set(`k${i}\xff`, e);
    if (i % 2 === 0) src.db(3).setExpireAt(`k${i}\xff`, now + 10_000 + i);
  });
  entries.forEach((e, i) => {
    const key = `k${i}\xff`;
    const bytes = dumpKey(src.db(3), key);
    assert.ok(bytes !== null);
    dst.db(5).set(key, { type: "string", value: "old" });
    dst.db(5).setExpireAt(key, 1); // replaced, including the expiry
    restoreKey(dst.db(5), key, bytes);
    assert.deepEqual(plain(dst.db(5).data.get(key)!), plain(e));
    assert.equal(dst.db(5).expireAt(key), i % 2 === 0 ? now + 10_000 + i : undefined);
  });
  assert.equal(dumpKey(src.db(3), "missing"), null);
  now += 10_001; // k0 expires
  assert.equal(dumpKey(src.db(3), "k0\xff"), null);
  assert.equal(src.db(3).data.has("k0\xff"), false);
  // The restored copy is independent of the source.
  const h = src.db(3).getTyped("k3\xff", "hash")!;
  h.set("new", "1");
  assert.equal(dst.db(5).getTyped("k3\xff", "hash")!.has("new"), false);
});

Deno.test("serialized buffers stay valid after later serializations", () => {
  const first = serializeEntry({ type: "string", value: "first" });
  const copy = first.slice();
  for (let i = 0; i < 5000; i++) serializeEntry({ type: "string", value: "x".repeat(i % 50) });
  assert.deepEqual(first, copy);
});

Deno.test("direct writer and msgpackr agree both ways", () => {
  for (const e of sampleEntries()) {
    for (const x of [undefined, 1_700_000_123_456, 12]) {
      // msgpackr-encoded plain form -> direct reader.
      const viaPackr = deserializeEntry(packr.pack(encodeEntry(e, x)));
      assert.deepEqual(plain(viaPackr.entry), plain(e));
      assert.equal(viaPackr.expireAt, x);
      // Direct writer -> msgpackr -> decodeEntry.
      const viaUnpackr = decodeEntry(unpackr.unpack(serializeEntry(e, x)));
      assert.deepEqual(plain(viaUnpackr.entry), plain(e));
      assert.equal(viaUnpackr.expireAt, x);
    }
  }
});

Deno.test("MsgWriter/MsgReader: numbers, containers, skipping unknown keys", () => {
  const w = new MsgWriter(4); // grows
  const nums = [
    0,
    1,
    127,
    128,
    255,
    256,
    65535,
    65536,
    2 ** 32 - 1,
    2 ** 32,
    2 ** 53 - 1,
    -1,
    -32,
    -33,
    -(2 ** 31),
    -(2 ** 31) - 1,
    1.5,
    -0,
    Infinity,
    -Infinity,
  ];
  w.array(nums.length);
  for (const n of nums) w.number(n);
  w.map(20);
  for (let i = 0; i < 20; i++) {
    w.key(`k${i}`);
    w.latin1(ALL_BYTES.slice(0, i * 13));
  }
  w.latin1("x".repeat(70_000));
  const bytes = w.bytes().slice();
  // msgpackr reads it as standard msgpack.
  const std = unpackr.unpackMultiple(bytes) as unknown[];
  assert.equal(std.length, 3);
  (std[0] as number[]).forEach((n, i) => assert.ok(Object.is(n, nums[i]), `msgpackr ${n}`));
  assert.equal((std[1] as Record<string, Uint8Array>).k3!.length, 39);
  const r = new MsgReader(bytes);
  assert.equal(r.array(), nums.length);
  for (const n of nums) assert.ok(Object.is(r.number(), n), String(n));
  assert.equal(r.map(), 20);
  for (let i = 0; i < 20; i++) {
    assert.equal(r.latin1(), `k${i}`);
    if (i % 2 === 0) r.skip();
    else assert.equal(r.latin1(), ALL_BYTES.slice(0, i * 13));
  }
  assert.equal(r.latin1().length, 70_000);
  assert.equal(r.done, true);
  // Unknown keys in an entry map are skipped (forward compatible).
  const e = packr.pack({ t: 0, future: [1, { a: 2 }, "s"], v: latin1Bytes("val"), x: null });
  assert.deepEqual(deserializeEntry(e), {
    entry: { type: "string", value: "val" },
    expireAt: undefined,
  });
});

Deno.test("deserializeEntry rejects truncated, trailing and mistyped bytes", () => {
  const good = serializeEntry({ type: "hash", value: new Map([["f", "v"]]) }, 5);
  for (let cut = 0; cut < good.length; cut++) {
    assert.throws(() => deserializeEntry(good.subarray(0, cut)), EntryFormatError, `cut ${cut}`);
  }
  const longer = new Uint8Array(good.length + 1);
  longer.set(good);
  assert.throws(() => deserializeEntry(longer), /trailing/);
  assert.throws(
    () => deserializeEntry(packr.pack({ t: 1, v: latin1Bytes("x") })),
    EntryFormatError,
  );
  assert.throws(() => deserializeEntry(packr.pack({ t: 7, v: [] })), EntryFormatError);
  assert.throws(() => deserializeEntry(packr.pack([1, 2])), EntryFormatError);
});
