// A deliberately plain implementation of the reference analysis
// (../shared/ANALYSIS.md), used as a test oracle for the implementation under
// test (shared/analysis/reference). It is written from the spec alone, one
// event at a time, with every object a plain JS record, and it mirrors the
// spec's wording step by step; speed is no concern here. Its inputs are the
// values jsroot decoded (see analysis-oracle.test.ts), not our decoder's.
//
// Only the histogram binning (emptyHistogram / fill) is shared with the code
// under test, because the binning rule is part of the result format.

import { emptyHistogram, fill, type AnalysisResult } from '../../shared/analysis/result';

export type Profile = 'r21' | 'r22';

/** An ElementLink as stored: a collection hash and an index into that collection. */
export interface Link {
  m_persKey: number;
  m_persIndex: number;
}

export interface Electron {
  pt: number;
  eta: number;
  phi: number;
  LHLooseBL: number;
  LHTight: number;
  topoetcone20: number;
  /** The profile's electron track isolation (r21 ptvarcone20_TightTTVA_pt1000, r22 ptvarcone30_Nonprompt_All_MaxWeightTTVALooseCone_pt1000). */
  eiso: number;
}

export interface Muon {
  pt: number;
  eta: number;
  phi: number;
  /** The profile's quality flag (r21 DFCommonGoodMuon, r22 DFCommonMuonPassPreselection). */
  quality: number;
  topoetcone20: number;
  ptvarcone30: number;
  topoetcone40: number;
  inDetTrackParticleLink: Link;
}

export interface Jet {
  pt: number;
  eta: number;
  phi: number;
  /** The profile's jet vertex tagger (r21 Jvt, a float; r22 NNJvtPass, a char). */
  jvt: number;
  NumTrkPt500: number[];
  SumPtTrkPt500: number[];
  GhostTrack: Link[];
}

export interface Track {
  qOverP: number;
  theta: number;
  phi: number;
}

export interface PlainEvent {
  electrons: Electron[];
  muons: Muon[];
  jets: Jet[];
  tracks: Track[];
  /** PrimaryVerticesAuxDyn.x: one value per primary vertex. */
  primaryVertexX: number[];
}

/** The hash of "InDetTrackParticles" in both samples (see the spec's ElementLinks section). */
export const IN_DET_TRACK_PARTICLES_KEY = 490246363;

// ---------------------------------------------------------------------------
// Helpers, as the spec defines them

/** dphi = phi_a - phi_b wrapped into [-pi, pi). */
export function deltaPhi(phiA: number, phiB: number): number {
  let d = phiA - phiB;
  while (d >= Math.PI) d -= 2 * Math.PI;
  while (d < -Math.PI) d += 2 * Math.PI;
  return d;
}

/** dR(a, b) = sqrt((eta_a - eta_b)^2 + dphi^2). */
export function deltaR(a: { eta: number; phi: number }, b: { eta: number; phi: number }): number {
  const deta = a.eta - b.eta;
  const dphi = deltaPhi(a.phi, b.phi);
  return Math.sqrt(deta * deta + dphi * dphi);
}

/** match(dR) = dR < 0.2 */
export function match(dR: number): boolean {
  return dR < 0.2;
}

/** boosted(dR, pt) = dR < min(10000 / pt + 0.04, 0.4) */
export function boosted(dR: number, pt: number): boolean {
  return dR < Math.min(10000 / pt + 0.04, 0.4);
}

/**
 * A muon's ID track: the InDetTrackParticles object its link names. The link
 * must carry the InDetTrackParticles hash and an index inside this event's
 * track collection; otherwise the muon has no ID track (undefined).
 */
export function idTrackOf(muon: Muon, tracks: Track[]): Track | undefined {
  const link = muon.inDetTrackParticleLink;
  if (link.m_persKey !== IN_DET_TRACK_PARTICLES_KEY) return undefined;
  if (!(link.m_persIndex < tracks.length)) return undefined;
  return tracks[link.m_persIndex];
}

