/**
 * Engine hot-path benchmarks, without sockets:
 *
 * - `executor`: engine/command.ts `Executor` over a `Keyspace` with the real command table,
 *   replies encoded by server/resp_writer.ts `RespWriter` (what a shard does per command, minus
 *   request parsing). 1000 commands per iteration over 100k keys in a shuffled order.
 * - `executor (redis-benchmark keys)`: LPUSH/HSET/ZADD shaped like redis-benchmark's `-t` tests,
 *   which hit ONE big key (`mylist`, `myhash`, `myzset`) with 100k distinct fields/members.
 * - `shard runBatch`: workers/shard_host.ts `ShardHost.runBatch` on a batch of 64 framed commands
 *   (8-byte frame header + raw RESP multibulk), i.e. parse + execute + encode + take, exactly what
 *   a shard worker runs per message.
 * - `shard pool round trip`: workers/shard_pool.ts with one real worker thread: 64 commands
 *   enqueued, posted, executed in the worker and their replies delivered back to the main thread.
 * - `slot`: key → hash slot (CRC16) → shard, as the router computes it for every keyed command.
 *
 * Run: `deno bench --allow-all bench/engine_bench.ts` (add `--filter executor` for one group).
 * Read "time/iter" divided by the per-iteration command count in the bench name.
 */
import { Executor } from "../engine/command.ts";
import { COMMANDS } from "../engine/commands.ts";
import { Keyspace } from "../engine/keyspace.ts";
import { keySlot, keySlotOfString, slotTable } from "../engine/slot.ts";
import { encodeCommand, RespWriter } from "../server/resp_writer.ts";
import { FRAME_HEADER } from "../workers/protocol.ts";
import { ShardHost } from "../workers/shard_host.ts";
import { type ReplySlot, ShardPool } from "../workers/shard_pool.ts";

/** Distinct keys (and fields/members for the big-key variants). */
const KEYS = 100_000;
/** Commands per iteration in the executor group. */
const PER_ITER = 1000;
/** Frames per batch in the shard groups. */
const BATCH = 64;
const VALUE = "xxx"; // redis-benchmark's default 3-byte payload

/** Deterministic shuffled order of 0..n-1 (xorshift32 + Fisher-Yates), so runs are comparable. */
function shuffled(n: number, seed: number): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  let s = seed >>> 0 || 1;
  for (let i = n - 1; i > 0; i--) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    const j = s % (i + 1);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}

/** redis-benchmark's `__rand_int__` expansion: 12 zero-padded digits. */
const pad12 = (i: number) => String(i).padStart(12, "0");

const order = shuffled(KEYS, 0x9e3779b9);
const orderB = shuffled(KEYS, 0x85ebca6b);

/** One argument vector per key, in shuffled order. */
function argsFor(make: (i: number, j: number) => string[]): string[][] {
  const out = new Array<string[]>(KEYS);
  for (let n = 0; n < KEYS; n++) out[n] = make(order[n]!, orderB[n]!);
  return out;
}

const WORKLOADS: Record<string, string[][]> = {
  SET: argsFor((i) => ["SET", `key:${pad12(i)}`, VALUE]),
  GET: argsFor((i) => ["GET", `key:${pad12(i)}`]),
  "GET (miss)": argsFor((i) => ["GET", `nokey:${pad12(i)}`]),
  INCR: argsFor((i) => ["INCR", `counter:${pad12(i)}`]),
  LPUSH: argsFor((i) => ["LPUSH", `list:${pad12(i)}`, VALUE]),
  HSET: argsFor((i) => ["HSET", `hash:${pad12(i)}`, "field", VALUE]),
  ZADD: argsFor((i, j) => ["ZADD", `zset:${pad12(i)}`, String(j), `element:${pad12(j)}`]),
};

/** redis-benchmark's own shapes: one big key each, random fields/members/scores. */
const BIGKEY_WORKLOADS: Record<string, string[][]> = {
  "LPUSH mylist": argsFor(() => ["LPUSH", "mylist", VALUE]),
  "HSET myhash": argsFor((i) => ["HSET", "myhash", `element:${pad12(i)}`, VALUE]),
  "ZADD myzset": argsFor((i, j) => ["ZADD", "myzset", String(j), `element:${pad12(i)}`]),
};

