// Issue 13, checked from the issue text and the user docs only (a second
// engineer's tests): `physlite synth` run as a user runs it (the CLI), the
// file it writes read by jsroot (an independent reader) and by our reader,
// TTree/TBranch cluster metadata against --auto-flush and --max-basket,
// integers and links never jittered (each output event matched to its source
// event by eventNumber), determinism per seed, argument errors, corrupt ZSTD
// frames, remote open over HTTP ranges, and the reference analysis on a
// synthetic file against the plain per-event oracle on jsroot's values.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openRootFile, elementToPlain, RootError } from '../shared/root/index';
import { samplePath } from '../scripts/lib/samples';
import { openOracle, type OracleTree, type Plain } from './support/jsroot-oracle';
import { plainAnalysis, readPlainEvents } from './support/plain-analysis';
import { startRangeServer } from './support/range-server';
import { synthArgs, jsrootBranches, zstdFrameOf, xxh64, rootZstdRleBlock, type SynthOptions } from './support/issue13-files';

const BIN = fileURLToPath(new URL('../bin/physlite.js', import.meta.url));
const execFileP = promisify(execFile);
const R21 = 'DAOD_PHYSLITE_21.2.108.0.art.pool.root';
const R22 = 'PHYSLITE_example.root';
const dir = mkdtempSync(path.join(tmpdir(), 'issue13-review-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function physlite(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, [BIN, ...args], { maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

const written = new Map<string, Promise<string>>();
/** Runs `physlite synth` once per distinct argument set; the file's path. */
function synth(name: string, options: SynthOptions): Promise<string> {
  let p = written.get(name);
  if (!p) {
    p = (async () => {
      // The file's own name is stored in it: runs to compare byte for byte share a base name.
      const sub = path.join(dir, name);
      mkdirSync(sub);
      const out = path.join(sub, 'synth.root');
      const r = await physlite(...synthArgs(await samplePath(options.from), { ...options, out }));
      assert.equal(r.code, 0, `synth ${name}: ${r.stderr}`);
      return out;
    })();
    written.set(name, p);
  }
  return p;
}

async function ours(file: string, branches: string[]): Promise<Map<string, Plain[]>> {
  const f = await openRootFile(file);
  try {
    const t = await f.tree('CollectionTree');
    const { columns, entryStart, entryStop } = await t.read(branches);
    const out = new Map<string, Plain[]>();
    for (const b of branches) {
      const col = columns.get(b);
      assert.ok(col, `our reader: no column ${b}`);
      out.set(b, Array.from({ length: entryStop - entryStart }, (_, i) => elementToPlain(col, i) as Plain));
    }
    return out;
  } finally {
    await f.close();
  }
}

async function jsroot(file: string, branches: string[]): Promise<{ tree: OracleTree; values: Map<string, Plain[]> }> {
  const tree = await openOracle(readFileSync(file), 'CollectionTree');
  const got = await tree.readMany(branches);
  const values = new Map<string, Plain[]>();
  for (const b of branches) {
    const v = got.get(b);
    assert.ok(v && !(v instanceof Error), `jsroot could not read ${b}: ${v}`);
    values.set(b, v);
  }
  return { tree, values };
}

// r22 keeps the event numbers in EventInfoAuxDyn, r21 in EventInfoAux.
const eventInfo = (from: string) => (from === R21 ? 'EventInfoAux.' : 'EventInfoAuxDyn.');
const keyOf = (from: string) => `${eventInfo(from)}eventNumber`;
const integerBranches = (from: string) => [`${eventInfo(from)}runNumber`, `${eventInfo(from)}lumiBlock`, `${eventInfo(from)}bcid`, 'AnalysisMuonsAuxDyn.inDetTrackParticleLink', 'AnalysisJetsAuxDyn.NumTrkPt500'];
const FLOAT_BRANCHES = ['AnalysisMuonsAuxDyn.pt', 'AnalysisElectronsAuxDyn.eta', 'AnalysisJetsAuxDyn.pt'];
const KEY = keyOf(R22);

/** Every basket of every branch holds entries of one cluster; entries and basket bookkeeping agree. */
function checkClusters(tree: OracleTree, entries: number, autoFlush: number): { baskets: number; multiBasketClusters: number } {
  const t = tree.jsrootTree as { fEntries: number; fAutoFlush: number; fNClusterRange: number; fClusterRangeEnd: number[]; fClusterSize: number[]; fTotBytes: number; fZipBytes: number; fBranches: unknown };
  assert.equal(Number(t.fEntries), entries, 'TTree fEntries');
  assert.equal(Number(t.fAutoFlush), autoFlush, 'TTree fAutoFlush');
  // Any explicit cluster range must say the same cluster size.
  for (let i = 0; i < (t.fNClusterRange ?? 0); i++) assert.equal(Number(t.fClusterSize[i]), autoFlush, `fClusterSize[${i}]`);
  let baskets = 0;
  let multiBasketClusters = 0;
  let totBytes = 0;
  let zipBytes = 0;
  for (const b of jsrootBranches(t)) {
    totBytes += Number(b.fTotBytes);
    zipBytes += Number(b.fZipBytes);
    assert.equal(Number(b.fEntries), entries, `${b.fName}: fEntries`);
    const n = b.fWriteBasket;
    if (n === 0) continue;
    const starts = Array.from(b.fBasketEntry).slice(0, n + 1).map(Number);
    assert.equal(starts[0], 0, `${b.fName}: first basket starts at 0`);
    assert.equal(starts[n], entries, `${b.fName}: fBasketEntry[fWriteBasket] = entries`);
    const perCluster = new Map<number, number>();
    for (let k = 0; k < n; k++) {
      const [s, e] = [starts[k]!, starts[k + 1]!];
      assert.ok(e > s, `${b.fName} basket ${k}: empty range ${s}..${e}`);
      const cluster = Math.floor(s / autoFlush);
      assert.ok(e <= (cluster + 1) * autoFlush, `${b.fName} basket ${k}: entries ${s}..${e} cross a cluster boundary (${autoFlush})`);
      perCluster.set(cluster, (perCluster.get(cluster) ?? 0) + 1);
      assert.ok(Number(b.fBasketBytes[k]) > 0 && Number(b.fBasketSeek[k]) > 0, `${b.fName} basket ${k}: seek/bytes`);
      baskets++;
    }
    // A cluster begins a basket: every cluster start is some basket's start.
    for (let c = 0; c * autoFlush < entries; c++) assert.ok(starts.includes(c * autoFlush), `${b.fName}: no basket starts at cluster ${c}`);
    for (const count of perCluster.values()) if (count > 1) multiBasketClusters++;
  }
  assert.ok(totBytes > 0 && zipBytes > 0, 'branch byte counts');
  return { baskets, multiBasketClusters };
}

/** Output entry → source entry, from the eventNumber (unique in the source). */
function sourceOf(sourceKeys: Plain[], outKeys: Plain[]): number[] {
  const index = new Map<Plain, number>();
  sourceKeys.forEach((k, i) => index.set(k, i));
  assert.equal(index.size, sourceKeys.length, 'source eventNumbers are unique');
  return outKeys.map((k, i) => {
    const s = index.get(k);
    assert.ok(s !== undefined, `output entry ${i}: eventNumber ${k} is not a source event`);
    return s;
  });
}

function assertJittered(src: Plain[], out: Plain[], where: string): { equal: number; total: number } {
  let equal = 0;
  let total = 0;
  assert.equal(out.length, src.length, `${where}: length`);
  for (let i = 0; i < src.length; i++) {
    const a = src[i] as number;
    const b = out[i] as number;
    total++;
    if (Object.is(a, b)) {
      equal++;
      continue;
    }
    assert.ok(Math.abs(b - a) <= Math.abs(a) * 2 ** -10, `${where}[${i}]: ${b} is not ${a} jittered in its low bits`);
  }
  return { equal, total };
}

async function checkAgainstSource(file: string, from: string): Promise<void> {
  const KEY = keyOf(from);
  const INTEGER_BRANCHES = integerBranches(from);
  const branches = [KEY, ...INTEGER_BRANCHES, ...FLOAT_BRANCHES];
  const src = await jsroot(await samplePath(from), branches);
  const out = await jsroot(file, branches);
  const our = await ours(file, branches);
  for (const b of branches) assert.deepEqual(our.get(b), out.values.get(b), `${b}: our reader gives jsroot's values`);
  const map = sourceOf(src.values.get(KEY)!, out.values.get(KEY)!);
  for (const b of INTEGER_BRANCHES) {
    const s = src.values.get(b)!;
    const o = out.values.get(b)!;
    for (let i = 0; i < o.length; i++) assert.deepEqual(o[i], s[map[i]!], `${b}[${i}] = source event ${map[i]}`);
  }
  let equal = 0;
  let total = 0;
  for (const b of FLOAT_BRANCHES) {
    const s = src.values.get(b)!;
    const o = out.values.get(b)!;
    for (let i = 0; i < o.length; i++) {
      const r = assertJittered(s[map[i]!] as Plain[], o[i] as Plain[], `${b}[${i}]`);
      equal += r.equal;
      total += r.total;
    }
  }
  assert.ok(total > 20 && equal < total / 2, `floats jittered: ${equal} of ${total} unchanged`);
}

test('r22 source, zstd:5, --auto-flush 7, 23 events: clusters of 7, every basket inside one cluster, integers and links as in the source event, floats jittered, both readers agree', async () => {
  const file = await synth('r22-af7', { from: R22, events: 23, compression: 'zstd:5', autoFlush: 7, seed: 11 });
  const tree = await openOracle(readFileSync(file), 'CollectionTree');
  checkClusters(tree, 23, 7);
  await checkAgainstSource(file, R22);
});

test('r21 source, zlib:9, --auto-flush 500 with 40 events and --max-basket 2048: a big branch splits its cluster into several baskets, values still exact', async () => {
  const file = await synth('r21-mb2048', { from: R21, events: 40, compression: 'zlib:9', autoFlush: 500, maxBasket: 2048, seed: 2 });
  const tree = await openOracle(readFileSync(file), 'CollectionTree');
  const { multiBasketClusters } = checkClusters(tree, 40, 500);
  assert.ok(multiBasketClusters > 0, 'some branch needs several baskets for its one cluster at --max-basket 2048');
  await checkAgainstSource(file, R21);
  // The branches whose one cluster spans the most baskets, read across their basket boundaries.
  const split = jsrootBranches(tree.jsrootTree as never)
    .filter((b) => b.fWriteBasket > 1 && !b.fName.endsWith('.') && !(b.fBranches?.arr.length))
    .sort((x, y) => y.fWriteBasket - x.fWriteBasket)
    .slice(0, 3)
    .map((b) => b.fName);
  assert.ok(split.length > 0, 'some leaf branch has several baskets');
  const ref = await jsroot(file, split);
  const got = await ours(file, split);
  for (const b of split) assert.deepEqual(got.get(b), ref.values.get(b), `${b}: several baskets in one cluster`);
});

test('r22 source, --auto-flush 1, --events 1 and --events 3 (lz4:1): one event per cluster', async () => {
  const one = await synth('r22-one', { from: R22, events: 1, compression: 'lz4:1', autoFlush: 1, seed: 4 });
  checkClusters(await openOracle(readFileSync(one), 'CollectionTree'), 1, 1);
  const three = await synth('r22-three', { from: R22, events: 3, compression: 'lz4:1', autoFlush: 1, seed: 4 });
  checkClusters(await openOracle(readFileSync(three), 'CollectionTree'), 3, 1);
  await checkAgainstSource(three, R22);
});

test('every codec and a range of levels: jsroot and our reader give the same values', async () => {
  const branches = [KEY, 'AnalysisMuonsAuxDyn.pt', 'AnalysisMuonsAuxDyn.inDetTrackParticleLink', 'AnalysisJetsAuxDyn.pt'];
  for (const compression of ['zstd:1', 'zstd:19', 'zlib:1', 'lzma:1']) {
    const file = await synth(`codec-${compression.replace(':', '')}`, { from: R22, events: 3, compression, autoFlush: 2, seed: 8 });
    const ref = await jsroot(file, branches);
    const got = await ours(file, branches);
    for (const b of branches) assert.deepEqual(got.get(b), ref.values.get(b), `${compression} ${b}`);
  }
});

test('the same seed gives the same bytes; another seed different bytes', async () => {
  // Relative --out paths with one base name (the file records its name).
  const a = readFileSync(await synth('seed5a', { from: R22, events: 8, compression: 'zstd:3', autoFlush: 5, seed: 5 }));
  const b = readFileSync(await synth('seed5b', { from: R22, events: 8, compression: 'zstd:3', autoFlush: 5, seed: 5 }));
  const c = readFileSync(await synth('seed6', { from: R22, events: 8, compression: 'zstd:3', autoFlush: 5, seed: 6 }));
  assert.ok(a.equals(b), 'seed 5 twice: identical files');
  assert.ok(!a.equals(c), 'seed 5 and seed 6: different files');
});

test('bad arguments: a clear one-line error, exit 2 for usage and 1 for bad input, no stack trace', async () => {
  const r22 = await samplePath(R22);
  const out = path.join(dir, 'bad.root');
  const cases: { args: string[]; code: number; mention: RegExp }[] = [
    { args: ['--from', r22, '--events', '0', '--out', out], code: 2, mention: /events/ },
    { args: ['--from', r22, '--events', '-3', '--out', out], code: 2, mention: /events/ },
    { args: ['--from', r22, '--events', 'ten', '--out', out], code: 2, mention: /events/ },
    { args: ['--from', r22, '--events', '5', '--compression', 'zstd:99', '--out', out], code: 2, mention: /zstd|compression|level/ },
    { args: ['--from', r22, '--events', '5', '--compression', 'foo', '--out', out], code: 2, mention: /foo|compression/ },
    { args: ['--from', r22, '--events', '5', '--compression', 'zlib:', '--out', out], code: 2, mention: /zlib|compression|level/ },
    { args: ['--from', r22, '--events', '5', '--auto-flush', '0', '--out', out], code: 2, mention: /auto-flush/ },
    { args: ['--from', r22, '--events', '5', '--max-basket', '0', '--out', out], code: 2, mention: /max-basket/ },
    { args: ['--from', r22, '--events', '5'], code: 2, mention: /out/ },
    { args: ['--events', '5', '--out', out], code: 2, mention: /from/ },
    { args: ['--from', path.join(dir, 'missing.root'), '--events', '5', '--out', out], code: 1, mention: /missing\.root/ },
    { args: ['--from', await samplePath('uproot-HZZ-zlib.root'), '--events', '5', '--out', out], code: 1, mention: /CollectionTree|PHYSLITE|uproot-HZZ/ },
  ];
  for (const c of cases) {
    const r = await physlite('synth', ...c.args);
    const what = `synth ${c.args.join(' ')}`;
    assert.equal(r.code, c.code, `${what}: exit ${r.code}, stderr ${r.stderr}`);
    assert.match(r.stderr, c.mention, `${what}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /, `${what}: a stack trace`);
    assert.ok(!existsSync(out), `${what}: left a file behind`);
  }
});

test('a ZSTD frame whose content size disagrees with the basket header: a typed error naming the branch, never wrong values', async () => {
  const file = await synth('r22-af7', { from: R22, events: 23, compression: 'zstd:5', autoFlush: 7, seed: 11 });
  const bytes = readFileSync(file);
  const tree = await openOracle(bytes, 'CollectionTree');
  const name = 'AnalysisJetsAuxDyn.pt';
  const branch = jsrootBranches(tree.jsrootTree as never).find((b) => b.fName === name)!;
  // A basket that compression did not shrink is stored raw: take the first compressed one.
  const frame = Array.from({ length: branch.fWriteBasket }, (_, k) => zstdFrameOf(bytes, Number(branch.fBasketSeek[k]))).find((f) => f !== undefined);
  assert.ok(frame, `${name}: some basket is ZSTD-compressed`);
  assert.ok(frame.contentSizeOffset !== undefined, 'the frame declares its content size');
  const bad = Buffer.from(bytes);
  bad[frame.contentSizeOffset] = bad[frame.contentSizeOffset]! ^ 0x01;
  const badFile = path.join(dir, 'corrupt-fcs.root');
  writeFileSync(badFile, bad);
  await assert.rejects(ours(badFile, [name]), (e: unknown) => {
    assert.ok(e instanceof RootError, `a RootError, got ${e}`);
    assert.ok(['DECOMPRESSION', 'CORRUPT'].includes(e.code), `code ${e.code}`);
    assert.match(e.message, /AnalysisJetsAuxDyn\.pt/);
    assert.match(e.message, /basket/);
    return true;
  });
  // Garbage inside the compressed block: also refused (or, without a content
  // checksum, at least the other branches read fine) — never a crash.
  const bad2 = Buffer.from(bytes);
  const mid = frame.dataOffset + Math.floor((frame.end - frame.dataOffset) / 2);
  for (let i = 0; i < 8; i++) bad2[mid + i] = bad2[mid + i]! ^ 0xa5;
  const badFile2 = path.join(dir, 'corrupt-data.root');
  writeFileSync(badFile2, bad2);
  try {
    await ours(badFile2, [name]);
  } catch (e) {
    assert.ok(e instanceof RootError, `a RootError, got ${e}`);
    assert.match(e.message, /AnalysisJetsAuxDyn\.pt/);
  }
  const other = 'AnalysisMuonsAuxDyn.pt';
  assert.deepEqual((await ours(badFile2, [other])).get(other), (await jsroot(file, [other])).values.get(other));
});

test('remote open of a synthetic file over HTTP ranges: at most 3 requests before the first basket, values equal', async () => {
  const file = await synth('r22-af7', { from: R22, events: 23, compression: 'zstd:5', autoFlush: 7, seed: 11 });
  const server = await startRangeServer(file);
  try {
    const f = await openRootFile(server.url);
    try {
      const t = await f.tree('CollectionTree');
      assert.ok(server.requests <= 3, `${server.requests} requests before the first basket`);
      const name = 'AnalysisMuonsAuxDyn.pt';
      const { columns } = await t.read([name]);
      const col = columns.get(name)!;
      const got = Array.from({ length: 23 }, (_, i) => elementToPlain(col, i) as Plain);
      assert.deepEqual(got, (await jsroot(file, [name])).values.get(name));
    } finally {
      await f.close();
    }
  } finally {
    await server.close();
  }
});

test('the reference analysis (physlite run --json) on a synthetic file equals the plain per-event oracle on jsroot values', async () => {
  for (const [from, profile, events] of [[R22, 'r22', 120], [R21, 'r21', 80]] as const) {
    const file = await synth(`analysis-${profile}`, { from, events, compression: 'zstd:5', autoFlush: 100, seed: 21 });
    const r = await physlite('run', file, '--json');
    assert.equal(r.code, 0, r.stderr);
    const got = JSON.parse(r.stdout) as { profile: string; eventsRead: number; eventsKept: number; counts: unknown; cutflow: unknown; histograms: Record<string, { counts: number[]; nan?: number }> };
    const tree = await openOracle(readFileSync(file), 'CollectionTree');
    const expected = plainAnalysis(await readPlainEvents(tree, profile), profile);
    assert.equal(got.profile, profile);
    assert.equal(got.eventsRead, events);
    assert.equal(got.eventsKept, expected.eventsKept, `${profile}: events kept`);
    assert.deepEqual(got.counts, expected.counts, `${profile}: object counts`);
    assert.deepEqual(got.cutflow, expected.cutflow, `${profile}: cut-flow`);
    assert.deepEqual(Object.keys(got.histograms).sort(), Object.keys(expected.histograms).sort());
    for (const [h, e] of Object.entries(expected.histograms)) {
      assert.deepEqual(got.histograms[h]!.counts, e.counts, `${profile}: histogram ${h}`);
      assert.equal(got.histograms[h]!.nan ?? 0, e.nan ?? 0, `${profile}: histogram ${h} NaNs`);
    }
  }
});



/** Every branch jsroot reads: our reader gives exactly its values. */
async function compareEveryBranch(file: string): Promise<number> {
  const tree = await openOracle(readFileSync(file), 'CollectionTree');
  const all = await tree.readAll();
  const f = await openRootFile(file);
  let compared = 0;
  try {
    const t = await f.tree('CollectionTree');
    const seen = new Set<string>();
    for (let i = 0; i < tree.branches.length; i++) {
      const name = tree.branches[i]!.name;
      const expected = all[i]!;
      if (seen.has(name) || expected instanceof Error) continue; // jsroot reaches only the first of two same-named branches
      seen.add(name);
      const { columns, entryStart, entryStop } = await t.read([name]);
      const col = columns.get(name)!;
      assert.deepEqual(Array.from({ length: entryStop - entryStart }, (_, k) => elementToPlain(col, k) as Plain), expected, `${file}: ${name}`);
      compared++;
    }
  } finally {
    await f.close();
  }
  return compared;
}

test('every branch jsroot reads, at --max-basket 1024 (the smallest allowed: events bigger than a basket), equals our reader', async () => {
  const file = await synth('r22-mb1024', { from: R22, events: 10, compression: 'zstd:5', autoFlush: 4, maxBasket: 1024, seed: 9 });
  checkClusters(await openOracle(readFileSync(file), 'CollectionTree'), 10, 4);
  assert.ok((await compareEveryBranch(file)) > 1000, 'more than 1,000 branches compared');
});

test('r21 source: the other trees (MetaData, POOLContainer, ##Params, …) and the streamer infos are the source\'s', async () => {
  const file = await synth('r21-mb2048', { from: R21, events: 40, compression: 'zlib:9', autoFlush: 500, maxBasket: 2048, seed: 2 });
  const sourceBytes = readFileSync(await samplePath(R21));
  const outBytes = readFileSync(file);
  const src = (await openOracle(sourceBytes, 'CollectionTree')).jsrootTree as { $file: { fKeys: { fName: string; fClassName: string }[]; fStreamerInfos: { arr: { fName: string; fClassVersion: number; fCheckSum: number }[] } } };
  const out = (await openOracle(outBytes, 'CollectionTree')).jsrootTree as typeof src;
  const names = (keys: { fName: string; fClassName: string }[]) => [...new Set(keys.map((k) => `${k.fClassName}:${k.fName}`))].sort();
  assert.deepEqual(names(out.$file.fKeys), names(src.$file.fKeys), 'the same objects in the top directory');
  const infos = (f: typeof src.$file) => f.fStreamerInfos.arr.map((s) => `${s.fName} v${s.fClassVersion} ${s.fCheckSum}`).sort();
  assert.deepEqual(infos(out.$file), infos(src.$file), 'the same streamer infos');
  for (const name of ['MetaData', 'MetaDataHdr', 'POOLContainer', '##Params', '##Links', '##Shapes']) {
    const a = await openOracle(sourceBytes, name);
    const b = await openOracle(outBytes, name);
    assert.equal(b.entries, a.entries, `${name}: entries`);
    assert.deepEqual(b.branchNames, a.branchNames, `${name}: branches`);
    const [va, vb] = [await a.readAll(), await b.readAll()];
    let compared = 0;
    va.forEach((v, i) => {
      if (v instanceof Error) return;
      assert.deepEqual(vb[i], v, `${name}: ${a.branches[i]!.name}`);
      compared++;
    });
    assert.ok(compared > 0, `${name}: some branch compared`);
  }
});

test('a ZSTD basket with a content checksum: verified (a flipped data byte is a CHECKSUM error), content size and memory limit checked before allocating', async () => {
  const { decompressObject, zstdReady } = await import('../shared/root/compression');
  const { DEFAULT_LIMITS } = await import('../shared/root/errors');
  await zstdReady();
  // The XXH64 of the specification's test vectors, so the hand-built frames are right.
  assert.equal(xxh64(new Uint8Array(0)), 0xef46db3751d8e999n);
  assert.equal(xxh64(new TextEncoder().encode('a')), 0xd24ec4f1a98c6e5bn);
  assert.equal(xxh64(new TextEncoder().encode('abc')), 0x44bc2cf5ad770999n);
  const content = new Uint8Array(200).fill(0x41);
  const ctx = { file: 'hand.root', branch: 'Hand.branch', basket: 3 };
  const good = rootZstdRleBlock(0x41, 200);
  assert.deepEqual(Array.from(decompressObject(good, content.length, ctx)), Array.from(content), 'the hand-built frame decodes');
  const flipped = Uint8Array.from(good);
  flipped[9 + 9] ^= 0x10; // the RLE byte: 200 bytes of 0x51, whose checksum is not the one stored
  assert.throws(() => decompressObject(flipped, content.length, ctx), (e: unknown) => e instanceof RootError && e.code === 'CHECKSUM' && /Hand\.branch/.test(e.message) && /basket/.test(e.message));
  // The frame says 199 bytes, ROOT's header 200.
  const wrongSize = rootZstdRleBlock(0x41, 200, 199);
  assert.throws(() => decompressObject(wrongSize, content.length, ctx), (e: unknown) => e instanceof RootError && ['CORRUPT', 'DECOMPRESSION'].includes(e.code));
  // Over the memory limit: refused before decoding.
  assert.throws(() => decompressObject(good, content.length, ctx, { ...DEFAULT_LIMITS, maxObjectBytes: 100 }), (e: unknown) => e instanceof RootError && e.code === 'LIMIT');
});

test('--files 2 --seed 7 writes FILE_0001.root and FILE_0002.root, the same bytes as single runs with seeds 7 and 8', async () => {
  const sub = path.join(dir, 'files');
  mkdirSync(sub);
  const from = await samplePath(R22);
  const base = ['synth', '--from', from, '--events', '4', '--compression', 'lz4:1', '--auto-flush', '3'];
  const r = await physlite(...base, '--seed', '7', '--files', '2', '--out', path.join(sub, 'set.root'));
  assert.equal(r.code, 0, r.stderr);
  for (const [k, seed] of [[1, 7], [2, 8]] as const) {
    const name = `set_000${k}.root`;
    const single = path.join(sub, `seed${seed}`);
    mkdirSync(single);
    const s = await physlite(...base, '--seed', String(seed), '--out', path.join(single, name));
    assert.equal(s.code, 0, s.stderr);
    assert.ok(readFileSync(path.join(sub, name)).equals(readFileSync(path.join(single, name))), `${name} is seed ${seed}'s file`);
  }
  assert.ok(!existsSync(path.join(sub, 'set_0003.root')));
});
