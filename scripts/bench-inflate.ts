// Decompression benchmark on PHYSLITE baskets.
//
//   npm run bench:inflate [-- --seconds=N]
//
// 1. zlib: Node's zlib versus fflate on the zlib blocks of the two PHYSLITE
//    samples.
// 2. zstd versus zlib on the same content: every one of those blocks
//    inflated and compressed again with zstd level 5 (as Athena writes
//    PHYSLITE), then decoded by each zstd decoder available here, beside
//    Node's zlib on the original blocks; also split by block size.
// 3. End to end: events per second reading the reference analysis's branch
//    set from a file held in memory, zlib against zstd: (a) each PHYSLITE
//    sample as written and with its baskets rewritten as zstd-5 in place
//    (scripts/lib/recompress-zstd.ts; small baskets whose zstd form is larger
//    stay zlib), (b) production-shaped files written by `physlite synth`
//    (AutoFlush 500, baskets up to 128 kB) as zlib:1 and as zstd:5.
// 4. For reference, the other codecs on the HZZ sample in its compressions.
//
// Candidates of a comparison run interleaved (one pass of each in turn) for
// about N seconds each (default 2); each line gives the median and the best
// pass, in MB of uncompressed output per second (1 MB = 10^6 bytes), or
// events per second, and the ratio of medians against the line's peer.

import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { cpus } from 'node:os';
import { inflateSync } from 'node:zlib';
import { unzlibSync } from 'fflate';
import {
  decompressObject,
  parseBlockHeader,
  setZstdImplementation,
  ZSTD_NODE_MIN_BYTES,
  zstdDecoders,
  zstdImplementation,
  zstdReady,
  type InflateImplementation,
  type ZstdDecoderName,
} from '../shared/root/compression';
import { DEFAULT_LIMITS } from '../shared/root/errors';
import { BufferSource } from '../shared/root/source';
import { PhysliteFile } from '../shared/physlite/index';
import { referenceAnalysis } from '../shared/analysis/reference/index';
import { synthesize } from '../shared/root/writer/synth';
import { parseCompression } from '../shared/root/writer/compress';
import { SAMPLES, SHARED_DATA, sampleBytes, samplePath } from './lib/samples';
import { recompressBaskets, zstdCompressor, type Compress } from './lib/recompress-zstd';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '2' } } });
const SECONDS = Number(values.seconds);
if (!(SECONDS > 0)) throw new Error(`--seconds must be a positive number, not ${values.seconds}`);

interface Block {
  raw: Uint8Array; // 9-byte header + payload
  payload: Uint8Array;
  size: number;
}

const METHOD: Record<string, number> = { ZL: 8, L4: 1, XZ: 0, ZS: 1 };

/** All blocks with tag `tag` in a file that decode cleanly (so stray matches inside payloads are dropped). */
function extractBlocks(file: Uint8Array, tag: string): Block[] {
  const blocks: Block[] = [];
  for (let i = 0; i + 9 <= file.length; i++) {
    const h = parseBlockHeader(file, i);
    if (h === null || h.tag !== tag || h.method !== METHOD[tag] || h.compressedSize === 0 || h.uncompressedSize === 0) continue;
    const end = i + 9 + h.compressedSize;
    if (end > file.length) continue;
    const raw = file.subarray(i, end);
    try {
      decompressObject(raw, h.uncompressedSize, {});
    } catch {
      continue;
    }
    blocks.push({ raw, payload: raw.subarray(9), size: h.uncompressedSize });
    i = end - 1;
  }
  return blocks;
}

/** The same content as `blocks`, each compressed again as one ZS block. */
function asZstdBlocks(blocks: Block[], compress: Compress): Block[] {
  return blocks.map((b) => {
    const data = decompressObject(b.raw, b.size, {});
    const frame = compress(data);
    const raw = new Uint8Array(9 + frame.length);
    raw.set([0x5a, 0x53, 1, frame.length & 0xff, (frame.length >>> 8) & 0xff, frame.length >>> 16, b.size & 0xff, (b.size >>> 8) & 0xff, b.size >>> 16]);
    raw.set(frame, 9);
    return { raw, payload: raw.subarray(9), size: b.size };
  });
}