/** True when the command table runs `args` without an error reply (ZADD may not exist yet). */
function supported(args: string[]): boolean {
  const ex = new Executor(new Keyspace(), COMMANDS);
  const w = new RespWriter(2);
  try {
    ex.execute(0, args, w);
  } catch {
    return false;
  }
  const reply = w.take();
  return reply.length > 0 && reply[0] !== 0x2d; // '-'
}

const skipped: string[] = [];
function checkSupported(name: string, args: string[]): boolean {
  const ok = supported(args);
  if (!ok) skipped.push(name);
  return ok;
}

let sink = 0;

/**
 * The state of the bench that runs now. Benches run one after another, so a bench taking over
 * drops (and disposes) the previous one's engine: the heap holds one 100k-key dataset at a time
 * and garbage collection in one bench is not inflated by the data of earlier ones.
 */
let current: { owner: string; value: unknown; dispose?: () => void } | undefined;
function stateFor<T>(owner: string, make: () => T, dispose?: (v: T) => void): T {
  if (current?.owner !== owner) {
    current?.dispose?.();
    current = undefined;
    const value = make();
    current = { owner, value, dispose: dispose && (() => dispose(value)) };
  }
  return current.value as T;
}

// ---------------------------------------------------------------------------------------------
// executor: Executor + Keyspace + RespWriter, 1000 commands per iteration

/** A fresh engine whose db 0 already holds the 100k `key:*` strings (so GET hits). */
function newEngine(): { ex: Executor; w: RespWriter } {
  const ex = new Executor(new Keyspace(), COMMANDS);
  const w = new RespWriter(2);
  for (const args of WORKLOADS.SET!) ex.execute(0, args, w);
  w.take();
  return { ex, w };
}

function executorBench(group: string, name: string, work: string[][], baseline = false): void {
  const ok = checkSupported(name, work[0]!);
  const id = `${group}/${name}`;
  let pos = 0;
  Deno.bench(`${name} x${PER_ITER}`, { group, baseline, ignore: !ok }, () => {
    const { ex, w } = stateFor(id, newEngine);
    for (let k = 0; k < PER_ITER; k++) {
      ex.execute(0, work[pos]!, w);
      if (++pos === KEYS) pos = 0;
    }
    sink += w.take().length;
  });
}

for (const [name, work] of Object.entries(WORKLOADS)) {
  executorBench("executor", name, work, name === "SET");
}
for (const [name, work] of Object.entries(BIGKEY_WORKLOADS)) {
  executorBench("executor (redis-benchmark keys)", name, work, name === "LPUSH mylist");
}

// ---------------------------------------------------------------------------------------------
// shard runBatch: 64 frames [db u8, proto u8, 0, 0, len u32 LE] + raw multibulk per message

/** Frames `cmds` the way ShardPool.enqueue does. */
function frameBatch(cmds: string[][]): Uint8Array {
  const raws = cmds.map((c) => encodeCommand(c));
  let size = 0;
  for (const r of raws) size += FRAME_HEADER + r.length;
  const buf = new Uint8Array(size);
  const view = new DataView(buf.buffer);
  let off = 0;
  for (const r of raws) {
    buf[off] = 0; // db
    buf[off + 1] = 2; // proto
    view.setUint32(off + 4, r.length, true);
    buf.set(r, off + FRAME_HEADER);
    off += FRAME_HEADER + r.length;
  }
  return buf;
}

/** The workload cut into batches of 64 frames (the last partial batch dropped). */
function batchesOf(work: string[][]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i + BATCH <= work.length; i += BATCH) {
    out.push(frameBatch(work.slice(i, i + BATCH)));
  }
  return out;
}

function newHost(): ShardHost {
  const host = new ShardHost({
    shard: 0,
    shards: 1,
    appendfsync: "no",
    binlogFileSize: 1 << 30,
    hz: 10,
  });
  const pre = batchesOf(WORKLOADS.SET!);
  for (const b of pre) host.runBatch(b);
  return host;
}

const MIXED = "mixed SET/GET/INCR/LPUSH/HSET";
const mixedWork: string[][] = [];
{
  const parts = ["SET", "GET", "INCR", "LPUSH", "HSET"].map((n) => WORKLOADS[n]!);
  for (let i = 0; i < KEYS; i++) mixedWork.push(parts[i % parts.length]![i]!);
}

const batchWorkloads: Array<[string, string[][]]> = [
  ["SET", WORKLOADS.SET!],
  ["GET", WORKLOADS.GET!],
  ["INCR", WORKLOADS.INCR!],
  ["LPUSH", WORKLOADS.LPUSH!],
  ["HSET", WORKLOADS.HSET!],
  ["ZADD", WORKLOADS.ZADD!],
  [MIXED, mixedWork],
];

