// The source tree's bytes entry by entry: for every branch with baskets, all
// of its entries' serialized bytes (read once: sources are small) and where
// each entry starts, plus how its floats may be jittered. The sampler copies
// whole entries from here, so per-entry headers (a vector's byte count and
// version) and ElementLink indices stay exactly as they were.

import { RootError } from '../errors';
import { decompressObject } from '../compression';
import type { RootFile } from '../file';
import type { Branch, Tree } from '../tree';
import { interpret } from '../interpretation';
import { FixedPrimitiveDecoder, JaggedPrimitiveDecoder, NestedVectorDecoder, VectorPrimitiveDecoder } from '../decode';
import type { JitterPlan } from './jitter';

export interface SourceBranch {
  branch: Branch;
  /** Index in the tree's depth-first branch order (the TTree rewrite's order). */
  index: number;
  entries: number;
  /** All entries' bytes back to back. */
  data: Uint8Array;
  /** Entry i is data[starts[i], starts[i + 1]). */
  starts: Int32Array;
  /** Whether baskets carry an entry-offset table (variable-size entries). */
  variable: boolean;
  /** TBasket header values copied from the source's first basket. */
  basketVersion: number;
  nevBufSize: number;
  jitter: JitterPlan | null;
  /** The source's compressed and uncompressed bytes (keys included), for the ratio report. */
  sourceZipBytes: number;
  sourceTotBytes: number;
}

const BASKET_HEADER = 19;

/** Reads one basket record into its data bytes and entry offsets (relative to the data). */
function readBasket(file: RootFile, raw: Uint8Array, seek: number, entries: number, ctx: { file: string; tree: string; branch: string; basket: number }) {
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (raw.length < 40) throw new RootError('CORRUPT', `basket record of ${raw.length} bytes is too short`, { ...ctx, offset: seek });
  const nbytes = v.getInt32(0);
  const objlen = v.getInt32(6);
  const keylen = v.getInt16(14);
  if (nbytes !== raw.length || keylen < BASKET_HEADER || keylen > nbytes || objlen < 0) throw new RootError('CORRUPT', `basket key (nbytes ${nbytes}, keylen ${keylen}, objlen ${objlen}) does not fit its ${raw.length}-byte record`, { ...ctx, offset: seek });
  const h = keylen - BASKET_HEADER;
  const version = v.getUint16(h);
  const nevBufSize = v.getInt32(h + 6);
  const nevBuf = v.getInt32(h + 10);
  const last = v.getInt32(h + 14);
  if (nevBuf !== entries) throw new RootError('CORRUPT', `basket holds ${nevBuf} entries, the branch says ${entries}`, { ...ctx, offset: seek });
  const payload = raw.subarray(keylen);
  const data = payload.length >= objlen ? payload.subarray(0, objlen) : decompressObject(payload, objlen, { ...ctx, offset: seek + keylen }, file.limits);
  const border = last - keylen;
  if (border < 0 || border > objlen) throw new RootError('CORRUPT', `basket data ends at ${border}, outside its ${objlen} bytes`, { ...ctx, offset: seek });
  let offsets: Int32Array | null = null;
  if (border < objlen) {
    const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    if (objlen - border < 4 + 4 * entries) throw new RootError('CORRUPT', `entry offset table is too short for ${entries} entries`, { ...ctx, offset: seek });
    offsets = new Int32Array(entries + 1);
    for (let i = 0; i < entries; i++) {
      const o = dv.getInt32(border + 4 + 4 * i) - keylen;
      if (o < 0 || o > border || (i > 0 && o < offsets[i - 1]!)) throw new RootError('CORRUPT', `entry ${i} offset ${o} lies outside the basket's ${border} data bytes`, { ...ctx, offset: seek });
      offsets[i] = o;
    }
    offsets[entries] = border;
  }
  return { data: data.subarray(0, border), offsets, version, nevBufSize };
}

