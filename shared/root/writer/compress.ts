// Compressing objects into ROOT's block format for writing: each block is a
// 9-byte header ("ZL"/"ZS"/"L4"/"XZ", method byte, compressed and
// uncompressed sizes as 3-byte little-endian numbers) and the codec's data;
// an object larger than 0xffffff bytes spans several blocks. When the blocks
// are not smaller than the object, the object is stored as is (ROOT's rule,
// which readers follow when they see fNbytes - fKeylen >= fObjlen).
//
//   zlib:N  node:zlib deflate at level N (a zlib stream, as ROOT writes)
//   zstd:N  one zstd frame per block, with its content size and no checksum,
//           from the zstd library compiled to WebAssembly (@bokuweb/zstd-wasm)
//   lz4:N   an 8-byte big-endian XXH64 of the LZ4 block, then the block, from
//           our own greedy LZ4 compressor (the level is recorded, not used)
//   lzma:N  an xz stream of uncompressed LZMA2 chunks (see xz-stored.ts): the
//           baskets end up stored uncompressed, with fCompress saying lzma

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { deflateSync } from 'node:zlib';
import { RootError } from '../errors';
import { xxhash64 } from '../compression/xxhash64';
import { lz4Bound, lz4CompressBlock } from './lz4-block';
import { xzStored } from './xz-stored';

export type CodecName = 'zlib' | 'zstd' | 'lz4' | 'lzma';

export interface CompressionSetting {
  codec: CodecName;
  level: number;
}

const ALGORITHM_NUMBER: Record<CodecName, number> = { zlib: 1, lzma: 2, lz4: 4, zstd: 5 };
const LEVELS: Record<CodecName, [number, number]> = { zlib: [1, 9], lzma: [1, 9], lz4: [1, 12], zstd: [1, 22] };
const BLOCK_LIMIT = 0xffffff;
const HEADER = 9;

/** Parses "zstd:5", "zlib:1", "lz4:4", "lzma:9". */
export function parseCompression(text: string): CompressionSetting {
  const m = /^(zlib|zstd|lz4|lzma):(\d+)$/.exec(text.trim());
  if (!m) throw new RootError('BAD_ARGUMENT', `compression "${text}" is not CODEC:LEVEL with CODEC one of zlib, zstd, lz4, lzma (e.g. zstd:5)`);
  const codec = m[1] as CodecName;
  const level = Number(m[2]);
  const [lo, hi] = LEVELS[codec];
  if (level < lo || level > hi) throw new RootError('BAD_ARGUMENT', `${codec} level ${level} is outside ${lo}–${hi}`);
  return { codec, level };
}

/** ROOT's fCompress number: algorithm × 100 + level (505 for zstd level 5). */
export function rootCompressionNumber(s: CompressionSetting): number {
  return ALGORITHM_NUMBER[s.codec] * 100 + s.level;
}

export interface Compressor {
  readonly setting: CompressionSetting;
  /** The object as ROOT blocks, or null when they would not be smaller than the object (store it as is). */
  compress(data: Uint8Array): Uint8Array | null;
}

interface ZstdModule {
  _malloc(n: number): number;
  _free(p: number): void;
  _ZSTD_compress(dst: number, cap: number, src: number, n: number, level: number): number;
  _ZSTD_compressBound(n: number): number;
  _ZSTD_isError(code: number): number;
  HEAPU8: Uint8Array;
  init(wasm: Uint8Array): void;
}

let zstdModule: Promise<ZstdModule> | undefined;

/** Loads the zstd WebAssembly module once (its wasm file is read from the installed package). */
function loadZstd(): Promise<ZstdModule> {
  zstdModule ??= (async () => {
    const load = createRequire(import.meta.url);
    const glue = load('@bokuweb/zstd-wasm/dist/common/module.js') as { Module: ZstdModule; waitInitialized(): Promise<void> };
    glue.Module.init(readFileSync(load.resolve('@bokuweb/zstd-wasm/dist/common/zstd.wasm')));
    await glue.waitInitialized();
    return glue.Module;
  })();
  return zstdModule;
}

