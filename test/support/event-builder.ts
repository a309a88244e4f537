// Hand-made PHYSLITE events for unit tests of the analysis: plain per-event
// objects in, an EventChunk out, with the columns laid out the way the
// decoder gives them (see ../../shared/root/content.ts):
//
//   per-object floats (pt, eta, isolation, qOverP, PV x, r21 Jvt)  list(numeric float32)
//   char flags (DFCommon…, r22 NNJvtPass)                          list(numeric int8)
//   NumTrkPt500 / SumPtTrkPt500                                    list(list(numeric int32 / float32))
//   inDetTrackParticleLink                                         list(record{m_persKey, m_persIndex: uint32})
//   GhostTrack                                                     list(list(record{m_persKey, m_persIndex: uint32}))
//
//   const chunk = buildChunk([
//     { electrons: [{ pt: 20000 }], jets: [{ eta: 0.3, phi: 0 }] },
//     { pv: 0 },                                  // an event without a primary vertex
//   ], { profile: 'r21' });
//
// Every field has a default, so a test states only what matters:
//   event     pv 1 vertex, no objects
//   electron  pt 30000, eta 0, phi 0, looseBL 1, tight 1, topoetcone20 0, eiso 0   (baseline and signal)
//   muon      pt 30000, eta 0, phi 2, quality 1, topoetcone20 0, ptvarcone30 0, topoetcone40 0 (baseline and signal)
//             without `link`, the builder appends a track of pt `idPt` (default: the muon's pt) to the
//             event's tracks and links the muon to it; with `link`, the link is stored as given
//   jet       pt 50000, eta 0, phi -2, jvt passing (r21 Jvt 1.0, r22 NNJvtPass 1), numTrk [10],
//             sumTrkPt [100000], no ghosts                                           (baseline and signal)
//   track     qOverP fround(1/30000), theta fround(pi/2), phi 0
// The default phis (0, 2, -2) keep electrons, muons and jets left at their defaults
// more than 2 apart in dR; overlap tests place their objects explicitly.
//
// All floats are stored as float32 (Math.fround): choose values exactly
// representable where an edge matters, or use f32Below / f32Above.

import { EventChunk, PhysliteSchema, CollectionKeys } from '../../shared/physlite/index';
import type { Content } from '../../shared/root/index';
import { PROFILES, profileColumns, type Profile } from '../../shared/analysis/reference/profiles';

/** The link hash of InDetTrackParticles in both samples. */
export const TRACK_KEY = 490246363;

export interface Link {
  key: number;
  index: number;
}

/** An empty ElementLink (m_persKey 0). */
export const EMPTY_LINK: Link = { key: 0, index: 0 };

export interface ElectronSpec {
  pt?: number;
  eta?: number;
  phi?: number;
  looseBL?: number;
  tight?: number;
  topoetcone20?: number;
  /** the profile's electron track isolation (r21 ptvarcone20_TightTTVA_pt1000, r22 ptvarcone30_Nonprompt_…) */
  eiso?: number;
}

export interface MuonSpec {
  pt?: number;
  eta?: number;
  phi?: number;
  /** the profile's muon quality flag (r21 DFCommonGoodMuon, r22 DFCommonMuonPassPreselection) */
  quality?: number;
  topoetcone20?: number;
  ptvarcone30?: number;
  topoetcone40?: number;
  /** the stored inDetTrackParticleLink; when absent, a track is made for the muon and linked */
  link?: Link;
  /** pt of the track made for the muon (only without `link`); default: the muon's pt */
  idPt?: number;
  /** charge sign of the track made for the muon (only without `link`); default +1 */
  charge?: 1 | -1;
}

export interface JetSpec {
  pt?: number;
  eta?: number;
  phi?: number;
  /** r21: the Jvt score (float); r22: the NNJvtPass char */
  jvt?: number;
  numTrk?: number[];
  sumTrkPt?: number[];
  ghosts?: Link[];
}

