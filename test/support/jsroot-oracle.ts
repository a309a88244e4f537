// The test oracle: branch values read by jsroot (an independent ROOT reader,
// https://root.cern/js/), in the same plain form as our `toPlainArray`, so the
// differential tests can compare the two with isDeepStrictEqual:
//
//   - numbers stay numbers; floats stay exactly the doubles jsroot decoded
//     (a float32 becomes the double of the same value, NaN stays NaN, -0 stays -0);
//   - booleans become 0/1 (jsroot gives a scalar bool member as true/false,
//     a bool array or vector<bool> as a Uint8Array);
//   - 64-bit integers become numbers: jsroot gives a number when |v| < 2^53
//     and a BigInt otherwise; we round BigInts with Number(), as our decoder's
//     toPlainArray does. jsroot 7.11 decodes signed 64-bit values below -2^31
//     wrongly (it adds 2^32 when the low word is < 2^31); this module replaces
//     that one reader (TBuffer.ntoi8) with a correct one, see `jsrootInt64Fix`;
//   - chars (Char_t, vector<char>) are numbers (jsroot: Int8Array);
//   - fixed-size arrays, vector<T>, set<T> and C arrays with a counter are
//     arrays; vector<vector<T>> is an array of arrays (jsroot: typed arrays,
//     plain arrays of typed arrays; we copy them into plain arrays);
//   - strings are strings. jsroot turns each byte into one UTF-16 unit
//     (Latin-1); a string with bytes >= 0x80 is re-decoded as UTF-8 here;
//   - class objects are plain objects without jsroot's bookkeeping (`_typename`,
//     `$…` fields, functions): an ElementLink is {m_persKey, m_persIndex}, a
//     split vector<ElementLink<…>> read through its parent branch an array of
//     those, an unsplit vector<vector<ElementLink<…>>> an array of arrays of them;
//   - null (a pointer jsroot found empty) becomes [].
//
// Efficiency: one jsroot file object per tree, and many branches read in one
// TSelector pass (jsroot reads all their baskets in a few batched requests).
// jsroot cannot put a branch and a branch it reads implicitly into one pass
// (a counter such as `NJet`, or the sub-branches an object or collection
// branch reads into itself), so `readMany` plans several passes; a pass that
// fails is split in halves until the branch at fault is alone, so one
// unreadable branch never costs the others their values.

/// <reference types="jsroot" />
import { openFile, TBuffer } from 'jsroot/io';
import { TSelector, treeProcess } from 'jsroot/tree';
import { sampleBytes } from '../../scripts/lib/samples';

export type Plain = number | string | Plain[] | { [k: string]: Plain };

// ---------------------------------------------------------------------------
// jsroot's 64-bit signed integer reader

/**
 * True when this module replaced jsroot's TBuffer.ntoi8 because it decodes
 * negative 64-bit integers below -2^31 wrongly (jsroot 7.11:
 * -2147483649 → 2147483647). The replacement keeps jsroot's convention: a
 * number when the value is a safe integer, a BigInt otherwise.
 */
export const jsrootInt64Fix: boolean = (() => {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigInt64(0, -2147483649n);
  const proto = (TBuffer as { prototype: { ntoi8(): number | bigint } }).prototype;
  const probe = proto.ntoi8.call({ arr: view, o: 0 } as never);
  if (probe === -2147483649) return false;
  proto.ntoi8 = function (this: { arr: DataView; o: number }) {
    const v = this.arr.getBigInt64(this.o);
    this.o += 8;
    return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
  };
  return true;
})();

// ---------------------------------------------------------------------------
// plain values

const utf8 = new TextDecoder('utf-8');

/** jsroot's value for one entry → plain JS (see the header for the rules). */
export function toPlain(v: unknown): Plain {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string') return fromLatin1(v);
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number | bigint>, (x) => (typeof x === 'bigint' ? Number(x) : x));
  if (Array.isArray(v)) return v.map(toPlain);
  if (v instanceof Set) return [...v].map(toPlain);
  if (v instanceof Map) return [...v].map(([first, second]) => ({ first: toPlain(first), second: toPlain(second) }));
  if (v && typeof v === 'object') {
    const out: { [k: string]: Plain } = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === '_typename' || k.startsWith('$') || typeof x === 'function') continue;
      out[k] = toPlain(x);
    }
    return out;
  }
  return v === null || v === undefined ? [] : String(v);
}

