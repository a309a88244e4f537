// Typed errors of the ROOT decoder.
//
// Every failure that bad input can cause is a RootError with a machine-readable
// `code`, a `transient` flag (a retry may succeed: network, 5xx, timeouts) and
// the context it happened in (file, tree, branch, basket, byte offset), so the
// pipeline can decide "retry" versus "record as a failed shard" without parsing
// messages, and a person reading the message knows what to look at.

export type RootErrorCode =
  | 'SOURCE_NOT_FOUND' // 404, missing local file
  | 'SOURCE_FORBIDDEN' // 401/403, EACCES
  | 'SOURCE_UNAVAILABLE' // 5xx, 429, connection reset: transient
  | 'SOURCE_TIMEOUT' // a request took longer than its deadline: transient
  | 'SOURCE_PROTOCOL' // server ignored Range, short read, wrong Content-Range
  | 'BAD_MAGIC' // not a ROOT file
  | 'TRUNCATED' // a structure or range runs past the end of the file
  | 'CORRUPT' // a structure that cannot be right (absurd size, bad version, bad pointer)
  | 'DECOMPRESSION' // a compressed block does not decode
  | 'CHECKSUM' // a codec's checksum (adler32, xxhash64, CRC) does not match
  | 'UNSUPPORTED' // a valid construct this decoder does not decode (names the type)
  | 'NOT_FOUND' // a tree, branch or key the caller asked for is not in the file
  | 'LIMIT' // a size beyond the configured memory bound
  | 'BAD_ARGUMENT'; // the caller's request is invalid (entry range, options)

export interface ErrorContext {
  file?: string;
  tree?: string;
  branch?: string;
  basket?: number;
  /** Absolute byte offset in the file where the problem was seen. */
  offset?: number;
}

const TRANSIENT_CODES: ReadonlySet<RootErrorCode> = new Set(['SOURCE_UNAVAILABLE', 'SOURCE_TIMEOUT']);

export class RootError extends Error {
  override readonly name = 'RootError';
  readonly code: RootErrorCode;
  readonly transient: boolean;
  readonly context: Readonly<ErrorContext>;
  /** The message without the context prefix. */
  readonly detail: string;

  constructor(code: RootErrorCode, detail: string, context: ErrorContext = {}, options: { cause?: unknown; transient?: boolean } = {}) {
    super(formatMessage(code, detail, context), options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.detail = detail;
    this.context = { ...context };
    this.transient = options.transient ?? TRANSIENT_CODES.has(code);
  }

  /** The same error with more context filled in (fields already set are kept). */
  withContext(extra: ErrorContext): RootError {
    const merged: ErrorContext = { ...extra, ...this.context };
    for (const key of Object.keys(merged) as (keyof ErrorContext)[]) if (merged[key] === undefined) delete merged[key];
    const copy = new RootError(this.code, this.detail, merged, { cause: this.cause, transient: this.transient });
    copy.stack = this.stack;
    return copy;
  }

  toJSON(): { code: RootErrorCode; message: string; transient: boolean; context: ErrorContext } {
    return { code: this.code, message: this.message, transient: this.transient, context: { ...this.context } };
  }
}

function formatMessage(code: RootErrorCode, detail: string, c: ErrorContext): string {
  const where: string[] = [];
  if (c.file !== undefined) where.push(c.file);
  if (c.tree !== undefined) where.push(`tree ${c.tree}`);
  if (c.branch !== undefined) where.push(`branch ${c.branch}`);
  if (c.basket !== undefined) where.push(`basket ${c.basket}`);
  if (c.offset !== undefined) where.push(`at byte ${c.offset}`);
  return `${where.length ? where.join(', ') + ': ' : ''}${detail} [${code}]`;
}

export function isRootError(e: unknown): e is RootError {
  return e instanceof RootError;
}

/**
 * Runs `fn`, adding `context` to any RootError it throws. Any other exception
 * (a RangeError from a typed array, a TypeError from a codec library) is a bug
 * or a corrupt input that slipped past our checks: it is wrapped as CORRUPT so
 * callers only ever see RootErrors, with the original as `cause`.
 */
export function withErrorContext<T>(context: ErrorContext, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw asRootError(e, context);
  }
}

export function asRootError(e: unknown, context: ErrorContext): RootError {
  if (e instanceof RootError) return e.withContext(context);
  const msg = e instanceof Error ? e.message : String(e);
  return new RootError('CORRUPT', `unexpected failure while decoding: ${msg}`, context, { cause: e });
}

/** Bounds that keep a corrupt or hostile file from making us allocate without limit. */
export interface DecodeLimits {
  /** Largest uncompressed object (basket, TTree, streamer list) we will allocate, bytes. */
  maxObjectBytes: number;
  /** Largest number of elements in one decoded column for one basket. */
  maxElements: number;
}

export const DEFAULT_LIMITS: Readonly<DecodeLimits> = Object.freeze({
  maxObjectBytes: 256 * 1024 * 1024,
  maxElements: 64 * 1024 * 1024,
});
