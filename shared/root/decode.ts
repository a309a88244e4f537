// Turning one basket's uncompressed bytes into columnar contents.
//
// A branch is decoded by a BasketDecoder chosen once per branch
// (see interpretation.ts). The common PHYSLITE shapes have bulk fast paths:
//   fixed-size entries   → one conversion loop over the whole basket
//   split members        → one loop; counts from the entry byte offsets
//   vector<number>       → per entry: check the header, bulk-convert its values
// Everything else runs a reader compiled from the type tree. Every entry must
// end exactly where the basket's entry offsets say: a type that does not match
// the bytes is an error, never wrong values.

import { RootError } from './errors';
import { allocate, DTYPE_SIZE, type Content, type Dtype, type NumericArray } from './content';
import { typeNodeName, type TypeNode } from './types';

const BYTE_COUNT_MASK = 0x40000000;
const MEMBERWISE = 0x4000;
const MAX_MEMBERWISE_ELEMENTS = 1 << 24;

export interface BasketData {
  /** Entry data (the part before the entry-offset table). */
  data: Uint8Array;
  /** Start of each entry in `data`, plus the end (entries+1 values), or null when entries are fixed-size. */
  offsets: Int32Array | null;
  entries: number;
}

export interface BasketDecoder {
  /** For messages: what the decoder expects. */
  readonly description: string;
  decode(b: BasketData): Content;
}

function corrupt(detail: string): RootError {
  return new RootError('CORRUPT', detail);
}

function viewOf(a: Uint8Array): DataView {
  return new DataView(a.buffer, a.byteOffset, a.byteLength);
}

/** Converts n big-endian values at `pos` into `out[o…]` (native order). */
export function readBulk(dtype: Dtype, view: DataView, pos: number, n: number, out: NumericArray, o: number, double32 = false): void {
  switch (dtype) {
    case 'float32': {
      const a = out as Float32Array;
      for (let i = 0; i < n; i++) a[o + i] = view.getFloat32(pos + 4 * i);
      return;
    }
    case 'float64': {
      const a = out as Float64Array;
      if (double32) for (let i = 0; i < n; i++) a[o + i] = view.getFloat32(pos + 4 * i);
      else for (let i = 0; i < n; i++) a[o + i] = view.getFloat64(pos + 8 * i);
      return;
    }
    case 'int32': {
      const a = out as Int32Array;
      for (let i = 0; i < n; i++) a[o + i] = view.getInt32(pos + 4 * i);
      return;
    }
    case 'uint32': {
      const a = out as Uint32Array;
      for (let i = 0; i < n; i++) a[o + i] = view.getUint32(pos + 4 * i);
      return;
    }
    case 'int16': {
      const a = out as Int16Array;
      for (let i = 0; i < n; i++) a[o + i] = view.getInt16(pos + 2 * i);
      return;
    }
    case 'uint16': {
      const a = out as Uint16Array;
      for (let i = 0; i < n; i++) a[o + i] = view.getUint16(pos + 2 * i);
      return;
    }
    case 'int8': {
      const a = out as Int8Array;
      for (let i = 0; i < n; i++) a[o + i] = view.getInt8(pos + i);
      return;
    }
    case 'uint8': {
      const a = out as Uint8Array;
      for (let i = 0; i < n; i++) a[o + i] = view.getUint8(pos + i);
      return;
    }
    case 'bool': {
      const a = out as Uint8Array;
      for (let i = 0; i < n; i++) a[o + i] = view.getUint8(pos + i) !== 0 ? 1 : 0;
      return;
    }
    case 'int64': {
      const a = out as BigInt64Array;
      for (let i = 0; i < n; i++) a[o + i] = view.getBigInt64(pos + 8 * i);
      return;
    }
    case 'uint64': {
      const a = out as BigUint64Array;
      for (let i = 0; i < n; i++) a[o + i] = view.getBigUint64(pos + 8 * i);
      return;
    }
  }
}

/** Bytes per stored value (Double32_t without a range is stored as a float). */
function storedSize(t: { dtype: Dtype; double32?: boolean }): number {
  return t.double32 ? 4 : DTYPE_SIZE[t.dtype];
}

// ---------------------------------------------------------------------------
// Fast paths

