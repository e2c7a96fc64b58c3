/**
 * Blocking commands: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BZPOPMIN, BZPOPMAX, and CLIENT UNBLOCK.
 *
 * A blocking command first tries its non-blocking form on the shards. If there is nothing to
 * take, the client waits here, on the main thread, in a FIFO per key; any write to one of its
 * keys (from any connection, any shard) makes the waiters retry in the order they blocked. The
 * client's later requests are held until it is served, times out, or is unblocked. Inside
 * MULTI/EXEC nothing blocks.
 */
import { parseFloatArg } from "../engine/args.ts";
import { CommandError } from "../engine/errors.ts";
import type { CommandFlag } from "../engine/command.ts";
import type { ReplySlot } from "../workers/shard_pool.ts";
import type { Client } from "./client.ts";
import type { Router } from "./router.ts";
import { latin1ToBytes } from "./resp_reader.ts";

interface Waiter {
  client: Client;
  slot: ReplySlot;
  /** "db\0key" ids it waits on. */
  ids: string[];
  /** The non-blocking attempt. */
  tryArgs: string[];
  timer: ReturnType<typeof setTimeout> | undefined;
  retrying: boolean;
  /** A write came while an attempt was in flight: try again when it returns empty. */
  again: boolean;
  timedOut: boolean;
  done: boolean;
}

/** True for a null reply (RESP2 `$-1`/`*-1`, RESP3 `_`). */
function isNull(b: Uint8Array): boolean {
  return (b[0] === 0x2a || b[0] === 0x24) && b[1] === 0x2d || b[0] === 0x5f;
}

/** Parses a blocking timeout in seconds (Redis: a float, not negative) into ms (0 = forever). */
export function parseTimeout(s: string): number {
  let secs: number;
  try {
    secs = parseFloatArg(s);
  } catch {
    throw new CommandError("timeout is not a float or out of range");
  }
  if (!Number.isFinite(secs)) throw new CommandError("timeout is not a float or out of range");
  if (secs < 0) throw new CommandError("timeout is negative");
  return Math.round(secs * 1000);
}

export class Blocking {
  readonly #router: Router;
  readonly #byKey = new Map<string, Waiter[]>();
  readonly #byClient = new Map<Client, Waiter>();

  constructor(router: Router) {
    this.#router = router;
    router.blocking = this;
    router.writeListeners.push((_c, name, refs) => {
      if (this.#byKey.size === 0) return;
      if (name === "flushall" || name === "flushdb") return; // nothing to pop after a flush
      for (const [db, key] of refs) this.#wake(`${db}\0${key}`);
    });
    router.closeListeners.push((c) => {
      const w = this.#byClient.get(c);
      if (w) this.#finish(w, undefined);
    });
    this.#register();
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
      build: (
        args: string[],
      ) => { keys: string[]; tryArgs: string[]; emptyInMulti: "array" | "bulk" },
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
          this.#start(c, slot, spec.keys, spec.tryArgs, timeoutMs, spec.emptyInMulti);
        },
      });
    const pop = (dir: "LEFT" | "RIGHT") => (args: string[]) => ({
      keys: args.slice(1, -1),
      tryArgs: ["__bpop", dir, ...args.slice(1, -1)],
      emptyInMulti: "array" as const,
    });
    add("blpop", -3, -2, pop("LEFT"));
    add("brpop", -3, -2, pop("RIGHT"));
    const zpop = (end: "MIN" | "MAX") => (args: string[]) => ({
      keys: args.slice(1, -1),
      tryArgs: ["__bzpop", end, ...args.slice(1, -1)],
      emptyInMulti: "array" as const,
    });
    add("bzpopmin", -3, -2, zpop("MIN"));
    add("bzpopmax", -3, -2, zpop("MAX"));
    add("brpoplpush", 4, 2, (args) => ({
      keys: [args[1]!],
      tryArgs: ["RPOPLPUSH", args[1]!, args[2]!],
      emptyInMulti: "bulk",
    }));
    add("blmove", 6, 2, (args) => {
      const from = args[3]!.toUpperCase();
      const to = args[4]!.toUpperCase();
      if ((from !== "LEFT" && from !== "RIGHT") || (to !== "LEFT" && to !== "RIGHT")) {
        throw new CommandError("syntax error");
      }
      return {
        keys: [args[1]!],
        tryArgs: ["LMOVE", args[1]!, args[2]!, from, to],
        emptyInMulti: "bulk",
      };
    });
  }

  #start(
    c: Client,
    slot: ReplySlot,
    keys: string[],
    tryArgs: string[],
    timeoutMs: number,
    emptyInMulti: "array" | "bulk",
  ): void {
    const r = this.#router;
    const nullReply = (kind: "array" | "bulk") =>
      latin1ToBytes(c.proto === 3 ? "_\r\n" : kind === "array" ? "*-1\r\n" : "$-1\r\n");
    const inExec = c.inExec;
    r.execInternal(c, tryArgs).then((bytes) => {
      if (!isNull(bytes)) return this.#fill(slot, bytes);
      if (inExec) return this.#fill(slot, nullReply(emptyInMulti));
      // Nothing to take: block.
      const w: Waiter = {
        client: c,
        slot,
        ids: keys.map((k) => `${c.db}\0${k}`),
        tryArgs,
        timer: undefined,
        retrying: false,
        again: false,
        timedOut: false,
        done: false,
      };
      if (timeoutMs > 0) {
        w.timer = setTimeout(() => {
          w.timedOut = true;
          if (!w.retrying) this.#finish(w, nullReply("array"));
        }, timeoutMs);
      }
      for (const id of w.ids) {
        let list = this.#byKey.get(id);
        if (!list) this.#byKey.set(id, list = []);
        list.push(w);
      }
      this.#byClient.set(c, w);
      r.pause(c);
    }, (e) => r.replyError(slot, `ERR ${e instanceof Error ? e.message : e}`));
  }

  #fill(slot: ReplySlot, bytes: Uint8Array): void {
    slot.data = bytes;
    slot.owner.slotReady();
  }

  /** A key some clients wait on was written: they retry, first blocked first. */
  #wake(id: string): void {
    const list = this.#byKey.get(id);
    if (!list) return;
    for (const w of [...list]) this.#retry(w);
  }

  #retry(w: Waiter): void {
    if (w.done) return;
    if (w.retrying) {
      w.again = true;
      return;
    }
    w.retrying = true;
    w.again = false;
    const onResult = (bytes: Uint8Array) => {
      w.retrying = false;
      if (w.done) return;
      // An error now (the key became another type) leaves the client waiting, as in Redis 7.0.
      if (!isNull(bytes) && bytes[0] !== 0x2d) return this.#finish(w, bytes);
      if (w.timedOut) {
        return this.#finish(w, latin1ToBytes(w.client.proto === 3 ? "_\r\n" : "*-1\r\n"));
      }
      if (w.again) this.#retry(w);
    };
    const onError = (e: unknown) => {
      w.retrying = false;
      this.#finish(w, latin1ToBytes(`-ERR ${e instanceof Error ? e.message : e}\r\n`));
    };
    // Not while another command holds the gate (it may be half applied); the check and the
    // dispatch happen in the same turn so no gate can close in between.
    this.#router.whenOpen(() =>
      this.#router.execInternal(w.client, w.tryArgs).then(onResult, onError)
    );
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