for (const [name, work] of batchWorkloads) {
  const ok = checkSupported(`runBatch ${name}`, work[0]!);
  let batches: Uint8Array[] | undefined;
  let pos = 0;
  Deno.bench(`${name} batch of ${BATCH}`, {
    group: "shard runBatch",
    baseline: name === "SET",
    ignore: !ok,
  }, () => {
    batches ??= batchesOf(work);
    const host = stateFor(`runBatch/${name}`, newHost);
    const r = host.runBatch(batches[pos]!);
    if (++pos === batches.length) pos = 0;
    sink += r.ends.length + r.buf.length;
  });
}

// ---------------------------------------------------------------------------------------------
// shard pool round trip: main thread → worker → main thread, 64 commands per message

class Counter {
  remaining = 0;
  done: () => void = () => {};
  slotReady(): void {
    if (--this.remaining === 0) this.done();
  }
}

const counter = new Counter();
const rtSlots: ReplySlot[] = Array.from(
  { length: BATCH },
  () => ({ data: undefined, owner: counter }),
);
const rtRaws = {
  SET: WORKLOADS.SET!.map((c) => encodeCommand(c)),
  GET: WORKLOADS.GET!.map((c) => encodeCommand(c)),
};

for (const [name, raws] of Object.entries(rtRaws)) {
  let pos = 0;
  Deno.bench(`${name} batch of ${BATCH} via a worker`, {
    group: "shard pool round trip",
    baseline: name === "SET",
  }, async () => {
    // One pool (one worker) for the whole group, closed when the next group takes over.
    const pool = await stateFor("pool", () => ShardPool.start({ shards: 1 }), (p) => {
      void p.then((x) => x.close());
    });
    const done = new Promise<void>((r) => counter.done = r);
    counter.remaining = BATCH;
    for (let k = 0; k < BATCH; k++) {
      pool.enqueue(0, 0, 2, raws[pos]!, rtSlots[k]!);
      if (++pos === KEYS) pos = 0;
    }
    await done;
    sink += rtSlots[BATCH - 1]!.data!.length;
  });
}

// ---------------------------------------------------------------------------------------------
// slot: key → slot → shard, 1000 keys per iteration

const keyStrings = WORKLOADS.SET!.map((a) => a[1]!);
const keyBytes = keyStrings.map((k) => Uint8Array.from(k, (c) => c.charCodeAt(0)));
const taggedBytes = keyStrings.map((k, i) =>
  Uint8Array.from(`{user${i % 1000}}:${k}`, (c) => c.charCodeAt(0))
);
const table4 = slotTable(4);

{
  let pos = 0;
  Deno.bench(`keySlot(bytes) x${PER_ITER}`, { group: "slot", baseline: true }, () => {
    stateFor("slot", () => 0); // releases the previous group's worker
    for (let k = 0; k < PER_ITER; k++) {
      sink += keySlot(keyBytes[pos]!);
      if (++pos === KEYS) pos = 0;
    }
  });
}
{
  let pos = 0;
  Deno.bench(`keySlot(bytes with {tag}) x${PER_ITER}`, { group: "slot" }, () => {
    for (let k = 0; k < PER_ITER; k++) {
      sink += keySlot(taggedBytes[pos]!);
      if (++pos === KEYS) pos = 0;
    }
  });
}
{
  let pos = 0;
  Deno.bench(`keySlotOfString(latin1) x${PER_ITER}`, { group: "slot" }, () => {
    for (let k = 0; k < PER_ITER; k++) {
      sink += keySlotOfString(keyStrings[pos]!);
      if (++pos === KEYS) pos = 0;
    }
  });
}
{
  let pos = 0;
  Deno.bench(`keySlot + slot table lookup (4 shards) x${PER_ITER}`, { group: "slot" }, () => {
    for (let k = 0; k < PER_ITER; k++) {
      sink += table4[keySlot(keyBytes[pos]!)]!;
      if (++pos === KEYS) pos = 0;
    }
  });
}

if (skipped.length) {
  console.error(`engine_bench: skipped (command not implemented yet): ${skipped.join(", ")}`);
}

globalThis.addEventListener("unload", () => {
  current?.dispose?.();
  if (sink === -1) console.log(sink); // keep results alive
});
