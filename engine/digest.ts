/**
 * An order-independent digest of a database: equal datasets (same keys, types, values and
 * expiry times) give equal digests whatever order keys were inserted in. Replication tests and
 * the TESSERA DIGEST command compare master and replica with it.
 */
import { crc32c } from "./crc32.ts";
import type { Db, Entry } from "./keyspace.ts";

function canonical(e: Entry): string {
  switch (e.type) {
    case "string":
      return e.value;
    case "hash":
      return [...e.value].sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0).map(([f, v]) =>
        `${f.length}:${f}${v.length}:${v}`
      )
        .join("");
    case "list":
      return e.value.toArray().map((v) => `${v.length}:${v}`).join("");
    case "set":
      return [...e.value].sort().map((v) => `${v.length}:${v}`).join("");
    case "zset":
      return [...e.value.entries()].map(([m, s]) => `${m.length}:${m}${s}`).join("");
  }
}

function latin1(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}

/** Digest of `db` as 24 hex digits ("0" * 24 when empty); expired keys are skipped. */
export function datasetDigest(db: Db): string {
  let sum = 0;
  let xor = 0;
  let count = 0;
  for (const key of db.keys()) {
    const e = db.get(key)!;
    const at = db.expireAt(key);
    const h = crc32c(latin1(`${key.length}:${key}|${e.type}|${at ?? -1}|${canonical(e)}`));
    sum = (sum + h) % 0x1_0000_0000;
    xor = (xor ^ h) >>> 0;
    count++;
  }
  if (count === 0) return "0".repeat(24);
  return [count, sum, xor].map((n) => n.toString(16).padStart(8, "0")).join("");
}

/** Combines per-shard digests of the same db into one (order-independent). */
export function combineDigests(parts: readonly string[]): string {
  let count = 0;
  let sum = 0;
  let xor = 0;
  for (const p of parts) {
    count += parseInt(p.slice(0, 8), 16);
    sum = (sum + parseInt(p.slice(8, 16), 16)) % 0x1_0000_0000;
    xor = (xor ^ parseInt(p.slice(16, 24), 16)) >>> 0;
  }
  if (count === 0) return "0".repeat(24);
  return [count, sum, xor].map((n) => n.toString(16).padStart(8, "0")).join("");
}
