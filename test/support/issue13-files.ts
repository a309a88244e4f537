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

// ---------------------------------------------------------------------------
// A ZSTD frame built by hand (RFC 8878): one RLE block, a content size and a
// content checksum (the low 32 bits of XXH64 with seed 0), in ROOT's "ZS"
// block header. ROOT itself writes no checksum, so the checked path needs this.

const M64 = (1n << 64n) - 1n;
const P1 = 11400714785074694791n;
const P2 = 14029467366897019727n;
const P3 = 1609587929392839161n;
const P4 = 9650029242287828579n;
const P5 = 2870177450012600261n;
const rotl = (x: bigint, r: bigint) => ((x << r) | (x >> (64n - r))) & M64;
const round = (acc: bigint, input: bigint) => (rotl((acc + input * P2) & M64, 31n) * P1) & M64;
const mergeRound = (acc: bigint, v: bigint) => (((acc ^ round(0n, v)) * P1 + P4) & M64);

/** XXH64 with seed 0, straight from the specification (slow, for small test inputs). */
export function xxh64(data: Uint8Array): bigint {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const u64 = (p: number) => view.getBigUint64(p, true);
  let p = 0;
  let h: bigint;
  if (data.length >= 32) {
    let v1 = (P1 + P2) & M64;
    let v2 = P2;
    let v3 = 0n;
    let v4 = (M64 + 1n - P1) & M64;
    for (; p + 32 <= data.length; p += 32) {
      v1 = round(v1, u64(p));
      v2 = round(v2, u64(p + 8));
      v3 = round(v3, u64(p + 16));
      v4 = round(v4, u64(p + 24));
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & M64;
    for (const v of [v1, v2, v3, v4]) h = mergeRound(h, v);
  } else {
    h = P5;
  }
  h = (h + BigInt(data.length)) & M64;
  for (; p + 8 <= data.length; p += 8) h = (rotl(h ^ round(0n, u64(p)), 27n) * P1 + P4) & M64;
  if (p + 4 <= data.length) {
    h = (rotl(h ^ ((BigInt(view.getUint32(p, true)) * P1) & M64), 23n) * P2 + P3) & M64;
    p += 4;
  }
  for (; p < data.length; p++) h = (rotl(h ^ ((BigInt(data[p]!) * P5) & M64), 11n) * P1) & M64;
  h ^= h >> 33n;
  h = (h * P2) & M64;
  h ^= h >> 29n;
  h = (h * P3) & M64;
  h ^= h >> 32n;
  return h;
}

/**
 * ROOT's ZS block around a single-segment zstd frame of one RLE block: `count`
 * copies of `byte` (count < 256), with its checksum. (ROOT takes an object
 * stored in fewer bytes than it holds as compressed, so the frame must be small.)
 */
export function rootZstdRleBlock(byte: number, count: number, declaredSize = count): Uint8Array {
  if (count >= 256) throw new Error('count must be < 256 (1-byte content size)');
  const frame = new Uint8Array(4 + 1 + 1 + 3 + 1 + 4);
  const view = new DataView(frame.buffer);
  view.setUint32(0, 0xfd2fb528, true);
  frame[4] = 0x20 | 0x04; // single segment, content checksum, 1-byte content size
  frame[5] = declaredSize;
  const blockHeader = 1 | (1 << 1) | (count << 3); // last block, RLE, regenerated size
  frame[6] = blockHeader & 0xff;
  frame[7] = (blockHeader >> 8) & 0xff;
  frame[8] = (blockHeader >> 16) & 0xff;
  frame[9] = byte;
  view.setUint32(10, Number(xxh64(new Uint8Array(count).fill(byte)) & 0xffffffffn), true);
  const out = new Uint8Array(9 + frame.length);
  out.set([0x5a, 0x53, 1, frame.length, 0, 0, count, 0, 0]);
  out.set(frame, 9);
  return out;
}