/** Fixed-size entries of `perEntry` primitive values each (scalars, fixed arrays), no headers. */
export class FixedPrimitiveDecoder implements BasketDecoder {
  readonly description: string;
  constructor(
    readonly dtype: Dtype,
    readonly perEntry: number,
    readonly double32 = false,
  ) {
    this.description = perEntry === 1 ? dtype : `${dtype}[${perEntry}]`;
  }
  decode(b: BasketData): Content {
    const size = this.double32 ? 4 : DTYPE_SIZE[this.dtype];
    const n = b.entries * this.perEntry;
    if (b.offsets) {
      // fixed-size data may still carry an offset table; it must agree
      const expected = size * this.perEntry;
      for (let i = 0; i < b.entries; i++) {
        if (b.offsets[i + 1]! - b.offsets[i]! !== expected) throw corrupt(`entry ${i} has ${b.offsets[i + 1]! - b.offsets[i]!} bytes, expected ${expected} for ${this.description}`);
      }
    }
    // without an offset table the entries fill the basket exactly: bytes left over mean the type does not match
    const used = (b.offsets ? b.offsets[0]! : 0) + n * size;
    if (b.offsets ? used > b.data.length : used !== b.data.length) {
      throw corrupt(`basket holds ${b.data.length} bytes, ${b.entries} entries of ${this.description} take ${n * size}`);
    }
    const values = allocate(this.dtype, n);
    readBulk(this.dtype, viewOf(b.data), b.offsets ? b.offsets[0]! : 0, n, values, 0, this.double32);
    const numeric: Content = { kind: 'numeric', dtype: this.dtype, values };
    return this.perEntry === 1 ? numeric : { kind: 'fixed', size: this.perEntry, content: numeric };
  }
}

/**
 * Variable-length arrays of primitives stored back to back with no per-entry
 * header (members of split collections, `x[n]` leaves): counts come from the
 * entry byte offsets.
 */
export class JaggedPrimitiveDecoder implements BasketDecoder {
  readonly description: string;
  constructor(
    readonly dtype: Dtype,
    readonly inner = 1,
    readonly double32 = false,
    /** bytes before each entry's values (1 for pointer members: a "has array" flag) */
    readonly headerBytes = 0,
  ) {
    this.description = `${dtype}${inner > 1 ? `[${inner}]` : ''}[n]`;
  }
  decode(b: BasketData): Content {
    if (!b.offsets) throw corrupt(`a variable-length ${this.description} basket has no entry offsets`);
    const size = (this.double32 ? 4 : DTYPE_SIZE[this.dtype]) * this.inner;
    const hb = this.headerBytes;
    const offsets = new Int32Array(b.entries + 1);
    for (let i = 0; i < b.entries; i++) {
      const len = b.offsets[i + 1]! - b.offsets[i]! - hb;
      if (len < 0 || len % size !== 0) throw corrupt(`entry ${i} has ${len + hb} bytes, not ${hb} header bytes and whole ${size}-byte items`);
      offsets[i + 1] = offsets[i]! + len / size;
    }
    const n = offsets[b.entries]! * this.inner;
    const values = allocate(this.dtype, n);
    const view = viewOf(b.data);
    if (hb === 0) readBulk(this.dtype, view, b.offsets[0]!, n, values, 0, this.double32);
    else {
      for (let i = 0; i < b.entries; i++) {
        readBulk(this.dtype, view, b.offsets[i]! + hb, (offsets[i + 1]! - offsets[i]!) * this.inner, values, offsets[i]! * this.inner, this.double32);
      }
    }
    const numeric: Content = { kind: 'numeric', dtype: this.dtype, values };
    return { kind: 'list', offsets, content: this.inner > 1 ? { kind: 'fixed', size: this.inner, content: numeric } : numeric };
  }
}

/** vector<number> written as an object per entry: byte count + version, size, values. */
export class VectorPrimitiveDecoder implements BasketDecoder {
  readonly description: string;
  constructor(
    readonly dtype: Dtype,
    readonly double32 = false,
  ) {
    this.description = `vector<${dtype}>`;
  }
  decode(b: BasketData): Content {
    if (!b.offsets) throw corrupt(`a ${this.description} basket has no entry offsets`);
    const size = this.double32 ? 4 : DTYPE_SIZE[this.dtype];
    const view = viewOf(b.data);
    const offsets = new Int32Array(b.entries + 1);
    // first pass: validate headers and count values, so values are allocated once
    for (let i = 0; i < b.entries; i++) {
      const p = b.offsets[i]!;
      const len = b.offsets[i + 1]! - p;
      if (len < 10) throw corrupt(`entry ${i} has ${len} bytes, too short for a ${this.description}`);
      const bc = view.getUint32(p);
      if (!(bc & BYTE_COUNT_MASK) || (bc & ~BYTE_COUNT_MASK) !== len - 4) throw corrupt(`entry ${i}: byte count ${bc & ~BYTE_COUNT_MASK} does not match its ${len}-byte slot`);
      if (view.getUint16(p + 4) & MEMBERWISE) throw new RootError('UNSUPPORTED', `memberwise-streamed ${this.description}`);
      const n = view.getInt32(p + 6);
      if (n < 0 || 10 + n * size !== len) throw corrupt(`entry ${i}: ${n} values of ${size} bytes do not fill its ${len}-byte slot`);
      offsets[i + 1] = offsets[i]! + n;
    }
    const values = allocate(this.dtype, offsets[b.entries]!);
    for (let i = 0; i < b.entries; i++) {
      readBulk(this.dtype, view, b.offsets[i]! + 10, offsets[i + 1]! - offsets[i]!, values, offsets[i]!, this.double32);
    }
    return { kind: 'list', offsets, content: { kind: 'numeric', dtype: this.dtype, values } };
  }
}

