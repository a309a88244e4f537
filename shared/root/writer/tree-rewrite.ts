// Re-serialises a TTree record with new entry counts, byte totals, cluster
// ranges and basket tables, copying every other byte of the source record.
//
// The walk follows the layouts tree.ts reads (TTree v16–20, TBranch v10–13,
// TBranchElement v8–10, TLeaf*). Three things change the record's length:
// the cluster-range arrays, each branch's fBasketBytes/fBasketEntry/
// fBasketSeek arrays, and (for a record stored past 2 GiB) the key length
// that object references count from. So:
//   - every byte count met on the way is recomputed for the new length;
//   - ROOT's references (a class tag kClassMask|pos, an object tag pos, where
//     pos is the referenced byte's place in the keyed buffer + 2) point back
//     at bytes this walk copied; each is mapped to where that byte went,
//     through a list of (source position, shift) anchors kept as bytes are
//     copied or replaced.
// A class whose body the walk does not know is copied whole by its byte
// count; such objects hold no references in the trees we write (TIOFeatures,
// TAttLine/TAttFill/TAttMarker, TNamed, TRefTable, TBasket).

import { ByteWriter } from './byte-writer';
import { RootError, type ErrorContext } from '../errors';

const BYTE_COUNT_MASK = 0x40000000;
const NEW_CLASS_TAG = 0xffffffff;
const CLASS_MASK = 0x80000000;
const MAP_OFFSET = 2;
const IS_REFERENCED = 1 << 4;

/** New values for one branch; absent fields keep the source's. */
export interface BranchUpdate {
  entries?: number;
  totBytes?: number;
  zipBytes?: number;
  compress?: number;
  /** The on-disk baskets: bytes (key included), first entry and file offset of each. */
  baskets?: { count: number; bytes: ArrayLike<number>; entry: ArrayLike<number>; seek: ArrayLike<number> };
}

export interface TreeUpdate {
  entries?: number;
  totBytes?: number;
  zipBytes?: number;
  autoFlush?: number;
  clusterRanges?: { end: number[]; size: number[] };
  /** The update of the i-th branch in depth-first order (parents before their sub-branches), by name. */
  branch(index: number, name: string): BranchUpdate | null;
}

interface Anchor {
  src: number;
  delta: number;
}

class Rewriter {
  private p = 0;
  private readonly v: DataView;
  readonly w: ByteWriter;
  private readonly anchors: Anchor[] = [{ src: 0, delta: 0 }];
  private branchIndex = 0;

  constructor(
    private readonly s: Uint8Array,
    private readonly oldKeylen: number,
    private readonly newKeylen: number,
    private readonly update: TreeUpdate,
    private readonly ctx: ErrorContext,
  ) {
    this.v = new DataView(s.buffer, s.byteOffset, s.byteLength);
    this.w = new ByteWriter(s.length + 4096);
  }

  private fail(detail: string): never {
    throw new RootError('UNSUPPORTED', `rewriting the TTree record: ${detail} (at record byte ${this.p})`, this.ctx);
  }

  private need(n: number): void {
    if (n < 0 || this.p + n > this.s.length) throw new RootError('CORRUPT', `TTree record ends at byte ${this.s.length}, ${n} more bytes were expected at ${this.p}`, this.ctx);
  }

  // --- reading the source without writing --------------------------------

  private peekU32(): number {
    this.need(4);
    return this.v.getUint32(this.p);
  }
  private readI32(): number {
    this.need(4);
    const x = this.v.getInt32(this.p);
    this.p += 4;
    return x;
  }

  // --- copying and replacing -----------------------------------------------

