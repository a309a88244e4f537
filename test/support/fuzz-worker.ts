// Runs in a worker thread: mutates sample files and reads them, reporting each
// outcome to the test (test/fuzz.test.ts). The worker is where a hang or a
// runaway allocation would happen, so the test can watch it from outside.

import { parentPort, workerData } from 'node:worker_threads';
import { isDeepStrictEqual } from 'node:util';
import { openRootFile, RootError, toPlainArray, type PlainValue } from '../../shared/root/index';
import { BufferSource } from '../../shared/root/source';
import { Cursor } from '../../shared/root/cursor';
import { readKeyHeader } from '../../shared/root/file';
import { prng } from './prng';

interface Sample {
  name: string;
  bytes: Uint8Array;
  tree: string;
  branches: string[];
}

interface Job {
  samples: Sample[];
  iterations: number;
  seed: number;
  maxObjectBytes: number;
}

const job = workerData as Job;


type Mutation = { kind: 'flip'; positions: number[] } | { kind: 'truncate'; length: number } | { kind: 'insert'; at: number; length: number } | { kind: 'overwrite'; at: number; length: number };

function mutate(src: Uint8Array, rand: () => number, hot: number[]): { bytes: Uint8Array; mutation: Mutation } {
  const pick = () => (rand() < 0.6 && hot.length ? Math.min(src.length - 1, hot[Math.floor(rand() * hot.length)]! + Math.floor(rand() * 64)) : Math.floor(rand() * src.length));
  const r = rand();
  if (r < 0.55) {
    const bytes = src.slice();
    const positions: number[] = [];
    const n = 1 + Math.floor(rand() * 4);
    for (let i = 0; i < n; i++) {
      const p = pick();
      bytes[p] = bytes[p]! ^ (1 << Math.floor(rand() * 8)) ^ (rand() < 0.3 ? 0xff : 0);
      positions.push(p);
    }
    return { bytes, mutation: { kind: 'flip', positions } };
  }
  if (r < 0.7) {
    const length = Math.floor(rand() * src.length);
    return { bytes: src.slice(0, length), mutation: { kind: 'truncate', length } };
  }
  const at = pick();
  const length = 1 + Math.floor(rand() * 64);
  const garbage = new Uint8Array(length);
  for (let i = 0; i < length; i++) garbage[i] = Math.floor(rand() * 256);
  if (r < 0.85) {
    const bytes = new Uint8Array(src.length + length);
    bytes.set(src.subarray(0, at));
    bytes.set(garbage, at);
    bytes.set(src.subarray(at), at + length);
    return { bytes, mutation: { kind: 'insert', at, length } };
  }
  const bytes = src.slice();
  bytes.set(garbage.subarray(0, Math.max(0, Math.min(length, bytes.length - at))), at);
  return { bytes, mutation: { kind: 'overwrite', at, length } };
}

async function readAll(bytes: Uint8Array, s: Sample, name: string, maxObjectBytes: number): Promise<Map<string, PlainValue[] | RootError>> {
  const out = new Map<string, PlainValue[] | RootError>();
  let file;
  try {
    file = await openRootFile(new BufferSource(bytes, name), { limits: { maxObjectBytes } });
    const tree = await file.tree(s.tree);
    for (const b of s.branches) {
      try {
        const r = await tree.read([b]);
        out.set(b, toPlainArray(r.columns.get(b)!));
      } catch (e) {
        if (!(e instanceof RootError)) throw e;
        out.set(b, e);
      }
    }
  } catch (e) {
    if (!(e instanceof RootError)) throw e;
    for (const b of s.branches) if (!out.has(b)) out.set(b, e);
  }
  return out;
}

/**
 * Offsets worth hitting more often than chance (the header, keys, the first
 * bytes of every basket), and per branch the basket payloads no checksum
 * covers: baskets stored uncompressed, and ZSTD frames written (as ROOT does)
 * without a content checksum. A changed value there cannot be detected by any
 * reader, so it is counted, not held against the decoder.
 */
