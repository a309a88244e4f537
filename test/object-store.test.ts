// The ObjectStores: local files (walks, symbolic links, prefixes), http(s)
// (HEAD and its fallback, error mapping, capped text reads) and Cloud Storage
// against the fake JSON API (paged listings, generations, errors).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { RootError, type RootErrorCode } from '../shared/root/errors';
import { GcsSource, HttpSource, LocalFileSource } from '../shared/root/source';
import { isRootObjectName } from '../shared/pipeline/object-names';
import { createLocalObjectStore, LocalObjectStore } from '../shared/pipeline/local/object-store';
import { GcsObjectStore } from '../shared/pipeline/google/gcs-objects';
import { startRangeServer, type RangeServer } from './support/range-server';
import { startFakeGcs, type FakeGcs } from './support/fake-gcs';

const FAST = { timeoutMs: 1000, retries: 0, retryBaseMs: 1, retryMaxMs: 5 };

async function expectRootError(p: Promise<unknown>, code: RootErrorCode, transient?: boolean): Promise<RootError> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  assert.ok(err !== undefined, `expected ${code}, but the call succeeded`);
  assert.ok(err instanceof RootError, `expected a RootError, got ${String(err)}`);
  assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
  if (transient !== undefined) assert.equal(err.transient, transient, `transient flag of ${err.message}`);
  return err;
}

/** Deterministic bytes of a given length. */
function bytesOf(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7) & 0xff;
  return b;
}

test('isRootObjectName', () => {
  for (const yes of ['x.root', 'dir/x.root', 'DAOD_PHYSLITE.37621409._000001.pool.root.1', 'a.root.12', 'gs://b/p/f.root']) assert.ok(isRootObjectName(yes), yes);
  for (const no of ['x.txt', 'x.root.bak', 'x.rootx', 'root', 'x.root.', 'x.root.1a', 'x.root/']) assert.ok(!isRootObjectName(no), no);
});

// ---------------------------------------------------------------------------

