// Valid-but-unusual and hostile inputs from issue 14: each ends in the right
// result or a clear typed error.
//   - the RNTuple PHYSLITE sample's metadata trees decode as jsroot reads them
//     (member-wise collections, std::string branches without a header);
//   - leaves with fLen = -1 (ROOT's mark for a member counted by another leaf);
//   - a file whose events are in an RNTuple names it;
//   - FIFOs named *.root are refused, never opened (an open would block);
//   - symbolic links: each file analysed once, the walk bounded.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Writable } from 'node:stream';
import { openRootFile, RootError, toPlainArray } from '../shared/root/index';
import { BufferSource } from '../shared/root/source';
import { runCommand, expandInputs } from '../shared/cli/run';
import { main as physlite } from '../shared/cli/physlite';
import { runLocalJob } from '../shared/pipeline/local/job';
import { LocalObjectStore } from '../shared/pipeline/local/object-store';
import { openOracle } from './support/jsroot-oracle';
import { uncompressMetadata } from './support/structure-layout';
import { sampleBytes, samplePath } from '../scripts/lib/samples';

const RNTUPLE = 'uproot-physlite-rntuple_v1-0-0-0.root';

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

async function expectRootError(p: Promise<unknown>, code: string, message?: RegExp): Promise<RootError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof RootError, `expected a RootError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return e;
  }
  assert.fail(`expected a ${code} RootError`);
}

// ---------------------------------------------------------------------------
// valid files that were refused

test('the RNTuple PHYSLITE sample: every branch of its metadata trees decodes as jsroot reads it', { timeout: 300_000 }, async () => {
  const bytes = await sampleBytes(RNTUPLE);
  const file = await openRootFile(new BufferSource(bytes, RNTUPLE));
  let compared = 0;
  for (const name of ['MetaData', 'MetaDataHdr', 'MetaDataHdrForm']) {
    const tree = await file.tree(name);
    const oracle = await openOracle(bytes, name);
    for (const b of tree.tree.allBranches()) {
      const want = await oracle.read(b.name);
      assert.ok(!(want instanceof Error), `jsroot reads ${name}/${b.name}`);
      const got = toPlainArray((await tree.read([b.name])).columns.get(b.name)!);
      assert.ok(isDeepStrictEqual(got, want), `${name}/${b.name}: ${JSON.stringify(got).slice(0, 200)} vs jsroot ${JSON.stringify(want).slice(0, 200)}`);
      compared++;
    }
  }
  assert.ok(compared > 100, `${compared} branches compared`);
  // values stated in the issue, by hand
  const meta = await file.tree('MetaData');
  const ami = await meta.read(['FileMetaDataAuxDyn.amiTag']);
  assert.deepEqual(toPlainArray(ami.columns.get('FileMetaDataAuxDyn.amiTag')!), ['e8514_s4159_s4114_r14799']);
  const stream = toPlainArray((await meta.read(['StreamDAOD_PHYSLITE'])).columns.get('StreamDAOD_PHYSLITE')!)[0] as Record<string, unknown>;
  assert.equal(stream.m_numberOfEvents, 100); // the sample's 100 events
});

/** Offsets in `data` of the fLen of the leaf whose name and title TStrings follow each other. */
function leafLenOffsets(data: Uint8Array, name: string): number[] {
  const enc = new TextEncoder().encode(name);
  const out: number[] = [];
  for (let i = 0; i + 1 + enc.length < data.length; i++) {
    if (data[i] !== enc.length || !enc.every((c, k) => data[i + 1 + k] === c)) continue;
    // fName, then fTitle (any), then fLen, fLenType
    const t = i + 1 + enc.length;
    const after = t + 1 + data[t]!;
    const v = new DataView(data.buffer, data.byteOffset);
    if (after + 8 <= data.length && v.getInt32(after) === 1 && v.getInt32(after + 4) > 0 && v.getInt32(after + 4) <= 8) out.push(after);
  }
  return out;
}

test('leaves with fLen = -1 read as variable length, as jsroot reads them', async () => {
  for (const [sample, treeName, branch] of [
    ['uproot-small-evnt-tree-fullsplit.root', 'tree', 'SliceI16'], // a pointer member of a split class, counted by N
    ['uproot-HZZ-zlib.root', 'events', 'Jet_Px'], // a leaf x[NJet]
  ] as const) {
    const relaid = await uncompressMetadata(await sampleBytes(sample), treeName);
    const pristine = await openRootFile(new BufferSource(relaid.bytes, sample));
    const want = toPlainArray((await (await pristine.tree(treeName)).read([branch])).columns.get(branch)!);
    const bytes = relaid.bytes.slice();
    const at = leafLenOffsets(bytes.subarray(relaid.treePayload), branch);
    assert.equal(at.length, 1, `${sample}: the leaf ${branch} found once`);
    new DataView(bytes.buffer).setInt32(relaid.treePayload + at[0]!, -1);
    const file = await openRootFile(new BufferSource(bytes, sample));
    const tree = await file.tree(treeName);
    const leaf = tree.tree.branch(branch).leaves[0]!;
    assert.equal(leaf.len, -1);
    const got = toPlainArray((await tree.read([branch])).columns.get(branch)!);
    assert.deepEqual(got, want);
    const oracle = await openOracle(bytes, treeName);
    assert.deepEqual(got, await oracle.read(branch), `${sample}: jsroot reads the patched file alike`);
  }
});

test('a file whose events are in an RNTuple names it, and inspect lists it', async () => {
  const file = await openRootFile(await samplePath(RNTUPLE));
  assert.deepEqual(
    (await file.rntuples()).map((r) => `${r.path} ${r.className}`),
    ['DataHeader ROOT::RNTuple', 'DataHeaderForm ROOT::RNTuple', 'EventData ROOT::RNTuple', 'EventTag ROOT::RNTuple'],
  );
  await expectRootError(file.tree('CollectionTree'), 'NOT_FOUND', /"CollectionTree" not found; the file holds RNTuples .*"EventData".*RNTuple reading is not supported yet/);
  await expectRootError(file.tree('EventData'), 'UNSUPPORTED', /"EventData" is an RNTuple \(ROOT::RNTuple\)/);
  await file.close();
  const out = new Sink();
  assert.equal(await physlite(['inspect', await samplePath(RNTUPLE)], out), 0);
  assert.match(out.text, /: RNTuple EventData \(ROOT::RNTuple\) — RNTuple reading is not supported yet/);
  assert.match(out.text, /TTree MetaData /);
  assert.match(out.text, /^FileMetaDataAuxDyn\.amiTag\s+\| string\s+\|\s+1 \|/m);
});

// ---------------------------------------------------------------------------
// FIFOs and symbolic links

let tmp: string;
before(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'hostile-files-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

test('a FIFO named *.root is refused by inspect, run DIR and job --local DIR, naming it', { timeout: 60_000 }, async () => {
  const dir = path.join(tmp, 'fifo');
  await mkdir(dir);
  const fifo = path.join(dir, 'events.root');
  execFileSync('mkfifo', [fifo]);
  // inspect: the open does not wait for a writer
  await expectRootError(physlite(['inspect', fifo], new Sink()), 'BAD_ARGUMENT', /a FIFO, not a regular file/);
  await expectRootError(openRootFile(fifo), 'BAD_ARGUMENT', /a FIFO/);
  // run DIR: the walk names it
  const e = await expectRootError(runCommand([dir], new Sink(), new Sink()), 'BAD_ARGUMENT', /a FIFO/);
  assert.equal(e.context.file, fifo);
  // run FIFO given by name, with --keep-going: recorded as a failing file
  const out = new Sink();
  const err = new Sink();
  assert.notEqual(await runCommand([fifo, await samplePath('PHYSLITE_example.root'), '--keep-going', '--json'], out, err), 0);
  const failures = JSON.parse(out.text).failures as { file: string; code: string }[];
  assert.deepEqual(failures.map((f) => [f.file, f.code]), [[fifo, 'BAD_ARGUMENT']]);
  assert.equal(JSON.parse(out.text).eventsRead, 100);
  // job --local DIR: the dataset is refused with the FIFO's name
  const job = await runLocalJob({ request: { dataset: [dir] }, workers: 1, port: false }).catch((x: unknown) => x);
  const text = job instanceof Error ? job.message : JSON.stringify((job as { status: unknown }).status);
  assert.match(text, /events\.root/);
  assert.match(text, /FIFO/);
});

test('eight links to one file count it once: run DIR and job --local DIR read 100 events, not 800', { timeout: 120_000 }, async () => {
  const dir = path.join(tmp, 'links');
  await mkdir(dir);
  const target = await samplePath('PHYSLITE_example.root');
  for (let i = 0; i < 8; i++) await symlink(target, path.join(dir, `copy${i}.root`));
  await symlink(dir, path.join(dir, 'again')); // and the directory once more through a link
  const files = await expandInputs([dir, path.join(dir, 'copy3.root')]);
  assert.equal(files.length, 1, `one file: ${files.join(', ')}`);
  const out = new Sink();
  assert.equal(await runCommand([dir, '--json'], out, new Sink()), 0);
  assert.equal(JSON.parse(out.text).eventsRead, 100);
  const run = await runLocalJob({ request: { dataset: [dir, target] }, workers: 1, port: false });
  assert.equal(run.status.state, 'finished');
  assert.equal(run.status.dataset.files, 1);
  assert.equal(run.status.events, 100);
});

test('a fan-out of links (30 levels of two links each, 2^30 paths) is walked once per real directory', { timeout: 60_000 }, async () => {
  const root = path.join(tmp, 'fanout');
  const levels = 30;
  for (let i = levels; i >= 0; i--) await mkdir(path.join(root, `level${i}`), { recursive: true });
  for (let i = 0; i < levels; i++) {
    await symlink(path.join(root, `level${i + 1}`), path.join(root, `level${i}`, 'a'));
    await symlink(path.join(root, `level${i + 1}`), path.join(root, `level${i}`, 'b'));
  }
  await symlink(await samplePath('uproot-HZZ-zlib.root'), path.join(root, `level${levels}`, 'leaf.root'));
  // and a directory with two links back to itself
  await symlink(path.join(root, 'level0'), path.join(root, 'level0', 'self1'));
  await symlink(path.join(root, 'level0'), path.join(root, 'level0', 'self2'));
  const listed = await new LocalObjectStore().list(path.join(root, 'level0'), 100);
  assert.equal(listed.length, 1);
  assert.match(listed[0]!.url, /leaf\.root$/);
  assert.equal(listed[0]!.size, (await sampleBytes('uproot-HZZ-zlib.root')).length);
  assert.equal((await expandInputs([path.join(root, 'level0')])).length, 1);
});

test('a walk deeper than the bound ends with a LIMIT error', { timeout: 60_000 }, async () => {
  let dir = path.join(tmp, 'deep');
  for (let i = 0; i < 70; i++) dir = path.join(dir, 'd');
  await mkdir(dir, { recursive: true });
  await expectRootError(new LocalObjectStore().list(path.join(tmp, 'deep'), 10), 'LIMIT', /nested more than 64 deep/);
});
