/**
 * Replication, Tessera vs Redis, in one run:
 *
 *   deno run --allow-all bench/replication_vs_redis.ts [--keys 1000000] [--seconds 10]
 *     [--shards N] [--quick]
 *
 * 1. Full sync: a master with `--keys` string keys (loaded with `redis-cli --pipe`, no snapshot
 *    made beforehand) and a replica on a fresh data directory; time from `REPLICAOF` until
 *    - Tessera: `tessera_sync_state:connected` and `TESSERA BINLOG` equal on both;
 *    - Redis: `master_link_status:up`, `master_sync_in_progress:0` and DBSIZE equal.
 *    The replica is polled every 20 ms (and the master's INFO persistence, to see its snapshot).
 *    Transfer rate: Tessera bytes / ms of `tessera_last_full_sync`; Redis RDB bytes (the replica's
 *    dump.rdb) / time between "receiving streamed RDB" and "Flushing old data" in its log.
 *    Redis runs with `repl-diskless-sync-delay 0` (the default 5 s wait for more replicas would
 *    only add idle time); everything else is the default (diskless sync, disk load).
 * 2. Lag under write load: `redis-benchmark -t set -c 50 -P 16 -r 100000` for about `--seconds`
 *    (back-to-back runs of ~1 s) against each master while the replica's lag is sampled every 100 ms:
 *    - Tessera: sum over shards of master minus replica `TESSERA BINLOG` position, in bytes
 *      (file * binlog-file-size + offset);
 *    - Redis: master `master_repl_offset` minus the replica's own `slave_repl_offset` (the
 *      master's `slave0:offset` is only refreshed by the replica's once-a-second ACK).
 *    Then the time from the end of the load until the positions / offsets are equal (polled
 *    every 10 ms).
 *
 * One system at a time (master + replica + redis-benchmark share the machine). Everything is
 * cleaned up on exit, error, Ctrl-C or SIGTERM.
 */
import {
  checkStopping,
  type FlagHandler,
  fmtBytes,
  fmtInt,
  fmtMs,
  fmtRatio,
  hasCommand,
  isStopping,
  type Kind,
  loadPipe,
  median,
  parseFlags,
  pathBytes,
  percentile,
  positiveInt,
  printHeader,
  redisBenchmark,
  RespClient,
  RespError,
  runMain,
  ServerProc,
  sleep,
  stringsResp,
  table,
  tempDir,
} from "./support.ts";

interface Options {
  keys: number;
  seconds: number;
  shards: number | undefined;
  warmN: number;
}

const USAGE = `usage: deno run --allow-all bench/replication_vs_redis.ts [--keys 1000000]
       [--seconds 10] [--shards N] [--quick]`;

function parseOptions(argv: string[]): Options {
  const o: Options = { keys: 1_000_000, seconds: 10, shards: undefined, warmN: 200_000 };
  const int = (set: (n: number) => void): FlagHandler => (value, flag) =>
    set(positiveInt(flag, value()));
  const given = parseFlags(argv, USAGE, {
    "--keys": int((n) => o.keys = n),
    "--seconds": int((n) => o.seconds = n),
    "--shards": int((n) => o.shards = n),
    "--quick": () => {},
  });
  const quick = given.has("--quick");
  if (quick) {
    if (!given.has("--keys")) o.keys = 100_000;
    if (!given.has("--seconds")) o.seconds = 3;
    o.warmN = 50_000;
  }
  return o;
}

const MB = 1e6;
const mbps = (bytes: number, ms: number) => bytes / MB / (ms / 1000);
const fmtRate = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "n/a");

async function str(c: RespClient, args: string[]): Promise<string> {
  return await c.str(args);
}

async function binlogPositions(c: RespClient): Promise<string[]> {
  const r = await c.call(["TESSERA", "BINLOG"]);
  if (!Array.isArray(r)) {
    throw new Error(`TESSERA BINLOG: ${r instanceof RespError ? r.message : r}`);
  }
  return r.map(String);
}

// ---------------------------------------------------------------------------------------------
// full sync

