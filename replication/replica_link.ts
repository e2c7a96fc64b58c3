/**
 * The replica's side: a state machine that follows the master.
 *
 *     connect → metasync → trysync ─┬─ continue → connected (stream records, ack positions)
 *                                   └─ full    → full_sync → install → (connect again)
 *     any failure → error (shown with its cause) → backoff → connect
 *
 * One MetaSync per connection attempt. A full sync copies the master's snapshot file by file
 * (replication/rsync_client.ts) and installs it only when every file is verified; until then the
 * old data stays and keeps being served (read-only).
 */
import { getLogger } from "@logtape/logtape";
import {
  commitSnapshot,
  readManifest,
  type SnapshotManifest,
  snapshotsDir,
} from "../engine/snapshot.ts";
import { formatPosition, type Position } from "../engine/binlog.ts";
import { ReplicationError } from "../engine/errors.ts";
import { ReplyError, type ReplyValue } from "../engine/reply.ts";
import { latin1ToBytes } from "../server/resp_reader.ts";
import type { ShardPool } from "../workers/shard_pool.ts";
import type { MasterClient } from "./master_client.ts";
import { fullSyncFiles, type FullSyncProgress } from "./rsync_client.ts";
import type { FullSyncResult } from "./rsync_types.ts";
import { connectToMaster, type MasterAddress, TcpRsyncTransport } from "./rsync_transport.ts";
import { Throttle } from "./throttle.ts";

const log = getLogger(["tessera", "replica"]);

/** The replica's link states, as INFO shows them. */
export type LinkState = "connect" | "metasync" | "trysync" | "full_sync" | "connected" | "error";

/** What the link needs from its node. */
export interface ReplicaLinkDeps {
  master: MasterAddress;
  pool: ShardPool;
  root: string;
  /** This node's id and listening address, sent with MetaSync. */
  nodeId: string;
  listenPort: number;
  /** The replication id this node has data for (its own, or its master's after a sync). */
  replid: () => string;
  /** Called when a full sync installed the master's data: adopt its replication id. */
  adoptReplid: (replid: string) => void;
  /** Settings read at run time. */
  settings: () => {
    parallel: number;
    bytesPerSecond: number;
    timeoutSec: number;
  };
  /** A PUBLISH the master forwarded, for local subscribers. */
  onPublish?: (channel: string, message: string) => void;
  /** Force a full sync on the next attempt (REPLICAOF ... FORCE). */
  force?: boolean;
  /** Backoff between attempts (ms). */
  backoff?: { baseMs: number; maxMs: number };
  /** Retries inside a full sync, for tests. */
  fullSync?: {
    metaAttempts?: number;
    fileAttempts?: number;
    backoffBaseMs?: number;
    chunkSize?: number;
  };
}

/** Marker written before a received snapshot is swapped in (see node.ts for the startup side). */
export function installMarkerPath(root: string): string {
  return `${root}/replication/install.json`;
}

export class ReplicaLink {
  readonly deps: ReplicaLinkDeps;
  state: LinkState = "connect";
  /** The last failure, with its cause, until a sync succeeds. */
  lastError: { message: string; at: number } | undefined;
  /** The outcome of the last full sync (kept for INFO). */
  lastFullSync: FullSyncResult | undefined;
  progress: FullSyncProgress | undefined;
  /** Positions applied, per shard. */
  positions: Position[] = [];
  /** Counters for INFO / tests. */
  readonly counters = {
    connects: 0,
    metaSyncs: 0,
    fullSyncs: 0,
    partialSyncs: 0,
    applyFailures: 0,
    recordsApplied: 0,
  };
  masterReplid = "";
  #client: MasterClient | undefined;
  #stopped = false;
  #abort = new AbortController();
  #force: boolean;
  #done: Promise<void>;
  #wake: (() => void) | undefined;

  constructor(deps: ReplicaLinkDeps) {
    this.deps = deps;
    this.#force = deps.force ?? false;
    this.#done = this.#run();
  }

  /** True while a full sync is copying or installing. */
  get syncing(): boolean {
    return this.state === "full_sync";
  }

