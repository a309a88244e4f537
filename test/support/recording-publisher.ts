// A Publisher that keeps every message in an array (data copied through JSON,
// as a queue would carry it), so a test can deliver them to handlers itself.
import type { Delivery, Doc, Publisher } from '../../shared/pipeline/ports';

export interface PublishedMessage {
  id: string;
  topic: string;
  data: Doc;
  attributes: Record<string, string>;
}

export class RecordingPublisher implements Publisher {
  readonly messages: PublishedMessage[] = [];
  private next = 1;

  constructor(private readonly prefix = 'm') {}

  async publish(topic: string, data: Doc, attributes: Record<string, string> = {}): Promise<string> {
    const id = `${this.prefix}${this.next++}`;
    this.messages.push({ id, topic, data: JSON.parse(JSON.stringify(data)) as Doc, attributes: { ...attributes } });
    return id;
  }

  on(topic: string): PublishedMessage[] {
    return this.messages.filter((m) => m.topic === topic);
  }

  /** Removes and returns the messages of a topic published so far. */
  take(topic: string): PublishedMessage[] {
    const taken = this.on(topic);
    for (const m of taken) this.messages.splice(this.messages.indexOf(m), 1);
    return taken;
  }
}

/** A delivery of a published message (a fresh copy of its data each time, as a redelivery would be). */
export function deliveryOf(m: PublishedMessage, deliveryAttempt?: number): Delivery {
  return { messageId: m.id, data: JSON.parse(JSON.stringify(m.data)) as Doc, attributes: { ...m.attributes }, ...(deliveryAttempt === undefined ? {} : { deliveryAttempt }) };
}
