// An HTTP server for tests that serves bytes with Range support, on 127.0.0.1
// and an ephemeral port, and can be switched into misbehaving modes.
//
//   const server = await startRangeServer(bytes);            // or a file path, or { 'a.root': bytes, … }
//   const src = new HttpSource(server.url, { timeoutMs: 200 });
//   …
//   server.setMode(503, { times: 2 });                        // the next two requests get a 503
//   server.setMode('stall');                                  // headers, then nothing, until close()
//   server.requests; server.bytesSent; server.maxInFlight;    // what the client did
//   await server.close();                                     // also ends stalled connections
//
// Normal behaviour: GET with `Range: bytes=a-b` (also `a-` and `-n`) → 206 with
// Content-Range and exactly those bytes; a range starting past the end → 416
// with `Content-Range: bytes */size`; no Range → 200 with the whole body;
// HEAD → 200 with Content-Length and `Accept-Ranges: bytes`; an unknown path
// → 404. The query string is ignored (so signed-URL-like URLs work).
//
// The fault modes (FaultMode) and the per-request delay are implemented by
// `Responder`, which test/support/fake-gcs.ts reuses for its media downloads.

import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';
import { basename } from 'node:path';

/**
 * How the server answers a request the fault applies to:
 * - 'normal': correctly.
 * - 'ignore-range': 200 with the whole body, as if Range were not supported.
 * - 'short-body': 206 with the right Content-Range, but a well-framed (chunked)
 *   body that ends halfway: the client sees a complete response that is short.
 * - 'long-body': like 'short-body' but the body carries extra bytes.
 * - 'drop-mid-body': 206 with the full Content-Length, half the body, then the
 *   connection is destroyed (a network failure, not a protocol one).
 * - 'wrong-content-range': 206 with a Content-Range shifted by one byte.
 * - 'stall': headers are sent, then nothing (HEAD: nothing at all) until close().
 * - 'stall-mid-body': headers and half the body, then nothing.
 * - 'no-response': nothing is sent at all.
 * - a number: that HTTP status (404, 403, 429, 500, 503, …) with a short body.
 */
export type FaultMode = 'normal' | 'ignore-range' | 'short-body' | 'long-body' | 'drop-mid-body' | 'wrong-content-range' | 'stall' | 'stall-mid-body' | 'no-response' | number;

export interface Behaviour {
  mode?: FaultMode;
  /** Apply `mode` only to the next N requests it matches, then behave normally. Default: every request. */
  times?: number;
  /** Only requests with these methods get the fault (default: all). */
  methods?: readonly string[];
  /** Wait this long before answering every request (faulty or not), in ms. */
  delayMs?: number;
  /** Sent as Retry-After (seconds) with a numeric status mode. */
  retryAfter?: number;
  /** Answer HEAD requests (default true); when false they get 405. */
  head?: boolean;
}

export interface RequestRecord {
  method: string;
  path: string;
  query: string;
  range: string | undefined;
  /** The mode the request was answered in. */
  mode: FaultMode;
  status?: number;
}

/** Counters and request log shared by the test servers. */
export class Tracker {
  requests = 0;
  bytesSent = 0;
  inFlight = 0;
  maxInFlight = 0;
  faults = 0;
  readonly log: RequestRecord[] = [];
  reset(): void {
    this.requests = this.bytesSent = this.maxInFlight = this.faults = 0;
    this.log.length = 0;
  }
}

export type ErrorBody = (status: number) => { contentType: string; body: string };

const plainErrorBody: ErrorBody = (status) => ({ contentType: 'text/plain', body: `status ${status}\n` });

/**
 * Answers media requests for one byte array according to the current
 * Behaviour, counting what it sends in a Tracker.
 */
export class Responder {
  private behaviour: Required<Omit<Behaviour, 'times' | 'retryAfter'>> & { times: number | undefined; retryAfter: number | undefined } = {
    mode: 'normal',
    times: undefined,
    methods: [],
    delayMs: 0,
    head: true,
    retryAfter: undefined,
  };
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(readonly tracker: Tracker, private readonly errorBody: ErrorBody = plainErrorBody) {}

  set(b: Behaviour): void {
    this.behaviour = {
      mode: b.mode ?? 'normal',
      times: b.times,
      methods: (b.methods ?? []).map((m) => m.toUpperCase()),
      delayMs: b.delayMs ?? 0,
      head: b.head ?? true,
      retryAfter: b.retryAfter,
    };
  }

  get current(): Readonly<Behaviour> {
    return this.behaviour;
  }

