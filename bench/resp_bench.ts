/**
 * RESP codec benchmarks: request parsing (the main thread parses every client request) and reply
 * encoding. Run: `deno bench --allow-all bench/resp_bench.ts`.
 */
import { bytesToLatin1, lowerAscii, ReplyReader, RequestReader } from "../server/resp_reader.ts";
import { encodeCommand, RespWriter } from "../server/resp_writer.ts";

const BATCH = 1000;

function concat(parts: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

// 1000 pipelined commands, half SET key:N <16-byte value>, half GET key:N.
const pipeline = concat(
  Array.from(
    { length: BATCH },
    (_, i) =>
      i % 2 === 0
        ? encodeCommand(["SET", `key:${i}`, "v".repeat(16)])
        : encodeCommand(["GET", `key:${i - 1}`]),
  ),
);
const inlinePipeline = new TextEncoder().encode(
  Array.from({ length: BATCH }, (_, i) => `SET key:${i} value${i}\r\n`).join(""),
);
const mtuChunks: Uint8Array[] = [];
for (let i = 0; i < pipeline.length; i += 1460) mtuChunks.push(pipeline.slice(i, i + 1460));

const reader = new RequestReader();
let sink = 0;

Deno.bench(
  `parse ${BATCH} pipelined SET/GET (one chunk)`,
  { group: "parse", baseline: true },
  () => {
    reader.push(pipeline);
    for (let r = reader.next(); r !== undefined; r = reader.next()) sink += r.argc;
  },
);

Deno.bench(`parse ${BATCH} pipelined SET/GET (1460-byte chunks)`, { group: "parse" }, () => {
  for (const c of mtuChunks) {
    reader.push(c);
    for (let r = reader.next(); r !== undefined; r = reader.next()) sink += r.argc;
  }
});

Deno.bench(`parse ${BATCH} SET/GET + lower-case name + latin1 args`, { group: "parse" }, () => {
  reader.push(pipeline);
  for (let r = reader.next(); r !== undefined; r = reader.next()) {
    sink += lowerAscii(r.args[0]!).length;
    for (let i = 1; i < r.argc; i++) sink += bytesToLatin1(r.args[i]!).length;
  }
});

Deno.bench(`parse ${BATCH} inline SET commands`, { group: "parse" }, () => {
  reader.push(inlinePipeline);
  for (let r = reader.next(); r !== undefined; r = reader.next()) sink += r.argc;
});

const writer2 = new RespWriter(2);
const writer3 = new RespWriter(3);
const value16 = "v".repeat(16);
const value1k = "abcdefgh".repeat(128);
const binary1k = Array.from({ length: 1024 }, (_, i) => String.fromCharCode(i & 0xff)).join("");

Deno.bench(
  `encode ${BATCH} 16-byte bulk replies + take`,
  { group: "encode", baseline: true },
  () => {
    for (let i = 0; i < BATCH; i++) writer2.bulk(value16);
    sink += writer2.take().length;
  },
);

Deno.bench(`encode ${BATCH} 1 KiB ASCII bulk replies + take`, { group: "encode" }, () => {
  for (let i = 0; i < BATCH; i++) writer2.bulk(value1k);
  sink += writer2.take().length;
});

Deno.bench(`encode ${BATCH} 1 KiB binary bulk replies + take`, { group: "encode" }, () => {
  for (let i = 0; i < BATCH; i++) writer2.bulk(binary1k);
  sink += writer2.take().length;
});

Deno.bench(`encode ${BATCH} integer replies + take`, { group: "encode" }, () => {
  for (let i = 0; i < BATCH; i++) writer2.int(i * 7919);
  sink += writer2.take().length;
});

Deno.bench(`encode ${BATCH} +OK / null replies + take`, { group: "encode" }, () => {
  for (let i = 0; i < BATCH; i++) {
    if (i & 1) writer2.simple("OK");
    else writer2.nullBulk();
  }
  sink += writer2.take().length;
});

Deno.bench(
  `encode one reply + take, ${BATCH} times (per-command path)`,
  { group: "encode" },
  () => {
    for (let i = 0; i < BATCH; i++) {
      writer2.bulk(value16);
      sink += writer2.take().length;
    }
  },
);

Deno.bench(`encode RESP3 map of ${BATCH / 2} field/double pairs`, { group: "encode" }, () => {
  writer3.map(BATCH / 2);
  for (let i = 0; i < BATCH / 2; i++) {
    writer3.bulk(`field:${i}`);
    writer3.double(i + 0.5);
  }
  sink += writer3.take().length;
});

Deno.bench(`encodeCommand x${BATCH} (SET key value)`, { group: "encode" }, () => {
  for (let i = 0; i < BATCH; i++) sink += encodeCommand(["SET", "key:1", value16]).length;
});

for (let i = 0; i < BATCH; i++) writer2.bulk(value16);
const replies = writer2.take();
const replyReader = new ReplyReader();

Deno.bench(`decode ${BATCH} bulk replies (ReplyReader)`, { group: "decode" }, () => {
  replyReader.push(replies);
  for (let r = replyReader.next(); r !== undefined; r = replyReader.next()) {
    sink += (r.value as string).length;
  }
});

globalThis.addEventListener("unload", () => {
  if (sink === -1) console.log(sink); // keep results alive
});
