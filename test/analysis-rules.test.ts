// Each rule of the reference analysis (../shared/ANALYSIS.md), checked on
// small hand-made events (./support/event-builder.ts). Every expected number
// is worked out by hand from the spec, in the comments beside it; nothing is
// taken from the implementation.
//
// Flags are written [baseline, passOR, signal] per collection:
//   e = Electrons, m = Muons, j = Jets (counts over kept events).
//
// Floats are stored as float32 and compared in double: at an edge c that
// float32 cannot hold, f32Below(c) / f32Above(c) are the float32 values just
// inside / outside. dR is computed in double from the float32 eta/phi, so an
// object at (eta d, phi 0) next to one at (0, 0) is at dR exactly d.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { referenceAnalysis, type Profile } from '../shared/analysis/reference/index';
import { mergeAll, type AnalysisResult, type Histogram } from '../shared/analysis/result';
import { buildChunk, f32Above, f32Below, nextUp32, EMPTY_LINK, TRACK_KEY, trackWithPt, type BuildOptions, type EventSpec, type JetSpec, type MuonSpec } from './support/event-builder';

type Flags = [baseline: number, passOR: number, signal: number];
interface AllFlags {
  e: Flags;
  m: Flags;
  j: Flags;
}

function run(events: EventSpec[], profile: Profile = 'r21', options: BuildOptions = {}): AnalysisResult {
  const chunk = buildChunk(events, { profile, ...options });
  const prepared = referenceAnalysis({ profile }).prepare(chunk.schema, chunk.fileName);
  assert.equal(prepared.profile, profile);
  return prepared.process(chunk);
}

function flagsOf(r: AnalysisResult): AllFlags {
  const f = (c: string): Flags => [r.counts[c]?.baseline ?? NaN, r.counts[c]?.passOR ?? NaN, r.counts[c]?.signal ?? NaN];
  return { e: f('Electrons'), m: f('Muons'), j: f('Jets') };
}

/** Runs the events and checks the flag counts (collections not named: all zero). */
function expectFlags(events: EventSpec[], expected: Partial<AllFlags>, profile: Profile = 'r21', options: BuildOptions = {}): AnalysisResult {
  const r = run(events, profile, options);
  assert.deepEqual(flagsOf(r), { e: expected.e ?? [0, 0, 0], m: expected.m ?? [0, 0, 0], j: expected.j ?? [0, 0, 0] });
  return r;
}

/** The spec's dR on float32-stored inputs, for checking the geometry a test builds (not the implementation). */
function specDR(eta1: number, phi1: number, eta2: number, phi2: number): number {
  const f = Math.fround;
  let dphi = f(phi1) - f(phi2);
  while (dphi >= Math.PI) dphi -= 2 * Math.PI;
  while (dphi < -Math.PI) dphi += 2 * Math.PI;
  const deta = f(eta1) - f(eta2);
  return Math.sqrt(deta * deta + dphi * dphi);
}

function total(h: Histogram): number {
  return h.counts.reduce((a, b) => a + b, 0) + h.nan;
}

/** bins + 2 slots, with one count in each of `slots` (0 underflow, bins + 1 overflow). */
function slotCounts(bins: number, slots: number[]): number[] {
  const c = new Array<number>(bins + 2).fill(0);
  for (const s of slots) c[s]!++;
  return c;
}

// A muon that never passes the particle-flow rule of step 1 against a jet with the
// builder's default NumTrkPt500 [10] / SumPtTrkPt500 [100000]: nTrk 10 → (0.6, 0.9, 5000, 5000, 30000);
// iso 40000 ≥ 5000; r = idPt / 100000 = 0.2 → line 5000 + 83333 * (0.2 - 0.6) < 0; r ≤ 0.9 → req false.
// With NumTrkPt500 [2] or [3] (x1 0.7, x2 0.85, y0 15000): iso ≥ 15000, line < 0, r ≤ 0.85 → req false too.
const NON_PFLOW: MuonSpec = { pt: 20000, topoetcone40: 40000 };

// ================================================================ selection

describe('electron selection', () => {
  test('baseline needs pt > 7000: pt 7000 fails, the next float32 (7000.00048828125) passes', () => {
    expectFlags([{ electrons: [{ pt: 7000 }, { pt: nextUp32(7000) }] }], { e: [1, 1, 1] });
  });

  test('baseline needs |eta| < 2.47: the float32 "2.47" (2.4700000286…) fails, the float32 below passes, both signs', () => {
    assert.ok(Math.fround(2.47) > 2.47);
    const out = f32Above(2.47);
    const inside = f32Below(2.47);
    expectFlags([{ electrons: [{ eta: out }, { eta: -out }, { eta: inside }, { eta: -inside }] }], { e: [2, 2, 2] });
  });

  test('baseline needs LHLooseBL == 1; signal needs LHTight == 1', () => {
    // looseBL 0: not baseline (so not signal); tight 0: baseline, not signal; default: both
    expectFlags([{ electrons: [{ looseBL: 0 }, { tight: 0 }, {}] }], { e: [2, 2, 1] });
  });

  test('signal needs topoetcone20 / pt < 0.2', () => {
    // pt 40000: 8000/40000 = 0.2 (the double nearest 1/5, the same as the literal) → not < 0.2;
    // the float32 below 8000 → < 0.2; a negative isolation (-4000/40000 = -0.1) passes
    assert.equal(8000 / 40000, 0.2);
    expectFlags([{ electrons: [{ pt: 40000, topoetcone20: 8000 }, { pt: 40000, topoetcone20: f32Below(8000) }, { pt: 40000, topoetcone20: -4000 }] }], { e: [3, 3, 2] });
  });

  test('signal needs eiso / pt < 0.15 (r21 ptvarcone20_TightTTVA_pt1000)', () => {
    assert.equal(6000 / 40000, 0.15);
    expectFlags([{ electrons: [{ pt: 40000, eiso: 6000 }, { pt: 40000, eiso: f32Below(6000) }] }], { e: [2, 2, 1] });
  });

  test('IEEE rules: NaN fails every comparison, x/Infinity is 0', () => {
    expectFlags(
      [
        {
          electrons: [
            { pt: NaN }, // NaN > 7000 false → not baseline
            { eta: NaN }, // |NaN| < 2.47 false → not baseline
            { pt: 40000, topoetcone20: NaN }, // baseline; NaN/pt < 0.2 false → not signal
            { pt: 40000, eiso: Infinity }, // baseline; Inf/pt < 0.15 false → not signal
            { pt: 0 }, // 0 > 7000 false → not baseline (0/0 = NaN would fail the ratios too)
            { pt: -40000 }, // not baseline
            { pt: Infinity }, // baseline; 0/Inf = 0 < 0.2 and < 0.15 → signal
          ],
        },
      ],
      { e: [3, 3, 1] },
    );
  });
});

describe('muon selection', () => {
  test('baseline needs pt > 6000: 6000 fails, the next float32 passes', () => {
    expectFlags([{ muons: [{ pt: 6000 }, { pt: nextUp32(6000) }] }], { m: [1, 1, 1] });
  });

  test('baseline needs |eta| < 2.7, signal |eta| < 2.5', () => {
    assert.ok(Math.fround(2.7) > 2.7);
    expectFlags(
      [
        {
          muons: [
            { eta: f32Above(2.7) }, // not baseline
            { eta: -f32Above(2.7) }, // not baseline
            { eta: f32Below(2.7) }, // baseline, not signal (≥ 2.5)
            { eta: 2.5 }, // baseline, not signal (2.5 < 2.5 false)
            { eta: -2.5 }, // baseline, not signal
            { eta: f32Below(2.5) }, // signal
            { eta: -f32Below(2.5) }, // signal
          ],
        },
      ],
      { m: [5, 5, 2] },
    );
  });

  test('baseline needs the quality flag (r21 DFCommonGoodMuon == 1)', () => {
    expectFlags([{ muons: [{ quality: 0 }, {}] }], { m: [1, 1, 1] });
  });

  test('signal needs topoetcone20 / pt < 0.3 and ptvarcone30 / pt < 0.15; topoetcone40 plays no part', () => {
    assert.equal(12000 / 40000, 0.3);
    expectFlags(
      [
        {
          muons: [
            { pt: 40000, topoetcone20: 12000 }, // 0.3 → not signal
            { pt: 40000, topoetcone20: f32Below(12000) }, // signal
            { pt: 40000, ptvarcone30: 6000 }, // 0.15 → not signal
            { pt: 40000, ptvarcone30: f32Below(6000) }, // signal
            { pt: 40000, topoetcone40: 1e6 }, // signal
          ],
        },
      ],
      { m: [5, 5, 3] },
    );
  });

  test('IEEE rules for the muon ratios', () => {
    expectFlags(
      [
        {
          muons: [
            { pt: NaN }, // not baseline
            { pt: 40000, topoetcone20: NaN }, // baseline, not signal
            { pt: 40000, ptvarcone30: -Infinity }, // -Inf < 0.15 → signal
          ],
        },
      ],
      { m: [2, 2, 1] },
    );
  });

  test('baseline needs an ID track: empty link, a key naming another collection, an out-of-range index → none', () => {
    expectFlags(
      [
        {
          tracks: [{}],
          muons: [
            { link: { key: TRACK_KEY, index: 0 } }, // the event's track 0 → baseline (and signal)
            { link: EMPTY_LINK }, // key 0 → empty
            { link: { key: 0, index: 5 } }, // key 0 → empty whatever the index
            { link: { key: 12345, index: 0 } }, // names another collection → empty
            { link: { key: TRACK_KEY, index: 1 } }, // the event has 1 track → out of range → empty
            { link: { key: TRACK_KEY, index: 0xffffffff } }, // uint32 max → out of range
          ],
        },
        { tracks: [], muons: [{ link: { key: TRACK_KEY, index: 0 } }] }, // no tracks at all → out of range
      ],
      { m: [1, 1, 1] },
    );
  });
});

