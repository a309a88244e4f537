// A bounds-checked big-endian reader over one buffer of ROOT-serialized bytes.
//
// ROOT writes everything big-endian. Every read checks the buffer end, so a
// corrupt length can never make us read garbage silently: it throws a
// RootError naming the context and the absolute file offset.

import { RootError, type ErrorContext } from './errors';

const BYTE_COUNT_MASK = 0x40000000;
const NEW_CLASS_TAG = 0xffffffff;
const CLASS_MASK = 0x80000000;
const MAP_OFFSET = 2;
const IS_REFERENCED = 1 << 4;

const utf8 = new TextDecoder('utf-8');
const latin1 = new TextDecoder('latin1');

export class Cursor {
  readonly buf: Uint8Array;
  readonly view: DataView;
  pos: number;
  /** Absolute file offset of buf[0], for error messages (-1 when unknown). */
  readonly fileOffset: number;
  /**
   * ROOT object references ("refs") are keyed by the position the object
   * would have in the key's record, i.e. buffer position + key length.
   */
  readonly refBase: number;
  readonly context: ErrorContext;
  readonly refs = new Map<number, unknown>();
  /**
   * Called when an object reference points at a position whose object was
   * not read (yet): a reader that parses a record lazily (the TTree's branch
   * list) reads the part of the record holding that position, registering
   * its objects in `refs`, so the reference resolves as in a full parse. It
   * receives the buffer position of the referenced object.
   */
  onMissingObject: ((bufferPos: number) => void) | undefined;

