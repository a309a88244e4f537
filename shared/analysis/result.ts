// Partial results: what one chunk, one shard or one whole job produced.
//
// Everything in a result is an integer count, and merging is element-wise
// addition, so merging is exact, associative and commutative: shards can be
// merged in any order, in any grouping, and give the same bits. Results are
// plain JSON (they travel through Pub/Sub and Firestore).

/** A histogram with fixed, uniform binning and integer counts. */
export interface Histogram {
  title: string;
  /** Axis label with its unit, e.g. "p_T [GeV]". */
  xLabel: string;
  lo: number;
  hi: number;
  bins: number;
  /** bins + 2 counts: [underflow, bin 0 … bin bins-1, overflow]. */
  counts: number[];
  /** Fills with a NaN value (they are in no bin). */
  nan: number;
}

export interface CutflowStep {
  name: string;
  events: number;
}

/** Per collection, per flag: the number of objects whose flag is true. */
export type ObjectCounts = Record<string, Record<string, number>>;

export interface AnalysisResult {
  /** Which analysis made it; results of different analyses never merge. */
  analysis: string;
  /** Profile(s) the inputs were read with; several are joined with "+" in sorted order. */
  profile: string;
  eventsRead: number;
  eventsKept: number;
  counts: ObjectCounts;
  histograms: Record<string, Histogram>;
  cutflow: CutflowStep[];
}

export class MergeError extends Error {
  override readonly name = 'MergeError';
}

export function emptyHistogram(title: string, xLabel: string, lo: number, hi: number, bins: number): Histogram {
  if (!(hi > lo) || !Number.isInteger(bins) || bins < 1) throw new RangeError(`bad binning [${lo}, ${hi}) / ${bins}`);
  return { title, xLabel, lo, hi, bins, counts: new Array<number>(bins + 2).fill(0), nan: 0 };
}

/**
 * The slot of x in counts: 0 underflow (x < lo), bins + 1 overflow (x >= hi),
 * else 1 + floor((x - lo) / (hi - lo) * bins), clamped against rounding; -1 for NaN.
 */
export function binIndex(lo: number, hi: number, bins: number, x: number): number {
  if (x !== x) return -1;
  if (x < lo) return 0;
  if (x >= hi) return bins + 1;
  const k = Math.floor(((x - lo) / (hi - lo)) * bins);
  return 1 + (k < bins ? k : bins - 1);
}

export function fill(h: Histogram, x: number): void {
  const k = binIndex(h.lo, h.hi, h.bins, x);
  if (k < 0) h.nan++;
  else h.counts[k]!++;
}

function sameBinning(a: Histogram, b: Histogram): boolean {
  return a.lo === b.lo && a.hi === b.hi && a.bins === b.bins && a.counts.length === b.counts.length;
}

function mergeProfiles(a: string, b: string): string {
  const set = new Set([...a.split('+'), ...b.split('+')].filter((p) => p !== ''));
  return [...set].sort().join('+');
}

/** a + b as a new result (neither input changes). Throws MergeError on results that cannot add. */
export function mergeResults(a: AnalysisResult, b: AnalysisResult): AnalysisResult {
  const out = structuredClone(a);
  mergeInto(out, b);
  return out;
}

/** target += source. Throws MergeError (before changing target) on results that cannot add. */
export function mergeInto(target: AnalysisResult, source: AnalysisResult): void {
  if (target.analysis !== source.analysis) throw new MergeError(`cannot merge results of analysis "${source.analysis}" into "${target.analysis}"`);
  for (const [name, h] of Object.entries(source.histograms)) {
    const t = target.histograms[name];
    if (t && !sameBinning(t, h)) throw new MergeError(`histogram "${name}" has binning [${h.lo}, ${h.hi})/${h.bins}, expected [${t.lo}, ${t.hi})/${t.bins}`);
  }
  const steps = target.cutflow.map((s) => s.name);
  const sourceSteps = source.cutflow.map((s) => s.name);
  if (steps.length && sourceSteps.length && steps.join('\n') !== sourceSteps.join('\n')) throw new MergeError(`cut-flows differ: [${sourceSteps.join(', ')}] vs [${steps.join(', ')}]`);

  target.profile = mergeProfiles(target.profile, source.profile);
  target.eventsRead += source.eventsRead;
  target.eventsKept += source.eventsKept;
  for (const [coll, flags] of Object.entries(source.counts)) {
    const t = (target.counts[coll] ??= {});
    for (const [flag, n] of Object.entries(flags)) t[flag] = (t[flag] ?? 0) + n;
  }
  for (const [name, h] of Object.entries(source.histograms)) {
    const t = target.histograms[name];
    if (!t) target.histograms[name] = structuredClone(h);
    else {
      for (let i = 0; i < h.counts.length; i++) t.counts[i]! += h.counts[i]!;
      t.nan += h.nan;
    }
  }
  if (steps.length === 0) target.cutflow = structuredClone(source.cutflow);
  else source.cutflow.forEach((s, i) => (target.cutflow[i]!.events += s.events));
}

/** Sum of many results (at least one). */
export function mergeAll(results: readonly AnalysisResult[]): AnalysisResult {
  if (results.length === 0) throw new MergeError('nothing to merge');
  const out = structuredClone(results[0]!);
  for (let i = 1; i < results.length; i++) mergeInto(out, results[i]!);
  return out;
}
