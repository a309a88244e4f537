// An in-process stand-in for Pub/Sub, with the delivery semantics the
// pipeline relies on: at-least-once delivery to every subscription of a topic,
// redelivery after a nack (with exponential backoff) or an expired ack
// deadline (while the first delivery may still be running), dead-lettering
// after too many attempts, and optional injected duplicates.
//
// A message is done once any of its deliveries acks it: a late ack or nack of
// a delivery that was superseded never resurrects or double-counts it.

import type { Delivery, DeliveryHandler, Doc, Publisher } from '../ports';

export interface LocalQueueOptions {
  /** Largest message, as bytes of its JSON. Default 512 KiB (the Eventarc event size limit). */
  maxMessageBytes?: number;
  /** Chaos: probability that a delivery is also made a second time, concurrently (Pub/Sub may deliver twice). */
  duplicateRate?: number;
  /** Source of randomness for duplicateRate (default Math.random), so tests can be reproducible. */
  random?: () => number;
}

export interface SubscribeOptions {
  /** A delivery not settled by then is redelivered, while the first may still run. Default 60 000. */
  ackDeadlineMs?: number;
  /** Backoff after the first nack; doubles with each failed attempt up to maxBackoffMs. Default 100. */
  minBackoffMs?: number;
  /** Default 2 000. */
  maxBackoffMs?: number;
  /** Failed attempts (nacks and expired deadlines) after which the message goes to deadLetterTopic. Needs deadLetterTopic. */
  maxDeliveryAttempts?: number;
  deadLetterTopic?: string;
  /** Deliveries holding a lease at once (a lease ends when the handler settles or its ack deadline passes). Default 1. */
  concurrency?: number;
}

/** Per subscription. Message counts (acked, deadLettered) count each message once; the rest count deliveries. */
export interface SubscriptionStats {
  /** Messages copied into this subscription. */
  published: number;
  /** Handler calls made, duplicates and redeliveries included. */
  delivered: number;
  /** Messages acknowledged (by whichever delivery acked first). */
  acked: number;
  /** Handler calls that threw or rejected. */
  nacked: number;
  /** Leases that expired before their handler settled. */
  redelivered: number;
  /** Injected duplicate deliveries. */
  duplicated: number;
  deadLettered: number;
  /** Handler calls still running (expired and duplicate ones included). */
  inFlight: number;
  /** Messages waiting for a delivery: ready, or backing off. */
  pending: number;
  /** Of the pending messages, those waiting for a backoff timer. */
  backingOff: number;
}

/** Attributes real Pub/Sub adds to a dead-lettered message. */
export const DEAD_LETTER_DELIVERY_COUNT = 'CloudPubSubDeadLetterSourceDeliveryCount';
export const DEAD_LETTER_SOURCE_SUBSCRIPTION = 'CloudPubSubDeadLetterSourceSubscription';

const DEFAULT_MAX_MESSAGE_BYTES = 512 * 1024;

interface StoredMessage {
  id: string;
  /** Serialised once at publish; each delivery parses its own copy. */
  json: string;
  attributes: Record<string, string>;
  publishTime: string;
}

/** One message in one subscription. */
interface Entry {
  message: StoredMessage;
  state: 'ready' | 'leased' | 'backoff' | 'done';
  /** Leases granted so far: the delivery attempt of the current one. */
  attempts: number;
  backoffTimer?: NodeJS.Timeout;
}

/** One handler call. Duplicates share the lease (attempt) of the delivery they copy. */
interface Running {
  entry: Entry;
  attempt: number;
  /** Holds a concurrency slot (and an ack deadline) until it settles or the deadline passes. */
  holdsLease: boolean;
  deadlineTimer?: NodeJS.Timeout;
}

interface Subscription {
  name: string;
  handler: DeliveryHandler;
  ackDeadlineMs: number;
  minBackoffMs: number;
  maxBackoffMs: number;
  maxDeliveryAttempts: number;
  deadLetterTopic?: string;
  concurrency: number;
  /** FIFO of ready entries with lazy deletion: an entry acked while queued stays until popped, then is skipped. */
  ready: Entry[];
  readyHead: number;
  leases: number;
  stats: SubscriptionStats;
}

export class LocalQueue implements Publisher {
  private readonly maxMessageBytes: number;
  private duplicateRate: number;
  private random: () => number;
  private readonly topics = new Map<string, Subscription[]>();
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private idleWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private nextId = 1;
  private closed = false;

  constructor(options: LocalQueueOptions = {}) {
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.duplicateRate = options.duplicateRate ?? 0;
    this.random = options.random ?? Math.random;
  }

