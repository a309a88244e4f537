// The TTree object: its branches, their leaves and where their baskets are.
//
// TTree, TBranch, TBranchElement and TLeaf* are decoded from their known
// layouts (TTree v16–v20, TBranch v10–v13, TBranchElement v8–v10, i.e. ROOT
// 5.2x to 6.3x), using each object's byte count to step over members we do not
// need (attributes, aliases, indices, friends), so a newer minor version that
// appends members still opens.
//
// Opening a tree reads only what every caller needs: the tree's own fields and,
// for each top-level branch, its name, entry count, number of sub-branches and
// byte span in the record. A branch's full record (leaves, baskets,
// sub-branches) is parsed the first time it is asked for (by name, by path, or
// by walking all branches), so opening a ~1,500-branch PHYSLITE tree to read
// 25 branches parses 25 records. References inside a record to objects of a
// branch not parsed yet (a count leaf, a class name) are resolved by parsing
// that branch then (see Cursor.onMissingObject), so results are the same as
// parsing everything at once.
//
// Counts read from the file are checked before they size a loop or an
// allocation: every branch must hold as many entries as the tree says and its
// baskets must cover them, and the cluster list is bounded by the baskets
// that exist (a tree claiming 2^52 one-entry clusters is CORRUPT at once, not
// a loop of 2^52 steps).

import { Cursor } from './cursor';
import { RootError, withErrorContext, type ErrorContext } from './errors';
import type { RootFile, KeyInfo } from './file';

export interface LeafInfo {
  className: string;
  name: string;
  title: string;
  /** Number of values per entry for fixed-size leaves (1 for scalars; product of dimensions). */
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

/** What opening a tree learns about a top-level branch without parsing its record. */
interface BranchSpan {
  name: string;
  className: string;
  /** Buffer position of the element's tag (where objectAny starts) and of its end. */
  start: number;
  end: number;
  /** fEntries of the branch. */
  entries: number;
  /** Number of sub-branches (elements of its fBranches array). */
  subBranches: number;
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
  /** The record the branches are parsed from, until every branch is. */
  private record: Cursor | undefined;
  private spans: BranchSpan[] = [];
  /** Parsed top-level branches, by span; all of them once `complete`. */
  private parsed: (Branch | undefined)[] = [];
  private parsing: boolean[] = [];
  private complete: Branch[] | undefined;
  private topIndex = new Map<string, number>();
  private byName: Map<string, Branch> | undefined;

  constructor(file: RootFile, key: KeyInfo) {
    this.file = file;
    this.key = key;
  }

  get context(): ErrorContext {
    return { file: this.file.name, tree: this.name };
  }

  /** Top-level branches (parses every branch record on first use). */
  get branches(): Branch[] {
    if (!this.complete) {
      for (let i = 0; i < this.spans.length; i++) this.parseSpan(i);
      this.complete = this.parsed as Branch[];
      this.record = undefined;
    }
    return this.complete;
  }

  /** Names of the top-level branches, in order, without parsing their records. */
  topLevelNames(): string[] {
    return this.complete ? this.complete.map((b) => b.name) : this.spans.map((s) => s.name);
  }

  /** Every branch, depth first. */
  *allBranches(): Generator<Branch> {
    for (const b of this.branches) yield* b.walk();
  }

  /**
   * Name and parent name of every branch, depth first, as allBranches() would
   * give them, parsing only the records of top-level branches that have
   * sub-branches (a schema built from names does not need the others).
   */
  *branchNames(): Generator<{ name: string; parent: string | undefined }> {
    if (this.complete) {
      for (const b of this.allBranches()) yield { name: b.name, parent: b.parent?.name };
      return;
    }
    for (let i = 0; i < this.spans.length; i++) {
      const span = this.spans[i]!;
      if (span.subBranches === 0 && !this.parsed[i]) yield { name: span.name, parent: undefined };
      else for (const b of this.parseSpan(i).walk()) yield { name: b.name, parent: b.parent?.name };
    }
  }

  /** Builds the full name index (parses every branch). */
  index(): void {
    if (this.byName) return;
    const byName = new Map<string, Branch>();
    for (const b of this.allBranches()) {
      if (!byName.has(b.name)) byName.set(b.name, b);
      byName.set(b.path, b);
    }
    this.byName = byName;
  }

