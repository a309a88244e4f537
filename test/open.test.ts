// Opening files and trees: what is parsed and what is requested.
//
// - Branch records are parsed on first use. A branch looked up before any
//   other (its count leaf, class names and sub-branches living in records
//   not parsed yet) must decode exactly as jsroot reads it, and lookups in
//   any order must give the same branches as walking them all.
// - Remote opens: no HEAD; the head read, then one read of key list +
//   streamer infos + the file's tail, which holds the TTree record in the
//   PHYSLITE samples: two sequential requests before the first basket (at
//   most three when the tree is outside the tail), checked with a local
//   range server that logs every request.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { openRootFile, RootError, toPlainArray, type RootFileHandle } from '../shared/root/index';
import { DEFAULT_TAIL_BYTES } from '../shared/root/file';
import { BufferSource } from '../shared/root/source';
import type { Branch, Tree } from '../shared/root/tree';
import { PhysliteFile } from '../shared/physlite/index';
import { openOracle } from './support/jsroot-oracle';
import { startRangeServer, type RangeServer } from './support/range-server';
import { sampleBytes } from '../scripts/lib/samples';
import { analysisBranches } from '../scripts/lib/analysis-branches';

async function open(name: string): Promise<RootFileHandle> {
  return openRootFile(new BufferSource(await sampleBytes(name), name));
}

/** Everything the decoder keeps of a branch, as a comparable string. */
function describeBranch(b: Branch): string {
  return JSON.stringify({
    name: b.name,
    path: b.path,
    parent: b.parent?.path ?? null,
    cls: [b.rootClass, b.className, b.parentName, b.clonesName, b.classVersion, b.elementId, b.type, b.streamerType, b.splitLevel],
    counts: [b.entries, b.totBytes, b.zipBytes, b.entryOffsetLen],
    leaves: b.leaves.map((l) => [l.className, l.name, l.title, l.len, l.lenType, l.isUnsigned, l.elementType ?? null, l.countLeaf ? [l.countLeaf.name, l.countLeaf.className] : null]),
    baskets: b.baskets.map((k) => [k.index, k.entryStart, k.entryStop, k.seek, k.bytes, k.embedded ? [k.embedded.entries, k.embedded.data.length] : null]),
    sub: b.branches.map((x) => x.name),
  });
}

const TREES: [string, string][] = [
  ['uproot-HZZ-zlib.root', 'events'],
  ['uproot-small-evnt-tree-fullsplit.root', 'tree'],
  ['uproot-vectorVectorDouble.root', 't'],
  ['PHYSLITE_example.root', 'CollectionTree'],
  ['DAOD_PHYSLITE_21.2.108.0.art.pool.root', 'CollectionTree'],
  ['DAOD_PHYSLITE_21.2.108.0.art.pool.root', 'MetaData'],
];

describe('branch records parsed on first use', () => {
  for (const [name, treeName] of TREES) {
    test(`${name} ${treeName}: lookups in reverse order, by path and by name, equal a walk of every branch`, async () => {
      const file = await open(name);
      const walked = (await file.tree(treeName)).tree;
      const all = [...walked.allBranches()];
      const lazy = (await file.tree(treeName)).tree;
      for (const b of [...all].reverse()) {
        assert.equal(describeBranch(lazy.branch(b.path)), describeBranch(b), `by path ${b.path}`);
        assert.equal(describeBranch(lazy.branch(b.name)), describeBranch(walked.branch(b.name)), `by name ${b.name}`);
      }
      // names only: the same sequence as the walk, from a fresh tree
      const names = [...(await file.tree(treeName)).tree.branchNames()];
      assert.deepEqual(names, all.map((b) => ({ name: b.name, parent: b.parent?.name })));
      assert.deepEqual((await file.tree(treeName)).tree.topLevelNames(), walked.branches.map((b) => b.name));
      assert.equal(lazy.hasBranch('no such branch'), false);
      assert.throws(() => lazy.branch('no such branch'), (e: unknown) => e instanceof RootError && e.code === 'NOT_FOUND');
      await file.close();
    });
  }

  // Each branch is the first thing asked of a fresh tree: its count leaf (HZZ's
  // Jet_Px[NJet] is counted by the leaf of the earlier branch NJet), the class
  // names its record refers to and its sub-branches come from records not parsed yet.
  const FIRST: [string, string, string[]][] = [
    ['uproot-HZZ-zlib.root', 'events', ['Jet_Px', 'Muon_E', 'NJet', 'MClepton_py']],
    ['uproot-small-evnt-tree-fullsplit.root', 'tree', ['StlVecStr', 'P3.Py', 'ArrayI16[10]', 'evt']],
    ['PHYSLITE_example.root', 'CollectionTree', ['AnalysisJetsAuxDyn.GhostTrack', 'PrimaryVerticesAuxDyn.x', 'AnalysisElectronsAuxDyn.pt']],
    ['DAOD_PHYSLITE_21.2.108.0.art.pool.root', 'CollectionTree', ['InDetTrackParticlesAuxDyn.theta', 'AnalysisMuonsAuxDyn.pt']],
  ];
  for (const [name, treeName, branches] of FIRST) {
    test(`${name}: a branch asked for before any other decodes as jsroot reads it`, async () => {
      const oracle = await openOracle(await sampleBytes(name), treeName);
      const want = await oracle.readMany(branches);
      const file = await open(name);
      let compared = 0;
      for (const branch of branches) {
        const expected = want.get(branch);
        if (!expected || expected instanceof Error) continue;
        const tree = await file.tree(treeName); // fresh: nothing parsed yet
        const got = toPlainArray((await tree.read([branch])).columns.get(branch)!);
        assert.ok(isDeepStrictEqual(got, expected), `${branch} differs from jsroot`);
        compared++;
      }
      assert.ok(compared >= branches.length - 1, `${compared} of ${branches.length} compared`);
      await file.close();
    });
  }
});

