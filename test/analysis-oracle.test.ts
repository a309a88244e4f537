// The reference analysis (shared/analysis/reference) against an independent
// oracle: a plain, per-event implementation of ../shared/ANALYSIS.md
// (test/support/plain-analysis.ts) run on values decoded by jsroot, not by our
// decoder. The two must give the same result to the last count: events,
// object counts, every histogram bin and the cut-flow, for both PHYSLITE
// samples, with the profile forced or chosen automatically, and for any
// chunking. A few events are also worked out by hand from their printed
// values, and single-event results must merge to the whole in any order.

import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { referenceAnalysis } from '../shared/analysis/reference/index';
import { analyseFile } from '../shared/analysis/runner';
import { mergeAll, mergeInto, mergeResults, type AnalysisResult } from '../shared/analysis/result';
import { CollectionKeys, EventChunk, PhysliteSchema } from '../shared/physlite/index';
import type { Content, Dtype, ListContent } from '../shared/root/index';
import { BufferSource } from '../shared/root/source/buffer';
import { sampleBytes } from '../scripts/lib/samples';
import { openOracle, type OracleTree } from './support/jsroot-oracle';
import { prng } from './support/prng';
import { addEvent, branchesOf, emptyPlainResult, eventFlags, plainAnalysis, readPlainEvents, IN_DET_TRACK_PARTICLES_KEY, type EventFlags, type Link, type PlainEvent, type Profile } from './support/plain-analysis';

const R21 = 'DAOD_PHYSLITE_21.2.108.0.art.pool.root';
const R22 = 'PHYSLITE_example.root';

interface Sample {
  name: string;
  profile: Profile;
  entries: number;
  bytes: Uint8Array;
  tree: OracleTree;
  events: PlainEvent[];
  flags: EventFlags[];
  oracle: AnalysisResult;
}

const samples = new Map<string, Sample>();

async function load(name: string, profile: Profile, entries: number): Promise<Sample> {
  const bytes = await sampleBytes(name);
  const tree = await openOracle(bytes, 'CollectionTree');
  assert.equal(tree.entries, entries, `${name}: entries`);
  const events = await readPlainEvents(tree, profile);
  const flags = events.map((e) => eventFlags(e, profile));
  return { name, profile, entries, bytes, tree, events, flags, oracle: plainAnalysis(events, profile) };
}

function sample(name: string): Sample {
  const s = samples.get(name);
  assert.ok(s, `${name} not loaded`);
  return s;
}

/** The implementation under test on a sample (or an entry range of it). */
async function underTest(s: Sample, options: { profile?: Profile; chunkEntries?: number; entryStart?: number; entryStop?: number } = {}): Promise<AnalysisResult> {
  const { profile, ...run } = options;
  const analysis = profile ? referenceAnalysis({ profile }) : referenceAnalysis();
  const { result } = await analyseFile(new BufferSource(s.bytes, s.name), analysis, run);
  return result;
}

/** The oracle's result of the events [start, stop). */
function oracleOf(s: Sample, start: number, stop: number): AnalysisResult {
  return plainAnalysis(s.events.slice(start, stop), s.profile);
}

/** `expected` with the histogram titles and axis labels of `got` (only binning and counts are the contract). */
function withTitlesOf(expected: AnalysisResult, got: AnalysisResult): AnalysisResult {
  const out = structuredClone(expected);
  for (const [name, h] of Object.entries(out.histograms)) {
    const g = got.histograms[name];
    if (g) {
      h.title = g.title;
      h.xLabel = g.xLabel;
    }
  }
  return out;
}

/** On a mismatch, the events whose single-event results differ, to say where to look. */
async function differingEvents(s: Sample, limit = 5): Promise<string> {
  const lines: string[] = [];
  for (let k = 0; k < s.entries && lines.length < limit; k++) {
    const got = await underTest(s, { profile: s.profile, entryStart: k, entryStop: k + 1 });
    const want = withTitlesOf(oracleOf(s, k, k + 1), got);
    if (!isDeepStrictEqual(got, want)) lines.push(`event ${k}: under test ${JSON.stringify(got.counts)} cutflow ${got.cutflow.map((c) => c.events)}; oracle ${JSON.stringify(want.counts)} cutflow ${want.cutflow.map((c) => c.events)}`);
  }
  return lines.length ? lines.join('\n') : '(every single event agrees: the difference is in chunking or merging)';
}

async function assertMatchesOracle(s: Sample, got: AnalysisResult, what: string): Promise<void> {
  const want = withTitlesOf(s.oracle, got);
  if (isDeepStrictEqual(got, want)) return;
  const where = await differingEvents(s);
  assert.deepStrictEqual(got, want, `${s.name} ${what}: the reference analysis disagrees with the oracle\n${where}`);
}

