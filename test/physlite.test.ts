// The PHYSLITE event model: collections grouped from branches, link keys
// (EventFormat and the computed StoreGate hash, checked against jsroot's
// reading of the file's EventFormat), link resolution, lazy reading, and the
// chunked reads that carry straddling baskets over.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PhysliteFile, PhysliteSchema, CollectionKeys, EventChunk, sgKey, CONTAINER_CLIDS } from '../shared/physlite/index';
import { RootError, toPlainArray, type Content } from '../shared/root/index';
import { BufferSource } from '../shared/root/source';
import { openOracle, type Plain } from './support/jsroot-oracle';
import { sampleBytes } from '../scripts/lib/samples';

const R21 = 'DAOD_PHYSLITE_21.2.108.0.art.pool.root';
const R22 = 'PHYSLITE_example.root';

async function open(name: string): Promise<PhysliteFile> {
  return PhysliteFile.open(new BufferSource(await sampleBytes(name), name));
}

describe('schema', () => {
  test('groups AuxDyn and Aux columns by collection, "Analysis" dropped, base classes and interface branches left out', async () => {
    for (const name of [R21, R22]) {
      const file = await open(name);
      const s = file.schema;
      assert.equal(s.branchOf('Electrons.pt'), 'AnalysisElectronsAuxDyn.pt');
      assert.equal(s.collection('Electrons')!.key, 'AnalysisElectrons');
      assert.equal(s.branchOf('Muons.inDetTrackParticleLink'), 'AnalysisMuonsAuxDyn.inDetTrackParticleLink');
      assert.equal(s.branchOf('InDetTrackParticles.qOverP'), 'InDetTrackParticlesAuxDyn.qOverP');
      assert.equal(s.branchOf('PrimaryVertices.x'), 'PrimaryVerticesAuxDyn.x');
      for (const c of s.collections.values()) {
        assert.ok(!c.name.startsWith('Analysis') || c.name === 'Analysis', c.name);
        for (const [field, branch] of c.fields) {
          assert.ok(!field.includes('::'), `${c.name}.${field}`);
          assert.ok(branch.startsWith(`${c.key}AuxDyn.`) || branch.startsWith(`${c.key}Aux.`), branch);
          assert.ok(file.tree.tree.hasBranch(branch), branch);
        }
      }
      // every AuxDyn branch of the file is a field of exactly one collection
      const fields = new Set([...s.collections.values()].flatMap((c) => [...c.fields.values()]));
      const dyn = [...file.tree.tree.allBranches()].filter((b) => !b.parent && b.name.includes('AuxDyn.')).map((b) => b.name);
      assert.deepEqual(dyn.filter((b) => !fields.has(b)), []);
      await file.close();
    }
  });

  test('static members of a split Aux store are fields too (r21 EventInfoAux.runNumber)', async () => {
    const file = await open(R21);
    assert.equal(file.schema.branchOf('EventInfo.runNumber'), 'EventInfoAux.runNumber');
    const chunk = await file.read(['EventInfo.runNumber'], { entryStart: 0, entryStop: 3 });
    const oracle = await openOracle(await sampleBytes(R21), 'CollectionTree');
    assert.deepEqual(toPlainArray(chunk.content('EventInfo.runNumber').content), ((await oracle.read('EventInfoAux.runNumber')) as Plain[]).slice(0, 3));
    await file.close();
  });

  test('from names alone', () => {
    const s = PhysliteSchema.fromBranches([{ name: 'AnalysisJetsAuxDyn.pt' }, { name: 'AnalysisJetsAux.' }, { name: 'AnalysisJetsAux.xAOD::AuxContainerBase', parent: 'AnalysisJetsAux.' }, { name: 'AnalysisJets' }, { name: 'EventInfoAuxDyn.mcEventWeights' }]);
    assert.deepEqual([...s.collections.keys()], ['Jets', 'EventInfo']);
    assert.deepEqual([...s.collection('Jets')!.fields], [['pt', 'AnalysisJetsAuxDyn.pt']]);
    assert.deepEqual(s.missing(['Jets.pt', 'Jets.eta', 'Muons.pt']), ['Jets.eta', 'Muons.pt']);
  });
});

