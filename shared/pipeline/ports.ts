// The three cloud services the pipeline reaches, as small interfaces.
//
// Every pipeline module (orchestrator, worker, reducer, status) talks only to
// these. Each has a Google Cloud implementation (shared/pipeline/google/) and
// a local one (shared/pipeline/local/), so the same protocol runs on one
// machine and on Cloud Run functions.
//
// Errors: implementations throw RootError (shared/root/errors) for object
// storage, with `transient` set for what a retry may fix; document-store and
// queue failures are thrown as they come (any error from them is treated as
// transient: the message is not acknowledged and the queue retries it).

import type { ByteSource } from '../root/index';

// ---------------------------------------------------------------------------
// Job state: a document store with the semantics Firestore gives us and that
// the protocol relies on — create-if-absent, field increments, equality and
// range filters, count/sum aggregation. No read-modify-write transactions.

/** A field value: JSON-like data, plus increment() sentinels in merge(). Times are epoch milliseconds. */
export type FieldValue = string | number | boolean | null | FieldValue[] | { [key: string]: FieldValue } | Increment;
export type Doc = { [field: string]: FieldValue };

/** merge() sentinel: add `by` to a top-level numeric field (0 if absent). A plain object so it crosses worker_threads. */
export interface Increment {
  readonly $increment: number;
}
export function increment(by: number): Increment {
  return { $increment: by };
}
export function isIncrement(v: unknown): v is Increment {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as Increment).$increment === 'number' && Object.keys(v).length === 1;
}

export interface Filter {
  field: string;
  op: '==' | '<' | '<=' | '>' | '>=';
  value: string | number | boolean;
}

export interface QueryOptions {
  /** All must hold. Use at most one field with range operators (Firestore's rule). */
  where?: Filter[];
  orderBy?: { field: string; direction?: 'asc' | 'desc' };
  limit?: number;
}

export interface StoredDoc {
  /** The last path segment. */
  id: string;
  data: Doc;
}

export interface Aggregate {
  count: number;
  /** Sum of each requested numeric field over the matching documents (non-numbers count as 0). */
  sums: Record<string, number>;
}

/**
 * Paths alternate collection/document: "jobs/J" is a document, "jobs/J/shards"
 * a collection, "jobs/J/shards/000001" a document in it.
 */
export interface DocumentStore {
  /** Creates the document unless one exists. true: this call created it; false: it already existed (not an error). */
  create(path: string, data: Doc): Promise<boolean>;
  get(path: string): Promise<Doc | undefined>;
  /** Sets the given top-level fields (increments applied), creating the document if absent. Other fields are kept. */
  merge(path: string, data: Doc): Promise<void>;
  /** Documents directly in the collection. */
  query(collection: string, options?: QueryOptions): Promise<StoredDoc[]>;
  /** Count, and sums of fields, over the documents matching every filter. */
  aggregate(collection: string, where?: Filter[], sumFields?: string[]): Promise<Aggregate>;
}

// ---------------------------------------------------------------------------
// Message queue. Publishing is an interface; receiving is done by whatever
// runs the handlers (the Pub/Sub trigger of a Cloud Run function, or the local
// queue), which turns each delivery into a Delivery and calls the handler:
// the handler returning acknowledges it, throwing asks for a redelivery.

export interface Publisher {
  /** Publishes one JSON message; resolves to its message id once the queue has it. */
  publish(topic: string, data: Doc, attributes?: Record<string, string>): Promise<string>;
}

export interface Delivery {
  /** Stable across redeliveries of the same message. */
  messageId: string;
  data: Doc;
  attributes: Record<string, string>;
  /** 1 for the first delivery, when the queue reports it (Pub/Sub does only with a dead-letter policy). */
  deliveryAttempt?: number;
  publishTime?: string;
}

/** `info.duplicate`: this call is an injected second delivery of a lease another call also holds (chaos, tests). */
export type DeliveryHandler = (delivery: Delivery, info?: { duplicate: boolean }) => Promise<void>;

// ---------------------------------------------------------------------------
// Object storage: what the orchestrator lists and the worker reads.

export interface ObjectInfo {
  /** gs://bucket/name, https://…, or a local path. */
  url: string;
  /** Bytes; undefined when the server does not say (then the file is one shard). */
  size?: number;
  /** Cloud Storage generation, so a worker reads exactly the object that was planned. */
  generation?: string;
  /**
   * Local files reached through a symbolic link: the file's real path. Two
   * objects with one identity (or one url) are one file, analysed once.
   */
  identity?: string;
}

export interface ObjectStore {
  /**
   * Objects under a prefix (gs://bucket/some/prefix, a local directory), in
   * name order, at most `limit` of them (the caller asks for one more than it
   * accepts to detect overflow). Throws RootError SOURCE_NOT_FOUND for a
   * missing bucket/directory, SOURCE_FORBIDDEN when it cannot be listed.
   */
  list(prefix: string, limit: number): Promise<ObjectInfo[]>;
  /** Size (and generation) of one object; RootError SOURCE_NOT_FOUND if absent. */
  stat(url: string): Promise<ObjectInfo>;
  /** A small text object (an index of URLs); RootError LIMIT if larger than maxBytes. */
  readText(url: string, maxBytes: number): Promise<string>;
  /** A byte source for the decoder, pinned to info.generation when given. */
  open(url: string, info?: ObjectInfo): Promise<ByteSource>;
}
