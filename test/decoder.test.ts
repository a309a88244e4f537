// Differential tests of the decoder against jsroot, an independent reader:
// every branch jsroot can read decodes to exactly jsroot's values (floats
// compared bit for bit: isDeepStrictEqual uses SameValue, so -0 ≠ 0 and NaN
// equals only NaN). Plus the same tree in five compressions, entry ranges and
// cluster iteration against whole reads, and typed errors for bad requests.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { openRootFile, RootError, toPlainArray, type PlainValue, type RootFileHandle } from '../shared/root/index';
import { BufferSource } from '../shared/root/source';
import { openOracle, type Plain } from './support/jsroot-oracle';
import { sampleBytes } from '../scripts/lib/samples';
import { relayoutIntoSubdirectories } from './support/root-layout';
import { syntheticTreeFile, SYNTHETIC_ENTRIES, abValue, nValue, xValues } from './support/synthetic-tree';

async function open(name: string): Promise<RootFileHandle> {
  return openRootFile(new BufferSource(await sampleBytes(name), name));
}

function firstDifference(got: PlainValue[], want: Plain[]): string {
  if (got.length !== want.length) return `${got.length} entries, jsroot ${want.length}`;
  const i = got.findIndex((x, k) => !isDeepStrictEqual(x, want[k]));
  return `entry ${i}: ours ${JSON.stringify(got[i]).slice(0, 300)} jsroot ${JSON.stringify(want[i]).slice(0, 300)}`;
}

/**
 * Compares every branch of a tree with jsroot. Returns the counts; fails on
 * any branch jsroot reads that we do not decode identically, and on anything
 * but a RootError from us.
 */
async function compareTree(name: string, treeName: string, minEqual: number) {
  const bytes = await sampleBytes(name);
  const oracle = await openOracle(bytes, treeName);
  const file = await open(name);
  const tree = await file.tree(treeName);
  const ours = [...tree.tree.allBranches()].map((b) => b.name);
  assert.deepEqual([...new Set(ours)].sort(), [...new Set(oracle.branchNames)].sort(), 'same branch list as jsroot');
  const counts = { equal: 0, onlyOurs: 0, neither: 0 };
  const failures: string[] = [];
  for (const branch of new Set(oracle.branchNames)) {
    const want = await oracle.read(branch);
    let got: PlainValue[] | RootError;
    try {
      got = toPlainArray((await tree.read([branch])).columns.get(branch)!);
    } catch (e) {
      if (!(e instanceof RootError)) throw e;
      got = e;
    }
    if (want instanceof Error) {
      if (got instanceof RootError) counts.neither++;
      else counts.onlyOurs++;
      continue;
    }
    if (got instanceof RootError) failures.push(`${branch}: jsroot reads it, we fail: ${got.message}`);
    else if (!isDeepStrictEqual(got, want)) failures.push(`${branch}: ${firstDifference(got, want)}`);
    else counts.equal++;
  }
  assert.deepEqual(failures.slice(0, 10), [], `${failures.length} branches differ from jsroot`);
  assert.ok(counts.equal >= minEqual, `${counts.equal} branches compared equal, expected at least ${minEqual}`);
  console.log(`${name}: ${counts.equal} branches equal to jsroot, ${counts.onlyOurs} decoded that jsroot cannot read, ${counts.neither} read by neither`);
  return counts;
}

describe('differential: every branch jsroot reads', () => {
  test('DAOD_PHYSLITE_21.2.108.0 (r21): all branches', { timeout: 300_000 }, async () => {
    await compareTree('DAOD_PHYSLITE_21.2.108.0.art.pool.root', 'CollectionTree', 1300);
  });
  test('PHYSLITE_example (r22): all branches', { timeout: 300_000 }, async () => {
    await compareTree('PHYSLITE_example.root', 'CollectionTree', 1250);
  });
  test('uproot-vectorVectorDouble: vector<vector<double>>', async () => {
    const c = await compareTree('uproot-vectorVectorDouble.root', 't', 1);
    assert.equal(c.equal, 1);
  });
  test('uproot-small-evnt-tree-fullsplit: a fully split class with every member kind', async () => {
    const c = await compareTree('uproot-small-evnt-tree-fullsplit.root', 'tree', 43);
    assert.equal(c.onlyOurs + c.neither, 0);
  });
  test('uproot-HZZ-zlib: flat and jagged leaves', async () => {
    const c = await compareTree('uproot-HZZ-zlib.root', 'events', 51);
    assert.equal(c.equal, 51);
  });
});

