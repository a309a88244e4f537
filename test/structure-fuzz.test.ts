// Structure-aware fuzzing: the byte fuzzer (fuzz.test.ts) mostly hits
// compressed bytes, where a change is a decompression error, so well-formed
// but hostile metadata is rarely reached. Here each sample is re-laid with its
// TTree and streamer infos stored uncompressed, an instrumented parse records
// where every count, length, seek, version and cluster field sits (key lists,
// key headers, TTree, TBranch, TLeaf, basket keys, the entry offset tables of
// baskets stored uncompressed, streamer infos), and each
// case sets one of them to a hostile value (0, ±1, off by one, 2^31−1, 2^52,
// a byte-count flag, …) or swaps two. Every case must end with the pristine
// file's values, a RootError naming the file, or (a field that changes the
// file's meaning, such as a leaf's fIsUnsigned) exactly the values jsroot
// reads from the mutated file — never another exception, a
// hang (each case has STALL_MS) or memory past the worker's heap limit.
// STRUCTURE_FUZZ_CASES and STRUCTURE_FUZZ_SEED override the defaults.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { sampleBytes } from '../scripts/lib/samples';
import { openRootFile, toPlainArray } from '../shared/root/index';
import { BufferSource } from '../shared/root/source';
import { prng } from './support/prng';
import { readField, recordFields, uncompressMetadata, type Field } from './support/structure-layout';
import type { FuzzCase, FuzzSample, Outcome } from './support/structure-fuzz-worker';

const CASES = Number(process.env.STRUCTURE_FUZZ_CASES ?? 1200);
const SEED = Number(process.env.STRUCTURE_FUZZ_SEED ?? 20261202);
/** Time one case may take before it counts as a hang. */
const STALL_MS = 5_000;
const HEAP_MB = 256;
const MAX_OBJECT_BYTES = 16 * 1024 * 1024;
const MAX_ARRAY_BUFFERS = 512 * 1024 * 1024;

const E = 'AnalysisElectronsAuxDyn.';
const M = 'AnalysisMuonsAuxDyn.';

const SAMPLES = [
  { name: 'uproot-HZZ-zlib.root', tree: 'events', branches: ['Jet_Px', 'NJet', 'MET_px', 'Muon_Charge'], analysis: false },
  // baskets stored uncompressed: their entry offset tables are fuzzed too
  { name: 'uproot-HZZ-uncompressed.root', tree: 'events', branches: ['Jet_Px', 'Muon_Py', 'NMuon'], analysis: false },
  { name: 'uproot-small-evnt-tree-fullsplit.root', tree: 'tree', branches: ['StdStr', 'SliceI16', 'StlVecStr', 'P3', 'ArrayF64[10]'], analysis: false },
  // member-wise collections and std::string branches, decoded from streamer infos
  { name: 'uproot-physlite-rntuple_v1-0-0-0.root', tree: 'MetaData', branches: ['StreamDAOD_PHYSLITE', '_Generation_Parameters', 'FileMetaDataAuxDyn.amiTag'], analysis: false },
  { name: 'PHYSLITE_example.root', tree: 'CollectionTree', branches: [`${E}pt`, `${M}inDetTrackParticleLink`, 'EventInfoAuxDyn.eventNumber'], analysis: true },
];

/** Readers of the fields that size and place everything else: file header, directories, keys, the TTree, basket keys and tables. */
const PRIORITY = /^(parseHeader|parseDirectoryRecord|readKeyHeader|parseKeyList|parseTree|basicPointer|basketKey|basketOffsets)/;

/** Hostile values for a field of this width holding `v`. */
function hostileValues(width: number, v: number): bigint[] {
  const b = BigInt(Math.trunc(v));
  const common = [0n, 1n, -1n, b + 1n, b - 1n];
  switch (width) {
    case 1:
      return [0n, 1n, 0x7fn, 0x80n, 0xffn, b ^ 1n];
    case 2:
      return [...common, 0x7fffn, -0x8000n, b * 2n];
    case 4:
      return [...common, 0x7fffffffn, -0x80000000n, b * 2n, b | 0x40000000n, b + (1n << 24n)];
    default:
      return [...common, 1n << 52n, (1n << 53n) + 1n, (1n << 63n) - 1n, 0x7fffffffn, b + (1n << 32n), -(1n << 52n)];
  }
}

