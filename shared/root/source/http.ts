// HTTP(S) with Range requests through Node's global fetch (undici): public
// HTTPS servers and signed Cloud Storage URLs (HttpSource), and the media
// downloads of GcsSource, which share the request code in HttpRangeSource.
//
// Every response is checked: a ranged GET must come back 206 with a
// Content-Range naming exactly the bytes asked for, and the body must hold
// exactly that many bytes. A 200 (the server ignored Range) is aborted as soon
// as the status is seen, so a multi-GB body is never downloaded. Each attempt
// has a deadline covering headers and body; transient failures (5xx, 429,
// connection errors, timeouts) are retried with exponential backoff and
// jitter (a Retry-After is honoured up to retryMaxMs), resuming after the
// bytes already received. Requests ask for `Accept-Encoding: identity`.
//
// HttpSource's size comes from a HEAD (Content-Length), falling back to a GET
// of byte 0 (Content-Range total) when HEAD is refused: URLs signed for GET
// answer 403 to HEAD. read() does not wait for the size: the first ranged
// response reports it, and a range past the end is TRUNCATED either way.

import { RootError, type ErrorContext } from '../errors';
import { DEFAULT_NETWORK_CONCURRENCY, PlannedSource } from './planner';
import type { NetworkOptions } from './types';
import { checkContentRange, checkCount, codeForStatus, describeError, parseRetryAfter, redactUrl, scrubMessage, systemErrorCode, unsatisfiedRangeTotal, withRetries, type RetryHint, type RetryPolicy } from './util';

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_RETRIES = 2;
export const DEFAULT_RETRY_BASE_MS = 200;
export const DEFAULT_RETRY_MAX_MS = 5_000;

export interface HttpSourceOptions extends NetworkOptions {
  /** Extra request headers (for example an Authorization bearer token). Never printed. */
  headers?: Record<string, string>;
  /** The fetch implementation; default the global one. */
  fetch?: typeof fetch;
}

export function resolveRetryPolicy(options: NetworkOptions): RetryPolicy {
  return {
    retries: checkCount('retries', options.retries, DEFAULT_RETRIES),
    baseMs: checkCount('retryBaseMs', options.retryBaseMs, DEFAULT_RETRY_BASE_MS),
    maxMs: checkCount('retryMaxMs', options.retryMaxMs, DEFAULT_RETRY_MAX_MS),
  };
}

/** Where a ranged request goes: the URL and the headers (credentials included) of this attempt. */
export interface RequestTarget {
  url: URL;
  headers: Record<string, string>;
}

/**
 * Base of the sources that read with HTTP range requests (HttpSource,
 * GcsSource): one attempt = one fetch with a deadline; responses verified;
 * transient failures retried, resuming after the bytes already stored. A
 * subclass says where requests go (`target()`) and how to get the size.
 */
export abstract class HttpRangeSource extends PlannedSource {
  readonly timeoutMs: number;
  readonly retryPolicy: RetryPolicy;
  protected readonly fetchImpl: typeof fetch;
  /** Strings that must never appear in a message (query strings, tokens). */
  protected readonly secrets: string[] = [];

  constructor(name: string, options: HttpSourceOptions) {
    super(name, options, { concurrency: DEFAULT_NETWORK_CONCURRENCY });
    this.timeoutMs = checkCount('timeoutMs', options.timeoutMs, DEFAULT_TIMEOUT_MS, 1);
    this.retryPolicy = resolveRetryPolicy(options);
    this.fetchImpl = options.fetch ?? fetch;
  }

  /** URL and headers for the next attempt (called per attempt, so credentials can be refreshed). */
  protected abstract target(): Promise<RequestTarget>;

  protected async fetchInto(offset: number, dest: Uint8Array, signal: AbortSignal): Promise<void> {
    let filled = 0;
    await withRetries(
      this.retryPolicy,
      () => this.withSlot(signal, () => this.getRange(offset + filled, dest.subarray(filled), signal, (n) => (filled += n))),
      { signal, onRetry: () => this.stats.retries++ },
    );
  }

