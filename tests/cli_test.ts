/**
 * The command line as a user runs it: `deno run main.ts` in a separate process, with flags,
 * config files and signals.
 */
import assert from "node:assert/strict";
import { VERSION } from "../server/version.ts";
import { freePort, TesseraProcess } from "./support/redis_process.ts";
import { ReplyError, RespClient } from "./resp_client.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** A temporary directory, removed on dispose. */
async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "tessera-cli-" });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}

/** Rejects with `what` if `p` has not settled within `ms`. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function isError(v: unknown, prefix: string): boolean {
  return v instanceof ReplyError && v.message.startsWith(prefix);
}

async function canConnect(port: number): Promise<boolean> {
  try {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    c.close();
    return true;
  } catch {
    return false;
  }
}

/** Runs main.ts to completion (it is killed after `timeoutMs`) and returns its output. */
async function runMain(args: string[], timeoutMs = 30_000) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MAIN, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, timeoutMs);
  try {
    const out = await child.output();
    const dec = new TextDecoder();
    return {
      code: out.code,
      signal: out.signal,
      stdout: dec.decode(out.stdout),
      stderr: dec.decode(out.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * main.ts spawned with its stdout and stderr captured into one text, which tests can wait on.
 */
class CapturedProcess implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  output = "";
  readonly #drained: Promise<void>;
  #waiters: (() => void)[] = [];

  constructor(args: string[]) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", MAIN, ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#drained = Promise.all([this.#drain(this.child.stdout), this.#drain(this.child.stderr)])
      .then(() => {});
  }

  async #drain(stream: ReadableStream<Uint8Array>): Promise<void> {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      this.output += text;
      for (const w of this.#waiters) w();
    }
  }

  /** Resolves with the first output line matching `re`. */
  waitForLine(re: RegExp, timeoutMs = 30_000): Promise<string> {
    return within(
      new Promise<string>((resolve) => {
        const check = () => {
          const line = this.output.split("\n").find((l) => re.test(l));
          if (line !== undefined) {
            this.#waiters = this.#waiters.filter((w) => w !== check);
            resolve(line);
          }
        };
        this.#waiters.push(check);
        check();
      }),
      timeoutMs,
      `output line ${re}; got ${JSON.stringify(this.output)}`,
    );
  }

  /** Sends `signal` and waits for the exit and the end of the output. */
  async stop(signal: Deno.Signal, timeoutMs = 5_000): Promise<Deno.CommandStatus> {
    try {
      this.child.kill(signal);
    } catch {
      // already gone
    }
    const status = await within(this.child.status, timeoutMs, `exit after ${signal}`);
    await this.#drained;
    return status;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await this.child.status;
    await this.#drained;
  }
}

