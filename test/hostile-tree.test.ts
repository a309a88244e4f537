// Well-formed files with hostile counts in the TTree record (issue 14): built
// at test time from the samples by rewriting the record uncompressed with
// edited fields (test/support/tree-record.ts), everything else intact.
//
// - 2^52 entries with fAutoFlush = 1 used to build one cluster object per
//   entry (5.7 GB, V8 out of memory): now a typed CORRUPT error at open,
//   in a process limited to 128 MB of heap.
// - A tree whose entry count disagrees with its branches' (50 vs 100,
//   10^9 vs 2,421) is CORRUPT, naming tree and branch, before any value.
// - Branches claiming the tree's 2^52 entries are caught by their baskets'
//   coverage; a cluster layout (fAutoFlush) making more clusters than the
//   baskets that exist is caught before the cluster list is built.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openRootFile, RootError, toPlainArray } from '../shared/root/index';
import { BufferSource } from '../shared/root/source';
import { PhysliteFile } from '../shared/physlite/index';
import { sampleBytes } from '../scripts/lib/samples';
import { editTree, type TreeEdit } from './support/tree-record';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

async function edited(sample: string, tree: string, edit: TreeEdit): Promise<Uint8Array> {
  return editTree(await sampleBytes(sample), tree, edit);
}

function isCorrupt(detail: RegExp, ctx: { tree: string; branch?: string }) {
  return (e: unknown) => {
    assert.ok(e instanceof RootError, `a RootError, got ${String(e)}`);
    assert.equal(e.code, 'CORRUPT', e.message);
    assert.match(e.detail, detail);
    assert.equal(e.context.tree, ctx.tree);
    if (ctx.branch !== undefined) assert.equal(e.context.branch, ctx.branch);
    else assert.ok(e.context.branch, `the error names a branch: ${e.message}`);
    return true;
  };
}

test('the rewritten record is read exactly like the original when nothing is edited', async () => {
  for (const [sample, tree, branch] of [
    ['PHYSLITE_example.root', 'CollectionTree', 'AnalysisMuonsAuxDyn.pt'],
    ['uproot-HZZ-zlib.root', 'events', 'Jet_Px'],
  ] as const) {
    const a = await (await openRootFile(new BufferSource(await sampleBytes(sample)))).tree(tree);
    const b = await (await openRootFile(new BufferSource(await edited(sample, tree, {})))).tree(tree);
    assert.deepEqual(toPlainArray((await b.read([branch])).columns.get(branch)!), toPlainArray((await a.read([branch])).columns.get(branch)!));
    assert.equal(b.tree.entries, a.tree.entries);
  }
});

test('2^52 entries with fAutoFlush = 1: CORRUPT at open, in a process with 128 MB of heap', async () => {
  const bytes = await edited('PHYSLITE_example.root', 'CollectionTree', { entries: 2 ** 52, autoFlush: 1 });
  await assert.rejects(
    openRootFile(new BufferSource(bytes, 'huge.root')).then((f) => f.tree('CollectionTree')),
    isCorrupt(/says it has 4503599627370496 entries but branch .* holds 100/, { tree: 'CollectionTree' }),
  );

  // the paths the CLI and the pipeline take (PhysliteFile, cluster iteration), memory-bounded
  const dir = mkdtempSync(join(tmpdir(), 'hostile-'));
  try {
    const path = join(dir, 'huge.root');
    writeFileSync(path, bytes);
    const script = [
      "import { PhysliteFile } from './shared/physlite/index.ts';",
      "import { openRootFile } from './shared/root/index.ts';",
      'const out = [];',
      `try { const f = await PhysliteFile.open(${JSON.stringify(path)}); out.push('opened ' + f.entries); } catch (e) { out.push(e.code); }`,
      `try { const t = await (await openRootFile(${JSON.stringify(path)})).tree('CollectionTree'); for await (const c of t.iterate(['AnalysisMuonsAuxDyn.pt'])) out.push(c.entryStop); } catch (e) { out.push(e.code); }`,
      'console.log(JSON.stringify(out));',
    ].join('\n');
    const run = spawnSync(process.execPath, ['--max-old-space-size=128', '--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    assert.equal(run.status, 0, `exit ${run.status} ${run.signal ?? ''}: ${run.stderr.slice(-2000)}`);
    assert.deepEqual(JSON.parse(run.stdout.trim().split('\n').pop()!), ['CORRUPT', 'CORRUPT']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a tree of 50 entries whose branches hold 100: CORRUPT naming tree and branch, nothing analysed', async () => {
  const bytes = await edited('PHYSLITE_example.root', 'CollectionTree', { entries: 50 });
  await assert.rejects(
    openRootFile(new BufferSource(bytes)).then((f) => f.tree('CollectionTree')),
    isCorrupt(/the tree says it has 50 entries but branch .* holds 100/, { tree: 'CollectionTree' }),
  );
  await assert.rejects(PhysliteFile.open(new BufferSource(bytes)), isCorrupt(/50 entries/, { tree: 'CollectionTree' }));
});

test('a tree of 10^9 entries whose branches hold 2,421: CORRUPT before any value', async () => {
  const bytes = await edited('uproot-HZZ-zlib.root', 'events', { entries: 1e9 });
  await assert.rejects(
    openRootFile(new BufferSource(bytes)).then((f) => f.tree('events')),
    // the first branch of the tree is NJet
    isCorrupt(/says it has 1000000000 entries but branch NJet holds 2421/, { tree: 'events', branch: 'NJet' }),
  );
});

test('branches claiming the tree’s 2^52 entries: their baskets cover 2,421, CORRUPT when the branch is used', async () => {
  const bytes = await edited('uproot-HZZ-zlib.root', 'events', { entries: 2 ** 52, autoFlush: 1, branchEntries: 2 ** 52 });
  const reader = await (await openRootFile(new BufferSource(bytes))).tree('events');
  assert.equal(reader.tree.entries, 2 ** 52);
  assert.throws(() => reader.tree.clusters(), isCorrupt(/baskets of branch NJet cover 2421 entries/, { tree: 'events', branch: 'NJet' }));
  await assert.rejects(reader.read(['Jet_Px'], { entryStart: 0, entryStop: 10 }), isCorrupt(/cover 2421 entries/, { tree: 'events' }));
});

test('fAutoFlush = 1 on a tree flushed once: more clusters than baskets is CORRUPT, not a loop per entry', async () => {
  const file = await openRootFile(new BufferSource(await edited('uproot-HZZ-zlib.root', 'events', { autoFlush: 1 })));
  const reader = await file.tree('events');
  const baskets = reader.tree.branch('NJet').baskets.length;
  assert.ok(baskets < 2421, `${baskets} baskets`);
  assert.throws(() => reader.tree.clusters(), isCorrupt(new RegExp(`makes 2421 clusters for 2421 entries, but branch NJet has only ${baskets} baskets`), { tree: 'events', branch: 'NJet' }));
  // the same file with ROOT's own value (fAutoFlush = -30000000, i.e. by bytes) reads normally
  const plain = await (await openRootFile(new BufferSource(await sampleBytes('uproot-HZZ-zlib.root')))).tree('events');
  assert.deepEqual(plain.tree.clusters(), [{ entryStart: 0, entryStop: 2421 }]);
});
