/**
 * Tessera vs Redis with redis-benchmark: `deno task bench:redis [flags]`.
 *
 * Starts Tessera as its own process (default shards) and a fresh redis-server, then runs
 * `redis-benchmark -c 50 -n N -r 100000 -P <p> -t <test> -q --csv` for every test and pipeline
 * depth, alternating between the two servers (and swapping who goes first every round), and
 * prints the median ops/s of each server over the rounds and their ratio.
 *
 * Persistence is matched on both sides:
 * - default: Redis `--save '' --appendonly no`; Tessera in memory (`TesseraServer.start({
 *   inMemory: true })` in a separate `deno eval` process, because main.ts always persists to
 *   its --dir and has no in-memory switch);
 * - `--appendfsync X`: Redis `--appendonly yes --appendfsync X`; Tessera `main.ts --dir <temp>
 *   --appendonly yes --appendfsync X`.
 *
 * Flags:
 *   --rounds N              rounds (default 3)
 *   --n N                   requests per redis-benchmark run (default 200000)
 *   --tests a,b,...         redis-benchmark tests (default set,get,incr,lpush,hset,zadd)
 *   --pipelines 1,16        pipeline depths (default 1,16)
 *   --clients N             parallel connections (default 50)
 *   --keyspace N            redis-benchmark -r (default 100000)
 *   --shards N              Tessera shards (default: Tessera's default, one per core)
 *   --quick                 smoke run: n = 20000 unless --n is given
 *   --appendfsync always|everysec
 *                           persistence on both sides (see above)
 *   --cli                   without --appendfsync: start Tessera with `main.ts --dir <temp>
 *                           --appendonly no` instead of in memory (it then still writes its
 *                           binlog, which Redis does not; the output says how much)
 */
import {
  freePort,
  hasCommand,
  RedisProcess,
  TesseraProcess,
} from "../tests/support/redis_process.ts";
import {
  checkStopping,
  commandOutput,
  type FlagHandler,
  fmtBytes,
  fmtInt,
  fmtRatio,
  isStopping,
  median,
  onCleanup,
  ownChild,
  parseFlags,
  pathBytes,
  positiveInt,
  printHeader,
  releaseChild,
  runMain,
  table,
  tempDir,
} from "./support.ts";

// ---------------------------------------------------------------------------------------------
// options

interface Options {
  rounds: number;
  n: number;
  tests: string[];
  pipelines: number[];
  clients: number;
  keyspace: number;
  shards: number | undefined;
  appendfsync: "always" | "everysec" | undefined;
  cli: boolean;
}

const USAGE = `usage: deno task bench:redis [--rounds N] [--n N] [--tests set,get,...] [--quick]
       [--pipelines 1,16] [--clients N] [--keyspace N] [--shards N] [--appendfsync always|everysec]
       [--cli]`;

function parseOptions(argv: string[]): Options {
  const o: Options = {
    rounds: 3,
    n: 200_000,
    tests: ["set", "get", "incr", "lpush", "hset", "zadd"],
    pipelines: [1, 16],
    clients: 50,
    keyspace: 100_000,
    shards: undefined,
    appendfsync: undefined,
    cli: false,
  };
  const int = (set: (n: number) => void): FlagHandler => (value, flag) =>
    set(positiveInt(flag, value()));
  const given = parseFlags(argv, USAGE, {
    "--rounds": int((n) => o.rounds = n),
    "--n": int((n) => o.n = n),
    "--tests": (value) => {
      o.tests = (value() ?? "").split(",").map((t) => t.trim().toLowerCase()).filter((t) =>
        t !== ""
      );
      if (o.tests.length === 0) throw new Error("--tests needs a comma-separated list");
    },
    "--pipelines": (value, flag) => {
      o.pipelines = (value() ?? "").split(",").map((p) => positiveInt(flag, p.trim()));
    },
    "--clients": int((n) => o.clients = n),
    "--keyspace": int((n) => o.keyspace = n),
    "--shards": int((n) => o.shards = n),
    "--quick": () => {},
    "--cli": () => o.cli = true,
    "--appendfsync": (value) => {
      const v = (value() ?? "").toLowerCase();
      if (v !== "always" && v !== "everysec") {
        throw new Error(`--appendfsync must be always or everysec, got '${v}'`);
      }
      o.appendfsync = v;
    },
  });
  const quick = given.has("--quick");
  const nGiven = given.has("--n");
  if (quick && !nGiven) o.n = 20_000;
  return o;
}

