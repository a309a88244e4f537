// A tiny fake of the Cloud Storage JSON API, enough for GcsSource's reads
// through @google-cloud/storage, on 127.0.0.1 with an ephemeral port.
//
//   const gcs = await startFakeGcs({ 'bucket/dir/file.root': bytes });
//   const storage = new Storage({ apiEndpoint: gcs.endpoint, projectId: 'test' });
//   // gs://bucket/dir/file.root is now readable through `storage`
//   gcs.setMode(503, { times: 1, target: 'media' });
//   await gcs.close();
//
// Routes (object names are URL-encoded in one path segment, as the client sends them):
//   GET /storage/v1/b/{bucket}/o/{object}             → object metadata (JSON)
//   GET /storage/v1/b/{bucket}/o/{object}?alt=media   → object bytes, with Range
//   GET /download/storage/v1/b/{bucket}/o/{object}?alt=media  (same)
//   GET /storage/v1/b/{bucket}/o?prefix=&maxResults=&pageToken=  → a listing page:
//       { kind: 'storage#objects', items: [...metadata], nextPageToken? } in name
//       order (maxResults default 1000); a bucket that holds no object and was
//       not made with addBucket() → 404. `fields` is ignored (full items).
// A `generation` query parameter must match the object's generation (else 404).
// Errors have the JSON API's shape: {"error": {"code", "message", "errors": [{"reason"}]}}.
// Fault modes are those of the range server (FaultMode), applied to metadata
// requests, media requests or both (`target`). Media requests support every
// mode; metadata requests only the numeric statuses, 'stall', 'stall-mid-body'
// and 'no-response' (all three: no answer) and the delay. Listing requests are
// their own target ('list'; 'all' includes them) with the same modes as
// metadata requests, e.g. gcs.setMode(403, { target: 'list' }).

import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Responder, Tracker, listenLocal, type Behaviour, type FaultMode, type RequestRecord } from './range-server';

export interface FakeGcsBehaviour extends Behaviour {
  /** Which requests the fault applies to (default 'all'). */
  target?: 'metadata' | 'media' | 'list' | 'all';
}

export interface FakeGcs {
  /** Pass as `apiEndpoint` to the Storage client, e.g. http://127.0.0.1:41234 */
  readonly endpoint: string;
  readonly port: number;
  readonly requests: number;
  readonly mediaRequests: number;
  readonly metadataRequests: number;
  /** Object listing requests (GET …/b/{bucket}/o). */
  readonly listRequests: number;
  readonly bytesSent: number;
  readonly inFlight: number;
  readonly maxInFlight: number;
  readonly log: readonly RequestRecord[];
  /** Headers of the last request (to check what the client sends, e.g. Accept-Encoding). */
  readonly lastHeaders: Readonly<Record<string, string | string[] | undefined>>;
  setMode(mode: FaultMode, options?: Omit<FakeGcsBehaviour, 'mode'>): void;
  /** Extra metadata fields for an object ('bucket/name'), e.g. { contentEncoding: 'gzip' }. */
  setMetadata(key: string, extra: Record<string, unknown>): void;
  /** Replaces an object's bytes; its generation changes, as in Cloud Storage. */
  putObject(key: string, bytes: Uint8Array): void;
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
}

const REASONS: Record<number, string> = { 400: 'invalid', 401: 'required', 403: 'forbidden', 404: 'notFound', 416: 'requestedRangeNotSatisfiable', 429: 'rateLimitExceeded', 500: 'backendError', 503: 'backendError' };

function byteCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function gcsErrorBody(status: number): { contentType: string; body: string } {
  const message = status === 404 ? 'No such object.' : `fake error ${status}`;
  return { contentType: 'application/json; charset=UTF-8', body: JSON.stringify({ error: { code: status, message, errors: [{ message, domain: 'global', reason: REASONS[status] ?? 'unknown' }] } }) };
}

