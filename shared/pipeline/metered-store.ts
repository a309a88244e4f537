// Billing meters: a DocumentStore and a Publisher that pass every call through
// and count what Firestore and Pub/Sub would bill for it. They exist to check
// the cost model (cost.ts) against the operations the pipeline really makes:
// test/cost.test.ts runs jobs through them.
//
// Firestore, as billed (GCP-FACTS §3):
//   get()        1 read, found or not
//   query()      1 read per document returned, at least 1
//   aggregate()  1 read per up to 1000 index entries matched, at least 1, per
//                aggregation request (count + 4 sums fit one request; each
//                further 5 sums take another, as FirestoreDocumentStore sends them)
//   create()     1 write when it created the document; a refused create() is a
//                failed RPC and not billed
//   merge()      1 write
// A call that throws is not counted (a failed RPC is not billed).

import { AGGREGATE_ENTRIES_PER_READ, PUBSUB_MIN_BYTES } from './cost';
import type { Aggregate, Doc, DocumentStore, Filter, Publisher, QueryOptions, StoredDoc } from './ports';

/** Firestore's limit of aggregations in one request (FirestoreDocumentStore splits by it too). */
const AGGREGATIONS_PER_REQUEST = 5;

export interface FirestoreMeter {
  reads: number;
  writes: number;
  /** Calls by kind, for telling where the units came from. */
  calls: { get: number; query: number; aggregate: number; create: number; createRefused: number; merge: number };
}

function zeroMeter(): FirestoreMeter {
  return { reads: 0, writes: 0, calls: { get: 0, query: 0, aggregate: 0, create: 0, createRefused: 0, merge: 0 } };
}

export class MeteredDocumentStore implements DocumentStore {
  readonly meter: FirestoreMeter = zeroMeter();

  constructor(readonly inner: DocumentStore) {}

  async create(path: string, data: Doc): Promise<boolean> {
    const created = await this.inner.create(path, data);
    if (created) {
      this.meter.calls.create++;
      this.meter.writes++;
    } else {
      this.meter.calls.createRefused++;
    }
    return created;
  }

  async get(path: string): Promise<Doc | undefined> {
    const doc = await this.inner.get(path);
    this.meter.calls.get++;
    this.meter.reads++;
    return doc;
  }

  async merge(path: string, data: Doc): Promise<void> {
    await this.inner.merge(path, data);
    this.meter.calls.merge++;
    this.meter.writes++;
  }

  async query(collection: string, options?: QueryOptions): Promise<StoredDoc[]> {
    const docs = await this.inner.query(collection, options);
    this.meter.calls.query++;
    this.meter.reads += Math.max(1, docs.length);
    return docs;
  }

  async aggregate(collection: string, where?: Filter[], sumFields?: string[]): Promise<Aggregate> {
    const result = await this.inner.aggregate(collection, where, sumFields);
    const sums = new Set(sumFields ?? []).size;
    const requests = Math.ceil((sums + 1) / AGGREGATIONS_PER_REQUEST); // the count and each sum are aggregations
    this.meter.calls.aggregate++;
    this.meter.reads += requests * Math.max(1, Math.ceil(result.count / AGGREGATE_ENTRIES_PER_READ));
    return result;
  }

  reset(): void {
    Object.assign(this.meter, zeroMeter());
  }
}

export interface PubSubMeter {
  /** Messages published, per topic. */
  publishes: Record<string, number>;
  /** Bytes billed for them: data and attributes, at least 1000 per message. */
  billedBytes: number;
}

/** Counts publishes per topic (each billed at least 1000 bytes), passing them on. */
export class MeteredPublisher implements Publisher {
  readonly meter: PubSubMeter = { publishes: {}, billedBytes: 0 };

  constructor(readonly inner: Publisher) {}

  async publish(topic: string, data: Doc, attributes: Record<string, string> = {}): Promise<string> {
    const id = await this.inner.publish(topic, data, attributes);
    this.meter.publishes[topic] = (this.meter.publishes[topic] ?? 0) + 1;
    let bytes = Buffer.byteLength(JSON.stringify(data), 'utf8');
    for (const [k, v] of Object.entries(attributes)) bytes += Buffer.byteLength(k, 'utf8') + Buffer.byteLength(v, 'utf8');
    this.meter.billedBytes += Math.max(PUBSUB_MIN_BYTES, bytes);
    return id;
  }

  /** All messages published. */
  total(): number {
    return Object.values(this.meter.publishes).reduce((a, b) => a + b, 0);
  }
}
