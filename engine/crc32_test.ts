import assert from "node:assert/strict";
import { Crc32c, crc32c, crcHex } from "./crc32.ts";

const enc = (s: string) => new TextEncoder().encode(s);

/** Bit-at-a-time reference implementation. */
function slowCrc(data: Uint8Array): number {
  let c = ~0;
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

Deno.test("crc32c: known check values", () => {
  assert.equal(crc32c(enc("123456789")), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa); // RFC 3720 B.4: 32 zero bytes
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43); // 32 bytes of 0xff
  const inc = new Uint8Array(32).map((_, i) => i);
  assert.equal(crc32c(inc), 0x46dd794e); // incrementing 0..31
  assert.equal(crcHex(0xe3069283), "e3069283");
  assert.equal(crcHex(0x1), "00000001");
});

Deno.test("crc32c: matches the bitwise reference on random data of every small length", () => {
  const data = new Uint8Array(300);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7919 + 13) & 0xff;
  for (let len = 0; len <= data.length; len++) {
    assert.equal(crc32c(data.subarray(0, len)), slowCrc(data.subarray(0, len)), `len ${len}`);
  }
});

Deno.test("crc32c: chaining and ranges equal one pass", () => {
  const data = new Uint8Array(1000).map((_, i) => (i * 31) ^ (i >> 3));
  const whole = crc32c(data);
  for (const cut of [0, 1, 7, 8, 9, 500, 999, 1000]) {
    assert.equal(crc32c(data.subarray(cut), crc32c(data.subarray(0, cut))), whole);
    assert.equal(crc32c(data, crc32c(data, 0, 0, cut), cut, data.length), whole);
  }
  const c = new Crc32c();
  c.update(data, 0, 3).update(data, 3, 600).update(data.subarray(600));
  assert.equal(c.value, whole);
  assert.equal(c.length, 1000);
  assert.equal(c.hex(), crcHex(whole));
});

Deno.test("crc32c: a flipped bit changes the checksum", () => {
  const data = enc("hello binlog record payload");
  const base = crc32c(data);
  for (let i = 0; i < data.length; i++) {
    for (let bit = 0; bit < 8; bit++) {
      const copy = data.slice();
      copy[i]! ^= 1 << bit;
      assert.notEqual(crc32c(copy), base);
    }
  }
});

Deno.test("crc32c: word path agrees with the reference at every alignment and length", () => {
  const buf = new Uint8Array(400);
  for (let i = 0; i < buf.length; i++) buf[i] = (i * 2654435761) >>> 24;
  for (let off = 0; off < 8; off++) {
    for (const len of [63, 64, 65, 79, 80, 81, 127, 128, 200, 391]) {
      const view = buf.subarray(off, off + len);
      assert.equal(crc32c(view), slowCrc(view), `off ${off} len ${len}`);
      assert.equal(crc32c(buf, 0, off, off + len), slowCrc(view), `range off ${off} len ${len}`);
    }
  }
});
