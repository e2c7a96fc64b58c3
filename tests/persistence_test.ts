/**
 * Persistence end to end: damaged binlog and snapshot files at start (real main.ts processes
 * whose output is captured), BGSAVE under concurrent writes checked against an offline
 * snapshot + binlog replay, SAVE/LASTSAVE/INFO persistence, `save` rules, binlog rotation and
 * purge.
 */
import assert from "node:assert/strict";
import { freePort } from "./support/redis_process.ts";
import { ReplyError, type ReplyValue, RespClient } from "./resp_client.ts";
import { TesseraServer } from "../server/server.ts";
import {
  binlogDir,
  binlogFileName,
  FILE_HEADER_SIZE,
  listBinlogFiles,
  readRecords,
  RECORD_HEADER_SIZE,
} from "../engine/binlog.ts";
import { latestSnapshot, listSnapshots, loadShardSnapshot } from "../engine/snapshot.ts";
import { Keyspace } from "../engine/keyspace.ts";
import { Executor } from "../engine/command.ts";
import { COMMANDS } from "../engine/commands.ts";
import { ValueSink } from "../engine/reply.ts";
import { combineDigests, datasetDigest } from "../engine/digest.ts";
import { keySlotOfString, slotShard } from "../engine/slot.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "tessera-persist-" });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}

/** main.ts run as a child whose stdout and stderr are captured into `output`. */
class Server implements AsyncDisposable {
  readonly port: number;
  readonly child: Deno.ChildProcess;
  output = "";
  readonly #drained: Promise<void>;

  constructor(flags: string[]) {
    this.port = freePort();
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", MAIN, "--port", String(this.port), ...flags],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#drained = Promise.all([this.#drain(this.child.stdout), this.#drain(this.child.stderr)])
      .then(() => {});
  }

  async #drain(stream: ReadableStream<Uint8Array>): Promise<void> {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) this.output += text;
  }

  /** True when the server answers PING (it listens before it has loaded its data). */
  async #serving(): Promise<boolean> {
    let c: RespClient;
    try {
      c = await RespClient.connect({ port: this.port });
    } catch {
      return false;
    }
    try {
      c.send("PING");
      return (await c.readReply(1000)) === "PONG";
    } catch {
      return false;
    } finally {
      await c.close().catch(() => {});
    }
  }

  /** Resolves once the server answers; throws if the process exits first. */
  async ready(timeoutMs = 20_000): Promise<void> {
    let code: number | undefined;
    void this.child.status.then((s) => code = s.code);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (code !== undefined) {
        await this.#drained;
        throw new Error(`server exited with ${code} before serving:\n${this.output}`);
      }
      if (await this.#serving()) return;
      if (Date.now() > deadline) throw new Error(`not serving:\n${this.output}`);
      await sleep(20);
    }
  }

  /**
   * Waits for the process to exit by itself (a failed start) and returns its exit code; when it
   * starts serving instead it is killed and the result is "serving".
   */
  async exit(timeoutMs = 20_000): Promise<number | "serving" | "timeout"> {
    let code: number | undefined;
    void this.child.status.then((s) => code = s.code);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (code !== undefined) {
        await this.#drained;
        return code;
      }
      if (await this.#serving()) {
        await this.crash();
        return "serving";
      }
      if (Date.now() > deadline) {
        await this.crash();
        return "timeout";
      }
      await sleep(20);
    }
  }

  #kill(): void {
    try {
      this.child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }

  /** SIGKILL (a crash) and wait for the end. */
  async crash(): Promise<void> {
    this.#kill();
    await this.child.status;
    await this.#drained;
  }

  async client(): Promise<RespClient> {
    return await RespClient.connect({ port: this.port });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.crash();
  }
}

/** Starts main.ts on `dir` and waits until it listens. */
async function serve(dir: string, extra: string[] = [], shards = 1): Promise<Server> {
  const s = new Server([
    "--dir",
    dir,
    "--shards",
    String(shards),
    "--appendfsync",
    "always",
    ...extra,
  ]);
  try {
    await s.ready();
  } catch (e) {
    await s.crash();
    throw e;
  }
  return s;
}