function summary(r: AnalysisResult): string {
  const c = r.counts;
  const row = (k: string) => `${k.padEnd(9)} baseline ${String(c[k]!.baseline).padStart(4)}  passOR ${String(c[k]!.passOR).padStart(4)}  signal ${String(c[k]!.signal).padStart(4)}`;
  return [
    `  profile ${r.profile}: events read ${r.eventsRead}, kept ${r.eventsKept}`,
    ...['Electrons', 'Muons', 'Jets'].map((k) => '  ' + row(k)),
    `  cut-flow: ${r.cutflow.map((s) => `${s.name} ${s.events}`).join(' | ')}`,
    `  histogram entries: ${Object.entries(r.histograms)
      .map(([n, h]) => `${n} ${h.counts.reduce((a, b) => a + b, 0) + h.nan}`)
      .join(', ')}`,
  ].join('\n');
}

before(async () => {
  samples.set(R21, await load(R21, 'r21', 40));
  samples.set(R22, await load(R22, 'r22', 100));
});

describe('reference analysis vs the plain jsroot oracle', () => {
  for (const name of [R21, R22]) {
    test(`${name}: forced and automatic profile, chunks of 1, 7 and the whole file, all equal the oracle`, async () => {
      const s = sample(name);
      console.log(`oracle, ${name}:\n${summary(s.oracle)}`);
      for (const profile of [s.profile, undefined]) {
        for (const chunkEntries of [1, 7, s.entries, undefined]) {
          const got = await underTest(s, { profile, chunkEntries });
          assert.equal(got.profile, s.profile, `profile chosen for ${name}`);
          await assertMatchesOracle(s, got, `profile ${profile ?? 'auto'}, chunkEntries ${chunkEntries ?? 'default'}`);
        }
      }
    });
  }

  test('the oracle is merge-consistent with itself: event-by-event sums equal one pass', () => {
    for (const s of [sample(R21), sample(R22)]) {
      const parts = s.events.map((e) => {
        const r = emptyPlainResult(s.profile);
        addEvent(r, e, s.profile);
        return r;
      });
      assert.deepStrictEqual(mergeAll(parts), s.oracle, s.name);
    }
  });
});

describe('the comparison is meaningful', () => {
  test('jsroot reads the muon links the same through the link branch and through its two member branches', async () => {
    for (const s of [sample(R21), sample(R22)]) {
      const link = branchesOf(s.profile).muons.inDetTrackParticleLink;
      const m = await s.tree.readMany([`${link}.m_persKey`, `${link}.m_persIndex`]);
      const keys = m.get(`${link}.m_persKey`) as number[][];
      const indices = m.get(`${link}.m_persIndex`) as number[][];
      assert.ok(Array.isArray(keys) && Array.isArray(indices), `${s.name}: member branches read`);
      s.events.forEach((e, i) => {
        assert.deepStrictEqual(
          e.muons.map((mu) => [mu.inDetTrackParticleLink.m_persKey, mu.inDetTrackParticleLink.m_persIndex]),
          keys[i]!.map((k, j) => [k, indices[i]![j]]),
          `${s.name} event ${i}`,
        );
      });
    }
  });

  test('r21: baseline muons; jets removed by muons (OR steps 1/4) and by electrons (step 2); muons removed by jets (step 5)', () => {
    const s = sample(R21);
    const jets = s.flags.flatMap((f) => f.jets);
    const removedByMuons = jets.filter((j) => (j.baseline && !j.passORAfterStep1) || (j.passORAfterStep2 && !j.passOR)).length;
    const removedByElectrons = jets.filter((j) => j.passORAfterStep1 && !j.passORAfterStep2).length;
    const muons = s.flags.flatMap((f) => f.muons);
    const muonsRemoved = muons.filter((m) => m.baseline && !m.passOR).length;
    const c = s.oracle.counts;
    console.log(`r21: ${c.Muons!.baseline} baseline muons, ${muonsRemoved} removed by jets; jets removed by muons ${removedByMuons}, by electrons ${removedByElectrons}; electrons baseline ${c.Electrons!.baseline}, passOR ${c.Electrons!.passOR}`);
    assert.ok(c.Muons!.baseline! > 0, 'some muons are baseline');
    assert.ok(muons.some((m) => !m.baseline), 'some muons are not baseline');
    assert.ok(removedByMuons > 0, 'some jets fail OR because of muons');
    assert.ok(removedByElectrons > 0, 'some jets fail OR because of electrons');
    assert.ok(muonsRemoved > 0, 'some baseline muons fail OR');
    assert.ok(c.Muons!.signal! > 0 && c.Muons!.signal! < c.Muons!.baseline!, 'signal muons: some, not all');
    assert.ok(c.Jets!.signal! > 0 && c.Jets!.signal! < c.Jets!.baseline!, 'signal jets: some, not all');
    assert.ok(c.Electrons!.signal! > 0 && c.Electrons!.signal! < c.Electrons!.baseline!, 'signal electrons: some, not all');
  });

  test('r22: baseline electrons and jets, an electron removed by a jet (step 3), no muon above 6 GeV', () => {
    const s = sample(R22);
    const c = s.oracle.counts;
    const maxMuonPt = Math.max(0, ...s.events.flatMap((e) => e.muons.map((m) => m.pt)));
    console.log(`r22: electrons baseline ${c.Electrons!.baseline}, passOR ${c.Electrons!.passOR}; jets baseline ${c.Jets!.baseline}, passOR ${c.Jets!.passOR}; highest muon pt ${maxMuonPt} MeV`);
    assert.ok(c.Electrons!.baseline! > 0, 'baseline electrons');
    assert.ok(c.Jets!.baseline! > 0, 'baseline jets');
    assert.ok(c.Electrons!.passOR! < c.Electrons!.baseline!, 'some electrons fail OR');
    assert.ok(c.Jets!.passOR! < c.Jets!.baseline!, 'some jets fail OR');
    assert.ok(maxMuonPt > 0 && maxMuonPt < 6000, 'muons exist, none above 6 GeV');
    assert.equal(c.Muons!.baseline, 0);
    // the r22 jet vertex tagger is a char flag with both values present
    const jvt = new Set(s.events.flatMap((e) => e.jets.map((j) => j.jvt)));
    assert.ok(jvt.has(0) && jvt.has(1), `NNJvtPass values ${[...jvt]}`);
  });

  test('histograms are filled, and OR removes pairs', () => {
    for (const s of [sample(R21), sample(R22)]) {
      const h = s.oracle.histograms;
      const n = (k: string) => h[k]!.counts.reduce((a, b) => a + b, 0) + h[k]!.nan;
      assert.ok(n('dR_electron_jet_preOR') > n('dR_electron_jet_postOR') && n('dR_electron_jet_postOR') > 0, s.name);
      assert.equal(n('pt_electrons_passOR'), s.oracle.counts.Electrons!.passOR);
      assert.equal(n('pt_muons_passOR'), s.oracle.counts.Muons!.passOR);
      assert.equal(n('pt_jets_passOR'), s.oracle.counts.Jets!.passOR);
    }
  });
});

