// Pipeline benchmark: the local fan-out (orchestrator → queue → worker
// threads → reducer) over datasets of 100, 1,000 and 10,000 shards (the two
// samples repeated, one shard per file), to show where time goes as a job
// grows. The peer, measured in the same run, is the plain sequential loop
// `physlite run` uses (analyseFile over the same files, one thread).
//
//   npm run bench:pipeline [-- --sizes 100,1000,10000] [--workers N]
//
// Per shard it prints the worker's own split (open = open + part mapping,
// read, analysis), the pipeline's overhead beyond that (messages, state
// writes over RPC, scheduling), the orchestrator's planning time and the
// reducer's merge time.

import { mkdtemp, rm, symlink } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { analyseFile } from '../shared/analysis/runner';
import { createAnalysis } from '../shared/analysis/registry';
import { LocalPipeline } from '../shared/pipeline/local/job';
import { JobStore } from '../shared/pipeline/state';
import { SAMPLES, samplePath } from './lib/samples';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '100,1000,10000' }, workers: { type: 'string' } } });
const sizes = values.sizes!.split(',').map(Number);
const workers = values.workers ? Number(values.workers) : os.availableParallelism();
const PEER_FILES = 200; // the sequential peer's rate is per file: measured once on this many

const samples = await Promise.all(SAMPLES.filter((s) => s.profile).map((s) => samplePath(s.name)));
const dir = await mkdtemp(path.join(tmpdir(), 'physlite-bench-pipeline-'));
const largest = Math.max(...sizes);
for (let i = 0; i < largest; i++) await symlink(samples[i % samples.length]!, path.join(dir, `f${String(i).padStart(6, '0')}.root`));
const files = (n: number) => Array.from({ length: n }, (_, i) => path.join(dir, `f${String(i).padStart(6, '0')}.root`));

const f1 = (x: number) => x.toFixed(1);
console.log(`pipeline benchmark: local fan-out, ${workers} worker threads, ${os.cpus().length} cores (node ${process.version})`);

// the peer: one thread, one file after another, the same analysis
const analysis = createAnalysis('reference');
for (const f of files(10)) await analyseFile(f, analysis); // warm-up
let peerEvents = 0;
const tp = performance.now();
for (const f of files(PEER_FILES)) peerEvents += (await analyseFile(f, analysis)).result.eventsRead;
const peerSeconds = (performance.now() - tp) / 1000;
const peerFilesPerSecond = PEER_FILES / peerSeconds;
console.log(`peer (sequential analyseFile, one thread): ${f1(peerFilesPerSecond)} files/s, ${(peerEvents / peerSeconds).toFixed(0)} events/s, ${f1((1000 * peerSeconds) / PEER_FILES)} ms per file`);

console.log('\n shards   wall s  shards/s  events/s  vs peer   plan ms  merge ms   per shard: open  read  analysis  overhead (ms)');
for (const n of sizes) {
  const pipeline = new LocalPipeline({ workers });
  try {
    await pipeline.pool.ready();
    const t0 = performance.now();
    const job = await pipeline.submit({ dataset: files(n) });
    const planMs = performance.now() - t0;
    // wait on the job record alone: a full status poll aggregates over every shard and would load the main thread
    const jobs = new JobStore(pipeline.store, pipeline.config);
    while ((await jobs.getJob(job.jobId))?.state === 'running') await new Promise((r) => setTimeout(r, 10));
    const wall = (performance.now() - t0) / 1000;
    const status = (await pipeline.status(job.jobId))!;
    if (status.shards.done !== n) throw new Error(`expected ${n} done shards, got ${JSON.stringify(status.shards)}`);
    let open = 0;
    let read = 0;
    let proc = 0;
    let shardWall = 0;
    for await (const r of jobs.shardRecords(job.jobId)) {
      open += r.openMs;
      read += r.readMs;
      proc += r.processMs;
      shardWall += r.wallMs;
    }
    const final = await jobs.getFinal(job.jobId);
    // thread time not spent inside a shard's own open/read/analysis: messages, state over RPC, scheduling, idle
    const overhead = (wall * 1000 * workers - shardWall) / n;
    const rate = n / wall;
    console.log(
      `${String(n).padStart(7)} ${wall.toFixed(2).padStart(8)} ${f1(rate).padStart(9)} ${(status.events / wall).toFixed(0).padStart(9)} ${(rate / peerFilesPerSecond).toFixed(2).padStart(7)}× ${planMs.toFixed(0).padStart(9)} ${final!.mergeMs.toFixed(0).padStart(9)}   ${f1(open / n).padStart(14)} ${f1(read / n).padStart(5)} ${f1(proc / n).padStart(9)} ${f1(overhead).padStart(9)}`,
    );
  } finally {
    await pipeline.close();
  }
}
await rm(dir, { recursive: true, force: true });
console.log(`\n"vs peer": shards/s over the sequential files/s (ideal ≈ ${workers}× on ${workers} threads). plan = submit (list, stat, plan, store, publish); merge = the reducer's merge of every shard result.`);