describe('jet selection', () => {
  test('baseline needs pt >= 20000: 20000 passes, the float32 below fails (and is neither passOR nor signal)', () => {
    // pt 20000, eta 0, Jvt 1 → passJvt → signal; pt 19999.998: passJvt (pt < 20000) but not baseline → not signal
    expectFlags([{ jets: [{ pt: 20000 }, { pt: f32Below(20000) }] }], { j: [1, 1, 1] });
  });

  test('r21 passJvt for 20000 <= pt < 60000, |eta| < 2.4: Jvt > 0.2', () => {
    // all pt 30000, eta 0: baseline and passOR; signal iff Jvt > 0.2
    expectFlags([{ jets: [{ pt: 30000, eta: 0, jvt: f32Below(0.2) }, { pt: 30000, eta: 0, jvt: 0 }, { pt: 30000, eta: 0, jvt: -0.1 }, { pt: 30000, eta: 0, jvt: NaN }, { pt: 30000, eta: 0, jvt: 1 }, { pt: 30000, eta: 0, jvt: 0.5 }] }], {
      j: [6, 6, 2],
    });
  });

  test('r21 Jvt is a float compared in double: the float32 "0.2" (0.20000000298…) is > 0.2 and passes', () => {
    // ANALYSIS.md: "Jvt (float, pass if > 0.2)"; the stored float32 read as a double is
    // 0.20000000298023224 > 0.2. (A comparison in float32, as numpy does, would fail it.)
    assert.ok(Math.fround(0.2) > 0.2);
    expectFlags([{ jets: [{ pt: 30000, eta: 0, jvt: Math.fround(0.2) }] }], { j: [1, 1, 1] });
  });

  test('passJvt regimes: a failing Jvt matters only for 20000 <= pt < 60000 and |eta| < 2.4', () => {
    const jvt = 0.1; // fails
    expectFlags(
      [
        {
          jets: [
            { pt: 30000, eta: 0, jvt }, // in the regime → fails
            { pt: 60000, eta: 0, jvt }, // pt >= 60000 → passJvt
            { pt: f32Below(60000), eta: 0, jvt }, // 59999.996 < 60000 → in the regime → fails
            { pt: 30000, eta: f32Above(2.4), jvt }, // |eta| = 2.4000000954 >= 2.4 → passJvt
            { pt: 30000, eta: -f32Above(2.4), jvt }, // passJvt
            { pt: 30000, eta: f32Below(2.4), jvt }, // 2.39999986 < 2.4 → fails
            { pt: 30000, eta: -f32Below(2.4), jvt }, // fails
            { pt: 30000, eta: 3.0, jvt }, // passJvt
          ],
        },
      ],
      { j: [8, 8, 4] },
    );
  });

  test('signal needs |eta| < 4.5', () => {
    // pt 70000 → passJvt; signal iff |eta| < 4.5
    expectFlags([{ jets: [{ pt: 70000, eta: 4.5 }, { pt: 70000, eta: -4.5 }, { pt: 70000, eta: f32Below(4.5) }, { pt: 70000, eta: -f32Below(4.5) }, { pt: 70000, eta: 5 }] }], { j: [5, 5, 2] });
  });

  test('passOR does not depend on passJvt or |eta|, only on baseline and OR', () => {
    // jvt failing (signal 0), eta 4.6 (signal 0), pt 15000 (not baseline → not passOR)
    expectFlags([{ jets: [{ pt: 30000, eta: 0, jvt: 0 }, { pt: 30000, eta: 4.6 }, { pt: 15000 }] }], { j: [2, 2, 0] });
  });
});

describe('char flags pass only when == 1', () => {
  test('r21: LHLooseBL, LHTight and DFCommonGoodMuon of 2 or -1 fail', () => {
    expectFlags(
      [
        {
          electrons: [{ looseBL: 2 }, { looseBL: -1 }, { tight: 2 }], // only the tight-2 one is baseline, and it is not signal
          muons: [{ quality: 2 }, { quality: -1 }], // not baseline
        },
      ],
      { e: [1, 1, 0] },
    );
  });

  test('r22: NNJvtPass and DFCommonMuonPassPreselection of 2 or -1 fail', () => {
    expectFlags([{ jets: [{ pt: 30000, eta: 0, jvt: 2 }, { pt: 30000, eta: 0, jvt: -1 }], muons: [{ quality: 2 }, { quality: -1 }] }], { j: [2, 2, 0] }, 'r22');
  });
});

// ================================================================ cones

