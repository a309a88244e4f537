// zlib and raw deflate: Node's zlib (fast, checks adler32 itself) or fflate
// (portable; it drops the adler32 trailer, so it is checked here).

import { inflateRawSync as nodeInflateRawSync, inflateSync as nodeInflateSync } from 'node:zlib';
import { inflateSync as fflateInflateRawSync, unzlibSync as fflateUnzlibSync } from 'fflate';
import { fail, hex32 } from './failure';
// ---------------------------------------------------------------------------
// zlib / deflate

interface NodeInflateResult {
  buffer: Buffer;
  engine: { bytesWritten: number };
}

export function inflateWithNode(payload: Uint8Array, size: number, target: Uint8Array | null, zlibWrapper: boolean): Uint8Array {
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

export function inflateWithFflate(payload: Uint8Array, size: number, target: Uint8Array | null, zlibWrapper: boolean): Uint8Array {
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