/** The codec's payload of one block (without the 9-byte header). */
type BlockEncoder = (src: Uint8Array, start: number, end: number) => Uint8Array;

export async function createCompressor(setting: CompressionSetting): Promise<Compressor> {
  const { codec, level } = setting;
  let tag: [number, number, number];
  let encode: BlockEncoder;
  switch (codec) {
    case 'zlib':
      tag = [0x5a, 0x4c, 8]; // "ZL", deflate
      encode = (src, s, e) => deflateSync(src.subarray(s, e), { level });
      break;
    case 'zstd': {
      tag = [0x5a, 0x53, 1]; // "ZS", zstd format version 1
      const z = await loadZstd();
      let srcPtr = 0, srcCap = 0, dstPtr = 0, dstCap = 0;
      encode = (src, s, e) => {
        const n = e - s;
        const bound = z._ZSTD_compressBound(n);
        if (n > srcCap) {
          if (srcPtr) z._free(srcPtr);
          srcCap = Math.max(n, 1 << 17);
          srcPtr = z._malloc(srcCap);
        }
        if (bound > dstCap) {
          if (dstPtr) z._free(dstPtr);
          dstCap = Math.max(bound, 1 << 17);
          dstPtr = z._malloc(dstCap);
        }
        z.HEAPU8.set(src.subarray(s, e), srcPtr); // HEAPU8 is re-read after malloc: memory may have grown
        const size = z._ZSTD_compress(dstPtr, dstCap, srcPtr, n, level);
        if (z._ZSTD_isError(size)) throw new RootError('BAD_ARGUMENT', `zstd compression failed (code ${size})`);
        return z.HEAPU8.slice(dstPtr, dstPtr + size);
      };
      break;
    }
    case 'lz4': {
      tag = [0x4c, 0x34, 1]; // "L4", LZ4 format version 1
      encode = (src, s, e) => {
        const out = new Uint8Array(8 + lz4Bound(e - s));
        const n = lz4CompressBlock(src, s, e, out, 8);
        const h = xxhash64(out, 0, 8, 8 + n);
        new DataView(out.buffer).setUint32(0, h.hi);
        new DataView(out.buffer).setUint32(4, h.lo);
        return out.subarray(0, 8 + n);
      };
      break;
    }
    case 'lzma':
      tag = [0x58, 0x5a, 0]; // "XZ"
      encode = (src, s, e) => xzStored(src, s, e);
      break;
  }
  return {
    setting,
    compress(data: Uint8Array): Uint8Array | null {
      const parts: Uint8Array[] = [];
      let total = 0;
      for (let s = 0; s < data.length; s += BLOCK_LIMIT) {
        const e = Math.min(data.length, s + BLOCK_LIMIT);
        const payload = encode(data, s, e);
        total += HEADER + payload.length;
        if (total >= data.length || payload.length > BLOCK_LIMIT) return null;
        parts.push(payload);
      }
      const out = new Uint8Array(total);
      let p = 0;
      parts.forEach((payload, i) => {
        const raw = Math.min(BLOCK_LIMIT, data.length - i * BLOCK_LIMIT);
        out[p] = tag[0];
        out[p + 1] = tag[1];
        out[p + 2] = tag[2];
        out[p + 3] = payload.length & 0xff;
        out[p + 4] = (payload.length >>> 8) & 0xff;
        out[p + 5] = (payload.length >>> 16) & 0xff;
        out[p + 6] = raw & 0xff;
        out[p + 7] = (raw >>> 8) & 0xff;
        out[p + 8] = (raw >>> 16) & 0xff;
        out.set(payload, p + HEADER);
        p += HEADER + payload.length;
      });
      return out;
    },
  };
}
