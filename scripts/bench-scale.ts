// Measured at scale: the reference analysis on production-shaped synthetic
// PHYSLITE files (ZSTD 5, AutoFlush 500, ~1 GB; made once into .cache/scale/
// by the synth writer, scripts/lib/scale-files.ts), on one core. One run measures:
//
//   rate      decode + analysis events/s and MB/s of file (local file, child
//             process); the bare codec ceiling (decompressing the same baskets
//             and nothing else) and our share of it; jsroot decoding the same
//             branches on a slice of the same file, trials interleaved with ours
//   open      local open of the ~1,500-branch tree (min, median); requests and
//             sequential round trips to open it through the shaped server
//   memory    peak RSS of a child analysing a 1, 2 and 4 GB file
//   remote    the analysis over HTTP from a Cloud-Storage-shaped server (first-
//             byte latency, per-connection bandwidth; scripts/lib/shaped-server.ts):
//             the chosen read plan's requests and bytes per GB, wall time and its
//             ratio to max(transfer, decode), the other plans on a slice, and the
//             wall time against latency
//   cost      the modelled $ per TB (shared/pipeline/cost.ts) from these figures
//   job       (--job) `physlite job --local` over ≥ 8 GB of files against
//             sequential `physlite run` on the same files
//
// Prints a table, then one JSON line (also written to .cache/scale/bench-scale.json,
// which `npm run estimate` reads; a --quick or --file run to bench-scale-quick.json).
//
//   npm run bench:scale [-- --quick] [--trials 3] [--sizes 1,2,4] [--job] [--job-gb 8] [--latencies 5,30,100] [--file PATH]

import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { open as openFs } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createAnalysis } from '../shared/analysis/registry';
import { analyseOpenFile } from '../shared/analysis/runner';
import { PhysliteFile } from '../shared/physlite/index';
import { decompressObject } from '../shared/root/compression/index';
import { HttpSource, LocalFileSource } from '../shared/root/source/index';
import { PrefetchSource } from '../shared/root/source/prefetch';
import { describePlan, type ReadPlanKind } from '../shared/root/source/read-strategy';
import { MiB } from '../shared/root/source/planner';
import { estimateCost } from '../shared/pipeline/cost';
import { startShapedServer, DEFAULT_BYTES_PER_SECOND, DEFAULT_FIRST_BYTE_MS } from './lib/shaped-server';
import { scaleFile } from './lib/scale-files';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = path.join(ROOT, '.cache/scale');
const SELF = fileURLToPath(import.meta.url);
const GB = 1e9;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    trials: { type: 'string' },
    sizes: { type: 'string' },
    job: { type: 'boolean', default: false },
    'job-gb': { type: 'string', default: '8' },
    latencies: { type: 'string', default: '5,30,100' },
    file: { type: 'string' },
    child: { type: 'string' },
    target: { type: 'string' },
    plan: { type: 'string', default: 'auto' },
    'entry-stop': { type: 'string' },
    'decode-bps': { type: 'string' },
    'receive-bps': { type: 'string' },
  },
  allowPositionals: false,
});

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const min = (xs: number[]) => Math.min(...xs);
const load = () => os.loadavg().map((x) => x.toFixed(1)).join(' ');

// ---------------------------------------------------------------------------
// Child modes: one measurement in a fresh process, printed as one JSON line.

interface AnalyseReport {
  events: number;
  seconds: number;
  fileBytes: number;
  bytesRead: number;
  requests: number;
  wantedBytes: number;
  maxRssMiB: number;
  /** CPU seconds of the whole child (startup included). */
  cpuSeconds: number;
  plan: string;
  alternatives: string[];
  chosen: { kind: string; requests: number; bytes: number; wallSeconds: number; transferSeconds: number };
}

/** The model's decode rate: measured by the parent and passed down, else the model's default. */
const DECODE_BPS = values['decode-bps'] ? Number(values['decode-bps']) : undefined;
const RECEIVE_BPS = values['receive-bps'] ? Number(values['receive-bps']) : undefined;
const readEnv = { environment: { ...(DECODE_BPS ? { decodeBytesPerSecond: DECODE_BPS } : {}), ...(RECEIVE_BPS ? { receiveBytesPerSecond: RECEIVE_BPS } : {}) } };
const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