/** Starts main.ts on `dir` expecting it to refuse; returns its exit status and output. */
async function failToServe(dir: string, extra: string[] = [], shards = 1) {
  await using s = new Server([
    "--dir",
    dir,
    "--shards",
    String(shards),
    "--appendfsync",
    "always",
    ...extra,
  ]);
  const code = await s.exit();
  assert.equal(typeof code, "number", `the server should refuse to start: ${code}\n${s.output}`);
  assert.notEqual(code, 0, s.output);
  return { code, output: s.output };
}

/** [start, end) of every record of a binlog file. */
function recordSpans(path: string): Array<[number, number]> {
  const bytes = Deno.readFileSync(path);
  const dv = new DataView(bytes.buffer);
  const out: Array<[number, number]> = [];
  for (let p = FILE_HEADER_SIZE; p < bytes.length;) {
    const end = p + RECORD_HEADER_SIZE + dv.getUint32(p + 4, true);
    out.push([p, end]);
    p = end;
  }
  return out;
}

function flipByte(path: string, offset: number): void {
  const bytes = Deno.readFileSync(path);
  assert.ok(offset < bytes.length, `offset ${offset} beyond ${path}`);
  bytes[offset]! ^= 0x5a;
  Deno.writeFileSync(path, bytes);
}

/** Writes k0..k<n-1> = v0..v<n-1>, one command each, so each is its own binlog record. */
async function writeKeys(c: RespClient, n: number, from = 0): Promise<void> {
  for (let i = from; i < from + n; i++) assert.equal(await c.call("SET", `k${i}`, `v${i}`), "OK");
}

async function presentKeys(c: RespClient, n: number): Promise<boolean[]> {
  const got = await c.pipeline(Array.from({ length: n }, (_, i) => ["GET", `k${i}`]));
  return got.map((v, i) => {
    assert.ok(v === null || v === `v${i}`, `k${i} = ${v}`);
    return v !== null;
  });
}

function info(text: ReplyValue): Map<string, string> {
  assert.equal(typeof text, "string", String(text));
  const m = new Map<string, string>();
  for (const line of (text as string).split(/\r?\n/)) {
    const i = line.indexOf(":");
    if (i > 0 && !line.startsWith("#")) m.set(line.slice(0, i), line.slice(i + 1));
  }
  return m;
}

// ---------------------------------------------------------------------------------------------
// Damaged files at start

Deno.test({
  name: "a torn record at the binlog tail is cut with a warning; everything before it loads",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using dir = await tempDir();
    const file = `${binlogDir(dir.path, 0)}/${binlogFileName(1)}`;
    {
      await using s = await serve(dir.path);
      await using c = await s.client();
      await writeKeys(c, 20);
      await s.crash();
    }
    const spans = recordSpans(file);
    assert.equal(spans.length, 20);
    const [lastStart, lastEnd] = spans[19]!;
    Deno.truncateSync(file, lastEnd - 3);
    {
      await using s = await serve(dir.path);
      await using c = await s.client();
      assert.deepEqual(await presentKeys(c, 20), Array.from({ length: 20 }, (_, i) => i < 19));
      assert.match(s.output, new RegExp(`torn record .*file 1 offset ${lastStart}\\b`));
      assert.match(s.output, /WRN|warn/i);
      assert.equal(Deno.statSync(file).size, lastStart, "the torn bytes are cut off");
      // The log goes on cleanly from the cut.
      assert.equal(await c.call("SET", "k19", "v19"), "OK");
      await s.crash();
    }
    {
      await using s = await serve(dir.path);
      await using c = await s.client();
      assert.deepEqual(await presentKeys(c, 20), Array(20).fill(true));
      assert.doesNotMatch(s.output, /torn|corrupt/);
    }
  },
});

Deno.test({
  name: "a damaged record in the middle of the binlog: start fails naming file and offset, " +
    "--ignore-corruption yes loads what precedes it",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using dir = await tempDir();
    const file = `${binlogDir(dir.path, 0)}/${binlogFileName(1)}`;
    {
      await using s = await serve(dir.path);
      await using c = await s.client();
      await writeKeys(c, 20);
      await s.crash();
    }
    const spans = recordSpans(file);
    assert.equal(spans.length, 20);
    const [badStart] = spans[10]!;
    flipByte(file, badStart + RECORD_HEADER_SIZE + 6);

    const failed = await failToServe(dir.path);
    assert.ok(failed.output.includes(file), `names the file: ${failed.output}`);
    assert.match(failed.output, new RegExp(`offset ${badStart}\\b`));
    assert.equal(Deno.statSync(file).size, spans[19]![1], "a refused start leaves the file alone");

    {
      await using s = await serve(dir.path, ["--ignore-corruption", "yes"]);
      await using c = await s.client();
      assert.deepEqual(await presentKeys(c, 20), Array.from({ length: 20 }, (_, i) => i < 10));
      assert.equal(await c.call("DBSIZE"), 10);
      assert.match(s.output, new RegExp(`corrupt record in file 1 at offset ${badStart}\\b`));
      await s.crash();
    }
    // The damage is gone: a normal start works and has the same data.
    {
      await using s = await serve(dir.path);
      await using c = await s.client();
      assert.equal(await c.call("DBSIZE"), 10);
      assert.doesNotMatch(s.output, /corrupt|torn/);
    }
  },
});

