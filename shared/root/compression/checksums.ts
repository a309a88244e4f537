// CRC32 and CRC64, as used by the .xz container.

import * as nodeZlib from 'node:zlib';
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
export function fastCrc32(data: Uint8Array, start: number, end: number): number {
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

