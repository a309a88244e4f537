// The two PHYSLITE samples as the rehearsals use them: their bytes (to upload),
// and the expected result of any number of copies of each, from the single-file
// runner's per-file results (checked against the independent oracle in
// test/analysis-oracle.test.ts) summed: never numbers a pipeline printed.

import { readFile } from 'node:fs/promises';
import { analyseFile } from '../../shared/analysis/runner';
import { createAnalysis } from '../../shared/analysis/registry';
import { mergeAll, type AnalysisResult } from '../../shared/analysis/result';
import { samplePath } from '../../scripts/lib/samples';

export const R21_NAME = 'DAOD_PHYSLITE_21.2.108.0.art.pool.root';
export const R22_NAME = 'PHYSLITE_example.root';
/** Entries of each sample's CollectionTree. */
export const R21_EVENTS = 40;
export const R22_EVENTS = 100;

export interface SamplePair {
  r21: Uint8Array;
  r22: Uint8Array;
  paths: { r21: string; r22: string };
  perFile: { r21: AnalysisResult; r22: AnalysisResult };
  /** The reference analysis of `n21` copies of r21 and `n22` copies of r22. */
  expected(n21: number, n22: number): AnalysisResult;
}

export async function loadSamplePair(): Promise<SamplePair> {
  const paths = { r21: await samplePath(R21_NAME), r22: await samplePath(R22_NAME) };
  const perFile = {
    r21: (await analyseFile(paths.r21, createAnalysis('reference'))).result,
    r22: (await analyseFile(paths.r22, createAnalysis('reference'))).result,
  };
  return {
    r21: new Uint8Array(await readFile(paths.r21)),
    r22: new Uint8Array(await readFile(paths.r22)),
    paths,
    perFile,
    expected: (n21, n22) => mergeAll([...Array<AnalysisResult>(n21).fill(perFile.r21), ...Array<AnalysisResult>(n22).fill(perFile.r22)]),
  };
}
