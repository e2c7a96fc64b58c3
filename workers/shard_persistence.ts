/**
 * Opens a shard's persistence at start: loads the newest complete snapshot, replays the binlog
 * from the snapshot's position, and attaches the binlog writer to the host.
 */
import {
  BINLOG_START,
  binlogDir,
  BinlogPositionError,
  BinlogWriter,
  firstPosition,
  formatPosition,
  listBinlogFiles,
  type Position,
  positionsEqual,
} from "../engine/binlog.ts";
import { latestSnapshot, loadShardSnapshot, snapshotsDir } from "../engine/snapshot.ts";
import type { ShardHost } from "./shard_host.ts";
import type { ShardConfig } from "./protocol.ts";

/** Loads the shard's data and attaches its binlog. Returns warnings to log on the main thread. */
export function openShardPersistence(host: ShardHost, config: ShardConfig): string[] {
  const root = config.dir;
  if (root === undefined) return [];
  const warnings: string[] = [];
  const shard = config.shard;
  Deno.mkdirSync(root, { recursive: true });
  const dir = binlogDir(root, shard);
  Deno.mkdirSync(dir, { recursive: true });

  let from: Position | undefined;
  const snap = latestSnapshot(root);
  if (snap !== null) {
    const m = snap.manifest;
    if (m.shards !== config.shards) {
      throw new Error(
        `snapshot ${snap.id} in ${root} was made with ${m.shards} shards but the server has ${config.shards}: start it with --shards ${m.shards}`,
      );
    }
    const file = m.files[shard]!;
    loadShardSnapshot(`${snap.path}/${file.name}`, host.ks, file.checksum);
    from = m.positions[shard]!;
  }
  if (shard === 0) {
    // A newer snapshot directory that latestSnapshot() passed over is incomplete or damaged.
    for (const name of snapshotDirNames(root)) {
      if (name > (snap?.id ?? "")) {
        warnings.push(`snapshot ${name} is incomplete or damaged: ignored`);
      }
    }
  }

  const base = {
    fileSize: config.binlogFileSize,
    fsync: config.appendfsync,
    truncateCorrupt: config.ignoreCorruption ?? false,
  };
  let writer: BinlogWriter;
  if (config.resetBinlogTo !== undefined) {
    // A full sync was installed: the old log is another history, start at the snapshot point.
    writer = BinlogWriter.open(dir, { ...base, startAt: config.resetBinlogTo });
    writer.resetTo(config.resetBinlogTo);
    writer.fsync();
  } else {
    const replayFrom = from ?? (listBinlogFiles(dir).length ? firstPosition(dir) : BINLOG_START);
    if (from === undefined && !positionsEqual(replayFrom, BINLOG_START)) {
      // Without a snapshot the binlog must hold the whole history; older files were purged
      // after a snapshot that is now missing or damaged, so their data would be silently lost.
      const problem = `no complete snapshot in ${
        snapshotsDir(root)
      } and the binlog of shard ${shard} starts at ${
        formatPosition(replayFrom)
      } (older files were purged): the data before it is missing`;
      if (!config.ignoreCorruption) {
        throw new Error(
          `${problem}; restore the snapshot, or start with --ignore-corruption yes to load the binlog alone`,
        );
      }
      warnings.push(`${problem}; loading the binlog alone as ignore-corruption is set`);
    }
    try {
      writer = BinlogWriter.open(dir, {
        ...base,
        replayFrom,
        startAt: replayFrom,
        onRecord: (rec) => host.applyOps(rec.entry.ops),
      });
    } catch (e) {
      if (e instanceof BinlogPositionError && e.reason === "purged" && snap !== null) {
        throw new Error(
          `snapshot ${snap.id} needs the binlog of shard ${shard} from ${
            formatPosition(e.position)
          } but it was purged (a newer snapshot is missing or damaged?): ${e.message}`,
        );
      }
      if (!(e instanceof BinlogPositionError) || e.reason !== "ahead" || from === undefined) {
        throw e;
      }
      // The snapshot is newer than the durable log (a crash lost its unsynced tail): the
      // snapshot holds everything up to its position, so the log restarts there.
      warnings.push(
        `binlog of shard ${shard} ends before snapshot position ${
          formatPosition(from)
        }; restarting the binlog there`,
      );
      writer = BinlogWriter.open(dir, { ...base, startAt: from });
      writer.resetTo(from);
      writer.fsync();
    }
  }
  const r = writer.recovery;
  if (r.kind === "torn-tail") {
    warnings.push(
      `binlog of shard ${shard}: cut a torn record at the tail of file ${r.file} offset ${r.offset} (${r.droppedBytes} bytes: ${r.reason})`,
    );
  } else if (r.kind === "corrupt-truncated") {
    warnings.push(
      `binlog of shard ${shard}: corrupt record in file ${r.file} at offset ${r.offset} (${r.reason}); dropped ${r.droppedBytes} bytes and files [${r.droppedFiles}] as ignore-corruption is set`,
    );
  }
  host.setBinlog(writer);
  return warnings;
}

/** Names of the directories in `<root>/snapshots` that are not tmp dirs. */
function snapshotDirNames(root: string): string[] {
  try {
    return [...Deno.readDirSync(snapshotsDir(root))]
      .filter((e) => e.isDirectory && !e.name.startsWith("tmp-"))
      .map((e) => e.name);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}
