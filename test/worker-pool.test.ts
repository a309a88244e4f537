// The local worker-thread pool: deliveries run on threads, the main thread's
// store and publisher are reached over RPC (results and errors both ways), a
// crashed thread rejects its delivery and is replaced, chaos injects faults,
// close() ends every thread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerPool, type WorkerPoolOptions } from '../shared/pipeline/local/worker-pool';
import { LocalQueue } from '../shared/pipeline/local/queue';
import { chaosObjectStore, seededRandom } from '../shared/pipeline/local/chaos';
import { resolveConfig } from '../shared/pipeline/config';
import { isIncrement, type Aggregate, type Delivery, type Doc, type DocumentStore, type StoredDoc } from '../shared/pipeline/ports';
import { RootError } from '../shared/root/errors';
import { createPoolTestObjects } from './support/pool-objects';

const HANDLER = { module: new URL('./support/pool-handler.ts', import.meta.url).href, export: 'poolTestHandler' };
const OBJECTS = { module: new URL('./support/pool-objects.ts', import.meta.url).href, export: 'createPoolTestObjects', options: { size: 8 } };

class StoreUnavailable extends Error {
  override readonly name = 'StoreUnavailable';
  readonly code = 'UNAVAILABLE';
}

/** Just enough of a DocumentStore for the handler in test/support/pool-handler.ts. */
class MapStore implements DocumentStore {
  readonly docs = new Map<string, Doc>();
  async create(path: string, data: Doc): Promise<boolean> {
    if (this.docs.has(path)) return false;
    this.docs.set(path, structuredClone(data));
    return true;
  }
  async get(path: string): Promise<Doc | undefined> {
    if (path.startsWith('explode/')) throw new StoreUnavailable('store is down');
    const doc = this.docs.get(path);
    return doc && structuredClone(doc);
  }
  async merge(path: string, data: Doc): Promise<void> {
    const doc = this.docs.get(path) ?? {};
    for (const [k, v] of Object.entries(data)) doc[k] = isIncrement(v) ? ((doc[k] as number) ?? 0) + v.$increment : structuredClone(v);
    this.docs.set(path, doc);
  }
  async query(collection: string): Promise<StoredDoc[]> {
    const out: StoredDoc[] = [];
    for (const [path, data] of this.docs) if (path.startsWith(`${collection}/`)) out.push({ id: path.slice(collection.length + 1), data });
    return out;
  }
  async aggregate(collection: string): Promise<Aggregate> {
    return { count: (await this.query(collection)).length, sums: {} };
  }
}

function delivery(messageId: string, data: Doc, deliveryAttempt = 1): Delivery {
  return { messageId, data, attributes: {}, deliveryAttempt };
}

function testPool(overrides: Partial<WorkerPoolOptions> = {}) {
  const store = new MapStore();
  const queue = new LocalQueue();
  const published: Doc[] = [];
  queue.subscribe('out', 'out-sub', async (d) => void published.push(d.data));
  const pool = new WorkerPool({ store, publisher: queue, size: 1, threadHandler: HANDLER, objectStore: OBJECTS, ...overrides });
  return { store, queue, published, pool };
}

test('a thread runs a delivery; the store and publisher proxies carry calls and results', async () => {
  const { store, queue, published, pool } = testPool({ config: resolveConfig({ jobsCollection: 'pool-test-jobs' }) });
  try {
    await pool.handler(delivery('m1', { action: 'record', key: 'a' }, 3));
    await queue.idle();
    assert.deepEqual(store.docs.get('runs/a'), { worker: 'local-thread-1', attempt: 3, collection: 'pool-test-jobs', created: true, publishedId: '1' });
    assert.deepEqual(published, [{ key: 'a', seen: { worker: 'local-thread-1', attempt: 3, collection: 'pool-test-jobs', created: true } }]);

    // The same thread takes the next one; create() answers false the second time.
    await pool.handler(delivery('m2', { action: 'record', key: 'a' }));
    assert.equal(store.docs.get('runs/a')!.created, false);
    assert.deepEqual(pool.stats(), { threads: 1, busy: 0, waiting: 0, started: 1, crashed: 0, completed: 2, failed: 0 });
  } finally {
    await pool.close();
    queue.close();
  }
});

