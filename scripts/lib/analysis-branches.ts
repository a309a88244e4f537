// The branch sets the reference analysis (../shared/ANALYSIS.md) reads, per
// profile. The decoder benchmark reads exactly these; the analysis issue will
// take its column list from its own declaration.

export type Profile = 'r21' | 'r22';

const E = 'AnalysisElectronsAuxDyn.';
const M = 'AnalysisMuonsAuxDyn.';
const J = 'AnalysisJetsAuxDyn.';

export function analysisBranches(profile: Profile): string[] {
  const r21 = profile === 'r21';
  return [
    ...['pt', 'eta', 'phi', 'DFCommonElectronsLHLooseBL', 'DFCommonElectronsLHTight', 'topoetcone20', r21 ? 'ptvarcone20_TightTTVA_pt1000' : 'ptvarcone30_Nonprompt_All_MaxWeightTTVALooseCone_pt1000'].map((x) => E + x),
    ...['pt', 'eta', 'phi', r21 ? 'DFCommonGoodMuon' : 'DFCommonMuonPassPreselection', 'topoetcone20', 'ptvarcone30', 'topoetcone40', 'inDetTrackParticleLink'].map((x) => M + x),
    ...['pt', 'eta', 'phi', r21 ? 'Jvt' : 'NNJvtPass', 'NumTrkPt500', 'SumPtTrkPt500', 'GhostTrack'].map((x) => J + x),
    'InDetTrackParticlesAuxDyn.qOverP',
    'InDetTrackParticlesAuxDyn.theta',
    'InDetTrackParticlesAuxDyn.phi',
    'PrimaryVerticesAuxDyn.x',
  ];
}
