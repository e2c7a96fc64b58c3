/**
 * The replication coordinator, on the main thread: REPLICAOF / SLAVEOF / ROLE, INFO replication,
 * read-only replicas, and both sides of the `TSYNC` protocol that runs over the ordinary port:
 *
 *     TSYNC META <json>          MetaSync: register or refresh the replica (an upsert), answer
 *                                the replication id and shard layout in the same round trip
 *     TSYNC TRY <json>           TrySync: continue from the replica's positions (the connection
 *                                then carries the record stream) or ask for a full sync
 *     TSYNC SNAPMETA <json>      full sync: the snapshot's files, sizes, checksums, positions
 *                                (or WAIT while the master makes one)
 *     TSYNC FILE id name off len full sync: one chunk of a snapshot file, with its checksum
 *     TSYNC ACK <json>           the replica's applied positions (no reply)
 */
import { getLogger } from "@logtape/logtape";
import { binlogDir, checkPosition, formatPosition, type Position } from "../engine/binlog.ts";
import { latestSnapshot } from "../engine/snapshot.ts";
import { CommandError } from "../engine/errors.ts";
import { tryParseInt } from "../engine/args.ts";
import type { Client } from "../server/client.ts";
import { bytesToLatin1 } from "../server/resp_reader.ts";
import { encodeCommand } from "../server/resp_writer.ts";
import type { Router } from "../server/router.ts";
import type { Persistence } from "../server/persistence.ts";
import type { RespWriter } from "../server/resp_writer.ts";
import type { ReplySlot, ShardPool } from "../workers/shard_pool.ts";
import { BinlogSender } from "./binlog_sender.ts";
import { ReplicaRegistry } from "./replica_registry.ts";
import { type LinkState, ReplicaLink, type ReplicaLinkDeps } from "./replica_link.ts";
import {
  loadIdentity,
  randomId,
  type ReplicationIdentity,
  saveIdentity,
} from "./replication_state.ts";
import { RsyncServer } from "./rsync_server.ts";
import { SnapshotChangedError } from "./rsync_types.ts";

const log = getLogger(["tessera", "replication"]);

/** How long a snapshot-meta request waits for a snapshot being written before answering WAIT. */
const SNAPSHOT_HOLD_MS = 10_000;

/** Options for tests: faster retries, smaller chunks. */
export interface CoordinatorOptions {
  backoff?: ReplicaLinkDeps["backoff"];
  fullSync?: ReplicaLinkDeps["fullSync"];
}

interface Streaming {
  id: string;
  sender: BinlogSender;
}