interface Candidate {
  label: string;
  /** One pass; returns what it produced (bytes or events). */
  pass: () => number | Promise<number>;
  /** Only this many passes (a slow reference line). */
  maxPasses?: number;
}
interface Result {
  label: string;
  median: number;
  best: number;
  passes: number;
}

/** Runs the candidates' passes in turn (interleaved, so load changes hit all alike); rates per second. */
async function compare(cands: Candidate[]): Promise<Result[]> {
  for (const c of cands) await c.pass(); // warm up the JIT, allocators and caches
  const rates: number[][] = cands.map(() => []);
  const start = performance.now();
  for (let round = 0; round < 7 || performance.now() - start < SECONDS * 1000 * cands.length; round++) {
    for (let i = 0; i < cands.length; i++) {
      if (rates[i].length >= (cands[i].maxPasses ?? Infinity)) continue;
      const t0 = performance.now();
      const produced = await cands[i].pass();
      rates[i].push(produced / ((performance.now() - t0) / 1000));
    }
  }
  return cands.map((c, i) => {
    const r = rates[i].sort((a, b) => a - b);
    return { label: c.label, median: r[r.length >> 1], best: r[r.length - 1], passes: r.length };
  });
}

function print(results: Result[], unit: 'MB/s' | 'events/s', peer = results[0]): void {
  const scale = unit === 'MB/s' ? 1e-6 : 1;
  for (const r of results) {
    const ratio = r === peer ? '  (peer)' : `  ${(r.median / peer.median).toFixed(2)}x the peer`;
    console.log(
      `  ${r.label.padEnd(58)} median ${(r.median * scale).toFixed(0).padStart(6)} ${unit}   best ${(r.best * scale).toFixed(0).padStart(6)}   (${r.passes} passes)${ratio}`,
    );
  }
}

const sum = (bs: Block[], f: (b: Block) => number) => bs.reduce((n, b) => n + f(b), 0);
const decodeAll = (bs: Block[], options: { inflate?: InflateImplementation; zstd?: ZstdDecoderName } = {}) => () => {
  let n = 0;
  for (const b of bs) n += decompressObject(b.raw, b.size, {}, DEFAULT_LIMITS, options).length;
  return n;
};

const implementation = await zstdReady();
/** The libzstd decoders, each forced, when the default mixes them (with one, the default line is it). */
const forcedDecoders = (): ZstdDecoderName[] => (implementation === 'node+wasm' ? ['wasm', 'node'] : []);
const physlite = SAMPLES.filter((s) => s.profile);
const physliteBytes = new Map<string, Uint8Array>();
for (const s of physlite) physliteBytes.set(s.name, await sampleBytes(s.name));
const blocks = [...physliteBytes.values()].flatMap((f) => extractBlocks(f, 'ZL'));
const inBytes = sum(blocks, (b) => b.payload.length);
const outBytes = sum(blocks, (b) => b.size);
const sizes = blocks.map((b) => b.size).sort((a, b) => a - b);
console.log(`node ${process.version}, ${cpus().length} cores (shared: compare ratios, not absolute figures); zstd decoders here: ${zstdDecoders().join(', ')}; in use: ${implementation}`);
console.log(`${blocks.length} zlib blocks from ${physlite.map((s) => s.name).join(' and ')}`);
console.log(
  `  ${(inBytes / 1e6).toFixed(2)} MB compressed -> ${(outBytes / 1e6).toFixed(2)} MB (ratio ${(outBytes / inBytes).toFixed(1)}), ` +
    `block sizes: median ${sizes[sizes.length >> 1]} B, max ${sizes[sizes.length - 1]} B`,
);
console.log(`  candidates of each comparison run interleaved, ~${SECONDS} s each\n`);