  /** One ranged GET into `dest`; `progress` is told of every chunk stored, so a retry can resume. */
  protected getRange(offset: number, dest: Uint8Array, signal: AbortSignal, progress: (n: number) => void): Promise<void> {
    const last = offset + dest.length - 1;
    const range = `bytes=${offset}-${last}`;
    return this.attempt('GET', range, signal, async (res, abort) => {
      const ctx = { offset };
      if (res.status === 200) {
        const whole = this.knownSize !== undefined && offset === 0 && dest.length === this.knownSize && !hasContentEncoding(res) && res.headers.get('content-length') === String(dest.length);
        if (!whole) {
          abort();
          throw this.error('SOURCE_PROTOCOL', `server ignored the Range header (200 instead of 206 for ${range})`, ctx);
        }
      } else if (res.status === 416) {
        abort();
        const total = unsatisfiedRangeTotal(res.headers.get('content-range'));
        if (total !== undefined) this.learnSize(total, ctx);
        throw this.error('TRUNCATED', `${range} is past the end of the ${total !== undefined ? `${total}-byte ` : ''}object (HTTP 416)`, ctx);
      } else if (res.status !== 206) {
        abort();
        throw this.statusError(res, range, ctx);
      } else {
        const check = checkContentRange(res.headers.get('content-range'), offset, last);
        if (check.total !== undefined) this.learnSize(check.total, ctx, abort);
        if (check.kind !== 'ok') {
          abort();
          if (check.kind === 'truncated') throw this.error('TRUNCATED', `${range} runs past the end of the ${check.total}-byte object`, ctx);
          throw this.error('SOURCE_PROTOCOL', `asked for ${range}, the 206 response has ${check.detail}`, ctx);
        }
      }
      if (hasContentEncoding(res)) {
        abort();
        throw this.error('SOURCE_PROTOCOL', `server sent Content-Encoding "${res.headers.get('content-encoding')}" despite Accept-Encoding: identity`, ctx);
      }
      const len = res.headers.get('content-length');
      if (len !== null && len.trim() !== String(dest.length)) {
        abort();
        throw this.error('SOURCE_PROTOCOL', `response to ${range} announces ${len} bytes instead of ${dest.length}`, ctx);
      }
      await this.readBody(res, dest, range, ctx, abort, progress);
    });
  }

  protected async readBody(res: Response, dest: Uint8Array, range: string, ctx: ErrorContext, abort: () => void, progress: (n: number) => void): Promise<void> {
    if (!res.body) {
      if (dest.length === 0) return;
      throw this.error('SOURCE_PROTOCOL', `response to ${range} has no body`, ctx);
    }
    const reader = res.body.getReader();
    let got = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      this.stats.bytes += value.length;
      if (got + value.length > dest.length) {
        abort();
        throw this.error('SOURCE_PROTOCOL', `response to ${range} carries more than the ${dest.length} bytes asked for`, ctx);
      }
      dest.set(value, got);
      got += value.length;
      progress(value.length);
    }
    if (got !== dest.length) throw this.error('SOURCE_PROTOCOL', `short read: response to ${range} ended after ${got} of ${dest.length} bytes`, ctx);
  }

  /**
   * One request with a deadline. `handle` gets the response and a function
   * that aborts the transfer (used to drop an unwanted body at once).
   */
  protected async attempt<T>(method: 'GET' | 'HEAD', range: string | undefined, outer: AbortSignal, handle: (res: Response, abort: () => void) => Promise<T>): Promise<T> {
    if (outer.aborted) throw outer.reason;
    const controller = new AbortController();
    const what = `${method}${range ? ` ${range}` : ''}`;
    const offset = range ? Number(/=(\d+)/.exec(range)![1]) : undefined;
    const timeout = this.error('SOURCE_TIMEOUT', `${what} took longer than ${this.timeoutMs} ms`, offset === undefined ? {} : { offset });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(timeout);
    }, this.timeoutMs);
    const onOuter = () => controller.abort(outer.reason);
    outer.addEventListener('abort', onOuter, { once: true });
    try {
      const target = await this.target();
      // identity: a compressed transfer would make lengths meaningless (and undici would inflate it silently).
      const headers: Record<string, string> = { ...target.headers, 'accept-encoding': 'identity' };
      if (range) headers.range = range;
      this.stats.requests++;
      const res = await this.fetchImpl(target.url, { method, headers, signal: controller.signal, redirect: 'follow' });
      return await handle(res, () => controller.abort(new Error('response dropped')));
    } catch (e) {
      if (timedOut) throw timeout;
      if (outer.aborted && outer.reason instanceof Error) throw outer.reason;
      if (e instanceof RootError) throw e;
      throw this.networkError(e, what, offset);
    } finally {
      clearTimeout(timer);
      outer.removeEventListener('abort', onOuter);
    }
  }

  /** Records the object size from a response; a size that changes between responses means the object was replaced. */
  protected learnSize(total: number, ctx: ErrorContext, abort?: () => void): void {
    if (this.knownSize === undefined) this.knownSize = total;
    else if (this.knownSize !== total) {
      abort?.();
      throw this.error('SOURCE_PROTOCOL', `object size changed from ${this.knownSize} to ${total} bytes while reading (was it overwritten?)`, ctx);
    }
  }

  protected statusError(res: Response, what: string, ctx: ErrorContext = {}): RootError {
    const code = codeForStatus(res.status);
    const err = this.error(code, `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''} for ${what}`, ctx) as RootError & RetryHint;
    if (code === 'SOURCE_UNAVAILABLE') {
      const hint = parseRetryAfter(res.headers.get('retry-after'));
      if (hint !== undefined) err.retryAfterMs = hint;
    }
    return err;
  }

  protected networkError(e: unknown, what: string, offset: number | undefined): RootError {
    const sys = systemErrorCode(e);
    const detail = scrubMessage(`${what} failed: ${describeError(e)}`, this.secrets);
    const ctx = offset === undefined ? {} : { offset };
    if (sys === 'ETIMEDOUT' || sys === 'UND_ERR_CONNECT_TIMEOUT' || sys === 'UND_ERR_HEADERS_TIMEOUT' || sys === 'UND_ERR_BODY_TIMEOUT') {
      return this.error('SOURCE_TIMEOUT', detail, ctx, e);
    }
    return this.error('SOURCE_UNAVAILABLE', detail, ctx, e);
  }

  protected error(code: RootError['code'], detail: string, ctx: ErrorContext = {}, cause?: unknown): RootError {
    return new RootError(code, scrubMessage(detail, this.secrets), { file: this.name, ...ctx }, cause === undefined ? {} : { cause });
  }
}