function fromLatin1(s: string): string {
  // jsroot builds strings with String.fromCharCode(byte): recover the bytes
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) {
      const bytes = new Uint8Array(s.length);
      for (let j = 0; j < s.length; j++) bytes[j] = s.charCodeAt(j) & 0xff;
      return utf8.decode(bytes);
    }
  }
  return s;
}

/**
 * A short description of a value's shape: `number`, `string`, `number[]`,
 * `number[][]`, `{m_persKey,m_persIndex}[]`, `{first:string,second:string}[]`,
 * `[]` (every array empty, element type unknown), …
 */
export function shapeOf(v: Plain): string {
  if (typeof v === 'number') return 'number';
  if (typeof v === 'string') return 'string';
  if (Array.isArray(v)) {
    let shapes = new Set(v.map(shapeOf));
    if (shapes.size === 0) return '[]';
    // empty inner arrays carry no element type: prefer a more specific sibling
    const empty = (s: string) => /^(\[\])+$/.test(s);
    if (shapes.size > 1) {
      const typed = [...shapes].filter((s) => !empty(s));
      shapes = new Set(typed.length ? typed : [[...shapes].sort((a, b) => b.length - a.length)[0]!]);
    }
    if (shapes.size === 1) {
      const s = [...shapes][0]!;
      return s === '[]' ? '[][]' : `${s}[]`;
    }
    return `(${[...shapes].join('|')})[]`;
  }
  const keys = Object.keys(v);
  if (keys.length === 0) return '{}';
  if (keys.every((k) => typeof v[k] === 'number')) return `{${keys.join(',')}}`;
  const fields = keys.slice(0, 6).map((k) => `${k}:${shapeOf(v[k]!)}`);
  if (keys.length > 6) fields.push(`…+${keys.length - 6}`);
  return `{${fields.join(',')}}`;
}

/** Whether a plain value holds anything (non-empty array, or object with a non-empty field). */
export function isNonEmpty(v: Plain): boolean {
  if (typeof v === 'number' || typeof v === 'string') return true;
  if (Array.isArray(v)) return v.length > 0;
  return Object.values(v).some(isNonEmpty);
}

/** The JS type jsroot itself produced: `number`, `boolean`, `bigint`, `Float32Array(3)`, `Array<Int32Array>`, `object<Class>`, … */
export function jsrootKind(v: unknown, depth = 0): string {
  if (v === null) return 'null';
  if (typeof v !== 'object') return typeof v;
  if (ArrayBuffer.isView(v)) return v.constructor.name;
  if (Array.isArray(v)) {
    if (depth > 2) return 'Array';
    const inner = new Set(v.slice(0, 8).map((x) => jsrootKind(x, depth + 1)));
    return inner.size === 0 ? 'Array' : `Array<${[...inner].join('|')}>`;
  }
  const t = (v as { _typename?: unknown })._typename;
  return typeof t === 'string' ? `object<${t}>` : 'object';
}

// ---------------------------------------------------------------------------
// jsroot's tree model, as far as we use it

interface JLeaf {
  _typename: string;
  fName: string;
  fLen: number;
  fLeafCount?: JLeaf | null;
  fIsUnsigned?: boolean;
}

interface JBranch {
  _typename: string;
  fName: string;
  fEntries: number;
  fBranches: { arr: JBranch[] };
  fLeaves: { arr: JLeaf[] };
  fType?: number;
  fStreamerType?: number;
  fID?: number;
  fClassName?: string;
  fClonesName?: string;
  fClassVersion?: number;
  fCheckSum?: number;
  fBranchCount?: JBranch | null;
  fBranchCount2?: JBranch | null;
}

interface JTree {
  fName: string;
  fEntries: number;
  fBranches: { arr: JBranch[] };
}

interface JStreamerElement {
  fName: string;
  fType: number;
  fTypeName: string;
}

interface JFile {
  readObject(name: string): Promise<unknown>;
  findStreamerInfo(cl: string, ver?: number, checksum?: number): { fElements?: { arr: JStreamerElement[] } } | null;
}