  /** Time (ms) anything was last received from the master. */
  get lastIo(): number | undefined {
    return this.#client?.lastIo;
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (!this.#stopped) {
      try {
        await this.#session();
        failures = 0;
      } catch (e) {
        if (this.#stopped) break;
        failures++;
        const message = e instanceof Error ? e.message : String(e);
        this.lastError = { message, at: Date.now() };
        this.state = "error";
        log.warn("replication from {host}:{port}: {message}", {
          host: this.deps.master.host,
          port: this.deps.master.port,
          message,
        });
      } finally {
        this.#client?.close();
        this.#client = undefined;
      }
      if (this.#stopped) break;
      const b = this.deps.backoff ?? { baseMs: 1000, maxMs: 30_000 };
      const delay = failures === 0
        ? 0
        : Math.min(b.maxMs, b.baseMs * 2 ** Math.min(failures - 1, 10));
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        this.#wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  async #positions(): Promise<Position[]> {
    const stats = await this.deps.pool.broadcast({ t: "stats" });
    return stats.map((s) => {
      if (s.t !== "stats" || s.stats.position === undefined) throw new Error("shard has no binlog");
      return s.stats.position;
    });
  }

  /** One connection attempt: MetaSync, TrySync, then stream or full sync. */
  async #session(): Promise<void> {
    this.state = "connect";
    this.counters.connects++;
    const client = await connectToMaster(this.deps.master);
    this.#client = client;
    if (this.#stopped) return;

    this.state = "metasync";
    this.counters.metaSyncs++;
    const meta = await jsonCall(client, [
      "TSYNC",
      "META",
      JSON.stringify({
        id: this.deps.nodeId,
        port: this.deps.listenPort,
        replid: this.deps.replid(),
        shards: this.deps.pool.count,
      }),
    ]) as { replid: string; shards: number };
    if (meta.shards !== this.deps.pool.count) {
      throw new ReplicationError(
        `the master has ${meta.shards} shards and this replica ${this.deps.pool.count}: start the replica with --shards ${meta.shards}`,
      );
    }
    this.masterReplid = meta.replid;

    this.state = "trysync";
    this.positions = await this.#positions();
    const tried = await jsonCall(client, [
      "TSYNC",
      "TRY",
      JSON.stringify({
        id: this.deps.nodeId,
        replid: this.deps.replid(),
        positions: this.positions,
        force: this.#force,
      }),
    ]) as { mode: "continue" } | { mode: "full"; reason: string };
    if (tried.mode === "continue") {
      this.counters.partialSyncs++;
      await this.#stream(client);
      return;
    }
    log.info("full sync needed: {reason}", { reason: tried.reason });
    client.close();
    this.#client = undefined;
    await this.#fullSync();
    this.#force = false;
    // The next session continues incrementally from the installed snapshot's positions.
  }

  /** Applies the master's record stream until the link drops. */
  async #stream(client: MasterClient): Promise<void> {
    this.state = "connected";
    this.lastError = undefined;
    log.info("replicating from {host}:{port}", {
      host: this.deps.master.host,
      port: this.deps.master.port,
    });
    const pool = this.deps.pool;
    const positions = this.positions;
    client.onFrame((v) => {
      if (Array.isArray(v) && v[0] === "PUB" && v.length === 3) {
        this.deps.onPublish?.(String(v[1]), String(v[2]));
        return;
      }
      if (!Array.isArray(v) || v[0] !== "REC" || v.length !== 7) return; // PING and unknown frames
      const [, shardS, pf, po, af, ao, raw] = v as string[];
      const shard = Number(shardS);
      pool.call(shard, {
        t: "apply",
        prev: { file: Number(pf), offset: Number(po) },
        at: { file: Number(af), offset: Number(ao) },
        records: latin1ToBytes(raw!),
      }).then((r) => {
        if (r.t === "applied") {
          positions[shard] = r.position;
          this.counters.recordsApplied += r.applied;
        } else if (r.t === "apply-failed") {
          this.counters.applyFailures++;
          // A damaged or misplaced record is never applied: drop the link, resume from here.
          client.close(
            new ReplicationError(
              `shard ${shard}: ${r.message}; resuming from ${formatPosition(r.position)}`,
            ),
          );
        }
      }, (e) => client.close(e instanceof Error ? e : new Error(String(e))));
    });
    const ack = () => {
      const { timeoutSec } = this.deps.settings();
      if (Date.now() - client.lastIo > timeoutSec * 1000) {
        client.close(new ReplicationError(`no data from the master for ${timeoutSec} s`));
        return;
      }
      client.send(["TSYNC", "ACK", JSON.stringify({ id: this.deps.nodeId, positions })]);
    };
    const timer = setInterval(ack, 1000);
    try {
      ack();
      const reason = await client.closed;
      if (!this.#stopped) throw reason;
    } finally {
      clearInterval(timer);
    }
  }

  /** Copies the master's snapshot and installs it; throws (with the aggregated cause) on failure. */
  async #fullSync(): Promise<void> {
    this.state = "full_sync";
    this.counters.fullSyncs++;
    const root = this.deps.root;
    const destDir = `${snapshotsDir(root)}/tmp-fullsync`;
    await using transport = new TcpRsyncTransport(this.deps.master, this.deps.nodeId);
    const fs = this.deps.fullSync ?? {};
    const throttle = new Throttle({ bytesPerSecond: () => this.deps.settings().bytesPerSecond });
    const result = await fullSyncFiles(transport, {
      destDir,
      parallel: () => this.deps.settings().parallel,
      throttle,
      metaAttempts: fs.metaAttempts ?? 10,
      fileAttempts: fs.fileAttempts ?? 5,
      chunkSize: fs.chunkSize,
      backoff: { baseMs: fs.backoffBaseMs ?? 200, maxMs: 5000 },
      signal: this.#abort.signal,
      onProgress: (p) => this.progress = p,
    });
    this.lastFullSync = result;
    if (!result.ok) {
      const detail = result.failed.length ? ` (failed files: ${result.failed.join(", ")})` : "";
      throw new ReplicationError(
        `full sync failed at stage ${result.stage}${detail}: ${result.cause.message}`,
        {
          cause: result.cause,
        },
      );
    }
    log.info("full sync copied snapshot {id}: {bytes} bytes in {ms} ms", {
      id: result.snapshotId,
      bytes: result.bytes,
      ms: Math.round(result.elapsedMs),
    });
    await this.#install(destDir);
  }

  /**
   * Swaps the verified snapshot in: every shard loads its file aside first; only if all loaded
   * is the snapshot committed on disk and the shards switched over, their binlogs restarted at
   * the snapshot's positions. A crash in between is finished at the next start (install marker).
   */
  async #install(destDir: string): Promise<void> {
    const root = this.deps.root;
    const pool = this.deps.pool;
    const manifest: SnapshotManifest = readManifest(destDir);
    if (manifest.shards !== pool.count) {
      throw new ReplicationError(`snapshot has ${manifest.shards} shards`);
    }
    const prepared = await Promise.all(
      manifest.files.map((f, shard) =>
        pool.call(shard, {
          t: "install-prepare",
          path: `${destDir}/${f.name}`,
          checksum: f.checksum,
        })
      ),
    );
    const bad = prepared.findIndex((r) => r.t !== "ok");
    if (bad !== -1) {
      await pool.broadcast({ t: "install-abort" });
      const r = prepared[bad]!;
      throw new ReplicationError(
        `shard ${bad} could not load the received snapshot: ${r.t === "error" ? r.message : r.t}`,
      );
    }
    Deno.mkdirSync(`${root}/replication`, { recursive: true });
    const marker = installMarkerPath(root);
    Deno.writeTextFileSync(
      marker,
      JSON.stringify({ snapshotId: manifest.id, positions: manifest.positions }),
    );
    try {
      Deno.removeSync(`${snapshotsDir(root)}/${manifest.id}`, { recursive: true });
    } catch {
      // not there: the usual case
    }
    commitSnapshot(root, destDir, manifest, { verify: true });
    const committed = await Promise.all(
      manifest.positions.map((position, shard) =>
        pool.call(shard, { t: "install-commit", position })
      ),
    );
    const failed = committed.findIndex((r) => r.t !== "ok");
    if (failed !== -1) {
      throw new ReplicationError(`shard ${failed} could not switch to the received snapshot`);
    }
    Deno.removeSync(marker);
    this.positions = manifest.positions.map((p) => ({ ...p }));
    this.deps.adoptReplid(this.masterReplid);
    this.lastError = undefined;
    log.info("installed snapshot {id} from the master", { id: manifest.id });
  }

  /** Stops following the master (REPLICAOF NO ONE, another master, shutdown). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort(new Error("replication stopped"));
    this.#client?.close();
    this.#wake?.();
    await this.#done;
  }
}

async function jsonCall(client: MasterClient, args: string[]): Promise<unknown> {
  const r: ReplyValue = await client.call(args);
  if (r instanceof ReplyError) {
    throw new ReplicationError(`master answered ${args[1]} with: ${r.message}`);
  }
  if (typeof r !== "string") throw new ReplicationError(`master sent a malformed ${args[1]} reply`);
  return JSON.parse(r);
}
