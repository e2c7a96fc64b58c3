/**
 * Blocking commands: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BZPOPMIN, BZPOPMAX, and CLIENT UNBLOCK.
 *
 * A blocking command first tries its non-blocking form on the shards. If there is nothing to
 * take, the client waits here, on the main thread, in a FIFO per key; any write to one of its
 * keys (from any connection, any shard) makes the waiters retry in the order they blocked. The
 * client's later requests are held until it is served, times out, or is unblocked. Inside
 * MULTI/EXEC nothing blocks.
 */
import { tryParseFloat } from "../engine/args.ts";
import { CommandError } from "../engine/errors.ts";
import type { CommandFlag } from "../engine/command.ts";
import type { ReplySlot } from "../workers/shard_pool.ts";
import type { Client } from "./client.ts";
import type { Router } from "./router.ts";
import { parseScore } from "../engine/commands/zsets.ts";
import { latin1ToBytes } from "./resp_reader.ts";

interface Waiter {
  client: Client;
  slot: ReplySlot;
  /** "db\0key" ids it waits on. */
  ids: string[];
  /** The attempt once woken by a write to `key`: it takes from that key only, as Redis does. */
  retryArgs: (key: string) => string[];
  timer: ReturnType<typeof setTimeout> | undefined;
  /** An attempt is in flight. */
  retrying: boolean;
  /** Keys written since the last attempt began, in the order they were written. */
  ready: string[];
  timedOut: boolean;
  done: boolean;
}

/** True for a null reply (RESP2 `$-1`/`*-1`, RESP3 `_`). */
function isNull(b: Uint8Array): boolean {
  return (b[0] === 0x2a || b[0] === 0x24) && b[1] === 0x2d || b[0] === 0x5f;
}

/**
 * Parses a blocking timeout in seconds into ms (0 = forever) as Redis 7.0 does: the float is
 * rounded up to whole ms (so 0.0001 waits 1 ms and -0.0001 means forever), and a value beyond
 * the 64-bit range (inf included) wraps to a negative one.
 */
export function parseTimeout(s: string): number {
  // strtold as Redis uses it: decimal, and hex floats too ("0x1").
  const secs = tryParseFloat(s) ?? (/^[+-]?0x/i.test(s) ? parseScore(s) : undefined);
  if (secs === undefined) throw new CommandError("timeout is not a float or out of range");
  const ms = Math.ceil(secs * 1000);
  if (!(ms > -(2 ** 63) && ms < 2 ** 63) || ms < 0) {
    throw new CommandError("timeout is negative");
  }
  if (ms > 2 ** 63 - 1 - Date.now()) throw new CommandError("timeout is out of range");
  return ms + 0; // no -0
}