Deno.test({
  name: "a damaged record in an older binlog file: start fails; --ignore-corruption drops the rest",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using dir = await tempDir();
    const size = ["--binlog-file-size", "1024"];
    {
      await using s = await serve(dir.path, size);
      await using c = await s.client();
      await writeKeys(c, 100);
      await s.crash();
    }
    const files = listBinlogFiles(binlogDir(dir.path, 0));
    assert.ok(files.length >= 4, `rotated into ${files.length} files`);
    const file = `${binlogDir(dir.path, 0)}/${binlogFileName(2)}`;
    const spans = recordSpans(file);
    const [badStart] = spans[Math.floor(spans.length / 2)]!;
    flipByte(file, badStart + 1); // the record magic
    // Keys of files 1 and of file 2 before the damage.
    const kept = recordSpans(`${binlogDir(dir.path, 0)}/${binlogFileName(1)}`).length +
      Math.floor(spans.length / 2);

    const failed = await failToServe(dir.path, size);
    assert.ok(failed.output.includes(file), failed.output);
    assert.match(failed.output, new RegExp(`offset ${badStart}\\b`));

    await using s = await serve(dir.path, [...size, "--ignore-corruption", "yes"]);
    await using c = await s.client();
    assert.deepEqual(await presentKeys(c, 100), Array.from({ length: 100 }, (_, i) => i < kept));
    assert.deepEqual(listBinlogFiles(binlogDir(dir.path, 0)), [1, 2], "later files dropped");
  },
});

Deno.test({
  name: "a damaged snapshot file: start fails naming it",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using dir = await tempDir();
    {
      await using s = await serve(dir.path, [], 2);
      await using c = await s.client();
      await c.pipeline(Array.from({ length: 200 }, (_, i) => ["SET", `k${i}`, `v${i}`]));
      assert.equal(await c.call("SAVE"), "OK");
      await s.crash();
    }
    const snap = latestSnapshot(dir.path);
    assert.ok(snap !== null);
    const file = `${snap.path}/shard-1.mpk`;
    flipByte(file, Math.floor(Deno.statSync(file).size / 2));
    const failed = await failToServe(dir.path, [], 2);
    assert.ok(failed.output.includes(file), `names the file: ${failed.output}`);
    assert.match(failed.output, /checksum/);
  },
});

Deno.test({
  name: "a missing snapshot shard file: the previous snapshot plus the binlog give all the data",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using dir = await tempDir();
    let digest: ReplyValue;
    {
      await using s = await serve(dir.path, [], 2);
      await using c = await s.client();
      await c.pipeline(Array.from({ length: 100 }, (_, i) => ["SET", `a${i}`, `v${i}`]));
      assert.equal(await c.call("SAVE"), "OK");
      await c.pipeline(Array.from({ length: 100 }, (_, i) => ["RPUSH", `b${i % 7}`, `v${i}`]));
      await sleep(5); // distinct snapshot ids
      assert.equal(await c.call("SAVE"), "OK");
      await c.pipeline(Array.from({ length: 100 }, (_, i) => ["INCR", `c${i % 13}`]));
      digest = await c.call("TESSERA", "DIGEST");
      await s.crash();
    }
    const snaps = listSnapshots(dir.path);
    assert.equal(snaps.length, 2);
    Deno.removeSync(`${snaps[0]!.path}/shard-0.mpk`);
    await using s = await serve(dir.path, [], 2);
    await using c = await s.client();
    assert.deepEqual(await c.call("TESSERA", "DIGEST"), digest);
    assert.equal(await c.call("DBSIZE"), 100 + 7 + 13);
    assert.match(s.output, new RegExp(`snapshot ${snaps[0]!.id} is incomplete or damaged`));
  },
});

