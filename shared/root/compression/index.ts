// Decompression of ROOT objects (baskets, TTree metadata, the streamer list).
//
// ROOT stores a compressed object as consecutive blocks, each with a 9-byte
// header:
//
//   bytes 0-1  algorithm tag: "ZL" zlib, "CS" ROOT's old deflate, "XZ" xz/LZMA,
//              "L4" LZ4, "ZS" zstd
//   byte  2    method (8 = deflate for ZL/CS, 0 for XZ, codec version for L4/ZS)
//   bytes 3-5  compressed size, little-endian, not counting the header
//   bytes 6-8  uncompressed size, little-endian
//
// Blocks follow each other until the object's uncompressed size (the key's
// fObjlen) has been produced. An object whose stored size is not smaller than
// its uncompressed size is stored as is (ROOT's rule in TKey::ReadObj and
// TBasket::ReadBasketBuffers).
//
// Codecs, and what each one verifies:
//   ZL  zlib stream (2-byte header, deflate, adler32). Node's zlib (default, it
//       checks adler32 itself) or fflate (portable; fflate does not check
//       adler32, so it is checked here).
//   CS  raw deflate, no checksum (ROOT's R__Inflate decodes plain deflate).
//   L4  8-byte big-endian XXH64 (seed 0) of the LZ4 data, then one raw LZ4
//       block. The checksum is verified, then the block is decoded by the
//       bounds-checked decoder below (lz4js does no bounds checks at all).
//   XZ  one .xz stream (ROOT: LZMA2 with a CRC32 check; CRC64, SHA-256 and
//       "none" are accepted too). Decoded by the synchronous LZMA2 decoder
//       below, which checks every CRC the format has (stream header, block
//       headers, index, footer, and the data check).
//   ZS  one zstd frame. Its structure is walked first: the frame content size,
//       when present, must equal the block's declared size, and the frame must
//       end exactly at the block's end. Then libzstd decodes it, as WebAssembly
//       or Node's built-in (>= 22.15), or fzstd as the fallback (zstd.ts says
//       which when); the content checksum, when present, is verified on every
//       path. ROOT writes frames with a content size and without a checksum.
//
// Every failure is a RootError carrying the caller's ErrorContext.

import { DEFAULT_LIMITS, RootError, type DecodeLimits, type ErrorContext } from '../errors';
import { BlockFailure, fail } from './failure';
import { decodeLz4Block } from './lz4';
import { decodeXz } from './xz';
import { inflateWithFflate, inflateWithNode } from './zlib';
import { decodeZstdFrame, type ZstdDecoderName } from './zstd';

export { adler32 } from './zlib';
export { lz4DecodeBlock } from './lz4';
export { crc32, crc64 } from './checksums';
export { xxhash64, xxhash64Hex } from './xxhash64';
export {
  ZSTD_NODE_MIN_BYTES,
  setZstdImplementation,
  zstdDecoders,
  zstdImplementation,
  zstdReady,
  zstdWasmFailure,
  replaceNodeZstdDecompress,
  type NodeZstdDecompress,
  type ZstdDecoderName,
  type ZstdImplementation,
} from './zstd';

/** Size of the header in front of every compressed block. */
export const BLOCK_HEADER_SIZE = 9;
/** Largest compressed or uncompressed size one block header can express. */
export const MAX_BLOCK_SIZE = 0xffffff;

export type CompressionAlgorithm = 'zlib' | 'lz4' | 'lzma' | 'zstd' | 'old' | 'none' | 'unknown';

/** Which zlib inflater decodes ZL (and CS) blocks. */
export type InflateImplementation = 'node' | 'fflate';

export interface BlockHeader {
  algorithm: CompressionAlgorithm;
  /** The two tag characters as written, e.g. "ZL". */
  tag: string;
  method: number;
  /** Payload bytes after the 9-byte header. */
  compressedSize: number;
  uncompressedSize: number;
}

export interface DecompressOptions {
  /** Overrides the process-wide choice made with setInflateImplementation() for this call. */
  inflate?: InflateImplementation;
  /** Overrides the choice of zstd decoder (setZstdImplementation, or by frame size) for this call. */
  zstd?: ZstdDecoderName;
}

const TAGS: Readonly<Record<string, CompressionAlgorithm>> = { ZL: 'zlib', CS: 'old', XZ: 'lzma', L4: 'lz4', ZS: 'zstd' };

let inflateImplementation: InflateImplementation = 'node';

