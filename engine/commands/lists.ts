/**
 * List commands (Redis 7.0 semantics). Lists are {@link Deque}s of latin1 strings; a list that
 * becomes empty is deleted.
 *
 * Propagation: commands that are deterministic given the list's content propagate their own
 * arguments. LMOVE and RPOPLPUSH between two different keys propagate one effect per key (a
 * pop on the source, a push of the concrete element on the destination), so every propagated
 * effect touches a single key and replays the same whichever shard holds the other key; with
 * source == destination they propagate themselves (a pop + push pair would lose the TTL of a
 * one-element list).
 */
import type { CommandContext, CommandDef } from "../command.ts";
import { Deque } from "../deque.ts";
import { CommandError, ERR_INDEX_OUT_OF_RANGE, ERR_NO_SUCH_KEY, syntaxError } from "../errors.ts";
import { isOpt, parseInt64, tryParseInt } from "../args.ts";
import type { ReplySink } from "../reply.ts";

const ERR_MUST_BE_POSITIVE = "value is out of range, must be positive";
const ERR_RANK_ZERO =
  "RANK can't be zero: use 1 to start from the first match, 2 from the second " +
  "... or use negative to start from the end of the list";

/**
 * Parses a count that must be >= 0; both a malformed and a negative value reply `msg` (Redis'
 * getPositiveLongFromObjectOrReply with a message).
 */
function parseCount(s: string, msg: string): number {
  const n = tryParseInt(s);
  if (n === undefined || n < 0) throw new CommandError(msg);
  return n;
}

/** LEFT → true, RIGHT → false, anything else is a syntax error. */
function parseSide(s: string): boolean {
  if (isOpt(s, "LEFT")) return true;
  if (isOpt(s, "RIGHT")) return false;
  throw syntaxError();
}

function pushHandler(front: boolean, onlyIfExists: boolean) {
  return (ctx: CommandContext, args: string[], out: ReplySink): void => {
    const key = args[1]!;
    let list = ctx.db.getTyped(key, "list");
    if (list === undefined) {
      if (onlyIfExists) {
        out.int(0);
        return;
      }
      list = new Deque<string>();
      ctx.db.set(key, { type: "list", value: list });
    }
    const n = args.length;
    if (front) { for (let i = 2; i < n; i++) list.pushFront(args[i]!); }
    else for (let i = 2; i < n; i++) list.pushBack(args[i]!);
    out.int(list.length);
    ctx.propagate(args);
  };
}

function popHandler(front: boolean) {
  return (ctx: CommandContext, args: string[], out: ReplySink): void => {
    if (args.length > 3) {
      throw new CommandError(`wrong number of arguments for '${front ? "lpop" : "rpop"}' command`);
    }
    const hasCount = args.length === 3;
    const count = hasCount ? parseCount(args[2]!, ERR_MUST_BE_POSITIVE) : 1;
    const key = args[1]!;
    const list = ctx.db.getTyped(key, "list");
    if (list === undefined) {
      if (hasCount) out.nullArray();
      else out.nullBulk();
      return;
    }
    if (!hasCount) {
      out.bulk((front ? list.popFront() : list.popBack())!);
    } else {
      const k = Math.min(count, list.length);
      out.array(k);
      if (k === 0) return;
      for (let i = 0; i < k; i++) out.bulk((front ? list.popFront() : list.popBack())!);
    }
    if (list.length === 0) ctx.db.delete(key);
    ctx.propagate(args);
  };
}

/** Moves one element from `src` to `dst` (LMOVE / RPOPLPUSH); replies the element or nil. */
function move(
  ctx: CommandContext,
  args: string[],
  out: ReplySink,
  fromLeft: boolean,
  toLeft: boolean,
): void {
  const srcKey = args[1]!;
  const dstKey = args[2]!;
  const src = ctx.db.getTyped(srcKey, "list");
  if (src === undefined) {
    out.nullBulk();
    return;
  }
  if (srcKey === dstKey) {
    const v = (fromLeft ? src.popFront() : src.popBack())!;
    if (toLeft) src.pushFront(v);
    else src.pushBack(v);
    out.bulk(v);
    ctx.propagate(args);
    return;
  }
  let dst = ctx.db.getTyped(dstKey, "list"); // WRONGTYPE before anything changes
  const v = (fromLeft ? src.popFront() : src.popBack())!;
  if (src.length === 0) ctx.db.delete(srcKey);
  if (dst === undefined) {
    dst = new Deque<string>();
    ctx.db.set(dstKey, { type: "list", value: dst });
  }
  if (toLeft) dst.pushFront(v);
  else dst.pushBack(v);
  out.bulk(v);
  ctx.propagate([fromLeft ? "LPOP" : "RPOP", srcKey]);
  ctx.propagate([toLeft ? "LPUSH" : "RPUSH", dstKey, v]);
}

