// `physlite synth` (shared/root/writer): files we write, read back by jsroot
// (an independent ROOT reader) and by our reader.
//
// Every synthetic file is generated here from the two PHYSLITE samples. The
// writer reports which source event each output entry was drawn from; jsroot
// on the source gives that event's values, so a written value is checked
// against the source value it came from: exactly for branches that are not
// jittered, within the jitter's bound (< 2^-11 relative, only low mantissa
// bits) for float branches. Our reader must give exactly what jsroot gives.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { synthesize, type SynthResult } from '../shared/root/writer/synth';
import { parseCompression } from '../shared/root/writer/compress';
import { rewriteTree } from '../shared/root/writer/tree-rewrite';
import { openRootFile, elementToPlain, RootError } from '../shared/root/index';
import { analyseFile } from '../shared/analysis/runner';
import { createAnalysis } from '../shared/analysis/registry';
import { main } from '../shared/cli/physlite';
import { UsageError } from '../shared/cli/usage';
import { samplePath } from '../scripts/lib/samples';
import { openOracle, type OracleTree, type Plain } from './support/jsroot-oracle';
import { jsrootReadPath } from './support/jsroot-path';
import { plainAnalysis, readPlainEvents, branchesOf, type Profile } from './support/plain-analysis';

const R21 = 'DAOD_PHYSLITE_21.2.108.0.art.pool.root';
const R22 = 'PHYSLITE_example.root';
const dir = mkdtempSync(path.join(tmpdir(), 'synth-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const sources = new Map<string, { path: string; oracle: OracleTree }>();
async function source(name: string) {
  let s = sources.get(name);
  if (!s) {
    const p = await samplePath(name);
    s = { path: p, oracle: await openOracle(new Uint8Array(readFileSync(p)), 'CollectionTree') };
    sources.set(name, s);
  }
  return s;
}

async function write(name: string, file: string, options: { events: number; codec: string; seed?: number; maxBasket?: number; basketsFrom?: number }): Promise<SynthResult> {
  const s = await source(name);
  return synthesize({
    source: s.path,
    out: path.join(dir, file),
    events: options.events,
    seed: options.seed ?? 42,
    compression: parseCompression(options.codec),
    autoFlush: 500,
    maxBasket: options.maxBasket ?? 131072,
    basketsFrom: options.basketsFrom,
    recordPicks: true,
  });
}

/** The analysis branches and every 40th other branch that holds data. */
function branchSelection(result: SynthResult, profile: Profile): string[] {
  const b = branchesOf(profile);
  const analysis = new Set<string>([...Object.values(b.electrons), ...Object.values(b.muons), ...Object.values(b.jets), ...Object.values(b.tracks), b.primaryVertexX]);
  const others = result.branches.map((x) => x.name).filter((n, i) => i % 40 === 0 && !analysis.has(n));
  return [...analysis, ...others];
}

/** a and b equal, except floats that may differ in their low mantissa bits (< 2^-11 relative). */
function closeInLowBits(a: Plain, b: Plain): boolean {
  if (typeof a === 'number' && typeof b === 'number') {
    if (Object.is(a, b)) return true;
    return Number.isFinite(a) && Math.sign(a) === Math.sign(b) && Math.abs(a - b) <= Math.abs(b) * 2 ** -11;
  }
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => closeInLowBits(x, b[i]!));
  return isDeepStrictEqual(a, b);
}

async function ourValues(file: string, branch: string, start?: number, stop?: number): Promise<Plain[]> {
  const f = await openRootFile(file);
  try {
    const t = await f.tree('CollectionTree');
    const { columns, entryStart, entryStop } = await t.read([branch], { entryStart: start, entryStop: stop });
    const col = columns.get(branch)!;
    return Array.from({ length: entryStop - entryStart }, (_, i) => elementToPlain(col, i) as Plain);
  } finally {
    await f.close();
  }
}

/** Checks a written file branch by branch against jsroot (on it and on the source). */
async function checkValues(name: string, result: SynthResult, profile: Profile): Promise<void> {
  const src = await source(name);
  const written = await openOracle(new Uint8Array(readFileSync(result.file)), 'CollectionTree');
  assert.equal(written.entries, result.events);
  const names = branchSelection(result, profile);
  const [mine, theirs] = [await written.readMany(names), await src.oracle.readMany(names)];
  const jittered = new Set(result.branches.filter((b) => b.jittered).map((b) => b.name));
  let changed = 0;
  let compared = 0;
  for (const n of names) {
    const w = mine.get(n);
    const s = theirs.get(n);
    if (s instanceof Error || s === undefined) continue; // jsroot cannot read this branch of the source either
    assert.ok(Array.isArray(w), `${n}: jsroot could not read the written file: ${(w as Error)?.message}`);
    compared++;
    for (let i = 0; i < result.events; i++) {
      const from: Plain = s[result.picks![i]!]!;
      if (jittered.has(n)) {
        assert.ok(closeInLowBits(w[i]!, from), `${n} entry ${i}: ${JSON.stringify(w[i])} is not source event ${result.picks![i]}'s ${JSON.stringify(from)} up to low bits`);
        if (!isDeepStrictEqual(w[i], from)) changed++;
      } else assert.deepEqual(w[i], from, `${n} entry ${i} (source event ${result.picks![i]})`);
    }
    assert.deepEqual(await ourValues(result.file, n), w, `${n}: our reader and jsroot differ`);
  }
  assert.ok(compared >= 20, `only ${compared} branches compared`);
  assert.ok(changed > 0, 'no float value was jittered');
}

describe('synth: TTree re-serialisation', () => {
  test('with nothing to change it gives back every source TTree record byte for byte', async () => {
    let trees = 0;
    for (const name of [R21, R22]) {
      const f = await openRootFile((await source(name)).path);
      try {
        for (const key of f.file.root.keys.filter((k) => k.className === 'TTree')) {
          const { data, keylen } = await f.file.readKeyObject(key);
          assert.ok(Buffer.from(rewriteTree(data, keylen, keylen, { branch: () => null })).equals(Buffer.from(data)), `${name} ${key.name};${key.cycle}`);
          trees++;
        }
      } finally {
        await f.close();
      }
    }
    assert.equal(trees, 18); // r21: 8 trees in two cycles and CollectionTree; r22: CollectionTree
  });
});

describe('synth: values read back by jsroot and by our reader', () => {
  for (const codec of ['zstd:5', 'zlib:1', 'lz4:4', 'lzma:6']) {
    test(`r22 sample, ${codec}, 1200 events`, async () => {
      const r = await write(R22, `r22-${codec.replace(':', '')}.root`, { events: 1200, codec });
      await checkValues(R22, r, 'r22');
      // the baskets carry the codec's block tag
      const f = await openRootFile(r.file);
      const basket = (await f.tree('CollectionTree')).tree.branch('AnalysisJetsAuxDyn.pt').baskets[0]!;
      const [raw] = await f.file.readRanges([{ offset: basket.seek, length: basket.bytes }]);
      await f.close();
      const v = Buffer.from(raw!.buffer, raw!.byteOffset, raw!.byteLength);
      const keylen = v.readInt16BE(14);
      const tag = { 'zstd:5': 'ZS', 'zlib:1': 'ZL', 'lz4:4': 'L4', 'lzma:6': 'XZ' }[codec]!;
      assert.equal(v.toString('latin1', keylen, keylen + 2), tag);
      assert.ok(v.readInt32BE(0) - keylen < v.readInt32BE(6), 'compressed: fNbytes - fKeylen < fObjlen');
    });
  }
  test('r21 sample, zstd:5, 1100 events, small baskets (split clusters)', async () => {
    const r = await write(R21, 'r21-small.root', { events: 1100, codec: 'zstd:5', maxBasket: 4096 });
    await checkValues(R21, r, 'r21');
  });
});

describe('synth: tree layout', () => {
  let r: SynthResult;
  before(async () => {
    r = await write(R22, 'layout.root', { events: 1234, codec: 'zstd:5', maxBasket: 8192 });
  });

  test('entries, cluster ranges, and baskets that never cross a cluster', async () => {
    const f = await openRootFile(r.file);
    try {
      const t = (await f.tree('CollectionTree')).tree;
      assert.equal(t.entries, 1234);
      assert.equal(t.autoFlush, 500);
      assert.deepEqual(t.clusterRangeEnd, [1233]);
      assert.deepEqual(t.clusters(), [
        { entryStart: 0, entryStop: 500 },
        { entryStart: 500, entryStop: 1000 },
        { entryStart: 1000, entryStop: 1234 },
      ]);
      let withBaskets = 0;
      let split = 0;
      for (const b of t.allBranches()) {
        assert.equal(b.entries, 1234, b.name);
        if (b.baskets.length === 0) continue;
        withBaskets++;
        assert.equal(b.baskets[0]!.entryStart, 0);
        assert.equal(b.baskets.at(-1)!.entryStop, 1234);
        for (const k of b.baskets) {
          const c = Math.floor(k.entryStart / 500);
          assert.ok(k.entryStop <= Math.min(1234, (c + 1) * 500), `${b.name}: basket ${k.index} [${k.entryStart}, ${k.entryStop}) crosses a cluster edge`);
        }
        if (b.baskets.length > 3) split++;
        // key bytes add up to the branch's totals
        assert.equal(b.zipBytes, b.compressedBytes, b.name);
      }
      assert.equal(withBaskets, r.branches.length);
      assert.ok(split > 0, 'no cluster was split at the 8192-byte maximum');
      assert.equal(t.zipBytes, r.branches.reduce((n, b) => n + b.zipBytes, 0));
      assert.equal(t.totBytes, r.branches.reduce((n, b) => n + b.totBytes, 0));
    } finally {
      await f.close();
    }
  });

  test('jsroot sees the same tree metadata', async () => {
    const o = await openOracle(new Uint8Array(readFileSync(r.file)), 'CollectionTree');
    const jt = o.jsrootTree as { fEntries: number; fAutoFlush: number; fClusterRangeEnd: ArrayLike<number>; fBranches: { arr: { fName: string; fWriteBasket: number; fBasketEntry: ArrayLike<number>; fBasketSeek: ArrayLike<number> }[] } };
    assert.equal(Number(jt.fEntries), 1234);
    assert.equal(Number(jt.fAutoFlush), 500);
    assert.deepEqual(Array.from(jt.fClusterRangeEnd, Number), [1233]);
    const f = await openRootFile(r.file);
    try {
      const t = (await f.tree('CollectionTree')).tree;
      for (const jb of jt.fBranches.arr.slice(0, 200)) {
        const b = t.branch(jb.fName);
        assert.equal(jb.fWriteBasket, b.baskets.length, jb.fName);
        assert.deepEqual(Array.from(jb.fBasketEntry, Number).slice(0, b.baskets.length + 1), [...b.baskets.map((k) => k.entryStart), ...(b.baskets.length ? [1234] : [])].concat(b.baskets.length ? [] : [1234]).slice(0, b.baskets.length + 1), jb.fName);
        assert.deepEqual(Array.from(jb.fBasketSeek, Number).slice(0, b.baskets.length), b.baskets.map((k) => k.seek), jb.fName);
      }
    } finally {
      await f.close();
    }
  });

  test('the same seed gives the same bytes; another seed other events', async () => {
    // the file name is written into the file: the same name in another folder
    mkdirSync(path.join(dir, 'again'));
    const again = await write(R22, 'again/layout.root', { events: 1234, codec: 'zstd:5', maxBasket: 8192 });
    const other = await write(R22, 'layout-other.root', { events: 1234, codec: 'zstd:5', maxBasket: 8192, seed: 43 });
    const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
    assert.equal(sha(again.file), sha(r.file));
    assert.notEqual(sha(other.file), sha(r.file));
    assert.notDeepEqual(Array.from(other.picks!), Array.from(r.picks!));
  });
});

describe('synth: the reference analysis on a synthetic file', () => {
  for (const [name, profile, events] of [[R22, 'r22', 1500], [R21, 'r21', 1100]] as const) {
    test(`${profile}: equals the plain per-event oracle on jsroot's values of the same file`, async () => {
      const r = await write(name, `analysis-${profile}.root`, { events, codec: 'zstd:5' });
      const o = await openOracle(new Uint8Array(readFileSync(r.file)), 'CollectionTree');
      const expected = plainAnalysis(await readPlainEvents(o, profile), profile);
      const { result } = await analyseFile(r.file, createAnalysis('reference'));
      // binning and counts are the contract, not histogram titles (as in analysis-oracle.test.ts)
      for (const [key, h] of Object.entries(expected.histograms)) {
        const g = result.histograms[key];
        if (g) Object.assign(h, { title: g.title, xLabel: g.xLabel });
      }
      assert.deepEqual(result, expected);
      assert.equal(result.eventsRead, events);
    });
  }
});

describe('synth: the other trees of the source', () => {
  test('r21: every tree is there with its entries and values', async () => {
    const r = await write(R21, 'r21-trees.root', { events: 600, codec: 'zlib:1' });
    const src = await openRootFile((await source(R21)).path);
    const out = await openRootFile(r.file);
    try {
      const names = await src.trees();
      assert.deepEqual((await out.trees()).sort(), names.sort());
      for (const n of names) {
        if (n === 'CollectionTree') continue;
        const [a, b] = [await src.tree(n), await out.tree(n)];
        assert.equal(b.tree.entries, a.tree.entries, n);
        const branch = [...a.tree.allBranches()].find((x) => x.baskets.length > 0)!;
        let ra;
        try {
          ra = await a.read([branch.name]);
        } catch (e) {
          if (e instanceof RootError && e.code === 'UNSUPPORTED') continue;
          throw e;
        }
        const rb = await b.read([branch.name]);
        assert.deepEqual(rb.columns.get(branch.name), ra.columns.get(branch.name), `${n}/${branch.name}`);
      }
    } finally {
      await src.close();
      await out.close();
    }
  });
});

describe('synth: a file past 2 GiB (64-bit layout)', () => {
  test('baskets and the TTree past 2^31 behind a sparse hole open in jsroot and in our reader', async () => {
    const r = await write(R22, 'large.root', { events: 700, codec: 'zstd:5', basketsFrom: 2 ** 31 + 4096 });
    assert.ok(r.large);
    assert.ok(statSync(r.file).size > 2 ** 31);
    const head = Buffer.alloc(8);
    const fd = openSync(r.file, 'r');
    readSync(fd, head, 0, 8, 0);
    closeSync(fd);
    assert.ok(head.readInt32BE(4) >= 1000000, 'header version marks the large format');
    const branch = 'AnalysisJetsAuxDyn.pt';
    const ours = await ourValues(r.file, branch, 450, 560);
    const { entries, values } = await jsrootReadPath(r.file, 'CollectionTree', branch, 450, 560);
    assert.equal(entries, 700);
    assert.deepEqual(values, ours);
    const src = await (await source(R22)).oracle.readMany([branch]);
    const s = src.get(branch) as Plain[];
    ours.forEach((v, i) => assert.ok(closeInLowBits(v, s[r.picks![450 + i]!]!), `entry ${450 + i}`));
  });
});

describe('synth: command line', () => {
  const run = async (args: string[]) => {
    let text = '';
    const out = { write: (s: string) => ((text += s), true) } as unknown as NodeJS.WritableStream;
    const code = await main(['synth', ...args], out);
    return { code, text };
  };

  test('writes a file and reports size, speed and the analysis branches', async () => {
    const file = path.join(dir, 'cli.root');
    const { code, text } = await run(['--from', (await source(R22)).path, '--events', '600', '--compression', 'zlib:1', '--seed', '5', '--out', file]);
    assert.equal(code, 0);
    assert.match(text, /600 events resampled from 100 \(seed 5\), 2 clusters of 500/);
    assert.match(text, /MB\/s of file/);
    assert.match(text, /AnalysisJetsAuxDyn\.pt .* analysis/);
    const f = await openRootFile(file);
    assert.equal((await f.tree('CollectionTree')).tree.entries, 600);
    await f.close();
  });

  test('--files K writes a dataset of K files with consecutive seeds', async () => {
    const file = path.join(dir, 'set', 'part.root');
    mkdirSync(path.dirname(file));
    const { code, text } = await run(['--from', (await source(R21)).path, '--events', '50', '--seed', '9', '--files', '3', '--compression', 'lz4:1', '--out', file]);
    assert.equal(code, 0);
    const names = ['part_0001.root', 'part_0002.root', 'part_0003.root'];
    names.forEach((n, i) => assert.match(text, new RegExp(`${n}: .* 50 events resampled from 40 \\(seed ${9 + i}\\)`)));
    const bytes = names.map((n) => readFileSync(path.join(dir, 'set', n)));
    assert.ok(!bytes[0]!.equals(bytes[1]!));
    for (const n of names) {
      const f = await openRootFile(path.join(dir, 'set', n));
      assert.equal((await f.tree('CollectionTree')).tree.entries, 50);
      await f.close();
    }
  });

  test('bad arguments give clear errors', async () => {
    const from = (await source(R22)).path;
    const out = path.join(dir, 'bad.root');
    await assert.rejects(run(['--events', '10', '--out', out]), (e: Error) => e instanceof UsageError && /--from/.test(e.message));
    await assert.rejects(run(['--from', from, '--out', out]), (e: Error) => e instanceof UsageError && /--events/.test(e.message));
    await assert.rejects(run(['--from', from, '--events', '0', '--out', out]), (e: Error) => e instanceof UsageError && /--events must be an integer ≥ 1/.test(e.message));
    await assert.rejects(run(['--from', from, '--events', '10', '--out', out, '--compression', 'gzip:5']), (e: Error) => e instanceof UsageError && /CODEC:LEVEL/.test(e.message));
    await assert.rejects(run(['--from', from, '--events', '10', '--out', out, '--compression', 'zstd:40']), (e: Error) => e instanceof UsageError && /level 40 is outside 1–22/.test(e.message));
    await assert.rejects(run(['--from', from, '--events', '10', '--out', out, '--max-basket', '100']), (e: Error) => e instanceof UsageError && /--max-basket/.test(e.message));
    await assert.rejects(run(['--from', from, '--events', '10', '--out', out, '--files', '0']), (e: Error) => e instanceof UsageError && /--files must be an integer ≥ 1/.test(e.message));
    await assert.rejects(run(['--from', from, '--events', '10', '--out', out, '--bogus']), (e: Error) => e instanceof UsageError && /bogus/.test(e.message));
    await assert.rejects(run(['--from', path.join(dir, 'missing.root'), '--events', '10', '--out', out]), (e: Error) => e instanceof RootError && e.code === 'SOURCE_NOT_FOUND');
    await assert.rejects(run(['--from', from, '--events', '10', '--out', out, '--tree', 'NoSuchTree']), (e: Error) => e instanceof RootError && e.code === 'NOT_FOUND');
  });
});
