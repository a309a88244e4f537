// The rules every DocumentStore enforces, as Firestore (its client or its
// server) does: paths alternate collection/document ids, ids are not empty,
// "." or "..", nor __reserved__, nor over 1500 bytes; field names likewise
// (not empty, not __reserved__); values are strings, numbers, booleans, null,
// arrays and plain objects (no undefined, Date, class instances, functions);
// no array directly inside an array; maps and arrays nested at most 20 deep;
// strings are well-formed Unicode (a lone surrogate is not valid UTF-8, which
// the Firestore transport refuses); increment() only as a top-level field's
// value; range filters on at most one field (the rule stated in ports.ts).
//
// Both stores (local/memory-store.ts, google/firestore-store.ts) run these
// checks, so they refuse the same input with the same message.

import { isIncrement, type Doc, type Filter, type QueryOptions } from './ports';

/** A stored value: JSON-like, no sentinels. */
export type PlainValue = string | number | boolean | null | PlainValue[] | { [key: string]: PlainValue };
export type PlainDoc = { [field: string]: PlainValue };

/** Firestore's limit on a document's size, as it counts it (https://firebase.google.com/docs/firestore/storage-size). */
export const MAX_DOCUMENT_BYTES = 1_048_576;
/** Maps and arrays nest at most this deep (a top-level field holding a map is depth 1). */
export const MAX_NESTING_DEPTH = 20;
/** Longest document/collection id and field name, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 1500;

const LONE_SURROGATE = /\p{Cs}/u;
const RESERVED = /^__.*__$/s;
const RANGE_OPS: ReadonlySet<string> = new Set(['<', '<=', '>', '>=']);
const OPS: ReadonlySet<string> = new Set(['==', ...RANGE_OPS]);

export function utf8Bytes(s: string): number {
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
