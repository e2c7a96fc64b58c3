/**
 * The main thread's side of persistence: SAVE / BGSAVE / LASTSAVE, `save <seconds> <changes>`
 * rules, binlog purging (with vetoes other modules add, e.g. replication), INFO persistence, and
 * the TESSERA admin command (dataset digests, binlog positions, purge now).
 */
import { getLogger } from "@logtape/logtape";
import { binlogDir, formatPosition, type Position, purgeBefore } from "../engine/binlog.ts";
import {
  commitSnapshot,
  createSnapshotTmpDir,
  latestSnapshot,
  newSnapshotId,
  pruneSnapshots,
  type ShardFileInfo,
  type SnapshotInfo,
  type SnapshotManifest,
} from "../engine/snapshot.ts";
import { combineDigests } from "../engine/digest.ts";
import { CommandError } from "../engine/errors.ts";
import type { ShardStats } from "../workers/protocol.ts";
import type { Router } from "./router.ts";

const log = getLogger(["tessera", "persistence"]);

/** Parses `save` rules ("3600 1 300 100") into [seconds, changes] pairs. */
export function parseSaveRules(s: string): Array<[number, number]> {
  const words = s.trim().split(/\s+/).filter((w) => w !== "" && w !== '""');
  const out: Array<[number, number]> = [];
  for (let i = 0; i + 1 < words.length; i += 2) {
    const secs = Number(words[i]);
    const changes = Number(words[i + 1]);
    if (Number.isInteger(secs) && Number.isInteger(changes) && secs > 0) out.push([secs, changes]);
  }
  return out;
}

export class Persistence implements AsyncDisposable {
  readonly root: string | undefined;
  readonly #router: Router;
  #inProgress: Promise<SnapshotInfo> | undefined;
  #lastSave: number;
  #lastStatus: "ok" | "err" = "ok";
  #lastDuration = -1;
  #dirtyAtSave = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** A binlog file is kept while any veto returns true for (shard, file). */
  readonly binlogVetoes: Array<(shard: number, file: number) => boolean> = [];
  /** A snapshot is kept while any veto returns true for its id. */
  readonly snapshotVetoes: Array<(id: string) => boolean> = [];

  constructor(router: Router, root: string | undefined) {
    this.#router = router;
    this.root = root;
    const latest = root === undefined ? null : latestSnapshot(root);
    this.#lastSave = Math.floor((latest?.manifest.createdAt ?? Date.now()) / 1000);
    router.infoProviders.set("persistence", () => this.info());
    this.#registerCommands();
    if (root !== undefined) this.#timer = setInterval(() => void this.#checkSaveRules(), 1000);
  }

  /** True while a snapshot is being written. */
  get saving(): boolean {
    return this.#inProgress !== undefined;
  }

  /** Makes a snapshot (or joins the one in progress) and returns it once committed. */
  snapshot(): Promise<SnapshotInfo> {
    if (this.root === undefined) {
      return Promise.reject(new CommandError("persistence is off (no data directory)"));
    }
    this.#inProgress ??= this.#snapshot(this.root).finally(() => this.#inProgress = undefined);
    return this.#inProgress;
  }

