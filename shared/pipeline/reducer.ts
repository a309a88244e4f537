// The reducer: when every shard of a job has reported (done or failed), merge
// the partial results once and mark the job finished.
//
// Each shard-done message asks "has everyone reported?" with a count over the
// shard records (no shared counter). The first reducer to see the full count
// claims the merge; the merge reads the immutable shard records, so any
// reducer that does it gets the same result, and the final record is
// create()d: exactly one result per job even when reducers race, crash and
// are redelivered.

import { createAnalysis } from '../analysis/registry';
import { mergeInto, type AnalysisResult } from '../analysis/result';
import { validateResult } from '../analysis/validate';
import { displayName } from '../root/source/url-policy';
import { scrubMessage } from '../root/source/util';
import type { PipelineConfig } from './config';
import { MessageFormatError, parseShardDone, parseShardTask, shardDoneMessage } from './messages';
import type { FinalRecord, JobRecord, ShardFailure, ShardRecord } from './model';
import type { Delivery, DocumentStore, Publisher } from './ports';
import { JobStore } from './state';
import { plannedBytes } from './worker';

export interface ReducerDeps {
  store: DocumentStore;
  publisher: Publisher;
  config: PipelineConfig;
  workerId: string;
  now?: () => number;
  log?: (line: string) => void;
}

/**
 * Failures listed in the final record: at most this many, in at most MAX_LISTED_FAILURE_BYTES of
 * JSON (URLs may be 1 KiB each and a message quotes one), so the record stays far below
 * Firestore's 1 MiB per document; the rest are counted.
 */
export const MAX_LISTED_FAILURES = 500;
export const MAX_LISTED_FAILURE_BYTES = 256 * 1024;
/** A listed failure's message is cut to this many characters. */
export const MAX_FAILURE_MESSAGE_CHARS = 1000;

export type ReduceOutcome = 'waiting' | 'finalized' | 'already-finished' | 'claimed-elsewhere' | 'no-job';

export async function handleShardDoneDelivery(delivery: Delivery, deps: ReducerDeps): Promise<ReduceOutcome> {
  const log = deps.log ?? ((line: string) => console.log(line));
  let jobId: string;
  try {
    jobId = parseShardDone(delivery.data).jobId;
  } catch (e) {
    if (e instanceof MessageFormatError) {
      log(`reducer: dropping message ${delivery.messageId}: ${e.message}`);
      return 'no-job';
    }
    throw e;
  }
  return reduceJob(jobId, delivery.messageId, deps);
}

/** Finalizes the job if every shard has reported. `owner` names this attempt (the message id: stable across redeliveries). */
export async function reduceJob(jobId: string, owner: string, deps: ReducerDeps, force = false): Promise<ReduceOutcome> {
  const now = deps.now ?? Date.now;
  const jobs = new JobStore(deps.store, deps.config);
  const job = await jobs.getJob(jobId);
  if (!job) {
    (deps.log ?? console.log)(`reducer: job ${jobId} does not exist; ignoring its shard-done message`);
    return 'no-job';
  }
  if (job.state !== 'running') return 'already-finished';
  const existing = await jobs.getFinal(jobId);
  if (existing) {
    await jobs.markFinished(jobId, existing); // the finalizer may have died before this
    return 'already-finished';
  }
  if ((await jobs.reported(jobId)) < job.shards) return 'waiting';
  if (!(await jobs.claimFinalize(jobId, owner, now(), deps.config.finalizeLeaseMs)) && !force) return 'claimed-elsewhere';

  const t0 = performance.now();
  const [merged, deliveries] = await Promise.all([mergeShardRecords(job, jobs), jobs.deliveries(jobId)]);
  const final: FinalRecord = {
    result: JSON.stringify(merged.result),
    shardsDone: merged.done,
    shardsFailed: merged.failed,
    events: merged.events,
    bytesRead: merged.bytesRead,
    failures: merged.failures,
    failuresTruncated: merged.failed - merged.failures.length,
    mergeMs: Math.round((performance.now() - t0) * 1000) / 1000,
    finishedAt: now(),
    reducer: deps.workerId,
    // the status of a finished job reads only this record, so the cost's measured sums live here
    usage: { deliveries, wallMs: merged.wallMs, requests: merged.requests },
  };
  const created = await jobs.createFinal(jobId, final);
  await jobs.markFinished(jobId, created ? final : ((await jobs.getFinal(jobId)) ?? final));
  return created ? 'finalized' : 'already-finished';
}

export interface MergedShards {
  result: AnalysisResult;
  done: number;
  failed: number;
  events: number;
  bytesRead: number;
  /** Σ wallMs and Σ requests over every record, done or failed (the workers' time and storage requests). */
  wallMs: number;
  requests: number;
  failures: ShardFailure[];
}