async function survey(s: Sample): Promise<{ spots: number[]; unchecked: Map<string, [number, number][]> }> {
  const spots = [0, 32, 64, 100];
  const unchecked = new Map<string, [number, number][]>();
  const file = await openRootFile(new BufferSource(s.bytes, s.name));
  for (const k of file.file.root.keys) spots.push(k.seekKey);
  spots.push(file.file.header.seekInfo);
  const tree = await file.tree(s.tree);
  for (const name of s.branches) {
    const regions: [number, number][] = [];
    for (const b of tree.tree.branch(name).walk()) {
      for (const k of b.baskets) {
        spots.push(k.seek);
        const key = readKeyHeader(new Cursor(s.bytes.subarray(k.seek, k.seek + k.bytes), {}));
        const payload = k.seek + key.keylen;
        const isZstd = s.bytes[payload] === 0x5a && s.bytes[payload + 1] === 0x53;
        const zstdChecked = isZstd && (s.bytes[payload + 9 + 4]! & 0x04) !== 0;
        if (key.nbytes - key.keylen === key.objlen || (isZstd && !zstdChecked)) regions.push([payload, k.seek + key.nbytes]);
      }
    }
    unchecked.set(name, regions);
  }
  return { spots, unchecked };
}

/** Whether a mutation touched bytes of the branch that no checksum covers. */
function touchedUnchecked(m: Mutation, regions: [number, number][]): boolean {
  const inside = (p: number) => regions.some(([a, b]) => p >= a && p < b);
  if (m.kind === 'flip') return m.positions.some(inside);
  if (m.kind === 'overwrite') return regions.some(([a, b]) => m.at < b && m.at + m.length > a);
  return false;
}

async function main(): Promise<void> {
  const rand = prng(job.seed);
  const truths = new Map<string, Map<string, PlainValue[] | RootError>>();
  const surveys = new Map<string, { spots: number[]; unchecked: Map<string, [number, number][]> }>();
  for (const s of job.samples) {
    truths.set(s.name, await readAll(s.bytes, s, s.name, job.maxObjectBytes));
    surveys.set(s.name, await survey(s));
  }
  const counts = { identical: 0, typedError: 0, iterations: 0, uncheckedChanges: 0 };
  const codes: Record<string, number> = {};
  let peakArrayBuffers = 0;
  for (let i = 0; i < job.iterations; i++) {
    const s = job.samples[i % job.samples.length]!;
    const sv = surveys.get(s.name)!;
    const { bytes, mutation } = mutate(s.bytes, rand, sv.spots);
    const where = `${s.name} iteration ${i} (${JSON.stringify(mutation).slice(0, 200)})`;
    let result: Map<string, PlainValue[] | RootError>;
    try {
      result = await readAll(bytes, s, `fuzz:${s.name}`, job.maxObjectBytes);
    } catch (e) {
      parentPort!.postMessage({ type: 'failure', where, message: `untyped exception: ${(e as Error)?.stack ?? e}` });
      continue;
    }
    const truth = truths.get(s.name)!;
    for (const [branch, got] of result) {
      if (got instanceof RootError) {
        counts.typedError++;
        codes[got.code] = (codes[got.code] ?? 0) + 1;
        if (!got.context.file) parentPort!.postMessage({ type: 'failure', where, message: `error without a file name: ${got.message}` });
        continue;
      }
      const expected = truth.get(branch);
      if (expected instanceof RootError || !isDeepStrictEqual(got, expected)) {
        if (touchedUnchecked(mutation, sv.unchecked.get(branch)!)) {
          counts.uncheckedChanges++;
          continue;
        }
        parentPort!.postMessage({ type: 'failure', where, message: `branch ${branch}: decoded values differ from the pristine file's, and no error was raised` });
      } else counts.identical++;
    }
    counts.iterations++;
    peakArrayBuffers = Math.max(peakArrayBuffers, process.memoryUsage().arrayBuffers);
    if (i % 50 === 0) parentPort!.postMessage({ type: 'progress', i });
  }
  parentPort!.postMessage({ type: 'done', counts, codes, peakArrayBuffers });
}

main().catch((e) => parentPort!.postMessage({ type: 'failure', where: 'setup', message: String((e as Error)?.stack ?? e) }));