// 1. zlib
console.log('1. zlib: library calls alone, then through decompressObject (size checks; fflate adds its adler32 check)');
print(
  await compare([
    {
      label: 'node zlib inflateSync (verifies adler32)',
      pass: () => {
        let n = 0;
        for (const b of blocks) n += inflateSync(b.payload).length;
        return n;
      },
    },
    {
      label: 'fflate unzlibSync into a sized buffer (no adler32)',
      pass: () => {
        let n = 0;
        for (const b of blocks) n += unzlibSync(b.payload, { out: new Uint8Array(b.size) }).length;
        return n;
      },
    },
    { label: "decompressObject, inflate: 'node'", pass: decodeAll(blocks, { inflate: 'node' }) },
    { label: "decompressObject, inflate: 'fflate'", pass: decodeAll(blocks, { inflate: 'fflate' }) },
  ]),
  'MB/s',
);

// 2. zstd on the same content
const compressor = await zstdCompressor(5);
const zsBlocks = asZstdBlocks(blocks, compressor.compress);
const zsBytes = sum(zsBlocks, (b) => b.payload.length);
console.log(`\n2. zstd level 5 on the same ${blocks.length} blocks (recompressed by ${compressor.by}: ${(zsBytes / 1e6).toFixed(2)} MB, zlib ${(inBytes / 1e6).toFixed(2)} MB), through decompressObject`);
const zstdLines = (bs: Block[], zs: Block[]): Candidate[] => [
  { label: "zlib (inflate: 'node') on the original blocks", pass: decodeAll(bs, { inflate: 'node' }) },
  { label: `zstd as used by default ('${zstdImplementation()}')`, pass: decodeAll(zs) },
  ...forcedDecoders().map((d): Candidate => ({ label: `zstd: '${d}'`, pass: decodeAll(zs, { zstd: d }) })),
  { label: "zstd: 'fzstd' (pure JS fallback)", pass: decodeAll(zs, { zstd: 'fzstd' }), maxPasses: 3 },
];
print(await compare(zstdLines(blocks, zsBlocks)), 'MB/s');

const classes: [string, (n: number) => boolean][] = [
  ['blocks < 4 kB', (n) => n < 4096],
  [`4 kB <= blocks < ${ZSTD_NODE_MIN_BYTES / 1024} kB`, (n) => n >= 4096 && n < ZSTD_NODE_MIN_BYTES],
  [`blocks >= ${ZSTD_NODE_MIN_BYTES / 1024} kB (Node's decoder from here when present)`, (n) => n >= ZSTD_NODE_MIN_BYTES],
];
for (const [label, inClass] of classes) {
  const idx = blocks.map((_, i) => i).filter((i) => inClass(blocks[i].size));
  if (idx.length === 0) continue;
  console.log(`  ${label}: ${idx.length} blocks, ${(sum(idx.map((i) => blocks[i]), (b) => b.size) / 1e6).toFixed(2)} MB`);
  print(
    await compare(
      zstdLines(
        idx.map((i) => blocks[i]),
        idx.map((i) => zsBlocks[i]),
      ).filter((c) => !c.label.includes('fzstd')),
    ),
    'MB/s',
  );
}