Deno.test({
  name: "a missing snapshot shard file when the binlog before it was purged: start fails clearly",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using dir = await tempDir();
    const size = ["--binlog-file-size", "4096"];
    {
      await using s = await serve(dir.path, size, 2);
      await using c = await s.client();
      assert.equal(await c.call("CONFIG", "SET", "binlog-keep-files", "1"), "OK");
      await c.pipeline(Array.from({ length: 300 }, (_, i) => ["SET", `k${i}`, "x".repeat(100)]));
      assert.equal(await c.call("SAVE"), "OK"); // purges the files before the snapshot
      await c.pipeline(Array.from({ length: 20 }, (_, i) => ["SET", `after${i}`, "y"]));
      assert.equal(await c.call("DBSIZE"), 320);
      await s.crash();
    }
    assert.ok(listBinlogFiles(binlogDir(dir.path, 0))[0]! > 1, "the binlog was purged");
    const snap = latestSnapshot(dir.path)!;
    Deno.removeSync(`${snap.path}/shard-0.mpk`);
    // Loading the binlog alone would start with most keys silently missing.
    const failed = await failToServe(dir.path, size, 2);
    assert.match(failed.output, /no complete snapshot/);
    assert.match(failed.output, /purged/);
  },
});

// ---------------------------------------------------------------------------------------------
// BGSAVE under concurrent writes, checked against an offline replay

/** Replays snapshot + binlog (from the manifest's positions) of `dir` offline, per db digests. */
function offlineDigests(dir: string): Map<number, string> {
  const snap = latestSnapshot(dir);
  assert.ok(snap !== null, "a snapshot exists");
  const perShard: string[][] = [];
  for (let shard = 0; shard < snap.manifest.shards; shard++) {
    const ks = new Keyspace();
    const file = snap.manifest.files[shard]!;
    loadShardSnapshot(`${snap.path}/${file.name}`, ks, file.checksum);
    const exec = new Executor(ks, COMMANDS);
    const sink = new ValueSink();
    for (const rec of readRecords(binlogDir(dir, shard), snap.manifest.positions[shard]!)) {
      for (const op of rec.entry.ops) {
        exec.execute(op.db, op.args, sink);
        const r = sink.take();
        assert.ok(!(r instanceof ReplyError), `replaying ${op.args.join(" ")}: ${r}`);
      }
    }
    perShard.push(ks.dbs.map((db) => datasetDigest(db)));
  }
  const out = new Map<number, string>();
  for (let db = 0; db < 16; db++) {
    const d = combineDigests(perShard.map((p) => p[db]!));
    if (!/^0+$/.test(d)) out.set(db, d);
  }
  return out;
}

function digestMap(reply: ReplyValue): Map<number, string> {
  assert.ok(Array.isArray(reply), String(reply));
  const out = new Map<number, string>();
  for (let i = 0; i < reply.length; i += 2) out.set(reply[i] as number, reply[i + 1] as string);
  return out;
}

/** Mixed, non-idempotent writes (replaying one twice or skipping one changes the digest). */
async function churn(port: number, id: number, stop: { now: boolean }): Promise<number> {
  await using c = await RespClient.connect({ port });
  let n = 0;
  while (!stop.now) {
    const k = `k${(n * 7919 + id * 104729) % 20_000}`;
    const batch: string[][] = [
      ["APPEND", k, `+${id}`],
      ["INCR", `ctr:${(n + id) % 50}`],
      ["RPUSH", `list:${n % 20}`, `${id}:${n}`],
      ["HINCRBY", `h:${n % 10}`, `f${id}`, "1"],
      ["SADD", `s:${n % 10}`, `${id}:${n}`],
      ["DEL", `k${(n * 31 + id) % 20_000}`],
      ["MSET", `m:{a}${n % 30}`, String(n), `m:{b}${n % 30}`, String(n)],
      ["EXPIREAT", `k${(n * 13 + id) % 20_000}`, String(4_000_000_000)],
      ["SELECT", "3"],
      ["INCRBY", `db3:${n % 40}`, String(id + 1)],
      ["SELECT", "0"],
    ];
    const replies = await c.pipeline(batch);
    for (const [i, r] of replies.entries()) {
      assert.ok(!(r instanceof ReplyError), `${batch[i]!.join(" ")}: ${r}`);
    }
    n++;
  }
  return n;
}

