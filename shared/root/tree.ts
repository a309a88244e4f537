// The TTree object: its branches, their leaves and where their baskets are.
//
// TTree, TBranch, TBranchElement and TLeaf* are decoded from their known
// layouts (TTree v16–v20, TBranch v10–v13, TBranchElement v8–v10, i.e. ROOT
// 5.2x to 6.3x), using each object's byte count to step over members we do not
// need (attributes, aliases, indices, friends), so a newer minor version that
// appends members still opens.

import { Cursor } from './cursor';
import { RootError, type ErrorContext } from './errors';
import type { RootFile, KeyInfo } from './file';

export interface LeafInfo {
  className: string;
  name: string;
  title: string;
  /** Number of values per entry for fixed-size leaves (1 for scalars; product of dimensions); -1: counted by another leaf. */
  len: number;
  lenType: number;
  isUnsigned: boolean;
  /** The leaf holding the count of a variable-length array leaf ("x[n]"). */
  countLeaf: LeafInfo | null;
  /** TLeafElement only: streamer element index and type. */
  elementType?: number;
}

/** A basket kept inside the TTree record (the last, unflushed basket of a branch). */
export interface EmbeddedBasket {
  data: Uint8Array;
  /** Entry byte offsets relative to data, length entries+1, or null for fixed-size entries. */
  offsets: Int32Array | null;
  entries: number;
}

export interface BasketLocation {
  index: number;
  entryStart: number;
  entryStop: number;
  /** File offset of the basket's TKey; 0 for an embedded basket. */
  seek: number;
  /** Bytes on disk, key included. */
  bytes: number;
  embedded: EmbeddedBasket | null;
}

export class Branch {
  name = '';
  title = '';
  /** TBranch, TBranchElement, TBranchObject, TBranchRef, … */
  rootClass = '';
  entries = 0;
  totBytes = 0;
  zipBytes = 0;
  entryOffsetLen = 0;
  splitLevel = 0;
  leaves: LeafInfo[] = [];
  branches: Branch[] = [];
  parent: Branch | null = null;
  baskets: BasketLocation[] = [];
  // TBranchElement members
  className = '';
  parentName = '';
  clonesName = '';
  classVersion = 0;
  elementId = -1;
  type = 0;
  streamerType = -1;

  /** Name path from the top-level branch, joined with "/" (used when names are not unique). */
  get path(): string {
    return this.parent ? `${this.parent.path}/${this.name}` : this.name;
  }

  /** Compressed bytes of all baskets (keys included). */
  get compressedBytes(): number {
    let n = 0;
    for (const b of this.baskets) n += b.bytes;
    return n;
  }

  *walk(): Generator<Branch> {
    yield this;
    for (const b of this.branches) yield* b.walk();
  }
}

export interface ClusterRange {
  entryStart: number;
  entryStop: number;
}

export class Tree {
  readonly file: RootFile;
  readonly key: KeyInfo;
  name = '';
  title = '';
  entries = 0;
  totBytes = 0;
  zipBytes = 0;
  autoFlush = 0;
  clusterRangeEnd: number[] = [];
  clusterSize: number[] = [];
  branches: Branch[] = [];
  private byName = new Map<string, Branch>();

  constructor(file: RootFile, key: KeyInfo) {
    this.file = file;
    this.key = key;
  }

  get context(): ErrorContext {
    return { file: this.file.name, tree: this.name };
  }

  /** Every branch, depth first. */
  *allBranches(): Generator<Branch> {
    for (const b of this.branches) yield* b.walk();
  }

  index(): void {
    for (const b of this.allBranches()) {
      if (!this.byName.has(b.name)) this.byName.set(b.name, b);
      this.byName.set(b.path, b);
    }
  }

  /** A branch by full name or by "/"-joined path. */
  branch(name: string): Branch {
    const b = this.byName.get(name);
    if (!b) {
      const similar = [...this.byName.keys()].filter((n) => n.toLowerCase().includes(name.toLowerCase().split('.').pop() ?? name)).slice(0, 8);
      throw new RootError('NOT_FOUND', `no branch "${name}"${similar.length ? ` (similar: ${similar.join(', ')})` : ''}`, this.context);
    }
    return b;
  }

  hasBranch(name: string): boolean {
    return this.byName.has(name);
  }