/** A file behind an http(s) URL: a public server or a signed Cloud Storage URL. */
export class HttpSource extends HttpRangeSource {
  readonly url: URL;
  private readonly headers: Record<string, string>;

  constructor(url: string | URL, options: HttpSourceOptions = {}) {
    let u: URL;
    try {
      u = new URL(String(url));
    } catch {
      throw new RootError('BAD_ARGUMENT', 'not a valid URL', { file: redactUrl(String(url)) });
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new RootError('BAD_ARGUMENT', `HttpSource needs an http(s) URL, got ${u.protocol}`, { file: redactUrl(u) });
    super(redactUrl(u), options);
    this.url = u;
    this.headers = { ...options.headers };
    this.secrets.push(...[u.search, u.password, u.username, ...Object.values(options.headers ?? {})].filter((x) => x.length > 0));
    if (options.size !== undefined) this.knownSize = checkCount('size', options.size, 0);
    // The first ranged GET reports the size in Content-Range: no HEAD needed before reading.
    this.sizeNeededForRead = false;
  }

  protected async target(): Promise<RequestTarget> {
    return { url: this.url, headers: this.headers };
  }

  protected async fetchSize(): Promise<number> {
    return withRetries(this.retryPolicy, () => this.probeSize(), { signal: this.closeController.signal, onRetry: () => this.stats.retries++ });
  }

  /** HEAD for Content-Length; if the server refuses HEAD (405, or 403 from a URL signed for GET only), a GET of byte 0. */
  private async probeSize(): Promise<number> {
    const signal = this.closeController.signal;
    const fromHead = await this.attempt('HEAD', undefined, signal, async (res) => {
      if (res.status === 403 || res.status === 405 || res.status === 501 || res.status === 400) return undefined;
      if (!res.ok) throw this.statusError(res, 'HEAD');
      if ((res.headers.get('accept-ranges') ?? '').trim().toLowerCase() === 'none') {
        throw this.error('SOURCE_PROTOCOL', 'server does not support range requests (Accept-Ranges: none)');
      }
      const len = res.headers.get('content-length');
      if (len === null || !/^\d+$/.test(len.trim()) || hasContentEncoding(res)) return undefined;
      return Number(len);
    });
    if (fromHead !== undefined) return fromHead;
    return this.attempt('GET', 'bytes=0-0', signal, async (res, abort) => {
      const cr = res.headers.get('content-range') ?? '';
      if (res.status === 416) {
        const total = unsatisfiedRangeTotal(cr);
        if (total !== undefined) {
          abort();
          return total;
        }
      }
      if (res.status === 200) {
        abort();
        throw this.error('SOURCE_PROTOCOL', 'server ignored the Range header (200 instead of 206)');
      }
      if (res.status !== 206) {
        abort();
        throw this.statusError(res, 'GET bytes=0-0');
      }
      const check = checkContentRange(cr, 0, 0);
      if (check.kind !== 'ok' || check.total === undefined) {
        abort();
        throw this.error('SOURCE_PROTOCOL', `cannot tell the object size from Content-Range "${cr}" (asked for bytes=0-0)`);
      }
      await this.readBody(res, new Uint8Array(1), 'bytes=0-0', {}, abort, () => undefined);
      return check.total;
    });
  }
}

function hasContentEncoding(res: Response): boolean {
  const ce = res.headers.get('content-encoding');
  return ce !== null && ce.trim() !== '' && ce.trim().toLowerCase() !== 'identity';
}
