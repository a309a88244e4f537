// The Pub/Sub stand-in (test/support/pubsub-standin.ts) against the real
// @google-cloud/pubsub client and real HTTP endpoints: topics and publishing
// over gRPC (in-process client options and PUBSUB_EMULATOR_HOST in a child
// process), the push formats byte for byte, retries, the ack deadline,
// dead-lettering, round-robin, dead endpoints, both kinds of duplicates,
// idle()/close(), and the Functions Framework taking what is pushed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { PubSub } from '@google-cloud/pubsub';
import { cloudEvent, type CloudEvent } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { deliveryFromCloudEvent } from '../shared/pipeline/google/cloud-event';
import {
  CLOUD_EVENT_TYPE,
  DEAD_LETTER_DELIVERY_COUNT,
  DEAD_LETTER_SOURCE_SUBSCRIPTION,
  DEAD_LETTER_SOURCE_SUBSCRIPTION_PROJECT,
  DEAD_LETTER_SOURCE_TOPIC_PUBLISH_TIME,
  MAX_REQUEST_BYTES,
  PubSubStandInError,
  startPubSubStandIn,
  type PubSubStandIn,
} from './support/pubsub-standin';

const PROJECT = 'standin-test';
const ROOT = new URL('..', import.meta.url);

interface Received {
  headers: IncomingHttpHeaders;
  path: string;
  body: string;
  /** performance.now() when the request arrived, and when it ended (answered or aborted). */
  at: number;
  endAt?: number;
  aborted: boolean;
}

interface Endpoint {
  url: string;
  received: Received[];
  close(): Promise<void>;
}

