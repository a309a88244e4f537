// Shard processing: what the worker function does with one delivery of a
// shard message.
//
//   already recorded?  → tell the reducer again, acknowledge (a duplicate)
//   count the attempt  → past the limit: record "gave up" with the last error
//   open the object, map "part k of n" to its cluster-aligned entry range,
//   run the analysis chunk by chunk (a deadline keeps it inside the platform's)
//   record the outcome with create() (a rival's earlier record wins), then
//   publish shard-done for the reducer.
//
// Transient trouble (network, 5xx, timeouts) is thrown, so the queue
// redelivers with backoff; permanent trouble (corrupt file, missing branches,
// unknown analysis, an object changed since planning) is recorded as a failed
// shard at once. Errors of the state store and queue themselves are always
// thrown: nothing is acknowledged until its outcome is stored.

import { AnalysisConfigError } from '../analysis/analysis';
import { createAnalysis } from '../analysis/registry';
import { MergeError } from '../analysis/result';
import { analyseOpenFile } from '../analysis/runner';
import { PhysliteFile } from '../physlite/index';
import { RootError } from '../root/errors';
import { displayName } from '../root/source/url-policy';
import { scrubMessage } from '../root/source/util';
import type { PipelineConfig } from './config';
import { MessageFormatError, parseShardTask, shardDoneMessage } from './messages';
import type { ErrorInfo, ShardRecord, ShardStats, ShardTask } from './model';
import { partEntryRange } from './plan';
import type { Delivery, DocumentStore, ObjectStore, Publisher } from './ports';
import { JobStore } from './state';

export interface WorkerDeps {
  store: DocumentStore;
  publisher: Publisher;
  objects: ObjectStore;
  config: PipelineConfig;
  /** Names the instance/thread in records and logs. */
  workerId: string;
  /** Clock (epoch ms); tests replace it. */
  now?: () => number;
  log?: (line: string) => void;
}

/** Largest result JSON stored in a shard record (Firestore documents hold 1 MiB). */
export const MAX_RESULT_CHARS = 900_000;

