// npm run rehearsal -- [--shards N] [--workers W] [--format push|cloudevent] [--faults] [--keep]
//
// The cloud rehearsal at a chosen size (test/rehearsal.test.ts runs a small
// one in `npm test`): builds the function bundles, starts them under the
// Functions Framework with the Firestore emulator and the Pub/Sub and Cloud
// Storage stand-ins (test/support/rehearsal.ts), uploads copies of the two
// PHYSLITE samples through the Storage client, submits one job by HTTP, polls
// the status function to the end, and checks the merged result against the
// per-file results summed here. Prints timings and what the queue did.
//
//   --shards N     about N shards (each pair of samples gives 5 at 0.8 MiB per shard; default 50)
//   --workers W    worker instances (default 2)
//   --format F     what the subscriptions push: plain push bodies (default, as the Terraform
//                  module's push subscriptions do) or Eventarc CloudEvents
//   --faults       every message also delivered a second time concurrently, 1 in 5 range reads
//                  answered 503: the result must not change
//   --keep         leave everything running after the job (Ctrl-C to stop) to browse the status page
//   --profile DIR  write a V8 CPU profile of each worker instance into DIR (open in Chrome DevTools)

import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { analyseFile } from '../shared/analysis/runner';
import { createAnalysis } from '../shared/analysis/registry';
import { BUCKET, startRehearsal } from '../test/support/rehearsal';
import { loadSamplePair } from '../test/support/sample-pair';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    shards: { type: 'string', default: '50' },
    workers: { type: 'string', default: '2' },
    format: { type: 'string', default: 'push' },
    faults: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    profile: { type: 'string' },
  },
});
const shards = Number(values.shards);
const workers = Number(values.workers);
if (!Number.isInteger(shards) || shards < 1) throw new Error(`--shards must be a positive integer, got ${values.shards}`);
if (!Number.isInteger(workers) || workers < 1) throw new Error(`--workers must be a positive integer, got ${values.workers}`);
if (values.format !== 'cloudevent' && values.format !== 'push') throw new Error(`--format must be push or cloudevent, got ${values.format}`);

const SHARD_MB = 0.8;

/** CPU time of a process so far, from ps (0 if it cannot be read). */
function cpuSeconds(pid: number): number {
  try {
    const out = execFileSync('ps', ['-o', 'cputimes=', '-p', String(pid)], { encoding: 'utf8' }).trim();
    return Number(out) || 0;
  } catch {
    return 0;
  }
}
const pairs = Math.max(1, Math.round(shards / 5));

console.log('building the function bundles …');
execFileSync(process.execPath, [path.join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, stdio: 'inherit' });
const samples = await loadSamplePair();
const [b21, b22] = [samples.r21, samples.r22];
const { r21: p21, r22: p22 } = samples.paths;
// the peer: one process reading both samples from local disk, one after the other (warm, best of 5)
let perPairMs = Infinity;
for (let i = 0; i < 5; i++) {
  const t = performance.now();
  await analyseFile(p21, createAnalysis('reference'));
  await analyseFile(p22, createAnalysis('reference'));
  perPairMs = Math.min(perPairMs, performance.now() - t);
}
const expected = samples.expected(pairs, pairs);

