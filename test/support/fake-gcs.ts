// A small stand-in for the Cloud Storage JSON API, enough for the pipeline's
// reads and writes through @google-cloud/storage, on 127.0.0.1 with an
// ephemeral port.
//
//   const gcs = await startFakeGcs({ 'bucket/dir/file.root': bytes });
//   const storage = new Storage({ apiEndpoint: gcs.endpoint, projectId: 'test' });
//   // or, in a child process: STORAGE_EMULATOR_HOST=<gcs.endpoint> and new Storage()
//   // gs://bucket/dir/file.root is now readable (and writable) through `storage`
//   gcs.setMode(503, { times: 1, target: 'media' });
//   gcs.setFaultRule((r) => (r.kind === 'media' && r.key === 'bucket/x.root' ? 503 : undefined));
//   const off = gcs.onMedia((r) => r.key === 'bucket/y.root' && worker.kill('SIGKILL'));
//   await gcs.close();
//
// Routes (object names are URL-encoded in one path segment, as the client sends them):
//   GET /storage/v1/b/{bucket}/o/{object}             → object metadata (JSON)
//   GET /storage/v1/b/{bucket}/o/{object}?alt=media   → object bytes, with Range
//   GET /download/storage/v1/b/{bucket}/o/{object}?alt=media  (same)
//   GET /storage/v1/b/{bucket}/o?prefix=&maxResults=&pageToken=  → a listing page:
//       { kind: 'storage#objects', items: [...metadata], nextPageToken? } in name
//       order (maxResults default 1000); a bucket that holds no object and was
//       not made with addBucket() → 404. An empty page has no `items` (as in
//       Cloud Storage). A `fields` mask such as items(name,size),nextPageToken is
//       applied to listings and metadata, so a mask that drops a field the code
//       needs fails here as it would there.
//   DELETE /storage/v1/b/{bucket}/o/{object}          → 204 (404 if absent)
//   POST /upload/storage/v1/b/{bucket}/o?uploadType=media&name=    body = the bytes
//   POST /upload/storage/v1/b/{bucket}/o?uploadType=multipart      multipart/related:
//       a JSON metadata part, then the media part (file.save/bucket.upload with
//       `resumable: false`); the name is the `name` parameter or the metadata's.
//   POST /upload/storage/v1/b/{bucket}/o?uploadType=resumable&name=  (JSON metadata)
//       → 200 with `Location: <session URI>` (…&upload_id=N); then PUT the session
//       URI with the bytes, in one request or in chunks with `Content-Range:
//       bytes a-b/total` (total may be `*` until the last chunk). An incomplete
//       upload answers 308 with `Range: bytes=0-n` (none while nothing is kept);
//       `Content-Range: bytes */total` or `bytes */*` asks for that status. As
//       in Cloud Storage, a chunk that is not the last must hold at least 256 KiB
//       (else 400) and only a multiple of 256 KiB is kept (the Range says so).
//       A finished session answers every later PUT with the object's metadata.
// Every path also works without the /storage/v1 prefix: that is where the
// client sends JSON API calls when it finds STORAGE_EMULATOR_HOST.
// A `generation` query parameter must match the object's generation (else 404).
// Writes honour `ifGenerationMatch` (0: the object must not exist) → 412, checked
// when an upload completes. Uploads answer the new object's metadata (a new
// generation each time); metadata carries `md5Hash` and `crc32c` (base64), which
// the client compares with its own after an upload (crc32c by default; without
// it the client deletes the object and fails); media answers carry
// `x-goog-hash: crc32c=…,md5=…` (the whole object's, as Cloud Storage sends it;
// the client checks it after a download without a range). An `X-Goog-Hash` header or
// `crc32c`/`md5Hash` in the uploaded metadata that does not match → 400.
// Uploads need the bucket to exist (an object in it, or addBucket()) → else 404.
// Errors have the JSON API's shape: {"error": {"code", "message", "errors": [{"reason"}]}}.
//
// Faults: the fault modes are those of the range server (FaultMode), chosen
// per request either by the fault rule (setFaultRule; it sees the kind, the
// 'bucket/name' key, the byte range, and decides first) or, when the rule
// returns undefined or there is none, by setMode: applied to metadata requests,
// media requests or both (`target`); listing requests are their own target
// ('list'); 'all' means the reads (metadata, media, list); uploads and deletes
// get setMode faults only with target 'upload' / 'delete', so a test can break
// the reads while it writes its fixtures. Media requests support every mode;
// the others only the numeric statuses, 'stall', 'stall-mid-body' and
// 'no-response' (all three: no answer, and an upload is not kept) and the delay;
// for an upload or a delete 'drop-mid-body' does the write and then cuts the
// connection instead of answering (a write whose answer is lost). Other modes
// answer normally.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Responder, Tracker, listenLocal, parseRange, type Behaviour, type FaultMode, type RequestRecord } from './range-server';