describe('collection keys', () => {
  test('the computed StoreGate hash equals the hash in the r21 EventFormat (read by jsroot) for every track container', async () => {
    const meta = await openOracle(await sampleBytes(R21), 'MetaData');
    const ef = ((await meta.read('EventFormat')) as Plain[])[0] as { m_branchNames: string[]; m_classNames: string[]; m_branchHashes: number[] };
    const tracks = ef.m_branchNames.map((n, i) => ({ n, c: ef.m_classNames[i]!, h: ef.m_branchHashes[i]! })).filter((e) => e.c === 'DataVector<xAOD::TrackParticle_v1>');
    assert.ok(tracks.length >= 3, 'several track containers to check');
    for (const t of tracks) assert.equal(sgKey(t.n, CONTAINER_CLIDS[t.c]), t.h, t.n);
    assert.ok(tracks.some((t) => t.n === 'InDetTrackParticles' && t.h === 490246363));

    // our reading of EventFormat lists the same keys and hashes
    const file = await open(R21);
    assert.equal(file.keys.fromEventFormat, true);
    assert.equal(file.keys.keyOf(490246363), 'InDetTrackParticles', 'hashes resolve to names');
    assert.equal(file.keys.keyOf(12345), undefined);
    assert.deepEqual(
      file.keys.entries.map((e) => [e.key, e.hash]),
      ef.m_branchNames.map((n, i) => [n, ef.m_branchHashes[i]]),
    );
    await file.close();
  });

  test('a file without MetaData (r22) computes the key of InDetTrackParticles', async () => {
    const file = await open(R22);
    assert.equal(file.keys.fromEventFormat, false);
    assert.equal(file.keys.hashOf('InDetTrackParticles'), 490246363);
    assert.equal(file.keys.hashOf('NoSuchContainer'), undefined);
    await file.close();
  });
});

/** A chunk of hand-made columns: 3 events, muons linking into tracks. */
function linkChunk(keys: CollectionKeys): EventChunk {
  const u32 = (xs: number[]) => ({ kind: 'numeric', dtype: 'uint32', values: Uint32Array.from(xs) }) as Content;
  const f32 = (xs: number[]) => ({ kind: 'numeric', dtype: 'float32', values: Float32Array.from(xs) }) as Content;
  const list = (offsets: number[], content: Content) => ({ kind: 'list', offsets: Int32Array.from(offsets), content }) as Content;
  const H = 490246363;
  // event 0: 2 tracks, muons → track 1, empty link, track 2 (out of range)
  // event 1: 0 tracks, a muon → track 0 (out of range)
  // event 2: 1 track, muons → track 0, other collection's track 0
  const columns = new Map<string, Content>([
    ['InDetTrackParticlesAuxDyn.theta', list([0, 2, 2, 3], f32([1, 1, 1]))],
    [
      'AnalysisMuonsAuxDyn.inDetTrackParticleLink',
      list([0, 3, 4, 6], { kind: 'record', length: 6, fields: [{ name: 'm_persKey', content: u32([H, 0, H, H, H, 12345]) }, { name: 'm_persIndex', content: u32([1, 0, 2, 0, 0, 0]) }] }),
    ],
    ['AnalysisMuonsAuxDyn.pt', list([0, 3, 4, 6], f32([1, 2, 3, 4, 5, 6]))],
  ]);
  const schema = PhysliteSchema.fromBranches([...columns.keys()].map((name) => ({ name })));
  return new EventChunk(0, 3, columns, schema, keys, 'handmade');
}

