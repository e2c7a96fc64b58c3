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
 *
 * The exported helpers (RESP client, server processes, redis-benchmark runner, tables) are also
 * used by bench/replication_vs_redis.ts.
 */
import { VERSION } from "../server/version.ts";

// ---------------------------------------------------------------------------------------------
// small helpers

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function commandOutput(cmd: string, args: string[]): string {
  try {
    const out = new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).outputSync();
    return new TextDecoder().decode(out.stdout).trim();
  } catch {
    return "?";
  }
}

export function hasCommand(name: string): boolean {
  return commandOutput("sh", ["-c", `command -v ${name} || true`]) !== "";
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(Deno.readTextFileSync("/proc/cpuinfo"));
    return m?.[1]?.trim() ?? "?";
  } catch {
    return "?";
  }
}

/** A free TCP port on 127.0.0.1 (bound, then released). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * s.length));
  return s[Math.min(s.length, rank) - 1]!;
}

export const fmtInt = (n: number) =>
  Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "n/a";
export const fmtMs = (n: number) =>
  Number.isFinite(n) ? (n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(1)) : "n/a";
export const fmtLat = (n: number) => (Number.isFinite(n) ? n.toFixed(3) : "n/a");
export const fmtRatio = (r: number) => (Number.isFinite(r) ? `${r.toFixed(2)}x` : "n/a");

export function fmtBytes(n: number): string {
  if (!Number.isFinite(n)) return "n/a";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** A markdown table; the first `leftCols` columns left-aligned, the rest right-aligned. */
export function table(header: string[], rows: string[][], leftCols = 1): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    "| " +
    cells.map((c, i) => (i < leftCols ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(
      " | ",
    ) +
    " |";
  const sep = "| " +
    widths.map((w, i) => (i < leftCols ? "-".repeat(w) : "-".repeat(w - 1) + ":")).join(" | ") +
    " |";
  return [line(header), sep, ...rows.map(line)].join("\n");
}

/** Total size in bytes of the files under `path` (a file's own size when it is a file). */
export async function pathBytes(path: string): Promise<number> {
  try {
    const st = await Deno.stat(path);
    if (st.isFile) return st.size;
    let total = 0;
    for await (const e of Deno.readDir(path)) total += await pathBytes(`${path}/${e.name}`);
    return total;
  } catch {
    return 0;
  }
}

/** Prints the machine / versions header both scripts share. */
export function printHeader(title: string): void {
  console.log(`# ${title}`);
  console.log(
    `machine:   ${commandOutput("nproc", [])} CPUs (nproc), ${cpuModel()}, ` +
      `${Deno.build.os}/${Deno.build.arch}`,
  );
  console.log(`load avg:  ${Deno.loadavg().map((x) => x.toFixed(2)).join(" ")} (before the run)`);
  console.log(
    `versions:  Tessera ${VERSION}, Deno ${Deno.version.deno} (V8 ${Deno.version.v8}), ` +
      `${commandOutput("redis-server", ["--version"]).replace(/ sha=.*$/, "")}, ` +
      `${commandOutput("redis-benchmark", ["--version"])}`,
  );
}

// ---------------------------------------------------------------------------------------------
// interruption and cleanup

/** Set on SIGINT/SIGTERM: the run unwinds to its cleanup. */
let stopping = false;

export function checkStopping(): void {
  if (stopping) throw new Error("interrupted");
}

export function isStopping(): boolean {
  return stopping;
}

/** Children (redis-benchmark, redis-cli) to kill on cleanup. */
const ownedChildren = new Set<Deno.ChildProcess>();
/** Temp dirs to remove on cleanup. */
const ownedDirs: string[] = [];

function killQuietly(child: Deno.ChildProcess, signal: Deno.Signal = "SIGKILL"): void {
  try {
    child.kill(signal);
  } catch {
    // already gone
  }
}

/** A temp dir removed at cleanup. */
export async function tempDir(prefix: string): Promise<string> {
  const d = await Deno.makeTempDir({ prefix });
  ownedDirs.push(d);
  return d;
}

let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const c of [...ownedChildren]) {
      killQuietly(c);
      await c.status.catch(() => {});
    }
    ownedChildren.clear();
    for (const p of [...ServerProc.running]) await p.kill().catch(() => {});
    for (const d of ownedDirs.splice(0)) await Deno.remove(d, { recursive: true }).catch(() => {});
  })();
  return cleaning;
}

