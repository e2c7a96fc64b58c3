/**
 * Pub/sub on the main thread: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH and
 * PUBSUB, with Redis 7.0's message shapes in RESP2 and RESP3.
 *
 * A client with at least one subscription in RESP2 is restricted to the pub/sub commands, PING
 * (which then answers `["pong", arg]`), QUIT and RESET. RESET, QUIT and disconnecting drop
 * every subscription (PING, RESET and QUIT wrap the commands registered before them). Shard
 * channels (SSUBSCRIBE...) are not implemented: PUBSUB SHARDCHANNELS and SHARDNUMSUB answer as
 * Redis does when there are none. PUBLISH is not propagated to replicas.
 */
import { CommandError } from "../engine/errors.ts";
import { globMatch } from "../engine/glob.ts";
import type { ReplySlot } from "../workers/shard_pool.ts";
import type { Client } from "./client.ts";
import { RespWriter } from "./resp_writer.ts";
import type { Router } from "./router.ts";
import { MAIN_COMMANDS, type MainCommand } from "./server_commands.ts";

/** Commands a RESP2 client may run while it has subscriptions. */
const ALLOWED_WHILE_SUBSCRIBED = new Set([
  "subscribe",
  "unsubscribe",
  "psubscribe",
  "punsubscribe",
  "ssubscribe",
  "sunsubscribe",
  "ping",
  "quit",
  "reset",
]);

/** Redis 7.0's container commands: their errors name the subcommand (`config|get`). */
const CONTAINERS = new Set([
  "acl",
  "client",
  "cluster",
  "command",
  "config",
  "function",
  "latency",
  "memory",
  "module",
  "object",
  "pubsub",
  "script",
  "slowlog",
  "xgroup",
  "xinfo",
]);

/**
 * The error line for command `name` (lowercase) refused in RESP2 subscribed mode; `sub` is the
 * request's second argument, which Redis names too for container commands.
 */
export function subscribedModeError(name: string, sub?: string): string {
  const full = sub !== undefined && CONTAINERS.has(name) ? `${name}|${sub.toLowerCase()}` : name;
  return `ERR Can't execute '${full}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / ` +
    "RESET are allowed in this context";
}

const PUBSUB_HELP = [
  "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "CHANNELS [<pattern>]",
  "    Return the currently active channels matching a <pattern> (default: '*').",
  "NUMPAT",
  "    Return number of subscriptions to patterns.",
  "NUMSUB [<channel> ...]",
  "    Return the number of subscribers for the specified channels, excluding",
  "    pattern subscriptions(default: no channels).",
  "SHARDCHANNELS [<pattern>]",
  "    Return the currently active shard level channels matching a <pattern> (default: '*').",
  "SHARDNUMSUB [<shardchannel> ...]",
  "    Return the number of subscribers for the specified shard level channel(s)",
  "HELP",
  "    Prints this help.",
];

/** Arity of each PUBSUB subcommand (Redis' convention, counting PUBSUB and the subcommand). */
const PUBSUB_SUBCOMMANDS = new Map<string, number>([
  ["channels", -2],
  ["numpat", 2],
  ["numsub", -2],
  ["shardchannels", -2],
  ["shardnumsub", -2],
  ["help", 2],
]);

/** One client's subscriptions (insertion ordered, like the confirmations it received). */
interface Subscriber {
  readonly client: Client;
  readonly channels: Set<string>;
  readonly patterns: Set<string>;
  /**
   * Installed as `client.restricted` while subscribed. The router passes the command name;
   * given the request's second argument too, container commands are named like Redis does.
   */
  readonly restrict: (name: string, sub?: string) => string | undefined;
}

function count(s: Subscriber): number {
  return s.channels.size + s.patterns.size;
}

export class PubSub {
  /** Channel -> subscribers, in subscription order (the order Redis delivers in). */
  readonly #channels = new Map<string, Set<Subscriber>>();
  /** Pattern -> subscribers. */
  readonly #patterns = new Map<string, Set<Subscriber>>();
  readonly #subscribers = new Map<Client, Subscriber>();
  readonly #w2 = new RespWriter(2, 256);
  readonly #w3 = new RespWriter(3, 256);