// 3. end to end
/** Events/s reading the reference analysis's branch set from two files in memory: zlib, then zstd. */
async function endToEnd(name: string, zlibBytes: Uint8Array, zstdBytes: Uint8Array, note: string): Promise<void> {
  const open = async (bytes: Uint8Array) => {
    const file = await PhysliteFile.open(new BufferSource(bytes, name));
    return { file, columns: referenceAnalysis().prepare(file.schema, name).columns };
  };
  const zl = await open(zlibBytes);
  const zs = await open(zstdBytes);
  const events = zl.file.entries;
  // one read of a 100-event sample takes about a millisecond: several per pass
  const reads = Math.max(1, Math.round(2000 / events));
  const read = (f: Awaited<ReturnType<typeof open>>, zstd?: ZstdDecoderName) => async () => {
    if (zstd) setZstdImplementation(zstd);
    try {
      for (let i = 0; i < reads; i++) await f.file.read(f.columns);
    } finally {
      if (zstd) setZstdImplementation('auto');
    }
    return reads * events;
  };
  console.log(`  ${name}: ${events} events, ${zl.columns.length} columns; ${note}`);
  print(
    await compare([
      { label: 'zlib file', pass: read(zl) },
      { label: `zstd file, zstd as used by default ('${zstdImplementation()}')`, pass: read(zs) },
      ...forcedDecoders().map((d): Candidate => ({ label: `zstd file, zstd: '${d}'`, pass: read(zs, d) })),
      { label: "zstd file, zstd: 'fzstd'", pass: read(zs, 'fzstd'), maxPasses: 2 },
    ]),
    'events/s',
  );
  await zl.file.close();
  await zs.file.close();
}

console.log("\n3. end to end: the reference analysis's branch set read from a file in memory (decompress + decode), events/s");
console.log('  a) the samples, their baskets rewritten as zstd-5 in place');
for (const s of physlite) {
  const original = physliteBytes.get(s.name)!;
  const r = await recompressBaskets(original, s.name, compressor.compress);
  await endToEnd(
    s.name,
    original,
    r.bytes,
    `${r.baskets} baskets rewritten as zstd (${(r.before / 1e6).toFixed(2)} MB zlib -> ${(r.after / 1e6).toFixed(2)} MB zstd), ` +
      `${r.kept} small baskets stay zlib (their zstd form is larger than the space of the zlib one)`,
  );
}
const SYNTH_EVENTS = 2000;
console.log(`  b) production-shaped files from \`physlite synth\`: ${SYNTH_EVENTS} events of PHYSLITE_example.root, AutoFlush 500, baskets up to 131072 B, as zlib:1 (the sample's) and zstd:5 (Athena's)`);
{
  const dir = await mkdtemp(path.join(tmpdir(), 'bench-inflate-'));
  try {
    const source = await samplePath('PHYSLITE_example.root');
    const made = new Map<string, { bytes: Uint8Array; size: number; baskets: number }>();
    for (const codec of ['zlib:1', 'zstd:5']) {
      const out = path.join(dir, `${codec.replace(':', '-')}.root`);
      const r = await synthesize({ source, out, events: SYNTH_EVENTS, seed: 1, compression: parseCompression(codec), autoFlush: 500, maxBasket: 131072 });
      made.set(codec, { bytes: new Uint8Array(await readFile(out)), size: r.bytes, baskets: r.baskets });
    }
    const zl = made.get('zlib:1')!;
    const zs = made.get('zstd:5')!;
    await endToEnd(`synth ${SYNTH_EVENTS} events`, zl.bytes, zs.bytes, `zlib:1 file ${(zl.size / 1e6).toFixed(1)} MB, zstd:5 file ${(zs.size / 1e6).toFixed(1)} MB, ${zs.baskets} baskets each`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// 4. other codecs, for reference: the HZZ sample's baskets in each compression
const hzz: [string, string][] = [
  ['zlib', 'ZL'],
  ['lz4', 'L4'],
  ['lzma', 'XZ'],
  ['zstd', 'ZS'],
];
if (hzz.every(([name]) => existsSync(`${SHARED_DATA}/uproot-HZZ-${name}.root`))) {
  console.log('\n4. other codecs through decompressObject (HZZ sample, same TTree in each compression)');
  const lines: Candidate[] = [];
  for (const [name, tag] of hzz) {
    const bs = extractBlocks(await sampleBytes(`uproot-HZZ-${name}.root`), tag);
    lines.push({ label: `${name} (${bs.length} blocks, ratio ${(sum(bs, (b) => b.size) / sum(bs, (b) => b.payload.length)).toFixed(2)})`, pass: decodeAll(bs) });
  }
  print(await compare(lines), 'MB/s');
}
