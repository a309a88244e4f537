// The local HTTP server: the orchestrator's POST /jobs and the status pages
// on 127.0.0.1, over the same route functions the Cloud Run functions use.
//
// Listening on loopback keeps other machines out, not web pages: a page the
// user opens can send requests to 127.0.0.1, and with DNS rebinding (a name of
// the attacker's that turns into 127.0.0.1) read the replies too. So every
// request must be addressed to this server by a loopback name and its port
// (Host: 127.0.0.1:P, localhost:P or [::1]:P; anything else is 403), and writes
// must be same-origin JSON (http.ts).

import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { orchestratorHttp, statusHttp, type HttpRequest, type HttpResponse } from '../http';
import type { OrchestratorDeps } from '../orchestrator';

const MAX_BODY_BYTES = 32 * 1024 * 1024; // Cloud Run's request limit

export interface LocalServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Uint8Array | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return total ? new Uint8Array(Buffer.concat(chunks)) : undefined;
}

function refusal(status: number, error: string): HttpResponse {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }, body: JSON.stringify({ error, status }) + '\n' };
}

/** The Host values that address this server: a loopback name and its port. */
export function loopbackHosts(port: number): Set<string> {
  return new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
}

/** One request to the server listening on `port` (the Host check needs it). */
export async function route(req: IncomingMessage, deps: OrchestratorDeps, port: number): Promise<HttpResponse> {
  const host = (req.headers.host ?? '').trim().toLowerCase();
  if (!loopbackHosts(port).has(host)) {
    req.resume();
    return refusal(403, `this server answers requests addressed to 127.0.0.1:${port}, localhost:${port} or [::1]:${port} only, not to ${JSON.stringify(host.slice(0, 200))}`);
  }
  // the path as sent: never taken as an authority ("//host/…") or a full URL
  const target = req.url ?? '/';
  let url: URL;
  try {
    url = new URL(`http://localhost${target.startsWith('/') ? target : `/${target}`}`);
  } catch {
    req.resume();
    return refusal(400, 'the request target is not a valid path');
  }
  let body: Uint8Array | undefined;
  try {
    body = await readBody(req);
  } catch {
    return refusal(413, `request body larger than ${MAX_BODY_BYTES} bytes`);
  }
  const request: HttpRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body };
  return request.method === 'POST' ? orchestratorHttp(request, deps) : statusHttp(request, deps);
}

/** Listens on 127.0.0.1:port; port 0, or a busy preferred port, takes any free one. */
export async function startLocalServer(deps: OrchestratorDeps, port = 0): Promise<LocalServer> {
  let actual = 0;
  const server: Server = createServer((req, res) => {
    route(req, deps, actual).then(
      (r) => {
        res.writeHead(r.status, r.headers);
        res.end(req.method === 'HEAD' ? undefined : r.body);
      },
      (e: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`internal error: ${(e as Error).message}`);
      },
    );
  });
  const listen = (p: number) =>
    new Promise<void>((resolve, reject) => {
      const onError = (e: Error) => {
        server.off('listening', onListening);
        reject(e);
      };
      const onListening = () => {
        server.off('error', onError);
        resolve();
      };
      server.once('error', onError);
      server.once('listening', onListening);
      server.listen(p, '127.0.0.1');
    });
  try {
    await listen(port);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0) throw e;
    await listen(0);
  }
  actual = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
