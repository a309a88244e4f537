// An in-memory DocumentStore with Firestore's semantics for everything the
// interface exposes, so the state protocol runs on one machine exactly as it
// does against Firestore (shared/pipeline/google/firestore-store.ts).
//
// What "Firestore's semantics" means here:
//   - create(): true for the one call that made the document, false when it
//     already existed (never an error). Every call applies at one instant (the
//     work is synchronous behind the promise), so concurrent create()s of a
//     path resolve to exactly one true.
//   - merge(): replaces the given top-level fields, keeps the others, creates
//     the document if absent; increment() adds to a number, and starts from 0
//     when the field is absent or not a number (Firestore sets the field to the
//     increment value then).
//   - query()/aggregate(): documents directly in the collection (never those
//     of sub-collections). A filter matches only values of the filter value's
//     type (an integer and a float are both numbers; a field that is absent or
//     of another type excludes the document). Values compare as Firestore
//     orders them: numbers numerically (NaN below all others, -0 equal to 0),
//     strings by UTF-8 bytes (code points, not UTF-16 units), false < true.
//     Order: the orderBy field (documents without it are left out, as
//     Firestore does), then the range-filtered field if it is another one,
//     then the document id, the implicit keys in the direction of the orderBy
//     (ascending without one). So with neither orderBy nor range filter the
//     order is by document id, and `where index > k` alone returns documents
//     by index.
//   - Field paths in filters, orderBy and sums are dotted (`a.b` is field b of
//     map a), as the Firestore client reads a string field path.
//   - aggregate(): count and sums; a value that is not a number adds 0.
//   - Data is deep-copied in and out: mutating an argument after the call, or
//     a returned object, never changes the store.
//   - Checks that Firestore (its client or its server) makes, with the same
//     outcome (an Error) and a message naming the path and the field: paths
//     alternate collection/document ids, ids are not empty, "." or "..", nor
//     __reserved__, nor over 1500 bytes; field names likewise (not empty, not
//     __reserved__); values are strings, numbers, booleans, null, arrays and
//     plain objects (no undefined, Date, class instances, functions); no array
//     directly inside an array; maps and arrays nested at most 20 deep; strings
//     are well-formed Unicode (a lone surrogate is not valid UTF-8, which the
//     Firestore transport refuses); increment() only as a top-level field's
//     value; a document is at most 1 MiB as Firestore counts document size
//     (option maxDocumentBytes). Range filters on at most one field (the
//     rule stated in ports.ts). These checks live in ../document-rules.ts and the
//     Firestore store runs them too, so both stores refuse the same input
//     with the same message (except the size limit, left to the server there).
//
// Not modelled: write rate limits, indexes (real Firestore needs a composite
// index for an equality filter plus an orderBy/range on another field; here
// every query works), timestamps and bytes (not in our data).
//
// stats counts the operations, for benchmarks and tests (see DocumentStoreStats).

import type { Aggregate, Doc, DocumentStore, Filter, QueryOptions, StoredDoc } from '../ports';
import { MAX_DOCUMENT_BYTES, compileAggregate, compileQuery, parseCollectionPath, parseDocumentPath, prepareDocument, utf8Bytes, type CompiledFilter, type PlainDoc, type PlainValue } from '../document-rules';

export { MAX_DOCUMENT_BYTES };

/** Operation counts of a MemoryDocumentStore. Calls refused by a check (a bad path, bad data) are not counted. */
export interface DocumentStoreStats {
  /** create() calls that created their document. */
  creates: number;
  /** create() calls that found the document already there (returned false). */
  createConflicts: number;
  /** get() calls (hits and misses). */
  gets: number;
  /** merge() calls. */
  merges: number;
  /** query() calls. */
  queries: number;
  /** aggregate() calls. */
  aggregates: number;
  /** Documents returned: one per get() that found its document, plus every document query() returned (aggregate() reads none). */
  docsRead: number;
}

export interface MemoryDocumentStoreOptions {
  /** Refuse writes that make a document larger than this (Firestore's size accounting). Default MAX_DOCUMENT_BYTES; Infinity turns the check off. */
  maxDocumentBytes?: number;
}

// ---------------------------------------------------------------------------
// Firestore's value order (for the types we store).

function typeRank(v: PlainValue): number {
  if (v === null) return 0;
  switch (typeof v) {
    case 'boolean':
      return 1;
    case 'number':
      return 2;
    case 'string':
      return 5; // after timestamps, before bytes/references/geo points
    default:
      return Array.isArray(v) ? 9 : 10;
  }
}