/** Track kinematics: p = 1/|qOverP|, pt = p * sin(theta). */
export function trackPt(track: Track): number {
  const p = 1 / Math.abs(track.qOverP);
  return p * Math.sin(track.theta);
}

/**
 * Ghost association of a jet and a muon: some ghost track of the jet (a link
 * with m_persKey != 0) has the same m_persIndex as the muon's ID-track link.
 * A muon without an ID track (an empty link) never matches.
 */
export function ghostAssociated(jet: Jet, muon: Muon, tracks: Track[]): boolean {
  if (idTrackOf(muon, tracks) === undefined) return false;
  const muonIndex = muon.inDetTrackParticleLink.m_persIndex;
  for (const ghost of jet.GhostTrack) {
    if (ghost.m_persKey === 0) continue;
    if (ghost.m_persIndex === muonIndex) return true;
  }
  return false;
}

function muonQualityPasses(quality: number): boolean {
  // r21 DFCommonGoodMuon, r22 DFCommonMuonPassPreselection: both chars, pass == 1
  return quality === 1;
}

function jvtPasses(profile: Profile, jvt: number): boolean {
  if (profile === 'r21') return jvt > 0.2; // Jvt, a float
  return jvt === 1; // NNJvtPass, a char
}

// ---------------------------------------------------------------------------
// Object selection

export interface ElectronFlags {
  baseline: boolean;
  signal: boolean;
  passOR: boolean;
}

export interface MuonFlags {
  hasIdTrack: boolean;
  baseline: boolean;
  signal: boolean;
  passOR: boolean;
}

export interface JetFlags {
  baseline: boolean;
  passJvt: boolean;
  signal: boolean;
  /** passOR after OR step 1 (jets vs muons, particle-flow rule). */
  passORAfterStep1: boolean;
  /** passOR after OR step 2 (jets vs electrons). */
  passORAfterStep2: boolean;
  /** passOR after OR step 4 (jets vs muons): the final flag. */
  passOR: boolean;
}

export interface EventFlags {
  kept: boolean;
  electrons: ElectronFlags[];
  muons: MuonFlags[];
  jets: JetFlags[];
}

function electronBaseline(e: Electron): boolean {
  return e.LHLooseBL === 1 && e.pt > 7000 && Math.abs(e.eta) < 2.47;
}

function electronSignal(e: Electron, baseline: boolean): boolean {
  return baseline && e.LHTight === 1 && e.topoetcone20 / e.pt < 0.2 && e.eiso / e.pt < 0.15;
}

function muonBaseline(m: Muon, hasIdTrack: boolean): boolean {
  return hasIdTrack && muonQualityPasses(m.quality) && m.pt > 6000 && Math.abs(m.eta) < 2.7;
}

function muonSignal(m: Muon, baseline: boolean): boolean {
  return baseline && Math.abs(m.eta) < 2.5 && m.topoetcone20 / m.pt < 0.3 && m.ptvarcone30 / m.pt < 0.15;
}

function jetBaseline(j: Jet): boolean {
  return j.pt >= 20000;
}

function jetPassJvt(profile: Profile, j: Jet): boolean {
  const absEta = Math.abs(j.eta);
  return (j.pt >= 20000 && j.pt < 60000 && absEta < 2.4 && jvtPasses(profile, j.jvt)) || j.pt >= 60000 || j.pt < 20000 || absEta >= 2.4;
}

function jetSignal(j: Jet, baseline: boolean, passJvt: boolean): boolean {
  return baseline && passJvt && Math.abs(j.eta) < 4.5;
}

// ---------------------------------------------------------------------------
// Overlap removal helpers

/**
 * req(jet, mu) of OR step 1. nTrk = NumTrkPt500[0], sumTrkPt = SumPtTrkPt500[0];
 * a missing value (an empty list) makes req false.
 */
