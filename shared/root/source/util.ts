// Helpers shared by the byte sources: safe names for messages, a counting
// semaphore, retries with exponential backoff and jitter, and the mapping of
// system and HTTP failures to RootError codes.

import { RootError, type RootErrorCode } from '../errors';

/**
 * A name for a URL that is safe to print: scheme, host, port and path, without
 * user info, query string (signed URL signatures, access tokens) or fragment.
 */
export function redactUrl(url: URL | string): string {
  let u: URL;
  try {
    u = typeof url === 'string' ? new URL(url) : url;
  } catch {
    // Not parseable: drop everything from the first '?' or '#', and any user info.
    return String(url).replace(/[?#].*$/s, '').replace(/\/\/[^/@]*@/, '//');
  }
  return `${u.protocol}//${u.host}${u.pathname}`;
}

/**
 * Removes secrets from a free-text message (an error message of a library that
 * may quote the URL it requested): the full URL and its query string, wherever
 * they appear, and any other `?query` attached to a URL.
 */
export function scrubMessage(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('[redacted]');
  return out.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s?#'"]*)\?[^\s'"]*/gi, '$1?[redacted]').replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/@'"]*@/gi, '$1');
}

/** Short text for an unknown thrown value, including a system error code or an undici cause. */
export function describeError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const code = (e as { code?: unknown }).code;
  let msg = e.message;
  if (typeof code === 'string' && !msg.includes(code)) msg = `${code}: ${msg}`;
  const cause = (e as { cause?: unknown }).cause;
  if (cause instanceof Error && cause !== e) msg += ` (${describeError(cause)})`;
  return msg;
}

/** The code of a Node.js system error, looking through `cause` (undici wraps them). */
export function systemErrorCode(e: unknown): string | undefined {
  for (let cur: unknown = e, depth = 0; cur && depth < 5; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z0-9_]+$|^UND_ERR/.test(code)) return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/** RootError code for an HTTP status that is not a success. */
export function codeForStatus(status: number): RootErrorCode {
  if (status === 404 || status === 410) return 'SOURCE_NOT_FOUND';
  if (status === 401 || status === 403) return 'SOURCE_FORBIDDEN';
  if (status === 416) return 'TRUNCATED';
  if (status === 408 || status === 429 || status >= 500) return 'SOURCE_UNAVAILABLE';
  return 'SOURCE_PROTOCOL';
}

/** RootError code for a file-system error code (ENOENT, EACCES, …). */
export function codeForFsError(code: string | undefined): { code: RootErrorCode; transient?: boolean } {
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return { code: 'SOURCE_NOT_FOUND' };
    case 'EACCES':
    case 'EPERM':
      return { code: 'SOURCE_FORBIDDEN' };
    case 'EISDIR':
      return { code: 'BAD_ARGUMENT' };
    case 'EMFILE':
    case 'ENFILE':
    case 'EAGAIN':
    case 'EBUSY':
    case 'EINTR':
    case 'ETIMEDOUT':
      return { code: 'SOURCE_UNAVAILABLE' };
    default:
      // EIO and friends: the medium failed; retrying rarely helps.
      return { code: 'SOURCE_UNAVAILABLE', transient: false };
  }
}

/** Counting semaphore: at most `limit` holders at a time, FIFO. */
export class Semaphore {
  private active = 0;
  private readonly waiters: (() => void)[] = [];
  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RootError('BAD_ARGUMENT', `concurrency must be a positive integer, got ${limit}`);
  }
  get inFlight(): number {
    return this.active;
  }
  async acquire(): Promise<void> {
    if (this.active < this.limit) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
    // release() handed its slot to us without decrementing.
  }
  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.active--;
  }
  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }
}

/** Resolves after `ms`, or rejects with `signal.reason` as soon as the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface RetryPolicy {
  retries: number;
  baseMs: number;
  maxMs: number;
}

/** Delay before retry number `attempt` (0-based): exponential, capped, with "equal jitter" (half fixed, half random). */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** attempt);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** A RootError that carries a server's Retry-After hint. */
export interface RetryHint {
  retryAfterMs?: number;
}

/**
 * Runs `attempt` until it succeeds, throws a non-transient error, or the retries
 * are used up. Only RootErrors with `transient` set are retried. `onRetry` is
 * called before each repeat (for stats).
 */
export async function withRetries<T>(policy: RetryPolicy, attempt: (n: number) => Promise<T>, options: { signal?: AbortSignal; onRetry?: (e: RootError, n: number) => void } = {}): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (e) {
      if (!(e instanceof RootError) || !e.transient || n >= policy.retries || options.signal?.aborted) throw e;
      const hint = (e as RootError & RetryHint).retryAfterMs;
      const delay = hint !== undefined ? Math.min(policy.maxMs, hint) : backoffDelay(policy, n);
      options.onRetry?.(e, n + 1);
      try {
        await sleep(delay, options.signal);
      } catch {
        throw e;
      }
    }
  }
}

/** Parses a Retry-After header (seconds or an HTTP date) into milliseconds from now. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

/** Validates a non-negative integer option. */
export function checkCount(name: string, value: number | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) throw new RootError('BAD_ARGUMENT', `option ${name} must be an integer >= ${min}, got ${value}`);
  return value;
}

/** The error a source throws once it has been closed. */
export function closedError(name: string): RootError {
  return new RootError('BAD_ARGUMENT', 'source is closed', { file: name });
}

/** The outcome of comparing a 206 response's Content-Range with the range asked for. */
export type ContentRangeCheck =
  | { kind: 'ok'; total: number | undefined }
  | { kind: 'truncated'; total: number } // the object ends before the requested range does
  | { kind: 'mismatch'; total: number | undefined; detail: string };

const CONTENT_RANGE_RE = /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i;

/** Checks `Content-Range: bytes a-b/total` against the request for [offset, last] (inclusive). */
export function checkContentRange(header: string | null | undefined, offset: number, last: number): ContentRangeCheck {
  const cr = (header ?? '').trim();
  const m = CONTENT_RANGE_RE.exec(cr);
  if (!m) return { kind: 'mismatch', total: undefined, detail: cr ? `an unparsable Content-Range "${cr}"` : 'no Content-Range' };
  const start = Number(m[1]);
  const end = Number(m[2]);
  const total = m[3] === '*' ? undefined : Number(m[3]);
  if (start === offset && end === last) return { kind: 'ok', total };
  if (total !== undefined && start === offset && end === total - 1 && last > end) return { kind: 'truncated', total };
  return { kind: 'mismatch', total, detail: `Content-Range "${cr}"` };
}

/** The size in `Content-Range: bytes *\/size` (a 416 answer), if present. */
export function unsatisfiedRangeTotal(header: string | null | undefined): number | undefined {
  const m = /^bytes\s+\*\/(\d+)$/i.exec((header ?? '').trim());
  return m ? Number(m[1]) : undefined;
}
