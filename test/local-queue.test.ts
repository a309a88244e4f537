// The local Pub/Sub stand-in: delivery to every subscription, ack, nack with
// backoff, ack-deadline redelivery, dead-lettering, duplicates, idle(), close().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { LocalQueue, DEAD_LETTER_DELIVERY_COUNT, DEAD_LETTER_SOURCE_SUBSCRIPTION } from '../shared/pipeline/local/queue';
import type { Delivery } from '../shared/pipeline/ports';

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not reached in time');
    await sleep(2);
  }
}

test('each subscription gets its own copy; data is parsed afresh per delivery', async () => {
  const queue = new LocalQueue();
  const a: Delivery[] = [];
  const b: Delivery[] = [];
  queue.subscribe('t', 'sub-a', async (d) => {
    a.push(d);
    (d.data.list as number[]).push(99); // must not leak into the other copy
  });
  queue.subscribe('t', 'sub-b', async (d) => {
    b.push(d);
  });
  const payload = { kind: 'x', list: [1, 2] };
  const id1 = await queue.publish('t', payload, { k: 'v' });
  payload.list.push(3); // publish copied it
  const id2 = await queue.publish('t', { kind: 'y', list: [] });
  const dropped = await queue.publish('nobody-listens', { kind: 'z' });
  await queue.idle();

  assert.notEqual(id1, id2);
  assert.notEqual(id2, dropped);
  assert.deepEqual(
    b.map((d) => [d.messageId, d.data, d.attributes, d.deliveryAttempt]),
    [
      [id1, { kind: 'x', list: [1, 2] }, { k: 'v' }, 1],
      [id2, { kind: 'y', list: [] }, {}, 1],
    ],
  );
  assert.deepEqual(a.map((d) => d.messageId), [id1, id2]);
  assert.ok(!Number.isNaN(Date.parse(a[0].publishTime!)));
  const stats = queue.stats();
  assert.deepEqual(stats['sub-a'], { published: 2, delivered: 2, acked: 2, nacked: 0, redelivered: 0, duplicated: 0, deadLettered: 0, inFlight: 0, pending: 0, backingOff: 0 });
  assert.deepEqual(stats['sub-b'], stats['sub-a']);

  // A subscription sees only what is published after it exists.
  const late: string[] = [];
  queue.subscribe('nobody-listens', 'late', async (d) => void late.push(d.messageId));
  const id4 = await queue.publish('nobody-listens', { kind: 'z' });
  await queue.idle();
  assert.deepEqual(late, [id4]);
  queue.close();
});

test('a nack is redelivered after exponential backoff, with increasing attempts and the same message id', async () => {
  const queue = new LocalQueue();
  const seen: { attempt: number; at: number; id: string }[] = [];
  queue.subscribe(
    't',
    's',
    async (d) => {
      seen.push({ attempt: d.deliveryAttempt!, at: performance.now(), id: d.messageId });
      if (d.deliveryAttempt! < 5) throw new Error('transient');
    },
    { minBackoffMs: 20, maxBackoffMs: 40 },
  );
  const id = await queue.publish('t', { n: 1 });
  await waitFor(() => queue.stats().s.backingOff === 1);
  assert.equal(queue.stats().s.pending, 1);
  await queue.idle();

  assert.deepEqual(seen.map((s) => s.attempt), [1, 2, 3, 4, 5]);
  assert.ok(seen.every((s) => s.id === id));
  const gaps = seen.slice(1).map((s, i) => s.at - seen[i].at);
  // 20, 40, then capped at 40 twice where doubling would give 80 and 160 (lower bounds are exact;
  // the upper one leaves room for a busy machine)
  assert.ok(gaps[0] >= 19, `gap ${gaps[0]}`);
  assert.ok(gaps[1] >= 39, `gap ${gaps[1]}`);
  assert.ok(gaps[2] >= 39 && gaps[3] >= 39 && gaps[2] + gaps[3] < 200, `gaps ${gaps}`);
  const stats = queue.stats().s;
  assert.equal(stats.nacked, 4);
  assert.equal(stats.acked, 1);
  assert.equal(stats.delivered, 5);
  assert.equal(stats.pending, 0);
  queue.close();
});