/** The longest delay a timer takes (longer ones fire at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class Blocking {
  readonly #router: Router;
  readonly #byKey = new Map<string, Waiter[]>();
  readonly #byClient = new Map<Client, Waiter>();

  constructor(router: Router) {
    this.#router = router;
    router.blocking = this;
    router.writeListeners.push((_c, name, refs) => {
      // Our own attempts do not wake anyone: one that takes nothing changes nothing (waking the
      // other waiters of its keys would make them retry each other forever), and one that moves
      // an element wakes its destination itself (see #attempt).
      if (this.#byKey.size === 0 || this.#attempting) return;
      if (name === "flushall" || name === "flushdb") return; // nothing to pop after a flush
      for (const [db, key] of refs()) this.#wake(`${db}\0${key}`);
    });
    router.closeListeners.push((c) => {
      const w = this.#byClient.get(c);
      if (w) this.#finish(w, undefined);
    });
    this.#register();
  }

  /** Set while one of our attempts is dispatched. */
  #attempting = false;

  /**
   * Runs a non-blocking attempt for `c`. When it moved an element (BLMOVE, BRPOPLPUSH), the
   * clients waiting on the destination are woken.
   */
  #attempt(c: Client, tryArgs: string[]): Promise<Uint8Array> {
    this.#attempting = true;
    let p: Promise<Uint8Array>;
    try {
      p = this.#router.execInternal(c, tryArgs);
    } finally {
      this.#attempting = false;
    }
    if (tryArgs[0] !== "LMOVE" && tryArgs[0] !== "RPOPLPUSH") return p;
    const dst = `${c.db}\0${tryArgs[2]}`;
    return p.then((bytes) => {
      if (!isNull(bytes) && bytes[0] !== 0x2d) this.#wake(dst);
      return bytes;
    });
  }

  /** Clients currently blocked. */
  get blockedClients(): number {
    return this.#byClient.size;
  }

  #register(): void {
    const flags: CommandFlag[] = ["write", "blocking"];
    const add = (
      name: string,
      arity: number,
      lastKey: number,
      build: (args: string[]) => {
        keys: string[];
        tryArgs: string[];
        retryArgs: (key: string) => string[];
        emptyInMulti: "array" | "bulk";
      },
    ) =>
      this.#router.addCommand({
        name,
        arity,
        flags,
        firstKey: 1,
        lastKey,
        step: 1,
        run: (r, c, args, slot) => {
          let timeoutMs: number;
          let spec;
          try {
            timeoutMs = parseTimeout(
              args[args.length === 6 && name === "blmove" ? 5 : args.length - 1]!,
            );
            spec = build(args);
          } catch (e) {
            return r.reply(c, slot, () => {
              throw e;
            });
          }
          this.#start(c, slot, spec, timeoutMs);
        },
      });
    const pop = (dir: "LEFT" | "RIGHT") => (args: string[]) => ({
      keys: args.slice(1, -1),
      tryArgs: ["__bpop", dir, ...args.slice(1, -1)],
      retryArgs: (key: string) => ["__bpop", dir, key],
      emptyInMulti: "array" as const,
    });
    add("blpop", -3, -2, pop("LEFT"));
    add("brpop", -3, -2, pop("RIGHT"));
    const zpop = (end: "MIN" | "MAX") => (args: string[]) => ({
      keys: args.slice(1, -1),
      tryArgs: ["__bzpop", end, ...args.slice(1, -1)],
      retryArgs: (key: string) => ["__bzpop", end, key],
      emptyInMulti: "array" as const,
    });
    add("bzpopmin", -3, -2, zpop("MIN"));
    add("bzpopmax", -3, -2, zpop("MAX"));
    add("brpoplpush", 4, 2, (args) => {
      const tryArgs = ["RPOPLPUSH", args[1]!, args[2]!];
      return { keys: [args[1]!], tryArgs, retryArgs: () => tryArgs, emptyInMulti: "bulk" };
    });
    add("blmove", 6, 2, (args) => {
      const from = args[3]!.toUpperCase();
      const to = args[4]!.toUpperCase();
      if ((from !== "LEFT" && from !== "RIGHT") || (to !== "LEFT" && to !== "RIGHT")) {
        throw new CommandError("syntax error");
      }
      const tryArgs = ["LMOVE", args[1]!, args[2]!, from, to];
      return { keys: [args[1]!], tryArgs, retryArgs: () => tryArgs, emptyInMulti: "bulk" };
    });
  }

  #start(
    c: Client,
    slot: ReplySlot,
    spec: {
      keys: string[];
      tryArgs: string[];
      retryArgs: (key: string) => string[];
      emptyInMulti: "array" | "bulk";
    },
    timeoutMs: number,
  ): void {
    const r = this.#router;
    const nullReply = (kind: "array" | "bulk") =>
      latin1ToBytes(c.proto === 3 ? "_\r\n" : kind === "array" ? "*-1\r\n" : "$-1\r\n");
    const inExec = c.inExec;
    if (inExec) {
      this.#attempt(c, spec.tryArgs).then(
        (bytes) => this.#fill(slot, isNull(bytes) ? nullReply(spec.emptyInMulti) : bytes),
        (e) => r.replyError(slot, `ERR ${e instanceof Error ? e.message : e}`),
      );
      return;
    }
    // The client's later requests wait until this one is answered, as in Redis (which does not
    // read a blocked client's input): they must not run before the attempt, nor while it waits.
    r.pause(c);
    // Listed under its keys while the first attempt is in flight, so that a write landing after
    // the attempt but before its answer is not missed (it makes the client retry at once).
    const w: Waiter = {
      client: c,
      slot,
      ids: spec.keys.map((k) => `${c.db}\0${k}`),
      retryArgs: spec.retryArgs,
      timer: undefined,
      retrying: true,
      ready: [],
      timedOut: false,
      done: false,
    };
    for (const id of w.ids) {
      let list = this.#byKey.get(id);
      if (!list) this.#byKey.set(id, list = []);
      list.push(w);
    }
    this.#attempt(c, spec.tryArgs).then((bytes) => {
      w.retrying = false;
      // Taken at once, an error, or the client went away meanwhile (resume then drops what it
      // sent after this).
      if (!isNull(bytes)) return this.#finish(w, bytes);
      if (c.closing || r.clients.get(c.id) !== c) return this.#finish(w, undefined);
      // Nothing to take: block.
      this.#byClient.set(c, w);
      if (timeoutMs > 0) {
        const deadline = Date.now() + timeoutMs;
        const arm = () => {
          const left = deadline - Date.now();
          w.timer = setTimeout(() => {
            if (left > MAX_TIMER_MS) return arm();
            w.timedOut = true;
            if (!w.retrying) this.#finish(w, nullReply("array"));
          }, Math.min(left, MAX_TIMER_MS));
        };
        arm();
      }
      this.#retry(w);
    }, (e) => {
      w.retrying = false;
      this.#finish(w, latin1ToBytes(`-ERR ${e instanceof Error ? e.message : e}\r\n`));
    });
  }

  #fill(slot: ReplySlot, bytes: Uint8Array): void {
    slot.data = bytes;
    slot.owner.slotReady();
  }

  /**
   * A key some clients wait on was written: they retry on that key, first blocked first (a
   * client whose attempt is in flight tries it next).
   */
  #wake(id: string): void {
    const list = this.#byKey.get(id);
    if (!list) return;
    const key = id.slice(id.indexOf("\0") + 1);
    for (const w of [...list]) {
      if (w.done) continue;
      if (!w.ready.includes(key)) w.ready.push(key);
      if (!w.retrying) this.#retry(w);
    }
  }

  /** Tries the next ready key of `w`. */
  #retry(w: Waiter): void {
    const key = w.ready.shift();
    if (key === undefined || w.done) return;
    w.retrying = true;
    const onResult = (bytes: Uint8Array) => {
      w.retrying = false;
      if (w.done) return;
      // An error now (the key became another type) leaves the client waiting, as in Redis 7.0.
      if (!isNull(bytes) && bytes[0] !== 0x2d) return this.#finish(w, bytes);
      if (w.timedOut) {
        return this.#finish(w, latin1ToBytes(w.client.proto === 3 ? "_\r\n" : "*-1\r\n"));
      }
      this.#retry(w);
    };
    const onError = (e: unknown) => {
      w.retrying = false;
      this.#finish(w, latin1ToBytes(`-ERR ${e instanceof Error ? e.message : e}\r\n`));
    };
    // Not while another command holds the gate (it may be half applied); the check and the
    // dispatch happen in the same turn so no gate can close in between.
    this.#router.whenOpen(() => this.#attempt(w.client, w.retryArgs(key)).then(onResult, onError));
  }

  /** Unblocks `w` with `reply` (undefined: the client is gone, nothing to send). */
  #finish(w: Waiter, reply: Uint8Array | undefined): void {
    if (w.done) return;
    w.done = true;
    clearTimeout(w.timer);
    for (const id of w.ids) {
      const list = this.#byKey.get(id);
      if (!list) continue;
      const i = list.indexOf(w);
      if (i !== -1) list.splice(i, 1);
      if (list.length === 0) this.#byKey.delete(id);
    }
    this.#byClient.delete(w.client);
    if (reply !== undefined) this.#fill(w.slot, reply);
    this.#router.resume(w.client);
  }

  /**
   * CLIENT UNBLOCK: ends `client`'s wait as a timeout would, or with an UNBLOCKED error.
   * Returns false when the client is not blocked.
   */
  unblock(client: Client, withError: boolean): boolean {
    const w = this.#byClient.get(client);
    if (w === undefined) return false;
    this.#finish(
      w,
      latin1ToBytes(
        withError
          ? "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
          : client.proto === 3
          ? "_\r\n"
          : "*-1\r\n",
      ),
    );
    return true;
  }
}
