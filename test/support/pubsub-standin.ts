// A local stand-in for Cloud Pub/Sub as production uses it: the real
// @google-cloud/pubsub client publishes over gRPC, and push subscriptions
// (made by Eventarc/Terraform in production, by subscribe() here) POST every
// message to the instances of a Cloud Run function.
//
//   const ps = await startPubSubStandIn({ projectId: 'p' });
//   const client = new PubSub(ps.clientConfig());        // or PUBSUB_EMULATOR_HOST=ps.host in a child's env
//   await ps.createTopic('jobs');                        // or client.createTopic('jobs')
//   ps.subscribe('jobs', 'jobs-sub', { endpoints: [fn.url], format: 'cloudevent', minBackoffMs: 50 });
//   await client.topic('jobs').publishMessage({ json: { a: 1 } });
//   await ps.idle(5_000);
//   ps.published('jobs'); ps.stats()['jobs-sub']; ps.pushLog;
//   ps.setFaults({ duplicateRate: 1, duplicateMode: 'after-ack' });
//   await ps.close();
//
// gRPC (google.pubsub.v1.Publisher, from the .proto files the client ships,
// on 127.0.0.1, insecure): CreateTopic, GetTopic, ListTopics (page_size and
// page_token honoured) and Publish. Every other Publisher method, and the
// Subscriber and SchemaService services, answer UNIMPLEMENTED. Any project is
// accepted. Errors carry real Pub/Sub's codes and, where known, its wording:
//   unknown topic           NOT_FOUND         "Resource not found (resource=jobs)."
//   CreateTopic, existing   ALREADY_EXISTS    "Resource already exists in the project (resource=jobs)."
//   malformed topic name    INVALID_ARGUMENT  "Invalid [topics] name: (name=…)"
//   a message with no data and no attributes, more than 100 attributes, an
//   attribute key over 256 or value over 1024 bytes, no message or more than
//   1000 messages, over 10 MiB in one request: INVALID_ARGUMENT.
// Message ids are decimal strings, unique in the stand-in; the messages of one
// Publish request share one publish time.
//
// Push delivery runs on shared/pipeline/local/queue.ts (LocalQueue): each
// push subscription is a LocalQueue subscription whose handler makes the HTTP
// POST; the queue carries only the stand-in's message id. From LocalQueue
// come the retry policy (exponential backoff minBackoffMs → maxBackoffMs),
// delivery attempts, dead-lettering, concurrency and concurrent duplicates.
//   ack   = an answer 102, 200, 201, 202 or 204
//   nack  = any other status, a connection error, or no answer within the
//           ack deadline (the request is then aborted): backoff, then a
//           redelivery, to the next endpoint (round-robin over the instances,
//           preferring one with no push under way, as Cloud Run prefers an
//           instance with a free request slot)
//   format 'cloudevent' = what Eventarc sends a 2nd-gen function: binary
//           content mode, headers ce-id (message id), ce-source
//           (//pubsub.googleapis.com/projects/P/topics/T), ce-specversion 1.0,
//           ce-type google.cloud.pubsub.topic.v1.messagePublished, ce-time
//           (publish time), content-type application/json; charset=utf-8
//           (as Eventarc's documentation shows); body MessagePublishedData
//   format 'push' = a plain push subscription's body, content-type
//           application/json, with deliveryAttempt only when the subscription
//           has a dead-letter policy
// Body: {"message": {"attributes"?, "data"?, "messageId", "message_id",
// "publishTime", "publish_time"}, "subscription": "projects/P/subscriptions/S"}
// — attributes and data are left out when empty, as proto3 JSON (and so Pub/Sub)
// leaves out empty maps and bytes.
// Dead-lettering: after maxDeliveryAttempts failed attempts the message is
// published again, on the dead-letter topic of the stand-in (so it is in
// published() and its own subscriptions push it), as a NEW message: a new id
// and publish time (Pub/Sub wraps the original in a new message), the same
// data, the original attributes plus CloudPubSubDeadLetterSourceDeliveryCount,
// …SourceSubscription (the subscription id), …SourceSubscriptionProject and
// …SourceTopicPublishTime. These do not count against the attribute limit.
//
// Publish faults (setPublishFault): the gRPC Publish method answers a chosen
// status instead of storing the messages — UNAVAILABLE as when Pub/Sub cannot
// be reached (the client retries it), PERMISSION_DENIED as for a service
// account without roles/pubsub.publisher (not retried) — for every topic or
// some, for the next `times` calls or until cleared. Such calls are in rpcLog
// with their code; nothing is stored or pushed.
//
// Faults (setFaults): 'concurrent' duplicates are LocalQueue's (a second push
// of the same lease at the same time, to the next endpoint); 'after-ack'
// pushes an acknowledged message once more (same id, same body but for
// deliveryAttempt, which grows by one: to Pub/Sub a lost ack is an expired
// deadline) after its ack; the outcome of that push changes nothing.
//
// Deliberately not implemented: pull and StreamingPull (the Subscriber
// service: subscriptions exist only through subscribe()), topic deletion and
// update, ordering keys (accepted and recorded, but messages are not
// ordered), filters, exactly-once delivery, schemas, message retention and
// seek, push authentication (no Authorization header), and the ack-deadline
// and max-delivery-attempt ranges (10–600 s and 5–100 in Pub/Sub; any
// positive value here, fractions of a second included, so tests are fast).
// Other differences from Pub/Sub: a subscription must be made after its topic
// and gets only messages published after it exists (as in Pub/Sub); ids of
// subscriptions are unique in the stand-in, whatever their project; the
// 10 MiB limit is computed over data, attributes, ordering keys and the topic
// name, not the serialized request; publish times have millisecond
// precision; push backoff follows the retry policy from the first failure
// (Pub/Sub also slows pushes down by its own flow control, which is not
// modelled); the concurrency is fixed, where Pub/Sub adapts it.

