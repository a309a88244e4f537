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
import { mergeAll } from '../shared/analysis/result';

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
  // one jsroot reader per file and tree: its first read decodes the whole tree, later ones reuse that
  const oracles = new Map<string, ReturnType<typeof openOracle>>();
  for (const [file, tree, branch, start, stop] of cases) {
    const args = ['dump', await samplePath(file), '--tree', tree, '--branch', branch];
    if (start !== undefined) args.push('--start', String(start));
    if (stop !== undefined) args.push('--stop', String(stop));
    const r = await physlite(...args);
    assert.equal(r.code, 0, `${branch}: ${r.stderr}`);
    const got = JSON.parse(r.stdout);
    if (!oracles.has(`${file}/${tree}`)) oracles.set(`${file}/${tree}`, sampleBytes(file).then((bytes) => openOracle(bytes, tree)));
    const oracle = await oracles.get(`${file}/${tree}`)!;
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

test('run prints the counts table and, with --json, one object that is the sum of the per-file results', async () => {
  const r21 = await samplePath('DAOD_PHYSLITE_21.2.108.0.art.pool.root');
  const r22 = await samplePath('PHYSLITE_example.root');
  const json = await physlite('run', r21, r22, '--json');
  assert.equal(json.code, 0, json.stderr);
  assert.equal(json.stderr, '', 'no progress bar when stderr is not a terminal');
  const got = JSON.parse(json.stdout);
  for (const key of ['profile', 'eventsRead', 'eventsKept', 'counts', 'histograms', 'cutflow']) assert.ok(key in got, key);
  assert.deepEqual(Object.keys(got.counts), ['Electrons', 'Muons', 'Jets']);
  for (const c of Object.values(got.counts) as Record<string, number>[]) assert.deepEqual(Object.keys(c), ['baseline', 'passOR', 'signal']);
  const one = await Promise.all([r21, r22].map(async (f) => JSON.parse((await physlite('run', f, '--json')).stdout)));
  assert.equal(got.profile, 'r21+r22');
  assert.equal(got.eventsRead, 140);
  assert.deepEqual(got, mergeAll(one));

  const table = await physlite('run', r21);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /profile r21 · 40 events read, 40 kept/);
  const c = one[0].counts;
  assert.match(table.stdout, new RegExp(`^Electrons +${c.Electrons.baseline} +${c.Electrons.passOR} +${c.Electrons.signal}$`, 'm'));
  assert.match(table.stdout, new RegExp(`^Jets +${c.Jets.baseline} +${c.Jets.passOR} +${c.Jets.signal}$`, 'm'));

  const limited = JSON.parse((await physlite('run', r21, r22, '--json', '--max-events', '45')).stdout);
  assert.equal(limited.eventsRead, 45);
  assert.equal(limited.profile, 'r21+r22');
});

test('run: a file that fits no profile, a forced profile that does not fit, and bad options', async () => {
  const r22 = await samplePath('PHYSLITE_example.root');
  const forced = await physlite('run', r22, '--profile', 'r21');
  assert.equal(forced.code, 1);
  assert.match(forced.stderr, /profile r21 needs branches this file lacks: AnalysisElectronsAuxDyn\.ptvarcone20_TightTTVA_pt1000, AnalysisMuonsAuxDyn\.DFCommonGoodMuon, AnalysisJetsAuxDyn\.Jvt \[NOT_FOUND\]/);
  const hzz = await samplePath('uproot-HZZ-zlib.root');
  const notPhyslite = await physlite('run', hzz);
  assert.equal(notPhyslite.code, 1);
  assert.match(notPhyslite.stderr, /no object named "CollectionTree"/);
  const going = await physlite('run', r22, hzz, '--keep-going', '--json');
  assert.equal(going.code, 1);
  const partial = JSON.parse(going.stdout);
  assert.equal(partial.eventsRead, 100);
  assert.equal(partial.failures.length, 1);
  assert.equal(partial.failures[0].file, hzz);
  assert.equal((await physlite('run', r22, '--profile', 'r99')).code, 2);
  assert.equal((await physlite('run', r22, '--max-events', 'many')).code, 2);
  assert.equal((await physlite('run')).code, 2);
});

test('plot turns a run --json result into SVG files; a malformed result exits 1 with one line', async () => {
  const { mkdtemp, writeFile, readdir, readFile } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const dir = await mkdtemp(path.join(tmpdir(), 'physlite-plot-'));
  const run = await physlite('run', await samplePath('PHYSLITE_example.root'), '--json');
  const result = path.join(dir, 'result.json');
  await writeFile(result, run.stdout);
  const plot = await physlite('plot', result, '--out', path.join(dir, 'plots'));
  assert.equal(plot.code, 0, plot.stderr);
  const files = (await readdir(path.join(dir, 'plots'))).sort();
  assert.deepEqual(files, ['cutflow.svg', 'dR_electron_jet_postOR.svg', 'dR_electron_jet_preOR.svg', 'index.html', 'pt_electrons_passOR.svg', 'pt_jets_passOR.svg', 'pt_muons_passOR.svg']);
  const svg = await readFile(path.join(dir, 'plots', 'pt_jets_passOR.svg'), 'utf8');
  assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(svg, /Entries \/ 10 GeV/);
  const broken = JSON.parse(run.stdout);
  delete broken.histograms.pt_jets_passOR.counts;
  await writeFile(result, JSON.stringify(broken));
  const bad = await physlite('plot', result, '--out', path.join(dir, 'plots2'));
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^physlite: .*result\.json: histograms\.pt_jets_passOR\.counts/);
  assert.equal(bad.stderr.trim().split('\n').length, 1);
});

test('job --local runs the pipeline from the bundle (worker threads run the bundle too); bad requests exit 2', async () => {
  const r21 = await samplePath('DAOD_PHYSLITE_21.2.108.0.art.pool.root');
  const r22 = await samplePath('PHYSLITE_example.root');
  const [single, job] = await Promise.all([physlite('run', r21, r22, '--json'), physlite('job', '--local', r21, r22, '--shard-mb', '0.5', '--workers', '2', '--json')]);
  assert.equal(job.code, 0, job.stderr);
  const status = JSON.parse(job.stdout) as { state: string; shards: { total: number; done: number }; result: unknown };
  assert.equal(status.state, 'finished');
  assert.deepEqual([status.shards.total, status.shards.done], [8, 8]);
  assert.deepEqual(status.result, JSON.parse(single.stdout));

  const noLocal = await physlite('job', r21);
  assert.equal(noLocal.code, 2);
  assert.match(noLocal.stderr, /job needs --local/);
  const missing = await physlite('job', '--local', '/nonexistent/file.root');
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /refused \(400\): dataset entry \/nonexistent\/file\.root was not found/);
});
