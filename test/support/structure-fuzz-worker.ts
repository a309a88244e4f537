// Runs in a worker thread for test/structure-fuzz.test.ts: applies one
// metadata mutation at a time to a re-laid sample (TTree and streamers stored
// uncompressed), then opens the file, lists its trees, reads the tree's
// clusters and a few branches, and (for PHYSLITE samples) runs the reference
// analysis. Each case must end with the pristine values or a RootError. The
// worker reports the start and the end of every case, so the test can bound
// each case's time from outside and restart the worker after a hang or OOM.

import { parentPort, workerData } from 'node:worker_threads';
import { isDeepStrictEqual } from 'node:util';
import { openRootFile, RootError, toPlainArray, type PlainValue } from '../../shared/root/index';
import { BufferSource } from '../../shared/root/source';
import { analyseFile } from '../../shared/analysis/runner';
import { referenceAnalysis } from '../../shared/analysis/reference/index';
import { patch, type Field } from './structure-layout';
import { openOracle } from './jsroot-oracle';

export interface FuzzSample {
  name: string;
  bytes: Uint8Array;
  tree: string;
  branches: string[];
  /** Run the reference analysis too (PHYSLITE samples). */
  analysis: boolean;
}

export interface FuzzCase {
  sample: number;
  field: Field;
  value: string; // a bigint in decimal (structured clone keeps it simple)
  /** A second field whose value is swapped with the first (value ignored). */
  swapWith?: Field;
  label: string;
}

export interface Outcome {
  /**
   * 'same': every read equal to the pristine file's; 'typed': at least one
   * RootError, the rest equal; 'reread': a branch's values changed, exactly as
   * jsroot reads the mutated file (the field changed the file's meaning, e.g.
   * a leaf's fIsUnsigned).
   */
  kind: 'same' | 'typed' | 'reread' | 'wrong' | 'untyped';
  codes: string[];
  detail?: string;
}

interface Job {
  samples: FuzzSample[];
  cases: FuzzCase[];
  start: number;
  maxObjectBytes: number;
}

const job = workerData as Job;

interface Truth {
  trees: string[];
  entries: number;
  values: Map<string, PlainValue[]>;
  analysis: unknown;
}

async function readSample(bytes: Uint8Array, s: FuzzSample, name: string): Promise<{ truth: Truth; errors: RootError[] }> {
  const errors: RootError[] = [];
  const truth: Truth = { trees: [], entries: -1, values: new Map(), analysis: null };
  const catching = async (body: () => Promise<void>) => {
    try {
      await body();
    } catch (e) {
      if (!(e instanceof RootError)) throw e;
      errors.push(e);
    }
  };
  await catching(async () => {
    const file = await openRootFile(new BufferSource(bytes, name), { limits: { maxObjectBytes: job.maxObjectBytes } });
    truth.trees = await file.trees();
    const tree = await file.tree(s.tree);
    truth.entries = tree.tree.entries;
    tree.tree.clusters();
    for (const b of s.branches) {
      await catching(async () => {
        const r = await tree.read([b]);
        truth.values.set(b, toPlainArray(r.columns.get(b)!));
      });
    }
  });
  if (s.analysis) {
    await catching(async () => {
      const run = await analyseFile(new BufferSource(bytes, name), referenceAnalysis({}));
      truth.analysis = run.result;
    });
  }
  return { truth, errors };
}

/** Branches whose values differ from the pristine file's, and any other difference. */
function compare(got: Truth, want: Truth): { other: string | null; branches: string[] } {
  const branches = [...got.values].filter(([b, v]) => !isDeepStrictEqual(v, want.values.get(b))).map(([b]) => b);
  let other: string | null = null;
  if (got.trees.length && !isDeepStrictEqual(got.trees, want.trees)) other = `trees ${JSON.stringify(got.trees).slice(0, 120)}`;
  else if (got.entries >= 0 && got.entries !== want.entries) other = `tree has ${got.entries} entries, the pristine file ${want.entries}`;
  else if (got.analysis && !isDeepStrictEqual(got.analysis, want.analysis) && branches.length === 0) other = 'analysis result differs';
  return { other, branches };
}

/** Whether jsroot reads the changed branches of the mutated file exactly as we did. */
async function jsrootAgrees(bytes: Uint8Array, tree: string, got: Truth, branches: string[]): Promise<boolean> {
  try {
    const oracle = await openOracle(bytes, tree);
    for (const b of branches) if (!isDeepStrictEqual(await oracle.read(b), got.values.get(b))) return false;
    return true;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const truths: Truth[] = [];
  for (const s of job.samples) {
    const { truth, errors } = await readSample(s.bytes, s, s.name);
    if (errors.length) throw new Error(`pristine ${s.name} fails: ${errors[0]!.message}`);
    truths.push(truth);
  }
  parentPort!.postMessage({ type: 'ready' });
  for (let i = job.start; i < job.cases.length; i++) {
    const c = job.cases[i]!;
    const s = job.samples[c.sample]!;
    const bytes = s.bytes.slice();
    if (c.swapWith) {
      const a = bytes.slice(c.field.offset, c.field.offset + c.field.width);
      bytes.copyWithin(c.field.offset, c.swapWith.offset, c.swapWith.offset + c.field.width);
      bytes.set(a, c.swapWith.offset);
    } else patch(bytes, c.field, BigInt(c.value));
    parentPort!.postMessage({ type: 'start', i });
    let outcome: Outcome;
    try {
      const { truth, errors } = await readSample(bytes, s, `fuzz:${s.name}`);
      const unnamed = errors.find((e) => !e.context.file);
      const diff = compare(truth, truths[c.sample]!);
      const codes = [...new Set(errors.map((e) => e.code))];
      if (unnamed) outcome = { kind: 'untyped', codes: [unnamed.code], detail: `RootError without a file name: ${unnamed.message}` };
      else if (diff.other) outcome = { kind: 'wrong', codes, detail: diff.other };
      else if (diff.branches.length === 0) outcome = { kind: errors.length ? 'typed' : 'same', codes };
      else if (await jsrootAgrees(bytes, s.tree, truth, diff.branches)) outcome = { kind: 'reread', codes };
      else outcome = { kind: 'wrong', codes, detail: `branches ${diff.branches.join(', ')}: values differ, and not as jsroot reads the mutated file (${JSON.stringify(truth.values.get(diff.branches[0]!)).slice(0, 80)})` };
    } catch (e) {
      outcome = { kind: 'untyped', codes: [], detail: String((e as Error)?.stack ?? e).slice(0, 600) };
    }
    parentPort!.postMessage({ type: 'result', i, outcome, arrayBuffers: process.memoryUsage().arrayBuffers });
  }
  parentPort!.postMessage({ type: 'done' });
}

main().catch((e) => parentPort!.postMessage({ type: 'setup-failure', message: String((e as Error)?.stack ?? e) }));