export const listCommands: CommandDef[] = [
  {
    name: "lpush",
    arity: -3,
    flags: ["write", "denyoom", "fast"],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    handler: pushHandler(true, false),
  },
  {
    name: "rpush",
    arity: -3,
    flags: ["write", "denyoom", "fast"],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    handler: pushHandler(false, false),
  },
  {
    name: "lpushx",
    arity: -3,
    flags: ["write", "denyoom", "fast"],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    handler: pushHandler(true, true),
  },
  {
    name: "rpushx",
    arity: -3,
    flags: ["write", "denyoom", "fast"],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    handler: pushHandler(false, true),
  },
  {
    name: "lpop",
    arity: -2,
    flags: ["write", "fast"],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    handler: popHandler(true),
  },
  {
    name: "rpop",
    arity: -2,
    flags: ["write", "fast"],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    handler: popHandler(false),
  },
  {
    name: "llen",
    arity: 2,
    flags: ["readonly", "fast"],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    handler(ctx, args, out) {
      const list = ctx.db.getTyped(args[1]!, "list");
      out.int(list === undefined ? 0 : list.length);
    },
  },
  {
    name: "lrange",
    arity: 4,
    flags: ["readonly"],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    handler(ctx, args, out) {
      let start = parseInt64(args[2]!);
      let end = parseInt64(args[3]!);
      const list = ctx.db.getTyped(args[1]!, "list");
      if (list === undefined) {
        out.array(0);
        return;
      }
      const len = list.length;
      if (start < 0) start += len;
      if (end < 0) end += len;
      if (start < 0) start = 0;
      if (start > end || start >= len) {
        out.array(0);
        return;
      }
      if (end >= len) end = len - 1;
      out.array(end - start + 1);
      for (let i = start; i <= end; i++) out.bulk(list.at(i)!);
    },
  },
  {
    name: "lindex",
    arity: 3,
    flags: ["readonly"],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    handler(ctx, args, out) {
      const list = ctx.db.getTyped(args[1]!, "list");
      if (list === undefined) {
        out.nullBulk();
        return;
      }
      let index = parseInt64(args[2]!);
      if (index < 0) index += list.length;
      const v = list.at(index);
      if (v === undefined) out.nullBulk();
      else out.bulk(v);
    },
  },
  {
    name: "lset",
    arity: 4,
    flags: ["write", "denyoom"],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    handler(ctx, args, out) {
      const list = ctx.db.getTyped(args[1]!, "list");
      if (list === undefined) throw new CommandError(ERR_NO_SUCH_KEY);
      let index = parseInt64(args[2]!);
      if (index < 0) index += list.length;
      if (index < 0 || index >= list.length) throw new CommandError(ERR_INDEX_OUT_OF_RANGE);
      list.set(index, args[3]!);
      out.simple("OK");
      ctx.propagate(args);
    },
  },
  {
    name: "linsert",
    arity: 5,
    flags: ["write", "denyoom"],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    handler(ctx, args, out) {
      const where = args[2]!;
      let after: boolean;
      if (isOpt(where, "BEFORE")) after = false;
      else if (isOpt(where, "AFTER")) after = true;
      else throw syntaxError();
      const list = ctx.db.getTyped(args[1]!, "list");
      if (list === undefined) {
        out.int(0);
        return;
      }
      const pivot = args[3]!;
      const len = list.length;
      let i = 0;
      while (i < len && list.at(i) !== pivot) i++;
      if (i === len) {
        out.int(-1);
        return;
      }
      list.insert(after ? i + 1 : i, args[4]!);
      out.int(list.length);
      ctx.propagate(args);
    },
  },
  {
    name: "lrem",
    arity: 4,
    flags: ["write"],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    handler(ctx, args, out) {
      const count = parseInt64(args[2]!);
      const key = args[1]!;
      const list = ctx.db.getTyped(key, "list");
      if (list === undefined) {
        out.int(0);
        return;
      }
      const elem = args[3]!;
      const removed = list.removeWhere((v) => v === elem, Math.abs(count), count < 0);
      out.int(removed);
      if (removed === 0) return;
      if (list.length === 0) ctx.db.delete(key);
      ctx.propagate(args);
    },
  },
  {
    name: "ltrim",
    arity: 4,
    flags: ["write"],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    handler(ctx, args, out) {
      let start = parseInt64(args[2]!);
      let end = parseInt64(args[3]!);
      const key = args[1]!;
      const list = ctx.db.getTyped(key, "list");
      if (list === undefined) {
        out.simple("OK");
        return;
      }
      const len = list.length;
      if (start < 0) start += len;
      if (end < 0) end += len;
      if (start < 0) start = 0;
      let ltrim: number;
      let rtrim: number;
      if (start > end || start >= len) {
        ltrim = len;
        rtrim = 0;
      } else {
        if (end >= len) end = len - 1;
        ltrim = start;
        rtrim = len - end - 1;
      }
      out.simple("OK");
      if (ltrim + rtrim === 0) return;
      if (ltrim >= len) {
        ctx.db.delete(key);
      } else {
        list.dropFront(ltrim);
        list.dropBack(rtrim);
      }
      ctx.propagate(args);
    },
  },
  {
    name: "lpos",
    arity: -3,
    flags: ["readonly"],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    handler(ctx, args, out) {
      let rank = 1;
      let count = -1; // -1: no COUNT option, reply a single position
      let maxlen = 0;
      for (let j = 3; j < args.length; j++) {
        const opt = args[j]!;
        const more = j + 1 < args.length;
        if (more && isOpt(opt, "RANK")) {
          const s = args[++j]!;
          rank = parseInt64(s);
          if (rank === 0) throw new CommandError(ERR_RANK_ZERO);
          // Redis negates LONG_MIN into itself, which then matches like RANK -1.
          if (s === "-9223372036854775808") rank = -1;
        } else if (more && isOpt(opt, "COUNT")) {
          count = parseCount(args[++j]!, "COUNT can't be negative");
        } else if (more && isOpt(opt, "MAXLEN")) {
          maxlen = parseCount(args[++j]!, "MAXLEN can't be negative");
        } else {
          throw syntaxError();
        }
      }
      const list = ctx.db.getTyped(args[1]!, "list");
      if (list === undefined) {
        if (count === -1) out.nullBulk();
        else out.array(0);
        return;
      }
      const elem = args[2]!;
      const len = list.length;
      const fromTail = rank < 0;
      const skip = Math.abs(rank) - 1;
      const limit = maxlen === 0 || maxlen > len ? len : maxlen;
      const found: number[] = [];
      let matches = 0;
      for (let k = 0; k < limit; k++) {
        const i = fromTail ? len - 1 - k : k;
        if (list.at(i) !== elem) continue;
        if (matches++ < skip) continue;
        found.push(i);
        if (count === -1 || (count !== 0 && found.length >= count)) break;
      }
      if (count === -1) {
        if (found.length === 0) out.nullBulk();
        else out.int(found[0]!);
        return;
      }
      out.array(found.length);
      for (const i of found) out.int(i);
    },
  },
  {
    name: "lmove",
    arity: 5,
    flags: ["write", "denyoom"],
    firstKey: 1,
    lastKey: 2,
    step: 1,
    handler(ctx, args, out) {
      const fromLeft = parseSide(args[3]!);
      const toLeft = parseSide(args[4]!);
      move(ctx, args, out, fromLeft, toLeft);
    },
  },
  {
    name: "rpoplpush",
    arity: 3,
    flags: ["write", "denyoom"],
    firstKey: 1,
    lastKey: 2,
    step: 1,
    handler(ctx, args, out) {
      move(ctx, args, out, false, true);
    },
  },
];
