// Reading columns of a tree: plan the baskets a request needs, fetch them in
// one batch of byte ranges (the source coalesces and parallelises), inflate,
// decode, and cut to the entry range. Iterating cluster by cluster keeps
// memory bounded whatever the file size.

import { RootError, asRootError, type ErrorContext } from './errors';
import { concatContents, contentLength, sliceContent, type Content, type ListContent } from './content';
import { decompressObject } from './compression';
import type { RootFile } from './file';
import type { BasketData } from './decode';
import { interpret, splitCollectionOf, type Interpretation } from './interpretation';
import type { BasketLocation, Branch, ClusterRange, Tree } from './tree';

export interface EntryRange {
  entryStart?: number;
  entryStop?: number;
}

export interface ReadResult {
  entryStart: number;
  entryStop: number;
  /** One content per requested branch name, each with entryStop - entryStart elements. */
  columns: Map<string, Content>;
}

/**
 * How a requested branch is assembled: one leaf-level branch decoded as is, a
 * split collection zipped from its member branches (list of records), or a
 * split object made of its member branches (record).
 */
type Plan =
  | { kind: 'leaf'; branch: Branch; interpretation: Interpretation }
  | { kind: 'collection'; branch: Branch; members: { field: string; plan: Plan }[] }
  | { kind: 'record'; branch: Branch; members: { field: string; plan: Plan }[] };

function leavesOf(p: Plan, out: { branch: Branch; interpretation: Interpretation }[] = []): { branch: Branch; interpretation: Interpretation }[] {
  if (p.kind === 'leaf') out.push(p);
  else for (const m of p.members) leavesOf(m.plan, out);
  return out;
}

/** The promise cached for key, made on first use; a failure is not cached, so a later call retries. */
function cached<K, V>(map: Map<K, Promise<V>>, key: K, make: () => Promise<V>): Promise<V> {
  let p = map.get(key);
  if (!p) {
    p = make();
    map.set(key, p);
    p.catch(() => map.delete(key));
  }
  return p;
}

/** What reading cost so far: baskets decoded and their bytes on disk and inflated. */
export interface DecodeStats {
  baskets: number;
  compressedBytes: number;
  uncompressedBytes: number;
}

/** Reads branches of one tree. Interpretations are cached per branch. */
export class TreeReader {
  readonly tree: Tree;
  readonly stats: DecodeStats = { baskets: 0, compressedBytes: 0, uncompressedBytes: 0 };
  private interpretations = new Map<Branch, Promise<Interpretation>>();
  /**
   * Decoded baskets that run past the end of the last read: reading the tree
   * chunk by chunk, the next chunk starts inside them, and clusters need not
   * align with baskets. At most one basket per branch read, so memory stays bounded.
   */
  private straddling = new Map<BasketLocation, Content>();
  private plans = new Map<Branch, Promise<Plan>>();

  constructor(tree: Tree) {
    this.tree = tree;
  }

  get file(): RootFile {
    return this.tree.file;
  }

  interpretation(branch: Branch): Promise<Interpretation> {
    return cached(this.interpretations, branch, () => interpret(this.tree, branch));
  }

  /** A type name for every branch (split collections by their class). */
  async typeName(branch: Branch): Promise<string> {
    const coll = splitCollectionOf(branch);
    if (coll) return coll.typeName;
    if (branch.rootClass === 'TBranchElement' && branch.branches.length > 0) return branch.className;
    try {
      return (await this.interpretation(branch)).typeName;
    } catch (e) {
      if (e instanceof RootError && e.code === 'UNSUPPORTED') return `(${branch.className || branch.rootClass}: not decoded)`;
      throw e;
    }
  }

  private plan(branch: Branch): Promise<Plan> {
    return cached(this.plans, branch, () => this.makePlan(branch, 0));
  }

  private async makePlan(branch: Branch, depth: number): Promise<Plan> {
    const coll = splitCollectionOf(branch);
    if (coll) {
      const members = [];
      for (const m of coll.members) members.push({ field: m.name, plan: await this.makePlan(m.branch, depth + 1) });
      return { kind: 'collection', branch, members };
    }
    if (branch.rootClass === 'TBranchElement' && branch.branches.length > 0 && depth < 8) {
      const members = [];
      for (const child of branch.branches) members.push({ field: memberField(branch, child), plan: await this.makePlan(child, depth + 1) });
      return { kind: 'record', branch, members };
    }
    return { kind: 'leaf', branch, interpretation: await this.interpretation(branch) };
  }

