// The cloud rehearsal (test/support/rehearsal.ts): the deployed bundles
// under the Functions Framework, the official Google clients inside them, the
// Firestore emulator and the Pub/Sub and Cloud Storage stand-ins. A job is
// started by HTTP and by a message on the jobs topic; then each fault the
// pipeline must survive gets its own test, each ending in an exact result or
// an exact list of failed shards.
//
// Expected results are the per-file results of the single-file runner
// (itself checked against the independent oracle in test/analysis-*.test.ts),
// summed here: never numbers the pipeline printed.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildFunctions } from '../scripts/build.mjs';
import type { AnalysisResult } from '../shared/analysis/result';
import type { JobStatus } from '../shared/pipeline/model';
import { openRootFile } from '../shared/root/index';
import { BufferSource } from '../shared/root/source/buffer';
import { BUCKET, startRehearsal, type Rehearsal } from './support/rehearsal';
import { loadSamplePair, R21_EVENTS, R22_EVENTS, type SamplePair } from './support/sample-pair';

// r21 (1.83 MB, 2 clusters) → 3 parts of 0.8 MiB, one of them empty; r22 (1.64 MB, 1 cluster) → 2 parts
const SHARD_MB = 0.8;
const SHARDS_PER_PAIR = 5;

let r: Rehearsal;
let r21: Uint8Array;
let r22: Uint8Array;
let samples: SamplePair;

/** The sum of `n21` r21 files and `n22` r22 files. */
function expected(n21: number, n22: number): AnalysisResult {
  return samples.expected(n21, n22);
}

/** Uploads `pairs` copies of both samples under `prefix`. */
async function uploadPairs(prefix: string, pairs: number, on: Rehearsal = r): Promise<void> {
  for (let i = 0; i < pairs; i++) {
    await on.upload(`${prefix}r21_${i}.pool.root.1`, r21);
    await on.upload(`${prefix}r22_${i}.root`, r22);
  }
}

function assertExact(status: JobStatus, pairs: number, shardsPerPair = SHARDS_PER_PAIR): void {
  const shards = pairs * shardsPerPair;
  assert.equal(status.state, 'finished', JSON.stringify(status.failures));
  assert.deepEqual(status.failures, []);
  assert.deepEqual(status.shards, { total: shards, done: shards, failed: 0, pending: 0, running: 0 });
  assert.equal(status.events, pairs * (R21_EVENTS + R22_EVENTS));
  assert.deepEqual(status.result, expected(pairs, pairs));
}

async function submitAndWait(prefix: string, extra: Record<string, unknown> = {}): Promise<JobStatus> {
  const { status, body } = await r.submit({ dataset: r.gs(prefix), shardMB: SHARD_MB, ...extra });
  assert.equal(status, 202, JSON.stringify(body));
  return r.waitForJob(body.jobId as string);
}

// this file's own build: test files may run in parallel, and a build replaces its output folder
let bundles: string;

before(async () => {
  bundles = mkdtempSync(path.join(tmpdir(), 'rehearsal-bundles-'));
  await buildFunctions(bundles);
  samples = await loadSamplePair();
  ({ r21, r22 } = samples);
  r = await startRehearsal({ instances: { worker: 2 }, functionsDir: bundles });
});

after(async () => {
  await r?.close();
  if (bundles) rmSync(bundles, { recursive: true, force: true });
});