export class ReplicationCoordinator implements AsyncDisposable {
  readonly identity: ReplicationIdentity;
  readonly registry = new ReplicaRegistry();
  /** Serves snapshot files to replicas doing a full sync (faults settable by tests). */
  readonly rsync: RsyncServer;
  readonly stats = { syncFull: 0, syncPartialOk: 0, syncPartialErr: 0, metaSyncs: 0 };
  link: ReplicaLink | undefined;
  readonly #router: Router;
  readonly #pool: ShardPool;
  readonly #persistence: Persistence;
  readonly #root: string | undefined;
  readonly #options: CoordinatorOptions;
  readonly #streaming = new Map<Client, Streaming>();
  readonly #fullSyncServed = new Set<string>();
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(
    router: Router,
    persistence: Persistence,
    root: string | undefined,
    options: CoordinatorOptions = {},
  ) {
    this.#router = router;
    this.#pool = router.pool;
    this.#persistence = persistence;
    this.#root = root;
    this.#options = options;
    this.identity = loadIdentity(root);
    this.rsync = new RsyncServer({ source: () => this.#snapshotSource() });
    router.infoProviders.set("replication", () => this.info());
    router.statsProviders.push(() => [
      `sync_full:${this.stats.syncFull}`,
      `sync_partial_ok:${this.stats.syncPartialOk}`,
      `sync_partial_err:${this.stats.syncPartialErr}`,
    ]);
    router.writeGuard = (c) =>
      this.link !== undefined && c.flags !== "M" && router.config["replica-read-only"] === "yes"
        ? "READONLY You can't write against a read only replica."
        : undefined;
    router.closeListeners.push((c) => this.#clientClosed(c));
    // PUBLISH reaches replicas too, in the stream, as Redis propagates it.
    router.publishListeners.push((channel, message) => {
      if (this.#streaming.size === 0) return;
      const frame = encodeCommand(["PUB", channel, message]);
      for (const c of this.#streaming.keys()) c.push(frame);
    });
    persistence.binlogVetoes.push((shard, file) => this.#binlogNeeded(shard, file));
    persistence.snapshotVetoes.push((id) =>
      this.registry.entries().some((e) => e.state === "full_sync" && e.snapshotId === id)
    );
    this.#registerCommands();
    // Keepalive bookkeeping: drop replicas that went silent.
    this.#timer = setInterval(() => {
      const timeout = router.config["repl-timeout"] * 1000;
      for (const e of this.registry.expire(timeout)) {
        log.warn("replica {id} timed out", { id: e.id });
      }
    }, 1000);
    if (this.identity.master !== null) {
      this.#follow(this.identity.master.host, this.identity.master.port, false);
    }
  }

  /** "master" or "slave". */
  get role(): "master" | "slave" {
    return this.link === undefined ? "master" : "slave";
  }

  #binlogNeeded(shard: number, file: number): boolean {
    const oldest = this.registry.oldestNeeded(shard);
    if (oldest !== undefined && file >= oldest.file) return true;
    for (const s of this.#streaming.values()) {
      const f = s.sender.currentFiles()[shard];
      if (f !== undefined && file >= f) return true;
    }
    return false;
  }

  // ---- master side ----

  /**
   * The snapshot a full sync copies: the newest one while the binlog still holds everything
   * after it, else a fresh one. The request waits for a snapshot being written (up to
   * {@link SNAPSHOT_HOLD_MS}) rather than sending the replica away to poll; past that it answers
   * WAIT, which the replica treats as "ask again", never as a failure.
   */
  async #snapshotSource(): Promise<{ dir: string } | { wait: true; reason: string }> {
    const root = this.#root;
    if (root === undefined) throw new Error("the master has no data directory");
    if (!this.#persistence.saving) {
      const latest = latestSnapshot(root);
      if (latest !== null && latest.manifest.shards === this.#pool.count) {
        const held = latest.manifest.positions.every((p, shard) =>
          checkPosition(binlogDir(root, shard), p).kind === "ok"
        );
        if (held) return { dir: latest.path };
      }
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const made = this.#persistence.snapshot();
    made.catch((e) =>
      log.error("snapshot for a full sync failed: {message}", {
        message: e instanceof Error ? e.message : String(e),
      })
    );
    try {
      return await Promise.race([
        made.then((info) => ({ dir: info.path })),
        new Promise<{ wait: true; reason: string }>((resolve) => {
          timer = setTimeout(
            () => resolve({ wait: true, reason: "making a snapshot for the full sync" }),
            SNAPSHOT_HOLD_MS,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Decides TrySync for each shard: continue only if every position is held and ours. */
  #trySync(
    replid: string,
    positions: Position[],
    force: boolean,
  ): { mode: "continue" } | { mode: "full"; reason: string } {
    const root = this.#root;
    if (root === undefined) return { mode: "full", reason: "the master has no binlog" };
    if (force) return { mode: "full", reason: "full sync forced by the replica" };
    if (replid !== this.identity.replid && replid !== this.identity.replid2) {
      return {
        mode: "full",
        reason: `replication id ${replid} is not this master's (${this.identity.replid})`,
      };
    }
    if (positions.length !== this.#pool.count) {
      return { mode: "full", reason: "shard layout differs" };
    }
    for (const [shard, pos] of positions.entries()) {
      const check = checkPosition(binlogDir(root, shard), pos);
      if (check.kind !== "ok") {
        return {
          mode: "full",
          reason: `shard ${shard} position ${formatPosition(pos)}: ${check.kind}`,
        };
      }
    }
    return { mode: "continue" };
  }

  #tsync(r: Router, c: Client, args: string[], slot: ReplySlot): void {
    const sub = args[1]!.toLowerCase();
    const json = () => {
      try {
        return JSON.parse(args[2] ?? "") as Record<string, unknown>;
      } catch {
        throw new CommandError("TSYNC expects a JSON argument");
      }
    };
    const reply = (build: (w: RespWriter) => void) => r.reply(c, slot, build);
    const fail = (e: unknown) =>
      r.replyError(slot, `ERR ${e instanceof Error ? e.message : String(e)}`);
    try {
      switch (sub) {
        case "meta": {
          const m = json();
          const id = String(m.id);
          this.stats.metaSyncs++;
          c.flags = "S";
          const host = c.addr.slice(0, c.addr.lastIndexOf(":"));
          // An upsert: a replica we already know is normal, the new connection replaces the old.
          const { known } = this.registry.upsert(id, host, Number(m.port) || 0, {
            close: () => c.kill(false),
          });
          const entry = this.registry.get(id)!;
          entry.clientId = c.id;
          if (known) log.info("replica {id} re-registered from {addr}", { id, addr: c.addr });
          else log.info("replica {id} registered from {addr}", { id, addr: c.addr });
          reply((w) =>
            w.bulk(JSON.stringify({
              ok: true,
              replid: this.identity.replid,
              replid2: this.identity.replid2,
              shards: this.#pool.count,
              databases: 16,
            }))
          );
          return;
        }
        case "try": {
          const m = json();
          const id = String(m.id);
          const positions = (m.positions as Position[] | undefined) ?? [];
          const decision = this.#trySync(String(m.replid), positions, m.force === true);
          const entry = this.registry.get(id);
          if (decision.mode === "full") {
            this.stats.syncPartialErr++;
            if (entry) entry.state = "full_sync";
            reply((w) => w.bulk(JSON.stringify(decision)));
            return;
          }
          this.stats.syncPartialOk++;
          if (entry) {
            entry.state = "online";
            entry.acked = positions;
            entry.pinned = undefined;
            entry.snapshotId = undefined;
          }
          reply((w) => w.bulk(JSON.stringify(decision)));
          this.#startStreaming(c, id, positions);
          return;
        }
        case "snapmeta": {
          const m = json();
          const id = String(m.id);
          this.registry.touch(id);
          this.rsync.meta().then((meta) => {
            // The entry may have expired while the master made the snapshot: register it again,
            // since the pin below is what keeps the binlog this replica will continue from.
            const host = c.addr.slice(0, c.addr.lastIndexOf(":"));
            const entry = this.registry.get(id) ??
              this.registry.upsert(id, host, 0, undefined).entry;
            if (!("wait" in meta)) {
              entry.state = "full_sync";
              entry.pinned = meta.positions as Position[];
              entry.snapshotId = meta.snapshotId;
              entry.lastSeen = Date.now();
              const key = `${id}/${meta.snapshotId}`;
              if (!this.#fullSyncServed.has(key)) {
                this.#fullSyncServed.add(key);
                this.stats.syncFull++;
              }
            }
            reply((w) => w.bulk(JSON.stringify(meta)));
          }, fail);
          return;
        }
        case "file": {
          const offset = tryParseInt(args[4] ?? "");
          const length = tryParseInt(args[5] ?? "");
          if (args.length !== 6 || offset === undefined || length === undefined) {
            throw new CommandError("TSYNC FILE <snapshot> <file> <offset> <length>");
          }
          // A replica copying this snapshot is alive: a long copy must not expire its entry
          // (and with it the binlog pin it needs to continue afterwards).
          for (const e of this.registry.entries()) {
            if (e.state === "full_sync" && e.snapshotId === args[2]) e.lastSeen = Date.now();
          }
          this.rsync.chunk(args[2]!, args[3]!, offset, length).then((chunk) =>
            reply((w) => {
              w.array(3);
              w.bulk(chunk.checksum);
              w.int(chunk.eof ? 1 : 0);
              w.bulk(bytesToLatin1(chunk.data));
            }), (e) => {
            if (e instanceof SnapshotChangedError) r.replyError(slot, e.message);
            else fail(e);
          });
          return;
        }
        case "ack": {
          const m = json();
          const id = String(m.id);
          const entry = this.registry.get(id);
          if (entry) {
            entry.acked = (m.positions as Position[] | undefined) ?? entry.acked;
            entry.lastSeen = Date.now();
          }
          slot.data = new Uint8Array(0); // no reply: the connection carries the record stream
          slot.owner.slotReady();
          return;
        }
        default:
          throw new CommandError(
            `unknown subcommand '${args[1]}'. Try TSYNC META|TRY|SNAPMETA|FILE|ACK.`,
          );
      }
    } catch (e) {
      fail(e);
    }
  }

  #startStreaming(c: Client, id: string, from: Position[]): void {
    const root = this.#root!;
    this.#streaming.get(c)?.sender.close();
    const sender = new BinlogSender({
      root,
      from,
      sink: {
        sendFrame: (bytes) => c.push(bytes),
        get backlog() {
          return c.backlog;
        },
      },
      onError: (e) => {
        log.error("streaming to replica {id} failed: {message}", { id, message: e.message });
        c.kill(false);
      },
    });
    this.#streaming.set(c, { id, sender });
  }

  #clientClosed(c: Client): void {
    const s = this.#streaming.get(c);
    if (s !== undefined) {
      s.sender.close();
      this.#streaming.delete(c);
    }
    // A replica whose link closed is gone (as in Redis), unless it is copying a snapshot over
    // other connections: that one stays registered (its binlog pin included) until it times out.
    for (const e of this.registry.entries()) {
      if (e.clientId !== c.id) continue;
      if (e.state === "full_sync") e.link = undefined;
      else this.registry.remove(e.id);
    }
  }

  // ---- replica side ----

  #follow(host: string, port: number, force: boolean): void {
    const root = this.#root;
    if (root === undefined) {
      throw new CommandError("replication needs a data directory (start with --dir)");
    }
    const config = this.#router.config;
    this.link = new ReplicaLink({
      master: { host, port, auth: config.masterauth },
      pool: this.#pool,
      root,
      nodeId: this.identity.nodeId,
      listenPort: this.#router.port,
      replid: () => this.identity.replid,
      adoptReplid: (replid) => {
        this.identity.replid = replid;
        saveIdentity(root, this.identity);
      },
      settings: () => ({
        parallel: config["max-rsync-parallel-num"],
        bytesPerSecond: config["throttle-bytes-per-second"],
        timeoutSec: config["repl-timeout"],
      }),
      force,
      onPublish: (channel, message) => this.#router.deliverReplicated?.(channel, message),
      backoff: this.#options.backoff,
      fullSync: this.#options.fullSync,
    });
    this.#router.role = "slave";
    void this.#pool.broadcast({ t: "config", replica: true });
  }

  async #replicaof(args: string[]): Promise<string> {
    const a1 = args[1]!.toLowerCase();
    const a2 = args[2]!.toLowerCase();
    if (a1 === "no" && a2 === "one") {
      if (this.link !== undefined) {
        await this.link.stop();
        this.link = undefined;
        // Keep the data and positions; a new history starts, the old id stays valid for siblings.
        this.identity.replid2 = this.identity.replid;
        this.identity.replid = randomId();
        this.identity.master = null;
        saveIdentity(this.#root, this.identity);
        this.#router.role = "master";
        await this.#pool.broadcast({ t: "config", replica: false });
        log.info("promoted to master");
      }
      return "OK";
    }
    const port = tryParseInt(args[2]!);
    if (port === undefined || port <= 0 || port > 65535) {
      throw new CommandError("Invalid master port");
    }
    const force = args.length === 4 && args[3]!.toLowerCase() === "force";
    if (args.length === 4 && !force) throw new CommandError("syntax error");
    const host = args[1]!;
    const cur = this.identity.master;
    if (!force && this.link !== undefined && cur && cur.host === host && cur.port === port) {
      return "OK Already connected to specified master";
    }
    if (this.#root === undefined) {
      throw new CommandError("replication needs a data directory (start with --dir)");
    }
    await this.link?.stop();
    this.link = undefined;
    this.identity.master = { host, port };
    saveIdentity(this.#root, this.identity);
    this.#follow(host, port, force);
    log.info("replicating from {host}:{port}", { host, port });
    return "OK";
  }

  #registerCommands(): void {
    const r = this.#router;
    for (const name of ["replicaof", "slaveof"]) {
      r.addCommand({
        name,
        arity: -3,
        flags: ["admin", "noscript", "stale"],
        firstKey: 0,
        lastKey: 0,
        step: 0,
        run: (router, c, args, slot) => {
          if (args.length > 4) {
            return router.replyError(slot, `ERR wrong number of arguments for '${name}' command`);
          }
          this.#replicaof(args).then(
            (line) => router.reply(c, slot, (w) => w.simple(line)),
            (e) =>
              router.reply(c, slot, () => {
                throw e;
              }),
          );
        },
      });
    }
    r.addCommand({
      name: "role",
      arity: 1,
      flags: ["noscript", "loading", "stale", "fast"],
      firstKey: 0,
      lastKey: 0,
      step: 0,
      run: (router, c, _args, slot) => {
        this.#offsets().then((offsets) =>
          router.reply(c, slot, (w) => {
            const link = this.link;
            if (link === undefined) {
              const replicas = this.registry.entries();
              w.array(3);
              w.bulk("master");
              w.int(offsets.total);
              w.array(replicas.length);
              for (const e of replicas) {
                w.array(3);
                w.bulk(e.host);
                w.bulk(String(e.port));
                w.bulk(String(totalOffset(e.acked)));
              }
              return;
            }
            w.array(5);
            w.bulk("slave");
            w.bulk(link.deps.master.host);
            w.int(link.deps.master.port);
            w.bulk(roleState(link.state));
            w.int(offsets.total);
          })
        );
      },
    });
    r.addCommand({
      name: "tsync",
      arity: -2,
      flags: ["admin", "noscript", "stale"],
      firstKey: 0,
      lastKey: 0,
      step: 0,
      run: (router, c, args, slot) => this.#tsync(router, c, args, slot),
    });
  }

  async #offsets(): Promise<{ positions: Position[]; total: number }> {
    const answers = await this.#pool.broadcast({ t: "stats" });
    const positions = answers.flatMap((a) =>
      a.t === "stats" && a.stats.position ? [a.stats.position] : []
    );
    return { positions, total: totalOffset(positions) };
  }

  /** INFO replication. */
  async info(): Promise<string[]> {
    const { positions, total } = await this.#offsets();
    const lines = ["# Replication", `role:${this.role}`];
    const link = this.link;
    if (link !== undefined) {
      const lastIo = link.lastIo;
      lines.push(
        `master_host:${link.deps.master.host}`,
        `master_port:${link.deps.master.port}`,
        `master_link_status:${link.state === "connected" ? "up" : "down"}`,
        `master_last_io_seconds_ago:${
          lastIo === undefined ? -1 : Math.floor((Date.now() - lastIo) / 1000)
        }`,
        `master_sync_in_progress:${link.syncing ? 1 : 0}`,
        `slave_read_repl_offset:${total}`,
        `slave_repl_offset:${total}`,
        `slave_priority:100`,
        `slave_read_only:${this.#router.config["replica-read-only"] === "yes" ? 1 : 0}`,
        `replica_announced:1`,
      );
      const p = link.progress;
      lines.push(`tessera_sync_state:${link.state}`);
      if (link.syncing && p !== undefined) {
        lines.push(
          `tessera_full_sync_files:${p.filesDone}/${p.filesTotal}`,
          `tessera_full_sync_bytes:${p.bytesDone}/${p.bytesTotal}`,
          `tessera_full_sync_rate:${Math.round(p.bytesPerSec)}`,
          `tessera_full_sync_current:${p.current.join(",")}`,
        );
      }
      const last = link.lastFullSync;
      if (last !== undefined) {
        lines.push(
          last.ok
            ? `tessera_last_full_sync:ok,snapshot=${last.snapshotId},files=${last.files.length},bytes=${last.bytes},ms=${
              Math.round(last.elapsedMs)
            }`
            : `tessera_last_full_sync:err,stage=${last.stage},failed=${last.failed.join("|")}`,
        );
      }
      lines.push(
        `tessera_last_error:${link.lastError ? oneLine(link.lastError.message) : ""}`,
        `tessera_records_applied:${link.counters.recordsApplied}`,
        `tessera_link_connects:${link.counters.connects}`,
      );
    }
    const replicas = this.registry.entries();
    lines.push(`connected_slaves:${replicas.length}`);
    for (const [i, e] of replicas.entries()) {
      const state = e.state === "online"
        ? "online"
        : e.state === "full_sync"
        ? "send_bulk"
        : "wait_bgsave";
      const lag = Math.floor((Date.now() - e.lastSeen) / 1000);
      lines.push(
        `slave${i}:ip=${e.host},port=${e.port},state=${state},offset=${
          totalOffset(e.acked)
        },lag=${lag}`,
      );
    }
    lines.push(
      `master_failover_state:no-failover`,
      `master_replid:${this.identity.replid}`,
      `master_replid2:${this.identity.replid2}`,
      `master_repl_offset:${total}`,
      `tessera_binlog_positions:${positions.map(formatPosition).join(",")}`,
    );
    return lines;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    for (const s of this.#streaming.values()) s.sender.close();
    this.#streaming.clear();
    await this.link?.stop();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** One number for a set of per-shard positions (Redis clients expect a single offset). */
function totalOffset(positions: readonly Position[]): number {
  let n = 0;
  for (const p of positions) n += p.file * 2 ** 32 + p.offset;
  return n;
}

function roleState(s: LinkState): string {
  switch (s) {
    case "connected":
      return "connected";
    case "full_sync":
      return "sync";
    case "connect":
    case "metasync":
    case "trysync":
      return "connecting";
    case "error":
      return "connect";
  }
}

function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, " ");
}
