// The reference analysis (../shared/ANALYSIS.md) as an Analysis: chooses the
// profile per file, declares its columns, and feeds each chunk's columns to
// the kernel.
//
//   const analysis = referenceAnalysis({ profile: 'r21' });   // or {} to choose per file

import type { EventChunk, PhysliteSchema } from '../../physlite/index';
import { AnalysisConfigError, type Analysis, type PreparedAnalysis } from '../analysis';
import type { AnalysisResult } from '../result';
import { ReferenceKernel, emptyReferenceResult, ANALYSIS_NAME, type ReferenceInput } from './kernel';
import { PROFILES, PROFILE_NAMES, chooseProfile, isProfile, profileColumns, type Profile } from './profiles';

export { PROFILES, PROFILE_NAMES, profileColumns, chooseProfile, type Profile } from './profiles';
export { CUTFLOW, deltaR, emptyReferenceResult } from './kernel';

export interface ReferenceOptions {
  /** Force a profile; by default each file's is chosen from its branches. */
  profile?: Profile;
}

export function referenceAnalysis(options: ReferenceOptions = {}): Analysis {
  if (options.profile !== undefined && !isProfile(options.profile)) {
    throw new AnalysisConfigError(`unknown profile "${String(options.profile)}" (known: ${PROFILE_NAMES.join(', ')})`);
  }
  const forced = options.profile;
  return {
    name: ANALYSIS_NAME,
    prepare(schema: PhysliteSchema, fileName?: string): PreparedAnalysis {
      const profile = chooseProfile(schema, forced, fileName);
      const kernel = new ReferenceKernel(profile);
      return {
        profile,
        columns: profileColumns(profile),
        process: (chunk) => kernel.process(referenceInput(chunk, profile)),
      };
    },
    empty(): AnalysisResult {
      return emptyReferenceResult(forced ?? '');
    },
  };
}

/** The kernel's columns from a chunk read with profileColumns(profile). */
export function referenceInput(chunk: EventChunk, profile: Profile): ReferenceInput {
  const p = PROFILES[profile];
  for (const c of ['Electrons', 'Muons', 'Jets', 'InDetTrackParticles']) chunk.checkCollection(c);
  const electrons = chunk.objects('Electrons.pt');
  const muons = chunk.objects('Muons.pt');
  const jets = chunk.objects('Jets.pt');
  const el = (f: string) => chunk.objects(`Electrons.${f}`).values;
  const mu = (f: string) => chunk.objects(`Muons.${f}`).values;
  const jet = (f: string) => chunk.objects(`Jets.${f}`).values;

  const jvtColumn = jet(p.jvt);
  const jvtPass = new Uint8Array(jvtColumn.length);
  if (p.jvtIsScore) for (let i = 0; i < jvtPass.length; i++) jvtPass[i] = (jvtColumn[i] as number) > 0.2 ? 1 : 0;
  else for (let i = 0; i < jvtPass.length; i++) jvtPass[i] = jvtColumn[i] === 1 ? 1 : 0;

  const nTrk = chunk.objectVectors('Jets.NumTrkPt500');
  const sumTrkPt = chunk.objectVectors('Jets.SumPtTrkPt500');
  const ghosts = chunk.linkVectors('Jets.GhostTrack');
  const muonLinks = chunk.links('Muons.inDetTrackParticleLink');
  return {
    events: chunk.length,
    primaryVertexOffsets: chunk.objects('PrimaryVertices.x').offsets,
    electrons: {
      offsets: electrons.offsets,
      pt: electrons.values,
      eta: el('eta'),
      phi: el('phi'),
      looseBL: el('DFCommonElectronsLHLooseBL'),
      tight: el('DFCommonElectronsLHTight'),
      topoetcone20: el('topoetcone20'),
      eiso: el(p.eiso),
    },
    muons: {
      offsets: muons.offsets,
      pt: muons.values,
      eta: mu('eta'),
      phi: mu('phi'),
      quality: mu(p.muonQuality),
      topoetcone20: mu('topoetcone20'),
      ptvarcone30: mu('ptvarcone30'),
      topoetcone40: mu('topoetcone40'),
      track: chunk.resolveLinks('Muons.inDetTrackParticleLink', 'InDetTrackParticles'),
      trackIndex: muonLinks.index,
    },
    jets: {
      offsets: jets.offsets,
      pt: jets.values,
      eta: jet('eta'),
      phi: jet('phi'),
      jvtPass,
      nTrkInner: nTrk.inner,
      nTrk: nTrk.values,
      sumTrkPtInner: sumTrkPt.inner,
      sumTrkPt: sumTrkPt.values,
      ghostInner: ghosts.inner,
      ghostKey: ghosts.key,
      ghostIndex: ghosts.index,
    },
    tracks: { qOverP: chunk.objects('InDetTrackParticles.qOverP').values, theta: chunk.objects('InDetTrackParticles.theta').values },
  };
}