  private copy(n: number): void {
    this.need(n);
    this.w.raw(this.s.subarray(this.p, this.p + n));
    this.p += n;
  }
  private copyI32(): number {
    const x = this.readI32();
    this.w.i32(x);
    return x;
  }
  /** Replaces a same-sized field (no shift). */
  private i32(value: number | undefined): number {
    const old = this.readI32();
    this.w.i32(value ?? old);
    return old;
  }
  private i64(value: number | undefined): void {
    this.need(8);
    if (value === undefined) this.copy(8);
    else {
      this.p += 8;
      this.w.i64(value);
    }
  }
  /** After writing a replacement of different length: later source bytes move by a new shift. */
  private anchor(): void {
    const delta = this.w.length - this.p;
    const last = this.anchors[this.anchors.length - 1]!;
    if (last.delta !== delta) this.anchors.push({ src: this.p, delta });
  }
  /** Where the byte at source record position `pos` was written. */
  private mapped(pos: number): number {
    let lo = 0, hi = this.anchors.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.anchors[mid]!.src <= pos) lo = mid;
      else hi = mid - 1;
    }
    return pos + this.anchors[lo]!.delta;
  }
  /** A reference tag (without its class bit) moved with the byte it names. */
  private ref(tag: number): number {
    const pos = tag - MAP_OFFSET - this.oldKeylen;
    if (pos < 0 || pos >= this.p) return tag; // not a position in this record: leave it
    return this.mapped(pos) + this.newKeylen + MAP_OFFSET;
  }
  private tstring(): void {
    this.need(1);
    let n = this.s[this.p]!;
    if (n === 255) {
      this.copy(1);
      n = this.copyI32();
    } else this.copy(1);
    this.copy(n);
  }
  private cstring(): string {
    const start = this.p;
    while (this.p < this.s.length && this.s[this.p] !== 0) this.p++;
    if (this.p >= this.s.length) this.fail('unterminated class name');
    this.p++;
    this.w.raw(this.s.subarray(start, this.p));
    return new TextDecoder().decode(this.s.subarray(start, this.p - 1));
  }

  // --- framed objects --------------------------------------------------------

  /** Copies a (byte count, version) header; returns what close() needs. */
  private open(): { countAt: number; srcEnd: number; version: number } {
    const first = this.peekU32();
    if (first & BYTE_COUNT_MASK) {
      const srcEnd = this.p + 4 + (first & ~BYTE_COUNT_MASK);
      if (srcEnd > this.s.length) throw new RootError('CORRUPT', `byte count at ${this.p} runs past the TTree record`, this.ctx);
      const countAt = this.w.length;
      this.copy(4);
      this.need(2);
      const version = this.v.getUint16(this.p);
      this.copy(2);
      return { countAt, srcEnd, version };
    }
    this.need(2);
    const version = this.v.getUint16(this.p);
    this.copy(2);
    return { countAt: -1, srcEnd: -1, version };
  }
  /** Ends an object: the walk must have met its end exactly; the byte count is recomputed. */
  private close(f: { countAt: number; srcEnd: number }, what: string): void {
    if (f.countAt < 0) return;
    if (this.p !== f.srcEnd) this.fail(`${what} ends at ${f.srcEnd}, the walk reached ${this.p}`);
    this.w.patchU32(f.countAt, (BYTE_COUNT_MASK | (this.w.length - f.countAt - 4)) >>> 0);
  }
  /** Copies a whole object with a byte count (one that holds no references). */
  private opaque(what: string): void {
    const first = this.peekU32();
    if (!(first & BYTE_COUNT_MASK)) this.fail(`${what} has no byte count`);
    this.copy(4 + (first & ~BYTE_COUNT_MASK));
  }
  private tobject(): void {
    this.need(2);
    const version = this.v.getUint16(this.p);
    if (version & (BYTE_COUNT_MASK >>> 16)) {
      const f = this.open();
      this.tobjectBody();
      this.close(f, 'TObject');
      return;
    }
    this.copy(2);
    this.tobjectBody();
  }
  private tobjectBody(): void {
    this.copy(4); // fUniqueID
    this.need(4);
    const bits = this.v.getUint32(this.p);
    this.copy(4);
    if (bits & IS_REFERENCED) this.copy(2);
  }

  /** A pointer to an object: null, a reference to an earlier object, or a new object (walked by class). */
  private objectAny(): void {
    const first = this.peekU32();
    if (first !== NEW_CLASS_TAG && first & BYTE_COUNT_MASK) {
      const countAt = this.w.length;
      const srcEnd = this.p + 4 + (first & ~BYTE_COUNT_MASK);
      if (srcEnd > this.s.length) throw new RootError('CORRUPT', `object byte count at ${this.p} runs past the TTree record`, this.ctx);
      this.copy(4);
      this.objectTagged(srcEnd);
      this.close({ countAt, srcEnd }, 'object');
      return;
    }
    this.objectTagged(-1);
  }
  private objectTagged(srcEnd: number): void {
    const tag = this.peekU32();
    this.p += 4;
    let className: string;
    if (tag === NEW_CLASS_TAG) {
      this.w.u32(tag);
      className = this.cstring();
    } else if (tag & CLASS_MASK) {
      const ref = (tag & ~CLASS_MASK) >>> 0;
      this.w.u32((CLASS_MASK | this.ref(ref)) >>> 0);
      className = this.classAt(ref);
    } else {
      this.w.u32(tag === 0 ? 0 : this.ref(tag)); // null, or an object written earlier
      return;
    }
    this.body(className, srcEnd);
  }
  /** The class name a class reference names (read from the source record). */
  private classAt(ref: number): string {
    const pos = ref - MAP_OFFSET - this.oldKeylen;
    if (pos < 0 || pos + 4 >= this.s.length || this.v.getUint32(pos) !== NEW_CLASS_TAG) {
      // a class tag written after a byte count: the reference points at the byte count
      if (pos >= 0 && pos + 8 < this.s.length && this.v.getUint32(pos + 4) === NEW_CLASS_TAG) return this.nameAt(pos + 8);
      this.fail(`class reference ${ref} does not point at a class name`);
    }
    return this.nameAt(pos + 4);
  }
  private nameAt(pos: number): string {
    let e = pos;
    while (e < this.s.length && this.s[e] !== 0) e++;
    return new TextDecoder().decode(this.s.subarray(pos, e));
  }

  private body(cls: string, srcEnd: number): void {
    if (cls === 'TBranch') this.tbranch();
    else if (cls === 'TBranchElement' || cls === 'TBranchObject' || cls === 'TBranchRef' || cls === 'TBranchSTL') this.derivedBranch(cls);
    else if (cls.startsWith('TLeaf')) this.leaf(cls);
    else if (cls === 'TObjArray') this.objArray();
    else if (cls === 'TList') this.list();
    else {
      if (srcEnd < 0) this.fail(`object of class ${cls} without a byte count`);
      this.copy(srcEnd - this.p);
    }
  }

  private objArray(): void {
    const f = this.open();
    this.tobject();
    this.tstring(); // fName
    const n = this.copyI32();
    this.copy(4); // fLowerBound
    if (n < 0 || n > this.s.length - this.p) throw new RootError('CORRUPT', `TObjArray claims ${n} elements`, this.ctx);
    for (let i = 0; i < n; i++) this.objectAny();
    this.close(f, 'TObjArray');
  }

  private list(): void {
    const f = this.open();
    this.tobject();
    this.tstring(); // fName
    const n = this.copyI32();
    if (n < 0 || n > this.s.length - this.p) throw new RootError('CORRUPT', `TList claims ${n} elements`, this.ctx);
    for (let i = 0; i < n; i++) {
      this.objectAny();
      this.need(1);
      this.copy(1 + this.s[this.p]!); // option string
    }
    this.close(f, 'TList');
  }

  private leaf(cls: string): void {
    const outer = this.open();
    const inner = this.open(); // TLeaf
    this.opaque('TNamed');
    this.copy(4 + 4 + 4 + 1 + 1); // fLen, fLenType, fOffset, fIsRange, fIsUnsigned
    this.objectAny(); // fLeafCount
    this.close(inner, 'TLeaf');
    this.copy(outer.srcEnd - this.p); // fMinimum/fMaximum, TLeafElement's fID/fType, …: no references
    this.close(outer, cls);
  }

  private derivedBranch(cls: string): void {
    const f = this.open();
    this.tbranch();
    if (cls === 'TBranchElement' || cls === 'TBranchSTL') {
      this.tstring(); // fClassName
      this.tstring(); // fParentName
      this.tstring(); // fClonesName
      this.copy(4); // fCheckSum
      this.copy(f.version >= 10 ? 2 : 4); // fClassVersion
      this.copy(4 * 4); // fID, fType, fStreamerType, fMaximum
      this.objectAny(); // fBranchCount
      this.objectAny(); // fBranchCount2
    } else if (cls === 'TBranchObject') {
      this.tstring(); // fClassName
    } else {
      this.objectAny(); // TBranchRef's fRefTable
    }
    this.close(f, cls);
  }

  private tbranch(): void {
    const index = this.branchIndex++;
    const f = this.open();
    if (f.version < 10 || f.version > 13) this.fail(`TBranch version ${f.version} (supported: 10–13)`);
    const nameAt = this.p;
    this.opaque('TNamed');
    const name = this.branchName(nameAt);
    const u = this.update.branch(index, name) ?? {};
    this.opaque('TAttFill');
    this.i32(u.compress);
    this.copy(4); // fBasketSize
    this.copy(4); // fEntryOffsetLen
    this.i32(u.baskets?.count); // fWriteBasket
    this.i64(u.entries); // fEntryNumber
    if (f.version >= 13) this.opaque('TIOFeatures');
    this.copy(4); // fOffset
    const oldMax = this.i32(u.baskets ? u.baskets.count + 1 : undefined); // fMaxBaskets
    if (oldMax < 0) throw new RootError('CORRUPT', `branch ${name} has fMaxBaskets ${oldMax}`, this.ctx);
    this.copy(4); // fSplitLevel
    this.i64(u.entries);
    if (f.version >= 11) this.copy(8); // fFirstEntry
    this.i64(u.totBytes);
    this.i64(u.zipBytes);
    this.objArray(); // fBranches
    this.objArray(); // fLeaves
    this.objArray(); // fBaskets
    if (u.baskets) {
      const b = u.baskets;
      const arrays = [1 + 4 * oldMax, 1 + 8 * oldMax, 1 + 8 * oldMax];
      for (const n of arrays) {
        this.need(1);
        const flag = this.s[this.p]!;
        this.p += flag === 0 ? 1 : n;
      }
      const max = b.count + 1;
      this.w.u8(1);
      for (let i = 0; i < max; i++) this.w.i32(i < b.count ? b.bytes[i]! : 0);
      this.w.u8(1);
      for (let i = 0; i < max; i++) this.w.i64(i < b.count ? b.entry[i]! : (u.entries ?? 0));
      this.w.u8(1);
      for (let i = 0; i < max; i++) this.w.i64(i < b.count ? b.seek[i]! : 0);
      this.anchor();
    } else {
      for (const size of [4, 8, 8]) {
        this.need(1);
        const flag = this.s[this.p]!;
        this.copy(flag === 0 ? 1 : 1 + size * oldMax);
      }
    }
    this.tstring(); // fFileName
    this.close(f, `TBranch ${name}`);
  }

  private branchName(at: number): string {
    // TNamed: byte count, version, TObject (2 + 4 + 4 [+2]), then fName
    let p = at + 6;
    const bits = this.v.getUint32(p + 6);
    p += 10 + (bits & IS_REFERENCED ? 2 : 0);
    let n = this.s[p]!;
    p++;
    if (n === 255) {
      n = this.v.getInt32(p);
      p += 4;
    }
    return new TextDecoder('latin1').decode(this.s.subarray(p, p + n));
  }

  tree(): Uint8Array {
    const u = this.update;
    const f = this.open();
    if (f.version < 16 || f.version > 20) this.fail(`TTree version ${f.version} (supported: 16–20)`);
    this.opaque('TNamed');
    this.opaque('TAttLine');
    this.opaque('TAttFill');
    this.opaque('TAttMarker');
    this.i64(u.entries);
    this.i64(u.totBytes);
    this.i64(u.zipBytes);
    this.i64(u.zipBytes); // fSavedBytes
    if (f.version >= 18) this.i64(u.zipBytes); // fFlushedBytes
    this.copy(8 + 4 + 4 + 4); // fWeight, fTimerInterval, fScanField, fUpdate
    if (f.version >= 17) this.copy(4); // fDefaultEntryOffsetLen
    const ranges = u.clusterRanges;
    let oldRanges = 0;
    if (f.version >= 19) oldRanges = this.i32(ranges?.end.length);
    this.copy(8 * 4); // fMaxEntries, fMaxEntryLoop, fMaxVirtualSize, fAutoSave
    if (f.version >= 18) this.i64(u.autoFlush);
    this.copy(8); // fEstimate
    if (f.version >= 19) {
      if (oldRanges < 0 || oldRanges * 16 > this.s.length) throw new RootError('CORRUPT', `TTree claims ${oldRanges} cluster ranges`, this.ctx);
      if (ranges) {
        for (let k = 0; k < 2; k++) {
          this.need(1);
          this.p += this.s[this.p] === 0 ? 1 : 1 + 8 * oldRanges;
        }
        for (const arr of [ranges.end, ranges.size]) {
          this.w.u8(arr.length ? 1 : 0);
          for (const x of arr) this.w.i64(x);
        }
        this.anchor();
      } else {
        for (let k = 0; k < 2; k++) {
          this.need(1);
          this.copy(this.s[this.p] === 0 ? 1 : 1 + 8 * oldRanges);
        }
      }
    }
    if (f.version >= 20) this.opaque('TIOFeatures');
    this.objArray(); // fBranches
    this.objArray(); // fLeaves (references to the leaves above)
    this.objectAny(); // fAliases
    this.copy(8 * this.copyI32()); // fIndexValues (TArrayD)
    this.copy(4 * this.copyI32()); // fIndex (TArrayI)
    this.objectAny(); // fTreeIndex
    this.objectAny(); // fFriends
    this.objectAny(); // fUserInfo
    this.objectAny(); // fBranchRef
    this.close(f, 'TTree');
    if (this.p !== this.s.length) this.fail(`${this.s.length - this.p} bytes after the TTree`);
    return this.w.bytes().slice();
  }
}

/**
 * The TTree record `data` (uncompressed, read from a key of length
 * `oldKeylen`) with `update` applied, for a key of length `newKeylen`.
 */
export function rewriteTree(data: Uint8Array, oldKeylen: number, newKeylen: number, update: TreeUpdate, ctx: ErrorContext = {}): Uint8Array {
  return new Rewriter(data, oldKeylen, newKeylen, update, ctx).tree();
}