describe('LocalObjectStore: local files', () => {
  let tmp: string;
  let ds: string;
  let links: string;
  const store = new LocalObjectStore();
  const sizes: Record<string, number> = {};

  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'object-store-'));
    ds = join(tmp, 'ds');
    const files: Record<string, number> = {
      'a.root': 3,
      'b.txt': 4,
      'm.root': 5,
      'm/x.root': 7,
      'm/notes.txt': 2,
      'sub/DAOD_PHYSLITE.37621409._000001.pool.root.1': 11,
      'sub/deep/d.root': 13,
      'z.root.bak': 1,
      'run1_a.root': 17,
      'run1_b/e.root': 19,
      'run2.root': 23,
    };
    for (const [rel, n] of Object.entries(files)) {
      mkdirSync(join(ds, rel, '..'), { recursive: true });
      writeFileSync(join(ds, rel), bytesOf(n));
      sizes[rel] = n;
    }
    writeFileSync(join(ds, 'index.txt'), 'gs://b/one.root\nhttps://h/two.root\n');
    mkdirSync(join(ds, 'empty'));
    // A directory of symbolic links, as a dataset assembled from elsewhere.
    links = join(tmp, 'links');
    mkdirSync(links);
    symlinkSync(join(ds, 'a.root'), join(links, 'one.root'));
    symlinkSync(join(ds, 'sub/DAOD_PHYSLITE.37621409._000001.pool.root.1'), join(links, 'two.pool.root.1'));
    symlinkSync(join(ds, 'm'), join(links, 'dir'));
    symlinkSync(links, join(links, 'up')); // a cycle
    symlinkSync(join(tmp, 'missing.txt'), join(links, 'broken.txt'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  const rel = (urls: { url: string }[], base: string) => urls.map((o) => o.url.slice(base.length + 1));

  test('a directory: recursive, ROOT names only, in full-name order, with sizes', async () => {
    const got = await store.list(ds, 100);
    const expected = ['a.root', 'm.root', 'm/x.root', 'run1_a.root', 'run1_b/e.root', 'run2.root', 'sub/DAOD_PHYSLITE.37621409._000001.pool.root.1', 'sub/deep/d.root'];
    assert.deepEqual(rel(got, ds), expected);
    for (const o of got) {
      assert.equal(o.size, sizes[o.url.slice(ds.length + 1)]);
      assert.equal(o.generation, undefined);
      assert.ok(o.url.startsWith('/') || /^[A-Za-z]:/.test(o.url), 'absolute path');
    }
    assert.deepEqual(rel(await store.list(ds + '/', 100), ds), expected);
    assert.deepEqual(await store.list(join(ds, 'empty'), 10), []);
  });

  test('limit stops the walk', async () => {
    assert.deepEqual(rel(await store.list(ds, 3), ds), ['a.root', 'm.root', 'm/x.root']);
    assert.deepEqual(await store.list(ds, 0), []);
    await expectRootError(store.list(ds, -1), 'BAD_ARGUMENT');
  });

  test('a path prefix lists the matching entries of its parent directory', async () => {
    assert.deepEqual(rel(await store.list(join(ds, 'run1_'), 10), ds), ['run1_a.root', 'run1_b/e.root']);
    assert.deepEqual(rel(await store.list(join(ds, 'run'), 10), ds), ['run1_a.root', 'run1_b/e.root', 'run2.root']);
    assert.deepEqual(rel(await store.list(join(ds, 'm'), 10), ds), ['m/x.root']); // a directory: its contents only
    assert.deepEqual(rel(await store.list(join(ds, 'm.'), 10), ds), ['m.root']);
    assert.deepEqual(await store.list(join(ds, 'zzz'), 10), []);
  });

  test('symbolic links are followed; a link cycle is not re-entered', async () => {
    const got = await store.list(links, 100);
    assert.deepEqual(rel(got, links), ['dir/x.root', 'one.root', 'two.pool.root.1']);
    assert.deepEqual(
      got.map((o) => o.size),
      [7, 3, 11],
    );
    // The links open to the target's bytes.
    const src = await store.open(got[1]!.url, got[1]);
    assert.ok(src instanceof LocalFileSource);
    assert.deepEqual([...(await src.read([{ offset: 0, length: 3 }]))[0]!], [...bytesOf(3)]);
    await src.close();
  });

  test('a broken link with a ROOT name is an error, not a silent omission', async () => {
    const dir = join(tmp, 'broken');
    mkdirSync(dir);
    symlinkSync(join(tmp, 'gone.root'), join(dir, 'gone.root'));
    const err = await expectRootError(store.list(dir, 10), 'SOURCE_NOT_FOUND');
    assert.equal(err.context.file, join(dir, 'gone.root'));
  });

  test('missing directories', async () => {
    await expectRootError(store.list(join(tmp, 'nope') + '/', 10), 'SOURCE_NOT_FOUND');
    await expectRootError(store.list(join(tmp, 'nope', 'run1_'), 10), 'SOURCE_NOT_FOUND');
    await expectRootError(store.list(join(ds, 'a.root') + '/', 10), 'SOURCE_NOT_FOUND');
  });

  test('file:// URLs in, file:// URLs out', async () => {
    const got = await store.list(pathToFileURL(join(ds, 'sub')).href, 10);
    assert.deepEqual(
      got.map((o) => o.url),
      [pathToFileURL(join(ds, 'sub/DAOD_PHYSLITE.37621409._000001.pool.root.1')).href, pathToFileURL(join(ds, 'sub/deep/d.root')).href],
    );
    assert.deepEqual(await store.stat(got[1]!.url), { url: got[1]!.url, size: 13 });
  });

  test('stat, readText, open', async () => {
    assert.deepEqual(await store.stat(join(ds, 'b.txt')), { url: join(ds, 'b.txt'), size: 4 }); // stat does not filter names
    await expectRootError(store.stat(join(ds, 'nope.root')), 'SOURCE_NOT_FOUND', false);
    await expectRootError(store.stat(ds), 'BAD_ARGUMENT');
    const index = join(ds, 'index.txt');
    const text = 'gs://b/one.root\nhttps://h/two.root\n';
    assert.equal(await store.readText(index, 1000), text);
    assert.equal(await store.readText(index, text.length), text);
    await expectRootError(store.readText(index, text.length - 1), 'LIMIT');
    await expectRootError(store.readText(join(ds, 'nope.txt'), 100), 'SOURCE_NOT_FOUND');
    const src = await store.open(join(ds, 'sub/deep/d.root'));
    assert.equal(await src.size(), 13);
    assert.deepEqual([...(await src.read([{ offset: 2, length: 5 }]))[0]!], [...bytesOf(13).subarray(2, 7)]);
    await src.close();
    await expectRootError(store.list('ftp://host/x', 1), 'BAD_ARGUMENT');
  });
});

// ---------------------------------------------------------------------------