// ---------------------------------------------------------------------------
// Events worked out by hand from their printed jsroot values (MeV; dR computed
// with a calculator from the printed eta/phi). The numbers below come from that
// reasoning, not from either program.

interface HandCheck {
  counts: AnalysisResult['counts'];
  cutflow: number[];
  /** Some histogram slots (index into counts: 0 underflow, 1 + bin) and their expected contents. */
  slots?: Record<string, Record<number, number>>;
  /** Expected total entries per histogram (the rest must be empty). */
  entries: Record<string, number>;
}

function assertHandCheck(r: AnalysisResult, want: HandCheck, what: string): void {
  assert.equal(r.eventsRead, 1, what);
  assert.equal(r.eventsKept, want.cutflow[1], what);
  assert.deepStrictEqual(r.counts, want.counts, `${what}: counts`);
  assert.deepStrictEqual(
    r.cutflow.map((c) => c.events),
    want.cutflow,
    `${what}: cut-flow`,
  );
  for (const [name, n] of Object.entries(want.entries)) {
    const h = r.histograms[name]!;
    assert.equal(h.counts.reduce((a, b) => a + b, 0) + h.nan, n, `${what}: entries of ${name}`);
  }
  for (const [name, slots] of Object.entries(want.slots ?? {})) {
    for (const [slot, n] of Object.entries(slots)) assert.equal(r.histograms[name]!.counts[Number(slot)], n, `${what}: ${name} slot ${slot}`);
  }
}

const zero = { baseline: 0, passOR: 0, signal: 0 };