import { performance } from 'node:perf_hooks';
import http, { type ClientRequest, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ClientConfig } from '@google-cloud/pubsub';
import { DEAD_LETTER_DELIVERY_COUNT, DEAD_LETTER_SOURCE_SUBSCRIPTION, LocalQueue } from '../../shared/pipeline/local/queue';
import type { Delivery } from '../../shared/pipeline/ports';

export { DEAD_LETTER_DELIVERY_COUNT, DEAD_LETTER_SOURCE_SUBSCRIPTION };
/** The other attributes Pub/Sub adds to a dead-lettered message. */
export const DEAD_LETTER_SOURCE_SUBSCRIPTION_PROJECT = 'CloudPubSubDeadLetterSourceSubscriptionProject';
export const DEAD_LETTER_SOURCE_TOPIC_PUBLISH_TIME = 'CloudPubSubDeadLetterSourceTopicPublishTime';

export const CLOUD_EVENT_TYPE = 'google.cloud.pubsub.topic.v1.messagePublished';
/** Pub/Sub's limits on a Publish request. */
export const MAX_REQUEST_BYTES = 10 * 1024 * 1024;
export const MAX_MESSAGES_PER_REQUEST = 1000;
export const MAX_ATTRIBUTES = 100;
const MAX_ATTRIBUTE_KEY_BYTES = 256;
const MAX_ATTRIBUTE_VALUE_BYTES = 1024;
/** Statuses a push endpoint acknowledges with. */
export const ACK_STATUSES: ReadonlySet<number> = new Set([102, 200, 201, 202, 204]);
const USER_AGENT = 'APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)';
/** Topic and subscription ids: a letter, then 2–254 of these; not starting with "goog". */
const RESOURCE_ID = /^[A-Za-z][A-Za-z0-9._~%+-]{2,254}$/;
const FIRST_MESSAGE_ID = 4_000_000_000_000_000;
/**
 * The LocalQueue lease outlives the HTTP deadline by this much: the push is
 * aborted (a nack, with backoff) at the ack deadline, so the lease never
 * expires unless something hangs.
 */
const LEASE_MARGIN_MS = 1_000;
/** LocalQueue names no user id can take (ids start with a letter). */
const DEAD_LETTER_SINK = '#dead-letter/';

