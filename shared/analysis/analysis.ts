// The analysis interface: what a worker runs on each chunk of a shard.
//
// An analysis looks at a file's schema once (to choose a profile, say) and
// declares the columns it needs; only those are fetched and decoded. It then
// processes chunks of events column-wise and returns, per chunk, a partial
// result that adds to the others (see result.ts).

import type { EventChunk, PhysliteSchema } from '../physlite/index';
import type { AnalysisResult } from './result';

export interface Analysis {
  /** Registry name, recorded in results ("reference"). */
  readonly name: string;
  /**
   * Configures the analysis for one file. Throws a RootError (NOT_FOUND)
   * naming the missing branches when the file cannot be analysed.
   */
  prepare(schema: PhysliteSchema, fileName?: string): PreparedAnalysis;
  /** The merge identity: zero events, zero counts, empty histograms. */
  empty(): AnalysisResult;
}

export interface PreparedAnalysis {
  /** The configuration chosen for this file (e.g. "r21"). */
  readonly profile: string;
  /** Columns as "Collection.field". */
  readonly columns: readonly string[];
  /** The partial result of one chunk. */
  process(chunk: EventChunk): AnalysisResult;
}

/** A request for an analysis that cannot be made (unknown name, bad option): the caller's mistake. */
export class AnalysisConfigError extends Error {
  override readonly name = 'AnalysisConfigError';
}