async function childAnalyse(target: string, plan: string, entryStop: number | undefined): Promise<AnalyseReport> {
  const remote = /^https?:/.test(target);
  // remote: 64 MiB requests allowed, so a span can be one request; the model still chooses the pieces
  const source = remote ? new HttpSource(target, { maxRequestBytes: 64 * MiB }) : new LocalFileSource(target);
  const fileBytes = await source.size();
  const t0 = performance.now();
  const file = await PhysliteFile.open(source);
  const run = await analyseOpenFile(file, createAnalysis('reference'), { entryStop, read: { plan: plan as ReadPlanKind | 'auto', ...readEnv } });
  const seconds = (performance.now() - t0) / 1000;
  const c = file.lastReadChoice!;
  await file.close();
  return {
    events: run.entryStop - run.entryStart,
    seconds,
    fileBytes,
    bytesRead: run.bytesRead,
    requests: run.requests,
    wantedBytes: c.chosen.wantedBytes,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    cpuSeconds: cpuSeconds(),
    plan: describePlan(c.chosen),
    alternatives: c.alternatives.map(describePlan),
    chosen: { kind: c.chosen.kind, requests: c.chosen.requests, bytes: c.chosen.bytes, wallSeconds: c.chosen.wallSeconds, transferSeconds: c.chosen.transferSeconds },
  };
}

/** The bare codec on the analysis's own baskets: read them (untimed), then decompress them (timed), cluster by cluster. */
async function childCodec(target: string, entryStop: number | undefined) {
  const source = new LocalFileSource(target);
  const file = await PhysliteFile.open(source);
  const prepared = createAnalysis('reference').prepare(file.schema, file.name);
  const branches = [...new Set(prepared.columns.map((r) => file.schema.branchOf(r)!))];
  const layout = file.readLayout(branches, file.chunkRanges({ entryStop }));
  let seconds = 0;
  let compressed = 0;
  let inflated = 0;
  for (const ranges of layout.chunks) {
    const raws = await source.read(ranges);
    const t0 = performance.now();
    for (let i = 0; i < raws.length; i++) {
      const raw = raws[i]!;
      const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      const objlen = v.getInt32(6);
      const keylen = v.getInt16(14);
      const payload = raw.subarray(keylen);
      compressed += raw.length;
      inflated += objlen;
      if (payload.length !== objlen) decompressObject(payload, objlen, { file: file.name, offset: ranges[i]!.offset }, file.handle.file.limits);
    }
    seconds += (performance.now() - t0) / 1000;
  }
  await file.close();
  return { seconds, compressed, inflated };
}

/** Fetches the chosen plan's units and nothing else (no decoding): the transfer time of the plan. */
async function childTransfer(target: string, plan: string, entryStop: number | undefined) {
  const inner = new HttpSource(target, { maxRequestBytes: 64 * MiB });
  const file = await PhysliteFile.open(inner);
  const prepared = createAnalysis('reference').prepare(file.schema, file.name);
  const branches = [...new Set(prepared.columns.map((r) => file.schema.branchOf(r)!))];
  const layout = file.readLayout(branches, file.chunkRanges({ entryStop }));
  const env = file.environment(readEnv);
  const { chooseReadPlan, estimatePlan } = await import('../shared/root/source/read-strategy');
  const chosen = plan === 'auto' ? chooseReadPlan(layout, env).chosen : estimatePlan(plan as ReadPlanKind, layout, env);
  const prefetch = new PrefetchSource(inner);
  prefetch.schedule(chosen.units, env.readAhead);
  const t0 = performance.now();
  const cpu0 = cpuSeconds();
  const bytes0 = inner.stats.bytes;
  for (let u = 0; u < chosen.units.length; u++) {
    prefetch.advance(u);
    const ranges = chosen.units[u]!.ranges;
    if (ranges.length) await prefetch.read(ranges.slice(0, 1)); // waits for the unit
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds() - cpu0;
  const bytes = inner.stats.bytes - bytes0;
  await file.close();
  return { seconds, cpu, bytes };
}

if (values.child) {
  const target = values.target!;
  const entryStop = values['entry-stop'] ? Number(values['entry-stop']) : undefined;
  let out: unknown;
  if (values.child === 'analyse') out = await childAnalyse(target, values.plan!, entryStop);
  else if (values.child === 'codec') out = await childCodec(target, entryStop);
  else if (values.child === 'transfer') out = await childTransfer(target, values.plan!, entryStop);
  else throw new Error(`unknown child mode ${values.child}`);
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exit(0);
}

/** Runs this script in a child process in one of its modes; resolves its JSON line. */
function child<T>(mode: string, target: string, extra: string[] = []): Promise<T> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', SELF, '--child', mode, '--target', target, ...extra], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) return reject(new Error(`child ${mode} ${target} exited with ${code}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!) as T);
      } catch (e) {
        reject(e);
      }
    });
  });
}

