/**
 * The master side of the full-sync file transfer: serves the files of a snapshot directory
 * (`<dir>/snapshots/<id>/` with `manifest.json` and one file per shard) in bounded chunks, each
 * with its CRC-32C. Transport-agnostic: the server's internal replication commands call `meta()`
 * and `chunk()` and turn their answers (and errors) into replies.
 */

import { crc32c, crcHex } from "../engine/crc32.ts";
import {
  type ChunkReply,
  isSafeFileName,
  type MetaWait,
  type RsyncTransport,
  SnapshotChangedError,
  type SnapshotFileInfo,
  type SnapshotMeta,
  validateSnapshotMeta,
} from "./rsync_types.ts";

/** Largest chunk served, whatever the replica asks for. */
export const MAX_CHUNK_BYTES = 4 * 1024 * 1024;

/** Name of the manifest inside a snapshot directory. */
export const MANIFEST_NAME = "manifest.json";

/** Where the snapshot to offer is: a directory, or "still being produced". */
export type SnapshotSource = { dir: string } | MetaWait;

/**
 * Fault injection for tests: `meta` may return an error to throw from `meta()`; `chunk` may
 * return an error to throw, or "corrupt" to flip a byte of the data after its checksum was
 * computed (the replica must notice). Settable at any time through `server.faults`.
 */
export interface RsyncFaults {
  meta?: () => Error | undefined;
  chunk?: (file: string, offset: number) => Error | "corrupt" | undefined;
}

export interface RsyncServerOptions {
  /**
   * The snapshot directory to offer (fixed), or a function asked on every meta request (it may
   * start a snapshot and answer WAIT until it is ready).
   */
  source: string | (() => SnapshotSource | Promise<SnapshotSource>);
  /** Chunk size cap (default and maximum {@link MAX_CHUNK_BYTES}). */
  maxChunkBytes?: number;
  /**
   * Also transfer `manifest.json` itself (as the last file; its size and CRC are computed when
   * meta is asked), so the replica's copy is a complete snapshot directory. Default true.
   */
  includeManifest?: boolean;
  faults?: RsyncFaults;
}

/** A snapshot handed out by `meta()` and not retired since. */
interface Served {
  dir: string;
  files: Map<string, SnapshotFileInfo>;
}

export class RsyncServer {
  readonly #source: () => SnapshotSource | Promise<SnapshotSource>;
  readonly #maxChunk: number;
  readonly #includeManifest: boolean;
  readonly #served = new Map<string, Served>();
  faults: RsyncFaults;

  constructor(options: RsyncServerOptions) {
    const s = options.source;
    this.#source = typeof s === "string" ? () => ({ dir: s }) : s;
    const max = options.maxChunkBytes;
    this.#maxChunk = max !== undefined && Number.isSafeInteger(max) && max > 0
      ? Math.min(max, MAX_CHUNK_BYTES)
      : MAX_CHUNK_BYTES;
    this.#includeManifest = options.includeManifest ?? true;
    this.faults = options.faults ?? {};
  }

  /** The largest chunk this server returns. */
  get maxChunkBytes(): number {
    return this.#maxChunk;
  }

