// A second look at the cloud rehearsal, written from the spec (README: "The
// fan-out", "Cloud Run functions", "The cloud rehearsal") and from what an
// operator or a physicist expects, not from what the code happens to do:
//
//   - the bundles as the deploy step uploads them (package.json, pinned
//     dependencies, nothing of @google-cloud/* inside, manifest hashes, a
//     wrong --target refused);
//   - the orchestrator when Pub/Sub refuses or cannot be reached (the
//     stand-in's setPublishFault), a request repeated with its jobId (also on
//     two orchestrator instances at once, and on the jobs topic), a job too
//     large for PHYSLITE_MAX_SHARDS, a function started with a broken
//     environment;
//   - the status function (404, 400, HTML escaping, the links of the 202);
//   - Cloud Storage through the real client: a listing of more than one page,
//     an index file, a prefix that is also the start of a sibling's name, an
//     object deleted or overwritten between planning and reading;
//   - in process, what the rehearsal's Firestore emulator does not check:
//     Firestore's 1 MiB per document, for the final record and a plan page.
//
// One rehearsal serves the whole file (about 16 s on 2 cores). Expected results are the per-file
// results of the single-file runner summed (test/support/sample-pair.ts), as in
// test/rehearsal.test.ts: never numbers the pipeline printed.
//
// Six defects it found are fixed, each test kept: a publish that never gave up,
// a bad environment answered by a bare 500, environment values not range-checked,
// gs://…/run1 also taking run10/, CHANGED never recorded for gs:// objects, and
// a final record that could outgrow a Firestore document.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { buildFunctions } from '../scripts/build.mjs';
import type { AnalysisResult } from '../shared/analysis/result';
import type { JobStatus, ShardRecord } from '../shared/pipeline/model';
import { resolveConfig } from '../shared/pipeline/config';
import { configFromEnv } from '../shared/pipeline/google/env';
import { MemoryDocumentStore } from '../shared/pipeline/local/memory-store';
import { createLocalObjectStore } from '../shared/pipeline/local/object-store';
import { reduceJob } from '../shared/pipeline/reducer';
import { parseJobRequest, requestFingerprint } from '../shared/pipeline/request';
import { JobStore } from '../shared/pipeline/state';
import { startFunction, type FunctionProcess } from './support/function-process';
import { BUCKET, functionList, startRehearsal, type Rehearsal } from './support/rehearsal';
import { loadSamplePair, type SamplePair } from './support/sample-pair';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** This file's own build (test files may run in parallel, and a build replaces its output folder). */
let DIST: string;
/** One shard per sample file. */
const WHOLE_FILE_MB = 64;
/**
 * How long an operator's POST may take while Pub/Sub is unreachable before it must have its
 * 503: the rehearsal's PHYSLITE_PUBLISH_TIMEOUT_S is 2 s (production: 30 s).
 */
const PUBLISH_OUTAGE_ANSWER_MS = 3_000;

let r: Rehearsal;
let r21: Uint8Array;
let r22: Uint8Array;
let samples: SamplePair;
const extra: FunctionProcess[] = [];

function expected(n21: number, n22: number): AnalysisResult {
  return samples.expected(n21, n22);
}

function assertFinishedExact(job: JobStatus, shards: number, n21: number, n22: number): void {
  assert.equal(job.state, 'finished', JSON.stringify(job.failures));
  assert.deepEqual(job.failures, []);
  assert.deepEqual(job.shards, { total: shards, done: shards, failed: 0, pending: 0, running: 0 });
  assert.equal(job.events, n21 * 40 + n22 * 100);
  assert.deepEqual(job.result, expected(n21, n22));
}

/** The environment the rehearsal gives its functions, plus `more`. */
function functionEnv(more: Record<string, string> = {}): Record<string, string> {
  return { ...r.env, ...more };
}

/** One more instance of a deployed function, on the rehearsal's emulator and stand-ins (stopped in after()). */
async function extraFunction(name: string, opts: { env?: Record<string, string>; entryPoint?: string; signatureType?: 'http' | 'cloudevent' } = {}): Promise<FunctionProcess> {
  const fn = functionList()[name]!;
  const proc = await startFunction({
    name: `${name}-extra`,
    dir: path.join(r.bundlesDir, name),
    entryPoint: opts.entryPoint ?? fn.entryPoint,
    signatureType: opts.signatureType ?? (fn.trigger === 'http' ? 'http' : 'cloudevent'),
    env: functionEnv(opts.env),
    startTimeoutMs: 15_000,
  });
  extra.push(proc);
  return proc;
}

let second: Promise<FunctionProcess> | undefined;
/**
 * A second instance of the orchestrator deployment (as Cloud Run scales out), started once and
 * shared; its PHYSLITE_MAX_SHARDS is 1000, so that a prefix of 1,001 objects is too large.
 */
function secondOrchestrator(): Promise<FunctionProcess> {
  second ??= extraFunction('orchestrator', { env: { PHYSLITE_MAX_SHARDS: '1000' } });
  return second;
}

