// The state protocol and merge semantics of the pipeline, run against both
// document stores — MemoryDocumentStore, and FirestoreDocumentStore on the
// local Firestore emulator — with the real worker over the real sample files:
//
//   worker       duplicates (sequential and concurrent) record once; permanent
//                errors are recorded and acknowledged; transient ones are thrown,
//                counted and shown as retrying, until the attempts run out (GAVE_UP)
//   reducer      racing reducers finalize once; a dead claimant's redelivery
//                finishes; rivals wait for the lease; failed shards are listed
//   dead letters a shard's last error is recorded once; a record is never replaced
//   merge        a job of 2 files × 3 parts merges to exactly the per-file results
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createAnalysis } from '../shared/analysis/registry';
import { mergeResults, type AnalysisResult } from '../shared/analysis/result';
import { analyseFile } from '../shared/analysis/runner';
import { resolveConfig, type PipelineConfig } from '../shared/pipeline/config';
import { FirestoreDocumentStore } from '../shared/pipeline/google/firestore-store';
import { statusHttp } from '../shared/pipeline/http';
import { MemoryDocumentStore } from '../shared/pipeline/local/memory-store';
import { createLocalObjectStore } from '../shared/pipeline/local/object-store';
import { shardDoneMessage } from '../shared/pipeline/messages';
import type { FinalRecord, JobRecord, JobStatus, ShardRecord, ShardTask } from '../shared/pipeline/model';
import { submitJob, type OrchestratorDeps } from '../shared/pipeline/orchestrator';
import type { Delivery, DocumentStore, ObjectStore } from '../shared/pipeline/ports';
import { handleDeadLetter, handleShardDoneDelivery, reduceJob, type ReduceOutcome, type ReducerDeps } from '../shared/pipeline/reducer';
import { JobStore } from '../shared/pipeline/state';
import { jobStatus } from '../shared/pipeline/status';
import { handleShardDelivery, type WorkerDeps } from '../shared/pipeline/worker';
import { RootError } from '../shared/root/errors';
import { samplePath } from '../scripts/lib/samples';
import { startFirestoreEmulator, type FirestoreEmulator } from './support/firestore-emulator';
import { deliveryOf, RecordingPublisher, type PublishedMessage } from './support/recording-publisher';

const R21 = 'DAOD_PHYSLITE_21.2.108.0.art.pool.root';
const R22 = 'PHYSLITE_example.root';
const T0 = Date.UTC(2025, 10, 25, 12, 0, 0);
const LEASE = 60_000;
const MAX_ATTEMPTS = 3;

let r21: string;
let r22: string;
let r21Result: AnalysisResult;
let r22Result: AnalysisResult;
let expectedBoth: AnalysisResult;
let dir: string;
let junk: string;

