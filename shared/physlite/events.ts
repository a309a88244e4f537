// The PHYSLITE event model: a file's collections, read lazily chunk by chunk.
//
//   const file = await PhysliteFile.open('gs://bucket/DAOD_PHYSLITE.root');
//   for await (const chunk of file.chunks(['Muons.pt', 'Muons.inDetTrackParticleLink', 'InDetTrackParticles.theta'])) {
//     const pt = chunk.objects('Muons.pt');            // { offsets (per event), values (per muon) }
//     const track = chunk.resolveLinks('Muons.inDetTrackParticleLink', 'InDetTrackParticles'); // per muon, -1 = none
//   }
//
// Only the declared columns are fetched and decoded. Every accessor returns
// typed arrays over the whole chunk (columnar): per-event offsets into flat
// per-object values, never per-event objects.

import { RootError, openRootFile, chunkClusters, type Branch, type BasketLocation, type Content, type ListContent, type NumericArray, type NumericContent, type RecordContent, type RootFileHandle, type TreeReader, type OpenRootOptions, type ByteSource, type ClusterRange } from '../root/index';
import { openSource, type ByteRange } from '../root/source/index';
import { PrefetchSource } from '../root/source/prefetch';
import { chooseReadPlan, estimatePlan, localEnvironment, networkEnvironment, type ReadChoice, type ReadEnvironment, type ReadPlanKind, type ShardLayout } from '../root/source/read-strategy';
import { PhysliteSchema, expectedBranch } from './schema';
import { CollectionKeys, readCollectionKeys } from './event-format';

/** A per-object column: values[offsets[i] … offsets[i+1]) belong to event i. */
export interface ObjectColumn<T extends NumericArray = NumericArray> {
  offsets: Int32Array;
  values: T;
}

/** A per-object vector (e.g. NumTrkPt500): object j's items are values[inner[j] … inner[j+1]). */
export interface ObjectVectorColumn<T extends NumericArray = NumericArray> {
  offsets: Int32Array;
  inner: Int32Array;
  values: T;
}

/** Per-object ElementLinks, as stored. */
export interface ObjectLinkColumn {
  offsets: Int32Array;
  key: Uint32Array;
  index: Uint32Array;
}

/** Per-object vectors of ElementLinks (e.g. GhostTrack): object j's links are [inner[j], inner[j+1]). */
export interface ObjectLinkVectorColumn extends ObjectLinkColumn {
  inner: Int32Array;
}

const TREE = 'CollectionTree';

/** One range of events with the columns an analysis declared. */
export class EventChunk {
  constructor(
    readonly entryStart: number,
    readonly entryStop: number,
    /** branch name → decoded content, entryStop - entryStart elements each */
    private readonly columns: ReadonlyMap<string, Content>,
    readonly schema: PhysliteSchema,
    readonly keys: CollectionKeys,
    readonly fileName = '',
  ) {}

  get length(): number {
    return this.entryStop - this.entryStart;
  }

  private error(code: 'NOT_FOUND' | 'BAD_ARGUMENT' | 'CORRUPT', detail: string, branch?: string): RootError {
    return new RootError(code, detail, { file: this.fileName || undefined, tree: TREE, branch });
  }

  /** The decoded content of a declared column. */
  content(ref: string): { branch: string; content: Content } {
    const branch = this.schema.branchOf(ref);
    if (!branch) throw this.error('NOT_FOUND', `the file has no column ${ref} (branch ${expectedBranch(this.schema, ref)})`);
    const content = this.columns.get(branch);
    if (!content) throw this.error('BAD_ARGUMENT', `column ${ref} was not declared, so it was not read`, branch);
    return { branch, content };
  }

  private perEvent(ref: string): { branch: string; list: ListContent } {
    const { branch, content } = this.content(ref);
    if (content.kind !== 'list') throw this.error('BAD_ARGUMENT', `column ${ref} is not a per-object column`, branch);
    return { branch, list: content };
  }

  private numeric(c: Content, ref: string, branch: string): NumericArray {
    if (c.kind !== 'numeric') throw this.error('BAD_ARGUMENT', `column ${ref} does not hold numbers`, branch);
    if (c.dtype === 'int64' || c.dtype === 'uint64') throw this.error('BAD_ARGUMENT', `column ${ref} holds 64-bit integers; read it with content()`, branch);
    return (c as NumericContent).values;
  }

