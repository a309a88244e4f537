// ObjectStore over Cloud Storage (@google-cloud/storage, imported lazily on
// the first call, so nothing loads it unless a gs:// URL is used).
//
// list() pages through bucket.getFiles() with a small `fields` mask (name,
// size, generation) until `limit` ROOT-named objects are found or the pages
// run out; stat() is one metadata call. Both give the generation, and open()
// hands it and the size to GcsSource with the same client: the worker reads
// exactly the object that was planned and makes no metadata call of its own.
// readText() checks the size in the metadata first, then reads the pinned
// generation through GcsSource's verified range requests (not the library's
// download streams: see shared/root/source/gcs.ts for why).
//
// Each library call has a deadline (source.timeoutMs, default 30 s) and
// transient failures (429, 5xx, connection errors, timeouts) are retried with
// backoff under source.retries / retryBaseMs / retryMaxMs. Errors are
// RootErrors: a missing bucket or object is SOURCE_NOT_FOUND, 401/403 and
// missing credentials SOURCE_FORBIDDEN (naming the permission needed), the
// rest SOURCE_UNAVAILABLE / SOURCE_TIMEOUT (transient).

import type { GetFilesOptions, Storage, StorageOptions } from '@google-cloud/storage';
import { RootError, type RootErrorCode } from '../../root/errors';
import { DEFAULT_TIMEOUT_MS, GcsSource, parseGsUrl, resolveRetryPolicy, type ByteSource, type GcsSourceOptions } from '../../root/source/index';
import { classifyClientFailure, summarizeApiMessage } from '../../root/source/gcs';
import { checkCount, codeForStatus, describeError, scrubMessage, withRetries, type RetryPolicy } from '../../root/source/util';
import { isRootObjectName } from '../object-names';
import type { ObjectInfo, ObjectStore } from '../ports';

export interface GcsObjectStoreOptions {
  /** A configured client to use; otherwise one is made from `storageOptions` on first use. */
  storage?: Storage;
  /** Options of the client made here, e.g. { apiEndpoint, projectId, keyFilename }. */
  storageOptions?: StorageOptions;
  /** Project billed for requester-pays buckets (listing, metadata and reads). */
  userProject?: string;
  /** Options of the GcsSources that open() and readText() make; timeoutMs and the retry settings also apply to list() and stat(). */
  source?: GcsSourceOptions;
  /** Objects asked for per listing request (maxResults), 1..1000. Default 1000. */
  pageSize?: number;
}

export const DEFAULT_LIST_PAGE_SIZE = 1000;

/** The fields a listing page needs. */
const LIST_FIELDS = 'items(name,size,generation),nextPageToken';

interface RawObject {
  name?: string;
  size?: string | number;
  generation?: string | number;
  contentEncoding?: string;
}

