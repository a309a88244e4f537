// The pipeline's records and messages: what a job request asks for, what one
// shard message carries, and what the state store holds. Plain JSON shapes,
// versioned where they cross a process boundary.

import type { AnalysisResult } from '../analysis/result';
import type { CostReport } from './cost';

/** Topic names; deployments override them through PipelineConfig. */
export interface Topics {
  /** Job requests (startable with `gcloud pubsub topics publish`). */
  jobs: string;
  /** One message per shard, consumed by the workers. */
  shards: string;
  /** "Shard N of job J has reported", consumed by the reducer. */
  shardDone: string;
  /** Messages that exhausted their delivery attempts. */
  deadLetters: string;
}

export const DEFAULT_TOPICS: Readonly<Topics> = Object.freeze({
  jobs: 'physlite-jobs',
  shards: 'physlite-shards',
  shardDone: 'physlite-shard-done',
  deadLetters: 'physlite-dead-letters',
});

/** A validated job request. */
export interface JobSpec {
  /** Caller-chosen id (idempotency key) or generated. [a-z0-9][a-z0-9-]{0,62}. */
  jobId: string;
  /** The dataset entries as given: gs:// prefixes or objects, https:// URLs, local paths, index files (.txt). */
  dataset: string[];
  analysis: string;
  options: Record<string, unknown>;
  /** Target bytes of file per shard: bigger files are split into parts. */
  shardBytes: number;
  /** Free text shown in job lists. */
  label?: string;
}

/** One unit of work: part `part` (0-based) of `parts` of one file. Published as a message on the shards topic. */
export interface ShardTask {
  kind: 'shard';
  v: 1;
  jobId: string;
  /** 0-based index within the job; the shard's record is named by it. */
  shard: number;
  url: string;
  /** Object size and generation when planned: a worker refuses an object that changed since. */
  size?: number;
  generation?: string;
  part: number;
  parts: number;
  analysis: string;
  options: Record<string, unknown>;
}

export interface ShardDoneMessage {
  kind: 'shard-done';
  v: 1;
  jobId: string;
  shard: number;
}

export interface JobMessage {
  kind: 'job';
  v: 1;
  /** The request body, as POST /jobs takes it. */
  request: unknown;
}

export type PipelineMessage = ShardTask | ShardDoneMessage | JobMessage;

/** A recorded error: the decoder's code when there is one. */
export interface ErrorInfo {
  code: string;
  message: string;
}

/** What a worker ran, for progress, throughput and cost figures. */
export interface ShardStats {
  /** Planned bytes of the shard (the object's size / parts). */
  planBytes: number;
  events: number;
  entryStart: number;
  entryStop: number;
  bytesRead: number;
  requests: number;
  /** Opening the file and mapping the part to entries. */
  openMs: number;
  readMs: number;
  processMs: number;
  /** The whole attempt, open to record. */
  wallMs: number;
}

/** jobs/{id}/shards/{index}: written once, with create(), by the first attempt to finish. */
export interface ShardRecord extends ShardStats {
  index: number;
  state: 'done' | 'failed';
  url: string;
  part: number;
  parts: number;
  /** Delivery attempt that recorded it (from the attempts counter). */
  attempt: number;
  profile: string;
  /** JSON of the AnalysisResult (done shards): a string, so no Firestore type conversion touches it. */
  result?: string;
  error?: ErrorInfo;
  finishedAt: number;
  worker: string;
}

/** rejected: a job request that came as a queue message and was refused (the reason is in `error`). */
export type JobState = 'running' | 'finished' | 'rejected';

/** jobs/{id}. Created by the orchestrator after its plan is stored; finished by the reducer. */
export interface JobRecord {
  jobId: string;
  state: JobState;
  label?: string;
  analysis: string;
  options: Record<string, unknown>;
  /** The first entries of the dataset as given, and how many there were. */
  datasetPreview: string[];
  datasetEntries: number;
  files: number;
  shards: number;
  /** Sum of planned file bytes. */
  bytes: number;
  shardBytes: number;
  createdAt: number;
  /** Identifies the request's content, so a retry is recognised and a reused id refused. */
  fingerprint?: string;
  /** Why a rejected request was refused. */
  error?: string;
  /** All shard messages published (a retried request publishes again: harmless). */
  publishedAt?: number;
  finishedAt?: number;
  /** Set when finished. */
  summary?: JobSummary;
}

export interface JobSummary {
  shardsDone: number;
  shardsFailed: number;
  events: number;
  bytesRead: number;
  mergeMs: number;
}

/** jobs/{id}/control/final: the merged result, created once. */
export interface FinalRecord extends JobSummary {
  result: string;
  failures: ShardFailure[];
  failuresTruncated: number;
  finishedAt: number;
  reducer: string;
  /** What the job used, for its cost (absent in records written before it was kept). */
  usage?: JobUsageSums;
}

/** Sums over a job's records at the merge, the measured part of its cost. */
export interface JobUsageSums {
  /** Σ attempts over jobs/{id}/attempts: shard deliveries that counted an attempt. */
  deliveries: number;
  /** Σ wallMs and Σ requests over the shard records. */
  wallMs: number;
  requests: number;
}

export interface ShardFailure {
  shard: number;
  url: string;
  part: number;
  parts: number;
  error: ErrorInfo;
}

/** What GET /jobs/{id} answers (JSON), and what the HTML page shows. */
export interface JobStatus {
  jobId: string;
  label?: string;
  state: JobState;
  /** Why a rejected request was refused. */
  error?: string;
  analysis: string;
  options: Record<string, unknown>;
  dataset: { preview: string[]; entries: number; files: number; bytes: number };
  shards: { total: number; done: number; failed: number; pending: number; running: number };
  /** false while the orchestrator publishes, or if publishing failed part way (repeat the request with this jobId). */
  published: boolean;
  events: number;
  bytesRead: number;
  createdAt: string;
  finishedAt?: string;
  elapsedSeconds: number;
  /** Events per second and planned bytes per second over the elapsed time. */
  throughput: { eventsPerSecond: number; bytesPerSecond: number };
  /** Seconds to go, from the planned bytes still to do at the rate so far; undefined before any shard reports. */
  etaSeconds?: number;
  failures: ShardFailure[];
  /** Failures not listed (the list is capped). */
  moreFailures: number;
  /** Shards retried after a transient error, with their last error. */
  retrying: { shard: number; attempts: number; error?: ErrorInfo }[];
  result?: AnalysisResult;
  /** What the job cost so far, estimated (running and finished jobs; absent for jobs finished before usage was recorded). */
  cost?: CostReport;
  links: { self: string; page: string };
}

export interface JobListEntry {
  jobId: string;
  label?: string;
  state: JobState;
  analysis: string;
  shards: number;
  createdAt: string;
  finishedAt?: string;
  summary?: JobSummary;
}