export interface TrackSpec {
  qOverP?: number;
  theta?: number;
  phi?: number;
}

export interface EventSpec {
  /** number of primary vertices (default 1; 0 drops the event) */
  pv?: number;
  electrons?: ElectronSpec[];
  muons?: MuonSpec[];
  jets?: JetSpec[];
  /** the event's InDetTrackParticles, before the ones made for muons without `link` */
  tracks?: TrackSpec[];
}

export interface BuildOptions {
  profile?: Profile;
  /** entry number of the first event (default 0) */
  entryStart?: number;
  fileName?: string;
  /**
   * true (default): the link keys come from an EventFormat listing InDetTrackParticles with
   * hash TRACK_KEY (like the r21 sample); false: no EventFormat, keys computed (like the r22 sample).
   */
  eventFormat?: boolean;
  /** column refs ("Collection.field") to leave out of the file */
  omitColumns?: string[];
  /** column refs to add (filled with zeros as per-object float32) */
  extraColumns?: string[];
}

/** A track whose pt (= sin(theta) / |qOverP|) is `pt`, up to float32 rounding of qOverP. */
export function trackWithPt(pt: number, charge: 1 | -1 = 1): TrackSpec {
  return { qOverP: charge / pt, theta: Math.PI / 2 };
}

// ---------------------------------------------------------------- float32 helpers

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** The next float32 above the float32 value f. */
export function nextUp32(f: number): number {
  if (Math.fround(f) !== f || !Number.isFinite(f)) throw new RangeError(`${f} is not a finite float32`);
  if (f === 0) return 2 ** -149;
  F32[0] = f;
  if (f > 0) U32[0]!++;
  else U32[0]!--;
  return F32[0]!;
}

/** The next float32 below the float32 value f. */
export function nextDown32(f: number): number {
  return -nextUp32(-f);
}

/** The largest float32 strictly below the double x. */
export function f32Below(x: number): number {
  const f = Math.fround(x);
  return f < x ? f : nextDown32(f);
}

/** The smallest float32 strictly above the double x. */
export function f32Above(x: number): number {
  const f = Math.fround(x);
  return f > x ? f : nextUp32(f);
}

// ---------------------------------------------------------------- layout

const PREFIX: Record<string, string> = {
  Electrons: 'AnalysisElectronsAuxDyn.',
  Muons: 'AnalysisMuonsAuxDyn.',
  Jets: 'AnalysisJetsAuxDyn.',
  InDetTrackParticles: 'InDetTrackParticlesAuxDyn.',
  PrimaryVertices: 'PrimaryVerticesAuxDyn.',
};

/** The branch of a column ref, e.g. "Muons.pt" → "AnalysisMuonsAuxDyn.pt". */
export function branchName(ref: string): string {
  const dot = ref.indexOf('.');
  const prefix = PREFIX[ref.slice(0, dot)];
  if (!prefix) throw new Error(`event-builder: no branch prefix for ${ref}`);
  return prefix + ref.slice(dot + 1);
}

type Collection = 'Electrons' | 'Muons' | 'Jets' | 'InDetTrackParticles' | 'PrimaryVertices';

type Getter =
  | { kind: 'f32'; get: (o: Obj) => number }
  | { kind: 'i8'; get: (o: Obj) => number }
  | { kind: 'vi32'; get: (o: Obj) => number[] }
  | { kind: 'vf32'; get: (o: Obj) => number[] }
  | { kind: 'link'; get: (o: Obj) => Link }
  | { kind: 'vlink'; get: (o: Obj) => Link[] };

type Obj = Record<string, unknown>;

interface NormalEvent {
  Electrons: Required<ElectronSpec>[];
  Muons: (Required<Omit<MuonSpec, 'idPt' | 'charge'>>)[];
  Jets: Required<JetSpec>[];
  InDetTrackParticles: Required<TrackSpec>[];
  PrimaryVertices: { x: number }[];
}