export function pflowRequirement(jet: Jet, muon: Muon, tracks: Track[]): boolean {
  if (jet.NumTrkPt500.length === 0 || jet.SumPtTrkPt500.length === 0) return false;
  const nTrk = jet.NumTrkPt500[0]!;
  const sumTrkPt = jet.SumPtTrkPt500[0]!;
  const track = idTrackOf(muon, tracks);
  if (track === undefined) return false; // only baseline muons get here, and they all have a track
  const idPt = trackPt(track);
  const iso = muon.topoetcone40;
  const r = idPt / sumTrkPt;
  let x1: number, x2: number, y0: number, y1: number, y2: number;
  if (nTrk < 4) [x1, x2, y0, y1, y2] = [0.7, 0.85, 15000, 15000, 30000];
  else [x1, x2, y0, y1, y2] = [0.6, 0.9, 5000, 5000, 30000];
  return iso < y0 || iso < y0 + ((y2 - y1) / (x2 - x1)) * (r - x1) || r > x2;
}

// ---------------------------------------------------------------------------
// One event

/** Every flag of every object of one event (objects of a dropped event are all false). */
export function eventFlags(event: PlainEvent, profile: Profile): EventFlags {
  const { electrons, muons, jets, tracks } = event;

  // Event requirement: at least one primary vertex.
  const kept = event.primaryVertexX.length > 0;

  // Object selection.
  const ele: ElectronFlags[] = electrons.map((e) => {
    const baseline = electronBaseline(e);
    return { baseline, signal: electronSignal(e, baseline), passOR: false };
  });
  const mu: MuonFlags[] = muons.map((m) => {
    const hasIdTrack = idTrackOf(m, tracks) !== undefined;
    const baseline = muonBaseline(m, hasIdTrack);
    return { hasIdTrack, baseline, signal: muonSignal(m, baseline), passOR: false };
  });
  const jet: JetFlags[] = jets.map((j) => {
    const baseline = jetBaseline(j);
    const passJvt = jetPassJvt(profile, j);
    return { baseline, passJvt, signal: jetSignal(j, baseline, passJvt), passORAfterStep1: false, passORAfterStep2: false, passOR: false };
  });

  // OR step 1. Jets vs muons, particle-flow rule:
  // jet.passOR = jet.baseline and not muPFlow(jet), where muPFlow(jet) is true
  // if some baseline muon has dR(jet, mu) < 0.4 and req(jet, mu).
  const jetPassOR: boolean[] = [];
  for (let j = 0; j < jets.length; j++) {
    let muPFlow = false;
    for (let m = 0; m < muons.length; m++) {
      if (mu[m]!.baseline && deltaR(jets[j]!, muons[m]!) < 0.4 && pflowRequirement(jets[j]!, muons[m]!, tracks)) muPFlow = true;
    }
    jetPassOR[j] = jet[j]!.baseline && !muPFlow;
    jet[j]!.passORAfterStep1 = jetPassOR[j]!;
  }

  // OR step 2. Jets vs electrons:
  // jet.passOR = jet.passOR and not (some baseline electron has match(dR)).
  for (let j = 0; j < jets.length; j++) {
    let someElectron = false;
    for (let e = 0; e < electrons.length; e++) {
      if (ele[e]!.baseline && match(deltaR(jets[j]!, electrons[e]!))) someElectron = true;
    }
    jetPassOR[j] = jetPassOR[j]! && !someElectron;
    jet[j]!.passORAfterStep2 = jetPassOR[j]!;
  }

  // OR step 3. Electrons vs jets:
  // ele.passOR = ele.baseline and not (some jet with passOR and passJvt has boosted(dR, ele.pt)).
  for (let e = 0; e < electrons.length; e++) {
    let someJet = false;
    for (let j = 0; j < jets.length; j++) {
      if (jetPassOR[j]! && jet[j]!.passJvt && boosted(deltaR(electrons[e]!, jets[j]!), electrons[e]!.pt)) someJet = true;
    }
    ele[e]!.passOR = ele[e]!.baseline && !someJet;
  }

  // OR step 4. Jets vs muons:
  // jet.passOR = jet.passOR and not (NumTrkPt500[0] < 3 and (some baseline muon
  // has match(dR) or is ghost-associated with the jet)); a missing
  // NumTrkPt500[0] makes the bracket false.
  for (let j = 0; j < jets.length; j++) {
    const numTrk = jets[j]!.NumTrkPt500;
    let bracket = false;
    if (numTrk.length > 0 && numTrk[0]! < 3) {
      for (let m = 0; m < muons.length; m++) {
        if (mu[m]!.baseline && (match(deltaR(jets[j]!, muons[m]!)) || ghostAssociated(jets[j]!, muons[m]!, tracks))) bracket = true;
      }
    }
    jetPassOR[j] = jetPassOR[j]! && !bracket;
    jet[j]!.passOR = jetPassOR[j]!;
  }

  // OR step 5. Muons vs jets:
  // mu.passOR = mu.baseline and not (some jet with baseline, passOR and passJvt
  // has boosted(dR, mu.pt) or is ghost-associated with the muon).
  for (let m = 0; m < muons.length; m++) {
    let someJet = false;
    for (let j = 0; j < jets.length; j++) {
      if (!(jet[j]!.baseline && jetPassOR[j]! && jet[j]!.passJvt)) continue;
      if (boosted(deltaR(muons[m]!, jets[j]!), muons[m]!.pt) || ghostAssociated(jets[j]!, muons[m]!, tracks)) someJet = true;
    }
    mu[m]!.passOR = mu[m]!.baseline && !someJet;
  }

  if (!kept) {
    // a dropped event counts nowhere
    for (const f of ele) f.baseline = f.signal = f.passOR = false;
    for (const f of mu) f.baseline = f.signal = f.passOR = false;
    for (const f of jet) f.baseline = f.signal = f.passORAfterStep1 = f.passORAfterStep2 = f.passOR = false;
  }
  return { kept, electrons: ele, muons: mu, jets: jet };
}