/** By Unicode code point, i.e. by UTF-8 bytes (UTF-16 order differs for characters above U+FFFF). */
export function compareStrings(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      // Earlier units are equal, so at i both are whole code points or both second halves of pairs.
      const cx = a.codePointAt(i)!;
      const cy = b.codePointAt(i)!;
      return cx < cy ? -1 : cx > cy ? 1 : 0;
    }
  }
  return a.length - b.length;
}

function compareNumbers(a: number, b: number): number {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : -1;
  if (Number.isNaN(b)) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Firestore's total order of values: by type (null, booleans, numbers, strings, arrays, maps), then within the type. */
export function compareValues(a: PlainValue, b: PlainValue): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case 0:
      return 0;
    case 1:
      return Number(a) - Number(b);
    case 2:
      return compareNumbers(a as number, b as number);
    case 5:
      return compareStrings(a as string, b as string);
    case 9: {
      const x = a as PlainValue[];
      const y = b as PlainValue[];
      for (let i = 0; i < Math.min(x.length, y.length); i++) {
        const c = compareValues(x[i]!, y[i]!);
        if (c !== 0) return c;
      }
      return x.length - y.length;
    }
    default: {
      const x = a as PlainDoc;
      const y = b as PlainDoc;
      const kx = Object.keys(x).sort(compareStrings);
      const ky = Object.keys(y).sort(compareStrings);
      for (let i = 0; i < Math.min(kx.length, ky.length); i++) {
        const c = compareStrings(kx[i]!, ky[i]!) || compareValues(x[kx[i]!]!, y[ky[i]!]!);
        if (c !== 0) return c;
      }
      return kx.length - ky.length;
    }
  }
}

function fieldAt(doc: PlainDoc, path: readonly string[]): PlainValue | undefined {
  let v: PlainValue | undefined = doc;
  for (const key of path) {
    if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.hasOwn(v, key)) return undefined;
    v = v[key];
  }
  return v;
}

function matches(doc: PlainDoc, f: CompiledFilter): boolean {
  const v = fieldAt(doc, f.path);
  if (v === undefined || typeof v !== typeof f.value) return false; // other types never match
  if (f.op === '==' && Number.isNaN(f.value)) return Number.isNaN(v);
  const c = compareValues(v, f.value);
  switch (f.op) {
    case '==':
      return c === 0;
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '>':
      return c > 0;
    default:
      return c >= 0;
  }
}

function clone(v: PlainValue): PlainValue {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) return v.map(clone);
  const out: PlainDoc = {};
  for (const key of Object.keys(v)) out[key] = clone(v[key]!);
  return out;
}

function cloneDoc(doc: PlainDoc): PlainDoc {
  return clone(doc) as PlainDoc;
}

function stringSize(s: string): number {
  return utf8Bytes(s) + 1;
}

function valueSize(v: PlainValue): number {
  if (v === null || typeof v === 'boolean') return 1;
  if (typeof v === 'number') return 8;
  if (typeof v === 'string') return stringSize(v);
  if (Array.isArray(v)) return v.reduce<number>((n, e) => n + valueSize(e), 0);
  return fieldsSize(v);
}

function fieldsSize(fields: PlainDoc): number {
  let n = 0;
  for (const key of Object.keys(fields)) n += stringSize(key) + valueSize(fields[key]!);
  return n;
}

/** A document's size as Firestore counts it: name (each id + 1, plus 16), fields (name + 1, value), plus 32. */
export function documentSize(segments: readonly string[], fields: PlainDoc): number {
  return segments.reduce((n, s) => n + stringSize(s), 16) + fieldsSize(fields) + 32;
}

function zeroStats(): DocumentStoreStats {
  return { creates: 0, createConflicts: 0, gets: 0, merges: 0, queries: 0, aggregates: 0, docsRead: 0 };
}

// ---------------------------------------------------------------------------

export class MemoryDocumentStore implements DocumentStore {
  /** Operation counts since construction or resetStats(). */
  readonly stats: DocumentStoreStats = zeroStats();
  private readonly maxDocumentBytes: number;
  /** collection path → document id → fields. Stored values are never mutated in place (a write replaces the document's object). */
  private readonly collections = new Map<string, Map<string, PlainDoc>>();

  constructor(options: MemoryDocumentStoreOptions = {}) {
    this.maxDocumentBytes = options.maxDocumentBytes ?? MAX_DOCUMENT_BYTES;
  }

