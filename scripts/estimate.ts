// What would a big job cost and take? Scales a per-core rate and a request
// count per GB to a dataset of D TB in shards of S MiB on I worker instances,
// and prices the result with the pipeline's own cost model
// (shared/pipeline/cost.ts, the default list prices) — the same arithmetic
// that fills the cost in each job's status.
//
// The rate and requests are, when `npm run bench:scale` has been run, its
// measured figures on production-shaped files (ZSTD 5, AutoFlush 500, ~1 GB,
// read through the Cloud-Storage-shaped server with the read plan the cost
// model chose): .cache/scale/bench-scale.json, or --measured PATH. Without
// them the rate is measured here on the two tiny zlib samples, which says
// little about production files (printed as such).
//
//   npm run estimate [-- --tb 10 --instances 1000 --shard-mb 1024 --vcpu 1 --memory-gib 2
//                        --events-per-cluster 500 --kb-per-event 15 --seconds 2 --measured PATH]
//
// Storage requests are counted per cluster, not per MiB: a worker opens its
// file (a few requests), then reads the analysis branches' baskets cluster by
// cluster, a few coalesced requests each. The samples are tiny (40 and 100
// events in 1-2 clusters), so their requests per MiB say nothing about a 1 GiB
// file; their requests per cluster do. Production PHYSLITE is written with
// clusters of 500 events (Athena's PoolWriteConfig: AutoFlush 500 for
// DAOD_PHYSLITE; the 2022 version said 1000), the default of --events-per-cluster.
//
// Runs offline: the samples come from ../shared/data (scripts/lib/samples.ts).

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createAnalysis } from '../shared/analysis/registry';
import { mergeInto } from '../shared/analysis/result';
import { analyseFile, analyseOpenFile } from '../shared/analysis/runner';
import { validateResult } from '../shared/analysis/validate';
import { PhysliteFile } from '../shared/physlite/index';
import { DEFAULT_COST_MODEL, STATE_PAGE, costReportText, estimateCost, formatQuantity, type CostModel } from '../shared/pipeline/cost';
import { formatBytes, formatDuration } from '../shared/pipeline/status-page';
import { BufferSource } from '../shared/root/source';
import { SAMPLES, sampleBytes } from './lib/samples';

const OPTIONS = {
  tb: { type: 'string', default: '10' },
  instances: { type: 'string', default: '1000' },
  'shard-mb': { type: 'string', default: '1024' },
  vcpu: { type: 'string', default: String(DEFAULT_COST_MODEL.instances.worker.vcpu) },
  'memory-gib': { type: 'string', default: String(DEFAULT_COST_MODEL.instances.worker.memoryGiB) },
  'events-per-cluster': { type: 'string', default: '500' },
  /** Default: the samples' own (which overstate it: small files carry proportionally more metadata). */
  'kb-per-event': { type: 'string' },
  seconds: { type: 'string', default: '2' },
  /** bench:scale's JSON (default .cache/scale/bench-scale.json when it exists); "none" ignores it. */
  measured: { type: 'string' },
} as const;

const USAGE = 'usage: npm run estimate -- [--tb 10] [--instances 1000] [--shard-mb 1024] [--vcpu 1] [--memory-gib 2] [--events-per-cluster 500] [--kb-per-event N] [--seconds 2] [--measured PATH|none]';
const { values } = (() => {
  try {
    return parseArgs({ options: OPTIONS });
  } catch (e) {
    // a bad flag: one line and the usage, not a stack trace
    console.error(`${(e as Error).message}\n${USAGE}`);
    process.exit(2);
  }
})();

function positive(name: string, integer = false): number {
  const v = values[name as keyof typeof values]!;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    console.error(`--${name} must be a positive ${integer ? 'whole number' : 'number'}, got "${v}"`);
    process.exit(2);
  }
  return n;
}

const TB = positive('tb');
const INSTANCES = positive('instances', true);
const SHARD_MIB = positive('shard-mb');
const VCPU = positive('vcpu', true);
const MEMORY_GIB = positive('memory-gib');
const SECONDS = positive('seconds');
const EVENTS_PER_CLUSTER = positive('events-per-cluster', true);
const KB_PER_EVENT = values['kb-per-event'] === undefined ? undefined : positive('kb-per-event');