// ---------------------------------------------------------------------------
// The result

export const CUTFLOW_STEPS = [
  'all events',
  'primary vertex',
  '≥1 baseline lepton',
  '≥1 lepton passing OR',
  '≥1 signal lepton passing OR',
  '≥1 signal jet passing OR',
] as const;

/** The merge identity of the result. */
export function emptyPlainResult(profile: Profile): AnalysisResult {
  const zero = () => ({ baseline: 0, passOR: 0, signal: 0 });
  return {
    analysis: 'reference',
    profile,
    eventsRead: 0,
    eventsKept: 0,
    counts: { Electrons: zero(), Muons: zero(), Jets: zero() },
    histograms: {
      dR_electron_jet_preOR: emptyHistogram('dR(electron, jet), all pairs', 'ΔR', 0, 6, 60),
      dR_electron_jet_postOR: emptyHistogram('dR(electron, jet), both passing OR', 'ΔR', 0, 6, 60),
      pt_electrons_passOR: emptyHistogram('electrons passing OR', 'p_T [GeV]', 0, 300, 60),
      pt_muons_passOR: emptyHistogram('muons passing OR', 'p_T [GeV]', 0, 300, 60),
      pt_jets_passOR: emptyHistogram('jets passing OR', 'p_T [GeV]', 0, 500, 50),
    },
    cutflow: CUTFLOW_STEPS.map((name) => ({ name, events: 0 })),
  };
}