  async #snapshot(root: string): Promise<SnapshotInfo> {
    const pool = this.#router.pool;
    const started = Date.now();
    const id = newSnapshotId(started);
    const tmp = createSnapshotTmpDir(root, id);
    try {
      const dirty = await this.#totalDirty();
      // Under the gate so no multi-shard command is half done at the cut.
      const answers = await this.#router.gated(() =>
        pool.broadcast({ t: "snapshot-begin", tmpDir: tmp })
      );
      const failed = answers.find((a) => a.t === "error");
      if (failed && failed.t === "error") {
        await this.#waitIdle();
        throw new Error(failed.message);
      }
      const files: ShardFileInfo[] = new Array(pool.count);
      const positions: Position[] = new Array(pool.count);
      let left = pool.count;
      while (left > 0) {
        await new Promise((r) => setTimeout(r, 10));
        const status = await pool.broadcast({ t: "snapshot-status" });
        for (const [shard, s] of status.entries()) {
          if (s.t !== "snapshot-status") continue;
          if (s.state === "done") {
            files[shard] = s.part.file;
            positions[shard] = s.part.position;
            left--;
          } else if (s.state === "failed") {
            await this.#waitIdle();
            throw new Error(`shard ${shard}: ${s.message}`);
          }
        }
      }
      const manifest: SnapshotManifest = {
        format: 1,
        id,
        createdAt: started,
        shards: pool.count,
        files,
        positions,
      };
      const path = commitSnapshot(root, tmp, manifest);
      this.#lastSave = Math.floor(Date.now() / 1000);
      this.#lastStatus = "ok";
      this.#lastDuration = Math.round((Date.now() - started) / 1000);
      this.#dirtyAtSave = dirty;
      log.info("snapshot {id} saved in {ms} ms", { id, ms: Date.now() - started });
      this.purge(manifest);
      return { id, path, manifest };
    } catch (e) {
      this.#lastStatus = "err";
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
      log.error("snapshot failed: {message}", {
        message: e instanceof Error ? e.message : String(e),
      });
      throw e;
    }
  }

  async #waitIdle(): Promise<void> {
    // Let shards that did start finish (their files are discarded with the tmp dir).
    for (let i = 0; i < 1000; i++) {
      const status = await this.#router.pool.broadcast({ t: "snapshot-status" });
      if (status.every((s) => s.t === "snapshot-status" && s.state !== "running")) return;
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /**
   * Purges binlog files older than the newest snapshot, keeping `binlog-keep-files` and every
   * file a veto protects; removes snapshots beyond the newest two unless vetoed.
   */
  purge(manifest?: SnapshotManifest): number[][] {
    const root = this.root;
    if (root === undefined) return [];
    const m = manifest ?? latestSnapshot(root)?.manifest;
    if (m === undefined) return [];
    const keep = this.#router.config["binlog-keep-files"];
    const purged = m.positions.map((pos, shard) =>
      purgeBefore(binlogDir(root, shard), pos, {
        keepFiles: keep,
        vetoes: [(f) => f >= pos.file, ...this.binlogVetoes.map((v) => (f: number) => v(shard, f))],
      })
    );
    pruneSnapshots(root, 2, { vetoes: this.snapshotVetoes });
    return purged;
  }

  async #totalDirty(): Promise<number> {
    let n = 0;
    for (const s of await this.#stats()) n += s.dirty;
    return n;
  }

  async #stats(): Promise<ShardStats[]> {
    const answers = await this.#router.pool.broadcast({ t: "stats" });
    return answers.flatMap((a) => a.t === "stats" ? [a.stats] : []);
  }

  async #checkSaveRules(): Promise<void> {
    if (this.#inProgress !== undefined) return;
    const rules = parseSaveRules(this.#router.config.save);
    if (rules.length === 0) return;
    let changes: number;
    try {
      changes = (await this.#totalDirty()) - this.#dirtyAtSave;
    } catch {
      return; // shutting down
    }
    const elapsed = Date.now() / 1000 - this.#lastSave;
    for (const [secs, need] of rules) {
      if (changes >= need && elapsed >= secs) {
        log.info("{changes} changes in {secs} seconds: saving", { changes, secs });
        this.snapshot().catch(() => {});
        return;
      }
    }
  }

  async info(): Promise<string[]> {
    const stats = await this.#stats();
    let dirty = 0;
    for (const s of stats) dirty += s.dirty;
    const lines = [
      "# Persistence",
      "loading:0",
      `rdb_changes_since_last_save:${Math.max(0, dirty - this.#dirtyAtSave)}`,
      `rdb_bgsave_in_progress:${this.#inProgress ? 1 : 0}`,
      `rdb_last_save_time:${this.#lastSave}`,
      `rdb_last_bgsave_status:${this.#lastStatus}`,
      `rdb_last_bgsave_time_sec:${this.#lastDuration}`,
      `aof_enabled:${this.root === undefined ? 0 : 1}`,
      `aof_rewrite_in_progress:0`,
      `aof_last_write_status:ok`,
      `appendfsync:${this.#router.config.appendfsync}`,
    ];
    for (const s of stats) {
      if (s.position === undefined) continue;
      lines.push(
        `binlog_shard${s.shard}:position=${formatPosition(s.position)},synced=${
          s.syncedPosition ? formatPosition(s.syncedPosition) : "-"
        },files=${s.binlogFiles?.length ?? 0},first_file=${s.binlogFiles?.[0] ?? 0}`,
      );
    }
    return lines;
  }

  #registerCommands(): void {
    const r = this.#router;
    r.addCommand({
      name: "save",
      arity: 1,
      flags: ["admin", "noscript"],
      firstKey: 0,
      lastKey: 0,
      step: 0,
      run: (router, c, _args, slot) => {
        this.snapshot().then(
          () => router.reply(c, slot, (w) => w.simple("OK")),
          (e) => router.replyError(slot, `ERR ${e instanceof Error ? e.message : e}`),
        );
      },
    });
    r.addCommand({
      name: "bgsave",
      arity: -1,
      flags: ["admin", "noscript"],
      firstKey: 0,
      lastKey: 0,
      step: 0,
      run: (router, c, args, slot) => {
        if (args.length > 2 || (args.length === 2 && args[1]!.toLowerCase() !== "schedule")) {
          return router.replyError(slot, "ERR syntax error");
        }
        if (this.root === undefined) {
          return router.replyError(slot, "ERR persistence is off (no data directory)");
        }
        if (this.#inProgress !== undefined) {
          if (args.length === 2) {
            return router.reply(c, slot, (w) => w.simple("Background saving scheduled"));
          }
          return router.replyError(slot, "ERR Background save already in progress");
        }
        this.snapshot().catch(() => {});
        router.reply(c, slot, (w) => w.simple("Background saving started"));
      },
    });
    r.addCommand({
      name: "lastsave",
      arity: 1,
      flags: ["fast", "loading", "stale"],
      firstKey: 0,
      lastKey: 0,
      step: 0,
      run: (router, c, _args, slot) => router.reply(c, slot, (w) => w.int(this.#lastSave)),
    });
    r.addCommand({
      name: "tessera",
      arity: -2,
      flags: ["admin", "loading", "stale"],
      firstKey: 0,
      lastKey: 0,
      step: 0,
      run: (router, c, args, slot) => {
        const sub = args[1]!.toLowerCase();
        const fail = (e: unknown) =>
          router.replyError(slot, `ERR ${e instanceof Error ? e.message : e}`);
        if (sub === "digest") {
          // TESSERA DIGEST [db]: order-independent digest per non-empty db (or of one db).
          router.pool.broadcast({ t: "digest" }).then((answers) => {
            const per = answers.flatMap((a) => a.t === "digest" ? [a.dbs] : []);
            const dbs = Array.from(
              { length: 16 },
              (_, db) => combineDigests(per.map((p) => p[db]!)),
            );
            router.reply(c, slot, (w) => {
              if (args.length === 3) {
                const db = Number(args[2]);
                if (!Number.isInteger(db) || db < 0 || db > 15) {
                  throw new CommandError("DB index is out of range");
                }
                w.bulk(dbs[db]!);
                return;
              }
              const nonEmpty = dbs.map((d, i) => [i, d] as const).filter(([, d]) =>
                !/^0+$/.test(d)
              );
              w.array(nonEmpty.length * 2);
              for (const [i, d] of nonEmpty) {
                w.int(i);
                w.bulk(d);
              }
            });
          }, fail);
          return;
        }
        if (sub === "binlog") {
          this.#stats().then((stats) =>
            router.reply(c, slot, (w) => {
              w.array(stats.length);
              for (const s of stats) w.bulk(s.position ? formatPosition(s.position) : "-");
            }), fail);
          return;
        }
        if (sub === "purge-binlog") {
          try {
            const purged = this.purge();
            router.reply(c, slot, (w) => w.int(purged.reduce((n, p) => n + p.length, 0)));
          } catch (e) {
            fail(e);
          }
          return;
        }
        router.replyError(
          slot,
          `ERR unknown subcommand '${args[1]}'. Try TESSERA DIGEST|BINLOG|PURGE-BINLOG.`,
        );
      },
    });
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#inProgress?.catch(() => {});
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
