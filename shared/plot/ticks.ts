// Axis ticks: round 1-2-5 steps on linear axes, decades on log axes.

import { formatTick } from './text';

export interface Tick {
  value: number;
  /** Rich text (see text.ts): "20", "−2.5", "10^{3}". */
  label: string;
}

export interface AxisTicks {
  major: Tick[];
  minor: number[];
  /**
   * Labels are value / 10^exponent; a non-zero exponent is shown once as
   * "×10^{exponent}" at the end of the axis (ROOT's and matplotlib's way for
   * large numbers).
   */
  exponent: number;
}

/** The smallest step m·10^e (m ∈ {1, 2, 5}) with (hi − lo) / step ≤ maxTicks; integer: step ≥ 1. */
export function niceStep(span: number, maxTicks: number, integer = false): { mantissa: 1 | 2 | 5; exp: number } {
  const raw = span / Math.max(1, maxTicks);
  let exp = Math.floor(Math.log10(raw));
  if (!Number.isFinite(exp)) exp = 0;
  for (;;) {
    for (const mantissa of [1, 2, 5] as const) {
      const step = stepValue(mantissa, exp);
      if (step >= raw * (1 - 1e-9) && (!integer || step >= 1)) return { mantissa, exp };
    }
    exp++;
  }
}

function stepValue(mantissa: number, exp: number): number {
  return exp >= 0 ? mantissa * 10 ** exp : mantissa / 10 ** -exp;
}

/** i·m·10^e without the rounding noise of i·(m·10^e) for e < 0. */
function multiple(i: number, mantissa: number, exp: number): number {
  return exp >= 0 ? i * mantissa * 10 ** exp : (i * mantissa) / 10 ** -exp;
}

/**
 * Ticks on [lo, hi] with at most about maxTicks major ticks. With
 * `multiplierFrom`, labels of an axis whose largest |tick| reaches it are
 * divided by a power of 10 that is a multiple of 3 (0, 20, …, 120 ×10³).
 */
export function linearTicks(lo: number, hi: number, maxTicks: number, options: { integer?: boolean; multiplierFrom?: number } = {}): AxisTicks {
  const { mantissa, exp } = niceStep(hi - lo, maxTicks, options.integer);
  const step = stepValue(mantissa, exp);
  const first = Math.ceil(lo / step - 1e-9);
  const last = Math.floor(hi / step + 1e-9);
  const values: number[] = [];
  for (let i = first; i <= last; i++) values.push(multiple(i, mantissa, exp));
  const biggest = Math.max(...values.map(Math.abs), 0);
  const exponent = options.multiplierFrom !== undefined && biggest >= options.multiplierFrom ? 3 * Math.floor(Math.log10(biggest) / 3) : 0;
  const decimals = Math.max(0, exponent - exp);
  const major = values.map((value) => ({ value, label: formatTick(exponent ? value / 10 ** exponent : value, decimals) }));
  // minor ticks: step / 5 (or / 4 for a 2), whole numbers only on integer axes
  let divisions = mantissa === 2 ? 4 : 5;
  if (options.integer) divisions = [divisions, 2, 1].find((d) => Number.isInteger(step / d)) ?? 1;
  const minor: number[] = [];
  const mFirst = Math.ceil((lo / step) * divisions - 1e-9);
  const mLast = Math.floor((hi / step) * divisions + 1e-9);
  if (divisions > 1) for (let j = mFirst; j <= mLast; j++) if (j % divisions !== 0) minor.push(multiple(j, mantissa, exp) / divisions);
  return { major, minor, exponent };
}

/**
 * Decade ticks on [lo, hi] (0 < lo < hi): "1", "10", "10^{2}", …; every n-th
 * decade labelled when there are many, 2× and 5× labelled too when there are few.
 */
export function logTicks(lo: number, hi: number, maxTicks: number): AxisTicks {
  const kLo = Math.ceil(Math.log10(lo) - 1e-9);
  const kHi = Math.floor(Math.log10(hi) + 1e-9);
  const every = Math.max(1, Math.ceil((kHi - kLo + 1) / Math.max(1, maxTicks)));
  const major: Tick[] = [];
  const minor: number[] = [];
  for (let k = kLo; k <= kHi; k++) {
    const value = 10 ** k;
    if (((k % every) + every) % every === 0) major.push({ value, label: k === 0 ? '1' : k === 1 ? '10' : `10^{${formatTick(k, 0)}}` });
    else minor.push(value);
  }
  if (every === 1) {
    // with fewer than three decades, 2 and 5 times a power of ten are labelled too
    const labelled = kHi - kLo < 2 ? [2, 5] : [];
    for (let k = kLo - 1; k <= kHi; k++) {
      for (let d = 2; d <= 9; d++) {
        const value = k >= 0 ? d * 10 ** k : d / 10 ** -k;
        if (value < lo * (1 - 1e-9) || value > hi * (1 + 1e-9)) continue;
        if (labelled.includes(d)) major.push({ value, label: formatTick(value, Math.max(0, -k)) });
        else minor.push(value);
      }
    }
  }
  return { major: major.sort((a, b) => a.value - b.value), minor: minor.sort((a, b) => a - b), exponent: 0 };
}
