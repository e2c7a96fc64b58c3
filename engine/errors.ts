/**
 * Error classes shared by the engine, the server and replication.
 *
 * Every error carries a `code` that is the RESP error prefix (`ERR`, `WRONGTYPE`, ...), so the
 * reply a client sees is `-${code} ${message}`.
 */

/** Options accepted by every Tessera error. */
export interface TesseraErrorOptions {
  cause?: unknown;
}

/**
 * Base class: an error with a RESP error prefix (`code`), e.g. `WRONGTYPE`.
 *
 * @example
 * ```ts
 * import { TesseraError } from "./mod.ts";
 * const e = new TesseraError("ERR", "something failed");
 * console.log(e.toReplyLine()); // "ERR something failed"
 * ```
 */
export class TesseraError extends Error {
  /** RESP error prefix, e.g. `ERR`, `WRONGTYPE`, `NOAUTH`. */
  readonly code: string;
  /** An error replied as `-${code} ${message}`. */
  constructor(code: string, message: string, options?: TesseraErrorOptions) {
    super(message, options);
    this.name = "TesseraError";
    this.code = code;
  }
  /** The line sent to the client, without the leading `-`. */
  toReplyLine(): string {
    return `${this.code} ${this.message}`;
  }
}

/**
 * A command failed in a way the client caused (bad syntax, out of range, ...).
 *
 * @example
 * ```ts
 * import { CommandError } from "./mod.ts";
 * throw new CommandError("syntax error"); // replied as "-ERR syntax error"
 * ```
 */
export class CommandError extends TesseraError {
  /** A client error replied as `-${code} ${message}` (code ERR by default). */
  constructor(message: string, code = "ERR", options?: TesseraErrorOptions) {
    super(code, message, options);
    this.name = "CommandError";
  }
}

/**
 * Operation against a key holding the wrong kind of value.
 *
 * @example
 * ```ts
 * import { WrongTypeError } from "./mod.ts";
 * console.log(new WrongTypeError().toReplyLine()); // "WRONGTYPE Operation against a key ..."
 * ```
 */
export class WrongTypeError extends TesseraError {
  /** The WRONGTYPE error, with Redis' text. */
  constructor(options?: TesseraErrorOptions) {
    super("WRONGTYPE", "Operation against a key holding the wrong kind of value", options);
    this.name = "WrongTypeError";
  }
}

/**
 * The client sent bytes that are not valid RESP; the connection is closed after the reply.
 *
 * @example
 * ```ts
 * import { ProtocolError } from "./mod.ts";
 * console.log(new ProtocolError("invalid bulk length").message); // "Protocol error: invalid bulk length"
 * ```
 */
export class ProtocolError extends TesseraError {
  /** `message` follows "Protocol error: " in the reply. */
  constructor(message: string, options?: TesseraErrorOptions) {
    super("ERR", `Protocol error: ${message}`, options);
    this.name = "ProtocolError";
  }
}

/**
 * A file on disk (binlog, snapshot, manifest) is damaged or missing; names the file and offset.
 *
 * @example
 * ```ts
 * import { CorruptionError } from "./mod.ts";
 * const e = new CorruptionError("data/binlog/shard-0/binlog.000001", 4096, "bad CRC");
 * console.log(e.file, e.offset);
 * ```
 */
export class CorruptionError extends TesseraError {
  /** The damaged file. */
  readonly file: string;
  /** Byte offset of the damage in it. */
  readonly offset: number;
  /** Damage found in `file` at `offset`. */
  constructor(file: string, offset: number, message: string, options?: TesseraErrorOptions) {
    super("ERR", `${file} at offset ${offset}: ${message}`, options);
    this.name = "CorruptionError";
    this.file = file;
    this.offset = offset;
  }
}

/**
 * A replication step failed after all its attempts; `cause` holds the last underlying error.
 *
 * @example
 * ```ts
 * import { ReplicationError } from "./mod.ts";
 * const e = new ReplicationError("full sync failed", { cause: new Error("connection reset") });
 * console.log(e.message, e.cause);
 * ```
 */
export class ReplicationError extends TesseraError {
  /** A failed replication step; pass the last underlying error as `cause`. */
  constructor(message: string, options?: TesseraErrorOptions) {
    super("ERR", message, options);
    this.name = "ReplicationError";
  }
}

// Frequently used replies, spelled exactly as Redis 7.0 spells them.
export const ERR_SYNTAX = "syntax error";
export const ERR_NOT_INTEGER = "value is not an integer or out of range";
export const ERR_NOT_FLOAT = "value is not a valid float";
export const ERR_NO_SUCH_KEY = "no such key";
export const ERR_INDEX_OUT_OF_RANGE = "index out of range";

/** Shorthand for `new CommandError("syntax error")`. */
export function syntaxError(): CommandError {
  return new CommandError(ERR_SYNTAX);
}
/** Shorthand for the integer parse error. */
export function notIntegerError(): CommandError {
  return new CommandError(ERR_NOT_INTEGER);
}
/** Shorthand for the float parse error. */
export function notFloatError(): CommandError {
  return new CommandError(ERR_NOT_FLOAT);
}