describe('LocalObjectStore: http(s)', () => {
  let server: RangeServer;
  const data = bytesOf(5000, 3);
  const text = 'gs://bucket/a.root\ngs://bucket/b.root\n';
  const store = createLocalObjectStore({ http: FAST });

  before(async () => {
    server = await startRangeServer({ 'f.root': data, 'index.txt': new TextEncoder().encode(text) });
  });
  after(() => server.close());

  function reset(mode: Parameters<RangeServer['setMode']>[0] = 'normal', options: Parameters<RangeServer['setMode']>[1] = {}) {
    server.setMode(mode, options);
    server.resetStats();
  }

  test('list is refused', async () => {
    const err = await expectRootError(store.list(server.origin + '/', 10), 'BAD_ARGUMENT');
    assert.match(err.message, /cannot list an http:\/\/ prefix; give object URLs or an index file/);
    assert.equal(server.requests, 0);
  });

  test('stat: HEAD, and a ranged GET when HEAD is not allowed', async () => {
    reset();
    const url = server.urlFor('f.root');
    assert.deepEqual(await store.stat(url), { url, size: data.length });
    assert.deepEqual(
      server.log.map((r) => r.method),
      ['HEAD'],
    );
    reset('normal', { head: false });
    assert.deepEqual(await store.stat(url), { url, size: data.length });
    assert.deepEqual(
      server.log.map((r) => [r.method, r.range, r.status]),
      [
        ['HEAD', undefined, 405],
        ['GET', 'bytes=0-0', 206],
      ],
    );
  });

  test('error mapping', async () => {
    reset();
    await expectRootError(store.stat(server.urlFor('missing.root')), 'SOURCE_NOT_FOUND', false);
    const url = server.urlFor('f.root');
    const cases: [number | 'stall', RootErrorCode, boolean][] = [
      [403, 'SOURCE_FORBIDDEN', false],
      [401, 'SOURCE_FORBIDDEN', false],
      [404, 'SOURCE_NOT_FOUND', false],
      [503, 'SOURCE_UNAVAILABLE', true],
      [429, 'SOURCE_UNAVAILABLE', true],
      ['stall', 'SOURCE_TIMEOUT', true],
    ];
    // the short deadline only where the server stalls: on a busy machine an error answer can take longer than 150 ms
    const quick = createLocalObjectStore({ http: { ...FAST, timeoutMs: 150 } });
    const patient = createLocalObjectStore({ http: FAST });
    for (const [mode, code, transient] of cases) {
      const client = mode === 'stall' ? quick : patient;
      reset(mode);
      await expectRootError(client.stat(url), code, transient);
      reset(mode);
      await expectRootError(client.readText(server.urlFor('index.txt'), 1000), code, transient);
    }
    reset();
  });

  test('transient failures are retried', async () => {
    const retrying = createLocalObjectStore({ http: { ...FAST, retries: 2 } });
    reset(503, { times: 2 });
    assert.equal((await retrying.stat(server.urlFor('f.root'))).size, data.length);
    reset(503, { times: 1 });
    assert.equal(await retrying.readText(server.urlFor('index.txt'), 1000), text);
    assert.equal(server.requests, 2);
  });

  test('readText with a size cap', async () => {
    reset();
    const url = server.urlFor('index.txt');
    assert.equal(await store.readText(url, 1000), text);
    assert.equal(await store.readText(url, text.length), text);
    await expectRootError(store.readText(url, text.length - 1), 'LIMIT');
    // Without a Content-Length (chunked), the body is cut off while streaming.
    reset('short-body');
    await expectRootError(store.readText(server.urlFor('f.root'), 1000), 'LIMIT');
    reset();
  });

  test('open reads the same bytes; a known size saves the HEAD', async () => {
    reset();
    const url = server.urlFor('f.root');
    const info = await store.stat(url);
    server.resetStats();
    const src = await store.open(url, info);
    assert.ok(src instanceof HttpSource);
    const [a, b] = await src.read([
      { offset: 0, length: 100 },
      { offset: 4000, length: 1000 },
    ]);
    assert.deepEqual([...a!], [...data.subarray(0, 100)]);
    assert.deepEqual([...b!], [...data.subarray(4000, 5000)]);
    assert.equal(await src.size(), data.length);
    assert.ok(server.log.every((r) => r.method === 'GET'));
    await src.close();
  });
});

// ---------------------------------------------------------------------------

