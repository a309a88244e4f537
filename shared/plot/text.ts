// Text for SVG: XML escaping, ROOT/LaTeX-ish labels ("p_{T} [GeV]") as
// tspans, deterministic number formatting and a rough text-width estimate
// for layout. Pure functions, no DOM.

/** Characters XML 1.0 does not allow at all (C0 controls but tab/LF/CR, U+FFFE/U+FFFF, lone surrogates). */
// eslint-disable-next-line no-control-regex
const INVALID_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Text safe inside an element or a quoted attribute value. */
export function escapeXml(s: string): string {
  return s.replace(INVALID_XML, '\uFFFD').replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;'));
}

/** A coordinate or length: at most 2 decimals, no "-0", no exponent. */
export function num(x: number): string {
  const r = Math.round(x * 100) / 100;
  return r === 0 ? '0' : String(r);
}

const MINUS = '\u2212';

/** ASCII "-" as a typographic minus. */
function minus(s: string): string {
  return s.startsWith('-') ? MINUS + s.slice(1) : s;
}

/** Trailing zeros of a fixed-point number off ("2.50" → "2.5", "3.0" → "3"). */
function stripZeros(s: string): string {
  return s.includes('.') && !s.includes('e') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

/**
 * x with `digits` significant digits as rich text (see richText): plain
 * decimals from 10⁻³ up to 10⁶, else "1.234×10^{7}". Trailing zeros off,
 * typographic minus.
 */
export function formatSig(x: number, digits = 4): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'NaN' : x > 0 ? '∞' : `${MINUS}∞`;
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e6 || a < 1e-3) {
    let e = Math.floor(Math.log10(a));
    let m = Number((x / 10 ** e).toFixed(digits - 1));
    if (Math.abs(m) >= 10) {
      e += 1;
      m = Number((x / 10 ** e).toFixed(digits - 1));
    }
    return `${minus(stripZeros(m.toFixed(digits - 1)))}×10^{${minus(String(e))}}`;
  }
  const intDigits = Math.floor(Math.log10(a)) + 1;
  const decimals = Math.max(0, digits - intDigits);
  return minus(stripZeros(x.toFixed(decimals)));
}

/** A count: integers as they are, anything else with 4 significant digits. */
export function formatCount(n: number): string {
  return Number.isInteger(n) && Math.abs(n) < 1e15 ? minus(String(n)) : formatSig(n, 4);
}

/** A tick value with a fixed number of decimals and typographic minus. */
export function formatTick(x: number, decimals: number): string {
  const s = x.toFixed(Math.max(0, Math.min(20, decimals)));
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : minus(s);
}

/** A percentage: 3 significant digits below 100 %, at least one decimal for ≥ 1 %. */
export function formatPercent(fraction: number): string {
  if (!Number.isFinite(fraction)) return '—';
  const p = fraction * 100;
  if (p === 0) return '0%';
  if (p >= 1) return `${p.toFixed(1)}%`;
  return `${stripZeros(p.toPrecision(2))}%`;
}

// ---------------------------------------------------------------- rich text

const GREEK: Record<string, string> = {
  alpha: 'α', beta: 'β', gamma: 'γ', delta: 'δ', epsilon: 'ε', zeta: 'ζ', eta: 'η', theta: 'θ', iota: 'ι', kappa: 'κ',
  lambda: 'λ', mu: 'μ', nu: 'ν', xi: 'ξ', pi: 'π', rho: 'ρ', sigma: 'σ', tau: 'τ', upsilon: 'υ', phi: 'φ', chi: 'χ',
  psi: 'ψ', omega: 'ω', Gamma: 'Γ', Delta: 'Δ', Theta: 'Θ', Lambda: 'Λ', Xi: 'Ξ', Pi: 'Π', Sigma: 'Σ', Phi: 'Φ',
  Psi: 'Ψ', Omega: 'Ω', pm: '±', times: '×', to: '→', rightarrow: '→', ell: 'ℓ', infty: '∞', sqrt: '√',
  geq: '≥', leq: '≤', approx: '≈', cdot: '·',
};

/** One run of text at one level: 0 normal, -1 subscript, +1 superscript. */
export interface TextRun {
  text: string;
  level: -1 | 0 | 1;
}

