// Decoder benchmark: reads the analysis branch set (both profiles) from each
// PHYSLITE sample held in memory, many times, on one core, and the same with
// jsroot in the same run. Prints file-open time, events/s and MB/s of
// uncompressed basket bytes, and the ratio to jsroot.
//
//   npm run bench:decoder [-- --seconds 3]

import { parseArgs } from 'node:util';
import { openFile, TSelector, treeProcess } from 'jsroot';
import { openRootFile } from '../shared/root/index';
import { BufferSource } from '../shared/root/source';
import { sampleBytes } from './lib/samples';
import { analysisBranches, type Profile } from './lib/analysis-branches';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '3' } } });
const SECONDS = Number(values.seconds);

const SAMPLES: { name: string; profile: Profile }[] = [
  { name: 'DAOD_PHYSLITE_21.2.108.0.art.pool.root', profile: 'r21' },
  { name: 'PHYSLITE_example.root', profile: 'r22' },
];

/** Runs fn repeatedly for about `seconds` (after one warm-up call); returns calls and elapsed seconds. */
async function repeat(seconds: number, fn: () => Promise<unknown>): Promise<{ calls: number; elapsed: number }> {
  await fn();
  const t0 = performance.now();
  let calls = 0;
  while (performance.now() - t0 < seconds * 1000) {
    await fn();
    calls++;
  }
  return { calls, elapsed: (performance.now() - t0) / 1000 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function ours(bytes: Uint8Array, name: string, branches: string[]) {
  const open = async () => {
    const f = await openRootFile(new BufferSource(bytes, name));
    return f.tree('CollectionTree');
  };
  const openTimes: number[] = [];
  await open();
  for (let i = 0; i < 30; i++) {
    const t0 = performance.now();
    await open();
    openTimes.push(performance.now() - t0);
  }
  const tree = await open();
  const entries = tree.tree.entries;
  await tree.read(branches);
  const before = { ...tree.stats };
  await tree.read(branches);
  const bytesPerRead = tree.stats.uncompressedBytes - before.uncompressedBytes;
  const { calls, elapsed } = await repeat(SECONDS, () => tree.read(branches));
  return { openMs: median(openTimes), eventsPerSec: (calls * entries) / elapsed, mbPerSec: (calls * bytesPerRead) / elapsed / 1e6, entries, bytesPerRead };
}

async function jsroot(bytes: Uint8Array, branches: string[]) {
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const t0 = performance.now();
  const file = await openFile(ab);
  const tree = await file.readObject('CollectionTree');
  const openMs = performance.now() - t0;
  let entries = 0;
  const run = async () => {
    const sel = new TSelector();
    for (const b of branches) sel.addBranch(b);
    let n = 0;
    sel.Process = () => {
      n++;
    };
    await treeProcess(tree, sel);
    entries = n;
  };
  const { calls, elapsed } = await repeat(SECONDS, run);
  return { openMs, eventsPerSec: (calls * entries) / elapsed };
}

console.log(`decoder benchmark: analysis branch set, samples in memory, one core, ~${SECONDS} s per measurement (node ${process.version})`);
for (const s of SAMPLES) {
  const bytes = await sampleBytes(s.name);
  const branches = analysisBranches(s.profile);
  const a = await ours(bytes, s.name, branches);
  const j = await jsroot(bytes, branches);
  console.log(`\n${s.name} (${s.profile}, ${a.entries} events, ${branches.length} branches, ${(a.bytesPerRead / 1e3).toFixed(0)} kB uncompressed baskets per pass)`);
  console.log(`  ours    file open ${a.openMs.toFixed(2)} ms   ${a.eventsPerSec.toFixed(0).padStart(8)} events/s   ${a.mbPerSec.toFixed(0).padStart(5)} MB/s`);
  console.log(`  jsroot  file open ${j.openMs.toFixed(2)} ms   ${j.eventsPerSec.toFixed(0).padStart(8)} events/s`);
  console.log(`  ratio   ${(a.eventsPerSec / j.eventsPerSec).toFixed(1)}x jsroot`);
}
