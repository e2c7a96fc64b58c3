/**
 * Shard worker entry: one Web Worker per shard, owning its share of every database.
 */
/// <reference lib="deno.worker" />
import { ShardHost } from "./shard_host.ts";
import { openShardPersistence } from "./shard_persistence.ts";
import type { FromShard, ToShard } from "./protocol.ts";

let host: ShardHost | undefined;
let expireTimer: ReturnType<typeof setInterval> | undefined;

function send(msg: FromShard, transfer: Transferable[] = []): void {
  self.postMessage(msg, transfer);
}

// Group commit across messages (appendfsync always): a batch's replies wait for the end of the
// current task, so batches that arrived meanwhile share one fsync before any of their replies
// leave. Everything else answers only after the pending replies, keeping order.
let pending: Array<[FromShard, Transferable[]]> = [];
const tick = new MessageChannel();
tick.port1.onmessage = () => flushPending();

function flushPending(): void {
  if (pending.length === 0) return;
  host?.commit();
  const out = pending;
  pending = [];
  for (const [m, t] of out) send(m, t);
}

self.onmessage = (e: MessageEvent<ToShard>) => {
  const msg = e.data;
  if (msg.t === "init") {
    try {
      host = new ShardHost(msg.config);
      const warnings = openShardPersistence(host, msg.config);
      expireTimer = setInterval(
        () => host!.activeExpire(),
        Math.max(1, Math.floor(1000 / msg.config.hz)),
      );
      // activeExpire also commits, which gives "everysec" its once-a-second fsync when idle.
      send({ t: "ready", keys: host.ks.size, warnings });
    } catch (err) {
      send({ t: "fatal", message: err instanceof Error ? err.message : String(err) });
    }
    return;
  }
  if (host === undefined) {
    send({ t: "fatal", message: "shard not initialised" });
    return;
  }
  if (msg.t === "batch" && host.binlog?.policy !== "always") {
    // Commits are cheap here (no fsync before replying): answer at once.
    const [reply, transfer] = host.handle(msg);
    send(reply, transfer);
    return;
  }
  if (msg.t === "batch") {
    const r = host.runBatch(msg.buf, false);
    if (pending.length === 0) tick.port2.postMessage(null);
    pending.push([r, [r.buf.buffer as ArrayBuffer, r.ends.buffer as ArrayBuffer]]);
    return;
  }
  flushPending();
  if (msg.t === "close") {
    clearInterval(expireTimer);
    tick.port1.close();
    host.close();
    send({ t: "ok" });
    return;
  }
  const [reply, transfer] = host.handle(msg);
  send(reply, transfer);
};
