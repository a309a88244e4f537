// Inflate benchmark: Node's zlib versus fflate on the zlib blocks of the
// PHYSLITE sample files, plus (for reference) the other codecs on the HZZ
// sample in its five compressions.
//
//   node --import tsx scripts/bench-inflate.ts [data-dir] [--seconds=N]
//
// data-dir defaults to ../shared/data beside the repository. All blocks are
// found by scanning the files for block headers and read into memory first;
// each measurement then runs whole passes over all blocks for at least N
// seconds (default 2) and reports the best and the median pass, in MB of
// uncompressed output per second (1 MB = 10^6 bytes).

import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateSync } from 'node:zlib';
import { unzlibSync } from 'fflate';
import { decompressObject, parseBlockHeader, type InflateImplementation } from '../shared/root/compression';
import { DEFAULT_LIMITS } from '../shared/root/errors';

interface Block {
  raw: Uint8Array; // 9-byte header + payload
  payload: Uint8Array;
  size: number;
}

const args = process.argv.slice(2);
const secondsArg = args.find((a) => a.startsWith('--seconds='));
const SECONDS = secondsArg ? Number(secondsArg.slice('--seconds='.length)) : 2;
const dataDir = args.find((a) => !a.startsWith('--')) ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared', 'data');

const METHOD: Record<string, number> = { ZL: 8, L4: 1, XZ: 0, ZS: 1 };

/** All blocks with tag `tag` in a file that decode cleanly (so stray matches inside payloads are dropped). */
function extractBlocks(path: string, tag: string): Block[] {
  const file = new Uint8Array(readFileSync(path));
  const blocks: Block[] = [];
  for (let i = 0; i + 9 <= file.length; i++) {
    const h = parseBlockHeader(file, i);
    if (h === null || h.tag !== tag || h.method !== METHOD[tag] || h.compressedSize === 0 || h.uncompressedSize === 0) continue;
    const end = i + 9 + h.compressedSize;
    if (end > file.length) continue;
    const raw = file.subarray(i, end);
    try {
      decompressObject(raw, h.uncompressedSize, { file: path, offset: i });
    } catch {
      continue;
    }
    blocks.push({ raw, payload: raw.subarray(9), size: h.uncompressedSize });
    i = end - 1;
  }
  return blocks;
}

interface Result {
  best: number;
  median: number;
  passes: number;
}

/** Runs `pass` (which returns the bytes it produced) repeatedly; MB/s of output. */
function measure(pass: () => number): Result {
  pass(); // warm up the JIT and the allocator
  const rates: number[] = [];
  const start = performance.now();
  while (performance.now() - start < SECONDS * 1000 || rates.length < 3) {
    const t0 = performance.now();
    const bytes = pass();
    const dt = (performance.now() - t0) / 1000;
    rates.push(bytes / dt / 1e6);
  }
  rates.sort((a, b) => a - b);
  return { best: rates[rates.length - 1], median: rates[rates.length >> 1], passes: rates.length };
}

function row(label: string, r: Result, reference?: Result): void {
  const ratio = reference ? `  ${(reference.median / r.median).toFixed(2)}x slower than node` : '';
  console.log(`  ${label.padEnd(52)} median ${r.median.toFixed(0).padStart(5)} MB/s   best ${r.best.toFixed(0).padStart(5)} MB/s   (${r.passes} passes)${ratio}`);
}

const physlite = ['DAOD_PHYSLITE_21.2.108.0.art.pool.root', 'PHYSLITE_example.root'].map((f) => join(dataDir, f));
const missing = physlite.filter((f) => !existsSync(f));
if (missing.length > 0) {
  console.error(`missing sample files: ${missing.join(', ')} (pass the data directory as the first argument)`);
  process.exit(1);
}

const blocks = physlite.flatMap((f) => extractBlocks(f, 'ZL'));
const inBytes = blocks.reduce((n, b) => n + b.payload.length, 0);
const outBytes = blocks.reduce((n, b) => n + b.size, 0);
const sizes = blocks.map((b) => b.size).sort((a, b) => a - b);
console.log(`node ${process.version}, ${blocks.length} zlib blocks from ${physlite.length} PHYSLITE files`);
console.log(
  `  ${(inBytes / 1e6).toFixed(2)} MB compressed -> ${(outBytes / 1e6).toFixed(2)} MB (ratio ${(outBytes / inBytes).toFixed(1)}), ` +
    `block sizes: median ${sizes[sizes.length >> 1]} B, max ${sizes[sizes.length - 1]} B`,
);
console.log(`  each line: whole passes over all blocks for at least ${SECONDS} s\n`);

console.log('libraries alone');
const nodeRaw = measure(() => {
  let n = 0;
  for (const b of blocks) n += inflateSync(b.payload).length;
  return n;
});
row('node zlib inflateSync (verifies adler32)', nodeRaw);
const fflateRaw = measure(() => {
  let n = 0;
  for (const b of blocks) n += unzlibSync(b.payload, { out: new Uint8Array(b.size) }).length;
  return n;
});
row('fflate unzlibSync into a sized buffer (no adler32)', fflateRaw, nodeRaw);

console.log('\ndecompressObject (size checks; fflate path adds its adler32 check)');
const viaDecompress = (inflate: InflateImplementation) => () => {
  let n = 0;
  for (const b of blocks) n += decompressObject(b.raw, b.size, {}, DEFAULT_LIMITS, { inflate }).length;
  return n;
};
const nodeFull = measure(viaDecompress('node'));
row("inflate: 'node'", nodeFull);
const fflateFull = measure(viaDecompress('fflate'));
row("inflate: 'fflate'", fflateFull, nodeFull);

console.log(
  `\nresult: Node's zlib is ${(fflateFull.median / nodeFull.median < 1 ? nodeFull.median / fflateFull.median : fflateFull.median / nodeFull.median).toFixed(2)}x ` +
    `${nodeFull.median >= fflateFull.median ? 'faster' : 'slower'} than fflate through decompressObject ` +
    `(${nodeFull.median.toFixed(0)} vs ${fflateFull.median.toFixed(0)} MB/s), ` +
    `${(nodeRaw.median / fflateRaw.median).toFixed(2)}x as library calls alone`,
);

// Other codecs, for reference: the HZZ sample's baskets in each compression.
const hzz: [string, string][] = [
  ['zlib', 'ZL'],
  ['lz4', 'L4'],
  ['lzma', 'XZ'],
  ['zstd', 'ZS'],
];
const hzzFiles = hzz.filter(([name]) => existsSync(join(dataDir, `uproot-HZZ-${name}.root`)));
if (hzzFiles.length > 0) {
  console.log('\nother codecs through decompressObject (HZZ sample, same TTree in each compression)');
  for (const [name, tag] of hzzFiles) {
    const bs = extractBlocks(join(dataDir, `uproot-HZZ-${name}.root`), tag);
    const c = bs.reduce((n, b) => n + b.payload.length, 0);
    const u = bs.reduce((n, b) => n + b.size, 0);
    const r = measure(() => {
      let n = 0;
      for (const b of bs) n += decompressObject(b.raw, b.size, {}).length;
      return n;
    });
    row(`${name} (${bs.length} blocks, ratio ${(u / c).toFixed(2)})`, r);
  }
}