/** Chooses the inflater for ZL/CS blocks process-wide ('node' is the default and faster). */
export function setInflateImplementation(impl: InflateImplementation): void {
  if (impl !== 'node' && impl !== 'fflate') throw new RootError('BAD_ARGUMENT', `unknown inflate implementation ${JSON.stringify(impl)} (expected 'node' or 'fflate')`);
  inflateImplementation = impl;
}

export function getInflateImplementation(): InflateImplementation {
  return inflateImplementation;
}

/** ROOT's rule: an object is compressed exactly when its uncompressed size exceeds its stored size. */
export function isCompressedObject(storedSize: number, uncompressedSize: number): boolean {
  return uncompressedSize > storedSize;
}

/** Reads the 9-byte block header at `pos`; null when fewer than 9 bytes remain. Does not validate the tag. */
export function parseBlockHeader(input: Uint8Array, pos = 0): BlockHeader | null {
  if (pos < 0 || pos + BLOCK_HEADER_SIZE > input.length) return null;
  const tag = String.fromCharCode(input[pos], input[pos + 1]);
  return {
    algorithm: TAGS[tag] ?? 'unknown',
    tag,
    method: input[pos + 2],
    compressedSize: input[pos + 3] | (input[pos + 4] << 8) | (input[pos + 5] << 16),
    uncompressedSize: input[pos + 6] | (input[pos + 7] << 8) | (input[pos + 8] << 16),
  };
}

/**
 * The algorithm of a stored object, from the tag of its first block. With
 * `uncompressedSize` given, an object that is not compressed by ROOT's rule is
 * 'none'. Without it, only the tag is looked at.
 */
export function compressionAlgorithmOf(input: Uint8Array, uncompressedSize?: number): CompressionAlgorithm {
  if (uncompressedSize !== undefined && !isCompressedObject(input.length, uncompressedSize)) return 'none';
  if (input.length < 2) return 'unknown';
  return TAGS[String.fromCharCode(input[0], input[1])] ?? 'unknown';
}

/**
 * Decompresses one stored ROOT object (all of its blocks) into a new buffer of
 * exactly `uncompressedSize` bytes.
 *
 * - `input` is the object's stored bytes (a key's payload after its key header,
 *   i.e. fNbytes - fKeylen bytes). If it is not compressed by ROOT's rule
 *   (input.length >= uncompressedSize) the first uncompressedSize bytes of
 *   `input` are returned without a copy.
 * - `context` goes into every error. If `context.offset` is given it is taken
 *   as the file offset of input[0], and errors about a block report the
 *   offset of that block's header.
 * - Nothing larger than `limits.maxObjectBytes` is allocated; sizes are
 *   checked before allocating.
 * - The result may be a view (byteOffset ≠ 0) of a larger ArrayBuffer: use
 *   byteOffset/byteLength when wrapping it in a DataView or typed array.
 * - Input bytes after the last block are ignored, as ROOT does.
 */