/** Splits gs://bucket[/prefix]; the prefix may be empty (the whole bucket). */
export function parseGsPrefix(url: string): { bucket: string; prefix: string } {
  const m = /^gs:\/\/([^/]+)(?:\/(.*))?$/s.exec(url);
  if (!m || !/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/.test(m[1]!)) {
    throw new RootError('BAD_ARGUMENT', 'expected gs://bucket/prefix with a valid bucket name', { file: url.replace(/[?#].*$/s, '') });
  }
  return { bucket: m[1]!, prefix: m[2] ?? '' };
}

export class GcsObjectStore implements ObjectStore {
  private readonly options: GcsObjectStoreOptions;
  private readonly timeoutMs: number;
  private readonly retryPolicy: RetryPolicy;
  private readonly pageSize: number;
  private storage: Promise<Storage> | undefined;

  constructor(options: GcsObjectStoreOptions = {}) {
    this.options = options;
    const source = options.source ?? {};
    this.timeoutMs = checkCount('timeoutMs', source.timeoutMs, DEFAULT_TIMEOUT_MS, 1);
    this.retryPolicy = resolveRetryPolicy(source);
    this.pageSize = checkCount('pageSize', options.pageSize, DEFAULT_LIST_PAGE_SIZE, 1);
    if (this.pageSize > 1000) throw new RootError('BAD_ARGUMENT', `option pageSize must be at most 1000, got ${this.pageSize}`);
  }

  /** The client: the injected one, or one made (once) with the library's own retries off. */
  client(): Promise<Storage> {
    if (this.options.storage) return Promise.resolve(this.options.storage);
    this.storage ??= import('@google-cloud/storage').then(
      ({ Storage }) => new Storage({ retryOptions: { autoRetry: false }, timeout: this.timeoutMs, ...this.options.storageOptions }),
      (e: unknown) => {
        this.storage = undefined;
        throw new RootError('SOURCE_UNAVAILABLE', `cannot load @google-cloud/storage: ${describeError(e)}`, {}, { cause: e, transient: false });
      },
    );
    return this.storage;
  }

  async list(prefixUrl: string, limit: number): Promise<ObjectInfo[]> {
    const { bucket: bucketName, prefix: given } = parseGsPrefix(prefixUrl);
    checkCount('limit', limit, 0);
    const out: ObjectInfo[] = [];
    if (limit === 0) return out;
    const bucket = this.bucket(await this.client(), bucketName);
    // gs://b/run1 names the folder run1/ when there is one (as the local store and `gcloud storage ls`
    // read it), not also run10/; otherwise it is a plain name prefix
    const prefix = given === '' || given.endsWith('/') || !(await this.hasObjectUnder(bucket, bucketName, `${given}/`, prefixUrl)) ? given : `${given}/`;
    let pageToken: string | undefined;
    do {
      const query: GetFilesOptions = { prefix, autoPaginate: false, maxResults: this.pageSize, fields: LIST_FIELDS };
      if (pageToken !== undefined) query.pageToken = pageToken;
      if (this.options.userProject) query.userProject = this.options.userProject;
      const [, , response] = await this.call('list', prefixUrl, bucketName, () => bucket.getFiles(query));
      const page = (response ?? {}) as { items?: RawObject[]; nextPageToken?: string };
      for (const item of page.items ?? []) {
        if (typeof item.name !== 'string' || !isRootObjectName(item.name)) continue;
        out.push(this.info(bucketName, item.name, item));
        if (out.length >= limit) return out;
      }
      pageToken = typeof page.nextPageToken === 'string' && page.nextPageToken !== '' ? page.nextPageToken : undefined;
    } while (pageToken !== undefined);
    return out;
  }

  /** Whether any object's name starts with `folder` (one listing request of one item). */
  private async hasObjectUnder(bucket: ReturnType<GcsObjectStore['bucket']>, bucketName: string, folder: string, prefixUrl: string): Promise<boolean> {
    const query: GetFilesOptions = { prefix: folder, autoPaginate: false, maxResults: 1, fields: 'items(name)' };
    if (this.options.userProject) query.userProject = this.options.userProject;
    const [, , response] = await this.call('list', prefixUrl, bucketName, () => bucket.getFiles(query));
    return ((response ?? {}) as { items?: unknown[] }).items?.length ? true : false;
  }

  async stat(url: string): Promise<ObjectInfo> {
    const { bucket, object } = parseGsUrl(url);
    return this.info(bucket, object, await this.metadata(url));
  }

  async readText(url: string, maxBytes: number): Promise<string> {
    checkCount('maxBytes', maxBytes, 0);
    const meta = await this.metadata(url);
    const { bucket, object } = parseGsUrl(url);
    const info = this.info(bucket, object, meta);
    const size = info.size!;
    if (size > maxBytes) throw new RootError('LIMIT', `object is ${size} bytes, over the ${maxBytes}-byte limit for a text file`, { file: url });
    const enc = typeof meta.contentEncoding === 'string' ? meta.contentEncoding.trim().toLowerCase() : '';
    if (enc && enc !== 'identity') {
      throw new RootError('UNSUPPORTED', `object is stored with Content-Encoding "${meta.contentEncoding}"; store text files without a content encoding`, { file: url });
    }
    if (size === 0) return '';
    const src = await this.open(url, info);
    try {
      const [bytes] = await src.read([{ offset: 0, length: size }]);
      return new TextDecoder('utf-8').decode(bytes);
    } finally {
      await src.close();
    }
  }

  async open(url: string, info?: ObjectInfo): Promise<ByteSource> {
    const storage = await this.client();
    const options: GcsSourceOptions = { ...this.options.source, storage };
    if (this.options.userProject) options.userProject = this.options.userProject;
    if (info?.generation !== undefined) options.generation = info.generation;
    if (info?.size !== undefined) options.size = info.size;
    return new GcsSource(url, options);
  }

  private bucket(storage: Storage, name: string) {
    return storage.bucket(name, this.options.userProject ? { userProject: this.options.userProject } : undefined);
  }

  private async metadata(url: string): Promise<RawObject> {
    const { bucket, object } = parseGsUrl(url);
    const file = this.bucket(await this.client(), bucket).file(object);
    const [meta] = await this.call('get', url, bucket, () => file.getMetadata());
    return meta as RawObject;
  }

  private info(bucket: string, name: string, raw: RawObject): ObjectInfo {
    const url = `gs://${bucket}/${name}`;
    const size = Number(raw.size);
    if (raw.size === undefined || raw.size === null || raw.size === '' || !Number.isSafeInteger(size) || size < 0) {
      throw new RootError('SOURCE_PROTOCOL', `object metadata has no usable size (${String(raw.size)})`, { file: url });
    }
    const info: ObjectInfo = { url, size };
    if (raw.generation !== undefined && raw.generation !== null && raw.generation !== '') info.generation = String(raw.generation);
    return info;
  }

  /** One library call with a deadline, mapped errors and retries of transient failures. */
  private call<T>(kind: 'list' | 'get', url: string, bucket: string, op: () => Promise<T>): Promise<T> {
    return withRetries(this.retryPolicy, () => this.withDeadline(kind, url, op).catch((e: unknown) => Promise.reject(mapGcsError(e, kind, url, bucket))));
  }

  private withDeadline<T>(kind: 'list' | 'get', url: string, op: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const what = kind === 'list' ? 'listing request' : 'metadata request';
      const timer = setTimeout(() => reject(new RootError('SOURCE_TIMEOUT', `${what} took longer than ${this.timeoutMs} ms`, { file: url })), this.timeoutMs);
      op().then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (e: unknown) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  }
}

/** Maps an error of the client library (ApiError, fetch errors, auth errors) of a listing or metadata call to a RootError. */
function mapGcsError(e: unknown, kind: 'list' | 'get', url: string, bucket: string): RootError {
  if (e instanceof RootError) return e;
  const ctx = { file: url };
  const code = (e as { code?: unknown })?.code;
  const server = summarizeApiMessage(e);
  const make = (c: RootErrorCode, detail: string) => new RootError(c, scrubMessage(detail), ctx, { cause: e });
  const permission = kind === 'list' ? 'storage.objects.list' : 'storage.objects.get';
  if (typeof code === 'number') {
    if (code === 404) {
      if (kind === 'list') return make('SOURCE_NOT_FOUND', `bucket "${bucket}" does not exist (HTTP 404: ${server})`);
      return make('SOURCE_NOT_FOUND', `no such object (HTTP 404: ${server})`);
    }
    if (code === 403) {
      return make('SOURCE_FORBIDDEN', `permission denied: ${kind === 'list' ? 'listing' : 'reading the metadata of'} objects in bucket "${bucket}" needs ${permission} (granted by roles/storage.objectViewer); HTTP 403: ${server}`);
    }
    if (code === 401) return make('SOURCE_FORBIDDEN', `not authenticated to Cloud Storage (HTTP 401: ${server}); check the credentials`);
    if (code >= 300) return make(codeForStatus(code), `HTTP ${code} for the ${kind === 'list' ? 'listing' : 'metadata'} request: ${server}`);
  }
  const failure = classifyClientFailure(e, kind === 'list' ? 'listing request' : 'metadata request');
  return make(failure.code, failure.detail);
}