describe('cone edges', () => {
  const below02 = f32Below(0.2); // 0.19999998807907104
  const above02 = f32Above(0.2); // 0.20000000298023224 (the float32 "0.2")
  const below04 = f32Below(0.4); // 0.39999997615814
  const above04 = f32Above(0.4); // 0.4000000059604645 (the float32 "0.4")

  test('step 2 match: a jet at dR just below 0.2 from a baseline electron is removed', () => {
    // step 2: dR 0.19999999 < 0.2 → jet removed; step 3: no jet left → electron stays
    expectFlags([{ electrons: [{ pt: 20000, eta: 0, phi: 0 }], jets: [{ eta: below02, phi: 0 }] }], { e: [1, 1, 1], j: [1, 0, 1] });
  });

  test('step 2 match: a jet at dR just above 0.2 stays, and removes the electron in step 3 (cone 0.4)', () => {
    // step 2: 0.2000000030 not < 0.2; step 3: electron pt 20000 → cone min(0.5 + 0.04, 0.4) = 0.4 → removed
    expectFlags([{ electrons: [{ pt: 20000, eta: 0, phi: 0 }], jets: [{ eta: above02, phi: 0 }] }], { e: [1, 0, 1], j: [1, 1, 1] });
  });

  test('step 4 match: a jet with NumTrkPt500[0] = 2 just inside 0.2 of a muon is removed, the muon stays', () => {
    // step 1: req false (NON_PFLOW); step 4: 2 < 3 and dR < 0.2 → jet removed; step 5: no jet → muon stays
    expectFlags([{ muons: [{ ...NON_PFLOW, eta: 0, phi: 0 }], jets: [{ eta: below02, phi: 0, numTrk: [2] }] }], { m: [1, 1, 1], j: [1, 0, 1] });
  });

  test('step 4 match: just outside 0.2 the jet stays and removes the muon in step 5 (cone 0.4)', () => {
    expectFlags([{ muons: [{ ...NON_PFLOW, eta: 0, phi: 0 }], jets: [{ eta: above02, phi: 0, numTrk: [2] }] }], { m: [1, 0, 1], j: [1, 1, 1] });
  });

  test('step 3 cone 0.4 (electron pt 20000): just inside removes the electron, just outside does not', () => {
    // dR ≥ 0.2 in both, so step 2 keeps the jet
    expectFlags([{ electrons: [{ pt: 20000, eta: 0, phi: 0 }], jets: [{ eta: below04, phi: 0 }] }], { e: [1, 0, 1], j: [1, 1, 1] });
    expectFlags([{ electrons: [{ pt: 20000, eta: 0, phi: 0 }], jets: [{ eta: above04, phi: 0 }] }], { e: [1, 1, 1], j: [1, 1, 1] });
  });

  test('step 5 cone 0.4 (muon pt 20000): just inside removes the muon, just outside does not', () => {
    // step 1 req false; step 4: NumTrkPt500[0] = 10 → no removal
    expectFlags([{ muons: [{ ...NON_PFLOW, eta: 0, phi: 0 }], jets: [{ eta: below04, phi: 0 }] }], { m: [1, 0, 1], j: [1, 1, 1] });
    expectFlags([{ muons: [{ ...NON_PFLOW, eta: 0, phi: 0 }], jets: [{ eta: above04, phi: 0 }] }], { m: [1, 1, 1], j: [1, 1, 1] });
  });

  test('step 1 dR < 0.4: an isolated muon just inside removes the jet, just outside not (and is then outside the step 5 cone)', () => {
    // topoetcone40 0 < y0 → req true. Inside: jet removed, muon stays.
    expectFlags([{ muons: [{ pt: 20000, topoetcone40: 0, eta: 0, phi: 0 }], jets: [{ eta: below04, phi: 0 }] }], { m: [1, 1, 1], j: [1, 0, 1] });
    // Outside: step 1 does nothing; step 5: 0.4000000060 not < 0.4 → muon stays too
    expectFlags([{ muons: [{ pt: 20000, topoetcone40: 0, eta: 0, phi: 0 }], jets: [{ eta: above04, phi: 0 }] }], { m: [1, 1, 1], j: [1, 1, 1] });
  });

  describe('dphi wraps across ±pi', () => {
    // a at phi A (near +pi), b at phi B = A + t - 2pi (near -pi): raw dphi = 2pi - t, wrapped -t, dR ≈ t.
    // t = edge ∓ 1e-5 keeps the float32 rounding of B (≤ 1.2e-7) and any double-precision wrapping
    // far from the edge. Mirrored: a at -A, b at -B.
    function place(A: number, t: number, mirror: boolean): { a: number; b: number } {
      const a = Math.fround(A);
      const b = Math.fround(a + t - 2 * Math.PI);
      return mirror ? { a: -a, b: -b } : { a, b };
    }
    for (const mirror of [false, true]) {
      const side = mirror ? 'electron near -pi, jet near +pi' : 'electron near +pi, jet near -pi';
      test(`step 2 match across the wrap (${side})`, () => {
        const inside = place(3.1, 0.2 - 1e-5, mirror);
        const outside = place(3.1, 0.2 + 1e-5, mirror);
        assert.ok(Math.abs(inside.a - inside.b) > Math.PI, 'raw dphi needs wrapping');
        const dIn = specDR(0, inside.a, 0, inside.b);
        const dOut = specDR(0, outside.a, 0, outside.b);
        assert.ok(dIn < 0.2 && dIn > 0.2 - 2e-5, `inside ${dIn}`);
        assert.ok(dOut > 0.2 && dOut < 0.2 + 2e-5, `outside ${dOut}`);
        // inside: jet removed in step 2, electron stays; outside: jet stays, electron removed in step 3 (cone 0.4)
        expectFlags([{ electrons: [{ pt: 20000, eta: 0, phi: inside.a }], jets: [{ eta: 0, phi: inside.b }] }], { e: [1, 1, 1], j: [1, 0, 1] });
        expectFlags([{ electrons: [{ pt: 20000, eta: 0, phi: outside.a }], jets: [{ eta: 0, phi: outside.b }] }], { e: [1, 0, 1], j: [1, 1, 1] });
      });
    }
    for (const mirror of [false, true]) {
      const side = mirror ? 'muon near -pi, jet near +pi' : 'muon near +pi, jet near -pi';
      test(`step 5 cone 0.4 across the wrap (${side})`, () => {
        const inside = place(3.0, 0.4 - 1e-5, mirror);
        const outside = place(3.0, 0.4 + 1e-5, mirror);
        assert.ok(Math.abs(inside.a - inside.b) > Math.PI, 'raw dphi needs wrapping');
        const dIn = specDR(0, inside.a, 0, inside.b);
        const dOut = specDR(0, outside.a, 0, outside.b);
        assert.ok(dIn < 0.4 && dIn > 0.4 - 2e-5, `inside ${dIn}`);
        assert.ok(dOut > 0.4 && dOut < 0.4 + 2e-5, `outside ${dOut}`);
        expectFlags([{ muons: [{ ...NON_PFLOW, eta: 0, phi: inside.a }], jets: [{ eta: 0, phi: inside.b }] }], { m: [1, 0, 1], j: [1, 1, 1] });
        expectFlags([{ muons: [{ ...NON_PFLOW, eta: 0, phi: outside.a }], jets: [{ eta: 0, phi: outside.b }] }], { m: [1, 1, 1], j: [1, 1, 1] });
      });
    }
  });
});

describe('boosted cone min(10000 / pt + 0.04, 0.4)', () => {
  test('muon pt 100 GeV: cone 0.14, both sides of the edge', () => {
    const cone = Math.min(10000 / 100000 + 0.04, 0.4);
    assert.equal(cone, 0.14);
    // step 1: nTrk 10, iso 40000, r = 100000/200000 = 0.5 → line 5000 + 83333 * (-0.1) < 0, r ≤ 0.9 → req false
    // step 4: nTrk 10 → nothing. step 5: dR < 0.14 → removed
    const mu: MuonSpec = { pt: 100000, topoetcone40: 40000, eta: 0, phi: 0 };
    const jet = { numTrk: [10], sumTrkPt: [200000], phi: 0 };
    expectFlags([{ muons: [mu], jets: [{ ...jet, eta: f32Below(cone) }] }], { m: [1, 0, 1], j: [1, 1, 1] });
    expectFlags([{ muons: [mu], jets: [{ ...jet, eta: f32Above(cone) }] }], { m: [1, 1, 1], j: [1, 1, 1] });
  });

  test('at dR 0.3 a 20 GeV muon (cone 0.4) is removed, a 100 GeV one (cone 0.14) is not', () => {
    const jet = { numTrk: [10], sumTrkPt: [200000], eta: 0.3, phi: 0 };
    // 20 GeV: r = 20000/200000 = 0.1, req false; 0.3 < 0.4 → removed
    expectFlags([{ muons: [{ pt: 20000, topoetcone40: 40000, eta: 0, phi: 0 }], jets: [jet] }], { m: [1, 0, 1], j: [1, 1, 1] });
    expectFlags([{ muons: [{ pt: 100000, topoetcone40: 40000, eta: 0, phi: 0 }], jets: [jet] }], { m: [1, 1, 1], j: [1, 1, 1] });
  });

  test('electron pt 50 GeV: cone 0.24, both sides of the edge (step 2 keeps jets at dR ≥ 0.2)', () => {
    const cone = Math.min(10000 / 50000 + 0.04, 0.4); // 0.24000000000000002
    assert.ok(Math.abs(cone - 0.24) < 1e-15);
    expectFlags([{ electrons: [{ pt: 50000, eta: 0, phi: 0 }], jets: [{ eta: f32Below(cone), phi: 0 }] }], { e: [1, 0, 1], j: [1, 1, 1] });
    expectFlags([{ electrons: [{ pt: 50000, eta: 0, phi: 0 }], jets: [{ eta: f32Above(cone), phi: 0 }] }], { e: [1, 1, 1], j: [1, 1, 1] });
  });

  test('at dR 0.3 a 20 GeV electron (cone 0.4) is removed, a 100 GeV one (cone 0.14) is not', () => {
    expectFlags([{ electrons: [{ pt: 20000, eta: 0, phi: 0 }], jets: [{ eta: 0.3, phi: 0 }] }], { e: [1, 0, 1], j: [1, 1, 1] });
    expectFlags([{ electrons: [{ pt: 100000, eta: 0, phi: 0 }], jets: [{ eta: 0.3, phi: 0 }] }], { e: [1, 1, 1], j: [1, 1, 1] });
  });

  test('low-pt leptons: the cone is capped at 0.4 (pt 10000: 1.04 → 0.4)', () => {
    // dR 0.45: outside 0.4 even though 10000/10000 + 0.04 = 1.04
    expectFlags([{ electrons: [{ pt: 10000, eta: 0, phi: 0 }], jets: [{ eta: 0.45, phi: 0 }] }], { e: [1, 1, 1], j: [1, 1, 1] });
    expectFlags([{ muons: [{ pt: 10000, topoetcone40: 40000, eta: 0, phi: 0 }], jets: [{ eta: 0.45, phi: 0 }] }], { m: [1, 1, 1], j: [1, 1, 1] });
  });
});

// ================================================================ overlap removal steps