/** Adds one event to a result. */
export function addEvent(result: AnalysisResult, event: PlainEvent, profile: Profile): EventFlags {
  const flags = eventFlags(event, profile);
  result.eventsRead += 1;
  result.cutflow[0]!.events += 1; // all events
  if (!flags.kept) return flags;

  result.eventsKept += 1;
  result.cutflow[1]!.events += 1; // primary vertex

  const counts = result.counts;
  for (const f of flags.electrons) {
    if (f.baseline) counts.Electrons!.baseline! += 1;
    if (f.passOR) counts.Electrons!.passOR! += 1;
    if (f.signal) counts.Electrons!.signal! += 1;
  }
  for (const f of flags.muons) {
    if (f.baseline) counts.Muons!.baseline! += 1;
    if (f.passOR) counts.Muons!.passOR! += 1;
    if (f.signal) counts.Muons!.signal! += 1;
  }
  for (const f of flags.jets) {
    if (f.baseline) counts.Jets!.baseline! += 1;
    if (f.passOR) counts.Jets!.passOR! += 1;
    if (f.signal) counts.Jets!.signal! += 1;
  }

  const h = result.histograms;
  for (let e = 0; e < event.electrons.length; e++) {
    for (let j = 0; j < event.jets.length; j++) {
      const dR = deltaR(event.electrons[e]!, event.jets[j]!);
      fill(h.dR_electron_jet_preOR!, dR);
      if (flags.electrons[e]!.passOR && flags.jets[j]!.passOR) fill(h.dR_electron_jet_postOR!, dR);
    }
  }
  event.electrons.forEach((e, i) => flags.electrons[i]!.passOR && fill(h.pt_electrons_passOR!, e.pt / 1000));
  event.muons.forEach((m, i) => flags.muons[i]!.passOR && fill(h.pt_muons_passOR!, m.pt / 1000));
  event.jets.forEach((j, i) => flags.jets[i]!.passOR && fill(h.pt_jets_passOR!, j.pt / 1000));

  // the cut-flow: each step requires the ones before it
  const leptons = [...flags.electrons, ...flags.muons];
  const steps = [
    leptons.some((l) => l.baseline),
    leptons.some((l) => l.passOR),
    leptons.some((l) => l.signal && l.passOR),
    flags.jets.some((j) => j.signal && j.passOR),
  ];
  for (let s = 0; s < steps.length && steps[s]; s++) result.cutflow[2 + s]!.events += 1;
  return flags;
}

/** The result of a sequence of events. */
export function plainAnalysis(events: Iterable<PlainEvent>, profile: Profile): AnalysisResult {
  const result = emptyPlainResult(profile);
  for (const event of events) addEvent(result, event, profile);
  return result;
}

// ---------------------------------------------------------------------------
// The inputs, read with jsroot (test/support/jsroot-oracle.ts), not our decoder

/** The CollectionTree branches each profile reads, by role. */
export function branchesOf(profile: Profile) {
  return {
    electrons: {
      pt: 'AnalysisElectronsAuxDyn.pt',
      eta: 'AnalysisElectronsAuxDyn.eta',
      phi: 'AnalysisElectronsAuxDyn.phi',
      LHLooseBL: 'AnalysisElectronsAuxDyn.DFCommonElectronsLHLooseBL',
      LHTight: 'AnalysisElectronsAuxDyn.DFCommonElectronsLHTight',
      topoetcone20: 'AnalysisElectronsAuxDyn.topoetcone20',
      eiso: profile === 'r21' ? 'AnalysisElectronsAuxDyn.ptvarcone20_TightTTVA_pt1000' : 'AnalysisElectronsAuxDyn.ptvarcone30_Nonprompt_All_MaxWeightTTVALooseCone_pt1000',
    },
    muons: {
      pt: 'AnalysisMuonsAuxDyn.pt',
      eta: 'AnalysisMuonsAuxDyn.eta',
      phi: 'AnalysisMuonsAuxDyn.phi',
      quality: profile === 'r21' ? 'AnalysisMuonsAuxDyn.DFCommonGoodMuon' : 'AnalysisMuonsAuxDyn.DFCommonMuonPassPreselection',
      topoetcone20: 'AnalysisMuonsAuxDyn.topoetcone20',
      ptvarcone30: 'AnalysisMuonsAuxDyn.ptvarcone30',
      topoetcone40: 'AnalysisMuonsAuxDyn.topoetcone40',
      inDetTrackParticleLink: 'AnalysisMuonsAuxDyn.inDetTrackParticleLink',
    },
    jets: {
      pt: 'AnalysisJetsAuxDyn.pt',
      eta: 'AnalysisJetsAuxDyn.eta',
      phi: 'AnalysisJetsAuxDyn.phi',
      jvt: profile === 'r21' ? 'AnalysisJetsAuxDyn.Jvt' : 'AnalysisJetsAuxDyn.NNJvtPass',
      NumTrkPt500: 'AnalysisJetsAuxDyn.NumTrkPt500',
      SumPtTrkPt500: 'AnalysisJetsAuxDyn.SumPtTrkPt500',
      GhostTrack: 'AnalysisJetsAuxDyn.GhostTrack',
    },
    tracks: {
      qOverP: 'InDetTrackParticlesAuxDyn.qOverP',
      theta: 'InDetTrackParticlesAuxDyn.theta',
      phi: 'InDetTrackParticlesAuxDyn.phi',
    },
    primaryVertexX: 'PrimaryVerticesAuxDyn.x',
  } as const;
}

