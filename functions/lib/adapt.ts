// Functions Framework ⇄ pipeline: HTTP requests and Pub/Sub CloudEvents in,
// replies out. Everything else lives in shared/pipeline.

import type { CloudEvent, Request, Response } from '@google-cloud/functions-framework';
import type { HttpRequest, HttpResponse } from '../../shared/pipeline/http';
import { deliveryFromCloudEvent, DeliveryFormatError } from '../../shared/pipeline/google/cloud-event';
import type { Delivery } from '../../shared/pipeline/ports';
import { zstdReady, zstdWasmFailure } from '../../shared/root/compression';

export function toHttpRequest(req: Request): HttpRequest {
  const url = new URL(req.originalUrl || req.url || '/', 'http://function');
  // the framework parsed JSON bodies already; the raw bytes let a malformed body get our own 400
  const body = req.rawBody && req.rawBody.length ? new Uint8Array(req.rawBody) : req.body && Object.keys(req.body as object).length ? req.body : undefined;
  return { method: req.method, path: url.pathname, query: url.searchParams, headers: req.headers, body };
}

export function sendHttp(res: Response, r: HttpResponse): void {
  res.status(r.status);
  for (const [k, v] of Object.entries(r.headers)) res.set(k, v);
  res.send(r.body);
}

/**
 * Runs `handle` on the delivery in a CloudEvent. Returning acknowledges it;
 * an exception makes the framework answer 500, so Pub/Sub redelivers (the
 * trigger's retry policy must be on). An event that is not a Pub/Sub JSON
 * message can never succeed: it is logged and acknowledged.
 */
export async function onDelivery(event: CloudEvent<unknown>, name: string, handle: (d: Delivery) => Promise<unknown>): Promise<void> {
  let delivery: Delivery;
  try {
    delivery = deliveryFromCloudEvent(event);
  } catch (e) {
    if (e instanceof DeliveryFormatError) {
      console.error(`${name}: dropping event ${event.id}: ${e.message}`);
      return;
    }
    throw e;
  }
  await handle(delivery);
}

/**
 * Logs once, at instance start, which zstd decoder this runtime uses
 * ('node+wasm' on Node >= 22.15, 'wasm' on older Node; 'node' or 'fzstd'
 * when WebAssembly failed, with the reason), so a slow runtime shows in the logs.
 */
export function logZstdDecoder(name: string): void {
  void zstdReady().then((impl) => {
    const failure = zstdWasmFailure();
    console.log(`${name}: zstd decoder ${impl} (node ${process.version})${failure ? `; WebAssembly decoder unavailable: ${failure}` : ''}`);
  });
}
