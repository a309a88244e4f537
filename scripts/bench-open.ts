// File-open benchmark: how long from "open this path" to "tree ready and the
// analysis branches resolved", for each PHYSLITE sample read from the local
// disk (warm page cache), with jsroot's open of the same file in the same run
// as the peer. Trials are interleaved (ours, jsroot, ours, …) so machine noise
// hits both alike; min and median are printed, and the phases of our open.
//
//   node --import tsx scripts/bench-open.ts [--trials 40]
//
// Phases (ours):
//   file   RootFile.open: header + root directory, then key list, streamer record and the 256 KiB tail
//   tree   inflate the TTree record and skim it (each top-level branch's name, entries and span)
//   branch look up every branch the analysis reads (Tree.branch) and type it (TreeReader.typeName)
//          (the streamer infos are parsed here, on first use)
//   physlite  PhysliteFile.open (file + tree + column schema + MetaData keys), then the lookups
// jsroot: openFile(path) + readObject('CollectionTree') (it parses every branch).

import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { openFile } from 'jsroot';
import { RootFile, readTree } from '../shared/root/file';
import { TreeReader } from '../shared/root/reader';
import { LocalFileSource } from '../shared/root/source';
import { PhysliteFile } from '../shared/physlite/index';
import { samplePath } from './lib/samples';
import { analysisBranches, type Profile } from './lib/analysis-branches';

const { values } = parseArgs({ options: { trials: { type: 'string', default: '40' } } });
const TRIALS = Number(values.trials);

const SAMPLES: { name: string; profile: Profile }[] = [
  { name: 'PHYSLITE_example.root', profile: 'r22' },
  { name: 'DAOD_PHYSLITE_21.2.108.0.art.pool.root', profile: 'r21' },
];

interface Phases {
  file: number;
  tree: number;
  branch: number;
  total: number;
  /** CPU time of the whole open (user + system), less disturbed than wall time on a shared machine. */
  cpu: number;
}

async function ours(path: string, branches: string[]): Promise<Phases & { count: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const source = new LocalFileSource(path);
  const file = await RootFile.open(source);
  const t1 = performance.now();
  const tree = await readTree(file, 'CollectionTree');
  const t2 = performance.now();
  const reader = new TreeReader(tree);
  for (const b of branches) await reader.typeName(tree.branch(b));
  const t3 = performance.now();
  const c = process.cpuUsage(c0);
  await source.close();
  return { file: t1 - t0, tree: t2 - t1, branch: t3 - t2, total: t3 - t0, cpu: (c.user + c.system) / 1000, count: tree.topLevelNames().length };
}

async function physlite(path: string, branches: string[]): Promise<number> {
  const t0 = performance.now();
  const f = await PhysliteFile.open(path);
  for (const b of branches) await f.tree.typeName(f.tree.tree.branch(b));
  const ms = performance.now() - t0;
  await f.close();
  return ms;
}

async function jsroot(path: string): Promise<number> {
  const t0 = performance.now();
  const file = await openFile(path);
  await file.readObject('CollectionTree');
  return performance.now() - t0;
}

const stat = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0]!, median: s[Math.floor(s.length / 2)]! };
};
const fmt = (xs: number[]) => {
  const { min, median } = stat(xs);
  return `min ${min.toFixed(2).padStart(6)} ms  median ${median.toFixed(2).padStart(6)} ms`;
};

console.log(`open benchmark: local files (warm page cache), ${TRIALS} interleaved trials after 3 warm-ups, node ${process.version}, one process, load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores`);
for (const s of SAMPLES) {
  const path = await samplePath(s.name);
  const branches = analysisBranches(s.profile);
  for (let i = 0; i < 3; i++) {
    await ours(path, branches);
    await physlite(path, branches);
    await jsroot(path);
  }
  const rows: Record<keyof Phases, number[]> = { file: [], tree: [], branch: [], total: [], cpu: [] };
  const phys: number[] = [];
  const peer: number[] = [];
  let count = 0;
  for (let i = 0; i < TRIALS; i++) {
    const r = await ours(path, branches);
    count = r.count;
    for (const k of Object.keys(rows) as (keyof Phases)[]) rows[k].push(r[k]);
    phys.push(await physlite(path, branches));
    peer.push(await jsroot(path));
  }
  console.log(`\n${s.name} (${count} top-level branches, ${branches.length} analysis branches resolved)`);
  console.log(`  ours  file     ${fmt(rows.file)}`);
  console.log(`  ours  tree     ${fmt(rows.tree)}`);
  console.log(`  ours  branches ${fmt(rows.branch)}`);
  console.log(`  ours  total    ${fmt(rows.total)}`);
  console.log(`  ours  total CPU ${fmt(rows.cpu)}`);
  console.log(`  PhysliteFile.open + branches ${fmt(phys)}`);
  console.log(`  jsroot open + readObject     ${fmt(peer)}`);
  console.log(`  ratio (median)  jsroot / ours total = ${(stat(peer).median / stat(rows.total).median).toFixed(1)}x`);
}