export class PubSubStandInError extends Error {
  override readonly name = 'PubSubStandInError';
  constructor(
    /** The gRPC status a client gets for it, e.g. grpc.status.NOT_FOUND (5). */
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

export type PushFormat = 'cloudevent' | 'push';

export interface PushSubscriptionOptions {
  /** URLs of the function's instances; pushes go round-robin over them. At least one. */
  endpoints: readonly string[];
  /** Default 'cloudevent' (Eventarc). */
  format?: PushFormat;
  /** Also the timeout of each push. Default 10; fractions allowed. */
  ackDeadlineSeconds?: number;
  /** Retry policy: backoff after the first failure, doubling up to maxBackoffMs. Defaults 10 000 and 600 000, as in Pub/Sub. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** A topic of the stand-in (id or full name): the dead-letter policy. */
  deadLetterTopic?: string;
  /** Failed attempts before dead-lettering; needs deadLetterTopic. Default 5 with a deadLetterTopic. */
  maxDeliveryAttempts?: number;
  /** Pushes holding a lease at once (injected duplicates not counted). Default 10. */
  concurrency?: number;
}

export interface Faults {
  /** Probability of a duplicate per delivery (concurrent) or per acknowledged delivery (after-ack). 0 turns faults off. */
  duplicateRate?: number;
  /** Default 'concurrent'. */
  duplicateMode?: 'concurrent' | 'after-ack';
  /** Default Math.random. */
  random?: () => number;
}

/** A failure of the gRPC Publish method (setPublishFault). */
export interface PublishFault {
  /** The status every matching Publish call answers, e.g. grpc.status.UNAVAILABLE (14) or grpc.status.PERMISSION_DENIED (7). */
  code: grpc.status;
  /** The error's details; default: PUBLISH_FAULT_DETAILS for the code, else "injected fault (CODE)". */
  details?: string;
  /** Only Publish calls on these topics (ids in the stand-in's project, or full names); default every topic. */
  topics?: readonly string[];
  /** Only the next `times` matching calls, then the fault clears itself; default until setPublishFault(undefined). */
  times?: number;
}

/** Default details of an injected Publish fault (PERMISSION_DENIED: Pub/Sub's wording). */
const PUBLISH_FAULT_DETAILS: Partial<Record<grpc.status, string>> = {
  [grpc.status.UNAVAILABLE]: 'The service is currently unavailable.',
  [grpc.status.PERMISSION_DENIED]: 'User not authorized to perform this action.',
};

export interface PublishedMessage {
  messageId: string;
  data: Buffer;
  attributes: Record<string, string>;
  /** RFC 3339, milliseconds. */
  publishTime: string;
  orderingKey?: string;
}

export interface PushRecord {
  /** Subscription id. */
  subscription: string;
  messageId: string;
  /** The delivery attempt of the lease (after-ack duplicates: one more than the acknowledged one). */
  attempt: number;
  /** 'delivery': a lease's push; 'duplicate': injected concurrent copy of one; 'after-ack': injected push of an acknowledged message. */
  kind: 'delivery' | 'duplicate' | 'after-ack';
  endpoint: string;
  /** performance.now() at the start and the end of the push. */
  startMs: number;
  endMs?: number;
  ms?: number;
  /** The HTTP status, when one came. */
  status?: number;
  /** Why there is no acceptable answer: a connection error or the ack deadline. */
  error?: string;
  acked?: boolean;
}

/** Per subscription. `published`, `acked` and `deadLettered` count messages; the rest count pushes. */
export interface PushSubscriptionStats {
  /** Messages that reached the subscription. */
  published: number;
  /** Pushes made, injected duplicates included. */
  delivered: number;
  /** Messages acknowledged. */
  acked: number;
  /** Pushes not acknowledged (error status, connection error, deadline), duplicates included. */
  nacked: number;
  /** Of the nacks, pushes aborted at the ack deadline. */
  timedOut: number;
  /** Pushes of a message after a failed attempt (attempt > 1; duplicates not counted). */
  redelivered: number;
  /** Injected duplicate pushes, both kinds. */
  duplicated: number;
  duplicatedConcurrent: number;
  duplicatedAfterAck: number;
  deadLettered: number;
  /** Pushes under way. */
  inFlight: number;
  /** Messages waiting for a push: ready, or backing off. */
  pending: number;
  backingOff: number;
}

export interface RpcRecord {
  /** e.g. 'Publish'. */
  method: string;
  /** The topic or project the request named. */
  resource?: string;
  /** grpc.status of the answer (0: OK). */
  code: grpc.status;
  error?: string;
}

export interface PubSubStandInOptions {
  /** The project of topic and subscription ids given without one, and of clientConfig(). Default 'physlite-local'. */
  projectId?: string;
  /** Default 0 (an ephemeral port). */
  port?: number;
}

interface StoredMessage extends PublishedMessage {
  /** Full topic name. */
  topic: string;
  /** data as base64, made on the first push. */
  base64?: string;
}

interface TopicState {
  name: string;
  project: string;
  id: string;
  labels: Record<string, string>;
  messages: StoredMessage[];
}

interface PushSubscription {
  id: string;
  project: string;
  name: string;
  topic: TopicState;
  format: PushFormat;
  endpoints: string[];
  next: number;
  /** Pushes under way per endpoint. */
  busy: Map<string, number>;
  ackDeadlineMs: number;
  deadLetter?: { topic: TopicState; maxDeliveryAttempts: number; forwarded: Set<string> };
  /** afterAck: after-ack duplicates decided; afterAckPushed: of them, pushes started. */
  counters: { redelivered: number; timedOut: number; afterAck: number; afterAckPushed: number; afterAckInFlight: number; afterAckNacked: number };
}

interface IncomingMessageJson {
  data?: Uint8Array;
  attributes?: Record<string, string>;
  orderingKey?: string;
}

interface PushOutcome {
  status?: number;
  error?: string;
  timedOut?: boolean;
}

const require = createRequire(import.meta.url);
let publisherService: grpc.ServiceDefinition | undefined;

/** google.pubsub.v1.Publisher from the client's own .proto files (google/api and google/protobuf ones come with google-gax). */
function loadPublisherService(): grpc.ServiceDefinition {
  if (publisherService) return publisherService;
  const pubsubDir = path.dirname(require.resolve('@google-cloud/pubsub/package.json'));
  // the google-gax the client itself loads (its package.json is not exported: resolve its main file)
  const gaxMain = createRequire(path.join(pubsubDir, 'package.json')).resolve('google-gax');
  const definition = protoLoader.loadSync('google/pubsub/v1/pubsub.proto', {
    includeDirs: [path.join(pubsubDir, 'build/protos'), path.resolve(path.dirname(gaxMain), '../protos')],
    keepCase: false,
    longs: String,
    enums: String,
    defaults: false,
    oneofs: true,
  });
  publisherService = definition['google.pubsub.v1.Publisher'] as unknown as grpc.ServiceDefinition;
  return publisherService;
}

export async function startPubSubStandIn(options: PubSubStandInOptions = {}): Promise<PubSubStandIn> {
  const standIn = new PubSubStandIn(options.projectId ?? 'physlite-local');
  await standIn.listen(options.port ?? 0);
  return standIn;
}

export class PubSubStandIn {
  readonly projectId: string;
  /** Every push made, in start order. */
  readonly pushLog: PushRecord[] = [];
  /** Every gRPC call answered, in order. */
  readonly rpcLog: RpcRecord[] = [];
  private readonly server: grpc.Server;
  private boundPort = 0;
  private readonly topics = new Map<string, TopicState>();
  private readonly subscriptions = new Map<string, PushSubscription>();
  /** Stored messages by id. */
  private readonly messages = new Map<string, StoredMessage>();
  private readonly queue: LocalQueue;
  private faults: Required<Faults> = { duplicateRate: 0, duplicateMode: 'concurrent', random: Math.random };
  /** setPublishFault's fault: full topic names (undefined: every topic) and the calls left (undefined: unlimited). */
  private publishFault: { code: grpc.status; details: string; topics?: Set<string>; left?: number } | undefined;
  /** Pushes under way, aborted by close(). */
  private readonly requests = new Set<ClientRequest>();
  /** After-ack duplicates scheduled or under way (idle() waits for them; LocalQueue does not know them). */
  private readonly extras = new Set<Promise<void>>();
  private nextMessageId = FIRST_MESSAGE_ID;
  private closed = false;
  private closing?: Promise<void>;

  /** Use startPubSubStandIn(). */
  constructor(projectId: string) {
    this.projectId = projectId;
    this.queue = new LocalQueue();
    this.server = new grpc.Server({ 'grpc.max_receive_message_length': 4 * MAX_REQUEST_BYTES });
    this.server.addService(loadPublisherService(), {
      CreateTopic: this.unary('CreateTopic', (r: { name?: string; labels?: Record<string, string> }) => this.rpcCreateTopic(r)),
      GetTopic: this.unary('GetTopic', (r: { topic?: string }) => this.topicJson(this.topicFor(r.topic, true))),
      ListTopics: this.unary('ListTopics', (r: { project?: string; pageSize?: number; pageToken?: string }) => this.rpcListTopics(r)),
      Publish: this.unary('Publish', (r: { topic?: string; messages?: IncomingMessageJson[] }) => this.rpcPublish(r)),
    });
  }

  /** @internal */
  listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
        if (err) return reject(err);
        this.boundPort = bound;
        resolve();
      });
    });
  }

  get port(): number {
    return this.boundPort;
  }

  /** 127.0.0.1:PORT — the value for PUBSUB_EMULATOR_HOST. */
  get host(): string {
    return `127.0.0.1:${this.boundPort}`;
  }

  /**
   * Options for `new PubSub(…)` that make the client use the stand-in without
   * touching process.env: `apiEndpoint` wins over PUBSUB_EMULATOR_HOST, and
   * emulatorMode gives insecure channel credentials (never sent anything).
   * The dummy service account is there because google-gax asks the auth
   * library for the universe domain of every new channel, and without
   * credentials that probes the GCE metadata server (slow, and a
   * MetadataLookupWarning off Google Cloud).
   */
  clientConfig(extra: ClientConfig = {}): ClientConfig {
    return {
      projectId: this.projectId,
      apiEndpoint: this.host,
      emulatorMode: true,
      credentials: { client_email: 'pubsub-standin@example.com', private_key: 'unused: channels to the stand-in carry no credentials' },
      ...extra,
    };
  }

  /** Makes a topic (id or full name); returns its full name. ALREADY_EXISTS if it exists. */
  async createTopic(name: string, labels: Record<string, string> = {}): Promise<string> {
    return this.addTopic(name, labels, false).name;
  }

  /** Full names of the topics, sorted. */
  topicNames(): string[] {
    return [...this.topics.keys()].sort();
  }

  /** Publishes as a client would (same checks); returns the message id. */
  publish(topic: string, data: Uint8Array | string, attributes: Record<string, string> = {}): string {
    this.assertOpen();
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
    return this.publishTo(this.topicFor(topic, false), [{ data: bytes, attributes }], true)[0]!;
  }

  /** Every message ever published on the topic (id or full name), oldest first, copied. NOT_FOUND for an unknown topic. */
  published(topic: string): PublishedMessage[] {
    return this.topicFor(topic, false).messages.map((m) => ({
      messageId: m.messageId,
      data: Buffer.from(m.data),
      attributes: { ...m.attributes },
      publishTime: m.publishTime,
      ...(m.orderingKey ? { orderingKey: m.orderingKey } : {}),
    }));
  }

  /**
   * A push subscription on `topic`: every message published there from now
   * on is POSTed to the endpoints. `name` is an id (in the stand-in's
   * project) or projects/P/subscriptions/ID. Returns the full name.
   */
  subscribe(topic: string, name: string, options: PushSubscriptionOptions): string {
    this.assertOpen();
    const t = this.topicFor(topic, false);
    const full = /^projects\/([^/]+)\/subscriptions\/([^/]+)$/.exec(name);
    const [project, id] = full ? [full[1]!, full[2]!] : [this.projectId, name];
    if (!RESOURCE_ID.test(id) || id.startsWith('goog')) throw new PubSubStandInError(grpc.status.INVALID_ARGUMENT, `Invalid [subscriptions] name: (name=${name})`);
    if (this.subscriptions.has(id)) throw new PubSubStandInError(grpc.status.ALREADY_EXISTS, `Resource already exists in the project (resource=${id}).`);
    const ackDeadlineMs = (options.ackDeadlineSeconds ?? 10) * 1000;
    if (!(ackDeadlineMs > 0) || !Number.isFinite(ackDeadlineMs)) throw new RangeError(`subscription ${id}: ackDeadlineSeconds must be a positive number, got ${options.ackDeadlineSeconds}`);
    if (options.maxDeliveryAttempts !== undefined && !options.deadLetterTopic) throw new Error(`subscription ${id}: maxDeliveryAttempts needs a deadLetterTopic`);
    const sub: PushSubscription = {
      id,
      project,
      name: `projects/${project}/subscriptions/${id}`,
      topic: t,
      format: options.format ?? 'cloudevent',
      endpoints: checkEndpoints(id, options.endpoints),
      next: 0,
      busy: new Map(),
      ackDeadlineMs,
      counters: { redelivered: 0, timedOut: 0, afterAck: 0, afterAckPushed: 0, afterAckInFlight: 0, afterAckNacked: 0 },
    };
    if (sub.format !== 'cloudevent' && sub.format !== 'push') throw new Error(`subscription ${id}: format must be 'cloudevent' or 'push', got ${String(sub.format)}`);
    const sink = `${DEAD_LETTER_SINK}${id}`;
    if (options.deadLetterTopic) {
      sub.deadLetter = { topic: this.topicFor(options.deadLetterTopic, false), maxDeliveryAttempts: options.maxDeliveryAttempts ?? 5, forwarded: new Set() };
    }
    // LocalQueue validates concurrency and maxDeliveryAttempts; nothing is registered here before it has
    this.queue.subscribe(t.name, id, (d, info) => this.deliver(sub, d, info?.duplicate ?? false), {
      ackDeadlineMs: ackDeadlineMs + LEASE_MARGIN_MS,
      minBackoffMs: options.minBackoffMs ?? 10_000,
      maxBackoffMs: options.maxBackoffMs ?? 600_000,
      concurrency: options.concurrency ?? 10,
      ...(sub.deadLetter ? { deadLetterTopic: sink, maxDeliveryAttempts: sub.deadLetter.maxDeliveryAttempts } : {}),
    });
    // LocalQueue dead-letters onto its own topic `sink`; this subscription republishes each message on the stand-in's dead-letter topic
    if (sub.deadLetter) this.queue.subscribe(sink, sink, async (d) => this.forwardDeadLetter(sub, d), { concurrency: 1_000 });
    this.subscriptions.set(id, sub);
    return sub.name;
  }

  /** Replaces a subscription's endpoints (e.g. an instance restarted on a new port); the round-robin carries on. */
  setEndpoints(subscription: string, endpoints: readonly string[]): void {
    const sub = this.subscriptions.get(subscription.replace(/^projects\/[^/]+\/subscriptions\//, ''));
    if (!sub) throw new PubSubStandInError(grpc.status.NOT_FOUND, `Resource not found (resource=${subscription}).`);
    sub.endpoints = checkEndpoints(sub.id, endpoints);
  }

  /** Replaces the injected faults (setFaults({}) or { duplicateRate: 0 } turns them off). */
  setFaults(faults: Faults): void {
    const rate = faults.duplicateRate ?? 0;
    if (!(rate >= 0 && rate <= 1)) throw new RangeError(`duplicateRate must be in [0, 1], got ${faults.duplicateRate}`);
    const mode = faults.duplicateMode ?? 'concurrent';
    if (mode !== 'concurrent' && mode !== 'after-ack') throw new RangeError(`duplicateMode must be 'concurrent' or 'after-ack', got ${String(mode)}`);
    this.faults = { duplicateRate: rate, duplicateMode: mode, random: faults.random ?? Math.random };
    // concurrent duplicates are LocalQueue's own; after-ack ones are made here
    this.queue.setDuplicateRate(mode === 'concurrent' ? rate : 0, this.faults.random);
  }

  /**
   * Makes the gRPC Publish method fail with `fault.code` (for the topics
   * named, or all; the next `times` calls, or until cleared); undefined clears
   * it. Publishing through publish() here is not affected. Topics need not
   * exist yet.
   */
  setPublishFault(fault: PublishFault | undefined): void {
    if (fault === undefined) {
      this.publishFault = undefined;
      return;
    }
    if (!Number.isInteger(fault.code) || fault.code <= grpc.status.OK || fault.code > grpc.status.UNAUTHENTICATED) throw new RangeError(`setPublishFault: code must be a gRPC error status (1-16), got ${String(fault.code)}`);
    if (fault.times !== undefined && !(Number.isInteger(fault.times) && fault.times > 0)) throw new RangeError(`setPublishFault: times must be a positive integer, got ${String(fault.times)}`);
    this.publishFault = {
      code: fault.code,
      details: fault.details ?? PUBLISH_FAULT_DETAILS[fault.code] ?? `injected fault (${grpc.status[fault.code]})`,
      ...(fault.topics ? { topics: new Set(fault.topics.map((t) => this.parseTopic(t, false).name)) } : {}),
      ...(fault.times !== undefined ? { left: fault.times } : {}),
    };
  }

  stats(): Record<string, PushSubscriptionStats> {
    const q = this.queue.stats();
    const out: Record<string, PushSubscriptionStats> = {};
    for (const [id, sub] of this.subscriptions) {
      const s = q[id]!;
      const c = sub.counters;
      out[id] = {
        published: s.published,
        delivered: s.delivered + c.afterAckPushed,
        acked: s.acked,
        nacked: s.nacked + c.afterAckNacked,
        timedOut: c.timedOut,
        redelivered: c.redelivered,
        duplicated: s.duplicated + c.afterAck,
        duplicatedConcurrent: s.duplicated,
        duplicatedAfterAck: c.afterAck,
        deadLettered: s.deadLettered,
        inFlight: s.inFlight + c.afterAckInFlight,
        pending: s.pending,
        backingOff: s.backingOff,
      };
    }
    return out;
  }

  /**
   * Resolves once no message is waiting or being pushed anywhere (after-ack
   * duplicates and dead-letter forwarding included). With a timeout, rejects
   * after it with what is still busy.
   */
  async idle(timeoutMs?: number): Promise<void> {
    if (this.closed) throw new PubSubStandInError(grpc.status.UNAVAILABLE, 'the Pub/Sub stand-in is closed');
    const settled = this.waitIdle();
    if (timeoutMs === undefined) return settled;
    settled.catch(() => undefined); // may reject (close()) after the timeout has won
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Pub/Sub stand-in not idle after ${timeoutMs} ms: ${this.describeBusy()}`)), timeoutMs);
    });
    try {
      await Promise.race([settled, expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops the gRPC server, the queue's timers and every push under way (aborted). Idempotent. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    this.queue.close();
    for (const req of this.requests) req.destroy(new Error('the Pub/Sub stand-in was closed'));
    this.requests.clear();
    this.closing = new Promise<void>((resolve) => {
      // a client left open keeps its connection: give it a moment to go away, then cut it
      const force = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 500);
      this.server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
    return this.closing;
  }

  // -------------------------------------------------------------------------
  // gRPC

  private unary<Req>(method: string, fn: (request: Req) => object): grpc.handleUnaryCall<Req, object> {
    return (call, callback) => {
      const r = call.request as { topic?: string; name?: string; project?: string };
      const resource = r.topic ?? r.name ?? r.project;
      try {
        this.assertOpen();
        const response = fn(call.request);
        this.rpcLog.push({ method, resource, code: grpc.status.OK });
        callback(null, response);
      } catch (e) {
        const err = e instanceof PubSubStandInError ? e : new PubSubStandInError(grpc.status.INTERNAL, `stand-in failure: ${e instanceof Error ? e.message : String(e)}`);
        this.rpcLog.push({ method, resource, code: err.code, error: err.message });
        callback({ code: err.code, details: err.message });
      }
    };
  }

  private rpcCreateTopic(r: { name?: string; labels?: Record<string, string> }): object {
    return this.topicJson(this.addTopic(r.name ?? '', r.labels ?? {}, true));
  }

  private rpcListTopics(r: { project?: string; pageSize?: number; pageToken?: string }): object {
    const m = /^projects\/([^/]+)$/.exec(r.project ?? '');
    if (!m) throw new PubSubStandInError(grpc.status.INVALID_ARGUMENT, `Invalid [projects] name: (name=${r.project ?? ''})`);
    const names = this.topicNames().filter((n) => n.startsWith(`${r.project}/topics/`));
    // the page token is the last name of the previous page
    const start = r.pageToken ? names.findIndex((n) => n > r.pageToken!) : 0;
    if (r.pageToken && !names.includes(r.pageToken)) throw new PubSubStandInError(grpc.status.INVALID_ARGUMENT, `Invalid page token: ${r.pageToken}`);
    const from = start < 0 ? names.length : start;
    const size = r.pageSize && r.pageSize > 0 ? r.pageSize : names.length;
    const page = names.slice(from, from + size);
    const more = from + size < names.length;
    return { topics: page.map((n) => this.topicJson(this.topics.get(n)!)), nextPageToken: more ? page[page.length - 1]! : '' };
  }

  private rpcPublish(r: { topic?: string; messages?: IncomingMessageJson[] }): object {
    const topic = this.topicFor(r.topic, true);
    const fault = this.publishFault;
    if (fault && (!fault.topics || fault.topics.has(topic.name))) {
      if (fault.left !== undefined && --fault.left <= 0) this.publishFault = undefined;
      throw new PubSubStandInError(fault.code, fault.details);
    }
    const messages = (r.messages ?? []).map((m) => ({ data: Buffer.from(m.data ?? []), attributes: m.attributes ?? {}, orderingKey: m.orderingKey }));
    return { messageIds: this.publishTo(topic, messages, true) };
  }

  private topicJson(t: TopicState): object {
    return { name: t.name, labels: { ...t.labels }, state: 'ACTIVE' };
  }

  // -------------------------------------------------------------------------
  // topics and publishing

  private assertOpen(): void {
    if (this.closed) throw new PubSubStandInError(grpc.status.UNAVAILABLE, 'the Pub/Sub stand-in is closed');
  }

  /** Parses a topic name: full only (`strict`, as on the wire), or also a bare id in the stand-in's project. */
  private parseTopic(name: string | undefined, strict: boolean): { name: string; project: string; id: string } {
    const text = name ?? '';
    const full = /^projects\/([^/]+)\/topics\/([^/]+)$/.exec(text);
    const [project, id] = full ? [full[1]!, full[2]!] : strict || text.includes('/') ? ['', ''] : [this.projectId, text];
    if (!RESOURCE_ID.test(id) || id.toLowerCase().startsWith('goog')) throw new PubSubStandInError(grpc.status.INVALID_ARGUMENT, `Invalid [topics] name: (name=${text})`);
    return { name: `projects/${project}/topics/${id}`, project, id };
  }

  private topicFor(name: string | undefined, strict: boolean): TopicState {
    const parsed = this.parseTopic(name, strict);
    const t = this.topics.get(parsed.name);
    if (!t) throw new PubSubStandInError(grpc.status.NOT_FOUND, `Resource not found (resource=${parsed.id}).`);
    return t;
  }

  private addTopic(name: string, labels: Record<string, string>, strict: boolean): TopicState {
    this.assertOpen();
    const parsed = this.parseTopic(name, strict);
    if (this.topics.has(parsed.name)) throw new PubSubStandInError(grpc.status.ALREADY_EXISTS, `Resource already exists in the project (resource=${parsed.id}).`);
    const t: TopicState = { ...parsed, labels: { ...labels }, messages: [] };
    this.topics.set(t.name, t);
    return t;
  }

  /** Checks (unless forwarding a dead letter) and stores the messages, then hands their ids to the queue. */
  private publishTo(topic: TopicState, messages: { data: Buffer; attributes: Record<string, string>; orderingKey?: string }[], check: boolean): string[] {
    if (check) checkPublish(topic, messages);
    const publishTime = new Date().toISOString();
    const ids: string[] = [];
    for (const m of messages) {
      const messageId = String(this.nextMessageId++);
      const stored: StoredMessage = { messageId, data: m.data, attributes: { ...m.attributes }, publishTime, topic: topic.name, ...(m.orderingKey ? { orderingKey: m.orderingKey } : {}) };
      this.messages.set(messageId, stored);
      topic.messages.push(stored);
      ids.push(messageId);
      // LocalQueue enqueues synchronously (its publish only rejects once closed, which assertOpen has ruled out)
      this.queue.publish(topic.name, { id: messageId }, stored.attributes).catch(() => undefined);
    }
    return ids;
  }

  // -------------------------------------------------------------------------
  // push delivery

  /** LocalQueue's handler: one push of one lease; throws (a nack) unless acknowledged. */
  private async deliver(sub: PushSubscription, d: Delivery, duplicate: boolean): Promise<void> {
    const message = this.messages.get(String(d.data.id))!;
    const attempt = d.deliveryAttempt ?? 1;
    if (!duplicate && attempt > 1) sub.counters.redelivered++;
    const acked = await this.push(sub, message, attempt, duplicate ? 'duplicate' : 'delivery');
    if (!acked) throw new Error(`push of message ${message.messageId} to ${sub.id} not acknowledged`);
    if (!duplicate) this.maybeDuplicateAfterAck(sub, message, attempt);
  }

  /** LocalQueue dead-lettered a message of `sub`: publish it anew on the dead-letter topic. Once per message, whatever duplicates come. */
  private forwardDeadLetter(sub: PushSubscription, d: Delivery): void {
    const dl = sub.deadLetter!;
    if (dl.forwarded.has(d.messageId)) return;
    dl.forwarded.add(d.messageId);
    const original = this.messages.get(String(d.data.id))!;
    const attributes = {
      ...d.attributes, // the original's, with LocalQueue's delivery count and source subscription
      [DEAD_LETTER_SOURCE_SUBSCRIPTION_PROJECT]: sub.project,
      [DEAD_LETTER_SOURCE_TOPIC_PUBLISH_TIME]: original.publishTime,
    };
    this.publishTo(dl.topic, [{ data: original.data, attributes, orderingKey: original.orderingKey }], false);
  }

  private maybeDuplicateAfterAck(sub: PushSubscription, message: StoredMessage, attempt: number): void {
    const f = this.faults;
    if (f.duplicateMode !== 'after-ack' || !(f.duplicateRate > 0) || !(f.random() < f.duplicateRate)) return;
    sub.counters.afterAck++;
    const task = (async () => {
      // after LocalQueue has taken the ack
      await new Promise((resolve) => setImmediate(resolve));
      if (this.closed) return;
      sub.counters.afterAckPushed++;
      sub.counters.afterAckInFlight++;
      try {
        if (!(await this.push(sub, message, attempt + 1, 'after-ack'))) sub.counters.afterAckNacked++;
      } finally {
        sub.counters.afterAckInFlight--;
      }
    })().catch(() => undefined);
    this.extras.add(task);
    void task.then(() => this.extras.delete(task));
  }

  /** One POST to the subscription's next endpoint; true if acknowledged. Never throws. */
  private async push(sub: PushSubscription, message: StoredMessage, attempt: number, kind: PushRecord['kind']): Promise<boolean> {
    const endpoint = this.pickEndpoint(sub);
    sub.busy.set(endpoint, (sub.busy.get(endpoint) ?? 0) + 1);
    const { headers, body } = this.render(sub, message, attempt);
    const record: PushRecord = { subscription: sub.id, messageId: message.messageId, attempt, kind, endpoint, startMs: performance.now() };
    this.pushLog.push(record);
    const outcome = await post(endpoint, headers, body, sub.ackDeadlineMs, this.requests);
    sub.busy.set(endpoint, sub.busy.get(endpoint)! - 1);
    record.endMs = performance.now();
    record.ms = record.endMs - record.startMs;
    if (outcome.status !== undefined) record.status = outcome.status;
    if (outcome.error !== undefined) record.error = outcome.error;
    if (outcome.timedOut) sub.counters.timedOut++;
    record.acked = outcome.status !== undefined && ACK_STATUSES.has(outcome.status) && outcome.error === undefined;
    return record.acked;
  }

  /**
   * Round-robin over the endpoints, skipping those with a push under way while another is
   * idle: Cloud Run sends a request to an instance with a free slot (a function instance has
   * one by default), so with `concurrency` = number of instances each instance handles one
   * push at a time, and killing an instance loses only the push it was handling.
   */
  private pickEndpoint(sub: PushSubscription): string {
    const n = sub.endpoints.length;
    for (let i = 0; i < n; i++) {
      const e = sub.endpoints[(sub.next + i) % n]!;
      if (!sub.busy.get(e)) {
        sub.next = (sub.next + i + 1) % n;
        return e;
      }
    }
    const e = sub.endpoints[sub.next % n]!;
    sub.next = (sub.next + 1) % n;
    return e;
  }

  private render(sub: PushSubscription, m: StoredMessage, attempt: number): { headers: OutgoingHttpHeaders; body: Buffer } {
    const message: Record<string, unknown> = {};
    if (Object.keys(m.attributes).length > 0) message.attributes = m.attributes;
    if (m.data.length > 0) message.data = m.base64 ??= m.data.toString('base64');
    message.messageId = m.messageId;
    message.message_id = m.messageId;
    message.publishTime = m.publishTime;
    message.publish_time = m.publishTime;
    const payload: Record<string, unknown> = { message, subscription: sub.name };
    if (sub.format === 'push' && sub.deadLetter) payload.deliveryAttempt = attempt;
    const body = Buffer.from(JSON.stringify(payload), 'utf8');
    const headers: OutgoingHttpHeaders =
      sub.format === 'cloudevent'
        ? {
            'ce-id': m.messageId,
            'ce-source': `//pubsub.googleapis.com/${m.topic}`,
            'ce-specversion': '1.0',
            'ce-type': CLOUD_EVENT_TYPE,
            'ce-time': m.publishTime,
            'content-type': 'application/json; charset=utf-8',
          }
        : { 'content-type': 'application/json' };
    headers['user-agent'] = USER_AGENT;
    headers['content-length'] = body.length;
    return { headers, body };
  }

  // -------------------------------------------------------------------------

  private async waitIdle(): Promise<void> {
    for (;;) {
      await this.queue.idle();
      if (this.extras.size === 0) return;
      await Promise.all([...this.extras]);
    }
  }

  private describeBusy(): string {
    const busy = Object.entries(this.stats())
      .filter(([, s]) => s.pending > 0 || s.inFlight > 0)
      .map(([id, s]) => `${id}: ${s.pending} pending (${s.backingOff} backing off), ${s.inFlight} in flight`);
    const sinks = Object.entries(this.queue.stats()).filter(([n, s]) => n.startsWith(DEAD_LETTER_SINK) && (s.pending > 0 || s.inFlight > 0));
    if (sinks.length) busy.push(`${sinks.length} dead-letter forwarding(s)`);
    if (this.extras.size) busy.push(`${this.extras.size} after-ack duplicate(s) under way`);
    return busy.join('; ') || 'nothing visible (finishing)';
  }
}