  constructor(buf: Uint8Array, context: ErrorContext, pos = 0, fileOffset = -1, refBase = 0) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = pos;
    this.fileOffset = fileOffset;
    this.refBase = refBase;
    this.context = context;
  }

  get length(): number {
    return this.buf.length;
  }

  remaining(): number {
    return this.buf.length - this.pos;
  }

  error(code: 'TRUNCATED' | 'CORRUPT' | 'UNSUPPORTED', detail: string, at = this.pos): RootError {
    const ctx: ErrorContext = { ...this.context };
    if (this.fileOffset >= 0) ctx.offset = this.fileOffset + at;
    return new RootError(code, detail, ctx);
  }

  need(n: number, what = 'data'): void {
    if (n < 0 || this.pos + n > this.buf.length) {
      throw this.error('TRUNCATED', `${what} needs ${n} bytes but only ${this.buf.length - this.pos} remain`);
    }
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  seek(pos: number): void {
    if (pos < 0 || pos > this.buf.length) throw this.error('CORRUPT', `position ${pos} is outside a ${this.buf.length}-byte record`);
    this.pos = pos;
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  i8(): number {
    this.need(1);
    return this.view.getInt8(this.pos++);
  }
  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }
  i16(): number {
    this.need(2);
    const v = this.view.getInt16(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }
  i32(): number {
    this.need(4);
    const v = this.view.getInt32(this.pos);
    this.pos += 4;
    return v;
  }
  f32(): number {
    this.need(4);
    const v = this.view.getFloat32(this.pos);
    this.pos += 4;
    return v;
  }
  f64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos);
    this.pos += 8;
    return v;
  }
  /** A 64-bit integer as a JS number; values beyond 2^53 are a CORRUPT error (they are seek pointers and sizes). */
  i64(): number {
    this.need(8);
    const hi = this.view.getInt32(this.pos);
    const lo = this.view.getUint32(this.pos + 4);
    if (hi > 0x1fffff || hi < -0x200000) throw this.error('CORRUPT', `64-bit value out of the exact range of a double`);
    this.pos += 8;
    return hi * 4294967296 + lo;
  }

  bytes(n: number): Uint8Array {
    this.need(n, 'byte string');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** TString: one length byte, or 255 followed by a 4-byte length. */
  tstring(): string {
    let n = this.u8();
    if (n === 255) n = this.i32();
    if (n < 0) throw this.error('CORRUPT', `negative string length ${n}`);
    const b = this.bytes(n);
    return latin1.decode(b);
  }

  /** A NUL-terminated C string (class names in object tags). */
  cstring(maxLength = 1024): string {
    const start = this.pos;
    const end = Math.min(this.buf.length, start + maxLength);
    for (let i = start; i < end; i++) {
      if (this.buf[i] === 0) {
        this.pos = i + 1;
        return utf8.decode(this.buf.subarray(start, i));
      }
    }
    throw this.error('CORRUPT', `unterminated class name`, start);
  }

  /** TNamed's name only (the title is stepped over, not decoded). */
  tnamedName(): string {
    const { end } = this.versionHeader('TNamed');
    this.tobject();
    const name = this.tstring();
    let n = this.u8();
    if (n === 255) n = this.i32();
    this.skip(n);
    this.skipTo(end, 'TNamed');
    return name;
  }

  /**
   * Reads the (byte count, version) header of a streamed object. Returns the
   * version and the position just past the object (or -1 when the writer
   * stored no byte count, as very old files do for small objects).
   */
  versionHeader(what: string): { version: number; end: number } {
    const start = this.pos;
    const first = this.u32();
    if (first & BYTE_COUNT_MASK) {
      const count = first & ~BYTE_COUNT_MASK;
      const end = start + 4 + count;
      if (count < 2 || end > this.buf.length) {
        throw this.error('CORRUPT', `${what}: byte count ${count} runs past the end of its ${this.buf.length}-byte record`, start);
      }
      const version = this.u16();
      return { version, end };
    }
    this.pos = start;
    const version = this.u16();
    return { version, end: -1 };
  }

  /** Moves to the end recorded by versionHeader (no-op without a byte count). */
  skipTo(end: number, what: string): void {
    if (end < 0) return;
    if (end < this.pos) throw this.error('CORRUPT', `${what} overran its byte count by ${this.pos - end} bytes`);
    this.pos = end;
  }

  /** Skips a whole streamed object that has a byte count. */
  skipObject(what: string): void {
    const { end } = this.versionHeader(what);
    if (end < 0) throw this.error('UNSUPPORTED', `${what} has no byte count, cannot skip it`);
    this.pos = end;
  }

  /** TObject: version, fUniqueID, fBits (and a process id when referenced). */
  tobject(): { bits: number } {
    const start = this.pos;
    let version = this.u16();
    if (version & (BYTE_COUNT_MASK >>> 16)) {
      // written with a byte count: reread it as a full header
      this.pos = start;
      version = this.versionHeader('TObject').version;
    }
    this.u32(); // fUniqueID
    const bits = this.u32();
    if (bits & IS_REFERENCED) this.u16();
    return { bits };
  }

  /** TNamed: a TObject plus name and title. */
  tnamed(): { name: string; title: string } {
    const { end } = this.versionHeader('TNamed');
    this.tobject();
    const name = this.tstring();
    const title = this.tstring();
    this.skipTo(end, 'TNamed');
    return { name, title };
  }

  /**
   * Reads a pointer to an object ("ReadObjectAny"): null, a reference to an
   * object already read in this record, or a new object whose class is named
   * (or referenced) in the tag. `readClass` reads the object body; it returns
   * undefined for classes the caller does not model, which are skipped by
   * their byte count.
   */
  objectAny<T>(readClass: (className: string, cur: Cursor) => T | undefined): T | null | undefined {
    const beg = this.pos + this.refBase;
    const first = this.u32();
    let tag: number;
    let start = 0;
    let hasCount = false;
    let byteCount = 0;
    if ((first & BYTE_COUNT_MASK) === 0 || first === NEW_CLASS_TAG) {
      tag = first;
    } else {
      hasCount = true;
      byteCount = first & ~BYTE_COUNT_MASK;
      start = this.pos + this.refBase;
      tag = this.u32();
    }
    const objectEnd = hasCount ? beg - this.refBase + 4 + byteCount : -1;
    if (hasCount && objectEnd > this.buf.length) throw this.error('CORRUPT', `object byte count ${byteCount} runs past its record`);
    if ((tag & CLASS_MASK) === 0) {
      if (tag === 0) return null;
      if (!this.refs.has(tag) && this.onMissingObject) {
        const at = tag - MAP_OFFSET - this.refBase;
        // only backwards: a stream refers to objects written before the reference
        if (at >= 0 && at < beg - this.refBase) {
          const here = this.pos;
          this.onMissingObject(at);
          this.pos = here;
        }
      }
      if (this.refs.has(tag)) return this.refs.get(tag) as T;
      // a reference we did not keep (an object we skipped): treat as absent
      if (objectEnd >= 0) this.pos = objectEnd;
      return undefined;
    }
    let className: string;
    if (tag === NEW_CLASS_TAG) {
      className = this.cstring();
      this.refs.set(hasCount ? start + MAP_OFFSET : this.refs.size + 1, className);
    } else {
      const ref = (tag & ~CLASS_MASK) >>> 0;
      const known = this.refs.get(ref) ?? this.classNameAt(ref, beg);
      if (typeof known !== 'string') throw this.error('CORRUPT', `object refers to unknown class reference ${ref}`);
      className = known;
    }
    const objStart = this.pos;
    const obj = readClass(className, this);
    if (obj === undefined) {
      if (objectEnd < 0) throw this.error('UNSUPPORTED', `cannot skip an object of class ${className} without a byte count`, objStart);
      this.pos = objectEnd;
    } else if (objectEnd >= 0) {
      if (this.pos > objectEnd) throw this.error('CORRUPT', `object of class ${className} overran its byte count`, objStart);
      this.pos = objectEnd;
    }
    this.refs.set(hasCount ? beg + MAP_OFFSET : this.refs.size + 1, obj);
    return obj;
  }

  /**
   * The class named by a class reference whose definition was not read (it
   * lies in a part of the record parsed lazily): the reference is the record
   * position of a new-class tag (0xFFFFFFFF, then the name), so the name is
   * read there directly. Only positions before the reference (`refPos`)
   * count, as in a stream read from its start.
   */
  private classNameAt(ref: number, refPos: number): string | undefined {
    const at = ref - MAP_OFFSET - this.refBase;
    if (at < 0 || at + 4 >= refPos - this.refBase || at + 4 > this.buf.length) return undefined;
    if (this.view.getUint32(at) !== NEW_CLASS_TAG) return undefined;
    const here = this.pos;
    this.pos = at + 4;
    try {
      const name = this.cstring();
      this.refs.set(ref, name);
      return name;
    } finally {
      this.pos = here;
    }
  }

  /** Reads the object whose tag starts at buffer position `at` (as objectAny does), leaving `pos` unchanged. */
  objectAt<T>(at: number, readClass: (className: string, cur: Cursor) => T | undefined): T | null | undefined {
    const here = this.pos;
    this.seek(at);
    try {
      return this.objectAny(readClass);
    } finally {
      this.pos = here;
    }
  }

  /** TObjArray (or TList when `isList`) of objects read with `readClass`. */
  objArray<T>(readClass: (className: string, cur: Cursor) => T | undefined, what: string): (T | null | undefined)[] {
    const { end } = this.versionHeader(what);
    this.tobject();
    this.tstring(); // fName
    const n = this.i32();
    this.i32(); // fLowerBound
    // every element takes at least 4 bytes (a null pointer): checked before the array is sized
    if (n < 0 || n * 4 > this.remaining()) throw this.error('CORRUPT', `${what} claims ${n} elements in ${this.remaining()} bytes`);
    const out: (T | null | undefined)[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.objectAny(readClass);
    this.skipTo(end, what);
    return out;
  }

  /** TList: like TObjArray, but each element is followed by an option string. */
  tlist<T>(readClass: (className: string, cur: Cursor) => T | undefined, what: string): (T | null | undefined)[] {
    const { end } = this.versionHeader(what);
    this.tobject();
    this.tstring(); // fName
    const n = this.i32();
    // every element takes at least 5 bytes (a null pointer and an empty option)
    if (n < 0 || n * 5 > this.remaining()) throw this.error('CORRUPT', `${what} claims ${n} elements in ${this.remaining()} bytes`);
    const out: (T | null | undefined)[] = new Array(n);
    for (let i = 0; i < n; i++) {
      out[i] = this.objectAny(readClass);
      const optLen = this.u8();
      this.skip(optLen);
    }
    this.skipTo(end, what);
    return out;
  }

  /** A "basic pointer" array member (TStreamerBasicPointer): a flag byte, then n values. */
  i32Array(n: number, withFlag: boolean): Int32Array {
    if (withFlag) this.u8();
    this.need(n * 4, 'int array');
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.view.getInt32(this.pos + 4 * i);
    this.pos += 4 * n;
    return out;
  }

  i64Array(n: number, withFlag: boolean): Float64Array {
    if (withFlag) this.u8();
    this.need(n * 8, 'long array');
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = this.i64();
    return out;
  }
}
