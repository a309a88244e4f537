// The orchestrator: a job request becomes a stored plan, a job record and one
// message per shard.
//
// Order matters for "no job half-created": validate, list and plan first (a
// bad request writes nothing); then store the plan and create the job record
// (the commit point); then publish. A request retried with the same jobId
// (HTTP retry, or a redelivered jobs-topic message) finds the job and
// publishes its stored plan again, which is harmless: workers ignore shards
// already recorded.

import { displayName } from '../root/source/url-policy';
import type { PipelineConfig } from './config';
import type { JobRecord, ShardTask } from './model';
import { expandDataset, mapLimit, planShards, type PlannedShard } from './plan';
import type { Delivery, Doc, DocumentStore, ObjectStore, Publisher } from './ports';
import { jobIdForMessage, newJobId, parseJobRequest, requestFingerprint, RequestError } from './request';
import { JobStore } from './state';

export interface OrchestratorDeps {
  store: DocumentStore;
  publisher: Publisher;
  objects: ObjectStore;
  config: PipelineConfig;
  now?: () => number;
  log?: (line: string) => void;
}

export interface SubmittedJob {
  jobId: string;
  /** false when the request repeated an existing job (same id, same content). */
  created: boolean;
  files: number;
  shards: number;
  bytes: number;
  duplicates: number;
  links: { self: string; page: string };
}

const PUBLISH_CONCURRENCY = 200;
const PREVIEW_ENTRIES = 10;

export function jobLinks(config: PipelineConfig, jobId: string): { self: string; page: string } {
  const base = `${config.statusBaseUrl.replace(/\/+$/, '')}/jobs/${jobId}`;
  return { self: base, page: base };
}

/** Validates, plans, records and publishes a job. Throws RequestError for anything the caller must fix. */
export async function submitJob(body: unknown, deps: OrchestratorDeps, defaultJobId?: () => string): Promise<SubmittedJob> {
  const now = deps.now ?? Date.now;
  const spec = parseJobRequest(body, deps.config, defaultJobId ?? (() => newJobId(new Date(now()))));
  const fingerprint = requestFingerprint(spec);
  const jobs = new JobStore(deps.store, deps.config);

  const existing = await jobs.getJob(spec.jobId);
  if (existing) return resume(existing, fingerprint, jobs, deps, now);

  const dataset = await expandDataset(spec.dataset, deps.objects, deps.config);
  const plan = planShards(dataset.objects, spec.shardBytes, deps.config.maxShards);
  const record: JobRecord & { fingerprint: string } = {
    jobId: spec.jobId,
    state: 'running',
    analysis: spec.analysis,
    options: spec.options,
    // stored and shown: signed URLs without their signatures (the plan keeps the URLs that are read)
    datasetPreview: spec.dataset.slice(0, PREVIEW_ENTRIES).map(displayName),
    datasetEntries: spec.dataset.length,
    files: dataset.objects.length,
    shards: plan.length,
    bytes: dataset.objects.reduce((s, o) => s + (o.size ?? 0), 0),
    shardBytes: spec.shardBytes,
    createdAt: now(),
    fingerprint,
  };
  if (spec.label !== undefined) record.label = spec.label;
  if (!(await jobs.createJob(record, plan))) {
    // a concurrent identical request won the create: continue as its retry
    return resume((await jobs.getJob(spec.jobId))!, fingerprint, jobs, deps, now);
  }
  await publishOrExplain(record, plan, jobs, deps, now);
  (deps.log ?? console.log)(`orchestrator: job ${record.jobId}: ${record.files} files, ${plan.length} shards, ${record.bytes} bytes published`);
  return { jobId: record.jobId, created: true, files: record.files, shards: plan.length, bytes: record.bytes, duplicates: dataset.duplicates, links: jobLinks(deps.config, record.jobId) };
}

async function resume(job: JobRecord, fingerprint: string, jobs: JobStore, deps: OrchestratorDeps, now: () => number): Promise<SubmittedJob> {
  if (job.fingerprint !== fingerprint) {
    throw new RequestError(409, `job id ${job.jobId} is already used by a different request: choose another jobId, or leave it out to get a new one`, 'jobId');
  }
  if (job.publishedAt === undefined && job.state === 'running') await publishOrExplain(job, await jobs.readPlan(job), jobs, deps, now);
  return { jobId: job.jobId, created: false, files: job.files, shards: job.shards, bytes: job.bytes, duplicates: 0, links: jobLinks(deps.config, job.jobId) };
}

/**
 * Publishes the plan and marks the job published. If the queue fails part way
 * the job exists with some shards published: the caller is told the job id,
 * so repeating the request with it publishes the rest (a retry, 503).
 */
async function publishOrExplain(job: Pick<JobRecord, 'jobId' | 'analysis' | 'options'>, plan: readonly PlannedShard[], jobs: JobStore, deps: OrchestratorDeps, now: () => number): Promise<void> {
  try {
    await publishPlan(job, plan, deps);
    await jobs.markPublished(job.jobId, now());
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new RequestError(503, `job ${job.jobId} is recorded but publishing its shards failed (${why}); repeat the request with "jobId": "${job.jobId}" to finish publishing`, 'jobId');
  }
}

async function publishPlan(job: Pick<JobRecord, 'jobId' | 'analysis' | 'options'>, plan: readonly PlannedShard[], deps: OrchestratorDeps): Promise<void> {
  await mapLimit(plan, PUBLISH_CONCURRENCY, (s, shard) => {
    const task: ShardTask = { kind: 'shard', v: 1, jobId: job.jobId, shard, url: s.url, part: s.part, parts: s.parts, analysis: job.analysis, options: job.options };
    if (s.size !== undefined) task.size = s.size;
    if (s.generation !== undefined) task.generation = s.generation;
    return deps.publisher.publish(deps.config.topics.shards, task as unknown as Doc, { jobId: job.jobId, kind: 'shard' });
  });
}

/**
 * A job request that arrived as a message on the jobs topic (e.g. from
 * `gcloud pubsub topics publish`): the body is the request itself, or
 * {kind:"job", request}. Without a jobId the job is named after the message,
 * so redeliveries resume the same job. A refused request is recorded as a
 * "rejected" job with the reason (the sender has no HTTP reply to read);
 * transient trouble (503) is thrown for a redelivery.
 */
export async function handleJobDelivery(delivery: Delivery, deps: OrchestratorDeps): Promise<SubmittedJob | undefined> {
  const now = deps.now ?? Date.now;
  const log = deps.log ?? ((line: string) => console.log(line));
  const data = delivery.data as Record<string, unknown>;
  const request = data.kind === 'job' ? data.request : data;
  const fallbackId = jobIdForMessage(delivery.messageId);
  try {
    return await submitJob(request, deps, () => fallbackId);
  } catch (e) {
    if (!(e instanceof RequestError) || e.status === 503) throw e;
    const requested = typeof (request as { jobId?: unknown } | null)?.jobId === 'string' ? String((request as { jobId: string }).jobId) : undefined;
    const jobId = e.status === 409 || !requested || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(requested) ? fallbackId : requested;
    const jobs = new JobStore(deps.store, deps.config);
    await jobs.recordRejected(jobId, `${e.status}: ${e.message}`, now());
    log(`orchestrator: job request in message ${delivery.messageId} rejected (${e.status}): ${e.message}; recorded as job ${jobId}`);
    return undefined;
  }
}
