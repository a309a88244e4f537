// An .xz stream whose LZMA2 data is all *uncompressed* chunks: valid xz (with
// its CRC32 checks) that every xz decoder reads, but no smaller than its
// input. There is no pure-JavaScript LZMA encoder here; ROOT's "XZ" blocks
// are written this way so that lzma-tagged files can be produced and read
// back, and the writer then stores such baskets uncompressed (ROOT's rule for
// an object that does not shrink), which readers accept as well.

import { crc32 } from '../compression/checksums';

const CHUNK = 65536;

function pushLE32(out: number[], v: number): void {
  out.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
}

function pushVli(out: number[], v: number): void {
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

/** The smallest LZMA2 dictionary-size code whose size covers n bytes (at least 4 KiB). */
function dictCode(n: number): number {
  for (let d = 0; d < 40; d++) if ((2 | (d & 1)) * 2 ** ((d >>> 1) + 11) >= n) return d;
  return 40;
}

export function xzStored(data: Uint8Array, start = 0, end = data.length): Uint8Array {
  const size = end - start;
  const head: number[] = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00, 0x01];
  pushLE32(head, crc32(Uint8Array.of(0x00, 0x01)));
  // block header: size code, flags (one filter, no sizes), LZMA2 filter with its dictionary size, padding, CRC32
  const bh = [0x02, 0x00, 0x21, 0x01, dictCode(size), 0, 0, 0];
  pushLE32(bh, crc32(Uint8Array.from(bh)));
  const chunks = Math.ceil(size / CHUNK);
  const lzma2 = size + chunks * 3 + 1;
  const blockUnpadded = bh.length + lzma2 + 4;
  const blockPadding = (4 - ((bh.length + lzma2) % 4)) % 4;
  const index: number[] = [0x00, 0x01];
  pushVli(index, blockUnpadded);
  pushVli(index, size);
  while (index.length % 4 !== 0) index.push(0);
  pushLE32(index, crc32(Uint8Array.from(index)));
  const footerBody = [0, 0, 0, 0, 0x00, 0x01];
  const backward = index.length / 4 - 1;
  footerBody[0] = backward & 0xff;
  footerBody[1] = (backward >>> 8) & 0xff;
  footerBody[2] = (backward >>> 16) & 0xff;
  footerBody[3] = (backward >>> 24) & 0xff;
  const footer: number[] = [];
  pushLE32(footer, crc32(Uint8Array.from(footerBody)));
  footer.push(...footerBody, 0x59, 0x5a);

  const out = new Uint8Array(head.length + bh.length + lzma2 + blockPadding + 4 + index.length + footer.length);
  let p = 0;
  out.set(head, p);
  p += head.length;
  out.set(bh, p);
  p += bh.length;
  for (let c = 0; c < chunks; c++) {
    const from = start + c * CHUNK;
    const n = Math.min(CHUNK, end - from);
    out[p++] = c === 0 ? 0x01 : 0x02; // uncompressed chunk, the first one resets the dictionary
    out[p++] = (n - 1) >>> 8;
    out[p++] = (n - 1) & 0xff;
    out.set(data.subarray(from, from + n), p);
    p += n;
  }
  out[p++] = 0x00; // end of LZMA2 data
  p += blockPadding;
  const check = crc32(data, start, end);
  out[p++] = check & 0xff;
  out[p++] = (check >>> 8) & 0xff;
  out[p++] = (check >>> 16) & 0xff;
  out[p++] = (check >>> 24) & 0xff;
  out.set(index, p);
  p += index.length;
  out.set(footer, p);
  return out;
}
