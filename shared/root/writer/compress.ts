// Compressing objects into ROOT's block format for writing: each block is a
// 9-byte header ("ZL"/"ZS"/"L4"/"XZ", method byte, compressed and
// uncompressed sizes as 3-byte little-endian numbers) and the codec's data;
// an object larger than 0xffffff bytes spans several blocks. When the blocks
// are not smaller than the object, the object is stored as is (ROOT's rule,
// which readers follow when they see fNbytes - fKeylen >= fObjlen).
//
//   zlib:N  node:zlib deflate at level N (a zlib stream, as ROOT writes)
//   zstd:N  one zstd frame per block, with its content size and no checksum,
//           from Node's zstd where the runtime has it (Node ≥ 22.15), else the
//           zstd library compiled to WebAssembly (@bokuweb/zstd-wasm)
//   lz4:N   an 8-byte big-endian XXH64 of the LZ4 block, then the block, from
//           our own greedy LZ4 compressor (the level is recorded, not used)
//   lzma:N  blocks of at most 32 KiB, each one .xz stream holding one
//           literal-only LZMA2 chunk (lzma-literal.ts): real LZMA range coding
//           without a match finder, so ratios are worse than xz's; the level
//           is recorded, not used. One chunk per stream because jsroot reads
//           only the first LZMA2 chunk of a block.

import { createRequire } from 'node:module';
import * as zlib from 'node:zlib';
import { deflateSync } from 'node:zlib';
import { RootError } from '../errors';
import { xxhash64 } from '../compression/xxhash64';
import { lz4Bound, lz4CompressBlock } from './lz4-block';
import { LZMA_CHUNK, xzLiterals } from './lzma-literal';

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

interface ZstdWasm {
  init(): Promise<void>;
  compress(data: Uint8Array, level: number): Uint8Array;
}

/** The raw Emscripten module behind @bokuweb/zstd-wasm (its exported C functions and heap). */
interface ZstdModule {
  HEAPU8: Uint8Array;
  _malloc(n: number): number;
  _free(p: number): void;
  _ZSTD_compressBound(n: number): number;
  _ZSTD_isError(code: number): number;
  _ZSTD_createCCtx(): number;
  _ZSTD_compress_usingDict(cctx: number, dst: number, dstCapacity: number, src: number, srcSize: number, dict: number, dictSize: number, level: number): number;
}

let zstdWasm: Promise<ZstdModule> | undefined;

/**
 * Loads the zstd WebAssembly module once. It is required at run time (not
 * bundled), so that the package finds its .wasm file beside its own code.
 * We call its C functions directly rather than its compress() (see wasmZstdEncoder).
 */
function loadZstd(): Promise<ZstdModule> {
  zstdWasm ??= (async () => {
    const req = createRequire(import.meta.url);
    const z = req('@bokuweb/zstd-wasm') as ZstdWasm;
    await z.init();
    // the package's "exports" hides its module file: reach it beside the resolved entry point
    const entry = req.resolve('@bokuweb/zstd-wasm');
    return (req(entry.replace(/index\.node\.js$/, 'module.js')) as { Module: ZstdModule }).Module;
  })();
  return zstdWasm;
}

/**
 * A zstd encoder on one reused compression context and one input/output
 * buffer pair kept in WebAssembly memory (grown when a block needs more). The
 * package's compress() calls ZSTD_compress, which builds and frees a context
 * and mallocs and frees both buffers per call: for baskets of a few kB that
 * costs a third of the compression. ZSTD_compress_usingDict with no
 * dictionary is ZSTD_compressCCtx, the function ZSTD_compress calls on its
 * fresh context: zstd's output does not depend on context reuse (checked:
 * the same bytes on all 9,785 baskets of a 3,000-event synth file).
 */