/** Requests the server logged, as "METHOD range". */
const logged = (s: RangeServer) => s.log.map((r) => `${r.method} ${r.range ?? ''}`.trim());

/** Byte offsets of every basket of the tree that lies in a file (for telling basket reads from metadata reads). */
function basketOffsets(tree: Tree): Set<number> {
  const out = new Set<number>();
  for (const b of tree.allBranches()) for (const k of b.baskets) if (k.seek > 0) out.add(k.seek);
  return out;
}

describe('remote open: round trips', () => {
  const SAMPLES: [string, 'r21' | 'r22'][] = [
    ['PHYSLITE_example.root', 'r22'],
    ['DAOD_PHYSLITE_21.2.108.0.art.pool.root', 'r21'],
  ];
  for (const [name, profile] of SAMPLES) {
    test(`${name}: two requests (no HEAD) before the first basket, the right bytes, the same values`, async () => {
      const bytes = await sampleBytes(name);
      const server = await startRangeServer(bytes, { name });
      try {
        const remote = await openRootFile(server.url);
        const reader = await remote.tree('CollectionTree');
        // the head, then key list + streamers + tail in one request
        const tailStart = bytes.length - DEFAULT_TAIL_BYTES;
        assert.deepEqual(logged(server), ['GET bytes=0-1023', `GET bytes=${tailStart}-${bytes.length - 1}`]);
        assert.equal(server.bytesSent, 1024 + DEFAULT_TAIL_BYTES);
        assert.ok(reader.tree.key.seekKey >= tailStart, 'the TTree record is in the tail');

        const names = analysisBranches(profile).slice(0, 6);
        const got = await reader.read(names);
        const local = await open(name);
        const want = await (await local.tree('CollectionTree')).read(names);
        for (const n of names) assert.ok(isDeepStrictEqual(toPlainArray(got.columns.get(n)!), toPlainArray(want.columns.get(n)!)), `${n} differs over HTTP`);
        await local.close();
        // everything after the two open reads fetched baskets
        const baskets = basketOffsets(reader.tree);
        for (const r of server.log.slice(2)) assert.ok(baskets.has(Number(/=(\d+)-/.exec(r.range!)![1])), `request ${r.range} after the open starts at a basket`);
        await remote.close();

        // PhysliteFile.open (schema, MetaData keys) adds no request before its first basket
        server.resetStats();
        const physlite = await PhysliteFile.open(server.url);
        const log = logged(server);
        assert.deepEqual(log.slice(0, 2), ['GET bytes=0-1023', `GET bytes=${tailStart}-${bytes.length - 1}`]);
        assert.ok(log.length <= 3, `PhysliteFile.open made ${log.length} requests: ${log.join(', ')}`);
        await physlite.close();
      } finally {
        await server.close();
      }
    });
  }

  test('without the speculative tail: head, key list + streamers, TTree: three requests before the first basket', async () => {
    const name = 'PHYSLITE_example.root';
    const bytes = await sampleBytes(name);
    const server = await startRangeServer(bytes, { name });
    try {
      const remote = await openRootFile(server.url, { tailBytes: 0 });
      const reader = await remote.tree('CollectionTree');
      const key = reader.tree.key;
      const log = logged(server);
      assert.equal(log.length, 3, log.join(', '));
      assert.equal(log[0], 'GET bytes=0-1023');
      assert.equal(log[2], `GET bytes=${key.seekKey}-${key.seekKey + key.nbytes - 1}`);
      const first = await reader.read(['AnalysisMuonsAuxDyn.pt'], { entryStart: 0, entryStop: 5 });
      assert.equal(first.entryStop, 5);
      assert.ok(server.log.length > 3, 'the basket came in a later request');
      await remote.close();
    } finally {
      await server.close();
    }
  });

  test('tiny and empty files over HTTP: typed errors, without a HEAD', async () => {
    const root = await sampleBytes('uproot-vectorVectorDouble.root');
    const server = await startRangeServer({ 'empty.root': new Uint8Array(0), 'ten.root': root.subarray(0, 10), 'head.root': root.subarray(0, 700) });
    try {
      const cases: [string, string][] = [
        ['empty.root', 'TRUNCATED'],
        ['ten.root', 'BAD_MAGIC'],
        ['head.root', 'TRUNCATED'], // a ROOT header whose fEND lies past the 700 bytes
      ];
      for (const [file, code] of cases) {
        server.resetStats();
        await assert.rejects(openRootFile(server.urlFor(file)), (e: unknown) => e instanceof RootError && e.code === code, file);
        assert.ok(server.log.every((r) => r.method === 'GET'), `${file}: ${logged(server).join(', ')}`);
      }
    } finally {
      await server.close();
    }
  });
});
