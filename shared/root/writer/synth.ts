// `physlite synth`: a production-shaped file written from a small source.
//
// The output has the source's trees, branches and streamer infos. The chosen
// tree (CollectionTree) gets `events` entries, each a whole source event
// picked by a seeded PRNG (so ElementLinks and indices stay consistent within
// an event), its floats jittered in their low bits; its baskets are flushed
// cluster by cluster of `autoFlush` events as Athena does (one basket per
// branch and cluster, split only when it would pass `maxBasket` bytes), and
// streamed to the file: memory holds the source, one basket and per-basket
// metadata, whatever the number of events. The other trees and objects are
// copied as they are (their baskets moved, their seeks rewritten).
//
// Layout: header | TFile record | StreamerInfo | other objects | [hole] |
// baskets cluster by cluster | the tree's TTree record | key list | free list.
// Past 2 GiB keys switch to 64-bit seeks and the header to the large format.

import { RootError, type ErrorContext } from '../errors';
import { RootFile, type KeyInfo } from '../file';
import { parseTree, type Tree } from '../tree';
import type { ByteSource } from '../source/types';
import { openSource } from '../source';
import { ByteWriter } from './byte-writer';
import { basketKeyLength, basketRecord, offsetTableBytes, writeOffsetTable } from './basket';
import { createCompressor, rootCompressionNumber, type CompressionSetting, type Compressor } from './compress';
import { FileSink } from './file-sink';
import { jitterEntry, Xorshift32 } from './jitter';
import { BEGIN, fileHeader, fileRecord, freeSegmentsRecord, keyLength, keyListRecord, needsLargeKey, START_BIG_FILE, writeKeyHeader, type KeyFields } from './records';
import { loadSourceEntries, type SourceBranch } from './source-entries';
import { rewriteTree, type BranchUpdate } from './tree-rewrite';

export interface SynthOptions {
  /** Source ROOT file (path, URL or ByteSource). */
  source: string | ByteSource;
  out: string;
  events: number;
  seed: number;
  compression: CompressionSetting;
  autoFlush: number;
  maxBasket: number;
  /** The tree to synthesise (default CollectionTree). */
  tree?: string;
  /** Jitter float payloads (default true). */
  jitter?: boolean;
  /** Start the synthesised baskets at this file offset or later, leaving a sparse hole (tests of the 64-bit layout). */
  basketsFrom?: number;
  /** Keep the source event of every output entry in the result (tests; costs 4 bytes per event). */
  recordPicks?: boolean;
  onCluster?: (done: number, total: number) => void;
}

export interface BranchReport {
  name: string;
  sourceZipBytes: number;
  sourceTotBytes: number;
  zipBytes: number;
  totBytes: number;
  baskets: number;
  jittered: boolean;
}

export interface SynthResult {
  file: string;
  bytes: number;
  events: number;
  clusters: number;
  baskets: number;
  seconds: number;
  large: boolean;
  branches: BranchReport[];
  picks?: Int32Array;
  sourceEvents: number;
}

/** Growable per-branch basket table (bytes, first entry, seek). */
class BasketTable {
  bytes: number[] = [];
  entry: number[] = [];
  seek: number[] = [];
  totBytes = 0;
  zipBytes = 0;
  get count(): number {
    return this.bytes.length;
  }
}

function check(cond: boolean, detail: string): void {
  if (!cond) throw new RootError('BAD_ARGUMENT', detail);
}