/** Basket key fields (parsed with a DataView, so the recorder does not see them). */
function basketFields(bytes: Uint8Array, seeks: number[]): Field[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Field[] = [];
  for (const seek of seeks) {
    const keylen = v.getInt16(seek + 14);
    out.push(
      { offset: seek, width: 4, reader: 'basketKey.fNbytes' },
      { offset: seek + 4, width: 2, reader: 'basketKey.fVersion' },
      { offset: seek + 6, width: 4, reader: 'basketKey.fObjlen' },
      { offset: seek + 14, width: 2, reader: 'basketKey.fKeylen' },
      { offset: seek + keylen - 9, width: 4, reader: 'basketKey.fNevBuf' },
      { offset: seek + keylen - 5, width: 4, reader: 'basketKey.fLast' },
      { offset: seek + keylen - 1, width: 1, reader: 'basketKey.flag' },
    );
    // a basket stored uncompressed: its entry offset table (count, then offsets) is in the file as is
    const nbytes = v.getInt32(seek);
    const objlen = v.getInt32(seek + 6);
    const last = v.getInt32(seek + keylen - 5);
    if (nbytes - keylen === objlen && last > keylen && last - keylen < objlen) {
      const table = seek + last;
      out.push({ offset: table, width: 4, reader: 'basketOffsets.count' });
      const n = Math.min(v.getInt32(table), 4);
      for (let i = 0; i < n; i++) out.push({ offset: table + 4 + 4 * i, width: 4, reader: 'basketOffsets.entry' });
    }
  }
  return out;
}