  async create(path: string, data: Doc): Promise<boolean> {
    const { collection, id, segments } = parseDocumentPath(path);
    const { fields, increments } = prepareDocument(data, `create(${JSON.stringify(path)})`);
    if (this.collections.get(collection)?.has(id)) {
      this.stats.createConflicts++;
      return false;
    }
    for (const [field, by] of increments) fields[field] = 0 + by;
    this.checkSize(path, segments, fields);
    this.collection(collection).set(id, fields);
    this.stats.creates++;
    return true;
  }

  async get(path: string): Promise<Doc | undefined> {
    const { collection, id } = parseDocumentPath(path);
    this.stats.gets++;
    const doc = this.collections.get(collection)?.get(id);
    if (!doc) return undefined;
    this.stats.docsRead++;
    return cloneDoc(doc);
  }

  async merge(path: string, data: Doc): Promise<void> {
    const { collection, id, segments } = parseDocumentPath(path);
    const { fields, increments } = prepareDocument(data, `merge(${JSON.stringify(path)})`);
    const next: PlainDoc = { ...this.collections.get(collection)?.get(id), ...fields };
    for (const [field, by] of increments) {
      const current = next[field];
      next[field] = (typeof current === 'number' ? current : 0) + by;
    }
    this.checkSize(path, segments, next);
    this.collection(collection).set(id, next);
    this.stats.merges++;
  }

  async query(collection: string, options?: QueryOptions): Promise<StoredDoc[]> {
    parseCollectionPath(collection);
    const q = compileQuery(collection, options);
    this.stats.queries++;
    const found: [string, PlainDoc][] = [];
    for (const entry of this.collections.get(collection) ?? []) {
      const doc = entry[1];
      if (q.required && fieldAt(doc, q.required) === undefined) continue;
      if (q.filters.every((f) => matches(doc, f))) found.push(entry);
    }
    found.sort(([ida, a], [idb, b]) => {
      for (const key of q.sort) {
        const c = compareValues(fieldAt(a, key.path)!, fieldAt(b, key.path)!);
        if (c !== 0) return key.desc ? -c : c;
      }
      const c = compareStrings(ida, idb);
      return q.idDesc ? -c : c;
    });
    const page = q.limit === undefined ? found : found.slice(0, q.limit);
    this.stats.docsRead += page.length;
    return page.map(([id, doc]) => ({ id, data: cloneDoc(doc) }));
  }

  async aggregate(collection: string, where?: Filter[], sumFields?: string[]): Promise<Aggregate> {
    parseCollectionPath(collection);
    const { filters, sums: sumPaths } = compileAggregate(collection, where, sumFields);
    this.stats.aggregates++;
    // a plain count is the collection's size: the reducer asks it once per shard-done message
    if (filters.length === 0 && sumPaths.length === 0) return { count: this.collections.get(collection)?.size ?? 0, sums: {} };
    let count = 0;
    const totals = sumPaths.map(() => 0);
    for (const doc of this.collections.get(collection)?.values() ?? []) {
      if (!filters.every((f) => matches(doc, f))) continue;
      count++;
      sumPaths.forEach((path, i) => {
        const v = fieldAt(doc, path);
        if (typeof v === 'number') totals[i]! += v;
      });
    }
    const sums: Record<string, number> = {};
    (sumFields ?? []).forEach((field, i) => (sums[field] = totals[i]!));
    return { count, sums };
  }

  /** Every document, path → copy of its data, in path order (a document before its sub-collections' documents). */
  snapshot(): Record<string, Doc> {
    const entries: [string, PlainDoc][] = [];
    for (const [collection, docs] of this.collections) {
      for (const [id, doc] of docs) entries.push([`${collection}/${id}`, doc]);
    }
    entries.sort(([a], [b]) => compareStrings(a, b));
    const out: Record<string, Doc> = {};
    for (const [path, doc] of entries) out[path] = cloneDoc(doc);
    return out;
  }

  /** Sets every count in `stats` back to 0. */
  resetStats(): void {
    Object.assign(this.stats, zeroStats());
  }

  private collection(path: string): Map<string, PlainDoc> {
    let docs = this.collections.get(path);
    if (!docs) {
      docs = new Map();
      this.collections.set(path, docs);
    }
    return docs;
  }

  private checkSize(path: string, segments: readonly string[], fields: PlainDoc): void {
    if (this.maxDocumentBytes === Infinity) return;
    const size = documentSize(segments, fields);
    if (size > this.maxDocumentBytes) {
      throw new Error(`document ${JSON.stringify(path)} would be ${size} bytes, over the limit of ${this.maxDocumentBytes} (Firestore's maximum document size)`);
    }
  }
}
