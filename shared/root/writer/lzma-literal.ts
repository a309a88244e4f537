// An .xz stream whose LZMA2 chunks code every byte as an LZMA literal (no
// matches): a real range-coded LZMA2 stream, which gains what an order-0
// model with the previous byte's top bits as context gains (the exponent and
// high mantissa bytes of floats, small integers), at a fraction of an LZMA
// match finder's cost. Every xz decoder reads it; ratios are worse than
// xz -N would give, and the level is recorded in fCompress, not used.

import { crc32 } from '../compression/checksums';

const LC = 3; // literal context: the previous byte's top 3 bits
const PB = 2; // position bits of the match flags
const PROPS = (PB * 5 + 0) * 9 + LC;
/** Unpacked bytes per chunk: its packed size stays below LZMA2's 64 KiB even for incompressible bytes. */
export const LZMA_CHUNK = 1 << 15;
const CHUNK = LZMA_CHUNK;
const PROB_INIT = 1024;

class RangeEncoder {
  low = 0;
  range = 0xffffffff;
  cache = 0;
  cacheSize = 1;
  out: Uint8Array;
  n = 0;
  constructor(capacity: number) {
    this.out = new Uint8Array(capacity);
  }
  private shiftLow(): void {
    if (this.n + this.cacheSize >= this.out.length) {
      // a model that guesses badly can make more bytes than it was given: grow rather than drop any
      const grown = new Uint8Array(this.out.length * 2 + this.cacheSize);
      grown.set(this.out.subarray(0, this.n));
      this.out = grown;
    }
    if (this.low < 0xff000000 || this.low >= 0x100000000) {
      const carry = this.low >= 0x100000000 ? 1 : 0;
      let temp = this.cache;
      do {
        this.out[this.n++] = (temp + carry) & 0xff;
        temp = 0xff;
      } while (--this.cacheSize !== 0);
      this.cache = Math.floor(this.low / 0x1000000) & 0xff;
    }
    this.cacheSize++;
    this.low = (this.low % 0x1000000) * 256;
  }
  bit(probs: Uint16Array, i: number, bit: number): void {
    const p = probs[i]!;
    const bound = (this.range >>> 11) * p;
    if (bit === 0) {
      this.range = bound;
      probs[i] = p + ((2048 - p) >>> 5);
    } else {
      this.low += bound;
      this.range -= bound;
      probs[i] = p - (p >>> 5);
    }
    while (this.range < 0x1000000) {
      this.range = (this.range * 256) >>> 0;
      this.shiftLow();
    }
  }
  finish(): number {
    for (let i = 0; i < 5; i++) this.shiftLow();
    return this.n;
  }
}

const isMatch = new Uint16Array(12 << PB);
const literal = new Uint16Array(0x300 << LC);

/** One LZMA chunk of literals for src[start, end); `prev` is the byte before start (0 after a dictionary reset). */
function literalChunk(src: Uint8Array, start: number, end: number, prev: number): Uint8Array {
  isMatch.fill(PROB_INIT);
  literal.fill(PROB_INIT);
  const rc = new RangeEncoder(Math.ceil((end - start) * 1.02) + 64);
  const posMask = (1 << PB) - 1;
  for (let pos = start; pos < end; pos++) {
    rc.bit(isMatch, pos & posMask, 0); // state 0: only literals ever follow
    const base = 0x300 * (prev >>> (8 - LC));
    const byte = src[pos]!;
    let symbol = 1;
    for (let k = 7; k >= 0; k--) {
      const b = (byte >>> k) & 1;
      rc.bit(literal, base + symbol, b);
      symbol = (symbol << 1) | b;
    }
    prev = byte;
  }
  return rc.out.subarray(0, rc.finish());
}

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

/** The smallest LZMA2 dictionary-size code covering n bytes (at least 4 KiB). */
function dictCode(n: number): number {
  for (let d = 0; d < 40; d++) if ((2 | (d & 1)) * 2 ** ((d >>> 1) + 11) >= n) return d;
  return 40;
}

/**
 * src[start, end) as one .xz stream (CRC32 check) of literal-only LZMA2
 * chunks; null when a chunk does not shrink (the caller then stores the
 * object as is).
 */
export function xzLiterals(src: Uint8Array, start = 0, end = src.length): Uint8Array | null {
  const size = end - start;
  const parts: Uint8Array[] = [];
  for (let from = start; from < end; from += CHUNK) {
    const to = Math.min(end, from + CHUNK);
    const u = to - from;
    // every chunk resets the dictionary, state and properties (control 111uuuuu), so chunks
    // are independent (jsroot decodes only a block's first chunk: compress.ts keeps blocks to one)
    const packed = literalChunk(src, from, to, 0);
    if (packed.length >= u) return null;
    parts.push(Uint8Array.of(0xe0 | ((u - 1) >>> 16), ((u - 1) >>> 8) & 0xff, (u - 1) & 0xff, ((packed.length - 1) >>> 8) & 0xff, (packed.length - 1) & 0xff, PROPS), packed);
  }
  parts.push(Uint8Array.of(0x00));
  const lzma2 = parts.reduce((n, p) => n + p.length, 0);

  const head: number[] = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00, 0x01];
  pushLE32(head, crc32(Uint8Array.of(0x00, 0x01)));
  const bh = [0x02, 0x00, 0x21, 0x01, dictCode(size), 0, 0, 0];
  pushLE32(bh, crc32(Uint8Array.from(bh)));
  const blockPadding = (4 - ((bh.length + lzma2) % 4)) % 4;
  const index: number[] = [0x00, 0x01];
  pushVli(index, bh.length + lzma2 + 4);
  pushVli(index, size);
  while (index.length % 4 !== 0) index.push(0);
  pushLE32(index, crc32(Uint8Array.from(index)));
  const backward = index.length / 4 - 1;
  const footerBody = [backward & 0xff, (backward >>> 8) & 0xff, (backward >>> 16) & 0xff, (backward >>> 24) & 0xff, 0x00, 0x01];
  const footer: number[] = [];
  pushLE32(footer, crc32(Uint8Array.from(footerBody)));
  footer.push(...footerBody, 0x59, 0x5a);

  const out = new Uint8Array(head.length + bh.length + lzma2 + blockPadding + 4 + index.length + footer.length);
  let p = 0;
  for (const part of [Uint8Array.from(head), Uint8Array.from(bh), ...parts]) {
    out.set(part, p);
    p += part.length;
  }
  p += blockPadding;
  const check = crc32(src, start, end);
  out.set([check & 0xff, (check >>> 8) & 0xff, (check >>> 16) & 0xff, (check >>> 24) & 0xff], p);
  p += 4;
  out.set(index, p);
  p += index.length;
  out.set(footer, p);
  return out;
}