async function waitForPort(port: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await canConnect(port))) {
    if (Date.now() > deadline) throw new Error(`port ${port} did not open in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

Deno.test("main.ts serves PING and commands on the given port", async () => {
  await using dir = await tempDir();
  await using proc = await TesseraProcess.start(["--dir", dir.path, "--shards", "2"]);
  await using c = await RespClient.connect({ port: proc.port });
  assert.equal(await c.call("PING"), "PONG");
  assert.equal(await c.call("PING", "hello"), "hello");
  assert.equal(await c.call("SET", "k", "v"), "OK");
  assert.equal(await c.call("GET", "k"), "v");
  assert.equal(await c.call("DBSIZE"), 1);
  assert.deepEqual(await c.call("CONFIG", "GET", "port"), ["port", String(proc.port)]);
  assert.deepEqual(await c.call("CONFIG", "GET", "dir"), ["dir", dir.path]);
});

Deno.test("--requirepass: commands need AUTH (NOAUTH), a wrong password is WRONGPASS", async () => {
  await using dir = await tempDir();
  await using proc = await TesseraProcess.start([
    "--dir",
    dir.path,
    "--shards",
    "2",
    "--requirepass",
    "s3cret",
  ]);
  await using c = await RespClient.connect({ port: proc.port });
  const noauth = await c.call("GET", "k");
  assert.ok(isError(noauth, "NOAUTH Authentication required"), String(noauth));
  assert.ok(isError(await c.call("PING"), "NOAUTH"));
  assert.ok(isError(await c.call("SET", "k", "v"), "NOAUTH"));
  const wrong = await c.call("AUTH", "nope");
  assert.ok(isError(wrong, "WRONGPASS"), String(wrong));
  assert.ok(isError(await c.call("GET", "k"), "NOAUTH"));
  assert.equal(await c.call("AUTH", "s3cret"), "OK");
  assert.equal(await c.call("PING"), "PONG");
  assert.equal(await c.call("SET", "k", "v"), "OK");
  assert.equal(await c.call("GET", "k"), "v");
  assert.equal(await c.call("AUTH", "default", "s3cret"), "OK");

  // Authentication is per connection.
  await using other = await RespClient.connect({ port: proc.port });
  assert.ok(isError(await other.call("GET", "k"), "NOAUTH"));
  assert.equal(await other.call("AUTH", "default", "s3cret"), "OK");
  assert.equal(await other.call("GET", "k"), "v");
});

Deno.test("--config FILE: redis.conf-style lines, comments, quotes; flags override the file", async () => {
  await using dir = await tempDir();
  const filePort = freePort();
  const conf = `${dir.path}/tessera.conf`;
  await Deno.writeTextFile(
    conf,
    [
      "# Tessera test configuration",
      "",
      `port ${filePort}`,
      `dir "${dir.path}"`,
      '   requirepass "file secret"   ',
      "  # an indented comment",
      "shards 1",
      "hz 25",
      "maxclients 77",
      "appendfsync always",
      "",
    ].join("\n"),
  );
  // TesseraProcess passes `--port <free port>`, which must win over the file's port.
  await using proc = await TesseraProcess.start(["--config", conf, "--shards", "2"]);
  assert.notEqual(proc.port, filePort);
  assert.equal(await canConnect(filePort), false, "the file's port is overridden by --port");
  await using c = await RespClient.connect({ port: proc.port });
  assert.ok(isError(await c.call("GET", "k"), "NOAUTH"), "requirepass from the file applies");
  assert.ok(isError(await c.call("AUTH", "file"), "WRONGPASS"));
  assert.equal(await c.call("AUTH", "file secret"), "OK", "the quoted value keeps its space");
  assert.deepEqual(await c.call("CONFIG", "GET", "hz"), ["hz", "25"]);
  assert.deepEqual(await c.call("CONFIG", "GET", "maxclients"), ["maxclients", "77"]);
  assert.deepEqual(await c.call("CONFIG", "GET", "appendfsync"), ["appendfsync", "always"]);
  assert.deepEqual(await c.call("CONFIG", "GET", "port"), ["port", String(proc.port)]);
  assert.deepEqual(await c.call("CONFIG", "GET", "dir"), ["dir", dir.path]);
  const info = await c.call("INFO", "tessera") as string;
  assert.match(info, /^shards:2\r?$/m, "--shards 2 overrides the file's 'shards 1'");
});

Deno.test("other --name value flags (and --name=value) set config keys", async () => {
  await using dir = await tempDir();
  await using proc = await TesseraProcess.start([
    "--dir",
    dir.path,
    "--shards",
    "1",
    "--hz",
    "42",
    "--maxclients=123",
    "--appendfsync",
    "no",
    "--loglevel",
    "warning",
  ]);
  await using c = await RespClient.connect({ port: proc.port });
  assert.deepEqual(await c.call("CONFIG", "GET", "hz"), ["hz", "42"]);
  assert.deepEqual(await c.call("CONFIG", "GET", "maxclients"), ["maxclients", "123"]);
  assert.deepEqual(await c.call("CONFIG", "GET", "appendfsync"), ["appendfsync", "no"]);
  assert.deepEqual(await c.call("CONFIG", "GET", "loglevel"), ["loglevel", "warning"]);
  const info = await c.call("INFO", "server") as string;
  assert.match(info, /^hz:42\r?$/m);
});

Deno.test("--shards 3 shows shards:3 in INFO tessera and keys spread over the three", async () => {
  await using dir = await tempDir();
  await using proc = await TesseraProcess.start(["--dir", dir.path, "--shards", "3"]);
  await using c = await RespClient.connect({ port: proc.port });
  const keys = Array.from({ length: 60 }, (_, i) => `k${i}`);
  assert.equal(await c.call("MSET", ...keys.flatMap((k) => [k, "v"])), "OK");
  const info = await c.call("INFO", "tessera") as string;
  assert.match(info, /^# Tessera\r?$/m);
  assert.match(info, /^shards:3\r?$/m);
  const perShard = [...info.matchAll(/^shard(\d+):keys=(\d+)/gm)].map((m) => Number(m[2]));
  assert.equal(perShard.length, 3);
  assert.equal(perShard.reduce((a, b) => a + b, 0), 60);
  assert.ok(perShard.every((n) => n > 0), `every shard holds keys: ${perShard}`);
});

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test(`${signal} shuts the server down cleanly (exit 0) and keeps the data`, async () => {
    await using dir = await tempDir();
    const port = freePort();
    {
      await using proc = await TesseraProcess.start(["--dir", dir.path, "--shards", "2"], port);
      await using c = await RespClient.connect({ port: proc.port });
      assert.equal(await c.call("SET", "kept", signal), "OK");
      assert.equal(await c.call("RPUSH", "list", "a", "b", "c"), 3);
      // A connected client must not hold the shutdown up.
      const t0 = performance.now();
      const status = await within(proc.kill(signal), 5_000, `exit after ${signal}`);
      const ms = performance.now() - t0;
      assert.equal(status.code, 0, `exit code after ${signal}`);
      assert.equal(status.success, true);
      assert.equal(status.signal, null, "it exits by itself rather than dying of the signal");
      assert.ok(ms < 5_000, `shutdown took ${ms} ms`);
      await within(c.closed, 5_000, "the client connection is closed by the shutdown");
      assert.equal(await canConnect(port), false, "the port is released");
    }
    // A restart on the same --dir finds what was written before the signal.
    await using again = await TesseraProcess.start(["--dir", dir.path, "--shards", "2"], port);
    await using c2 = await RespClient.connect({ port: again.port });
    assert.equal(await c2.call("GET", "kept"), signal);
    assert.deepEqual(await c2.call("LRANGE", "list", "0", "-1"), ["a", "b", "c"]);
  });
}

Deno.test("bad command lines exit non-zero with a message on stderr", async () => {
  await using dir = await tempDir();
  const port = String(freePort());
  const cases: [string[], RegExp][] = [
    [["--port"], /missing value for --port/],
    [["--port", port, "stray"], /unexpected argument 'stray'/],
    [["--port", port, "--no-such-option", "1"], /no-such-option/],
    [["--port", "notaport"], /'port'.*integer/],
    [["--port", port, "--shards", "0"], /shards must be between 1 and 256/],
    [["--port", port, "--appendfsync", "sometimes"], /appendfsync/],
    [["--port", port, "--config", `${dir.path}/missing.conf`], /missing\.conf/],
  ];
  for (const [args, message] of cases) {
    const out = await runMain(["--dir", dir.path, ...args]);
    assert.notEqual(out.code, 0, `${args.join(" ")} must fail; stdout ${out.stdout}`);
    assert.equal(out.signal, null, `${args.join(" ")} exits by itself`);
    assert.match(out.stderr, message, `${args.join(" ")}: stderr ${JSON.stringify(out.stderr)}`);
  }

  // A config file with a bad line names the line.
  const conf = `${dir.path}/bad.conf`;
  await Deno.writeTextFile(conf, "# comment\nport 1234\nhz lots\n");
  const out = await runMain(["--dir", dir.path, "--config", conf]);
  assert.notEqual(out.code, 0);
  assert.match(out.stderr, /line 3/);
  assert.match(out.stderr, /hz/);
});

Deno.test("a port already in use: exits non-zero with a message", async () => {
  await using dir = await tempDir();
  using blocker = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (blocker.addr as Deno.NetAddr).port;
  const out = await runMain(["--dir", dir.path, "--shards", "1", "--port", String(port)]);
  assert.notEqual(out.code, 0);
  assert.equal(out.signal, null);
  assert.match(out.stdout + out.stderr, /cannot start|in use/i);
});

Deno.test("the start-up log line shows version, address, shard count and pid", async () => {
  await using dir = await tempDir();
  const port = freePort();
  await using proc = new CapturedProcess([
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    dir.path,
    "--shards",
    "2",
  ]);
  const line = await proc.waitForLine(/listening/);
  assert.ok(line.includes(VERSION), `version ${VERSION} in: ${line}`);
  assert.ok(line.includes(`127.0.0.1:${port}`), `address 127.0.0.1:${port} in: ${line}`);
  assert.match(line, /\b2 shards\b/, `shard count in: ${line}`);
  assert.match(line, new RegExp(`\\bpid ${proc.child.pid}\\b`), `pid in: ${line}`);
  await waitForPort(port);
  {
    await using c = await RespClient.connect({ port });
    assert.equal(await c.call("PING"), "PONG");
  }
  const status = await proc.stop("SIGTERM");
  assert.equal(status.code, 0);
  assert.match(proc.output, /shutting down/);
  assert.doesNotMatch(proc.output, /error|exception|uncaught/i, proc.output);
});

Deno.test("--loglevel warning hides the informational start-up line", async () => {
  await using dir = await tempDir();
  const port = freePort();
  await using proc = new CapturedProcess([
    "--port",
    String(port),
    "--dir",
    dir.path,
    "--shards",
    "1",
    "--loglevel",
    "warning",
  ]);
  await waitForPort(port);
  {
    await using c = await RespClient.connect({ port });
    assert.equal(await c.call("PING"), "PONG");
  }
  const status = await proc.stop("SIGTERM");
  assert.equal(status.code, 0);
  assert.doesNotMatch(proc.output, /listening/, proc.output);
});
