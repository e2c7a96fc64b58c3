/**
 * Persistence, Tessera vs Redis, in one run:
 *
 *   deno run --allow-all bench/persistence_vs_redis.ts [--keys 1000000] [--hashes 100000]
 *     [--fields 10] [--rounds 3] [--n 200000] [--latency-n 100000] [--shards N] [--quick]
 *
 * 1. SAVE and restart: the dataset (`--keys` string keys, then `--hashes` hashes of `--fields`
 *    fields) is loaded with `redis-cli --pipe`, then each round times `SAVE` (wall time of the
 *    command), kills the server with SIGKILL, starts it again on the same data directory and times
 *    until PING answers and DBSIZE equals the count (Redis from its dump.rdb; Tessera from its
 *    snapshot plus the binlog after it). One server at a time, so they never compete for the CPUs.
 * 2. SET latency during BGSAVE: on the string dataset, `redis-benchmark -t set -c 50 -r 100000
 *    -P 1 --csv` once without and once while BGSAVEs run back to back for the whole benchmark
 *    (p50/p99 from redis-benchmark's CSV).
 * 3. SET throughput with persistence: `redis-benchmark -t set -c 50 -n N -r 100000 -P {1,16}`
 *    with appendfsync everysec and always (Redis `--appendonly yes --appendfsync X`, Tessera
 *    `--dir <temp> --appendfsync X`), both servers up, alternating who goes first.
 *
 * Both servers run with `--save ''` (no automatic snapshots in the middle of a measurement).
 * Everything (servers, redis-benchmark, temp dirs) is cleaned up on exit, error, Ctrl-C or
 * SIGTERM.
 */