  /**
   * Cluster boundaries: ranges of entries the writer flushed together, so
   * reading cluster by cluster touches each basket once with bounded memory.
   * Follows ROOT's rule: explicit cluster ranges first, then fAutoFlush-sized
   * clusters; without either, basket boundaries of the first branch with data.
   */
  clusters(): ClusterRange[] {
    // computed once: without cluster metadata it walks ~1500 branches for basket edges
    this.clusterCache ??= this.computeClusters();
    return this.clusterCache.map((c) => ({ ...c }));
  }

  private clusterCache: ClusterRange[] | undefined;

  private computeClusters(): ClusterRange[] {
    const out: ClusterRange[] = [];
    const total = this.entries;
    let start = 0;
    for (let i = 0; i < this.clusterRangeEnd.length && start < total; i++) {
      const last = Math.min(this.clusterRangeEnd[i]!, total - 1);
      let size = this.clusterSize[i]!;
      if (size <= 0) size = this.autoFlush > 0 ? this.autoFlush : last - start + 1;
      while (start <= last) {
        const stop = Math.min(start + size, last + 1);
        out.push({ entryStart: start, entryStop: stop });
        start = stop;
      }
    }
    if (start < total) {
      if (this.autoFlush > 0) {
        while (start < total) {
          const stop = Math.min(start + this.autoFlush, total);
          out.push({ entryStart: start, entryStop: stop });
          start = stop;
        }
      } else {
        const ref = [...this.allBranches()].find((b) => b.baskets.length > 0);
        const edges = ref ? ref.baskets.map((b) => b.entryStop).filter((e) => e > start && e <= total) : [];
        for (const e of edges) {
          out.push({ entryStart: start, entryStop: e });
          start = e;
        }
        if (start < total) out.push({ entryStart: start, entryStop: total });
      }
    }
    return out;
  }
}

/** Parses a TTree from its uncompressed key payload. */
export function parseTree(file: RootFile, key: KeyInfo, data: Uint8Array, keylen: number): Tree {
  const tree = new Tree(file, key);
  tree.name = key.name;
  const c = new Cursor(data, { file: file.name, tree: key.name }, 0, -1, keylen);
  const { version, end } = c.versionHeader('TTree');
  if (version < 16 || version > 20) throw c.error('UNSUPPORTED', `TTree version ${version} (supported: 16–20, ROOT 5.26 to 6.3x)`);
  const named = c.tnamed();
  tree.name = named.name;
  tree.title = named.title;
  c.skipObject('TAttLine');
  c.skipObject('TAttFill');
  c.skipObject('TAttMarker');
  tree.entries = c.i64();
  tree.totBytes = c.i64();
  tree.zipBytes = c.i64();
  c.i64(); // fSavedBytes
  if (version >= 18) c.i64(); // fFlushedBytes
  c.f64(); // fWeight
  c.i32(); // fTimerInterval
  c.i32(); // fScanField
  c.i32(); // fUpdate
  if (version >= 17) c.i32(); // fDefaultEntryOffsetLen
  let nClusterRange = 0;
  if (version >= 19) nClusterRange = c.i32();
  c.i64(); // fMaxEntries
  c.i64(); // fMaxEntryLoop
  c.i64(); // fMaxVirtualSize
  c.i64(); // fAutoSave
  if (version >= 18) tree.autoFlush = c.i64();
  c.i64(); // fEstimate
  if (version >= 19) {
    if (nClusterRange < 0 || nClusterRange * 16 > c.remaining()) throw c.error('CORRUPT', `TTree claims ${nClusterRange} cluster ranges`);
    tree.clusterRangeEnd = Array.from(basicPointerI64(c, nClusterRange));
    tree.clusterSize = Array.from(basicPointerI64(c, nClusterRange));
  }
  if (version >= 20) c.skipObject('TIOFeatures');
  if (tree.entries < 0) throw c.error('CORRUPT', `TTree has ${tree.entries} entries`);
  const branches = c.objArray((cls, cur) => readBranchObject(cls, cur, null, tree.entries), 'TTree branches');
  tree.branches = branches.filter((b): b is Branch => b instanceof Branch);
  c.skipTo(end, 'TTree');
  tree.index();
  return tree;
}

function basicPointerI64(c: Cursor, n: number): Float64Array {
  const flag = c.u8();
  if (flag === 0) return new Float64Array(n);
  return c.i64Array(n, false);
}

function basicPointerI32(c: Cursor, n: number): Int32Array {
  const flag = c.u8();
  if (flag === 0) return new Int32Array(n);
  return c.i32Array(n, false);
}