/** Merges every done shard's result (in shard order); a stored result that does not validate counts as a failed shard. */
export async function mergeShardRecords(job: Pick<JobRecord, 'jobId' | 'analysis' | 'options' | 'shards'>, jobs: JobStore): Promise<MergedShards> {
  const total = createAnalysis(job.analysis, job.options).empty();
  const out: MergedShards = { result: total, done: 0, failed: 0, events: 0, bytesRead: 0, wallMs: 0, requests: 0, failures: [] };
  let seen = 0;
  let listedBytes = 0;
  const fail = (r: ShardRecord, code: string, message: string) => {
    out.failed++;
    if (out.failures.length >= MAX_LISTED_FAILURES || listedBytes >= MAX_LISTED_FAILURE_BYTES) return;
    const cut = message.length > MAX_FAILURE_MESSAGE_CHARS ? `${message.slice(0, MAX_FAILURE_MESSAGE_CHARS - 1)}…` : message;
    const failure: ShardFailure = { shard: r.index, url: r.url, part: r.part, parts: r.parts, error: { code, message: cut } };
    const bytes = Buffer.byteLength(JSON.stringify(failure), 'utf8');
    if (listedBytes + bytes > MAX_LISTED_FAILURE_BYTES) {
      listedBytes = MAX_LISTED_FAILURE_BYTES; // full: list no more, keep the order of those listed
      return;
    }
    listedBytes += bytes;
    out.failures.push(failure);
  };
  for await (const r of jobs.shardRecords(job.jobId)) {
    seen++;
    out.bytesRead += r.bytesRead ?? 0;
    out.wallMs += r.wallMs ?? 0;
    out.requests += r.requests ?? 0;
    if (r.state !== 'done') {
      fail(r, r.error?.code ?? 'UNKNOWN', r.error?.message ?? 'failed without a recorded reason');
      continue;
    }
    let partial: AnalysisResult;
    try {
      partial = validateResult(JSON.parse(r.result ?? ''), `shard ${r.index} result`);
      mergeInto(out.result, partial);
    } catch (e) {
      fail(r, 'BAD_RESULT', `stored result cannot be merged: ${(e as Error).message}`);
      continue;
    }
    out.done++;
    out.events += r.events;
  }
  if (seen !== job.shards) throw new Error(`job ${job.jobId}: read ${seen} shard records, expected ${job.shards} (the store changed during the merge?)`);
  return out;
}

/**
 * Messages the queue gave up on. A shard message: the shard is recorded as
 * failed with its last error, and the reducer is told. A shard-done message:
 * the reducer's own work kept failing; try it once more, ignoring the claim
 * lease. A job request: logged (the orchestrator recorded nothing).
 */
export async function handleDeadLetter(delivery: Delivery, deps: ReducerDeps): Promise<void> {
  const now = deps.now ?? Date.now;
  const log = deps.log ?? ((line: string) => console.log(line));
  const kind = (delivery.data as { kind?: unknown }).kind;
  const attempts = delivery.attributes.CloudPubSubDeadLetterSourceDeliveryCount ?? '?';
  if (kind === 'shard') {
    let task;
    try {
      task = parseShardTask(delivery.data);
    } catch (e) {
      log(`dead letters: dropping malformed shard message ${delivery.messageId}: ${(e as Error).message}`);
      return;
    }
    const jobs = new JobStore(deps.store, deps.config);
    const info = await jobs.getAttempts(task.jobId, task.shard);
    const last = info?.lastError ? `last error: ${info.lastError.message}` : 'no error was recorded (the attempts ended without a reply: crash, out of memory or timeout)';
    const created = await jobs.recordShard(task.jobId, {
      index: task.shard,
      url: displayName(task.url),
      part: task.part,
      parts: task.parts,
      attempt: info?.attempts ?? 0,
      worker: deps.workerId,
      state: 'failed',
      profile: '',
      error: { code: 'DEAD_LETTER', message: `the queue gave up after ${attempts} delivery attempts; ${last}` },
      planBytes: plannedBytes(task),
      events: 0,
      entryStart: 0,
      entryStop: 0,
      bytesRead: 0,
      requests: 0,
      openMs: 0,
      readMs: 0,
      processMs: 0,
      wallMs: 0,
      finishedAt: now(),
    });
    if (!created) log(`dead letters: shard ${task.shard} of job ${task.jobId} had already reported`);
    await deps.publisher.publish(deps.config.topics.shardDone, shardDoneMessage(task.jobId, task.shard));
  } else if (kind === 'shard-done') {
    let jobId: string;
    try {
      jobId = parseShardDone(delivery.data).jobId;
    } catch (e) {
      if (!(e instanceof MessageFormatError)) throw e;
      log(`dead letters: dropping malformed shard-done message ${delivery.messageId}: ${e.message}`);
      return;
    }
    const outcome = await reduceJob(jobId, `dead-letter-${delivery.messageId}`, deps, true);
    log(`dead letters: reducer message for job ${jobId} retried after ${attempts} attempts: ${outcome}`);
  } else {
    log(`dead letters: message ${delivery.messageId} (kind ${JSON.stringify(kind)}) abandoned after ${attempts} attempts: ${scrubMessage(JSON.stringify(delivery.data)).slice(0, 500)}`);
  }
}
