/**
 * The replica side of the full-sync file transfer: fetches the master's snapshot meta, then
 * copies every file in verified chunks into a staging directory, several files at once, with
 * bounded retries, resume after an interruption, and a shared byte-rate throttle.
 *
 * Guarantees, by construction:
 * - every result is built explicitly where its outcome is known; a failed meta stage returns
 *   `{ ok: false, stage: "meta" }` with the last cause and nothing else happens;
 * - "snapshot in progress" (WAIT) is waited out with backoff, bounded by a total timeout, and is
 *   never counted as a failed attempt;
 * - a file counts as copied only once its size and CRC-32C match the meta (then it is fsynced
 *   and renamed from `<name>.part` to `<name>`); the sync is OK only if every file is;
 * - when the master stops serving the snapshot, all workers stop and the partial copy is wiped;
 * - after an abort (or a crash), a new run for the same snapshot id continues from the `.part`
 *   files and re-checks the files already complete.
 *
 * `destDir` is owned by this module: whatever in it does not belong to the snapshot being
 * copied is deleted.
 */

import { Crc32c, crc32c, crcHex } from "../engine/crc32.ts";
import {
  ChunkChecksumError,
  type FileResult,
  FileVerifyError,
  FullSyncFilesError,
  type FullSyncResult,
  isMetaWait,
  type MetaResult,
  MetaWaitTimeoutError,
  RsyncTimeoutError,
  type RsyncTransport,
  SnapshotChangedError,
  type SnapshotFileInfo,
  type SnapshotMeta,
  toError,
  validateSnapshotMeta,
} from "./rsync_types.ts";
import { type Clock, realClock, realSleep, type Sleep, type Throttle } from "./throttle.ts";

/** The replica's bookkeeping file in `destDir`: which snapshot id the files there belong to. */
export const SYNC_STATE_NAME = "sync-state.json";
/** Suffix of a file being copied. */
export const PART_SUFFIX = ".part";

export interface Backoff {
  /** First retry delay (default 100 ms); doubles on each further retry. */
  baseMs?: number;
  /** Longest delay (default 5000 ms). */
  maxMs?: number;
}

/** Delay before retry number `attempt` (1 = after the first failure): base·2^(attempt-1), capped. */
export function backoffDelay(attempt: number, backoff: Backoff = {}): number {
  const base = backoff.baseMs !== undefined && backoff.baseMs >= 0 ? backoff.baseMs : 100;
  const max = backoff.maxMs !== undefined && backoff.maxMs >= 0 ? backoff.maxMs : 5000;
  return Math.min(max, base * 2 ** Math.min(Math.max(0, attempt - 1), 30));
}

export interface MetaOptions {
  /** Failed meta requests tolerated (default 10). WAIT answers do not count. */
  metaAttempts?: number;
  /** Longest total time the master may answer WAIT (default 10 minutes, per `clock`). */
  metaWaitTimeoutMs?: number;
  backoff?: Backoff;
  /** Real-time limit for each chunk request (default 30 s; 0 = none). */
  requestTimeoutMs?: number;
  /** Real-time limit for each meta request (default 120 s; 0 = none). */
  metaRequestTimeoutMs?: number;
  clock?: Clock;
  sleep?: Sleep;
  signal?: AbortSignal;
}

export interface FullSyncProgress {
  snapshotId: string;
  filesDone: number;
  filesTotal: number;
  /** Bytes present and verified chunk by chunk in `destDir` (may drop when a file restarts). */
  bytesDone: number;
  bytesTotal: number;
  /** Bytes received from the master in this run. */
  bytesReceived: number;
  /** `bytesReceived` per second since the run started (per `clock`). */
  bytesPerSec: number;
  /** Files being copied right now. */
  current: string[];
}

export interface FullSyncOptions extends MetaOptions {
  /** Staging directory for the snapshot (created; wiped when it holds another snapshot). */
  destDir: string;
  /** Files copied at once (default 4), or a getter read while the sync runs. */
  parallel?: number | (() => number);
  /** Byte-rate limiter shared by all copies (none = unlimited). */
  throttle?: Throttle;
  /** Attempts per file (default 5). */
  fileAttempts?: number;
  /** Bytes asked per chunk request (default 1 MiB). */
  chunkSize?: number;
  onProgress?: (progress: FullSyncProgress) => void;
}

function posInt(v: number | undefined, dflt: number): number {
  return v !== undefined && Number.isFinite(v) && v >= 1 ? Math.floor(v) : dflt;
}