/**
 * Splits a ROOT/LaTeX-ish label into runs: "_{…}" and "^{…}" are sub- and
 * superscripts; a bare "_X"/"^X" is one when X is a single letter or digit
 * standing alone ("p_T [GeV]", but not "jets_passOR"); "\eta", "#eta"
 * (ROOT) become Greek letters; "$" (LaTeX math delimiters) is dropped.
 */
export function parseRich(s: string): TextRun[] {
  const runs: TextRun[] = [];
  const push = (text: string, level: TextRun['level']) => {
    if (text === '') return;
    const last = runs[runs.length - 1];
    if (last && last.level === level) last.text += text;
    else runs.push({ text, level });
  };
  const symbols = (t: string) => t.replace(/[\\#]([A-Za-z]+)/g, (m, name: string) => GREEK[name] ?? m).replace(/\$/g, '');
  let i = 0;
  let plain = '';
  const flush = () => {
    push(symbols(plain), 0);
    plain = '';
  };
  while (i < s.length) {
    const c = s[i]!;
    if ((c === '_' || c === '^') && i + 1 < s.length) {
      const level = c === '_' ? -1 : 1;
      if (s[i + 1] === '{') {
        const close = matchingBrace(s, i + 1);
        if (close > 0) {
          flush();
          push(symbols(s.slice(i + 2, close).replace(/[{}]/g, '')), level);
          i = close + 1;
          continue;
        }
      } else if (/[A-Za-z0-9]/.test(s[i + 1]!) && !/[A-Za-z0-9]/.test(s[i + 2] ?? ' ') && i > 0) {
        flush();
        push(s[i + 1]!, level);
        i += 2;
        continue;
      }
    }
    plain += c;
    i++;
  }
  flush();
  return runs;
}

function matchingBrace(s: string, open: number): number {
  let depth = 0;
  for (let j = open; j < s.length; j++) {
    if (s[j] === '{') depth++;
    else if (s[j] === '}' && --depth === 0) return j;
  }
  return -1;
}

/** Runs as plain text (for widths and titles): "p_{T}" → "pT". */
export function plainText(s: string): string {
  return parseRich(s)
    .map((r) => r.text)
    .join('');
}

/**
 * The content of a <text> element of font size `size` for a rich label:
 * sub- and superscripts as smaller tspans moved with dy (not
 * baseline-shift, which Firefox ignores), back to the baseline after.
 */
export function richText(s: string, size: number): string {
  const runs = parseRich(s);
  if (runs.every((r) => r.level === 0)) return escapeXml(runs.map((r) => r.text).join(''));
  const shift = { [-1]: 0.3 * size, 0: 0, 1: -0.42 * size } as const;
  const small = num(size * 0.72);
  let offset = 0;
  let out = '';
  for (const r of runs) {
    const dy = shift[r.level] - offset;
    offset = shift[r.level];
    const attrs = (dy !== 0 ? ` dy="${num(dy)}"` : '') + (r.level !== 0 ? ` font-size="${small}"` : '');
    out += attrs ? `<tspan${attrs}>${escapeXml(r.text)}</tspan>` : escapeXml(r.text);
  }
  return out;
}

// ---------------------------------------------------------------- widths

/** Approximate advance widths in em of a Helvetica/Arial/DejaVu-like sans serif (upper estimate). */
function charWidth(c: string): number {
  if (/[il.,:;'|!ıj]/.test(c)) return 0.3;
  if (/[ ()[\]ftrI\-/]/.test(c)) return 0.4;
  if (/[mwMW]/.test(c)) return 0.92;
  if (/[A-Z]/.test(c)) return 0.72;
  if (/[0-9]/.test(c)) return 0.64;
  return 0.6;
}

/** Estimated width in px of a label at font size `size` (rich: see parseRich; else taken literally). */
export function textWidth(s: string, size: number, rich = true): number {
  let w = 0;
  for (const r of rich ? parseRich(s) : [{ text: s, level: 0 }]) {
    const k = r.level === 0 ? 1 : 0.72;
    for (const c of r.text) w += charWidth(c) * size * k;
  }
  return w;
}

/** Plain text s shortened with "…" to at most about `width` px at font size `size`. */
export function truncate(s: string, width: number, size: number): string {
  if (textWidth(s, size, false) <= width) return s;
  const chars = [...s];
  while (chars.length > 1 && textWidth(chars.join('') + '…', size, false) > width) chars.pop();
  return chars.join('') + '…';
}
