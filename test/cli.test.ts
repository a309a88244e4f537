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
import { SAMPLES, samplePath, sampleBytes } from '../scripts/lib/samples';
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
  assert.match(nobranch.stderr, /no branch "Nope" .*\[NOT_FOUND\]\n$/);
  assert.equal(nobranch.stdout, '', 'nothing printed before the error');
  const notroot = await physlite('inspect', fileURLToPath(new URL('../package.json', import.meta.url)));
  assert.equal(notroot.code, 1);
  assert.match(notroot.stderr, /\[BAD_MAGIC\]/);
  const usage = await physlite('dump', 'x.root');
  assert.equal(usage.code, 2);
  assert.equal(usage.stderr, 'physlite dump: needs --branch NAME\nsee physlite dump --help\n');
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
  assert.match(noLocal.stderr, /^physlite job: needs --local/);
  const missing = await physlite('job', '--local', '/nonexistent/file.root');
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /refused \(400\): dataset entry \/nonexistent\/file\.root was not found/);
});

// ——— a newcomer's first hour (issue 14): help, directories, dump, pipes, npm start ———

const ROOT_DIR = fileURLToPath(new URL('..', import.meta.url));

/** A fresh temporary folder. */
async function tempDir(prefix: string): Promise<string> {
  const { mkdtemp } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  return mkdtemp(`${tmpdir()}/${prefix}`);
}

test('--version, physlite --help, CMD --help and help CMD print short help; usage errors are one line and exit 2', async () => {
  const { readFile } = await import('node:fs/promises');
  const version = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')).version as string;
  for (const flag of ['--version', '-V']) {
    const v = await physlite(flag);
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout, `physlite ${version}\n`);
  }
  const overview = await physlite('--help');
  assert.equal(overview.code, 0);
  for (const cmd of ['inspect', 'dump', 'run', 'job', 'plot']) assert.match(overview.stdout, new RegExp(`^  ${cmd} +\\S`, 'm'), cmd);
  const bare = await physlite();
  assert.equal(bare.code, 2, 'no command is a usage error');
  assert.equal(bare.stderr, overview.stdout);

  for (const cmd of ['inspect', 'dump', 'run', 'job', 'plot']) {
    const own = await physlite(cmd, '--help');
    assert.equal(own.code, 0, `${cmd} --help: ${own.stderr}`);
    assert.ok(own.stdout.startsWith(`Usage: physlite ${cmd} `), own.stdout);
    assert.ok(own.stdout.split('\n').length <= 22, `${cmd} --help is short`);
    for (const other of ['inspect', 'dump', 'run', 'job', 'plot'].filter((c) => c !== cmd)) assert.doesNotMatch(own.stdout, new RegExp(`Usage: physlite ${other}`));
    assert.equal((await physlite('help', cmd)).stdout, own.stdout, `help ${cmd}`);
    assert.equal((await physlite(cmd, 'some-file.root', '-h')).stdout, own.stdout, `${cmd} … -h`);
  }

  // one line saying what is wrong, one saying where the help is
  const cases: [string[], string][] = [
    [['run', '--bogus', 'x.root'], "physlite run: Unknown option '--bogus'"],
    [['run', 'x.root', '--profile', 'r99'], 'physlite run: --profile must be one of r21, r22, got "r99"'],
    [['dump', 'x.root', '--branch', 'b', '--start', '5', '--stop', '2'], 'physlite dump: --start 5 is after --stop 2'],
    [['dump', 'x.root', '--branch', 'b', '--start', '-3'], "physlite dump: Option '--start' argument is ambiguous (a value that starts with '-' is written --start=-3)"],
    [['job', 'x.root'], 'physlite job: needs --local (a deployed pipeline is started with POST /jobs to its orchestrator: see the README)'],
    [['plot', 'r.json'], 'physlite plot: needs --out DIR'],
  ];
  for (const [args, line] of cases) {
    const r = await physlite(...args);
    assert.equal(r.code, 2, args.join(' '));
    const lines = r.stderr.split('\n');
    assert.equal(lines.length, 3, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(lines[0], line);
    assert.equal(lines[1], `see physlite ${args[0]} --help`);
    assert.equal(r.stdout, '');
  }
  const typo = await physlite('dmp', 'x.root');
  assert.equal(typo.code, 2);
  assert.equal(typo.stderr, 'physlite: unknown command "dmp" (did you mean dump?); commands: inspect, dump, run, job, plot, synth\nsee physlite --help\n');
});