/** Why the run stopped, as an Error. */
function abortCause(signal: AbortSignal): Error {
  return toError(signal.reason ?? new Error("aborted"));
}

/**
 * Calls `start` and settles with its result, or rejects as soon as `signal` aborts or
 * `timeoutMs` (real time) passes. A late answer is dropped.
 */
function guarded<T>(
  start: () => Promise<T>,
  signal: AbortSignal,
  timeoutMs: number,
  what: string,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) {
      reject(abortCause(signal));
      return;
    }
    let p: Promise<T>;
    try {
      p = start();
    } catch (e) {
      reject(e);
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done = () => {
      if (timer !== undefined) clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    };
    const onAbort = () => {
      done();
      reject(abortCause(signal));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    if (timeoutMs > 0) {
      timer = setTimeout(() => {
        done();
        reject(new RsyncTimeoutError(what, timeoutMs));
      }, timeoutMs);
    }
    Promise.resolve(p).then(
      (v) => {
        done();
        resolve(v);
      },
      (e) => {
        done();
        reject(e);
      },
    );
  });
}

/**
 * Asks the master for the snapshot meta: up to `metaAttempts` failed requests (errors or
 * malformed answers) with exponential backoff between them; WAIT answers are waited out with
 * backoff and do not count, but may not last longer than `metaWaitTimeoutMs` in total.
 */
export async function fetchMetaWithRetry(
  transport: RsyncTransport,
  options: MetaOptions = {},
): Promise<MetaResult> {
  const maxAttempts = posInt(options.metaAttempts, 10);
  const waitLimit = options.metaWaitTimeoutMs !== undefined && options.metaWaitTimeoutMs >= 0
    ? options.metaWaitTimeoutMs
    : 10 * 60_000;
  const timeoutMs = options.metaRequestTimeoutMs ?? 120_000;
  const clock = options.clock ?? realClock;
  const sleep = options.sleep ?? realSleep;
  const signal = options.signal ?? new AbortController().signal;
  const started = clock();
  let attempts = 0;
  let waits = 0;
  for (;;) {
    if (signal.aborted) return { ok: false, attempts, cause: abortCause(signal) };
    let failure: Error;
    try {
      const reply = await guarded(
        () => transport.fetchMeta(signal),
        signal,
        timeoutMs,
        "meta request",
      );
      if (isMetaWait(reply)) {
        const waited = clock() - started;
        if (waited >= waitLimit) {
          return {
            ok: false,
            attempts,
            cause: new MetaWaitTimeoutError(waited, String(reply.reason)),
          };
        }
        waits++;
        try {
          await sleep(Math.min(backoffDelay(waits, options.backoff), waitLimit - waited), signal);
        } catch {
          return { ok: false, attempts, cause: abortCause(signal) };
        }
        continue;
      }
      const meta = validateSnapshotMeta(reply);
      if (!(meta instanceof Error)) return { ok: true, meta, attempts: attempts + 1 };
      failure = meta;
    } catch (e) {
      if (signal.aborted) return { ok: false, attempts, cause: abortCause(signal) };
      failure = toError(e);
    }
    attempts++;
    if (attempts >= maxAttempts) return { ok: false, attempts, cause: failure };
    try {
      await sleep(backoffDelay(attempts, options.backoff), signal);
    } catch {
      return { ok: false, attempts, cause: abortCause(signal) };
    }
  }
}

/** Size and CRC-32C (hex) of a file, read in 1 MiB steps. */
export async function hashFile(path: string): Promise<{ size: number; checksum: string }> {
  const fh = await Deno.open(path, { read: true });
  try {
    const crc = new Crc32c();
    const buf = new Uint8Array(1 << 20);
    for (;;) {
      const n = await fh.read(buf);
      if (n === null) break;
      crc.update(buf, 0, n);
    }
    return { size: crc.length, checksum: crc.hex() };
  } finally {
    fh.close();
  }
}

async function statOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