async function jitterPlanOf(tree: Tree, branch: Branch): Promise<JitterPlan | null> {
  let decoder;
  try {
    decoder = (await interpret(tree, branch)).decoder;
  } catch {
    return null; // a type we do not decode: copied without jitter
  }
  const kindOf = (dtype: string, double32: boolean) => (double32 ? null : dtype === 'float32' ? 'f32' : dtype === 'float64' ? 'f64' : null);
  if (decoder instanceof FixedPrimitiveDecoder) {
    const kind = kindOf(decoder.dtype, decoder.double32);
    return kind ? { kind, header: 0 } : null;
  }
  if (decoder instanceof JaggedPrimitiveDecoder) {
    const kind = kindOf(decoder.dtype, decoder.double32);
    return kind ? { kind, header: decoder.headerBytes } : null;
  }
  if (decoder instanceof NestedVectorDecoder && decoder.depth === 2 && decoder.item.kind === 'primitive') {
    const kind = kindOf(decoder.item.dtype, false);
    return kind ? { kind, header: 6, nested: true } : null;
  }
  if (decoder instanceof VectorPrimitiveDecoder) {
    const kind = kindOf(decoder.dtype, decoder.double32);
    return kind ? { kind, header: 10 } : null;
  }
  return null;
}

/** Every branch of `tree` that has baskets, with all its entries' bytes. */
export async function loadSourceEntries(tree: Tree, options: { jitter: boolean }): Promise<SourceBranch[]> {
  const file = tree.file;
  const out: SourceBranch[] = [];
  let index = -1;
  for (const branch of tree.allBranches()) {
    index++;
    if (branch.baskets.length === 0) continue;
    const ctx = { file: file.name, tree: tree.name, branch: branch.name };
    if (branch.entries !== tree.entries) throw new RootError('UNSUPPORTED', `branch has ${branch.entries} entries, the tree ${tree.entries}: only branches filled for every event can be resampled`, ctx);
    const raws = await file.readRanges(branch.baskets.map((b) => {
      if (b.embedded) throw new RootError('UNSUPPORTED', `basket ${b.index} is kept inside the TTree record; only baskets written to the file can be resampled`, { ...ctx, basket: b.index });
      return { offset: b.seek, length: b.bytes };
    }));
    const parts = branch.baskets.map((b, i) => ({ b, ...readBasket(file, raws[i]!, b.seek, b.entryStop - b.entryStart, { ...ctx, basket: b.index }) }));
    const variable = parts.some((p) => p.offsets !== null);
    const total = parts.reduce((n, p) => n + p.data.length, 0);
    const data = new Uint8Array(total);
    const starts = new Int32Array(tree.entries + 1);
    let at = 0;
    let next = 0;
    for (const p of parts) {
      const n = p.b.entryStop - p.b.entryStart;
      if (p.b.entryStart !== next) throw new RootError('CORRUPT', `basket ${p.b.index} starts at entry ${p.b.entryStart}, the one before ended at ${next}`, { ...ctx, basket: p.b.index });
      next = p.b.entryStop;
      data.set(p.data, at);
      for (let i = 0; i < n; i++) {
        const off = p.offsets ? p.offsets[i]! : n > 0 ? (p.data.length / n) * i : 0;
        if (!Number.isInteger(off)) throw new RootError('CORRUPT', `a basket of ${p.data.length} bytes cannot hold ${n} fixed-size entries`, { ...ctx, basket: p.b.index });
        starts[p.b.entryStart + i] = at + off;
      }
      at += p.data.length;
    }
    if (next !== tree.entries) throw new RootError('CORRUPT', `baskets cover entries up to ${next}, not ${tree.entries}`, ctx);
    starts[tree.entries] = at;
    for (let i = 0; i < tree.entries; i++) {
      if (starts[i + 1]! < starts[i]!) throw new RootError('CORRUPT', `entry ${i} has a negative size`, ctx);
    }
    out.push({
      branch,
      index,
      entries: tree.entries,
      data,
      starts,
      variable,
      basketVersion: parts[0]!.version,
      nevBufSize: parts[0]!.nevBufSize,
      jitter: options.jitter ? await jitterPlanOf(tree, branch) : null,
      sourceZipBytes: branch.compressedBytes,
      sourceTotBytes: branch.totBytes,
    });
  }
  return out;
}
