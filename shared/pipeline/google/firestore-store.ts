// DocumentStore over Cloud Firestore (@google-cloud/firestore, imported lazily
// on the first call, so local runs never load it).
//
//   create(path, data)   → doc.create(data); ALREADY_EXISTS (gRPC code 6) → false,
//                          any other error is thrown as it comes
//   get(path)            → doc.get(); undefined when the document does not exist
//   merge(path, data)    → doc.set(data, { mergeFields: [its top-level keys] }):
//                          each given top-level field is replaced as a whole,
//                          the others are kept, the document is created if
//                          absent. (Not `{ merge: true }`: that merges nested
//                          maps key by key, while the interface, and the
//                          memory store, replace the top-level field.)
//   increment(n)         → FieldValue.increment(n) (in merge() and create())
//   query(collection, o) → where(...)/orderBy(field, dir)/limit(n)
//   aggregate(c, w, s)   → query.aggregate({ count, s0: sum(f0), … }); Firestore
//                          takes at most 5 aggregations per request, so more
//                          than 4 sum fields take several requests, run in
//                          parallel: those sums are not from one instant.
//
// Paths, data and query options go through the same checks as the memory
// store (shared/pipeline/local/memory-store.ts), so both refuse the same
// input with the same message; the document size limit is left to the server.
// What comes back is plain JSON-like data: integers (int64) and doubles both
// become JS numbers (also with a client set to useBigInt), and the types our
// data never holds are flattened should one appear: a Timestamp to epoch
// milliseconds, a GeoPoint to { latitude, longitude }, a DocumentReference to
// its path, bytes to base64, a vector to an array of numbers.
//
// Cursors (startAfter/offset) and select() are not used: the local emulator
// the tests run against (@firestore-emulator/server) ignores them. Paging is
// done with a range filter on an ordered field instead (see JobStore).
//
// Caveat of the real service, not of this code: the client retries a commit
// that failed with UNAVAILABLE. If the first attempt was applied and only its
// answer was lost, a retried create() reports false (the document is the one
// this call wrote) and a retried increment is applied twice.

import type { AggregateField, DocumentData, Firestore, Query, Settings } from '@google-cloud/firestore';
import type { Aggregate, Doc, DocumentStore, Filter, QueryOptions, StoredDoc } from '../ports';
import { compileAggregate, compileQuery, parseCollectionPath, parseDocumentPath, prepareDocument, type PlainDoc, type PlainValue, type PreparedWrite } from '../document-rules';

type FirestoreModule = typeof import('@google-cloud/firestore');

/** Settings of the client made here, e.g. { projectId, databaseId } (see the Firestore constructor). */
export type FirestoreStoreSettings = Settings;

/** Firestore's limit of aggregations in one aggregation query. */
export const MAX_AGGREGATIONS_PER_REQUEST = 5;

/** gRPC status ALREADY_EXISTS, which create() of an existing document fails with. */
const ALREADY_EXISTS = 6;

interface Client {
  m: FirestoreModule;
  db: Firestore;
}

function isFirestore(v: unknown): v is Firestore {
  return typeof v === 'object' && v !== null && typeof (v as Firestore).collection === 'function' && typeof (v as Firestore).doc === 'function';
}

export class FirestoreDocumentStore implements DocumentStore {
  private readonly injected: Firestore | undefined;
  private readonly settings: Settings;
  private client: Promise<Client> | undefined;

  /** A configured client to use (left open by close()), or the settings of one to make on first use. */
  constructor(clientOrSettings: Firestore | FirestoreStoreSettings = {}) {
    if (isFirestore(clientOrSettings)) {
      this.injected = clientOrSettings;
      this.settings = {};
    } else {
      this.injected = undefined;
      this.settings = { ...clientOrSettings };
    }
  }

  async create(path: string, data: Doc): Promise<boolean> {
    parseDocumentPath(path);
    const prepared = prepareDocument(data, `create(${JSON.stringify(path)})`);
    const { m, db } = await this.load();
    try {
      await db.doc(path).create(encode(m, prepared));
      return true;
    } catch (err) {
      if ((err as { code?: unknown } | null)?.code === ALREADY_EXISTS) return false;
      throw err;
    }
  }