describe('hand-checked events', () => {
  async function check(name: string, k: number, want: HandCheck): Promise<void> {
    const s = sample(name);
    assertHandCheck(oracleOf(s, k, k + 1), want, `${name} event ${k}, oracle`);
    assertHandCheck(await underTest(s, { entryStart: k, entryStop: k + 1 }), want, `${name} event ${k}, reference analysis`);
  }

  test('r21 event 29: a baseline muon inside a jet removes the jet by the particle-flow rule (step 1) and survives', async () => {
    // 1 primary vertex, 3 ID tracks.
    // Muon: pt 47252.6, eta -0.46906, phi -1.05889, DFCommonGoodMuon 1, link (490246363, 1): index 1 < 3
    //   → ID track qOverP -1.90e-5, theta 2.0235 → baseline (pt > 6000, |eta| < 2.7).
    //   signal: |eta| < 2.5, topoetcone20/pt = 1739.6/47252.6 = 0.037 < 0.3, ptvarcone30/pt = 1279.6/47252.6 = 0.027 < 0.15 → signal.
    // Jets (pt MeV, eta, Jvt): j0 78674 2.120 0.999 | j1 51021 -0.494 1.0 | j2 50694 1.808 0.978 | j3 23811 1.243 0.986 |
    //   j4 26781 2.489 0.907 | j5 20806 1.623 0.998 | j6 31247 1.174 0.148 | j7..j12 all below 20000.
    //   baseline (pt >= 20000): j0..j6 = 7.
    //   passJvt: j0 (pt >= 60000), j1, j2, j3, j5 (Jvt > 0.2, |eta| < 2.4), j4 (|eta| >= 2.4), j7..12 (pt < 20000); j6 fails (Jvt 0.148).
    //   signal (baseline, passJvt, |eta| < 4.5): j0..j5 = 6.
    // Step 1: dR(j1, mu) = sqrt(0.0245^2 + 0.0077^2) = 0.0257 < 0.4. j1 NumTrkPt500[0] = 2 < 4 → y0 = 15000;
    //   iso = topoetcone40 = 5086.9 < 15000 → req true → j1 removed. Every other jet is more than 2.5 away in dR.
    // Step 2/3: no electrons. Step 4: jets with NumTrkPt500[0] < 3 still passing: j6 (2); the muon is at
    //   dR 2.69 from it and j6 has no keyed ghost tracks → kept.
    // Step 5: boosted cone 10000/47252.6 + 0.04 = 0.252; the jets with baseline, passOR and passJvt (j0, j2..j5)
    //   are all at dR > 2.5; keyed ghosts: j0 [0], j3 [2]; the muon's index is 1 (that was j1's ghost) → muon passes OR.
    // Jets passing OR: j0, j2, j3, j4, j5, j6 = 6; signal and passing OR: j0, j2..j5 → the last cut-flow step passes.
    await check(R21, 29, {
      counts: { Electrons: zero, Muons: { baseline: 1, passOR: 1, signal: 1 }, Jets: { baseline: 7, passOR: 6, signal: 6 } },
      cutflow: [1, 1, 1, 1, 1, 1],
      entries: { dR_electron_jet_preOR: 0, dR_electron_jet_postOR: 0, pt_electrons_passOR: 0, pt_muons_passOR: 1, pt_jets_passOR: 6 },
      // muon 47.25 GeV: bin floor(47.25/5) = 9 → slot 10; jets 78.7, 50.7, 23.8, 26.8, 20.8, 31.2 GeV in 10-GeV bins:
      // slots 8, 6, 3 (23.8, 26.8, 20.8), 4.
      slots: { pt_muons_passOR: { 10: 1 }, pt_jets_passOR: { 8: 1, 6: 1, 3: 3, 4: 1 } },
    });
  });

  test('r21 event 23: a soft non-isolated muon near a jet is removed by the jet (step 5); the jet stays (step 1 req false)', async () => {
    // 1 primary vertex, 3 ID tracks.
    // Muon: pt 9513.3, eta 1.23776, phi 2.02624, DFCommonGoodMuon 1, link (490246363, 1) → ID track
    //   qOverP -5.5403e-5, theta 0.56457 → idPt = sin(0.56457)/5.5403e-5 = 9657.6. Baseline.
    //   signal: topoetcone20/pt = 9714.1/9513.3 = 1.02 > 0.3 → not signal.
    // Jets: j0 55319 (eta 0.593, Jvt 0.968), j1 36045 (1.358, 0.990), j2 28584 (-1.009, 0.993),
    //   j3 32689 (1.747, 0.970), j4 20760 (1.954, 0.996): all baseline, all passJvt, all |eta| < 4.5 → 5 signal.
    // Step 1: dR(j1, mu) = sqrt(0.1203^2 + 0.1071^2) = 0.161 < 0.4. j1 NumTrkPt500[0] = 6 >= 4 →
    //   (x1, x2, y0, y1, y2) = (0.6, 0.9, 5000, 5000, 30000); iso = topoetcone40 = 11488.2 (not < 5000);
    //   r = 9657.6 / SumPtTrkPt500[0] 25739.9 = 0.375; y0 + 25000/0.3 * (0.375 - 0.6) = -13734 (iso not below);
    //   r not > 0.9 → req false → j1 kept. The other jets are at dR > 2.5.
    // Step 4: NumTrkPt500[0] = 4, 6, 4, 8, 6: none < 3 → no jet removed.
    // Step 5: boosted cone min(10000/9513.3 + 0.04, 0.4) = 0.4; dR(mu, j1) = 0.161 < 0.4 (and j1's keyed ghosts
    //   [1, 2] hold the muon's track index 1) → muon fails OR.
    // Cut-flow: a baseline lepton, but no lepton passing OR.
    await check(R21, 23, {
      counts: { Electrons: zero, Muons: { baseline: 1, passOR: 0, signal: 0 }, Jets: { baseline: 5, passOR: 5, signal: 5 } },
      cutflow: [1, 1, 1, 0, 0, 0],
      entries: { dR_electron_jet_preOR: 0, dR_electron_jet_postOR: 0, pt_electrons_passOR: 0, pt_muons_passOR: 0, pt_jets_passOR: 5 },
    });
  });

  test('r21 event 3: an electron inside a jet removes the jet (step 2) and survives (step 3); it is not isolated', async () => {
    // 1 primary vertex, no muons.
    // Electron: pt 30130.4, eta 1.60995, phi 1.27462, LHLooseBL 1 → baseline (pt > 7000, |eta| < 2.47).
    //   signal: LHTight 1 but topoetcone20/pt = 6773.4/30130.4 = 0.225 >= 0.2 (and ptvarcone20_TightTTVA_pt1000/pt
    //   = 7761.4/30130.4 = 0.258 >= 0.15) → not signal.
    // Jets: j0 89791 (eta 1.590, phi 1.368), j1 89487 (1.799, -1.703), j2 66386 (1.618, 0.329): baseline,
    //   pt >= 60000 → passJvt, |eta| < 4.5 → signal: 3. j3 12239, j4 16452: not baseline.
    // Step 2: dR(j0, e) = sqrt(0.0200^2 + 0.0930^2) = 0.0951 < 0.2 → j0 removed. dR(j1, e) = 2.98, dR(j2, e) = 0.945.
    // Step 3: boosted cone 10000/30130.4 + 0.04 = 0.372; remaining passOR+passJvt jets j1, j2 are farther → electron passes OR.
    // Step 4: NumTrkPt500[0] = 11 for j0..j2; no muons anyway.
    // Histograms: preOR dR for all 5 (electron, jet) pairs: 0.095 (slot 1), 2.98 (slot 30), 0.945 (slot 10),
    //   4.03 (slot 41, j3 at eta -1.221 phi -2.144), 2.82 (slot 29, j4 at eta -0.794 phi -0.208);
    //   postOR: electron with j1 and j2 → slots 30 and 10.
    // Cut-flow: a baseline lepton, passing OR, but not signal → stops after step 4.
    await check(R21, 3, {
      counts: { Electrons: { baseline: 1, passOR: 1, signal: 0 }, Muons: zero, Jets: { baseline: 3, passOR: 2, signal: 3 } },
      cutflow: [1, 1, 1, 1, 0, 0],
      entries: { dR_electron_jet_preOR: 5, dR_electron_jet_postOR: 2, pt_electrons_passOR: 1, pt_muons_passOR: 0, pt_jets_passOR: 2 },
      slots: {
        dR_electron_jet_preOR: { 1: 1, 10: 1, 29: 1, 30: 1, 41: 1 },
        dR_electron_jet_postOR: { 10: 1, 30: 1 },
        // electron 30.13 GeV → bin 6 → slot 7; jets 89.5 and 66.4 GeV → slots 9 and 7
        pt_electrons_passOR: { 7: 1 },
        pt_jets_passOR: { 9: 1, 7: 1 },
      },
    });
  });

  test('r22 event 37: an electron just outside the jet cone of step 2 is removed by the jet (boosted cone, step 3)', async () => {
    // 16 primary vertices, no muons.
    // Electron: pt 16296.7, eta -2.35789, phi -2.59169, LHLooseBL 1, |eta| < 2.47 → baseline.
    //   signal: LHTight 1, topoetcone20/pt = 1097.1/16296.7 = 0.067 < 0.2,
    //   ptvarcone30_Nonprompt_All_MaxWeightTTVALooseCone_pt1000 = 0 → 0 < 0.15 → signal.
    // Jets: j0 113629 (eta -2.129, phi -2.394), j1 88368 (-4.050), j2 35006 (-2.633), j3 25025 (-0.589, NNJvtPass 1):
    //   all baseline; passJvt: j0, j1 (pt >= 60000), j2 (|eta| >= 2.4), j3 (NNJvtPass 1); all |eta| < 4.5 → 4 signal.
    // Step 2: dR(j0, e) = sqrt(0.2285^2 + 0.1977^2) = 0.302, not < 0.2 → j0 kept (others are far).
    // Step 3: boosted cone min(10000/16296.7 + 0.04, 0.4) = min(0.654, 0.4) = 0.4; 0.302 < 0.4 and j0 passes OR and JVT
    //   → the electron fails OR.
    // Step 4: j1, j2 have NumTrkPt500[0] = 0 < 3 but there is no baseline muon → jets keep passOR.
    // Cut-flow: a baseline lepton, but none passing OR.
    await check(R22, 37, {
      counts: { Electrons: { baseline: 1, passOR: 0, signal: 1 }, Muons: zero, Jets: { baseline: 4, passOR: 4, signal: 4 } },
      cutflow: [1, 1, 1, 0, 0, 0],
      entries: { dR_electron_jet_preOR: 4, dR_electron_jet_postOR: 0, pt_electrons_passOR: 0, pt_muons_passOR: 0, pt_jets_passOR: 4 },
      // dR(e, j0) = 0.302 → bin 3 → slot 4
      slots: { dR_electron_jet_preOR: { 4: 1 } },
    });
  });
});