export interface FakeGcsBehaviour extends Behaviour {
  /** Which requests the fault applies to (default 'all': the reads). */
  target?: 'metadata' | 'media' | 'list' | 'all' | 'upload' | 'delete';
}

export type GcsRequestKind = 'metadata' | 'media' | 'list' | 'upload' | 'delete';

/** A request as the fault rule and the hooks see it, on arrival. */
export interface GcsRequest {
  kind: GcsRequestKind;
  /** 'bucket/name'; for a listing 'bucket/' + its prefix; for an upload, from the `name` parameter or the session. */
  key: string;
  method: string;
  /**
   * Media: the requested bytes (inclusive, clamped to the object; undefined
   * without a satisfiable Range). Upload: the bytes a chunk's Content-Range
   * declares (undefined for a status query or an open-ended chunk).
   */
  range?: { start: number; end: number };
  /** 1-based number of the request since start or resetStats() (its place in `log`). */
  requestNo: number;
}

/** Decides a request's fault: a mode ('normal' included), or undefined to leave it to setMode. */
export type FaultRule = (req: GcsRequest) => FaultMode | undefined;

export interface FakeGcs {
  /** Pass as `apiEndpoint` to the Storage client (or as STORAGE_EMULATOR_HOST), e.g. http://127.0.0.1:41234 */
  readonly endpoint: string;
  readonly port: number;
  readonly requests: number;
  readonly mediaRequests: number;
  readonly metadataRequests: number;
  /** Object listing requests (GET …/b/{bucket}/o). */
  readonly listRequests: number;
  /** Upload requests: each POST and each session PUT (chunk or status query). */
  readonly uploadRequests: number;
  readonly deleteRequests: number;
  readonly bytesSent: number;
  /** Upload body bytes received (whole multipart bodies included). */
  readonly bytesReceived: number;
  /** Requests answered in a fault mode, by setMode or by the fault rule. */
  readonly faultsApplied: number;
  readonly inFlight: number;
  readonly maxInFlight: number;
  readonly log: readonly RequestRecord[];
  /** Headers of the last request (to check what the client sends, e.g. Accept-Encoding). */
  readonly lastHeaders: Readonly<Record<string, string | string[] | undefined>>;
  setMode(mode: FaultMode, options?: Omit<FakeGcsBehaviour, 'mode'>): void;
  /** Decides each request's fault before setMode does (see GcsRequest). */
  setFaultRule(rule: FaultRule): void;
  clearFaultRule(): void;
  /**
   * Sets the hook called synchronously when a request arrives, before it is
   * answered (and before the fault rule), e.g. to kill a process at that
   * moment; undefined removes it. Returns a function that removes it too.
   */
  onRequest(cb: ((req: GcsRequest) => void) | undefined): () => void;
  /** The same for media requests only (a hook of its own, beside onRequest's). */
  onMedia(cb: ((req: GcsRequest) => void) | undefined): () => void;
  /** Extra metadata fields for an object ('bucket/name'), e.g. { contentEncoding: 'gzip' }. */
  setMetadata(key: string, extra: Record<string, unknown>): void;
  /** Replaces an object's bytes; its generation changes, as in Cloud Storage. */
  putObject(key: string, bytes: Uint8Array): void;
  /** An object's bytes ('bucket/name'), or undefined. */
  getObject(key: string): Uint8Array | undefined;
  /** An object's generation, or undefined. */
  generationOf(key: string): string | undefined;
  /** Removes an object; false if there was none. */
  deleteObject(key: string): boolean;
  /** The stored objects' keys ('bucket/name') starting with `prefix`, in name order. */
  keys(prefix?: string): string[];
  /** Makes a bucket exist even with no objects (listing it gives an empty page, not 404). */
  addBucket(name: string): void;
  resetStats(): void;
  close(): Promise<void>;
}