function wasmZstdEncoder(m: ZstdModule, level: number): BlockEncoder {
  const cctx = m._ZSTD_createCCtx();
  if (!cctx) throw new RootError('BAD_ARGUMENT', 'zstd WebAssembly: cannot create a compression context');
  let src = 0;
  let srcCap = 0;
  let dst = 0;
  let dstCap = 0;
  return (data, s, e) => {
    const n = e - s;
    const bound = m._ZSTD_compressBound(n);
    if (n > srcCap) {
      if (src) m._free(src);
      srcCap = Math.max(n, 1 << 16);
      src = m._malloc(srcCap);
    }
    if (bound > dstCap) {
      if (dst) m._free(dst);
      dstCap = Math.max(bound, 1 << 16);
      dst = m._malloc(dstCap);
    }
    if (!src || !dst) throw new RootError('BAD_ARGUMENT', `zstd WebAssembly: cannot allocate ${n} bytes`);
    m.HEAPU8.set(data.subarray(s, e), src); // HEAPU8 read after malloc: memory growth replaces it
    const size = m._ZSTD_compress_usingDict(cctx, dst, dstCap, src, n, 0, 0, level);
    if (m._ZSTD_isError(size)) throw new RootError('BAD_ARGUMENT', `zstd WebAssembly: compression failed (code ${size})`);
    return m.HEAPU8.slice(dst, dst + size);
  };
}

type NativeZstd = (data: Uint8Array, options: { params: Record<number, number>; pledgedSrcSize: number }) => Uint8Array;

/** Node's own zstd (Node ≥ 22.15), several times faster than the WebAssembly build; undefined before. */
export function nativeZstd(): NativeZstd | undefined {
  return (zlib as unknown as { zstdCompressSync?: NativeZstd }).zstdCompressSync;
}

/** Which zstd encoder this runtime uses. */
export function zstdEncoderName(): string {
  return nativeZstd() ? `Node ${process.version} native zstd` : 'zstd WebAssembly (@bokuweb/zstd-wasm)';
}

/** The codec's payload of one block (without the 9-byte header). */
type BlockEncoder = (src: Uint8Array, start: number, end: number) => Uint8Array | null;

export async function createCompressor(setting: CompressionSetting): Promise<Compressor> {
  const { codec, level } = setting;
  let tag: [number, number, number] = [0, 0, 0];
  let blockLimit = BLOCK_LIMIT;
  let encode: BlockEncoder | null = null;
  switch (codec) {
    case 'zlib':
      tag = [0x5a, 0x4c, 8]; // "ZL", deflate
      // a window no larger than the block: the same matches, less memory to set up per basket
      encode = (src, s, e) => deflateSync(src.subarray(s, e), { level, windowBits: Math.min(15, Math.max(9, Math.ceil(Math.log2(e - s + 1)))) });
      break;
    case 'zstd': {
      tag = [0x5a, 0x53, 1]; // "ZS", zstd format version 1
      const native = nativeZstd();
      if (native) {
        const c = zlib.constants as unknown as Record<string, number>;
        const params = { [c.ZSTD_c_compressionLevel!]: level, [c.ZSTD_c_contentSizeFlag!]: 1, [c.ZSTD_c_checksumFlag!]: 0 };
        encode = (src, s, e) => native(src.subarray(s, e), { params, pledgedSrcSize: e - s });
      } else {
        encode = wasmZstdEncoder(await loadZstd(), level);
      }
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
      encode = xzLiterals;
      blockLimit = LZMA_CHUNK;
      break;
  }
  return {
    setting,
    compress(data: Uint8Array): Uint8Array | null {
      if (!encode) return null;
      const parts: Uint8Array[] = [];
      let total = 0;
      for (let s = 0; s < data.length; s += blockLimit) {
        const e = Math.min(data.length, s + blockLimit);
        const payload = encode(data, s, e);
        if (!payload) return null;
        total += HEADER + payload.length;
        if (total >= data.length || payload.length > BLOCK_LIMIT) return null;
        parts.push(payload);
      }
      const out = new Uint8Array(total);
      let p = 0;
      parts.forEach((payload, i) => {
        const raw = Math.min(blockLimit, data.length - i * blockLimit);
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
