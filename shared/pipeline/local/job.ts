// The whole pipeline on this machine: orchestrator, queue, workers on
// worker_threads, reducer, dead-letter handler and the status server, wired
// with the local implementations of the three services. `npm start` and
// `physlite job --local` run this; the tests and the benchmark drive it too.

import os from 'node:os';
import { resolveConfig, type PipelineConfig } from '../config';
import type { JobStatus } from '../model';
import { handleJobDelivery, submitJob, type OrchestratorDeps } from '../orchestrator';
import { handleDeadLetter, handleShardDoneDelivery } from '../reducer';
import { jobStatus } from '../status';
import { seededRandom } from './chaos';
import { LocalQueue } from './queue';
import { MemoryDocumentStore } from './memory-store';
import { createLocalObjectStore } from './object-store';
import { WorkerPool } from './worker-pool';
import { startLocalServer, type LocalServer } from './server';

export interface ChaosSettings {
  /** Probability that a delivery is also delivered a second time, concurrently. */
  duplicateRate: number;
  /** Probability, per read of a shard's file, that its worker thread dies on the spot. */
  crashRate: number;
  /** Probability, per read, of a transient storage error. */
  transientReadRate: number;
  seed: number;
}

export const DEFAULT_CHAOS: Readonly<ChaosSettings> = Object.freeze({ duplicateRate: 0.2, crashRate: 0.02, transientReadRate: 0.05, seed: 1 });

export interface LocalJobOptions {
  /** The job request, as POST /jobs takes it. */
  request: Record<string, unknown>;
  /** Worker threads (default: one per core). */
  workers?: number;
  chaos?: ChaosSettings;
  /** Status server port (default 0: any free port); false for none. */
  port?: number | false;
  /** Called with the job's status while it runs (every pollMs) and once at the end. */
  onProgress?: (status: JobStatus) => void;
  pollMs?: number;
  config?: Partial<PipelineConfig>;
  log?: (line: string) => void;
  /** Told the status server's URL once it listens. */
  announce?: (url: string) => void;
  /** After the job: keep the status server up until the promise resolves. */
  keepServing?: ((url: string) => Promise<void>) | undefined;
}

export interface LocalJobRun {
  jobId: string;
  status: JobStatus;
  wallMs: number;
  /** Where the status page was served (the server is closed when the run returns). */
  url?: string;
  queue: ReturnType<LocalQueue['stats']>;
  store: MemoryDocumentStore['stats'];
}

/** A running local pipeline: submit jobs to it, read their status, close it. */
export class LocalPipeline {
  readonly store = new MemoryDocumentStore();
  readonly queue: LocalQueue;
  readonly config: PipelineConfig;
  readonly pool: WorkerPool;
  server: LocalServer | undefined;
  private readonly deps: OrchestratorDeps;

  constructor(options: Omit<LocalJobOptions, 'request' | 'onProgress' | 'pollMs'> = {}) {
    const chaos = options.chaos;
    const log = options.log ?? (() => undefined);
    // Under chaos, crashes and transient errors are frequent by design: give
    // every shard enough attempts that none runs out (the point is exactness).
    const attempts = chaos ? { maxShardAttempts: 40 } : {};
    this.config = resolveConfig({ ...attempts, ...options.config });
    this.queue = new LocalQueue(chaos ? { duplicateRate: chaos.duplicateRate, random: seededRandom(chaos.seed) } : {});
    const objects = createLocalObjectStore();
    this.deps = { store: this.store, publisher: this.queue, objects, config: this.config, log };
    const workers = options.workers ?? os.availableParallelism();
    this.pool = new WorkerPool({
      size: workers,
      store: this.store,
      publisher: this.queue,
      config: this.config,
      ...(chaos ? { chaos: { crashRate: chaos.crashRate, transientReadRate: chaos.transientReadRate, seed: chaos.seed } } : {}),
    });
    const t = this.config.topics;
    const reducerDeps = { store: this.store, publisher: this.queue, config: this.config, workerId: 'local-reducer', log };
    const deadLetters = { maxDeliveryAttempts: this.config.maxShardAttempts + 5, deadLetterTopic: t.deadLetters };
    this.queue.subscribe(t.jobs, 'orchestrator', async (d) => void (await handleJobDelivery(d, this.deps)), { ...deadLetters, concurrency: 1 });
    // the ack deadline is the platform's timeout: beyond it Pub/Sub redelivers while the first try may still run
    this.queue.subscribe(t.shards, 'worker', this.pool.handler, { ...deadLetters, concurrency: workers, ackDeadlineMs: this.config.shardDeadlineMs + 60_000, minBackoffMs: 20, maxBackoffMs: 500 });
    this.queue.subscribe(t.shardDone, 'reducer', async (d) => void (await handleShardDoneDelivery(d, reducerDeps)), { ...deadLetters, concurrency: 2, minBackoffMs: 20, maxBackoffMs: 500 });
    this.queue.subscribe(t.deadLetters, 'dead-letters', (d) => handleDeadLetter(d, reducerDeps), { concurrency: 1 });
  }

  async serve(port = 0): Promise<LocalServer> {
    this.server ??= await startLocalServer(this.deps, port);
    return this.server;
  }

  submit(request: unknown): ReturnType<typeof submitJob> {
    return submitJob(request, this.deps);
  }

  status(jobId: string): Promise<JobStatus | undefined> {
    return jobStatus(jobId, { store: this.store, config: this.config });
  }

  /** Resolves with the final status once the job has finished (or was rejected). */
  async waitFor(jobId: string, onProgress?: (s: JobStatus) => void, pollMs = 200): Promise<JobStatus> {
    for (;;) {
      const s = await this.status(jobId);
      if (!s) throw new Error(`no job ${jobId}`);
      onProgress?.(s);
      if (s.state !== 'running') return s;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  async close(): Promise<void> {
    await this.server?.close();
    this.server = undefined;
    this.queue.close();
    await this.pool.close();
  }
}

/** Submits one job to a fresh local pipeline, waits for it, and shuts everything down. */
export async function runLocalJob(options: LocalJobOptions): Promise<LocalJobRun> {
  const t0 = performance.now();
  const pipeline = new LocalPipeline(options);
  try {
    const url = options.port === false ? undefined : (await pipeline.serve(options.port ?? 0)).url;
    const job = await pipeline.submit(options.request);
    if (url) options.announce?.(`${url}/jobs/${job.jobId}`);
    const status = await pipeline.waitFor(job.jobId, options.onProgress, options.pollMs);
    await pipeline.queue.idle(); // late duplicates finish before the numbers are read
    if (url && options.keepServing) await options.keepServing(`${url}/jobs/${job.jobId}`);
    return { jobId: job.jobId, status, wallMs: performance.now() - t0, ...(url ? { url } : {}), queue: pipeline.queue.stats(), store: { ...pipeline.store.stats } };
  } finally {
    await pipeline.close();
  }
}
