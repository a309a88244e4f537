// The whole local pipeline end to end: orchestrator → in-process queue →
// worker threads → reducer, over a dataset of the two samples repeated (200
// shards, files split into parts). The merged result must equal the sum of
// the per-file results of the single-file runner (checked against the
// independent oracle in issue 3), with and without chaos — duplicates,
// crashed worker threads and transient read errors must change nothing.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, link, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { analyseFile } from '../shared/analysis/runner';
import { createAnalysis } from '../shared/analysis/registry';
import { mergeAll, type AnalysisResult } from '../shared/analysis/result';
import { DEFAULT_CHAOS, LocalPipeline, runLocalJob } from '../shared/pipeline/local/job';
import type { JobStatus } from '../shared/pipeline/model';
import { jobCommand } from '../shared/cli/job';
import { samplePath } from '../scripts/lib/samples';

const R21 = 'DAOD_PHYSLITE_21.2.108.0.art.pool.root';
const R22 = 'PHYSLITE_example.root';
const COPIES = 40;
// r21 (1.83 MB, 2 clusters) → 3 parts of 0.8 MiB, one of them empty; r22 (1.64 MB, 1 cluster) → 2 parts
const SHARD_MB = 0.8;

let dir: string;
let expected: AnalysisResult;
let perFile: Record<string, AnalysisResult>;

let base: string;

before(async () => {
  // distinct files for the dataset: hard links of one copy of each sample
  // (symbolic links to one file are one file, which a listing counts once)
  base = await mkdtemp(path.join(tmpdir(), 'physlite-pipeline-'));
  dir = path.join(base, 'dataset');
  await mkdir(dir);
  const r21 = await samplePath(R21);
  const r22 = await samplePath(R22);
  const r21Copy = path.join(base, 'r21.root.src');
  const r22Copy = path.join(base, 'r22.root.src');
  await copyFile(r21, r21Copy);
  await copyFile(r22, r22Copy);
  for (let i = 0; i < COPIES; i++) {
    const n = String(i).padStart(3, '0');
    await link(r21Copy, path.join(dir, `r21_${n}.pool.root.1`));
    await link(r22Copy, path.join(dir, `r22_${n}.root`));
  }
  await writeFile(path.join(dir, 'README.txt'), 'not a ROOT file: a prefix listing skips it');
  perFile = {
    r21: (await analyseFile(r21, createAnalysis('reference'))).result,
    r22: (await analyseFile(r22, createAnalysis('reference'))).result,
  };
  expected = mergeAll([...Array<AnalysisResult>(COPIES).fill(perFile.r21!), ...Array<AnalysisResult>(COPIES).fill(perFile.r22!)]);
});

after(async () => {
  await rm(base, { recursive: true, force: true });
});

function assertExact(status: JobStatus, shards: number): void {
  assert.equal(status.state, 'finished');
  assert.deepEqual(status.shards, { total: shards, done: shards, failed: 0, pending: 0, running: 0 });
  assert.deepEqual(status.failures, []);
  assert.equal(status.events, COPIES * (40 + 100));
  assert.deepEqual(status.result, expected);
}

test(`a dataset of ${2 * COPIES} files in ${5 * COPIES} shards merges to the sum of the per-file results`, async () => {
  const progress: JobStatus[] = [];
  const run = await runLocalJob({ request: { dataset: [dir + '/'], shardMB: SHARD_MB }, workers: 2, port: false, onProgress: (s) => progress.push(s), pollMs: 50 });
  assertExact(run.status, 5 * COPIES);
  assert.equal(run.status.dataset.files, 2 * COPIES);
  // the result is not just a multiple: the samples' own numbers are in it
  assert.equal(run.status.result!.counts.Electrons!.baseline, COPIES * (perFile.r21!.counts.Electrons!.baseline! + perFile.r22!.counts.Electrons!.baseline!));
  // progress was observed while running, and never went backwards
  assert.ok(progress.some((s) => s.state === 'running'));
  for (let i = 1; i < progress.length; i++) assert.ok(progress[i]!.shards.done >= progress[i - 1]!.shards.done);
  // every shard recorded once, no duplicate deliveries without chaos
  const worker = run.queue.worker!;
  assert.equal(worker.acked, 5 * COPIES);
  assert.equal(worker.deadLettered, 0);
});