function normalise(ev: EventSpec): NormalEvent {
  const tracks: Required<TrackSpec>[] = (ev.tracks ?? []).map((t) => ({ qOverP: 1 / 30000, theta: Math.PI / 2, phi: 0, ...t }));
  const muons = (ev.muons ?? []).map((m) => {
    const { idPt, charge, link, ...rest } = m;
    let l = link;
    if (l && (idPt !== undefined || charge !== undefined)) throw new Error('event-builder: idPt and charge are only for muons without link');
    if (!l) {
      tracks.push({ ...trackWithPt(idPt ?? m.pt ?? 30000, charge ?? 1), phi: m.phi ?? 2 } as Required<TrackSpec>);
      l = { key: TRACK_KEY, index: tracks.length - 1 };
    }
    return { pt: 30000, eta: 0, phi: 2, quality: 1, topoetcone20: 0, ptvarcone30: 0, topoetcone40: 0, ...rest, link: l };
  });
  return {
    Electrons: (ev.electrons ?? []).map((e) => ({ pt: 30000, eta: 0, phi: 0, looseBL: 1, tight: 1, topoetcone20: 0, eiso: 0, ...e })),
    Muons: muons,
    Jets: (ev.jets ?? []).map((j) => ({ pt: 50000, eta: 0, phi: -2, jvt: 1, numTrk: [10], sumTrkPt: [100000], ghosts: [], ...j })),
    InDetTrackParticles: tracks,
    PrimaryVertices: Array.from({ length: ev.pv ?? 1 }, () => ({ x: 0 })),
  };
}

function getters(profile: Profile): Map<string, Getter> {
  const p = PROFILES[profile];
  const f = (name: string): Getter => ({ kind: 'f32', get: (o) => o[name] as number });
  const c = (name: string): Getter => ({ kind: 'i8', get: (o) => o[name] as number });
  return new Map<string, Getter>([
    ['Electrons.pt', f('pt')],
    ['Electrons.eta', f('eta')],
    ['Electrons.phi', f('phi')],
    ['Electrons.DFCommonElectronsLHLooseBL', c('looseBL')],
    ['Electrons.DFCommonElectronsLHTight', c('tight')],
    ['Electrons.topoetcone20', f('topoetcone20')],
    [`Electrons.${p.eiso}`, f('eiso')],
    ['Muons.pt', f('pt')],
    ['Muons.eta', f('eta')],
    ['Muons.phi', f('phi')],
    [`Muons.${p.muonQuality}`, c('quality')],
    ['Muons.topoetcone20', f('topoetcone20')],
    ['Muons.ptvarcone30', f('ptvarcone30')],
    ['Muons.topoetcone40', f('topoetcone40')],
    ['Muons.inDetTrackParticleLink', { kind: 'link', get: (o) => o.link as Link }],
    ['Jets.pt', f('pt')],
    ['Jets.eta', f('eta')],
    ['Jets.phi', f('phi')],
    [`Jets.${p.jvt}`, p.jvtIsScore ? f('jvt') : c('jvt')],
    ['Jets.NumTrkPt500', { kind: 'vi32', get: (o) => o.numTrk as number[] }],
    ['Jets.SumPtTrkPt500', { kind: 'vf32', get: (o) => o.sumTrkPt as number[] }],
    ['Jets.GhostTrack', { kind: 'vlink', get: (o) => o.ghosts as Link[] }],
    ['InDetTrackParticles.qOverP', f('qOverP')],
    ['InDetTrackParticles.theta', f('theta')],
    ['InDetTrackParticles.phi', f('phi')],
    ['PrimaryVertices.x', f('x')],
  ]);
}

function checkInt8(v: number, what: string): number {
  if (!Number.isInteger(v) || v < -128 || v > 127) throw new RangeError(`event-builder: ${what} = ${v} is not a char`);
  return v;
}

