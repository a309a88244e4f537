// Analyses by name, as a job request names them ({"analysis": "reference",
// "options": {"profile": "r22"}}). Unknown names and bad options are
// AnalysisConfigErrors, so a request is refused before any work starts.

import { AnalysisConfigError, type Analysis } from './analysis';
import { referenceAnalysis, PROFILE_NAMES, type Profile } from './reference/index';

interface Entry {
  description: string;
  create(options: Record<string, unknown>): Analysis;
}

const ANALYSES: Record<string, Entry> = {
  reference: {
    description: 'object selection and overlap removal of electrons, muons and jets (ANALYSIS.md); option: profile r21|r22',
    create(options) {
      const { profile, ...rest } = options;
      const unknown = Object.keys(rest);
      if (unknown.length) throw new AnalysisConfigError(`unknown option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} for analysis "reference" (known: profile)`);
      if (profile !== undefined && !(PROFILE_NAMES as unknown[]).includes(profile)) {
        throw new AnalysisConfigError(`unknown profile ${JSON.stringify(profile)} (known: ${PROFILE_NAMES.join(', ')})`);
      }
      return referenceAnalysis({ profile: profile as Profile | undefined });
    },
  },
};

export function analysisNames(): string[] {
  return Object.keys(ANALYSES);
}

export function describeAnalyses(): { name: string; description: string }[] {
  return Object.entries(ANALYSES).map(([name, e]) => ({ name, description: e.description }));
}

/** The named analysis with its options; AnalysisConfigError says what to fix. */
export function createAnalysis(name: unknown, options: unknown = {}): Analysis {
  if (typeof name !== 'string' || !Object.hasOwn(ANALYSES, name)) {
    throw new AnalysisConfigError(`unknown analysis ${JSON.stringify(name)} (known: ${analysisNames().join(', ')})`);
  }
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new AnalysisConfigError('analysis options must be a JSON object');
  return ANALYSES[name]!.create(options as Record<string, unknown>);
}