test('with chaos (duplicates, worker crashes mid-shard, transient read errors) the result is still exact', async () => {
  const run = await runLocalJob({ request: { dataset: [dir], shardMB: SHARD_MB }, workers: 2, port: false, chaos: { ...DEFAULT_CHAOS, seed: 7 } });
  assertExact(run.status, 5 * COPIES);
  const worker = run.queue.worker!;
  assert.ok(worker.duplicated > 0, 'duplicate deliveries happened');
  assert.ok(worker.nacked > 0, 'failed attempts (crashes, transient errors) were retried');
  assert.equal(worker.deadLettered, 0);
  // the duplicates' records were refused by create(), so some creates conflicted
  assert.ok(run.store.createConflicts > 0);
});

test('a job with a corrupt file finishes with the good shards merged and the failure listed', async () => {
  const bad = path.join(dir, 'bad');
  await import('node:fs/promises').then((fs) => fs.mkdir(bad, { recursive: true }));
  await writeFile(path.join(bad, 'corrupt.root'), new Uint8Array(4096).fill(7));
  const r22 = await samplePath(R22);
  const run = await runLocalJob({ request: { dataset: [path.join(bad, 'corrupt.root'), r22] }, workers: 2, port: false });
  const s = run.status;
  assert.equal(s.state, 'finished');
  assert.deepEqual(s.shards, { total: 2, done: 1, failed: 1, pending: 0, running: 0 });
  assert.equal(s.failures.length, 1);
  assert.equal(s.failures[0]!.url, path.join(bad, 'corrupt.root'));
  assert.equal(s.failures[0]!.error.code, 'BAD_MAGIC');
  assert.deepEqual(s.result, perFile.r22);
});

test('the status server answers JSON and HTML for the job, and lists it', async () => {
  const pipeline = new LocalPipeline({ workers: 1 });
  try {
    const server = await pipeline.serve();
    const post = await fetch(`${server.url}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ dataset: [await samplePath(R21)], label: 'r21 <sample>' }) });
    assert.equal(post.status, 202);
    const { jobId, shards } = (await post.json()) as { jobId: string; shards: number };
    assert.equal(shards, 1);
    await pipeline.waitFor(jobId);
    const json = (await (await fetch(`${server.url}/jobs/${jobId}`)).json()) as JobStatus;
    assert.equal(json.state, 'finished');
    assert.deepEqual(json.result, perFile.r21);
    const page = await fetch(`${server.url}/jobs/${jobId}`, { headers: { accept: 'text/html' } });
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    const html = await page.text();
    assert.match(html, /r21 &lt;sample&gt;/);
    assert.ok((html.match(/<svg/g) ?? []).length >= 6);
    const list = (await (await fetch(`${server.url}/jobs?format=json`)).json()) as { jobs: { jobId: string }[] };
    assert.deepEqual(list.jobs.map((j) => j.jobId), [jobId]);
    const bad = await fetch(`${server.url}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"dataset": [' });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /not valid JSON/);
  } finally {
    await pipeline.close();
  }
});

test('physlite job --local --json prints the finished job with its result', async () => {
  let text = '';
  const out = new Writable({
    write(chunk, _e, cb) {
      text += String(chunk);
      cb();
    },
  });
  const code = await jobCommand(['--local', await samplePath(R21), await samplePath(R22), '--json', '--workers', '2'], out, new Writable({ write: (_c, _e, cb) => cb() }));
  assert.equal(code, 0);
  const status = JSON.parse(text) as JobStatus;
  assert.deepEqual(status.result, mergeAll([perFile.r21!, perFile.r22!]));
});
