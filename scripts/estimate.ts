// What would a big job cost and take? Measures this machine's per-core
// analysis rate on the PHYSLITE samples (in memory, so the network is not in
// it), scales it to a dataset of D TB in shards of S MiB on I worker
// instances, and prices the result with the pipeline's own cost model
// (shared/pipeline/cost.ts, the default list prices) — the same arithmetic
// that fills the cost in each job's status.
//
//   npm run estimate [-- --tb 10 --instances 1000 --shard-mb 1024 --vcpu 1 --memory-gib 2
//                        --events-per-cluster 1000 --kb-per-event 15 --seconds 2]
//
// Storage requests are counted per cluster, not per MiB: a worker opens its
// file (a few requests), then reads the analysis branches' baskets cluster by
// cluster, a few coalesced requests each. The samples are tiny (40 and 100
// events in 1-2 clusters), so their requests per MiB say nothing about a 1 GiB
// file; their requests per cluster do. Production PHYSLITE is written with
// clusters of 1000 events (Athena's PoolWriteConfig: TREE_AUTO_FLUSH = 1000
// for DAOD_PHYSLITE), the default of --events-per-cluster.
//
// Runs offline: the samples come from ../shared/data (scripts/lib/samples.ts).

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
  'events-per-cluster': { type: 'string', default: '1000' },
  /** Default: the samples' own (which overstate it: small files carry proportionally more metadata). */
  'kb-per-event': { type: 'string' },
  seconds: { type: 'string', default: '2' },
} as const;

const USAGE = 'usage: npm run estimate -- [--tb 10] [--instances 1000] [--shard-mb 1024] [--vcpu 1] [--memory-gib 2] [--events-per-cluster 1000] [--kb-per-event N] [--seconds 2]';
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
const eventsPerSecond = events / analysisSeconds;
const samplesBytesPerEvent = fileBytes / events;
const bytesPerEvent = KB_PER_EVENT !== undefined ? KB_PER_EVENT * 1000 : samplesBytesPerEvent;
const mbPerSecond = fileBytes / 1e6 / analysisSeconds;
const openRequests = sum((m) => m.openRequests) / measured.length;
const requestsPerCluster = sum((m) => m.requests - m.openRequests) / sum((m) => m.clusters);
const readFraction = sum((m) => m.bytesRead) / fileBytes;
const openMs = sum((m) => m.openMs) / measured.length;

// the job
const datasetBytes = TB * 1e12;
const shardBytes = SHARD_MIB * 1024 ** 2;
const shards = Math.ceil(datasetBytes / shardBytes);
const jobEvents = datasetBytes / bytesPerEvent;
const clustersPerShard = Math.ceil(shardBytes / bytesPerEvent / EVENTS_PER_CLUSTER);
const requestsPerShard = openRequests + clustersPerShard * requestsPerCluster;
const shardSeconds = openMs / 1000 + shardBytes / bytesPerEvent / eventsPerSecond;
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
console.log(`  per core: ${f(eventsPerSecond)} events/s, ${f(mbPerSecond)} MB/s of compressed file (open excluded); open ${openMs.toFixed(1)} ms per file`);
console.log(
  `  ${formatBytes(samplesBytesPerEvent)} per event, ${f(openRequests)} requests to open a file + ${f(requestsPerCluster)} per cluster for the analysis branches, ${(100 * readFraction).toFixed(0)}% of the bytes read; merge ${mergeMsPerShard.toFixed(3)} ms per shard result`,
);

console.log(`\nthe job:`);
console.log(`  ${formatQuantity(shards)} shards, ${f(jobEvents)} events (${formatBytes(bytesPerEvent)} per event), ${f(shardSeconds)} s per shard, ${f(workSeconds)} core-s of analysis`);
console.log(`  ${formatQuantity(clustersPerShard)} clusters of ${formatQuantity(EVENTS_PER_CLUSTER)} events per shard: ${f(requestsPerShard)} storage requests per shard`);
console.log(
  `  wall time ≈ ${formatDuration(wallSeconds)}: publish ${formatDuration(publishSeconds)} + analysis ${formatDuration(analysisWall)} (work / ${formatQuantity(cores)} cores) + merge ${formatDuration(mergeMs / 1000)}`,
);
console.log(`  worker instance time ${f(workSeconds / VCPU)} instance-s`);
if (shardSeconds > SHARD_DEADLINE_S) console.log(`  WARNING: a shard takes ${f(shardSeconds)} s, more than the ${SHARD_DEADLINE_S} s shard deadline: use smaller shards`);

console.log('\nassumptions:');
const assumptions = [
  `Events from ${KB_PER_EVENT !== undefined ? `--kb-per-event ${KB_PER_EVENT}` : `the samples' ${formatBytes(bytesPerEvent)} per event (small files carry proportionally more metadata, so real files hold more events per byte: try --kb-per-event 15)`}; ${formatQuantity(shards)} = ceil(${TB} TB / ${SHARD_MIB} MiB) shards, the dataset as one prefix with a file per shard.`,
  `Per-core rate measured with the data in memory: CPU-bound workers, reads from Cloud Storage overlapping the decoding (a worker reads ~${(100 * readFraction).toFixed(0)}% of its part: ${formatBytes(shardBytes * readFraction)} per shard, a few seconds at Cloud Storage's per-stream rates, which this estimate does not add).`,
  `Storage requests: ${f(openRequests)} to open each shard's file plus the samples' ${f(requestsPerCluster)} coalesced requests per cluster, at ${formatQuantity(EVENTS_PER_CLUSTER)} events per cluster (production PHYSLITE: Athena writes it with TREE_AUTO_FLUSH = 1000).`,
  `Each vCPU runs one shard (worker concurrency = vCPUs); wall time = work / (instances × vCPUs), at least one shard; no ramp-up, retries or stragglers.`,
  `Publishing at ${PUBLISHES_PER_SECOND} messages/s (200 in flight, ~50 ms each); the merge at the measured per-shard time plus ${MERGE_PAGE_MS} ms per page of ${STATE_PAGE} records read.`,
  ...report.assumptions,
];
for (const a of assumptions) console.log(`  - ${a}`);
console.log(`\ncost (${report.currency}, list prices of shared/pipeline/cost.ts DEFAULT_COST_MODEL; "measured" marks what a real job's status takes from the workers' records, here scaled from the measurements above):`);
console.log(costReportText(report));
