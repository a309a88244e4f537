// Helpers for test/issue13-review.test.ts: the `physlite synth` command line,
// jsroot's branch records (walked depth first), and where the ZSTD frame of a
// basket lies in the file (worked out from the formats, not from our writer).

export interface SynthOptions {
  from: string;
  events: number;
  compression: string;
  autoFlush: number;
  seed: number;
  maxBasket?: number;
  out?: string;
}

export function synthArgs(fromPath: string, o: SynthOptions & { out: string }): string[] {
  const args = ['synth', '--from', fromPath, '--events', String(o.events), '--compression', o.compression, '--auto-flush', String(o.autoFlush), '--seed', String(o.seed), '--out', o.out];
  if (o.maxBasket !== undefined) args.push('--max-basket', String(o.maxBasket));
  return args;
}

/** The TBranch fields jsroot reads that the tests look at. */
export interface JBranch {
  fName: string;
  fEntries: number | bigint;
  fTotBytes: number | bigint;
  fZipBytes: number | bigint;
  fWriteBasket: number;
  fBasketEntry: ArrayLike<number | bigint>;
  fBasketBytes: ArrayLike<number>;
  fBasketSeek: ArrayLike<number | bigint>;
  fBranches?: { arr: JBranch[] };
}

/** Every branch of a jsroot TTree, sub-branches included, depth first. */
export function jsrootBranches(tree: { fBranches: unknown }): JBranch[] {
  const out: JBranch[] = [];
  const walk = (list: { arr: JBranch[] } | undefined) => {
    for (const b of list?.arr ?? []) {
      out.push(b);
      walk(b.fBranches);
    }
  };
  walk(tree.fBranches as { arr: JBranch[] });
  return out;
}

/**
 * The ZSTD frame of the basket whose TKey starts at `seek`: a TKey is
 * Nbytes(4) Version(2) ObjLen(4) Datime(4) KeyLen(2) …; the payload after
 * KeyLen bytes starts with ROOT's 9-byte block header "ZS" method c1 c2 c3
 * u1 u2 u3, then the frame: magic 28 B5 2F FD, the frame header descriptor
 * (bits 7-6 content-size flag, bit 5 single segment, bits 1-0 dictionary-id
 * flag), a window byte unless single segment, the dictionary id, then the
 * content size field (flag 0 → 1 byte only when single segment). Undefined
 * when the basket is stored uncompressed.
 */
export function zstdFrameOf(file: Uint8Array, seek: number): { start: number; end: number; contentSizeOffset: number | undefined; dataOffset: number } | undefined {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const keyLen = view.getUint16(seek + 14);
  const block = seek + keyLen;
  if (file[block] !== 0x5a || file[block + 1] !== 0x53) return undefined; // stored uncompressed
  const compressed = file[block + 3]! | (file[block + 4]! << 8) | (file[block + 5]! << 16);
  const start = block + 9;
  if (view.getUint32(start, true) !== 0xfd2fb528) throw new Error(`no ZSTD magic at ${start}`);
  const fhd = file[start + 4]!;
  const fcsFlag = fhd >> 6;
  const single = (fhd >> 5) & 1;
  const dictFlag = fhd & 3;
  let p = start + 5 + (single ? 0 : 1) + [0, 1, 2, 4][dictFlag]!;
  const fcsSize = [single ? 1 : 0, 2, 4, 8][fcsFlag]!;
  const contentSizeOffset = fcsSize ? p : undefined;
  p += fcsSize;
  return { start, end: start + compressed, contentSizeOffset, dataOffset: p };
}