// ---------------------------------------------------------------------------

describe('merging single-event results', () => {
  test('r21: 40 single-event results merge to the one-chunk result in forward, reverse, shuffled and tree order', async () => {
    const s = sample(R21);
    const whole = await underTest(s, { chunkEntries: s.entries });
    const parts: AnalysisResult[] = [];
    for (let k = 0; k < s.entries; k++) parts.push(await underTest(s, { entryStart: k, entryStop: k + 1 }));
    assert.ok(parts.every((p) => p.eventsRead === 1));

    assert.deepStrictEqual(mergeAll(parts), whole, 'forward');
    assert.deepStrictEqual(mergeAll([...parts].reverse()), whole, 'reverse');
    for (const seed of [1, 2, 3]) {
      const random = prng(seed);
      const shuffled = [...parts];
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
      }
      assert.deepStrictEqual(mergeAll(shuffled), whole, `shuffled, seed ${seed}`);
    }
    const tree = (xs: AnalysisResult[]): AnalysisResult => (xs.length === 1 ? xs[0]! : mergeResults(tree(xs.slice(0, Math.ceil(xs.length / 2))), tree(xs.slice(Math.ceil(xs.length / 2)))));
    assert.deepStrictEqual(tree(parts), whole, 'tree');
    // uneven groups: sums of runs of 3, then merged
    const groups: AnalysisResult[] = [];
    for (let k = 0; k < parts.length; k += 3) groups.push(mergeAll(parts.slice(k, k + 3)));
    assert.deepStrictEqual(mergeAll(groups.reverse()), whole, 'groups of 3, reversed');
    // and each single event equals the oracle's single event
    for (let k = 0; k < s.entries; k++) assert.deepStrictEqual(parts[k], withTitlesOf(oracleOf(s, k, k + 1), parts[k]!), `event ${k}`);
  });
});

