// Settings every pipeline module shares. Local runs use the defaults; the
// Cloud Run functions read overrides from their environment (functions/lib/env.ts).

import { DEFAULT_COST_MODEL, type CostModel } from './cost';
import { DEFAULT_TOPICS, type Topics } from './model';

export interface PipelineConfig {
  topics: Topics;
  /** Collection that holds the job documents (several deployments can share one database). */
  jobsCollection: string;
  /** Base URL of the status endpoint, for the links in replies ("" = relative links). */
  statusBaseUrl: string;
  /** Default and bounds of the shard size a request may ask for, bytes. */
  defaultShardBytes: number;
  minShardBytes: number;
  maxShardBytes: number;
  /** Largest job: more shards than this is refused (413) before anything is written. */
  maxShards: number;
  /** Largest URL index file read, bytes. */
  maxIndexBytes: number;
  /**
   * A shard still running after this long fails with DEADLINE instead of being
   * killed by the platform (540 s for an event-driven function) and retried forever.
   */
  shardDeadlineMs: number;
  /** Deliveries of one shard before the worker records it as failed (the queue's dead-lettering is the backstop). */
  maxShardAttempts: number;
  /** How long a reducer's claim on the final merge holds before another may redo it. */
  finalizeLeaseMs: number;
  /** Parallel object-metadata requests while expanding a dataset. */
  statConcurrency: number;
  /** Unit prices and instance shapes of the cost estimate in each job's status. */
  costModel: CostModel;
}

export const DEFAULT_CONFIG: Readonly<PipelineConfig> = Object.freeze({
  topics: DEFAULT_TOPICS,
  jobsCollection: 'physlite-jobs',
  statusBaseUrl: '',
  // 1 GiB of PHYSLITE is ~70k events: ~2-10 s of decoding on one vCPU, far inside 540 s,
  // and small enough that a 100-file dataset already keeps 100s of instances busy.
  defaultShardBytes: 1024 ** 3,
  minShardBytes: 1024,
  maxShardBytes: 64 * 1024 ** 3,
  maxShards: 50_000,
  maxIndexBytes: 16 * 1024 ** 2,
  shardDeadlineMs: 480_000,
  maxShardAttempts: 5,
  finalizeLeaseMs: 120_000,
  statConcurrency: 32,
  costModel: DEFAULT_COST_MODEL,
});

export function resolveConfig(overrides: Partial<PipelineConfig> = {}): PipelineConfig {
  return { ...DEFAULT_CONFIG, ...overrides, topics: { ...DEFAULT_CONFIG.topics, ...overrides.topics } };
}
