// The reference analysis of ../shared/ANALYSIS.md on columnar input: object
// selection, the five overlap-removal steps, counts, histograms, cut-flow.
//
// One pass over the events of a chunk. Per-object flags live in scratch typed
// arrays reused across chunks (no allocation per event); all arithmetic is in
// double precision on the stored float32 values. The rules are written in the
// spec's words and order, so they can be read side by side with ANALYSIS.md.

import type { NumericArray } from '../../root/index';
import { emptyHistogram, fill, type AnalysisResult } from '../result';

export interface ElectronColumns {
  offsets: Int32Array;
  pt: NumericArray;
  eta: NumericArray;
  phi: NumericArray;
  looseBL: NumericArray;
  tight: NumericArray;
  topoetcone20: NumericArray;
  /** electron track isolation of the profile */
  eiso: NumericArray;
}

export interface MuonColumns {
  offsets: Int32Array;
  pt: NumericArray;
  eta: NumericArray;
  phi: NumericArray;
  /** muon quality flag of the profile (pass == 1) */
  quality: NumericArray;
  topoetcone20: NumericArray;
  ptvarcone30: NumericArray;
  topoetcone40: NumericArray;
  /** chunk-wide index of the muon's ID track, -1 when it has none */
  track: Int32Array;
  /** m_persIndex of the ID-track link (used by ghost association) */
  trackIndex: Uint32Array;
}

export interface JetColumns {
  offsets: Int32Array;
  pt: NumericArray;
  eta: NumericArray;
  phi: NumericArray;
  /** the vertex tagger's verdict per jet (1 = passes), already reduced from the profile's column */
  jvtPass: Uint8Array;
  /** NumTrkPt500 and SumPtTrkPt500: per-jet vectors (entry 0 = first vertex) */
  nTrkInner: Int32Array;
  nTrk: NumericArray;
  sumTrkPtInner: Int32Array;
  sumTrkPt: NumericArray;
  /** GhostTrack links per jet */
  ghostInner: Int32Array;
  ghostKey: Uint32Array;
  ghostIndex: Uint32Array;
}

export interface ReferenceInput {
  events: number;
  primaryVertexOffsets: Int32Array;
  electrons: ElectronColumns;
  muons: MuonColumns;
  jets: JetColumns;
  tracks: { qOverP: NumericArray; theta: NumericArray };
}

export const ANALYSIS_NAME = 'reference';

export const CUTFLOW = ['all events', 'primary vertex', '≥1 baseline lepton', '≥1 lepton passing OR', '≥1 signal lepton passing OR', '≥1 signal jet passing OR'] as const;

export function emptyReferenceResult(profile: string): AnalysisResult {
  const flags = () => ({ baseline: 0, passOR: 0, signal: 0 });
  const pt = (what: string, hi: number, bins: number) => emptyHistogram(`${what} passing overlap removal`, 'p_{T} [GeV]', 0, hi, bins);
  return {
    analysis: ANALYSIS_NAME,
    profile,
    eventsRead: 0,
    eventsKept: 0,
    counts: { Electrons: flags(), Muons: flags(), Jets: flags() },
    histograms: {
      dR_electron_jet_preOR: emptyHistogram('Electron–jet pairs before overlap removal', 'ΔR(e, jet)', 0, 6, 60),
      dR_electron_jet_postOR: emptyHistogram('Electron–jet pairs after overlap removal', 'ΔR(e, jet)', 0, 6, 60),
      pt_electrons_passOR: pt('Electrons', 300, 60),
      pt_muons_passOR: pt('Muons', 300, 60),
      pt_jets_passOR: pt('Jets', 500, 50),
    },
    cutflow: CUTFLOW.map((name) => ({ name, events: 0 })),
  };
}

const PI = Math.PI;
const TWO_PI = 2 * Math.PI;

/** dR with dphi wrapped into [-pi, pi). */
export function deltaR(eta1: number, phi1: number, eta2: number, phi2: number): number {
  const deta = eta1 - eta2;
  let dphi = phi1 - phi2;
  if (dphi >= PI || dphi < -PI) dphi -= TWO_PI * Math.floor((dphi + PI) / TWO_PI);
  return Math.sqrt(deta * deta + dphi * dphi);
}