  /** Per-event object counts of a collection, from any of its declared columns. */
  offsets(collection: string): Int32Array {
    const c = this.schema.collection(collection);
    if (c) {
      for (const branch of c.fields.values()) {
        const content = this.columns.get(branch);
        if (content?.kind === 'list') return content.offsets;
      }
    }
    throw this.error('BAD_ARGUMENT', `no column of ${collection} was declared, so its objects are not known`);
  }

  /** A per-object number (pt, eta, flags …). */
  objects(ref: string): ObjectColumn {
    const { branch, list } = this.perEvent(ref);
    return { offsets: list.offsets, values: this.numeric(list.content, ref, branch) };
  }

  /** A per-object vector of numbers (NumTrkPt500, SumPtTrkPt500 …). */
  objectVectors(ref: string): ObjectVectorColumn {
    const { branch, list } = this.perEvent(ref);
    const inner = list.content;
    if (inner.kind !== 'list') throw this.error('BAD_ARGUMENT', `column ${ref} is not a vector per object`, branch);
    return { offsets: list.offsets, inner: inner.offsets, values: this.numeric(inner.content, ref, branch) };
  }

  private linkFields(c: Content, ref: string, branch: string): { key: Uint32Array; index: Uint32Array } {
    const rec = c as RecordContent;
    const key = rec.kind === 'record' ? rec.fields.find((f) => f.name === 'm_persKey')?.content : undefined;
    const index = rec.kind === 'record' ? rec.fields.find((f) => f.name === 'm_persIndex')?.content : undefined;
    if (key?.kind !== 'numeric' || index?.kind !== 'numeric' || !(key.values instanceof Uint32Array) || !(index.values instanceof Uint32Array)) {
      throw this.error('BAD_ARGUMENT', `column ${ref} is not an ElementLink (m_persKey, m_persIndex)`, branch);
    }
    return { key: key.values, index: index.values };
  }

  /** A per-object ElementLink (e.g. a muon's inDetTrackParticleLink). */
  links(ref: string): ObjectLinkColumn {
    const { branch, list } = this.perEvent(ref);
    return { offsets: list.offsets, ...this.linkFields(list.content, ref, branch) };
  }

  /** A per-object vector of ElementLinks (e.g. a jet's GhostTrack). */
  linkVectors(ref: string): ObjectLinkVectorColumn {
    const { branch, list } = this.perEvent(ref);
    const inner = list.content;
    if (inner.kind !== 'list') throw this.error('BAD_ARGUMENT', `column ${ref} is not a vector of ElementLinks per object`, branch);
    return { offsets: list.offsets, inner: inner.offsets, ...this.linkFields(inner.content, ref, branch) };
  }

  /**
   * Resolves per-object links to objects of `target` in the same event: for
   * each source object, the chunk-wide index of the target object, or -1
   * when the link is empty (m_persKey 0), names another collection, or its
   * index is out of range for that event. Needs one declared column of the target.
   */
  resolveLinks(ref: string, target: string): Int32Array {
    const links = this.links(ref);
    const targetKey = this.schema.collection(target)?.key ?? target;
    const hash = this.keys.hashOf(targetKey);
    const targetOffsets = this.offsets(target);
    const n = links.offsets[this.length]!;
    const result = new Int32Array(n);
    for (let ev = 0; ev < this.length; ev++) {
      const base = targetOffsets[ev]!;
      const count = targetOffsets[ev + 1]! - base;
      for (let j = links.offsets[ev]!; j < links.offsets[ev + 1]!; j++) {
        const k = links.key[j]!;
        const idx = links.index[j]!;
        result[j] = k !== 0 && k === hash && idx < count ? base + idx : -1;
      }
    }
    return result;
  }

  /** Checks that the declared columns of a collection agree on its per-event counts. */
  checkCollection(collection: string): void {
    const c = this.schema.collection(collection);
    if (!c) return;
    let first: { branch: string; offsets: Int32Array } | undefined;
    for (const branch of c.fields.values()) {
      const content = this.columns.get(branch);
      if (content?.kind !== 'list') continue;
      if (!first) {
        first = { branch, offsets: content.offsets };
        continue;
      }
      const o = content.offsets;
      if (o === first.offsets) continue;
      for (let i = 0; i <= this.length; i++) {
        if (o[i] !== first.offsets[i]) {
          throw this.error('CORRUPT', `${branch} has ${o[i]! - o[i - 1]!} objects in entry ${this.entryStart + i - 1}, ${first.branch} has ${first.offsets[i]! - first.offsets[i - 1]!}`, branch);
        }
      }
    }
  }
}