// ---------------------------------------------------------------------------------------------
// small helpers

const CLK_TCK = Number(commandOutput("getconf", ["CLK_TCK"])) || 100;

/** CPU seconds (user + system, all threads) a process has used so far; NaN when unknown. */
function cpuSeconds(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

const fmtUs = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "n/a");

// ---------------------------------------------------------------------------------------------
// servers and runs

type ServerName = "tessera" | "redis";

interface Target {
  name: ServerName;
  port: number;
  pid: number;
  /** Data directory (for the persistence size note). */
  dir: string;
}

interface RunResult {
  rps: number;
  /** Server CPU microseconds per request (NaN when unknown). */
  cpuUsPerOp: number;
  error?: string;
}

/**
 * Tessera without persistence in its own process: main.ts cannot run in memory, so a `deno eval`
 * child calls `TesseraServer.start({ inMemory: true })`, which is what main.ts does minus the
 * data directory and logging setup.
 */
class InMemoryTessera implements AsyncDisposable {
  readonly port: number;
  readonly child: Deno.ChildProcess;

  private constructor(port: number, child: Deno.ChildProcess) {
    this.port = port;
    this.child = child;
  }

  static async start(shards: number | undefined): Promise<InMemoryTessera> {
    const port = freePort();
    const server = new URL("../server/server.ts", import.meta.url).href;
    const options = JSON.stringify({ port, inMemory: true, ...(shards ? { shards } : {}) });
    const code = `import { TesseraServer } from ${JSON.stringify(server)};
const s = await TesseraServer.start(${options});
await s.closed;
Deno.exit(0);`;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["eval", "--ext=ts", code],
      cwd: new URL("..", import.meta.url).pathname,
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const t = new InMemoryTessera(port, child);
    let stderr = "";
    const drained = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
      new WritableStream({ write: (s) => void (stderr = (stderr + s).slice(-2000)) }),
    ).catch(() => {});
    const deadline = Date.now() + 30_000;
    let exited = false;
    void child.status.then(() => exited = true);
    for (;;) {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port })).close();
        return t;
      } catch {
        if (exited || Date.now() > deadline) {
          await t[Symbol.asyncDispose]();
          await drained;
          throw new Error(`in-memory Tessera did not start on port ${port}: ${stderr.trim()}`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await this.child.status;
  }
}

/** The servers this script owns, stopped at cleanup (on exit, error or signal). */
const owned = {
  tessera: undefined as TesseraProcess | InMemoryTessera | undefined,
  redis: undefined as RedisProcess | undefined,
};

onCleanup(async () => {
  const t = owned.tessera;
  owned.tessera = undefined;
  if (t) await t[Symbol.asyncDispose]().catch(() => {});
  const r = owned.redis;
  owned.redis = undefined;
  if (r) await r[Symbol.asyncDispose]().catch(() => {});
});

/** Runs one redis-benchmark test; never throws (errors are part of the result). */
async function runBenchmark(
  target: Target,
  opts: Options,
  test: string,
  pipeline: number,
  n: number,
): Promise<RunResult> {
  const args = [
    "-h",
    "127.0.0.1",
    "-p",
    String(target.port),
    "-c",
    String(opts.clients),
    "-n",
    String(n),
    "-r",
    String(opts.keyspace),
    "-P",
    String(pipeline),
    "-t",
    test,
    "-q",
    "--csv",
  ];
  if (isStopping()) return { rps: NaN, cpuUsPerOp: NaN, error: "interrupted" };
  const cpu0 = cpuSeconds(target.pid);
  const child = new Deno.Command("redis-benchmark", { args, stdout: "piped", stderr: "piped" })
    .spawn();
  ownChild(child);
  // redis-benchmark retries forever when the server is gone: bound every run.
  const timeoutMs = 60_000 + n * 2;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, timeoutMs);
  const out = await child.output();
  clearTimeout(timer);
  releaseChild(child);
  const cpu1 = cpuSeconds(target.pid);
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  const fail = (error: string): RunResult => ({ rps: NaN, cpuUsPerOp: NaN, error });
  if (timedOut) return fail(`redis-benchmark timed out after ${timeoutMs / 1000} s`);
  // CSV: a header line `"test","rps",...` then one line per test: `"SET","37593.98",...`.
  // Tests like lrange_100 print a longer name, so the first data row counts when none matches.
  let rps = NaN;
  let first = NaN;
  for (const line of stdout.split("\n")) {
    const cells = line.trim().split(",").map((c) => c.replace(/^"|"$/g, ""));
    if (cells.length < 2 || cells[0] === "test") continue;
    const v = Number(cells[1]);
    if (!Number.isFinite(v)) continue;
    if (Number.isNaN(first)) first = v;
    if (cells[0]!.toLowerCase() === test) rps = v;
  }
  if (Number.isNaN(rps)) rps = first;
  // "WARNING: Could not fetch server CONFIG" is harmless; server errors and lost connections
  // are not (redis-benchmark stops at the first error reply).
  const problem = [...stdout.split("\n"), ...stderr.split("\n")]
    .map((l) => l.trim())
    .find((l) => !l.startsWith("WARNING") && /error|could not|refused|reset/i.test(l));
  if (!out.success || !Number.isFinite(rps) || problem !== undefined) {
    return fail(problem ?? (stderr.trim() || `redis-benchmark exited with ${out.code}, no result`));
  }
  return { rps, cpuUsPerOp: ((cpu1 - cpu0) * 1e6) / n };
}