interface FullSync {
  /** ms from REPLICAOF until in sync. */
  totalMs: number;
  bytes: number;
  /** Tessera: `ms` of tessera_last_full_sync (from the start of the full sync, so it includes
   * waiting for the master's snapshot); Redis: the copy phase from the log. */
  reportedMs: number;
  /** ms from REPLICAOF until the data can be sent (Tessera: the master's snapshot is saved, or
   * the full sync started when a snapshot was reused; Redis: the replica starts receiving). */
  untilCopyMs: number;
  /** Copy phase (Tessera: until "full sync copied"; Redis: until "Flushing old data"). */
  copyMs: number;
  /** Install (Tessera) / RDB load (Redis) on the replica. */
  installMs: number;
  /** From the end of the install / load until the in-sync condition was seen. */
  afterMs: number;
  /** Tessera: how long the master took to write the snapshot ("saved in N ms"); NaN if reused. */
  snapshotMs: number;
  detail: string;
  digestOk?: boolean;
  dbsizeOk: boolean;
}

/** Epoch ms of the first line at or after `from` (epoch ms) matching `pattern`; NaN if none. */
function logEvent(
  log: string,
  pattern: RegExp,
  from: number,
  stamp: (line: string) => number,
): { at: number; line: string } {
  for (const line of log.split("\n")) {
    if (!pattern.test(line)) continue;
    const at = stamp(line);
    if (at >= from - 2) return { at, line };
  }
  return { at: NaN, line: "" };
}

/** Tessera log lines start with `2026-11-22 02:12:55.381 +00:00`. */
function tesseraStamp(line: string): number {
  const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d{3}) ([+-]\d\d:\d\d)/.exec(line);
  return m ? Date.parse(`${m[1]}T${m[2]}${m[3]}`) : NaN;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** Redis log lines: `pid:S 22 Nov 2026 02:05:53.851 * message` (local time). */
function redisStamp(line: string): number {
  const m = / (\d{1,2}) (\w{3}) (\d{4}) (\d\d):(\d\d):(\d\d)\.(\d{3}) /.exec(line);
  if (!m) return NaN;
  return new Date(
    Number(m[3]),
    MONTHS.indexOf(m[2]!),
    Number(m[1]),
    Number(m[4]),
    Number(m[5]),
    Number(m[6]),
    Number(m[7]),
  ).getTime();
}

async function tesseraFullSync(
  master: ServerProc,
  replica: ServerProc,
  force: boolean,
): Promise<FullSync> {
  const mc = await RespClient.connect(master.port);
  const rc = await RespClient.connect(replica.port);
  try {
    const wall0 = Date.now();
    const t0 = performance.now();
    const args = ["REPLICAOF", "127.0.0.1", String(master.port)];
    if (force) args.push("FORCE");
    await str(rc, args);
    const deadline = t0 + 300_000;
    for (;;) {
      checkStopping();
      const [rp, mpos, rpos] = await Promise.all([
        rc.info("replication"),
        binlogPositions(mc),
        binlogPositions(rc),
      ]);
      const now = performance.now();
      const last = rp.get("tessera_last_full_sync") ?? "";
      if (last.startsWith("err")) throw new Error(`Tessera full sync failed: ${last}`);
      if (
        rp.get("tessera_sync_state") === "connected" && last.startsWith("ok") &&
        mpos.join(",") === rpos.join(",")
      ) {
        const totalMs = now - t0;
        const [md, rd, mn, rn] = await Promise.all([
          mc.call(["TESSERA", "DIGEST"]),
          rc.call(["TESSERA", "DIGEST"]),
          mc.int(["DBSIZE"]),
          rc.int(["DBSIZE"]),
        ]);
        // The phases come from the two logs (ms timestamps); give the pipes a moment.
        await sleep(200);
        const needed = logEvent(replica.log, /full sync needed/, wall0, tesseraStamp);
        const saved = logEvent(master.log, /snapshot \S+ saved in \d+ ms/, wall0, tesseraStamp);
        const copied = logEvent(replica.log, /full sync copied snapshot/, wall0, tesseraStamp);
        const installed = logEvent(replica.log, /installed snapshot/, wall0, tesseraStamp);
        const copyFrom = Number.isNaN(saved.at) ? needed.at : saved.at;
        return {
          totalMs,
          bytes: Number(/bytes=(\d+)/.exec(last)?.[1]),
          reportedMs: Number(/ms=(\d+)/.exec(last)?.[1]),
          untilCopyMs: copyFrom - wall0,
          copyMs: copied.at - copyFrom,
          installMs: installed.at - copied.at,
          afterMs: totalMs - (installed.at - wall0),
          snapshotMs: Number(/saved in (\d+) ms/.exec(saved.line)?.[1]),
          detail: last,
          digestOk: JSON.stringify(md) === JSON.stringify(rd),
          dbsizeOk: mn === rn,
        };
      }
      if (now > deadline) {
        throw new Error(`Tessera replica not in sync after 300 s: ${[...rp].join(" ")}`);
      }
      await sleep(20);
    }
  } finally {
    mc.close();
    rc.close();
  }
}

