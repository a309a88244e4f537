// Columnar results: typed arrays and offsets, never per-event objects.
//
// A column is a tree of contents, the way awkward-array lays data out:
//   numeric  — one typed array in native byte order
//   list     — offsets (n+1, starting at 0) into a child content (jagged)
//   fixed    — a child content with `size` items per element (fixed-size arrays)
//   string   — offsets into UTF-8 bytes
//   record   — named fields of equal length (e.g. ElementLink {m_persKey, m_persIndex})
// A jagged column is list(numeric); a doubly jagged one list(list(numeric)).

export type Dtype = 'bool' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'float32' | 'float64';

export type NumericArray =
  | Uint8Array
  | Int8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | Float32Array
  | Float64Array;

export interface NumericContent {
  kind: 'numeric';
  dtype: Dtype;
  values: NumericArray;
}
export interface ListContent {
  kind: 'list';
  offsets: Int32Array;
  content: Content;
}
export interface FixedContent {
  kind: 'fixed';
  size: number;
  content: Content;
}
export interface StringContent {
  kind: 'string';
  offsets: Int32Array;
  bytes: Uint8Array;
}
export interface RecordContent {
  kind: 'record';
  length: number;
  fields: { name: string; content: Content }[];
}
export type Content = NumericContent | ListContent | FixedContent | StringContent | RecordContent;

export const DTYPE_SIZE: Record<Dtype, number> = {
  bool: 1,
  int8: 1,
  uint8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  int64: 8,
  uint64: 8,
  float32: 4,
  float64: 8,
};

export function allocate(dtype: Dtype, n: number): NumericArray {
  switch (dtype) {
    case 'bool':
    case 'uint8':
      return new Uint8Array(n);
    case 'int8':
      return new Int8Array(n);
    case 'int16':
      return new Int16Array(n);
    case 'uint16':
      return new Uint16Array(n);
    case 'int32':
      return new Int32Array(n);
    case 'uint32':
      return new Uint32Array(n);
    case 'int64':
      return new BigInt64Array(n);
    case 'uint64':
      return new BigUint64Array(n);
    case 'float32':
      return new Float32Array(n);
    case 'float64':
      return new Float64Array(n);
  }
}

export function contentLength(c: Content): number {
  switch (c.kind) {
    case 'numeric':
      return c.values.length;
    case 'list':
    case 'string':
      return c.offsets.length - 1;
    case 'fixed':
      return c.size === 0 ? 0 : Math.floor(contentLength(c.content) / c.size);
    case 'record':
      return c.length;
  }
}

/** Elements [start, stop) of a content; shares typed-array memory where it can. */
export function sliceContent(c: Content, start: number, stop: number): Content {
  if (start === 0 && stop === contentLength(c)) return c;
  switch (c.kind) {
    case 'numeric':
      return { kind: 'numeric', dtype: c.dtype, values: c.values.subarray(start, stop) };
    case 'fixed':
      return { kind: 'fixed', size: c.size, content: sliceContent(c.content, start * c.size, stop * c.size) };
    case 'record':
      return { kind: 'record', length: stop - start, fields: c.fields.map((f) => ({ name: f.name, content: sliceContent(f.content, start, stop) })) };
    case 'list': {
      const base = c.offsets[start]!;
      const offsets = rebase(c.offsets, start, stop, base);
      return { kind: 'list', offsets, content: sliceContent(c.content, base, c.offsets[stop]!) };
    }
    case 'string': {
      const base = c.offsets[start]!;
      return { kind: 'string', offsets: rebase(c.offsets, start, stop, base), bytes: c.bytes.subarray(base, c.offsets[stop]!) };
    }
  }
}

function rebase(offsets: Int32Array, start: number, stop: number, base: number): Int32Array {
  const out = new Int32Array(stop - start + 1);
  for (let i = 0; i <= stop - start; i++) out[i] = offsets[start + i]! - base;
  return out;
}

/** Concatenates contents of the same shape (one per basket) into one. */
export function concatContents(parts: Content[]): Content {
  if (parts.length === 1) return parts[0]!;
  const first = parts[0]!;
  switch (first.kind) {
    case 'numeric': {
      const arrays = parts.map((p) => (p as NumericContent).values);
      let n = 0;
      for (const a of arrays) n += a.length;
      const out = allocate(first.dtype, n);
      let o = 0;
      for (const a of arrays) {
        (out as Uint8Array).set(a as Uint8Array, o);
        o += a.length;
      }
      return { kind: 'numeric', dtype: first.dtype, values: out };
    }
    case 'fixed':
      return { kind: 'fixed', size: first.size, content: concatContents(parts.map((p) => (p as FixedContent).content)) };
    case 'record':
      return {
        kind: 'record',
        length: parts.reduce((s, p) => s + (p as RecordContent).length, 0),
        fields: first.fields.map((f, i) => ({ name: f.name, content: concatContents(parts.map((p) => (p as RecordContent).fields[i]!.content)) })),
      };
    case 'list':
      return { kind: 'list', offsets: concatOffsets(parts.map((p) => (p as ListContent).offsets)), content: concatContents(parts.map((p) => (p as ListContent).content)) };
    case 'string': {
      const offsets = concatOffsets(parts.map((p) => (p as StringContent).offsets));
      const bytes = new Uint8Array(offsets[offsets.length - 1]!);
      let o = 0;
      for (const p of parts as StringContent[]) {
        bytes.set(p.bytes.subarray(0, p.offsets[p.offsets.length - 1]!), o);
        o += p.offsets[p.offsets.length - 1]!;
      }
      return { kind: 'string', offsets, bytes };
    }
  }
}

function concatOffsets(list: Int32Array[]): Int32Array {
  let n = 1;
  for (const o of list) n += o.length - 1;
  const out = new Int32Array(n);
  let k = 1;
  let base = 0;
  for (const o of list) {
    const first = o[0]!;
    for (let i = 1; i < o.length; i++) out[k++] = base + o[i]! - first;
    base += o[o.length - 1]! - first;
  }
  return out;
}

const utf8 = new TextDecoder('utf-8');

export type PlainValue = number | string | PlainValue[] | { [field: string]: PlainValue };

/**
 * One element as plain JS (for `physlite dump`, tests and debugging — not for
 * hot loops). 64-bit integers become numbers, booleans 0/1.
 */
export function elementToPlain(c: Content, i: number): PlainValue {
  switch (c.kind) {
    case 'numeric': {
      const v = c.values[i]!;
      return typeof v === 'bigint' ? Number(v) : v;
    }
    case 'list': {
      const out: PlainValue[] = [];
      for (let j = c.offsets[i]!; j < c.offsets[i + 1]!; j++) out.push(elementToPlain(c.content, j));
      return out;
    }
    case 'fixed': {
      const out: PlainValue[] = [];
      for (let j = i * c.size; j < (i + 1) * c.size; j++) out.push(elementToPlain(c.content, j));
      return out;
    }
    case 'string':
      return utf8.decode(c.bytes.subarray(c.offsets[i]!, c.offsets[i + 1]!));
    case 'record': {
      const out: { [field: string]: PlainValue } = {};
      for (const f of c.fields) out[f.name] = elementToPlain(f.content, i);
      return out;
    }
  }
}

export function toPlainArray(c: Content): PlainValue[] {
  const n = contentLength(c);
  const out: PlainValue[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = elementToPlain(c, i);
  return out;
}