test('run DIR analyses the PHYSLITE files in it, lists the skipped ones with the reason, exit 0', async () => {
  const { writeFile, symlink, copyFile } = await import('node:fs/promises');
  const { rntupleOnlyFile } = await import('./support/rntuple-stub');
  const dir = await tempDir('physlite-rundir-');
  const r21 = await samplePath('DAOD_PHYSLITE_21.2.108.0.art.pool.root');
  await symlink(r21, `${dir}/a-r21.pool.root.1`);
  await copyFile(await samplePath('uproot-HZZ-zlib.root'), `${dir}/b-hzz.root`);
  await writeFile(`${dir}/c-notes.root`, 'these are notes, not a ROOT file\n');
  await writeFile(`${dir}/d-rntuple.root`, rntupleOnlyFile());
  await writeFile(`${dir}/e-ignored.txt`, 'not a .root name: not even looked at\n');

  const r = await physlite('run', dir, '--json');
  assert.equal(r.code, 0, r.stderr);
  const alone = await physlite('run', r21, '--json');
  assert.deepEqual(JSON.parse(r.stdout), JSON.parse(alone.stdout), 'the same result as the PHYSLITE file alone');
  assert.equal(
    r.stderr,
    [
      'skipped 3 files that are not PHYSLITE:',
      `  ${dir}/b-hzz.root: no CollectionTree (TTrees: events)`,
      `  ${dir}/c-notes.root: not a ROOT file`,
      `  ${dir}/d-rntuple.root: RNTuple EventData but no CollectionTree TTree (PHYSLITE as RNTuple is not read yet)`,
      '',
    ].join('\n'),
  );
  const table = await physlite('run', dir);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^profile r21 · 40 events read, 40 kept · 1 file · /);

  // a file named on the command line is analysed whatever it is: the error of today
  const named = await physlite('run', `${dir}/b-hzz.root`);
  assert.equal(named.code, 1);
  assert.match(named.stderr, /no object named "CollectionTree"/);

  // a damaged ROOT file in a directory is not skipped: its error counts (no events silently dropped)
  const { readFile } = await import('node:fs/promises');
  const damaged = await tempDir('physlite-rundir-damaged-');
  await symlink(r21, `${damaged}/a.root`);
  await writeFile(`${damaged}/b-truncated.root`, (await readFile(r21)).subarray(0, 200_000));
  const d = await physlite('run', damaged);
  assert.equal(d.code, 1);
  assert.match(d.stderr, /b-truncated\.root.*\[TRUNCATED\]/);

  // nothing PHYSLITE at all: exit 1, naming what was skipped
  const none = await tempDir('physlite-rundir-none-');
  await writeFile(`${none}/notes.root`, 'text');
  const n = await physlite('run', none);
  assert.equal(n.code, 1);
  assert.equal(n.stderr.split('\n').at(-2), `physlite: no PHYSLITE file to analyse: skipped ${none}/notes.root (not a ROOT file)`);
});