interface StoredObject {
  bucket: string;
  name: string;
  bytes: Uint8Array;
  generation: string;
  extra: Record<string, unknown>;
  /** md5Hash and crc32c, computed when first asked for (objects are immutable). */
  hashes?: { md5Hash: string; crc32c: string };
}

/** A resumable upload session. */
interface Session {
  bucket: string;
  name: string;
  meta: Record<string, unknown>;
  /** The initiating request's parameters (preconditions). */
  params: URLSearchParams;
  contentType: string | undefined;
  /** The bytes kept so far (`kept` of them). */
  data: Buffer;
  kept: number;
  /** The answer once the upload has finished (the metadata, or its failure). */
  final?: Reply;
}

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

const REASONS: Record<number, string> = { 400: 'invalid', 401: 'required', 403: 'forbidden', 404: 'notFound', 405: 'methodNotAllowed', 412: 'conditionNotMet', 416: 'requestedRangeNotSatisfiable', 429: 'rateLimitExceeded', 500: 'backendError', 503: 'backendError' };
const MESSAGES: Record<number, string> = { 404: 'No such object.', 412: 'At least one of the pre-conditions you specified did not hold.' };
/** Resumable chunks are kept in multiples of this (Cloud Storage's rule). */
const CHUNK_QUANTUM = 256 * 1024;
/**
 * The partial response of a `fields` mask: "a,b(c,d),e" keeps a, e and, of b (an object or each
 * element of an array), c and d. Enough of the JSON API's syntax for what clients send.
 */
export function applyFields(value: Record<string, unknown>, mask: string | null): Record<string, unknown> {
  if (!mask) return value;
  const pick = (v: unknown, spec: Map<string, string | undefined>): unknown => {
    if (Array.isArray(v)) return v.map((x) => pick(x, spec));
    if (v === null || typeof v !== 'object') return v;
    const out: Record<string, unknown> = {};
    for (const [k, sub] of spec) {
      if (!(k in v)) continue;
      const x = (v as Record<string, unknown>)[k];
      out[k] = sub === undefined ? x : pick(x, parseMask(sub));
    }
    return out;
  };
  return pick(value, parseMask(mask)) as Record<string, unknown>;
}

/** "a,b(c,d)" → { a: undefined, b: "c,d" } (top-level commas only). */
function parseMask(mask: string): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  let depth = 0;
  let start = 0;
  const add = (part: string) => {
    const m = /^\s*([\w.]+)\s*(?:\((.*)\))?\s*$/s.exec(part);
    if (m) out.set(m[1]!, m[2]);
  };
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] === '(') depth++;
    else if (mask[i] === ')') depth--;
    else if (mask[i] === ',' && depth === 0) {
      add(mask.slice(start, i));
      start = i + 1;
    }
  }
  add(mask.slice(start));
  return out;
}

/** Object resource fields an upload's metadata may set. */
const UPLOAD_FIELDS = ['contentType', 'contentEncoding', 'contentDisposition', 'contentLanguage', 'cacheControl', 'customTime', 'metadata', 'storageClass'];
const JSON_TYPE = 'application/json; charset=UTF-8';

function byteCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function errorJson(status: number, message = MESSAGES[status] ?? `fake error ${status}`): unknown {
  return { error: { code: status, message, errors: [{ message, domain: 'global', reason: REASONS[status] ?? 'unknown' }] } };
}

function gcsErrorBody(status: number): { contentType: string; body: string } {
  return { contentType: JSON_TYPE, body: JSON.stringify(errorJson(status)) };
}

const errorReply = (status: number, message?: string): Reply => ({ status, body: errorJson(status, message) });

let crcTable: Int32Array | undefined;