// ---------------------------------------------------------------------------
// The files

const QUICK = values.quick;
const TRIALS = Number(values.trials ?? (QUICK ? 2 : 3));
const SIZES = (values.sizes ?? (QUICK ? '0.1,0.2,0.4' : '1,2,4')).split(',').map(Number);
const LATENCIES = values.latencies!.split(',').map(Number);

console.error(`bench:scale ${QUICK ? '(quick) ' : ''}node ${process.version}, ${os.cpus().length} cores, load ${load()}`);
const files: { gb: number; path: string; bytes: number; writeSeconds: number | null }[] = [];
if (values.file) {
  files.push({ gb: statSync(values.file).size / GB, path: values.file, bytes: statSync(values.file).size, writeSeconds: null });
} else {
  for (const gb of SIZES) {
    const f = await scaleFile(gb);
    files.push({ gb, ...f });
    console.error(`  file ${path.basename(f.path)}: ${(f.bytes / GB).toFixed(2)} GB${f.writeSeconds !== null ? `, written in ${f.writeSeconds.toFixed(0)} s` : ' (cached)'}`);
  }
}
const shard = files[0]!;

// ---------------------------------------------------------------------------
// Open: local (interleaved with nothing: it is its own peer across trials) and remote

const local = await PhysliteFile.open(shard.path);
const entries = local.entries;
const branchCount = [...local.tree.tree.branchNames()].length;
const clusters = local.tree.tree.clusters().length;
await local.close();
const openMs: number[] = [];
for (let i = 0; i < (QUICK ? 10 : 30); i++) {
  const t0 = performance.now();
  const f = await PhysliteFile.open(shard.path);
  openMs.push(performance.now() - t0);
  await f.close();
}
console.error(`  open local: ${branchCount} branches, min ${min(openMs).toFixed(2)} ms, median ${median(openMs).toFixed(2)} ms (load ${load()})`);

// ---------------------------------------------------------------------------
// Rate: decode + analysis (child, local file), codec ceiling, jsroot on a slice

const sliceEvents = Math.min(entries, QUICK ? 2000 : 5000);
const rateRuns: AnalyseReport[] = [];
const codecRuns: { seconds: number; compressed: number; inflated: number }[] = [];
const codecSliceStop = QUICK ? undefined : Math.min(entries, 20_000);
for (let t = 0; t < TRIALS; t++) {
  rateRuns.push(await child<AnalyseReport>('analyse', shard.path));
  codecRuns.push(await child('codec', shard.path, codecSliceStop ? ['--entry-stop', String(codecSliceStop)] : []));
  console.error(`  trial ${t + 1}: analysis ${(rateRuns[t]!.events / rateRuns[t]!.seconds).toFixed(0)} events/s, codec ${(codecRuns[t]!.compressed / codecRuns[t]!.seconds / 1e6).toFixed(1)} MB/s compressed (load ${load()})`);
}
const rate = rateRuns.map((r) => r.events / r.seconds);
const bestRun = rateRuns[rate.indexOf(Math.max(...rate))]!;
const medRun = rateRuns[rate.indexOf(median(rate))]!;
const wantedPerEvent = bestRun.wantedBytes / bestRun.events;
const mbps = rateRuns.map((r) => r.fileBytes / r.seconds / 1e6);
const wantedMbps = rateRuns.map((r) => r.wantedBytes / r.seconds / 1e6);
const codecBytesPerSecond = codecRuns.map((c) => c.compressed / c.seconds);
// the codec's seconds for the whole file's wanted baskets, against the full run's seconds
const shareOf = (run: AnalyseReport, codecBps: number) => run.wantedBytes / codecBps / run.seconds;