Deno.test({
  name: "BGSAVE under concurrent writes: restart and offline snapshot + binlog replay match live",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using dir = await tempDir();
    const opts = { port: 0, dir: dir.path, shards: 2, appendfsync: "always" as const };
    let digest: ReplyValue;
    let dbsize: ReplyValue;
    let db3size: ReplyValue;
    {
      await using server = await TesseraServer.start(opts);
      await using c = await RespClient.connect({ port: server.port });
      // A dataset big enough that the snapshot takes many steps.
      for (let i = 0; i < 20_000; i += 2000) {
        await c.pipeline(
          Array.from({ length: 2000 }, (_, j) => ["SET", `k${i + j}`, `v${i + j}`]),
        );
      }
      assert.equal(await c.call("DBSIZE"), 20_000);
      assert.ok(
        slotShard(keySlotOfString("m:{a}0"), 2) !== slotShard(keySlotOfString("m:{b}0"), 2),
        "the MSET spans both shards",
      );
      const before = await c.call("LASTSAVE") as number;
      // LASTSAVE has second resolution: let it be able to change.
      await sleep(Math.max(0, (before + 1) * 1000 - Date.now() + 20));

      const stop = { now: false };
      // Settled at once, so a writer's failure is reported by the assertion below.
      const writers = [0, 1, 2].map((id) =>
        churn(server.port, id, stop).catch((e) => `writer ${id}: ${e?.stack ?? e}`)
      );
      await sleep(150);
      const [started, again, during] = await c.pipeline([
        ["BGSAVE"],
        ["BGSAVE"],
        ["INFO", "persistence"],
      ]);
      assert.equal(started, "Background saving started");
      assert.ok(
        again instanceof ReplyError && again.message.includes("already in progress"),
        String(again),
      );
      assert.equal(info(during!).get("rdb_bgsave_in_progress"), "1");
      const deadline = Date.now() + 20_000;
      for (;;) {
        const p = info(await c.call("INFO", "persistence"));
        if (p.get("rdb_bgsave_in_progress") === "0" && (await c.call("LASTSAVE")) !== before) {
          assert.equal(p.get("rdb_last_bgsave_status"), "ok");
          break;
        }
        assert.ok(Date.now() < deadline, "BGSAVE did not finish");
        await sleep(20);
      }
      await sleep(150); // writes after the snapshot too
      stop.now = true;
      const counts = await Promise.all(writers);
      assert.ok(counts.every((n) => typeof n === "number" && n > 5), `writers: ${counts}`);
      digest = await c.call("TESSERA", "DIGEST");
      dbsize = await c.call("DBSIZE");
      assert.equal(await c.call("SELECT", "3"), "OK");
      db3size = await c.call("DBSIZE");
      assert.ok(typeof db3size === "number" && db3size > 0);
      assert.ok(digestMap(digest).has(3));
    }
    // Offline: the snapshot alone, plus the binlog from the manifest's positions, is the dataset.
    assert.deepEqual(offlineDigests(dir.path), digestMap(digest));
    {
      await using server = await TesseraServer.start(opts);
      await using c = await RespClient.connect({ port: server.port });
      assert.deepEqual(await c.call("TESSERA", "DIGEST"), digest);
      assert.equal(await c.call("DBSIZE"), dbsize);
      assert.equal(await c.call("SELECT", "3"), "OK");
      assert.equal(await c.call("DBSIZE"), db3size);
    }
  },
});

// ---------------------------------------------------------------------------------------------
// SAVE, LASTSAVE, INFO, save rules, rotation and purge