/** The boosted cone of an object of transverse momentum pt (MeV). */
function boostedCone(pt: number): number {
  return Math.min(10000 / pt + 0.04, 0.4);
}

/** Step 1's requirement for a jet–muon pair (the particle-flow muon rule). */
function pflowRequirement(nTrk: number, sumTrkPt: number, idPt: number, iso: number): boolean {
  const r = idPt / sumTrkPt;
  const few = nTrk < 4;
  const x1 = few ? 0.7 : 0.6;
  const x2 = few ? 0.85 : 0.9;
  const y0 = few ? 15000 : 5000;
  const y1 = few ? 15000 : 5000;
  const y2 = 30000;
  return iso < y0 || iso < y0 + ((y2 - y1) / (x2 - x1)) * (r - x1) || r > x2;
}

/** Flags per object, reused across chunks: grown, never shrunk. */
class Scratch {
  elBaseline = new Uint8Array(0);
  elSignal = new Uint8Array(0);
  elPassOR = new Uint8Array(0);
  muBaseline = new Uint8Array(0);
  muSignal = new Uint8Array(0);
  muPassOR = new Uint8Array(0);
  muIdPt = new Float64Array(0);
  jetBaseline = new Uint8Array(0);
  jetPassJvt = new Uint8Array(0);
  jetSignal = new Uint8Array(0);
  jetPassOR = new Uint8Array(0);

  ensure(electrons: number, muons: number, jets: number): void {
    if (this.elBaseline.length < electrons) {
      const n = Math.max(electrons, this.elBaseline.length * 2);
      this.elBaseline = new Uint8Array(n);
      this.elSignal = new Uint8Array(n);
      this.elPassOR = new Uint8Array(n);
    }
    if (this.muBaseline.length < muons) {
      const n = Math.max(muons, this.muBaseline.length * 2);
      this.muBaseline = new Uint8Array(n);
      this.muSignal = new Uint8Array(n);
      this.muPassOR = new Uint8Array(n);
      this.muIdPt = new Float64Array(n);
    }
    if (this.jetBaseline.length < jets) {
      const n = Math.max(jets, this.jetBaseline.length * 2);
      this.jetBaseline = new Uint8Array(n);
      this.jetPassJvt = new Uint8Array(n);
      this.jetSignal = new Uint8Array(n);
      this.jetPassOR = new Uint8Array(n);
    }
  }
}

export class ReferenceKernel {
  private scratch = new Scratch();

  constructor(readonly profile: string) {}