before(async () => {
  r21 = await samplePath(R21);
  r22 = await samplePath(R22);
  // the single-file path (already tested against the oracle) gives the expected sums
  r21Result = (await analyseFile(r21, createAnalysis('reference', {}))).result;
  r22Result = (await analyseFile(r22, createAnalysis('reference', {}))).result;
  expectedBoth = mergeResults(r21Result, r22Result);
  dir = await mkdtemp(path.join(tmpdir(), 'protocol-test-'));
  junk = path.join(dir, 'junk.root');
  await writeFile(junk, 'this is not a ROOT file\n'.repeat(100));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------
// Backends

interface Backend {
  name: string;
  open(): Promise<DocumentStore>;
  close(): Promise<void>;
}

let emulator: FirestoreEmulator | undefined;
const backends: Backend[] = [
  { name: 'MemoryDocumentStore', open: async () => new MemoryDocumentStore(), close: async () => undefined },
  {
    name: 'FirestoreDocumentStore (emulator)',
    open: async () => {
      emulator = await startFirestoreEmulator();
      return new FirestoreDocumentStore(emulator.firestore());
    },
    close: async () => {
      await emulator?.close();
    },
  },
];

let collections = 0;

// ---------------------------------------------------------------------------
// Helpers

/** An ObjectStore whose open() always fails with a transient error; counts the calls. */
function unavailableObjects(): ObjectStore & { opens: number } {
  const local = createLocalObjectStore();
  const objects = {
    opens: 0,
    list: (p: string, n: number) => local.list(p, n),
    stat: (u: string) => local.stat(u),
    readText: (u: string, n: number) => local.readText(u, n),
    open: async (url: string): Promise<never> => {
      objects.opens++;
      throw new RootError('SOURCE_UNAVAILABLE', `HTTP 503 Service Unavailable (open #${objects.opens})`, { file: url });
    },
  };
  return objects;
}

function makeEnv(store: DocumentStore, overrides: Partial<PipelineConfig> = {}) {
  const config = resolveConfig({ jobsCollection: `protocol-jobs-${++collections}`, maxShardAttempts: MAX_ATTEMPTS, finalizeLeaseMs: LEASE, statConcurrency: 4, ...overrides });
  const publisher = new RecordingPublisher();
  const logs: string[] = [];
  const log = (line: string) => logs.push(line);
  const clock = { t: T0 };
  const now = () => clock.t;
  const objects = createLocalObjectStore();
  const jobs = new JobStore(store, config);
  const orchestrator: OrchestratorDeps = { store, publisher, objects, config, now, log };
  const worker = (workerId = 'w1', objs: ObjectStore = objects): WorkerDeps => ({ store, publisher, objects: objs, config, workerId, now, log });
  const reducer = (workerId = 'r1', at: () => number = now): ReducerDeps => ({ store, publisher, config, workerId, now: at, log });

  return {
    store,
    config,
    publisher,
    logs,
    clock,
    jobs,
    orchestrator,
    worker,
    reducer,
    /** Submits a job; returns its id and shard messages (taken off the recording publisher). */
    async submit(body: Record<string, unknown>): Promise<{ jobId: string; shards: PublishedMessage[] }> {
      const job = await submitJob(body, orchestrator);
      const shards = publisher.take(config.topics.shards).sort((a, b) => (a.data as unknown as ShardTask).shard - (b.data as unknown as ShardTask).shard);
      assert.equal(shards.length, job.shards);
      return { jobId: job.jobId, shards };
    },
    /** Runs every shard message through the worker; returns the shard-done messages published. */
    async runAll(shards: readonly PublishedMessage[]): Promise<PublishedMessage[]> {
      for (const m of shards) await handleShardDelivery(deliveryOf(m), worker());
      return publisher.take(config.topics.shardDone);
    },
    shardDocs: async (jobId: string) => store.query(`${config.jobsCollection}/${jobId}/shards`),
    attemptDocs: async (jobId: string) => store.query(`${config.jobsCollection}/${jobId}/attempts`),
    status: async (jobId: string) => (await jobStatus(jobId, { store, config, now })) as JobStatus,
    doneDelivery: (jobId: string, messageId: string, shard = 0): Delivery => ({ messageId, data: shardDoneMessage(jobId, shard), attributes: {} }),
  };
}
type Env = ReturnType<typeof makeEnv>;

/** Same analysis result: counts, cut-flow, every histogram bin, then the whole object. */
function assertSameResult(actual: AnalysisResult, expected: AnalysisResult, what: string): void {
  assert.equal(actual.analysis, expected.analysis, `${what}: analysis`);
  assert.equal(actual.profile, expected.profile, `${what}: profile`);
  assert.equal(actual.eventsRead, expected.eventsRead, `${what}: eventsRead`);
  assert.equal(actual.eventsKept, expected.eventsKept, `${what}: eventsKept`);
  assert.deepEqual(actual.counts, expected.counts, `${what}: counts`);
  assert.deepEqual(actual.cutflow, expected.cutflow, `${what}: cutflow`);
  assert.deepEqual(Object.keys(actual.histograms).sort(), Object.keys(expected.histograms).sort(), `${what}: histogram names`);
  for (const [name, h] of Object.entries(expected.histograms)) {
    const a = actual.histograms[name]!;
    assert.deepEqual([a.lo, a.hi, a.bins], [h.lo, h.hi, h.bins], `${what}: binning of ${name}`);
    assert.equal(a.counts.length, h.counts.length, `${what}: ${name} slots`);
    h.counts.forEach((n, i) => assert.equal(a.counts[i], n, `${what}: ${name} slot ${i}`));
    assert.equal(a.nan, h.nan, `${what}: ${name} NaN fills`);
  }
  assert.deepEqual(actual, expected, what);
}

function parsedFinal(final: FinalRecord | undefined): AnalysisResult {
  assert.ok(final, 'the final record exists');
  return JSON.parse(final.result) as AnalysisResult;
}

/** A job whose every shard has been recorded by the real worker (shard-done messages returned, not delivered). */
async function completedJob(env: Env, body: Record<string, unknown>): Promise<{ jobId: string; done: PublishedMessage[] }> {
  const { jobId, shards } = await env.submit(body);
  const done = await env.runAll(shards);
  return { jobId, done };
}

// ---------------------------------------------------------------------------

for (const backend of backends) {
  describe(`pipeline protocol on ${backend.name}`, () => {
    let store: DocumentStore;
    before(async () => {
      store = await backend.open();
    });
    after(() => backend.close());

    // -------------------------------------------------------------------- worker
    describe('worker', () => {
      test('a shard delivered twice in a row is recorded once; the reducer is told both times', async () => {
        const env = makeEnv(store);
        const { jobId, shards } = await env.submit({ dataset: [r22] });
        const delivery = deliveryOf(shards[0]!);
        await handleShardDelivery(delivery, env.worker('w1'));
        const first = await env.jobs.getShard(jobId, 0);
        await handleShardDelivery(deliveryOf(shards[0]!), env.worker('w2'));

        assert.equal((await env.shardDocs(jobId)).length, 1);
        const record = (await env.jobs.getShard(jobId, 0))!;
        assert.deepEqual(record, first, 'the second delivery did not touch the record');
        assert.equal(record.state, 'done');
        assert.equal(record.worker, 'w1');
        assert.equal(record.attempt, 1);
        assert.equal(record.events, 100);
        assert.deepEqual([record.entryStart, record.entryStop, record.part, record.parts], [0, 100, 0, 1]);
        assert.equal(record.profile, 'r22');
        assertSameResult(JSON.parse(record.result!) as AnalysisResult, r22Result, 'shard 0 = the whole r22 file');
        // the duplicate returned before counting an attempt
        assert.equal((await env.jobs.getAttempts(jobId, 0))?.attempts, 1);
        assert.deepEqual(env.publisher.on(env.config.topics.shardDone).map((m) => m.data), [shardDoneMessage(jobId, 0), shardDoneMessage(jobId, 0)]);
      });

      test('a shard delivered twice concurrently: both deliveries resolve (ack), exactly one record', async () => {
        const env = makeEnv(store);
        const { jobId, shards } = await env.submit({ dataset: [r21] });
        const outcomes = await Promise.allSettled([handleShardDelivery(deliveryOf(shards[0]!), env.worker('wa')), handleShardDelivery(deliveryOf(shards[0]!), env.worker('wb'))]);
        assert.deepEqual(outcomes.map((o) => o.status), ['fulfilled', 'fulfilled'], JSON.stringify(outcomes));
        const docs = await env.shardDocs(jobId);
        assert.equal(docs.length, 1);
        const record = docs[0]!.data as unknown as ShardRecord;
        assert.equal(record.state, 'done');
        assert.ok(['wa', 'wb'].includes(record.worker));
        assert.equal(record.events, 40);
        assertSameResult(JSON.parse(record.result!) as AnalysisResult, r21Result, 'the recorded result');
        // both began an attempt (the work ran twice), one result was dropped and said so
        assert.equal((await env.jobs.getAttempts(jobId, 0))?.attempts, 2);
        assert.equal(env.logs.filter((l) => /already recorded by another delivery/.test(l)).length, 1, env.logs.join('\n'));
        assert.equal(env.publisher.on(env.config.topics.shardDone).length, 2);
      });

      test('a file that is not ROOT: a failed record with the decoder code, acknowledged, the reducer told', async () => {
        const env = makeEnv(store);
        const { jobId, shards } = await env.submit({ dataset: [junk] });
        await handleShardDelivery(deliveryOf(shards[0]!), env.worker());
        const record = (await env.jobs.getShard(jobId, 0))!;
        assert.equal(record.state, 'failed');
        assert.equal(record.error?.code, 'BAD_MAGIC');
        assert.match(record.error?.message ?? '', /not a ROOT file/);
        assert.equal(record.result, undefined);
        assert.equal(record.events, 0);
        assert.equal(record.url, junk);
        assert.deepEqual(env.publisher.on(env.config.topics.shardDone).map((m) => m.data), [shardDoneMessage(jobId, 0)]);
        const status = await env.status(jobId);
        assert.deepEqual(status.shards, { total: 1, done: 0, failed: 1, pending: 0, running: 0 });
        assert.deepEqual(status.failures.map((f) => [f.shard, f.error.code]), [[0, 'BAD_MAGIC']]);
      });

      test('a file gone since planning: a failed record SOURCE_NOT_FOUND, acknowledged', async () => {
        const env = makeEnv(store);
        const vanishing = path.join(dir, `vanishing-${collections}.root`);
        await writeFile(vanishing, Buffer.alloc(64));
        const { jobId, shards } = await env.submit({ dataset: [vanishing] });
        await rm(vanishing);
        await handleShardDelivery(deliveryOf(shards[0]!), env.worker());
        const record = (await env.jobs.getShard(jobId, 0))!;
        assert.equal(record.state, 'failed');
        assert.equal(record.error?.code, 'SOURCE_NOT_FOUND');
        assert.match(record.error?.message ?? '', new RegExp(path.basename(vanishing).replace('.', '\\.')));
        assert.equal(env.publisher.on(env.config.topics.shardDone).length, 1);
      });

      test('a file changed since planning: a failed record CHANGED', async () => {
        const env = makeEnv(store);
        const changing = path.join(dir, `changing-${collections}.root`);
        await writeFile(changing, Buffer.alloc(64));
        const { jobId, shards } = await env.submit({ dataset: [changing] });
        await writeFile(changing, Buffer.alloc(65));
        await handleShardDelivery(deliveryOf(shards[0]!), env.worker());
        const record = (await env.jobs.getShard(jobId, 0))!;
        assert.equal(record.state, 'failed');
        assert.equal(record.error?.code, 'CHANGED');
      });

      test(`a transient error is thrown (redelivery), counted, shown as retrying; after ${MAX_ATTEMPTS} attempts the next delivery records GAVE_UP with the last error`, async () => {
        const env = makeEnv(store);
        const { jobId, shards } = await env.submit({ dataset: [r21] });
        const failing = unavailableObjects();
        for (let n = 1; n <= MAX_ATTEMPTS; n++) {
          await assert.rejects(handleShardDelivery(deliveryOf(shards[0]!, n), env.worker(`w${n}`, failing)), (e: unknown) => e instanceof RootError && e.code === 'SOURCE_UNAVAILABLE' && e.transient);
          assert.equal(await env.jobs.getShard(jobId, 0), undefined, `no record after attempt ${n}`);
          assert.deepEqual(env.publisher.on(env.config.topics.shardDone), [], 'the reducer is not told');
          const attempts = (await env.jobs.getAttempts(jobId, 0))!;
          assert.equal(attempts.attempts, n);
          assert.equal(attempts.retrying, true);
          assert.equal(attempts.lastError?.code, 'SOURCE_UNAVAILABLE');
          assert.match(attempts.lastError?.message ?? '', new RegExp(`open #${n}\\)`));
          const status = await env.status(jobId);
          assert.equal(status.state, 'running');
          assert.deepEqual(status.retrying, [{ shard: 0, attempts: n, error: attempts.lastError }]);
          assert.deepEqual(status.shards, { total: 1, done: 0, failed: 0, pending: 0, running: 1 });
        }
        assert.equal(failing.opens, MAX_ATTEMPTS);

        // attempt MAX_ATTEMPTS + 1: no more work, a failed record with the last error
        await handleShardDelivery(deliveryOf(shards[0]!, MAX_ATTEMPTS + 1), env.worker('w-last', failing));
        assert.equal(failing.opens, MAX_ATTEMPTS, 'the object was not opened again');
        const record = (await env.jobs.getShard(jobId, 0))!;
        assert.equal(record.state, 'failed');
        assert.equal(record.error?.code, 'GAVE_UP');
        assert.match(record.error?.message ?? '', new RegExp(`gave up after ${MAX_ATTEMPTS} attempts; last error: .*HTTP 503 Service Unavailable \\(open #${MAX_ATTEMPTS}\\)`));
        assert.equal(record.attempt, MAX_ATTEMPTS + 1);
        assert.equal(env.publisher.on(env.config.topics.shardDone).length, 1);
        const status = await env.status(jobId);
        assert.deepEqual(status.retrying, [], 'recorded: no longer retrying');
        assert.deepEqual(status.shards, { total: 1, done: 0, failed: 1, pending: 0, running: 0 });
        assert.equal(status.failures[0]?.error.code, 'GAVE_UP');
      });

      test('a shard that succeeds after a transient error is done and no longer retrying', async () => {
        const env = makeEnv(store);
        const { jobId, shards } = await env.submit({ dataset: [r22] });
        await assert.rejects(handleShardDelivery(deliveryOf(shards[0]!), env.worker('w1', unavailableObjects())));
        assert.equal((await env.status(jobId)).retrying.length, 1);
        await handleShardDelivery(deliveryOf(shards[0]!), env.worker('w2'));
        const record = (await env.jobs.getShard(jobId, 0))!;
        assert.equal(record.state, 'done');
        assert.equal(record.attempt, 2);
        assert.deepEqual((await env.status(jobId)).retrying, []);
      });

      test('a malformed shard message is dropped (acknowledged) without writing anything', async () => {
        const env = makeEnv(store);
        await handleShardDelivery({ messageId: 'bad', data: { kind: 'shard', v: 1, jobId: 'x', shard: -1 }, attributes: {} }, env.worker());
        assert.deepEqual(await store.query(env.config.jobsCollection), []);
        assert.ok(env.logs.some((l) => /dropping message bad/.test(l)));
      });
    });

    // ------------------------------------------------------------------- reducer
    describe('reducer', () => {
      test('8 concurrent reducers of a complete job: exactly one finalizes, the result is the merged counts; a redelivery is already-finished', async () => {
        const env = makeEnv(store);
        const { jobId } = await completedJob(env, { dataset: [r21, r22] });
        const outcomes = await Promise.all(Array.from({ length: 8 }, (_, i) => handleShardDoneDelivery(env.doneDelivery(jobId, `done-${i}`, i % 2), env.reducer(`r${i}`))));
        const winners = outcomes.map((o, i) => [o, i] as const).filter(([o]) => o === 'finalized');
        assert.equal(winners.length, 1, `outcomes: ${outcomes.join(', ')}`);
        for (const o of outcomes) assert.ok((['finalized', 'claimed-elsewhere', 'already-finished'] as ReduceOutcome[]).includes(o), o);
        const winner = winners[0]![1];

        const final = await env.jobs.getFinal(jobId);
        assertSameResult(parsedFinal(final), expectedBoth, 'merged result');
        assert.equal(final!.reducer, `r${winner}`);
        assert.deepEqual([final!.shardsDone, final!.shardsFailed, final!.events, final!.failures.length, final!.failuresTruncated], [2, 0, 140, 0, 0]);
        const control = await store.query(`${env.config.jobsCollection}/${jobId}/control`);
        assert.deepEqual(control.map((d) => d.id).sort(), ['claim', 'final']);
        assert.equal((control.find((d) => d.id === 'claim')!.data as { owner: string }).owner, `done-${winner}`);

        const job = (await env.jobs.getJob(jobId))!;
        assert.equal(job.state, 'finished');
        assert.deepEqual(job.summary, { shardsDone: 2, shardsFailed: 0, events: 140, bytesRead: final!.bytesRead, mergeMs: final!.mergeMs });

        // the winner's message redelivered after the merge, and the others too
        assert.equal(await handleShardDoneDelivery(env.doneDelivery(jobId, `done-${winner}`), env.reducer('late')), 'already-finished');
        for (let i = 0; i < 8; i++) assert.equal(await handleShardDoneDelivery(env.doneDelivery(jobId, `done-${i}`), env.reducer('late')), 'already-finished');
        assert.deepEqual(await env.jobs.getFinal(jobId), final, 'the final record never changes');
      });

      test('a job with a shard not yet reported: waiting, and no claim is made', async () => {
        const env = makeEnv(store);
        const { jobId, shards } = await env.submit({ dataset: [r21, r22] });
        await handleShardDelivery(deliveryOf(shards[0]!), env.worker());
        assert.equal(await reduceJob(jobId, 'early', env.reducer()), 'waiting');
        assert.deepEqual(await store.query(`${env.config.jobsCollection}/${jobId}/control`), []);
        assert.equal((await env.jobs.getJob(jobId))!.state, 'running');
        await handleShardDelivery(deliveryOf(shards[1]!), env.worker());
        assert.equal(await reduceJob(jobId, 'early', env.reducer()), 'finalized');
      });

      test('unknown job or malformed message: no-job, nothing written', async () => {
        const env = makeEnv(store);
        assert.equal(await handleShardDoneDelivery(env.doneDelivery('no-such-job', 'm1'), env.reducer()), 'no-job');
        assert.equal(await handleShardDoneDelivery({ messageId: 'm2', data: { kind: 'shard-done', v: 1, jobId: 'BAD ID', shard: 0 }, attributes: {} }, env.reducer()), 'no-job');
        assert.deepEqual(await store.query(env.config.jobsCollection), []);
      });

      test('a reducer that died after claiming: its redelivery finalizes; another owner is claimed-elsewhere within the lease', async () => {
        const env = makeEnv(store);
        const { jobId } = await completedJob(env, { dataset: [r21, r22] });
        assert.equal(await store.create(`${env.config.jobsCollection}/${jobId}/control/claim`, { owner: 'X', at: T0 }), true);

        for (const dt of [0, 1, LEASE / 2, LEASE - 1]) {
          assert.equal(await handleShardDoneDelivery(env.doneDelivery(jobId, 'Y'), env.reducer('ry', () => T0 + dt)), 'claimed-elsewhere', `${dt} ms into the lease`);
        }
        assert.equal(await env.jobs.getFinal(jobId), undefined);
        assert.equal((await env.jobs.getJob(jobId))!.state, 'running');

        assert.equal(await handleShardDoneDelivery(env.doneDelivery(jobId, 'X'), env.reducer('rx', () => T0 + 5)), 'finalized');
        assertSameResult(parsedFinal(await env.jobs.getFinal(jobId)), expectedBoth, 'merged by the claimant');
        assert.equal((await env.jobs.getJob(jobId))!.state, 'finished');
        assert.equal(await handleShardDoneDelivery(env.doneDelivery(jobId, 'Y'), env.reducer('ry', () => T0 + 6)), 'already-finished');
      });

      test('a reducer that died after claiming, never redelivered: after the lease another owner finalizes', async () => {
        const env = makeEnv(store);
        const { jobId } = await completedJob(env, { dataset: [r21, r22] });
        await store.create(`${env.config.jobsCollection}/${jobId}/control/claim`, { owner: 'X', at: T0 });
        assert.equal(await reduceJob(jobId, 'Y', env.reducer('ry', () => T0 + LEASE - 1)), 'claimed-elsewhere');
        assert.equal(await reduceJob(jobId, 'Y', env.reducer('ry', () => T0 + LEASE)), 'finalized');
        const final = await env.jobs.getFinal(jobId);
        assert.equal(final!.reducer, 'ry');
        assertSameResult(parsedFinal(final), expectedBoth, 'merged after the lease');
        // the original claimant coming back finds the job finished
        assert.equal(await reduceJob(jobId, 'X', env.reducer('rx', () => T0 + LEASE + 1)), 'already-finished');
      });

      test('a finalizer that died between the final record and marking the job: the next message marks it', async () => {
        const env = makeEnv(store);
        const { jobId } = await completedJob(env, { dataset: [r22] });
        // simulate: the final record written, the job record never updated
        const merged = { result: JSON.stringify(r22Result), shardsDone: 1, shardsFailed: 0, events: 100, bytesRead: 1, failures: [], failuresTruncated: 0, mergeMs: 1, finishedAt: T0 + 10, reducer: 'dead' };
        assert.equal(await env.jobs.createFinal(jobId, merged), true);
        assert.equal((await env.jobs.getJob(jobId))!.state, 'running');
        assert.equal(await reduceJob(jobId, 'next', env.reducer()), 'already-finished');
        const job = (await env.jobs.getJob(jobId))!;
        assert.equal(job.state, 'finished');
        assert.equal(job.finishedAt, T0 + 10);
        assert.deepEqual(await env.jobs.getFinal(jobId), merged);
      });

      test('a job with a failed shard finishes with the merged result of the good ones and the failure listed', async () => {
        const env = makeEnv(store);
        const { jobId, done } = await completedJob(env, { dataset: [r21, junk, r22] });
        assert.equal(done.length, 3);
        const outcomes: ReduceOutcome[] = [];
        for (const m of done) outcomes.push(await handleShardDoneDelivery(deliveryOf(m), env.reducer()));
        assert.deepEqual(outcomes, ['finalized', 'already-finished', 'already-finished']);
        const final = (await env.jobs.getFinal(jobId))!;
        assertSameResult(parsedFinal(final), expectedBoth, 'merged good shards');
        assert.equal(final.shardsDone, 2);
        assert.equal(final.shardsFailed, 1);
        assert.equal(final.events, 140);
        assert.equal(final.failuresTruncated, 0);
        assert.equal(final.failures.length, 1);
        assert.deepEqual({ ...final.failures[0]!, error: { code: final.failures[0]!.error.code } }, { shard: 1, url: junk, part: 0, parts: 1, error: { code: 'BAD_MAGIC' } });
        const status = await env.status(jobId);
        assert.equal(status.state, 'finished');
        assert.deepEqual(status.shards, { total: 3, done: 2, failed: 1, pending: 0, running: 0 });
        assert.equal(status.events, 140);
        assert.deepEqual(status.failures, final.failures);
        assertSameResult(status.result!, expectedBoth, 'status result');
      });

      test('a stored result that does not validate counts as a failed shard (BAD_RESULT)', async () => {
        const env = makeEnv(store);
        const { jobId, shards } = await env.submit({ dataset: [r21, r22] });
        await handleShardDelivery(deliveryOf(shards[0]!), env.worker());
        // shard 1 recorded by something that wrote a broken result
        const ok = (await env.jobs.getShard(jobId, 0))!;
        await env.jobs.recordShard(jobId, { ...ok, index: 1, url: r22, result: '{"analysis":"reference"}' });
        assert.equal(await reduceJob(jobId, 'm', env.reducer()), 'finalized');
        const final = (await env.jobs.getFinal(jobId))!;
        assert.deepEqual([final.shardsDone, final.shardsFailed, final.events], [1, 1, 40]);
        assert.equal(final.failures[0]?.error.code, 'BAD_RESULT');
        assertSameResult(parsedFinal(final), mergeResults(createAnalysis('reference', {}).empty(), r21Result), 'only the good shard');
      });
    });

    // -------------------------------------------------------------- dead letters
    describe('dead letters', () => {
      test('a dead-lettered shard message: recorded DEAD_LETTER with the attempts\' last error, shard-done published; the job then finishes', async () => {
        const env = makeEnv(store);
        const { jobId, shards } = await env.submit({ dataset: [r21, r22] });
        const failing = unavailableObjects();
        for (let n = 1; n <= 2; n++) await assert.rejects(handleShardDelivery(deliveryOf(shards[1]!), env.worker('w', failing)));
        await handleShardDelivery(deliveryOf(shards[0]!), env.worker());
        env.publisher.take(env.config.topics.shardDone);

        const dead: Delivery = { ...deliveryOf(shards[1]!), attributes: { ...shards[1]!.attributes, CloudPubSubDeadLetterSourceDeliveryCount: '5' } };
        await handleDeadLetter(dead, env.reducer('dl'));
        const record = (await env.jobs.getShard(jobId, 1))!;
        assert.equal(record.state, 'failed');
        assert.equal(record.error?.code, 'DEAD_LETTER');
        assert.match(record.error?.message ?? '', /the queue gave up after 5 delivery attempts; last error: .*HTTP 503 Service Unavailable \(open #2\)/);
        assert.equal(record.attempt, 2);
        assert.equal(record.worker, 'dl');
        assert.equal(record.url, r22);
        assert.deepEqual(env.publisher.on(env.config.topics.shardDone).map((m) => m.data), [shardDoneMessage(jobId, 1)]);
        assert.deepEqual((await env.status(jobId)).retrying, [], 'no longer shown as retrying');

        const [doneMsg] = env.publisher.take(env.config.topics.shardDone);
        assert.equal(await handleShardDoneDelivery(deliveryOf(doneMsg!), env.reducer()), 'finalized');
        const final = (await env.jobs.getFinal(jobId))!;
        assert.deepEqual([final.shardsDone, final.shardsFailed, final.events], [1, 1, 40]);
        assert.equal(final.failures[0]?.error.code, 'DEAD_LETTER');
        assertSameResult(parsedFinal(final), mergeResults(createAnalysis('reference', {}).empty(), r21Result), 'the good shard only');
      });

      test('a dead-lettered shard message of a shard already recorded: the record is not changed', async () => {
        const env = makeEnv(store);
        const { jobId, shards } = await env.submit({ dataset: [r22] });
        await handleShardDelivery(deliveryOf(shards[0]!), env.worker());
        const before = await env.jobs.getShard(jobId, 0);
        const attemptsBefore = await env.jobs.getAttempts(jobId, 0);
        await handleDeadLetter({ ...deliveryOf(shards[0]!), attributes: { CloudPubSubDeadLetterSourceDeliveryCount: '5' } }, env.reducer());
        assert.deepEqual(await env.jobs.getShard(jobId, 0), before);
        assert.deepEqual(await env.jobs.getAttempts(jobId, 0), attemptsBefore);
        assert.equal(before?.state, 'done');
        assert.ok(env.logs.some((l) => /had already reported/.test(l)));
      });

      test('a dead-lettered shard that never recorded an error says so', async () => {
        const env = makeEnv(store);
        const { jobId, shards } = await env.submit({ dataset: [r22] });
        await handleDeadLetter(deliveryOf(shards[0]!), env.reducer());
        const record = (await env.jobs.getShard(jobId, 0))!;
        assert.equal(record.error?.code, 'DEAD_LETTER');
        assert.match(record.error?.message ?? '', /after \? delivery attempts; no error was recorded/);
        assert.equal(record.attempt, 0);
      });

      test('a dead-lettered shard-done message merges even while another reducer holds the claim', async () => {
        const env = makeEnv(store);
        const { jobId, done } = await completedJob(env, { dataset: [r21] });
        await store.create(`${env.config.jobsCollection}/${jobId}/control/claim`, { owner: 'stuck', at: T0 });
        assert.equal(await handleShardDoneDelivery(deliveryOf(done[0]!), env.reducer()), 'claimed-elsewhere');
        await handleDeadLetter(deliveryOf(done[0]!), env.reducer('dl'));
        const final = await env.jobs.getFinal(jobId);
        assertSameResult(parsedFinal(final), mergeResults(createAnalysis('reference', {}).empty(), r21Result), 'forced merge');
        assert.equal((await env.jobs.getJob(jobId))!.state, 'finished');
      });
    });

    // --------------------------------------------------------------------- merge
    describe('merge exactness', () => {
      test('2 files × 3 parts each, run shard by shard: the final result is the sum of the per-file results; status done = total, events = 140', async () => {
        const env = makeEnv(store);
        const sizes = [(await stat(r21)).size, (await stat(r22)).size];
        const shardMB = 0.67; // 702 546 bytes: both files (1.83 MB, 1.64 MB) split in 3
        const { jobId, shards } = await env.submit({ dataset: [r21, r22], shardMB, jobId: 'exact' });
        assert.equal(shards.length, 6);
        const tasks = shards.map((m) => m.data as unknown as ShardTask);
        assert.deepEqual(tasks.map((t) => [t.shard, t.url, t.part, t.parts, t.size]), [
          [0, r21, 0, 3, sizes[0]],
          [1, r21, 1, 3, sizes[0]],
          [2, r21, 2, 3, sizes[0]],
          [3, r22, 0, 3, sizes[1]],
          [4, r22, 1, 3, sizes[1]],
          [5, r22, 2, 3, sizes[1]],
        ]);

        const outcomes: ReduceOutcome[] = [];
        for (const [i, m] of shards.entries()) {
          await handleShardDelivery(deliveryOf(m), env.worker(`w${i}`));
          const doneMsgs = env.publisher.take(env.config.topics.shardDone);
          assert.equal(doneMsgs.length, 1);
          for (const d of doneMsgs) outcomes.push(await handleShardDoneDelivery(deliveryOf(d), env.reducer(`r${i}`)));
          if (i === 2) {
            // half-way: the r21 parts are in
            const mid = await env.status(jobId);
            assert.equal(mid.state, 'running');
            assert.deepEqual(mid.shards, { total: 6, done: 3, failed: 0, pending: 3, running: 0 });
            assert.equal(mid.events, 40);
            assert.equal(mid.result, undefined);
            assert.equal(typeof mid.etaSeconds, 'number');
          }
        }
        assert.deepEqual(outcomes, ['waiting', 'waiting', 'waiting', 'waiting', 'waiting', 'finalized']);

        // each file's parts cover its entries exactly once
        const records: ShardRecord[] = [];
        for await (const r of env.jobs.shardRecords(jobId)) records.push(r);
        assert.deepEqual(records.map((r) => r.index), [0, 1, 2, 3, 4, 5]);
        for (const [url, entries] of [[r21, 40], [r22, 100]] as const) {
          const parts = records.filter((r) => r.url === url && r.entryStop > r.entryStart).sort((a, b) => a.entryStart - b.entryStart);
          let at = 0;
          for (const r of parts) {
            assert.equal(r.entryStart, at, `${path.basename(url)} part ${r.part}`);
            at = r.entryStop;
          }
          assert.equal(at, entries, path.basename(url));
          assert.equal(records.filter((r) => r.url === url).reduce((n, r) => n + r.events, 0), entries);
        }

        const final = (await env.jobs.getFinal(jobId))!;
        const merged = parsedFinal(final);
        assertSameResult(merged, expectedBoth, 'the job result');
        // and the oracle's counts
        assert.equal(merged.eventsRead, 140);
        assert.equal(merged.eventsKept, 140);
        assert.deepEqual(merged.counts, {
          Electrons: { baseline: 134, passOR: 133, signal: 111 },
          Muons: { baseline: 19, passOR: 16, signal: 14 },
          Jets: { baseline: 748, passOR: 616, signal: 715 },
        });
        assert.equal(merged.profile, 'r21+r22');
        assert.deepEqual([final.shardsDone, final.shardsFailed, final.events, final.failures.length], [6, 0, 140, 0]);
        assert.equal(final.bytesRead, records.reduce((n, r) => n + r.bytesRead, 0));

        const status = await env.status(jobId);
        assert.equal(status.state, 'finished');
        assert.deepEqual(status.shards, { total: 6, done: 6, failed: 0, pending: 0, running: 0 });
        assert.equal(status.events, 140);
        assert.deepEqual(status.failures, []);
        assertSameResult(status.result!, expectedBoth, 'status result');

        // the same through the status endpoint
        const res = await statusHttp({ method: 'GET', path: `/jobs/${jobId}`, query: new URLSearchParams('format=json'), headers: {} }, { store: env.store, config: env.config, now: () => env.clock.t });
        assert.equal(res.status, 200, res.body);
        const body = JSON.parse(res.body) as JobStatus;
        assert.equal(body.shards.done, body.shards.total);
        assert.equal(body.events, 140);
        assertSameResult(body.result!, expectedBoth, 'GET /jobs/exact');
        const job = (await env.jobs.getJob(jobId)) as JobRecord;
        assert.equal(job.summary?.events, 140);

        // redelivering every message changes nothing
        for (const m of shards) await handleShardDelivery(deliveryOf(m), env.worker('again'));
        for (const d of env.publisher.take(env.config.topics.shardDone)) assert.equal(await handleShardDoneDelivery(deliveryOf(d), env.reducer('again')), 'already-finished');
        assert.deepEqual(await env.jobs.getFinal(jobId), final);
      });
    });
  });
}

// A shard message that does not parse is logged and dropped by handleDeadLetter;
// a shard-done message that does not parse is thrown (shared/pipeline/reducer.ts:173,
// parseShardDone outside any try), so the dead-letter subscription redelivers
// the poison message forever.
describe('dead letters (store-independent)', () => {
  test('a malformed shard-done dead letter is dropped with a log line, like a malformed shard one', async () => {
    const store = new MemoryDocumentStore();
    const logs: string[] = [];
    const deps: ReducerDeps = { store, publisher: new RecordingPublisher(), config: resolveConfig(), workerId: 'dl', log: (l) => logs.push(l) };
    await handleDeadLetter({ messageId: 's1', data: { kind: 'shard', v: 1, jobId: 'Not Valid' }, attributes: {} }, deps);
    assert.ok(logs.some((l) => /dropping malformed shard message s1/.test(l)));
    await handleDeadLetter({ messageId: 'd1', data: { kind: 'shard-done', v: 1, jobId: 'Not Valid', shard: 0 }, attributes: {} }, deps);
    assert.ok(logs.some((l) => /d1/.test(l)), 'the dropped message is logged');
    assert.deepEqual(store.snapshot(), {});
  });
});
