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
//     rule stated in ports.ts). These checks are exported (parseDocumentPath,
//     parseCollectionPath, prepareDocument, compileQuery, checkSumFields) and
//     the Firestore store runs them too, so both stores refuse the same input
//     with the same message (except the size limit, left to the server there).
//
// Not modelled: write rate limits, indexes (real Firestore needs a composite
// index for an equality filter plus an orderBy/range on another field; here
// every query works), timestamps and bytes (not in our data).
//
// stats counts the operations, for benchmarks and tests (see DocumentStoreStats).

import { isIncrement, type Aggregate, type Doc, type DocumentStore, type Filter, type QueryOptions, type StoredDoc } from '../ports';

/** A stored value: JSON-like, no sentinels. */
export type PlainValue = string | number | boolean | null | PlainValue[] | { [key: string]: PlainValue };
export type PlainDoc = { [field: string]: PlainValue };

/** Firestore's limit on a document's size, as it counts it (https://firebase.google.com/docs/firestore/storage-size). */
export const MAX_DOCUMENT_BYTES = 1_048_576;
/** Maps and arrays nest at most this deep (a top-level field holding a map is depth 1). */
export const MAX_NESTING_DEPTH = 20;
/** Longest document/collection id and field name, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 1500;

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
// Checks shared with the Firestore store.

const LONE_SURROGATE = /\p{Cs}/u;
const RESERVED = /^__.*__$/s;
const RANGE_OPS: ReadonlySet<string> = new Set(['<', '<=', '>', '>=']);
const OPS: ReadonlySet<string> = new Set(['==', ...RANGE_OPS]);

function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** Why `name` is not a valid document/collection id or field name, or undefined if it is. */
function nameProblem(name: string): string | undefined {
  if (name === '') return 'is empty';
  if (RESERVED.test(name)) return 'matches __.*__ (reserved by Firestore)';
  if (LONE_SURROGATE.test(name)) return 'is not well-formed Unicode (a lone surrogate)';
  if (utf8Bytes(name) > MAX_NAME_BYTES) return `is longer than ${MAX_NAME_BYTES} bytes`;
  return undefined;
}

function pathSegments(kind: 'document' | 'collection', path: unknown): string[] {
  const fail = (why: string): never => {
    throw new Error(`invalid ${kind} path ${JSON.stringify(path)}: ${why}`);
  };
  if (typeof path !== 'string') return fail(`expected a string, got ${path === null ? 'null' : typeof path}`);
  const segments = path.split('/');
  segments.forEach((segment, i) => {
    if (segment === '') fail(path === '' ? 'it is empty' : `segment ${i + 1} is empty (a leading, trailing or doubled "/")`);
    if (segment === '.' || segment === '..') fail(`segment ${i + 1} is "${segment}"`);
    const problem = nameProblem(segment);
    if (problem) fail(`segment ${i + 1} ${problem}`);
  });
  const even = segments.length % 2 === 0;
  if (kind === 'document' && !even) fail(`a document path has an even number of segments (collection/id[/collection/id…]), this one has ${segments.length}`);
  if (kind === 'collection' && even) fail(`a collection path has an odd number of segments (collection[/id/collection…]), this one has ${segments.length}`);
  return segments;
}

/** Splits a document path into its collection path and id; throws an Error naming the path if it is not one. */
export function parseDocumentPath(path: string): { collection: string; id: string; segments: string[] } {
  const segments = pathSegments('document', path);
  return { collection: segments.slice(0, -1).join('/'), id: segments[segments.length - 1]!, segments };
}

/** Checks a collection path; throws an Error naming the path if it is not one. */
export function parseCollectionPath(path: string): string {
  pathSegments('collection', path);
  return path;
}