describe('GcsObjectStore', () => {
  let gcs: FakeGcs;
  let store: GcsObjectStore;
  const objects: Record<string, Uint8Array> = {};
  const BUCKET = 'test-bucket';
  const rootNames = [
    'data/DAOD_PHYSLITE.37621409._000001.pool.root.1',
    'data/DAOD_PHYSLITE.37621409._000002.pool.root.1',
    'data/a.root',
    'data/run1/x.root',
    'data/run1_b.root',
    'data/run1_c.root',
    'data/z.root',
  ];
  const otherNames = ['data/README.md', 'data/log.txt', 'data/run1/y.root.bak', 'index.txt'];

  before(async () => {
    [...rootNames, ...otherNames, 'other/q.root'].forEach((name, i) => (objects[`${BUCKET}/${name}`] = bytesOf(100 + i * 10, i)));
    objects[`${BUCKET}/index.txt`] = new TextEncoder().encode('gs://test-bucket/data/a.root\n');
    gcs = await startFakeGcs(objects);
    gcs.addBucket('empty-bucket');
    store = new GcsObjectStore({ storageOptions: { apiEndpoint: gcs.endpoint, projectId: 'test-project' }, pageSize: 2, source: FAST });
  });
  after(() => gcs.close());

  function reset(mode: Parameters<FakeGcs['setMode']>[0] = 'normal', options: Parameters<FakeGcs['setMode']>[1] = {}) {
    gcs.setMode(mode, options);
    gcs.resetStats();
  }

  test('list pages through the prefix: ROOT names only, name order, size and generation', async () => {
    reset();
    const got = await store.list(`gs://${BUCKET}/data/`, 100);
    assert.deepEqual(
      got.map((o) => o.url),
      [...rootNames].sort().map((n) => `gs://${BUCKET}/${n}`),
    );
    for (const o of got) {
      assert.equal(o.size, objects[o.url.slice(5)]!.length);
      assert.match(o.generation!, /^\d+$/);
    }
    // 10 objects under data/, 2 per page.
    assert.equal(gcs.listRequests, 5);
    assert.ok(gcs.log.every((r) => /maxResults=2/.test(r.query)));
  });

  test('limit stops the paging; prefixes; the whole bucket', async () => {
    reset();
    const three = await store.list(`gs://${BUCKET}/data/`, 3);
    assert.deepEqual(
      three.map((o) => o.url.slice(`gs://${BUCKET}/`.length)),
      rootNames.slice(0, 3),
    );
    assert.equal(gcs.listRequests, 2);
    // a name that is a folder means the folder (as locally, and as `gcloud storage ls` reads it) …
    assert.deepEqual(
      (await store.list(`gs://${BUCKET}/data/run1`, 10)).map((o) => o.url),
      ['data/run1/x.root'].map((n) => `gs://${BUCKET}/${n}`),
    );
    // … any other is a plain name prefix
    assert.deepEqual(
      (await store.list(`gs://${BUCKET}/data/run1_`, 10)).map((o) => o.url),
      ['data/run1_b.root', 'data/run1_c.root'].map((n) => `gs://${BUCKET}/${n}`),
    );
    assert.equal((await store.list(`gs://${BUCKET}`, 100)).length, rootNames.length + 1);
    assert.equal((await store.list(`gs://${BUCKET}/`, 100)).length, rootNames.length + 1);
    assert.deepEqual(await store.list(`gs://${BUCKET}/nothing/`, 10), []);
    assert.deepEqual(await store.list('gs://empty-bucket/x', 10), []);
    assert.deepEqual(await store.list(`gs://${BUCKET}/data/`, 0), []);
  });

  test('list errors: missing bucket, forbidden, unavailable', async () => {
    reset();
    const missing = await expectRootError(store.list('gs://no-such-bucket/data/', 10), 'SOURCE_NOT_FOUND', false);
    assert.match(missing.message, /bucket "no-such-bucket" does not exist/);
    reset(403, { target: 'list' });
    const forbidden = await expectRootError(store.list(`gs://${BUCKET}/data/`, 10), 'SOURCE_FORBIDDEN', false);
    assert.match(forbidden.message, /storage\.objects\.list/);
    assert.match(forbidden.message, /roles\/storage\.objectViewer/);
    assert.match(forbidden.message, /test-bucket/);
    reset(503, { target: 'list' });
    await expectRootError(store.list(`gs://${BUCKET}/data/`, 10), 'SOURCE_UNAVAILABLE', true);
    const retrying = new GcsObjectStore({ storageOptions: { apiEndpoint: gcs.endpoint, projectId: 'test-project' }, pageSize: 2, source: { ...FAST, retries: 2 } });
    reset(503, { target: 'list', times: 2 });
    assert.equal((await retrying.list(`gs://${BUCKET}/data/`, 100)).length, rootNames.length);
    reset('no-response', { target: 'list' });
    const slow = new GcsObjectStore({ storageOptions: { apiEndpoint: gcs.endpoint, projectId: 'test-project' }, source: { ...FAST, timeoutMs: 150 } });
    await expectRootError(slow.list(`gs://${BUCKET}/data/`, 10), 'SOURCE_TIMEOUT', true);
    reset();
    await expectRootError(store.list('gs://Bad_Bucket/x', 10), 'BAD_ARGUMENT');
  });

  test('stat: size and generation, any name; missing object', async () => {
    reset();
    const url = `gs://${BUCKET}/data/log.txt`;
    const info = await store.stat(url);
    assert.equal(info.url, url);
    assert.equal(info.size, objects[`${BUCKET}/data/log.txt`]!.length);
    assert.match(info.generation!, /^\d+$/);
    await expectRootError(store.stat(`gs://${BUCKET}/data/nope.root`), 'SOURCE_NOT_FOUND', false);
    reset(403, { target: 'metadata' });
    const err = await expectRootError(store.stat(url), 'SOURCE_FORBIDDEN', false);
    assert.match(err.message, /storage\.objects\.get/);
    reset();
  });

  test('readText: size checked in the metadata first', async () => {
    reset();
    const url = `gs://${BUCKET}/index.txt`;
    const text = 'gs://test-bucket/data/a.root\n';
    assert.equal(await store.readText(url, 1000), text);
    assert.equal(gcs.metadataRequests, 1);
    assert.equal(gcs.mediaRequests, 1);
    reset();
    await expectRootError(store.readText(url, text.length - 1), 'LIMIT');
    assert.equal(gcs.mediaRequests, 0);
    await expectRootError(store.readText(`gs://${BUCKET}/nope.txt`, 100), 'SOURCE_NOT_FOUND');
  });

  test('open is pinned to the listed generation and skips the metadata call', async () => {
    const key = `${BUCKET}/data/z.root`;
    const url = `gs://${key}`;
    reset();
    const [info] = await store.list(url, 1);
    assert.equal(info!.url, url);
    gcs.resetStats();
    const src = await store.open(url, info);
    assert.ok(src instanceof GcsSource);
    const [got] = await src.read([{ offset: 10, length: 50 }]);
    assert.deepEqual([...got!], [...objects[key]!.subarray(10, 60)]);
    assert.equal(gcs.metadataRequests, 0);
    assert.equal(gcs.mediaRequests, 1);
    assert.ok(gcs.log.every((r) => r.query.includes(`generation=${info!.generation}`)));
    await src.close();

    // Overwritten after planning: the planned generation is gone, its bytes are never mixed with the new ones.
    const replacement = bytesOf(300, 99);
    gcs.putObject(key, replacement);
    const stale = await store.open(url, info);
    await expectRootError(stale.read([{ offset: 0, length: 10 }]), 'SOURCE_NOT_FOUND');
    await stale.close();
    const fresh = await store.stat(url);
    assert.notEqual(fresh.generation, info!.generation);
    const now = await store.open(url, fresh);
    assert.deepEqual([...(await now.read([{ offset: 0, length: 300 }]))[0]!], [...replacement]);
    await now.close();
    gcs.putObject(key, objects[key]!);
  });

  test('LocalObjectStore delegates gs:// to a GcsObjectStore', async () => {
    reset();
    const local = createLocalObjectStore({ gcs: { storageOptions: { apiEndpoint: gcs.endpoint, projectId: 'test-project' }, source: FAST } });
    assert.equal((await local.list(`gs://${BUCKET}/data/`, 100)).length, rootNames.length);
    assert.equal(gcs.listRequests, 1);
    const info = await local.stat(`gs://${BUCKET}/data/a.root`);
    assert.equal(info.size, objects[`${BUCKET}/data/a.root`]!.length);
    assert.equal(await local.readText(`gs://${BUCKET}/index.txt`, 100), 'gs://test-bucket/data/a.root\n');
    const src = await local.open(info.url, info);
    assert.ok(src instanceof GcsSource);
    await src.close();
  });
});