async function redisFullSync(master: ServerProc, replica: ServerProc): Promise<FullSync> {
  const mc = await RespClient.connect(master.port);
  const rc = await RespClient.connect(replica.port);
  try {
    const count = await mc.int(["DBSIZE"]);
    const wall0 = Date.now();
    const t0 = performance.now();
    await str(rc, ["REPLICAOF", "127.0.0.1", String(master.port)]);
    let readBytes = 0;
    const deadline = t0 + 300_000;
    for (;;) {
      checkStopping();
      const rp = await rc.info("replication");
      const now = performance.now();
      readBytes = Math.max(readBytes, Number(rp.get("master_sync_read_bytes") ?? 0));
      if (rp.get("master_link_status") === "up" && rp.get("master_sync_in_progress") === "0") {
        const n = await rc.call(["DBSIZE"]);
        if (n === count) {
          const totalMs = performance.now() - t0;
          await sleep(200);
          const log = replica.log;
          const start = logEvent(
            log,
            /receiving streamed RDB|receiving \d+ bytes from master/,
            wall0,
            redisStamp,
          );
          const flush = logEvent(log, /Flushing old data/, wall0, redisStamp);
          const done = logEvent(log, /sync: Finished with success/, wall0, redisStamp);
          const rdb = await pathBytes(`${replica.dir}/dump.rdb`);
          const bytes = rdb > 0 ? rdb : readBytes;
          return {
            totalMs,
            bytes,
            reportedMs: flush.at - start.at,
            untilCopyMs: start.at - wall0,
            copyMs: flush.at - start.at,
            installMs: done.at - flush.at,
            afterMs: totalMs - (done.at - wall0),
            snapshotMs: NaN,
            detail: `RDB ${bytes} bytes`,
            dbsizeOk: true,
          };
        }
      }
      if (now > deadline) throw new Error(`Redis replica not in sync after 300 s`);
      await sleep(20);
    }
  } finally {
    mc.close();
    rc.close();
  }
}

// ---------------------------------------------------------------------------------------------
// lag under load

interface Sample {
  /** Replica lag in bytes of the replication stream / binlog. */
  lag: number;
  /** Master's total offset (bytes). */
  master: number;
  /** True when master and replica are exactly at the same position. */
  equal: boolean;
}

interface LagRun {
  rps: number;
  error?: string;
  loadMs: number;
  samples: number;
  maxLag: number;
  p99Lag: number;
  p50Lag: number;
  /** Bytes the master wrote per second during the load. */
  bytesPerSec: number;
  /** Bytes per SET in the stream (master offset delta / requests). */
  bytesPerOp: number;
  catchUpMs: number;
}

function tesseraSampler(
  mc: RespClient,
  rc: RespClient,
  fileSize: number,
): () => Promise<Sample> {
  const abs = (p: string) => {
    const [f, o] = p.split(":").map(Number);
    return (f ?? 0) * fileSize + (o ?? 0);
  };
  return async () => {
    const [m, r] = await Promise.all([binlogPositions(mc), binlogPositions(rc)]);
    let lag = 0;
    let master = 0;
    for (let i = 0; i < m.length; i++) {
      master += abs(m[i]!);
      lag += Math.max(0, abs(m[i]!) - abs(r[i] ?? "0:0"));
    }
    return { lag, master, equal: m.join(",") === r.join(",") };
  };
}

function redisSampler(mc: RespClient, rc: RespClient): () => Promise<Sample> {
  return async () => {
    const [m, r] = await Promise.all([mc.info("replication"), rc.info("replication")]);
    const mo = Number(m.get("master_repl_offset"));
    const ro = Number(r.get("slave_repl_offset"));
    return { lag: Math.max(0, mo - ro), master: mo, equal: mo === ro };
  };
}

async function waitEqual(sample: () => Promise<Sample>, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    checkStopping();
    if ((await sample()).equal) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) return NaN;
    await sleep(10);
  }
}

