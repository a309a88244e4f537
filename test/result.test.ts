// Partial results add exactly: merging is associative and commutative (so
// shards can be merged in any order and grouping), refuses results that
// cannot add, and the histogram binning rule is the documented one.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { binIndex, emptyHistogram, fill, mergeAll, mergeResults, MergeError, type AnalysisResult } from '../shared/analysis/result';
import { emptyReferenceResult } from '../shared/analysis/reference/index';
import { prng } from './support/prng';
import { createAnalysis } from '../shared/analysis/registry';
import { AnalysisConfigError } from '../shared/analysis/analysis';

function randomResult(next: () => number, profile: string): AnalysisResult {
  const r = emptyReferenceResult(profile);
  r.eventsRead = Math.floor(next() * 1000);
  r.eventsKept = Math.floor(r.eventsRead * next());
  for (const flags of Object.values(r.counts)) for (const f of Object.keys(flags)) flags[f] = Math.floor(next() * 500);
  for (const h of Object.values(r.histograms)) {
    for (let i = 0; i < 200; i++) fill(h, (next() * 1.2 - 0.1) * h.hi);
    if (next() < 0.3) fill(h, NaN);
  }
  r.cutflow.forEach((s, i) => (s.events = Math.max(0, r.eventsRead - 10 * i)));
  return r;
}

test('merging is associative and commutative, and the empty result is its identity', () => {
  const next = prng(7);
  const parts = Array.from({ length: 12 }, (_, i) => randomResult(next, i % 3 ? 'r21' : 'r22'));
  const forward = mergeAll(parts);
  assert.deepEqual(mergeAll([...parts].reverse()), forward);
  for (let trial = 0; trial < 5; trial++) {
    const shuffled = [...parts].sort(() => next() - 0.5);
    assert.deepEqual(mergeAll(shuffled), forward);
  }
  // a tree of pairwise merges
  let level = parts;
  while (level.length > 1) {
    const up: AnalysisResult[] = [];
    for (let i = 0; i < level.length; i += 2) up.push(i + 1 < level.length ? mergeResults(level[i]!, level[i + 1]!) : level[i]!);
    level = up;
  }
  assert.deepEqual(level[0], forward);
  assert.deepEqual(mergeResults(emptyReferenceResult(''), forward), forward);
  assert.equal(forward.profile, 'r21+r22');
  // the sums are the sums
  assert.equal(forward.eventsRead, parts.reduce((s, p) => s + p.eventsRead, 0));
  assert.equal(forward.counts.Jets!.passOR, parts.reduce((s, p) => s + p.counts.Jets!.passOR!, 0));
  assert.equal(forward.histograms.pt_jets_passOR!.counts[3], parts.reduce((s, p) => s + p.histograms.pt_jets_passOR!.counts[3]!, 0));
  // inputs are not modified
  assert.deepEqual(parts[0], mergeAll([parts[0]!]));
});

test('results that cannot add are refused before anything changes', () => {
  const a = emptyReferenceResult('r21');
  const b = emptyReferenceResult('r21');
  b.histograms.pt_jets_passOR = emptyHistogram('x', 'x', 0, 400, 50);
  const copy = structuredClone(a);
  assert.throws(() => mergeResults(a, b), (e: unknown) => e instanceof MergeError && /pt_jets_passOR.*binning \[0, 400\)\/50, expected \[0, 500\)\/50/.test(e.message));
  assert.deepEqual(a, copy);
  assert.throws(() => mergeResults(a, { ...emptyReferenceResult('r21'), analysis: 'other' }), MergeError);
  assert.throws(() => mergeResults(a, { ...emptyReferenceResult('r21'), cutflow: [{ name: 'x', events: 1 }] }), /cut-flows differ/);
  assert.throws(() => mergeAll([]), MergeError);
});

test('bins: [lo, hi) split evenly, underflow below lo, overflow from hi, NaN apart', () => {
  assert.equal(binIndex(0, 6, 60, -0.01), 0);
  assert.equal(binIndex(0, 6, 60, 0), 1);
  assert.equal(binIndex(0, 6, 60, 0.0999), 1);
  assert.equal(binIndex(0, 6, 60, 0.1), 2);
  assert.equal(binIndex(0, 6, 60, 5.9999999), 60);
  assert.equal(binIndex(0, 6, 60, 6), 61);
  assert.equal(binIndex(0, 6, 60, Infinity), 61);
  assert.equal(binIndex(0, 6, 60, -Infinity), 0);
  assert.equal(binIndex(0, 6, 60, NaN), -1);
  const h = emptyHistogram('t', 'x', 0, 1, 2);
  for (const x of [0.25, 0.75, 0.75, 2, NaN]) fill(h, x);
  assert.deepEqual(h.counts, [0, 1, 2, 1]);
  assert.equal(h.nan, 1);
  assert.throws(() => emptyHistogram('t', 'x', 1, 1, 2), RangeError);
});

test('analyses by name: unknown names, profiles and options are refused with what to fix', () => {
  assert.equal(createAnalysis('reference').name, 'reference');
  assert.equal(createAnalysis('reference', { profile: 'r22' }).empty().profile, 'r22');
  assert.throws(() => createAnalysis('higgs'), (e: unknown) => e instanceof AnalysisConfigError && /unknown analysis "higgs" \(known: reference\)/.test(e.message));
  assert.throws(() => createAnalysis('reference', { profile: 'r23' }), /unknown profile "r23" \(known: r21, r22\)/);
  assert.throws(() => createAnalysis('reference', { profle: 'r22' }), /unknown option profle/);
  assert.throws(() => createAnalysis('reference', [1]), /options must be a JSON object/);
});
