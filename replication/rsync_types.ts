/**
 * Types of the full-sync file transfer ("rsync", after Pika's name for it).
 *
 * Every result below is a discriminated union built explicitly by the code path that knows the
 * outcome: there is no default value that could mean OK (Pika #2299 returned a status left over
 * from waiting, which read as success after every meta request had failed).
 */

/** One file of a snapshot, as the master's manifest lists it. */
export interface SnapshotFileInfo {
  /** A plain file name inside the snapshot directory (never a path). */
  name: string;
  /** Size in bytes. */
  size: number;
  /** CRC-32C of the whole file as 8 lower-case hex digits (`crcHex(crc32c(bytes))`). */
  checksum: string;
}

/** What the master says about the snapshot it serves. */
export interface SnapshotMeta {
  snapshotId: string;
  files: SnapshotFileInfo[];
  /** Replication positions at the snapshot point; opaque here, passed through untouched. */
  positions: unknown;
}

/** The master is still producing a snapshot: ask again later. Not a failure. */
export interface MetaWait {
  wait: true;
  reason: string;
}

/** Outcome of the meta stage (bounded attempts; WAIT answers are not attempts). */
export type MetaResult =
  | { ok: true; meta: SnapshotMeta; attempts: number }
  | { ok: false; attempts: number; cause: Error };

/** Outcome of copying one file. `bytes` counts bytes received for it in this run. */
export type FileResult =
  | { ok: true; file: string; attempts: number; bytes: number }
  | { ok: false; file: string; attempts: number; bytes: number; cause: Error };

/** Why a full sync did not complete. */
export type FullSyncFailureStage = "meta" | "files" | "snapshot-changed" | "aborted";

/**
 * Outcome of a whole full sync. OK only when the meta stage succeeded and every file's result is
 * OK (size and checksum verified, renamed into place).
 */
export type FullSyncResult =
  | {
    ok: true;
    snapshotId: string;
    /** The meta the files were verified against (carries the opaque `positions`). */
    meta: SnapshotMeta;
    metaAttempts: number;
    /** One result per file of the snapshot, in the master's order. */
    files: FileResult[];
    /** Bytes received in this run (files reused from an earlier run count 0). */
    bytes: number;
    elapsedMs: number;
  }
  | {
    ok: false;
    stage: FullSyncFailureStage;
    snapshotId?: string;
    metaAttempts: number;
    /** One result per file when the file stage was reached; empty otherwise. */
    files: FileResult[];
    cause: Error;
    /** Names of the files whose result is not OK. */
    failed: string[];
  };

/** One chunk of a snapshot file. */
export interface ChunkReply {
  data: Uint8Array;
  /** True when `data` ends at the end of the file. */
  eof: boolean;
  /** CRC-32C of `data` as 8 lower-case hex digits. */
  checksum: string;
}

/**
 * How the replica talks to the master. Both calls may throw (network errors, error replies,
 * timeouts); `fetchChunk` throws {@link SnapshotChangedError} when the master no longer serves
 * that snapshot id. `signal` aborts an in-flight request (optional for a transport to honour).
 */
export interface RsyncTransport {
  fetchMeta(signal?: AbortSignal): Promise<SnapshotMeta | MetaWait>;
  fetchChunk(
    snapshotId: string,
    file: string,
    offset: number,
    length: number,
    signal?: AbortSignal,
  ): Promise<ChunkReply>;
}

/**
 * The master does not serve the requested snapshot id (any more). On the wire this is an error
 * reply whose first word is {@link SnapshotChangedError.code}; a transport maps it back with
 * {@link SnapshotChangedError.fromMessage}.
 */
export class SnapshotChangedError extends Error {
  static readonly code = "SNAPCHANGED";
  readonly snapshotId: string;

  constructor(snapshotId: string, detail = "is not served by the master any more") {
    super(`${SnapshotChangedError.code} snapshot ${snapshotId} ${detail}`);
    this.name = "SnapshotChangedError";
    this.snapshotId = snapshotId;
  }

  /** Rebuilds the error from an error reply's text, or undefined if it is another error. */
  static fromMessage(message: string): SnapshotChangedError | undefined {
    const m = /^SNAPCHANGED snapshot (\S+) (.*)$/s.exec(message);
    return m ? new SnapshotChangedError(m[1]!, m[2]!) : undefined;
  }
}