async function startServers(opts: Options): Promise<[Target, Target]> {
  const tdir = await tempDir("tessera-bench-");
  if (opts.appendfsync || opts.cli) {
    const tflags = ["--dir", tdir, "--loglevel", "warning"];
    if (opts.appendfsync) tflags.push("--appendonly", "yes", "--appendfsync", opts.appendfsync);
    else tflags.push("--appendonly", "no");
    if (opts.shards !== undefined) tflags.push("--shards", String(opts.shards));
    owned.tessera = await TesseraProcess.start(tflags, freePort());
  } else {
    owned.tessera = await InMemoryTessera.start(opts.shards);
  }
  checkStopping();
  const rflags = opts.appendfsync ? ["--appendonly", "yes", "--appendfsync", opts.appendfsync] : [];
  owned.redis = await RedisProcess.start(rflags);
  checkStopping();
  return [
    { name: "tessera", port: owned.tessera.port, pid: owned.tessera.child.pid, dir: tdir },
    { name: "redis", port: owned.redis.port, pid: owned.redis.child.pid, dir: owned.redis.dir },
  ];
}

// ---------------------------------------------------------------------------------------------
// main

async function main(): Promise<number> {
  let opts: Options;
  try {
    opts = parseOptions(Deno.args);
  } catch (e) {
    console.error(`vs_redis: ${e instanceof Error ? e.message : e}`);
    return 2;
  }
  for (const cmd of ["redis-server", "redis-benchmark"]) {
    if (!hasCommand(cmd)) {
      console.error(`vs_redis: ${cmd} is not on PATH`);
      return 2;
    }
  }

  const mode = opts.appendfsync
    ? `appendfsync ${opts.appendfsync} (Redis: --appendonly yes --appendfsync ${opts.appendfsync}; ` +
      `Tessera: main.ts --dir <temp> --appendonly yes --appendfsync ${opts.appendfsync})`
    : opts.cli
    ? "no persistence for Redis (--save '' --appendonly no); Tessera: main.ts --dir <temp> " +
      "--appendonly no"
    : "no persistence (Redis: --save '' --appendonly no; Tessera: in memory, " +
      "TesseraServer.start({ inMemory: true }) in its own process)";
  printHeader("Tessera vs Redis (redis-benchmark)");
  console.log(
    `workload:  redis-benchmark -c ${opts.clients} -n ${opts.n} -r ${opts.keyspace} ` +
      `-P {${opts.pipelines.join(",")}} -t {${opts.tests.join(",")}} -q --csv, ` +
      `${opts.rounds} round(s), servers alternated per test`,
  );
  console.log(`mode:      ${mode}`);
  console.log(`shards:    ${opts.shards ?? `default (${navigator.hardwareConcurrency || 1})`}`);

  const started = performance.now();
  const [tessera, redis] = await startServers(opts);
  console.log(
    `servers:   Tessera pid ${tessera.pid} port ${tessera.port}, ` +
      `Redis pid ${redis.pid} port ${redis.port}\n`,
  );

  // Warm-up (results discarded): lets Tessera's JIT compile the hot paths before round 1, and
  // gives both servers the same dataset shape to start from.
  const warmN = Math.min(opts.n, 20_000);
  for (const test of opts.tests) {
    for (const t of [tessera, redis]) {
      await runBenchmark(t, opts, test, opts.pipelines.at(-1)!, warmN);
      checkStopping();
    }
  }

  const key = (test: string, p: number) => `${test}/${p}`;
  const results = new Map<string, Record<ServerName, RunResult[]>>();
  const total = opts.rounds * opts.pipelines.length * opts.tests.length * 2;
  let done = 0;
  for (let round = 0; round < opts.rounds; round++) {
    for (const p of opts.pipelines) {
      for (const test of opts.tests) {
        const cell = results.get(key(test, p)) ?? { tessera: [], redis: [] };
        results.set(key(test, p), cell);
        // Swap who goes first every round so slow drift (thermal, noisy neighbours) evens out.
        const order = (round + opts.tests.indexOf(test)) % 2 === 0
          ? [tessera, redis]
          : [redis, tessera];
        for (const t of order) {
          const r = await runBenchmark(t, opts, test, p, opts.n);
          checkStopping();
          cell[t.name].push(r);
          done++;
          const secs = ((performance.now() - started) / 1000).toFixed(0);
          const shown = r.error ? `error: ${r.error}` : `${fmtInt(r.rps)} ops/s`;
          console.error(
            `[${done}/${total} ${secs}s] round ${round + 1} ${test} -P ${p} ${t.name}: ${shown}`,
          );
        }
      }
    }
  }
  const tesseraData = await pathBytes(tessera.dir);
  const redisData = await pathBytes(redis.dir);
  const elapsed = (performance.now() - started) / 1000;

  const rows: string[][] = [];
  const roundRows: string[][] = [];
  const cpuRows: string[][] = [];
  const errors = new Set<string>();
  const ok = (rs: RunResult[]) => rs.filter((r) => r.error === undefined);
  for (const test of opts.tests) {
    for (const p of opts.pipelines) {
      const cell = results.get(key(test, p))!;
      for (const r of [...cell.tessera, ...cell.redis]) {
        // The random arguments differ between runs; one line per distinct error is enough.
        if (r.error) errors.add(r.error.replace(/(with args beginning with:).*$/, "$1 ..."));
      }
      const tOk = ok(cell.tessera);
      const rOk = ok(cell.redis);
      const tm = median(tOk.map((r) => r.rps));
      const rm = median(rOk.map((r) => r.rps));
      const note = (okRuns: RunResult[], all: RunResult[]) =>
        okRuns.length === all.length ? "" : ` (${all.length - okRuns.length} failed)`;
      rows.push([
        test.toUpperCase(),
        String(p),
        fmtInt(tm) + note(tOk, cell.tessera),
        fmtInt(rm) + note(rOk, cell.redis),
        fmtRatio(tm / rm),
      ]);
      const each = (rs: RunResult[]) =>
        rs.map((r) => (r.error ? "err" : fmtInt(r.rps))).join(" / ");
      roundRows.push([test.toUpperCase(), String(p), each(cell.tessera), each(cell.redis)]);
      const tc = median(tOk.map((r) => r.cpuUsPerOp));
      const rc = median(rOk.map((r) => r.cpuUsPerOp));
      cpuRows.push([test.toUpperCase(), String(p), fmtUs(tc), fmtUs(rc), fmtRatio(tc / rc)]);
    }
  }

  console.log(`## Throughput (median of ${opts.rounds} round(s), requests/s)\n`);
  console.log(
    table(["test", "pipeline", "Tessera ops/s", "Redis ops/s", "Tessera/Redis"], rows, 1),
  );
  console.log(`\n## Every round (ops/s, in round order)\n`);
  console.log(table(["test", "pipeline", "Tessera", "Redis"], roundRows, 1));
  console.log(`\n## Server CPU per request (median, µs of user+sys CPU over all threads)\n`);
  console.log(
    table(["test", "pipeline", "Tessera µs/op", "Redis µs/op", "Tessera/Redis"], cpuRows, 1),
  );
  console.log(
    `\ndata on disk after the run: Tessera ${fmtBytes(tesseraData)}, Redis ${fmtBytes(redisData)}`,
  );
  if (!opts.appendfsync && tesseraData > 0) {
    console.log(
      `note: Tessera wrote ${fmtBytes(tesseraData)} to its --dir although --appendonly no was ` +
        "passed, so it did persistence work that Redis did not do in this run.",
    );
  }
  if (errors.size) {
    console.log("\nerrors:");
    for (const e of errors) console.log(`  - ${e}`);
  }
  console.log(
    `\ntotal time ${elapsed.toFixed(0)} s, load avg after: ${
      Deno.loadavg().map((x) => x.toFixed(2)).join(" ")
    }`,
  );
  return 0;
}

if (import.meta.main) await runMain("vs_redis", main);