  /**
   * A branch by full name or by "/"-joined path. The rule is that of the full
   * index: a top-level branch of that name (the last one, if several), else
   * the branch with that path, else the first branch of that name depth
   * first. Only the records needed to decide are parsed.
   */
  branch(name: string): Branch {
    const b = this.find(name);
    if (!b) {
      this.index();
      const similar = [...this.byName!.keys()].filter((n) => n.toLowerCase().includes(name.toLowerCase().split('.').pop() ?? name)).slice(0, 8);
      throw new RootError('NOT_FOUND', `no branch "${name}"${similar.length ? ` (similar: ${similar.join(', ')})` : ''}`, this.context);
    }
    return b;
  }

  hasBranch(name: string): boolean {
    return this.find(name) !== undefined;
  }

  private find(name: string): Branch | undefined {
    if (this.byName) return this.byName.get(name);
    const top = this.topIndex.get(name);
    if (top !== undefined) return this.parseSpan(top);
    if (name.includes('/')) {
      // the top-level branches whose name starts the path hold every branch with that path
      let found: Branch | undefined;
      for (let i = 0; i < this.spans.length; i++) {
        if (!name.startsWith(this.spans[i]!.name + '/')) continue;
        for (const b of this.parseSpan(i).walk()) if (b.path === name) found = b;
      }
      if (found) return found;
    }
    this.index();
    return this.byName!.get(name);
  }

  /** Parses the record of top-level branch `i` (once) and checks its counts. */
  private parseSpan(i: number): Branch {
    const done = this.parsed[i];
    if (done) return done;
    const span = this.spans[i]!;
    const record = this.record!;
    if (this.parsing[i]) throw new RootError('CORRUPT', `the record of branch ${span.name} refers to itself`, { ...this.context, branch: span.name });
    this.parsing[i] = true;
    try {
      const b = withErrorContext({ file: this.file.name, tree: this.name }, () => {
        const obj = record.objectAt(span.start, (cls, cur) => readBranchObject(cls, cur, null, this.entries));
        if (!(obj instanceof Branch)) throw new RootError('CORRUPT', `top-level branch ${span.name} did not parse as a ${span.className}`, { ...this.context, branch: span.name });
        for (const x of obj.walk()) checkBranchEntries(this, x, this.file.limits.maxObjectBytes);
        return obj;
      });
      this.parsed[i] = b;
      return b;
    } finally {
      this.parsing[i] = false;
    }
  }

  /** Called by the record cursor when a reference points into a branch not parsed yet. */
  private resolveReference(bufferPos: number): void {
    // spans are in record order: binary search for the one holding the position
    let lo = 0;
    let hi = this.spans.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = this.spans[mid]!;
      if (bufferPos < s.start) hi = mid - 1;
      else if (bufferPos >= s.end) lo = mid + 1;
      else {
        if (!this.parsed[mid] && !this.parsing[mid]) this.parseSpan(mid);
        return;
      }
    }
  }

  /**
   * Cluster boundaries: ranges of entries the writer flushed together, so
   * reading cluster by cluster touches each basket once with bounded memory.
   * Follows ROOT's rule: explicit cluster ranges first, then fAutoFlush-sized
   * clusters; without either, basket boundaries of the first branch with data.
   */
  clusters(): ClusterRange[] {
    // computed once: without cluster metadata it walks branches for basket edges
    this.clusterCache ??= this.computeClusters();
    return this.clusterCache.map((c) => ({ ...c }));
  }

  private clusterCache: ClusterRange[] | undefined;

  /** The first branch, depth first, that has baskets (parsing top-level branches in order until one does). */
  private firstBranchWithBaskets(): Branch | undefined {
    for (let i = 0; i < this.spans.length; i++) {
      for (const b of this.parseSpan(i).walk()) if (b.baskets.length > 0) return b;
    }
    return undefined;
  }