/** A failure that retrying cannot fix, with the code recorded for the shard. */
export class PermanentShardError extends Error {
  override readonly name = 'PermanentShardError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Handles one delivery of a shard message. Resolves = acknowledge; throws = redeliver later (transient trouble). */
export async function handleShardDelivery(delivery: Delivery, deps: WorkerDeps): Promise<void> {
  const now = deps.now ?? Date.now;
  const log = deps.log ?? ((line: string) => console.log(line));
  let task: ShardTask;
  try {
    task = parseShardTask(delivery.data);
  } catch (e) {
    if (e instanceof MessageFormatError) {
      log(`worker ${deps.workerId}: dropping message ${delivery.messageId}: ${e.message}`);
      return;
    }
    throw e;
  }
  const jobs = new JobStore(deps.store, deps.config);
  const done = () => deps.publisher.publish(deps.config.topics.shardDone, shardDoneMessage(task.jobId, task.shard));

  if (await jobs.getShard(task.jobId, task.shard)) {
    await done(); // the recorder may have died before telling the reducer
    return;
  }
  const t0 = now();
  const attempt = await jobs.beginAttempt(task.jobId, task.shard, deps.workerId, t0);
  // the record names the object; the signature of a signed URL stays in the message
  const base = { index: task.shard, url: displayName(task.url), part: task.part, parts: task.parts, attempt: attempt.attempts, worker: deps.workerId };
  const planBytes = plannedBytes(task);

  let record: ShardRecord;
  if (attempt.attempts > deps.config.maxShardAttempts) {
    const last = attempt.lastError ? `last error: ${attempt.lastError.message}` : 'no error was recorded, so the attempts ended without a reply (worker crash, out of memory, or the platform timeout)';
    record = { ...base, ...emptyStats(planBytes), state: 'failed', profile: '', error: { code: 'GAVE_UP', message: `gave up after ${attempt.attempts - 1} attempts; ${last}` }, finishedAt: now() };
  } else {
    try {
      const ran = await runShard(task, deps, t0, now);
      record = { ...base, ...ran.stats, state: 'done', profile: ran.profile, result: ran.result, finishedAt: now() };
    } catch (e) {
      const info = errorInfo(e);
      if (isTransient(e)) {
        await jobs.noteTransientError(task.jobId, task.shard, info, now());
        throw e;
      }
      record = { ...base, ...emptyStats(planBytes), wallMs: now() - t0, state: 'failed', profile: '', error: info, finishedAt: now() };
    }
  }
  const created = await jobs.recordShard(task.jobId, record);
  if (!created) log(`worker ${deps.workerId}: shard ${task.shard} of job ${task.jobId} was already recorded by another delivery; this result is dropped`);
  await done();
}

interface ShardRun {
  stats: ShardStats;
  profile: string;
  result: string;
}

/** Opens the shard's object and runs the analysis over its part. Throws RootError / PermanentShardError / AnalysisConfigError. */
export async function runShard(task: ShardTask, deps: Pick<WorkerDeps, 'objects' | 'config'>, t0: number, now: () => number = Date.now): Promise<ShardRun> {
  try {
    return await runShardOnce(task, deps, t0, now);
  } catch (e) {
    // reads are pinned to the planned generation: "not found" means the object was replaced or deleted since
    if (task.generation !== undefined && e instanceof RootError && e.code === 'SOURCE_NOT_FOUND') {
      throw new PermanentShardError('CHANGED', `${displayName(task.url)} (generation ${task.generation}) is gone: the object was deleted or overwritten after the job was planned; run a new job (${e.message})`);
    }
    throw e;
  }
}

async function runShardOnce(task: ShardTask, deps: Pick<WorkerDeps, 'objects' | 'config'>, t0: number, now: () => number): Promise<ShardRun> {
  const analysis = createAnalysis(task.analysis, task.options);
  const info = { url: task.url, ...(task.size !== undefined ? { size: task.size } : {}), ...(task.generation !== undefined ? { generation: task.generation } : {}) };
  const source = await deps.objects.open(task.url, info);
  let file: PhysliteFile;
  try {
    if (task.size !== undefined) {
      const size = await source.size();
      if (size !== task.size) throw new PermanentShardError('CHANGED', `${displayName(task.url)} is ${size} bytes, but was ${task.size} when the job was planned: the object changed; run a new job`);
    }
    file = await PhysliteFile.open(source);
  } catch (e) {
    await source.close().catch(() => undefined);
    throw e;
  }
  try {
    const { entryStart, entryStop } = partEntryRange(file.chunkRanges(), file.entries, task.part, task.parts);
    const openMs = now() - t0;
    const deadline = t0 + deps.config.shardDeadlineMs;
    const run = await analyseOpenFile(file, analysis, {
      entryStart,
      entryStop,
      onChunk: ({ eventsDone, eventsTotal }) => {
        // checked before the next chunk: a shard that has just finished is not failed
        if (eventsDone < eventsTotal && now() > deadline) {
          throw new PermanentShardError('DEADLINE', `shard still running after ${Math.round(deps.config.shardDeadlineMs / 1000)} s (part ${task.part + 1} of ${task.parts}, entries ${entryStart}-${entryStop}): submit the job with a smaller shardMB`);
        }
      },
    });
    const result = JSON.stringify(run.result);
    if (result.length > MAX_RESULT_CHARS) throw new PermanentShardError('RESULT_TOO_LARGE', `the analysis result is ${result.length} characters of JSON, more than the ${MAX_RESULT_CHARS} a shard record holds`);
    const stats: ShardStats = {
      planBytes: plannedBytes(task),
      events: entryStop - entryStart,
      entryStart,
      entryStop,
      bytesRead: run.bytesRead,
      requests: run.requests,
      openMs,
      readMs: run.readMs,
      processMs: run.processMs,
      wallMs: now() - t0,
    };
    return { stats, profile: run.profile, result };
  } finally {
    await file.close();
  }
}

/** The shard's share of its file's bytes; an unknown size counts 0, as in the job's total, so progress by bytes stays comparable. */
export function plannedBytes(task: Pick<ShardTask, 'size' | 'parts'>): number {
  return task.size === undefined ? 0 : Math.round(task.size / task.parts);
}

function emptyStats(planBytes: number): ShardStats {
  return { planBytes, events: 0, entryStart: 0, entryStop: 0, bytesRead: 0, requests: 0, openMs: 0, readMs: 0, processMs: 0, wallMs: 0 };
}

export function isTransient(e: unknown): boolean {
  return e instanceof RootError && e.transient;
}

/** What is recorded for an error: the decoder's code, or a pipeline code. */
export function errorInfo(e: unknown): ErrorInfo {
  const info = errorInfoOf(e);
  // stored and shown: a URL quoted by a library keeps no query string (a signed URL's signature)
  return { code: info.code, message: scrubMessage(info.message) };
}

function errorInfoOf(e: unknown): ErrorInfo {
  if (e instanceof RootError) return { code: e.code, message: e.message };
  if (e instanceof PermanentShardError) return { code: e.code, message: e.message };
  if (e instanceof AnalysisConfigError) return { code: 'BAD_ANALYSIS', message: e.message };
  if (e instanceof MergeError) return { code: 'MERGE', message: e.message };
  const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return { code: 'INTERNAL', message: `unexpected error: ${message}` };
}
