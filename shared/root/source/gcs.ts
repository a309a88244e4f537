// gs://bucket/object, with @google-cloud/storage for what it is good at (the
// object's metadata, and credentials: application default credentials on
// Cloud Run, token refresh) and our own verified range requests for the bytes.
// The client library is imported lazily, on the first gs:// source, so reading
// local or HTTP files never loads it.
//
// Why not the library's createReadStream()/download() for the ranges: when one
// of those streams is destroyed before its end (our timeout, a bad
// Content-Range, a 200 instead of 206, a read aborted because a sibling
// failed), the library destroys the HTTP agent of the request, and that agent
// is a process-wide keep-alive pool shared by every Storage client: every
// other download in flight is cut off without an 'error' or 'end' event (it
// just stops), and a metadata call that was reusing a socket fails with
// ECONNRESET. Range reads get no validation from the library either (it
// disables hash checks for ranges). So each coalesced range is one GET of
// `{baseUrl}/b/{bucket}/o/{object}?alt=media&generation=G` with
// `Range: bytes=a-b` and the client's auth headers, through HttpRangeSource
// (Cloud Storage serves one range per request, no multipart ranges).
//
// The size and generation come from one metadata call (file.getMetadata());
// reads are pinned to that generation, so an object overwritten mid-read gives
// SOURCE_NOT_FOUND, never a mix of two files. A client made here has the
// library's own retries off (they back off for seconds and would multiply
// with ours) and its request timeout set to `timeoutMs`; an injected client is
// used as configured.

import type { Storage, StorageOptions } from '@google-cloud/storage';
import { RootError, type ErrorContext, type RootErrorCode } from '../errors';
import { HttpRangeSource, type HttpSourceOptions, type RequestTarget } from './http';
import type { NetworkOptions } from './types';
import { checkCount, codeForStatus, describeError, scrubMessage, systemErrorCode, withRetries } from './util';

export interface GcsSourceOptions extends NetworkOptions {
  /** A configured client to use (shared credentials). */
  storage?: Storage;
  /** Options for the client made when none is given, e.g. { apiEndpoint, projectId, keyFilename }. */
  storageOptions?: StorageOptions;
  /** Project billed for requester-pays buckets. */
  userProject?: string;
  /** Read this generation of the object (default: the live one at the metadata call). */
  generation?: string | number;
  /** The fetch implementation for the media requests; default the global one. */
  fetch?: typeof fetch;
}

