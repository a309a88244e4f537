// Deterministic low-bit jitter of float payloads, so that events resampled
// from a small source do not repeat byte for byte (which would let the codecs
// find long matches and compress far better than real data).
//
// Only the mantissa is touched, below its top PROTECTED bits, starting at the
// value's lowest set bit (so zeros, integers-as-floats and floats widened to
// doubles keep their trailing zeros, as in real data): sign, exponent, NaN,
// ±Inf, zero and subnormals are left alone. A jittered value thus differs from
// its source value by less than 2^-11 (float) or 2^-20 (double) relative.

/** Bits of a float's mantissa never touched: the value moves by < 2^-(this - 1) relative. */
export const F32_PROTECTED = 12;
export const F64_PROTECTED = 20;
const F32_BITS = 11;
const F64_BITS = 16;

export type JitterKind = 'f32' | 'f64';

/** How an entry of a branch holds floats: `header` bytes (copied as they are), then big-endian values to its end. */
export interface JitterPlan {
  kind: JitterKind;
  header: number;
  /** vector<vector<float|double>>: after the entry's header and outer size, each inner vector is its size then its values. */
  nested?: boolean;
}

/** A xorshift32 stream: fast, and the same numbers for the same seed everywhere. */
export class Xorshift32 {
  private s: number;
  constructor(seed: number) {
    this.s = (seed | 0) || 0x9e3779b9;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x;
    return x >>> 0;
  }
}

function trailingZeros(x: number): number {
  return x === 0 ? 32 : 31 - Math.clz32(x & -x);
}

/**
 * Jitters the floats of one entry in place: buf[start, end) holds the entry.
 * An entry whose value bytes are not whole values is left as it is.
 */
export function jitterEntry(view: DataView, start: number, end: number, plan: JitterPlan, rng: Xorshift32): void {
  if (plan.nested) return jitterNested(view, start, end, plan, rng);
  jitterValues(view, start + plan.header, end, plan.kind, rng);
}

/** vector<vector<T>>: byte count and version, outer size, then (size, values) per inner vector; a malformed entry is left alone. */
function jitterNested(view: DataView, start: number, end: number, plan: JitterPlan, rng: Xorshift32): void {
  const size = plan.kind === 'f32' ? 4 : 8;
  let p = start + plan.header;
  if (p + 4 > end) return;
  const n = view.getInt32(p);
  p += 4;
  // check the whole entry first: only a well-formed one is touched
  let q = p;
  for (let j = 0; j < n && q <= end; j++) {
    if (q + 4 > end) return;
    const m = view.getInt32(q);
    if (m < 0) return;
    q += 4 + m * size;
  }
  if (n < 0 || q !== end) return;
  for (let j = 0; j < n; j++) {
    const m = view.getInt32(p);
    p += 4;
    jitterValues(view, p, p + m * size, plan.kind, rng);
    p += m * size;
  }
}

function jitterValues(view: DataView, from: number, end: number, kind: JitterKind, rng: Xorshift32): void {
  const plan = { kind };
  if (plan.kind === 'f32') {
    if (from > end || (end - from) % 4 !== 0) return;
    const top = 23 - F32_PROTECTED;
    for (let p = from; p < end; p += 4) {
      const bits = view.getUint32(p);
      const exp = (bits >>> 23) & 0xff;
      if (exp === 0 || exp === 0xff) continue;
      const t = trailingZeros(bits & 0x7fffff);
      if (t >= top) continue;
      const width = Math.min(F32_BITS, top - t);
      const mask = ((1 << width) - 1) << t;
      view.setUint32(p, (bits ^ (rng.next() & mask)) >>> 0);
    }
  } else {
    if (from > end || (end - from) % 8 !== 0) return;
    // the low word holds mantissa bits 0–31; bits at 52 - F64_PROTECTED = 32 and above are kept
    for (let p = from; p < end; p += 8) {
      const hi = view.getUint32(p);
      const exp = (hi >>> 20) & 0x7ff;
      if (exp === 0 || exp === 0x7ff) continue;
      const lo = view.getUint32(p + 4);
      const t = trailingZeros(lo);
      if (t >= 32) continue;
      const width = Math.min(F64_BITS, 32 - t);
      const mask = width >= 32 ? 0xffffffff : ((1 << width) - 1) << t;
      view.setUint32(p + 4, (lo ^ (rng.next() & mask)) >>> 0);
    }
  }
}