const BRANCH_CLASSES = new Set(['TBranch', 'TBranchElement', 'TBranchObject', 'TBranchRef', 'TBranchSTL']);

function readBranchObject(cls: string, c: Cursor, parent: Branch | null, treeEntries: number): Branch | undefined {
  if (!BRANCH_CLASSES.has(cls)) return undefined;
  const b = new Branch();
  b.rootClass = cls;
  b.parent = parent;
  if (cls === 'TBranch') {
    readTBranch(c, b, treeEntries);
    return b;
  }
  if (cls === 'TBranchRef') {
    const { end } = c.versionHeader(cls);
    readTBranch(c, b, treeEntries);
    c.skipTo(end, cls); // fRefTable
    return b;
  }
  if (cls === 'TBranchElement' || cls === 'TBranchSTL') {
    const { version, end } = c.versionHeader(cls);
    if (version < 8 || version > 10) throw c.error('UNSUPPORTED', `TBranchElement version ${version} (supported: 8–10)`);
    readTBranch(c, b, treeEntries);
    b.className = c.tstring();
    b.parentName = c.tstring();
    b.clonesName = c.tstring();
    c.u32(); // fCheckSum
    b.classVersion = version >= 10 ? c.i16() : c.i32();
    b.elementId = c.i32();
    b.type = c.i32();
    b.streamerType = c.i32();
    c.i32(); // fMaximum
    c.skipTo(end, cls); // fBranchCount, fBranchCount2: we derive counts from the tree structure
    return b;
  }
  // TBranchObject: TBranch + fClassName
  const { end } = c.versionHeader(cls);
  readTBranch(c, b, treeEntries);
  b.className = c.tstring();
  c.skipTo(end, cls);
  return b;
}

function readTBranch(c: Cursor, b: Branch, treeEntries: number): void {
  const { version, end } = c.versionHeader('TBranch');
  if (version < 10 || version > 13) throw c.error('UNSUPPORTED', `TBranch version ${version} (supported: 10–13)`);
  const named = c.tnamed();
  b.name = named.name;
  b.title = named.title;
  const ctx = { ...c.context, branch: b.name };
  c.skipObject('TAttFill');
  c.i32(); // fCompress
  c.i32(); // fBasketSize
  b.entryOffsetLen = c.i32();
  const writeBasket = c.i32();
  c.i64(); // fEntryNumber
  if (version >= 13) c.skipObject('TIOFeatures');
  c.i32(); // fOffset
  const maxBaskets = c.i32();
  b.splitLevel = c.i32();
  b.entries = c.i64();
  if (version >= 11) c.i64(); // fFirstEntry
  b.totBytes = c.i64();
  b.zipBytes = c.i64();
  if (maxBaskets < 0 || writeBasket < 0 || writeBasket > maxBaskets || maxBaskets * 20 > c.remaining()) {
    throw new RootError('CORRUPT', `branch claims ${writeBasket} of ${maxBaskets} baskets`, ctx);
  }
  const children = c.objArray((cls, cur) => readBranchObject(cls, cur, b, treeEntries), 'TBranch sub-branches');
  b.branches = children.filter((x): x is Branch => x instanceof Branch);
  const leaves = c.objArray((cls, cur) => readLeaf(cls, cur), 'TBranch leaves');
  b.leaves = leaves.filter((x): x is LeafInfo => !!x && typeof x === 'object' && 'lenType' in x);
  const embedded = c.objArray((cls, cur) => (cls === 'TBasket' ? readEmbeddedBasket(cur, ctx) : undefined), 'TBranch baskets');
  const basketBytes = basicPointerI32(c, maxBaskets);
  const basketEntry = basicPointerI64(c, maxBaskets);
  const basketSeek = basicPointerI64(c, maxBaskets);
  c.skipTo(end, 'TBranch'); // fFileName
  // the last on-disk basket ends where the next (embedded) one starts, else at fEntries
  const next = basketEntry[writeBasket];
  const lastStop = next !== undefined && next > 0 && next <= b.entries ? next : b.entries;
  for (let i = 0; i < writeBasket; i++) {
    const start = basketEntry[i]!;
    const stop = i + 1 < writeBasket ? basketEntry[i + 1]! : lastStop;
    if (!(start >= 0 && stop >= start && stop <= Math.max(b.entries, treeEntries))) {
      throw new RootError('CORRUPT', `basket ${i} covers entries ${start}–${stop}, outside 0–${b.entries}`, { ...ctx, basket: i });
    }
    b.baskets.push({ index: i, entryStart: start, entryStop: stop, seek: basketSeek[i]!, bytes: basketBytes[i]!, embedded: null });
  }
  const last = embedded[writeBasket];
  if (last && typeof last === 'object' && 'data' in last && last.entries > 0) {
    const start = writeBasket > 0 ? b.baskets[writeBasket - 1]!.entryStop : basketEntry[writeBasket] ?? 0;
    b.baskets.push({ index: writeBasket, entryStart: start, entryStop: start + last.entries, seek: 0, bytes: 0, embedded: last });
  }
}