test('dump: --tree defaults to the event tree, a misspelt branch or tree gets the nearest names, the README example shows values', async () => {
  const hzz = await samplePath('uproot-HZZ-zlib.root');
  const implicit = await physlite('dump', hzz, '--branch', 'Jet_ID', '--start', '100', '--stop', '110');
  assert.equal(implicit.code, 0, implicit.stderr);
  const oracle = await openOracle(await sampleBytes('uproot-HZZ-zlib.root'), 'events');
  const want = await oracle.read('Jet_ID');
  assert.ok(!(want instanceof Error));
  assert.deepEqual(JSON.parse(implicit.stdout), want.slice(100, 110), 'the only tree, "events"');

  // r21 has nine trees (MetaData, POOLContainer, ##Links, …): CollectionTree is the one with the events
  const r21 = await samplePath('DAOD_PHYSLITE_21.2.108.0.art.pool.root');
  const events = await physlite('dump', r21, '--branch', 'EventInfoAux.eventNumber');
  assert.equal(events.code, 0, events.stderr);
  const r21Oracle = await openOracle(await sampleBytes('DAOD_PHYSLITE_21.2.108.0.art.pool.root'), 'CollectionTree');
  assert.deepEqual(JSON.parse(events.stdout), await r21Oracle.read('EventInfoAux.eventNumber'));

  const typo = await physlite('dump', r21, '--branch', 'AnalysisMuonAuxDyn.pt');
  assert.equal(typo.code, 1);
  assert.equal(typo.stdout, '');
  assert.match(typo.stderr, /no branch "AnalysisMuonAuxDyn\.pt"; did you mean AnalysisMuonsAuxDyn\.pt(, | or )/);
  const treeTypo = await physlite('dump', hzz, '--tree', 'event', '--branch', 'NJet');
  assert.equal(treeTypo.code, 1);
  assert.match(treeTypo.stderr, /no tree "event"; did you mean events\? \(trees: events\) \[NOT_FOUND\]/);

  // the README's example: the first electrons of the r22 sample (some events have none, most have some)
  const example = await physlite('dump', await samplePath('PHYSLITE_example.root'), '--branch', 'AnalysisElectronsAuxDyn.pt', '--stop', '3');
  assert.equal(example.code, 0, example.stderr);
  const r22Oracle = await openOracle(await sampleBytes('PHYSLITE_example.root'), 'CollectionTree');
  const pts = (await r22Oracle.read('AnalysisElectronsAuxDyn.pt')) as number[][];
  assert.deepEqual(JSON.parse(example.stdout), pts.slice(0, 3));
  assert.ok(pts.slice(0, 3).flat().length >= 3, 'the example shows values, not empty arrays');
});

/** A copy of the synthetic tree (branches n, x, ab hold 7 entries) whose TTree header claims `entries`. */
async function treeClaiming(entries: number): Promise<string> {
  const { writeFile } = await import('node:fs/promises');
  const { syntheticTreeFile, SYNTHETIC_ENTRIES } = await import('./support/synthetic-tree');
  const bytes = syntheticTreeFile();
  // the TTree's fEntries (8 bytes) is followed by fTotBytes, fZipBytes, fSavedBytes, fFlushedBytes (0) and fWeight (1.0)
  const pattern = [0, 0, 0, 0, 0, 0, 0, SYNTHETIC_ENTRIES, ...new Array(32).fill(0), 0x3f, 0xf0, 0, 0, 0, 0, 0, 0];
  const at: number[] = [];
  for (let i = 0; i + pattern.length <= bytes.length; i++) if (pattern.every((v, k) => bytes[i + k] === v)) at.push(i);
  assert.equal(at.length, 1, 'the TTree header is found once');
  new DataView(bytes.buffer).setBigUint64(at[0]!, BigInt(entries));
  const file = `${await tempDir('physlite-claims-')}/claims-${entries}.root`;
  await writeFile(file, bytes);
  return file;
}

test('dump: stdout holds nothing or valid JSON — a tree claiming more entries than its branches hold fails before any output', async () => {
  const { xValues } = await import('./support/synthetic-tree');
  const honest = await treeClaiming(7);
  const ok = await physlite('dump', honest, '--branch', 'x');
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(JSON.parse(ok.stdout), Array.from({ length: 7 }, (_, i) => xValues(i)));

  for (const claimed of [100, 1e9]) {
    const file = await treeClaiming(claimed);
    const r = await physlite('dump', file, '--branch', 'x');
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '', 'nothing on stdout');
    // the decoder refuses the tree at open (its first branch, n, already disagrees), before dump's own coverage check
    assert.equal(r.stderr, `physlite: ${file}, tree t, branch n: the tree says it has ${claimed} entries but branch n holds 7: the file is inconsistent (ROOT would read entries past 7 of this branch as stale values) [CORRUPT]\n`);
    // an inconsistent file is refused whole, so a range inside what the branch holds fails the same way, promptly
    const inside = await physlite('dump', file, '--branch', 'x', '--start', '2', '--stop', '6');
    assert.equal(inside.code, 1);
    assert.equal(inside.stdout, '');
    assert.equal(inside.stderr, r.stderr);
  }
});