// Assumed, not measured here (printed with the assumptions):
/** The orchestrator publishes 200 messages at once (orchestrator.ts) at ~50 ms each. */
const PUBLISHES_PER_SECOND = 200 / 0.05;
/** Reading one page of 500 shard records from Firestore during the merge. */
const MERGE_PAGE_MS = 200;
/** The shard deadline a worker enforces (config.ts shardDeadlineMs). */
const SHARD_DEADLINE_S = 480;

/** Calls fn repeatedly for about `seconds` after a warm-up; returns the mean ms per call. */
async function msPerCall(seconds: number, fn: () => Promise<unknown> | unknown): Promise<number> {
  for (let i = 0; i < 5; i++) await fn();
  let calls = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000 || calls < 3) {
    await fn();
    calls++;
  }
  return (performance.now() - t0) / calls;
}

interface SampleRate {
  name: string;
  events: number;
  bytes: number;
  openMs: number;
  analysisMs: number;
  requests: number;
  /** Requests to open the file (keys, streamers, the tree), before any basket. */
  openRequests: number;
  clusters: number;
  bytesRead: number;
  resultJson: string;
}

const analysis = createAnalysis('reference');
const measured: SampleRate[] = [];
for (const s of SAMPLES.filter((x) => x.profile)) {
  const bytes = await sampleBytes(s.name);
  // one full run through a BufferSource: its stats are the requests a remote source would make (open included)
  const full = await analyseFile(new BufferSource(bytes, s.name), analysis);
  const openMs = await msPerCall(SECONDS / 4, async () => (await PhysliteFile.open(new BufferSource(bytes, s.name))).close());
  const source = new BufferSource(bytes, s.name);
  const file = await PhysliteFile.open(source);
  const openRequests = source.stats.requests;
  const clusters = file.tree.tree.clusters().length;
  const analysisMs = await msPerCall((SECONDS * 3) / 4, () => analyseOpenFile(file, analysis));
  await file.close();
  measured.push({ name: s.name, events: full.entries, bytes: bytes.length, openMs, analysisMs, requests: full.requests, openRequests, clusters, bytesRead: full.bytesRead, resultJson: JSON.stringify(full.result) });
}

// the reducer's work per shard: parse, validate and add one shard's result
const results = measured.map((m) => m.resultJson);
let next = 0;
const total = analysis.empty();
const mergeMsPerShard = await msPerCall(SECONDS / 4, () => mergeInto(total, validateResult(JSON.parse(results[next++ % results.length]!), 'shard result')));

// a dataset of the samples in equal numbers of files
const sum = (f: (m: SampleRate) => number) => measured.reduce((a, m) => a + f(m), 0);
const events = sum((m) => m.events);
const fileBytes = sum((m) => m.bytes);
const analysisSeconds = sum((m) => m.analysisMs) / 1000;
const samplesEventsPerSecond = events / analysisSeconds;
const samplesBytesPerEvent = fileBytes / events;
const samplesMbPerSecond = fileBytes / 1e6 / analysisSeconds;
const openRequests = sum((m) => m.openRequests) / measured.length;
const requestsPerCluster = sum((m) => m.requests - m.openRequests) / sum((m) => m.clusters);
const samplesReadFraction = sum((m) => m.bytesRead) / fileBytes;
const openMs = sum((m) => m.openMs) / measured.length;

/** The figures `npm run bench:scale` measured on production-shaped files, when it has been run. */
interface BenchScale {
  date: string;
  load: number[];
  quick: boolean;
  file: { name: string; bytes: number; events: number };
  rate: { eventsPerSecond: { median: number }; fileMBps: { median: number } };
  remote: { firstByteMs: number; bytesPerSecond: number; plan: string; requestsPerGb: number; bytesPerGb: number; wallSecondsPerGb: number };
}
const bench = ((): BenchScale | null => {
  const given = values.measured;
  if (given === 'none') return null;
  const file = given ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../.cache/scale/bench-scale.json');
  if (!existsSync(file)) {
    if (given) {
      console.error(`--measured ${given}: no such file (run npm run bench:scale first)`);
      process.exit(2);
    }
    return null;
  }
  return JSON.parse(readFileSync(file, 'utf8')) as BenchScale;
})();