/** The write load: redis-benchmark SET, 50 clients, pipeline 16, 100k random keys. */
const loadArgs = (n: number) => [
  "-t",
  "set",
  "-c",
  "50",
  "-P",
  "16",
  "-r",
  "100000",
  "-n",
  String(n),
];

async function lagUnderLoad(
  master: ServerProc,
  sample: () => Promise<Sample>,
  opts: Options,
): Promise<LagRun> {
  // Warm-up with the replica attached (results only seed the chunk size).
  const warm = await redisBenchmark(master.port, loadArgs(opts.warmN));
  checkStopping();
  if (warm.error) throw new Error(`${master.label} warm-up: ${warm.error}`);
  await waitEqual(sample, 120_000);
  const before = await sample();
  // The load: back-to-back redis-benchmark runs of about 1 s each (sized from the previous
  // run's rate) until --seconds have passed, so the load lasts about as long on both servers.
  let running = true;
  let rate = warm.rps;
  let requests = 0;
  let error: string | undefined;
  const t0 = performance.now();
  const load = (async () => {
    try {
      while (performance.now() - t0 < opts.seconds * 1000 && !isStopping()) {
        const n = Math.max(5_000, Math.round(rate));
        const r = await redisBenchmark(master.port, loadArgs(n));
        if (r.error) {
          error = r.error;
          break;
        }
        requests += n;
        rate = r.rps;
      }
    } finally {
      running = false;
    }
    return performance.now();
  })();
  const lags: number[] = [];
  let lastMaster = before.master;
  while (running) {
    const s0 = performance.now();
    const s = await sample();
    if (!running) break;
    lags.push(s.lag);
    lastMaster = s.master;
    await sleep(Math.max(0, 100 - (performance.now() - s0)));
  }
  const loadEnd = await load;
  const catchUpMs = await waitEqual(sample, 300_000);
  const after = await sample();
  const loadMs = loadEnd - t0;
  lastMaster = Math.max(lastMaster, after.master);
  const written = lastMaster - before.master;
  return {
    rps: requests / (loadMs / 1000),
    error,
    loadMs,
    samples: lags.length,
    maxLag: Math.max(0, ...lags),
    p99Lag: percentile(lags, 99),
    p50Lag: median(lags),
    bytesPerSec: written / (loadMs / 1000),
    bytesPerOp: written / requests,
    catchUpMs,
  };
}

// ---------------------------------------------------------------------------------------------
// main

interface SystemResult {
  full: FullSync;
  forced?: FullSync;
  lag: LagRun;
  lagCheck: string;
  /** The load's ops/s on the master before a replica was attached. */
  soloRps: number;
}

async function runSystem(kind: Kind, opts: Options, root: string): Promise<SystemResult> {
  const shards = opts.shards === undefined ? [] : ["--shards", String(opts.shards)];
  const mdir = `${root}/${kind}-master`;
  const rdir = `${root}/${kind}-replica`;
  await Deno.mkdir(mdir, { recursive: true });
  await Deno.mkdir(rdir, { recursive: true });
  const master = kind === "tessera"
    ? new ServerProc("tessera", mdir, [...shards, "--loglevel", "notice"], true)
    : new ServerProc("redis", mdir, ["--repl-diskless-sync-delay", "0"]);
  const replica = kind === "tessera"
    ? new ServerProc("tessera", rdir, [...shards, "--loglevel", "notice"], true)
    : new ServerProc("redis", rdir, [], true);
  try {
    await master.start();
    const loadMs = await loadPipe(master.port, stringsResp(opts.keys), opts.keys);
    console.error(
      `  ${master.label} master loaded ${fmtInt(opts.keys)} keys in ${fmtMs(loadMs)} ms`,
    );
    // The same write load without a replica, for reference (also warms Tessera's JIT up).
    const solo = await redisBenchmark(master.port, loadArgs(opts.warmN));
    checkStopping();
    await replica.start();
    const full = kind === "tessera"
      ? await tesseraFullSync(master, replica, false)
      : await redisFullSync(master, replica);
    console.error(
      `  ${master.label} full sync ${fmtMs(full.totalMs)} ms, ${
        fmtBytes(full.bytes)
      } (${full.detail})`,
    );
    let forced: FullSync | undefined;
    if (kind === "tessera") {
      forced = await tesseraFullSync(master, replica, true);
      console.error(`  Tessera forced full sync (snapshot reused) ${fmtMs(forced.totalMs)} ms`);
    }
    const mc = await RespClient.connect(master.port);
    const rc = await RespClient.connect(replica.port);
    try {
      let sample: () => Promise<Sample>;
      if (kind === "tessera") {
        const cfg = await mc.call(["CONFIG", "GET", "binlog-file-size"]);
        const fileSize = Array.isArray(cfg) ? Number(cfg[1]) : NaN;
        if (!Number.isFinite(fileSize)) throw new Error(`CONFIG GET binlog-file-size: ${cfg}`);
        sample = tesseraSampler(mc, rc, fileSize);
      } else {
        sample = redisSampler(mc, rc);
      }
      const lag = await lagUnderLoad(master, sample, opts);
      console.error(
        `  ${master.label} lag max ${fmtBytes(lag.maxLag)}, catch-up ${fmtMs(lag.catchUpMs)} ms`,
      );
      const [mn, rn] = await Promise.all([mc.int(["DBSIZE"]), rc.int(["DBSIZE"])]);
      let lagCheck = `DBSIZE master ${mn}, replica ${rn}`;
      if (kind === "tessera") {
        const [md, rd] = await Promise.all([
          mc.call(["TESSERA", "DIGEST"]),
          rc.call(["TESSERA", "DIGEST"]),
        ]);
        lagCheck += `, TESSERA DIGEST ${
          JSON.stringify(md) === JSON.stringify(rd) ? "equal" : "DIFFERENT"
        }`;
      }
      return { full, forced, lag, lagCheck, soloRps: solo.rps };
    } finally {
      mc.close();
      rc.close();
    }
  } finally {
    await replica.kill();
    await master.kill();
    await Deno.remove(mdir, { recursive: true }).catch(() => {});
    await Deno.remove(rdir, { recursive: true }).catch(() => {});
  }
}