async function jsrootSlice(stop: number): Promise<number> {
  const { openFile, FileProxy } = await import('jsroot/io');
  const { TSelector, treeProcess } = await import('jsroot/tree');
  const fh = await openFs(shard.path, 'r');
  class Proxy extends (FileProxy as unknown as new () => object) {
    async openFile() {
      return true;
    }
    getFileName() {
      return path.basename(shard.path);
    }
    getFileSize() {
      return shard.bytes;
    }
    async readBuffer(pos: number, sz: number) {
      const b = Buffer.allocUnsafe(sz);
      await fh.read(b, 0, sz, pos);
      return new DataView(b.buffer, b.byteOffset, sz);
    }
  }
  try {
    const t0 = performance.now();
    const file = await openFile(new Proxy() as never);
    const tree = await file.readObject('CollectionTree');
    const sel = new TSelector();
    const probe = await PhysliteFile.open(shard.path);
    const prepared = createAnalysis('reference').prepare(probe.schema, probe.name);
    for (const b of new Set(prepared.columns.map((r) => probe.schema.branchOf(r)!))) sel.addBranch(b);
    await probe.close();
    let n = 0;
    sel.Process = () => {
      n++;
    };
    await treeProcess(tree, sel, { numentries: stop, firstentry: 0 });
    if (n !== stop) throw new Error(`jsroot processed ${n} of ${stop} entries`);
    return (performance.now() - t0) / 1000;
  } finally {
    await fh.close();
  }
}

async function oursSlice(stop: number): Promise<number> {
  const t0 = performance.now();
  const f = await PhysliteFile.open(shard.path);
  const prepared = createAnalysis('reference').prepare(f.schema, f.name);
  for await (const _chunk of f.chunks(prepared.columns, { entryStop: stop })) void _chunk;
  await f.close();
  return (performance.now() - t0) / 1000;
}

const jsroot: number[] = [];
const oursDecode: number[] = [];
let jsrootError: string | null = null;
for (let t = 0; t < TRIALS && !jsrootError; t++) {
  oursDecode.push(await oursSlice(sliceEvents));
  try {
    jsroot.push(await jsrootSlice(sliceEvents));
  } catch (e) {
    jsrootError = (e as Error).message;
  }
}
console.error(`  jsroot slice of ${sliceEvents} events: ${jsrootError ?? `min ${min(jsroot).toFixed(2)} s vs ours ${min(oursDecode).toFixed(2)} s`} (load ${load()})`);

// ---------------------------------------------------------------------------
// Memory: peak RSS for each file size (one child each; the 1 GB figure from the rate trials)

const rss: { gb: number; bytes: number; maxRssMiB: number; seconds: number }[] = [{ gb: shard.gb, bytes: shard.bytes, maxRssMiB: Math.max(...rateRuns.map((r) => r.maxRssMiB)), seconds: bestRun.seconds }];
for (const f of files.slice(1)) {
  const r = await child<AnalyseReport>('analyse', f.path);
  rss.push({ gb: f.gb, bytes: f.bytes, maxRssMiB: r.maxRssMiB, seconds: r.seconds });
  console.error(`  ${(f.bytes / GB).toFixed(2)} GB: peak RSS ${r.maxRssMiB.toFixed(0)} MiB, ${r.seconds.toFixed(0)} s (load ${load()})`);
}

// ---------------------------------------------------------------------------
// Remote: the shaped server in this process, the reader in a child

const server = await startShapedServer({ 'shard.root': shard.path });
const decodeArg = ['--decode-bps', String(Math.round(median(wantedMbps) * 1e6))];
const url = `${server.url}/shard.root`;
// open: requests and time, through the shaped server
const probeSource = new HttpSource(url);
const t0 = performance.now();
const probe = await PhysliteFile.open(probeSource);
const remoteOpenMs = performance.now() - t0;
const openRequests = server.stats.requests;
const openRounds = server.stats.rounds;
const openBytes = server.stats.bytes;
await probe.close();
console.error(`  open remote: ${openRequests} requests in ${openRounds} sequential round trips, ${(openBytes / 1e3).toFixed(0)} kB, ${remoteOpenMs.toFixed(0)} ms`);

