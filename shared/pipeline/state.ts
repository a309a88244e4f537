// The state protocol: where each fact about a job lives, and the only ways it
// is written. It needs no read-modify-write transaction, and no document is
// written by every worker (Firestore sustains ~1 write/s per document):
//
//   {jobs}/{job}                    JobRecord. Created once by the orchestrator,
//                                   after its plan is stored; finished by the reducer.
//   {jobs}/{job}/plans/{fp}/pages/{k}  the planned shards, 500 per document, under
//                                   the request's fingerprint: a rival request
//                                   for the same id cannot overwrite them
//   {jobs}/{job}/attempts/{shard}   deliveries of the shard: an increment per
//                                   delivery, the last transient error
//   {jobs}/{job}/shards/{shard}     ShardRecord, create()d once: the first
//                                   attempt to finish wins, later ones see
//                                   "exists" and acknowledge
//   {jobs}/{job}/control/claim      create()d by the reducer that starts the
//                                   merge, so its rivals stand back
//   {jobs}/{job}/control/final      FinalRecord, create()d once: the job's result
//   {jobs}-rejected/{job}           why a request sent as a queue message was
//                                   refused (kept apart, so the id stays free)
//
// Progress is counted (count/sum aggregation over shards/), never incremented.
// What each step reads and writes is counted in cost.ts (firestoreModel), and
// test/cost.test.ts checks that count against a metered store: a change here
// that adds or removes an operation should change both.

import type { PipelineConfig } from './config';
import type { ErrorInfo, FinalRecord, JobRecord, JobSummary, ShardRecord } from './model';
import type { PlannedShard } from './plan';
import { increment, type Doc, type DocumentStore, type StoredDoc } from './ports';

const PLAN_CHUNK = 500;
const PAGE = 500;

export interface AttemptInfo {
  attempts: number;
  lastError?: ErrorInfo;
  retrying?: boolean;
}

export interface JobProgress {
  reported: number;
  failed: number;
  started: number;
  events: number;
  bytesRead: number;
  planBytes: number;
  /** Σ wallMs and Σ requests over the shard records (the measured part of the cost). */
  wallMs: number;
  requests: number;
  /** Σ attempts over the attempts documents: shard deliveries so far. */
  deliveries: number;
}

/** Shard ids sort in shard order: 000000 … 999999, then wider numbers. */
export function shardId(index: number): string {
  return String(index).padStart(6, '0');
}

export class JobStore {
  constructor(
    readonly store: DocumentStore,
    readonly config: Pick<PipelineConfig, 'jobsCollection'>,
  ) {}

  jobPath(jobId: string): string {
    return `${this.config.jobsCollection}/${jobId}`;
  }
  private shards(jobId: string): string {
    return `${this.jobPath(jobId)}/shards`;
  }
  private attempts(jobId: string): string {
    return `${this.jobPath(jobId)}/attempts`;
  }

  async getJob(jobId: string): Promise<JobRecord | undefined> {
    return (await this.store.get(this.jobPath(jobId))) as JobRecord | undefined;
  }

  /**
   * Stores the plan, then creates the job record: a job exists only once its
   * plan is complete, so a crash in between leaves nothing a reader sees.
   * Returns false if the job already existed (a retried request).
   */
  async createJob(record: JobRecord & { fingerprint: string }, plan: readonly PlannedShard[]): Promise<boolean> {
    const writes: Promise<void>[] = [];
    for (let k = 0; k * PLAN_CHUNK < plan.length; k++) {
      const shards = plan.slice(k * PLAN_CHUNK, (k + 1) * PLAN_CHUNK).map((s) => ({ ...s }) as unknown as Doc);
      // same fingerprint = same request = same plan, so rewriting a page is harmless
      writes.push(this.store.merge(`${this.planPages(record.jobId, record.fingerprint)}/${shardId(k)}`, { k, shards }));
    }
    await Promise.all(writes);
    return this.store.create(this.jobPath(record.jobId), record as unknown as Doc);
  }

  private planPages(jobId: string, fingerprint: string): string {
    return `${this.jobPath(jobId)}/plans/${fingerprint}/pages`;
  }

