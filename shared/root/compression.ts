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
//   ZS  one zstd frame, decoded by fzstd. fzstd skips the optional content
//       checksum, so it is verified here when present; the frame content size,
//       when present, must equal the block's declared size. ROOT writes frames
//       with a content size and without a checksum.
//
// Every failure is a RootError carrying the caller's ErrorContext.

import { createHash } from 'node:crypto';
import * as nodeZlib from 'node:zlib';
import { inflateRawSync as nodeInflateRawSync, inflateSync as nodeInflateSync } from 'node:zlib';
import { inflateSync as fflateInflateRawSync, unzlibSync as fflateUnzlibSync } from 'fflate';
import { decompress as fzstdDecompress } from 'fzstd';
import { DEFAULT_LIMITS, RootError, type DecodeLimits, type ErrorContext, type RootErrorCode } from './errors';
import { xxhash64 } from './xxhash64';

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
      produced = decodeBlock(header, payload, target, impl);
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

/** A failure inside one block's codec; turned into a RootError with the block's context by the caller. */
class BlockFailure extends Error {
  readonly code: RootErrorCode;
  constructor(code: RootErrorCode, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
  }
}

function fail(code: RootErrorCode, message: string, cause?: unknown): never {
  throw new BlockFailure(code, message, cause);
}

/**
 * Decodes one block's payload. With `target` (a view of exactly
 * uncompressedSize bytes) it writes there and returns it; without, it returns
 * a new buffer.
 */
function decodeBlock(h: BlockHeader, payload: Uint8Array, target: Uint8Array | null, impl: InflateImplementation): Uint8Array {
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
      return decodeZstdFrame(payload, target ?? new Uint8Array(size));
    default:
      return fail('UNSUPPORTED', `no decoder for tag "${h.tag}"`);
  }
}

// ---------------------------------------------------------------------------
// zlib / deflate

interface NodeInflateResult {
  buffer: Buffer;
  engine: { bytesWritten: number };
}

function inflateWithNode(payload: Uint8Array, size: number, target: Uint8Array | null, zlibWrapper: boolean): Uint8Array {
  const name = zlibWrapper ? 'zlib' : 'deflate';
  let result: NodeInflateResult;
  try {
    const opts = { info: true, maxOutputLength: size, chunkSize: Math.max(64, size) };
    result = (zlibWrapper ? nodeInflateSync(payload, opts) : nodeInflateRawSync(payload, opts)) as unknown as NodeInflateResult;
  } catch (e) {
    const err = e as { code?: string; message?: string };
    if (err.code === 'ERR_BUFFER_TOO_LARGE') fail('DECOMPRESSION', `${name} stream inflates to more than the ${size} bytes its header declares`, e);
    if (err.code === 'Z_DATA_ERROR' && /incorrect data check/.test(err.message ?? '')) {
      fail('CHECKSUM', `adler32 of the inflated data does not match the zlib trailer`, e);
    }
    if (err.code === 'Z_BUF_ERROR') fail('DECOMPRESSION', `${name} stream is cut short (${err.message ?? 'unexpected end of data'})`, e);
    fail('DECOMPRESSION', `${name} stream does not inflate: ${err.message ?? String(e)}${err.code ? ` (${err.code})` : ''}`, e);
  }
  const buf = result.buffer;
  if (buf.length !== size) fail('DECOMPRESSION', `${name} stream inflates to ${buf.length} bytes, its header declares ${size}`);
  if (result.engine.bytesWritten !== payload.length) {
    fail('DECOMPRESSION', `${name} stream ends after ${result.engine.bytesWritten} of the block's ${payload.length} bytes`);
  }
  if (target !== null) {
    target.set(buf);
    return target;
  }
  // A plain Uint8Array view, so callers never meet Buffer's different slice().
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}

function inflateWithFflate(payload: Uint8Array, size: number, target: Uint8Array | null, zlibWrapper: boolean): Uint8Array {
  const name = zlibWrapper ? 'zlib' : 'deflate';
  // fflate returns its output buffer untouched for empty deflate data, so a
  // payload too short to hold any deflate data is rejected first.
  if (zlibWrapper && payload.length < 7) fail('DECOMPRESSION', `zlib stream of ${payload.length} bytes is too short to be valid`);
  const dst = target ?? new Uint8Array(size);
  let written: Uint8Array;
  try {
    // With `out`, fflate writes into dst and silently drops anything beyond it.
    written = zlibWrapper ? fflateUnzlibSync(payload, { out: dst }) : fflateInflateRawSync(payload, { out: dst });
  } catch (e) {
    fail('DECOMPRESSION', `${name} stream does not inflate (fflate): ${e instanceof Error ? e.message : String(e)}`, e);
  }
  if (written.length !== size) fail('DECOMPRESSION', `${name} stream inflates to ${written.length} bytes, its header declares ${size}`);
  if (zlibWrapper) {
    const n = payload.length;
    const stored = ((payload[n - 4] << 24) | (payload[n - 3] << 16) | (payload[n - 2] << 8) | payload[n - 1]) >>> 0;
    const computed = adler32(dst);
    if (stored !== computed) {
      // fflate drops output beyond `size`, so a stream that inflates to more
      // than declared also lands here.
      fail(
        'CHECKSUM',
        `adler32 of the inflated data is ${hex32(computed)}, the zlib trailer says ${hex32(stored)} (or the stream inflates to more than ${size} bytes)`,
      );
    }
  }
  return dst;
}