/** Runs `main` with signal handling and cleanup; exits the process with its code. */
export async function runMain(name: string, main: () => Promise<number>): Promise<never> {
  const onSignal = () => {
    if (stopping) {
      void cleanup().finally(() => Deno.exit(130));
      return;
    }
    console.error(`\n${name}: interrupted, stopping servers`);
    stopping = true;
    for (const c of ownedChildren) killQuietly(c);
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  let code = 1;
  try {
    code = await main();
  } catch (e) {
    if (!stopping) console.error(`${name}: ${e instanceof Error ? e.stack ?? e.message : e}`);
  } finally {
    await cleanup();
  }
  Deno.removeSignalListener("SIGINT", onSignal);
  Deno.removeSignalListener("SIGTERM", onSignal);
  Deno.exit(stopping ? 130 : code);
}

// ---------------------------------------------------------------------------------------------
// a minimal RESP2 client

export class RespError extends Error {}
export type Reply = string | number | null | RespError | Reply[];

const latin1 = new TextDecoder("latin1");

function encodeCommand(args: string[]): Uint8Array {
  let s = `*${args.length}\r\n`;
  for (const a of args) s += `$${a.length}\r\n${a}\r\n`;
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Parses one reply from `buf` at `pos`; undefined when incomplete. */
function parseReply(buf: string, pos: number): [Reply, number] | undefined {
  const eol = buf.indexOf("\r\n", pos);
  if (eol === -1) return undefined;
  const type = buf[pos];
  const line = buf.slice(pos + 1, eol);
  const next = eol + 2;
  switch (type) {
    case "+":
      return [line, next];
    case "-":
      return [new RespError(line), next];
    case ":":
      return [Number(line), next];
    case "$": {
      const len = Number(line);
      if (len < 0) return [null, next];
      if (buf.length < next + len + 2) return undefined;
      return [buf.slice(next, next + len), next + len + 2];
    }
    case "*": {
      const n = Number(line);
      if (n < 0) return [null, next];
      const items: Reply[] = [];
      let p = next;
      for (let i = 0; i < n; i++) {
        const r = parseReply(buf, p);
        if (r === undefined) return undefined;
        items.push(r[0]);
        p = r[1];
      }
      return [items, p];
    }
    default:
      throw new Error(`bad RESP reply type '${type}'`);
  }
}

/** One connection; calls are serialised. */
export class RespClient {
  readonly #conn: Deno.TcpConn;
  #buf = "";
  #chain: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  static async connect(port: number): Promise<RespClient> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    return new RespClient(conn);
  }

  /** Sends a command and returns its reply (error replies are RespError values). */
  call(args: string[], timeoutMs = 300_000): Promise<Reply> {
    const run = this.#chain.then(() => this.#call(args, timeoutMs));
    this.#chain = run.catch(() => {});
    return run;
  }

  /** Like call, but throws error replies and requires a string. */
  async str(args: string[], timeoutMs?: number): Promise<string> {
    const r = await this.call(args, timeoutMs);
    if (r instanceof RespError) throw new Error(`${args.join(" ")}: ${r.message}`);
    if (typeof r !== "string") throw new Error(`${args.join(" ")}: unexpected reply ${r}`);
    return r;
  }

  async int(args: string[], timeoutMs?: number): Promise<number> {
    const r = await this.call(args, timeoutMs);
    if (r instanceof RespError) throw new Error(`${args.join(" ")}: ${r.message}`);
    if (typeof r !== "number") throw new Error(`${args.join(" ")}: unexpected reply ${r}`);
    return r;
  }

  /** INFO section as a field map. */
  async info(section: string): Promise<Map<string, string>> {
    return parseInfo(await this.str(["INFO", section]));
  }

  async #call(args: string[], timeoutMs: number): Promise<Reply> {
    if (this.#closed) throw new Error("connection closed");
    const data = encodeCommand(args);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.close();
        reject(new Error(`${args[0]} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
    });
    const reply = (async () => {
      let written = 0;
      while (written < data.length) written += await this.#conn.write(data.subarray(written));
      return await this.#readReply();
    })();
    reply.catch(() => {});
    try {
      return await Promise.race([reply, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #readReply(): Promise<Reply> {
    const chunk = new Uint8Array(64 * 1024);
    for (;;) {
      if (this.#buf.length > 0) {
        const r = parseReply(this.#buf, 0);
        if (r !== undefined) {
          this.#buf = this.#buf.slice(r[1]);
          return r[0];
        }
      }
      const n = await this.#conn.read(chunk);
      if (n === null) {
        this.close();
        throw new Error("connection closed by the server");
      }
      this.#buf += latin1.decode(chunk.subarray(0, n));
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }
}

export function parseInfo(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split("\r\n")) {
    const i = line.indexOf(":");
    if (i > 0 && !line.startsWith("#")) m.set(line.slice(0, i), line.slice(i + 1));
  }
  return m;
}

// ---------------------------------------------------------------------------------------------
// server processes

export type Kind = "tessera" | "redis";

const MAIN_TS = new URL("../main.ts", import.meta.url).pathname;

/**
 * A Tessera (`deno run main.ts`) or redis-server process on a fixed port and data directory, so
 * that it can be killed and started again on the same data. Its output is kept (all of it when
 * `keepLog`, else the last 4 KB) for error messages and log parsing.
 */
export class ServerProc {
  static readonly running = new Set<ServerProc>();
  readonly kind: Kind;
  readonly port: number;
  readonly dir: string;
  readonly extra: string[];
  readonly keepLog: boolean;
  child: Deno.ChildProcess | undefined;
  log = "";

  constructor(kind: Kind, dir: string, extra: string[] = [], keepLog = false) {
    this.kind = kind;
    this.port = freePort();
    this.dir = dir;
    this.extra = extra;
    this.keepLog = keepLog;
  }

  get label(): string {
    return this.kind === "tessera" ? "Tessera" : "Redis";
  }

  get pid(): number {
    return this.child?.pid ?? -1;
  }

  /** Spawns the process; does not wait for it to listen (see waitReady / start). */
  spawn(): void {
    const args = this.kind === "tessera"
      ? [
        "run",
        "--allow-all",
        MAIN_TS,
        "--port",
        String(this.port),
        "--dir",
        this.dir,
        "--save",
        "",
        "--loglevel",
        "warning",
        ...this.extra,
      ]
      : [
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--dir",
        this.dir,
        "--save",
        "",
        "--appendonly",
        "no",
        ...this.extra,
      ];
    const child = new Deno.Command(this.kind === "tessera" ? Deno.execPath() : "redis-server", {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.child = child;
    this.log = "";
    ServerProc.running.add(this);
    const append = (s: string) => {
      this.log += s;
      if (!this.keepLog && this.log.length > 8192) this.log = this.log.slice(-4096);
    };
    for (const stream of [child.stdout, child.stderr]) {
      void stream.pipeThrough(new TextDecoderStream()).pipeTo(
        new WritableStream<string>({ write: append }),
      ).catch(() => {});
    }
  }

  /** Spawns and waits until PING answers (and, with `dbsize`, until DBSIZE equals it). */
  async start(dbsize?: number, timeoutMs = 120_000): Promise<ReadyTimes> {
    const t0 = performance.now();
    this.spawn();
    return await this.waitReady(t0, dbsize, timeoutMs);
  }

  /**
   * Polls (every 5 ms) until PING answers PONG and DBSIZE equals `dbsize` (when given). Times are
   * from `t0`. A LOADING error or a refused connection just means "not yet".
   */
  async waitReady(t0: number, dbsize: number | undefined, timeoutMs: number): Promise<ReadyTimes> {
    const deadline = t0 + timeoutMs;
    let client: RespClient | undefined;
    let firstPong = NaN;
    let exited = false;
    const child = this.child!;
    void child.status.then(() => exited = true);
    try {
      for (;;) {
        checkStopping();
        if (exited) {
          throw new Error(`${this.label} exited while starting:\n${this.log.slice(-2000)}`);
        }
        if (performance.now() > deadline) {
          throw new Error(
            `${this.label} not ready after ${timeoutMs} ms:\n${this.log.slice(-2000)}`,
          );
        }
        try {
          client ??= await RespClient.connect(this.port);
          if (Number.isNaN(firstPong)) {
            if ((await client.call(["PING"], 10_000)) === "PONG") {
              firstPong = performance.now() - t0;
            }
          }
          if (!Number.isNaN(firstPong)) {
            if (dbsize === undefined) return { firstPong, ready: firstPong };
            const n = await client.call(["DBSIZE"], 10_000);
            if (n === dbsize) return { firstPong, ready: performance.now() - t0 };
          }
        } catch {
          client?.close();
          client = undefined;
        }
        await sleep(5);
      }
    } finally {
      client?.close();
    }
  }

  async kill(signal: Deno.Signal = "SIGKILL"): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    killQuietly(child, signal);
    await child.status.catch(() => {});
    this.child = undefined;
    ServerProc.running.delete(this);
  }
}

export interface ReadyTimes {
  /** ms from spawn until PING answered PONG. */
  firstPong: number;
  /** ms from spawn until PING answered and DBSIZE equalled the count. */
  ready: number;
}

// ---------------------------------------------------------------------------------------------
// data generation and loading

function asciiBytes(parts: string[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let o = 0;
  for (const p of parts) {
    for (let i = 0; i < p.length; i++) out[o++] = p.charCodeAt(i);
  }
  return out;
}

const bulk = (s: string) => `$${s.length}\r\n${s}\r\n`;

/** The name redis-benchmark -r uses: `key:` and 12 digits. */
export const benchKey = (i: number) => `key:${String(i).padStart(12, "0")}`;

/** RESP for `count` SETs of `key:000000000000`.. (redis-benchmark's key names), 16-byte values. */
export function stringsResp(count: number): Uint8Array {
  const parts: string[] = [];
  let chunk = "";
  for (let i = 0; i < count; i++) {
    chunk += `*3\r\n$3\r\nSET\r\n${bulk(benchKey(i))}${bulk(`v${String(i).padStart(15, "0")}`)}`;
    if (chunk.length > 1 << 16) {
      parts.push(chunk);
      chunk = "";
    }
  }
  parts.push(chunk);
  return asciiBytes(parts);
}

/** RESP for `count` HSETs of `hash:NNNNNNNNN` with `fields` fields (`field:F` → 12-byte values). */
export function hashesResp(count: number, fields: number): Uint8Array {
  const parts: string[] = [];
  let chunk = "";
  for (let i = 0; i < count; i++) {
    chunk += `*${2 + 2 * fields}\r\n$4\r\nHSET\r\n${bulk(`hash:${String(i).padStart(9, "0")}`)}`;
    for (let f = 0; f < fields; f++) {
      chunk += bulk(`field:${f}`) + bulk(`v${String(i * fields + f).padStart(11, "0")}`);
    }
    if (chunk.length > 1 << 16) {
      parts.push(chunk);
      chunk = "";
    }
  }
  parts.push(chunk);
  return asciiBytes(parts);
}

/** Sends `data` with `redis-cli --pipe`; returns the wall time in ms. Throws on any error reply. */
export async function loadPipe(port: number, data: Uint8Array, commands: number): Promise<number> {
  checkStopping();
  const t0 = performance.now();
  const child = new Deno.Command("redis-cli", {
    args: ["-h", "127.0.0.1", "-p", String(port), "--pipe", "--pipe-timeout", "120"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  ownedChildren.add(child);
  try {
    const w = child.stdin.getWriter();
    await w.write(data).catch(() => {});
    await w.close().catch(() => {});
    const out = await child.output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    const m = /errors: (\d+), replies: (\d+)/.exec(text);
    if (!out.success || m === null || Number(m[1]) !== 0 || Number(m[2]) !== commands) {
      throw new Error(`redis-cli --pipe failed: ${text.trim().slice(-500)}`);
    }
    return performance.now() - t0;
  } finally {
    ownedChildren.delete(child);
  }
}

// ---------------------------------------------------------------------------------------------
// redis-benchmark

export interface BenchResult {
  rps: number;
  avg: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** Wall time of the redis-benchmark process in ms. */
  wallMs: number;
  error?: string;
}

/**
 * `redis-benchmark -h 127.0.0.1 -p PORT <args> --csv`; never throws (errors are in the result).
 * The CSV has rps and avg/min/p50/p95/p99/max latency in ms.
 */
export async function redisBenchmark(port: number, args: string[]): Promise<BenchResult> {
  const fail = (error: string): BenchResult => ({
    rps: NaN,
    avg: NaN,
    p50: NaN,
    p95: NaN,
    p99: NaN,
    max: NaN,
    wallMs: NaN,
    error,
  });
  if (stopping) return fail("interrupted");
  const t0 = performance.now();
  const child = new Deno.Command("redis-benchmark", {
    args: ["-h", "127.0.0.1", "-p", String(port), ...args, "--csv"],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  ownedChildren.add(child);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killQuietly(child);
  }, 600_000);
  const out = await child.output();
  clearTimeout(timer);
  ownedChildren.delete(child);
  const wallMs = performance.now() - t0;
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  if (timedOut) return fail("redis-benchmark timed out");
  let res: BenchResult | undefined;
  for (const line of stdout.split("\n")) {
    const c = line.trim().split(",").map((x) => x.replace(/^"|"$/g, ""));
    if (c.length < 8 || c[0] === "test") continue;
    const v = c.slice(1).map(Number);
    if (!v.every(Number.isFinite)) continue;
    res = { rps: v[0]!, avg: v[1]!, p50: v[3]!, p95: v[4]!, p99: v[5]!, max: v[6]!, wallMs };
  }
  const problem = [...stdout.split("\n"), ...stderr.split("\n")]
    .map((l) => l.trim())
    .find((l) => !l.startsWith("WARNING") && /error|could not|refused|reset/i.test(l));
  if (!out.success || res === undefined || problem !== undefined) {
    return fail(problem ?? (stderr.trim() || `redis-benchmark exited with ${out.code}`));
  }
  return res;
}

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

function positiveInt(flag: string, v: string | undefined): number {
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n) || n < 1) {
    throw new Error(`${flag} needs a positive integer, got '${v ?? ""}'`);
  }
  return n;
}

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
  const given = new Set<string>();
  let quick = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf("=");
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const value = () => (eq === -1 ? argv[++i] : arg.slice(eq + 1));
    given.add(flag);
    switch (flag) {
      case "--keys":
        o.keys = positiveInt(flag, value());
        break;
      case "--hashes":
        o.hashes = positiveInt(flag, value());
        break;
      case "--fields":
        o.fields = positiveInt(flag, value());
        break;
      case "--rounds":
        o.rounds = positiveInt(flag, value());
        break;
      case "--n":
        o.n = positiveInt(flag, value());
        break;
      case "--latency-n":
        o.latencyN = positiveInt(flag, value());
        break;
      case "--shards":
        o.shards = positiveInt(flag, value());
        break;
      case "--quick":
        quick = true;
        break;
      case "--help":
      case "-h":
        console.log(USAGE);
        Deno.exit(0);
        break;
      default:
        throw new Error(`unknown flag '${arg}'\n${USAGE}`);
    }
  }
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