  private checkRange(range: EntryRange): [number, number] {
    const n = this.tree.entries;
    const start = range.entryStart ?? 0;
    const stop = range.entryStop ?? n;
    if (!Number.isInteger(start) || !Number.isInteger(stop) || start < 0 || stop < start) {
      throw new RootError('BAD_ARGUMENT', `invalid entry range [${start}, ${stop})`, this.tree.context);
    }
    return [start, Math.min(stop, n)];
  }

  /** Reads the named branches over [entryStart, entryStop). */
  async read(names: readonly string[], range: EntryRange = {}): Promise<ReadResult> {
    const [start, stop] = this.checkRange(range);
    const plans: { name: string; plan: Plan }[] = [];
    for (const name of names) plans.push({ name, plan: await this.plan(this.tree.branch(name)) });
    // every basket overlapping the range, for every leaf-level branch
    const jobs: { branch: Branch; interpretation: Interpretation; basket: BasketLocation; raw: Uint8Array | null; content: Content | null }[] = [];
    const seen = new Set<BasketLocation>();
    for (const p of plans) {
      for (const { branch, interpretation } of leavesOf(p.plan)) {
        for (const basket of branch.baskets) {
          if (basket.entryStop <= start || basket.entryStart >= stop || seen.has(basket)) continue;
          seen.add(basket);
          jobs.push({ branch, interpretation, basket, raw: null, content: this.straddling.get(basket) ?? null });
        }
      }
    }
    const onDisk = jobs.filter((j) => !j.basket.embedded && !j.content);
    for (const j of onDisk) {
      const { seek, bytes, index } = j.basket;
      if (seek < 0 || bytes <= 0 || seek + bytes > this.file.size) {
        throw new RootError('TRUNCATED', `basket at byte ${seek} (+${bytes}) lies outside the ${this.file.size}-byte file`, { file: this.file.name, tree: this.tree.name, branch: j.branch.name, basket: index, offset: seek });
      }
    }
    if (onDisk.length) {
      const raws = await this.file.readRanges(onDisk.map((j) => ({ offset: j.basket.seek, length: j.basket.bytes }))).catch((e) => {
        throw asRootError(e, { file: this.file.name, tree: this.tree.name });
      });
      onDisk.forEach((j, i) => (j.raw = raws[i]!));
    }

    // inflate and decode (synchronous from here: no awaits per basket)
    const decoded = new Map<Branch, { basket: BasketLocation; content: Content }[]>();
    const straddling = new Map<BasketLocation, Content>();
    for (const j of jobs) {
      let content: Content;
      if (j.content) content = j.content;
      else {
        try {
          const data = j.basket.embedded ? embeddedData(j.basket) : this.basketData(j.raw!, j.basket);
          content = j.interpretation.decoder.decode(data);
          if (contentLength(content) !== j.basket.entryStop - j.basket.entryStart) {
            throw new RootError('CORRUPT', `decoded ${contentLength(content)} entries, the basket should hold ${j.basket.entryStop - j.basket.entryStart}`);
          }
        } catch (e) {
          throw asRootError(e, { file: this.file.name, tree: this.tree.name, branch: j.branch.name, basket: j.basket.index });
        }
      }
      if (j.basket.entryStop > stop) straddling.set(j.basket, content);
      let list = decoded.get(j.branch);
      if (!list) decoded.set(j.branch, (list = []));
      list.push({ basket: j.basket, content });
    }

    const build = (p: Plan): Content => {
      if (p.kind === 'leaf') return assemble(decoded.get(p.branch) ?? [], start, stop, p.branch, this.tree, p.interpretation);
      const parts = p.members.map((m) => ({ field: m.field, content: build(m.plan) }));
      if (p.kind === 'collection') return zipCollection(parts, { file: this.file.name, tree: this.tree.name, branch: p.branch.name });
      // a base-class sub-branch contributes its members, as a base class does
      const fields: { name: string; content: Content }[] = [];
      p.members.forEach((m, k) => {
        const c = parts[k]!.content;
        if (m.plan.kind === 'leaf' && m.plan.branch.streamerType === 0 && c.kind === 'record') fields.push(...c.fields);
        else fields.push({ name: parts[k]!.field, content: c });
      });
      return { kind: 'record', length: stop - start, fields };
    };
    this.straddling = straddling;
    const columns = new Map<string, Content>();
    for (const p of plans) columns.set(p.name, build(p.plan));
    return { entryStart: start, entryStop: stop, columns };
  }

