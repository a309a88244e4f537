// The pieces between the Cloud Run functions and the pipeline that need no
// cloud to check: Pub/Sub CloudEvents → Delivery, and the environment →
// PipelineConfig. (The functions themselves run against local stand-ins of
// the Google services in the rehearsal.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deliveryFromCloudEvent, DeliveryFormatError } from '../shared/pipeline/google/cloud-event';
import { cloudObjectStore, configFromEnv, readOptionsFromEnv } from '../shared/pipeline/google/env';
import { DEFAULT_CONFIG } from '../shared/pipeline/config';
import type { ObjectStore } from '../shared/pipeline/ports';
import { RootError } from '../shared/root/errors';

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64');

test('an Eventarc Pub/Sub CloudEvent (MessagePublishedData) becomes a Delivery', () => {
  const d = deliveryFromCloudEvent({
    id: 'evt-1',
    data: { message: { data: b64({ kind: 'shard-done', v: 1, jobId: 'j', shard: 3 }), attributes: { jobId: 'j' }, messageId: '1234', publishTime: '2026-11-25T03:00:00Z' }, subscription: 'projects/p/subscriptions/s' },
  });
  assert.deepEqual(d, { messageId: '1234', data: { kind: 'shard-done', v: 1, jobId: 'j', shard: 3 }, attributes: { jobId: 'j' }, publishTime: '2026-11-25T03:00:00Z' });
});

test('a push body (snake_case ids, deliveryAttempt) and a JSON string as event data', () => {
  const d = deliveryFromCloudEvent({ id: 'e', data: JSON.stringify({ message: { data: b64({ a: 1 }), message_id: '77', publish_time: 't' }, deliveryAttempt: 4 }) });
  assert.equal(d.messageId, '77');
  assert.equal(d.deliveryAttempt, 4);
  assert.deepEqual(d.attributes, {});
  assert.deepEqual(d.data, { a: 1 });
  // without an id in the message, the CloudEvent's id (Eventarc sets it to the message id) is used
  assert.equal(deliveryFromCloudEvent({ id: 'from-event', data: { message: { data: b64({}) } } }).messageId, 'from-event');
});

test('events that can never succeed are DeliveryFormatErrors naming what is wrong', () => {
  assert.throws(() => deliveryFromCloudEvent({ id: 'x', data: {} }), (e: unknown) => e instanceof DeliveryFormatError && /carries no Pub\/Sub message/.test(e.message));
  assert.throws(() => deliveryFromCloudEvent({ data: { message: { data: b64({}) } } }), /without a message id/);
  assert.throws(() => deliveryFromCloudEvent({ id: 'x', data: { message: { data: b64('not json'), messageId: '9' } } }), /message 9: data is not a JSON object \("not json"\)/);
  assert.throws(() => deliveryFromCloudEvent({ id: 'x', data: { message: { data: b64([1, 2]), messageId: '9' } } }), DeliveryFormatError);
  assert.throws(() => deliveryFromCloudEvent({ id: 'x', data: { message: { messageId: '9' } } }), DeliveryFormatError);
});

test('configFromEnv: defaults, every override, and bad numbers refused with the variable named', () => {
  assert.deepEqual(configFromEnv({}), { ...DEFAULT_CONFIG, topics: { ...DEFAULT_CONFIG.topics } });
  const c = configFromEnv({
    PHYSLITE_JOBS_COLLECTION: 'jobs-test',
    PHYSLITE_STATUS_URL: 'https://status.example',
    PHYSLITE_SHARD_MB: '256',
    PHYSLITE_MAX_SHARDS: '1000',
    PHYSLITE_SHARD_DEADLINE_S: '300',
    PHYSLITE_MAX_SHARD_ATTEMPTS: '7',
    PHYSLITE_TOPIC_JOBS: 'j',
    PHYSLITE_TOPIC_SHARDS: 's',
    PHYSLITE_TOPIC_SHARD_DONE: 'd',
    PHYSLITE_TOPIC_DEAD_LETTERS: 'dl',
  });
  assert.equal(c.jobsCollection, 'jobs-test');
  assert.equal(c.statusBaseUrl, 'https://status.example');
  assert.equal(c.defaultShardBytes, 256 * 1024 * 1024);
  assert.equal(c.maxShards, 1000);
  assert.equal(c.shardDeadlineMs, 300_000);
  assert.equal(c.maxShardAttempts, 7);
  assert.deepEqual(c.topics, { jobs: 'j', shards: 's', shardDone: 'd', deadLetters: 'dl' });
  assert.throws(() => configFromEnv({ PHYSLITE_MAX_SHARDS: 'lots' }), /PHYSLITE_MAX_SHARDS must be a whole number from 1 to 1000000, got "lots"/);
  assert.throws(() => configFromEnv({ PHYSLITE_SHARD_MB: '-1' }), /PHYSLITE_SHARD_MB/);
});

test('readOptionsFromEnv: storage deadline and retries, zero retries allowed, nonsense refused', () => {
  assert.deepEqual(readOptionsFromEnv({}), {});
  assert.deepEqual(readOptionsFromEnv({ PHYSLITE_READ_TIMEOUT_S: '2.5', PHYSLITE_READ_RETRIES: '0' }), { timeoutMs: 2500, retries: 0 });
  assert.throws(() => readOptionsFromEnv({ PHYSLITE_READ_TIMEOUT_S: '0' }), /PHYSLITE_READ_TIMEOUT_S must be a number above 0 and at most 600, got "0"/);
  assert.throws(() => readOptionsFromEnv({ PHYSLITE_READ_RETRIES: '-1' }), /PHYSLITE_READ_RETRIES must be a whole number from 0 to 20, got "-1"/);
  assert.throws(() => readOptionsFromEnv({ PHYSLITE_READ_RETRIES: '1.5' }), /PHYSLITE_READ_RETRIES must be a whole number/);
});

test('the cloud object store refuses local paths and passes gs:// and https:// through', async () => {
  const seen: string[] = [];
  const inner: ObjectStore = {
    list: async (p) => (seen.push(p), []),
    stat: async (u) => (seen.push(u), { url: u, size: 1 }),
    readText: async (u) => (seen.push(u), ''),
    open: async () => {
      throw new Error('not used');
    },
  };
  const store = cloudObjectStore(inner);
  await store.list('gs://b/p/', 10);
  await store.stat('https://h/f.root');
  for (const local of ['/data/f.root', 'file:///data/f.root', 'relative/dir/']) {
    await assert.rejects(store.stat(local), (e: unknown) => e instanceof RootError && e.code === 'BAD_ARGUMENT' && /gs:\/\/ and https:\/\/ objects only/.test(e.message));
  }
  assert.deepEqual(seen, ['gs://b/p/', 'https://h/f.root']);
});