  /** Snapshot ids currently served to `chunk()`. */
  get servedIds(): string[] {
    return [...this.#served.keys()];
  }

  /**
   * Describes the current snapshot: reads its manifest, checks every file exists with the size
   * the manifest gives, and from then on serves its chunks. Answers WAIT while the source says
   * the snapshot is being produced. Throws if the snapshot is missing or damaged.
   */
  async meta(): Promise<SnapshotMeta | MetaWait> {
    const fault = this.faults.meta?.();
    if (fault) throw fault;
    const src = await this.#source();
    if ("wait" in src) return { wait: true, reason: src.reason };
    const dir = src.dir;
    let raw: Uint8Array;
    try {
      raw = await Deno.readFile(`${dir}/${MANIFEST_NAME}`);
    } catch (e) {
      throw new Error(`snapshot at ${dir} has no readable manifest: ${(e as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(raw));
    } catch (e) {
      throw new Error(`snapshot manifest at ${dir} is not valid JSON: ${(e as Error).message}`);
    }
    const m = parsed as Record<string, unknown> | null;
    const meta = validateSnapshotMeta(
      typeof m === "object" && m !== null
        ? { snapshotId: m.id, files: m.files, positions: m.positions }
        : undefined,
    );
    if (meta instanceof Error) {
      throw new Error(`snapshot manifest at ${dir} is not valid: ${meta.message}`);
    }
    for (const f of meta.files) {
      if (f.name === MANIFEST_NAME) {
        throw new Error(`snapshot manifest at ${dir} lists itself`);
      }
      let size: number;
      try {
        size = (await Deno.stat(`${dir}/${f.name}`)).size;
      } catch (e) {
        throw new Error(`snapshot ${meta.snapshotId} misses ${f.name}: ${(e as Error).message}`);
      }
      if (size !== f.size) {
        throw new Error(
          `snapshot ${meta.snapshotId}: ${f.name} has ${size} bytes, manifest says ${f.size}`,
        );
      }
    }
    const files = meta.files.slice();
    if (this.#includeManifest) {
      files.push({ name: MANIFEST_NAME, size: raw.length, checksum: crcHex(crc32c(raw)) });
    }
    this.#served.set(meta.snapshotId, { dir, files: new Map(files.map((f) => [f.name, f])) });
    return { snapshotId: meta.snapshotId, files, positions: meta.positions };
  }

  /** Stops serving a snapshot id (its chunks then fail with SnapshotChangedError). */
  retire(snapshotId: string): void {
    this.#served.delete(snapshotId);
  }

  /**
   * Reads up to `length` bytes (capped at the chunk limit) of `file` from `offset`. Throws
   * SnapshotChangedError if `snapshotId` is not (or no longer) served, an error for an unknown
   * file or a bad range.
   */
  async chunk(
    snapshotId: string,
    file: string,
    offset: number,
    length: number,
  ): Promise<ChunkReply> {
    const served = this.#served.get(snapshotId);
    if (!served) throw new SnapshotChangedError(snapshotId);
    if (!isSafeFileName(file)) throw new Error(`file name not allowed: ${JSON.stringify(file)}`);
    const info = served.files.get(file);
    if (!info) throw new Error(`no file ${file} in snapshot ${snapshotId}`);
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > info.size) {
      throw new RangeError(`offset ${offset} out of range for ${file} (${info.size} bytes)`);
    }
    if (!Number.isSafeInteger(length) || length <= 0) {
      throw new RangeError(`chunk length must be a positive integer, got ${length}`);
    }
    const fault = this.faults.chunk?.(file, offset);
    if (fault instanceof Error) throw fault;
    const want = Math.min(length, this.#maxChunk, info.size - offset);
    const data = new Uint8Array(want);
    if (want > 0) {
      let fh: Deno.FsFile;
      try {
        fh = await Deno.open(`${served.dir}/${file}`, { read: true });
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) {
          this.#served.delete(snapshotId);
          throw new SnapshotChangedError(snapshotId, "was removed from the master");
        }
        throw e;
      }
      try {
        await fh.seek(offset, Deno.SeekMode.Start);
        let got = 0;
        while (got < want) {
          const n = await fh.read(data.subarray(got));
          if (n === null) {
            throw new Error(`${file} of snapshot ${snapshotId} is shorter than its manifest says`);
          }
          got += n;
        }
      } finally {
        fh.close();
      }
    }
    const checksum = crcHex(crc32c(data));
    if (fault === "corrupt" && data.length > 0) {
      const at = data.length >> 1;
      data[at] = data[at]! ^ 0x5a;
    }
    return { data, eof: offset + want === info.size, checksum };
  }
}

/** A transport calling a server in the same process (tests, and a local full sync). */
export function directTransport(server: RsyncServer): RsyncTransport {
  return {
    fetchMeta: () => server.meta(),
    fetchChunk: (snapshotId, file, offset, length) =>
      server.chunk(snapshotId, file, offset, length),
  };
}
