// HTTP routes of the orchestrator and the status endpoint, as plain functions
// of a request: the Cloud Run function adapters and the local server both
// call these, so routing, content negotiation and error replies are tested
// once.
//
//   POST /jobs (or POST /)   submit a job                 → 202 {jobId, shards, …, status}
//   GET  /jobs (or GET /)    recent jobs                  → JSON, or HTML for browsers
//   GET  /jobs/{id}          one job's status and result  → JSON, or HTML for browsers
//   ?format=json|html overrides the Accept header.
//
// Writes come from programs, not from web pages: POST takes a body with
// Content-Type: application/json only (415 otherwise: a page on another origin
// can send text/plain or a form without a CORS preflight, never JSON), and a
// request a browser marks as cross-origin (Origin naming another host, or
// Sec-Fetch-Site other than same-origin/none) is refused with 403. A path
// that does not decode (GET /jobs/%ZZ) is a 400, not an internal error.

import { jobStatus, listJobs, type StatusDeps } from './status';
import { submitJob, type OrchestratorDeps } from './orchestrator';
import { RequestError } from './request';
import { renderJobList, renderJobPage } from './status-page';
import { scrubMessage } from '../root/source/util';

export interface HttpRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON, raw text/bytes, or undefined. */
  body?: unknown;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const HTML_TYPE = 'text/html; charset=utf-8';

function json(status: number, value: unknown, extra: Record<string, string> = {}): HttpResponse {
  return { status, headers: { 'content-type': JSON_TYPE, 'cache-control': 'no-store', ...extra }, body: JSON.stringify(value, null, 2) + '\n' };
}

function html(status: number, body: string): HttpResponse {
  // the pages are self-contained (inline CSS and SVG, no script): anything else is refused, so markup that got past escaping could neither run nor load
  return { status, headers: { 'content-type': HTML_TYPE, 'cache-control': 'no-store', 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'" }, body };
}

function wantsHtml(req: HttpRequest): boolean {
  const format = req.query.get('format');
  if (format === 'json') return false;
  if (format === 'html') return true;
  const accept = req.headers.accept;
  return (Array.isArray(accept) ? accept.join(',') : (accept ?? '')).includes('text/html');
}

function errorReply(e: unknown, log: (line: string) => void): HttpResponse {
  if (e instanceof RequestError) return json(e.status, e.toJSON());
  log(`http: internal error: ${scrubMessage(e instanceof Error ? (e.stack ?? e.message) : String(e))}`);
  return json(500, { error: `internal error: ${scrubMessage(e instanceof Error ? e.message : String(e))}`, status: 500 });
}

function header(req: HttpRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/** Why a write is refused as coming from a web page of another origin, or undefined. */
export function crossOriginWrite(req: HttpRequest): string | undefined {
  const site = header(req, 'sec-fetch-site')?.trim().toLowerCase();
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return `the browser marks this request ${site} (Sec-Fetch-Site): jobs are not submitted from web pages of other origins`;
  const origin = header(req, 'origin');
  if (origin === undefined) return undefined;
  const host = header(req, 'host')?.trim().toLowerCase();
  let from: URL | undefined;
  try {
    from = new URL(origin);
  } catch {
    from = undefined;
  }
  if (!from || !host || from.host.toLowerCase() !== host) return `requests from the web page at Origin ${JSON.stringify(origin.slice(0, 200))} are refused: jobs are not submitted from web pages of other origins`;
  return undefined;
}

/** The checks of a write before its body is read: same origin, JSON. */
function refuseWrite(req: HttpRequest): RequestError | undefined {
  const cross = crossOriginWrite(req);
  if (cross) return new RequestError(403, cross);
  const type = header(req, 'content-type')?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') {
    return new RequestError(415, `send the job request as JSON with Content-Type: application/json${type ? ` (got ${JSON.stringify(type.slice(0, 100))})` : ' (the request had no Content-Type)'}`);
  }
  return undefined;
}

/** decodeURIComponent, or undefined for a malformed escape (%ZZ, a lone %, invalid UTF-8). */
function decodePathSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function methodNotAllowed(allow: string): HttpResponse {
  return json(405, { error: `method not allowed here (allowed: ${allow})`, status: 405 }, { allow });
}

/** The orchestrator's HTTP entry: POST /jobs. */
export async function orchestratorHttp(req: HttpRequest, deps: OrchestratorDeps): Promise<HttpResponse> {
  const log = deps.log ?? ((line: string) => console.log(line));
  const path = req.path.replace(/\/+$/, '') || '/';
  if (path !== '/jobs' && path !== '/') return json(404, { error: `no route ${req.method} ${req.path}; submit jobs with POST /jobs`, status: 404 });
  if (req.method !== 'POST') return methodNotAllowed('POST');
  const refused = refuseWrite(req);
  if (refused) return json(refused.status, refused.toJSON());
  try {
    const job = await submitJob(req.body, deps);
    return json(job.created ? 202 : 200, { jobId: job.jobId, created: job.created, files: job.files, shards: job.shards, bytes: job.bytes, duplicatesDropped: job.duplicates, status: job.links.self, page: job.links.page }, { location: job.links.self });
  } catch (e) {
    return errorReply(e, log);
  }
}

/** The status endpoint: GET /jobs and GET /jobs/{id}. */
export async function statusHttp(req: HttpRequest, deps: StatusDeps & { log?: (line: string) => void }): Promise<HttpResponse> {
  const log = deps.log ?? ((line: string) => console.log(line));
  const path = req.path.replace(/\/+$/, '') || '/';
  if (req.method !== 'GET' && req.method !== 'HEAD') return methodNotAllowed('GET, HEAD');
  try {
    if (path === '/' || path === '/jobs') {
      const jobs = await listJobs(deps);
      return wantsHtml(req) ? html(200, renderJobList(jobs)) : json(200, { jobs });
    }
    const m = /^\/jobs\/([^/]+)$/.exec(path);
    if (!m) return json(404, { error: `no route ${req.path}; try /jobs or /jobs/{id}`, status: 404 });
    const id = decodePathSegment(m[1]!);
    if (id === undefined) return json(400, { error: 'the job id in the path is not valid percent-encoding', status: 400 });
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(id)) return json(400, { error: `${JSON.stringify(id)} is not a job id`, status: 400 });
    const status = await jobStatus(id, deps);
    if (!status) return json(404, { error: `no job ${id}`, status: 404 });
    return wantsHtml(req) ? html(200, renderJobPage(status)) : json(200, status);
  } catch (e) {
    return errorReply(e, log);
  }
}