  /**
   * Iterates over the entry range cluster by cluster (merging small clusters
   * up to `minEntries`), yielding each chunk's columns. Only one chunk's
   * baskets are in memory at a time.
   */
  async *iterate(names: readonly string[], range: EntryRange & { minEntries?: number } = {}): AsyncGenerator<ReadResult> {
    const [start, stop] = this.checkRange(range);
    for (const chunk of chunkClusters(this.tree.clusters(), start, stop, range.minEntries ?? 1)) {
      yield await this.read(names, chunk);
    }
  }

  /** Parses a basket record: key, TBasket header, payload (inflated), entry offsets. Errors get their context from the caller. */
  private basketData(raw: Uint8Array, basket: BasketLocation): BasketData {
    const key = parseBasketKey(raw, basket.seek);
    const { nevBuf, last } = key;
    const entries = basket.entryStop - basket.entryStart;
    if (key.nbytes !== raw.length) throw new RootError('CORRUPT', `basket key says ${key.nbytes} bytes, the branch says ${raw.length}`);
    if (nevBuf !== entries) throw new RootError('CORRUPT', `basket holds ${nevBuf} entries, the branch says ${entries}`);
    const border = last - key.keylen;
    if (border < 0 || border > key.objlen) throw new RootError('CORRUPT', `basket data ends at ${border}, outside its ${key.objlen} bytes`);
    this.stats.baskets++;
    this.stats.compressedBytes += raw.length;
    this.stats.uncompressedBytes += key.keylen + key.objlen;
    const payload = raw.subarray(key.keylen);
    const data = payload.length === key.objlen ? payload : decompressObject(payload, key.objlen, { offset: basket.seek + key.keylen }, this.file.limits);
    if (border === key.objlen) return { data, offsets: null, entries };
    // entry offsets table: count, then one offset per entry (relative to the key start)
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    if (key.objlen - border < 4 + 4 * entries) throw new RootError('CORRUPT', `entry offset table of ${key.objlen - border} bytes is too short for ${entries} entries`);
    const n = view.getInt32(border);
    if (n < entries) throw new RootError('CORRUPT', `entry offset table has ${n} entries, basket holds ${entries}`);
    const offsets = new Int32Array(entries + 1);
    for (let i = 0; i < entries; i++) {
      const o = view.getInt32(border + 4 + 4 * i) - key.keylen;
      if (o < 0 || o > border || (i > 0 && o < offsets[i - 1]!)) throw new RootError('CORRUPT', `entry ${i} offset ${o} is outside the basket's ${border} data bytes`);
      offsets[i] = o;
    }
    offsets[entries] = border;
    return { data: data.subarray(0, border), offsets, entries };
  }
}

/** The member name of a sub-branch ("Parent.member" → "member"). */
function memberField(parent: Branch, child: Branch): string {
  const prefix = parent.name.endsWith('.') ? parent.name : parent.name + '.';
  const name = child.name.startsWith(prefix) ? child.name.slice(prefix.length) : child.name;
  const bracket = name.indexOf('['); // array members are named "x[10]"
  return bracket > 0 ? name.slice(0, bracket) : name;
}

const TBASKET = [0x54, 0x42, 0x61, 0x73, 0x6b, 0x65, 0x74]; // "TBasket"

/**
 * The TKey + TBasket header of a basket record, parsed by position (this runs
 * once per basket, so no strings are decoded: the class name is compared as bytes).
 */
