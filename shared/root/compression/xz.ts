// xz streams with LZMA2 (ROOT's "XZ" blocks), decoded synchronously, with
// every check the format has verified.

import { createHash } from 'node:crypto';
import { crc64, fastCrc32 } from './checksums';
import { fail, hex32, hex64 } from './failure';
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
export function decodeXz(payload: Uint8Array, dst: Uint8Array): Uint8Array {
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