test('a handler throwing synchronously is a nack, not a crash', async () => {
  const queue = new LocalQueue();
  let calls = 0;
  queue.subscribe(
    't',
    's',
    ((d: Delivery) => {
      calls++;
      if (d.deliveryAttempt === 1) throw new Error('sync');
      return Promise.resolve();
    }) as (d: Delivery) => Promise<void>,
    { minBackoffMs: 1 },
  );
  await queue.publish('t', {});
  await queue.idle();
  assert.equal(calls, 2);
  assert.deepEqual([queue.stats().s.nacked, queue.stats().s.acked], [1, 1]);
  queue.close();
});

test('an expired ack deadline redelivers while the first delivery still runs; the late outcome of the first is ignored', async () => {
  const queue = new LocalQueue();
  const first = deferred();
  const attempts: number[] = [];
  let running = 0;
  let maxRunning = 0;
  queue.subscribe(
    't',
    's',
    async (d) => {
      attempts.push(d.deliveryAttempt!);
      running++;
      maxRunning = Math.max(maxRunning, running);
      try {
        if (d.deliveryAttempt === 1) await first.promise; // hangs past the deadline
      } finally {
        running--;
      }
    },
    { ackDeadlineMs: 30, concurrency: 1 },
  );
  await queue.publish('t', { n: 1 });
  await waitFor(() => attempts.length === 2);
  // The redelivery ran (and acked) while the first was still in flight, despite concurrency 1.
  await waitFor(() => queue.stats().s.acked === 1);
  assert.equal(maxRunning, 2);
  let idle = false;
  const idlePromise = queue.idle().then(() => (idle = true));
  await sleep(20);
  assert.equal(idle, false, 'idle() waits for the first, still running handler');
  assert.equal(queue.stats().s.inFlight, 1);
  first.reject(new Error('late failure'));
  await idlePromise;
  const stats = queue.stats().s;
  assert.deepEqual(attempts, [1, 2]);
  assert.deepEqual([stats.delivered, stats.redelivered, stats.acked, stats.nacked, stats.pending, stats.inFlight], [2, 1, 1, 1, 0, 0]);
  queue.close();
});

test('a late ack of a superseded delivery finishes the message, cancelling its backoff', async () => {
  const queue = new LocalQueue();
  const first = deferred();
  const attempts: number[] = [];
  queue.subscribe(
    't',
    's',
    async (d) => {
      attempts.push(d.deliveryAttempt!);
      if (d.deliveryAttempt === 1) return first.promise;
      throw new Error('second attempt fails');
    },
    { ackDeadlineMs: 20, minBackoffMs: 5_000 },
  );
  await queue.publish('t', {});
  await waitFor(() => queue.stats().s.backingOff === 1);
  const started = performance.now();
  first.resolve(); // the first delivery acks after all
  await queue.idle();
  assert.ok(performance.now() - started < 1000, 'idle() did not wait out the cancelled backoff');
  const stats = queue.stats().s;
  assert.deepEqual(attempts, [1, 2]);
  assert.deepEqual([stats.acked, stats.nacked, stats.redelivered, stats.pending, stats.backingOff], [1, 1, 1, 0, 0]);
  queue.close();
});