// the plan's bytes alone first: their wall time, and the CPU the client spends taking them in
server.reset();
const transfer = await child<{ seconds: number; cpu: number; bytes: number }>('transfer', url, decodeArg);
const receiveBps = transfer.bytes / Math.max(transfer.cpu, 1e-3);
decodeArg.push('--receive-bps', String(Math.round(receiveBps)));
server.reset();
const remote = await child<AnalyseReport>('analyse', url, decodeArg);
const remoteStats = { ...server.stats };
const decodeSeconds = bestRun.seconds * (remote.events / bestRun.events);
const wallRatio = remote.seconds / Math.max(transfer.seconds, decodeSeconds);
console.error(`  remote ${remote.plan}: ${remote.seconds.toFixed(1)} s; transfer alone ${transfer.seconds.toFixed(1)} s; ratio to max(transfer, decode) ${wallRatio.toFixed(2)} (load ${load()})`);

// the other plans on a slice (same first clusters)
const planSlice = Math.min(entries, Math.max(2000, Math.round(entries / (QUICK ? 2 : 8))));
const plans: { plan: string; events: number; seconds: number; requests: number; bytes: number }[] = [];
for (const plan of ['ranges', 'clusters', 'spans']) {
  server.reset();
  const r = await child<AnalyseReport>('analyse', url, ['--plan', plan, '--entry-stop', String(planSlice), ...decodeArg]);
  plans.push({ plan: r.plan, events: r.events, seconds: r.seconds, requests: server.stats.gets, bytes: server.stats.bytes });
  console.error(`  slice of ${r.events} events, ${r.plan}: ${r.seconds.toFixed(1)} s, ${server.stats.gets} GETs (load ${load()})`);
}
await server.close();

// wall time against latency: the chosen plan and per-basket ranges on the slice
const latency: { firstByteMs: number; plan: string; seconds: number; requests: number }[] = [];
for (const ms of LATENCIES) {
  const s = await startShapedServer({ 'shard.root': shard.path }, { firstByteMs: ms });
  for (const plan of ['auto', 'ranges']) {
    s.reset();
    const r = await child<AnalyseReport>('analyse', `${s.url}/shard.root`, ['--plan', plan, '--entry-stop', String(planSlice), ...decodeArg]);
    latency.push({ firstByteMs: ms, plan: `${plan === 'auto' ? 'chosen: ' : ''}${r.chosen.kind}`, seconds: r.seconds, requests: s.stats.gets });
  }
  await s.close();
  console.error(`  latency ${ms} ms: ${latency.slice(-2).map((l) => `${l.plan} ${l.seconds.toFixed(1)} s`).join(', ')} (load ${load()})`);
}

// ---------------------------------------------------------------------------
// Modelled cost per TB from the measured figures: 1 GB shards, one per vCPU

const perGb = (x: number, bytes: number) => (x * GB) / bytes;
const requestsPerGb = perGb(remoteStats.gets + remoteStats.heads, shard.bytes);
const bytesPerGb = perGb(remoteStats.bytes, shard.bytes);
const shardWallSeconds = perGb(remote.seconds, shard.bytes);
const shardsPerTb = 1000;
const tbReport = estimateCost({
  shards: shardsPerTb,
  shardsReported: shardsPerTb,
  deliveries: shardsPerTb,
  workerWallMs: shardsPerTb * shardWallSeconds * 1000,
  storageRequests: Math.round(shardsPerTb * requestsPerGb),
  bytesRead: shardsPerTb * bytesPerGb,
  listRequests: 1,
  metadataReads: 0,
  orchestratorMs: 250,
  mergeMs: shardsPerTb * 0.5 + 2 * 200,
  merged: true,
});
const tbItem = (word: string) => tbReport.items.filter((i) => i.item.includes(word)).reduce((s, i) => s + i.usd, 0);

// ---------------------------------------------------------------------------
// job --local over ≥ 8 GB against sequential run (only with --job)