describe('end to end', () => {
  test('a job started by HTTP POST to the orchestrator: 202, status polled to the end, merged counts = sum of per-file counts', async () => {
    await uploadPairs('e2e-http/', 2);
    const { status, body } = await r.submit({ dataset: r.gs('e2e-http/'), shardMB: SHARD_MB, label: 'rehearsal' });
    assert.equal(status, 202, JSON.stringify(body));
    assert.equal(body.shards, 2 * SHARDS_PER_PAIR);
    assert.equal(body.files, 4);
    assert.equal(body.status, `${r.statusUrl}/jobs/${body.jobId}`);
    const job = await r.waitForJob(body.jobId as string);
    assertExact(job, 2);
    assert.equal(job.label, 'rehearsal');
    // the page and the list, from the status function
    const page = await fetch(`${r.statusUrl}/jobs/${body.jobId}`, { headers: { accept: 'text/html' } });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<svg/);
    const list = (await (await fetch(`${r.statusUrl}/jobs`, { headers: { accept: 'application/json' } })).json()) as { jobs: { jobId: string; state: string }[] };
    assert.ok(list.jobs.some((j) => j.jobId === body.jobId && j.state === 'finished'));
    // every shard message and every shard-done message was pushed once and acknowledged
    // (the last shard-done push may still be returning when the job shows finished)
    await r.pubsub.idle(10_000);
    const stats = r.pubsub.stats();
    for (const sub of ['eventarc-local-worker-sub', 'eventarc-local-reducer-sub']) {
      assert.deepEqual([stats[sub]!.published, stats[sub]!.delivered, stats[sub]!.acked], [2 * SHARDS_PER_PAIR, 2 * SHARDS_PER_PAIR, 2 * SHARDS_PER_PAIR], sub);
    }
  });

  test('a job started by a message on the jobs topic (as gcloud pubsub topics publish): job msg-<id>, same exact result', async () => {
    await uploadPairs('e2e-topic/', 2);
    const messageId = await r.publishJob({ dataset: r.gs('e2e-topic/'), shardMB: SHARD_MB });
    const job = await r.waitForJob(`msg-${messageId}`);
    assertExact(job, 2);
  });
});