  /** The plan the job was created with (the pages under its own fingerprint). */
  async readPlan(job: Pick<JobRecord, 'jobId' | 'shards' | 'fingerprint'>): Promise<PlannedShard[]> {
    const { jobId, shards } = job;
    if (!job.fingerprint) throw new Error(`job ${jobId} has no request fingerprint, so its plan cannot be found`);
    const docs = await this.store.query(this.planPages(jobId, job.fingerprint), { orderBy: { field: 'k' } });
    const plan = docs.flatMap((d) => d.data.shards as unknown as PlannedShard[]);
    if (plan.length !== shards) throw new Error(`job ${jobId}: stored plan has ${plan.length} shards, the job record says ${shards}`);
    return plan;
  }

  markPublished(jobId: string, at: number): Promise<void> {
    return this.store.merge(this.jobPath(jobId), { publishedAt: at });
  }

  /** Counts this delivery of a shard; returns the attempt number (1 for the first). */
  async beginAttempt(jobId: string, shard: number, workerId: string, at: number): Promise<AttemptInfo> {
    const path = `${this.attempts(jobId)}/${shardId(shard)}`;
    await this.store.merge(path, { shard, attempts: increment(1), lastStartAt: at, worker: workerId });
    return (await this.store.get(path)) as unknown as AttemptInfo;
  }

  noteTransientError(jobId: string, shard: number, error: ErrorInfo, at: number): Promise<void> {
    return this.store.merge(`${this.attempts(jobId)}/${shardId(shard)}`, { shard, lastError: error as unknown as Doc, lastErrorAt: at, retrying: true });
  }

  async getAttempts(jobId: string, shard: number): Promise<AttemptInfo | undefined> {
    return (await this.store.get(`${this.attempts(jobId)}/${shardId(shard)}`)) as unknown as AttemptInfo | undefined;
  }

  /** Records a shard's outcome once. false: an earlier delivery recorded it (this one's work is dropped). */
  async recordShard(jobId: string, record: ShardRecord): Promise<boolean> {
    const created = await this.store.create(`${this.shards(jobId)}/${shardId(record.index)}`, record as unknown as Doc);
    // the shard no longer shows as retrying (only written for shards that were)
    if (created && record.attempt > 1) await this.store.merge(`${this.attempts(jobId)}/${shardId(record.index)}`, { retrying: false });
    return created;
  }

  async getShard(jobId: string, shard: number): Promise<ShardRecord | undefined> {
    return (await this.store.get(`${this.shards(jobId)}/${shardId(shard)}`)) as unknown as ShardRecord | undefined;
  }

  /** Shards that have reported (done or failed). */
  async reported(jobId: string): Promise<number> {
    return (await this.store.aggregate(this.shards(jobId))).count;
  }

  async progress(jobId: string): Promise<JobProgress> {
    // count + 5 sums is over Firestore's 5 aggregations per request: the Firestore store sends two, each billed per 1000 records
    const [all, failed, started] = await Promise.all([
      this.store.aggregate(this.shards(jobId), [], ['events', 'bytesRead', 'planBytes', 'wallMs', 'requests']),
      this.store.aggregate(this.shards(jobId), [{ field: 'state', op: '==', value: 'failed' }]),
      this.store.aggregate(this.attempts(jobId), [], ['attempts']),
    ]);
    const sum = (field: string) => all.sums[field] ?? 0;
    return {
      reported: all.count,
      failed: failed.count,
      started: started.count,
      events: sum('events'),
      bytesRead: sum('bytesRead'),
      planBytes: sum('planBytes'),
      wallMs: sum('wallMs'),
      requests: sum('requests'),
      deliveries: started.sums.attempts ?? 0,
    };
  }

  /** Σ attempts over the shards: the deliveries that counted an attempt. */
  async deliveries(jobId: string): Promise<number> {
    return (await this.store.aggregate(this.attempts(jobId), [], ['attempts'])).sums.attempts ?? 0;
  }

