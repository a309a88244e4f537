// XXH64 (xxHash, 64-bit variant) without BigInt.
//
// ROOT's LZ4 blocks carry the XXH64 (seed 0) of their compressed payload, and a
// zstd frame may carry the low 32 bits of the XXH64 of its content. BigInt
// arithmetic allocates on every operation, so the 64-bit state here is kept as
// pairs of unsigned 32-bit halves (hi, lo) and multiplied in 16-bit limbs, which
// stays exact in doubles. Written from the published algorithm description
// (lanes of 8 bytes, four accumulators over 32-byte stripes, merge, tail,
// avalanche).

/** A 64-bit value as two unsigned 32-bit halves. */
export interface U64 {
  hi: number;
  lo: number;
}

// The five 64-bit primes of XXH64, as (hi, lo).
const P1H = 0x9e3779b1, P1L = 0x85ebca87;
const P2H = 0xc2b2ae3d, P2L = 0x27d4eb4f;
const P3H = 0x165667b1, P3L = 0x9e3779f9;
const P4H = 0x85ebca77, P4L = 0xc2b2ae63;
const P5H = 0x27d4eb2f, P5L = 0x165667c5;
/** 2^64 - P1 */
const NEG_P1H = 0x61c8864e, NEG_P1L = 0x7a143579;

// Result registers of the helpers below (avoids allocating a pair per operation).
let rh = 0;
let rl = 0;

/** High 32 bits of the 64-bit product of two unsigned 32-bit numbers. */
function mulHi32(a: number, b: number): number {
  const a0 = a & 0xffff, a1 = a >>> 16;
  const b0 = b & 0xffff, b1 = b >>> 16;
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  return (p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) >>> 0;
}

/** (ah,al) * (bh,bl) mod 2^64 into (rh, rl). */
function mul64(ah: number, al: number, bh: number, bl: number): void {
  const hi = mulHi32(al, bl) + Math.imul(ah, bl) + Math.imul(al, bh);
  rl = Math.imul(al, bl) >>> 0;
  rh = hi >>> 0;
}

/** (ah,al) + (bh,bl) mod 2^64 into (rh, rl). */
function add64(ah: number, al: number, bh: number, bl: number): void {
  const lo = al + bl; // < 2^33, exact
  rl = lo >>> 0;
  rh = (ah + bh + (lo > 0xffffffff ? 1 : 0)) >>> 0;
}

/** Rotate (h,l) left by r bits, 0 < r < 32, into (rh, rl). */
function rotl64(h: number, l: number, r: number): void {
  rh = ((h << r) | (l >>> (32 - r))) >>> 0;
  rl = ((l << r) | (h >>> (32 - r))) >>> 0;
}

/** round(acc, input) = rotl(acc + input * P2, 31) * P1, into (rh, rl). */
function round(acch: number, accl: number, inh: number, inl: number): void {
  mul64(inh, inl, P2H, P2L);
  add64(acch, accl, rh, rl);
  rotl64(rh, rl, 31);
  mul64(rh, rl, P1H, P1L);
}

/** mergeRound(acc, v) = (acc ^ round(0, v)) * P1 + P4, into (rh, rl). */
function mergeRound(acch: number, accl: number, vh: number, vl: number): void {
  round(0, 0, vh, vl);
  mul64((acch ^ rh) >>> 0, (accl ^ rl) >>> 0, P1H, P1L);
  add64(rh, rl, P4H, P4L);
}

/**
 * The bulk loop: applies round() to the four accumulators (hi, lo pairs in
 * `acc`) for every 32-byte stripe starting at p while p <= limit, with the
 * 64-bit arithmetic written out inline (this is where nearly all the time
 * goes). Returns the position after the last stripe.
 */
function stripes(data: Uint8Array, p: number, limit: number, acc: Uint32Array): number {
  // 16-bit halves of the low words of P2 and P1, for the high half of lo*lo products.
  const p2a = P2L & 0xffff, p2b = P2L >>> 16;
  const p1a = P1L & 0xffff, p1b = P1L >>> 16;
  do {
    for (let k = 0; k < 8; k += 2) {
      const q = p + 4 * k;
      const ll = (data[q] | (data[q + 1] << 8) | (data[q + 2] << 16) | (data[q + 3] << 24)) >>> 0;
      const lh = (data[q + 4] | (data[q + 5] << 8) | (data[q + 6] << 16) | (data[q + 7] << 24)) >>> 0;
      // t = lane * P2
      let a0 = ll & 0xffff, a1 = ll >>> 16;
      let t = a0 * p2a;
      let m1 = a1 * p2a + (t >>> 16);
      let m2 = a0 * p2b + (m1 & 0xffff);
      const th = (a1 * p2b + (m1 >>> 16) + (m2 >>> 16) + Math.imul(lh, P2L) + Math.imul(ll, P2H)) >>> 0;
      const tl = Math.imul(ll, P2L) >>> 0;
      // s = acc + t
      const sum = acc[k + 1] + tl;
      const sl = sum >>> 0;
      const sh = (acc[k] + th + (sum > 0xffffffff ? 1 : 0)) >>> 0;
      // r = rotl(s, 31)
      const rH = ((sh << 31) | (sl >>> 1)) >>> 0;
      const rL = ((sl << 31) | (sh >>> 1)) >>> 0;
      // acc = r * P1
      a0 = rL & 0xffff;
      a1 = rL >>> 16;
      t = a0 * p1a;
      m1 = a1 * p1a + (t >>> 16);
      m2 = a0 * p1b + (m1 & 0xffff);
      acc[k] = a1 * p1b + (m1 >>> 16) + (m2 >>> 16) + Math.imul(rH, P1L) + Math.imul(rL, P1H);
      acc[k + 1] = Math.imul(rL, P1L);
    }
    p += 32;
  } while (p <= limit);
  return p;
}