// ---------------------------------------------------------------------------
// Generic path: readers compiled from a type tree, appending into builders.

interface Builder {
  build(): Content;
}

class NumericBuilder implements Builder {
  values: NumericArray;
  n = 0;
  constructor(readonly dtype: Dtype) {
    this.values = allocate(dtype, 64);
  }
  reserve(k: number): void {
    if (this.n + k <= this.values.length) return;
    let cap = this.values.length * 2;
    while (cap < this.n + k) cap *= 2;
    const next = allocate(this.dtype, cap);
    (next as Uint8Array).set(this.values as Uint8Array);
    this.values = next;
  }
  build(): Content {
    return { kind: 'numeric', dtype: this.dtype, values: this.values.subarray(0, this.n) };
  }
}

class OffsetsBuilder {
  a = new Int32Array(64);
  n = 1;
  push(v: number): void {
    if (this.n === this.a.length) {
      const next = new Int32Array(this.a.length * 2);
      next.set(this.a);
      this.a = next;
    }
    this.a[this.n++] = v;
  }
  get last(): number {
    return this.a[this.n - 1]!;
  }
  build(): Int32Array {
    return this.a.slice(0, this.n);
  }
}

class ListBuilder implements Builder {
  offsets = new OffsetsBuilder();
  constructor(readonly child: Builder) {}
  build(): Content {
    return { kind: 'list', offsets: this.offsets.build(), content: this.child.build() };
  }
}

class FixedBuilder implements Builder {
  constructor(
    readonly size: number,
    readonly child: Builder,
  ) {}
  build(): Content {
    return { kind: 'fixed', size: this.size, content: this.child.build() };
  }
}

class StringBuilder implements Builder {
  offsets = new OffsetsBuilder();
  bytes = new Uint8Array(256);
  push(src: Uint8Array, start: number, len: number): void {
    const at = this.offsets.last;
    if (at + len > this.bytes.length) {
      let cap = this.bytes.length * 2;
      while (cap < at + len) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.bytes.subarray(0, at));
      this.bytes = next;
    }
    this.bytes.set(src.subarray(start, start + len), at);
    this.offsets.push(at + len);
  }
  build(): Content {
    const offsets = this.offsets.build();
    return { kind: 'string', offsets, bytes: this.bytes.slice(0, offsets[offsets.length - 1]!) };
  }
}

class RecordBuilder implements Builder {
  length = 0;
  constructor(readonly fields: { name: string; builder: Builder }[]) {}
  build(): Content {
    return { kind: 'record', length: this.length, fields: this.fields.map((f) => ({ name: f.name, content: f.builder.build() })) };
  }
}

interface Input {
  view: DataView;
  bytes: Uint8Array;
  end: number;
}

/** Reads one value at pos, appends it to the builder, returns the new position. */
type Reader = (input: Input, pos: number) => number;

function need(input: Input, pos: number, n: number, what: string): void {
  if (n < 0 || pos + n > input.end) throw corrupt(`${what} needs ${n} bytes at ${pos} but the entry ends at ${input.end}`);
}

/** A collection's byte count + version header: [position after it, end of object, member-wise?]. */
function readCollectionHeader(input: Input, pos: number, what: string): [number, number, boolean] {
  need(input, pos, 6, `${what} header`);
  const bc = input.view.getUint32(pos);
  if (!(bc & BYTE_COUNT_MASK)) throw corrupt(`${what} has no byte count at ${pos}`);
  const end = pos + 4 + (bc & ~BYTE_COUNT_MASK);
  if (end > input.end) throw corrupt(`${what} byte count runs past its entry`);
  return [pos + 6, end, (input.view.getUint16(pos + 4) & MEMBERWISE) !== 0];
}