const t0 = performance.now();
const nodeArgs = values.profile ? { worker: ['--cpu-prof', `--cpu-prof-dir=${path.resolve(values.profile)}`] } : undefined;
const r = await startRehearsal({ instances: { worker: workers }, format: values.format, nodeArgs });
const started = performance.now() - t0;
let failed = false;
try {
  console.log(`started ${Object.values(r.functions).flat().length} function processes in ${(started / 1000).toFixed(1)} s; status at ${r.statusUrl}/jobs`);
  const t1 = performance.now();
  for (let i = 0; i < pairs; i++) {
    const n = String(i).padStart(5, '0');
    await r.upload(`rehearsal/r21_${n}.pool.root.1`, b21);
    await r.upload(`rehearsal/r22_${n}.root`, b22);
  }
  console.log(`uploaded ${pairs * 2} files to gs://${BUCKET}/rehearsal/ in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
  if (values.faults) {
    r.pubsub.setFaults({ duplicateRate: 1, duplicateMode: 'concurrent' });
    let n = 0;
    r.gcs.setFaultRule((req) => (req.kind === 'media' && ++n % 5 === 0 ? 503 : undefined));
  }
  const t2 = performance.now();
  const { status, body } = await r.submit({ dataset: r.gs('rehearsal/'), shardMB: SHARD_MB, label: `rehearsal ${pairs * 5} shards` }, { timeoutMs: 600_000 });
  if (status !== 202) throw new Error(`orchestrator answered ${status}: ${JSON.stringify(body)}`);
  const submitted = performance.now() - t2;
  const jobId = body.jobId as string;
  console.log(`job ${jobId}: ${body.shards} shards, accepted in ${submitted.toFixed(0)} ms; page ${r.statusUrl}/jobs/${jobId}`);
  let lastLine = '';
  const job = await (async () => {
    for (;;) {
      const s = (await r.status(jobId)).body;
      const line = `  ${s.shards.done + s.shards.failed}/${s.shards.total} shards reported, ${s.events} events`;
      if (line !== lastLine) process.stdout.write(`${line}\n`);
      lastLine = line;
      if (s.state !== 'running') return s;
      await new Promise((res) => setTimeout(res, 500));
    }
  })();
  const seconds = (performance.now() - t2) / 1000;
  const exact = job.state === 'finished' && job.shards.failed === 0 && isDeepStrictEqual(job.result, expected);
  failed = !exact;
  console.log(`\n${job.state} in ${seconds.toFixed(1)} s: ${job.shards.total} shards (${(job.shards.total / seconds).toFixed(1)}/s), ${job.events} events (${(job.events / seconds).toFixed(0)}/s), ${job.shards.failed} failed`);
  console.log(`result ${exact ? 'EQUALS' : 'DIFFERS FROM'} the sum of the per-file results (${pairs} × each sample)`);
  const peerSeconds = (pairs * perPairMs) / 1000;
  console.log(`peer: the same files read one after the other from local disk by analyseFile in one process would take ${peerSeconds.toFixed(1)} s; the rehearsal took ${(seconds / peerSeconds).toFixed(2)}× that (every service, stand-in and function process shares this machine's ${availableParallelism()} cores)`);
  if (job.failures.length) console.log('failures:', JSON.stringify(job.failures.slice(0, 5), null, 2));
  const rows = Object.entries(r.pubsub.stats()).map(([name, s]) => [name, s.delivered, s.acked, s.nacked, s.redelivered, s.duplicated, s.deadLettered].map(String));
  const head = ['subscription', 'pushes', 'acked', 'nacked', 'redelivered', 'duplicated', 'dead-lettered'];
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  console.log();
  for (const row of [head, ...rows]) console.log(row.map((c, i) => (i === 0 ? c.padEnd(width[i]!) : c.padStart(width[i]!))).join('  '));
  console.log(`storage: ${r.gcs.mediaRequests} range reads, ${(r.gcs.bytesSent / 1e6).toFixed(1)} MB sent, ${r.gcs.metadataRequests} metadata and ${r.gcs.listRequests} list requests, ${r.gcs.faultsApplied} faults injected`);
  // where the machine's time went: each function process, and this one (Firestore emulator, stand-ins)
  const cpu = Object.values(r.functions)
    .flat()
    .map((f) => `${f.name}:${f.port} ${cpuSeconds(f.pid).toFixed(1)}`);
  const self = process.cpuUsage();
  console.log(`CPU seconds: ${cpu.join(', ')}; emulator + stand-ins + this script ${((self.user + self.system) / 1e6).toFixed(1)}`);
  if (values.keep) {
    console.log(`\nstill running: ${r.statusUrl}/jobs — Ctrl-C to stop`);
    await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  }
} finally {
  await r.close();
  if (values.profile) console.log(`worker CPU profiles in ${path.resolve(values.profile)}`);
}
process.exitCode = failed ? 1 : 0;