export function decompressObject(
  input: Uint8Array,
  uncompressedSize: number,
  context: ErrorContext,
  limits: DecodeLimits = DEFAULT_LIMITS,
  options: DecompressOptions = {},
): Uint8Array {
  if (!Number.isSafeInteger(uncompressedSize) || uncompressedSize < 0) {
    throw new RootError('CORRUPT', `object declares an impossible uncompressed size ${uncompressedSize}`, context);
  }
  if (!isCompressedObject(input.length, uncompressedSize)) {
    return input.length === uncompressedSize ? input : input.subarray(0, uncompressedSize);
  }
  if (uncompressedSize > limits.maxObjectBytes) {
    throw new RootError(
      'LIMIT',
      `object of ${uncompressedSize} bytes (stored in ${input.length}) exceeds the limit of ${limits.maxObjectBytes} bytes (limits.maxObjectBytes)`,
      context,
    );
  }
  const impl = options.inflate ?? inflateImplementation;

  let out: Uint8Array | null = null;
  let inPos = 0;
  let outPos = 0;
  for (let index = 0; outPos < uncompressedSize; index++) {
    const blockContext: ErrorContext = context.offset === undefined ? context : { ...context, offset: context.offset + inPos };
    const header = parseBlockHeader(input, inPos);
    const remaining = uncompressedSize - outPos;
    if (header === null) {
      throw new RootError(
        'TRUNCATED',
        `compressed object ends after ${input.length} bytes with ${remaining} of ${uncompressedSize} bytes still to produce` +
          (input.length > inPos ? ` (${input.length - inPos} bytes left, less than a ${BLOCK_HEADER_SIZE}-byte block header)` : ''),
        blockContext,
      );
    }
    const where = `${header.algorithm === 'unknown' ? 'compressed' : header.algorithm} block ${index} (input byte ${inPos}, ${header.compressedSize} -> ${header.uncompressedSize} bytes)`;
    if (header.algorithm === 'unknown') {
      throw new RootError(
        'UNSUPPORTED',
        `block ${index} (input byte ${inPos}) has unknown compression algorithm tag ${describeTag(input, inPos)}; known: ZL (zlib), XZ (lzma), L4 (lz4), ZS (zstd), CS (old ROOT deflate)`,
        blockContext,
      );
    }
    checkMethod(header, where, blockContext);
    if (header.uncompressedSize === 0 || header.compressedSize === 0) {
      throw new RootError('CORRUPT', `${where}: a block header with a zero size`, blockContext);
    }
    if (header.uncompressedSize > remaining) {
      throw new RootError(
        'CORRUPT',
        `${where}: block declares ${header.uncompressedSize} bytes but only ${remaining} of the object's ${uncompressedSize} bytes remain`,
        blockContext,
      );
    }
    const payloadStart = inPos + BLOCK_HEADER_SIZE;
    const payloadEnd = payloadStart + header.compressedSize;
    if (payloadEnd > input.length) {
      throw new RootError('TRUNCATED', `${where}: block runs to input byte ${payloadEnd} but the object has only ${input.length} bytes`, blockContext);
    }
    const payload = input.subarray(payloadStart, payloadEnd);
    const single = index === 0 && header.uncompressedSize === uncompressedSize;
    let target: Uint8Array | null = null;
    if (!single) {
      out ??= new Uint8Array(uncompressedSize);
      target = out.subarray(outPos, outPos + header.uncompressedSize);
    }
    let produced: Uint8Array;
    try {
      produced = decodeBlock(header, payload, target, impl, options.zstd);
    } catch (e) {
      if (e instanceof BlockFailure) throw new RootError(e.code, `${where}: ${e.message}`, blockContext, { cause: e.cause });
      if (e instanceof RootError) throw e.withContext(blockContext);
      const msg = e instanceof Error ? e.message : String(e);
      throw new RootError('DECOMPRESSION', `${where}: ${msg}`, blockContext, { cause: e });
    }
    if (single) return produced;
    inPos = payloadEnd;
    outPos += header.uncompressedSize;
  }
  return out ?? new Uint8Array(0);
}

function describeTag(input: Uint8Array, pos: number): string {
  const a = input[pos], b = input[pos + 1];
  const printable = (c: number) => c >= 0x20 && c < 0x7f;
  const hex = `0x${a.toString(16).padStart(2, '0')}${b.toString(16).padStart(2, '0')}`;
  return printable(a) && printable(b) ? `"${String.fromCharCode(a, b)}" (${hex})` : hex;
}

function checkMethod(h: BlockHeader, where: string, context: ErrorContext): void {
  const expected = h.algorithm === 'zlib' || h.algorithm === 'old' ? 8 : h.algorithm === 'lzma' ? 0 : 1;
  if (h.method !== expected) {
    throw new RootError('UNSUPPORTED', `${where}: method byte ${h.method} for tag "${h.tag}" (only ${expected} is known)`, context);
  }
}

/**
 * Decodes one block's payload. With `target` (a view of exactly
 * uncompressedSize bytes) it writes there and returns it; without, it returns
 * a new buffer.
 */
function decodeBlock(h: BlockHeader, payload: Uint8Array, target: Uint8Array | null, impl: InflateImplementation, zstd: ZstdDecoderName | undefined): Uint8Array {
  const size = h.uncompressedSize;
  switch (h.algorithm) {
    case 'zlib':
      return impl === 'node' ? inflateWithNode(payload, size, target, true) : inflateWithFflate(payload, size, target, true);
    case 'old':
      return impl === 'node' ? inflateWithNode(payload, size, target, false) : inflateWithFflate(payload, size, target, false);
    case 'lz4':
      return decodeLz4Block(payload, target ?? new Uint8Array(size));
    case 'lzma':
      return decodeXz(payload, target ?? new Uint8Array(size));
    case 'zstd':
      return decodeZstdFrame(payload, target ?? new Uint8Array(size), zstd);
    default:
      return fail('UNSUPPORTED', `no decoder for tag "${h.tag}"`);
  }
}