test('after maxDeliveryAttempts the message goes to the dead-letter topic with the Pub/Sub attributes', async () => {
  const queue = new LocalQueue();
  const attempts: number[] = [];
  const dead: Delivery[] = [];
  queue.subscribe(
    'work',
    'work-sub',
    async (d) => {
      attempts.push(d.deliveryAttempt!);
      throw new Error('always fails');
    },
    { minBackoffMs: 1, maxBackoffMs: 4, maxDeliveryAttempts: 3, deadLetterTopic: 'dead' },
  );
  queue.subscribe('dead', 'dead-sub', async (d) => void dead.push(d));
  const id = await queue.publish('work', { job: 'J', shard: 7 }, { origin: 'test' });
  await queue.idle();

  assert.deepEqual(attempts, [1, 2, 3]);
  assert.equal(dead.length, 1);
  assert.notEqual(dead[0].messageId, id);
  assert.deepEqual(dead[0].data, { job: 'J', shard: 7 });
  assert.deepEqual(dead[0].attributes, { origin: 'test', [DEAD_LETTER_DELIVERY_COUNT]: '3', [DEAD_LETTER_SOURCE_SUBSCRIPTION]: 'work-sub' });
  const stats = queue.stats();
  assert.deepEqual([stats['work-sub'].nacked, stats['work-sub'].deadLettered, stats['work-sub'].acked, stats['work-sub'].pending], [3, 1, 0, 0]);
  assert.deepEqual([stats['dead-sub'].published, stats['dead-sub'].acked], [1, 1]);
  assert.throws(() => queue.subscribe('x', 'bad', async () => {}, { maxDeliveryAttempts: 5 }), /deadLetterTopic/);
  assert.throws(() => queue.subscribe('x', 'dead-sub', async () => {}), /already exists/);
  queue.close();
});

test('expired ack deadlines count as failed attempts toward dead-lettering', async () => {
  const queue = new LocalQueue();
  const release = deferred();
  const dead: Delivery[] = [];
  queue.subscribe('work', 'w', () => release.promise, { ackDeadlineMs: 10, maxDeliveryAttempts: 2, deadLetterTopic: 'dead', concurrency: 5 });
  queue.subscribe('dead', 'd', async (d) => void dead.push(d));
  await queue.publish('work', { n: 1 });
  await waitFor(() => dead.length === 1);
  assert.equal(dead[0].attributes[DEAD_LETTER_DELIVERY_COUNT], '2');
  release.resolve(); // both hung deliveries ack late: the message stays dead-lettered, counted once
  await queue.idle();
  const w = queue.stats().w;
  assert.deepEqual([w.delivered, w.redelivered, w.deadLettered, w.acked], [2, 2, 1, 0]);
  queue.close();
});

test('chaos duplicates: a delivery is also made a second time, concurrently, with the same attempt', async () => {
  const queue = new LocalQueue({ duplicateRate: 1 });
  const byId = new Map<string, number[]>();
  const running = new Map<string, number>();
  const overlapped = new Set<string>();
  queue.subscribe(
    't',
    's',
    async (d) => {
      byId.set(d.messageId, [...(byId.get(d.messageId) ?? []), d.deliveryAttempt!]);
      running.set(d.messageId, (running.get(d.messageId) ?? 0) + 1);
      if (running.get(d.messageId) === 2) overlapped.add(d.messageId);
      await sleep(5);
      running.set(d.messageId, running.get(d.messageId)! - 1);
    },
    { concurrency: 1 },
  );
  const ids = [await queue.publish('t', { i: 0 }), await queue.publish('t', { i: 1 }), await queue.publish('t', { i: 2 })];
  await queue.idle();
  assert.deepEqual(ids.map((id) => byId.get(id)), [[1, 1], [1, 1], [1, 1]]);
  assert.deepEqual([...overlapped].sort(), [...ids].sort());
  const stats = queue.stats().s;
  assert.deepEqual([stats.delivered, stats.duplicated, stats.acked], [6, 3, 3]);
  queue.close();

  // With a seeded random source, a rate below 1 duplicates a reproducible subset.
  const draws = [0.9, 0.1, 0.6];
  const seeded = new LocalQueue({ duplicateRate: 0.5, random: () => draws.shift()! });
  seeded.subscribe('t', 's', async () => {});
  for (let i = 0; i < 3; i++) await seeded.publish('t', { i });
  await seeded.idle();
  assert.deepEqual([seeded.stats().s.delivered, seeded.stats().s.duplicated], [4, 1]);
  seeded.close();
});