/** An HTTP endpoint on 127.0.0.1: `answer` gives the status of the nth request (0-based), 'stall' to never answer, or a delay first. */
async function startEndpoint(answer: (n: number, r: Received) => number | 'stall' | { status: number; delayMs: number } = () => 200): Promise<Endpoint> {
  const received: Received[] = [];
  const server = createServer((req, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    const r: Received = { headers: req.headers, path: req.url ?? '', body: '', at: performance.now(), aborted: false };
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      r.body = Buffer.concat(chunks).toString('utf8');
      const n = received.push(r) - 1;
      const a = answer(n, r);
      res.on('close', () => {
        r.endAt = performance.now();
        r.aborted = !res.writableFinished;
      });
      if (a === 'stall') return;
      const { status, delayMs } = typeof a === 'number' ? { status: a, delayMs: 0 } : a;
      setTimeout(() => res.writeHead(status).end(), delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A URL on which nothing listens (connection refused). */
async function deadUrl(): Promise<string> {
  const e = await startEndpoint();
  await e.close();
  return e.url;
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const start = performance.now();
  while (!condition()) {
    if (performance.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** A stand-in with topics made, a client on it, and cleanup of everything made by the test. */
async function setup(topics: string[] = ['work']): Promise<{ ps: PubSubStandIn; client: PubSub; cleanup: (...more: Endpoint[]) => Promise<void> }> {
  const ps = await startPubSubStandIn({ projectId: PROJECT });
  for (const t of topics) await ps.createTopic(t);
  const client = new PubSub(ps.clientConfig());
  return {
    ps,
    client,
    cleanup: async (...endpoints) => {
      await client.close();
      await ps.close();
      await Promise.all(endpoints.map((e) => e.close()));
    },
  };
}

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
const grpcError = (code: number, details?: string | RegExp) => (e: unknown) => {
  const err = e as { code?: number; details?: string };
  assert.equal(err.code, code, String(e));
  if (typeof details === 'string') assert.equal(err.details, details);
  else if (details) assert.match(err.details ?? '', details);
  return true;
};

test('gRPC through the real client (in-process clientConfig): topics, publishing, errors as Pub/Sub gives them', async () => {
  const { ps, client, cleanup } = await setup([]);
  try {
    assert.deepEqual({ ...ps.clientConfig(), credentials: undefined }, { projectId: PROJECT, apiEndpoint: ps.host, emulatorMode: true, credentials: undefined });
    assert.match(ps.host, /^127\.0\.0\.1:\d+$/);
    const [jobs] = await client.createTopic('jobs');
    assert.equal(jobs.name, `projects/${PROJECT}/topics/jobs`);
    await assert.rejects(client.createTopic('jobs'), grpcError(6, 'Resource already exists in the project (resource=jobs).'));
    await assert.rejects(client.createTopic('goog-reserved'), grpcError(3, `Invalid [topics] name: (name=projects/${PROJECT}/topics/goog-reserved)`));
    await ps.createTopic('shards');
    await ps.createTopic(`projects/other-project/topics/elsewhere`);
    assert.deepEqual((await client.topic('jobs').exists())[0], true);
    assert.deepEqual((await client.topic('nope').exists())[0], false);
    // ListTopics: every topic of the project, or a page at a time (a page size alone turns the client's auto-paging off)
    const [topics] = await client.getTopics();
    assert.deepEqual(topics.map((t) => t.name), [`projects/${PROJECT}/topics/jobs`, `projects/${PROJECT}/topics/shards`]);
    const [page1, next] = (await client.getTopics({ pageSize: 1 })) as unknown as [{ name: string }[], { pageToken?: string } | null];
    assert.deepEqual([page1.map((t) => t.name), next?.pageToken], [[`projects/${PROJECT}/topics/jobs`], `projects/${PROJECT}/topics/jobs`]);
    const [page2, end] = (await client.getTopics({ ...next, autoPaginate: false })) as unknown as [{ name: string }[], unknown];
    assert.deepEqual([page2.map((t) => t.name), end], [[`projects/${PROJECT}/topics/shards`], null]);
    assert.equal(ps.rpcLog.filter((r) => r.method === 'ListTopics').length, 3);

    // one message with attributes, one JSON message; a fresh client publishes without asking for the topic first
    const calls = ps.rpcLog.length;
    const fresh = new PubSub(ps.clientConfig());
    const id1 = await fresh.topic('jobs').publishMessage({ data: Buffer.from('héllo ✓'), attributes: { jobId: 'j1', kind: 'job' } });
    const id2 = await fresh.topic('jobs').publishMessage({ json: { dataset: 'gs://b/x/', shardMB: 0.8 } });
    await fresh.close();
    assert.deepEqual(ps.rpcLog.slice(calls).map((r) => [r.method, r.resource, r.code]), [
      ['Publish', `projects/${PROJECT}/topics/jobs`, 0],
      ['Publish', `projects/${PROJECT}/topics/jobs`, 0],
    ]);
    // a batch: five messages, one Publish request, ids in order
    const batched = client.topic('shards', { batching: { maxMessages: 5, maxMilliseconds: 1000 } });
    const ids = await Promise.all([0, 1, 2, 3, 4].map((i) => batched.publishMessage({ json: { shard: i }, attributes: { n: String(i) } })));
    const publishes = ps.rpcLog.filter((r) => r.method === 'Publish' && r.resource?.endsWith('/shards'));
    assert.equal(publishes.length, 1);
    assert.equal(new Set([id1, id2, ...ids]).size, 7);
    for (const id of [id1, id2, ...ids]) assert.match(id, /^\d+$/);

    const onJobs = ps.published('jobs');
    assert.deepEqual(onJobs.map((m) => [m.messageId, m.data.toString('utf8'), m.attributes]), [
      [id1, 'héllo ✓', { jobId: 'j1', kind: 'job' }],
      [id2, '{"dataset":"gs://b/x/","shardMB":0.8}', {}],
    ]);
    assert.ok(Math.abs(Date.parse(onJobs[0]!.publishTime) - Date.now()) < 10_000);
    const onShards = ps.published(`projects/${PROJECT}/topics/shards`);
    assert.deepEqual(onShards.map((m) => m.messageId), ids);
    assert.deepEqual(onShards.map((m) => JSON.parse(m.data.toString())), [0, 1, 2, 3, 4].map((shard) => ({ shard })));
    // one request, one publish time
    assert.equal(new Set(onShards.map((m) => m.publishTime)).size, 1);

    // errors: unknown topic, empty message, too many attributes, too large, not implemented
    await assert.rejects(client.topic('nope').publishMessage({ json: { a: 1 } }), grpcError(5, 'Resource not found (resource=nope).'));
    await assert.rejects(client.topic('jobs').publishMessage({ data: Buffer.alloc(0) }), grpcError(3, /is empty/));
    const attributes = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`a${i}`, 'v']));
    await assert.rejects(client.topic('jobs').publishMessage({ data: Buffer.from('x'), attributes }), grpcError(3, /101 attributes, over the limit of 100/));
    // an attribute-only message is fine, and 100 attributes are
    await client.topic('jobs').publishMessage({ attributes: { only: 'attributes' } });
    delete attributes.a100;
    await client.topic('jobs').publishMessage({ data: Buffer.from('x'), attributes });
    await assert.rejects(client.topic('jobs').publishMessage({ data: Buffer.alloc(MAX_REQUEST_BYTES + 1) }), grpcError(3, `Request payload size exceeds the limit: ${MAX_REQUEST_BYTES} bytes.`));
    await assert.rejects(client.topic('jobs').delete(), grpcError(12, /does not implement the method DeleteTopic/));
    assert.equal(ps.published('jobs').length, 4);

    // the programmatic side gives the same errors, typed
    assert.throws(() => ps.published('nope'), (e: unknown) => e instanceof PubSubStandInError && e.code === 5 && e.message === 'Resource not found (resource=nope).');
    assert.throws(() => ps.publish('jobs', ''), (e: unknown) => e instanceof PubSubStandInError && e.code === 3);
    await assert.rejects(ps.createTopic('jobs'), (e: unknown) => e instanceof PubSubStandInError && e.code === 6);
  } finally {
    await cleanup();
  }
});

test('PUBSUB_EMULATOR_HOST in a child process: the client there publishes to the stand-in', async () => {
  const ps = await startPubSubStandIn({ projectId: PROJECT });
  try {
    await ps.createTopic('jobs');
    const script = `
      const { PubSub } = require('@google-cloud/pubsub');
      (async () => {
        const client = new PubSub();
        const id = await client.topic('jobs').publishMessage({ json: { from: 'child' }, attributes: { via: 'env' } });
        const [missing] = await client.topic('nope').exists();
        console.log(JSON.stringify({ id, missing, isEmulator: client.isEmulator, projectId: client.projectId }));
        await client.close();
      })().catch((e) => { console.error(e); process.exit(1); });`;
    const env = { PATH: process.env.PATH ?? '', PUBSUB_EMULATOR_HOST: ps.host, GOOGLE_CLOUD_PROJECT: PROJECT, METADATA_SERVER_DETECTION: 'none' };
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { cwd: ROOT, env, timeout: 8000 });
    const out = JSON.parse(stdout) as { id: string; missing: boolean; isEmulator: boolean; projectId: string };
    assert.deepEqual(out, { id: out.id, missing: false, isEmulator: true, projectId: PROJECT });
    const [m] = ps.published('jobs');
    assert.deepEqual([m!.messageId, m!.data.toString(), m!.attributes], [out.id, '{"from":"child"}', { via: 'env' }]);
  } finally {
    await ps.close();
  }
});

test('CloudEvent push (Eventarc): binary content mode headers and MessagePublishedData body, byte for byte', async () => {
  const { ps, client, cleanup } = await setup(['work']);
  const fn = await startEndpoint(() => 204);
  try {
    const name = ps.subscribe('work', 'eventarc-work', { endpoints: [fn.url], concurrency: 1 });
    assert.equal(name, `projects/${PROJECT}/subscriptions/eventarc-work`);
    const data = Buffer.from([0, 1, 2, 250, 251, 252, 0xe2, 0x9c, 0x93]);
    const id1 = await client.topic('work').publishMessage({ data, attributes: { jobId: 'j1', 'x-y': 'ü' } });
    const id2 = await client.topic('work').publishMessage({ json: { kind: 'shard' } });
    const id3 = await client.topic('work').publishMessage({ attributes: { only: 'a' } });
    await ps.idle(2000);
    const [p1, p2, p3] = ps.published('work');
    assert.equal(fn.received.length, 3);
    const [r1, r2, r3] = fn.received;
    assert.equal(r1!.path, '/');
    const { host, connection, ...headers } = r1!.headers;
    assert.equal(host, new URL(fn.url).host);
    assert.equal(connection, 'close');
    const body1 = JSON.stringify({
      message: { attributes: { jobId: 'j1', 'x-y': 'ü' }, data: b64(data), messageId: id1, message_id: id1, publishTime: p1!.publishTime, publish_time: p1!.publishTime },
      subscription: `projects/${PROJECT}/subscriptions/eventarc-work`,
    });
    assert.deepEqual(headers, {
      'ce-id': id1,
      'ce-source': `//pubsub.googleapis.com/projects/${PROJECT}/topics/work`,
      'ce-specversion': '1.0',
      'ce-type': 'google.cloud.pubsub.topic.v1.messagePublished',
      'ce-time': p1!.publishTime,
      'content-type': 'application/json; charset=utf-8',
      'user-agent': 'APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)',
      'content-length': String(Buffer.byteLength(body1)),
    });
    assert.equal(CLOUD_EVENT_TYPE, headers['ce-type']);
    assert.equal(r1!.body, body1);
    assert.deepEqual(Buffer.from(JSON.parse(r1!.body).message.data, 'base64'), data);
    // no attributes: left out; no data: left out
    assert.equal(r2!.body, JSON.stringify({ message: { data: b64('{"kind":"shard"}'), messageId: id2, message_id: id2, publishTime: p2!.publishTime, publish_time: p2!.publishTime }, subscription: name }));
    assert.equal(r3!.body, JSON.stringify({ message: { attributes: { only: 'a' }, messageId: id3, message_id: id3, publishTime: p3!.publishTime, publish_time: p3!.publishTime }, subscription: name }));
    assert.equal(r3!.headers['ce-id'], id3);
    // what the functions make of it
    assert.deepEqual(deliveryFromCloudEvent({ id: id2, data: JSON.parse(r2!.body) }), { messageId: id2, data: { kind: 'shard' }, attributes: {}, publishTime: p2!.publishTime });
    assert.deepEqual(ps.stats()['eventarc-work'], {
      published: 3, delivered: 3, acked: 3, nacked: 0, timedOut: 0, redelivered: 0, duplicated: 0, duplicatedConcurrent: 0, duplicatedAfterAck: 0, deadLettered: 0, inFlight: 0, pending: 0, backingOff: 0,
    });
    assert.deepEqual(ps.pushLog.map((p) => [p.subscription, p.messageId, p.attempt, p.kind, p.endpoint, p.status, p.acked, p.error]), [
      ['eventarc-work', id1, 1, 'delivery', fn.url, 204, true, undefined],
      ['eventarc-work', id2, 1, 'delivery', fn.url, 204, true, undefined],
      ['eventarc-work', id3, 1, 'delivery', fn.url, 204, true, undefined],
    ]);
  } finally {
    await cleanup(fn);
  }
});

test('plain push format: deliveryAttempt only with a dead-letter policy; every subscription of the topic gets each message', async () => {
  const { ps, client, cleanup } = await setup(['work', 'dead']);
  const a = await startEndpoint();
  const b = await startEndpoint();
  try {
    ps.subscribe('work', 'with-policy', { endpoints: [a.url], format: 'push', deadLetterTopic: 'dead' });
    ps.subscribe(`projects/${PROJECT}/topics/work`, `projects/${PROJECT}/subscriptions/no-policy`, { endpoints: [b.url], format: 'push' });
    const id = await client.topic('work').publishMessage({ json: { x: 1 }, attributes: { k: 'v' } });
    await ps.idle(2000);
    const [p] = ps.published('work');
    const message = { attributes: { k: 'v' }, data: b64('{"x":1}'), messageId: id, message_id: id, publishTime: p!.publishTime, publish_time: p!.publishTime };
    assert.equal(a.received[0]!.body, JSON.stringify({ message, subscription: `projects/${PROJECT}/subscriptions/with-policy`, deliveryAttempt: 1 }));
    assert.equal(b.received[0]!.body, JSON.stringify({ message, subscription: `projects/${PROJECT}/subscriptions/no-policy` }));
    for (const r of [a.received[0]!, b.received[0]!]) {
      assert.equal(r.headers['content-type'], 'application/json');
      assert.equal(Object.keys(r.headers).filter((h) => h.startsWith('ce-')).length, 0);
    }
    assert.deepEqual(deliveryFromCloudEvent({ data: JSON.parse(a.received[0]!.body) }), { messageId: id, data: { x: 1 }, attributes: { k: 'v' }, deliveryAttempt: 1, publishTime: p!.publishTime });
  } finally {
    await cleanup(a, b);
  }
});

test('a nack (500) is redelivered after exponential backoff, to the same message id, with the attempt growing', async () => {
  const { ps, client, cleanup } = await setup(['work', 'dead']);
  const fn = await startEndpoint((n) => (n < 3 ? 500 : 200));
  try {
    ps.subscribe('work', 'retried', { endpoints: [fn.url], format: 'push', deadLetterTopic: 'dead', maxDeliveryAttempts: 10, minBackoffMs: 25, maxBackoffMs: 60 });
    const id = await client.topic('work').publishMessage({ json: { n: 1 } });
    await ps.idle(3000);
    const bodies = fn.received.map((r) => JSON.parse(r.body) as { message: { messageId: string }; deliveryAttempt: number });
    assert.deepEqual(bodies.map((b) => [b.message.messageId, b.deliveryAttempt]), [[id, 1], [id, 2], [id, 3], [id, 4]]);
    // backoff 25, 50, then capped at 60 ms (a little under for timer granularity), never Pub/Sub's default 10 s
    const gaps = fn.received.slice(1).map((r, i) => r.at - fn.received[i]!.at);
    [25, 50, 60].forEach((min, i) => assert.ok(gaps[i]! >= min - 2 && gaps[i]! < min + 500, `gap ${i}: ${gaps[i]} ms, expected ≥ ${min}`));
    assert.deepEqual(ps.pushLog.map((p) => [p.attempt, p.status, p.acked]), [[1, 500, false], [2, 500, false], [3, 500, false], [4, 200, true]]);
    const s = ps.stats().retried!;
    assert.deepEqual([s.delivered, s.acked, s.nacked, s.redelivered, s.deadLettered, s.pending], [4, 1, 3, 3, 0, 0]);
    assert.equal(ps.published('dead').length, 0);
  } finally {
    await cleanup(fn);
  }
});

test('no answer within the ack deadline: the push is aborted (a nack) and the message redelivered', async () => {
  const { ps, client, cleanup } = await setup(['work']);
  const fn = await startEndpoint((n) => (n === 0 ? 'stall' : 200));
  try {
    ps.subscribe('work', 'slow', { endpoints: [fn.url], ackDeadlineSeconds: 0.15, minBackoffMs: 10, maxBackoffMs: 10 });
    const id = await client.topic('work').publishMessage({ json: { n: 1 } });
    await ps.idle(3000);
    assert.equal(fn.received.length, 2);
    const [first, second] = fn.received;
    // the endpoint saw the first request cut off at the deadline
    assert.equal(first!.aborted, true);
    const held = first!.endAt! - first!.at;
    assert.ok(held >= 140 && held < 600, `first push held ${held} ms`);
    assert.equal(second!.headers['ce-id'], id);
    assert.ok(second!.at >= first!.endAt! + 5, 'the redelivery waits for the backoff');
    const [p1, p2] = ps.pushLog;
    assert.match(p1!.error!, /no answer within the ack deadline \(150 ms\)/);
    assert.deepEqual([p1!.attempt, p1!.status, p1!.acked, p2!.attempt, p2!.status, p2!.acked], [1, undefined, false, 2, 200, true]);
    const s = ps.stats().slow!;
    assert.deepEqual([s.delivered, s.acked, s.nacked, s.timedOut, s.redelivered], [2, 1, 1, 1, 1]);
  } finally {
    await cleanup(fn);
  }
});

test('dead-lettering after maxDeliveryAttempts: a new message on the dead-letter topic, pushed by its own subscription, with the dead-letter attributes', async () => {
  const { ps, client, cleanup } = await setup(['work', 'dead']);
  const failing = await startEndpoint(() => 503);
  const dlq = await startEndpoint(() => 200);
  try {
    ps.subscribe('work', 'work-sub', { endpoints: [failing.url], format: 'push', deadLetterTopic: 'dead', maxDeliveryAttempts: 5, minBackoffMs: 2, maxBackoffMs: 8 });
    ps.subscribe('dead', 'dead-sub', { endpoints: [dlq.url] });
    const id = await client.topic('work').publishMessage({ json: { shard: 7 }, attributes: { jobId: 'j' } });
    await ps.idle(3000);
    const [original] = ps.published('work');
    assert.deepEqual(failing.received.map((r) => JSON.parse(r.body).deliveryAttempt), [1, 2, 3, 4, 5]);
    const dead = ps.published('dead');
    assert.equal(dead.length, 1);
    const d = dead[0]!;
    assert.notEqual(d.messageId, id);
    assert.deepEqual(d.data, original!.data);
    assert.deepEqual(d.attributes, {
      jobId: 'j',
      [DEAD_LETTER_DELIVERY_COUNT]: '5',
      [DEAD_LETTER_SOURCE_SUBSCRIPTION]: 'work-sub',
      [DEAD_LETTER_SOURCE_SUBSCRIPTION_PROJECT]: PROJECT,
      [DEAD_LETTER_SOURCE_TOPIC_PUBLISH_TIME]: original!.publishTime,
    });
    assert.deepEqual(Object.keys(d.attributes), ['jobId', 'CloudPubSubDeadLetterSourceDeliveryCount', 'CloudPubSubDeadLetterSourceSubscription', 'CloudPubSubDeadLetterSourceSubscriptionProject', 'CloudPubSubDeadLetterSourceTopicPublishTime']);
    assert.equal(dlq.received.length, 1);
    const r = dlq.received[0]!;
    assert.equal(r.headers['ce-id'], d.messageId);
    assert.equal(r.headers['ce-source'], `//pubsub.googleapis.com/projects/${PROJECT}/topics/dead`);
    assert.equal(r.body, JSON.stringify({ message: { attributes: d.attributes, data: b64('{"shard":7}'), messageId: d.messageId, message_id: d.messageId, publishTime: d.publishTime, publish_time: d.publishTime }, subscription: `projects/${PROJECT}/subscriptions/dead-sub` }));
    const stats = ps.stats();
    assert.deepEqual([stats['work-sub']!.delivered, stats['work-sub']!.nacked, stats['work-sub']!.acked, stats['work-sub']!.deadLettered, stats['work-sub']!.pending], [5, 5, 0, 1, 0]);
    assert.deepEqual([stats['dead-sub']!.published, stats['dead-sub']!.acked], [1, 1]);
    assert.deepEqual(Object.keys(stats).sort(), ['dead-sub', 'work-sub']);
  } finally {
    await cleanup(failing, dlq);
  }
});

test('round-robin over two endpoints; setEndpoints replaces them and the messages follow', async () => {
  const { ps, client, cleanup } = await setup(['work']);
  const a = await startEndpoint();
  const b = await startEndpoint();
  const c = await startEndpoint();
  try {
    ps.subscribe('work', 'spread', { endpoints: [a.url, b.url], concurrency: 1 });
    const topic = client.topic('work', { batching: { maxMessages: 4, maxMilliseconds: 1000 } });
    const ids = await Promise.all([1, 2, 3, 4].map((n) => topic.publishMessage({ json: { n } })));
    await ps.idle(2000);
    assert.deepEqual(a.received.map((r) => r.headers['ce-id']), [ids[0], ids[2]]);
    assert.deepEqual(b.received.map((r) => r.headers['ce-id']), [ids[1], ids[3]]);
    ps.setEndpoints('spread', [c.url]);
    const id5 = await client.topic('work').publishMessage({ json: { n: 5 } });
    await ps.idle(2000);
    assert.deepEqual(c.received.map((r) => r.headers['ce-id']), [id5]);
    assert.equal(a.received.length + b.received.length, 4);
    assert.throws(() => ps.setEndpoints('nope', [c.url]), /Resource not found \(resource=nope\)/);
    assert.throws(() => ps.setEndpoints('spread', []), /at least one endpoint/);
  } finally {
    await cleanup(a, b, c);
  }
});

test('a dead endpoint (connection refused) is a nack: retried on the next endpoint, or after setEndpoints', async () => {
  const { ps, client, cleanup } = await setup(['work', 'other']);
  const live = await startEndpoint();
  const dead = await deadUrl();
  try {
    ps.subscribe('work', 'half-dead', { endpoints: [dead, live.url], concurrency: 1, minBackoffMs: 5, maxBackoffMs: 5 });
    const id = await client.topic('work').publishMessage({ json: { n: 1 } });
    await ps.idle(2000);
    assert.deepEqual(ps.pushLog.map((p) => [p.messageId, p.attempt, p.endpoint, p.status, p.acked]), [[id, 1, dead, undefined, false], [id, 2, live.url, 200, true]]);
    assert.match(ps.pushLog[0]!.error!, /ECONNREFUSED/);

    // the only instance is down until it is restarted elsewhere
    ps.subscribe('other', 'all-dead', { endpoints: [dead], minBackoffMs: 20, maxBackoffMs: 20 });
    const id2 = await client.topic('other').publishMessage({ json: { n: 2 } });
    await waitFor(() => ps.pushLog.filter((p) => p.subscription === 'all-dead' && p.error).length >= 2, 'two refused pushes');
    ps.setEndpoints('all-dead', [live.url]);
    await ps.idle(2000);
    const log = ps.pushLog.filter((p) => p.subscription === 'all-dead');
    assert.ok(log.slice(0, -1).every((p) => p.endpoint === dead && /ECONNREFUSED/.test(p.error!)));
    assert.deepEqual([log.at(-1)!.endpoint, log.at(-1)!.acked, log.at(-1)!.attempt], [live.url, true, log.length]);
    assert.equal(live.received.at(-1)!.headers['ce-id'], id2);
    assert.equal(ps.stats()['all-dead']!.nacked, log.length - 1);
  } finally {
    await cleanup(live);
  }
});

test('duplicates, concurrent: one lease pushed twice at the same time, to both endpoints', async () => {
  const { ps, client, cleanup } = await setup(['work']);
  const a = await startEndpoint(() => ({ status: 200, delayMs: 60 }));
  const b = await startEndpoint(() => ({ status: 200, delayMs: 60 }));
  try {
    ps.subscribe('work', 'twice', { endpoints: [a.url, b.url], concurrency: 1 });
    ps.setFaults({ duplicateRate: 1, duplicateMode: 'concurrent' });
    const id = await client.topic('work').publishMessage({ json: { n: 1 } });
    await ps.idle(2000);
    ps.setFaults({ duplicateRate: 0 });
    const [ra, rb] = [a.received[0]!, b.received[0]!];
    assert.equal(ra.headers['ce-id'], id);
    assert.equal(rb.headers['ce-id'], id);
    assert.equal(ra.body, rb.body);
    assert.ok(ra.at < rb.endAt! && rb.at < ra.endAt!, 'the two pushes overlap');
    assert.deepEqual(ps.pushLog.map((p) => [p.kind, p.attempt, p.endpoint]), [['delivery', 1, a.url], ['duplicate', 1, b.url]]);
    const s = ps.stats().twice!;
    assert.deepEqual([s.delivered, s.acked, s.duplicated, s.duplicatedConcurrent, s.duplicatedAfterAck, s.redelivered], [2, 1, 1, 1, 0, 0]);
    // off again: one push per message; a custom random decides
    await client.topic('work').publishMessage({ json: { n: 2 } });
    ps.setFaults({ duplicateRate: 0.5, random: () => 0.7 });
    await client.topic('work').publishMessage({ json: { n: 3 } });
    await ps.idle(2000);
    assert.equal(ps.stats().twice!.delivered, 4);
  } finally {
    await cleanup(a, b);
  }
});

test('duplicates, after the ack: the acknowledged message is pushed once more, same id and body', async () => {
  const { ps, client, cleanup } = await setup(['work', 'dead']);
  const fn = await startEndpoint();
  const counted = await startEndpoint();
  try {
    ps.subscribe('work', 'again', { endpoints: [fn.url] });
    ps.subscribe('work', 'again-counted', { endpoints: [counted.url], format: 'push', deadLetterTopic: 'dead' });
    ps.setFaults({ duplicateRate: 1, duplicateMode: 'after-ack' });
    const id = await client.topic('work').publishMessage({ json: { n: 1 } });
    await ps.idle(2000);
    ps.setFaults({});
    assert.equal(fn.received.length, 2);
    const [first, second] = fn.received;
    assert.equal(second!.headers['ce-id'], id);
    assert.equal(second!.body, first!.body);
    assert.ok(second!.at >= first!.endAt!, 'pushed again after the first was answered');
    assert.deepEqual(counted.received.map((r) => JSON.parse(r.body).deliveryAttempt), [1, 2]);
    assert.deepEqual(ps.pushLog.filter((p) => p.subscription === 'again').map((p) => [p.kind, p.acked]), [['delivery', true], ['after-ack', true]]);
    const s = ps.stats().again!;
    assert.deepEqual([s.delivered, s.acked, s.duplicated, s.duplicatedConcurrent, s.duplicatedAfterAck, s.inFlight], [2, 1, 1, 0, 1, 0]);
    await client.topic('work').publishMessage({ json: { n: 2 } });
    await ps.idle(2000);
    assert.equal(fn.received.length, 3);
  } finally {
    await cleanup(fn, counted);
  }
});

test('idle(timeout) names what is still busy; close() aborts pushes under way and stops the server', async () => {
  const { ps, client, cleanup } = await setup(['work']);
  const fn = await startEndpoint(() => 'stall');
  try {
    ps.subscribe('work', 'stuck', { endpoints: [fn.url], ackDeadlineSeconds: 30 });
    await client.topic('work').publishMessage({ json: { n: 1 } });
    await assert.rejects(ps.idle(50), /not idle after 50 ms: stuck: 0 pending \(0 backing off\), 1 in flight/);
    await waitFor(() => fn.received.length === 1, 'the push');
    await client.close();
    const t0 = performance.now();
    await ps.close();
    assert.ok(performance.now() - t0 < 1000);
    await waitFor(() => fn.received[0]!.endAt !== undefined, 'the push to be cut off');
    assert.equal(fn.received[0]!.aborted, true);
    await assert.rejects(ps.idle(), /closed/);
    assert.throws(() => ps.publish('work', 'x'), (e: unknown) => e instanceof PubSubStandInError && e.code === 14);
  } finally {
    await cleanup(fn);
  }
});

test('the Functions Framework takes both formats: a cloudEvent function gets the message (and loses deliveryAttempt in push format)', async () => {
  const events: CloudEvent<unknown>[] = [];
  cloudEvent('standinProbe', (event: CloudEvent<unknown>) => {
    events.push(event);
  });
  const server = getTestServer('standinProbe');
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { ps, client, cleanup } = await setup(['work', 'dead']);
  try {
    ps.subscribe('work', 'as-eventarc', { endpoints: [url], concurrency: 1 });
    const id = await client.topic('work').publishMessage({ json: { shard: 3 }, attributes: { jobId: 'j' } });
    await ps.idle(3000);
    // a direct push subscription names the topic in the path, as the framework asks
    ps.subscribe('work', 'as-push', { endpoints: [`${url}/projects/${PROJECT}/topics/work`], format: 'push', deadLetterTopic: 'dead' });
    const id2 = await client.topic('work').publishMessage({ json: { shard: 4 } });
    await ps.idle(3000);
    const [p1, p2] = ps.published('work');
    assert.deepEqual(ps.pushLog.map((p) => [p.subscription, p.messageId, p.status]), [['as-eventarc', id, 204], ['as-eventarc', id2, 204], ['as-push', id2, 204]]);
    const [e1, e2, e3] = events;
    assert.deepEqual([e1!.id, e1!.type, e1!.source, e1!.specversion, e1!.time], [id, CLOUD_EVENT_TYPE, `//pubsub.googleapis.com/projects/${PROJECT}/topics/work`, '1.0', p1!.publishTime]);
    assert.deepEqual(e1!.data, {
      message: { attributes: { jobId: 'j' }, data: b64('{"shard":3}'), messageId: id, message_id: id, publishTime: p1!.publishTime, publish_time: p1!.publishTime },
      subscription: `projects/${PROJECT}/subscriptions/as-eventarc`,
    });
    assert.equal(e2!.id, id2);
    // push format: the framework rebuilds the event; the message survives, subscription and deliveryAttempt do not
    assert.deepEqual([e3!.id, e3!.type, e3!.source], [id2, CLOUD_EVENT_TYPE, `//pubsub.googleapis.com/projects/${PROJECT}/topics/work`]);
    const message = (e3!.data as { message: Record<string, unknown> }).message;
    assert.deepEqual([message.data, message.messageId, message.publishTime, message.attributes], [b64('{"shard":4}'), id2, p2!.publishTime, {}]);
    assert.equal((e3!.data as Record<string, unknown>).deliveryAttempt, undefined);
    assert.deepEqual(deliveryFromCloudEvent(e1!), { messageId: id, data: { shard: 3 }, attributes: { jobId: 'j' }, publishTime: p1!.publishTime });
    assert.deepEqual(deliveryFromCloudEvent(e3!), { messageId: id2, data: { shard: 4 }, attributes: {}, publishTime: p2!.publishTime });
  } finally {
    await cleanup();
    await new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  }
});
