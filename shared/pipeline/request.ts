// Job requests: parsing and validation, before anything is listed or written.
//
//   POST /jobs
//   { "dataset": ["gs://bucket/mc20/", "https://host/f.root.1", "gs://bucket/files.txt"],
//     "analysis": "reference", "options": { "profile": "r22" },
//     "shardMB": 1024, "jobId": "my-run-1", "label": "ttbar mc20" }
//
// Every mistake is a RequestError with the HTTP status to answer and a
// message that says what to fix.

import { createHash, randomBytes } from 'node:crypto';
import { AnalysisConfigError } from '../analysis/analysis';
import { analysisNames, createAnalysis } from '../analysis/registry';
import type { PipelineConfig } from './config';
import type { JobSpec } from './model';

export class RequestError extends Error {
  override readonly name = 'RequestError';
  constructor(
    /** HTTP status: 400 bad request, 403 cannot read the data (or a cross-origin write), 409 job id reused, 413 too large, 415 not JSON, 503 try later. */
    readonly status: number,
    message: string,
    /** The request field at fault, when there is one. */
    readonly field?: string,
  ) {
    super(message);
  }

  toJSON(): { error: string; field?: string; status: number } {
    return { error: this.message, ...(this.field ? { field: this.field } : {}), status: this.status };
  }
}

const FIELDS = ['dataset', 'analysis', 'options', 'shardMB', 'jobId', 'label'] as const;
const JOB_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** Longest dataset entry (URL or path), also for a line of an index file: the plan stores each in full. */
export const MAX_ENTRY_CHARS = 2048;
const MAX_LABEL_CHARS = 200;

/** New job ids sort by time: 20261125-031502-9f3a1c. */
export function newJobId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/** The job id for a request that came as a queue message without one: the same for every redelivery. */
export function jobIdForMessage(messageId: string): string {
  const clean = messageId.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  return `msg-${clean}`.slice(0, 63);
}

/**
 * Validates a request body (a parsed object, or the raw text/bytes of one).
 * `defaultJobId` is used when the request names none.
 */
export function parseJobRequest(body: unknown, config: PipelineConfig, defaultJobId: () => string = newJobId): JobSpec {
  let value = body;
  if (typeof value === 'string' || value instanceof Uint8Array) {
    const text = typeof value === 'string' ? value : new TextDecoder().decode(value);
    if (text.trim() === '') throw new RequestError(400, 'the request body is empty: send a JSON object such as {"dataset": ["gs://bucket/prefix/"]}');
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new RequestError(400, `the request body is not valid JSON (${(e as Error).message})`);
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new RequestError(400, 'the request body must be a JSON object such as {"dataset": ["gs://bucket/prefix/"]}');
  }
  const req = value as Record<string, unknown>;
  const unknown = Object.keys(req).filter((k) => !(FIELDS as readonly string[]).includes(k));
  if (unknown.length) throw new RequestError(400, `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => JSON.stringify(k)).join(', ')} (known: ${FIELDS.join(', ')})`, unknown[0]);

  const dataset = parseDataset(req.dataset, config);

  const analysis = req.analysis === undefined ? 'reference' : req.analysis;
  const options = req.options === undefined ? {} : req.options;
  if (typeof analysis !== 'string') throw new RequestError(400, 'analysis must be a string naming an analysis, e.g. "reference"', 'analysis');
  if (!analysisNames().includes(analysis)) throw new RequestError(400, `unknown analysis ${JSON.stringify(analysis)} (known: ${analysisNames().join(', ')})`, 'analysis');
  try {
    createAnalysis(analysis, options);
  } catch (e) {
    if (e instanceof AnalysisConfigError) throw new RequestError(400, e.message, 'options');
    throw e;
  }

  let shardBytes = config.defaultShardBytes;
  if (req.shardMB !== undefined) {
    const mb = req.shardMB;
    const bytes = typeof mb === 'number' && Number.isFinite(mb) ? Math.round(mb * 1024 * 1024) : NaN;
    if (!(bytes >= config.minShardBytes && bytes <= config.maxShardBytes)) {
      throw new RequestError(400, `shardMB must be a number from ${config.minShardBytes / 1024 ** 2} to ${config.maxShardBytes / 1024 ** 2} (MiB of file per shard), got ${JSON.stringify(mb)}`, 'shardMB');
    }
    shardBytes = bytes;
  }

  let jobId: string;
  if (req.jobId === undefined) jobId = defaultJobId();
  else if (typeof req.jobId === 'string' && JOB_ID.test(req.jobId)) jobId = req.jobId;
  else throw new RequestError(400, `jobId must be 1-63 characters of a-z, 0-9 and '-', starting with a letter or digit, got ${JSON.stringify(req.jobId)}`, 'jobId');

  const spec: JobSpec = { jobId, dataset, analysis, options: options as Record<string, unknown>, shardBytes };
  if (req.label !== undefined) {
    if (typeof req.label !== 'string' || req.label.length > MAX_LABEL_CHARS) throw new RequestError(400, `label must be a string of at most ${MAX_LABEL_CHARS} characters`, 'label');
    spec.label = req.label;
  }
  return spec;
}

function parseDataset(value: unknown, config: PipelineConfig): string[] {
  const hint = 'give gs:// prefixes or objects, https:// URLs, or one index file of URLs (.txt)';
  if (value === undefined) throw new RequestError(400, `dataset is missing: ${hint}`, 'dataset');
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list)) throw new RequestError(400, `dataset must be a string or an array of strings: ${hint}`, 'dataset');
  if (list.length === 0) throw new RequestError(400, `dataset is empty: ${hint}`, 'dataset');
  if (list.length > config.maxShards) throw new RequestError(413, `dataset has ${list.length} entries, more than the ${config.maxShards} shards one job may have: split it into several jobs`, 'dataset');
  return list.map((entry, i) => {
    if (typeof entry !== 'string' || entry.trim() === '') throw new RequestError(400, `dataset[${i}] must be a non-empty string: ${hint}`, 'dataset');
    if (entry.length > MAX_ENTRY_CHARS) throw new RequestError(400, `dataset[${i}] is longer than ${MAX_ENTRY_CHARS} characters`, 'dataset');
    return entry.trim();
  });
}

/** Identifies the request's content (not its id): a retried request is recognised, a reused id refused. */
export function requestFingerprint(spec: JobSpec): string {
  const { jobId: _id, ...content } = spec;
  return createHash('sha256').update(canonicalJson(content)).digest('hex').slice(0, 32);
}

/** JSON with object keys sorted at every level, so equal content gives equal text. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