/** The part of an OracleTree (test/support/jsroot-oracle.ts) used here. */
export interface BranchReader {
  entries: number;
  readMany(names: readonly string[], options?: { entryStart?: number; entryStop?: number }): Promise<Map<string, unknown[] | Error>>;
}

/**
 * Reads the events [entryStart, entryStop) as PlainEvents: the columns of one
 * collection are zipped into one record per object (every column of a
 * collection must have the same length in an event).
 */
export async function readPlainEvents(tree: BranchReader, profile: Profile, options: { entryStart?: number; entryStop?: number } = {}): Promise<PlainEvent[]> {
  const b = branchesOf(profile);
  const names = [...Object.values(b.electrons), ...Object.values(b.muons), ...Object.values(b.jets), ...Object.values(b.tracks), b.primaryVertexX];
  const read = await tree.readMany(names, options);
  const column = (name: string): unknown[] => {
    const v = read.get(name);
    if (!v) throw new Error(`jsroot gave nothing for ${name}`);
    if (v instanceof Error) throw new Error(`jsroot could not read ${name}: ${v.message}`);
    return v;
  };
  const start = options.entryStart ?? 0;
  const stop = options.entryStop ?? tree.entries;

  /** Zips the columns of one collection at entry i into records. */
  function zip<T>(collection: string, columns: Record<string, string>, i: number): T[] {
    const values: Record<string, unknown[]> = {};
    let n: number | undefined;
    for (const [field, branch] of Object.entries(columns)) {
      const v = column(branch)[i];
      if (!Array.isArray(v)) throw new Error(`${branch} at entry ${start + i} is not an array`);
      if (n !== undefined && v.length !== n) throw new Error(`${collection} at entry ${start + i}: ${branch} has ${v.length} values, other columns ${n}`);
      n = v.length;
      values[field] = v;
    }
    const out: T[] = [];
    for (let k = 0; k < (n ?? 0); k++) {
      const record: Record<string, unknown> = {};
      for (const field of Object.keys(columns)) record[field] = values[field]![k];
      out.push(record as T);
    }
    return out;
  }

  const events: PlainEvent[] = [];
  for (let i = 0; i < stop - start; i++) {
    events.push({
      electrons: zip<Electron>('Electrons', b.electrons, i),
      muons: zip<Muon>('Muons', b.muons, i),
      jets: zip<Jet>('Jets', b.jets, i),
      tracks: zip<Track>('InDetTrackParticles', b.tracks, i),
      primaryVertexX: column(b.primaryVertexX)[i] as number[],
    });
  }
  return events;
}
