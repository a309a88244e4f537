// The cost estimate in each job's status (shared/pipeline/cost.ts):
//
//   configuration  PHYSLITE_COST_MODEL is parsed over the defaults, and every
//                  mistake (unknown key, negative price, bad JSON) names its path
//   arithmetic     estimateCost's items against numbers worked out here from the
//                  unit prices, not numbers the code printed
//   the model      Firestore reads/writes and Pub/Sub publishes predicted by
//                  firestoreModel/pubsubModel equal what a metering store and
//                  publisher count on real runs of the protocol (orchestrator,
//                  worker, reducer over the sample files), step by step; a
//                  one-shard job counted by hand; 1000 and 1001 shards for the
//                  page and count() boundaries
//   status         a finished local job's cost has the shard records' own sums;
//                  an old final record without usage stays readable

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { resolveConfig } from '../shared/pipeline/config';
import { DEFAULT_COST_MODEL, countReads, estimateCost, firestoreModel, formatUsd, parseCostModel, pubsubModel, type CostReport, type JobUsage } from '../shared/pipeline/cost';
import { configFromEnv, ENV_VARS } from '../shared/pipeline/google/env';
import { LocalPipeline } from '../shared/pipeline/local/job';
import { MemoryDocumentStore } from '../shared/pipeline/local/memory-store';
import { createLocalObjectStore } from '../shared/pipeline/local/object-store';
import { MeteredDocumentStore, MeteredPublisher } from '../shared/pipeline/metered-store';
import type { FinalRecord, JobStatus, ShardRecord, ShardTask } from '../shared/pipeline/model';
import { submitJob } from '../shared/pipeline/orchestrator';
import { handleShardDoneDelivery } from '../shared/pipeline/reducer';
import { JobStore } from '../shared/pipeline/state';
import { jobStatus } from '../shared/pipeline/status';
import { renderJobPage } from '../shared/pipeline/status-page';
import { handleShardDelivery } from '../shared/pipeline/worker';
import { deliveryOf, RecordingPublisher } from './support/recording-publisher';
import { loadSamplePair, R21_EVENTS, R22_EVENTS, type SamplePair } from './support/sample-pair';

// the default list prices, written out again: the test's own arithmetic uses these
const VCPU_S = 0.000024;
const GIB_S = 0.0000025;
const PER_REQUEST = 0.4 / 1e6;
const PER_MESSAGE = (1000 / 1024 ** 4) * 40;
const PER_READ = 0.03 / 1e5;
const PER_WRITE = 0.09 / 1e5;
const CLASS_A = 0.05 / 1e4;
const CLASS_B = 0.004 / 1e4;

const close = (actual: number, expected: number, what: string) => assert.ok(Math.abs(actual - expected) <= 1e-12 + 1e-9 * Math.abs(expected), `${what}: ${actual} ≠ ${expected}`);

function item(report: CostReport, name: string) {
  const found = report.items.find((i) => i.item === name);
  assert.ok(found, `item "${name}" in ${report.items.map((i) => i.item).join(', ')}`);
  return found;
}

let samples: SamplePair;
let dir: string;