  constructor(router: Router) {
    router.deliverReplicated = (channel, message) => this.deliverReplicated(channel, message);
    router.subscriptionCounts = (c) => this.subscriptions(c);
    const ping = router.routes.get("ping")?.main ?? MAIN_COMMANDS.get("ping")!;
    const reset = router.routes.get("reset")?.main ?? MAIN_COMMANDS.get("reset")!;
    const quit = router.routes.get("quit")?.main ?? MAIN_COMMANDS.get("quit")!;
    const cmd = (
      name: string,
      arity: number,
      flags: MainCommand["flags"],
      run: MainCommand["run"],
      extra: Partial<MainCommand> = {},
    ) => router.addCommand({ name, arity, flags, firstKey: 0, lastKey: 0, step: 0, run, ...extra });

    const sub = ["pubsub", "noscript", "loading", "stale"] as const;
    cmd("subscribe", -2, [...sub], (r, c, args, slot) => {
      r.reply(c, slot, (w) => {
        for (let i = 1; i < args.length; i++) this.#subscribe(w, c, args[i]!, false);
      });
    });
    cmd("psubscribe", -2, [...sub], (r, c, args, slot) => {
      r.reply(c, slot, (w) => {
        for (let i = 1; i < args.length; i++) this.#subscribe(w, c, args[i]!, true);
      });
    });
    cmd("unsubscribe", -1, [...sub], (r, c, args, slot) => {
      r.reply(c, slot, (w) => this.#unsubscribe(w, c, args, false));
    });
    cmd("punsubscribe", -1, [...sub], (r, c, args, slot) => {
      r.reply(c, slot, (w) => this.#unsubscribe(w, c, args, true));
    });
    cmd(
      "publish",
      3,
      ["pubsub", "loading", "stale", "fast", "may_replicate"],
      (r, c, args, slot) => this.#publish(r, c, args[1]!, args[2]!, slot),
    );
    cmd(
      "pubsub",
      -2,
      ["pubsub", "loading", "stale"],
      (r, c, args, slot) => this.#pubsubCommand(r, c, args, slot),
    );
    cmd("ping", ping.arity, ping.flags, (r, c, args, slot) => {
      if (args.length <= 2 && c.proto === 2 && this.#subscribers.has(c)) {
        r.reply(c, slot, (w) => {
          w.array(2);
          w.bulk("pong");
          w.bulk(args[1] ?? "");
        });
        return;
      }
      ping.run(r, c, args, slot);
    }, { noAuth: ping.noAuth });
    cmd("reset", reset.arity, reset.flags, (r, c, args, slot) => {
      this.#drop(c);
      reset.run(r, c, args, slot);
    }, { noAuth: reset.noAuth });
    // A client that quits gets no more messages and no longer counts as a subscriber.
    cmd("quit", quit.arity, quit.flags, (r, c, args, slot) => {
      this.#drop(c);
      quit.run(r, c, args, slot);
    }, { noAuth: quit.noAuth });

    router.closeListeners.push((c) => this.#drop(c));
  }

  /** Number of clients with at least one subscription. */
  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  /** Channels and patterns `c` is subscribed to (for CLIENT LIST's sub= and psub=). */
  subscriptions(c: Client): { channels: number; patterns: number } {
    const s = this.#subscribers.get(c);
    return { channels: s?.channels.size ?? 0, patterns: s?.patterns.size ?? 0 };
  }

  #subscriber(c: Client): Subscriber {
    let s = this.#subscribers.get(c);
    if (s === undefined) {
      s = {
        client: c,
        channels: new Set(),
        patterns: new Set(),
        restrict: (name, sub) =>
          c.proto === 2 && !ALLOWED_WHILE_SUBSCRIBED.has(name)
            ? subscribedModeError(name, sub)
            : undefined,
      };
      this.#subscribers.set(c, s);
      c.restricted = s.restrict;
    }
    return s;
  }

  /** Forgets `s` once it has no subscription left (leaving subscribed mode). */
  #release(s: Subscriber): void {
    if (count(s) !== 0) return;
    this.#subscribers.delete(s.client);
    if (s.client.restricted === s.restrict) s.client.restricted = undefined;
  }

  #subscribe(w: RespWriter, c: Client, name: string, pattern: boolean): void {
    const s = this.#subscriber(c);
    const own = pattern ? s.patterns : s.channels;
    if (!own.has(name)) {
      own.add(name);
      const index = pattern ? this.#patterns : this.#channels;
      let set = index.get(name);
      if (set === undefined) index.set(name, set = new Set());
      set.add(s);
    }
    w.push(3);
    w.bulk(pattern ? "psubscribe" : "subscribe");
    w.bulk(name);
    w.int(count(s));
  }