const LEAF_CLASSES = new Set([
  'TLeafB', 'TLeafS', 'TLeafI', 'TLeafL', 'TLeafF', 'TLeafD', 'TLeafC', 'TLeafO', 'TLeafG',
  'TLeafF16', 'TLeafD32', 'TLeafElement', 'TLeafObject',
]);

function readLeaf(cls: string, c: Cursor): LeafInfo | undefined {
  if (!LEAF_CLASSES.has(cls)) return undefined;
  const outer = c.versionHeader(cls);
  const inner = c.versionHeader('TLeaf');
  const named = c.tnamed();
  const len = c.i32();
  const lenType = c.i32();
  c.i32(); // fOffset
  c.u8(); // fIsRange
  const isUnsigned = c.u8() !== 0;
  const leaf: LeafInfo = { className: cls, name: named.name, title: named.title, len, lenType, isUnsigned, countLeaf: null };
  const count = c.objectAny((lcls, cur) => readLeaf(lcls, cur));
  leaf.countLeaf = count && typeof count === 'object' ? count : null;
  c.skipTo(inner.end, 'TLeaf');
  if (cls === 'TLeafElement') {
    c.i32(); // fID
    leaf.elementType = c.i32();
  }
  c.skipTo(outer.end, cls);
  // fLen = -1 is valid: ROOT writes it for a member "buffer[numberOfHits]" of a split
  // class when it cannot find the count leaf by that bare name; the values per entry
  // are then counted by the count leaf (the entry offsets), as for any "x[n]" leaf.
  if (len < -1 || len > 1 << 24) throw c.error('CORRUPT', `leaf ${leaf.name} has length ${len}`);
  return leaf;
}

function readEmbeddedBasket(c: Cursor, ctx: ErrorContext): EmbeddedBasket {
  c.i32(); // fNbytes
  const keyVersion = c.i16();
  c.i32(); // fObjlen
  c.u32(); // fDatime
  const keylen = c.i16();
  c.i16(); // fCycle
  if (keyVersion > 1000) {
    c.i64();
    c.i64();
  } else {
    c.u32();
    c.u32();
  }
  c.tstring();
  c.tstring();
  c.tstring();
  const v = c.versionHeader('TBasket').version;
  c.i32(); // fBufferSize
  if (v > 1) c.i32(); // fNevBufSize
  const nevBuf = c.i32();
  const last = c.i32();
  const flag = c.u8();
  if (nevBuf < 0 || last < keylen) {
    throw new RootError('CORRUPT', `embedded basket has ${nevBuf} entries and fLast=${last}`, ctx);
  }
  let rawOffsets: Int32Array | null = null;
  if (flag !== 0 && flag % 10 !== 2) {
    if (nevBuf > 0) {
      const n = c.i32();
      if (n < 0 || n * 4 > c.remaining()) throw new RootError('CORRUPT', `embedded basket offset array of ${n}`, ctx);
      rawOffsets = c.i32Array(n, false);
      if (flag > 40) {
        const m = c.i32();
        c.skip(Math.max(0, m) * 4);
      }
    }
  }
  let data: Uint8Array = new Uint8Array(0);
  if (flag === 1 || flag > 10) {
    const buf = c.bytes(last);
    data = buf.subarray(keylen, last);
  }
  let offsets: Int32Array | null = null;
  if (rawOffsets && rawOffsets.length >= nevBuf) {
    offsets = new Int32Array(nevBuf + 1);
    // flags 21–39 mark offsets that carry a displacement in their top byte
    const mask = flag > 20 && flag < 40 ? 0x00ffffff : -1;
    for (let i = 0; i < nevBuf; i++) offsets[i] = (rawOffsets[i]! & mask) - keylen;
    offsets[nevBuf] = data.length;
  }
  return { data: data.slice(), offsets, entries: nevBuf };
}
