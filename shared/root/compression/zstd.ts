// zstd: fzstd decodes; the frame is walked here to check sizes and the content checksum.

import { decompress as fzstdDecompress } from 'fzstd';
import { fail, hex32 } from './failure';
import { xxhash64 } from './xxhash64';
// ---------------------------------------------------------------------------
// zstd (fzstd decodes; the frame is walked here to check sizes and checksum)

export function decodeZstdFrame(payload: Uint8Array, dst: Uint8Array): Uint8Array {
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

