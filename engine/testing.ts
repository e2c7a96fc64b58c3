/** Test helpers for the engine: a keyspace with a controllable clock. */
import { Executor } from "./command.ts";
import { COMMANDS } from "./commands.ts";
import { Keyspace } from "./keyspace.ts";
import { type ReplyValue, ValueSink } from "./reply.ts";

/** An in-process engine for unit tests, with a manual clock and a log of propagated effects. */
export class TestEngine {
  time = 1_700_000_000_000;
  readonly ks: Keyspace;
  readonly exec: Executor;
  /** Every propagated effect as [db, ...args]. */
  readonly propagated: Array<[number, string[]]> = [];
  db = 0;
  proto: 2 | 3 = 2;

  constructor(seed = 1) {
    let s = seed;
    this.ks = new Keyspace({
      clock: () => this.time,
      // Small deterministic PRNG so random commands are repeatable in tests.
      random: () => {
        s = (s * 1103515245 + 12345) % 2147483648;
        return s / 2147483648;
      },
    });
    this.exec = new Executor(this.ks, COMMANDS, (db, args) => this.propagated.push([db, args]));
  }

  /** Runs one command and returns its reply (errors are returned as ReplyError values). */
  call(...args: (string | number)[]): ReplyValue {
    const sink = new ValueSink(this.proto);
    this.exec.execute(this.db, args.map(String), sink);
    return sink.take();
  }

  /** Moves the clock forward. */
  advance(ms: number): void {
    this.time += ms;
  }
}