export interface ChunkOptions {
  entryStart?: number;
  entryStop?: number;
  /** Fixed-size chunks of this many entries instead of the file's clusters. */
  chunkEntries?: number;
  /** Merge small clusters until a chunk has at least this many entries (default 1). */
  minEntries?: number;
  /** How the baskets are fetched (default: the cheapest plan for the source, see read-strategy.ts). */
  read?: ReadOptions;
}

export interface ReadOptions {
  /** 'auto' (default): the cost model chooses; a plan name forces it; 'off': no read-ahead, each chunk's baskets fetched when it is read. */
  plan?: 'auto' | 'off' | ReadPlanKind;
  /** Overrides of the environment the model assumes (network or local, from the source's name and options). */
  environment?: Partial<ReadEnvironment>;
}

/** A PHYSLITE file: its collections, the link keys, and chunked reading. */
export class PhysliteFile {
  /** The read plan of the last chunks() call, with the alternatives it was priced against (undefined for 'off'). */
  lastReadChoice: ReadChoice | undefined;

  private constructor(
    readonly handle: RootFileHandle,
    readonly tree: TreeReader,
    readonly schema: PhysliteSchema,
    readonly keys: CollectionKeys,
    private readonly prefetch: PrefetchSource,
  ) {}

  static async open(input: string | ByteSource, options: OpenRootOptions = {}): Promise<PhysliteFile> {
    const inner = typeof input === 'string' ? await openSource(input, options.source) : input;
    // every read goes through the prefetcher, which passes reads through until chunks() gives it a schedule
    const prefetch = new PrefetchSource(inner);
    let handle: RootFileHandle;
    try {
      handle = await openRootFile(prefetch, options);
    } catch (e) {
      if (typeof input === 'string') await inner.close().catch(() => undefined);
      throw e;
    }
    try {
      const tree = await handle.tree(TREE);
      // names only: parses just the branch records that have sub-branches, not all ~1,500
      const schema = PhysliteSchema.fromBranches(tree.tree.branchNames());
      return new PhysliteFile(handle, tree, schema, await readCollectionKeys(handle), prefetch);
    } catch (e) {
      await handle.close().catch(() => undefined);
      throw e;
    }
  }

  get name(): string {
    return this.handle.name;
  }

  get entries(): number {
    return this.tree.tree.entries;
  }

  private branches(refs: readonly string[]): string[] {
    const missing = this.schema.missing(refs);
    if (missing.length) {
      throw new RootError('NOT_FOUND', `missing column${missing.length > 1 ? 's' : ''}: ${missing.map((r) => `${r} (branch ${expectedBranch(this.schema, r)})`).join(', ')}`, { file: this.name, tree: TREE });
    }
    return [...new Set(refs.map((r) => this.schema.branchOf(r)!))];
  }

  /** Reads the declared columns over one entry range. */
  async read(refs: readonly string[], range: { entryStart?: number; entryStop?: number } = {}): Promise<EventChunk> {
    const { entryStart, entryStop, columns } = await this.tree.read(this.branches(refs), range);
    return new EventChunk(entryStart, entryStop, columns, this.schema, this.keys, this.name);
  }

  /** The entry ranges chunks() visits. */
  chunkRanges(options: ChunkOptions = {}): ClusterRange[] {
    const start = Math.max(0, options.entryStart ?? 0);
    const stop = Math.min(this.entries, options.entryStop ?? this.entries);
    if (options.chunkEntries !== undefined) {
      const n = options.chunkEntries;
      if (!Number.isInteger(n) || n < 1) throw new RootError('BAD_ARGUMENT', `chunk size must be a positive integer, got ${n}`);
      const out: ClusterRange[] = [];
      for (let s = start; s < stop; s += n) out.push({ entryStart: s, entryStop: Math.min(stop, s + n) });
      return out;
    }
    return chunkClusters(this.tree.tree.clusters(), start, stop, options.minEntries ?? 1);
  }