describe('links and lazy columns', () => {
  test('ElementLinks resolve to the target object in the same event; empty, foreign and out-of-range links to -1', () => {
    const keys = new CollectionKeys([{ key: 'InDetTrackParticles', className: 'DataVector<xAOD::TrackParticle_v1>', hash: 490246363 }], true);
    const chunk = linkChunk(keys);
    assert.deepEqual([...chunk.resolveLinks('Muons.inDetTrackParticleLink', 'InDetTrackParticles')], [1, -1, -1, -1, 2, -1]);
    // a file whose EventFormat does not list the target: every link is empty
    assert.deepEqual([...linkChunk(new CollectionKeys([], true)).resolveLinks('Muons.inDetTrackParticleLink', 'InDetTrackParticles')], [-1, -1, -1, -1, -1, -1]);
    // without EventFormat the key is computed
    assert.deepEqual([...linkChunk(new CollectionKeys([], false)).resolveLinks('Muons.inDetTrackParticleLink', 'InDetTrackParticles')], [1, -1, -1, -1, 2, -1]);
  });

  test('inconsistent object counts within a collection are a CORRUPT error naming both branches', () => {
    const list = (offsets: number[], n: number) => ({ kind: 'list', offsets: Int32Array.from(offsets), content: { kind: 'numeric', dtype: 'float32', values: new Float32Array(n) } }) as Content;
    const columns = new Map<string, Content>([
      ['AnalysisJetsAuxDyn.pt', list([0, 2, 3], 3)],
      ['AnalysisJetsAuxDyn.eta', list([0, 1, 3], 3)],
    ]);
    const chunk = new EventChunk(10, 12, columns, PhysliteSchema.fromBranches([...columns.keys()].map((name) => ({ name }))), new CollectionKeys([], false));
    assert.throws(
      () => chunk.checkCollection('Jets'),
      (e: unknown) => e instanceof RootError && e.code === 'CORRUPT' && /AnalysisJetsAuxDyn\.eta has 1 objects in entry 10, AnalysisJetsAuxDyn\.pt has 2/.test(e.message),
    );
  });

  test('only declared columns are read; undeclared and missing ones are typed errors naming them', async () => {
    const file = await open(R22);
    const before = file.handle.source.stats.bytes;
    const chunk = await file.read(['Electrons.pt', 'Electrons.eta']);
    const basketBytes = ['AnalysisElectronsAuxDyn.pt', 'AnalysisElectronsAuxDyn.eta'].reduce((s, b) => s + file.tree.tree.branch(b).compressedBytes, 0);
    assert.equal(file.handle.source.stats.bytes - before, basketBytes, 'exactly the two branches’ baskets');
    assert.equal(chunk.objects('Electrons.pt').values.length, chunk.offsets('Electrons')[chunk.length]);
    assert.throws(() => chunk.objects('Electrons.phi'), (e: unknown) => e instanceof RootError && e.code === 'BAD_ARGUMENT' && /Electrons\.phi was not declared/.test(e.message));
    await assert.rejects(file.read(['Electrons.nonsense', 'Muons.pt']), (e: unknown) => e instanceof RootError && e.code === 'NOT_FOUND' && /Electrons\.nonsense \(branch AnalysisElectronsAuxDyn\.nonsense\)/.test(e.message));
    assert.throws(() => chunk.objectVectors('Electrons.pt'), (e: unknown) => e instanceof RootError && /not a vector per object/.test(e.message));
    await file.close();
  });
});

describe('chunked reading', () => {
  test('cluster by cluster decodes each basket once (baskets straddling a cluster edge are carried over) and equals one whole read', async () => {
    const file = await open(R21);
    const refs = ['Jets.pt', 'Jets.GhostTrack', 'Jets.NumTrkPt500', 'Muons.inDetTrackParticleLink'];
    const branches = refs.map((r) => file.schema.branchOf(r)!);
    let baskets = 0; // of the leaf-level branches, which hold the data
    for (const b of branches) for (const x of file.tree.tree.branch(b).walk()) if (x.branches.length === 0) baskets += x.baskets.length;
    assert.ok(file.chunkRanges().length >= 2, 'the r21 sample has two clusters');
    const before = file.tree.stats.baskets;
    const parts: Plain[][] = refs.map(() => []);
    for await (const chunk of file.chunks(refs)) refs.forEach((r, i) => parts[i]!.push(...(toPlainArray(chunk.content(r).content) as Plain[])));
    assert.equal(file.tree.stats.baskets - before, baskets, 'no basket decoded twice');
    const whole = await file.read(refs);
    refs.forEach((r, i) => assert.deepEqual(parts[i], toPlainArray(whole.content(r).content), r));
    // fixed-size chunks too
    const sizes: number[] = [];
    for await (const chunk of file.chunks(refs, { chunkEntries: 7 })) sizes.push(chunk.length);
    assert.deepEqual(sizes, [7, 7, 7, 7, 7, 5]);
    await file.close();
  });
});