function checkEndpoints(id: string, endpoints: readonly string[]): string[] {
  if (!Array.isArray(endpoints) || endpoints.length === 0) throw new Error(`subscription ${id}: at least one endpoint is needed`);
  for (const e of endpoints) {
    let url: URL;
    try {
      url = new URL(e);
    } catch {
      throw new Error(`subscription ${id}: not a URL: ${JSON.stringify(e)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`subscription ${id}: endpoint must be http(s): ${e}`);
  }
  return [...endpoints];
}

/** Pub/Sub's checks of a Publish request. */
function checkPublish(topic: TopicState, messages: { data: Buffer; attributes: Record<string, string>; orderingKey?: string }[]): void {
  const invalid = (message: string) => new PubSubStandInError(grpc.status.INVALID_ARGUMENT, message);
  if (messages.length === 0) throw invalid('The publish request must contain at least one message.');
  if (messages.length > MAX_MESSAGES_PER_REQUEST) throw invalid(`The publish request has ${messages.length} messages, over the limit of ${MAX_MESSAGES_PER_REQUEST}.`);
  let bytes = Buffer.byteLength(topic.name);
  for (const m of messages) {
    const keys = Object.keys(m.attributes);
    if (m.data.length === 0 && keys.length === 0) {
      throw invalid('One or more messages in the publish request is empty. Each message must contain either non-empty data, or at least one attribute.');
    }
    if (keys.length > MAX_ATTRIBUTES) throw invalid(`A message has ${keys.length} attributes, over the limit of ${MAX_ATTRIBUTES}.`);
    bytes += m.data.length + Buffer.byteLength(m.orderingKey ?? '');
    for (const k of keys) {
      const kb = Buffer.byteLength(k);
      const vb = Buffer.byteLength(m.attributes[k]!);
      if (kb === 0 || kb > MAX_ATTRIBUTE_KEY_BYTES) throw invalid(`Attribute key ${JSON.stringify(k.slice(0, 40))} is ${kb} bytes; keys must be 1 to ${MAX_ATTRIBUTE_KEY_BYTES} bytes.`);
      if (vb > MAX_ATTRIBUTE_VALUE_BYTES) throw invalid(`The value of attribute ${JSON.stringify(k)} is ${vb} bytes, over the limit of ${MAX_ATTRIBUTE_VALUE_BYTES}.`);
      bytes += kb + vb;
    }
  }
  if (bytes > MAX_REQUEST_BYTES) throw invalid(`Request payload size exceeds the limit: ${MAX_REQUEST_BYTES} bytes.`);
}

/** POSTs `body`; resolves with the status or why there is none. Aborts at `timeoutMs`. */
function post(endpoint: string, headers: OutgoingHttpHeaders, body: Buffer, timeoutMs: number, requests: Set<ClientRequest>): Promise<PushOutcome> {
  return new Promise((resolve) => {
    const url = new URL(endpoint);
    let done = false;
    const finish = (outcome: PushOutcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      requests.delete(req);
      resolve(outcome);
    };
    // a connection per push: no idle keep-alive socket to race a restarting instance, nothing left open by close()
    const req = (url.protocol === 'https:' ? https : http).request(url, { method: 'POST', headers, agent: false }, (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      res.on('end', () => finish({ status }));
      // the status counts even if the rest of the body is cut off
      res.on('close', () => finish({ status }));
    });
    req.on('information', (info) => {
      // 102 Processing is an acknowledgement for Pub/Sub: nothing more is waited for
      if (info.statusCode === 102) {
        finish({ status: 102 });
        req.destroy();
      }
    });
    req.on('error', (e: NodeJS.ErrnoException) => finish({ error: e.message || e.code || String(e) }));
    req.on('close', () => finish({ error: 'connection closed without an answer' }));
    const timer = setTimeout(() => {
      finish({ error: `no answer within the ack deadline (${timeoutMs} ms)`, timedOut: true });
      req.destroy();
    }, timeoutMs);
    requests.add(req);
    req.end(body);
  });
}