/** Reads a byte count + version header; returns [position after header, end of object]. */
function readHeader(input: Input, pos: number, what: string): [number, number] {
  need(input, pos, 6, `${what} header`);
  const bc = input.view.getUint32(pos);
  if (!(bc & BYTE_COUNT_MASK)) throw corrupt(`${what} has no byte count at ${pos}`);
  const end = pos + 4 + (bc & ~BYTE_COUNT_MASK);
  if (end > input.end) throw corrupt(`${what} byte count runs past its entry`);
  const version = input.view.getUint16(pos + 4);
  if (version & MEMBERWISE) throw new RootError('UNSUPPORTED', `memberwise-streamed ${what}`);
  // version 0: a foreign class (no ClassDef) identified by its 4-byte checksum instead
  if (version === 0) {
    need(input, pos + 6, 4, `${what} checksum`);
    return [pos + 10, end];
  }
  return [pos + 6, end];
}

/** A string: one length byte (255: a 4-byte length follows), then the bytes. */
function readString(input: Input, pos: number, b: StringBuilder): number {
  need(input, pos, 1, 'string length');
  let len = input.view.getUint8(pos);
  pos += 1;
  if (len === 255) {
    need(input, pos, 4, 'string length');
    len = input.view.getInt32(pos);
    pos += 4;
  }
  need(input, pos, len, 'string');
  b.push(input.bytes, pos, len);
  return pos + len;
}

interface Compiled {
  builder: Builder;
  read: Reader;
  /**
   * STL containers and strings: the value without its own header, for a
   * member written member-wise (n values under one header); `memberwise` is
   * that header's flag, which makes nested collections member-wise too.
   */
  readBody?: (input: Input, pos: number, memberwise: boolean, end: number) => number;
  /** Records: n objects written member-wise (each member of all n, in turn). */
  readMany?: (input: Input, pos: number, n: number) => number;
}

/** Skips the element class version (and checksum, for version 0) that follows a member-wise header. */
function skipElementVersion(input: Input, pos: number): number {
  need(input, pos, 2, 'element class version');
  return pos + (input.view.getUint16(pos) === 0 ? 6 : 2);
}

/**
 * Compiles a reader for a type. `header` says whether the value is written
 * with a byte count + version (top-level objects, class members that are STL
 * containers or objects, objects inside containers); nested containers inside
 * containers and primitives carry none.
 */