function parseBasketKey(raw: Uint8Array, seek: number): { nbytes: number; objlen: number; keylen: number; nevBuf: number; last: number } {
  const bad = (detail: string) => new RootError('CORRUPT', detail, { offset: seek });
  if (raw.length < 42) throw bad(`basket record of ${raw.length} bytes is too short for its header`);
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const nbytes = v.getInt32(0);
  const version = v.getInt16(4);
  const objlen = v.getInt32(6);
  const keylen = v.getInt16(14);
  let p = 18 + (version > 1000 ? 16 : 8); // past fCycle, fSeekKey, fSeekPdir
  if (raw[p] !== TBASKET.length || !TBASKET.every((ch, i) => raw[p + 1 + i] === ch)) throw bad('expected a TBasket key at the basket position');
  p += 1 + TBASKET.length;
  for (let i = 0; i < 2; i++) {
    // fName, fTitle
    let n = raw[p]!;
    p += 1;
    if (n === 255) {
      if (p + 4 > raw.length) throw bad('basket key name runs past its record');
      n = v.getInt32(p);
      p += 4;
    }
    p += n;
  }
  if (p + 19 > raw.length || keylen !== p + 19 || keylen > nbytes || objlen < 0) {
    throw bad(`basket key length ${keylen} does not match its ${p + 19}-byte header`);
  }
  // TBasket: fVersion, fBufferSize, fNevBufSize, then fNevBuf, fLast, flag
  const nevBuf = v.getInt32(p + 10);
  const last = v.getInt32(p + 14);
  return { nbytes, objlen, keylen, nevBuf, last };
}

function embeddedData(b: BasketLocation): BasketData {
  const e = b.embedded!;
  return { data: e.data, offsets: e.offsets, entries: e.entries };
}

/** Joins the decoded baskets of one branch and cuts them to [start, stop). */
function assemble(parts: { basket: BasketLocation; content: Content }[], start: number, stop: number, branch: Branch, tree: Tree, interpretation: Interpretation): Content {
  parts.sort((a, b) => a.basket.entryStart - b.basket.entryStart);
  let covered = start;
  const pieces: Content[] = [];
  for (const { basket, content } of parts) {
    if (basket.entryStart > covered) break;
    const s = Math.max(start, basket.entryStart) - basket.entryStart;
    const e = Math.min(stop, basket.entryStop) - basket.entryStart;
    if (e > s) pieces.push(sliceContent(content, s, e));
    covered = basket.entryStart + e;
  }
  if (covered < stop) {
    throw new RootError('CORRUPT', `baskets cover entries up to ${covered}, not ${stop}`, { file: tree.file.name, tree: tree.name, branch: branch.name });
  }
  // an empty range: an empty column of the branch's shape
  if (pieces.length === 0) return interpretation.decoder.decode({ data: new Uint8Array(0), offsets: new Int32Array(1), entries: 0 });
  return concatContents(pieces);
}

/** Split collection members (each list(x), same counts) → list(record{member: x}). */
function zipCollection(parts: { field: string; content: Content }[], ctx: ErrorContext): Content {
  const lists = parts.map((p) => {
    if (p.content.kind !== 'list') throw new RootError('CORRUPT', `member ${p.field} is not a per-entry list`, ctx);
    return p.content as ListContent;
  });
  const offsets = lists[0]!.offsets;
  for (let k = 1; k < lists.length; k++) {
    const o = lists[k]!.offsets;
    if (o.length !== offsets.length) throw new RootError('CORRUPT', `members of the collection have different entry counts`, ctx);
    for (let i = 0; i < o.length; i++) {
      if (o[i] !== offsets[i]) throw new RootError('CORRUPT', `member ${parts[k]!.field} has a different count than ${parts[0]!.field} in entry ${i - 1}`, ctx);
    }
  }
  const length = offsets[offsets.length - 1]!;
  return { kind: 'list', offsets, content: { kind: 'record', length, fields: lists.map((l, k) => ({ name: parts[k]!.field, content: l.content })) } };
}

/** Cluster ranges clipped to [start, stop), small ones merged up to minEntries. */
export function chunkClusters(clusters: ClusterRange[], start: number, stop: number, minEntries: number): ClusterRange[] {
  const out: ClusterRange[] = [];
  let cur: ClusterRange | null = null;
  for (const c of clusters) {
    const s = Math.max(start, c.entryStart);
    const e = Math.min(stop, c.entryStop);
    if (e <= s) continue;
    if (cur && cur.entryStop - cur.entryStart < minEntries) cur.entryStop = e;
    else {
      cur = { entryStart: s, entryStop: e };
      out.push(cur);
    }
  }
  if (out.length === 0 && stop > start) out.push({ entryStart: start, entryStop: stop });
  return out;
}
