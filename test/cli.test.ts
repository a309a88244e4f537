// The `physlite` command as a user runs it (bin/physlite.js, which builds the
// bundle when needed): inspect and dump, dump checked against jsroot's values,
// and exit codes for bad input.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { openOracle } from './support/jsroot-oracle';
import { samplePath, sampleBytes } from '../scripts/lib/samples';

const BIN = fileURLToPath(new URL('../bin/physlite.js', import.meta.url));
const run = promisify(execFile);

async function physlite(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

test('inspect lists the tree and its branches with type, entries and sizes', async () => {
  const r = await physlite('inspect', await samplePath('uproot-HZZ-zlib.root'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /TTree events .*2421 entries, 51 branches/);
  assert.match(r.stdout, /^Jet_Px\s+\| float32\[NJet\]\s+\|\s+2421 \|/m);
  assert.match(r.stdout, /^NMuon\s+\| int32\s+\|\s+2421 \|/m);
  const p = await physlite('inspect', await samplePath('DAOD_PHYSLITE_21.2.108.0.art.pool.root'), '--tree', 'CollectionTree');
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stdout, /AnalysisJetsAuxDyn\.GhostTrack\s+\| vector<vector<ElementLink<DataVector<xAOD::IParticle>>>>\s+\|\s+40 \|/);
  assert.match(p.stdout, /AnalysisMuonsAuxDyn\.inDetTrackParticleLink\s+\| vector<ElementLink<DataVector<xAOD::TrackParticle_v1> > >/);
  assert.equal(p.stdout.split('\n').filter((l) => l.includes(' | ')).length - 1, 1581, 'one row per branch');
});

test('dump prints one JSON array per entry equal to jsroot’s values', async () => {
  const cases: [string, string, string, number?, number?][] = [
    ['DAOD_PHYSLITE_21.2.108.0.art.pool.root', 'CollectionTree', 'AnalysisMuonsAuxDyn.inDetTrackParticleLink'],
    ['DAOD_PHYSLITE_21.2.108.0.art.pool.root', 'CollectionTree', 'AnalysisJetsAuxDyn.GhostTrack', 5, 9],
    ['DAOD_PHYSLITE_21.2.108.0.art.pool.root', 'CollectionTree', 'EventInfoAux.eventNumber'],
    ['DAOD_PHYSLITE_21.2.108.0.art.pool.root', 'CollectionTree', 'EventInfoAux.streamTagNames', 30],
    ['PHYSLITE_example.root', 'CollectionTree', 'AnalysisElectronsAuxDyn.DFCommonElectronsLHLooseBL'],
    ['PHYSLITE_example.root', 'CollectionTree', 'AnalysisJetsAuxDyn.SumPtTrkPt500', 0, 3],
    ['uproot-small-evnt-tree-fullsplit.root', 'tree', 'ArrayI16[10]', 0, 4],
    ['uproot-HZZ-zlib.root', 'events', 'Jet_ID', 100, 110],
  ];
  for (const [file, tree, branch, start, stop] of cases) {
    const args = ['dump', await samplePath(file), '--tree', tree, '--branch', branch];
    if (start !== undefined) args.push('--start', String(start));
    if (stop !== undefined) args.push('--stop', String(stop));
    const r = await physlite(...args);
    assert.equal(r.code, 0, `${branch}: ${r.stderr}`);
    const got = JSON.parse(r.stdout);
    const oracle = await openOracle(await sampleBytes(file), tree);
    const all = await oracle.read(branch);
    assert.ok(!(all instanceof Error), `jsroot reads ${branch}`);
    const want = all.slice(start ?? 0, stop ?? all.length);
    assert.ok(isDeepStrictEqual(got, want), `${branch}: ${JSON.stringify(got).slice(0, 200)} vs ${JSON.stringify(want).slice(0, 200)}`);
  }
});

test('bad input exits 1 with one line naming the file and problem; bad usage exits 2', async () => {
  const missing = await physlite('dump', '/nonexistent/file.root', '--tree', 't', '--branch', 'b');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^physlite: \/nonexistent\/file\.root: .*\[SOURCE_NOT_FOUND\]\n$/);
  assert.equal(missing.stdout, '');
  const nobranch = await physlite('dump', await samplePath('PHYSLITE_example.root'), '--tree', 'CollectionTree', '--branch', 'Nope');
  assert.equal(nobranch.code, 1);
  assert.match(nobranch.stderr, /no branch "Nope" \[NOT_FOUND\]/);
  assert.equal(nobranch.stdout, '', 'nothing printed before the error');
  const notroot = await physlite('inspect', fileURLToPath(new URL('../package.json', import.meta.url)));
  assert.equal(notroot.code, 1);
  assert.match(notroot.stderr, /\[BAD_MAGIC\]/);
  const usage = await physlite('dump', 'x.root');
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /dump needs --tree NAME/);
  assert.equal((await physlite('frobnicate')).code, 2);
  assert.equal((await physlite('dump', 'x.root', '--tree', 't', '--branch', 'b', '--start', '-3')).code, 2);
});