// the job
const datasetBytes = TB * 1e12;
const shardBytes = SHARD_MIB * 1024 ** 2;
const shards = Math.ceil(datasetBytes / shardBytes);
const bytesPerEvent = KB_PER_EVENT !== undefined ? KB_PER_EVENT * 1000 : bench ? bench.file.bytes / bench.file.events : samplesBytesPerEvent;
const jobEvents = datasetBytes / bytesPerEvent;
const clustersPerShard = Math.ceil(shardBytes / bytesPerEvent / EVENTS_PER_CLUSTER);
const shardGb = shardBytes / 1e9;
// measured at scale: a shard's wall time and requests through the shaped server with the chosen read plan (open included)
const eventsPerSecond = bench ? bench.rate.eventsPerSecond.median : samplesEventsPerSecond;
const readFraction = bench ? bench.remote.bytesPerGb / 1e9 : samplesReadFraction;
const requestsPerShard = bench ? bench.remote.requestsPerGb * shardGb : openRequests + clustersPerShard * requestsPerCluster;
const shardSeconds = bench ? bench.remote.wallSecondsPerGb * shardGb : openMs / 1000 + shardBytes / bytesPerEvent / eventsPerSecond;
const workSeconds = shards * shardSeconds; // core-seconds: one shard per core
const cores = INSTANCES * VCPU; // an instance of N vCPUs runs N shards at once (worker_concurrency = vcpu)
const publishSeconds = shards / PUBLISHES_PER_SECOND;
const mergeMs = shards * mergeMsPerShard + Math.ceil(shards / STATE_PAGE) * MERGE_PAGE_MS;
const analysisWall = Math.max(workSeconds / cores, shardSeconds);
const wallSeconds = publishSeconds + analysisWall + mergeMs / 1000;

const model: CostModel = { prices: DEFAULT_COST_MODEL.prices, instances: { ...DEFAULT_COST_MODEL.instances, worker: { vcpu: VCPU, memoryGiB: MEMORY_GIB } } };
const report = estimateCost(
  {
    shards,
    shardsReported: shards,
    deliveries: shards,
    workerWallMs: workSeconds * 1000,
    storageRequests: Math.round(shards * requestsPerShard),
    bytesRead: datasetBytes * readFraction,
    // the dataset named by one prefix, a file per shard: one listing per 1000 files
    listRequests: 1 + Math.floor(shards / 1000),
    metadataReads: 0,
    orchestratorMs: publishSeconds * 1000,
    mergeMs,
    merged: true,
    workerConcurrency: VCPU,
  },
  model,
);

const f = (x: number, digits = 3) => formatQuantity(Number(x.toPrecision(digits)));
console.log(`estimate: ${TB} TB of PHYSLITE in ${SHARD_MIB} MiB shards on ${INSTANCES} worker instances of ${VCPU} vCPU / ${MEMORY_GIB} GiB`);
console.log(`\nmeasured on this machine (node ${process.version}, one core, samples in memory, ~${SECONDS} s):`);
for (const m of measured) {
  console.log(
    `  ${m.name}: ${m.events} events in ${m.clusters} cluster(s), ${formatBytes(m.bytes)}; open ${m.openMs.toFixed(1)} ms; analysis ${f((m.events / m.analysisMs) * 1000)} events/s; ${m.requests} requests (${m.openRequests} to open), ${formatBytes(m.bytesRead)} read`,
  );
}
console.log(`  per core: ${f(samplesEventsPerSecond)} events/s, ${f(samplesMbPerSecond)} MB/s of compressed file (open excluded); open ${openMs.toFixed(1)} ms per file`);
console.log(
  `  ${formatBytes(samplesBytesPerEvent)} per event, ${f(openRequests)} requests to open a file + ${f(requestsPerCluster)} per cluster for the analysis branches, ${(100 * samplesReadFraction).toFixed(0)}% of the bytes read; merge ${mergeMsPerShard.toFixed(3)} ms per shard result`,
);
if (bench) {
  console.log(`\nmeasured at scale by npm run bench:scale (${bench.date}${bench.quick ? ', --quick' : ''}, load ${bench.load.map((x) => x.toFixed(1)).join(' ')}; these figures are the ones used below):`);
  console.log(`  ${bench.file.name}: ${formatBytes(bench.file.bytes)}, ${formatQuantity(bench.file.events)} events, ZSTD 5, AutoFlush 500 (production shape)`);
  console.log(`  measured rate per core: ${f(bench.rate.eventsPerSecond.median)} events/s, ${f(bench.rate.fileMBps.median)} MB/s of file (median of the trials, local file)`);
  console.log(`  measured through the Cloud-Storage-shaped server (${bench.remote.firstByteMs} ms first byte, ${f(bench.remote.bytesPerSecond / 2 ** 20)} MiB/s per connection), read plan ${bench.remote.plan}:`);
  console.log(`    ${f(bench.remote.requestsPerGb)} requests per GB (open included), ${f(bench.remote.bytesPerGb / 1e9)} GB transferred per GB, ${f(bench.remote.wallSecondsPerGb)} s wall per GB`);
} else {
  console.log('\n(no bench:scale figures in .cache/scale/bench-scale.json: the rate and requests below come from the tiny zlib samples, not production-shaped files; run npm run bench:scale)');
}