/** The master kept answering WAIT (snapshot in progress) for longer than allowed. */
export class MetaWaitTimeoutError extends Error {
  constructor(waitedMs: number, reason: string) {
    super(`master still preparing the snapshot after ${Math.round(waitedMs)} ms: ${reason}`);
    this.name = "MetaWaitTimeoutError";
  }
}

/** A request to the master took longer than the request timeout. */
export class RsyncTimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`${what} timed out after ${ms} ms`);
    this.name = "RsyncTimeoutError";
  }
}

/** A chunk's CRC-32C does not match the data received. */
export class ChunkChecksumError extends Error {
  constructor(file: string, offset: number, expected: string, actual: string) {
    super(`chunk of ${file} at offset ${offset}: checksum ${actual}, master said ${expected}`);
    this.name = "ChunkChecksumError";
  }
}

/** A copied file's size or CRC-32C does not match the manifest. */
export class FileVerifyError extends Error {
  constructor(file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.name = "FileVerifyError";
  }
}

/** Some files of a full sync failed: lists `name: cause` for each. */
export class FullSyncFilesError extends AggregateError {
  readonly failures: ReadonlyArray<{ file: string; cause: Error; attempts?: number }>;

  constructor(
    snapshotId: string,
    total: number,
    failures: Array<{ file: string; cause: Error; attempts?: number }>,
  ) {
    const list = failures.map((f) =>
      `${f.file}: ${f.cause.message}` +
      (f.attempts !== undefined ? ` (${f.attempts} attempts)` : "")
    ).join("; ");
    super(
      failures.map((f) => f.cause),
      `full sync of snapshot ${snapshotId}: ${failures.length} of ${total} files failed: ${list}`,
    );
    this.name = "FullSyncFilesError";
    this.failures = failures;
  }
}

/** Turns anything thrown into an Error (an abort reason may be a DOMException or a string). */
export function toError(e: unknown): Error {
  if (e instanceof Error) return e;
  if (typeof DOMException !== "undefined" && e instanceof DOMException) {
    const err = new Error(e.message);
    err.name = e.name;
    return err;
  }
  return new Error(String(e));
}

/** Names that can never be a snapshot file: they are the replica's own bookkeeping. */
const RESERVED = /\.part$|^sync-state\.json/;

/**
 * A snapshot file name is a single plain path component: letters, digits, `.`, `_`, `-`, not
 * starting with `.` (so no `..`, no hidden files, no separators, no NUL), at most 200 chars,
 * not one of the replica's bookkeeping names.
 */
export function isSafeFileName(name: unknown): name is string {
  return typeof name === "string" && name.length <= 200 &&
    /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(name) && !RESERVED.test(name);
}

const HEX8 = /^[0-9a-f]{8}$/;

/**
 * Checks that a value received as meta is well formed: a non-empty snapshot id, file names safe
 * and unique, sizes non-negative safe integers, checksums 8 lower-case hex digits. Returns a
 * fresh object (only the known fields) or the reason it is not valid.
 */
export function validateSnapshotMeta(value: unknown): SnapshotMeta | Error {
  if (typeof value !== "object" || value === null) return new Error("meta is not an object");
  const v = value as Record<string, unknown>;
  if (typeof v.snapshotId !== "string" || v.snapshotId === "" || v.snapshotId.length > 200) {
    return new Error("meta has no valid snapshot id");
  }
  if (!Array.isArray(v.files)) return new Error("meta has no file list");
  const files: SnapshotFileInfo[] = [];
  const seen = new Set<string>();
  for (const f of v.files as unknown[]) {
    if (typeof f !== "object" || f === null) return new Error("meta file entry is not an object");
    const e = f as Record<string, unknown>;
    if (!isSafeFileName(e.name)) return new Error(`meta file name not allowed: ${String(e.name)}`);
    if (seen.has(e.name)) return new Error(`meta lists ${e.name} twice`);
    seen.add(e.name);
    if (typeof e.size !== "number" || !Number.isSafeInteger(e.size) || e.size < 0) {
      return new Error(`meta size of ${e.name} is not valid`);
    }
    if (typeof e.checksum !== "string" || !HEX8.test(e.checksum)) {
      return new Error(`meta checksum of ${e.name} is not valid`);
    }
    files.push({ name: e.name, size: e.size, checksum: e.checksum });
  }
  return { snapshotId: v.snapshotId, files, positions: v.positions };
}

/** True for a `{ wait: true }` answer to a meta request. */
export function isMetaWait(value: unknown): value is MetaWait {
  return typeof value === "object" && value !== null && (value as { wait?: unknown }).wait === true;
}