// ---------------------------------------------------------------------------
// Synthetic events: the samples never drop an event (every one has a primary
// vertex), never remove a jet in OR step 4, never lack NumTrkPt500[0] and have
// no baseline muon in r22. So the sample events are also perturbed at random
// (muons and electrons moved onto jets, flags flipped, values put on the cut
// edges, links emptied or pointed elsewhere, ghost links to muon tracks,
// vertices removed, a few NaNs) and fed, as a columnar chunk, to the
// reference analysis's own process() and to the oracle.

const f32 = Math.fround;

/** One event changed at random; every float goes through float32, as the columns store it. */
function perturb(src: PlainEvent, random: () => number, profile: Profile): PlainEvent {
  const r = random;
  const pick = <T>(xs: T[]): T | undefined => (xs.length ? xs[Math.floor(r() * xs.length)] : undefined);
  const e: PlainEvent = structuredClone(src);
  if (r() < 0.1) e.primaryVertexX = [];
  for (const t of e.tracks) if (r() < 0.02) t.qOverP = 0;
  const near = (x: { eta: number; phi: number }, width: number) => {
    const j = pick(e.jets);
    if (!j) return;
    x.eta = f32(j.eta + (r() - 0.5) * width);
    x.phi = f32(j.phi + (r() - 0.5) * width); // may leave [-pi, pi): dphi must wrap
  };
  const someLink = (): Link => {
    const u = r();
    if (u < 0.1) return { m_persKey: 0, m_persIndex: Math.floor(r() * 5) };
    if (u < 0.2) return { m_persKey: 339503174, m_persIndex: 0 };
    if (u < 0.3) return { m_persKey: IN_DET_TRACK_PARTICLES_KEY, m_persIndex: e.tracks.length + Math.floor(r() * 3) };
    return { m_persKey: IN_DET_TRACK_PARTICLES_KEY, m_persIndex: Math.floor(r() * Math.max(1, e.tracks.length)) };
  };

  // extra muons and electrons, made from jets
  for (const j of e.jets) {
    if (r() < 0.15) e.muons.push({ pt: f32(j.pt * r()), eta: j.eta, phi: j.phi, quality: 1, topoetcone20: f32(r() * 5000), ptvarcone30: f32(r() * 3000), topoetcone40: f32(r() * 30000), inDetTrackParticleLink: someLink() });
    if (r() < 0.1) e.electrons.push({ pt: f32(j.pt * r()), eta: j.eta, phi: j.phi, LHLooseBL: 1, LHTight: r() < 0.5 ? 1 : 0, topoetcone20: f32(r() * 5000), eiso: f32(r() * 3000) });
  }

  for (const m of e.muons) {
    if (r() < 0.4) m.pt = f32(2000 + r() * 60000);
    if (r() < 0.05) m.pt = 6000;
    if (r() < 0.2) m.quality = m.quality === 1 ? 0 : 1;
    if (r() < 0.4) near(m, 0.8);
    if (r() < 0.05) m.eta = f32(r() < 0.5 ? 2.6 : -2.5);
    if (r() < 0.01) m.eta = NaN;
    if (r() < 0.4) m.inDetTrackParticleLink = someLink();
    if (r() < 0.5) m.topoetcone40 = f32(r() * 40000);
    if (r() < 0.3) m.topoetcone20 = f32(r() * 0.5 * m.pt);
    if (r() < 0.3) m.ptvarcone30 = f32(r() * 0.3 * m.pt);
  }
  for (const el of e.electrons) {
    if (r() < 0.3) el.pt = f32(3000 + r() * 50000);
    if (r() < 0.05) el.pt = 7000;
    if (r() < 0.2) el.LHLooseBL = el.LHLooseBL === 1 ? 0 : 1;
    if (r() < 0.2) el.LHTight = el.LHTight === 1 ? 0 : 1;
    if (r() < 0.4) near(el, 1.0);
    if (r() < 0.05) el.eta = f32(r() < 0.5 ? 2.47 : -2.46);
    if (r() < 0.01) el.phi = NaN;
    if (r() < 0.3) el.topoetcone20 = f32(r() * 0.4 * el.pt);
    if (r() < 0.3) el.eiso = f32(r() * 0.3 * el.pt);
  }
  const muonTracks = e.muons.map((m) => m.inDetTrackParticleLink.m_persIndex);
  for (const j of e.jets) {
    if (r() < 0.2) j.pt = f32(15000 + r() * 55000);
    if (r() < 0.05) j.pt = r() < 0.5 ? 20000 : 60000;
    if (r() < 0.05) j.eta = f32(r() < 0.5 ? 2.4 : -4.5);
    if (r() < 0.01) j.eta = NaN;
    if (profile === 'r21') {
      if (r() < 0.2) j.jvt = r() < 0.2 ? f32(0.2) : f32(r() * 0.4);
    } else if (r() < 0.2) j.jvt = j.jvt === 1 ? 0 : 1;
    if (r() < 0.05) {
      j.NumTrkPt500 = [];
      j.SumPtTrkPt500 = [];
    } else {
      if (r() < 0.5 && j.NumTrkPt500.length) j.NumTrkPt500[0] = Math.floor(r() * 7);
      if (r() < 0.3 && j.SumPtTrkPt500.length) j.SumPtTrkPt500[0] = r() < 0.1 ? 0 : f32(r() * 60000);
    }
    if (r() < 0.3 && muonTracks.length) {
      const u = r();
      const key = u < 0.2 ? 0 : u < 0.3 ? 339503174 : IN_DET_TRACK_PARTICLES_KEY;
      j.GhostTrack.splice(Math.floor(r() * (j.GhostTrack.length + 1)), 0, { m_persKey: key, m_persIndex: pick(muonTracks)! });
    }
  }
  return e;
}