export function compileType(t: TypeNode, header: boolean): Compiled {
  switch (t.kind) {
    case 'primitive': {
      const b = new NumericBuilder(t.dtype);
      const size = storedSize(t);
      const d32 = !!t.double32;
      return {
        builder: b,
        read: (input, pos) => {
          need(input, pos, size, t.dtype);
          b.reserve(1);
          readBulk(t.dtype, input.view, pos, 1, b.values, b.n, d32);
          b.n++;
          return pos + size;
        },
      };
    }
    case 'string': {
      const b = new StringBuilder();
      return {
        builder: b,
        read: (input, pos) => {
          let end = -1;
          if (header) [pos, end] = readHeader(input, pos, 'string');
          pos = readString(input, pos, b);
          if (end >= 0 && pos !== end) throw corrupt(`string ends at ${pos}, its byte count says ${end}`);
          return pos;
        },
        readBody: (input, pos) => readString(input, pos, b),
      };
    }
    case 'array': {
      const inner = compileType(t.item, false);
      const b = new FixedBuilder(t.size, inner.builder);
      return {
        builder: b,
        read: (input, pos) => {
          for (let i = 0; i < t.size; i++) pos = inner.read(input, pos);
          return pos;
        },
      };
    }
    case 'vector': {
      const item = t.item;
      if (item.kind === 'primitive') {
        const child = new NumericBuilder(item.dtype);
        const b = new ListBuilder(child);
        const size = storedSize(item);
        const d32 = !!item.double32;
        const body = (input: Input, pos: number): number => {
          need(input, pos, 4, 'vector size');
          const n = input.view.getInt32(pos);
          pos += 4;
          need(input, pos, n * size, `vector of ${n}`);
          child.reserve(n);
          readBulk(item.dtype, input.view, pos, n, child.values, child.n, d32);
          child.n += n;
          pos += n * size;
          b.offsets.push(child.n);
          return pos;
        };
        return {
          builder: b,
          read: (input, pos) => {
            let end = -1;
            if (header) [pos, end] = readHeader(input, pos, 'vector');
            pos = body(input, pos);
            if (end >= 0 && pos !== end) throw corrupt(`vector ends at ${pos}, its byte count says ${end}`);
            return pos;
          },
          readBody: (input, pos, memberwise) => {
            if (memberwise) throw new RootError('UNSUPPORTED', `member-wise ${t.container} of ${item.dtype}`);
            return body(input, pos);
          },
        };
      }
      // objects inside a container carry their own header; containers and strings do not
      const inner = compileType(item, item.kind === 'record');
      const b = new ListBuilder(inner.builder);
      let count = 0;
      /** `end`: where the enclosing byte count ends (-1 when none) */
      const body = (input: Input, pos: number, memberwise: boolean, end: number): number => {
        need(input, pos, 4, 'vector size');
        const n = input.view.getInt32(pos);
        pos += 4;
        // member-wise elements without members take no bytes: bound the count instead
        if (n < 0 || (memberwise ? n > MAX_MEMBERWISE_ELEMENTS : n > input.end - pos)) throw corrupt(`vector claims ${n} elements in ${input.end - pos} bytes`);
        if (memberwise && n > 0) {
          // member-wise streaming stores each member of all n elements together
          if (item.kind === 'unknown') {
            // a class without streamer info is readable only when it has no members (no bytes)
            if (pos !== end) throw new RootError('UNSUPPORTED', `member-wise ${t.container} of ${item.className}, which the file has no streamer info for, with member data`);
            (inner.builder as RecordBuilder).length += n;
          } else if (!inner.readMany) throw new RootError('UNSUPPORTED', `member-wise ${t.container} of ${typeNodeName(item)}`);
          else pos = inner.readMany(input, pos, n);
        } else for (let i = 0; i < n; i++) pos = inner.read(input, pos);
        count += n;
        b.offsets.push(count);
        return pos;
      };
      return {
        builder: b,
        read: (input, pos) => {
          let end = -1;
          let memberwise = false;
          if (header) [pos, end, memberwise] = readCollectionHeader(input, pos, t.container);
          if (memberwise) pos = skipElementVersion(input, pos);
          pos = body(input, pos, memberwise, end);
          if (end >= 0 && pos !== end) throw corrupt(`vector ends at ${pos}, its byte count says ${end}`);
          return pos;
        },
        readBody: body,
      };
    }
    case 'unknown': {
      const b = new RecordBuilder([]);
      return {
        builder: b,
        read: () => {
          throw new RootError('UNSUPPORTED', `a value of class ${t.className}, which the file has no streamer info for`);
        },
      };
    }
    case 'record': {
      // Base classes are streamed first, each as an object with its own header;
      // their members appear as fields of this record.
      const readers: Compiled[] = [];
      const fieldBuilders: { name: string; builder: Builder }[] = [];
      for (const base of t.bases) {
        const c = compileType(base, true);
        readers.push(c);
        for (const f of (c.builder as RecordBuilder).fields) fieldBuilders.push(f);
      }
      /** per reader: a member written with its own header that member-wise streaming wraps once around all n values */
      const grouped: boolean[] = t.bases.map(() => false);
      for (const f of t.fields) {
        const c = compileType(f.type, f.header);
        readers.push(c);
        grouped.push(f.header && !!c.readBody);
        fieldBuilders.push({ name: f.name, builder: c.builder });
      }
      const b = new RecordBuilder(fieldBuilders);
      return {
        builder: b,
        read: (input, pos) => {
          let end = -1;
          if (header) [pos, end] = readHeader(input, pos, t.className);
          for (const r of readers) pos = r.read(input, pos);
          b.length++;
          if (end >= 0 && pos !== end) throw corrupt(`${t.className} ends at ${pos}, its byte count says ${end}`);
          return pos;
        },
        // Member-wise (ROOT's kStreamedMemberWise): base classes are flattened
        // into their members; an STL or string member's n values share one
        // header; any other member is read n times as usual.
        readMany: (input, pos, n) => {
          for (let r = 0; r < readers.length; r++) {
            const c = readers[r]!;
            if (r < t.bases.length) {
              if (!c.readMany) throw new RootError('UNSUPPORTED', `member-wise ${t.className} with base ${typeNodeName(t.bases[r]!)}`);
              pos = c.readMany(input, pos, n);
            } else if (grouped[r]) {
              const name = t.fields[r - t.bases.length]!.name;
              const [start, stop, memberwise] = readCollectionHeader(input, pos, `member ${name}`);
              pos = memberwise ? skipElementVersion(input, start) : start;
              for (let k = 0; k < n; k++) pos = c.readBody!(input, pos, memberwise, stop);
              if (pos !== stop) throw corrupt(`member ${name} ends at ${pos}, its byte count says ${stop}`);
            } else for (let k = 0; k < n; k++) pos = c.read(input, pos);
          }
          b.length += n;
          return pos;
        },
      };
    }
  }
}