async function removeIfExists(path: string, recursive = false): Promise<void> {
  try {
    await Deno.remove(path, { recursive });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

/** fsync a directory so renames in it are durable (best effort where unsupported). */
async function syncDir(dir: string): Promise<void> {
  let fh: Deno.FsFile | undefined;
  try {
    fh = await Deno.open(dir, { read: true });
    await fh.sync();
  } catch {
    // Some platforms cannot fsync a directory; the data files themselves are synced.
  } finally {
    fh?.close();
  }
}

async function writeAll(fh: Deno.FsFile, data: Uint8Array): Promise<void> {
  let done = 0;
  while (done < data.length) done += await fh.write(data.subarray(done));
}

interface SyncState {
  version: 1;
  snapshotId: string;
}

async function readSyncState(destDir: string): Promise<SyncState | undefined> {
  try {
    const v = JSON.parse(await Deno.readTextFile(`${destDir}/${SYNC_STATE_NAME}`)) as unknown;
    if (
      typeof v === "object" && v !== null && (v as SyncState).version === 1 &&
      typeof (v as SyncState).snapshotId === "string"
    ) {
      return { version: 1, snapshotId: (v as SyncState).snapshotId };
    }
    return undefined;
  } catch {
    return undefined; // missing or unreadable: the directory's content is of unknown origin
  }
}

async function writeSyncState(destDir: string, state: SyncState): Promise<void> {
  const tmp = `${destDir}/${SYNC_STATE_NAME}.tmp`;
  const fh = await Deno.open(tmp, { write: true, create: true, truncate: true });
  try {
    await writeAll(fh, new TextEncoder().encode(JSON.stringify(state) + "\n"));
    await fh.sync();
  } finally {
    fh.close();
  }
  await Deno.rename(tmp, `${destDir}/${SYNC_STATE_NAME}`);
  await syncDir(destDir);
}

/**
 * Makes `destDir` hold only (parts of) this snapshot: kept as it is if its sync state names the
 * same snapshot id (minus stray entries), else wiped and restarted with a fresh sync state.
 */
async function prepareDestDir(destDir: string, meta: SnapshotMeta): Promise<void> {
  if (destDir === "" || destDir === "/") throw new Error(`refusing to use ${destDir} as destDir`);
  const state = await readSyncState(destDir);
  if (state !== undefined && state.snapshotId === meta.snapshotId) {
    const keep = new Set<string>([SYNC_STATE_NAME]);
    for (const f of meta.files) keep.add(f.name).add(f.name + PART_SUFFIX);
    for await (const e of Deno.readDir(destDir)) {
      if (!keep.has(e.name)) await removeIfExists(`${destDir}/${e.name}`, true);
    }
    return;
  }
  await removeIfExists(destDir, true);
  await Deno.mkdir(destDir, { recursive: true });
  await writeSyncState(destDir, { version: 1, snapshotId: meta.snapshotId });
}

/** Everything a file copy needs from the run it belongs to. */
interface Run {
  transport: RsyncTransport;
  meta: SnapshotMeta;
  destDir: string;
  throttle: Throttle | undefined;
  fileAttempts: number;
  chunkSize: number;
  backoff: Backoff | undefined;
  timeoutMs: number;
  sleep: Sleep;
  stop: AbortController;
  /** Set when the master stopped serving the snapshot. */
  changed: SnapshotChangedError | undefined;
  /** Verified offset of each file being copied. */
  offsets: Map<string, number>;
  bytesReceived: number;
  afterChunk: () => void;
}

/** One attempt at copying a file; throws on any failure. Returns nothing: success = renamed. */
async function copyAttempt(run: Run, f: SnapshotFileInfo, onBytes: (n: number) => void) {
  const final = `${run.destDir}/${f.name}`;
  const part = final + PART_SUFFIX;
  let offset = 0;
  const st = await statOrUndefined(part);
  if (st !== undefined) {
    if (st.size <= f.size) offset = st.size;
    else await removeIfExists(part);
  }
  const fh = await Deno.open(part, { write: true, create: true });
  try {
    await fh.truncate(offset);
    await fh.seek(offset, Deno.SeekMode.Start);
    run.offsets.set(f.name, offset);
    while (offset < f.size) {
      run.stop.signal.throwIfAborted();
      const len = Math.min(run.chunkSize, f.size - offset);
      if (run.throttle) await run.throttle.acquire(len, run.stop.signal);
      const at = offset;
      const reply = await guarded(
        () => run.transport.fetchChunk(run.meta.snapshotId, f.name, at, len, run.stop.signal),
        run.stop.signal,
        run.timeoutMs,
        `chunk request for ${f.name} at ${at}`,
      );
      const data = reply.data;
      if (!(data instanceof Uint8Array)) throw new Error(`chunk of ${f.name} carries no bytes`);
      onBytes(data.length);
      if (data.length > len) {
        throw new Error(`chunk of ${f.name} at ${at}: got ${data.length} bytes, asked ${len}`);
      }
      const crc = crcHex(crc32c(data));
      if (crc !== reply.checksum) throw new ChunkChecksumError(f.name, at, reply.checksum, crc);
      if (data.length === 0 && !reply.eof) {
        throw new Error(`chunk of ${f.name} at ${at}: no data before the end of the file`);
      }
      await writeAll(fh, data);
      offset += data.length;
      run.offsets.set(f.name, offset);
      run.afterChunk();
      if (reply.eof && offset !== f.size) {
        await fh.truncate(0);
        run.offsets.set(f.name, 0);
        throw new FileVerifyError(f.name, `master's file ends at ${offset}, meta says ${f.size}`);
      }
    }
    await fh.sync();
  } finally {
    fh.close();
  }
  const got = await hashFile(part);
  if (got.size !== f.size || got.checksum !== f.checksum) {
    await removeIfExists(part); // the bytes cannot be trusted: the next attempt starts from 0
    run.offsets.set(f.name, 0);
    throw new FileVerifyError(
      f.name,
      `copy has ${got.size} bytes, checksum ${got.checksum}; meta says ${f.size} bytes, ` +
        `checksum ${f.checksum}`,
    );
  }
  await Deno.rename(part, final);
  await syncDir(run.destDir);
}

/** Copies one file with bounded attempts; never throws. */
async function copyFile(run: Run, f: SnapshotFileInfo): Promise<FileResult> {
  let bytes = 0;
  const onBytes = (n: number) => {
    bytes += n;
    run.bytesReceived += n;
  };
  const stopped = (attempts: number): FileResult => ({
    ok: false,
    file: f.name,
    attempts,
    bytes,
    cause: run.changed ?? abortCause(run.stop.signal),
  });
  // A complete copy left by an earlier run of the same snapshot is reused once re-verified.
  const final = `${run.destDir}/${f.name}`;
  try {
    if (await statOrUndefined(final) !== undefined) {
      const got = await hashFile(final);
      if (got.size === f.size && got.checksum === f.checksum) {
        return { ok: true, file: f.name, attempts: 0, bytes: 0 };
      }
      await removeIfExists(final);
    }
  } catch {
    await removeIfExists(final).catch(() => {});
  }
  for (let attempt = 1;; attempt++) {
    if (run.stop.signal.aborted) return stopped(attempt - 1);
    try {
      await copyAttempt(run, f, onBytes);
      return { ok: true, file: f.name, attempts: attempt, bytes };
    } catch (e) {
      if (e instanceof SnapshotChangedError) {
        if (run.changed === undefined) run.changed = e;
        run.stop.abort(e);
        return { ok: false, file: f.name, attempts: attempt, bytes, cause: e };
      }
      if (run.stop.signal.aborted) return stopped(attempt);
      const cause = toError(e);
      if (attempt >= run.fileAttempts) {
        return { ok: false, file: f.name, attempts: attempt, bytes, cause };
      }
      try {
        await run.sleep(backoffDelay(attempt, run.backoff), run.stop.signal);
      } catch {
        return stopped(attempt);
      }
    }
  }
}

/**
 * Full sync of the files of the master's current snapshot into `options.destDir`. See the module
 * comment for the guarantees. Never throws: every outcome is a {@link FullSyncResult}.
 */
export async function fullSyncFiles(
  transport: RsyncTransport,
  options: FullSyncOptions,
): Promise<FullSyncResult> {
  const clock = options.clock ?? realClock;
  const sleep = options.sleep ?? realSleep;
  const startedAt = clock();
  const stop = new AbortController();
  const outer = options.signal;
  const onOuterAbort = () => stop.abort(outer?.reason);
  if (outer?.aborted) stop.abort(outer.reason);
  else outer?.addEventListener("abort", onOuterAbort, { once: true });
  try {
    const m = await fetchMetaWithRetry(transport, {
      ...options,
      clock,
      sleep,
      signal: stop.signal,
    });
    if (!m.ok) {
      return {
        ok: false,
        stage: stop.signal.aborted ? "aborted" : "meta",
        metaAttempts: m.attempts,
        files: [],
        cause: m.cause,
        failed: [],
      };
    }
    return await copyFiles(transport, options, m.meta, m.attempts, stop, clock, sleep, startedAt);
  } finally {
    outer?.removeEventListener("abort", onOuterAbort);
  }
}

async function copyFiles(
  transport: RsyncTransport,
  options: FullSyncOptions,
  meta: SnapshotMeta,
  metaAttempts: number,
  stop: AbortController,
  clock: Clock,
  sleep: Sleep,
  startedAt: number,
): Promise<FullSyncResult> {
  const snapshotId = meta.snapshotId;
  const names = meta.files.map((f) => f.name);
  try {
    await prepareDestDir(options.destDir, meta);
  } catch (e) {
    const cause = toError(e);
    return {
      ok: false,
      stage: "files",
      snapshotId,
      metaAttempts,
      files: names.map((file) => ({ ok: false, file, attempts: 0, bytes: 0, cause })),
      cause,
      failed: names,
    };
  }

  const parallelOpt = options.parallel;
  const parallelNow = (): number => {
    try {
      return posInt(typeof parallelOpt === "function" ? parallelOpt() : parallelOpt, 4);
    } catch {
      return 4;
    }
  };
  const bytesTotal = meta.files.reduce((s, f) => s + f.size, 0);
  const results = new Array<FileResult | undefined>(meta.files.length);
  const queue = meta.files.map((_, i) => i);
  const active = new Set<number>();
  let doneBytes = 0;
  let filesDone = 0;
  let pump = () => {};

  const report = () => {
    if (!options.onProgress) return;
    let inFlight = 0;
    const current: string[] = [];
    for (const i of active) {
      const name = meta.files[i]!.name;
      current.push(name);
      inFlight += run.offsets.get(name) ?? 0;
    }
    const elapsed = clock() - startedAt;
    try {
      options.onProgress({
        snapshotId,
        filesDone,
        filesTotal: meta.files.length,
        bytesDone: doneBytes + inFlight,
        bytesTotal,
        bytesReceived: run.bytesReceived,
        bytesPerSec: elapsed > 0 ? (run.bytesReceived * 1000) / elapsed : 0,
        current,
      });
    } catch {
      // A progress observer's failure must not affect the transfer.
    }
  };

  const run: Run = {
    transport,
    meta,
    destDir: options.destDir,
    throttle: options.throttle,
    fileAttempts: posInt(options.fileAttempts, 5),
    chunkSize: posInt(options.chunkSize, 1 << 20),
    backoff: options.backoff,
    timeoutMs: options.requestTimeoutMs ?? 30_000,
    sleep,
    stop,
    changed: undefined,
    offsets: new Map(),
    bytesReceived: 0,
    afterChunk: () => {
      report();
      pump(); // lets a raised `parallel` take effect without waiting for a file to finish
    },
  };

  await new Promise<void>((resolveAll) => {
    pump = () => {
      while (!stop.signal.aborted && queue.length > 0 && active.size < parallelNow()) {
        const i = queue.shift()!;
        const f = meta.files[i]!;
        active.add(i);
        copyFile(run, f).catch((e): FileResult => ({
          ok: false,
          file: f.name,
          attempts: 0,
          bytes: 0,
          cause: toError(e),
        })).then((r) => {
          results[i] = r;
          run.offsets.delete(f.name);
          if (r.ok) {
            filesDone++;
            doneBytes += f.size;
          }
          active.delete(i);
          report();
          pump();
        });
      }
      if (active.size === 0 && (queue.length === 0 || stop.signal.aborted)) resolveAll();
    };
    pump();
  });

  const notStarted = (file: string): FileResult => ({
    ok: false,
    file,
    attempts: 0,
    bytes: 0,
    cause: new Error(`not copied: ${(run.changed ?? abortCause(stop.signal)).message}`),
  });
  const files = meta.files.map((f, i) => results[i] ?? notStarted(f.name));
  const failed = files.filter((r) => !r.ok).map((r) => r.file);

  if (run.changed !== undefined) {
    // The copy belongs to a snapshot the master dropped: nothing of it may be used or resumed.
    await removeIfExists(options.destDir, true).catch(() => {});
    return {
      ok: false,
      stage: "snapshot-changed",
      snapshotId,
      metaAttempts,
      files,
      cause: run.changed,
      failed,
    };
  }
  if (stop.signal.aborted) {
    return {
      ok: false,
      stage: "aborted",
      snapshotId,
      metaAttempts,
      files,
      cause: abortCause(stop.signal),
      failed,
    };
  }
  const failures: Array<{ file: string; cause: Error; attempts: number }> = [];
  for (const r of files) {
    if (!r.ok) failures.push({ file: r.file, cause: r.cause, attempts: r.attempts });
  }
  if (failures.length > 0) {
    return {
      ok: false,
      stage: "files",
      snapshotId,
      metaAttempts,
      files,
      cause: new FullSyncFilesError(snapshotId, files.length, failures),
      failed,
    };
  }
  return {
    ok: true,
    snapshotId,
    meta,
    metaAttempts,
    files,
    bytes: run.bytesReceived,
    elapsedMs: clock() - startedAt,
  };
}