test('dump: a basket that fails in a later cluster leaves nothing on stdout; streaming past the hold-back closes the array it started', async () => {
  const { readFile, writeFile } = await import('node:fs/promises');
  const { Writable } = await import('node:stream');
  const { openRootFile } = await import('../shared/root/index');
  const { dumpCommand } = await import('../shared/cli/dump');
  // r21's clusters are entries [0, 27) and [27, 40); this branch's second basket holds [30, 40)
  const r21 = await samplePath('DAOD_PHYSLITE_21.2.108.0.art.pool.root');
  const branch = 'xTrigDecisionAux.efPassedPhysics';
  const handle = await openRootFile(r21);
  const reader = await handle.tree('CollectionTree');
  assert.deepEqual(reader.tree.clusters(), [{ entryStart: 0, entryStop: 27 }, { entryStart: 27, entryStop: 40 }]);
  const baskets = reader.tree.branch(branch).baskets;
  await handle.close();
  assert.deepEqual(baskets.map((b) => [b.entryStart, b.entryStop]), [[0, 30], [30, 40]]);
  const bytes = new Uint8Array(await readFile(r21));
  const second = baskets[1]!;
  for (let i = second.seek + second.bytes - 40; i < second.seek + second.bytes - 8; i++) bytes[i] ^= 0x5a; // the compressed payload's tail
  const file = `${await tempDir('physlite-dump-damaged-')}/damaged.root`;
  await writeFile(file, bytes);

  const whole = await physlite('dump', file, '--branch', branch);
  assert.equal(whole.code, 1);
  assert.equal(whole.stdout, '', 'held back: nothing written');
  assert.match(whole.stderr, /^physlite: .*damaged\.root.*branch xTrigDecisionAux\.efPassedPhysics.*\[(DECOMPRESSION|CHECKSUM|CORRUPT)\]\n$/);

  // in process, with nothing held back: the first cluster is out, then the array is closed
  let text = '';
  const out = new Writable({ write: (c, _e, cb) => ((text += String(c)), cb()) });
  await assert.rejects(dumpCommand([file, '--branch', branch], out, { holdBytes: 0 }), (e: Error) => /stdout holds only entries \[0, 27\), as a complete JSON array/.test(e.message));
  const oracle = await openOracle(await sampleBytes('DAOD_PHYSLITE_21.2.108.0.art.pool.root'), 'CollectionTree');
  const want = await oracle.read(branch);
  assert.ok(!(want instanceof Error));
  assert.deepEqual(JSON.parse(text), want.slice(0, 27));
});