  private computeClusters(): ClusterRange[] {
    const total = this.entries;
    if (total === 0) return [];
    const ref = this.firstBranchWithBaskets();
    // no branch stores anything: one cluster, nothing to flush
    if (!ref) return [{ entryStart: 0, entryStop: total }];
    // Every cluster starts a new basket in every branch with data, so there are
    // at most as many clusters as the reference branch has baskets: count first,
    // then build, so a hostile fAutoFlush or cluster range never drives a long loop.
    const limit = ref.baskets.length;
    const tooMany = (n: number) =>
      new RootError('CORRUPT', `the tree's cluster layout (fAutoFlush=${this.autoFlush}, ${this.clusterRangeEnd.length} cluster ranges) makes ${n > Number.MAX_SAFE_INTEGER ? 'more than 2^53' : n} clusters for ${total} entries, but branch ${ref.name} has only ${limit} baskets`, { ...this.context, branch: ref.name });
    let count = 0;
    let start = 0;
    const ranges: { last: number; size: number }[] = [];
    for (let i = 0; i < this.clusterRangeEnd.length && start < total; i++) {
      const last = Math.min(this.clusterRangeEnd[i]!, total - 1);
      if (!(last >= start - 1)) throw new RootError('CORRUPT', `cluster range ${i} ends at entry ${this.clusterRangeEnd[i]}, before the previous one`, this.context);
      let size = this.clusterSize[i]!;
      if (size <= 0) size = this.autoFlush > 0 ? this.autoFlush : last - start + 1;
      if (last >= start) count += Math.ceil((last - start + 1) / size);
      if (count > limit) throw tooMany(count);
      ranges.push({ last, size });
      start = Math.max(start, last + 1);
    }
    if (start < total && this.autoFlush > 0) {
      count += Math.ceil((total - start) / this.autoFlush);
      if (count > limit) throw tooMany(count);
    }
    const out: ClusterRange[] = [];
    start = 0;
    for (const { last, size } of ranges) {
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
        for (const b of ref.baskets) {
          const e = b.entryStop;
          if (e <= start || e > total) continue;
          out.push({ entryStart: start, entryStop: e });
          start = e;
        }
        if (start < total) out.push({ entryStart: start, entryStop: total });
      }
    }
    return out;
  }

  /**
   * Records where each top-level branch is in the record (a skim: tag, name,
   * entry and sub-branch counts), checking each branch's entry count against
   * the tree's. The full records are parsed later, on demand.
   */
  skimBranches(c: Cursor): void {
    const { end } = c.versionHeader('TTree branches');
    c.tobject();
    c.tstring(); // fName
    const n = c.i32();
    c.i32(); // fLowerBound
    // every element takes at least 4 bytes (a null pointer)
    if (n < 0 || n * 4 > c.remaining()) throw c.error('CORRUPT', `TTree branches claims ${n} elements in ${c.remaining()} bytes`);
    for (let i = 0; i < n; i++) {
      const span = skimElement(c);
      if (span === 'eager') {
        // a layout the skim does not follow (an element without a byte count,
        // a reference to an earlier element): parse everything now, as a full read does
        this.record = c;
        this.readAllEagerly(c, n - i);
        c.skipTo(end, 'TTree branches');
        return;
      }
      if (!span) continue;
      if (span.entries !== this.entries) throw entriesMismatch(this, span.name, span.entries);
      this.topIndex.set(span.name, this.spans.length);
      this.spans.push(span);
      this.parsed.push(undefined);
      this.parsing.push(false);
    }
    c.skipTo(end, 'TTree branches');
    this.record = c;
    c.onMissingObject = (pos) => this.resolveReference(pos);
  }

  /** Parses the remaining `count` elements of the branch array in order (the fallback of skimBranches). */
  private readAllEagerly(c: Cursor, count: number): void {
    const out = this.parsed.slice();
    for (let k = 0; k < this.spans.length; k++) out[k] = this.parseSpan(k);
    for (let k = 0; k < count; k++) {
      const obj = c.objectAny((cls, cur) => readBranchObject(cls, cur, null, this.entries));
      if (obj instanceof Branch) {
        for (const x of obj.walk()) checkBranchEntries(this, x, this.file.limits.maxObjectBytes);
        out.push(obj);
      }
    }
    this.complete = out as Branch[];
    this.parsed = out;
    this.spans = [];
    this.topIndex.clear();
    this.record = undefined;
  }
}

function entriesMismatch(tree: Tree, branch: string, entries: number): RootError {
  return new RootError(
    'CORRUPT',
    `the tree says it has ${tree.entries} entries but branch ${branch} holds ${entries}: the file is inconsistent (${
      tree.entries > entries ? `ROOT would read entries past ${entries} of this branch as stale values` : `ROOT would read the first ${tree.entries} entries and never see the rest`
    })`,
    { ...tree.context, branch },
  );
}

