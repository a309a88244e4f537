// Pub/Sub deliveries as the functions receive them, turned into a Delivery.
//
// Eventarc sends a CloudEvent of type google.cloud.pubsub.topic.v1.messagePublished
// whose data is MessagePublishedData: { message: { data (base64), attributes,
// messageId, publishTime }, subscription }. A push subscription aimed straight
// at the function sends the same message in a plain push body, which the
// Functions Framework also hands over as a CloudEvent; `deliveryAttempt` is
// there when the subscription has a dead-letter policy.

import type { Delivery, Doc } from '../ports';

export class DeliveryFormatError extends Error {
  override readonly name = 'DeliveryFormatError';
}

interface PubSubMessageJson {
  data?: string;
  attributes?: Record<string, string>;
  messageId?: string;
  message_id?: string;
  publishTime?: string;
  publish_time?: string;
}

/** The Delivery inside a Pub/Sub CloudEvent; DeliveryFormatError if it is not one or its data is not a JSON object. */
export function deliveryFromCloudEvent(event: { id?: string; data?: unknown }): Delivery {
  const data = (typeof event.data === 'string' ? safeParse(event.data) : event.data) as { message?: PubSubMessageJson; deliveryAttempt?: number } | undefined;
  const message = data?.message;
  if (!message || typeof message !== 'object') throw new DeliveryFormatError(`event ${event.id ?? '?'} carries no Pub/Sub message`);
  const messageId = message.messageId ?? message.message_id ?? event.id;
  if (typeof messageId !== 'string' || messageId === '') throw new DeliveryFormatError('Pub/Sub message without a message id');
  const text = typeof message.data === 'string' ? Buffer.from(message.data, 'base64').toString('utf8') : '';
  const parsed = safeParse(text);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new DeliveryFormatError(`message ${messageId}: data is not a JSON object (${JSON.stringify(text.slice(0, 200))})`);
  }
  const delivery: Delivery = { messageId, data: parsed as Doc, attributes: { ...(message.attributes ?? {}) } };
  if (typeof data?.deliveryAttempt === 'number') delivery.deliveryAttempt = data.deliveryAttempt;
  const publishTime = message.publishTime ?? message.publish_time;
  if (publishTime) delivery.publishTime = publishTime;
  return delivery;
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
