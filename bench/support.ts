/**
 * Helpers shared by the Tessera-vs-Redis bench scripts (vs_redis.ts, persistence_vs_redis.ts,
 * replication_vs_redis.ts): formatting and tables, option parsing, interruption and cleanup
 * (children, servers, temp dirs), a minimal RESP2 client, server processes, dataset generation
 * and loading, and a redis-benchmark runner.
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

/** The CPU model from /proc/cpuinfo ("?" when unknown). */
export function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(Deno.readTextFileSync("/proc/cpuinfo"));
    return m?.[1]?.trim() ?? "?";
  } catch {
    return "?";
  }
}

import { freePort } from "../tests/support/redis_process.ts";
export { freePort };

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

/** `v` as a positive integer, or an error naming `flag`. */
export function positiveInt(flag: string, v: string | undefined): number {
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n) || n < 1) {
    throw new Error(`${flag} needs a positive integer, got '${v ?? ""}'`);
  }
  return n;
}

/** What {@link parseFlags} calls for a flag: `value()` reads its value (`--flag v` or `--flag=v`). */
export type FlagHandler = (value: () => string | undefined, flag: string) => void;

/**
 * Walks the command line: each flag goes to its handler; `--help`/`-h` print `usage` and exit;
 * an unknown flag throws. Returns the flags that were given (for `--quick` defaults).
 */
export function parseFlags(
  argv: string[],
  usage: string,
  handlers: Record<string, FlagHandler>,
): Set<string> {
  const given = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf("=");
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const value = () => (eq === -1 ? argv[++i] : arg.slice(eq + 1));
    if (flag === "--help" || flag === "-h") {
      console.log(usage);
      Deno.exit(0);
    }
    const handle = handlers[flag];
    if (handle === undefined) throw new Error(`unknown flag '${arg}'\n${usage}`);
    given.add(flag);
    handle(value, flag);
  }
  return given;
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

/** Prints the machine / versions header the bench scripts share. */
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

/** Tracks a child process: killed on interrupt and at cleanup until it is released. */
export function ownChild(child: Deno.ChildProcess): void {
  ownedChildren.add(child);
}

/** Stops tracking a child process (it has ended). */
export function releaseChild(child: Deno.ChildProcess): void {
  ownedChildren.delete(child);
}

/** Extra cleanup steps, run after the children and servers are stopped, before the temp dirs go. */
const cleanupHooks: Array<() => Promise<void>> = [];

/** Registers an extra cleanup step (see `runMain`). */
export function onCleanup(step: () => Promise<void>): void {
  cleanupHooks.push(step);
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
    for (const step of cleanupHooks.splice(0)) await step().catch(() => {});
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
