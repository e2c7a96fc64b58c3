/**
 * The master's side of incremental sync: follows each shard's binlog from the replica's
 * positions and pushes the records, verbatim with their CRCs, as frames on the replica's
 * connection:
 *
 *     *7 REC <shard> <prev file> <prev offset> <at file> <at offset> <records>
 *     *1 PING                                           (keepalive when idle)
 *
 * `records` are whole framed records, contiguous in one binlog file, starting at `at`; `prev`
 * is the position they follow (it differs from `at` only at the start of a new file).
 */
import { binlogDir, BinlogReader, type BinlogRecord, type Position } from "../engine/binlog.ts";
import { encodeCommand } from "../server/resp_writer.ts";

/** Where frames go: false means "slow down" (the socket has a backlog). */
export interface FrameSink {
  sendFrame(bytes: Uint8Array): void;
  /** Bytes queued but not yet written to the socket. */
  readonly backlog: number;
}

/** Options for {@link BinlogSender}. */
export interface BinlogSenderOptions {
  root: string;
  /** Per shard: where to start. */
  from: Position[];
  sink: FrameSink;
  /** Called with the error when a binlog can't be read (the link is then closed). */
  onError: (e: Error) => void;
  /** Poll interval in ms (default 5). */
  intervalMs?: number;
  /** Send a PING frame after this much silence (default 1000 ms). */
  keepaliveMs?: number;
  /** Stop filling the socket beyond this backlog (default 8 MiB). */
  maxBacklog?: number;
}

const MAX_FRAME = 1 << 20;

export class BinlogSender {
  readonly #readers: BinlogReader[];
  readonly #sink: FrameSink;
  readonly #onError: (e: Error) => void;
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #keepaliveMs: number;
  readonly #maxBacklog: number;
  /** Position after the last record sent, per shard. */
  readonly sent: Position[];
  #lastSend = Date.now();
  #closed = false;
  /** Records sent so far. */
  records = 0;

  constructor(options: BinlogSenderOptions) {
    this.#sink = options.sink;
    this.#onError = options.onError;
    this.#keepaliveMs = options.keepaliveMs ?? 1000;
    this.#maxBacklog = options.maxBacklog ?? 8 * 1024 * 1024;
    this.sent = options.from.map((p) => ({ ...p }));
    this.#readers = options.from.map((p, shard) =>
      new BinlogReader(binlogDir(options.root, shard), p)
    );
    this.#timer = setInterval(() => this.pump(), options.intervalMs ?? 5);
  }

  /** Reads whatever is new in every shard's binlog and sends it. */
  pump(): void {
    if (this.#closed) return;
    try {
      for (let shard = 0; shard < this.#readers.length; shard++) {
        if (this.#sink.backlog > this.#maxBacklog) return;
        this.#pumpShard(shard);
      }
      if (Date.now() - this.#lastSend >= this.#keepaliveMs) this.#send(encodeCommand(["PING"]));
    } catch (e) {
      this.close();
      this.#onError(e instanceof Error ? e : new Error(String(e)));
    }
  }

  #pumpShard(shard: number): void {
    const reader = this.#readers[shard]!;
    let group: BinlogRecord[] = [];
    let size = 0;
    const flush = () => {
      if (group.length === 0) return;
      const first = group[0]!;
      const raw = new Uint8Array(size);
      let o = 0;
      for (const r of group) {
        raw.set(r.raw, o);
        o += r.raw.length;
      }
      const last = group[group.length - 1]!;
      this.#send(encodeCommand([
        "REC",
        String(shard),
        String(first.prev.file),
        String(first.prev.offset),
        String(first.start.file),
        String(first.start.offset),
        raw,
      ]));
      this.sent[shard] = last.end;
      this.records += group.length;
      group = [];
      size = 0;
    };
    for (let budget = 0; budget < 4 * MAX_FRAME;) {
      const rec = reader.next();
      if (rec === null) break;
      // A frame holds records of one file only, so the replica can place them at `at`.
      const head = group[0];
      if (
        head !== undefined &&
        (rec.start.file !== head.start.file || size + rec.raw.length > MAX_FRAME)
      ) flush();
      group.push(rec);
      size += rec.raw.length;
      budget += rec.raw.length;
    }
    flush();
  }

  #send(bytes: Uint8Array): void {
    this.#lastSend = Date.now();
    this.#sink.sendFrame(bytes);
  }

  /** The binlog file each shard's reader is in (purge must keep it). */
  currentFiles(): number[] {
    return this.#readers.map((r) => r.position.file);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    for (const r of this.#readers) {
      try {
        r.close();
      } catch {
        // already closed
      }
    }
  }
}