function readU32LE(b: Uint8Array, p: number): number {
  return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
}

/**
 * XXH64 of `data` (or of data[start, end)) with a seed given as a
 * non-negative integer below 2^53 (ROOT and zstd use seed 0).
 * Returns the hash as two unsigned 32-bit halves.
 */
export function xxhash64(data: Uint8Array, seed = 0, start = 0, end = data.length): U64 {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`xxhash64: seed must be a non-negative safe integer, got ${seed}`);
  if (start < 0 || end > data.length || start > end) throw new RangeError(`xxhash64: range [${start}, ${end}) outside data of ${data.length} bytes`);
  const seedH = Math.floor(seed / 0x100000000) >>> 0;
  const seedL = seed >>> 0;
  const len = end - start;
  let p = start;
  let hh: number, hl: number;

  if (len >= 32) {
    // four accumulators (hi, lo): seed + P1 + P2, seed + P2, seed, seed - P1
    const acc = new Uint32Array(8);
    add64(seedH, seedL, P1H, P1L);
    add64(rh, rl, P2H, P2L);
    acc[0] = rh; acc[1] = rl;
    add64(seedH, seedL, P2H, P2L);
    acc[2] = rh; acc[3] = rl;
    acc[4] = seedH; acc[5] = seedL;
    add64(seedH, seedL, NEG_P1H, NEG_P1L);
    acc[6] = rh; acc[7] = rl;
    p = stripes(data, p, end - 32, acc);
    // h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18), then merge each accumulator
    rotl64(acc[0], acc[1], 1);
    hh = rh; hl = rl;
    const rotations = [0, 7, 12, 18];
    for (let k = 2; k < 8; k += 2) {
      rotl64(acc[k], acc[k + 1], rotations[k >> 1]);
      add64(hh, hl, rh, rl);
      hh = rh; hl = rl;
    }
    for (let k = 0; k < 8; k += 2) {
      mergeRound(hh, hl, acc[k], acc[k + 1]);
      hh = rh; hl = rl;
    }
  } else {
    add64(seedH, seedL, P5H, P5L);
    hh = rh; hl = rl;
  }

  // h += total length (a Uint8Array is shorter than 2^53 bytes)
  add64(hh, hl, Math.floor(len / 0x100000000) >>> 0, len >>> 0);
  hh = rh; hl = rl;

  while (p + 8 <= end) {
    round(0, 0, readU32LE(data, p + 4), readU32LE(data, p));
    rotl64((hh ^ rh) >>> 0, (hl ^ rl) >>> 0, 27);
    mul64(rh, rl, P1H, P1L);
    add64(rh, rl, P4H, P4L);
    hh = rh; hl = rl;
    p += 8;
  }
  if (p + 4 <= end) {
    mul64(0, readU32LE(data, p), P1H, P1L);
    rotl64((hh ^ rh) >>> 0, (hl ^ rl) >>> 0, 23);
    mul64(rh, rl, P2H, P2L);
    add64(rh, rl, P3H, P3L);
    hh = rh; hl = rl;
    p += 4;
  }
  while (p < end) {
    mul64(0, data[p], P5H, P5L);
    rotl64((hh ^ rh) >>> 0, (hl ^ rl) >>> 0, 11);
    mul64(rh, rl, P1H, P1L);
    hh = rh; hl = rl;
    p++;
  }

  // avalanche: h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32
  hl = (hl ^ (hh >>> 1)) >>> 0;
  mul64(hh, hl, P2H, P2L);
  hh = rh;
  hl = (rl ^ ((rl >>> 29) | (rh << 3))) >>> 0;
  hh = (hh ^ (hh >>> 29)) >>> 0;
  mul64(hh, hl, P3H, P3L);
  return { hi: rh, lo: (rl ^ rh) >>> 0 };
}

/** XXH64 as 16 lowercase hex digits (the usual printed form). */
export function xxhash64Hex(data: Uint8Array, seed = 0): string {
  const { hi, lo } = xxhash64(data, seed);
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}