/** Splits a dotted field path (`a.b`: field b of map a), as the Firestore client does with a string. */
export function parseFieldPath(field: unknown, context: string): string[] {
  const fail = (why: string): never => {
    throw new Error(`${context}: invalid field path ${JSON.stringify(field)}: ${why}`);
  };
  if (typeof field !== 'string') return fail(`expected a string, got ${field === null ? 'null' : typeof field}`);
  if (/[~*/[\]]/.test(field)) fail('it contains one of ~ * / [ ]');
  const segments = field.split('.');
  segments.forEach((segment, i) => {
    const problem = nameProblem(segment);
    if (problem) fail(`segment ${i + 1} ${problem}`);
  });
  return segments;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function describeValue(v: unknown): string {
  if (typeof v === 'object' && v !== null) return `an object of class ${(v as object).constructor?.name ?? '(none)'}`;
  return `a ${typeof v}`;
}

/** A document's data, checked and deep-copied: plain fields, and the top-level increments. */
export interface PreparedWrite {
  fields: PlainDoc;
  increments: [field: string, by: number][];
}

/**
 * Checks document data (see the rules at the top of this file) and copies it.
 * `context` starts error messages, e.g. `merge("jobs/J")`.
 */
export function prepareDocument(data: Doc, context: string): PreparedWrite {
  const fail = (field: string | undefined, why: string): never => {
    throw new Error(`${context}: ${field === undefined ? '' : `field ${JSON.stringify(field)}: `}${why}`);
  };
  const copy = (v: unknown, field: string, depth: number, inArray: boolean): PlainValue => {
    switch (typeof v) {
      case 'string':
        if (LONE_SURROGATE.test(v)) fail(field, 'the string is not well-formed Unicode (it has a lone surrogate, which is not valid UTF-8)');
        return v;
      case 'number':
      case 'boolean':
        return v;
      case 'undefined':
        return fail(field, 'undefined cannot be stored (leave the field out, or use null)');
      case 'object': {
        if (v === null) return null;
        if (Array.isArray(v)) {
          if (inArray) fail(field, 'an array directly inside an array cannot be stored (Firestore has no nested arrays; wrap it in a map)');
          if (depth >= MAX_NESTING_DEPTH) fail(field, `maps and arrays nest more than ${MAX_NESTING_DEPTH} deep`);
          return v.map((e, i) => copy(e, `${field}[${i}]`, depth + 1, true));
        }
        if (isPlainObject(v)) {
          if (isIncrement(v)) fail(field, 'increment() is only allowed as the value of a top-level field');
          if (depth >= MAX_NESTING_DEPTH) fail(field, `maps and arrays nest more than ${MAX_NESTING_DEPTH} deep`);
          const out: PlainDoc = {};
          for (const key of Object.keys(v)) {
            const problem = nameProblem(key);
            if (problem) fail(`${field}.${key}`, `the field name ${problem}`);
            out[key] = copy(v[key], `${field}.${key}`, depth + 1, false);
          }
          return out;
        }
        return fail(field, `${describeValue(v)} cannot be stored (only strings, numbers, booleans, null, arrays and plain objects)`);
      }
      default:
        return fail(field, `${describeValue(v)} cannot be stored (only strings, numbers, booleans, null, arrays and plain objects)`);
    }
  };
  if (!isPlainObject(data)) fail(undefined, `document data must be a plain object, got ${Array.isArray(data) ? 'an array' : describeValue(data)}`);
  const fields: PlainDoc = {};
  const increments: [string, number][] = [];
  for (const key of Object.keys(data)) {
    const problem = nameProblem(key);
    if (problem) fail(key, `the field name ${problem}`);
    const v = data[key];
    if (isIncrement(v)) {
      if (!Number.isFinite(v.$increment)) fail(key, `increment(${v.$increment}): the amount must be a finite number`);
      increments.push([key, v.$increment]);
    } else {
      fields[key] = copy(v, key, 0, false);
    }
  }
  return { fields, increments };
}

export interface CompiledFilter {
  field: string;
  path: string[];
  op: Filter['op'];
  value: string | number | boolean;
}

export interface SortKey {
  path: string[];
  desc: boolean;
}

/** A checked query: filters, the sort keys before the document id, and the id's direction. */
export interface CompiledQuery {
  filters: CompiledFilter[];
  /** The orderBy field first (if any), then the range-filtered field if it is another. */
  sort: SortKey[];
  /** Documents must have this field (the orderBy field). */
  required: string[] | undefined;
  idDesc: boolean;
  limit: number | undefined;
}

function compileFilters(where: unknown, context: string): CompiledFilter[] {
  if (where === undefined) return [];
  if (!Array.isArray(where)) throw new Error(`${context}: where must be an array of filters`);
  const filters = where.map((f: unknown, i): CompiledFilter => {
    if (!isPlainObject(f)) throw new Error(`${context}: filter ${i + 1} is not an object`);
    const path = parseFieldPath(f.field, `${context}: filter ${i + 1}`);
    const { op, value } = f;
    if (typeof op !== 'string' || !OPS.has(op)) throw new Error(`${context}: filter ${i + 1}: op must be one of ${[...OPS].join(' ')}, got ${JSON.stringify(op)}`);
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new Error(`${context}: filter ${i + 1}: the value must be a string, number or boolean, got ${describeValue(value)}`);
    }
    if (typeof value === 'string' && LONE_SURROGATE.test(value)) throw new Error(`${context}: filter ${i + 1}: the string is not well-formed Unicode`);
    if (Number.isNaN(value) && op !== '==') throw new Error(`${context}: filter ${i + 1}: NaN can only be compared with ==`);
    return { field: path.join('.'), path, op: op as Filter['op'], value };
  });
  const rangeFields = [...new Set(filters.filter((f) => RANGE_OPS.has(f.op)).map((f) => f.field))];
  if (rangeFields.length > 1) throw new Error(`${context}: range filters (< <= > >=) on more than one field (${rangeFields.join(', ')}); use them on one field only`);
  return filters;
}