/** What jsroot knows of one branch (a row of the survey). */
export interface BranchInfo {
  /** fName: full name as written, e.g. `AnalysisJetsAuxDyn.btaggingLink.m_persKey`, `ArrayI16[10]`. */
  name: string;
  /** Name of the parent branch, null for a top-level branch. */
  parent: string | null;
  depth: number;
  /** ROOT class of the branch: TBranch, TBranchElement, TBranchObject. */
  kind: string;
  /** TBranchElement fType (0 leaf/top, 1 base class, 2 object, 3 clones node, 4 STL node, 31/41 their members), null for TBranch. */
  fType: number | null;
  /** TBranchElement fStreamerType (e.g. 5 float, 13 uint, 300 STL member, -1 top-level), null for TBranch. */
  fStreamerType: number | null;
  fID: number | null;
  /** fClassName: the branch's class (for a member, the class it is a member of). */
  className: string;
  /** fClonesName: element class of a collection node. */
  clonesName: string;
  /** For a member branch (fID >= 0): the streamer element's type name, e.g. `vector<float>`. */
  memberType: string | null;
  /** Leaf classes with their counter or fixed length: `TLeafF[NJet]`, `TLeafElement(10)`. */
  leaves: string[];
  entries: number;
  /** The branch holding this branch's per-entry count, if any. */
  counter: string | null;
  subBranches: number;
}

export interface ReadOptions {
  /** First entry (default 0). */
  entryStart?: number;
  /** One past the last entry (default: all). */
  entryStop?: number;
  /**
   * Called with jsroot's own value of every branch at every entry, before it
   * is made plain (jsroot may reuse it afterwards); `index` is the branch's
   * position in `branches`.
   */
  inspect?: (branch: string, entry: number, raw: unknown, index: number) => void;
}

export interface OracleStats {
  /** TSelector passes run, failed passes (each then split), wall time in them. */
  passes: number;
  failedPasses: number;
  ms: number;
}

export interface OracleTree {
  readonly name: string;
  entries: number;
  /** Every branch name (fName), depth first, as jsroot lists them. */
  branchNames: string[];
  /** Every branch with what jsroot knows of it, depth first. */
  readonly branches: readonly BranchInfo[];
  info(branch: string): BranchInfo | undefined;
  /**
   * All entries of one branch as plain values, or the error jsroot gave. The
   * first call reads every branch of the tree in a few passes and keeps the
   * results: later calls cost nothing. Callers must not modify the arrays.
   */
  read(branch: string): Promise<Plain[] | Error>;
  /** Reads many branches over an entry range in as few passes as jsroot allows. */
  readMany(branches: readonly string[], options?: ReadOptions): Promise<Map<string, Plain[] | Error>>;
  /** One branch over a range; throws the error jsroot gave. */
  readRange(branch: string, options?: ReadOptions): Promise<Plain[]>;
  /**
   * Every branch, aligned with `branches` (a tree may hold two branches of one
   * name, e.g. an ElementLink object and its base-class sub-branch: by name
   * only the first is reachable, here both are).
   */
  readAll(options?: ReadOptions): Promise<(Plain[] | Error)[]>;
  readonly stats: OracleStats;
  /** jsroot's own object for this tree (its `$file` is the jsroot file). */
  readonly jsrootTree: unknown;
}

// ---------------------------------------------------------------------------
// opening

