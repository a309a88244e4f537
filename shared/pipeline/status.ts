// Job status, read-only: what GET /jobs/{id} and GET /jobs answer.
//
// A running job's progress is aggregated from the shard records (count and
// sums, billed per 1000 index entries), never read from a shared counter. A
// finished job reads its final record. Both come with a cost estimate
// (cost.ts) from the same sums.
//
// What it answers never holds a signed URL's query string: dataset entries,
// shard URLs and error messages go through displayName / scrubMessage here
// too, so records written before they were redacted at the source are shown
// safely as well.

import { validateResult } from '../analysis/validate';
import { displayName } from '../root/source/url-policy';
import { scrubMessage } from '../root/source/util';
import type { PipelineConfig } from './config';
import { estimateCost, planningStorageOps, type CostReport, type JobUsage } from './cost';
import type { ErrorInfo, FinalRecord, JobListEntry, JobRecord, JobStatus, ShardFailure } from './model';
import { jobLinks } from './orchestrator';
import type { DocumentStore } from './ports';
import { JobStore } from './state';

export interface StatusDeps {
  store: DocumentStore;
  config: PipelineConfig;
  now?: () => number;
}

const LISTED_FAILURES = 100;
const LISTED_RETRIES = 50;

export async function jobStatus(jobId: string, deps: StatusDeps): Promise<JobStatus | undefined> {
  const now = (deps.now ?? Date.now)();
  const jobs = new JobStore(deps.store, deps.config);
  const job = (await jobs.getJob(jobId)) ?? (await jobs.getRejected(jobId));
  if (!job) return undefined;
  const base = {
    jobId: job.jobId,
    ...(job.label !== undefined ? { label: job.label } : {}),
    ...(job.error !== undefined ? { error: scrubMessage(job.error) } : {}),
    state: job.state,
    analysis: job.analysis,
    options: job.options,
    dataset: { preview: job.datasetPreview.map(displayName), entries: job.datasetEntries, files: job.files, bytes: job.bytes },
    createdAt: new Date(job.createdAt).toISOString(),
    published: job.publishedAt !== undefined,
    links: jobLinks(deps.config, job.jobId),
  };

  if (job.state === 'rejected') {
    return { ...base, finishedAt: new Date(job.finishedAt ?? job.createdAt).toISOString(), shards: { total: 0, done: 0, failed: 0, pending: 0, running: 0 }, events: 0, bytesRead: 0, elapsedSeconds: 0, throughput: { eventsPerSecond: 0, bytesPerSecond: 0 }, failures: [], moreFailures: 0, retrying: [] };
  }

  const final = job.state === 'finished' ? await jobs.getFinal(jobId) : undefined;
  if (final) {
    const elapsed = Math.max(0.001, (final.finishedAt - job.createdAt) / 1000);
    return {
      ...base,
      finishedAt: new Date(final.finishedAt).toISOString(),
      shards: { total: job.shards, done: final.shardsDone, failed: final.shardsFailed, pending: 0, running: 0 },
      events: final.events,
      bytesRead: final.bytesRead,
      elapsedSeconds: round(elapsed),
      throughput: { eventsPerSecond: round(final.events / elapsed), bytesPerSecond: round(job.bytes / elapsed) },
      failures: final.failures.map(shownFailure),
      moreFailures: final.failuresTruncated,
      retrying: [],
      result: validateResult(JSON.parse(final.result), `job ${jobId} result`),
      ...(final.usage ? { cost: finishedCost(job, final, final.usage, deps.config) } : {}),
    };
  }

  const [p, failed, retrying] = await Promise.all([jobs.progress(jobId), jobs.failedShards(jobId, LISTED_FAILURES), jobs.retryingShards(jobId, LISTED_RETRIES)]);
  const elapsed = Math.max(0.001, (now - job.createdAt) / 1000);
  const running = Math.max(0, Math.min(job.shards - p.reported, p.started - p.reported));
  const failures: ShardFailure[] = failed.map((r) => shownFailure({ shard: r.index, url: r.url, part: r.part, parts: r.parts, error: r.error ?? { code: 'UNKNOWN', message: 'no reason recorded' } }));
  const status: JobStatus = {
    ...base,
    shards: { total: job.shards, done: p.reported - p.failed, failed: p.failed, pending: job.shards - p.reported - running, running },
    events: p.events,
    bytesRead: p.bytesRead,
    elapsedSeconds: round(elapsed),
    throughput: { eventsPerSecond: round(p.events / elapsed), bytesPerSecond: round(p.planBytes / elapsed) },
    failures,
    moreFailures: Math.max(0, p.failed - failures.length),
    retrying: retrying.map((r) => ({ shard: r.shard, attempts: r.attempts, ...(r.lastError ? { error: shownError(r.lastError) } : {}) })),
    cost: estimateCost({ ...jobUsageBase(job), shardsReported: p.reported, deliveries: p.deliveries, workerWallMs: p.wallMs, storageRequests: p.requests, bytesRead: p.bytesRead, mergeMs: 0, merged: false }, deps.config.costModel),
  };
  // ETA from planned bytes (known for every shard up front) at the rate so far
  if (p.reported > 0 && p.planBytes > 0 && job.bytes > 0) status.etaSeconds = round(Math.max(0, job.bytes - p.planBytes) / (p.planBytes / elapsed));
  else if (p.reported > 0) status.etaSeconds = round(((job.shards - p.reported) * elapsed) / p.reported);
  return status;
}

export async function listJobs(deps: StatusDeps, limit = 50): Promise<JobListEntry[]> {
  const jobs = await new JobStore(deps.store, deps.config).recentJobs(limit);
  return jobs.map((j: JobRecord) => ({
    jobId: j.jobId,
    ...(j.label !== undefined ? { label: j.label } : {}),
    state: j.state,
    analysis: j.analysis,
    shards: j.shards,
    createdAt: new Date(j.createdAt).toISOString(),
    ...(j.finishedAt !== undefined ? { finishedAt: new Date(j.finishedAt).toISOString() } : {}),
    ...(j.summary !== undefined ? { summary: j.summary } : {}),
  }));
}

/** What the job record tells the cost model. */
function jobUsageBase(job: JobRecord): Pick<JobUsage, 'shards' | 'listRequests' | 'metadataReads' | 'orchestratorMs'> {
  return { shards: job.shards, ...planningStorageOps(job), orchestratorMs: job.publishedAt !== undefined ? Math.max(0, job.publishedAt - job.createdAt) : 0 };
}

function finishedCost(job: JobRecord, final: FinalRecord, usage: NonNullable<FinalRecord['usage']>, config: PipelineConfig): CostReport {
  return estimateCost(
    { ...jobUsageBase(job), shardsReported: final.shardsDone + final.shardsFailed, deliveries: usage.deliveries, workerWallMs: usage.wallMs, storageRequests: usage.requests, bytesRead: final.bytesRead, mergeMs: final.mergeMs, merged: true },
    config.costModel,
  );
}

function shownError(e: ErrorInfo): ErrorInfo {
  return { ...e, message: scrubMessage(e.message) };
}

function shownFailure(f: ShardFailure): ShardFailure {
  return { ...f, url: displayName(f.url), error: shownError(f.error) };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