/** CRC-32C (Castagnoli), as Cloud Storage computes it; written out here so the stand-in does not borrow the client's. */
export function crc32c(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
      crcTable[n] = c;
    }
  }
  const t = crcTable;
  let crc = -1;
  for (let i = 0; i < bytes.length; i++) crc = t[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

/** The JSON API's form of a CRC-32C: base64 of its four big-endian bytes. */
export function crc32cBase64(bytes: Uint8Array): string {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(crc32c(bytes));
  return b.toString('base64');
}

function hashesOf(obj: StoredObject): { md5Hash: string; crc32c: string } {
  return (obj.hashes ??= { md5Hash: createHash('md5').update(obj.bytes).digest('base64'), crc32c: crc32cBase64(obj.bytes) });
}

/** `X-Goog-Hash: crc32c=…,md5=…` (base64 values may end in '='). */
function parseGoogHash(header: string | undefined): { crc32c?: string; md5?: string } {
  const out: { crc32c?: string; md5?: string } = {};
  for (const item of (header ?? '').split(',')) {
    const eq = item.indexOf('=');
    if (eq < 0) continue;
    const k = item.slice(0, eq).trim().toLowerCase();
    if (k === 'crc32c' || k === 'md5') out[k] = item.slice(eq + 1).trim();
  }
  return out;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The parts of a multipart/related body, or undefined if it is not one. */
function parseMultipart(body: Buffer, contentType: string | undefined): { type: string | undefined; body: Buffer }[] | undefined {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  if (!m) return undefined;
  const delimiter = Buffer.from(`--${m[1] ?? m[2]}`);
  const next = Buffer.concat([Buffer.from('\r\n'), delimiter]);
  const parts: { type: string | undefined; body: Buffer }[] = [];
  let pos = body.indexOf(delimiter);
  if (pos < 0) return undefined;
  pos += delimiter.length;
  for (;;) {
    if (body.subarray(pos, pos + 2).toString('latin1') === '--') return parts;
    const headerEnd = body.indexOf('\r\n\r\n', pos);
    if (headerEnd < 0) return undefined;
    const lines = body.subarray(pos, headerEnd).toString('latin1').split('\r\n');
    const type = lines.find((l) => /^content-type:/i.test(l))?.replace(/^content-type:\s*/i, '');
    const end = body.indexOf(next, headerEnd + 4);
    if (end < 0) return undefined;
    parts.push({ type, body: body.subarray(headerEnd + 4, end) });
    pos = end + next.length;
  }
}

function parseJsonObject(bytes: Buffer): Record<string, unknown> | undefined {
  if (bytes.length === 0) return {};
  try {
    const v: unknown = JSON.parse(bytes.toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** `bytes a-b/total`, `bytes a-*\/total`, `bytes *\/total` (total may be `*`). */
function parseContentRange(value: string): { start?: number; end?: number; total?: number } | undefined {
  const m = /^bytes\s+(?:\*|(\d+)-(\d+|\*))\/(\d+|\*)$/.exec(value.trim());
  if (!m) return undefined;
  return {
    start: m[1] === undefined ? undefined : Number(m[1]),
    end: m[2] === undefined || m[2] === '*' ? undefined : Number(m[2]),
    total: m[3] === '*' ? undefined : Number(m[3]),
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
    req.once('close', () => reject(new Error('request closed'))); // no-op after 'end'
  });
}

const silent = (mode: FaultMode) => mode === 'no-response' || mode === 'stall' || mode === 'stall-mid-body';

/** Starts the fake. `objects` maps 'bucket/object/name' to bytes or a file path. */
export async function startFakeGcs(objects: Record<string, Uint8Array | string>, behaviour: FakeGcsBehaviour = {}): Promise<FakeGcs> {
  const store = new Map<string, StoredObject>();
  const buckets = new Set<string>();
  const sessions = new Map<string, Session>();
  let generationCounter = 1_700_000_000_000_000;
  let sessionCounter = 0;
  const put = (key: string, v: Uint8Array | string) => {
    const slash = key.indexOf('/');
    if (slash <= 0) throw new Error(`fake-gcs: object key must be 'bucket/name', got ${key}`);
    const prev = store.get(key);
    buckets.add(key.slice(0, slash));
    store.set(key, { bucket: key.slice(0, slash), name: key.slice(slash + 1), bytes: typeof v === 'string' ? new Uint8Array(readFileSync(v)) : v, generation: String(generationCounter++), extra: prev?.extra ?? {} });
  };
  for (const [k, v] of Object.entries(objects)) put(k, v);

  const tracker = new Tracker();
  const responder = new Responder(tracker, gcsErrorBody);
  let target: FakeGcsBehaviour['target'] = 'all';
  const set = (b: FakeGcsBehaviour) => {
    responder.set(b);
    target = b.target ?? 'all';
  };
  set(behaviour);
  let faultRule: FaultRule | undefined;
  type Hook = (req: GcsRequest) => void;
  const hooks: { request?: Hook; media?: Hook } = {};
  const setHook = (slot: 'request' | 'media', cb: Hook | undefined) => {
    hooks[slot] = cb;
    return () => void (hooks[slot] === cb && (hooks[slot] = undefined));
  };
  let mediaRequests = 0;
  let metadataRequests = 0;
  let listRequests = 0;
  let uploadRequests = 0;
  let deleteRequests = 0;
  let bytesReceived = 0;
  let lastHeaders: Record<string, string | string[] | undefined> = {};

  const applies = (kind: GcsRequestKind) => (target === 'all' ? kind === 'metadata' || kind === 'media' || kind === 'list' : target === kind);

  /** Runs the hooks, then picks the request's mode: the rule's, else setMode's. */
  function decide(req: IncomingMessage, record: RequestRecord, info: GcsRequest): FaultMode {
    hooks.request?.(info);
    if (info.kind === 'media') hooks.media?.(info);
    const ruled = faultRule?.(info);
    let mode: FaultMode;
    if (ruled !== undefined) {
      if (ruled !== 'normal') tracker.faults++;
      mode = ruled;
    } else mode = applies(info.kind) ? responder.pickMode(req) : 'normal';
    record.mode = mode;
    return mode;
  }

  const server = createServer((req, res) => {
    const record = responder.begin(req, res);
    const requestNo = tracker.requests;
    const method = req.method ?? 'GET';
    lastHeaders = { ...req.headers };
    const url = new URL(req.url ?? '/', 'http://x');
    const upload = /^\/upload\/storage\/v1\/b\/([^/]+)\/o\/?$/.exec(url.pathname);
    if (upload) {
      uploadRequests++;
      return answerUpload(req, res, record, requestNo, decodeURIComponent(upload[1]!), url);
    }
    // (?:/storage/v1)?: under STORAGE_EMULATOR_HOST the client drops the prefix
    const list = /^(?:\/storage\/v1)?\/b\/([^/]+)\/o\/?$/.exec(url.pathname);
    if (list && method === 'GET') {
      listRequests++;
      const bucket = decodeURIComponent(list[1]!);
      const mode = decide(req, record, { kind: 'list', key: `${bucket}/${url.searchParams.get('prefix') ?? ''}`, method, requestNo });
      return answer(res, record, mode, false, () => listPage(bucket, url.searchParams));
    }
    const m = /^(?:\/download\/storage\/v1|\/storage\/v1)?\/b\/([^/]+)\/o\/([^/]+)$/.exec(url.pathname);
    const key = m ? `${decodeURIComponent(m[1]!)}/${decodeURIComponent(m[2]!)}` : '';
    const generation = url.searchParams.get('generation');
    if (m && method === 'DELETE') {
      deleteRequests++;
      const mode = decide(req, record, { kind: 'delete', key, method, requestNo });
      return answer(res, record, mode, true, () => deleteObject(key, url.searchParams));
    }
    const isMedia = url.searchParams.get('alt') === 'media';
    if (isMedia) mediaRequests++;
    else metadataRequests++;
    if (!m || (method !== 'GET' && method !== 'HEAD')) return responder.sendStatus(res, record, m ? 405 : 404);
    const obj = store.get(key);
    const current = obj && (generation === null || generation === obj.generation) ? obj : undefined;
    if (isMedia) {
      const parsed = current && req.headers.range !== undefined ? parseRange(req.headers.range, current.bytes.length) : undefined;
      const range = typeof parsed === 'object' ? parsed : undefined;
      const mode = decide(req, record, { kind: 'media', key, method, range, requestNo });
      if (current) {
        const hashes = hashesOf(current);
        // x-goog-hash: the whole object's, on every media answer; the client checks it after a download without a range
        const headers = { 'x-goog-generation': current.generation, 'x-goog-stored-content-length': String(current.bytes.length), 'x-goog-stored-content-encoding': String(current.extra.contentEncoding ?? 'identity'), 'x-goog-hash': `crc32c=${hashes.crc32c},md5=${hashes.md5Hash}` };
        return responder.serve(req, res, record, current.bytes, headers, mode);
      }
      return answer(res, record, mode, false, () => errorReply(404));
    }
    const mode = decide(req, record, { kind: 'metadata', key, method, requestNo });
    answer(res, record, mode, false, () => (current ? { status: 200, body: applyFields(metadataOf(current), url.searchParams.get('fields')) } : errorReply(404)));
  });

  /**
   * Answers a request that is not a media download in `mode`: nothing for the
   * stalling modes, the status for a numeric one, else `work()`'s reply. For a
   * write, 'drop-mid-body' does the work and cuts the connection instead.
   */
  function answer(res: ServerResponse, record: RequestRecord, mode: FaultMode, write: boolean, work: () => Reply): void {
    responder.delayed(() => {
      if (silent(mode)) return;
      if (typeof mode === 'number') return responder.sendStatus(res, record, mode);
      const reply = work();
      if (write && mode === 'drop-mid-body') return void res.socket?.destroy();
      const body = reply.body === undefined ? '' : JSON.stringify(reply.body);
      record.status = reply.status;
      res.writeHead(reply.status, { ...(body ? { 'content-type': JSON_TYPE } : {}), 'content-length': Buffer.byteLength(body), ...reply.headers });
      res.end(res.req.method === 'HEAD' ? undefined : body);
    });
  }

  function metadataOf(obj: StoredObject): Record<string, unknown> {
    return {
      kind: 'storage#object',
      id: `${obj.bucket}/${obj.name}/${obj.generation}`,
      selfLink: `http://127.0.0.1/storage/v1/b/${obj.bucket}/o/${encodeURIComponent(obj.name)}`,
      name: obj.name,
      bucket: obj.bucket,
      generation: obj.generation,
      metageneration: '1',
      contentType: 'application/octet-stream',
      storageClass: 'STANDARD',
      size: String(obj.bytes.length),
      ...hashesOf(obj),
      timeCreated: '2024-01-01T00:00:00.000Z',
      updated: '2024-01-01T00:00:00.000Z',
      ...obj.extra,
    };
  }

  /** One page of a listing: the names after the page token (the last name of the previous page), in name order. */
  function listPage(bucket: string, params: URLSearchParams): Reply {
    if (!buckets.has(bucket)) return errorReply(404, 'The specified bucket does not exist.');
    const prefix = params.get('prefix') ?? '';
    const maxResults = Math.max(1, Math.min(1000, Number(params.get('maxResults') ?? 1000) || 1000));
    const token = params.get('pageToken');
    const after = token ? Buffer.from(token, 'base64url').toString('utf8') : undefined;
    const matching = [...store.values()]
      .filter((o) => o.bucket === bucket && o.name.startsWith(prefix) && (after === undefined || byteCompare(o.name, after) > 0))
      .sort((a, b) => byteCompare(a.name, b.name));
    const page = matching.slice(0, maxResults);
    const out: Record<string, unknown> = { kind: 'storage#objects' };
    if (page.length) out.items = page.map(metadataOf);
    if (matching.length > maxResults) out.nextPageToken = Buffer.from(page[page.length - 1]!.name, 'utf8').toString('base64url');
    return { status: 200, body: applyFields(out, params.get('fields')) };
  }

  function deleteObject(key: string, params: URLSearchParams): Reply {
    const obj = store.get(key);
    const generation = params.get('generation');
    if (!obj || (generation !== null && generation !== obj.generation)) return errorReply(404);
    const want = params.get('ifGenerationMatch');
    if (want !== null && want !== obj.generation) return errorReply(412);
    store.delete(key);
    return { status: 204 };
  }

  /** The mode is decided on arrival (so the hooks see the upload start); the body is read in full before any answer. */
  function answerUpload(req: IncomingMessage, res: ServerResponse, record: RequestRecord, requestNo: number, bucket: string, url: URL): void {
    const params = url.searchParams;
    const uploadId = params.get('upload_id');
    const session = uploadId === null ? undefined : sessions.get(uploadId);
    const declared = req.method === 'PUT' ? parseContentRange(header(req, 'content-range') ?? '') : undefined;
    const range = declared?.start !== undefined && declared.end !== undefined ? { start: declared.start, end: declared.end } : undefined;
    const key = `${bucket}/${session?.name ?? params.get('name') ?? ''}`;
    const mode = decide(req, record, { kind: 'upload', key, method: req.method ?? 'POST', range, requestNo });
    readBody(req).then(
      (body) => {
        bytesReceived += body.length;
        answer(res, record, mode, true, () => uploadReply(req, bucket, params, uploadId, body));
      },
      () => undefined, // the client went away
    );
  }

  function uploadReply(req: IncomingMessage, bucket: string, params: URLSearchParams, uploadId: string | null, body: Buffer): Reply {
    if (req.method === 'PUT' && uploadId !== null) {
      const session = sessions.get(uploadId);
      return session ? sessionPut(session, req, body) : errorReply(404, 'No such upload session.');
    }
    if (req.method !== 'POST') return errorReply(405);
    if (!buckets.has(bucket)) return errorReply(404, 'The specified bucket does not exist.');
    const type = params.get('uploadType');
    if (type === 'media') {
      const name = params.get('name');
      return name ? commit(bucket, name, body, {}, params, header(req, 'content-type'), header(req, 'x-goog-hash')) : errorReply(400, 'Required parameter: name');
    }
    if (type === 'multipart') {
      const parts = parseMultipart(body, header(req, 'content-type'));
      const meta = parts?.length === 2 ? parseJsonObject(parts[0]!.body) : undefined;
      if (!parts || !meta) return errorReply(400, 'Malformed multipart body.');
      const name = params.get('name') ?? (typeof meta.name === 'string' ? meta.name : '');
      return name ? commit(bucket, name, parts[1]!.body, meta, params, parts[1]!.type, header(req, 'x-goog-hash')) : errorReply(400, 'Required parameter: name');
    }
    if (type === 'resumable') {
      const meta = parseJsonObject(body);
      if (!meta) return errorReply(400, 'Malformed metadata.');
      const name = params.get('name') ?? (typeof meta.name === 'string' ? meta.name : '');
      if (!name) return errorReply(400, 'Required parameter: name');
      const id = String(++sessionCounter);
      sessions.set(id, { bucket, name, meta, params: new URLSearchParams(params), contentType: header(req, 'x-upload-content-type'), data: Buffer.alloc(0), kept: 0 });
      const host = req.headers.host ?? `127.0.0.1:${port}`;
      const location = `http://${host}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=resumable&name=${encodeURIComponent(name)}&upload_id=${id}`;
      return { status: 200, headers: { location } };
    }
    return errorReply(400, `Unsupported uploadType ${type ?? '(none)'}.`);
  }

  /** One PUT to a resumable session: a status query, a chunk, or the whole rest of the object. */
  function sessionPut(s: Session, req: IncomingMessage, body: Buffer): Reply {
    if (s.final) return s.final;
    const value = header(req, 'content-range');
    // no Content-Range: the whole object in this request
    const cr = value === undefined ? { start: 0, end: undefined, total: body.length } : parseContentRange(value);
    if (!cr) return errorReply(400, `Malformed Content-Range ${value}.`);
    const incomplete = (): Reply => ({ status: 308, headers: s.kept > 0 ? { range: `bytes=0-${s.kept - 1}` } : {} });
    const finish = (): Reply => (s.final = commit(s.bucket, s.name, s.data, s.meta, s.params, s.contentType, header(req, 'x-goog-hash')));
    if (cr.start === undefined) return cr.total === s.kept ? finish() : incomplete();
    if (cr.start > s.kept) return errorReply(400, `Chunk starts at ${cr.start} but only ${s.kept} bytes are stored.`);
    if (cr.end !== undefined && cr.end - cr.start + 1 !== body.length) return errorReply(400, `Content-Range ${value} does not match a body of ${body.length} bytes.`);
    const end = Math.max(s.kept, cr.start + body.length); // exclusive; bytes sent again are skipped
    // `bytes a-*/*`: the rest of the object is in this request
    const total = cr.total ?? (cr.end === undefined ? end : undefined);
    if (total !== undefined && end > total) return errorReply(400, `Content-Range ${value} goes past the object's ${total} bytes.`);
    if (end !== total && body.length < CHUNK_QUANTUM) {
      return errorReply(400, `Invalid request. The number of bytes uploaded is required to be equal or greater than ${CHUNK_QUANTUM}, except for the final request. The received request contained ${body.length} bytes.`);
    }
    // s.data holds exactly the s.kept bytes
    const kept = end === total ? end : Math.floor(end / CHUNK_QUANTUM) * CHUNK_QUANTUM;
    s.data = Buffer.concat([s.data, body.subarray(s.kept - cr.start)]).subarray(0, kept);
    s.kept = kept;
    return end === total ? finish() : incomplete();
  }

  /** Stores an upload if its preconditions and checksums hold; answers its metadata. */
  function commit(bucket: string, name: string, bytes: Uint8Array, meta: Record<string, unknown>, params: URLSearchParams, mediaType: string | undefined, googHash: string | undefined): Reply {
    const key = `${bucket}/${name}`;
    const current = store.get(key);
    const want = params.get('ifGenerationMatch');
    if (want !== null && (want === '0' ? current !== undefined : current?.generation !== want)) return errorReply(412);
    const extra: Record<string, unknown> = {};
    for (const f of UPLOAD_FIELDS) if (meta[f] !== undefined) extra[f] = meta[f];
    if (extra.contentType === undefined && mediaType) extra.contentType = mediaType;
    const obj: StoredObject = { bucket, name, bytes: new Uint8Array(bytes), generation: '', extra };
    const claimed = parseGoogHash(googHash);
    const crc = typeof meta.crc32c === 'string' ? meta.crc32c : claimed.crc32c;
    const md5 = typeof meta.md5Hash === 'string' ? meta.md5Hash : claimed.md5;
    const actual = hashesOf(obj);
    if (crc !== undefined && crc !== actual.crc32c) return errorReply(400, `Provided CRC32C "${crc}" doesn't match calculated CRC32C "${actual.crc32c}".`);
    if (md5 !== undefined && md5 !== actual.md5Hash) return errorReply(400, `Provided MD5 hash "${md5}" doesn't match calculated MD5 hash "${actual.md5Hash}".`);
    obj.generation = String(generationCounter++);
    buckets.add(bucket);
    store.set(key, obj);
    return { status: 200, body: metadataOf(obj) };
  }

  server.keepAliveTimeout = 1000;
  const { port, close } = await listenLocal(server, () => responder.close());
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    get requests() {
      return tracker.requests;
    },
    get mediaRequests() {
      return mediaRequests;
    },
    get metadataRequests() {
      return metadataRequests;
    },
    get listRequests() {
      return listRequests;
    },
    get uploadRequests() {
      return uploadRequests;
    },
    get deleteRequests() {
      return deleteRequests;
    },
    get bytesSent() {
      return tracker.bytesSent;
    },
    get bytesReceived() {
      return bytesReceived;
    },
    get faultsApplied() {
      return tracker.faults;
    },
    get inFlight() {
      return tracker.inFlight;
    },
    get maxInFlight() {
      return tracker.maxInFlight;
    },
    get lastHeaders() {
      return lastHeaders;
    },
    log: tracker.log,
    setMode: (mode, opts = {}) => set({ ...opts, mode }),
    setFaultRule: (rule) => void (faultRule = rule),
    clearFaultRule: () => void (faultRule = undefined),
    onRequest: (cb) => setHook('request', cb),
    onMedia: (cb) => setHook('media', cb),
    setMetadata: (key, extra) => {
      const o = store.get(key);
      if (!o) throw new Error(`fake-gcs: no object ${key}`);
      o.extra = { ...o.extra, ...extra };
    },
    putObject: (key, bytes) => put(key, bytes),
    getObject: (key) => store.get(key)?.bytes,
    generationOf: (key) => store.get(key)?.generation,
    deleteObject: (key) => store.delete(key),
    keys: (prefix = '') => [...store.keys()].filter((k) => k.startsWith(prefix)).sort(byteCompare),
    addBucket: (name) => void buckets.add(name),
    resetStats: () => {
      tracker.reset();
      mediaRequests = metadataRequests = listRequests = uploadRequests = deleteRequests = bytesReceived = 0;
    },
    close,
  };
}