/** Opens a tree with jsroot from the bytes of a ROOT file in memory. */
export async function openOracle(bytes: Uint8Array | ArrayBuffer, treeName: string): Promise<OracleTree> {
  const buffer = bytes instanceof ArrayBuffer ? bytes : (bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  const { value: file, messages: m1 } = await withConsoleCaptured(async () => (await openFile(buffer)) as JFile);
  const { value: tree, messages: m2 } = await withConsoleCaptured(async () => (await file.readObject(treeName)) as JTree | null);
  if (!tree || !tree.fBranches) throw new Error(`jsroot: no tree "${treeName}" in the file${[...m1, ...m2].length ? ` (${[...m1, ...m2].join('; ')})` : ''}`);
  return new Tree(file, tree);
}

/** Opens a tree of one of the known samples (scripts/lib/samples). */
export async function openOracleSample(sample: string, treeName: string): Promise<OracleTree> {
  return openOracle(await sampleBytes(sample), treeName);
}

// ---------------------------------------------------------------------------

const kSTLNode = 4;
const kClonesNode = 3;

class Tree implements OracleTree {
  readonly name: string;
  entries: number;
  branchNames: string[] = [];
  readonly branches: BranchInfo[] = [];
  private readonly jbranches: JBranch[] = [];
  private readonly indexOf = new Map<JBranch, number>();
  readonly stats: OracleStats = { passes: 0, failedPasses: 0, ms: 0 };
  readonly jsrootTree: unknown;
  private readonly byName = new Map<string, JBranch>();
  private readonly infoByName = new Map<string, BranchInfo>();
  private readonly descendants = new Map<JBranch, JBranch[]>();
  private whole: Promise<Map<string, Plain[] | Error>> | undefined;

  constructor(
    private readonly file: JFile,
    private readonly tree: JTree,
  ) {
    this.name = tree.fName;
    this.entries = Number(tree.fEntries);
    this.jsrootTree = tree;
    const walk = (b: JBranch, parent: JBranch | null, depth: number): JBranch[] => {
      this.branchNames.push(b.fName);
      if (!this.byName.has(b.fName)) this.byName.set(b.fName, b);
      const info = this.describe(b, parent, depth);
      this.branches.push(info);
      this.indexOf.set(b, this.jbranches.length);
      this.jbranches.push(b);
      if (!this.infoByName.has(b.fName)) this.infoByName.set(b.fName, info);
      const below: JBranch[] = [];
      for (const c of b.fBranches?.arr ?? []) below.push(c, ...walk(c, b, depth + 1));
      this.descendants.set(b, below);
      return below;
    };
    for (const b of tree.fBranches.arr) walk(b, null, 0);
    // counters are resolved once every name is known
    this.branches.forEach((info, i) => (info.counter = this.countersOf(this.jbranches[i]!)[0]?.fName ?? null));
  }

  info(branch: string): BranchInfo | undefined {
    return this.infoByName.get(branch);
  }

  read(branch: string): Promise<Plain[] | Error> {
    this.whole ??= this.readMany(this.branchNames);
    return this.whole.then((m) => m.get(branch) ?? new Error(`jsroot: no branch "${branch}" in tree ${this.name}`));
  }

  async readRange(branch: string, options: ReadOptions = {}): Promise<Plain[]> {
    const r = (await this.readMany([branch], options)).get(branch)!;
    if (r instanceof Error) throw r;
    return r;
  }

  async readMany(names: readonly string[], options: ReadOptions = {}): Promise<Map<string, Plain[] | Error>> {
    const out = new Map<string, Plain[] | Error>();
    const wanted: JBranch[] = [];
    for (const n of names) {
      if (out.has(n)) continue;
      const b = this.byName.get(n);
      out.set(n, b ? new Error('not read') : new Error(`jsroot: no branch "${n}" in tree ${this.name}`)); // keeps the requested order
      if (b) wanted.push(b);
    }
    for (const [b, r] of await this.readBranches(wanted, options)) out.set(b.fName, r);
    return out;
  }

  async readAll(options: ReadOptions = {}): Promise<(Plain[] | Error)[]> {
    const results = await this.readBranches(this.jbranches, options);
    return this.jbranches.map((b) => results.get(b)!);
  }

  private async readBranches(wanted: JBranch[], options: ReadOptions): Promise<Map<JBranch, Plain[] | Error>> {
    const start = options.entryStart ?? 0;
    const stop = options.entryStop ?? this.entries;
    if (!Number.isInteger(start) || !Number.isInteger(stop) || start < 0 || stop > this.entries || start > stop) {
      throw new RangeError(`entry range [${start}, ${stop}) is not within [0, ${this.entries}] of tree ${this.name}`);
    }
    const out = new Map<JBranch, Plain[] | Error>();
    if (start === stop) {
      for (const b of wanted) out.set(b, []);
      return out;
    }
    for (const pass of this.plan([...new Set(wanted)])) {
      for (const [b, r] of await this.readGroup(pass, start, stop, options.inspect)) out.set(b, r);
    }
    return out;
  }

  // --- branch description ---------------------------------------------------

  private describe(b: JBranch, parent: JBranch | null, depth: number): BranchInfo {
    const isElement = b._typename === 'TBranchElement';
    const leaves = (b.fLeaves?.arr ?? []).map((l) => `${l._typename}${l.fLeafCount ? `[${l.fLeafCount.fName}]` : l.fLen > 1 ? `(${l.fLen})` : ''}`);
    return {
      name: b.fName,
      parent: parent?.fName ?? null,
      depth,
      kind: b._typename,
      fType: isElement ? (b.fType ?? null) : null,
      fStreamerType: isElement ? (b.fStreamerType ?? null) : null,
      fID: isElement ? (b.fID ?? null) : null,
      className: b.fClassName ?? '',
      clonesName: b.fClonesName ?? '',
      memberType: isElement && (b.fID ?? -1) >= 0 ? (this.memberElement(b)?.fTypeName ?? null) : null,
      leaves,
      entries: Number(b.fEntries),
      counter: null,
      subBranches: b.fBranches?.arr.length ?? 0,
    };
  }

  /** The streamer element a member branch reads (matched by name, as jsroot does). */
  private memberElement(b: JBranch): JStreamerElement | undefined {
    const si = this.file.findStreamerInfo(b.fClassName ?? '', b.fClassVersion, b.fCheckSum);
    const elements = si?.fElements?.arr;
    if (!elements) return undefined;
    let member = b.fName.replace(/\[.*$/, '');
    member = member.slice(member.lastIndexOf('.') + 1);
    const byId = elements[b.fID ?? -1];
    if (byId?.fName === member) return byId;
    return elements.find((e) => e.fName === member) ?? byId;
  }

  /** The branches jsroot reads first to know how many values an entry of b has. */
  private countersOf(b: JBranch): JBranch[] {
    if (b.fBranchCount) return [b.fBranchCount, ...(b.fBranchCount2 ? [b.fBranchCount2] : [])];
    const leaves = b.fLeaves?.arr ?? [];
    if (leaves.length === 1 && leaves[0]!.fLeafCount) {
      const c = this.byName.get(leaves[0]!.fLeafCount.fName);
      if (c && c !== b) return [c];
    }
    return [];
  }

  // --- planning ------------------------------------------------------------

  /**
   * Splits branches into TSelector passes jsroot accepts. In one pass jsroot
   * registers each branch once: a branch it already reads implicitly (as a
   * counter, or as a sub-branch of an object or collection branch it fills)
   * cannot be added again, and a counter read as a collection of objects
   * cannot serve as a plain count.
   */
  private plan(wanted: JBranch[]): JBranch[][] {
    // counters and parents before the branches that need them
    const rank = (b: JBranch) => (this.countersOf(b).length ? 1 : 0);
    let remaining = wanted.map((b, i) => ({ b, i })).sort((x, y) => rank(x.b) - rank(y.b) || x.i - y.i).map((x) => x.b);
    const passes: JBranch[][] = [];
    while (remaining.length) {
      const reg = new Map<JBranch, 'plain' | 'tree'>();
      const pass: JBranch[] = [];
      const later: JBranch[] = [];
      for (const b of remaining) {
        if (this.fits(b, reg)) pass.push(b);
        else later.push(b);
      }
      if (pass.length === 0) throw new Error('jsroot oracle: could not plan a pass (internal error)');
      passes.push(pass);
      remaining = later;
    }
    return passes;
  }

  private fits(b: JBranch, reg: Map<JBranch, 'plain' | 'tree'>): boolean {
    if (reg.has(b)) return false;
    const counters = this.counterClosure(b);
    if (counters.some((c) => reg.get(c) === 'tree')) return false;
    const below = this.fillsSubBranches(b) ? this.descendants.get(b)! : [];
    if (below.some((d) => reg.has(d))) return false;
    reg.set(b, below.length ? 'tree' : 'plain');
    for (const d of below) reg.set(d, 'tree');
    for (const c of counters) if (!reg.has(c)) reg.set(c, 'plain');
    return true;
  }

  private counterClosure(b: JBranch, seen = new Set<JBranch>()): JBranch[] {
    for (const c of this.countersOf(b)) {
      if (seen.has(c)) continue;
      seen.add(c);
      this.counterClosure(c, seen);
    }
    return [...seen];
  }

  /** Whether jsroot reads b's sub-branches into b's own value (objects, collections): conservatively, any branch with sub-branches. */
  private fillsSubBranches(b: JBranch): boolean {
    return (b.fBranches?.arr.length ?? 0) > 0 || b.fType === kSTLNode || b.fType === kClonesNode;
  }

  // --- reading ---------------------------------------------------------------

  /** Reads one planned pass; when it fails, splits it until the failing branches are alone. */
  private async readGroup(group: JBranch[], start: number, stop: number, inspect: ReadOptions['inspect']): Promise<Map<JBranch, Plain[] | Error>> {
    try {
      return await this.runPass(group, start, stop, inspect);
    } catch (e) {
      this.stats.failedPasses++;
      const err = e instanceof Error ? e : new Error(String(e));
      if (group.length === 1) return new Map([[group[0]!, err]]);
      // jsroot names the branch it could not add: read it alone, the rest without it
      const culprit = (err as Error & { branchIndex?: number }).branchIndex;
      if (culprit !== undefined && group[culprit]) {
        const a = await this.readGroup([group[culprit]], start, stop, inspect);
        const b = await this.readGroup(group.filter((_, i) => i !== culprit), start, stop, inspect);
        return new Map([...a, ...b]);
      }
      const half = Math.ceil(group.length / 2);
      const a = await this.readGroup(group.slice(0, half), start, stop, inspect);
      const b = await this.readGroup(group.slice(half), start, stop, inspect);
      return new Map([...a, ...b]);
    }
  }

  /** One TSelector pass over [start, stop). Throws when jsroot fails as a whole; per-branch problems are per-branch errors. */
  private runPass(group: JBranch[], start: number, stop: number, inspect: ReadOptions['inspect']): Promise<Map<JBranch, Plain[] | Error>> {
    return exclusive(async () => {
      const t0 = performance.now();
      this.stats.passes++;
      const n = stop - start;
      const keys = group.map((_, i) => `b${i}`);
      const indices = group.map((b) => this.indexOf.get(b)!);
      const values = group.map(() => new Array<Plain>(n));
      const missing = group.map(() => 0);
      let processed = 0;
      let terminated: boolean | undefined;
      let badEntry: string | undefined;

      const selector = new TSelector() as {
        addBranch(branch: unknown, name: string): number;
        Process(entry: number): void;
        Terminate(ok: boolean): void;
        Abort(): void;
        tgtobj: Record<string, unknown>;
      };
      group.forEach((b, i) => selector.addBranch(b, keys[i]!));
      selector.Process = function (entry: number) {
        const at = entry - start;
        if (at !== processed) badEntry ??= `jsroot gave entry ${entry} where ${start + processed} was expected`;
        if (at < 0 || at >= n) return;
        const tgt = this.tgtobj;
        for (let i = 0; i < keys.length; i++) {
          const raw = tgt[keys[i]!];
          if (raw === undefined) missing[i]!++;
          if (inspect) withRealConsole(() => inspect(group[i]!.fName, entry, raw, indices[i]!));
          values[i]![at] = toPlain(raw);
          delete tgt[keys[i]!]; // so an entry jsroot does not fill shows up as missing
        }
        processed++;
      };
      selector.Terminate = (ok: boolean) => {
        terminated = ok;
      };

      const { messages } = await withConsoleCaptured(() =>
        guarded(
          (treeProcess as (t: unknown, s: unknown, a: unknown) => Promise<unknown>)(this.tree, selector, {
            firstentry: start,
            numentries: n,
            reallocate_objects: true,
          }),
          () => selector.Abort(),
        ).catch((e: unknown) => {
          const message = e instanceof Error ? e.message : String(e);
          const err: Error & { branchIndex?: number } = new Error(renameKeys(message, group, keys));
          const failed = /^Fail to add branch b(\d+)$/.exec(message);
          if (failed) err.branchIndex = Number(failed[1]);
          throw err;
        }),
      ).catch((e: Error & { messages?: string[] }) => {
        throw withMessages(e, e.messages ?? []);
      });
      this.stats.ms += performance.now() - t0;

      const jsrootSaid = messages.length ? ` (jsroot said: ${renameKeys(messages.slice(0, 5).join('; '), group, keys)})` : '';
      if (terminated !== true) throw new Error(`jsroot stopped reading without finishing${jsrootSaid}`);
      if (badEntry) throw new Error(badEntry + jsrootSaid);
      if (processed !== n) throw new Error(`jsroot processed ${processed} of ${n} entries${jsrootSaid}`);
      const out = new Map<JBranch, Plain[] | Error>();
      group.forEach((b, i) => {
        if (!missing[i]) return out.set(b, values[i]!);
        // jsroot's messages of a pass with many branches: only those naming this one
        const own = messages.map((m) => renameKeys(m, group, keys)).filter((m) => group.length === 1 || m.includes(b.fName));
        const said = own.length ? ` (jsroot said: ${own.slice(0, 5).join('; ')})` : '';
        if (missing[i] === n) out.set(b, new Error(`jsroot gave no value for ${b.fName} (an object or container branch it does not fill)${said}`));
        else out.set(b, new Error(`jsroot gave no value for ${b.fName} in ${missing[i]} of ${n} entries${said}`));
      });
      return out;
    });
  }
}

function renameKeys(text: string, group: JBranch[], keys: string[]): string {
  return text.replace(/\bb(\d+)\b/g, (m, i: string) => (keys[Number(i)] === m && group[Number(i)] ? group[Number(i)]!.fName : m));
}

function withMessages(e: Error, messages: string[]): Error {
  if (messages.length) e.message += ` (jsroot said: ${messages.slice(0, 5).join('; ')})`;
  return e;
}

// ---------------------------------------------------------------------------
// running jsroot safely

let queue: Promise<unknown> = Promise.resolve();

/** Runs passes one at a time (the console capture and the rejection guard are process-wide). */
function exclusive<T>(fn: () => Promise<T>): Promise<T> {
  const run = queue.then(fn, fn);
  queue = run.catch(() => undefined);
  return run;
}

let activeReject: ((e: unknown) => void) | null = null;

function onUnhandledRejection(reason: unknown): void {
  // jsroot processes baskets in promise callbacks it does not return: an
  // exception while decoding becomes an unhandled rejection and treeProcess
  // never settles. Route it to the pass in progress; leave anything else to
  // Node's default (crash), as if this handler were not there.
  if (activeReject && reason instanceof Error && /jsroot/.test(reason.stack ?? '')) {
    activeReject(reason);
    return;
  }
  process.nextTick(() => {
    throw reason;
  });
}

const PASS_TIMEOUT_MS = 120_000;

/** Awaits a jsroot promise, failing it when jsroot throws inside its own callbacks or never settles. */
function guarded<T>(p: Promise<T>, abort: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      abort();
      finish(() => reject(new Error(`jsroot did not finish within ${PASS_TIMEOUT_MS / 1000} s`)));
    }, PASS_TIMEOUT_MS);
    timer.unref();
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      activeReject = null;
      process.off('unhandledRejection', onUnhandledRejection);
      settle();
    };
    activeReject = (e) => finish(() => reject(e));
    process.on('unhandledRejection', onUnhandledRejection);
    p.then(
      (v) => finish(() => resolve(v)),
      (e: unknown) => finish(() => reject(e)),
    );
  });
}

let realConsole: Pick<Console, 'log' | 'warn' | 'error' | 'info'> | null = null;

/** Runs a caller's callback with the console it expects while jsroot's chatter is being captured. */
function withRealConsole(fn: () => void): void {
  if (!realConsole) return fn();
  const captured = { log: console.log, warn: console.warn, error: console.error, info: console.info };
  Object.assign(console, realConsole);
  try {
    fn();
  } finally {
    Object.assign(console, captured);
  }
}

/** Runs fn with jsroot's console chatter captured instead of printed. */
async function withConsoleCaptured<T>(fn: () => Promise<T>): Promise<{ value: T; messages: string[] }> {
  const messages: string[] = [];
  const saved = { log: console.log, warn: console.warn, error: console.error, info: console.info };
  realConsole = saved;
  const capture = (...args: unknown[]) => {
    if (messages.length < 50) messages.push(args.map((a) => (a instanceof Error ? a.message : String(a))).join(' '));
  };
  console.log = console.warn = console.error = console.info = capture;
  try {
    return { value: await fn(), messages };
  } catch (e) {
    if (e instanceof Error) (e as Error & { messages?: string[] }).messages = messages;
    throw e;
  } finally {
    Object.assign(console, saved);
    realConsole = null;
  }
}
