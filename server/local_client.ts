/**
 * An in-process client of the router: commands go through exactly the same routing, shards and
 * reply encoding as a TCP client's, and replies are decoded into {@link ReplyValue}s.
 */
import { ReplyReader } from "./resp_reader.ts";
import { encodeCommand } from "./resp_writer.ts";
import { Client } from "./client.ts";
import type { Router } from "./router.ts";
import type { ReplyValue } from "../engine/reply.ts";
import { RequestReader } from "./resp_reader.ts";

export class LocalClient extends Client {
  readonly #router: Router;
  readonly #replies = new ReplyReader();
  readonly #waiting: Array<(v: ReplyValue) => void> = [];
  readonly #requests = new RequestReader();

  constructor(router: Router) {
    super();
    this.#router = router;
    router.clientOpened(this);
  }

  get addr(): string {
    return "in-process:0";
  }
  get laddr(): string {
    return "in-process:0";
  }

  /** Sends one command; resolves with its reply (errors are ReplyError values). */
  call(args: ReadonlyArray<string | number | Uint8Array>): Promise<ReplyValue> {
    if (this.closing) return Promise.reject(new Error("client is closed"));
    const raw = encodeCommand(args.map((a) => typeof a === "number" ? String(a) : a));
    const p = new Promise<ReplyValue>((resolve) => this.#waiting.push(resolve));
    this.#requests.push(raw);
    const req = this.#requests.next();
    if (req === undefined) throw new Error("could not frame the command");
    this.#router.handle(this, req);
    return p;
  }

  protected deliver(chunks: Uint8Array[]): void {
    for (const c of chunks) {
      this.#replies.push(c);
      for (let r = this.#replies.next(); r !== undefined; r = this.#replies.next()) {
        this.#waiting.shift()?.(r.value);
      }
    }
  }

  kill(_graceful: boolean): void {
    if (this.closing) return;
    this.closing = true;
    this.#router.clientClosed(this);
  }
}