Deno.test({
  name: "SAVE, LASTSAVE and INFO persistence fields",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using dir = await tempDir();
    await using server = await TesseraServer.start({ port: 0, dir: dir.path, shards: 2 });
    await using c = await RespClient.connect({ port: server.port });
    const before = info(await c.call("INFO", "persistence"));
    assert.equal(before.get("rdb_changes_since_last_save"), "0");
    assert.equal(before.get("rdb_bgsave_in_progress"), "0");
    assert.equal(before.get("aof_enabled"), "1");
    assert.equal(before.get("appendfsync"), "everysec");
    assert.equal(before.get("rdb_last_save_time"), String(await c.call("LASTSAVE")));
    for (const shard of [0, 1]) {
      assert.match(
        before.get(`binlog_shard${shard}`) ?? "",
        /^position=1:32,synced=\d+:\d+,files=1,first_file=1$/,
      );
    }
    await c.pipeline(Array.from({ length: 30 }, (_, i) => ["SET", `k${i}`, "v"]));
    assert.equal(await c.call("DEL", "k0", "nope"), 1);
    assert.equal(await c.call("SET", "k1", "v"), "OK"); // same value: still a change
    const dirty = info(await c.call("INFO", "persistence"));
    assert.equal(dirty.get("rdb_changes_since_last_save"), "32");
    const positions = [0, 1].map((s) =>
      /^position=(\d+:\d+)/.exec(dirty.get(`binlog_shard${s}`)!)![1]
    );
    assert.ok(positions.every((p) => p !== "1:32"), "both shards logged writes");
    assert.deepEqual(await c.call("TESSERA", "BINLOG"), positions);

    const lastBefore = await c.call("LASTSAVE") as number;
    await sleep(Math.max(0, (lastBefore + 1) * 1000 - Date.now() + 20));
    assert.equal(await c.call("SAVE"), "OK");
    const after = info(await c.call("INFO", "persistence"));
    assert.equal(after.get("rdb_changes_since_last_save"), "0");
    assert.equal(after.get("rdb_last_bgsave_status"), "ok");
    assert.equal(after.get("rdb_bgsave_in_progress"), "0");
    const last = await c.call("LASTSAVE") as number;
    assert.ok(last > lastBefore, `LASTSAVE moved: ${lastBefore} -> ${last}`);
    assert.equal(after.get("rdb_last_save_time"), String(last));
    const snap = latestSnapshot(dir.path);
    assert.ok(snap !== null);
    assert.equal(snap.manifest.shards, 2);
    assert.equal(snap.manifest.files.reduce((n, f) => n + f.keys, 0), 29);
    assert.deepEqual(
      snap.manifest.positions.map((p) => `${p.file}:${p.offset}`),
      positions,
      "the snapshot is paired with the binlog position at its instant",
    );
    assert.equal(await c.call("SET", "x", "1"), "OK");
    assert.equal(info(await c.call("INFO", "persistence")).get("rdb_changes_since_last_save"), "1");
    const syntax = await c.call("BGSAVE", "nonsense");
    assert.ok(syntax instanceof ReplyError && syntax.message === "ERR syntax error");
  },
});

Deno.test({
  name: "save rules: CONFIG SET save '1 1' then a write makes a snapshot within seconds",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using dir = await tempDir();
    await using server = await TesseraServer.start({ port: 0, dir: dir.path, shards: 2, save: "" });
    await using c = await RespClient.connect({ port: server.port });
    assert.equal(await c.call("SET", "a", "1"), "OK");
    await sleep(1300);
    assert.equal(latestSnapshot(dir.path), null, "no rule, no snapshot");
    const before = await c.call("LASTSAVE") as number;
    assert.equal(await c.call("CONFIG", "SET", "save", "1 1"), "OK");
    assert.equal(await c.call("SET", "b", "2"), "OK");
    const deadline = Date.now() + 3500;
    while (latestSnapshot(dir.path) === null) {
      assert.ok(Date.now() < deadline, "no snapshot within 3.5 s");
      await sleep(50);
    }
    const snap = latestSnapshot(dir.path)!;
    assert.equal(snap.manifest.files.reduce((n, f) => n + f.keys, 0), 2);
    await sleep(50);
    assert.ok((await c.call("LASTSAVE") as number) > before);
    assert.equal(info(await c.call("INFO", "persistence")).get("rdb_changes_since_last_save"), "0");
    // No change since: no new snapshot.
    await sleep(1300);
    assert.equal(latestSnapshot(dir.path)!.id, snap.id);
  },
});

