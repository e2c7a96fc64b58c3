/**
 * What a node remembers about replication across restarts: its replication ids and, for a
 * replica, its master's address. Stored as `<dir>/replication.json`, replaced atomically.
 */

/** Persisted replication identity. */
export interface ReplicationIdentity {
  /** This node's replication id (a replica adopts its master's). */
  replid: string;
  /** The previous id after a promotion, so old siblings can continue incrementally. */
  replid2: string;
  /** The master to follow, or null for a master. */
  master: { host: string; port: number } | null;
  /** A stable id for this node as a replica (the master's registry key). */
  nodeId: string;
}

/** A random 40-hex-digit id, like Redis' run ids. */
export function randomId(): string {
  const b = crypto.getRandomValues(new Uint8Array(20));
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

function path(dir: string): string {
  return `${dir}/replication.json`;
}

/** Loads the identity from `dir`, creating a fresh one when there is none. */
export function loadIdentity(dir: string | undefined): ReplicationIdentity {
  const fresh: ReplicationIdentity = {
    replid: randomId(),
    replid2: "0000000000000000000000000000000000000000",
    master: null,
    nodeId: randomId(),
  };
  if (dir === undefined) return fresh;
  try {
    const parsed = JSON.parse(Deno.readTextFileSync(path(dir))) as Partial<ReplicationIdentity>;
    return {
      replid: typeof parsed.replid === "string" ? parsed.replid : fresh.replid,
      replid2: typeof parsed.replid2 === "string" ? parsed.replid2 : fresh.replid2,
      master: parsed.master && typeof parsed.master.host === "string" &&
          typeof parsed.master.port === "number"
        ? { host: parsed.master.host, port: parsed.master.port }
        : null,
      nodeId: typeof parsed.nodeId === "string" ? parsed.nodeId : fresh.nodeId,
    };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      saveIdentity(dir, fresh);
      return fresh;
    }
    throw new Error(`cannot read ${path(dir)}: ${e instanceof Error ? e.message : e}`, {
      cause: e,
    });
  }
}

/** Writes the identity atomically (temp file, fsync, rename). */
export function saveIdentity(dir: string | undefined, id: ReplicationIdentity): void {
  if (dir === undefined) return;
  Deno.mkdirSync(dir, { recursive: true });
  const tmp = `${path(dir)}.tmp`;
  const f = Deno.openSync(tmp, { write: true, create: true, truncate: true });
  try {
    f.writeSync(new TextEncoder().encode(JSON.stringify(id, null, 2)));
    f.syncSync();
  } finally {
    f.close();
  }
  Deno.renameSync(tmp, path(dir));
}
