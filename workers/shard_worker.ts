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
  if (msg.t === "close") {
    clearInterval(expireTimer);
    host.close();
    send({ t: "ok" });
    return;
  }
  const [reply, transfer] = host.handle(msg);
  send(reply, transfer);
};
