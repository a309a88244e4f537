// The local HTTP server: the orchestrator's POST /jobs and the status pages
// on 127.0.0.1, over the same route functions the Cloud Run functions use.

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

export async function route(req: IncomingMessage, deps: OrchestratorDeps): Promise<HttpResponse> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  let body: Uint8Array | undefined;
  try {
    body = await readBody(req);
  } catch {
    return { status: 413, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: `request body larger than ${MAX_BODY_BYTES} bytes`, status: 413 }) };
  }
  const request: HttpRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body };
  return request.method === 'POST' ? orchestratorHttp(request, deps) : statusHttp(request, deps);
}

/** Listens on 127.0.0.1:port; port 0, or a busy preferred port, takes any free one. */
export async function startLocalServer(deps: OrchestratorDeps, port = 0): Promise<LocalServer> {
  const server: Server = createServer((req, res) => {
    route(req, deps).then(
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
  const actual = (server.address() as AddressInfo).port;
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