Deno.test({
  name: "binlog rotation by --binlog-file-size; TESSERA PURGE-BINLOG keeps binlog-keep-files",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using dir = await tempDir();
    const opts = { port: 0, dir: dir.path, shards: 2, "binlog-file-size": 4096 };
    let digest: ReplyValue;
    {
      await using server = await TesseraServer.start(opts);
      await using c = await RespClient.connect({ port: server.port });
      const value = "x".repeat(150);
      await c.pipeline(Array.from({ length: 300 }, (_, i) => ["SET", `k${i}`, value]));
      for (const shard of [0, 1]) {
        const bdir = binlogDir(dir.path, shard);
        const files = listBinlogFiles(bdir);
        assert.ok(files.length >= 5, `shard ${shard} rotated: ${files}`);
        assert.deepEqual(files, files.map((_, i) => i + 1), "numbered consecutively");
        for (const f of files) {
          assert.ok(Deno.statSync(`${bdir}/${binlogFileName(f)}`).size <= 4096, `file ${f}`);
        }
      }
      const p = info(await c.call("INFO", "persistence"));
      for (const shard of [0, 1]) {
        const n = listBinlogFiles(binlogDir(dir.path, shard)).length;
        assert.match(p.get(`binlog_shard${shard}`)!, new RegExp(`files=${n},first_file=1$`));
      }
      // SAVE with the default binlog-keep-files (10) keeps what it must.
      assert.equal(await c.call("SAVE"), "OK");
      const snap = latestSnapshot(dir.path)!;
      await c.pipeline(Array.from({ length: 100 }, (_, i) => ["SET", `after${i}`, value]));
      const countsBefore = [0, 1].map((s) => listBinlogFiles(binlogDir(dir.path, s)).length);
      assert.deepEqual(await c.call("CONFIG", "SET", "binlog-keep-files", "1"), "OK");
      const purged = await c.call("TESSERA", "PURGE-BINLOG") as number;
      let total = 0;
      for (const shard of [0, 1]) {
        const files = listBinlogFiles(binlogDir(dir.path, shard));
        const snapFile = snap.manifest.positions[shard]!.file;
        // Everything the snapshot needs (from its position on) is kept, nothing older.
        assert.equal(files[0], snapFile, `shard ${shard} purged up to the snapshot's file`);
        assert.ok(files.length >= 1);
        total += countsBefore[shard]! - files.length;
        const line = info(await c.call("INFO", "persistence")).get(`binlog_shard${shard}`)!;
        assert.match(line, new RegExp(`files=${files.length},first_file=${snapFile}$`));
      }
      assert.ok(total > 0, "some files were purged");
      assert.equal(purged, total);
      assert.equal(await c.call("TESSERA", "PURGE-BINLOG"), 0, "nothing more to purge");
      digest = await c.call("TESSERA", "DIGEST");
      assert.equal(await c.call("DBSIZE"), 400);
    }
    await using server = await TesseraServer.start(opts);
    await using c = await RespClient.connect({ port: server.port });
    assert.deepEqual(await c.call("TESSERA", "DIGEST"), digest);
    assert.equal(await c.call("DBSIZE"), 400);
    assert.equal(await c.call("GET", "after99"), "x".repeat(150));
  },
});

Deno.test({
  name: "binlog-keep-files bounds the purge after SAVE; data intact after restart",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using dir = await tempDir();
    const opts = { port: 0, dir: dir.path, shards: 2, "binlog-file-size": 4096 };
    let digest: ReplyValue;
    {
      await using server = await TesseraServer.start(opts);
      await using c = await RespClient.connect({ port: server.port });
      assert.equal(await c.call("CONFIG", "SET", "binlog-keep-files", "3"), "OK");
      const value = "y".repeat(150);
      await c.pipeline(Array.from({ length: 400 }, (_, i) => ["SET", `k${i}`, value]));
      const counts = [0, 1].map((s) => listBinlogFiles(binlogDir(dir.path, s)).length);
      assert.ok(counts.every((n) => n > 4), `rotated: ${counts}`);
      assert.equal(await c.call("SAVE"), "OK"); // purges on its own
      for (const shard of [0, 1]) {
        const files = listBinlogFiles(binlogDir(dir.path, shard));
        assert.equal(files.length, 3, `shard ${shard} keeps 3 files: ${files}`);
        assert.equal(files[files.length - 1], counts[shard]);
      }
      assert.equal(await c.call("HSET", "h", "f", "v"), 1);
      digest = await c.call("TESSERA", "DIGEST");
    }
    await using server = await TesseraServer.start(opts);
    await using c = await RespClient.connect({ port: server.port });
    assert.deepEqual(await c.call("TESSERA", "DIGEST"), digest);
    assert.equal(await c.call("DBSIZE"), 401);
  },
});
