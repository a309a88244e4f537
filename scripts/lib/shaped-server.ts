// An HTTP range server shaped like Cloud Storage, for benchmarks: every
// request waits `firstByteMs` before its headers, and every response body is
// paced to `bytesPerSecond` per connection. Files are read from disk per
// request (positional reads), so a 4 GB file costs no memory. Loopback only.
//
//   const server = await startShapedServer({ 'a.root': '/path/a.root' }, { firstByteMs: 30, bytesPerSecond: 100 * 2 ** 20 });
//   new HttpSource(`${server.url}/a.root`);   …   server.stats   // { requests, gets, heads, bytes }
//   await server.close();
//
// Default shape, from published in-region figures:
// - first byte 30 ms: the gcsfuse benchmarks (GoogleCloudPlatform/gcsfuse
//   docs/benchmarks.md: n2-standard-96 VM and bucket in us-west1) report
//   average read latencies of 16.5-21.8 ms for 128 KiB-1 MiB reads; 30 ms
//   leaves room for a busy bucket and a Cloud Run instance's network path.
// - 100 MiB/s per connection: gcsfuse's sequential-read benchmark on an
//   n1-standard-4 (commit d4bbf69) reads a 64 MiB object at a median
//   175 MiB/s, its read_within_file benchmark (commit babd421) at 57 MiB/s:
//   100 MiB/s is between the two.
// Rapid (zonal) buckets advertise sub-millisecond latency
// (cloud.google.com/storage/docs/rapid/rapid-bucket): pass firstByteMs 1 for them.

import { open, stat, type FileHandle } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export const DEFAULT_FIRST_BYTE_MS = 30;
export const DEFAULT_BYTES_PER_SECOND = 100 * 2 ** 20;

export interface Shape {
  /** Delay before the response headers of every request, ms. */
  firstByteMs: number;
  /** Body bytes per second on one connection. */
  bytesPerSecond: number;
}

export interface ShapedStats {
  requests: number;
  gets: number;
  heads: number;
  /** Body bytes sent. */
  bytes: number;
  /** Most requests in progress at once. */
  maxInFlight: number;
  /** Requests that arrived while no other was in progress: the client's sequential round trips. */
  rounds: number;
}

export interface ShapedServer {
  url: string;
  stats: ShapedStats;
  shape: Shape;
  reset(): void;
  close(): Promise<void>;
}

const CHUNK = 256 * 1024;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Parses `bytes=a-b`, `bytes=a-`, `bytes=-n` against the size; null = not satisfiable, undefined = no range. */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const n = Number(m[2]);
    return n === 0 ? null : { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(size - 1, Number(m[2]));
  return start >= size || end < start ? null : { start, end };
}

export async function startShapedServer(files: Record<string, string>, shape: Partial<Shape> = {}): Promise<ShapedServer> {
  const s: Shape = { firstByteMs: shape.firstByteMs ?? DEFAULT_FIRST_BYTE_MS, bytesPerSecond: shape.bytesPerSecond ?? DEFAULT_BYTES_PER_SECOND };
  const stats: ShapedStats = { requests: 0, gets: 0, heads: 0, bytes: 0, maxInFlight: 0, rounds: 0 };
  const sizes = new Map<string, number>();
  for (const [name, path] of Object.entries(files)) sizes.set(name, (await stat(path)).size);
  let inFlight = 0;
  let closing = false;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    stats.requests++;
    if (inFlight === 0) stats.rounds++;
    inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, inFlight);
    let fh: FileHandle | undefined;
    try {
      const name = decodeURIComponent((req.url ?? '/').split('?')[0]!.slice(1));
      const path = files[name];
      const size = sizes.get(name);
      await sleep(s.firstByteMs);
      if (path === undefined || size === undefined) {
        res.writeHead(404).end('not found');
        return;
      }
      if (req.method === 'HEAD') {
        stats.heads++;
        res.writeHead(200, { 'content-length': size, 'accept-ranges': 'bytes' }).end();
        return;
      }
      if (req.method !== 'GET') {
        res.writeHead(405).end();
        return;
      }
      stats.gets++;
      const range = parseRange(req.headers.range, size);
      if (range === null) {
        res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
        return;
      }
      const start = range?.start ?? 0;
      const end = range?.end ?? size - 1;
      const length = end - start + 1;
      res.writeHead(range ? 206 : 200, { 'content-length': length, 'accept-ranges': 'bytes', ...(range ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}) });
      fh = await open(path, 'r');
      const t0 = performance.now();
      let sent = 0;
      while (sent < length && !closing && !res.destroyed) {
        const n = Math.min(CHUNK, length - sent);
        const buf = Buffer.allocUnsafe(n);
        const { bytesRead } = await fh.read(buf, 0, n, start + sent);
        if (bytesRead !== n) throw new Error(`short read of ${path}`);
        if (!res.write(buf)) await new Promise<void>((r) => res.once('drain', r));
        sent += n;
        stats.bytes += n;
        // pace: the body may not run ahead of bytesPerSecond since its first byte
        const due = (sent / s.bytesPerSecond) * 1000 - (performance.now() - t0);
        if (due > 1) await sleep(due);
      }
      res.end();
    } catch {
      res.destroy();
    } finally {
      inFlight--;
      await fh?.close().catch(() => undefined);
    }
  };

  const sockets = new Set<Socket>();
  const server = createServer((req, res) => void handle(req, res));
  server.on('connection', (sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    shape: s,
    reset() {
      Object.assign(stats, { requests: 0, gets: 0, heads: 0, bytes: 0, maxInFlight: 0, rounds: 0 });
    },
    async close() {
      closing = true;
      for (const sock of sockets) sock.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