  async publish(topic: string, data: Doc, attributes: Record<string, string> = {}): Promise<string> {
    if (this.closed) throw new Error(`LocalQueue is closed: cannot publish to ${topic}`);
    const json = JSON.stringify(data);
    if (json === undefined) throw new TypeError(`message for ${topic} is not JSON-serialisable`);
    const bytes = Buffer.byteLength(json, 'utf8');
    if (bytes > this.maxMessageBytes) {
      throw new Error(`message for ${topic} is ${bytes} bytes of JSON, over the ${this.maxMessageBytes}-byte limit`);
    }
    return this.enqueue(topic, json, { ...attributes });
  }

  /** Changes the chaos duplicate rate (and its randomness) for deliveries made from now on. */
  setDuplicateRate(rate: number, random: () => number = this.random): void {
    if (!(rate >= 0 && rate <= 1)) throw new RangeError(`duplicateRate must be in [0, 1], got ${rate}`);
    this.duplicateRate = rate;
    this.random = random;
  }

  /** Starts delivering the topic's messages published from now on (as a new Pub/Sub subscription would). Names are unique across topics. */
  subscribe(topic: string, name: string, handler: DeliveryHandler, options: SubscribeOptions = {}): void {
    if (this.closed) throw new Error('LocalQueue is closed');
    if (this.subscriptions.has(name)) throw new Error(`subscription ${name} already exists`);
    const concurrency = options.concurrency ?? 1;
    const maxDeliveryAttempts = options.maxDeliveryAttempts ?? Infinity;
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
    if (options.maxDeliveryAttempts !== undefined) {
      if (!Number.isInteger(maxDeliveryAttempts) || maxDeliveryAttempts < 1) throw new RangeError(`maxDeliveryAttempts must be a positive integer, got ${maxDeliveryAttempts}`);
      if (!options.deadLetterTopic) throw new Error(`subscription ${name}: maxDeliveryAttempts needs a deadLetterTopic`);
    }
    const sub: Subscription = {
      name,
      handler,
      ackDeadlineMs: options.ackDeadlineMs ?? 60_000,
      minBackoffMs: options.minBackoffMs ?? 100,
      maxBackoffMs: options.maxBackoffMs ?? 2_000,
      maxDeliveryAttempts,
      deadLetterTopic: options.deadLetterTopic,
      concurrency,
      ready: [],
      readyHead: 0,
      leases: 0,
      stats: { published: 0, delivered: 0, acked: 0, nacked: 0, redelivered: 0, duplicated: 0, deadLettered: 0, inFlight: 0, pending: 0, backingOff: 0 },
    };
    this.subscriptions.set(name, sub);
    const list = this.topics.get(topic);
    if (list) list.push(sub);
    else this.topics.set(topic, [sub]);
  }