/** POST /jobs on an orchestrator instance (`url`), through the rehearsal's submit(). */
function postJob(url: string, body: unknown, timeoutMs = 15_000) {
  return r.submit(body, { url, timeoutMs });
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

before(async () => {
  DIST = mkdtempSync(path.join(tmpdir(), 'rehearsal-extra-bundles-'));
  await buildFunctions(DIST);
  // the functions start in their own processes while this one runs the reference analysis
  // Eventarc's CloudEvents here (rehearsal.test.ts pushes plain bodies, as terraform/ does), so both ways a function can be fed stay tested
  const starting = startRehearsal({ instances: { worker: 2 }, format: 'cloudevent', functionsDir: DIST });
  starting.catch(() => undefined);
  samples = await loadSamplePair();
  ({ r21, r22 } = samples);
  r = await starting;
});

after(async () => {
  await Promise.allSettled(extra.map((p) => p.stop()));
  await r?.close();
  if (DIST) rmSync(DIST, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------

describe('the bundles, as the deploy step uploads them', () => {
  test('each function of functions.json: package.json (main, start script with its target and signature type, exact versions of what is installed), nothing of @google-cloud/* or its dependencies bundled, manifest = files', () => {
    const list = functionList();
    const manifest = JSON.parse(readFileSync(path.join(DIST, 'manifest.json'), 'utf8')) as { functions: Record<string, Record<string, unknown>> };
    assert.deepEqual(Object.keys(manifest.functions).sort(), Object.keys(list).sort());
    // the packages the functions may need at run time, and only those
    // the version installed here, at the lockfile path `at` (nested copies included) or the top level
    const installed = (dep: string, at = `node_modules/${dep}`) => (JSON.parse(readFileSync(path.join(ROOT, at, 'package.json'), 'utf8')) as { version: string }).version;
    for (const [name, fn] of Object.entries(list)) {
      const dir = path.join(DIST, name);
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { main: string; type: string; scripts: { start: string }; dependencies: Record<string, string>; devDependencies?: unknown };
      const signature = fn.trigger === 'http' ? 'http' : 'cloudevent';
      assert.ok(existsSync(path.join(dir, pkg.main)), `${name}: main ${pkg.main} is missing`);
      assert.equal(pkg.type, 'module', `${name}: the bundle is an ES module`);
      // the start script as the runtime runs it: the framework's binary, this function's target and signature
      const args = pkg.scripts.start.split(/\s+/);
      assert.equal(args[0], 'functions-framework', `${name}: ${pkg.scripts.start}`);
      assert.ok(args.includes(`--target=${fn.entryPoint}`), `${name}: ${pkg.scripts.start}`);
      assert.ok(args.includes(`--signature-type=${signature}`), `${name}: ${pkg.scripts.start}`);
      assert.equal(pkg.devDependencies, undefined, `${name}: no devDependencies in a deployed folder`);
      assert.ok('@google-cloud/functions-framework' in pkg.dependencies, `${name}: ${JSON.stringify(pkg.dependencies)}`);
      for (const [dep, version] of Object.entries(pkg.dependencies)) {
        assert.match(dep, /^@google-cloud\//, `${name}: only the external @google-cloud/* clients are dependencies, got ${dep}`);
        assert.equal(version, installed(dep), `${name}: ${dep} pinned to the tested version`);
      }
      // the lockfile the deploy's npm ci installs from: the same tree, at the versions tested here
      const lock = JSON.parse(readFileSync(path.join(dir, 'package-lock.json'), 'utf8')) as { lockfileVersion: number; packages: Record<string, { version?: string; optional?: boolean; dependencies?: Record<string, string> }> };
      assert.equal(lock.lockfileVersion, 3);
      assert.deepEqual(lock.packages['']!.dependencies, pkg.dependencies);
      for (const [key, entry] of Object.entries(lock.packages)) {
        // ('' is the bundle itself; an optional package for another platform is not installed here)
        if (key === '' || (entry.optional && !existsSync(path.join(ROOT, key)))) continue;
        assert.equal(entry.version, installed(key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length), key), `${name}: ${key}`);
      }
      const code = readFileSync(path.join(dir, pkg.main), 'utf8');
      // every package the bundle loads at run time is declared (a deploy's npm install gets nothing else)
      // (a specifier is a package name: prose such as `from '…'` inside a message must not count)
      const specifiers = [...code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)(["'])((?:@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*(?:\/[\w.-]+)*|node:[\w/]+)\1/g)].map((m) => m[2]!);
      const packages = new Set(specifiers.filter((s) => !isBuiltin(s)).map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!)));
      assert.ok(packages.has('@google-cloud/functions-framework'));
      for (const p of packages) assert.ok(p in pkg.dependencies, `${name}: the bundle loads ${p}, which its package.json does not list`);
      // nothing of the Google clients or their own dependencies was bundled: the source map names our sources and small pure-JS libraries only
      const map = JSON.parse(readFileSync(path.join(dir, `${pkg.main}.map`), 'utf8')) as { sources: string[] };
      const vendored = [...new Set(map.sources.filter((s) => s.includes('node_modules/')).map((s) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(s)![1]!))].sort();
      for (const v of vendored) assert.ok(!/^(@google-cloud\/|@grpc\/|google-gax$|google-auth-library$|gaxios$|gcp-metadata$|protobufjs$|@opentelemetry\/)/.test(v), `${name}: ${v} was bundled`);
      assert.doesNotMatch(code, /google\.pubsub\.v1\.Publisher|google\.firestore\.v1\.Firestore\b|grpc-js/, `${name}: client internals inside the bundle`);
      // the manifest the deploy step reads describes exactly these files
      const m = manifest.functions[name]!;
      assert.equal(m.entryPoint, fn.entryPoint);
      assert.equal(m.trigger, fn.trigger);
      assert.equal(m.signatureType, signature);
      assert.equal(m.bundleBytes, statSync(path.join(dir, pkg.main)).size);
      assert.equal(m.bundleSha256, sha256(readFileSync(path.join(dir, pkg.main))));
      assert.deepEqual(m.dependencies, pkg.dependencies);
    }
  });

  test('a bundle started with a wrong --target (a typo, or the entry point of another bundle) fails at start, naming the target', async () => {
    const attempts = await Promise.allSettled([
      extraFunction('worker', { entryPoint: 'wroker' }),
      // the orchestrator bundle (functions/orchestrator) registers orchestrator and orchestratorJobs only, not status
      extraFunction('orchestrator', { entryPoint: 'status', signatureType: 'http' }),
    ]);
    const [typo, other] = attempts;
    assert.equal(typo.status, 'rejected');
    assert.equal(other.status, 'rejected');
    const why = (s: PromiseSettledResult<unknown>) => String((s as PromiseRejectedResult).reason);
    assert.match(why(typo), /exited during start \(1\)/);
    assert.match(why(typo), /Function 'wroker' is not defined in the provided module/);
    assert.match(why(other), /Function 'status' is not defined in the provided module/);
  });
});

// ---------------------------------------------------------------------------

describe('the orchestrator', () => {
  test('Pub/Sub refuses to publish (the service account lacks pubsub.topics.publish): 503 naming the job id, the job visible but unpublished; the same request repeated afterwards publishes it and it finishes exactly', async () => {
    await r.upload('pubsub-denied/r22.root', r22);
    await r.upload('pubsub-denied/r21.pool.root.1', r21);
    const request = { dataset: r.gs('pubsub-denied/'), shardMB: WHOLE_FILE_MB, jobId: 'pubsub-denied-1' };
    const shardsBefore = r.pubsub.published(r.topics.shards).length;
    r.pubsub.setPublishFault({ code: grpc.status.PERMISSION_DENIED, topics: [r.topics.shards] });
    let first;
    try {
      first = await postJob(r.orchestratorUrl, request);
    } finally {
      r.pubsub.setPublishFault(undefined);
    }
    assert.equal(first.status, 503, first.text);
    assert.equal(first.body.field, 'jobId');
    assert.match(String(first.body.error), /pubsub-denied-1/);
    assert.match(String(first.body.error), /repeat the request/);
    assert.equal(r.pubsub.published(r.topics.shards).length, shardsBefore, 'nothing was published');
    assert.ok(r.pubsub.rpcLog.some((c) => c.method === 'Publish' && c.code === grpc.status.PERMISSION_DENIED));
    const pending = await r.status('pubsub-denied-1');
    assert.equal(pending.status, 200);
    assert.equal(pending.body.state, 'running');
    assert.equal(pending.body.published, false);
    assert.equal(pending.body.shards.total, 2);
    // Pub/Sub is back: the same request resumes the job
    const again = await postJob(r.orchestratorUrl, request);
    assert.equal(again.status, 200, again.text);
    assert.equal(again.body.created, false);
    assert.equal(again.body.jobId, 'pubsub-denied-1');
    assert.equal(again.body.shards, 2);
    const job = await r.waitForJob('pubsub-denied-1', 60_000);
    assertFinishedExact(job, 2, 1, 1);
    assert.equal(job.published, true);
  });

  test('Pub/Sub unreachable (every Publish answers UNAVAILABLE): the POST still answers soon, 503 with the job id, and the job finishes once the request is repeated', async () => {
    await r.upload('pubsub-down/r22.root', r22);
    const request = { dataset: r.gs('pubsub-down/'), shardMB: WHOLE_FILE_MB, jobId: 'pubsub-down-1' };
    // an instance of its own: after answering 503 its Pub/Sub client goes on retrying the refused
    // Publish in the background (for up to 600 s) and would publish that shard message late, into
    // another test's counts; stopping the instance ends the retries (on Cloud Run a late duplicate
    // is harmless: shard records are created once)
    const own = await extraFunction('orchestrator');
    // warmed by a job of its own first, as the shared instance is: the time limit below is for the outage, not a cold start
    const warm = await postJob(own.url, { ...request, jobId: 'pubsub-down-warm-up' });
    assert.equal(warm.status, 202, warm.text);
    assertFinishedExact(await r.waitForJob('pubsub-down-warm-up', 60_000), 1, 0, 1);
    const calls = r.pubsub.rpcLog.length;
    r.pubsub.setPublishFault({ code: grpc.status.UNAVAILABLE, topics: [r.topics.shards] });
    const t0 = Date.now();
    let first: Awaited<ReturnType<typeof postJob>> | undefined;
    let failure: unknown;
    try {
      // an operator's client (or Cloud Run's request timeout, 60 s by default) does not wait for ever
      first = await postJob(own.url, request, PUBLISH_OUTAGE_ANSWER_MS);
    } catch (e) {
      failure = e;
    } finally {
      await own.stop();
      r.pubsub.setPublishFault(undefined);
    }
    const unavailable = r.pubsub.rpcLog.slice(calls).filter((c) => c.method === 'Publish' && c.code === grpc.status.UNAVAILABLE).length;
    // whatever happened to the first request, the job must be finished by repeating it
    const again = await postJob(r.orchestratorUrl, request);
    assert.ok(again.status === 200 || again.status === 202, again.text);
    assertFinishedExact(await r.waitForJob('pubsub-down-1', 60_000), 1, 0, 1);
    assert.ok(first, `no answer to the POST after ${Date.now() - t0} ms (${String(failure)}); the stand-in answered ${unavailable} Publish calls UNAVAILABLE meanwhile`);
    assert.equal(first.status, 503, first.text);
    assert.match(String(first.body.error), /pubsub-down-1/);
  });

  test('the same request with the same jobId sent to two orchestrator instances at once: one job, one plan, exact result; other content under that id → 409 (HTTP) or a rejected msg-<id> (jobs topic)', async () => {
    await r.upload('twice/r22.root', r22);
    await r.upload('twice/r21.pool.root.1', r21);
    const other = await secondOrchestrator();
    const request = { dataset: r.gs('twice/'), shardMB: WHOLE_FILE_MB, jobId: 'same-id-twice', label: 'twice' };
    const [a, b] = await Promise.all([postJob(r.orchestratorUrl, request), postJob(other.url, request)]);
    assert.deepEqual([a.status, b.status].sort(), [200, 202], `${a.text}\n${b.text}`);
    for (const x of [a, b]) {
      assert.equal(x.body.jobId, 'same-id-twice');
      assert.equal(x.body.shards, 2);
      assert.equal(x.body.files, 2);
    }
    assert.deepEqual([a.body.created, b.body.created].sort(), [false, true]);
    const job = await r.waitForJob('same-id-twice', 60_000);
    assertFinishedExact(job, 2, 1, 1);
    // one plan stored, each shard published (at least once: the second request may publish the plan again) and recorded once
    const db = r.firestore.firestore();
    const record = (await db.doc('physlite-jobs/same-id-twice').get()).data()!;
    assert.equal(record.fingerprint, requestFingerprint(parseJobRequest(request, resolveConfig())));
    const pages = await db.collection(`physlite-jobs/same-id-twice/plans/${record.fingerprint as string}/pages`).get();
    assert.deepEqual(pages.docs.flatMap((d) => (d.data().shards as { url: string; part: number }[]).map((s) => `${s.url.slice(s.url.lastIndexOf('/') + 1)}#${s.part}`)).sort(), ['r21.pool.root.1#0', 'r22.root#0']);
    const published = r.pubsub.published(r.topics.shards).filter((m) => m.attributes.jobId === 'same-id-twice');
    assert.deepEqual([...new Set(published.map((m) => (JSON.parse(m.data.toString('utf8')) as { shard: number }).shard))].sort(), [0, 1]);
    assert.equal((await db.collection('physlite-jobs/same-id-twice/shards').get()).size, 2);
    // the same id with other content: refused, and the job is untouched
    const reused = await postJob(other.url, { ...request, shardMB: 32 });
    assert.equal(reused.status, 409, reused.text);
    assert.equal(reused.body.field, 'jobId');
    assert.match(String(reused.body.error), /same-id-twice/);
    const messageId = await r.publishJob({ ...request, shardMB: 32 });
    const rejected = await r.waitForJob(`msg-${messageId}`);
    assert.equal(rejected.state, 'rejected');
    assert.match(rejected.error ?? '', /^409: .*same-id-twice/);
    const still = (await r.status('same-id-twice')).body;
    assert.deepEqual(still.result, expected(1, 1));
    assert.equal(still.label, 'twice');
  });

  test('a job request on the jobs topic with its own jobId: the job has that id (not msg-<id>), and the same message published again is the same job', async () => {
    await r.upload('topic-id/r22.root', r22);
    const request = { dataset: r.gs('topic-id/'), shardMB: WHOLE_FILE_MB, jobId: 'from-the-topic' };
    const first = await r.publishJob(request);
    const job = await r.waitForJob('from-the-topic', 60_000);
    assertFinishedExact(job, 1, 0, 1);
    const second = await r.publishJob({ kind: 'job', request });
    await r.pubsub.idle(10_000);
    assert.equal((await r.status(`msg-${first}`)).status, 404);
    assert.equal((await r.status(`msg-${second}`)).status, 404);
    const after = (await r.status('from-the-topic')).body;
    assert.equal(after.createdAt, job.createdAt);
    assert.equal(after.finishedAt, job.finishedAt);
    assert.deepEqual(after.result, expected(0, 1));
    const list = (await (await fetch(`${r.statusUrl}/jobs`, { headers: { accept: 'application/json' } })).json()) as { jobs: { jobId: string }[] };
    assert.equal(list.jobs.filter((j) => j.jobId === 'from-the-topic').length, 1);
  });

  test('a job request on the jobs topic while Pub/Sub refuses the shard messages: the delivery fails (redelivered, never recorded as rejected), and the redelivery publishes the job, which finishes exactly', async () => {
    await r.upload('topic-503/r22.root', r22);
    const from = r.pubsub.pushLog.length;
    // the next Publish on the shards topic fails: the first delivery's
    r.pubsub.setPublishFault({ code: grpc.status.PERMISSION_DENIED, topics: [r.topics.shards], times: 1 });
    let messageId: string;
    let job: JobStatus;
    try {
      messageId = await r.publishJob({ dataset: r.gs('topic-503/'), shardMB: WHOLE_FILE_MB });
      job = await r.waitForJob(`msg-${messageId}`, 60_000);
    } finally {
      r.pubsub.setPublishFault(undefined);
    }
    assertFinishedExact(job, 1, 0, 1);
    const pushes = r.pubsub.pushLog.slice(from).filter((p) => p.subscription === 'eventarc-local-orchestrator-jobs-sub' && p.messageId === messageId);
    assert.deepEqual(pushes.map((p) => [p.attempt, p.acked]), [[1, false], [2, true]]);
    assert.equal(pushes[0]!.status, 500);
    const rejected = await r.firestore.firestore().doc(`physlite-jobs-rejected/msg-${messageId}`).get();
    assert.equal(rejected.exists, false, 'a transient failure is not a rejection');
  });

  test('a prefix with more ROOT objects than PHYSLITE_MAX_SHARDS allows: 413 naming the limit, the listing stopped early, nothing written or published', async () => {
    for (let i = 0; i < 1_500; i++) r.gcs.putObject(`${BUCKET}/too-many/f${String(i).padStart(4, '0')}.root`, new Uint8Array(8));
    const limited = await secondOrchestrator();
    const lists = r.gcs.listRequests;
    const shardsBefore = r.pubsub.published(r.topics.shards).length;
    const res = await postJob(limited.url, { dataset: r.gs('too-many/'), jobId: 'too-many-files' });
    assert.equal(res.status, 413, res.text);
    assert.equal(res.body.field, 'dataset');
    assert.match(String(res.body.error), /more than the 1000 shards/);
    // 1,001 ROOT objects were enough to know: two pages of 1,000, not every page of the prefix
    assert.equal(r.gcs.listRequests - lists, 2);
    assert.equal((await r.status('too-many-files')).status, 404);
    // not even the plan pages, which are written before the job record (under the request's fingerprint)
    const fingerprint = requestFingerprint(parseJobRequest({ dataset: r.gs('too-many/'), jobId: 'too-many-files' }, resolveConfig()));
    assert.equal((await r.firestore.firestore().collection(`physlite-jobs/too-many-files/plans/${fingerprint}/pages`).get()).size, 0);
    assert.equal(r.pubsub.published(r.topics.shards).length, shardsBefore);
  });

  test('an orchestrator deployed with a broken environment (PHYSLITE_MAX_SHARDS=lots, PHYSLITE_SHARD_MB=-1): refuses to start, or answers a POST with an error naming the variable', async () => {
    const cases: Record<string, string>[] = [{ PHYSLITE_MAX_SHARDS: 'lots' }, { PHYSLITE_SHARD_MB: '-1' }];
    const outcomes = await Promise.all(
      cases.map(async (env) => {
        const variable = Object.keys(env)[0]!;
        let proc: FunctionProcess;
        try {
          proc = await extraFunction('orchestrator', { env: { ...env, PHYSLITE_TOPIC_SHARDS: 'misconfigured-shards' } });
        } catch (e) {
          return { variable, startError: String(e) };
        }
        const res = await postJob(proc.url, { dataset: r.gs('nowhere/x.root'), jobId: `misconfigured-${variable.toLowerCase().replace(/_/g, '-')}` }, 5_000);
        return { variable, status: res.status, text: res.text, log: proc.output };
      }),
    );
    for (const o of outcomes) {
      if (o.startError !== undefined) {
        assert.match(o.startError, new RegExp(o.variable));
        continue;
      }
      // the operator's evidence: the function's log names the variable, and so does the answer
      assert.match(o.log!, new RegExp(`${o.variable} must be`), o.log);
      assert.ok(o.status! >= 500, `${o.variable}: ${o.status} ${o.text}`);
      assert.match(o.text!, new RegExp(o.variable), `${o.variable}: the answer was ${o.status} ${JSON.stringify(o.text)}`);
    }
  });

  test('the functions\' environment: a value the pipeline cannot work with is refused, naming the variable (not floored to 0, not past the platform\'s limit)', () => {
    const bad: Record<string, string>[] = [
      { PHYSLITE_SHARD_MB: '0.0001' }, // below the 1 KiB a request may ask for
      { PHYSLITE_MAX_SHARDS: '0.5' }, // floors to 0: every job refused with 413
      { PHYSLITE_MAX_SHARD_ATTEMPTS: '0.5' }, // floors to 0: every shard GAVE_UP at its first delivery
      { PHYSLITE_SHARD_DEADLINE_S: '1e9' }, // the platform stops an event-driven function at 540 s: DEADLINE could never fire
    ];
    const accepted: string[] = [];
    for (const env of bad) {
      const [name, value] = Object.entries(env)[0]!;
      try {
        configFromEnv(env);
        accepted.push(`${name}=${value}`);
      } catch (e) {
        assert.match(String(e), new RegExp(name!));
      }
    }
    assert.deepEqual(accepted, []);
  });
});

// ---------------------------------------------------------------------------

describe('the status function', () => {
  test('unknown job → 404 JSON; a malformed id → 400; a label with <script> is text on the page and in the list; the links of the 202 answer work', async () => {
    const missing = await fetch(`${r.statusUrl}/jobs/no-such-job`, { headers: { accept: 'application/json' } });
    assert.equal(missing.status, 404);
    assert.match(missing.headers.get('content-type') ?? '', /^application\/json/);
    assert.match(((await missing.json()) as { error: string }).error, /no-such-job/);
    // a browser asking for an unknown job gets the 404 too (never a page of a job)
    const missingHtml = await fetch(`${r.statusUrl}/jobs/no-such-job`, { headers: { accept: 'text/html' } });
    assert.equal(missingHtml.status, 404);
    await missingHtml.arrayBuffer();
    const bad = await fetch(`${r.statusUrl}/jobs/${encodeURIComponent('Not_An_Id')}`, { headers: { accept: 'application/json' } });
    assert.equal(bad.status, 400);
    await bad.arrayBuffer();
    const post = await fetch(`${r.statusUrl}/jobs`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(post.status, 405);
    await post.arrayBuffer();

    await r.upload('escape/r22.root', r22);
    const label = '<script>alert("x")</script> & <b>bold</b>';
    const { status, body, headers, text } = await postJob(r.orchestratorUrl, { dataset: r.gs('escape/'), shardMB: WHOLE_FILE_MB, label });
    assert.equal(status, 202, text);
    assert.match(headers.get('content-type') ?? '', /^application\/json/);
    const jobId = body.jobId as string;
    assert.equal(body.status, `${r.statusUrl}/jobs/${jobId}`);
    assert.equal(headers.get('location'), body.status);
    const job = await r.waitForJob(jobId, 60_000);
    assertFinishedExact(job, 1, 0, 1);
    assert.equal(job.label, label);
    // the links the 202 gave, followed as a script and as a browser would
    const json = await fetch(body.status as string, { headers: { accept: 'application/json' } });
    assert.equal(json.status, 200);
    assert.deepEqual(((await json.json()) as JobStatus).result, expected(0, 1));
    const page = await fetch(body.page as string, { headers: { accept: 'text/html' } });
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    const html = await page.text();
    assert.ok(!html.includes('<script>alert'), 'the label was not escaped on the job page');
    assert.ok(html.includes('&lt;script&gt;alert('), 'the label is shown as text on the job page');
    assert.ok(!html.includes('<b>bold</b>'));
    const list = await (await fetch(`${r.statusUrl}/jobs?format=html`)).text();
    assert.ok(list.includes(jobId));
    assert.ok(!list.includes('<script>alert'), 'the label was not escaped in the job list');
    assert.ok(list.includes('&lt;script&gt;alert('));
  });
});

// ---------------------------------------------------------------------------

describe('Cloud Storage through the real client', () => {
  test('a prefix holding more than one listing page (1,200 objects, the ROOT files last): every page is read, exactly those files are planned', async () => {
    for (let i = 0; i < 1200; i++) r.gcs.putObject(`${BUCKET}/many/aux/log-${String(i).padStart(4, '0')}.txt`, new Uint8Array([i & 0xff]));
    await r.upload('many/zz/r21.pool.root.1', r21);
    await r.upload('many/zz/r22.root', r22);
    const lists = r.gcs.listRequests;
    const { status, body } = await r.submit({ dataset: r.gs('many/'), shardMB: WHOLE_FILE_MB });
    assert.equal(status, 202, JSON.stringify(body));
    assert.equal(body.files, 2);
    assert.equal(body.shards, 2);
    assert.ok(r.gcs.listRequests - lists >= 2, `listing requests: ${r.gcs.listRequests - lists}`);
    assertFinishedExact(await r.waitForJob(body.jobId as string, 60_000), 2, 1, 1);
  });

  test('an index file of URLs in the bucket (comments, blank lines, a relative name, one file named twice): read through the client, those files planned once each, exact result', async () => {
    await r.upload('indexed/data/r22.root', r22);
    await r.upload('indexed/data/r21.pool.root.1', r21);
    await r.upload('indexed/other/r22-not-listed.root', r22);
    const index = ['# the two samples', '', r.gs('indexed/data/r22.root'), '  data/r21.pool.root.1  ', r.gs('indexed/data/r21.pool.root.1'), '# end', ''].join('\n');
    await r.upload('indexed/files.txt', new TextEncoder().encode(index));
    const { status, body } = await r.submit({ dataset: r.gs('indexed/files.txt'), shardMB: WHOLE_FILE_MB });
    assert.equal(status, 202, JSON.stringify(body));
    assert.equal(body.files, 2);
    assert.equal(body.shards, 2);
    assert.equal(body.duplicatesDropped, 1);
    assert.equal(body.bytes, r21.length + r22.length);
    assertFinishedExact(await r.waitForJob(body.jobId as string, 60_000), 2, 1, 1);
  });

  test('a prefix without the trailing slash that is also the start of a sibling folder (gs://…/run1 beside run10/): the same files as the local listing of that path', async () => {
    await r.upload('sibling/run1/a.root', r22);
    await r.upload('sibling/run10/b.pool.root.1', r21);
    // the local store, on the same layout
    const dir = await mkdtemp(path.join(tmpdir(), 'physlite-sibling-'));
    try {
      await mkdir(path.join(dir, 'run1'));
      await mkdir(path.join(dir, 'run10'));
      await writeFile(path.join(dir, 'run1/a.root'), r22);
      await writeFile(path.join(dir, 'run10/b.pool.root.1'), r21);
      const local = await createLocalObjectStore().list(path.join(dir, 'run1'), 10);
      assert.deepEqual(local.map((o) => path.relative(dir, o.url)), ['run1/a.root']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const { status, body } = await r.submit({ dataset: r.gs('sibling/run1'), shardMB: WHOLE_FILE_MB });
    assert.equal(status, 202, JSON.stringify(body));
    const job = await r.waitForJob(body.jobId as string, 60_000);
    assert.equal(body.files, 1, `planned ${String(body.files)} files for gs://…/sibling/run1`);
    assertFinishedExact(job, 1, 0, 1);
  });

  test('an object overwritten (same size, new generation) or deleted between planning and reading: those shards fail at once, CHANGED, with a reason that says the object changed since planning; the job finishes with the rest', async () => {
    // names that say nothing, so that the messages are read, not the names
    const overwritten = `${BUCKET}/vanish/f1.root`;
    const deleted = `${BUCKET}/vanish/f2.root`;
    await r.upload('vanish/f1.root', r22);
    await r.upload('vanish/f2.root', r22);
    await r.upload('vanish/f3.pool.root.1', r21);
    const changed: string[] = [];
    const off = r.gcs.onMedia((req) => {
      // the first read of a planned object (the orchestrator only lists): it changes under the worker's feet;
      // this read is still answered, the next ones see the change
      if ((req.key === overwritten || req.key === deleted) && !changed.includes(req.key)) {
        changed.push(req.key);
        if (req.key === deleted) r.gcs.deleteObject(req.key);
        else r.gcs.putObject(req.key, r22.slice()); // same bytes, a new generation
      }
    });
    let job: JobStatus;
    const from = r.pubsub.pushLog.length;
    try {
      const { status, body } = await r.submit({ dataset: r.gs('vanish/'), shardMB: WHOLE_FILE_MB });
      assert.equal(status, 202, JSON.stringify(body));
      job = await r.waitForJob(body.jobId as string, 60_000);
    } finally {
      off();
    }
    assert.deepEqual(changed.sort(), [overwritten, deleted].sort());
    assert.equal(job.state, 'finished');
    assert.deepEqual(job.shards, { total: 3, done: 1, failed: 2, pending: 0, running: 0 });
    assert.deepEqual(job.result, expected(1, 0));
    // a permanent failure: recorded at the first delivery, never retried
    const failedPushes = r.pubsub.pushLog.slice(from).filter((p) => p.subscription === 'eventarc-local-worker-sub' && p.status !== undefined && p.status >= 500);
    assert.equal(failedPushes.length, 0);
    const byUrl = Object.fromEntries(job.failures.map((f) => [f.url, f.error]));
    assert.deepEqual(Object.keys(byUrl).sort(), [`gs://${overwritten}`, `gs://${deleted}`].sort());
    const reason = (url: string) => byUrl[url]!.message.split(url).join('<url>');
    // README: "a worker refuses an object that changed since planning (CHANGED)"
    assert.equal(byUrl[`gs://${overwritten}`]!.code, 'CHANGED', JSON.stringify(byUrl));
    assert.match(reason(`gs://${overwritten}`), /changed|overwritten|generation/i);
    assert.ok(['CHANGED', 'SOURCE_NOT_FOUND'].includes(byUrl[`gs://${deleted}`]!.code), JSON.stringify(byUrl));
    assert.match(reason(`gs://${deleted}`), /changed|deleted|since .*plan/i, JSON.stringify(byUrl));
  });
});

// ---------------------------------------------------------------------------

describe('Firestore\'s 1 MiB per document, where the emulator does not check it', () => {
  // @firestore-emulator/server (the rehearsal's default Firestore) stores documents of any
  // size, so a rehearsal cannot see a record outgrow Firestore's limit; MemoryDocumentStore
  // counts sizes as Firestore does (shared/pipeline/document-rules.ts), and the reducer and the
  // plan store run on it here, in process.
  test('a job whose 501 shards all failed, on objects with the longest names Cloud Storage allows (1,024 bytes): the reducer still writes the final record and the job finishes', async () => {
    const store = new MemoryDocumentStore();
    const config = resolveConfig();
    const jobs = new JobStore(store, config);
    const n = 501;
    const url = (i: number) => `gs://${BUCKET}/${`mc20_13TeV/${'d'.repeat(980)}/DAOD_PHYSLITE.${String(i).padStart(6, '0')}.pool.root.1`.slice(0, 1024)}`;
    assert.equal(url(0).length - `gs://${BUCKET}/`.length, 1024);
    const plan = Array.from({ length: n }, (_, i) => ({ url: url(i), size: 1_000_000_000, generation: '1700000000000000', part: 0, parts: 1 }));
    const jobId = 'all-failed-long-names';
    assert.ok(await jobs.createJob({ jobId, state: 'running', analysis: 'reference', options: {}, datasetPreview: [`gs://${BUCKET}/mc20_13TeV/`], datasetEntries: 1, files: n, shards: n, bytes: n * 1_000_000_000, shardBytes: 1024 ** 3, createdAt: Date.now(), fingerprint: 'f'.repeat(32) }, plan));
    for (let i = 0; i < n; i++) {
      // what a worker records when the dataset is deleted (or access revoked) during the job, as observed above
      const record: ShardRecord = {
        index: i, state: 'failed', url: url(i), part: 0, parts: 1, attempt: 1, profile: '', worker: 'worker-00001/1', finishedAt: Date.now(),
        planBytes: 1_000_000_000, events: 0, entryStart: 0, entryStop: 0, bytesRead: 0, requests: 0, openMs: 0, readMs: 0, processMs: 0, wallMs: 0,
        error: { code: 'SOURCE_NOT_FOUND', message: `${url(i)}, at byte 0: HTTP 404 Not Found for bytes=0-65535 [SOURCE_NOT_FOUND]` },
      };
      assert.ok(await jobs.recordShard(jobId, record));
    }
    const outcome = await reduceJob(jobId, 'message-1', { store, config, workerId: 'reducer-00001/1', publisher: { publish: async () => 'unused' }, log: () => undefined });
    assert.equal(outcome, 'finalized');
    const final = (await jobs.getFinal(jobId))!;
    assert.equal(final.shardsFailed, n);
    assert.equal(final.failures.length + final.failuresTruncated, n);
    assert.equal((await jobs.getJob(jobId))!.state, 'finished');
  });

  test('a plan of 500 files named by https URLs as long as a dataset entry may be (2,048 characters, e.g. signed URLs): its 500-shard page fits in one document', async () => {
    const store = new MemoryDocumentStore();
    const jobs = new JobStore(store, resolveConfig());
    const url = (i: number) => `https://storage.googleapis.com/${BUCKET}/DAOD_PHYSLITE.${String(i).padStart(6, '0')}.pool.root.1?X-Goog-Signature=${'a'.repeat(2048)}`.slice(0, 2048);
    const plan = Array.from({ length: 500 }, (_, i) => ({ url: url(i), size: 1_000_000_000, part: 0, parts: 1 }));
    await assert.doesNotReject(
      jobs.createJob({ jobId: 'long-signed-urls', state: 'running', analysis: 'reference', options: {}, datasetPreview: [`gs://${BUCKET}/files.txt`], datasetEntries: 1, files: 500, shards: 500, bytes: 500 * 1_000_000_000, shardBytes: 1024 ** 3, createdAt: Date.now(), fingerprint: 'e'.repeat(32) }, plan),
    );
    assert.equal((await jobs.readPlan({ jobId: 'long-signed-urls', shards: 500, fingerprint: 'e'.repeat(32) })).length, 500);
  });
});