/** splitmix32-style mixing, so that nearby seeds give unrelated streams. */
function mixSeed(seed: number, salt: number): number {
  let h = (seed ^ Math.imul(salt, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0 || 1;
}

/** The source event of each output entry, in order: the same for the same seed. */
export class EventPicker {
  private readonly rng: Xorshift32;
  constructor(
    seed: number,
    private readonly sourceEvents: number,
  ) {
    this.rng = new Xorshift32(mixSeed(seed, 1));
  }
  next(): number {
    return Math.floor((this.rng.next() / 4294967296) * this.sourceEvents);
  }
}

export async function synthesize(o: SynthOptions): Promise<SynthResult> {
  check(Number.isSafeInteger(o.events) && o.events >= 1, `--events must be a positive integer, got ${o.events}`);
  check(Number.isSafeInteger(o.autoFlush) && o.autoFlush >= 1, `--auto-flush must be a positive integer, got ${o.autoFlush}`);
  check(Number.isSafeInteger(o.maxBasket) && o.maxBasket >= 1024 && o.maxBasket <= 0x7fffffff - 4096, `--max-basket must be an integer from 1024 to 2^31 - 4096, got ${o.maxBasket}`);
  check(Number.isSafeInteger(o.seed) && o.seed >= 0 && o.seed <= 0xffffffff, `--seed must be an integer from 0 to 2^32 - 1, got ${o.seed}`);
  const t0 = performance.now();
  const treeName = o.tree ?? 'CollectionTree';
  const source = typeof o.source === 'string' ? await openSource(o.source) : o.source;
  let sink: FileSink | undefined;
  try {
    const file = await RootFile.open(source);
    const treeKey = await file.getKey(treeName);
    if (treeKey.className !== 'TTree') throw new RootError('NOT_FOUND', `"${treeName}" is a ${treeKey.className}, not a TTree`, file.context);
    const { data: treeData, keylen: treeKeylen } = await file.readKeyObject(treeKey);
    const tree = parseTree(file, treeKey, treeData, treeKeylen);
    if (tree.entries < 1) throw new RootError('BAD_ARGUMENT', `tree ${treeName} of ${file.name} has no entries to resample`, file.context);
    const sources = await loadSourceEntries(tree, { jitter: o.jitter ?? true });
    const compressor = await createCompressor(o.compression);
    const compress = rootCompressionNumber(o.compression);

    sink = new FileSink(o.out);
    const outName = o.out.split('/').pop() ?? o.out;
    // placeholders for the header and the TFile record, rewritten at the end
    sink.append(new Uint8Array(BEGIN));
    const fileRec = fileRecord(outName, '', { large: false, nbytesKeys: 0, seekKeys: 0 });
    sink.append(fileRec.bytes);

    // the streamer infos, copied as stored (their key keeps its length, so references inside stay right)
    let seekInfo = 0, nbytesInfo = 0;
    if (file.header.seekInfo > 0 && file.header.nbytesInfo > 0) {
      const [raw] = await file.readRanges([{ offset: file.header.seekInfo, length: file.header.nbytesInfo }]);
      seekInfo = sink.position;
      nbytesInfo = raw!.length;
      sink.append(withSeeks(raw!, seekInfo, file.context));
    }

    // the other top-level objects (highest cycle of each name), before the synthesised tree's baskets
    const listed: KeyFields[] = [];
    const seen = new Set<string>();
    for (const key of [...file.root.keys].sort((a, b) => b.cycle - a.cycle)) {
      if (seen.has(key.name)) continue;
      seen.add(key.name);
      if (key.name === treeName) continue;
      if (key.className === 'TTree') listed.push(await copyTree(file, key, sink));
      else {
        const [raw] = await file.readRanges([{ offset: key.seekKey, length: key.nbytes }]);
        const at = sink.position;
        sink.append(withSeeks(raw!, at, file.context));
        listed.push({ className: key.className, name: key.name, title: key.title, nbytes: key.nbytes, objlen: key.objlen, seekKey: at, seekPdir: BEGIN, cycle: key.cycle, large: false });
      }
    }
    if (o.basketsFrom !== undefined && o.basketsFrom > sink.position) sink.skip(o.basketsFrom - sink.position);

    // the synthesised tree, cluster by cluster
    const tables = new Map<SourceBranch, BasketTable>(sources.map((s) => [s, new BasketTable()]));
    const picker = new EventPicker(o.seed, tree.entries);
    const jitterRng = new Xorshift32(mixSeed(o.seed, 2));
    const picks = o.recordPicks ? new Int32Array(o.events) : undefined;
    const clusterPicks = new Int32Array(Math.min(o.autoFlush, o.events));
    const starts = new Int32Array(Math.min(o.autoFlush, o.events) + 1);
    let scratch = new Uint8Array(1 << 20);
    const clusters = Math.ceil(o.events / o.autoFlush);
    let basketCount = 0;
    for (let c = 0; c < clusters; c++) {
      const first = c * o.autoFlush;
      const n = Math.min(o.autoFlush, o.events - first);
      for (let i = 0; i < n; i++) {
        clusterPicks[i] = picker.next();
        if (picks) picks[first + i] = clusterPicks[i]!;
      }
      for (const s of sources) {
        const table = tables.get(s)!;
        // entries of this cluster, cut into baskets of at most maxBasket payload bytes
        let i = 0;
        while (i < n) {
          const seekKey = sink.position;
          const keylen = basketKeyLength(s.branch.name, tree.name, seekKey);
          let size = 0;
          let j = i;
          while (j < n) {
            const e = clusterPicks[j]!;
            const len = s.starts[e + 1]! - s.starts[e]!;
            const withTable = s.variable ? offsetTableBytes(j - i + 1) : 0;
            if (j > i && size + len + withTable > o.maxBasket) break;
            size += len;
            j++;
          }
          const entries = j - i;
          const total = size + (s.variable ? offsetTableBytes(entries) : 0);
          if (total > scratch.length) scratch = new Uint8Array(Math.max(total, scratch.length * 2));
          fillEntries(s, clusterPicks, i, entries, scratch, total, starts, jitterRng);
          const payload = scratch.subarray(0, total);
          if (s.variable) writeOffsetTable(payload, size, starts, entries, keylen);
          const rec = basketRecord({ branchName: s.branch.name, treeName: tree.name, seekKey, payload, dataLength: size, entries, version: s.basketVersion, nevBufSize: s.nevBufSize, compressor });
          sink.append(rec.record);
          table.bytes.push(rec.record.length);
          table.entry.push(first + i);
          table.seek.push(seekKey);
          table.totBytes += rec.keylen + rec.objlen;
          table.zipBytes += rec.record.length;
          basketCount++;
          i = j;
        }
      }
      o.onCluster?.(c + 1, clusters);
    }

    // the TTree record, re-serialised with the new baskets
    const byIndex = new Map<number, SourceBranch>(sources.map((s) => [s.index, s]));
    let totBytes = 0, zipBytes = 0;
    for (const t of tables.values()) {
      totBytes += t.totBytes;
      zipBytes += t.zipBytes;
    }
    const treeAt = sink.position;
    const treeKeyFields = { className: 'TTree', name: treeKey.name, title: treeKey.title, large: needsLargeKey(treeAt), seekKey: treeAt, seekPdir: BEGIN, cycle: treeKey.cycle };
    const newTreeKeylen = keyLength(treeKeyFields);
    const empty = { count: 0, bytes: [], entry: [], seek: [] };
    const record = rewriteTree(treeData, treeKeylen, newTreeKeylen, {
      entries: o.events,
      totBytes,
      zipBytes,
      autoFlush: o.autoFlush,
      clusterRanges: { end: [o.events - 1], size: [o.autoFlush] },
      branch: (index): BranchUpdate => {
        const s = byIndex.get(index);
        const t = s && tables.get(s);
        if (!t) return { entries: o.events, totBytes: 0, zipBytes: 0, compress, baskets: empty };
        return { entries: o.events, totBytes: t.totBytes, zipBytes: t.zipBytes, compress, baskets: t };
      },
    }, { file: file.name, tree: treeName });
    listed.push(appendObject(sink, treeKeyFields, record, compressor));

    const result = finish(sink, outName, listed, compress, seekInfo, nbytesInfo);
    sink = undefined;
    const seconds = (performance.now() - t0) / 1000;
    return {
      file: o.out,
      bytes: result.end,
      events: o.events,
      clusters,
      baskets: basketCount,
      seconds,
      large: result.large,
      sourceEvents: tree.entries,
      picks,
      branches: sources.map((s) => {
        const t = tables.get(s)!;
        return { name: s.branch.name, sourceZipBytes: s.sourceZipBytes, sourceTotBytes: s.sourceTotBytes, zipBytes: t.zipBytes, totBytes: t.totBytes, baskets: t.count, jittered: s.jitter !== null };
      }),
    };
  } catch (e) {
    sink?.abandon();
    throw e;
  } finally {
    if (typeof o.source === 'string') await source.close().catch(() => undefined);
  }
}

/**
 * Copies the picked source entries [first, first + entries) of a cluster into
 * scratch, back to back, jittering their floats; starts[k] receives where
 * entry k begins. Synchronous and allocation-free: it runs once per basket.
 */
function fillEntries(s: SourceBranch, picks: Int32Array, first: number, entries: number, scratch: Uint8Array, total: number, starts: Int32Array, rng: Xorshift32): void {
  const view = new DataView(scratch.buffer, 0, total);
  const data = s.data;
  const from = s.starts;
  const plan = s.jitter;
  let at = 0;
  for (let k = 0; k < entries; k++) {
    const e = picks[first + k]!;
    const a = from[e]!, b = from[e + 1]!;
    starts[k] = at;
    // most entries are a few bytes: a loop beats making a subarray for each
    if (b - a < 64) for (let x = a, y = at; x < b; x++, y++) scratch[y] = data[x]!;
    else scratch.set(data.subarray(a, b), at);
    if (plan) jitterEntry(view, at, at + b - a, plan, rng);
    at += b - a;
  }
}

/** A keyed record with its fSeekKey (and fSeekPdir) set for its new place. */
function withSeeks(raw: Uint8Array, seekKey: number, ctx: ErrorContext): Uint8Array {
  const out = raw.slice();
  const v = new DataView(out.buffer);
  const version = v.getInt16(4);
  const large = version > 1000;
  if (!large && seekKey > 0xffffffff) throw new RootError('UNSUPPORTED', `a 32-bit key cannot move to offset ${seekKey}`, ctx);
  if (large) {
    v.setBigInt64(18, BigInt(seekKey));
    v.setBigInt64(26, BigInt(BEGIN));
  } else {
    v.setUint32(18, seekKey);
    v.setUint32(22, BEGIN);
  }
  return out;
}

/** Appends an object (compressed when that helps) under a new key; returns the key for the key list. */
function appendObject(sink: FileSink, key: Omit<KeyFields, 'nbytes' | 'objlen'>, data: Uint8Array, compressor: Compressor): KeyFields {
  const stored = compressor.compress(data) ?? data;
  const keylen = keyLength(key);
  const full: KeyFields = { ...key, nbytes: keylen + stored.length, objlen: data.length };
  const w = new ByteWriter(keylen);
  writeKeyHeader(w, full);
  sink.append(w.bytes());
  sink.append(stored);
  return full;
}

/** Copies another tree: its baskets verbatim (new seeks), its TTree record with the seeks rewritten. */
async function copyTree(file: RootFile, key: KeyInfo, sink: FileSink): Promise<KeyFields> {
  const { data, keylen } = await file.readKeyObject(key);
  const tree: Tree = parseTree(file, key, data, keylen);
  const updates = new Map<number, BranchUpdate>();
  let index = -1;
  for (const b of tree.allBranches()) {
    index++;
    const onDisk = b.baskets.filter((x) => !x.embedded);
    if (onDisk.length === 0) continue;
    const raws = await file.readRanges(onDisk.map((x) => ({ offset: x.seek, length: x.bytes })));
    const seeks: number[] = [];
    raws.forEach((raw) => {
      const at = sink.position;
      sink.append(withSeeks(raw, at, file.context));
      seeks.push(at);
    });
    if (onDisk.length !== b.baskets.length) throw new RootError('UNSUPPORTED', `tree ${key.name}: branch mixes baskets in the file and in the TTree record`, { file: file.name, tree: key.name, branch: b.name });
    updates.set(index, { baskets: { count: onDisk.length, bytes: onDisk.map((x) => x.bytes), entry: onDisk.map((x) => x.entryStart), seek: seeks } });
  }
  // baskets inside the record keep their place; only the on-disk ones moved
  const at = sink.position;
  const fields = { className: key.className, name: key.name, title: key.title, large: needsLargeKey(at), seekKey: at, seekPdir: BEGIN, cycle: key.cycle };
  const rewritten = rewriteTree(data, keylen, keyLength(fields), { branch: (i) => updates.get(i) ?? null }, { file: file.name, tree: key.name });
  // stored uncompressed: always valid (ROOT's rule), and these records are small
  const w = new ByteWriter(keyLength(fields));
  const full: KeyFields = { ...fields, nbytes: keyLength(fields) + rewritten.length, objlen: rewritten.length };
  writeKeyHeader(w, full);
  sink.append(w.bytes());
  sink.append(rewritten);
  return full;
}

/** Writes the key list and free list, then the header and TFile record; closes the file. */
function finish(sink: FileSink, name: string, keys: KeyFields[], compress: number, seekInfo: number, nbytesInfo: number): { end: number; large: boolean } {
  const seekKeys = sink.position;
  const keyList = keyListRecord(name, '', seekKeys, keys);
  sink.append(keyList);
  const seekFree = sink.position;
  const free = freeSegmentsRecord(name, '', seekFree);
  sink.append(free);
  const end = sink.position;
  const large = end > START_BIG_FILE;
  const rec = fileRecord(name, '', { large, nbytesKeys: keyList.length, seekKeys });
  sink.patch(fileHeader({ large, end, seekFree, nbytesFree: free.length, nbytesName: rec.nbytesName, compress, seekInfo, nbytesInfo }), 0);
  sink.patch(rec.bytes, BEGIN);
  sink.close();
  return { end, large };
}
