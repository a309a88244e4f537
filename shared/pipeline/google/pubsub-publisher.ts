// Publisher over Cloud Pub/Sub (@google-cloud/pubsub, imported lazily on the
// first publish). One Topic object per topic name is kept, so its batcher
// collects messages across calls: the orchestrator publishes thousands of
// small shard messages, which go out in batches of up to `maxMessages`, at
// most `maxMilliseconds` after the first message of a batch was queued.
//
// `topic` is a short name (resolved in the client's project) or a full
// `projects/P/topics/T`. Errors of the library are thrown as they come.

import type { BatchPublishOptions, ClientConfig, PubSub, Topic } from '@google-cloud/pubsub';
import type { Doc, Publisher } from '../ports';

export interface PubSubPublisherOptions {
  /** A configured client to use; otherwise one is made from `clientOptions` on first use. */
  pubsub?: PubSub;
  /** Options of the client made here, e.g. { projectId, apiEndpoint }. */
  clientOptions?: ClientConfig;
  /** Batching of each topic's publisher (default DEFAULT_BATCHING). */
  batching?: BatchPublishOptions;
  /**
   * How long publish() waits for the service to accept a message (default 30 s). The client
   * itself retries an unreachable service for up to 10 minutes, longer than a request to
   * the orchestrator may take: past this deadline publish() fails and the caller answers 503.
   */
  publishTimeoutMs?: number;
}

export const DEFAULT_PUBLISH_TIMEOUT_MS = 30_000;

/** Many small messages, sent quickly: up to 500 per request, 10 ms of buffering at most. */
export const DEFAULT_BATCHING: Readonly<BatchPublishOptions> = Object.freeze({ maxMessages: 500, maxMilliseconds: 10 });

const SHORT_NAME = /^[A-Za-z][A-Za-z0-9._~%+-]{2,254}$/;
const FULL_NAME = /^projects\/[^/]+\/topics\/[A-Za-z][A-Za-z0-9._~%+-]{2,254}$/;

export class PubSubPublisher implements Publisher {
  private readonly options: PubSubPublisherOptions;
  private client: Promise<PubSub> | undefined;
  private readonly topics = new Map<string, Topic>();

  constructor(options: PubSubPublisherOptions = {}) {
    this.options = options;
  }

  async publish(topic: string, data: Doc, attributes: Record<string, string> = {}): Promise<string> {
    const t = await this.topic(topic);
    const ms = this.options.publishTimeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Pub/Sub did not accept the message on ${topic} within ${ms / 1000} s (service unreachable or refusing)`)), ms);
    });
    const sent = t.publishMessage({ json: data, attributes });
    sent.catch(() => undefined); // its own failure after the deadline has nobody to tell
    try {
      return await Promise.race([sent, expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends every message still buffered in the topics' batches. */
  async flush(): Promise<void> {
    await Promise.all([...this.topics.values()].map((t) => t.flush()));
  }

  /** Flushes, then closes the client if it was made here (an injected one is left open). Not usable afterwards. */
  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      this.topics.clear();
      const made = this.client;
      this.client = undefined;
      if (made) await made.then((c) => c.close(), () => undefined);
    }
  }

  private pubsub(): Promise<PubSub> {
    if (this.options.pubsub) return Promise.resolve(this.options.pubsub);
    if (!this.client) {
      const made = import('@google-cloud/pubsub').then(({ PubSub }) => new PubSub(this.options.clientOptions));
      made.catch(() => {
        if (this.client === made) this.client = undefined;
      });
      this.client = made;
    }
    return this.client;
  }

  private async topic(name: string): Promise<Topic> {
    const cached = this.topics.get(name);
    if (cached) return cached;
    if (typeof name !== 'string' || !(SHORT_NAME.test(name) || FULL_NAME.test(name))) {
      throw new Error(`not a Pub/Sub topic name: ${JSON.stringify(name)} (give a topic id or projects/PROJECT/topics/TOPIC)`);
    }
    const client = await this.pubsub();
    // Another call may have made it while the client was loading.
    let t = this.topics.get(name);
    if (!t) {
      t = client.topic(name, { batching: { ...DEFAULT_BATCHING, ...this.options.batching } });
      this.topics.set(name, t);
    }
    return t;
  }
}
