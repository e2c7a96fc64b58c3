/**
 * Starts a real redis-server on a free loopback port for differential tests.
 */

/** A free TCP port on 127.0.0.1 (bound, then released). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}

/** True when a command is on PATH. */
export function hasCommand(name: string): boolean {
  try {
    const out = new Deno.Command("sh", {
      args: ["-c", `command -v ${name}`],
      stdout: "null",
      stderr: "null",
    })
      .outputSync();
    return out.success;
  } catch {
    return false;
  }
}

async function waitForPort(
  port: number,
  child: Deno.ChildProcess,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      c.close();
      return;
    } catch {
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`port ${port} did not open in ${timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** A running redis-server; dispose to stop it. */
export class RedisProcess implements AsyncDisposable {
  readonly port: number;
  readonly child: Deno.ChildProcess;
  readonly dir: string;

  private constructor(port: number, child: Deno.ChildProcess, dir: string) {
    this.port = port;
    this.child = child;
    this.dir = dir;
  }

  /** Starts redis-server with persistence off unless `extra` says otherwise. */
  static async start(extra: string[] = []): Promise<RedisProcess> {
    const port = freePort();
    const dir = await Deno.makeTempDir({ prefix: "tessera-redis-" });
    const child = new Deno.Command("redis-server", {
      args: [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        dir,
        ...extra,
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    await waitForPort(port, child);
    return new RedisProcess(port, child, dir);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await this.child.status;
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

/** Starts `deno run main.ts` as a separate process with the given flags. */
export class TesseraProcess implements AsyncDisposable {
  readonly port: number;
  readonly child: Deno.ChildProcess;

  private constructor(port: number, child: Deno.ChildProcess) {
    this.port = port;
    this.child = child;
  }

  static async start(flags: string[] = [], port = freePort()): Promise<TesseraProcess> {
    const main = new URL("../../main.ts", import.meta.url).pathname;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", main, "--port", String(port), ...flags],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // Drain output so the child never blocks on a full pipe.
    void child.stdout.pipeTo(new WritableStream()).catch(() => {});
    void child.stderr.pipeTo(new WritableStream()).catch(() => {});
    await waitForPort(port, child, 30_000);
    return new TesseraProcess(port, child);
  }

  /** Kills the process with `signal` and waits for it to end. */
  async kill(signal: Deno.Signal = "SIGKILL"): Promise<Deno.CommandStatus> {
    try {
      this.child.kill(signal);
    } catch {
      // already gone
    }
    return await this.child.status;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.kill("SIGKILL");
  }
}