  /**
   * Resolves once no subscription has a message ready, backing off or being
   * handled (expired and duplicate handler calls included). Rejects if the
   * queue is closed first, or is already closed.
   */
  idle(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('LocalQueue is closed'));
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve, reject) => this.idleWaiters.push({ resolve, reject }));
  }

  stats(): Record<string, SubscriptionStats> {
    const out: Record<string, SubscriptionStats> = {};
    for (const [name, sub] of this.subscriptions) out[name] = { ...sub.stats };
    return out;
  }

  /**
   * Stops everything: clears timers, makes no further deliveries, ignores the
   * outcome of handler calls still running, rejects publish() and rejects
   * pending idle() promises. Idempotent.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const sub of this.subscriptions.values()) {
      sub.ready = [];
      sub.readyHead = 0;
    }
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w.reject(new Error('LocalQueue closed before it became idle'));
  }

  // -------------------------------------------------------------------------

  private enqueue(topic: string, json: string, attributes: Record<string, string>): string {
    const message: StoredMessage = { id: String(this.nextId++), json, attributes, publishTime: new Date().toISOString() };
    const subs = this.topics.get(topic);
    if (!subs) return message.id; // no subscription: dropped, as Pub/Sub does
    for (const sub of subs) {
      sub.stats.published++;
      this.makeReady(sub, { message, state: 'ready', attempts: 0 });
      this.pump(sub);
    }
    return message.id;
  }

  private makeReady(sub: Subscription, entry: Entry): void {
    entry.state = 'ready';
    sub.ready.push(entry);
    sub.stats.pending++;
  }

  private nextReady(sub: Subscription): Entry | undefined {
    while (sub.readyHead < sub.ready.length) {
      const entry = sub.ready[sub.readyHead++];
      if (entry.state === 'ready') {
        this.compact(sub);
        return entry;
      }
    }
    sub.ready = [];
    sub.readyHead = 0;
    return undefined;
  }

  /** Drops the consumed head of the FIFO now and then, so it does not grow without bound. */
  private compact(sub: Subscription): void {
    if (sub.readyHead > 1024 && sub.readyHead * 2 > sub.ready.length) {
      sub.ready = sub.ready.slice(sub.readyHead);
      sub.readyHead = 0;
    }
  }

  private pump(sub: Subscription): void {
    while (!this.closed && sub.leases < sub.concurrency) {
      const entry = this.nextReady(sub);
      if (!entry) return;
      sub.stats.pending--;
      entry.state = 'leased';
      entry.attempts++;
      sub.leases++;
      const run: Running = { entry, attempt: entry.attempts, holdsLease: true };
      run.deadlineTimer = this.timer(sub.ackDeadlineMs, () => this.expire(sub, run));
      this.deliver(sub, run);
      if (this.duplicateRate > 0 && this.random() < this.duplicateRate) {
        sub.stats.duplicated++;
        this.deliver(sub, { entry, attempt: entry.attempts, holdsLease: false });
      }
    }
  }

  private deliver(sub: Subscription, run: Running): void {
    const { message } = run.entry;
    const delivery: Delivery = {
      messageId: message.id,
      data: JSON.parse(message.json) as Doc,
      attributes: { ...message.attributes },
      deliveryAttempt: run.attempt,
      publishTime: message.publishTime,
    };
    // a duplicate is made without a lease of its own (the original holds it)
    const duplicate = !run.holdsLease;
    sub.stats.delivered++;
    sub.stats.inFlight++;
    // Called from a promise job: never re-entrantly from publish(), and a synchronous throw is a nack.
    // A delivery still queued when close() runs is not made.
    Promise.resolve(delivery)
      .then((d) => (this.closed ? undefined : sub.handler(d, { duplicate })))
      .then(
        () => this.settle(sub, run, true),
        () => this.settle(sub, run, false),
      );
  }

  private settle(sub: Subscription, run: Running, acked: boolean): void {
    sub.stats.inFlight--;
    if (run.holdsLease) this.releaseLease(sub, run);
    if (this.closed) return;
    const { entry } = run;
    if (acked) {
      if (entry.state !== 'done') {
        this.finish(sub, entry);
        sub.stats.acked++;
      }
    } else {
      sub.stats.nacked++;
      // Only the current lease's outcome counts: a superseded delivery's nack changes nothing.
      if (entry.state === 'leased' && entry.attempts === run.attempt) this.failAttempt(sub, entry, true);
    }
    this.pump(sub);
    this.checkIdle();
  }

  private expire(sub: Subscription, run: Running): void {
    run.deadlineTimer = undefined;
    this.releaseLease(sub, run);
    const { entry } = run;
    if (entry.state === 'leased' && entry.attempts === run.attempt) {
      sub.stats.redelivered++;
      this.failAttempt(sub, entry, false);
    }
    this.pump(sub);
    this.checkIdle();
  }

  private releaseLease(sub: Subscription, run: Running): void {
    run.holdsLease = false;
    sub.leases--;
    if (run.deadlineTimer) {
      clearTimeout(run.deadlineTimer);
      this.timers.delete(run.deadlineTimer);
      run.deadlineTimer = undefined;
    }
  }

  /** The current lease failed (nack or expired deadline): dead-letter, back off, or make ready again. */
  private failAttempt(sub: Subscription, entry: Entry, backOff: boolean): void {
    if (entry.attempts >= sub.maxDeliveryAttempts) {
      entry.state = 'done';
      sub.stats.deadLettered++;
      const attributes = {
        ...entry.message.attributes,
        [DEAD_LETTER_DELIVERY_COUNT]: String(entry.attempts),
        [DEAD_LETTER_SOURCE_SUBSCRIPTION]: sub.name,
      };
      this.enqueue(sub.deadLetterTopic!, entry.message.json, attributes);
      return;
    }
    if (!backOff) {
      // An expired lease is redelivered at once: the point is to run it again while the first may hang.
      this.makeReady(sub, entry);
      return;
    }
    const delay = Math.min(sub.maxBackoffMs, sub.minBackoffMs * 2 ** (entry.attempts - 1));
    entry.state = 'backoff';
    sub.stats.pending++;
    sub.stats.backingOff++;
    entry.backoffTimer = this.timer(delay, () => {
      entry.backoffTimer = undefined;
      sub.stats.pending--;
      sub.stats.backingOff--;
      this.makeReady(sub, entry);
      this.pump(sub);
    });
  }

  /** Marks a message done, taking it out of the ready FIFO or its backoff. */
  private finish(sub: Subscription, entry: Entry): void {
    if (entry.state === 'ready') sub.stats.pending--;
    else if (entry.state === 'backoff') {
      sub.stats.pending--;
      sub.stats.backingOff--;
      if (entry.backoffTimer) {
        clearTimeout(entry.backoffTimer);
        this.timers.delete(entry.backoffTimer);
        entry.backoffTimer = undefined;
      }
    }
    entry.state = 'done';
  }

  private timer(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.closed) fn();
    }, ms);
    this.timers.add(t);
    return t;
  }

  private isIdle(): boolean {
    for (const sub of this.subscriptions.values()) {
      if (sub.stats.pending > 0 || sub.stats.inFlight > 0) return false;
    }
    return true;
  }

  private checkIdle(): void {
    if (this.idleWaiters.length === 0 || !this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w.resolve();
  }
}