/** Adler-32 (zlib's checksum) of data[start, end). */
export function adler32(data: Uint8Array, start = 0, end = data.length): number {
  let a = 1, b = 0;
  let i = start;
  while (i < end) {
    // 3800 bytes keep b below 2^31, so V8 stays in small-integer arithmetic.
    const n = Math.min(end, i + 3800);
    // four bytes per step: b gains 4a + 4d0 + 3d1 + 2d2 + d3
    for (; i + 4 <= n; i += 4) {
      const d0 = data[i], d1 = data[i + 1], d2 = data[i + 2], d3 = data[i + 3];
      b += 4 * a + 4 * d0 + 3 * d1 + 2 * d2 + d3;
      a += d0 + d1 + d2 + d3;
    }
    for (; i < n; i++) {
      a += data[i];
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

function hex32(v: number): string {
  return '0x' + (v >>> 0).toString(16).padStart(8, '0');
}

// ---------------------------------------------------------------------------
// LZ4 (ROOT: 8-byte big-endian XXH64 of the block, then one raw LZ4 block)

const LZ4_CHECKSUM_SIZE = 8;

function decodeLz4Block(payload: Uint8Array, dst: Uint8Array): Uint8Array {
  if (payload.length <= LZ4_CHECKSUM_SIZE) fail('DECOMPRESSION', `LZ4 block of ${payload.length} bytes has no room for data after its 8-byte checksum`);
  const storedHi = ((payload[0] << 24) | (payload[1] << 16) | (payload[2] << 8) | payload[3]) >>> 0;
  const storedLo = ((payload[4] << 24) | (payload[5] << 16) | (payload[6] << 8) | payload[7]) >>> 0;
  const h = xxhash64(payload, 0, LZ4_CHECKSUM_SIZE, payload.length);
  if (h.hi !== storedHi || h.lo !== storedLo) {
    fail('CHECKSUM', `XXH64 of the LZ4 data is ${hex64(h.hi, h.lo)}, the block says ${hex64(storedHi, storedLo)}`);
  }
  // lz4js (the project's listed LZ4 package) is not used here: it does not
  // bounds-check (see lz4DecodeBlock); the tests check our decoder against it.
  const n = lz4DecodeBlock(payload, LZ4_CHECKSUM_SIZE, payload.length, dst);
  if (n !== dst.length) fail('DECOMPRESSION', `LZ4 block decodes to ${n} bytes, its header declares ${dst.length}`);
  return dst;
}

function hex64(hi: number, lo: number): string {
  return '0x' + hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

/**
 * Decodes the raw LZ4 block src[start, end) into dst (from index 0) and
 * returns the number of bytes written. Every read stays inside
 * [start, end), every write inside dst, and every match must point into what
 * this block has already produced; anything else is a DECOMPRESSION failure.
 * (lz4js, checked against this decoder in the tests, does not bounds-check:
 * a match offset before the start silently yields zeros.)
 */
export function lz4DecodeBlock(src: Uint8Array, start: number, end: number, dst: Uint8Array): number {
  let sp = start;
  let dp = 0;
  const dend = dst.length;
  for (;;) {
    if (sp >= end) fail('DECOMPRESSION', `LZ4 block ends after a match (the last sequence must be literals) at input byte ${sp - start}`);
    const token = src[sp++];
    // literals
    let lit = token >>> 4;
    if (lit === 15) {
      let b: number;
      do {
        if (sp >= end) fail('DECOMPRESSION', 'LZ4 block ends inside a literal length');
        b = src[sp++];
        lit += b;
      } while (b === 255);
    }
    if (lit > end - sp) fail('DECOMPRESSION', `LZ4 literal run of ${lit} bytes at input byte ${sp - start} runs past the end of the block`);
    if (lit > dend - dp) fail('DECOMPRESSION', `LZ4 block writes past the ${dend} bytes its header declares`);
    if (lit < 16) {
      for (let i = 0; i < lit; i++) dst[dp + i] = src[sp + i];
    } else {
      dst.set(src.subarray(sp, sp + lit), dp);
    }
    sp += lit;
    dp += lit;
    if (sp === end) return dp; // the last sequence has literals only
    // match
    if (end - sp < 2) fail('DECOMPRESSION', 'LZ4 block ends inside a match offset');
    const offset = src[sp] | (src[sp + 1] << 8);
    sp += 2;
    if (offset === 0 || offset > dp) fail('DECOMPRESSION', `LZ4 match offset ${offset} at output byte ${dp} points outside the block's output`);
    let len = token & 15;
    if (len === 15) {
      let b: number;
      do {
        if (sp >= end) fail('DECOMPRESSION', 'LZ4 block ends inside a match length');
        b = src[sp++];
        len += b;
      } while (b === 255);
    }
    len += 4;
    if (len > dend - dp) fail('DECOMPRESSION', `LZ4 block writes past the ${dend} bytes its header declares`);
    const from = dp - offset;
    if (len < 32) {
      for (let i = 0; i < len; i++) dst[dp + i] = dst[from + i];
      dp += len;
    } else if (offset >= len) {
      dst.copyWithin(dp, from, from + len);
      dp += len;
    } else {
      // Overlapping match: the output repeats with period `offset`. Copying
      // whole multiples of the period from `from` keeps the phase, so the
      // copies can double in size.
      const stop = dp + len;
      while (dp < stop) {
        const n = Math.min(dp - from, stop - dp);
        dst.copyWithin(dp, from, from + n);
        dp += n;
      }
    }
  }
}

// ---------------------------------------------------------------------------
// zstd (fzstd decodes; the frame is walked here to check sizes and checksum)

function decodeZstdFrame(payload: Uint8Array, dst: Uint8Array): Uint8Array {
  const n = payload.length;
  if (n < 6 || payload[0] !== 0x28 || payload[1] !== 0xb5 || payload[2] !== 0x2f || payload[3] !== 0xfd) {
    fail('DECOMPRESSION', 'zstd block does not start with a zstd frame (magic 28 b5 2f fd)');
  }
  const fhd = payload[4];
  const fcsFlag = fhd >>> 6;
  const singleSegment = (fhd >>> 5) & 1;
  const hasChecksum = (fhd >>> 2) & 1;
  const dictIdFlag = fhd & 3;
  if (fhd & 0x08) fail('DECOMPRESSION', 'zstd frame header has its reserved bit set');
  let p = 5;
  if (!singleSegment) p++; // window descriptor: not needed, the output buffer is the window
  const dictIdSize = [0, 1, 2, 4][dictIdFlag];
  let dictId = 0;
  for (let i = 0; i < dictIdSize; i++) dictId += payload[p + i] * 2 ** (8 * i);
  p += dictIdSize;
  if (dictId !== 0) fail('UNSUPPORTED', `zstd frame needs dictionary ${dictId}`);
  const fcsSize = fcsFlag === 0 ? singleSegment : 1 << fcsFlag;
  if (p + fcsSize > n) fail('DECOMPRESSION', 'zstd frame header is cut short');
  if (fcsSize > 0) {
    let fcs = 0;
    for (let i = 0; i < fcsSize; i++) fcs += payload[p + i] * 2 ** (8 * i);
    if (fcsSize === 2) fcs += 256;
    if (fcs !== dst.length) fail('DECOMPRESSION', `zstd frame content size is ${fcs}, the block header declares ${dst.length}`);
  }
  p += fcsSize;
  // Walk the blocks to find the end of the frame.
  for (;;) {
    if (p + 3 > n) fail('DECOMPRESSION', 'zstd frame ends inside a block header');
    const bh = payload[p] | (payload[p + 1] << 8) | (payload[p + 2] << 16);
    p += 3;
    const type = (bh >>> 1) & 3;
    if (type === 3) fail('DECOMPRESSION', 'zstd block of reserved type 3');
    p += type === 1 ? 1 : bh >>> 3;
    if (p > n) fail('DECOMPRESSION', 'zstd frame is cut short inside a block');
    if (bh & 1) break;
  }
  const frameEnd = p + (hasChecksum ? 4 : 0);
  if (frameEnd > n) fail('DECOMPRESSION', 'zstd frame is cut short before its checksum');
  if (frameEnd < n) fail('DECOMPRESSION', `zstd frame ends ${n - frameEnd} bytes before the end of its block`);
  let result: Uint8Array;
  try {
    result = fzstdDecompress(payload, dst);
  } catch (e) {
    fail('DECOMPRESSION', `zstd frame does not decode: ${e instanceof Error ? e.message : String(e)}`, e);
  }
  if (result.length !== dst.length) fail('DECOMPRESSION', `zstd frame decodes to ${result.length} bytes, the block header declares ${dst.length}`);
  if (result !== dst) dst.set(result);
  if (hasChecksum) {
    const stored = (payload[p] | (payload[p + 1] << 8) | (payload[p + 2] << 16) | (payload[p + 3] << 24)) >>> 0;
    const computed = xxhash64(dst).lo;
    if (stored !== computed) fail('CHECKSUM', `zstd content checksum is ${hex32(computed)}, the frame says ${hex32(stored)}`);
  }
  return dst;
}

// ---------------------------------------------------------------------------
// CRC32 (IEEE) and CRC64 (ECMA-182), as used by the .xz container

// Four tables for slice-by-4: CRC32_TABLES[k * 256 + n] is the CRC of byte n
// followed by k zero bytes.
const CRC32_TABLES = (() => {
  const t = new Uint32Array(4 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let k = 1; k < 4; k++) {
    for (let n = 0; n < 256; n++) {
      const prev = t[(k - 1) * 256 + n];
      t[k * 256 + n] = (prev >>> 8) ^ t[prev & 0xff];
    }
  }
  return t;
})();

/** CRC-32 (IEEE 802.3, as in zlib/xz/gzip) of data[start, end). */
export function crc32(data: Uint8Array, start = 0, end = data.length): number {
  const t = CRC32_TABLES;
  let c = 0xffffffff;
  let i = start;
  for (const stop = end - 3; i < stop; i += 4) {
    c ^= data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24);
    c = t[768 + (c & 0xff)] ^ t[512 + ((c >>> 8) & 0xff)] ^ t[256 + ((c >>> 16) & 0xff)] ^ t[c >>> 24];
  }
  for (; i < end; i++) c = t[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// Node >= 20.15 has a native CRC-32 (about ten times faster); older runtimes use the table version.
const nativeCrc32: ((data: Uint8Array) => number) | undefined =
  typeof (nodeZlib as { crc32?: unknown }).crc32 === 'function' ? (nodeZlib as { crc32: (data: Uint8Array) => number }).crc32 : undefined;

/** CRC-32 of data[start, end) with the fastest implementation at hand. */
function fastCrc32(data: Uint8Array, start: number, end: number): number {
  return nativeCrc32 !== undefined ? nativeCrc32(data.subarray(start, end)) >>> 0 : crc32(data, start, end);
}

const [CRC64_HI, CRC64_LO] = (() => {
  const hi = new Uint32Array(256), lo = new Uint32Array(256);
  const polyHi = 0xc96c5795, polyLo = 0xd7870f42; // reflected ECMA-182
  for (let n = 0; n < 256; n++) {
    let h = 0, l = n;
    for (let k = 0; k < 8; k++) {
      const bit = l & 1;
      l = ((l >>> 1) | (h << 31)) >>> 0;
      h = h >>> 1;
      if (bit) {
        h = (h ^ polyHi) >>> 0;
        l = (l ^ polyLo) >>> 0;
      }
    }
    hi[n] = h;
    lo[n] = l;
  }
  return [hi, lo];
})();

/** CRC-64 (ECMA-182, as in xz) of data[start, end), as {hi, lo}. */
export function crc64(data: Uint8Array, start = 0, end = data.length): { hi: number; lo: number } {
  let h = 0xffffffff, l = 0xffffffff;
  for (let i = start; i < end; i++) {
    const idx = (l ^ data[i]) & 0xff;
    l = (((l >>> 8) | (h << 24)) ^ CRC64_LO[idx]) >>> 0;
    h = ((h >>> 8) ^ CRC64_HI[idx]) >>> 0;
  }
  return { hi: (h ^ 0xffffffff) >>> 0, lo: (l ^ 0xffffffff) >>> 0 };
}

// ---------------------------------------------------------------------------
// .xz container (https://tukaani.org/xz/xz-file-format.txt) with LZMA2

const XZ_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
/** Size of the check field for each of the 16 check IDs. */
const XZ_CHECK_SIZES = [0, 4, 4, 4, 8, 8, 8, 16, 16, 16, 32, 32, 32, 64, 64, 64];
const XZ_CHECK_NAMES: Record<number, string> = { 0: 'none', 1: 'CRC32', 4: 'CRC64', 10: 'SHA-256' };
const XZ_FILTER_NAMES: Record<number, string> = { 0x03: 'delta', 0x04: 'BCJ x86', 0x05: 'BCJ PowerPC', 0x06: 'BCJ IA-64', 0x07: 'BCJ ARM', 0x08: 'BCJ ARM-Thumb', 0x09: 'BCJ SPARC', 0x0a: 'BCJ ARM64', 0x0b: 'BCJ RISC-V' };
const LZMA2_FILTER_ID = 0x21;

function readLE32(b: Uint8Array, p: number): number {
  return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
}

/** Reads an xz variable-length integer; returns [value, next position]. */
function readVli(b: Uint8Array, p: number, end: number, what: string): [number, number] {
  let value = 0;
  for (let i = 0; i < 9; i++) {
    if (p >= end) fail('DECOMPRESSION', `xz ${what} is cut short`);
    const byte = b[p++];
    if (i > 0 && byte === 0) fail('DECOMPRESSION', `xz ${what} is not minimally encoded`);
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) {
      if (!Number.isSafeInteger(value)) fail('DECOMPRESSION', `xz ${what} is too large`);
      return [value, p];
    }
  }
  return fail('DECOMPRESSION', `xz ${what} is longer than 9 bytes`);
}

/**
 * Decodes the .xz stream(s) in `payload` into all of `dst`; the streams must
 * produce exactly dst.length bytes. Returns dst.
 */
function decodeXz(payload: Uint8Array, dst: Uint8Array): Uint8Array {
  const n = payload.length;
  let p = 0;
  let o = 0;
  const lzma = new LzmaDecoder();
  for (;;) {
    [p, o] = decodeXzStream(payload, p, dst, o, lzma);
    // Stream padding (multiples of four zero bytes) may follow, then another stream.
    const padStart = p;
    while (p < n && payload[p] === 0) p++;
    if ((p - padStart) % 4 !== 0) fail('DECOMPRESSION', 'xz stream padding is not a multiple of four bytes');
    if (p === n) break;
  }
  if (o !== dst.length) fail('DECOMPRESSION', `xz stream decodes to ${o} bytes, the block header declares ${dst.length}`);
  return dst;
}

function decodeXzStream(b: Uint8Array, p: number, dst: Uint8Array, o: number, lzma: LzmaDecoder): [number, number] {
  const n = b.length;
  // stream header
  if (p + 12 > n) fail('DECOMPRESSION', 'xz stream header is cut short');
  for (let i = 0; i < 6; i++) if (b[p + i] !== XZ_MAGIC[i]) fail('DECOMPRESSION', 'xz stream does not start with the xz magic bytes');
  const flags0 = b[p + 6], flags1 = b[p + 7];
  if (fastCrc32(b, p + 6, p + 8) !== readLE32(b, p + 8)) fail('CHECKSUM', 'xz stream header CRC32 does not match');
  if (flags0 !== 0 || (flags1 & 0xf0) !== 0) fail('UNSUPPORTED', `xz stream flags 0x${flags0.toString(16)}${flags1.toString(16).padStart(2, '0')} are not defined`);
  const checkType = flags1 & 0x0f;
  const checkSize = XZ_CHECK_SIZES[checkType];
  if (XZ_CHECK_NAMES[checkType] === undefined) fail('UNSUPPORTED', `xz check type ${checkType} (only none, CRC32, CRC64 and SHA-256 are defined)`);
  p += 12;

  // blocks
  const records: number[] = []; // pairs: unpadded size, uncompressed size
  for (;;) {
    if (p >= n) fail('DECOMPRESSION', 'xz stream is cut short before its index');
    if (b[p] === 0) break; // index indicator
    const blockStart = p;
    const headerSize = (b[p] + 1) * 4;
    if (p + headerSize > n) fail('DECOMPRESSION', 'xz block header is cut short');
    const headerEnd = p + headerSize - 4;
    if (fastCrc32(b, p, headerEnd) !== readLE32(b, headerEnd)) fail('CHECKSUM', 'xz block header CRC32 does not match');
    const flags = b[p + 1];
    if (flags & 0x3c) fail('UNSUPPORTED', 'xz block header has reserved flag bits set');
    const filterCount = (flags & 3) + 1;
    let q = p + 2;
    let declaredCompressed = -1, declaredUncompressed = -1;
    if (flags & 0x40) [declaredCompressed, q] = readVli(b, q, headerEnd, 'block compressed size');
    if (flags & 0x80) [declaredUncompressed, q] = readVli(b, q, headerEnd, 'block uncompressed size');
    let dictSize = -1;
    for (let f = 0; f < filterCount; f++) {
      let id: number, propsSize: number;
      [id, q] = readVli(b, q, headerEnd, 'filter id');
      [propsSize, q] = readVli(b, q, headerEnd, 'filter properties size');
      if (q + propsSize > headerEnd) fail('DECOMPRESSION', 'xz filter properties run past the block header');
      if (id !== LZMA2_FILTER_ID || filterCount !== 1) {
        const name = XZ_FILTER_NAMES[id] ?? (id === LZMA2_FILTER_ID ? 'LZMA2' : `0x${id.toString(16)}`);
        fail('UNSUPPORTED', `xz filter chain with ${name} filter (${filterCount} filter(s)); only a single LZMA2 filter is decoded`);
      }
      if (propsSize !== 1) fail('DECOMPRESSION', `LZMA2 filter properties of ${propsSize} bytes (expected 1)`);
      const d = b[q];
      if (d > 40) fail('DECOMPRESSION', `LZMA2 dictionary size code ${d} is invalid`);
      dictSize = d === 40 ? 0xffffffff : (2 | (d & 1)) * 2 ** ((d >>> 1) + 11);
      q += propsSize;
    }
    for (; q < headerEnd; q++) if (b[q] !== 0) fail('DECOMPRESSION', 'xz block header padding is not zero');
    p = headerEnd + 4;

    const dataStart = p;
    const outStart = o;
    [p, o] = lzma.decodeLzma2(b, p, n, dst, o, dictSize);
    const compressed = p - dataStart;
    const uncompressed = o - outStart;
    if (declaredCompressed >= 0 && declaredCompressed !== compressed) {
      fail('DECOMPRESSION', `xz block compressed size is ${compressed}, its header says ${declaredCompressed}`);
    }
    if (declaredUncompressed >= 0 && declaredUncompressed !== uncompressed) {
      fail('DECOMPRESSION', `xz block uncompressed size is ${uncompressed}, its header says ${declaredUncompressed}`);
    }
    while ((p - blockStart) % 4 !== 0) {
      if (p >= n) fail('DECOMPRESSION', 'xz block padding is cut short');
      if (b[p++] !== 0) fail('DECOMPRESSION', 'xz block padding is not zero');
    }
    if (p + checkSize > n) fail('DECOMPRESSION', 'xz block check is cut short');
    verifyXzCheck(checkType, b, p, dst, outStart, o);
    p += checkSize;
    records.push(headerSize + compressed + checkSize, uncompressed);
  }

  // index
  const indexStart = p;
  p++;
  let count: number;
  [count, p] = readVli(b, p, n, 'index record count');
  if (count !== records.length / 2) fail('DECOMPRESSION', `xz index lists ${count} blocks, the stream has ${records.length / 2}`);
  for (let i = 0; i < count; i++) {
    let unpadded: number, uncompressed: number;
    [unpadded, p] = readVli(b, p, n, 'index unpadded size');
    [uncompressed, p] = readVli(b, p, n, 'index uncompressed size');
    if (unpadded !== records[2 * i] || uncompressed !== records[2 * i + 1]) fail('DECOMPRESSION', `xz index record ${i} does not match block ${i}`);
  }
  while ((p - indexStart) % 4 !== 0) {
    if (p >= n) fail('DECOMPRESSION', 'xz index padding is cut short');
    if (b[p++] !== 0) fail('DECOMPRESSION', 'xz index padding is not zero');
  }
  if (p + 4 > n) fail('DECOMPRESSION', 'xz index CRC32 is cut short');
  if (fastCrc32(b, indexStart, p) !== readLE32(b, p)) fail('CHECKSUM', 'xz index CRC32 does not match');
  p += 4;
  const indexSize = p - indexStart;

  // stream footer
  if (p + 12 > n) fail('DECOMPRESSION', 'xz stream footer is cut short');
  if (fastCrc32(b, p + 4, p + 10) !== readLE32(b, p)) fail('CHECKSUM', 'xz stream footer CRC32 does not match');
  const backwardSize = (readLE32(b, p + 4) + 1) * 4;
  if (backwardSize !== indexSize) fail('DECOMPRESSION', `xz stream footer gives an index of ${backwardSize} bytes, the index has ${indexSize}`);
  if (b[p + 8] !== flags0 || b[p + 9] !== flags1) fail('DECOMPRESSION', 'xz stream footer flags differ from the header flags');
  if (b[p + 10] !== 0x59 || b[p + 11] !== 0x5a) fail('DECOMPRESSION', 'xz stream footer magic is missing');
  return [p + 12, o];
}

function verifyXzCheck(checkType: number, b: Uint8Array, p: number, data: Uint8Array, start: number, end: number): void {
  if (checkType === 0) return;
  if (checkType === 1) {
    const computed = fastCrc32(data, start, end), stored = readLE32(b, p);
    if (computed !== stored) fail('CHECKSUM', `CRC32 of the xz block's data is ${hex32(computed)}, the block says ${hex32(stored)}`);
  } else if (checkType === 4) {
    const c = crc64(data, start, end);
    const storedLo = readLE32(b, p), storedHi = readLE32(b, p + 4);
    if (c.hi !== storedHi || c.lo !== storedLo) fail('CHECKSUM', `CRC64 of the xz block's data is ${hex64(c.hi, c.lo)}, the block says ${hex64(storedHi, storedLo)}`);
  } else {
    const digest = createHash('sha256').update(data.subarray(start, end)).digest();
    for (let i = 0; i < 32; i++) if (digest[i] !== b[p + i]) fail('CHECKSUM', "SHA-256 of the xz block's data does not match");
  }
}

// LZMA model sizes
const LZMA_STATES = 12;
const LZMA_POS_STATES_MAX = 16;
const LZMA_LEN_SIZE = 2 + 2 * LZMA_POS_STATES_MAX * 8 + 256; // choice, choice2, low, mid, high
const LZMA_LEN_LOW = 2;
const LZMA_LEN_MID = 2 + LZMA_POS_STATES_MAX * 8;
const LZMA_LEN_HIGH = 2 + 2 * LZMA_POS_STATES_MAX * 8;
const LZMA_END_POS_MODEL = 14;
const LZMA_FULL_DISTANCES = 128;

/**
 * LZMA2 decoder writing straight into the caller's output buffer, which also
 * serves as the dictionary (so no separate window is allocated). Range-coder
 * reads past a chunk's packed size, writes past the chunk's unpacked size, and
 * distances beyond what has been decoded since the last dictionary reset are
 * all errors.
 */
class LzmaDecoder {
  // range coder
  private src: Uint8Array = new Uint8Array(0);
  private ip = 0;
  /** Range coder registers: [range, code], kept in a typed array so they stay unboxed. */
  private readonly rc = new Uint32Array(2);
  // model
  private lc = 0;
  private lp = 0;
  private pb = 0;
  private readonly isMatch = new Uint16Array(LZMA_STATES * LZMA_POS_STATES_MAX);
  private readonly isRep = new Uint16Array(LZMA_STATES);
  private readonly isRepG0 = new Uint16Array(LZMA_STATES);
  private readonly isRepG1 = new Uint16Array(LZMA_STATES);
  private readonly isRepG2 = new Uint16Array(LZMA_STATES);
  private readonly isRep0Long = new Uint16Array(LZMA_STATES * LZMA_POS_STATES_MAX);
  private readonly posSlot = new Uint16Array(4 * 64);
  private readonly posSpecial = new Uint16Array(1 + LZMA_FULL_DISTANCES - LZMA_END_POS_MODEL);
  private readonly align = new Uint16Array(16);
  private readonly lenProbs = new Uint16Array(LZMA_LEN_SIZE);
  private readonly repLenProbs = new Uint16Array(LZMA_LEN_SIZE);
  private literal = new Uint16Array(0x300);
  // state
  private state = 0;
  private rep0 = 0;
  private rep1 = 0;
  private rep2 = 0;
  private rep3 = 0;

  /**
   * Decodes one LZMA2 stream from src[p, end) into dst from index o. Returns
   * [position after the end-of-stream byte, output position].
   */
  decodeLzma2(src: Uint8Array, p: number, end: number, dst: Uint8Array, o: number, dictSize: number): [number, number] {
    let dictStart = -1; // output index of the last dictionary reset
    let needProps = true; // the first LZMA chunk (after the mandatory dictionary reset) sets lc/lp/pb and resets the state
    for (;;) {
      if (p >= end) fail('DECOMPRESSION', 'LZMA2 data is cut short (no end marker)');
      const control = src[p++];
      if (control === 0x00) return [p, o];
      if (control === 0x01 || control >= 0xe0) {
        dictStart = o;
        needProps = true; // the next LZMA chunk must set properties
      } else if (dictStart < 0) {
        fail('DECOMPRESSION', 'LZMA2 data does not start with a dictionary reset');
      }
      if (control < 0x80) {
        if (control > 0x02) fail('DECOMPRESSION', `LZMA2 chunk with invalid control byte 0x${control.toString(16)}`);
        if (p + 2 > end) fail('DECOMPRESSION', 'LZMA2 chunk header is cut short');
        const size = ((src[p] << 8) | src[p + 1]) + 1;
        p += 2;
        if (p + size > end) fail('DECOMPRESSION', 'LZMA2 uncompressed chunk is cut short');
        if (size > dst.length - o) fail('DECOMPRESSION', `LZMA2 data produces more than the ${dst.length} bytes declared`);
        dst.set(src.subarray(p, p + size), o);
        p += size;
        o += size;
        continue;
      }
      if (p + 4 > end) fail('DECOMPRESSION', 'LZMA2 chunk header is cut short');
      const unpacked = (control & 0x1f) * 65536 + ((src[p] << 8) | src[p + 1]) + 1;
      const packed = ((src[p + 2] << 8) | src[p + 3]) + 1;
      p += 4;
      const reset = (control >>> 5) & 3;
      if (reset >= 2) {
        if (p >= end) fail('DECOMPRESSION', 'LZMA2 chunk header is cut short');
        this.setProperties(src[p++]);
        needProps = false;
      } else if (needProps) {
        fail('DECOMPRESSION', 'LZMA2 chunk without properties after a dictionary reset');
      }
      if (reset >= 1) this.resetState();
      if (p + packed > end) fail('DECOMPRESSION', 'LZMA2 compressed chunk is cut short');
      if (unpacked > dst.length - o) fail('DECOMPRESSION', `LZMA2 data produces more than the ${dst.length} bytes declared`);
      this.decodeChunk(src, p, p + packed, dst, o, o + unpacked, dictStart, dictSize);
      p += packed;
      o += unpacked;
    }
  }

  private setProperties(props: number): void {
    if (props >= 9 * 5 * 5) fail('DECOMPRESSION', `LZMA properties byte ${props} is invalid`);
    const lc = props % 9;
    const rest = (props / 9) | 0;
    const lp = rest % 5;
    const pb = (rest / 5) | 0;
    if (lc + lp > 4) fail('DECOMPRESSION', `LZMA2 properties lc=${lc} lp=${lp} exceed lc+lp<=4`);
    this.lc = lc;
    this.lp = lp;
    this.pb = pb;
    const literalSize = 0x300 << (lc + lp);
    if (this.literal.length !== literalSize) this.literal = new Uint16Array(literalSize);
  }

  private resetState(): void {
    this.isMatch.fill(1024);
    this.isRep.fill(1024);
    this.isRepG0.fill(1024);
    this.isRepG1.fill(1024);
    this.isRepG2.fill(1024);
    this.isRep0Long.fill(1024);
    this.posSlot.fill(1024);
    this.posSpecial.fill(1024);
    this.align.fill(1024);
    this.lenProbs.fill(1024);
    this.repLenProbs.fill(1024);
    this.literal.fill(1024);
    this.state = 0;
    this.rep0 = this.rep1 = this.rep2 = this.rep3 = 0;
  }

  /** One probability-coded bit. */
  private bit(probs: Uint16Array, i: number): number {
    const rc = this.rc;
    const prob = probs[i];
    let range = rc[0];
    let code = rc[1];
    const bound = (range >>> 11) * prob;
    let b: number;
    if (code < bound) {
      range = bound;
      probs[i] = prob + ((2048 - prob) >>> 5);
      b = 0;
    } else {
      range -= bound;
      code -= bound;
      probs[i] = prob - (prob >>> 5);
      b = 1;
    }
    if (range < 0x1000000) {
      range = range << 8;
      code = (code << 8) | this.src[this.ip++];
    }
    rc[0] = range;
    rc[1] = code;
    return b;
  }

  /** `count` bits with fixed probability 1/2, most significant first. */
  private direct(count: number): number {
    const rc = this.rc;
    let range = rc[0];
    let code = rc[1];
    let r = 0;
    for (let i = 0; i < count; i++) {
      range = range >>> 1;
      let b = 0;
      if (code >= range) {
        code -= range;
        b = 1;
      }
      r = r * 2 + b;
      if (range < 0x1000000) {
        range = (range << 8) >>> 0;
        code = ((code << 8) | this.src[this.ip++]) >>> 0;
      }
    }
    rc[0] = range;
    rc[1] = code;
    return r;
  }

  private tree(probs: Uint16Array, base: number, bits: number): number {
    let m = 1;
    for (let i = 0; i < bits; i++) m = (m << 1) | this.bit(probs, base + m);
    return m - (1 << bits);
  }

  private reverseTree(probs: Uint16Array, base: number, bits: number): number {
    let m = 1, r = 0;
    for (let i = 0; i < bits; i++) {
      const b = this.bit(probs, base + m);
      m = (m << 1) | b;
      r |= b << i;
    }
    return r;
  }

  /** Match length minus 2 (0..271). */
  private length(probs: Uint16Array, posState: number): number {
    if (this.bit(probs, 0) === 0) return this.tree(probs, LZMA_LEN_LOW + posState * 8, 3);
    if (this.bit(probs, 1) === 0) return 8 + this.tree(probs, LZMA_LEN_MID + posState * 8, 3);
    return 16 + this.tree(probs, LZMA_LEN_HIGH, 8);
  }

  /** Distance minus 1 for a match of length len+2. */
  private distance(len: number): number {
    const slot = this.tree(this.posSlot, (len < 3 ? len : 3) * 64, 6);
    if (slot < 4) return slot;
    const bits = (slot >>> 1) - 1;
    const base = (2 | (slot & 1)) * 2 ** bits;
    if (slot < LZMA_END_POS_MODEL) return base + this.reverseTree(this.posSpecial, base - slot, bits);
    return base + this.direct(bits - 4) * 16 + this.reverseTree(this.align, 0, 4);
  }

  private decodeChunk(src: Uint8Array, start: number, end: number, dst: Uint8Array, o: number, oEnd: number, dictStart: number, dictSize: number): void {
    this.src = src;
    if (src[start] !== 0) fail('DECOMPRESSION', 'LZMA chunk does not start with a zero byte');
    this.rc[0] = 0xffffffff;
    this.rc[1] = readBE32(src, start + 1);
    this.ip = start + 5;
    const pbMask = (1 << this.pb) - 1;
    const lpMask = (1 << this.lp) - 1;
    const lc = this.lc;
    const literal = this.literal;
    const rc = this.rc;
    let state = this.state;
    let rep0 = this.rep0, rep1 = this.rep1, rep2 = this.rep2, rep3 = this.rep3;
    while (o < oEnd) {
      const pos = o - dictStart;
      const posState = pos & pbMask;
      if (this.bit(this.isMatch, (state << 4) | posState) === 0) {
        // literal
        const prev = pos > 0 ? dst[o - 1] : 0;
        const base = 0x300 * (((pos & lpMask) << lc) + (prev >>> (8 - lc)));
        let sym = 1;
        if (state >= 7) {
          const from = o - rep0 - 1;
          if (from < dictStart) fail('DECOMPRESSION', 'LZMA literal refers to data before the dictionary');
          let matchByte = dst[from];
          do {
            const matchBit = (matchByte >>> 7) & 1;
            matchByte <<= 1;
            const b = this.bit(literal, base + 0x100 + (matchBit << 8) + sym);
            sym = (sym << 1) | b;
            if (b !== matchBit) break;
          } while (sym < 0x100);
        }
        if (sym < 0x100) {
          // The plain literal tree, with the range coder inlined: most of the
          // time on poorly compressible data (floats) is spent here.
          let range = rc[0], code = rc[1], ip = this.ip;
          do {
            const i = base + sym;
            const prob = literal[i];
            const bound = (range >>> 11) * prob;
            if (code < bound) {
              range = bound;
              literal[i] = prob + ((2048 - prob) >>> 5);
              sym <<= 1;
            } else {
              range -= bound;
              code -= bound;
              literal[i] = prob - (prob >>> 5);
              sym = (sym << 1) | 1;
            }
            if (range < 0x1000000) {
              range = (range << 8) >>> 0;
              code = ((code << 8) | src[ip++]) >>> 0;
            }
          } while (sym < 0x100);
          rc[0] = range;
          rc[1] = code;
          this.ip = ip;
        }
        dst[o++] = sym & 0xff;
        state = state < 4 ? 0 : state < 10 ? state - 3 : state - 6;
        continue;
      }
      let len: number;
      if (this.bit(this.isRep, state) === 0) {
        // plain match
        len = this.length(this.lenProbs, posState);
        state = state < 7 ? 7 : 10;
        const dist = this.distance(len);
        if (dist === 0xffffffff) fail('DECOMPRESSION', 'LZMA end marker inside an LZMA2 chunk');
        rep3 = rep2;
        rep2 = rep1;
        rep1 = rep0;
        rep0 = dist;
      } else if (this.bit(this.isRepG0, state) === 0) {
        if (this.bit(this.isRep0Long, (state << 4) | posState) === 0) {
          // short rep: one byte at distance rep0
          state = state < 7 ? 9 : 11;
          if (rep0 >= pos || rep0 >= dictSize) fail('DECOMPRESSION', `LZMA distance ${rep0 + 1} reaches before the dictionary`);
          dst[o] = dst[o - rep0 - 1];
          o++;
          continue;
        }
        len = this.length(this.repLenProbs, posState);
        state = state < 7 ? 8 : 11;
      } else {
        let dist: number;
        if (this.bit(this.isRepG1, state) === 0) {
          dist = rep1;
        } else {
          if (this.bit(this.isRepG2, state) === 0) {
            dist = rep2;
          } else {
            dist = rep3;
            rep3 = rep2;
          }
          rep2 = rep1;
        }
        rep1 = rep0;
        rep0 = dist;
        len = this.length(this.repLenProbs, posState);
        state = state < 7 ? 8 : 11;
      }
      len += 2;
      if (rep0 >= pos || rep0 >= dictSize) fail('DECOMPRESSION', `LZMA distance ${rep0 + 1} reaches before the dictionary`);
      if (len > oEnd - o) fail('DECOMPRESSION', 'LZMA match runs past the end of its LZMA2 chunk');
      const from = o - rep0 - 1;
      if (rep0 + 1 >= len && len >= 32) {
        dst.copyWithin(o, from, from + len);
        o += len;
      } else {
        for (let i = 0; i < len; i++) dst[o + i] = dst[from + i];
        o += len;
      }
    }
    this.state = state;
    this.rep0 = rep0;
    this.rep1 = rep1;
    this.rep2 = rep2;
    this.rep3 = rep3;
    if (this.ip !== end) fail('DECOMPRESSION', `LZMA chunk used ${this.ip - start} of its ${end - start} packed bytes`);
    if (this.rc[1] !== 0) fail('DECOMPRESSION', 'LZMA chunk does not end cleanly (range coder not flushed)');
    this.src = EMPTY;
  }
}

const EMPTY = new Uint8Array(0);

function readBE32(b: Uint8Array, p: number): number {
  return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
}