describe('step 1: jets vs muons, particle-flow rule', () => {
  // Jet at (0, 0), pt 50000, jvt passing; muon pt 20000 at (0.3, 0): dR 0.3 < 0.4 (step 1 applies),
  // ≥ 0.2 (no step 4 match), < 0.4 = the muon's boosted cone (step 5 applies).
  // So req true → jet removed in step 1, muon kept:   j [1,0,1], m [1,1,1]
  //    req false → jet kept, muon removed in step 5:  j [1,1,1], m [1,0,1]
  // SumPtTrkPt500[0] = 40000 unless stated; idPt = r * 40000 (the ID track's pt, not the muon's pt 20000).
  interface Case {
    name: string;
    numTrk: number[];
    sumTrkPt?: number[];
    iso: number;
    idPt?: number;
    charge?: 1 | -1;
    muon?: MuonSpec;
    tracks?: EventSpec['tracks'];
    req: boolean;
  }
  const S = 40000;
  const cases: Case[] = [
    // nTrk 3 < 4: (x1, x2, y0, y1, y2) = (0.7, 0.85, 15000, 15000, 30000), line = 15000 + 100000 (r - 0.7)
    { name: 'nTrk 3: iso 10000 < y0 15000', numTrk: [3], iso: 10000, idPt: 0.5 * S, req: true },
    { name: 'nTrk 3: iso 15000 = y0, r 0.5 (line -5000) → false', numTrk: [3], iso: 15000, idPt: 0.5 * S, req: false },
    { name: 'nTrk 3: iso just below y0', numTrk: [3], iso: f32Below(15000), idPt: 0.5 * S, req: true },
    { name: 'nTrk 3: iso 20000, r 0.5 → false', numTrk: [3], iso: 20000, idPt: 0.5 * S, req: false },
    { name: 'nTrk 3: iso 20000 below the line at r 0.8 (25000)', numTrk: [3], iso: 20000, idPt: 0.8 * S, req: true },
    { name: 'nTrk 3: iso 20000 above the line at r 0.74 (19000)', numTrk: [3], iso: 20000, idPt: 0.74 * S, req: false },
    { name: 'nTrk 3: iso 40000, r 0.9 > x2 0.85 (line 35000)', numTrk: [3], iso: 40000, idPt: 0.9 * S, req: true },
    { name: 'nTrk 3: iso 40000, r 0.84 (line 29000) → false', numTrk: [3], iso: 40000, idPt: 0.84 * S, req: false },
    { name: 'nTrk 3: negative qOverP, r = |…| 0.9 > x2', numTrk: [3], iso: 40000, idPt: 0.9 * S, charge: -1, req: true },
    // nTrk 4 >= 4: (0.6, 0.9, 5000, 5000, 30000), line = 5000 + 83333.3 (r - 0.6)
    { name: 'nTrk 4 is the high regime: iso 10000, r 0.5 → false (true with nTrk 3)', numTrk: [4], iso: 10000, idPt: 0.5 * S, req: false },
    { name: 'nTrk 4: iso just below y0 5000', numTrk: [4], iso: f32Below(5000), idPt: 0.5 * S, req: true },
    { name: 'nTrk 4: iso 5000 = y0, r 0.5 → false', numTrk: [4], iso: 5000, idPt: 0.5 * S, req: false },
    { name: 'nTrk 4: iso 10000 below the line at r 0.7 (13333)', numTrk: [4], iso: 10000, idPt: 0.7 * S, req: true },
    { name: 'nTrk 4: iso 10000 above the line at r 0.65 (9167)', numTrk: [4], iso: 10000, idPt: 0.65 * S, req: false },
    { name: 'nTrk 4: iso 40000, r 0.95 > x2 0.9 (line 34167)', numTrk: [4], iso: 40000, idPt: 0.95 * S, req: true },
    { name: 'nTrk 4: iso 40000, r 0.88 (line 28333) → false', numTrk: [4], iso: 40000, idPt: 0.88 * S, req: false },
    { name: 'nTrk 10: negative qOverP, r 0.95 > x2', numTrk: [10], iso: 40000, idPt: 0.95 * S, charge: -1, req: true },
    // missing values and IEEE
    { name: 'empty NumTrkPt500 → req false even with iso 0', numTrk: [], iso: 0, idPt: 0.5 * S, req: false },
    { name: 'empty SumPtTrkPt500 → req false even with iso 0', numTrk: [3], sumTrkPt: [], iso: 0, idPt: 0.5 * S, req: false },
    { name: 'both empty → req false', numTrk: [], sumTrkPt: [], iso: 0, idPt: 0.5 * S, req: false },
    { name: 'SumPtTrkPt500[0] = 0: r = +Infinity > x2', numTrk: [3], sumTrkPt: [0], iso: 40000, idPt: 20000, req: true },
    {
      name: 'SumPtTrkPt500[0] = 0 and idPt 0 (theta 0): r = NaN → false',
      numTrk: [3],
      sumTrkPt: [0],
      iso: 40000,
      muon: { link: { key: TRACK_KEY, index: 0 } },
      tracks: [{ qOverP: 1 / 20000, theta: 0 }],
      req: false,
    },
    { name: 'only entry 0 counts: NumTrkPt500 [10, 0], SumPtTrkPt500 [40000, 1], iso 10000, r 0.5 → false', numTrk: [10, 0], sumTrkPt: [S, 1], iso: 10000, idPt: 0.5 * S, req: false },
    { name: 'only entry 0 counts: NumTrkPt500 [3, 10], SumPtTrkPt500 [40000, 1e6], iso 10000 → true', numTrk: [3, 10], sumTrkPt: [S, 1e6], iso: 10000, idPt: 0.5 * S, req: true },
  ];
  for (const c of cases) {
    test(`${c.name} → ${c.req ? 'jet removed' : 'jet kept, muon removed in step 5'}`, () => {
      const muon: MuonSpec = { pt: 20000, eta: 0.3, phi: 0, topoetcone40: c.iso, ...(c.muon ?? { idPt: c.idPt, charge: c.charge }) };
      const ev: EventSpec = { muons: [muon], jets: [{ pt: 50000, eta: 0, phi: 0, numTrk: c.numTrk, sumTrkPt: c.sumTrkPt ?? [S] }], tracks: c.tracks };
      expectFlags([ev], c.req ? { m: [1, 1, 1], j: [1, 0, 1] } : { m: [1, 0, 1], j: [1, 1, 1] });
    });
  }

  test('only baseline muons count: a non-baseline isolated muon (quality 0, or no ID track) keeps the jet', () => {
    const jet = { pt: 50000, eta: 0, phi: 0, numTrk: [3], sumTrkPt: [S] };
    expectFlags([{ muons: [{ pt: 20000, eta: 0.3, phi: 0, topoetcone40: 0, quality: 0 }], jets: [jet] }], { j: [1, 1, 1] });
    expectFlags([{ tracks: [{}], muons: [{ pt: 20000, eta: 0.3, phi: 0, topoetcone40: 0, link: EMPTY_LINK }], jets: [jet] }], { j: [1, 1, 1] });
  });

  test('an isolated muon at dR 0.5 does nothing (outside 0.4 for step 1 and the step 5 cone)', () => {
    expectFlags([{ muons: [{ pt: 20000, eta: 0.5, phi: 0, topoetcone40: 0 }], jets: [{ eta: 0, phi: 0, numTrk: [3], sumTrkPt: [S] }] }], { m: [1, 1, 1], j: [1, 1, 1] });
  });

  test('some muon: one with req false and one with req true → the jet goes, and both muons stay', () => {
    // μ1 at dR 0.3: iso 40000, r 0.5 → false; μ2 at dR 0.35 (phi): iso 0 → true → jet removed in step 1,
    // so step 5 has no jet to remove either muon.
    expectFlags(
      [
        {
          muons: [
            { pt: 20000, eta: 0.3, phi: 0, topoetcone40: 40000, idPt: 0.5 * S },
            { pt: 20000, eta: 0, phi: 0.35, topoetcone40: 0, idPt: 0.5 * S },
          ],
          jets: [{ eta: 0, phi: 0, numTrk: [3], sumTrkPt: [S] }],
        },
      ],
      { m: [2, 2, 2], j: [1, 0, 1] },
    );
  });

  test('a non-baseline jet (pt < 20000) is never passOR, whatever the muons', () => {
    expectFlags([{ muons: [{ pt: 20000, eta: 0.3, phi: 0, topoetcone40: 40000 }], jets: [{ pt: 15000, eta: 0, phi: 0, numTrk: [3], sumTrkPt: [S] }] }], { m: [1, 1, 1] });
  });
});

describe('step 2: jets vs electrons', () => {
  test('non-baseline electrons do not remove jets', () => {
    // three events, each a non-baseline electron at dR 0.1 of a jet: LooseBL 0; pt 5000; |eta| 2.5 (jet at 2.55:
    // |eta| ≥ 2.4 → passJvt, < 4.5 → signal)
    expectFlags(
      [
        { electrons: [{ looseBL: 0, eta: 0, phi: 0 }], jets: [{ eta: 0.1, phi: 0 }] },
        { electrons: [{ pt: 5000, eta: 0, phi: 0 }], jets: [{ eta: 0.1, phi: 0 }] },
        { electrons: [{ eta: 2.5, phi: 0 }], jets: [{ eta: 2.55, phi: 0 }] },
      ],
      { j: [3, 3, 3] },
    );
  });

  test('a baseline electron that is not signal removes the jet', () => {
    expectFlags([{ electrons: [{ tight: 0, eta: 0, phi: 0 }], jets: [{ eta: 0.1, phi: 0 }] }], { e: [1, 1, 0], j: [1, 0, 1] });
  });

  test('one electron removes every jet within 0.2, not one at 0.5', () => {
    // j1 dR 0.1 and j2 dR 0.15 removed; j3 at 0.5: kept, and outside the electron's cone 0.4
    expectFlags(
      [{ electrons: [{ pt: 20000, eta: 0, phi: 0 }], jets: [{ eta: 0.1, phi: 0 }, { eta: 0, phi: 0.15 }, { eta: 0.5, phi: 0 }] }],
      { e: [1, 1, 1], j: [3, 1, 3] },
    );
  });
});