before(async () => {
  samples = await loadSamplePair();
  dir = await mkdtemp(path.join(tmpdir(), 'cost-test-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------

describe('parseCostModel', () => {
  test('a partial model is merged over the defaults, key by key', () => {
    const m = parseCostModel(JSON.stringify({ prices: { vcpuSecond: 0.00001, egressGiB: 0.12 }, instances: { worker: { memoryGiB: 4 } } }));
    assert.equal(m.prices.vcpuSecond, 0.00001);
    assert.equal(m.prices.egressGiB, 0.12);
    assert.equal(m.prices.gibSecond, 0.0000025);
    assert.equal(m.prices.firestoreReads100k, 0.03);
    assert.deepEqual(m.instances.worker, { vcpu: 1, memoryGiB: 4 });
    assert.deepEqual(m.instances.orchestrator, { vcpu: 1, memoryGiB: 1 });
    assert.deepEqual(m.instances.reducer, { vcpu: 1, memoryGiB: 2 });
    assert.deepEqual(parseCostModel('{}'), DEFAULT_COST_MODEL);
    // the defaults are not touched by a parse, and cannot be
    assert.equal(DEFAULT_COST_MODEL.instances.worker.memoryGiB, 2);
    assert.ok(Object.isFrozen(DEFAULT_COST_MODEL.prices) && Object.isFrozen(DEFAULT_COST_MODEL.instances.worker));
  });

  test('the default prices are the GCP-FACTS list prices', () => {
    assert.deepEqual(DEFAULT_COST_MODEL.prices, {
      vcpuSecond: 0.000024,
      gibSecond: 0.0000025,
      millionRequests: 0.4,
      pubsubTiB: 40,
      firestoreReads100k: 0.03,
      firestoreWrites100k: 0.09,
      firestoreDeletes100k: 0.01,
      storageClassA10k: 0.05,
      storageClassB10k: 0.004,
      egressGiB: 0,
    });
  });

  test('what the Terraform module sends (jsonencode of prices and instances) parses exactly', () => {
    const prices = { vcpuSecond: 0.00002, gibSecond: 0.000002, millionRequests: 0.4, pubsubTiB: 40, firestoreReads100k: 0.06, firestoreWrites100k: 0.18, firestoreDeletes100k: 0.02, storageClassA10k: 0.05, storageClassB10k: 0.004, egressGiB: 0 };
    const instances = { worker: { vcpu: 2, memoryGiB: 4 }, orchestrator: { vcpu: 1, memoryGiB: 1 }, reducer: { vcpu: 1, memoryGiB: 0.5 } };
    assert.deepEqual(parseCostModel(JSON.stringify({ prices, instances })), { prices, instances });
  });

  test('an unknown key is an error naming its path and the known keys', () => {
    assert.throws(() => parseCostModel('{"prices":{"vcpuSeconds":0.00002}}'), /^Error: PHYSLITE_COST_MODEL\.prices\.vcpuSeconds is not a known field \(known: vcpuSecond, gibSecond, millionRequests, pubsubTiB, firestoreReads100k, firestoreWrites100k, firestoreDeletes100k, storageClassA10k, storageClassB10k, egressGiB\)$/);
    assert.throws(() => parseCostModel('{"price":{}}'), /PHYSLITE_COST_MODEL\.price is not a known field \(known: prices, instances\)/);
    assert.throws(() => parseCostModel('{"instances":{"workers":{"vcpu":1}}}'), /PHYSLITE_COST_MODEL\.instances\.workers is not a known field \(known: worker, orchestrator, reducer\)/);
    assert.throws(() => parseCostModel('{"instances":{"worker":{"cpu":1}}}'), /PHYSLITE_COST_MODEL\.instances\.worker\.cpu is not a known field \(known: vcpu, memoryGiB, concurrency\)/);
    assert.throws(() => parseCostModel('{"prices":{"x":1}}', 'cost.json'), /^Error: cost\.json\.prices\.x is not a known field/);
  });

  test('a value that is not a finite number in range is an error naming it', () => {
    assert.throws(() => parseCostModel('{"prices":{"gibSecond":-0.1}}'), /PHYSLITE_COST_MODEL\.prices\.gibSecond must be a finite number ≥ 0, got -0\.1/);
    assert.throws(() => parseCostModel('{"prices":{"pubsubTiB":"40"}}'), /PHYSLITE_COST_MODEL\.prices\.pubsubTiB must be a finite number ≥ 0, got "40"/);
    assert.throws(() => parseCostModel('{"prices":{"pubsubTiB":null}}'), /prices\.pubsubTiB must be a finite number ≥ 0, got null/);
    assert.throws(() => parseCostModel('{"instances":{"reducer":{"vcpu":0}}}'), /PHYSLITE_COST_MODEL\.instances\.reducer\.vcpu must be a finite number above 0, got 0/);
    assert.throws(() => parseCostModel('{"instances":{"worker":{"memoryGiB":-2}}}'), /instances\.worker\.memoryGiB must be a finite number above 0/);
    assert.equal(parseCostModel('{"prices":{"egressGiB":0}}').prices.egressGiB, 0, 'a price of 0 is allowed');
  });

  test('bad JSON and a wrong shape are errors naming the variable', () => {
    assert.throws(() => parseCostModel('{"prices": {'), /^Error: PHYSLITE_COST_MODEL is not valid JSON: /);
    assert.throws(() => parseCostModel('[1]'), /PHYSLITE_COST_MODEL must be a JSON object, got \[1\]/);
    assert.throws(() => parseCostModel('{"prices": 3}'), /PHYSLITE_COST_MODEL\.prices must be a JSON object, got 3/);
  });
});

describe('PHYSLITE_COST_MODEL in the functions environment', () => {
  test('listed in ENV_VARS, parsed by configFromEnv, defaults without it', () => {
    assert.match(ENV_VARS.PHYSLITE_COST_MODEL, /unit prices and instance shapes for the cost estimate, JSON/);
    assert.deepEqual(configFromEnv({}).costModel, DEFAULT_COST_MODEL);
    const c = configFromEnv({ PHYSLITE_COST_MODEL: JSON.stringify({ prices: { firestoreReads100k: 0.06 }, instances: { worker: { vcpu: 2, memoryGiB: 8 } } }) });
    assert.equal(c.costModel.prices.firestoreReads100k, 0.06);
    assert.equal(c.costModel.prices.vcpuSecond, 0.000024);
    assert.deepEqual(c.costModel.instances.worker, { vcpu: 2, memoryGiB: 8 });
  });

  test('a bad value stops the configuration with the variable named', () => {
    assert.throws(() => configFromEnv({ PHYSLITE_COST_MODEL: 'prices=1' }), /PHYSLITE_COST_MODEL is not valid JSON/);
    assert.throws(() => configFromEnv({ PHYSLITE_COST_MODEL: '{"prices":{"egress":0}}' }), /PHYSLITE_COST_MODEL\.prices\.egress is not a known field/);
    assert.throws(() => configFromEnv({ PHYSLITE_COST_MODEL: '{"prices":{"egressGiB":-1}}' }), /PHYSLITE_COST_MODEL\.prices\.egressGiB must be a finite number ≥ 0/);
  });
});

// ---------------------------------------------------------------------------

describe('estimateCost', () => {
  // 4 shards, one of them delivered twice (5 deliveries), all recorded, merged
  const usage: JobUsage = {
    shards: 4,
    shardsReported: 4,
    deliveries: 5,
    workerWallMs: 10_000,
    storageRequests: 120,
    bytesRead: 2 * 1024 ** 3,
    listRequests: 1,
    metadataReads: 3,
    orchestratorMs: 250,
    mergeMs: 42,
    merged: true,
  };

  test('every item and the total, worked out by hand from the unit prices', () => {
    const r = estimateCost(usage, DEFAULT_COST_MODEL);
    assert.equal(r.currency, 'USD');
    // workers: 10 s of their own time on 1 vCPU, 2 GiB
    close(item(r, 'worker vCPU time (shard records)').quantity, 10, 'vCPU-s');
    close(item(r, 'worker vCPU time (shard records)').usd, 10 * VCPU_S, 'worker vCPU USD');
    close(item(r, 'worker memory time (shard records)').quantity, 20, 'GiB-s');
    close(item(r, 'worker memory time (shard records)').usd, 20 * GIB_S, 'worker memory USD');
    // 5 deliveries × 100 ms, plus the delivery without a record at the mean shard time (10 s / 4)
    const outside = item(r, 'worker time outside the records');
    close(outside.quantity, 0.5 + 2.5, 'outside s');
    close(outside.usd, 3 * (VCPU_S + 2 * GIB_S), 'outside USD');
    assert.equal(outside.basis, 'modelled');
    // orchestrator: 100 ms planning + 250 ms publishing, rounded up to 400 ms, 1 vCPU 1 GiB
    close(item(r, 'orchestrator time').usd, 0.4 * (VCPU_S + GIB_S), 'orchestrator');
    // reducer: 4 messages × 100 ms + the 42 ms merge rounded up to 100 ms, 1 vCPU 2 GiB
    close(item(r, 'reducer time').usd, 0.5 * (VCPU_S + 2 * GIB_S), 'reducer');
    // requests: the orchestrator's, 5 worker deliveries, 4 shard-done messages
    assert.equal(item(r, 'function requests').quantity, 10);
    close(item(r, 'function requests').usd, 10 * PER_REQUEST, 'requests');
    // Pub/Sub: 4 shard + 4 shard-done published, 5 + 4 pushed
    assert.equal(item(r, 'Pub/Sub publishes and pushes').quantity, 17);
    close(item(r, 'Pub/Sub publishes and pushes').usd, 17 * PER_MESSAGE, 'Pub/Sub');
    // Firestore reads: orchestrator 1; 2 per delivery = 10; per message job + final + count = 3 × 4 = 12;
    // merge: 4 records + sum of attempts = 5. Writes: 1 plan page + job + published = 3; 2 per delivery = 10; claim, final, finished = 3
    assert.equal(item(r, 'Firestore document reads').quantity, 28);
    close(item(r, 'Firestore document reads').usd, 28 * PER_READ, 'reads');
    assert.equal(item(r, 'Firestore writes').quantity, 16);
    close(item(r, 'Firestore writes').usd, 16 * PER_WRITE, 'writes');
    // storage: the workers' 120 requests, 3 metadata reads, 1 listing; 2 GiB read at 0 in the region
    close(item(r, 'Storage reads by the workers (Class B)').usd, 120 * CLASS_B, 'class B');
    assert.equal(item(r, 'Storage reads by the workers (Class B)').basis, 'measured');
    close(item(r, 'Storage metadata reads, planning (Class B)').usd, 3 * CLASS_B, 'metadata');
    close(item(r, 'Storage listings, planning (Class A)').usd, 1 * CLASS_A, 'class A');
    assert.equal(item(r, 'Storage data read').quantity, 2);
    assert.equal(item(r, 'Storage data read').usd, 0);

    const total =
      10 * VCPU_S + 20 * GIB_S + 3 * (VCPU_S + 2 * GIB_S) + 0.4 * (VCPU_S + GIB_S) + 0.5 * (VCPU_S + 2 * GIB_S) + 10 * PER_REQUEST + 17 * PER_MESSAGE + 28 * PER_READ + 16 * PER_WRITE + 123 * CLASS_B + CLASS_A;
    close(r.totalUsd, total, 'total');
    for (const i of r.items) close(i.usd, i.quantity * i.unitPriceUsd, `${i.item}: quantity × unit price`);
    assert.ok(r.assumptions.some((a) => /free tiers are ignored/.test(a)));
    assert.ok(r.assumptions.some((a) => /Polling the status is not part of the job/.test(a)));
  });

  test('the model prices and shapes are used; concurrency shares instance time', () => {
    const model = parseCostModel(JSON.stringify({ prices: { vcpuSecond: 0.001, egressGiB: 0.12 }, instances: { worker: { vcpu: 2, memoryGiB: 8 } } }));
    const r = estimateCost({ ...usage, workerConcurrency: 2 }, model);
    // 10 s of shard time, 2 shards per instance: 5 instance-s of 2 vCPU, 8 GiB
    close(item(r, 'worker vCPU time (shard records)').usd, 5 * 2 * 0.001, 'vCPU');
    close(item(r, 'worker memory time (shard records)').usd, 5 * 8 * GIB_S, 'memory');
    close(item(r, 'Storage data read').usd, 2 * 0.12, 'egress');
  });

  test('the worker shape\'s concurrency (what Terraform passes) shares instance time when the usage does not say', () => {
    const model = parseCostModel(JSON.stringify({ instances: { worker: { vcpu: 4, memoryGiB: 8, concurrency: 4 } } }));
    const r = estimateCost(usage, model);
    // 10 s of shard time, 4 shards per instance: 2.5 instance-s of 4 vCPU
    close(item(r, 'worker vCPU time (shard records)').quantity, 2.5 * 4, 'vCPU-s');
    assert.throws(() => parseCostModel('{"instances":{"worker":{"concurrency":0}}}'), /PHYSLITE_COST_MODEL\.instances\.worker\.concurrency must be a finite number above 0, got 0/);
  });

  test('a running job: no merge counted, and it says so', () => {
    const r = estimateCost({ ...usage, shardsReported: 2, deliveries: 3, merged: false, mergeMs: 0 });
    // reads: 1 + 2×3 + 3×2 = 13; writes: 3 + 2×3 = 9
    assert.equal(item(r, 'Firestore document reads').quantity, 13);
    assert.equal(item(r, 'Firestore writes').quantity, 9);
    close(item(r, 'reducer time').quantity, 0.2, 'reducer s');
    assert.ok(r.assumptions.some((a) => /has not finished/.test(a)));
  });

  test('count() reads: 1 per started 1000 shard records, summed over the messages', () => {
    assert.equal(countReads(0), 0);
    assert.equal(countReads(1), 1);
    assert.equal(countReads(1000), 1000);
    assert.equal(countReads(1001), 1002);
    assert.equal(countReads(2500), 1000 * 1 + 1000 * 2 + 500 * 3);
  });

  test('formatUsd', () => {
    assert.deepEqual([0, 0.000024, 0.0000000364, 0.04567, 0.5, 12.345, 1234.5].map(formatUsd), ['$0', '$0.000024', '$0.0000000364', '$0.0457', '$0.5', '$12.35', '$1,235']);
  });
});

// ---------------------------------------------------------------------------
// The model against the operations: orchestrator, worker and reducer each get
// their own meter over one store, and the job runs in the order the model
// assumes (each shard-done message handled before the next shard records).

interface MeteredRun {
  jobId: string;
  shards: number;
  orchestrator: MeteredDocumentStore;
  worker: MeteredDocumentStore;
  reducer: MeteredDocumentStore;
  publisher: MeteredPublisher;
  pushes: number;
  store: MemoryDocumentStore;
  config: ReturnType<typeof resolveConfig>;
}

async function meteredJob(body: Record<string, unknown>, onShard?: (done: number, run: MeteredRun) => Promise<void>): Promise<MeteredRun> {
  const store = new MemoryDocumentStore();
  const config = resolveConfig({ jobsCollection: 'cost-jobs' });
  const recording = new RecordingPublisher();
  const run: MeteredRun = { jobId: '', shards: 0, orchestrator: new MeteredDocumentStore(store), worker: new MeteredDocumentStore(store), reducer: new MeteredDocumentStore(store), publisher: new MeteredPublisher(recording), pushes: 0, store, config };
  const objects = createLocalObjectStore();
  const log = () => undefined;
  const job = await submitJob(body, { store: run.orchestrator, publisher: run.publisher, objects, config, log });
  run.jobId = job.jobId;
  run.shards = job.shards;
  const messages = recording.take(config.topics.shards).sort((a, b) => (a.data as unknown as ShardTask).shard - (b.data as unknown as ShardTask).shard);
  assert.equal(messages.length, job.shards);
  let done = 0;
  for (const m of messages) {
    run.pushes++;
    await handleShardDelivery(deliveryOf(m), { store: run.worker, publisher: run.publisher, objects, config, workerId: 'w', log });
    for (const d of recording.take(config.topics.shardDone)) {
      run.pushes++;
      await handleShardDoneDelivery(deliveryOf(d), { store: run.reducer, publisher: run.publisher, config, workerId: 'r', log });
    }
    await onShard?.(++done, run);
  }
  return run;
}

function assertModelMatches(run: MeteredRun): void {
  const usage = { shards: run.shards, shardsReported: run.shards, deliveries: run.shards, merged: true };
  const model = firestoreModel(usage);
  assert.deepEqual({ reads: run.orchestrator.meter.reads, writes: run.orchestrator.meter.writes }, model.orchestrator, 'orchestrator');
  assert.deepEqual({ reads: run.worker.meter.reads, writes: run.worker.meter.writes }, model.workers, 'workers');
  const reducerModel = { reads: model.reducerChecks.reads + model.merge.reads, writes: model.reducerChecks.writes + model.merge.writes };
  assert.deepEqual({ reads: run.reducer.meter.reads, writes: run.reducer.meter.writes }, reducerModel, 'reducer');
  const metered = [run.orchestrator, run.worker, run.reducer];
  assert.equal(metered.reduce((n, m) => n + m.meter.reads, 0), model.reads, 'reads');
  assert.equal(metered.reduce((n, m) => n + m.meter.writes, 0), model.writes, 'writes');
  const pubsub = pubsubModel(usage);
  assert.equal(run.publisher.total(), pubsub.publishes, 'publishes');
  assert.deepEqual(run.publisher.meter.publishes, { [run.config.topics.shards]: run.shards, [run.config.topics.shardDone]: run.shards });
  assert.equal(run.pushes, pubsub.pushes, 'push deliveries');
  assert.equal(run.publisher.meter.billedBytes, 1000 * pubsub.publishes, 'every message within the 1000-byte minimum');
}

describe('the Firestore and Pub/Sub model against metered runs', () => {
  test('one shard, counted by hand: 8 reads, 8 writes, 2 publishes', async () => {
    const run = await meteredJob({ dataset: [samples.paths.r22] });
    assert.equal(run.shards, 1);
    // orchestrator: get job (absent) | merge plan page, create job, merge publishedAt
    assert.deepEqual([run.orchestrator.meter.reads, run.orchestrator.meter.writes], [1, 3]);
    // worker: get shard (absent), get attempts | merge attempts, create shard record
    assert.deepEqual([run.worker.meter.reads, run.worker.meter.writes], [2, 2]);
    // reducer: get job, get final (absent), count shards, query shard records (1), sum attempts | create claim, create final, merge finished
    assert.deepEqual([run.reducer.meter.reads, run.reducer.meter.writes], [5, 3]);
    assert.deepEqual(run.reducer.meter.calls, { get: 2, query: 1, aggregate: 2, create: 2, createRefused: 0, merge: 1 });
    assert.deepEqual(firestoreModel({ shards: 1, shardsReported: 1, deliveries: 1, merged: true }), {
      orchestrator: { reads: 1, writes: 3 },
      workers: { reads: 2, writes: 2 },
      reducerChecks: { reads: 3, writes: 0 },
      merge: { reads: 2, writes: 3 },
      reads: 8,
      writes: 8,
    });
    assertModelMatches(run);
  });

  test(`the two samples in 5 shards (real analysis): model = metered`, async () => {
    const run = await meteredJob({ dataset: [samples.paths.r21, samples.paths.r22], shardMB: 0.8 });
    assert.equal(run.shards, 5);
    const final = (await new JobStore(run.store, run.config).getFinal(run.jobId))!;
    assert.equal(final.events, R21_EVENTS + R22_EVENTS);
    assert.equal(final.usage?.deliveries, 5);
    assertModelMatches(run);
  });

  for (const shards of [1000, 1001]) {
    test(`${shards} shards (plan pages, merge pages and count() past 1000 records): model = metered`, async () => {
      // a file that is not ROOT, split into 1 KiB parts: each shard fails at once, with the same operations as a good one
      const junk = path.join(dir, `junk-${shards}.root`);
      await writeFile(junk, Buffer.alloc(shards * 1024, 'not a ROOT file\n'));
      const run = await meteredJob({ dataset: [junk], shardMB: 1024 / 1024 ** 2 });
      assert.equal(run.shards, shards);
      const final = (await new JobStore(run.store, run.config).getFinal(run.jobId))!;
      assert.equal(final.shardsFailed, shards);
      assertModelMatches(run);
      // the boundaries the model has to get right
      const model = firestoreModel({ shards, shardsReported: shards, deliveries: shards, merged: true });
      assert.equal(model.orchestrator.writes, Math.ceil(shards / 500) + 2);
      assert.equal(model.merge.reads, shards + (shards === 1000 ? 1 : 0) + (shards > 1000 ? 2 : 1));
    });
  }

  test('a running job: the status cost has the sums so far, and its model matches the meters so far', async () => {
    const seen: JobStatus[] = [];
    await meteredJob({ dataset: [samples.paths.r21, samples.paths.r22], shardMB: 0.8 }, async (done, run) => {
      if (done !== 3) return;
      // status reads go to the plain store: polling is not part of the job's cost
      const status = (await jobStatus(run.jobId, { store: run.store, config: run.config }))!;
      seen.push(status);
      const records = (await run.store.query(`${run.config.jobsCollection}/${run.jobId}/shards`)).map((d) => d.data as unknown as ShardRecord);
      assert.equal(records.length, 3);
      const wallMs = records.reduce((s, r) => s + r.wallMs, 0);
      close(item(status.cost!, 'worker vCPU time (shard records)').quantity, wallMs / 1000, 'worker seconds so far');
      assert.equal(item(status.cost!, 'Storage reads by the workers (Class B)').quantity, records.reduce((s, r) => s + r.requests, 0));
      const model = firestoreModel({ shards: 5, shardsReported: 3, deliveries: 3, merged: false });
      assert.equal(item(status.cost!, 'Firestore document reads').quantity, model.reads);
      assert.equal(run.orchestrator.meter.reads + run.worker.meter.reads + run.reducer.meter.reads, model.reads);
      assert.equal(run.orchestrator.meter.writes + run.worker.meter.writes + run.reducer.meter.writes, model.writes);
    });
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.state, 'running');
    assert.ok(seen[0]!.cost!.assumptions.some((a) => /has not finished/.test(a)));
  });
});

// ---------------------------------------------------------------------------

describe('the cost in the status of a local job', () => {
  test('finished on worker threads: worker seconds = Σ wallMs of the shard records, storage reads = Σ requests', async () => {
    const pipeline = new LocalPipeline({ workers: 2 });
    try {
      const job = await pipeline.submit({ dataset: [samples.paths.r21, samples.paths.r22], shardMB: 0.8 });
      const status = await pipeline.waitFor(job.jobId, undefined, 20);
      assert.equal(status.state, 'finished');
      // the records, read here without the pipeline's code
      const base = `${pipeline.config.jobsCollection}/${job.jobId}`;
      const records = (await pipeline.store.query(`${base}/shards`)).map((d) => d.data as unknown as ShardRecord);
      const attempts = (await pipeline.store.query(`${base}/attempts`)).map((d) => d.data.attempts as number);
      assert.equal(records.length, 5);
      const wallMs = records.reduce((s, r) => s + r.wallMs, 0);
      const requests = records.reduce((s, r) => s + r.requests, 0);
      const deliveries = attempts.reduce((s, n) => s + n, 0);
      assert.ok(wallMs > 0 && requests > 0);

      const cost = status.cost!;
      assert.ok(cost, 'a finished job has a cost');
      close(item(cost, 'worker vCPU time (shard records)').quantity, wallMs / 1000, 'worker vCPU-s');
      close(item(cost, 'worker vCPU time (shard records)').usd, (wallMs / 1000) * VCPU_S, 'worker vCPU USD');
      close(item(cost, 'worker memory time (shard records)').quantity, (2 * wallMs) / 1000, 'worker GiB-s');
      assert.equal(item(cost, 'Storage reads by the workers (Class B)').quantity, requests);
      assert.equal(item(cost, 'function requests').quantity, 1 + deliveries + 5);
      close(cost.totalUsd, cost.items.reduce((s, i) => s + i.usd, 0), 'total = Σ items');
      // the final record carries the same sums
      const final = (await pipeline.store.get(`${base}/control/final`)) as unknown as FinalRecord;
      assert.deepEqual(final.usage, { deliveries, wallMs, requests });
      // the HTTP answer is JSON of the status: the cost survives it
      assert.deepEqual((JSON.parse(JSON.stringify(status)) as JobStatus).cost, cost);
    } finally {
      await pipeline.close();
    }
  });

  test('a final record from before usage was kept: the status still reads, without a cost; the page says so', async () => {
    const run = await meteredJob({ dataset: [samples.paths.r22] });
    // the same documents with the final record as an older reducer wrote it
    const old = new MemoryDocumentStore();
    for (const [docPath, doc] of Object.entries(run.store.snapshot())) {
      if (docPath.endsWith('/control/final')) delete doc.usage;
      await old.create(docPath, doc);
    }
    const status = (await jobStatus(run.jobId, { store: old, config: run.config }))!;
    assert.equal(status.state, 'finished');
    assert.equal(status.cost, undefined);
    assert.deepEqual(status.result, samples.perFile.r22);
    assert.match(renderJobPage(status), /<h2>Estimated cost<\/h2>\n<p class="empty">Not available/);
    const current = (await jobStatus(run.jobId, { store: run.store, config: run.config }))!;
    assert.ok(current.cost);
  });

  test('the job page tables the cost, escaped, with the total', async () => {
    const run = await meteredJob({ dataset: [samples.paths.r22] });
    const status = (await jobStatus(run.jobId, { store: run.store, config: run.config }))!;
    const html = renderJobPage(status);
    assert.match(html, /<h2>Estimated cost \(USD\)<\/h2>/);
    const table = html.slice(html.indexOf('<table class="cost">'), html.indexOf('</table>', html.indexOf('<table class="cost">')));
    assert.equal((table.match(/<tr>/g) ?? []).length, 1 + status.cost!.items.length);
    assert.ok(table.includes(`<tr class="total"><th colspan="4">total</th><th class="n">${formatUsd(status.cost!.totalUsd)}</th>`));
    assert.match(table, /<td>Firestore document reads<\/td><td class="n">8<\/td><td>read<\/td><td class="n">\$0\.0000003<\/td>/);
    const hostile: JobStatus = { ...status, cost: { ...status.cost!, items: [{ item: '<script>x</script>', quantity: 1, unit: 'a&b', unitPriceUsd: 1, usd: 1, basis: 'measured' }], assumptions: ['"quoted" <b>'] } };
    const page = renderJobPage(hostile);
    assert.ok(page.includes('<td>&lt;script&gt;x&lt;/script&gt;</td>') && page.includes('<td>a&amp;b</td>') && page.includes('<li>&quot;quoted&quot; &lt;b&gt;</li>'));
    assert.ok(!page.includes('<script>'));
  });
});
