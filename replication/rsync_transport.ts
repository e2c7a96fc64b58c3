/**
 * The full-sync transport over the master's ordinary port: `TSYNC SNAPMETA` and `TSYNC FILE`
 * on a small pool of connections (one per file copied in parallel).
 */
import { ReplyError } from "../engine/reply.ts";
import { latin1ToBytes } from "../server/resp_reader.ts";
import { MasterClient } from "./master_client.ts";
import {
  type ChunkReply,
  type MetaWait,
  type RsyncTransport,
  SnapshotChangedError,
  type SnapshotMeta,
} from "./rsync_types.ts";

/** Where and how to reach the master. */
export interface MasterAddress {
  host: string;
  port: number;
  /** `masterauth`, empty for none. */
  auth: string;
}

/** Opens a connection to the master and authenticates it. */
export async function connectToMaster(addr: MasterAddress): Promise<MasterClient> {
  const c = await MasterClient.connect({ host: addr.host, port: addr.port });
  if (addr.auth !== "") {
    const r = await c.call(["AUTH", addr.auth]);
    if (r instanceof ReplyError) {
      c.close();
      throw new Error(`master refused AUTH: ${r.message}`);
    }
  }
  return c;
}

export class TcpRsyncTransport implements RsyncTransport, AsyncDisposable {
  readonly #addr: MasterAddress;
  readonly #replicaId: string;
  readonly #idle: MasterClient[] = [];
  readonly #all = new Set<MasterClient>();

  constructor(addr: MasterAddress, replicaId: string) {
    this.#addr = addr;
    this.#replicaId = replicaId;
  }

  async #with<T>(fn: (c: MasterClient) => Promise<T>): Promise<T> {
    let c = this.#idle.pop();
    while (c !== undefined && c.isClosed) c = this.#idle.pop();
    if (c === undefined) {
      c = await connectToMaster(this.#addr);
      this.#all.add(c);
    }
    try {
      const v = await fn(c);
      this.#idle.push(c);
      return v;
    } catch (e) {
      // A connection that failed a request is not reused.
      c.close();
      this.#all.delete(c);
      throw e;
    }
  }

  fetchMeta(): Promise<SnapshotMeta | MetaWait> {
    return this.#with(async (c) => {
      const r = await c.call(
        ["TSYNC", "SNAPMETA", JSON.stringify({ id: this.#replicaId })],
        120_000,
      );
      if (r instanceof ReplyError) throw new Error(`master: ${r.message}`);
      if (typeof r !== "string") throw new Error("master sent a malformed snapshot meta");
      return JSON.parse(r) as SnapshotMeta | MetaWait;
    });
  }

  fetchChunk(
    snapshotId: string,
    file: string,
    offset: number,
    length: number,
  ): Promise<ChunkReply> {
    return this.#with(async (c) => {
      const r = await c.call(["TSYNC", "FILE", snapshotId, file, String(offset), String(length)]);
      if (r instanceof ReplyError) {
        throw SnapshotChangedError.fromMessage(r.message) ?? new Error(`master: ${r.message}`);
      }
      if (
        !Array.isArray(r) || r.length !== 3 || typeof r[0] !== "string" || typeof r[2] !== "string"
      ) {
        throw new Error("master sent a malformed chunk reply");
      }
      return { checksum: r[0], eof: r[1] === 1, data: latin1ToBytes(r[2]) };
    });
  }

  close(): void {
    for (const c of this.#all) c.close();
    this.#all.clear();
    this.#idle.length = 0;
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}