/** Checks query options (throws an Error naming the collection) and compiles them. */
export function compileQuery(collection: string, options: QueryOptions | undefined): CompiledQuery {
  const context = `query(${JSON.stringify(collection)})`;
  if (options !== undefined && !isPlainObject(options)) throw new Error(`${context}: options must be an object`);
  const { where, orderBy, limit }: QueryOptions = options ?? {};
  const filters = compileFilters(where, context);
  const sort: SortKey[] = [];
  let desc = false;
  let required: string[] | undefined;
  if (orderBy !== undefined) {
    if (!isPlainObject(orderBy)) throw new Error(`${context}: orderBy must be { field, direction? }`);
    const { direction } = orderBy;
    if (direction !== undefined && direction !== 'asc' && direction !== 'desc') throw new Error(`${context}: orderBy.direction must be 'asc' or 'desc', got ${JSON.stringify(direction)}`);
    desc = direction === 'desc';
    required = parseFieldPath(orderBy.field, `${context}: orderBy`);
    sort.push({ path: required, desc });
  }
  const range = filters.find((f) => RANGE_OPS.has(f.op));
  if (range && (!required || required.join('.') !== range.field)) sort.push({ path: range.path, desc });
  if (limit !== undefined && !(typeof limit === 'number' && Number.isSafeInteger(limit) && limit >= 0)) throw new Error(`${context}: limit must be a non-negative integer, got ${JSON.stringify(limit)}`);
  return { filters, sort, required, idDesc: desc, limit };
}

/** Checks aggregate() arguments; returns the compiled filters and the sum fields' paths. */
export function compileAggregate(collection: string, where: Filter[] | undefined, sumFields: string[] | undefined): { filters: CompiledFilter[]; sums: string[][] } {
  const context = `aggregate(${JSON.stringify(collection)})`;
  const filters = compileFilters(where, context);
  if (sumFields !== undefined && !Array.isArray(sumFields)) throw new Error(`${context}: sumFields must be an array of field paths`);
  const sums = (sumFields ?? []).map((f, i) => parseFieldPath(f, `${context}: sum field ${i + 1}`));
  return { filters, sums };
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