/** Decodes each entry with a compiled reader; each entry must end at its offset. */
export class GenericDecoder implements BasketDecoder {
  readonly description: string;
  constructor(
    readonly type: TypeNode,
    readonly header: boolean,
    description: string,
  ) {
    this.description = description;
  }
  decode(b: BasketData): Content {
    const compiled = compileType(this.type, this.header);
    const view = viewOf(b.data);
    const input: Input = { view, bytes: b.data, end: 0 };
    if (!b.offsets) {
      // fixed-size entries: read them back to back
      input.end = b.data.length;
      let pos = 0;
      for (let i = 0; i < b.entries; i++) pos = compiled.read(input, pos);
      if (pos !== b.data.length) throw corrupt(`${b.entries} entries decoded as ${this.description} use ${pos} of the basket's ${b.data.length} bytes`);
      return compiled.builder.build();
    }
    for (let i = 0; i < b.entries; i++) {
      const start = b.offsets[i]!;
      input.end = b.offsets[i + 1]!;
      const pos = compiled.read(input, start);
      if (pos !== input.end) throw corrupt(`entry ${i} decoded as ${this.description} uses ${pos - start} of its ${input.end - start} bytes`);
    }
    return compiled.builder.build();
  }
}

/**
 * Split-collection members (`coll.member` with fType 31/41) whose members are
 * not primitives: each entry is a run of items with no per-entry header,
 * the count of items is not stored in the entry, so it needs the parent's
 * counts: we decode items until the entry's bytes are used up.
 */
export class JaggedGenericDecoder implements BasketDecoder {
  readonly description: string;
  constructor(
    readonly item: TypeNode,
    readonly itemHeader: boolean,
    description: string,
    readonly entryHeader = false,
  ) {
    this.description = description;
  }
  decode(b: BasketData): Content {
    if (!b.offsets) throw corrupt(`a variable-length ${this.description} basket has no entry offsets`);
    const compiled = compileType(this.item, this.itemHeader);
    const list = new ListBuilder(compiled.builder);
    const input: Input = { view: viewOf(b.data), bytes: b.data, end: 0 };
    let count = 0;
    for (let i = 0; i < b.entries; i++) {
      let pos = b.offsets[i]!;
      input.end = b.offsets[i + 1]!;
      if (this.entryHeader && input.end > pos) {
        const [next, end] = readHeader(input, pos, this.description);
        if (end !== input.end) throw corrupt(`entry ${i}: byte count ends at ${end}, the entry at ${input.end}`);
        pos = next;
      }
      while (pos < input.end) {
        pos = compiled.read(input, pos);
        count++;
      }
      list.offsets.push(count);
    }
    return list.build();
  }
}

// ---------------------------------------------------------------------------
// Nested fast paths: vector<vector<number>>, vector<vector<Record>>, vector<Record>
// where Record is a class of primitive members (ElementLink and the like).
// Two passes over the basket: the first validates every header and counts, so
// the second writes straight into exactly-sized typed arrays.

const OP_HEADER = 0;
const OP_END = 1;
const OP_FIELD = 2;

/** A class whose members (and its bases' members) are all primitives, as a flat list of ops. */
export interface FlatRecord {
  className: string;
  /** ops: [OP_HEADER] / [OP_END] / [OP_FIELD, fieldIndex] */
  ops: Int32Array;
  fields: { name: string; dtype: Dtype }[];
}

/**
 * For a flat record whose headers all come first and whose members all come
 * last (H…H F…F E…E: ElementLink is header, base header, key, index), the
 * number of nested headers and the members' total size, so members can be
 * read straight at the record's end; otherwise null.
 */
function tailLayout(rec: FlatRecord): { headers: number; fieldBytes: number } | null {
  const ops = rec.ops;
  let k = 0;
  let headers = 0;
  while (k < ops.length && ops[k] === OP_HEADER) {
    headers++;
    k++;
  }
  let fieldBytes = 0;
  while (k < ops.length && ops[k] === OP_FIELD) {
    const dtype = rec.fields[ops[k + 1]!]!.dtype;
    if (dtype !== 'uint32' && dtype !== 'int32') return null;
    fieldBytes += 4;
    k += 2;
  }
  let ends = 0;
  while (k < ops.length && ops[k] === OP_END) {
    ends++;
    k++;
  }
  return k === ops.length && ends === headers && headers > 0 ? { headers, fieldBytes } : null;
}

export function flatRecordOf(t: TypeNode): FlatRecord | null {
  if (t.kind !== 'record') return null;
  const ops: number[] = [];
  const fields: { name: string; dtype: Dtype }[] = [];
  const visit = (r: TypeNode & { kind: 'record' }): boolean => {
    ops.push(OP_HEADER);
    for (const b of r.bases) if (b.kind !== 'record' || !visit(b)) return false;
    for (const f of r.fields) {
      if (f.type.kind !== 'primitive' || f.type.double32) return false;
      ops.push(OP_FIELD, fields.length);
      fields.push({ name: f.name, dtype: f.type.dtype });
    }
    ops.push(OP_END);
    return true;
  };
  return visit(t) ? { className: t.className, ops: Int32Array.from(ops), fields } : null;
}

