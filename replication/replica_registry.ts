/**
 * The master's registry of replicas.
 *
 * Registering is an upsert: a replica the master already knows (it reconnected before the old
 * link was noticed dead) simply refreshes its entry, and the new connection replaces the old one,
 * which is closed. There is no "already exists" error, so nothing can loop on it.
 */
import type { Position } from "../engine/binlog.ts";

/** Where a replica is in its sync, as the master sees it. */
export type ReplicaSyncState = "metasync" | "full_sync" | "online";

/** Something the registry can close when a newer connection replaces it. */
export interface ReplicaLink {
  close(reason: string): void;
}

/** One known replica. */
export interface ReplicaEntry {
  id: string;
  host: string;
  port: number;
  state: ReplicaSyncState;
  /** Positions the replica acknowledged, per shard. */
  acked: Position[];
  /** Last time anything was heard from it (ms). */
  lastSeen: number;
  registeredAt: number;
  /** The connection streaming to it, if any. */
  link: ReplicaLink | undefined;
  /** Positions a full sync of this replica will continue from (pinned in the binlog). */
  pinned: Position[] | undefined;
  /** The snapshot a full sync of this replica copies (kept from pruning meanwhile). */
  snapshotId?: string;
  /** The id of the client connection that registered it. */
  clientId?: number;
}

export class ReplicaRegistry {
  readonly #entries = new Map<string, ReplicaEntry>();
  readonly #clock: () => number;

  constructor(clock: () => number = Date.now) {
    this.#clock = clock;
  }

  /**
   * Registers or refreshes `id`. Returns the entry and whether it was already known. An old link
   * is closed when a different one takes its place.
   */
  upsert(
    id: string,
    host: string,
    port: number,
    link: ReplicaLink | undefined,
  ): { entry: ReplicaEntry; known: boolean } {
    const now = this.#clock();
    const old = this.#entries.get(id);
    if (old) {
      if (old.link !== undefined && old.link !== link) {
        old.link.close("replaced by a new connection from the same replica");
      }
      old.host = host;
      old.port = port;
      old.link = link;
      old.lastSeen = now;
      old.state = "metasync";
      return { entry: old, known: true };
    }
    const entry: ReplicaEntry = {
      id,
      host,
      port,
      state: "metasync",
      acked: [],
      lastSeen: now,
      registeredAt: now,
      link,
      pinned: undefined,
    };
    this.#entries.set(id, entry);
    return { entry, known: false };
  }

  get(id: string): ReplicaEntry | undefined {
    return this.#entries.get(id);
  }

  /** Records that `id` was heard from. */
  touch(id: string): void {
    const e = this.#entries.get(id);
    if (e) e.lastSeen = this.#clock();
  }

  /** Drops `id` if `link` is still its current link (a replaced link's death changes nothing). */
  detach(id: string, link: ReplicaLink): void {
    const e = this.#entries.get(id);
    if (e && e.link === link) e.link = undefined;
  }

  /** Forgets `id` (its connection closed while it was not in a full sync). */
  remove(id: string): void {
    this.#entries.delete(id);
  }

  /** Forgets replicas silent for longer than `timeoutMs`; closes their links. */
  expire(timeoutMs: number): ReplicaEntry[] {
    const now = this.#clock();
    const gone: ReplicaEntry[] = [];
    for (const e of this.#entries.values()) {
      if (now - e.lastSeen > timeoutMs) {
        e.link?.close("replica timed out");
        this.#entries.delete(e.id);
        gone.push(e);
      }
    }
    return gone;
  }

  /** Every entry, oldest first. */
  entries(): ReplicaEntry[] {
    return [...this.#entries.values()];
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * For shard `shard`, the oldest position any replica still needs (acked, or pinned by a full
   * sync): binlog files holding it must not be purged.
   */
  oldestNeeded(shard: number): Position | undefined {
    let oldest: Position | undefined;
    for (const e of this.#entries.values()) {
      for (const p of [e.acked[shard], e.pinned?.[shard]]) {
        if (p === undefined) continue;
        if (
          oldest === undefined || p.file < oldest.file ||
          (p.file === oldest.file && p.offset < oldest.offset)
        ) {
          oldest = p;
        }
      }
    }
    return oldest;
  }
}