  /** Every shard record in shard order, a page at a time (range filter paging: no cursors needed). */
  async *shardRecords(jobId: string, pageSize = PAGE): AsyncGenerator<ShardRecord> {
    let after = -1;
    for (;;) {
      const page = await this.store.query(this.shards(jobId), { where: [{ field: 'index', op: '>', value: after }], orderBy: { field: 'index' }, limit: pageSize });
      for (const d of page) yield d.data as unknown as ShardRecord;
      if (page.length < pageSize) return;
      after = (page[page.length - 1]!.data as unknown as ShardRecord).index;
    }
  }

  async failedShards(jobId: string, limit: number): Promise<ShardRecord[]> {
    const docs = await this.store.query(this.shards(jobId), { where: [{ field: 'state', op: '==', value: 'failed' }], limit });
    return docs.map((d) => d.data as unknown as ShardRecord).sort((a, b) => a.index - b.index);
  }

  async retryingShards(jobId: string, limit: number): Promise<(AttemptInfo & { shard: number })[]> {
    const docs = await this.store.query(this.attempts(jobId), { where: [{ field: 'retrying', op: '==', value: true }], limit });
    return docs.map((d) => d.data as unknown as AttemptInfo & { shard: number }).sort((a, b) => a.shard - b.shard);
  }

  /**
   * Claims the final merge for `owner` (a message id). true: go ahead — the
   * claim is new, is ours (a redelivery of the message that made it), or its
   * lease ran out (the claimant died without redelivery). false: someone else
   * is merging right now. The final record's create() is what makes the
   * result unique; the claim only saves duplicate merges.
   */
  async claimFinalize(jobId: string, owner: string, at: number, leaseMs: number): Promise<boolean> {
    const path = `${this.jobPath(jobId)}/control/claim`;
    if (await this.store.create(path, { owner, at })) return true;
    const claim = (await this.store.get(path)) as { owner?: string; at?: number } | undefined;
    return !claim || claim.owner === owner || at - (claim.at ?? 0) >= leaseMs;
  }

  createFinal(jobId: string, final: FinalRecord): Promise<boolean> {
    return this.store.create(`${this.jobPath(jobId)}/control/final`, final as unknown as Doc);
  }

  async getFinal(jobId: string): Promise<FinalRecord | undefined> {
    return (await this.store.get(`${this.jobPath(jobId)}/control/final`)) as unknown as FinalRecord | undefined;
  }

  /** Idempotent: writes the same fields whoever calls it. */
  markFinished(jobId: string, final: FinalRecord): Promise<void> {
    const summary: JobSummary = { shardsDone: final.shardsDone, shardsFailed: final.shardsFailed, events: final.events, bytesRead: final.bytesRead, mergeMs: final.mergeMs };
    return this.store.merge(this.jobPath(jobId), { state: 'finished', finishedAt: final.finishedAt, summary: summary as unknown as Doc });
  }

  private rejectedPath(jobId: string): string {
    return `${this.config.jobsCollection}-rejected/${jobId}`;
  }

  /**
   * A job request that came as a message and was refused: recorded so the
   * sender can see why (the last refusal for an id wins). It lives apart
   * from the jobs, so the id can still be used by a corrected request.
   */
  recordRejected(jobId: string, error: string, at: number): Promise<void> {
    return this.store.merge(this.rejectedPath(jobId), { jobId, state: 'rejected', error, createdAt: at, finishedAt: at, analysis: '', options: {}, datasetPreview: [], datasetEntries: 0, files: 0, shards: 0, bytes: 0, shardBytes: 0 });
  }

  async getRejected(jobId: string): Promise<JobRecord | undefined> {
    return (await this.store.get(this.rejectedPath(jobId))) as JobRecord | undefined;
  }

  /** Jobs and rejected requests, newest first. */
  async recentJobs(limit: number): Promise<JobRecord[]> {
    const newest = { orderBy: { field: 'createdAt', direction: 'desc' as const }, limit };
    const [jobs, rejected]: StoredDoc[][] = await Promise.all([this.store.query(this.config.jobsCollection, newest), this.store.query(`${this.config.jobsCollection}-rejected`, newest)]);
    return [...jobs, ...rejected]
      .map((d) => d.data as unknown as JobRecord)
      .sort((a, b) => b.createdAt - a.createdAt)
      .slice(0, limit);
  }
}