let job: { gb: number; files: number; jobSeconds: number; runSeconds: number; events: number } | null = null;
if (values.job) {
  const want = Number(values['job-gb']);
  // the files measured above, then files of the first size with further seeds until there are enough bytes
  const jobFiles: string[] = files.map((f) => f.path);
  let total = files.reduce((s, f) => s + f.bytes, 0);
  for (let seed = 2; total < want * GB; seed++) {
    const f = await scaleFile(files[0]!.gb, seed);
    jobFiles.push(f.path);
    total += f.bytes;
  }
  const bin = path.join(ROOT, 'bin/physlite.js');
  const timeIt = (args: string[]) => {
    const s = performance.now();
    const out = execFileSync(process.execPath, [bin, ...args], { maxBuffer: 1 << 28, encoding: 'utf8' });
    return { seconds: (performance.now() - s) / 1000, out };
  };
  const runT = timeIt(['run', '--json', ...jobFiles]);
  const jobT = timeIt(['job', '--local', '--json', ...jobFiles]);
  let events = 0;
  for (const f of jobFiles) {
    const pf = await PhysliteFile.open(f);
    events += pf.entries;
    await pf.close();
  }
  job = { gb: total / GB, files: jobFiles.length, jobSeconds: jobT.seconds, runSeconds: runT.seconds, events };
}

// ---------------------------------------------------------------------------
// Report