function numericList(perEvent: number[][], dtype: Dtype): ListContent {
  const offsets = new Int32Array(perEvent.length + 1);
  perEvent.forEach((xs, i) => (offsets[i + 1] = offsets[i]! + xs.length));
  const flat = perEvent.flat();
  const values = dtype === 'float32' ? Float32Array.from(flat) : dtype === 'int8' ? Int8Array.from(flat) : dtype === 'int32' ? Int32Array.from(flat) : Float64Array.from(flat);
  return { kind: 'list', offsets, content: { kind: 'numeric', dtype, values } };
}

function linkList(perEvent: Link[][]): ListContent {
  const offsets = new Int32Array(perEvent.length + 1);
  perEvent.forEach((xs, i) => (offsets[i + 1] = offsets[i]! + xs.length));
  const flat = perEvent.flat();
  const field = (name: keyof Link): { name: string; content: Content } => ({ name, content: { kind: 'numeric', dtype: 'uint32', values: Uint32Array.from(flat, (l) => l[name]) } });
  return { kind: 'list', offsets, content: { kind: 'record', length: flat.length, fields: [field('m_persKey'), field('m_persIndex')] } };
}

/** Wraps per-object contents (one element per object over the whole chunk) into per-event lists. */
function perEvent(counts: number[], inner: ListContent): ListContent {
  const offsets = new Int32Array(counts.length + 1);
  counts.forEach((n, i) => (offsets[i + 1] = offsets[i]! + n));
  return { kind: 'list', offsets, content: inner };
}

