/**
 * The data a shard owns: 16 databases of keys with optional expiry.
 *
 * Keys, string values, hash fields and set members are latin1 strings (one char per byte), so
 * they are binary safe and usable as Map keys.
 */
import { Deque } from "./deque.ts";
import { SortedSet } from "./sorted_set.ts";
import { WrongTypeError } from "./errors.ts";

/** Redis type names as TYPE reports them. */
export type RedisType = "string" | "hash" | "list" | "set" | "zset";

/** A stored value with its type tag. */
export type Entry =
  | { type: "string"; value: string }
  | { type: "hash"; value: Map<string, string> }
  | { type: "list"; value: Deque<string> }
  | { type: "set"; value: Set<string> }
  | { type: "zset"; value: SortedSet };

/** The value type that goes with each type tag. */
export interface TypeMap {
  string: string;
  hash: Map<string, string>;
  list: Deque<string>;
  set: Set<string>;
  zset: SortedSet;
}

/** Number of databases, as Redis' default `databases 16`. */
export const DB_COUNT = 16;

/** One numbered database. */
export class Db {
  readonly index: number;
  data: Map<string, Entry> = new Map();
  /** Absolute expiry times in ms for keys that have one. */
  expires: Map<string, number> = new Map();
  readonly #ks: Keyspace;

  constructor(index: number, ks: Keyspace) {
    this.index = index;
    this.#ks = ks;
  }

  /** The entry under `key`, or undefined when missing or expired (expired keys are removed). */
  get(key: string): Entry | undefined {
    const e = this.data.get(key);
    if (e === undefined) return undefined;
    if (this.expires.size !== 0) {
      const at = this.expires.get(key);
      if (at !== undefined && at <= this.#ks.now()) {
        this.#expire(key);
        return undefined;
      }
    }
    return e;
  }

  /** The value under `key` if it has `type`; undefined when missing; throws WRONGTYPE otherwise. */
  getTyped<T extends RedisType>(key: string, type: T): TypeMap[T] | undefined {
    const e = this.get(key);
    if (e === undefined) return undefined;
    if (e.type !== type) throw new WrongTypeError();
    return e.value as TypeMap[T];
  }

  /** True when `key` exists (and has not expired). */
  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** Stores `entry` under `key`, clearing any expiry unless `keepTtl`. */
  set(key: string, entry: Entry, keepTtl = false): void {
    this.data.set(key, entry);
    if (!keepTtl && this.expires.size !== 0) this.expires.delete(key);
  }

  /** Removes `key`. Returns true when it existed (and had not expired). */
  delete(key: string): boolean {
    if (this.get(key) === undefined) return false;
    this.data.delete(key);
    if (this.expires.size !== 0) this.expires.delete(key);
    return true;
  }

  /** Absolute expiry in ms, or undefined when the key has none. Call after checking existence. */
  expireAt(key: string): number | undefined {
    return this.expires.get(key);
  }

  /** Sets the absolute expiry of an existing key. */
  setExpireAt(key: string, atMs: number): void {
    this.expires.set(key, atMs);
  }

  /** Removes the expiry of `key`. Returns true when it had one. */
  persist(key: string): boolean {
    return this.expires.delete(key);
  }

  /** Number of keys, counting expired keys not yet removed (as Redis' DBSIZE does). */
  get size(): number {
    return this.data.size;
  }

  /** Live (non-expired) keys; expired keys met on the way are removed. */
  *keys(): IterableIterator<string> {
    const now = this.#ks.now();
    for (const key of this.data.keys()) {
      const at = this.expires.get(key);
      if (at !== undefined && at <= now) {
        this.#expire(key);
        continue;
      }
      yield key;
    }
  }

  /** Takes over `other`'s keys (and leaves it empty): installs a dataset loaded aside. */
  takeContents(other: Db): void {
    this.data = other.data;
    this.expires = other.expires;
    other.data = new Map();
    other.expires = new Map();
  }

  /** Drops every key. */
  clear(): void {
    this.data.clear();
    this.expires.clear();
  }

  /**
   * Active expiry: removes up to `budget` expired keys found among the keys with a TTL.
   * Returns how many were removed.
   */
  activeExpire(budget: number): number {
    if (this.expires.size === 0) return 0;
    const now = this.#ks.now();
    const dead: string[] = [];
    let seen = 0;
    for (const [key, at] of this.expires) {
      if (at <= now) dead.push(key);
      if (++seen >= budget * 4 || dead.length >= budget) break;
    }
    for (const key of dead) this.#expire(key);
    return dead.length;
  }

  #expire(key: string): void {
    this.data.delete(key);
    this.expires.delete(key);
    this.#ks.onExpired(this.index, key);
  }
}

/** Options for {@link Keyspace}. */
export interface KeyspaceOptions {
  /** Milliseconds since the epoch; injected so tests control expiry. */
  clock?: () => number;
  /** Random source in [0, 1); injected so tests are repeatable. */
  random?: () => number;
}

/** All databases of one shard. */
export class Keyspace {
  readonly dbs: Db[];
  readonly now: () => number;
  readonly random: () => number;
  /** Called when a key is removed because it expired (the binlog records it as a DEL). */
  onExpired: (db: number, key: string) => void = () => {};

  constructor(options: KeyspaceOptions = {}) {
    this.now = options.clock ?? Date.now;
    this.random = options.random ?? Math.random;
    this.dbs = Array.from({ length: DB_COUNT }, (_, i) => new Db(i, this));
  }

  db(index: number): Db {
    const db = this.dbs[index];
    if (db === undefined) throw new RangeError(`no database ${index}`);
    return db;
  }

  /** Total keys across databases. */
  get size(): number {
    let n = 0;
    for (const db of this.dbs) n += db.size;
    return n;
  }
}

/** A deep copy of an entry (COPY, cross-shard moves). */
export function cloneEntry(e: Entry): Entry {
  switch (e.type) {
    case "string":
      return { type: "string", value: e.value };
    case "hash":
      return { type: "hash", value: new Map(e.value) };
    case "list":
      return { type: "list", value: Deque.from(e.value) };
    case "set":
      return { type: "set", value: new Set(e.value) };
    case "zset":
      return { type: "zset", value: SortedSet.from(e.value.entries()) };
  }
}