/** Starts the fake. `objects` maps 'bucket/object/name' to bytes or a file path. */
export async function startFakeGcs(objects: Record<string, Uint8Array | string>, behaviour: FakeGcsBehaviour = {}): Promise<FakeGcs> {
  const store = new Map<string, StoredObject>();
  const buckets = new Set<string>();
  let generationCounter = 1_700_000_000_000_000;
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
  let mediaRequests = 0;
  let metadataRequests = 0;
  let listRequests = 0;
  let lastHeaders: Record<string, string | string[] | undefined> = {};

  const server = createServer((req, res) => {
    const record = responder.begin(req, res);
    lastHeaders = { ...req.headers };
    const url = new URL(req.url ?? '/', 'http://x');
    const list = /^\/storage\/v1\/b\/([^/]+)\/o\/?$/.exec(url.pathname);
    if (list && req.method === 'GET') {
      listRequests++;
      return answerList(req, res, record, decodeURIComponent(list[1]!), url.searchParams, target === 'all' || target === 'list');
    }
    const m = /^\/(?:download\/)?storage\/v1\/b\/([^/]+)\/o\/([^/]+)$/.exec(url.pathname);
    const isMedia = url.searchParams.get('alt') === 'media';
    if (isMedia) mediaRequests++;
    else metadataRequests++;
    const applies = target === 'all' || (isMedia ? target === 'media' : target === 'metadata');
    if (!m || (req.method !== 'GET' && req.method !== 'HEAD')) return responder.sendStatus(res, record, m ? 405 : 404);
    const key = `${decodeURIComponent(m[1]!)}/${decodeURIComponent(m[2]!)}`;
    const obj = store.get(key);
    const generation = url.searchParams.get('generation');

    if (isMedia && obj && (generation === null || generation === obj.generation)) {
      const headers = { 'x-goog-generation': obj.generation, 'x-goog-stored-content-length': String(obj.bytes.length), 'x-goog-stored-content-encoding': String(obj.extra.contentEncoding ?? 'identity') };
      return responder.serve(req, res, record, obj.bytes, headers, applies ? undefined : 'normal');
    }
    const mode = applies ? responder.pickMode(req) : 'normal';
    record.mode = mode;
    responder.delayed(() => {
      if (mode === 'no-response' || mode === 'stall' || mode === 'stall-mid-body') return;
      if (typeof mode === 'number') return responder.sendStatus(res, record, mode);
      if (!obj || (generation !== null && generation !== obj.generation)) return responder.sendStatus(res, record, 404);
      const body = JSON.stringify(metadataOf(obj));
      record.status = 200;
      res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
  });

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
      timeCreated: '2024-01-01T00:00:00.000Z',
      updated: '2024-01-01T00:00:00.000Z',
      ...obj.extra,
    };
  }

  function sendJson(res: ServerResponse, record: RequestRecord, status: number, value: unknown): void {
    const body = JSON.stringify(value);
    record.status = status;
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  /** One page of a listing: the names after the page token (the last name of the previous page), in name order. */
  function answerList(req: IncomingMessage, res: ServerResponse, record: RequestRecord, bucket: string, params: URLSearchParams, applies: boolean): void {
    const mode = applies ? responder.pickMode(req) : 'normal';
    record.mode = mode;
    responder.delayed(() => {
      if (mode === 'no-response' || mode === 'stall' || mode === 'stall-mid-body') return;
      if (typeof mode === 'number') return responder.sendStatus(res, record, mode);
      if (!buckets.has(bucket)) {
        const message = 'The specified bucket does not exist.';
        return sendJson(res, record, 404, { error: { code: 404, message, errors: [{ message, domain: 'global', reason: 'notFound' }] } });
      }
      const prefix = params.get('prefix') ?? '';
      const maxResults = Math.max(1, Math.min(1000, Number(params.get('maxResults') ?? 1000) || 1000));
      const token = params.get('pageToken');
      const after = token ? Buffer.from(token, 'base64url').toString('utf8') : undefined;
      const matching = [...store.values()]
        .filter((o) => o.bucket === bucket && o.name.startsWith(prefix) && (after === undefined || byteCompare(o.name, after) > 0))
        .sort((a, b) => byteCompare(a.name, b.name));
      const page = matching.slice(0, maxResults);
      const out: Record<string, unknown> = { kind: 'storage#objects', items: page.map(metadataOf) };
      if (matching.length > maxResults) out.nextPageToken = Buffer.from(page[page.length - 1]!.name, 'utf8').toString('base64url');
      sendJson(res, record, 200, out);
    });
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
    get bytesSent() {
      return tracker.bytesSent;
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
    setMetadata: (key, extra) => {
      const o = store.get(key);
      if (!o) throw new Error(`fake-gcs: no object ${key}`);
      o.extra = { ...o.extra, ...extra };
    },
    putObject: (key, bytes) => put(key, bytes),
    addBucket: (name) => void buckets.add(name),
    resetStats: () => {
      tracker.reset();
      mediaRequests = metadataRequests = listRequests = 0;
    },
    close,
  };
}