describe('compressions', () => {
  test('the five uproot-HZZ files (zlib, lz4, lzma, zstd, uncompressed) decode to identical arrays', async () => {
    const names = ['zlib', 'lz4', 'lzma', 'zstd', 'uncompressed'].map((c) => `uproot-HZZ-${c}.root`);
    let reference: Map<string, PlainValue[]> | undefined;
    for (const name of names) {
      const tree = await (await open(name)).tree('events');
      const branches = [...tree.tree.allBranches()].map((b) => b.name);
      assert.equal(branches.length, 51);
      const { columns } = await tree.read(branches);
      const plain = new Map(branches.map((b) => [b, toPlainArray(columns.get(b)!)]));
      if (!reference) reference = plain;
      else for (const b of branches) assert.ok(isDeepStrictEqual(plain.get(b), reference.get(b)), `${name}: ${b} differs from the zlib file`);
    }
  });
});

describe('entry ranges and clusters', () => {
  test('reading [start, stop) equals slicing a whole read; cluster iteration covers every entry once', async () => {
    const tree = await (await open('DAOD_PHYSLITE_21.2.108.0.art.pool.root')).tree('CollectionTree');
    const names = ['AnalysisJetsAuxDyn.GhostTrack', 'AnalysisJetsAuxDyn.NumTrkPt500', 'AnalysisElectronsAuxDyn.pt', 'AnalysisMuonsAuxDyn.inDetTrackParticleLink', 'EventInfoAux.eventNumber', 'EventInfoAux.streamTagNames'];
    const whole = await tree.read(names);
    const plainWhole = new Map(names.map((n) => [n, toPlainArray(whole.columns.get(n)!)]));
    // GhostTrack has 19 baskets over 40 entries: ranges cut through baskets
    for (const [a, b] of [[0, 1], [3, 17], [26, 28], [39, 40], [0, 40], [12, 12]] as const) {
      const part = await tree.read(names, { entryStart: a, entryStop: b });
      for (const n of names) assert.ok(isDeepStrictEqual(toPlainArray(part.columns.get(n)!), plainWhole.get(n)!.slice(a, b)), `${n} [${a}, ${b})`);
    }
    const clusters = tree.tree.clusters();
    assert.deepEqual(clusters, [
      { entryStart: 0, entryStop: 27 },
      { entryStart: 27, entryStop: 40 },
    ]);
    const seen: Map<string, PlainValue[]> = new Map(names.map((n) => [n, []]));
    let next = 0;
    for await (const chunk of tree.iterate(names)) {
      assert.equal(chunk.entryStart, next);
      next = chunk.entryStop;
      for (const n of names) seen.get(n)!.push(...toPlainArray(chunk.columns.get(n)!));
    }
    assert.equal(next, 40);
    for (const n of names) assert.ok(isDeepStrictEqual(seen.get(n), plainWhole.get(n)), `${n} by cluster`);
    // an entry range past the end is clipped, an inverted one is an error
    assert.equal((await tree.read(names, { entryStart: 35, entryStop: 1000 })).entryStop, 40);
    await assert.rejects(tree.read(names, { entryStart: 5, entryStop: 2 }), (e: unknown) => e instanceof RootError && e.code === 'BAD_ARGUMENT');
  });

  test('the column shapes are typed arrays and offsets', async () => {
    const tree = await (await open('DAOD_PHYSLITE_21.2.108.0.art.pool.root')).tree('CollectionTree');
    const { columns } = await tree.read(['AnalysisElectronsAuxDyn.pt', 'AnalysisJetsAuxDyn.NumTrkPt500', 'AnalysisJetsAuxDyn.GhostTrack', 'AnalysisMuonsAuxDyn.inDetTrackParticleLink', 'EventInfoAux.eventNumber']);
    const pt = columns.get('AnalysisElectronsAuxDyn.pt')!;
    assert.ok(pt.kind === 'list' && pt.content.kind === 'numeric' && pt.content.values instanceof Float32Array && pt.offsets instanceof Int32Array);
    const ntrk = columns.get('AnalysisJetsAuxDyn.NumTrkPt500')!;
    assert.ok(ntrk.kind === 'list' && ntrk.content.kind === 'list' && ntrk.content.content.kind === 'numeric' && ntrk.content.content.values instanceof Int32Array);
    const ghost = columns.get('AnalysisJetsAuxDyn.GhostTrack')!;
    assert.ok(ghost.kind === 'list' && ghost.content.kind === 'list' && ghost.content.content.kind === 'record');
    assert.deepEqual(ghost.content.content.fields.map((f) => [f.name, f.content.kind === 'numeric' && f.content.values.constructor.name]), [
      ['m_persKey', 'Uint32Array'],
      ['m_persIndex', 'Uint32Array'],
    ]);
    const link = columns.get('AnalysisMuonsAuxDyn.inDetTrackParticleLink')!;
    assert.ok(link.kind === 'list' && link.content.kind === 'record');
    const ev = columns.get('EventInfoAux.eventNumber')!;
    assert.ok(ev.kind === 'numeric' && ev.values instanceof BigUint64Array);
  });
});