describe('step 3: electrons vs jets', () => {
  const electron = { pt: 20000, eta: 0, phi: 0 }; // cone 0.4
  test('only jets with passJvt remove electrons (r21 Jvt 0.1 at pt 30000 fails)', () => {
    expectFlags([{ electrons: [electron], jets: [{ pt: 30000, eta: 0.3, phi: 0, jvt: 0.1 }] }], { e: [1, 1, 1], j: [1, 1, 0] });
    expectFlags([{ electrons: [electron], jets: [{ pt: 30000, eta: 0.3, phi: 0, jvt: 0.9 }] }], { e: [1, 0, 1], j: [1, 1, 1] });
  });

  test('a jet with failing Jvt but passJvt by pt >= 60000 or |eta| >= 2.4 removes the electron', () => {
    expectFlags([{ electrons: [electron], jets: [{ pt: 60000, eta: 0.3, phi: 0, jvt: 0.1 }] }], { e: [1, 0, 1], j: [1, 1, 1] });
    // electron at eta 2.1 (baseline), jet at 2.45: dR 0.35, jet |eta| ≥ 2.4 → passJvt
    expectFlags([{ electrons: [{ pt: 20000, eta: 2.1, phi: 0 }], jets: [{ pt: 30000, eta: 2.45, phi: 0, jvt: 0.1 }] }], { e: [1, 0, 1], j: [1, 1, 1] });
  });

  test('a non-baseline jet (pt 15000: passJvt, but not passOR) does not remove the electron', () => {
    expectFlags([{ electrons: [electron], jets: [{ pt: 15000, eta: 0.3, phi: 0 }] }], { e: [1, 1, 1] });
  });

  test('some jet: a failing-Jvt jet at 0.3 and a passing one at 0.35 → removed', () => {
    expectFlags(
      [{ electrons: [electron], jets: [{ pt: 30000, eta: 0.3, phi: 0, jvt: 0.1 }, { pt: 30000, eta: 0, phi: 0.35, jvt: 0.9 }] }],
      { e: [1, 0, 1], j: [2, 2, 1] },
    );
  });

  test('non-baseline electrons are never passOR (even without jets)', () => {
    expectFlags([{ electrons: [{ looseBL: 0 }, { pt: 5000 }] }], {});
  });
});

describe('step 4: jets vs muons, NumTrkPt500[0] < 3', () => {
  const mu = { ...NON_PFLOW, eta: 0, phi: 0 };
  test('NumTrkPt500[0] = 3 is not < 3: a matched jet stays (and removes the muon in step 5)', () => {
    expectFlags([{ muons: [mu], jets: [{ eta: 0.1, phi: 0, numTrk: [3] }] }], { m: [1, 0, 1], j: [1, 1, 1] });
  });

  test('NumTrkPt500[0] = 2 and a match at dR 0.1: the jet goes, the muon stays', () => {
    expectFlags([{ muons: [mu], jets: [{ eta: 0.1, phi: 0, numTrk: [2] }] }], { m: [1, 1, 1], j: [1, 0, 1] });
  });

  test('only entry 0 of NumTrkPt500 counts: [5, 0] keeps the jet, [0, 5] removes it', () => {
    expectFlags([{ muons: [mu], jets: [{ eta: 0.1, phi: 0, numTrk: [5, 0], sumTrkPt: [100000, 1] }] }], { m: [1, 0, 1], j: [1, 1, 1] });
    expectFlags([{ muons: [mu], jets: [{ eta: 0.1, phi: 0, numTrk: [0, 5], sumTrkPt: [100000, 1] }] }], { m: [1, 1, 1], j: [1, 0, 1] });
  });

  test('empty NumTrkPt500: no removal in step 4 (nor step 1); the muon goes in step 5', () => {
    expectFlags([{ muons: [{ ...mu, topoetcone40: 0 }], jets: [{ eta: 0.1, phi: 0, numTrk: [] }] }], { m: [1, 0, 1], j: [1, 1, 1] });
  });

  test('only baseline muons: a matched muon with quality 0, or with no ID track, keeps the jet', () => {
    expectFlags([{ muons: [{ ...mu, quality: 0 }], jets: [{ eta: 0.1, phi: 0, numTrk: [2] }] }], { j: [1, 1, 1] });
    expectFlags([{ tracks: [{}], muons: [{ ...mu, link: { key: 12345, index: 0 } }], jets: [{ eta: 0.1, phi: 0, numTrk: [2], ghosts: [{ key: TRACK_KEY, index: 0 }] }] }], { j: [1, 1, 1] });
  });
});

describe('ghost association (steps 4 and 5)', () => {
  // Three tracks; the muon (pt 20000, iso 40000 → req false) links track 1 and sits at dR 1.0 from
  // the jet, so only ghost association can act. Muon and jet are each the first of their collection,
  // so a ghost index 0 would match an implementation comparing with the muon's position.
  const tracks = [trackWithPt(25000), trackWithPt(20000), trackWithPt(35000)];
  const muon: MuonSpec = { pt: 20000, topoetcone40: 40000, eta: 1.0, phi: 0, link: { key: TRACK_KEY, index: 1 } };
  const ev = (jet: JetSpec, extra: Partial<EventSpec> = {}): EventSpec => ({
    tracks,
    muons: [muon],
    jets: [{ eta: 0, phi: 0, ...jet }],
    ...extra,
  });

  test('step 4: nTrk 2 and a ghost with the muon track index → jet removed; the muon stays', () => {
    expectFlags([ev({ numTrk: [2], ghosts: [{ key: TRACK_KEY, index: 1 }] })], { m: [1, 1, 1], j: [1, 0, 1] });
  });

  test('step 5: nTrk 3 keeps the jet, and its ghost association removes the muon', () => {
    expectFlags([ev({ numTrk: [3], ghosts: [{ key: TRACK_KEY, index: 1 }] })], { m: [1, 0, 1], j: [1, 1, 1] });
  });

  test('a ghost link with key 0 never matches, even with the same index', () => {
    expectFlags([ev({ numTrk: [2], ghosts: [{ key: 0, index: 1 }] })], { m: [1, 1, 1], j: [1, 1, 1] });
    expectFlags([ev({ numTrk: [3], ghosts: [{ key: 0, index: 1 }] })], { m: [1, 1, 1], j: [1, 1, 1] });
  });

  test('ghosts with other indices do not match; one matching ghost among several does', () => {
    expectFlags([ev({ numTrk: [2], ghosts: [{ key: TRACK_KEY, index: 0 }, { key: TRACK_KEY, index: 2 }] })], { m: [1, 1, 1], j: [1, 1, 1] });
    expectFlags([ev({ numTrk: [2], ghosts: [{ key: TRACK_KEY, index: 0 }, { key: TRACK_KEY, index: 1 }, { key: TRACK_KEY, index: 2 }] })], { m: [1, 1, 1], j: [1, 0, 1] });
  });

  test('only indices are compared: a non-empty ghost link with another key and the same index matches', () => {
    // ANALYSIS.md: ghost tracks are the links with m_persKey != 0; "only indices are compared"
    expectFlags([ev({ numTrk: [2], ghosts: [{ key: 12345, index: 1 }] })], { m: [1, 1, 1], j: [1, 0, 1] });
  });

  test('empty NumTrkPt500: step 4 does nothing, step 5 removes the ghost-associated muon', () => {
    expectFlags([ev({ numTrk: [], ghosts: [{ key: TRACK_KEY, index: 1 }] })], { m: [1, 0, 1], j: [1, 1, 1] });
  });

  test('step 5 needs the jet to pass Jvt: a failing-Jvt ghost-associated jet keeps the muon', () => {
    expectFlags([ev({ pt: 30000, jvt: 0.1, numTrk: [3], ghosts: [{ key: TRACK_KEY, index: 1 }] })], { m: [1, 1, 1], j: [1, 1, 0] });
  });

  test('step 5 needs a baseline jet: a pt 15000 ghost-associated jet keeps the muon', () => {
    expectFlags([ev({ pt: 15000, numTrk: [3], ghosts: [{ key: TRACK_KEY, index: 1 }] })], { m: [1, 1, 1] });
  });

  test('step 5 needs passOR: a ghost-associated jet removed by an electron in step 2 keeps the muon', () => {
    // electron at (0, 0.1): dR 0.1 to the jet → jet removed in step 2; the electron then has no jet near it
    expectFlags([ev({ numTrk: [3], ghosts: [{ key: TRACK_KEY, index: 1 }] }, { electrons: [{ pt: 20000, eta: 0, phi: 0.1 }] })], { e: [1, 1, 1], m: [1, 1, 1], j: [1, 0, 1] });
  });

  test('a muon without ID track is never associated (nor baseline)', () => {
    const lost: MuonSpec = { ...muon, link: EMPTY_LINK };
    const other: MuonSpec = { ...muon, link: { key: 12345, index: 1 } };
    const outOfRange: MuonSpec = { ...muon, link: { key: TRACK_KEY, index: 3 } };
    for (const m of [lost, other, outOfRange]) {
      const ghosts = [{ key: TRACK_KEY, index: m.link!.index }];
      expectFlags([{ tracks, muons: [m], jets: [{ eta: 0, phi: 0, numTrk: [2], ghosts }] }], { j: [1, 1, 1] });
    }
  });
});