console.log(`\nthe job:`);
console.log(`  ${formatQuantity(shards)} shards, ${f(jobEvents)} events (${formatBytes(bytesPerEvent)} per event), ${f(shardSeconds)} s per shard, ${f(workSeconds)} core-s of analysis`);
console.log(`  ${formatQuantity(clustersPerShard)} clusters of ${formatQuantity(EVENTS_PER_CLUSTER)} events per shard: ${f(requestsPerShard)} storage requests per shard (${bench ? 'measured per GB by bench:scale' : 'samples per cluster'})`);
console.log(
  `  wall time ≈ ${formatDuration(wallSeconds)}: publish ${formatDuration(publishSeconds)} + analysis ${formatDuration(analysisWall)} (work / ${formatQuantity(cores)} cores) + merge ${formatDuration(mergeMs / 1000)}`,
);
console.log(`  worker instance time ${f(workSeconds / VCPU)} instance-s`);
if (shardSeconds > SHARD_DEADLINE_S) console.log(`  WARNING: a shard takes ${f(shardSeconds)} s, more than the ${SHARD_DEADLINE_S} s shard deadline: use smaller shards`);

console.log('\nassumptions:');
const assumptions = [
  `Events from ${KB_PER_EVENT !== undefined ? `--kb-per-event ${KB_PER_EVENT}` : bench ? `the bench:scale file's ${formatBytes(bytesPerEvent)} per event` : `the samples' ${formatBytes(bytesPerEvent)} per event (small files carry proportionally more metadata, so real files hold more events per byte: try --kb-per-event 15)`}; ${formatQuantity(shards)} = ceil(${TB} TB / ${SHARD_MIB} MiB) shards, the dataset as one prefix with a file per shard.`,
  ...(bench
    ? [
        `Shard time: the measured wall time per GB of bench:scale's remote run (${f(bench.remote.wallSecondsPerGb)} s: open, transfer and decoding overlapped, one core of a machine shared with other work), scaled to ${SHARD_MIB} MiB; the local rate (${f(eventsPerSecond)} events/s per core) is printed for comparison. A worker transfers ${(100 * readFraction).toFixed(0)}% of its part (the read plan's bytes).`,
        `Storage requests: the measured ${f(bench.remote.requestsPerGb)} per GB of the chosen read plan (open included), scaled to the shard size.`,
      ]
    : [
        `Per-core rate measured with the data in memory: CPU-bound workers, reads from Cloud Storage overlapping the decoding (a worker reads ~${(100 * readFraction).toFixed(0)}% of its part: ${formatBytes(shardBytes * readFraction)} per shard, a few seconds at Cloud Storage's per-stream rates, which this estimate does not add).`,
        `Storage requests: ${f(openRequests)} to open each shard's file plus the samples' ${f(requestsPerCluster)} coalesced requests per cluster, at ${formatQuantity(EVENTS_PER_CLUSTER)} events per cluster (production PHYSLITE: Athena writes it with TREE_AUTO_FLUSH = 1000).`,
      ]),
  `Each vCPU runs one shard (worker concurrency = vCPUs); wall time = work / (instances × vCPUs), at least one shard; no ramp-up, retries or stragglers.`,
  `Publishing at ${PUBLISHES_PER_SECOND} messages/s (200 in flight, ~50 ms each); the merge at the measured per-shard time plus ${MERGE_PAGE_MS} ms per page of ${STATE_PAGE} records read.`,
  ...report.assumptions,
];
for (const a of assumptions) console.log(`  - ${a}`);
console.log(`\ncost (${report.currency}, list prices of shared/pipeline/cost.ts DEFAULT_COST_MODEL; "measured" marks what a real job's status takes from the workers' records, here scaled from the measurements above):`);
console.log(costReportText(report));