/** The events as the columns of one chunk, typed as the samples store them. */
function toChunk(events: PlainEvent[], profile: Profile): { chunk: EventChunk; schema: PhysliteSchema } {
  const b = branchesOf(profile);
  const columns = new Map<string, Content>();
  const scalar = <T>(branch: string, objects: (e: PlainEvent) => T[], value: (o: T) => number, dtype: Dtype) => columns.set(branch, numericList(events.map((e) => objects(e).map(value)), dtype));
  for (const [field, branch] of Object.entries(b.electrons)) scalar(branch, (e) => e.electrons, (o) => o[field as keyof typeof b.electrons], field.startsWith('LH') ? 'int8' : 'float32');
  for (const [field, branch] of Object.entries(b.muons)) {
    if (field === 'inDetTrackParticleLink') columns.set(branch, linkList(events.map((e) => e.muons.map((m) => m.inDetTrackParticleLink))));
    else scalar(branch, (e) => e.muons, (o) => o[field as Exclude<keyof typeof b.muons, 'inDetTrackParticleLink'>], field === 'quality' ? 'int8' : 'float32');
  }
  for (const field of ['pt', 'eta', 'phi', 'jvt'] as const) scalar(b.jets[field], (e) => e.jets, (o) => o[field], field === 'jvt' && profile === 'r22' ? 'int8' : 'float32');
  const jetCounts = events.map((e) => e.jets.length);
  const jets = events.flatMap((e) => e.jets);
  columns.set(b.jets.NumTrkPt500, perEvent(jetCounts, numericList(jets.map((j) => j.NumTrkPt500), 'int32')));
  columns.set(b.jets.SumPtTrkPt500, perEvent(jetCounts, numericList(jets.map((j) => j.SumPtTrkPt500), 'float32')));
  columns.set(b.jets.GhostTrack, perEvent(jetCounts, linkList(jets.map((j) => j.GhostTrack))));
  for (const [field, branch] of Object.entries(b.tracks)) scalar(branch, (e) => e.tracks, (o) => o[field as keyof typeof b.tracks], 'float32');
  columns.set(b.primaryVertexX, numericList(events.map((e) => e.primaryVertexX), 'float32'));

  const schema = PhysliteSchema.fromBranches([...columns.keys()].map((name) => ({ name })));
  const keys = new CollectionKeys([{ key: 'InDetTrackParticles', className: 'DataVector<xAOD::TrackParticle_v1>', hash: IN_DET_TRACK_PARTICLES_KEY }], true);
  return { chunk: new EventChunk(0, events.length, columns, schema, keys, `synthetic-${profile}`), schema };
}

/** The reference analysis on a chunk, totalled the way the runner does it. */
function processChunk(chunk: EventChunk, schema: PhysliteSchema, profile?: Profile): AnalysisResult {
  const analysis = profile ? referenceAnalysis({ profile }) : referenceAnalysis();
  const prepared = analysis.prepare(schema, chunk.fileName);
  const total = analysis.empty();
  total.profile = prepared.profile;
  mergeInto(total, prepared.process(chunk));
  return total;
}

describe('perturbed sample events, as synthetic chunks', () => {
  for (const [name, profile] of [
    [R21, 'r21'],
    [R22, 'r22'],
  ] as const) {
    test(`${profile}: the reference analysis equals the oracle on perturbed events of ${name}`, () => {
      const s = sample(name);
      // the unperturbed events, through this path too
      const plain = toChunk(s.events, profile);
      assert.deepStrictEqual(processChunk(plain.chunk, plain.schema, profile), withTitlesOf(s.oracle, processChunk(plain.chunk, plain.schema, profile)), 'unperturbed');

      const totals = { dropped: 0, step4: 0, noNumTrk: 0, muonsRemoved: 0, electronsRemoved: 0, baselineMuons: 0 };
      for (const seed of [11, 12, 13, 14, 15, 16, 17, 18]) {
        const random = prng(seed);
        const events = s.events.map((e) => perturb(e, random, profile));
        const { chunk, schema } = toChunk(events, profile);
        const got = processChunk(chunk, schema, seed % 2 ? profile : undefined);
        const want = withTitlesOf(plainAnalysis(events, profile), got);
        if (!isDeepStrictEqual(got, want)) {
          const lines: string[] = [];
          for (let k = 0; k < events.length && lines.length < 3; k++) {
            const one = toChunk([events[k]!], profile);
            const g = processChunk(one.chunk, one.schema, profile);
            const w = withTitlesOf(plainAnalysis([events[k]!], profile), g);
            if (!isDeepStrictEqual(g, w)) lines.push(`event ${k}: ${JSON.stringify(events[k])}\n  under test ${JSON.stringify(g.counts)} ${g.cutflow.map((c) => c.events)}\n  oracle     ${JSON.stringify(w.counts)} ${w.cutflow.map((c) => c.events)}`);
          }
          assert.deepStrictEqual(got, want, `seed ${seed}: the reference analysis disagrees with the oracle\n${lines.join('\n')}`);
        }
        for (const e of events) {
          const f = eventFlags(e, profile);
          if (!f.kept) totals.dropped++;
          totals.step4 += f.jets.filter((j) => j.passORAfterStep2 && !j.passOR).length;
          totals.noNumTrk += e.jets.filter((j, i) => j.NumTrkPt500.length === 0 && f.jets[i]!.baseline).length;
          totals.muonsRemoved += f.muons.filter((m) => m.baseline && !m.passOR).length;
          totals.baselineMuons += f.muons.filter((m) => m.baseline).length;
          totals.electronsRemoved += f.electrons.filter((x) => x.baseline && !x.passOR).length;
        }
      }
      console.log(`${profile} perturbed: ${JSON.stringify(totals)}`);
      // the perturbations reach the rules the samples do not
      assert.ok(totals.dropped > 0 && totals.step4 > 0 && totals.noNumTrk > 0 && totals.muonsRemoved > 0 && totals.electronsRemoved > 0 && totals.baselineMuons > 0, JSON.stringify(totals));
    });
  }
});