const fmtRate = (xs: number[], unit: string, digits = 0) => `min ${min(xs).toFixed(digits)} / median ${median(xs).toFixed(digits)} ${unit}`;
const rows: [string, string][] = [
  ['conditions', `node ${process.version}, one core per measurement, ${os.cpus().length}-core machine shared with other jobs; load ${load()}; ${TRIALS} trials`],
  ['file', `${path.basename(shard.path)}: ${(shard.bytes / GB).toFixed(2)} GB, ${entries} events, ${clusters} clusters, ${branchCount} branches, ${(shard.bytes / entries / 1e3).toFixed(1)} kB/event`],
  ['decode + analysis', `${fmtRate(rate, 'events/s')} (max ${Math.max(...rate).toFixed(0)}); ${fmtRate(mbps, 'MB/s of file', 1)}; ${fmtRate(wantedMbps, 'MB/s of wanted baskets', 1)}`],
  ['wanted bytes', `${(100 * (bestRun.wantedBytes / bestRun.fileBytes)).toFixed(1)}% of the file (${(wantedPerEvent / 1e3).toFixed(2)} kB/event)`],
  ['codec ceiling', `${fmtRate(codecBytesPerSecond.map((x) => x / 1e6), 'MB/s of compressed baskets', 1)}; codec share of our time: ${(100 * shareOf(medRun, median(codecBytesPerSecond))).toFixed(0)}% (median run / median codec)`],
  ['jsroot slice', jsrootError ? `could not run: ${jsrootError}` : `${sliceEvents} events: jsroot ${fmtRate(jsroot, 's', 2)}, ours ${fmtRate(oursDecode, 's', 2)}: ours ${(min(jsroot) / min(oursDecode)).toFixed(1)}× faster (min/min)`],
  ['open local', `${fmtRate(openMs, 'ms', 2)} (${branchCount} branches)`],
  ['open remote', `${openRequests} requests in ${openRounds} sequential round trips (server-side count), ${(openBytes / 1e3).toFixed(0)} kB, ${remoteOpenMs.toFixed(0)} ms at ${DEFAULT_FIRST_BYTE_MS} ms first-byte latency (parsing included)`],
  ...rss.map((r): [string, string] => [`peak RSS ${(r.bytes / GB).toFixed(2)} GB`, `${r.maxRssMiB.toFixed(0)} MiB (${r.seconds.toFixed(0)} s)`]),
  ['remote (shaped)', `first byte ${DEFAULT_FIRST_BYTE_MS} ms, ${(DEFAULT_BYTES_PER_SECOND / MiB).toFixed(0)} MiB/s per connection`],
  ['  chosen plan', `${remote.plan}`],
  ['  per GB', `${requestsPerGb.toFixed(0)} requests, ${(bytesPerGb / GB).toFixed(2)} GB transferred, ${shardWallSeconds.toFixed(1)} s wall`],
  ['  CPU', `remote run ${remote.cpuSeconds.toFixed(1)} CPU-s vs local run ${bestRun.cpuSeconds.toFixed(1)} CPU-s (whole child processes); taking in the plan's bytes alone: ${transfer.cpu.toFixed(1)} CPU-s = ${(receiveBps / 1e6).toFixed(0)} MB per CPU-s`],
  ['  wall / max(transfer, decode)', `${wallRatio.toFixed(2)} (wall ${remote.seconds.toFixed(1)} s, transfer alone ${transfer.seconds.toFixed(1)} s, decode ${decodeSeconds.toFixed(1)} s)`],
  ...plans.map((p): [string, string] => [`  slice ${p.events} ev`, `${p.plan.split(':')[0]}: ${perGb(p.requests, (shard.bytes * p.events) / entries).toFixed(0)} requests/GB, ${(perGb(p.bytes, (shard.bytes * p.events) / entries) / GB).toFixed(2)} GB/GB, ${p.seconds.toFixed(1)} s`]),
  ...latency.map((l): [string, string] => [`  latency ${l.firstByteMs} ms`, `${l.plan}: ${l.seconds.toFixed(1)} s, ${l.requests} GETs`]),
  ['modelled $/TB', `$${tbReport.totalUsd.toFixed(3)} (workers ${tbItem('worker').toFixed(3)}, storage requests ${tbItem('Storage').toFixed(4)}, Firestore ${tbItem('Firestore').toFixed(4)}, Pub/Sub ${tbItem('Pub/Sub').toFixed(4)})`],
  ...(job ? [['job --local', `${job.files} files, ${job.gb.toFixed(1)} GB, ${job.events} events: job ${(job.events / job.jobSeconds).toFixed(0)} events/s vs run ${(job.events / job.runSeconds).toFixed(0)} events/s (${(job.runSeconds / job.jobSeconds).toFixed(2)}×)`] as [string, string]] : [['job --local', 'not run (pass --job)'] as [string, string]]),
  ...files.filter((f) => f.writeSeconds !== null).map((f): [string, string] => [`write ${f.gb} GB`, `${f.writeSeconds!.toFixed(0)} s`]),
];
const w = Math.max(...rows.map((r) => r[0].length));
console.log(rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n'));

const json = {
  bench: 'scale',
  date: new Date().toISOString(),
  node: process.version,
  load: os.loadavg(),
  quick: QUICK,
  trials: TRIALS,
  file: { name: path.basename(shard.path), bytes: shard.bytes, events: entries, clusters, branches: branchCount },
  rate: { eventsPerSecond: { min: min(rate), median: median(rate), max: Math.max(...rate) }, fileMBps: { min: min(mbps), median: median(mbps) }, wantedMBps: { min: min(wantedMbps), median: median(wantedMbps) }, wantedFraction: bestRun.wantedBytes / bestRun.fileBytes },
  codec: { compressedMBps: { min: min(codecBytesPerSecond) / 1e6, median: median(codecBytesPerSecond) / 1e6 }, share: shareOf(medRun, median(codecBytesPerSecond)) },
  jsroot: jsrootError ? { error: jsrootError } : { events: sliceEvents, seconds: { min: min(jsroot), median: median(jsroot) }, ours: { min: min(oursDecode), median: median(oursDecode) } },
  open: { localMs: { min: min(openMs), median: median(openMs) }, remote: { requests: openRequests, rounds: openRounds, bytes: openBytes, ms: remoteOpenMs, firstByteMs: DEFAULT_FIRST_BYTE_MS } },
  rss,
  remote: { firstByteMs: DEFAULT_FIRST_BYTE_MS, bytesPerSecond: DEFAULT_BYTES_PER_SECOND, plan: remote.plan, requestsPerGb, bytesPerGb, wallSecondsPerGb: shardWallSeconds, wallRatio, transferSeconds: transfer.seconds, receiveCpuSeconds: transfer.cpu, receiveBytesPerCpuSecond: receiveBps, cpuSeconds: remote.cpuSeconds, localCpuSeconds: bestRun.cpuSeconds, decodeSeconds, alternatives: remote.alternatives, slicePlans: plans, latency },
  cost: { usdPerTb: tbReport.totalUsd, items: tbReport.items.map((i) => ({ item: i.item, usd: i.usd })) },
  job,
  writes: files.map((f) => ({ gb: f.gb, bytes: f.bytes, writeSeconds: f.writeSeconds })),
};
mkdirSync(CACHE, { recursive: true });
// a --quick or --file run never replaces the full run's figures that `npm run estimate` reads
writeFileSync(path.join(CACHE, QUICK || values.file ? 'bench-scale-quick.json' : 'bench-scale.json'), JSON.stringify(json, null, 2));
console.log(JSON.stringify(json));