  /** The partial result of one chunk. */
  process(input: ReferenceInput): AnalysisResult {
    const result = emptyReferenceResult(this.profile);
    const { electrons: el, muons: mu, jets: jet, tracks } = input;
    const nEvents = input.events;
    this.scratch.ensure(el.offsets[nEvents]!, mu.offsets[nEvents]!, jet.offsets[nEvents]!);
    const s = this.scratch;
    const eCount = result.counts.Electrons!;
    const mCount = result.counts.Muons!;
    const jCount = result.counts.Jets!;
    const hPre = result.histograms.dR_electron_jet_preOR!;
    const hPost = result.histograms.dR_electron_jet_postOR!;
    const hPtE = result.histograms.pt_electrons_passOR!;
    const hPtM = result.histograms.pt_muons_passOR!;
    const hPtJ = result.histograms.pt_jets_passOR!;
    const cut = new Float64Array(CUTFLOW.length);
    let eventsKept = 0;

    for (let ev = 0; ev < nEvents; ev++) {
      cut[0]!++;
      // Event requirement: at least one primary vertex, else nothing of the event counts.
      if (input.primaryVertexOffsets[ev + 1] === input.primaryVertexOffsets[ev]) continue;
      eventsKept++;
      cut[1]!++;
      const e0 = el.offsets[ev]!;
      const e1 = el.offsets[ev + 1]!;
      const m0 = mu.offsets[ev]!;
      const m1 = mu.offsets[ev + 1]!;
      const j0 = jet.offsets[ev]!;
      const j1 = jet.offsets[ev + 1]!;

      // Object selection
      for (let i = e0; i < e1; i++) {
        const pt = el.pt[i] as number;
        const baseline = el.looseBL[i] === 1 && pt > 7000 && Math.abs(el.eta[i] as number) < 2.47;
        s.elBaseline[i] = baseline ? 1 : 0;
        s.elSignal[i] = baseline && el.tight[i] === 1 && (el.topoetcone20[i] as number) / pt < 0.2 && (el.eiso[i] as number) / pt < 0.15 ? 1 : 0;
      }
      for (let i = m0; i < m1; i++) {
        const pt = mu.pt[i] as number;
        const eta = Math.abs(mu.eta[i] as number);
        const t = mu.track[i]!;
        const baseline = t >= 0 && mu.quality[i] === 1 && pt > 6000 && eta < 2.7;
        s.muBaseline[i] = baseline ? 1 : 0;
        s.muSignal[i] = baseline && eta < 2.5 && (mu.topoetcone20[i] as number) / pt < 0.3 && (mu.ptvarcone30[i] as number) / pt < 0.15 ? 1 : 0;
        // ID-track pt: p = 1/|qOverP|, pt = p sin(theta)
        s.muIdPt[i] = t >= 0 ? (1 / Math.abs(tracks.qOverP[t] as number)) * Math.sin(tracks.theta[t] as number) : NaN;
      }
      for (let i = j0; i < j1; i++) {
        const pt = jet.pt[i] as number;
        const eta = Math.abs(jet.eta[i] as number);
        const baseline = pt >= 20000;
        const passJvt = (pt >= 20000 && pt < 60000 && eta < 2.4 && jet.jvtPass[i] === 1) || pt >= 60000 || pt < 20000 || eta >= 2.4;
        s.jetBaseline[i] = baseline ? 1 : 0;
        s.jetPassJvt[i] = passJvt ? 1 : 0;
        s.jetSignal[i] = baseline && passJvt && eta < 4.5 ? 1 : 0;
      }

      // Overlap removal, steps 1–2: jets lose to muons (particle-flow rule) and to baseline electrons.
      for (let j = j0; j < j1; j++) {
        let pass = s.jetBaseline[j] === 1;
        const jEta = jet.eta[j] as number;
        const jPhi = jet.phi[j] as number;
        if (pass) {
          const hasTrk = jet.nTrkInner[j + 1]! > jet.nTrkInner[j]! && jet.sumTrkPtInner[j + 1]! > jet.sumTrkPtInner[j]!;
          if (hasTrk) {
            const nTrk = jet.nTrk[jet.nTrkInner[j]!] as number;
            const sumTrkPt = jet.sumTrkPt[jet.sumTrkPtInner[j]!] as number;
            for (let m = m0; m < m1 && pass; m++) {
              if (s.muBaseline[m] !== 1) continue;
              if (deltaR(jEta, jPhi, mu.eta[m] as number, mu.phi[m] as number) < 0.4 && pflowRequirement(nTrk, sumTrkPt, s.muIdPt[m]!, mu.topoetcone40[m] as number)) pass = false;
            }
          }
        }
        if (pass) {
          for (let e = e0; e < e1; e++) {
            if (s.elBaseline[e] === 1 && deltaR(jEta, jPhi, el.eta[e] as number, el.phi[e] as number) < 0.2) {
              pass = false;
              break;
            }
          }
        }
        s.jetPassOR[j] = pass ? 1 : 0;
      }

      // Step 3: electrons lose to jets that pass OR and JVT, within the boosted cone.
      for (let e = e0; e < e1; e++) {
        let pass = s.elBaseline[e] === 1;
        if (pass) {
          const cone = boostedCone(el.pt[e] as number);
          const eEta = el.eta[e] as number;
          const ePhi = el.phi[e] as number;
          for (let j = j0; j < j1; j++) {
            if (s.jetPassOR[j] === 1 && s.jetPassJvt[j] === 1 && deltaR(eEta, ePhi, jet.eta[j] as number, jet.phi[j] as number) < cone) {
              pass = false;
              break;
            }
          }
        }
        s.elPassOR[e] = pass ? 1 : 0;
      }

      // Step 4: jets with fewer than 3 tracks lose to baseline muons they match or ghost-associate.
      for (let j = j0; j < j1; j++) {
        if (s.jetPassOR[j] !== 1) continue;
        const k = jet.nTrkInner[j]!;
        if (!(jet.nTrkInner[j + 1]! > k && (jet.nTrk[k] as number) < 3)) continue;
        for (let m = m0; m < m1; m++) {
          if (s.muBaseline[m] !== 1) continue;
          if (deltaR(jet.eta[j] as number, jet.phi[j] as number, mu.eta[m] as number, mu.phi[m] as number) < 0.2 || ghostAssociated(jet, j, mu, m)) {
            s.jetPassOR[j] = 0;
            break;
          }
        }
      }

      // Step 5: muons lose to baseline jets passing OR and JVT, within the boosted cone or by ghost association.
      for (let m = m0; m < m1; m++) {
        let pass = s.muBaseline[m] === 1;
        if (pass) {
          const cone = boostedCone(mu.pt[m] as number);
          const mEta = mu.eta[m] as number;
          const mPhi = mu.phi[m] as number;
          for (let j = j0; j < j1; j++) {
            if (s.jetBaseline[j] !== 1 || s.jetPassOR[j] !== 1 || s.jetPassJvt[j] !== 1) continue;
            if (deltaR(mEta, mPhi, jet.eta[j] as number, jet.phi[j] as number) < cone || ghostAssociated(jet, j, mu, m)) {
              pass = false;
              break;
            }
          }
        }
        s.muPassOR[m] = pass ? 1 : 0;
      }

      // Counts, histograms and cut-flow of this event
      let baselineLepton = false;
      let orLepton = false;
      let signalOrLepton = false;
      let signalOrJet = false;
      for (let e = e0; e < e1; e++) {
        const b = s.elBaseline[e]!;
        const o = s.elPassOR[e]!;
        const sg = s.elSignal[e]!;
        eCount.baseline! += b;
        eCount.passOR! += o;
        eCount.signal! += sg;
        if (b) baselineLepton = true;
        if (o) {
          orLepton = true;
          if (sg) signalOrLepton = true;
          fill(hPtE, (el.pt[e] as number) / 1000);
        }
        const eEta = el.eta[e] as number;
        const ePhi = el.phi[e] as number;
        for (let j = j0; j < j1; j++) {
          const dR = deltaR(eEta, ePhi, jet.eta[j] as number, jet.phi[j] as number);
          fill(hPre, dR);
          if (o && s.jetPassOR[j] === 1) fill(hPost, dR);
        }
      }
      for (let m = m0; m < m1; m++) {
        const b = s.muBaseline[m]!;
        const o = s.muPassOR[m]!;
        const sg = s.muSignal[m]!;
        mCount.baseline! += b;
        mCount.passOR! += o;
        mCount.signal! += sg;
        if (b) baselineLepton = true;
        if (o) {
          orLepton = true;
          if (sg) signalOrLepton = true;
          fill(hPtM, (mu.pt[m] as number) / 1000);
        }
      }
      for (let j = j0; j < j1; j++) {
        const o = s.jetPassOR[j]!;
        const sg = s.jetSignal[j]!;
        jCount.baseline! += s.jetBaseline[j]!;
        jCount.passOR! += o;
        jCount.signal! += sg;
        if (o) {
          if (sg) signalOrJet = true;
          fill(hPtJ, (jet.pt[j] as number) / 1000);
        }
      }
      if (baselineLepton) {
        cut[2]!++;
        if (orLepton) {
          cut[3]!++;
          if (signalOrLepton) {
            cut[4]!++;
            if (signalOrJet) cut[5]!++;
          }
        }
      }
    }

    result.eventsRead = nEvents;
    result.eventsKept = eventsKept;
    result.cutflow.forEach((step, i) => (step.events = cut[i]!));
    return result;
  }
}

/** Some ghost track of the jet has the muon's ID-track index (indices only; empty links never match). */
function ghostAssociated(jet: JetColumns, j: number, mu: MuonColumns, m: number): boolean {
  if (mu.track[m]! < 0) return false;
  const index = mu.trackIndex[m]!;
  for (let g = jet.ghostInner[j]!; g < jet.ghostInner[j + 1]!; g++) {
    if (jet.ghostKey[g] !== 0 && jet.ghostIndex[g] === index) return true;
  }
  return false;
}