/** Smallest number of bytes a flat record can take (headers of 6 bytes, no checksum). */
function minRecordSize(rec: FlatRecord): number {
  let n = 0;
  for (let k = 0; k < rec.ops.length; k++) {
    const op = rec.ops[k]!;
    if (op === OP_HEADER) n += 6;
    else if (op === OP_FIELD) n += DTYPE_SIZE[rec.fields[rec.ops[++k]!]!.dtype];
  }
  return n;
}

/**
 * Reads one flat record at pos into item n of the columns, checking every
 * header against the entry limit; returns the position after it.
 */
function readFlatRecord(rec: FlatRecord, view: DataView, pos: number, limit: number, cols: NumericArray[], n: number, ends: Int32Array): number {
  const ops = rec.ops;
  let sp = 0;
  for (let k = 0; k < ops.length; k++) {
    const op = ops[k]!;
    if (op === OP_HEADER) {
      if (pos + 6 > limit) throw corrupt(`${rec.className} header runs past its entry`);
      const bc = view.getUint32(pos);
      const end = pos + 4 + (bc & ~BYTE_COUNT_MASK);
      if (!(bc & BYTE_COUNT_MASK) || end > limit) throw corrupt(`${rec.className} at ${pos} has no valid byte count`);
      pos += view.getUint16(pos + 4) === 0 ? 10 : 6;
      ends[sp++] = end;
    } else if (op === OP_END) {
      if (pos !== ends[--sp]) throw corrupt(`${rec.className} ends at ${pos}, its byte count says ${ends[sp]}`);
    } else {
      const f = ops[++k]!;
      const dtype = rec.fields[f]!.dtype;
      const size = DTYPE_SIZE[dtype];
      if (pos + size > limit) throw corrupt(`${rec.className} member runs past its entry`);
      if (dtype === 'uint32') (cols[f] as Uint32Array)[n] = view.getUint32(pos);
      else if (dtype === 'int32') (cols[f] as Int32Array)[n] = view.getInt32(pos);
      else readBulk(dtype, view, pos, 1, cols[f]!, n);
      pos += size;
    }
  }
  return pos;
}

type Item = { kind: 'primitive'; dtype: Dtype } | { kind: 'record'; rec: FlatRecord };

function grow(a: Int32Array): Int32Array<ArrayBuffer> {
  const grown = new Int32Array(a.length * 2);
  grown.set(a);
  return grown;
}

/**
 * vector<T> (depth 1) or vector<vector<T>> (depth 2) of primitives or flat
 * records, one object per entry. One pass over the basket, writing into
 * arrays sized for the most items the basket's bytes could hold, every size
 * and header checked against its entry.
 */
export class NestedVectorDecoder implements BasketDecoder {
  readonly description: string;
  private generic: GenericDecoder | undefined;
  constructor(
    readonly item: Item,
    readonly depth: 1 | 2,
    description: string,
    /** The full type, for baskets written member-wise (decoded by the generic path). */
    readonly type?: TypeNode,
  ) {
    this.description = description;
  }

