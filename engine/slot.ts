/**
 * Key → hash slot (CRC16/XMODEM mod 16384, with `{hash tags}`) → shard by slot range, the same
 * mapping Redis Cluster uses, so a later cluster mode can hand out slot ranges as they are.
 */

/** Number of hash slots, as in Redis Cluster. */
export const SLOT_COUNT = 16384;

const TABLE = new Uint16Array(256);
for (let i = 0; i < 256; i++) {
  let crc = i << 8;
  for (let j = 0; j < 8; j++) {
    crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  TABLE[i] = crc;
}

/** CRC16/XMODEM of `bytes[start:end]`. */
export function crc16(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0;
  for (let i = start; i < end; i++) {
    crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ bytes[i]!) & 0xff]!;
  }
  return crc;
}

/** Slot of a key given as bytes, honouring the first non-empty `{...}` hash tag. */
export function keySlot(key: Uint8Array): number {
  const open = key.indexOf(0x7b); // {
  if (open !== -1) {
    const close = key.indexOf(0x7d, open + 1); // }
    if (close > open + 1) return crc16(key, open + 1, close) & (SLOT_COUNT - 1);
  }
  return crc16(key) & (SLOT_COUNT - 1);
}

/** Slot of a key given as a latin1 string. */
export function keySlotOfString(key: string): number {
  const bytes = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++) bytes[i] = key.charCodeAt(i);
  return keySlot(bytes);
}

/** Shard owning `slot` when slots are split into `shards` contiguous ranges. */
export function slotShard(slot: number, shards: number): number {
  return Math.floor((slot * shards) / SLOT_COUNT);
}

/** A table slot → shard for `shards` shards. */
export function slotTable(shards: number): Uint8Array {
  const t = new Uint8Array(SLOT_COUNT);
  for (let s = 0; s < SLOT_COUNT; s++) t[s] = slotShard(s, shards);
  return t;
}