test(`structure fuzz: the TTree's counts and ${CASES} random hostile metadata fields give the right values or a typed error`, { timeout: 900_000 }, async () => {
  const samples: FuzzSample[] = [];
  const fieldsOf: Field[][] = [];
  for (const s of SAMPLES) {
    const relaid = await uncompressMetadata(await sampleBytes(s.name), s.tree);
    const seeks: number[] = [];
    const parse = async () => {
      const file = await openRootFile(new BufferSource(relaid.bytes, s.name));
      await file.trees();
      await file.file.streamers();
      const tree = await file.tree(s.tree);
      tree.tree.clusters();
      for (const b of s.branches) {
        toPlainArray((await tree.read([b])).columns.get(b)!);
        for (const sub of tree.tree.branch(b).walk()) for (const k of sub.baskets) if (k.seek > 0) seeks.push(k.seek);
      }
    };
    // where the fields are (fast), then which function reads them, for a sample of them
    const fields = await recordFields(relaid.bytes, parse, () => false);
    // all of the file header, directories, key lists and keys and the TTree's own fields, a sample of the rest
    const structural = (f: Field) => f.offset < relaid.appendedAt || (f.offset >= relaid.treePayload && f.offset < relaid.treePayload + 600);
    const named = new Set(fields.filter((f, i) => structural(f) || i % Math.ceil(fields.length / 3000) === 0).map((f) => f.offset));
    seeks.length = 0;
    const labelled = await recordFields(relaid.bytes, parse, (offset) => named.has(offset));
    // the TTree and streamer records are uncompressed now: their fields are in the list
    for (const reader of ['readTBranch', 'readLeaf', 'readStreamerInfo']) assert.ok(labelled.some((f) => f.reader === reader), `${s.name}: fields read by ${reader} recorded`);
    samples.push({ ...s, bytes: relaid.bytes });
    const baskets = basketFields(relaid.bytes, seeks.slice(0, 40));
    if (s.name.includes('uncompressed')) assert.ok(baskets.some((f) => f.reader === 'basketOffsets.entry'), 'entry offset tables found in the uncompressed baskets');
    fieldsOf.push([...labelled.filter((f) => named.has(f.offset)), ...baskets]);
  }

  // the cases, fixed by the seed
  const rand = prng(SEED);
  const cases: FuzzCase[] = [];
  // directed: the TTree's 64-bit counts (fEntries, byte totals, fAutoFlush, fEstimate, …) set to 2^52, 1, 0 and -1
  for (let k = 0; k < samples.length; k++) {
    const counts = fieldsOf[k]!.filter((f) => f.reader === 'parseTree' && f.width === 8);
    for (const field of counts) {
      for (const value of [1n << 52n, 1n, 0n, -1n]) {
        cases.push({ sample: k, field, value: String(value), label: `${samples[k]!.name} TTree count @${field.offset} (was ${readField(samples[k]!.bytes, field)}) = ${value}` });
      }
    }
  }
  const directed = cases.length;
  const priority = fieldsOf.map((fields) => fields.filter((f) => PRIORITY.test(f.reader)));
  for (let i = 0; i < CASES; i++) {
    const k = i % samples.length;
    // a third of the cases on the fields that size and place everything else
    const fields = rand() < 0.35 && priority[k]!.length ? priority[k]! : fieldsOf[k]!;
    const field = fields[Math.floor(rand() * fields.length)]!;
    const where = `${samples[k]!.name} ${field.reader}@${field.offset} (${field.width} bytes)`;
    if (rand() < 0.1) {
      const next = fields.find((f) => f.offset > field.offset && f.width === field.width);
      if (next) {
        cases.push({ sample: k, field, swapWith: next, value: '0', label: `${where} swapped with @${next.offset}` });
        continue;
      }
    }
    const values = hostileValues(field.width, readField(samples[k]!.bytes, field));
    const value = values[Math.floor(rand() * values.length)]!;
    cases.push({ sample: k, field, value: String(value), label: `${where} = ${value}` });
  }

  const failures: string[] = [];
  const tally: Record<string, number> = { same: 0, typed: 0, reread: 0 };
  const codes: Record<string, number> = {};
  let peakArrayBuffers = 0;
  let next = 0;
  while (next < cases.length) {
    // one worker runs cases from `next` until it finishes, hangs or dies
    next = await new Promise<number>((resolve, reject) => {
      let current = next;
      let ready = false;
      let timer: NodeJS.Timeout | undefined;
      const worker = new Worker(new URL('./support/ts-worker.mjs', import.meta.url), {
        workerData: { __module: new URL('./support/structure-fuzz-worker.ts', import.meta.url).href, samples, cases, start: next, maxObjectBytes: MAX_OBJECT_BYTES },
        resourceLimits: { maxOldGenerationSizeMb: HEAP_MB },
      });
      const arm = (ms: number, what: () => string) => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          failures.push(what());
          void worker.terminate();
        }, ms);
      };
      arm(120_000, () => 'the worker did not start');
      worker.on('message', (m: { type: string; i: number; outcome: Outcome; arrayBuffers: number; message: string }) => {
        if (m.type === 'ready') ready = true;
        if (m.type === 'start') {
          current = m.i;
          arm(STALL_MS, () => `${cases[m.i]!.label}: no result after ${STALL_MS} ms (hang or runaway loop)`);
        }
        if (m.type === 'result') {
          clearTimeout(timer);
          current = m.i + 1;
          peakArrayBuffers = Math.max(peakArrayBuffers, m.arrayBuffers);
          const o = m.outcome;
          for (const c of o.codes) codes[c] = (codes[c] ?? 0) + 1;
          if (o.kind === 'same' || o.kind === 'typed' || o.kind === 'reread') tally[o.kind]!++;
          else failures.push(`${cases[m.i]!.label}: ${o.kind === 'wrong' ? 'values differ from the pristine file without an error' : 'not a RootError'}: ${o.detail}`);
          if (m.arrayBuffers > MAX_ARRAY_BUFFERS) failures.push(`${cases[m.i]!.label}: array buffers at ${m.arrayBuffers} bytes`);
        }
        if (m.type === 'setup-failure') {
          clearTimeout(timer);
          reject(new Error(m.message));
        }
      });
      worker.on('error', (e) => {
        // ERR_WORKER_OUT_OF_MEMORY: the case ran past the heap limit
        failures.push(`${cases[current]?.label ?? 'setup'}: worker died: ${(e as Error).message}`);
      });
      worker.on('exit', () => {
        clearTimeout(timer);
        if (!ready) return reject(new Error(`the structure fuzz worker did not start: ${failures.at(-1) ?? ''}`));
        // finished, or stopped in case `current` (a hang or a death, recorded as a failure): go on after it
        resolve(current >= cases.length ? cases.length : current + 1);
      });
    });
  }

  console.log(
    `structure fuzz: ${cases.length} cases (${directed} on TTree counts) over ${samples.map((s, k) => `${s.name} (${fieldsOf[k]!.length} fields)`).join(', ')}: ${tally.same} with every value intact, ${tally.typed} with typed errors ${JSON.stringify(codes)}, ${tally.reread} with values changed as jsroot reads the mutated file too, ${failures.length} failures; peak array buffers ${(peakArrayBuffers / 1048576).toFixed(0)} MiB`,
  );
  assert.deepEqual(failures.slice(0, 20), [], `${failures.length} structure fuzz failures`);
  assert.ok(tally.typed! > 0 && tally.same! > 0, 'mutations produced both typed errors and intact reads');
});