/** Splits gs://bucket/object. The object name is taken literally (it may contain '?', '#', '%'). */
export function parseGsUrl(url: string): { bucket: string; object: string } {
  const m = /^gs:\/\/([^/]+)\/(.+)$/s.exec(url);
  if (!m || !/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/.test(m[1]!)) {
    throw new RootError('BAD_ARGUMENT', 'expected gs://bucket/object with a valid bucket name and a non-empty object name', { file: url.replace(/[?#].*$/s, '') });
  }
  return { bucket: m[1]!, object: m[2]! };
}

/** Clients made here, shared by sources with the same (plain, JSON-able) options: one credential cache. */
const clients = new Map<string, Promise<Storage>>();

function makeClient(options: StorageOptions): Promise<Storage> {
  const create = async () => {
    const { Storage } = await import('@google-cloud/storage');
    return new Storage(options);
  };
  let key: string | undefined;
  try {
    const plain = Object.values(options).every((v) => v === null || typeof v !== 'object' || Object.getPrototypeOf(v) === Object.prototype || Array.isArray(v));
    if (plain) key = JSON.stringify(options);
  } catch {
    key = undefined;
  }
  if (key === undefined) return create();
  let client = clients.get(key);
  if (!client) {
    client = create();
    clients.set(key, client);
    client.catch(() => clients.delete(key!));
  }
  return client;
}

export class GcsSource extends HttpRangeSource {
  readonly bucket: string;
  readonly object: string;
  private readonly gcsOptions: GcsSourceOptions;
  private generation: string | undefined;
  private storage: Promise<Storage> | undefined;

  constructor(url: string, options: GcsSourceOptions = {}) {
    const { bucket, object } = parseGsUrl(url);
    const { storage: _s, storageOptions: _o, userProject: _u, generation: _g, ...http } = options;
    super(`gs://${bucket}/${object}`, http as HttpSourceOptions);
    this.bucket = bucket;
    this.object = object;
    this.gcsOptions = options;
    if (options.generation !== undefined) {
      if (!/^\d+$/.test(String(options.generation))) throw new RootError('BAD_ARGUMENT', `generation must be a decimal number, got ${String(options.generation)}`, { file: this.name });
      this.generation = String(options.generation);
    }
    // Reads are pinned to a generation, so without one the metadata call comes first.
    if (options.size !== undefined && this.generation !== undefined) this.knownSize = checkCount('size', options.size, 0);
  }

  private client(): Promise<Storage> {
    if (this.gcsOptions.storage) return Promise.resolve(this.gcsOptions.storage);
    this.storage ??= makeClient({ retryOptions: { autoRetry: false }, timeout: this.timeoutMs, ...this.gcsOptions.storageOptions }).catch((e: unknown) => {
      this.storage = undefined;
      throw this.gcsError('SOURCE_UNAVAILABLE', `cannot load @google-cloud/storage: ${describeError(e)}`, {}, e, false);
    });
    return this.storage;
  }

  protected async fetchSize(): Promise<number> {
    return withRetries(this.retryPolicy, () => this.metadata(), { signal: this.closeController.signal, onRetry: () => this.stats.retries++ });
  }

  private async metadata(): Promise<number> {
    const storage = await this.client();
    const bucket = storage.bucket(this.bucket, this.gcsOptions.userProject ? { userProject: this.gcsOptions.userProject } : undefined);
    const file = bucket.file(this.object, this.generation !== undefined ? { generation: this.generation } : {});
    this.stats.requests++;
    const [meta] = await this.withDeadline('metadata request', () => file.getMetadata());
    const size = Number(meta.size);
    if (meta.size === undefined || meta.size === null || !Number.isSafeInteger(size) || size < 0) {
      throw this.gcsError('SOURCE_PROTOCOL', `object metadata has no usable size (${String(meta.size)})`);
    }
    const enc = typeof meta.contentEncoding === 'string' ? meta.contentEncoding.trim().toLowerCase() : '';
    if (enc && enc !== 'identity') {
      throw this.gcsError('UNSUPPORTED', `object is stored with Content-Encoding "${meta.contentEncoding}": byte ranges would be of the compressed or transcoded stream; store ROOT files without a content encoding`);
    }
    if (this.generation === undefined && meta.generation !== undefined && meta.generation !== null) this.generation = String(meta.generation);
    return size;
  }

  /** The media URL (pinned to the generation) and the client's auth headers. */
  protected async target(): Promise<RequestTarget> {
    const storage = await this.client();
    const url = new URL(`${storage.baseUrl.replace(/\/+$/, '')}/b/${encodeURIComponent(this.bucket)}/o/${encodeURIComponent(this.object)}`);
    url.searchParams.set('alt', 'media');
    if (this.generation !== undefined) url.searchParams.set('generation', this.generation);
    if (this.gcsOptions.userProject) url.searchParams.set('userProject', this.gcsOptions.userProject);
    // Like the library: a custom endpoint (emulator, test fake) gets no credentials unless asked to.
    if (storage.customEndpoint && !storage.useAuthWithCustomEndpoint) return { url, headers: {} };
    let headers: Record<string, string>;
    try {
      headers = { ...(await storage.authClient.getRequestHeaders(url.href)) };
    } catch (e) {
      throw this.mapError(e, 'getting credentials', {});
    }
    for (const v of Object.values(headers)) if (v.length >= 8 && !this.secrets.includes(v)) this.secrets.push(v);
    return { url, headers };
  }

  /**
   * Runs a library call with the source's deadline and close signal; the
   * call itself cannot be cancelled, so a late result is ignored.
   */
  private withDeadline<T>(what: string, op: () => Promise<T>): Promise<T> {
    const signal = this.closeController.signal;
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const settle = (f: () => void) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        f();
      };
      const onAbort = () => settle(() => reject(signal.reason));
      const timer = setTimeout(() => settle(() => reject(this.gcsError('SOURCE_TIMEOUT', `${what} took longer than ${this.timeoutMs} ms`))), this.timeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      op().then(
        (v) => settle(() => resolve(v)),
        (e: unknown) => settle(() => reject(this.mapError(e, what, {}))),
      );
    });
  }

  /** Maps an error of the client library (ApiError, node-fetch FetchError, auth errors) to a RootError. */
  private mapError(e: unknown, what: string, ctx: ErrorContext): RootError {
    if (e instanceof RootError) return e;
    const code = (e as { code?: unknown })?.code;
    if (typeof code === 'number' && code >= 300) return this.gcsError(codeForStatus(code), `HTTP ${code} for ${what}: ${summarizeApiMessage(e)}`, ctx, e);
    const failure = classifyClientFailure(e, what);
    return this.gcsError(failure.code, failure.detail, ctx, e);
  }

  private gcsError(code: RootErrorCode, detail: string, ctx: ErrorContext = {}, cause?: unknown, transient?: boolean): RootError {
    const options: { cause?: unknown; transient?: boolean } = {};
    if (cause !== undefined) options.cause = cause;
    if (transient !== undefined) options.transient = transient;
    return new RootError(code, scrubMessage(detail, this.secrets), { file: this.name, ...ctx }, options);
  }
}

/** The `message` of a JSON API error body, or the error's own message, on one line and shortened. */
export function summarizeApiMessage(e: unknown): string {
  const raw = e instanceof Error ? e.message : String(e);
  try {
    const parsed = JSON.parse(raw) as { error?: { message?: string } };
    if (parsed?.error?.message) return parsed.error.message.slice(0, 200);
  } catch {
    // not JSON
  }
  return raw.replace(/\s+/g, ' ').slice(0, 200);
}

/**
 * A failure of a Cloud Storage client call that carries no HTTP status:
 * client timeouts, network errors (transient), missing or refused
 * credentials, anything else (transient). Shared by the byte source and the
 * object store (shared/pipeline/google/gcs-objects.ts).
 */
export function classifyClientFailure(e: unknown, what: string): { code: RootErrorCode; detail: string } {
  const type = (e as { type?: unknown })?.type;
  const text = describeError(e).replace(/\s+/g, ' ').slice(0, 300);
  if (type === 'request-timeout' || type === 'body-timeout') return { code: 'SOURCE_TIMEOUT', detail: `${what} timed out in the client: ${text}` };
  const sys = systemErrorCode(e);
  if (sys === 'ETIMEDOUT' || sys === 'ESOCKETTIMEDOUT') return { code: 'SOURCE_TIMEOUT', detail: `${what} failed: ${text}` };
  if (sys) return { code: 'SOURCE_UNAVAILABLE', detail: `${what} failed: ${text}` };
  if (/credentials|access token|invalid_grant|unauthorized_client|invalid_client/i.test(text)) {
    return { code: 'SOURCE_FORBIDDEN', detail: `no usable Google credentials (${what}): ${text}` };
  }
  return { code: 'SOURCE_UNAVAILABLE', detail: `${what} failed: ${text}` };
}