describe('step 5: muons vs jets', () => {
  const mu = { ...NON_PFLOW, eta: 0, phi: 0 };
  test('only jets passing Jvt remove muons (r21 Jvt 0.1 at pt 30000 fails)', () => {
    expectFlags([{ muons: [mu], jets: [{ pt: 30000, eta: 0.3, phi: 0, jvt: 0.1 }] }], { m: [1, 1, 1], j: [1, 1, 0] });
    expectFlags([{ muons: [mu], jets: [{ pt: 30000, eta: 0.3, phi: 0, jvt: 0.3 }] }], { m: [1, 0, 1], j: [1, 1, 1] });
  });

  test('non-baseline muons are never passOR', () => {
    expectFlags([{ muons: [{ quality: 0 }, { pt: 5000 }] }], {});
  });
});

describe('the order of the steps', () => {
  test('a jet removed in step 1 cannot remove an electron in step 3', () => {
    // jet (0,0) nTrk 3; muon at dphi 0.1, iso 0 → req true → jet removed in step 1;
    // electron at dR 0.3 (would be inside its cone 0.4) stays. No e–μ overlap rule.
    expectFlags(
      [
        {
          muons: [{ pt: 20000, eta: 0, phi: 0.1, topoetcone40: 0 }],
          electrons: [{ pt: 20000, eta: 0.3, phi: 0 }],
          jets: [{ eta: 0, phi: 0, numTrk: [3], sumTrkPt: [40000] }],
        },
      ],
      { e: [1, 1, 1], m: [1, 1, 1], j: [1, 0, 1] },
    );
  });

  test('a jet removed in step 2 cannot remove another electron in step 3', () => {
    // e1 at dR 0.1 removes the jet in step 2; e2 at dR 0.3 stays
    expectFlags([{ electrons: [{ pt: 20000, eta: 0.1, phi: 0 }, { pt: 20000, eta: -0.3, phi: 0 }], jets: [{ eta: 0, phi: 0 }] }], { e: [2, 2, 2], j: [1, 0, 1] });
  });

  test('step 2 uses baseline electrons, including ones removed later in step 3', () => {
    // J1 (0,0), e (0.1,0), J2 (0.4,0): step 2 removes J1 (dR 0.1); J2 at dR 0.3 stays and removes e in step 3
    expectFlags([{ electrons: [{ pt: 20000, eta: 0.1, phi: 0 }], jets: [{ eta: 0, phi: 0 }, { eta: 0.4, phi: 0 }] }], { e: [1, 0, 1], j: [2, 1, 2] });
  });

  test('a jet removed only in step 4 still removes an electron in step 3', () => {
    // jet (0,0) nTrk 2; muon at dphi 0.1 with req false (r 0.2); electron at dR 0.3.
    // step 3: the jet (passOR, passJvt) removes the electron; step 4: nTrk 2 < 3 and match → jet removed;
    // step 5: no jet → muon stays
    expectFlags(
      [
        {
          muons: [{ ...NON_PFLOW, eta: 0, phi: 0.1 }],
          electrons: [{ pt: 20000, eta: 0.3, phi: 0 }],
          jets: [{ eta: 0, phi: 0, numTrk: [2] }],
        },
      ],
      { e: [1, 0, 1], m: [1, 1, 1], j: [1, 0, 1] },
    );
  });

  test('a jet removed in step 4 cannot remove a muon in step 5', () => {
    // μ1 at dR 0.1 removes the jet in step 4; μ2 at dR 0.3 (inside its cone 0.4) stays
    expectFlags(
      [{ muons: [{ ...NON_PFLOW, eta: 0.1, phi: 0 }, { ...NON_PFLOW, eta: -0.3, phi: 0 }], jets: [{ eta: 0, phi: 0, numTrk: [2] }] }],
      { m: [2, 2, 2], j: [1, 0, 1] },
    );
  });
});

// ================================================================ r22

describe('r22 profile', () => {
  test('electron eiso is ptvarcone30_Nonprompt_All_MaxWeightTTVALooseCone_pt1000', () => {
    expectFlags([{ electrons: [{ pt: 40000, eiso: 6000 }, { pt: 40000, eiso: f32Below(6000) }, { looseBL: 0 }] }], { e: [2, 2, 1] }, 'r22');
  });

  test('muon quality is DFCommonMuonPassPreselection', () => {
    expectFlags([{ muons: [{ quality: 0 }, {}] }], { m: [1, 1, 1] }, 'r22');
  });

  test('passJvt uses NNJvtPass == 1 in the regime 20000 <= pt < 60000, |eta| < 2.4', () => {
    // jvt 1 → signal; 0 in regime → not; pt 70000 with 0 → signal; eta 2.5 with 0 → signal
    expectFlags([{ jets: [{ pt: 30000, eta: 0, jvt: 1 }, { pt: 30000, eta: 0, jvt: 0 }, { pt: 70000, eta: 0, jvt: 0 }, { pt: 30000, eta: 2.5, jvt: 0 }] }], { j: [4, 4, 3] }, 'r22');
  });

  test('steps 3 and 5 need NNJvtPass', () => {
    const e = { pt: 20000, eta: 0, phi: 0 };
    expectFlags([{ electrons: [e], jets: [{ pt: 30000, eta: 0.3, phi: 0, jvt: 0 }] }], { e: [1, 1, 1], j: [1, 1, 0] }, 'r22');
    expectFlags([{ electrons: [e], jets: [{ pt: 30000, eta: 0.3, phi: 0, jvt: 1 }] }], { e: [1, 0, 1], j: [1, 1, 1] }, 'r22');
    const mu = { ...NON_PFLOW, eta: 0, phi: 0 };
    expectFlags([{ muons: [mu], jets: [{ pt: 30000, eta: 0.3, phi: 0, jvt: 0 }] }], { m: [1, 1, 1], j: [1, 1, 0] }, 'r22');
    expectFlags([{ muons: [mu], jets: [{ pt: 30000, eta: 0.3, phi: 0, jvt: 1 }] }], { m: [1, 0, 1], j: [1, 1, 1] }, 'r22');
  });

  test('particle-flow rule, steps 2 and 4, ghost association', () => {
    const S = 40000;
    // step 1: nTrk 3, iso 10000 < 15000 → jet removed; nTrk 4 → false → muon removed in step 5
    expectFlags([{ muons: [{ pt: 20000, eta: 0.3, phi: 0, topoetcone40: 10000, idPt: 0.5 * S }], jets: [{ eta: 0, phi: 0, numTrk: [3], sumTrkPt: [S] }] }], { m: [1, 1, 1], j: [1, 0, 1] }, 'r22');
    expectFlags([{ muons: [{ pt: 20000, eta: 0.3, phi: 0, topoetcone40: 10000, idPt: 0.5 * S }], jets: [{ eta: 0, phi: 0, numTrk: [4], sumTrkPt: [S] }] }], { m: [1, 0, 1], j: [1, 1, 1] }, 'r22');
    // step 2
    expectFlags([{ electrons: [{ eta: 0, phi: 0 }], jets: [{ eta: 0.1, phi: 0 }] }], { e: [1, 1, 1], j: [1, 0, 1] }, 'r22');
    // step 4 by ghost, step 5 by ghost
    const tracks = [trackWithPt(25000), trackWithPt(20000)];
    const muon: MuonSpec = { ...NON_PFLOW, eta: 1, phi: 0, link: { key: TRACK_KEY, index: 1 } };
    expectFlags([{ tracks, muons: [muon], jets: [{ eta: 0, phi: 0, numTrk: [2], ghosts: [{ key: TRACK_KEY, index: 1 }] }] }], { m: [1, 1, 1], j: [1, 0, 1] }, 'r22');
    expectFlags([{ tracks, muons: [muon], jets: [{ eta: 0, phi: 0, numTrk: [3], ghosts: [{ key: TRACK_KEY, index: 1 }] }] }], { m: [1, 0, 1], j: [1, 1, 1] }, 'r22');
  });

  test('without an EventFormat (like the r22 sample) the track key is computed: 490246363 still links', () => {
    expectFlags(
      [{ tracks: [{}], muons: [{ link: { key: TRACK_KEY, index: 0 } }, { link: { key: 12345, index: 0 } }] }],
      { m: [1, 1, 1] },
      'r22',
      { eventFormat: false },
    );
  });

  test('the profile is chosen from the branches, or forced; a file fitting neither is an error naming branches', () => {
    const r21 = buildChunk([{}], { profile: 'r21' });
    const r22 = buildChunk([{}], { profile: 'r22' });
    assert.equal(referenceAnalysis().prepare(r21.schema).profile, 'r21');
    assert.equal(referenceAnalysis().prepare(r22.schema).profile, 'r22');
    assert.throws(() => referenceAnalysis({ profile: 'r22' }).prepare(r21.schema), /AnalysisJetsAuxDyn\.NNJvtPass/);
    const neither = buildChunk([{}], { profile: 'r21', omitColumns: ['Jets.Jvt'] });
    assert.throws(() => referenceAnalysis().prepare(neither.schema), /AnalysisJetsAuxDyn\.Jvt/);
  });
});

