/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of iSCSI, ext4 and
 * LevelDB, in pure TypeScript with slicing-by-16 tables (about 1-2 GB/s).
 *
 * Checksums chain: `crc32c(b, crc32c(a))` equals `crc32c(a ++ b)`, so a file can be checked
 * while it streams (replication full sync, snapshot writes) without holding it in memory.
 */

const POLY = 0x82f63b78;

/** 16 tables of 256 entries: table k maps a byte to its CRC contribution k bytes further on. */
const TABLE: Int32Array = (() => {
  const t = new Int32Array(256 * 16);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n]!;
    for (let k = 1; k < 16; k++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[k * 256 + n] = c;
    }
  }
  return t;
})();

/** Word reads need a little-endian host (every platform Deno runs on, checked anyway). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * CRC-32C of `data[start, end)`, continuing from `prev` (the CRC of the bytes before; 0 to
 * start). Returns an unsigned 32-bit integer.
 */
export function crc32c(data: Uint8Array, prev = 0, start = 0, end = data.length): number {
  const t = TABLE;
  let crc = ~prev;
  let i = start;
  if (LITTLE_ENDIAN && end - i >= 64) {
    // Byte steps up to a 4-byte aligned address, then 16 bytes per step as 4 words.
    while (((data.byteOffset + i) & 3) !== 0) {
      crc = t[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
      i++;
    }
    const nw = ((end - i) >>> 4) << 2;
    const w = new Int32Array(data.buffer, data.byteOffset + i, nw);
    for (let j = 0; j < nw; j += 4) {
      const a = crc ^ w[j]!;
      const b = w[j + 1]!;
      const c = w[j + 2]!;
      const d = w[j + 3]!;
      crc = t[3840 + (a & 0xff)]! ^ t[3584 + ((a >>> 8) & 0xff)]! ^
        t[3328 + ((a >>> 16) & 0xff)]! ^ t[3072 + (a >>> 24)]! ^
        t[2816 + (b & 0xff)]! ^ t[2560 + ((b >>> 8) & 0xff)]! ^
        t[2304 + ((b >>> 16) & 0xff)]! ^ t[2048 + (b >>> 24)]! ^
        t[1792 + (c & 0xff)]! ^ t[1536 + ((c >>> 8) & 0xff)]! ^
        t[1280 + ((c >>> 16) & 0xff)]! ^ t[1024 + (c >>> 24)]! ^
        t[768 + (d & 0xff)]! ^ t[512 + ((d >>> 8) & 0xff)]! ^
        t[256 + ((d >>> 16) & 0xff)]! ^ t[d >>> 24]!;
    }
    i += nw << 2;
  }
  while (i < end) {
    crc = t[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
    i++;
  }
  return ~crc >>> 0;
}

/** A CRC as 8 lower-case hex digits. */
export function crcHex(crc: number): string {
  return (crc >>> 0).toString(16).padStart(8, "0");
}

/** Incremental CRC-32C over a stream of byte chunks. */
export class Crc32c {
  #crc = 0;
  #length = 0;

  /** Adds `data[start, end)`. */
  update(data: Uint8Array, start = 0, end = data.length): this {
    this.#crc = crc32c(data, this.#crc, start, end);
    this.#length += end - start;
    return this;
  }

  /** The CRC of everything added so far (unsigned). */
  get value(): number {
    return this.#crc;
  }

  /** Number of bytes added so far. */
  get length(): number {
    return this.#length;
  }

  /** The CRC as 8 hex digits. */
  hex(): string {
    return crcHex(this.#crc);
  }
}