test('errors cross the thread boundary both ways with name and message', async () => {
  const { store, queue, pool } = testPool();
  try {
    // thread → main: the handler's RootError comes back as a RootError
    const err = await pool.handler(delivery('m1', { action: 'fail-root' })).then(
      () => assert.fail('expected a rejection'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof RootError);
    assert.equal(err.code, 'CORRUPT');
    assert.equal(err.transient, false);
    assert.deepEqual(err.context, { file: 'f.root', basket: 3 });
    assert.equal(err.message, 'f.root, basket 3: bad basket [CORRUPT]');

    // main → thread: the store's error reaches the handler
    await pool.handler(delivery('m2', { action: 'store-error', key: 'e' }));
    assert.deepEqual(store.docs.get('runs/e'), { name: 'StoreUnavailable', message: 'store is down', code: 'UNAVAILABLE', isError: true });
    assert.deepEqual([pool.stats().completed, pool.stats().failed], [1, 1]);
  } finally {
    await pool.close();
    queue.close();
  }
});

test('a crashed thread rejects its delivery and is replaced; the pool keeps working', async () => {
  const { store, queue, pool } = testPool();
  try {
    await assert.rejects(pool.handler(delivery('m-exit', { action: 'exit' })), /worker thread local-thread-1 exited with code 70 while handling message m-exit/);
    await assert.rejects(pool.handler(delivery('m-uncaught', { action: 'uncaught' })), /local-thread-2 exited with code 1: uncaught in thread while handling message m-uncaught/);
    await pool.handler(delivery('m3', { action: 'record', key: 'after' }));
    assert.equal(store.docs.get('runs/after')!.worker, 'local-thread-3');
    assert.deepEqual(pool.stats(), { threads: 1, busy: 0, waiting: 0, started: 3, crashed: 2, completed: 1, failed: 2 });
  } finally {
    await pool.close();
    queue.close();
  }
});

test('a thread that runs out of memory rejects its delivery alone', async () => {
  const { store, queue, pool } = testPool({ resourceLimits: { maxOldGenerationSizeMb: 32 } });
  try {
    await assert.rejects(pool.handler(delivery('m-oom', { action: 'oom' })), /local-thread-1 exited with code 1: .*memory limit.* while handling message m-oom/);
    await pool.handler(delivery('m2', { action: 'record', key: 'ok' }));
    assert.equal(store.docs.get('runs/ok')!.worker, 'local-thread-2');
  } finally {
    await pool.close();
    queue.close();
  }
});

test('behind the queue: a crash is a nack, the redelivery runs on a fresh thread; deliveries queue while threads are busy', async () => {
  const { store, queue, pool } = testPool({ size: 2 });
  try {
    queue.subscribe('shards', 'workers', pool.handler, { concurrency: 4, minBackoffMs: 5 });
    for (const key of ['a', 'b', 'c', 'd']) await queue.publish('shards', { action: 'exit-first-attempt', key });
    await queue.idle();
    for (const key of ['a', 'b', 'c', 'd']) assert.equal(store.docs.get(`runs/${key}`)!.attempt, 2, key);
    const workers = new Set(['a', 'b', 'c', 'd'].map((k) => store.docs.get(`runs/${k}`)!.worker));
    assert.ok(![...workers].includes('local-thread-1') && ![...workers].includes('local-thread-2'), 'the first two threads crashed');
    const s = queue.stats().workers;
    assert.deepEqual([s.delivered, s.nacked, s.acked], [8, 4, 4]);
    assert.equal(pool.stats().crashed, 4);
    assert.equal(pool.stats().threads, 2);
  } finally {
    await pool.close();
    queue.close();
  }
});

test('chaos: injected transient read errors and crashes inside a thread', async () => {
  const plain = testPool();
  const transient = testPool({ chaos: { transientReadRate: 1 } });
  const crashing = testPool({ chaos: { crashRate: 1 } });
  try {
    await plain.pool.handler(delivery('m1', { action: 'read', key: 'r' }));
    assert.deepEqual(plain.store.docs.get('runs/r'), { bytes: [2, 3, 4], worker: 'local-thread-1' });

    const err = await transient.pool.handler(delivery('m2', { action: 'read', key: 'r' })).then(
      () => assert.fail('expected a rejection'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof RootError);
    assert.deepEqual([err.code, err.transient, err.context.file], ['SOURCE_UNAVAILABLE', true, 'mem://r']);
    assert.match(err.message, /injected transient read error \(chaos\)/);

    await assert.rejects(crashing.pool.handler(delivery('m3', { action: 'read', key: 'r' })), /local-thread-1 exited with code 70/);
    assert.equal(crashing.pool.stats().crashed, 1);
  } finally {
    for (const p of [plain, transient, crashing]) {
      await p.pool.close();
      p.queue.close();
    }
  }
});

test('chaosObjectStore is reproducible from its seed', async () => {
  const outcomes = async (seed: number) => {
    const objects = chaosObjectStore(createPoolTestObjects(), { transientReadRate: 0.5 }, seededRandom(seed));
    const source = await objects.open('mem://x');
    const out: string[] = [];
    for (let i = 0; i < 32; i++) out.push(await source.read([{ offset: 0, length: 1 }]).then(() => 'ok', (e: RootError) => e.code));
    assert.equal(await source.size(), 16);
    return out.join(' ');
  };
  const a = await outcomes(7);
  assert.equal(a, await outcomes(7));
  assert.notEqual(a, await outcomes(8));
  assert.ok(a.includes('ok') && a.includes('SOURCE_UNAVAILABLE'), a);
});

test('close() terminates busy and idle threads; later deliveries reject', async () => {
  const { queue, pool } = testPool({ size: 2 });
  await pool.ready();
  assert.deepEqual([pool.stats().threads, pool.stats().started], [2, 2]);
  const hung = pool.handler(delivery('m-hang', { action: 'hang' }));
  const waitingOne = pool.handler(delivery('m-hang2', { action: 'hang' }));
  const waitingTwo = pool.handler(delivery('m-wait', { action: 'record', key: 'never' }));
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual([pool.stats().busy, pool.stats().waiting], [2, 1]);
  // Expect the rejections before they happen, so none is ever unhandled.
  const rejected = Promise.all([
    assert.rejects(hung, /worker thread local-thread-[12] was terminated by WorkerPool.close\(\) while handling message m-hang/),
    assert.rejects(waitingOne, /terminated by WorkerPool.close/),
    assert.rejects(waitingTwo, /WorkerPool closed/),
  ]);
  await pool.close();
  await rejected;
  await assert.rejects(pool.handler(delivery('m-late', { action: 'record', key: 'x' })), /WorkerPool is closed/);
  assert.deepEqual([pool.stats().threads, pool.stats().busy, pool.stats().crashed], [0, 0, 0]);
  queue.close();
});

test('a thread that cannot start fails its deliveries and ready() instead of looping', async () => {
  const { queue, pool } = testPool({ threadHandler: { module: HANDLER.module, export: 'noSuchExport' } });
  try {
    await assert.rejects(pool.handler(delivery('m1', { action: 'record', key: 'a' })), /local-thread-1 failed to start \(exit code 1\): .*has no exported function noSuchExport/);
    await assert.rejects(pool.ready(), /failed to start/);
    assert.equal(pool.stats().threads, 0);
  } finally {
    await pool.close();
    queue.close();
  }
});

test('the default thread runs handleShardDelivery with the local object store', async () => {
  const store = new MapStore();
  const queue = new LocalQueue();
  const pool = new WorkerPool({ store, publisher: queue, size: 1 });
  try {
    // Not a shard message: the real worker logs and acknowledges it, touching nothing.
    await pool.handler(delivery('m1', { kind: 'not-a-shard' }));
    assert.equal(store.docs.size, 0);
    assert.deepEqual([pool.stats().completed, pool.stats().crashed], [1, 0]);
  } finally {
    await pool.close();
    queue.close();
  }
});