// ================================================================ events, cutflow, histograms

describe('event requirement', () => {
  test('events without a primary vertex are read but dropped from counts, cutflow and histograms', () => {
    const r = run([
      // no PV: a signal electron, muon and jet — none is counted anywhere
      { pv: 0, electrons: [{ eta: 0, phi: 0 }], muons: [{}], jets: [{ eta: 1, phi: 0 }] },
      { pv: 1, electrons: [{ pt: 52500 }] },
      { pv: 3, jets: [{ pt: 45000 }] },
    ]);
    assert.deepEqual(flagsOf(r), { e: [1, 1, 1], m: [0, 0, 0], j: [1, 1, 1] });
    assert.equal(r.eventsRead, 3);
    assert.equal(r.eventsKept, 2);
    assert.deepEqual(
      r.cutflow.slice(0, 2).map((s) => [s.name, s.events]),
      [
        ['all events', 3],
        ['primary vertex', 2],
      ],
    );
    assert.equal(total(r.histograms.dR_electron_jet_preOR!), 0, 'the only electron–jet pair is in the dropped event');
    assert.equal(total(r.histograms.dR_electron_jet_postOR!), 0);
    assert.equal(total(r.histograms.pt_electrons_passOR!), 1);
    assert.equal(total(r.histograms.pt_muons_passOR!), 0);
    assert.equal(total(r.histograms.pt_jets_passOR!), 1);
  });

  test('a chunk of events without primary vertex counts nothing but the events read', () => {
    const r = run([{ pv: 0, electrons: [{}], muons: [{}], jets: [{}] }, { pv: 0 }]);
    assert.deepEqual(flagsOf(r), { e: [0, 0, 0], m: [0, 0, 0], j: [0, 0, 0] });
    assert.equal(r.eventsRead, 2);
    assert.equal(r.eventsKept, 0);
    for (const [name, h] of Object.entries(r.histograms)) assert.equal(total(h), 0, name);
  });
});

describe('cutflow', () => {
  test('the six steps, each counting events that pass it and all before it', () => {
    const r = run([
      /* 1 */ { pv: 0, electrons: [{}] }, // all events only
      /* 2 */ {}, // + primary vertex
      /* 3 */ { electrons: [{ pt: 20000, eta: 0, phi: 0 }], jets: [{ eta: 0.3, phi: 0 }] }, // + baseline lepton (removed in step 3)
      /* 4 */ { electrons: [{ tight: 0 }] }, // + lepton passing OR (not signal)
      /* 5 */ { muons: [{}] }, // + signal lepton passing OR (no jet)
      /* 6 */ { electrons: [{}], jets: [{}] }, // + signal jet passing OR (default phis 0 and -2: dR 2)
      /* 7 */ { electrons: [{}], jets: [{ pt: 30000, jvt: 0.1 }] }, // signal lepton; the jet fails Jvt → not signal
      /* 8 */ {
        // the signal electron is removed by the jet; the electron that passes OR is not signal
        electrons: [
          { pt: 20000, eta: 0, phi: 0 },
          { tight: 0, eta: 0, phi: 2 },
        ],
        jets: [{ eta: 0.3, phi: 0 }],
      },
    ]);
    assert.deepEqual(
      r.cutflow.map((s) => [s.name, s.events]),
      [
        ['all events', 8],
        ['primary vertex', 7], // 2–8
        ['≥1 baseline lepton', 6], // 3–8
        ['≥1 lepton passing OR', 5], // 4, 5, 6, 7, 8
        ['≥1 signal lepton passing OR', 3], // 5, 6, 7
        ['≥1 signal jet passing OR', 1], // 6 (3 and 8 have one too, but failed an earlier step)
      ],
    );
    assert.equal(r.eventsRead, 8);
    assert.equal(r.eventsKept, 7);
  });
});

describe('histograms', () => {
  test('dR of every electron × jet pair before OR, of passOR pairs after, and pt of passOR objects in GeV', () => {
    // all at phi 0, so dR = |deta|:
    //   e0 eta 0, pt 52500 (baseline, cone 10000/52500 + 0.04 = 0.2305); e1 eta -1.02, LooseBL 0 (not baseline)
    //   j0 eta 1.07 pt 45000; j1 eta 0.26 pt 123000; j2 eta 0.14 pt 15000 (not baseline);
    //   j3 eta 4.3 pt 83000; j4 eta -6.5 pt 95000
    // dR (bin width 0.1, slot = 1 + bin):
    //   e0: j0 1.07 → 11, j1 0.26 → 3, j2 0.14 → 2, j3 4.3 → 44, j4 6.5 → overflow 61
    //   e1: j0 2.09 → 21, j1 1.28 → 13, j2 1.16 → 12, j3 5.32 → 54, j4 5.48 → 55
    // OR: j2 is not baseline; j1 at 0.26 ≥ 0.2 stays in step 2 and is outside e0's cone 0.2305 → e0 stays.
    // passOR: e0; j0, j1, j3, j4. Post pairs e0 × {j0, j1, j3, j4} → slots 11, 3, 44, 61.
    // muon pt 33000 at (-2, 2), far from every jet → passOR, 33 GeV → slot 7 of 5-GeV bins.
    // pt: e0 52.5 → slot 11; jets (10-GeV bins) 45 → 5, 123 → 13, 83 → 9, 95 → 10
    const r = run([
      {
        electrons: [
          { pt: 52500, eta: 0, phi: 0 },
          { pt: 20000, eta: -1.02, phi: 0, looseBL: 0 },
        ],
        jets: [
          { pt: 45000, eta: 1.07, phi: 0 },
          { pt: 123000, eta: 0.26, phi: 0 },
          { pt: 15000, eta: 0.14, phi: 0 },
          { pt: 83000, eta: 4.3, phi: 0 },
          { pt: 95000, eta: -6.5, phi: 0 },
        ],
        muons: [{ pt: 33000, eta: -2, phi: 2 }],
      },
    ]);
    assert.deepEqual(flagsOf(r), { e: [1, 1, 1], m: [1, 1, 1], j: [4, 4, 3] });
    const h = r.histograms;
    const binning = (x: Histogram) => [x.lo, x.hi, x.bins];
    assert.deepEqual(binning(h.dR_electron_jet_preOR!), [0, 6, 60]);
    assert.deepEqual(binning(h.dR_electron_jet_postOR!), [0, 6, 60]);
    assert.deepEqual(binning(h.pt_electrons_passOR!), [0, 300, 60]);
    assert.deepEqual(binning(h.pt_muons_passOR!), [0, 300, 60]);
    assert.deepEqual(binning(h.pt_jets_passOR!), [0, 500, 50]);
    assert.deepEqual(h.dR_electron_jet_preOR!.counts, slotCounts(60, [11, 3, 2, 44, 61, 21, 13, 12, 54, 55]));
    assert.deepEqual(h.dR_electron_jet_postOR!.counts, slotCounts(60, [11, 3, 44, 61]));
    assert.deepEqual(h.pt_electrons_passOR!.counts, slotCounts(60, [11]));
    assert.deepEqual(h.pt_muons_passOR!.counts, slotCounts(60, [7]));
    assert.deepEqual(h.pt_jets_passOR!.counts, slotCounts(50, [5, 13, 9, 10]));
    for (const [name, x] of Object.entries(h)) assert.equal(x.nan, 0, name);
  });
});

// ================================================================ chunking