  /**
   * Reads the declared columns chunk by chunk (cluster-aligned by default),
   * one chunk decoded at a time, while the next ones' bytes are fetched by the
   * read plan (buffered bytes bounded by the plan's environment).
   */
  async *chunks(refs: readonly string[], options: ChunkOptions = {}): AsyncGenerator<EventChunk> {
    const branches = this.branches(refs);
    const ranges = this.chunkRanges(options);
    const choice = options.read?.plan === 'off' ? undefined : this.readChoice(branches, ranges, options.read);
    this.lastReadChoice = choice;
    const unitOf = new Int32Array(ranges.length).fill(-1);
    if (choice) {
      choice.chosen.units.forEach((u, k) => unitOf.fill(k, u.firstChunk, u.lastChunk + 1));
      this.prefetch.schedule(choice.chosen.units, this.environment(options.read).readAhead);
    }
    try {
      for (let i = 0; i < ranges.length; i++) {
        if (choice) this.prefetch.advance(unitOf[i]!);
        const { entryStart, entryStop, columns } = await this.tree.read(branches, ranges[i]!);
        yield new EventChunk(entryStart, entryStop, columns, this.schema, this.keys, this.name);
      }
    } finally {
      if (choice) this.prefetch.clear();
    }
  }

  /** The environment the read model assumes for this file's source. */
  environment(read: ReadOptions = {}): ReadEnvironment {
    const inner = this.prefetch.inner;
    const remote = /^(gs|https?):\/\//i.test(inner.name);
    const opts = (inner as { options?: { maxGap?: number; maxRequestBytes?: number; maxWasteRatio?: number; concurrency?: number } }).options;
    const fromSource: Partial<ReadEnvironment> = {};
    if (opts && typeof opts.maxRequestBytes === 'number' && typeof opts.maxGap === 'number' && typeof opts.concurrency === 'number') {
      fromSource.maxRequestBytes = opts.maxRequestBytes;
      fromSource.concurrency = opts.concurrency;
      fromSource.coalesce = { maxGap: opts.maxGap, maxRequestBytes: opts.maxRequestBytes, maxWasteRatio: opts.maxWasteRatio ?? 0.5 };
    }
    return (remote ? networkEnvironment : localEnvironment)({ ...fromSource, ...read.environment });
  }

  /**
   * What the reader will fetch for each chunk: the on-disk baskets of the
   * branches (and their sub-branches) that overlap the chunk and did not
   * overlap the chunk before it (those the reader keeps decoded).
   */
  readLayout(branchNames: readonly string[], ranges: readonly ClusterRange[]): ShardLayout {
    const leaves: Branch[] = [];
    const visit = (b: Branch, depth: number) => {
      if (b.baskets.length > 0) leaves.push(b);
      if (depth < 8) for (const c of b.branches) visit(c, depth + 1);
    };
    for (const name of branchNames) visit(this.tree.tree.branch(name), 0);
    const size = this.handle.file.size;
    const chunks: ByteRange[][] = ranges.map(() => []);
    const seen = new Set<BasketLocation>();
    for (const leaf of leaves) {
      const baskets = leaf.baskets;
      let j = 0;
      for (let i = 0; i < ranges.length; i++) {
        const { entryStart, entryStop } = ranges[i]!;
        while (j < baskets.length && baskets[j]!.entryStop <= entryStart) j++;
        for (let k = j; k < baskets.length && baskets[k]!.entryStart < entryStop; k++) {
          const b = baskets[k]!;
          if (seen.has(b) || b.embedded || b.bytes <= 0 || b.seek < 0 || b.seek + b.bytes > size) continue;
          seen.add(b);
          chunks[i]!.push({ offset: b.seek, length: b.bytes });
        }
      }
    }
    return { chunks };
  }

  private readChoice(branches: readonly string[], ranges: readonly ClusterRange[], read: ReadOptions = {}): ReadChoice {
    const layout = this.readLayout(branches, ranges);
    const env = this.environment(read);
    const plan = read.plan ?? 'auto';
    if (plan === 'auto' || plan === 'off') return chooseReadPlan(layout, env);
    const chosen = estimatePlan(plan, layout, env);
    return { chosen, alternatives: [chosen] };
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}