async function main(): Promise<number> {
  let opts: Options;
  try {
    opts = parseOptions(Deno.args);
  } catch (e) {
    console.error(`replication_vs_redis: ${e instanceof Error ? e.message : e}`);
    return 2;
  }
  for (const cmd of ["redis-server", "redis-cli", "redis-benchmark"]) {
    if (!hasCommand(cmd)) {
      console.error(`replication_vs_redis: ${cmd} is not on PATH`);
      return 2;
    }
  }
  const started = performance.now();
  printHeader("Replication: Tessera vs Redis");
  console.log(
    `settings:  Tessera main.ts --dir <temp> --save ''${
      opts.shards
        ? ` --shards ${opts.shards}`
        : ` (default shards: ${navigator.hardwareConcurrency || 1})`
    }, master and replica; Redis --save '' --appendonly no, master with ` +
      `--repl-diskless-sync-delay 0`,
  );
  console.log(
    `dataset:   ${fmtInt(opts.keys)} strings (key:NNNNNNNNNNNN -> 16-byte value) on the master, ` +
      `loaded with redis-cli --pipe; replica on a fresh dir\n`,
  );
  const root = await tempDir("tessera-rbench-");
  const results = new Map<Kind, SystemResult>();
  for (const kind of ["tessera", "redis"] as Kind[]) {
    console.error(`[${((performance.now() - started) / 1000).toFixed(0)}s] ${kind}`);
    results.set(kind, await runSystem(kind, opts, root));
  }
  const t = results.get("tessera")!;
  const r = results.get("redis")!;
  const row = (what: string, tv: number, rv: number, f: (n: number) => string) => [
    what,
    f(tv),
    f(rv),
    fmtRatio(tv / rv),
  ];

  console.log(`## 1. Full sync of ${fmtInt(opts.keys)} keys to a fresh replica\n`);
  console.log(table(["measure", "Tessera", "Redis", "Tessera/Redis"], [
    row("REPLICAOF -> in sync (ms)", t.full.totalMs, r.full.totalMs, fmtMs),
    row("  until the copy can start (ms)", t.full.untilCopyMs, r.full.untilCopyMs, fmtMs),
    row("    of which master snapshot (ms)", t.full.snapshotMs, r.full.snapshotMs, fmtMs),
    row("  copy (ms)", t.full.copyMs, r.full.copyMs, fmtMs),
    row("  install / load on the replica (ms)", t.full.installMs, r.full.installMs, fmtMs),
    row("  then until seen in sync (ms)", t.full.afterMs, r.full.afterMs, fmtMs),
    row("bytes transferred", t.full.bytes, r.full.bytes, fmtBytes),
    row(
      "rate, MB/s: bytes / last_full_sync ms (Redis: copy)",
      mbps(t.full.bytes, t.full.reportedMs),
      mbps(r.full.bytes, r.full.reportedMs),
      fmtRate,
    ),
    row(
      "rate, MB/s: bytes / copy row",
      mbps(t.full.bytes, t.full.copyMs),
      mbps(r.full.bytes, r.full.copyMs),
      fmtRate,
    ),
    row(
      "rate, MB/s: bytes / REPLICAOF -> in sync",
      mbps(t.full.bytes, t.full.totalMs),
      mbps(r.full.bytes, r.full.totalMs),
      fmtRate,
    ),
  ], 1));
  console.log(
    `\nTessera: ${t.full.detail}; replica DBSIZE ${
      t.full.dbsizeOk ? "equal" : "DIFFERENT"
    }, TESSERA DIGEST ${t.full.digestOk ? "equal" : "DIFFERENT"}. Phases from the logs: ` +
      `"full sync needed" (replica), "snapshot ... saved in N ms" (master), "full sync copied ` +
      `snapshot" and "installed snapshot" (replica); last_full_sync ms counts from the start of ` +
      `the full sync, i.e. it includes waiting for the master's snapshot.`,
  );
  if (t.forced) {
    const f = t.forced;
    console.log(
      `Tessera, REPLICAOF ... FORCE right after (the master's snapshot is reused): ${
        fmtMs(f.totalMs)
      } ms in total: copy ${fmtMs(f.copyMs)} ms (${
        fmtRate(mbps(f.bytes, f.copyMs))
      } MB/s; last_full_sync ms=${f.reportedMs}), install ${fmtMs(f.installMs)} ms; DIGEST ${
        f.digestOk ? "equal" : "DIFFERENT"
      }.`,
    );
  }
  console.log(
    `Redis: ${r.full.detail} (the replica's dump.rdb, diskless sync: the master writes the RDB ` +
      `into the socket while the replica receives it); phases from the replica's log: ` +
      `"receiving streamed RDB", "Flushing old data", "Finished with success".`,
  );

  console.log(
    `\n## 2. Replica lag under write load (redis-benchmark -t set -c 50 -P 16 -r 100000, ` +
      `back-to-back ~1 s runs for ${opts.seconds} s; lag sampled every 100 ms)\n`,
  );
  console.log(table(["measure", "Tessera", "Redis", "Tessera/Redis"], [
    row("load ops/s", t.lag.rps, r.lag.rps, fmtInt),
    row(`  same load, no replica (-n ${opts.warmN})`, t.soloRps, r.soloRps, fmtInt),
    row("load duration (ms)", t.lag.loadMs, r.lag.loadMs, fmtMs),
    row("lag samples", t.lag.samples, r.lag.samples, fmtInt),
    row("lag max", t.lag.maxLag, r.lag.maxLag, fmtBytes),
    row("lag p99", t.lag.p99Lag, r.lag.p99Lag, fmtBytes),
    row("lag p50", t.lag.p50Lag, r.lag.p50Lag, fmtBytes),
    row(
      "lag max in ms of writes (max / bytes per s)",
      (t.lag.maxLag / t.lag.bytesPerSec) * 1000,
      (r.lag.maxLag / r.lag.bytesPerSec) * 1000,
      fmtMs,
    ),
    row("stream bytes per SET", t.lag.bytesPerOp, r.lag.bytesPerOp, (n) => n.toFixed(1)),
    row("catch-up after the load stops (ms)", t.lag.catchUpMs, r.lag.catchUpMs, fmtMs),
  ], 1));
  console.log(
    `\nAfter catch-up: Tessera ${t.lagCheck}; Redis ${r.lagCheck}.` +
      ` Tessera lag = sum over shards of master - replica binlog position (file * ` +
      `binlog-file-size + offset); Redis lag = master_repl_offset - replica slave_repl_offset.`,
  );
  for (const [name, v] of [["Tessera", t], ["Redis", r]] as const) {
    if (v.lag.error) console.log(`error: ${name} load: ${v.lag.error}`);
  }
  console.log(
    `\ntotal time ${((performance.now() - started) / 1000).toFixed(0)}s, load avg after: ${
      Deno.loadavg().map((x) => x.toFixed(2)).join(" ")
    }`,
  );
  return 0;
}

if (import.meta.main) await runMain("replication_vs_redis", main);