describe('chunking', () => {
  test('objects of different events never meet', () => {
    // each alone would survive; together in one event most would be removed
    expectFlags(
      [
        { electrons: [{ pt: 20000, eta: 0, phi: 0 }] },
        { jets: [{ eta: 0, phi: 0 }] },
        { muons: [{ pt: 20000, eta: 0, phi: 0, topoetcone40: 0 }] },
        { jets: [{ eta: 0.1, phi: 0, numTrk: [2], ghosts: [{ key: TRACK_KEY, index: 0 }] }] },
      ],
      { e: [1, 1, 1], m: [1, 1, 1], j: [2, 2, 2] },
    );
  });

  test('link indices are within the muon’s own event', () => {
    expectFlags(
      [
        // A: three tracks, the muon links track 2 → baseline
        { tracks: [{}, {}, {}], muons: [{ link: { key: TRACK_KEY, index: 2 } }] },
        // B: one track; index 2 is out of range here (though the chunk holds 4 tracks before it) → not baseline
        { tracks: [{}], muons: [{ link: { key: TRACK_KEY, index: 2 } }] },
        // C: the muon links its event's track 1 (pt 36000): r = 36000/40000 = 0.9 > 0.85 → req true → jet removed
        //    (track 1 of the chunk is A's, pt 30000: r 0.75, line 20000, iso 40000 → false)
        {
          tracks: [trackWithPt(20000), trackWithPt(36000)],
          muons: [{ pt: 20000, eta: 0.3, phi: 0, topoetcone40: 40000, link: { key: TRACK_KEY, index: 1 } }],
          jets: [{ eta: 0, phi: 0, numTrk: [3], sumTrkPt: [40000] }],
        },
        // D: ghost association with the event's own track index 1 → jet removed in step 4 (nTrk 2)
        {
          tracks: [{}, {}],
          muons: [{ ...NON_PFLOW, eta: 1, phi: 0, link: { key: TRACK_KEY, index: 1 } }],
          jets: [{ eta: 0, phi: 0, numTrk: [2], ghosts: [{ key: TRACK_KEY, index: 1 }] }],
        },
      ],
      { m: [3, 3, 3], j: [2, 0, 2] },
    );
  });

  // a mix of the events above
  const pool: EventSpec[] = [
    { pv: 0, electrons: [{}], muons: [{}], jets: [{ eta: 0.1, phi: 0 }] },
    {},
    { electrons: [{ pt: 20000, eta: 0, phi: 0 }], jets: [{ eta: 0.3, phi: 0 }] },
    { electrons: [{ tight: 0 }, { pt: 7000 }], muons: [{ quality: 0 }, { eta: 2.6 }] },
    { muons: [{ pt: 20000, eta: 0.3, phi: 0, topoetcone40: 10000, idPt: 20000 }], jets: [{ eta: 0, phi: 0, numTrk: [3], sumTrkPt: [40000] }] },
    { tracks: [{}, {}, {}], muons: [{ link: { key: TRACK_KEY, index: 2 } }] },
    { tracks: [{}], muons: [{ link: { key: TRACK_KEY, index: 2 } }] },
    { pv: 0, tracks: [{}, {}], muons: [{ link: { key: TRACK_KEY, index: 1 } }] },
    { tracks: [trackWithPt(25000), trackWithPt(20000)], muons: [{ ...NON_PFLOW, eta: 1, phi: 0, link: { key: TRACK_KEY, index: 1 } }], jets: [{ eta: 0, phi: 0, numTrk: [3], ghosts: [{ key: TRACK_KEY, index: 1 }] }] },
    { electrons: [{ pt: 52500, eta: 0, phi: 0 }], jets: [{ pt: 45000, eta: 1.07, phi: 0 }, { pt: 123000, eta: 0.26, phi: 0 }, { pt: 15000, eta: 0.14, phi: 0 }, { pt: 30000, eta: -1, jvt: 0.1 }] },
    { pv: 2, muons: [{ ...NON_PFLOW, eta: 0.1, phi: 0 }, { ...NON_PFLOW, eta: -0.3, phi: 0 }], jets: [{ eta: 0, phi: 0, numTrk: [2] }] },
    { jets: [{ numTrk: [], sumTrkPt: [] }, { pt: 70000, eta: 4.5 }] },
  ];

  test('one multi-event chunk gives the sum of single-event chunks, and of any split', () => {
    const profile: Profile = 'r21';
    const prepared = referenceAnalysis({ profile }).prepare(buildChunk([], { profile }).schema);
    const whole = prepared.process(buildChunk(pool, { profile }));
    const singles = mergeAll(pool.map((ev, i) => prepared.process(buildChunk([ev], { profile, entryStart: i }))));
    const cuts = [0, 3, 4, 9, pool.length];
    const split = mergeAll(cuts.slice(1).map((stop, k) => prepared.process(buildChunk(pool.slice(cuts[k], stop), { profile, entryStart: cuts[k] }))));
    for (const other of [singles, split]) {
      assert.deepEqual(other.counts, whole.counts);
      assert.deepEqual(other.cutflow, whole.cutflow);
      assert.deepEqual(other.histograms, whole.histograms);
      assert.equal(other.eventsRead, whole.eventsRead);
      assert.equal(other.eventsKept, whole.eventsKept);
    }
    assert.equal(whole.eventsRead, pool.length);
    assert.equal(whole.eventsKept, pool.length - 2);
  });

  test('an empty chunk is the merge identity', () => {
    const profile: Profile = 'r21';
    const analysis = referenceAnalysis({ profile });
    const prepared = analysis.prepare(buildChunk([], { profile }).schema);
    const r = prepared.process(buildChunk([], { profile }));
    assert.deepEqual(flagsOf(r), { e: [0, 0, 0], m: [0, 0, 0], j: [0, 0, 0] });
    assert.equal(r.eventsRead, 0);
    const one = prepared.process(buildChunk(pool, { profile }));
    assert.deepEqual(mergeAll([one, r]).counts, one.counts);
    assert.deepEqual(mergeAll([analysis.empty(), one]).histograms, one.histograms);
  });
});

// ================================================================ the builder itself

describe('event builder', () => {
  test('lays the columns out the way the decoder gives them', () => {
    const chunk = buildChunk(
      [
        { pv: 2, electrons: [{ pt: 7000.5 }], muons: [{ pt: 20000, idPt: 32768, charge: -1 }], jets: [{ numTrk: [3, 1], sumTrkPt: [], ghosts: [{ key: TRACK_KEY, index: 4 }] }] },
        { pv: 0, tracks: [{}], muons: [{ link: { key: TRACK_KEY, index: 1 } }], jets: [{}, { jvt: 0.1 }] },
      ],
      { profile: 'r21', entryStart: 10 },
    );
    assert.equal(chunk.entryStart, 10);
    assert.equal(chunk.length, 2);
    const pt = chunk.objects('Electrons.pt');
    assert.deepEqual([...pt.offsets], [0, 1, 1]);
    assert.ok(pt.values instanceof Float32Array);
    assert.equal(pt.values[0], 7000.5);
    assert.ok(chunk.objects('Electrons.DFCommonElectronsLHLooseBL').values instanceof Int8Array);
    assert.ok(chunk.objects('Muons.DFCommonGoodMuon').values instanceof Int8Array);
    const jvt = chunk.objects('Jets.Jvt');
    assert.ok(jvt.values instanceof Float32Array);
    assert.deepEqual([...jvt.offsets], [0, 1, 3]);
    assert.equal(jvt.values[2], Math.fround(0.1));
    const nTrk = chunk.objectVectors('Jets.NumTrkPt500');
    assert.ok(nTrk.values instanceof Int32Array);
    assert.deepEqual([...nTrk.inner], [0, 2, 3, 4]);
    assert.deepEqual([...nTrk.values], [3, 1, 10, 10]);
    const sum = chunk.objectVectors('Jets.SumPtTrkPt500');
    assert.ok(sum.values instanceof Float32Array);
    assert.deepEqual([...sum.inner], [0, 0, 1, 2]);
    const ghosts = chunk.linkVectors('Jets.GhostTrack');
    assert.deepEqual([...ghosts.inner], [0, 1, 1, 1]);
    assert.deepEqual([...ghosts.key], [TRACK_KEY]);
    assert.deepEqual([...ghosts.index], [4]);
    assert.deepEqual([...chunk.objects('PrimaryVertices.x').offsets], [0, 2, 2]);
    // event 0's muon got a track of its own (index 0 of event 0); event 1's links the second of one track
    const tracks = chunk.objects('InDetTrackParticles.qOverP');
    assert.deepEqual([...tracks.offsets], [0, 1, 2]);
    assert.equal(tracks.values[0], Math.fround(-1 / 32768));
    assert.deepEqual([...chunk.resolveLinks('Muons.inDetTrackParticleLink', 'InDetTrackParticles')], [0, -1]);
    const r22 = buildChunk([{ jets: [{ jvt: 1 }] }], { profile: 'r22', eventFormat: false });
    assert.ok(r22.objects('Jets.NNJvtPass').values instanceof Int8Array);
    assert.ok(r22.objects('Electrons.ptvarcone30_Nonprompt_All_MaxWeightTTVALooseCone_pt1000').values instanceof Float32Array);
    assert.equal(r22.keys.hashOf('InDetTrackParticles'), TRACK_KEY);
  });

  test('float32 neighbours', () => {
    assert.equal(f32Below(0.2), 0.19999998807907104);
    assert.equal(f32Above(0.2), Math.fround(0.2));
    assert.equal(f32Below(7000), 6999.99951171875);
    assert.equal(nextUp32(7000), 7000.00048828125);
    assert.equal(f32Above(2.5), 2.5000002384185791);
    assert.equal(f32Below(-2.5), -2.5000002384185791);
  });
});
