// LZ4 as ROOT writes it: an 8-byte big-endian XXH64 of the block, then one raw LZ4 block.

import { fail, hex64 } from './failure';
import { xxhash64 } from './xxhash64';
// ---------------------------------------------------------------------------
// LZ4 (ROOT: 8-byte big-endian XXH64 of the block, then one raw LZ4 block)

const LZ4_CHECKSUM_SIZE = 8;

export function decodeLz4Block(payload: Uint8Array, dst: Uint8Array): Uint8Array {
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

