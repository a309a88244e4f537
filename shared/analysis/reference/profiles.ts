// The two column profiles of ../shared/ANALYSIS.md: the same analysis, with
// the electron isolation, muon quality and jet vertex tagger columns that a
// production has.

import { RootError } from '../../root/index';
import { expectedBranch, type PhysliteSchema } from '../../physlite/index';

export const PROFILES = {
  r21: { eiso: 'ptvarcone20_TightTTVA_pt1000', muonQuality: 'DFCommonGoodMuon', jvt: 'Jvt', jvtIsScore: true },
  r22: { eiso: 'ptvarcone30_Nonprompt_All_MaxWeightTTVALooseCone_pt1000', muonQuality: 'DFCommonMuonPassPreselection', jvt: 'NNJvtPass', jvtIsScore: false },
} as const;

export type Profile = keyof typeof PROFILES;
export const PROFILE_NAMES = Object.keys(PROFILES) as Profile[];

export function isProfile(p: unknown): p is Profile {
  return typeof p === 'string' && Object.hasOwn(PROFILES, p);
}

/** Every column the analysis reads under a profile. */
export function profileColumns(profile: Profile): string[] {
  const p = PROFILES[profile];
  return [
    'Electrons.pt',
    'Electrons.eta',
    'Electrons.phi',
    'Electrons.DFCommonElectronsLHLooseBL',
    'Electrons.DFCommonElectronsLHTight',
    'Electrons.topoetcone20',
    `Electrons.${p.eiso}`,
    'Muons.pt',
    'Muons.eta',
    'Muons.phi',
    `Muons.${p.muonQuality}`,
    'Muons.topoetcone20',
    'Muons.ptvarcone30',
    'Muons.topoetcone40',
    'Muons.inDetTrackParticleLink',
    'Jets.pt',
    'Jets.eta',
    'Jets.phi',
    `Jets.${p.jvt}`,
    'Jets.NumTrkPt500',
    'Jets.SumPtTrkPt500',
    'Jets.GhostTrack',
    // the track's pt needs only qOverP and theta
    'InDetTrackParticles.qOverP',
    'InDetTrackParticles.theta',
    'PrimaryVertices.x',
  ];
}

/**
 * The profile to read a file with: the forced one (which must fit), else the
 * one whose columns the file has (r22 first, the newer production).
 */
export function chooseProfile(schema: PhysliteSchema, forced?: Profile, fileName?: string): Profile {
  const missing = (p: Profile) => schema.missing(profileColumns(p)).map((r) => expectedBranch(schema, r));
  const ctx = { file: fileName, tree: 'CollectionTree' };
  if (forced) {
    const m = missing(forced);
    if (m.length) throw new RootError('NOT_FOUND', `profile ${forced} needs branches this file lacks: ${m.join(', ')}`, ctx);
    return forced;
  }
  const order: Profile[] = ['r22', 'r21'];
  const report: string[] = [];
  for (const p of order) {
    const m = missing(p);
    if (m.length === 0) return p;
    report.push(`${p} lacks ${m.join(', ')}`);
  }
  throw new RootError('NOT_FOUND', `the file fits no analysis profile: ${report.join('; ')}`, ctx);
}