function checkUint32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`event-builder: ${what} = ${v} is not a uint32`);
  return v;
}

function linkRecord(links: Link[], what: string): Content {
  return {
    kind: 'record',
    length: links.length,
    fields: [
      { name: 'm_persKey', content: { kind: 'numeric', dtype: 'uint32', values: Uint32Array.from(links, (l) => checkUint32(l.key, `${what} m_persKey`)) } },
      { name: 'm_persIndex', content: { kind: 'numeric', dtype: 'uint32', values: Uint32Array.from(links, (l) => checkUint32(l.index, `${what} m_persIndex`)) } },
    ],
  };
}

function offsetsOf(counts: number[]): Int32Array {
  const o = new Int32Array(counts.length + 1);
  for (let i = 0; i < counts.length; i++) o[i + 1] = o[i]! + counts[i]!;
  return o;
}

function column(ref: string, g: Getter, events: NormalEvent[]): Content {
  const coll = ref.slice(0, ref.indexOf('.')) as Collection;
  const perEvent = events.map((e) => e[coll] as unknown as Obj[]);
  const objs = perEvent.flat();
  const offsets = offsetsOf(perEvent.map((l) => l.length));
  const inner = (values: unknown[][]) => offsetsOf(values.map((v) => v.length));
  let content: Content;
  switch (g.kind) {
    case 'f32':
      content = { kind: 'numeric', dtype: 'float32', values: Float32Array.from(objs, g.get) };
      break;
    case 'i8':
      content = { kind: 'numeric', dtype: 'int8', values: Int8Array.from(objs, (o) => checkInt8(g.get(o), ref)) };
      break;
    case 'vi32': {
      const v = objs.map(g.get);
      content = { kind: 'list', offsets: inner(v), content: { kind: 'numeric', dtype: 'int32', values: Int32Array.from(v.flat()) } };
      break;
    }
    case 'vf32': {
      const v = objs.map(g.get);
      content = { kind: 'list', offsets: inner(v), content: { kind: 'numeric', dtype: 'float32', values: Float32Array.from(v.flat()) } };
      break;
    }
    case 'link':
      content = linkRecord(objs.map(g.get), ref);
      break;
    case 'vlink': {
      const v = objs.map(g.get);
      content = { kind: 'list', offsets: inner(v), content: linkRecord(v.flat(), ref) };
      break;
    }
  }
  return { kind: 'list', offsets, content };
}

/** The column refs a built chunk holds under a profile. */
export function builtColumns(profile: Profile, options: Pick<BuildOptions, 'omitColumns' | 'extraColumns'> = {}): string[] {
  const refs = new Set([...profileColumns(profile), 'InDetTrackParticles.phi', ...(options.extraColumns ?? [])]);
  for (const r of options.omitColumns ?? []) refs.delete(r);
  return [...refs];
}

/** The events as one EventChunk with every column the profile reads. */
export function buildChunk(events: EventSpec[], options: BuildOptions = {}): EventChunk {
  const profile = options.profile ?? 'r21';
  const normal = events.map(normalise);
  const get = getters(profile);
  const columns = new Map<string, Content>();
  for (const ref of builtColumns(profile, options)) {
    const g = get.get(ref) ?? { kind: 'f32', get: () => 0 };
    columns.set(branchName(ref), column(ref, g, normal));
  }
  const schema = PhysliteSchema.fromBranches([...columns.keys()].map((name) => ({ name })));
  const keys =
    options.eventFormat === false
      ? new CollectionKeys([], false)
      : new CollectionKeys([{ key: 'InDetTrackParticles', className: 'DataVector<xAOD::TrackParticle_v1>', hash: TRACK_KEY }], true);
  const start = options.entryStart ?? 0;
  return new EventChunk(start, start + events.length, columns, schema, keys, options.fileName ?? 'handmade');
}