  #unsubscribe(w: RespWriter, c: Client, args: string[], pattern: boolean): void {
    const kind = pattern ? "punsubscribe" : "unsubscribe";
    const s = this.#subscribers.get(c);
    const names = args.length > 1
      ? args.slice(1)
      : s === undefined
      ? []
      : [...(pattern ? s.patterns : s.channels)];
    if (names.length === 0) {
      // Nothing to unsubscribe from: one confirmation with a null name.
      w.push(3);
      w.bulk(kind);
      w.nullBulk();
      w.int(s === undefined ? 0 : count(s));
      return;
    }
    for (const name of names) {
      if (s !== undefined) this.#remove(s, name, pattern);
      w.push(3);
      w.bulk(kind);
      w.bulk(name);
      w.int(s === undefined ? 0 : count(s));
    }
    if (s !== undefined) this.#release(s);
  }

  #remove(s: Subscriber, name: string, pattern: boolean): void {
    const own = pattern ? s.patterns : s.channels;
    if (!own.delete(name)) return;
    const index = pattern ? this.#patterns : this.#channels;
    const set = index.get(name);
    if (set !== undefined) {
      set.delete(s);
      if (set.size === 0) index.delete(name);
    }
  }

  /** Drops every subscription of `c` without notifying it (RESET, disconnect). */
  #drop(c: Client): void {
    const s = this.#subscribers.get(c);
    if (s === undefined) return;
    for (const ch of [...s.channels]) this.#remove(s, ch, false);
    for (const p of [...s.patterns]) this.#remove(s, p, true);
    this.#release(s);
  }

  /**
   * Delivers a message that arrived from this node's master (Redis propagates PUBLISH to
   * replicas so their subscribers get it too).
   */
  deliverReplicated(channel: string, message: string): number {
    return this.#deliver(undefined, channel, message).receivers;
  }

  #publish(r: Router, c: Client, channel: string, message: string, slot: ReplySlot): void {
    const { receivers, own } = this.#deliver(c, channel, message);
    for (const l of r.publishListeners) l(channel, message);
    r.reply(c, slot, (w) => {
      if (own !== undefined) { for (const b of own) w.raw(b); }
      w.int(receivers);
    });
  }

  #deliver(
    c: Client | undefined,
    channel: string,
    message: string,
  ): { receivers: number; own: Uint8Array[] | undefined } {
    let receivers = 0;
    // Messages for the publisher itself go before its reply, as Redis writes them.
    let own: Uint8Array[] | undefined;
    const deliver = (to: Client, m2: Uint8Array, m3: Uint8Array) => {
      if (to.closing) return; // killed, about to be forgotten
      receivers++;
      const bytes = to.proto === 3 ? m3 : m2;
      if (to === c) (own ??= []).push(bytes);
      else to.push(bytes);
    };
    const direct = this.#channels.get(channel);
    if (direct !== undefined) {
      const m2 = this.#message(this.#w2, channel, message);
      const m3 = this.#message(this.#w3, channel, message);
      for (const s of direct) deliver(s.client, m2, m3);
    }
    for (const [pattern, subs] of this.#patterns) {
      if (!globMatch(pattern, channel)) continue;
      const m2 = this.#pmessage(this.#w2, pattern, channel, message);
      const m3 = this.#pmessage(this.#w3, pattern, channel, message);
      for (const s of subs) deliver(s.client, m2, m3);
    }
    return { receivers, own };
  }

  #message(w: RespWriter, channel: string, message: string): Uint8Array {
    w.push(3);
    w.bulk("message");
    w.bulk(channel);
    w.bulk(message);
    return w.take();
  }

  #pmessage(w: RespWriter, pattern: string, channel: string, message: string): Uint8Array {
    w.push(4);
    w.bulk("pmessage");
    w.bulk(pattern);
    w.bulk(channel);
    w.bulk(message);
    return w.take();
  }

  #pubsubCommand(r: Router, c: Client, args: string[], slot: ReplySlot): void {
    const sub = args[1]!.toLowerCase();
    const arity = PUBSUB_SUBCOMMANDS.get(sub);
    if (arity === undefined) {
      return r.replyError(slot, `ERR unknown subcommand '${args[1]!}'. Try PUBSUB HELP.`);
    }
    if (arity >= 0 ? args.length !== arity : args.length < -arity) {
      return r.replyError(slot, `ERR wrong number of arguments for 'pubsub|${sub}' command`);
    }
    r.reply(c, slot, (w) => {
      switch (sub) {
        case "channels":
        case "shardchannels": {
          if (args.length > 3) {
            throw new CommandError(
              `unknown subcommand or wrong number of arguments for '${args[1]!}'. ` +
                "Try PUBSUB HELP.",
            );
          }
          const pattern = args[2];
          const names: string[] = [];
          if (sub === "channels") {
            for (const ch of this.#channels.keys()) {
              if (pattern === undefined || globMatch(pattern, ch)) names.push(ch);
            }
          }
          w.array(names.length);
          for (const ch of names) w.bulk(ch);
          return;
        }
        case "numsub":
        case "shardnumsub": {
          w.array((args.length - 2) * 2);
          for (let i = 2; i < args.length; i++) {
            const ch = args[i]!;
            w.bulk(ch);
            w.int(sub === "numsub" ? this.#channels.get(ch)?.size ?? 0 : 0);
          }
          return;
        }
        case "numpat":
          w.int(this.#patterns.size);
          return;
        default:
          w.array(PUBSUB_HELP.length);
          for (const line of PUBSUB_HELP) w.simple(line);
      }
    });
  }
}