  /** Starts tracking a request (in flight until its response closes) and returns its log record. */
  begin(req: IncomingMessage, res: ServerResponse): RequestRecord {
    const t = this.tracker;
    t.requests++;
    t.inFlight++;
    t.maxInFlight = Math.max(t.maxInFlight, t.inFlight);
    res.once('close', () => t.inFlight--);
    const url = new URL(req.url ?? '/', 'http://x');
    const record: RequestRecord = { method: req.method ?? 'GET', path: decodeURIComponent(url.pathname), query: url.search, range: req.headers.range, mode: 'normal' };
    t.log.push(record);
    return record;
  }

  /** Picks the mode for this request (consuming one of `times`). */
  pickMode(req: IncomingMessage): FaultMode {
    const b = this.behaviour;
    if (b.mode === 'normal') return 'normal';
    if (b.methods.length && !b.methods.includes((req.method ?? 'GET').toUpperCase())) return 'normal';
    if (b.times !== undefined) {
      if (b.times <= 0) return 'normal';
      b.times--;
    }
    this.tracker.faults++;
    return b.mode;
  }

  /** Runs `fn` after the configured delay (timers are cancelled by close()). */
  delayed(fn: () => void): void {
    const ms = this.behaviour.delayMs;
    if (ms <= 0) return fn();
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.closed) fn();
    }, ms);
    this.timers.add(timer);
  }

  /** Sends an error status with the server's error body. */
  sendStatus(res: ServerResponse, record: RequestRecord, status: number, extraHeaders: Record<string, string> = {}): void {
    const { contentType, body } = this.errorBody(status);
    const headers: Record<string, string | number> = { 'content-type': contentType, 'content-length': Buffer.byteLength(body), ...extraHeaders };
    if (this.behaviour.retryAfter !== undefined && typeof record.mode === 'number') headers['retry-after'] = this.behaviour.retryAfter;
    record.status = status;
    res.writeHead(status, headers);
    res.end(res.req.method === 'HEAD' ? undefined : body);
  }

  /** Serves `bytes` for a GET or HEAD according to the request's Range header and `mode` (default: picked from the behaviour). */
  serve(req: IncomingMessage, res: ServerResponse, record: RequestRecord, bytes: Uint8Array, extraHeaders: Record<string, string> = {}, mode: FaultMode = this.pickMode(req)): void {
    record.mode = mode;
    this.delayed(() => this.answer(req, res, record, bytes, mode, extraHeaders));
  }

  private answer(req: IncomingMessage, res: ServerResponse, record: RequestRecord, bytes: Uint8Array, mode: FaultMode, extra: Record<string, string>): void {
    const size = bytes.length;
    const isHead = req.method === 'HEAD';
    if (mode === 'no-response') return;
    if (typeof mode === 'number') return this.sendStatus(res, record, mode, extra);
    if (isHead) {
      if (!this.behaviour.head) return this.sendStatus(res, record, 405, extra);
      if (mode === 'stall' || mode === 'stall-mid-body') return;
      record.status = 200;
      res.writeHead(200, { 'content-length': size, 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream', ...extra });
      res.end();
      return;
    }
    const parsed = req.headers.range === undefined || mode === 'ignore-range' ? undefined : parseRange(req.headers.range, size);
    if (parsed === 'unsatisfiable') {
      record.status = 416;
      res.writeHead(416, { 'content-range': `bytes */${size}`, 'content-length': 0, ...extra });
      res.end();
      return;
    }
    const whole = parsed === undefined || parsed === 'ignore';
    const start = whole ? 0 : parsed.start;
    const end = whole ? size - 1 : parsed.end; // inclusive
    const body = bytes.subarray(start, end + 1);
    const status = whole ? 200 : 206;
    const headers: Record<string, string | number> = { 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream', ...extra };
    if (!whole) headers['content-range'] = mode === 'wrong-content-range' ? `bytes ${start + 1}-${end + 1}/${size}` : `bytes ${start}-${end}/${size}`;
    record.status = status;
    const half = body.subarray(0, Math.floor(body.length / 2));
    const send = (chunk: Uint8Array, then?: () => void) => {
      this.tracker.bytesSent += chunk.length;
      res.write(chunk, then);
    };
    switch (mode) {
      case 'short-body':
        res.writeHead(status, headers); // no Content-Length: chunked, so the early end is well framed
        send(half);
        res.end();
        return;
      case 'long-body':
        res.writeHead(status, headers);
        send(body);
        send(new Uint8Array(16));
        res.end();
        return;
      case 'drop-mid-body':
        res.writeHead(status, { ...headers, 'content-length': body.length });
        send(half, () => res.socket?.destroy());
        return;
      case 'stall':
        res.writeHead(status, { ...headers, 'content-length': body.length });
        res.flushHeaders();
        return;
      case 'stall-mid-body':
        res.writeHead(status, { ...headers, 'content-length': body.length });
        send(half);
        return;
      default:
        res.writeHead(status, { ...headers, 'content-length': body.length });
        this.tracker.bytesSent += body.length;
        res.end(body);
    }
  }

  /** Cancels pending delayed answers. */
  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

/** Parses a single-range Range header; multi-range and malformed headers are ignored (whole body), as RFC 9110 allows. */
export function parseRange(header: string, size: number): { start: number; end: number } | 'unsatisfiable' | 'ignore' {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'ignore';
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  if (start >= size) return 'unsatisfiable';
  let end = m[2] === '' ? size - 1 : Number(m[2]);
  if (end < start) return 'ignore';
  if (end >= size) end = size - 1;
  return { start, end };
}

/**
 * A port that was free on `host` a moment ago, for a server that must be told its port
 * before it starts (nothing stops another process taking it first).
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as AddressInfo;
      probe.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

/** Listens on 127.0.0.1 with an ephemeral port; close() ends every connection (stalled ones too). */
export async function listenLocal(server: Server, onClose: () => void = () => undefined): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= new Promise<void>((resolve) => {
      onClose();
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
    }));
  return { port, close };
}

export interface RangeServerOptions extends Behaviour {
  /** URL path of a single served body (default: the file's base name, or "file.root"). */
  name?: string;
}

export interface RangeServer {
  /** URL of the (first) served file, e.g. http://127.0.0.1:41234/file.root */
  readonly url: string;
  readonly origin: string;
  readonly port: number;
  /** URL of a served file by name. */
  urlFor(name: string): string;
  /** Requests received (HEAD and GET, faulty or not) since start or resetStats(). */
  readonly requests: number;
  /** Body bytes written. */
  readonly bytesSent: number;
  /** Requests being answered right now, and the most there ever were at once. */
  readonly inFlight: number;
  readonly maxInFlight: number;
  /** Requests answered in a fault mode. */
  readonly faults: number;
  /** One record per request, in arrival order. */
  readonly log: readonly RequestRecord[];
  /** Switches behaviour for the following requests. */
  setMode(mode: FaultMode, options?: Omit<Behaviour, 'mode'>): void;
  setBehaviour(behaviour: Behaviour): void;
  resetStats(): void;
  close(): Promise<void>;
}

/**
 * Starts a range server. `content` is the bytes to serve, a file path to
 * serve, or a map from names to bytes or paths (each served at /name).
 */
export async function startRangeServer(content: Uint8Array | string | Record<string, Uint8Array | string>, options: RangeServerOptions = {}): Promise<RangeServer> {
  const files = new Map<string, Uint8Array>();
  const load = (v: Uint8Array | string) => (typeof v === 'string' ? new Uint8Array(readFileSync(v)) : v);
  if (content instanceof Uint8Array) files.set(options.name ?? 'file.root', content);
  else if (typeof content === 'string') files.set(options.name ?? basename(content), load(content));
  else for (const [name, v] of Object.entries(content)) files.set(name.replace(/^\/+/, ''), load(v));
  if (files.size === 0) throw new Error('startRangeServer: nothing to serve');

  const tracker = new Tracker();
  const responder = new Responder(tracker);
  responder.set(options);

  const server = createServer((req, res) => {
    const record = responder.begin(req, res);
    const name = record.path.replace(/^\/+/, '');
    const bytes = files.get(name);
    if (req.method !== 'GET' && req.method !== 'HEAD') return responder.sendStatus(res, record, 405, { allow: 'GET, HEAD' });
    if (!bytes) {
      // A fault still applies (a 503 before the 404 is realistic); otherwise 404.
      const mode = responder.pickMode(req);
      record.mode = mode;
      return responder.delayed(() => (mode === 'no-response' || mode === 'stall' ? undefined : responder.sendStatus(res, record, typeof mode === 'number' ? mode : 404)));
    }
    responder.serve(req, res, record, bytes);
  });
  server.keepAliveTimeout = 1000;
  const { port, close } = await listenLocal(server, () => responder.close());
  const origin = `http://127.0.0.1:${port}`;
  const first = files.keys().next().value as string;
  return {
    url: `${origin}/${encodeURI(first)}`,
    origin,
    port,
    urlFor: (name) => `${origin}/${encodeURI(name.replace(/^\/+/, ''))}`,
    get requests() {
      return tracker.requests;
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
    get faults() {
      return tracker.faults;
    },
    log: tracker.log,
    setMode: (mode, opts = {}) => responder.set({ ...opts, mode }),
    setBehaviour: (b) => responder.set(b),
    resetStats: () => tracker.reset(),
    close,
  };
}