  async get(path: string): Promise<Doc | undefined> {
    parseDocumentPath(path);
    const { m, db } = await this.load();
    const snap = await db.doc(path).get();
    return snap.exists ? plainDoc(m, snap.data()!) : undefined;
  }

  async merge(path: string, data: Doc): Promise<void> {
    parseDocumentPath(path);
    const prepared = prepareDocument(data, `merge(${JSON.stringify(path)})`);
    const { m, db } = await this.load();
    const encoded = encode(m, prepared);
    // FieldPath objects: a top-level key is one field name even if it has a dot
    await db.doc(path).set(encoded, { mergeFields: Object.keys(encoded).map((k) => new m.FieldPath(k)) });
  }

  async query(collection: string, options: QueryOptions = {}): Promise<StoredDoc[]> {
    parseCollectionPath(collection);
    compileQuery(collection, options);
    const { m, db } = await this.load();
    let q = filtered(db, collection, options.where);
    if (options.orderBy) q = q.orderBy(options.orderBy.field, options.orderBy.direction ?? 'asc');
    if (options.limit !== undefined) q = q.limit(options.limit);
    const snap = await q.get();
    return snap.docs.map((d) => ({ id: d.id, data: plainDoc(m, d.data()) }));
  }

  async aggregate(collection: string, where: Filter[] = [], sumFields: string[] = []): Promise<Aggregate> {
    parseCollectionPath(collection);
    compileAggregate(collection, where, sumFields);
    const { m, db } = await this.load();
    const q = filtered(db, collection, where);
    const fields = [...new Set(sumFields)];
    // count plus up to 4 sums in the first request, 5 sums in each further one
    const specs: Record<string, AggregateField<number>>[] = [{ count: m.AggregateField.count() }];
    fields.forEach((field, i) => {
      let spec = specs[specs.length - 1]!;
      if (Object.keys(spec).length >= MAX_AGGREGATIONS_PER_REQUEST) specs.push((spec = {}));
      spec[`s${i}`] = m.AggregateField.sum(field);
    });
    const results = await Promise.all(specs.map((spec) => q.aggregate(spec).get()));
    const values: Record<string, unknown> = Object.assign({}, ...results.map((r) => r.data()));
    const sums: Record<string, number> = {};
    fields.forEach((field, i) => (sums[field] = toNumber(values[`s${i}`])));
    return { count: toNumber(values.count), sums };
  }

  /** Closes the client if it was made here (an injected one is left open). A later call makes a new one. */
  async close(): Promise<void> {
    const made = this.client;
    this.client = undefined;
    if (made && !this.injected) await made.then((c) => c.db.terminate(), () => undefined);
  }

  private load(): Promise<Client> {
    if (!this.client) {
      const made = import('@google-cloud/firestore').then((m): Client => ({ m, db: this.injected ?? new m.Firestore(this.settings) }));
      made.catch(() => {
        if (this.client === made) this.client = undefined;
      });
      this.client = made;
    }
    return this.client;
  }
}

function filtered(db: Firestore, collection: string, where: Filter[] | undefined): Query {
  let q: Query = db.collection(collection);
  for (const f of where ?? []) q = q.where(f.field, f.op, f.value);
  return q;
}

function encode(m: FirestoreModule, { fields, increments }: PreparedWrite): DocumentData {
  const out: DocumentData = { ...fields };
  for (const [field, by] of increments) out[field] = m.FieldValue.increment(by);
  return out;
}

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return 0; // a sum over no numeric values may come back empty
}

function plainDoc(m: FirestoreModule, data: DocumentData): PlainDoc {
  const out: PlainDoc = {};
  for (const key of Object.keys(data)) out[key] = plain(m, data[key]);
  return out;
}

function plain(m: FirestoreModule, v: unknown): PlainValue {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map((e) => plain(m, e));
  if (v instanceof m.Timestamp) return v.toMillis();
  if (v instanceof m.GeoPoint) return { latitude: v.latitude, longitude: v.longitude };
  if (v instanceof m.DocumentReference) return v.path;
  if (v instanceof m.VectorValue) return v.toArray();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (typeof v === 'object') return plainDoc(m, v as DocumentData);
  throw new Error(`unexpected value from Firestore: ${typeof v}`);
}