describe('bad requests', () => {
  test('a missing tree or branch is NOT_FOUND naming it; an interface container with data is UNSUPPORTED', async () => {
    const file = await open('PHYSLITE_example.root');
    await assert.rejects(file.tree('NoSuchTree'), (e: unknown) => e instanceof RootError && e.code === 'NOT_FOUND' && e.message.includes('NoSuchTree') && e.message.includes('PHYSLITE_example.root'));
    const tree = await file.tree('CollectionTree');
    await assert.rejects(tree.read(['AnalysisElectronsAuxDyn.ptt']), (e: unknown) => e instanceof RootError && e.code === 'NOT_FOUND' && /AnalysisElectronsAuxDyn\.ptt/.test(e.message));
  });
});

describe('file structure', () => {
  test('a large-file header, 64-bit directory keys and nested subdirectories lead to the same tree', async () => {
    const name = 'uproot-HZZ-zlib.root';
    const original = await open(name);
    const key = original.file.root.key('events');
    const moved = relayoutIntoSubdirectories(await sampleBytes(name), key, { seek: original.file.header.seekInfo, nbytes: original.file.header.nbytesInfo });
    const file = await openRootFile(new BufferSource(moved, 'relayout.root'));
    assert.ok(file.file.header.version >= 1000000, 'a large-file header');
    assert.deepEqual(await file.trees(), ['sub/inner/events']);
    assert.equal((await file.file.root.subdirectory('sub')).path, 'sub');
    const tree = await file.tree('sub/inner/events');
    const want = await (await original.tree('events')).read(['Muon_Px', 'NJet', 'MET_px']);
    const got = await tree.read(['Muon_Px', 'NJet', 'MET_px']);
    for (const b of ['Muon_Px', 'NJet', 'MET_px']) assert.ok(isDeepStrictEqual(toPlainArray(got.columns.get(b)!), toPlainArray(want.columns.get(b)!)), b);
    // jsroot reads the re-laid-out file too: the layout is real ROOT, not just what we expect
    const oracle = await openOracle(moved, 'sub/inner/events');
    assert.ok(isDeepStrictEqual(toPlainArray(got.columns.get('Muon_Px')!), await oracle.read('Muon_Px')));
    await assert.rejects(file.tree('sub/nope/events'), (e: unknown) => e instanceof RootError && e.code === 'NOT_FOUND' && /nope/.test(e.message));
    await assert.rejects(file.tree('sub'), (e: unknown) => e instanceof RootError && e.code === 'NOT_FOUND' && /not a TTree/.test(e.message));
  });
});