  decode(b: BasketData): Content {
    if (!b.offsets) throw corrupt(`a ${this.description} basket has no entry offsets`);
    if (this.type && b.entries > 0 && b.offsets[1]! - b.offsets[0]! >= 6 && viewOf(b.data).getUint16(b.offsets[0]! + 4) & MEMBERWISE) {
      this.generic ??= new GenericDecoder(this.type, true, this.description);
      return this.generic.decode(b);
    }
    const view = viewOf(b.data);
    const offs = b.offsets;
    const item = this.item;
    const total = offs[b.entries]! - offs[0]!;
    const itemSize = item.kind === 'primitive' ? DTYPE_SIZE[item.dtype] : 0;
    const maxItems = Math.floor(total / (itemSize || minRecordSize((item as { rec: FlatRecord }).rec)));
    const cols: NumericArray[] = item.kind === 'primitive' ? [allocate(item.dtype, maxItems)] : item.rec.fields.map((f) => allocate(f.dtype, maxItems));
    const outer = new Int32Array(b.entries + 1);
    // inner lists: at most one per 4 bytes, but usually far fewer, so grow on demand
    let inner: Int32Array | null = this.depth === 2 ? new Int32Array(Math.min(Math.floor(total / 4), 64 + b.entries * 8) + 1) : null;
    const ends = new Int32Array(16);
    let nInner = 0;
    let nItems = 0;
    for (let i = 0; i < b.entries; i++) {
      let pos = offs[i]!;
      const limit = offs[i + 1]!;
      if (pos + 10 > limit) throw corrupt(`entry ${i} has ${limit - pos} bytes, too short for a ${this.description}`);
      const bc = view.getUint32(pos);
      if (!(bc & BYTE_COUNT_MASK) || pos + 4 + (bc & ~BYTE_COUNT_MASK) !== limit) throw corrupt(`entry ${i}: byte count does not match its ${limit - pos}-byte slot`);
      const version = view.getUint16(pos + 4);
      if (version & MEMBERWISE) throw new RootError('UNSUPPORTED', `memberwise-streamed ${this.description}`);
      pos += version === 0 ? 10 : 6;
      if (pos + 4 > limit) throw corrupt(`entry ${i}: its size runs past the entry`);
      const n = view.getInt32(pos);
      pos += 4;
      if (n < 0 || n > limit - pos) throw corrupt(`entry ${i}: size ${n} is impossible in ${limit - pos} bytes`);
      if (inner) {
        for (let j = 0; j < n; j++) {
          if (pos + 4 > limit) throw corrupt(`entry ${i}: an inner size runs past the entry`);
          const m = view.getInt32(pos);
          pos += 4;
          if (m < 0 || m > limit - pos) throw corrupt(`entry ${i}: inner size ${m} is impossible in ${limit - pos} bytes`);
          pos = this.fill(view, pos, limit, m, cols, nItems, ends, i);
          nItems += m;
          if (nInner + 1 === inner!.length) inner = grow(inner!);
          inner![++nInner] = nItems;
        }
        outer[i + 1] = nInner;
      } else {
        pos = this.fill(view, pos, limit, n, cols, nItems, ends, i);
        nItems += n;
        outer[i + 1] = nItems;
      }
      if (pos !== limit) throw corrupt(`entry ${i} decoded as ${this.description} uses ${pos - offs[i]!} of its ${limit - offs[i]!} bytes`);
    }
    const leaf: Content =
      item.kind === 'primitive'
        ? { kind: 'numeric', dtype: item.dtype, values: cols[0]!.subarray(0, nItems) }
        : { kind: 'record', length: nItems, fields: item.rec.fields.map((f, k) => ({ name: f.name, content: { kind: 'numeric', dtype: f.dtype, values: cols[k]!.subarray(0, nItems) } as Content })) };
    const innerList: Content = inner ? { kind: 'list', offsets: inner.subarray(0, nInner + 1), content: leaf } : leaf;
    return { kind: 'list', offsets: outer, content: innerList };
  }

  private fill(view: DataView, pos: number, limit: number, m: number, cols: NumericArray[], at: number, ends: Int32Array, entry: number): number {
    const item = this.item;
    if (item.kind === 'primitive') {
      const end = pos + m * DTYPE_SIZE[item.dtype];
      if (end > limit) throw corrupt(`entry ${entry}: ${m} values run past the entry`);
      readBulk(item.dtype, view, pos, m, cols[0]!, at);
      return end;
    }
    if (this.tail === undefined) this.tail = tailLayout(item.rec);
    if (this.tail) return this.fillTail(view, pos, limit, m, cols, at, this.tail);
    for (let k = 0; k < m; k++) pos = readFlatRecord(item.rec, view, pos, limit, cols, at + k, ends);
    return pos;
  }

  private tail: { headers: number; fieldBytes: number } | null | undefined;

  /** Records laid out as headers, then 32-bit members: every header checked, members read at the end. */
  private fillTail(view: DataView, pos: number, limit: number, m: number, cols: NumericArray[], at: number, tail: { headers: number; fieldBytes: number }): number {
    const rec = (this.item as { rec: FlatRecord }).rec;
    const nf = cols.length;
    for (let k = 0; k < m; k++) {
      if (pos + 6 > limit) throw corrupt(`${rec.className} header runs past its entry`);
      const bc = view.getUint32(pos);
      const end = pos + 4 + (bc & ~BYTE_COUNT_MASK);
      if (!(bc & BYTE_COUNT_MASK) || end > limit) throw corrupt(`${rec.className} at ${pos} has no valid byte count`);
      let p = pos + (view.getUint16(pos + 4) === 0 ? 10 : 6);
      for (let h = 1; h < tail.headers; h++) {
        const inner = p + 6 <= end ? view.getUint32(p) : 0;
        if (!(inner & BYTE_COUNT_MASK) || p + 4 + (inner & ~BYTE_COUNT_MASK) !== end) throw corrupt(`${rec.className} at ${pos}: nested byte count does not end with the object`);
        p += view.getUint16(p + 4) === 0 ? 10 : 6;
      }
      if (p + tail.fieldBytes !== end) throw corrupt(`${rec.className} at ${pos}: members do not fill the object`);
      for (let f = 0; f < nf; f++) (cols[f] as Uint32Array)[at + k] = view.getUint32(p + 4 * f);
      pos = end;
    }
    return pos;
  }
}