test('output into a closed pipe (inspect FILE | head -1) ends quietly, exit 0', async () => {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [BIN, 'inspect', await samplePath('PHYSLITE_example.root')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const first = await new Promise<string>((resolve) => child.stdout.once('data', (d) => resolve(String(d).split('\n')[0]!)));
  child.stdout.destroy(); // what head does after its line
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.match(first, /TTree CollectionTree "CollectionTree" — 100 entries/);
  assert.equal(stderr, '', 'no EPIPE stack trace');
  assert.equal(code, 0);
});

/** Spawns a command; `until(re, stream)` resolves once that stream's text so far matches. */
async function spawnWatching(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  const { spawn } = await import('node:child_process');
  const child = spawn(cmd, args, { cwd: ROOT_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const text = { stdout: '', stderr: '' };
  const waiters: { re: RegExp; stream: 'stdout' | 'stderr'; resolve: () => void }[] = [];
  for (const stream of ['stdout', 'stderr'] as const) {
    child[stream].on('data', (d) => {
      text[stream] += d;
      for (const w of waiters.splice(0)) (w.re.test(text[w.stream]) ? w.resolve() : waiters.push(w));
    });
  }
  const exit = new Promise<number | null>((resolve) => child.on('close', resolve));
  return {
    child,
    exit,
    get stdout() {
      return text.stdout;
    },
    get stderr() {
      return text.stderr;
    },
    until: (re: RegExp, stream: 'stdout' | 'stderr' = 'stderr') =>
      re.test(text[stream]) ? Promise.resolve() : Promise.race([new Promise<void>((resolve) => waiters.push({ re, stream, resolve })), exit.then(() => assert.fail(`exited before ${re}: ${text.stderr}`))]),
  };
}

test('job --local --serve prints the results when the job ends, keeps the page up until Ctrl-C, and exits 0', async () => {
  const r22 = await samplePath('PHYSLITE_example.root');
  const job = await spawnWatching(process.execPath, [BIN, 'job', '--local', r22, '--workers', '1', '--serve']);
  try {
    await job.until(/job finished; serving .* until Ctrl-C/);
    // while it serves, the results are already out: the header's time is the job's, not the page's
    await job.until(/\nshards: 1 done, 0 failed of 1 · 100 events in /, 'stdout');
    assert.match(job.stdout, /^profile r22 · 100 events read, 100 kept · 1 file · [\d.]+ s · /);
    const url = /serving (http:\/\/127\.0\.0\.1:\d+\/jobs\/\S+) until Ctrl-C/.exec(job.stderr)![1]!;
    assert.ok(job.stderr.includes(`status page: ${url} (kept up after the job until Ctrl-C)`), job.stderr);
    const page = await fetch(url);
    assert.equal(page.status, 200, 'the page is still up after the job');
    const status = (await page.json()) as { state: string; events: number };
    assert.deepEqual([status.state, status.events], ['finished', 100]);
    job.child.kill('SIGINT');
    assert.equal(await job.exit, 0);
    await assert.rejects(fetch(url), 'the page is down after Ctrl-C');
  } finally {
    job.child.kill();
  }
});

test('npm start: no dead status-page address unless --serve; without the samples and offline, one clear message and exit 1', async () => {
  const start = ['--import', 'tsx', 'scripts/start.ts'];
  const quick = await spawnWatching(process.execPath, [...start, '--workers', '2']);
  assert.equal(await quick.exit, 0, quick.stderr);
  assert.doesNotMatch(quick.stdout + quick.stderr, /http:\/\//, 'no address that is dead by the time it is read');
  assert.match(quick.stdout, /--no-status-page/);
  assert.match(quick.stdout, /profile r21\+r22 · 140 events read/);
  assert.match(quick.stdout, /`npm start -- --serve` serves it and keeps it up after the job, until Ctrl-C/);

  const empty = await tempDir('physlite-nosamples-');
  const env = { ...process.env, PHYSLITE_SAMPLES_DIR: `${empty}/shared-data`, PHYSLITE_CACHE_DIR: `${empty}/cache`, PHYSLITE_OFFLINE: '1' };
  const missing = await spawnWatching(process.execPath, start, env);
  assert.equal(await missing.exit, 1);
  assert.equal(missing.stdout, '');
  const text = missing.stderr;
  assert.doesNotMatch(text, /^\s+at /m, 'no stack trace');
  assert.ok(text.startsWith(`npm start: The main job needs the sample files DAOD_PHYSLITE_21.2.108.0.art.pool.root and PHYSLITE_example.root, which are neither in ${empty}/shared-data (PHYSLITE_SAMPLES_DIR) nor in the download cache ${empty}/cache, and PHYSLITE_OFFLINE is set, so nothing was downloaded.`), text);
  for (const s of SAMPLES.filter((x) => x.profile)) {
    assert.ok(text.includes(`  ${s.name}\n    sha256 ${s.sha256}\n    from   ${s.url}\n`), s.name);
  }
  assert.match(text, /npm run fetch-samples/);
});

test('nearestNames: edit distance, closest first, nothing when every name is far', async () => {
  const { editDistance, nearestNames } = await import('../shared/cli/usage');
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('flaw', 'lawn'), 2);
  assert.deepEqual(nearestNames('dmp', ['inspect', 'dump', 'run', 'job', 'plot']), ['dump']);
  assert.deepEqual(nearestNames('frob', ['inspect', 'dump', 'run', 'job', 'plot']), []);
  assert.deepEqual(nearestNames('jetpx', ['Jet_Px', 'Jet_Py', 'Jet_Pz', 'Muon_Px', 'NJet']), ['Jet_Px', 'Jet_Py', 'Jet_Pz']);
});