import {
  type BenchResult,
  checkStopping,
  type FlagHandler,
  fmtBytes,
  fmtInt,
  fmtLat,
  fmtMs,
  fmtRatio,
  hasCommand,
  hashesResp,
  type Kind,
  loadPipe,
  median,
  parseFlags,
  pathBytes,
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

// ---------------------------------------------------------------------------------------------
// options

interface Options {
  keys: number;
  hashes: number;
  fields: number;
  rounds: number;
  n: number;
  latencyN: number;
  shards: number | undefined;
}

const USAGE = `usage: deno run --allow-all bench/persistence_vs_redis.ts [--keys 1000000]
       [--hashes 100000] [--fields 10] [--rounds 3] [--n 200000] [--latency-n 100000]
       [--shards N] [--quick]`;

function parseOptions(argv: string[]): Options {
  const o: Options = {
    keys: 1_000_000,
    hashes: 100_000,
    fields: 10,
    rounds: 3,
    n: 200_000,
    latencyN: 100_000,
    shards: undefined,
  };
  const int = (set: (n: number) => void): FlagHandler => (value, flag) =>
    set(positiveInt(flag, value()));
  const given = parseFlags(argv, USAGE, {
    "--keys": int((n) => o.keys = n),
    "--hashes": int((n) => o.hashes = n),
    "--fields": int((n) => o.fields = n),
    "--rounds": int((n) => o.rounds = n),
    "--n": int((n) => o.n = n),
    "--latency-n": int((n) => o.latencyN = n),
    "--shards": int((n) => o.shards = n),
    "--quick": () => {},
  });
  const quick = given.has("--quick");
  if (quick) {
    if (!given.has("--keys")) o.keys = 100_000;
    if (!given.has("--hashes")) o.hashes = 10_000;
    if (!given.has("--rounds")) o.rounds = 1;
    if (!given.has("--n")) o.n = 20_000;
    if (!given.has("--latency-n")) o.latencyN = 20_000;
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// 1. SAVE and restart

interface SaveRestart {
  loadMs: number;
  save: number[];
  ready: number[];
  firstPong: number[];
  /** Bytes of the newest snapshot (Tessera) / dump.rdb (Redis). */
  snapshotBytes: number;
  /** Tessera: bytes of the binlog directory. */
  binlogBytes: number;
  digestOk?: boolean;
}

function shardFlags(opts: Options): string[] {
  return opts.shards === undefined ? [] : ["--shards", String(opts.shards)];
}

async function newestSnapshotBytes(dir: string): Promise<number> {
  const snaps: string[] = [];
  try {
    for await (const e of Deno.readDir(`${dir}/snapshots`)) {
      if (e.isDirectory && !e.name.startsWith("tmp")) snaps.push(e.name);
    }
  } catch {
    return NaN;
  }
  snaps.sort();
  const last = snaps.at(-1);
  return last === undefined ? NaN : await pathBytes(`${dir}/snapshots/${last}`);
}

/**
 * Starts a fresh server, loads `data`, then `rounds` times: SAVE, SIGKILL, restart on the same
 * dir, wait until PING + DBSIZE. Leaves the server running (returned) for the next section.
 */
async function saveAndRestart(
  kind: Kind,
  opts: Options,
  root: string,
  data: Uint8Array,
  commands: number,
  count: number,
  label: string,
): Promise<{ result: SaveRestart; server: ServerProc }> {
  const dir = `${root}/${kind}-${label}`;
  await Deno.mkdir(dir, { recursive: true });
  const server = new ServerProc(kind, dir, kind === "tessera" ? shardFlags(opts) : []);
  await server.start();
  const loadMs = await loadPipe(server.port, data, commands);
  const c0 = await RespClient.connect(server.port);
  const n = await c0.int(["DBSIZE"]);
  const digest = kind === "tessera" ? await c0.call(["TESSERA", "DIGEST"]) : undefined;
  c0.close();
  if (n !== count) throw new Error(`${server.label}: DBSIZE ${n} after loading, expected ${count}`);
  const result: SaveRestart = {
    loadMs,
    save: [],
    ready: [],
    firstPong: [],
    snapshotBytes: NaN,
    binlogBytes: NaN,
  };
  for (let r = 0; r < opts.rounds; r++) {
    checkStopping();
    const c = await RespClient.connect(server.port);
    const t0 = performance.now();
    const ok = await c.call(["SAVE"], 600_000);
    const saveMs = performance.now() - t0;
    c.close();
    if (ok !== "OK") throw new Error(`${server.label} SAVE: ${ok}`);
    result.save.push(saveMs);
    if (r === 0) {
      result.snapshotBytes = kind === "tessera"
        ? await newestSnapshotBytes(dir)
        : await pathBytes(`${dir}/dump.rdb`);
      if (kind === "tessera") result.binlogBytes = await pathBytes(`${dir}/binlog`);
    }
    await server.kill("SIGKILL");
    const t = await server.start(count);
    result.ready.push(t.ready);
    result.firstPong.push(t.firstPong);
    console.error(
      `  ${server.label} ${label} round ${r + 1}: SAVE ${fmtMs(saveMs)} ms, restart ready ` +
        `${fmtMs(t.ready)} ms (first PONG ${fmtMs(t.firstPong)} ms)`,
    );
  }
  if (digest !== undefined) {
    const c = await RespClient.connect(server.port);
    const after = await c.call(["TESSERA", "DIGEST"]);
    c.close();
    result.digestOk = JSON.stringify(after) === JSON.stringify(digest);
  }
  return { result, server };
}

// ---------------------------------------------------------------------------------------------
// 2. latency during BGSAVE

interface BgsaveRun {
  bench: BenchResult;
  /** BGSAVEs that ran (at least partly) during the benchmark. */
  saves: number;
  /** Median duration of those BGSAVEs (ms, from the command until INFO shows it finished). */
  saveMs: number;
  /** Fraction of the benchmark's wall time during which a BGSAVE was in progress. */
  coverage: number;
}

async function bgsaveInProgress(c: RespClient): Promise<boolean> {
  return (await c.info("persistence")).get("rdb_bgsave_in_progress") === "1";
}

/** Runs `benchArgs` while BGSAVEs run back to back (the first one starts before the benchmark). */
async function benchDuringBgsave(server: ServerProc, benchArgs: string[]): Promise<BgsaveRun> {
  const c = await RespClient.connect(server.port);
  try {
    while (await bgsaveInProgress(c)) await sleep(20);
    const intervals: [number, number][] = [];
    let stop = false;
    let firstStarted!: () => void;
    const started = new Promise<void>((r) => firstStarted = r);
    const loop = (async () => {
      while (!stop) {
        const t = performance.now();
        const r = await c.call(["BGSAVE"]);
        if (r instanceof RespError) {
          if (/in progress/i.test(r.message)) {
            await sleep(10);
            continue;
          }
          throw new Error(`${server.label} BGSAVE: ${r.message}`);
        }
        firstStarted();
        while (await bgsaveInProgress(c)) await sleep(10);
        intervals.push([t, performance.now()]);
      }
    })();
    await Promise.race([started, loop]);
    const b0 = performance.now();
    const bench = await redisBenchmark(server.port, benchArgs);
    const b1 = performance.now();
    stop = true;
    await loop;
    let covered = 0;
    let saves = 0;
    const durations: number[] = [];
    for (const [s, e] of intervals) {
      const o = Math.min(e, b1) - Math.max(s, b0);
      if (o > 0) {
        covered += o;
        saves++;
        durations.push(e - s);
      }
    }
    return { bench, saves, saveMs: median(durations), coverage: covered / (b1 - b0) };
  } finally {
    c.close();
  }
}

// ---------------------------------------------------------------------------------------------
// main

async function main(): Promise<number> {
  let opts: Options;
  try {
    opts = parseOptions(Deno.args);
  } catch (e) {
    console.error(`persistence_vs_redis: ${e instanceof Error ? e.message : e}`);
    return 2;
  }
  for (const cmd of ["redis-server", "redis-cli", "redis-benchmark"]) {
    if (!hasCommand(cmd)) {
      console.error(`persistence_vs_redis: ${cmd} is not on PATH`);
      return 2;
    }
  }
  const started = performance.now();
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)}s`;
  printHeader("Persistence: Tessera vs Redis");
  console.log(
    `settings:  Tessera main.ts --dir <temp> --save '' --appendfsync everysec (binlog always on)` +
      `${
        opts.shards
          ? ` --shards ${opts.shards}`
          : ` (default shards: ${navigator.hardwareConcurrency || 1})`
      }; ` +
      `Redis --save '' --appendonly no (sections 1-2), --appendonly yes (section 3)`,
  );
  console.log(
    `datasets:  ${fmtInt(opts.keys)} strings (key:NNNNNNNNNNNN -> 16-byte value), ` +
      `${fmtInt(opts.hashes)} hashes x ${opts.fields} fields (12-byte values), ` +
      `loaded with redis-cli --pipe; ${opts.rounds} round(s) of SAVE + restart\n`,
  );
  const root = await tempDir("tessera-pbench-");

  // ---- 0: the fixed cost of a start (empty data dir), to read the restart times against
  const emptyStart = new Map<Kind, number>();
  for (const kind of ["tessera", "redis"] as Kind[]) {
    const times: number[] = [];
    for (let r = 0; r < opts.rounds; r++) {
      const dir = `${root}/${kind}-empty-${r}`;
      await Deno.mkdir(dir, { recursive: true });
      const server = new ServerProc(kind, dir, kind === "tessera" ? shardFlags(opts) : []);
      times.push((await server.start(0)).ready);
      await server.kill();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
    emptyStart.set(kind, median(times));
  }

  // ---- 1 + 2: strings: SAVE / restart, then latency during BGSAVE on the same dataset
  const strings = stringsResp(opts.keys);
  const latArgs = [
    "-t",
    "set",
    "-c",
    "50",
    "-n",
    String(opts.latencyN),
    "-r",
    "100000",
    "-P",
    "1",
  ];
  const sr = new Map<string, SaveRestart>();
  const lat = new Map<Kind, { base: BenchResult; bg: BgsaveRun }>();
  for (const kind of ["tessera", "redis"] as Kind[]) {
    console.error(`[${elapsed()}] strings, ${kind}`);
    const { result, server } = await saveAndRestart(
      kind,
      opts,
      root,
      strings,
      opts.keys,
      opts.keys,
      "strings",
    );
    sr.set(`strings/${kind}`, result);
    // Warm-up (JIT), then the baseline and the run during BGSAVEs.
    await redisBenchmark(server.port, [...latArgs.slice(0, 5), "20000", ...latArgs.slice(6)]);
    checkStopping();
    const base = await redisBenchmark(server.port, latArgs);
    checkStopping();
    const bg = await benchDuringBgsave(server, latArgs);
    checkStopping();
    lat.set(kind, { base, bg });
    console.error(
      `  ${server.label} SET p50/p99 ${fmtLat(base.p50)}/${fmtLat(base.p99)} ms without BGSAVE, ` +
        `${fmtLat(bg.bench.p50)}/${fmtLat(bg.bench.p99)} ms during ${bg.saves} BGSAVE(s)`,
    );
    await server.kill();
    await Deno.remove(server.dir, { recursive: true }).catch(() => {});
  }

  // ---- 1: hashes
  const hashes = hashesResp(opts.hashes, opts.fields);
  for (const kind of ["tessera", "redis"] as Kind[]) {
    console.error(`[${elapsed()}] hashes, ${kind}`);
    const { result, server } = await saveAndRestart(
      kind,
      opts,
      root,
      hashes,
      opts.hashes,
      opts.hashes,
      "hashes",
    );
    sr.set(`hashes/${kind}`, result);
    await server.kill();
    await Deno.remove(server.dir, { recursive: true }).catch(() => {});
  }

  // ---- 3: SET throughput with appendfsync everysec / always
  const tput = new Map<string, number[]>();
  const tputErrors = new Set<string>();
  for (const fsync of ["everysec", "always"]) {
    console.error(`[${elapsed()}] SET throughput, appendfsync ${fsync}`);
    const tdir = `${root}/tessera-aof-${fsync}`;
    const rdir = `${root}/redis-aof-${fsync}`;
    await Deno.mkdir(tdir, { recursive: true });
    await Deno.mkdir(rdir, { recursive: true });
    const servers = [
      new ServerProc("tessera", tdir, ["--appendfsync", fsync, ...shardFlags(opts)]),
      new ServerProc("redis", rdir, ["--appendonly", "yes", "--appendfsync", fsync]),
    ];
    for (const s of servers) await s.start();
    const args = (p: number, n: number) => [
      "-t",
      "set",
      "-c",
      "50",
      "-n",
      String(n),
      "-r",
      "100000",
      "-P",
      String(p),
    ];
    for (const s of servers) await redisBenchmark(s.port, args(16, Math.min(opts.n, 20_000)));
    for (let round = 0; round < opts.rounds; round++) {
      for (const p of [1, 16]) {
        const order = (round + p) % 2 === 0 ? servers : [...servers].reverse();
        for (const s of order) {
          checkStopping();
          const r = await redisBenchmark(s.port, args(p, opts.n));
          const key = `${fsync}/${p}/${s.kind}`;
          tput.set(key, [...(tput.get(key) ?? []), r.rps]);
          if (r.error) tputErrors.add(`${s.label} ${fsync} -P ${p}: ${r.error}`);
          console.error(
            `  round ${round + 1} -P ${p} ${s.label}: ${
              r.error ? `error: ${r.error}` : `${fmtInt(r.rps)} ops/s`
            }`,
          );
        }
      }
    }
    for (const s of servers) {
      await s.kill();
      await Deno.remove(s.dir, { recursive: true }).catch(() => {});
    }
  }

  // ---- report
  const rows: string[][] = [[
    "empty data dir",
    "start until PING + DBSIZE 0 (ms)",
    fmtMs(emptyStart.get("tessera")!),
    fmtMs(emptyStart.get("redis")!),
    fmtRatio(emptyStart.get("tessera")! / emptyStart.get("redis")!),
  ]];
  const dsLabel = {
    strings: `${fmtInt(opts.keys)} strings`,
    hashes: `${fmtInt(opts.hashes)} hashes x ${opts.fields}`,
  };
  for (const ds of ["strings", "hashes"] as const) {
    const t = sr.get(`${ds}/tessera`)!;
    const r = sr.get(`${ds}/redis`)!;
    const row = (what: string, tv: number, rv: number, f: (n: number) => string) =>
      rows.push([dsLabel[ds], what, f(tv), f(rv), fmtRatio(tv / rv)]);
    row("SAVE (ms)", median(t.save), median(r.save), fmtMs);
    row("restart until DBSIZE ok (ms)", median(t.ready), median(r.ready), fmtMs);
    row("  of which until first PONG (ms)", median(t.firstPong), median(r.firstPong), fmtMs);
    row("snapshot / dump.rdb size", t.snapshotBytes, r.snapshotBytes, fmtBytes);
    row("load with redis-cli --pipe (ms)", t.loadMs, r.loadMs, fmtMs);
  }
  console.log(`## 1. SAVE and restart (median of ${opts.rounds} round(s))\n`);
  console.log(table(["dataset", "measure", "Tessera", "Redis", "Tessera/Redis"], rows, 2));
  const notes: string[] = [];
  for (const ds of ["strings", "hashes"] as const) {
    const t = sr.get(`${ds}/tessera`)!;
    notes.push(
      `${ds}: Tessera binlog after loading ${fmtBytes(t.binlogBytes)}` +
        (t.digestOk === undefined
          ? ""
          : `, TESSERA DIGEST after the restarts ${
            t.digestOk ? "equals" : "DIFFERS FROM"
          } the one before`),
    );
  }
  console.log(
    `\nRestart = SIGKILL, spawn on the same dir, poll PING + DBSIZE every 5 ms (includes process` +
      ` start: Deno + workers for Tessera).\n${notes.join("\n")}`,
  );

  const lt = lat.get("tessera")!;
  const lr = lat.get("redis")!;
  const lrow = (what: string, tv: number, rv: number, f: (n: number) => string) => [
    what,
    f(tv),
    f(rv),
    fmtRatio(tv / rv),
  ];
  console.log(
    `\n## 2. SET latency during BGSAVE (${fmtInt(opts.keys)} keys; redis-benchmark ${
      latArgs.join(" ")
    })\n`,
  );
  console.log(table(["measure", "Tessera", "Redis", "Tessera/Redis"], [
    lrow("p50 ms, no BGSAVE", lt.base.p50, lr.base.p50, fmtLat),
    lrow("p50 ms, during BGSAVE", lt.bg.bench.p50, lr.bg.bench.p50, fmtLat),
    lrow("p99 ms, no BGSAVE", lt.base.p99, lr.base.p99, fmtLat),
    lrow("p99 ms, during BGSAVE", lt.bg.bench.p99, lr.bg.bench.p99, fmtLat),
    lrow("max ms, no BGSAVE", lt.base.max, lr.base.max, fmtLat),
    lrow("max ms, during BGSAVE", lt.bg.bench.max, lr.bg.bench.max, fmtLat),
    lrow("ops/s, no BGSAVE", lt.base.rps, lr.base.rps, fmtInt),
    lrow("ops/s, during BGSAVE", lt.bg.bench.rps, lr.bg.bench.rps, fmtInt),
    lrow("BGSAVEs during the run", lt.bg.saves, lr.bg.saves, fmtInt),
    lrow("BGSAVE duration under load (ms, median)", lt.bg.saveMs, lr.bg.saveMs, fmtMs),
    lrow(
      "run time covered by a BGSAVE (%)",
      lt.bg.coverage * 100,
      lr.bg.coverage * 100,
      (n) => n.toFixed(0),
    ),
  ], 1));
  for (const [name, v] of [["Tessera", lt], ["Redis", lr]] as const) {
    for (const b of [v.base, v.bg.bench]) if (b.error) console.log(`error: ${name}: ${b.error}`);
  }

  console.log(
    `\n## 3. SET throughput with persistence (redis-benchmark -t set -c 50 -n ${opts.n} ` +
      `-r 100000; median of ${opts.rounds} round(s))\n`,
  );
  const trows: string[][] = [];
  for (const fsync of ["everysec", "always"]) {
    for (const p of [1, 16]) {
      const tv = median((tput.get(`${fsync}/${p}/tessera`) ?? []).filter(Number.isFinite));
      const rv = median((tput.get(`${fsync}/${p}/redis`) ?? []).filter(Number.isFinite));
      trows.push([fsync, String(p), fmtInt(tv), fmtInt(rv), fmtRatio(tv / rv)]);
    }
  }
  console.log(
    table(["appendfsync", "pipeline", "Tessera ops/s", "Redis ops/s", "Tessera/Redis"], trows, 1),
  );
  if (tputErrors.size) {
    console.log("\nerrors:");
    for (const e of tputErrors) console.log(`  - ${e}`);
  }
  console.log(
    `\ntotal time ${elapsed()}, load avg after: ${
      Deno.loadavg().map((x) => x.toFixed(2)).join(" ")
    }`,
  );
  return 0;
}

if (import.meta.main) await runMain("persistence_vs_redis", main);