describe('embedded baskets', () => {
  test('a basket kept inside the TTree record is read after the on-disk ones', async () => {
    const bytes = syntheticTreeFile();
    const file = await openRootFile(new BufferSource(bytes, 'synthetic.root'));
    const tree = await file.tree('t');
    const n = tree.tree.branch('n');
    assert.deepEqual(
      n.baskets.map((b) => [b.entryStart, b.entryStop, b.embedded !== null]),
      [
        [0, 4, false],
        [4, 7, true],
      ],
    );
    const { columns } = await tree.read(['n', 'x']);
    const want = Array.from({ length: SYNTHETIC_ENTRIES }, (_, i) => i);
    assert.deepEqual(toPlainArray(columns.get('n')!), want.map(nValue));
    assert.deepEqual(toPlainArray(columns.get('x')!), want.map(xValues));
    // a range inside the embedded basket, and one across both
    assert.deepEqual(toPlainArray((await tree.read(['x'], { entryStart: 5, entryStop: 7 })).columns.get('x')!), [xValues(5), xValues(6)]);
    assert.deepEqual(toPlainArray((await tree.read(['x'], { entryStart: 2, entryStop: 6 })).columns.get('x')!), [2, 3, 4, 5].map(xValues));
  });

  test('a leaf list ("a/I:b/I") reads as a record with one field per leaf', async () => {
    const tree = await (await openRootFile(new BufferSource(syntheticTreeFile(), 'synthetic.root'))).tree('t');
    assert.equal(await tree.typeName(tree.tree.branch('ab')), '{a: int32, b: int32}');
    const { columns } = await tree.read(['ab']);
    assert.deepEqual(toPlainArray(columns.get('ab')!), Array.from({ length: SYNTHETIC_ENTRIES }, (_, i) => abValue(i)));
  });
});

describe('bad input gives typed errors naming what is wrong', () => {
  const name = 'PHYSLITE_example.root';
  const branch = 'AnalysisElectronsAuxDyn.pt';
  const expectError = async (p: Promise<unknown>, codes: string[], context: Record<string, unknown>) => {
    await assert.rejects(p, (e: unknown) => {
      assert.ok(e instanceof RootError, String(e));
      assert.ok(codes.includes(e.code), `${e.code}: ${e.message}`);
      for (const [k, v] of Object.entries(context)) assert.equal((e.context as Record<string, unknown>)[k], v, `${k} in ${e.message}`);
      return true;
    });
  };

  test('wrong magic, a truncated copy, an empty file', async () => {
    const bytes = await sampleBytes(name);
    const wrong = bytes.slice();
    wrong[0] = 0x78;
    await expectError(openRootFile(new BufferSource(wrong, 'wrong.root')), ['BAD_MAGIC'], { file: 'wrong.root' });
    await expectError(openRootFile(new BufferSource(bytes.slice(0, bytes.length >> 1), 'half.root')), ['TRUNCATED'], { file: 'half.root' });
    await expectError(openRootFile(new BufferSource(new Uint8Array(0), 'empty.root')), ['TRUNCATED'], { file: 'empty.root' });
  });

  test('a corrupted basket names its branch, basket and offset', async () => {
    const bytes = await sampleBytes(name);
    const tree = await (await openRootFile(new BufferSource(bytes, name))).tree('CollectionTree');
    const basket = tree.tree.branch(branch).baskets[0]!;
    const bad = bytes.slice();
    bad[basket.seek + basket.bytes - 20] ^= 0x55; // inside the deflate stream
    const badTree = await (await openRootFile(new BufferSource(bad, name))).tree('CollectionTree');
    await expectError(badTree.read([branch]), ['CHECKSUM', 'DECOMPRESSION'], { file: name, branch, basket: 0 });
    // the other branches are unaffected
    assert.ok((await badTree.read(['AnalysisElectronsAuxDyn.eta'])).columns.get('AnalysisElectronsAuxDyn.eta'));
    // a basket key that is not a TBasket
    const wrongKey = bytes.slice();
    const classAt = basket.seek + Buffer.from(bytes.subarray(basket.seek, basket.seek + 64)).indexOf('TBasket');
    wrongKey.set([0x58, 0x58, 0x58], classAt);
    await expectError((await (await openRootFile(new BufferSource(wrongKey, name))).tree('CollectionTree')).read([branch]), ['CORRUPT'], { branch, basket: 0 });
  });

  test('a basket pointing past the end of the file is TRUNCATED, naming branch and basket', async () => {
    const tree = await (await openRootFile(new BufferSource(await sampleBytes(name), name))).tree('CollectionTree');
    const basket = tree.tree.branch(branch).baskets[0]!;
    basket.seek = tree.file.size - 10;
    await expectError(tree.read([branch]), ['TRUNCATED'], { file: name, branch, basket: 0 });
  });

  test('a Double32_t packed with a range is refused, never decoded as a float', async () => {
    const { hasPackingRange } = await import('../shared/root/types');
    assert.equal(hasPackingRange('[0,100,16] energy'), true);
    assert.equal(hasPackingRange('[-pi,pi]'), true);
    assert.equal(hasPackingRange('energy [GeV]'), false);
    assert.equal(hasPackingRange(''), false);
  });
});