describe('faults', () => {
  test('every message delivered twice (a redelivery after the ack): one record per shard, exact result', async () => {
    await uploadPairs('twice/', 2);
    const before = r.pubsub.stats();
    r.pubsub.setFaults({ duplicateRate: 1, duplicateMode: 'after-ack' });
    try {
      assertExact(await submitAndWait('twice/'), 2);
    } finally {
      r.pubsub.setFaults({ duplicateRate: 0 });
    }
    const after = r.pubsub.stats();
    const dup = (name: string) => (after[name]?.duplicated ?? 0) - (before[name]?.duplicated ?? 0);
    assert.ok(dup('eventarc-local-worker-sub') >= 2 * SHARDS_PER_PAIR, `worker duplicates ${dup('eventarc-local-worker-sub')}`);
    assert.ok(dup('eventarc-local-reducer-sub') >= 2 * SHARDS_PER_PAIR, `reducer duplicates ${dup('eventarc-local-reducer-sub')}`);
  });

  test('two deliveries of one shard processed at the same time, on two worker instances: exact result', async () => {
    await uploadPairs('concurrent/', 2);
    const from = r.pubsub.pushLog.length;
    r.pubsub.setFaults({ duplicateRate: 1, duplicateMode: 'concurrent' });
    try {
      assertExact(await submitAndWait('concurrent/'), 2);
    } finally {
      r.pubsub.setFaults({ duplicateRate: 0 });
    }
    // some shard message really was being handled by both instances at once
    const workerPushes = r.pubsub.pushLog.slice(from).filter((p) => p.subscription === 'eventarc-local-worker-sub' && p.endMs !== undefined);
    const overlapping = workerPushes.some((a) => workerPushes.some((b) => a !== b && a.messageId === b.messageId && a.endpoint !== b.endpoint && a.startMs < b.endMs! && b.startMs < a.endMs!));
    assert.ok(overlapping, 'no shard was handled twice at the same time on two instances');
  });

  test('a worker process killed in the middle of a shard: the redelivery finishes it, exact result', async () => {
    await uploadPairs('kill-worker/', 1);
    const killed: { url: string; pid: number }[] = [];
    r.gcs.onMedia((req) => {
      if (killed.length || !req.key.startsWith(`${BUCKET}/kill-worker/r22_`)) return;
      // the instance has opened the file and is reading it: kill it (Cloud Run starts a new one)
      for (const w of workersHandling('kill-worker/r22_')) {
        killed.push({ url: w.url, pid: w.pid });
        void r.crash(w).catch((e) => console.error(e));
      }
    });
    let job: JobStatus;
    try {
      job = await submitAndWait('kill-worker/');
    } finally {
      r.gcs.onMedia(undefined);
    }
    assertExact(job, 1);
    // the instances reading the file at that moment (both parts of it may be under way)
    assert.ok(killed.length >= 1);
    for (const k of killed) assert.notEqual(r.functions.worker!.find((w) => w.url === k.url)!.pid, k.pid, 'a new process took over the port');
    // the killed delivery was counted, and its redelivery did the work
    const attempts = await r.firestore.firestore().collection(`physlite-jobs/${job.jobId}/attempts`).get();
    assert.ok(attempts.docs.some((d) => (d.data().attempts as number) >= 2), JSON.stringify(attempts.docs.map((d) => d.data())));
  });

  test('storage answering 503 and timing out on some ranges: retried within the delivery or redelivered, exact result', async () => {
    await uploadPairs('flaky/', 2);
    const seen = new Map<string, number>();
    const applied = { 503: 0, stall: 0 };
    let victim = '';
    r.gcs.setFaultRule((req) => {
      if (req.kind !== 'media' || !req.key.startsWith(`${BUCKET}/flaky/`) || !req.range) return undefined;
      const id = `${req.key}@${req.range.start}`;
      const n = (seen.get(id) ?? 0) + 1;
      seen.set(id, n);
      // one range of one file fails three times in a row (503, time-out, 503): more than the
      // reader's 2 retries, so that delivery fails and the queue redelivers it
      if (!victim && req.key.endsWith('/r22_1.root') && req.range.start > 1000) victim = id;
      if (id === victim && n <= 3) return n === 2 ? (applied.stall++, 'stall') : (applied[503]++, 503);
      // every fourth range answers 503 the first time it is asked for: the reader's retry gets it
      if (n === 1 && seen.size % 4 === 0) return (applied[503]++, 503);
      return undefined;
    });
    const from = r.pubsub.pushLog.length;
    try {
      // one shard per file, so that no two shards ask for the same range
      assertExact(await submitAndWait('flaky/', { shardMB: 64 }), 2, 2);
    } finally {
      r.gcs.clearFaultRule();
    }
    assert.ok(applied[503] >= 5, `503s: ${applied[503]}`);
    assert.equal(applied.stall, 1);
    const failedPushes = r.pubsub.pushLog.slice(from).filter((p) => p.subscription === 'eventarc-local-worker-sub' && p.status !== undefined && p.status >= 500);
    assert.equal(failedPushes.length, 1, `exactly the delivery of the victim range failed and was redelivered; victim ${victim} asked ${seen.get(victim)} times; worker pushes ${JSON.stringify(r.pubsub.pushLog.slice(from).filter((p) => p.subscription === "eventarc-local-worker-sub").map((p) => [p.status, p.error, p.ms]))}`);
  });

  test('a shard whose worker dies every time: after PHYSLITE_MAX_SHARD_ATTEMPTS deliveries it is failed (GAVE_UP), the job finishes with the rest', async () => {
    const { failure, kills } = await runPoisonedJob(r, 'poison/');
    assert.equal(failure.code, 'GAVE_UP');
    assert.match(failure.message, /gave up after 5 attempts; no error was recorded/);
    assert.equal(kills, 5);
  });

  test('a truncated object and a corrupt basket: those shards fail with their reason, the job finishes with the rest', async () => {
    await uploadPairs('damaged/', 1);
    await r.upload('damaged/truncated.root', r22.subarray(0, 1_000_000));
    const { bytes: corrupt, branch, basket } = await corruptBasket(r22, /ElectronsAuxDyn\.pt$/);
    await r.upload('damaged/corrupt.root', corrupt);
    // one shard per file, so each damaged file is exactly one failed shard
    const { status, body } = await r.submit({ dataset: r.gs('damaged/'), shardMB: 64 });
    assert.equal(status, 202);
    const job = await r.waitForJob(body.jobId as string);
    assert.equal(job.state, 'finished');
    assert.deepEqual(job.shards, { total: 4, done: 2, failed: 2, pending: 0, running: 0 });
    assert.deepEqual(job.result, expected(1, 1));
    const byUrl = Object.fromEntries(job.failures.map((f) => [f.url, f.error]));
    assert.deepEqual(Object.keys(byUrl).sort(), [r.gs('damaged/corrupt.root'), r.gs('damaged/truncated.root')]);
    assert.equal(byUrl[r.gs('damaged/truncated.root')]!.code, 'TRUNCATED');
    const c = byUrl[r.gs('damaged/corrupt.root')]!;
    assert.ok(['DECOMPRESSION', 'CHECKSUM'].includes(c.code), `${c.code}: ${c.message}`);
    assert.ok(c.message.includes(branch) && c.message.includes(`basket ${basket}`), c.message);
  });

  test('the reducer process killed while merging: the redelivery merges, the job finishes once', async () => {
    await uploadPairs('kill-reducer/', 1);
    const { status, body } = await r.submit({ dataset: r.gs('kill-reducer/'), shardMB: SHARD_MB });
    assert.equal(status, 202);
    const jobPath = `physlite-jobs/${body.jobId}`;
    const killed: number[] = [];
    // the reducer has claimed the merge: it dies before it can write the result
    const stop = r.firestore.whenCreated(`${jobPath}/control/claim`, () => {
      for (const f of r.functions.reducer!) {
        killed.push(f.pid);
        void r.crash(f).catch((e) => console.error(e));
      }
    });
    let job: JobStatus;
    try {
      job = await r.waitForJob(body.jobId as string);
    } finally {
      stop();
    }
    assertExact(job, 1);
    assert.equal(killed.length, 1);
    const db = r.firestore.firestore();
    const final = (await db.doc(`${jobPath}/control/final`).get()).data()!;
    const claim = (await db.doc(`${jobPath}/control/claim`).get()).data()!;
    assert.equal(typeof claim.owner, 'string');
    if (r.firestore.kind === 'in-process') {
      // killed inside the claim's commit: the result was written by the restarted instance
      // (the same message redelivered), not by the killed one
      assert.match(final.reducer as string, /^reducer-00002\//);
      assert.ok(!String(final.reducer).endsWith(`/${killed[0]}`));
    }
    // finished once: the job record carries the one final record's time
    const jobDoc = (await db.doc(jobPath).get()).data()!;
    assert.equal(jobDoc.finishedAt, final.finishedAt);
  });

  test('invalid job requests: refused with the field named, nothing published, nothing run', async () => {
    const shardsBefore = r.pubsub.published(r.topics.shards).length;
    const bad = async (body: unknown, field: string, statusCode = 400) => {
      const res = await r.submit(body);
      assert.equal(res.status, statusCode, JSON.stringify(res.body));
      assert.equal(res.body.field, field, JSON.stringify(res.body));
    };
    await bad({}, 'dataset');
    await bad({ dataset: 42 }, 'dataset');
    await bad({ dataset: '/etc/passwd' }, 'dataset');
    await bad({ dataset: r.gs('e2e-http/'), shardMB: -1 }, 'shardMB');
    await bad({ dataset: r.gs('e2e-http/'), analysis: 'no-such-analysis' }, 'analysis');
    await bad({ dataset: r.gs('nothing-here/') }, 'dataset');
    // a body that is not JSON: the Functions Framework's parser refuses it before our handler
    // runs (a plain 400 page, no stack trace under NODE_ENV=production); with another content
    // type our handler refuses it: jobs are sent as application/json only (what a web page of
    // another origin cannot send without a CORS preflight)
    const broken = await r.submit(undefined, { raw: '{"dataset": ' });
    assert.equal(broken.status, 400, JSON.stringify(broken.body));
    assert.doesNotMatch(broken.text, /JSON\.parse|node_modules|\bat /);
    const form = await r.submit(undefined, { raw: '{"dataset": ["gs://b/x/"]}', contentType: 'text/plain' });
    assert.equal(form.status, 415);
    assert.match(String(form.body.error), /Content-Type: application\/json/);
    // on the jobs topic: a refused request is recorded apart, with its reason
    const id = await r.publishJob({ dataset: 42 });
    const rejected = await r.waitForJob(`msg-${id}`);
    assert.equal(rejected.state, 'rejected');
    assert.match(rejected.error ?? '', /dataset/);
    // a message that is not JSON at all is acknowledged and dropped (logged), never retried
    const junk = await r.publishJob(undefined, { raw: 'not json' });
    await r.pubsub.idle(10_000);
    assert.equal((await r.status(`msg-${junk}`)).status, 404);
    assert.equal(r.pubsub.published(r.topics.shards).length, shardsBefore);
  });
});

describe('dead-lettering', () => {
  // a second rehearsal whose subscriptions give up after 3 deliveries, below the worker's own
  // limit: the dead-letter topic's subscription (the dead-letters function) records the shard
  let dl: Rehearsal;
  before(async () => {
    dl = await startRehearsal({ maxDeliveryAttempts: 3, instances: { worker: 2 }, functionsDir: bundles });
  });
  after(async () => {
    await dl?.close();
  });

  test('a shard message the queue gives up on reaches the dead-letters function: the shard is failed (DEAD_LETTER), the job finishes with the rest', async () => {
    const { failure, kills } = await runPoisonedJob(dl, 'dl/');
    assert.equal(failure.code, 'DEAD_LETTER');
    assert.match(failure.message, /gave up after 3 delivery attempts/);
    assert.equal(kills, 3);
    const stats = dl.pubsub.stats();
    assert.equal(stats['eventarc-local-worker-sub']!.deadLettered, 1);
    assert.equal(stats['eventarc-local-dead-letters-sub']!.acked, 1);
    // what the dead-letters function received carried Pub/Sub's dead-letter attributes
    const [dead] = dl.pubsub.published(dl.topics.deadLetters);
    assert.equal(dead!.attributes.CloudPubSubDeadLetterSourceDeliveryCount, '3');
    assert.equal(dead!.attributes.CloudPubSubDeadLetterSourceSubscription, 'eventarc-local-worker-sub');
  });
});

/**
 * A job over one pair of samples and `deadly.root`, whose worker instance is killed whenever it
 * reads that file. The job must finish with the pair's exact result and that one shard failed.
 */
async function runPoisonedJob(on: Rehearsal, prefix: string): Promise<{ failure: { code: string; message: string }; kills: number }> {
  await uploadPairs(prefix, 1, on);
  await on.upload(`${prefix}deadly.root`, r22);
  // kill only the instance handling that shard: the others' shards must not suffer
  const killer = killWhoeverReads(`${prefix}deadly.root`, on);
  let job: JobStatus;
  try {
    const { status, body } = await on.submit({ dataset: on.gs(prefix), shardMB: 64 });
    assert.equal(status, 202);
    job = await on.waitForJob(body.jobId as string, 90_000);
  } finally {
    on.gcs.onMedia(undefined);
  }
  assert.equal(job.state, 'finished');
  assert.deepEqual(job.shards, { total: 3, done: 2, failed: 1, pending: 0, running: 0 });
  assert.deepEqual(job.result, expected(1, 1));
  assert.equal(job.failures.length, 1);
  assert.equal(job.failures[0]!.url, on.gs(`${prefix}deadly.root`));
  return { failure: job.failures[0]!.error, kills: killer.kills };
}

/** The worker instances with a push in flight of a shard message that names `url`. */
function workersHandling(url: string, on: Rehearsal = r) {
  const ids = new Set(on.pubsub.published(on.topics.shards).filter((m) => m.data.toString('utf8').includes(url)).map((m) => m.messageId));
  const busy = new Set(on.pubsub.pushLog.filter((p) => p.endMs === undefined && ids.has(p.messageId)).map((p) => p.endpoint));
  return on.functions.worker!.filter((w) => w.running && [...busy].some((e) => e.startsWith(w.url)));
}

/** Kills the worker instance reading `url` whenever it reads it (Cloud Run replaces it); returns the kill count. */
function killWhoeverReads(url: string, on: Rehearsal = r): { kills: number } {
  const counter = { kills: 0 };
  on.gcs.onMedia((req) => {
    if (!req.key.endsWith(`/${url}`)) return;
    for (const w of workersHandling(url, on)) {
      counter.kills++;
      void on.crash(w).catch((e) => console.error(e));
    }
  });
  return counter;
}

/** A copy of the file with the middle of one compressed basket of the first branch matching `name` overwritten. */
async function corruptBasket(bytes: Uint8Array, name: RegExp): Promise<{ bytes: Uint8Array; branch: string; basket: number }> {
  const file = await openRootFile(new BufferSource(bytes, 'sample'));
  const reader = await file.tree('CollectionTree');
  const branch = [...reader.tree.allBranches()].find((b) => name.test(b.name) && b.baskets.some((k) => k.bytes > 200));
  assert.ok(branch, `no branch matching ${name}`);
  const basket = branch.baskets.find((k) => k.bytes > 200)!;
  const copy = bytes.slice();
  // past the key header and the 9-byte compression header, inside the compressed stream
  const at = basket.seek + Math.floor(basket.bytes / 2);
  for (let i = 0; i < 32; i++) copy[at + i] = 0x55;
  return { bytes: copy, branch: branch.name, basket: basket.index };
}