/**
 * A branch must hold exactly the tree's entries, and its baskets (when it
 * has any) must cover them from entry 0 without gaps; no basket may claim
 * more entries than the largest object the decoder inflates has bytes.
 */
function checkBranchEntries(tree: Tree, b: Branch, maxObjectBytes: number): void {
  if (b.entries !== tree.entries) throw entriesMismatch(tree, b.name, b.entries);
  if (b.baskets.length === 0) return;
  let covered = 0;
  for (const k of b.baskets) {
    if (k.entryStart !== covered) {
      throw new RootError('CORRUPT', `basket ${k.index} starts at entry ${k.entryStart}, but the baskets before it end at ${covered}`, { ...tree.context, branch: b.name, basket: k.index });
    }
    // an entry takes at least one byte of an inflated basket
    if (k.entryStop - k.entryStart > maxObjectBytes) {
      throw new RootError('CORRUPT', `basket ${k.index} claims ${k.entryStop - k.entryStart} entries, more than a basket of at most ${maxObjectBytes} bytes can hold`, { ...tree.context, branch: b.name, basket: k.index });
    }
    covered = k.entryStop;
  }
  if (covered !== b.entries) {
    throw new RootError('CORRUPT', `the baskets of branch ${b.name} cover ${covered} entries, the branch and the tree say ${b.entries}`, { ...tree.context, branch: b.name });
  }
}

/**
 * Skims one element of the tree's branch array: returns its span, undefined
 * for a null or non-branch element, or 'eager' for a layout the skim does
 * not handle (no byte count, or a reference to an object read before).
 */
function skimElement(c: Cursor): BranchSpan | undefined | 'eager' {
  const at = c.pos;
  const first = c.u32();
  if (first === 0) return undefined;
  if ((first & 0x40000000) === 0 || first === 0xffffffff) {
    c.seek(at);
    return 'eager';
  }
  const end = at + 4 + (first & ~0x40000000);
  if (end > c.length) throw c.error('CORRUPT', `branch element byte count ${first & ~0x40000000} runs past the record`, at);
  c.seek(at);
  // read the tag (registering a new class name, as a full read does), then peek into the body
  let span: BranchSpan | undefined;
  c.objectAny((cls, cur) => {
    if (!BRANCH_CLASSES.has(cls)) return undefined;
    const peek = peekBranch(cls, cur);
    span = { name: peek.name, className: cls, start: at, end, entries: peek.entries, subBranches: peek.subBranches };
    return undefined; // skipped to its end by objectAny
  });
  if (c.pos !== end) throw c.error('CORRUPT', `branch element did not end at its byte count`, at);
  // the skim registered "nothing" at the element's position: the parse on demand registers the branch
  c.refs.delete(at + c.refBase + 2);
  return span;
}

/** Name, entries and sub-branch count of a branch, read from the start of its record. */
function peekBranch(cls: string, c: Cursor): { name: string; entries: number; subBranches: number } {
  if (cls !== 'TBranch') c.versionHeader(cls);
  const { version } = c.versionHeader('TBranch');
  if (version < 10 || version > 13) throw c.error('UNSUPPORTED', `TBranch version ${version} (supported: 10–13)`);
  const name = c.tnamedName();
  c.skipObject('TAttFill');
  c.skip(4 * 4 + 8); // fCompress, fBasketSize, fEntryOffsetLen, fWriteBasket, fEntryNumber
  if (version >= 13) c.skipObject('TIOFeatures');
  c.skip(3 * 4); // fOffset, fMaxBaskets, fSplitLevel
  const entries = c.i64();
  if (entries < 0) throw c.error('CORRUPT', `branch ${name} has ${entries} entries`);
  // fFirstEntry, fTotBytes, fZipBytes, then the fBranches TObjArray header
  c.skip((version >= 11 ? 3 : 2) * 8);
  c.versionHeader('TBranch sub-branches');
  c.tobject();
  c.tstring();
  const subBranches = c.i32();
  return { name, entries, subBranches };
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
  tree.skimBranches(c);
  c.skipTo(end, 'TTree');
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
  if (len < 0 || len > 1 << 24) throw c.error('CORRUPT', `leaf ${leaf.name} has length ${len}`);
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