test('a handler is told which call is the duplicate; setDuplicateRate turns duplicates on and off for later deliveries', async () => {
  const queue = new LocalQueue();
  const calls: [string, boolean][] = [];
  queue.subscribe('t', 's', async (d, info) => void calls.push([d.messageId, info!.duplicate]));
  const first = await queue.publish('t', { i: 0 });
  await queue.idle();
  queue.setDuplicateRate(1);
  const second = await queue.publish('t', { i: 1 });
  await queue.idle();
  queue.setDuplicateRate(0);
  const third = await queue.publish('t', { i: 2 });
  await queue.idle();
  assert.deepEqual(calls, [[first, false], [second, false], [second, true], [third, false]]);
  assert.throws(() => queue.setDuplicateRate(1.5), /duplicateRate must be in \[0, 1\], got 1.5/);
  queue.close();
});

test('concurrency bounds the deliveries in flight', async () => {
  const queue = new LocalQueue();
  let running = 0;
  let maxRunning = 0;
  queue.subscribe(
    't',
    's',
    async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await sleep(5);
      running--;
    },
    { concurrency: 3 },
  );
  for (let i = 0; i < 10; i++) await queue.publish('t', { i });
  assert.equal(queue.stats().s.pending, 7);
  await queue.idle();
  assert.equal(maxRunning, 3);
  assert.equal(queue.stats().s.acked, 10);
  queue.close();
});

test('idle() resolves at once when nothing is pending and waits out a pending backoff', async () => {
  const queue = new LocalQueue();
  await queue.idle();
  queue.subscribe(
    't',
    's',
    async (d) => {
      if (d.deliveryAttempt === 1) throw new Error('once');
    },
    { minBackoffMs: 80 },
  );
  const start = performance.now();
  await queue.publish('t', {});
  await queue.idle();
  assert.ok(performance.now() - start >= 75, 'idle() resolved during the backoff');
  assert.deepEqual([queue.stats().s.delivered, queue.stats().s.acked], [2, 1]);
  queue.close();
});

test('close() stops deliveries, rejects waiting idle() and later publishes', async () => {
  const queue = new LocalQueue();
  let calls = 0;
  queue.subscribe(
    't',
    's',
    async () => {
      calls++;
      throw new Error('nack');
    },
    { minBackoffMs: 30 },
  );
  await queue.publish('t', {});
  await waitFor(() => queue.stats().s.backingOff === 1);
  const idle = queue.idle();
  queue.close();
  await assert.rejects(idle, /closed/);
  await assert.rejects(queue.idle(), /closed/);
  await assert.rejects(queue.publish('t', {}), /closed/);
  await sleep(60);
  assert.equal(calls, 1);

  // A delivery leased but not yet started when close() runs is not made either.
  const other = new LocalQueue();
  let otherCalls = 0;
  other.subscribe('t', 's', async () => void otherCalls++);
  const published = other.publish('t', {});
  other.close();
  await published;
  await sleep(5);
  assert.equal(otherCalls, 0);
});

test('messages over the size limit are refused at publish', async () => {
  const small = new LocalQueue({ maxMessageBytes: 100 });
  await assert.rejects(small.publish('t', { s: 'x'.repeat(200) }), /208 bytes of JSON, over the 100-byte limit/);
  assert.match(await small.publish('t', { s: 'x'.repeat(50) }), /^\d+$/);
  small.close();

  const queue = new LocalQueue();
  let got = 0;
  queue.subscribe('t', 's', async (d) => void (got += (d.data.s as string).length));
  await assert.rejects(queue.publish('t', { s: 'é'.repeat(300 * 1024) }), /over the 524288-byte limit/); // counted in UTF-8 bytes
  await queue.publish('t', { s: 'x'.repeat(500 * 1024) });
  await queue.idle();
  assert.equal(got, 500 * 1024);
  assert.equal(queue.stats().s.published, 1);
  queue.close();
});
