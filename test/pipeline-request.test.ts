// Job requests through the orchestrator's HTTP route and its jobs-topic
// handler: every refusal has its status, a message naming the problem (and the
// field), and leaves no trace — no document written, no message published. A
// valid request is planned, recorded and published once, whatever the retries.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { resolveConfig, type PipelineConfig } from '../shared/pipeline/config';
import { orchestratorHttp, type HttpResponse } from '../shared/pipeline/http';
import { MemoryDocumentStore } from '../shared/pipeline/local/memory-store';
import { createLocalObjectStore } from '../shared/pipeline/local/object-store';
import type { JobRecord, ShardTask } from '../shared/pipeline/model';
import { handleJobDelivery, type OrchestratorDeps } from '../shared/pipeline/orchestrator';
import type { ObjectStore, Publisher } from '../shared/pipeline/ports';
import { jobStatus } from '../shared/pipeline/status';
import { RootError } from '../shared/root/errors';
import { samplePath } from '../scripts/lib/samples';
import { RecordingPublisher } from './support/recording-publisher';

const R21 = 'DAOD_PHYSLITE_21.2.108.0.art.pool.root';
const R22 = 'PHYSLITE_example.root';
const NOW = Date.UTC(2025, 10, 25, 3, 15, 2);

let r21: string;
let r22: string;
let dir: string;

before(async () => {
  r21 = await samplePath(R21);
  r22 = await samplePath(R22);
  dir = await mkdtemp(path.join(tmpdir(), 'request-test-'));
  await mkdir(path.join(dir, 'three'));
  for (const n of ['a', 'b', 'c']) await writeFile(path.join(dir, 'three', `${n}.root`), Buffer.alloc(10));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Harness {
  store: MemoryDocumentStore;
  publisher: RecordingPublisher;
  deps: OrchestratorDeps;
  logs: string[];
  config: PipelineConfig;
}

function harness(overrides: Partial<PipelineConfig> = {}, objects: ObjectStore = createLocalObjectStore()): Harness {
  const store = new MemoryDocumentStore();
  const publisher = new RecordingPublisher();
  const logs: string[] = [];
  const config = resolveConfig({ statConcurrency: 4, ...overrides });
  return { store, publisher, logs, config, deps: { store, publisher, objects, config, now: () => NOW, log: (l) => logs.push(l) } };
}

function post(h: Harness, body: unknown, p = '/jobs', method = 'POST'): Promise<HttpResponse> {
  return orchestratorHttp({ method, path: p, query: new URLSearchParams(), headers: { 'content-type': 'application/json' }, body }, h.deps);
}

function parse(res: HttpResponse): Record<string, unknown> {
  assert.match(res.headers['content-type'] ?? '', /^application\/json/);
  return JSON.parse(res.body) as Record<string, unknown>;
}

function assertNothingWritten(h: Harness, what: string): void {
  assert.deepEqual(h.store.snapshot(), {}, `${what}: documents were written`);
  assert.equal(h.store.stats.creates + h.store.stats.createConflicts + h.store.stats.merges, 0, `${what}: write calls were made`);
  assert.deepEqual(h.publisher.messages, [], `${what}: messages were published`);
}

async function assertRefused(h: Harness, body: unknown, status: number, field: string | undefined, pattern: RegExp, what: string): Promise<Record<string, unknown>> {
  const res = await post(h, body);
  const reply = parse(res);
  assert.equal(res.status, status, `${what}: ${res.body}`);
  assert.equal(reply.status, status, what);
  assert.equal(typeof reply.error, 'string', what);
  assert.match(reply.error as string, pattern, `${what}: ${reply.error}`);
  assert.equal(reply.field, field, `${what}: field of ${res.body}`);
  assertNothingWritten(h, what);
  return reply;
}

const utf8 = (s: string) => new TextEncoder().encode(s);

// ---------------------------------------------------------------------------
describe('orchestratorHttp refuses bad requests without writing or publishing', () => {
  const ds = () => [r21];
  const cases: { what: string; body: () => unknown; status: number; field?: string; pattern: RegExp | (() => RegExp); config?: Partial<PipelineConfig> }[] = [
    { what: 'invalid JSON (bytes)', body: () => utf8('{"dataset": ["gs://b/x/",'), status: 400, pattern: /not valid JSON/ },
    { what: 'invalid JSON (text)', body: () => "{dataset: 'x'}", status: 400, pattern: /not valid JSON/ },
    { what: 'empty body (no bytes)', body: () => new Uint8Array(0), status: 400, pattern: /body is empty/ },
    { what: 'empty body (whitespace)', body: () => ' \r\n\t', status: 400, pattern: /body is empty/ },
    { what: 'no body at all', body: () => undefined, status: 400, pattern: /must be a JSON object/ },
    { what: 'JSON array', body: () => utf8('[{"dataset": ["x.root"]}]'), status: 400, pattern: /must be a JSON object/ },
    { what: 'JSON number', body: () => utf8('42'), status: 400, pattern: /must be a JSON object/ },
    { what: 'JSON null', body: () => null, status: 400, pattern: /must be a JSON object/ },
    { what: 'unknown field', body: () => ({ dataset: ds(), shardSize: 3 }), status: 400, field: 'shardSize', pattern: /unknown field "shardSize" \(known: dataset, analysis, options, shardMB, jobId, label\)/ },
    { what: 'unknown fields', body: () => ({ dataset: ds(), a: 1, b: 2 }), status: 400, field: 'a', pattern: /unknown fields "a", "b"/ },
    { what: 'missing dataset', body: () => ({ analysis: 'reference' }), status: 400, field: 'dataset', pattern: /dataset is missing/ },
    { what: 'empty dataset', body: () => ({ dataset: [] }), status: 400, field: 'dataset', pattern: /dataset is empty/ },
    { what: 'dataset an empty string', body: () => ({ dataset: '' }), status: 400, field: 'dataset', pattern: /dataset\[0\] must be a non-empty string/ },
    { what: 'dataset entry blank', body: () => ({ dataset: [r21, '   '] }), status: 400, field: 'dataset', pattern: /dataset\[1\] must be a non-empty string/ },
    { what: 'dataset entry a number', body: () => ({ dataset: [r21, 7] }), status: 400, field: 'dataset', pattern: /dataset\[1\] must be a non-empty string/ },
    { what: 'dataset entry null', body: () => ({ dataset: [null] }), status: 400, field: 'dataset', pattern: /dataset\[0\] must be a non-empty string/ },
    { what: 'dataset an object', body: () => ({ dataset: { a: 'x.root' } }), status: 400, field: 'dataset', pattern: /dataset must be a string or an array of strings/ },
    { what: 'dataset entry too long', body: () => ({ dataset: [`/x/${'a'.repeat(3000)}.root`] }), status: 400, field: 'dataset', pattern: /dataset\[0\] is longer than 2048/ },
    { what: 'unknown analysis', body: () => ({ dataset: ds(), analysis: 'higgs' }), status: 400, field: 'analysis', pattern: /unknown analysis "higgs" \(known: reference\)/ },
    { what: 'analysis not a string', body: () => ({ dataset: ds(), analysis: 3 }), status: 400, field: 'analysis', pattern: /analysis must be a string/ },
    { what: 'unknown profile', body: () => ({ dataset: ds(), options: { profile: 'r99' } }), status: 400, field: 'options', pattern: /unknown profile "r99" \(known: .*r21.*r22/ },
    { what: 'unknown option', body: () => ({ dataset: ds(), options: { profile: 'r22', cuts: 'tight' } }), status: 400, field: 'options', pattern: /unknown option cuts/ },
    { what: 'options not an object', body: () => ({ dataset: ds(), options: ['r22'] }), status: 400, field: 'options', pattern: /options must be a JSON object/ },
    { what: 'options null', body: () => ({ dataset: ds(), options: null }), status: 400, field: 'options', pattern: /options must be a JSON object/ },
    { what: 'shardMB 0', body: () => ({ dataset: ds(), shardMB: 0 }), status: 400, field: 'shardMB', pattern: /shardMB must be a number from .* got 0/ },
    { what: 'shardMB negative', body: () => ({ dataset: ds(), shardMB: -5 }), status: 400, field: 'shardMB', pattern: /shardMB must be .* got -5/ },
    { what: 'shardMB a string', body: () => ({ dataset: ds(), shardMB: '512' }), status: 400, field: 'shardMB', pattern: /shardMB must be .* got "512"/ },
    { what: 'shardMB null', body: () => ({ dataset: ds(), shardMB: null }), status: 400, field: 'shardMB', pattern: /shardMB must be .* got null/ },
    { what: 'shardMB too large', body: () => ({ dataset: ds(), shardMB: 65537 }), status: 400, field: 'shardMB', pattern: /shardMB must be a number from .* to 65536 .* got 65537/ },
    { what: 'shardMB below the minimum (1 KiB)', body: () => ({ dataset: ds(), shardMB: 0.0005 }), status: 400, field: 'shardMB', pattern: /shardMB must be/ },
    { what: 'jobId with capitals', body: () => ({ dataset: ds(), jobId: 'My-Run' }), status: 400, field: 'jobId', pattern: /jobId must be 1-63 characters .* got "My-Run"/ },
    { what: 'jobId starting with -', body: () => ({ dataset: ds(), jobId: '-run' }), status: 400, field: 'jobId', pattern: /jobId must be/ },
    { what: 'jobId empty', body: () => ({ dataset: ds(), jobId: '' }), status: 400, field: 'jobId', pattern: /jobId must be/ },
    { what: 'jobId 64 characters', body: () => ({ dataset: ds(), jobId: 'a'.repeat(64) }), status: 400, field: 'jobId', pattern: /jobId must be/ },
    { what: 'jobId a number', body: () => ({ dataset: ds(), jobId: 12 }), status: 400, field: 'jobId', pattern: /jobId must be .* got 12/ },
    { what: 'jobId with a slash', body: () => ({ dataset: ds(), jobId: 'a/b' }), status: 400, field: 'jobId', pattern: /jobId must be/ },
    { what: 'label too long', body: () => ({ dataset: ds(), label: 'x'.repeat(201) }), status: 400, field: 'label', pattern: /label must be a string of at most 200/ },
    { what: 'label not a string', body: () => ({ dataset: ds(), label: 5 }), status: 400, field: 'label', pattern: /label must be a string/ },
    { what: 'more dataset entries than maxShards', body: () => ({ dataset: [r21, r22, r21] }), status: 413, field: 'dataset', pattern: /dataset has 3 entries, more than the 2 shards/, config: { maxShards: 2 } },
    { what: 'a prefix listing more files than maxShards', body: () => ({ dataset: [path.join(dir, 'three') + '/'] }), status: 413, field: 'dataset', pattern: /makes 3 files, more than the 2 shards/, config: { maxShards: 2 } },
    { what: 'more shards than maxShards (small shardMB)', body: () => ({ dataset: [r21], shardMB: 0.5 }), status: 413, field: 'shardMB', pattern: /makes 4 shards, more than the 3 shards .* raise shardMB/, config: { maxShards: 3 } },
    { what: 'a dataset entry that does not exist', body: () => ({ dataset: [r21, path.join(dir, 'nope.root')] }), status: 400, field: 'dataset', pattern: () => new RegExp(`dataset entry ${path.join(dir, 'nope.root').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} was not found`) },
    { what: 'a directory that does not exist', body: () => ({ dataset: [path.join(dir, 'no-dir') + '/'] }), status: 400, field: 'dataset', pattern: /no-dir.*was not found/ },
    { what: 'a directory without ROOT files', body: () => ({ dataset: [path.join(dir, 'three', 'z_')] }), status: 400, field: 'dataset', pattern: /no ROOT files/ },
    { what: 'an https:// prefix (no listing)', body: () => ({ dataset: ['https://example.invalid/data/'] }), status: 400, field: 'dataset', pattern: /example\.invalid.*cannot list/ },
    { what: 'an unsupported scheme', body: () => ({ dataset: ['s3://bucket/x.root'] }), status: 400, field: 'dataset', pattern: /s3:\/\/bucket\/x\.root.*unsupported URL scheme/ },
  ];

  for (const c of cases) {
    test(`${c.what} → ${c.status}${c.field ? ` (${c.field})` : ''}`, async () => {
      await assertRefused(harness(c.config), c.body(), c.status, c.field, typeof c.pattern === 'function' ? c.pattern() : c.pattern, c.what);
    });
  }

  // An unreadable directory (chmod 000) cannot be provoked here: CI runs as root,
  // which reads it anyway. A store that refuses the listing stands in for it.
  test('storage that refuses the listing (SOURCE_FORBIDDEN) → 403 naming the entry (a stub store, so it is checked as root too)', async () => {
    const objects: ObjectStore = {
      list: async () => {
        throw new RootError('SOURCE_FORBIDDEN', 'permission denied', { file: 'gs://private/data/' });
      },
      stat: async () => {
        throw new Error('not reached');
      },
      readText: async () => '',
      open: async () => {
        throw new Error('not reached');
      },
    };
    await assertRefused(harness({}, objects), { dataset: ['gs://private/data/'] }, 403, 'dataset', /gs:\/\/private\/data\/ cannot be read by the pipeline's service account/, 'forbidden listing');
  });

  test('storage trouble that a retry may fix (SOURCE_UNAVAILABLE) → 503 "try again", nothing written', async () => {
    const objects = statFailsWith('SOURCE_UNAVAILABLE', 'HTTP 503');
    await assertRefused(harness({}, objects), { dataset: ['https://h.example/f.root'] }, 503, 'dataset', /could not reach the storage of https:\/\/h\.example\/f\.root .*try again/, 'unavailable storage');
  });

  test('a document store failure → 500 with a generic message, logged, nothing published', async () => {
    const h = harness();
    h.deps.store = {
      get: async () => {
        throw new Error('firestore down');
      },
      create: (p, d) => h.store.create(p, d),
      merge: (p, d) => h.store.merge(p, d),
      query: (c, o) => h.store.query(c, o),
      aggregate: (c, w, s) => h.store.aggregate(c, w, s),
    };
    const res = await post(h, { dataset: [r21] });
    assert.equal(res.status, 500);
    assert.match(String(parse(res).error), /internal error/);
    assert.ok(h.logs.some((l) => /firestore down/.test(l)), 'the cause is logged');
    assertNothingWritten(h, 'store failure');
  });

  test('wrong method → 405 with an Allow header, nothing written', async () => {
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
      const h = harness();
      const res = await post(h, { dataset: [r21] }, '/jobs', method);
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.allow, 'POST');
      assert.match(String(parse(res).error), /method not allowed.*POST/);
      assertNothingWritten(h, method);
    }
  });

  test('unknown path → 404 naming it, nothing written', async () => {
    for (const p of ['/job', '/jobs/abc', '/submit', '/jobs/x/y']) {
      const h = harness();
      const res = await post(h, { dataset: [r21] }, p);
      assert.equal(res.status, 404, p);
      assert.match(String(parse(res).error), new RegExp(`no route POST ${p.replace(/\//g, '\\/')}`));
      assertNothingWritten(h, p);
    }
  });

  // parseJobRequest picks the field of an AnalysisConfigError by looking for the
  // words "option"/"profile" in its message, so an unknown analysis whose NAME
  // contains one of them is blamed on `options` (shared/pipeline/request.ts:81).
  test('an unknown analysis named "profile-scan" is blamed on the analysis field', async () => {
    await assertRefused(harness(), { dataset: [r21], analysis: 'profile-scan' }, 400, 'analysis', /unknown analysis "profile-scan"/, 'unknown analysis with "profile" in its name');
  });
});

// ---------------------------------------------------------------------------
describe('orchestratorHttp accepts a valid request once', () => {
  test('202 with the job id, counts and status link; the plan, job record and shard messages are stored/published', async () => {
    const h = harness({ statusBaseUrl: 'https://status.example/base/' });
    const sizes = [(await stat(r21)).size, (await stat(r22)).size];
    const body = { dataset: [r21, r22], analysis: 'reference', options: {}, jobId: 'run-1', label: 'two samples' };
    const res = await post(h, utf8(JSON.stringify(body)));
    assert.equal(res.status, 202, res.body);
    const reply = parse(res);
    assert.deepEqual(reply, { jobId: 'run-1', created: true, files: 2, shards: 2, bytes: sizes[0]! + sizes[1]!, duplicatesDropped: 0, status: 'https://status.example/base/jobs/run-1', page: 'https://status.example/base/jobs/run-1' });
    assert.equal(res.headers.location, 'https://status.example/base/jobs/run-1');

    const job = (await h.store.get('physlite-jobs/run-1')) as unknown as JobRecord;
    assert.equal(job.state, 'running');
    assert.equal(job.shards, 2);
    assert.equal(job.files, 2);
    assert.equal(job.label, 'two samples');
    assert.equal(job.createdAt, NOW);
    assert.equal(job.publishedAt, NOW);
    assert.deepEqual(job.datasetPreview, [r21, r22]);
    assert.equal(typeof job.fingerprint, 'string');

    const tasks = h.publisher.messages.map((m) => {
      assert.equal(m.topic, 'physlite-shards');
      assert.deepEqual(m.attributes, { jobId: 'run-1', kind: 'shard' });
      return m.data as unknown as ShardTask;
    });
    assert.deepEqual(
      tasks.sort((a, b) => a.shard - b.shard),
      [
        { kind: 'shard', v: 1, jobId: 'run-1', shard: 0, url: r21, size: sizes[0], part: 0, parts: 1, analysis: 'reference', options: {} },
        { kind: 'shard', v: 1, jobId: 'run-1', shard: 1, url: r22, size: sizes[1], part: 0, parts: 1, analysis: 'reference', options: {} },
      ],
    );
  });

  test('POST / and a trailing slash are the same route; without a jobId one is generated (date-time-random)', async () => {
    for (const p of ['/', '/jobs/']) {
      const h = harness();
      const res = await post(h, { dataset: r21 }, p);
      assert.equal(res.status, 202, res.body);
      const reply = parse(res);
      assert.match(String(reply.jobId), /^\d{8}-\d{6}-[0-9a-f]{6}$/);
      assert.equal(reply.status, `/jobs/${reply.jobId}`);
      assert.equal(h.publisher.messages.length, 1);
    }
  });

  test('the same request again with the same jobId → 200 created:false; nothing new written or published', async () => {
    const h = harness();
    const body = { dataset: [r21, r22], jobId: 'same', shardMB: 1 };
    const first = await post(h, body);
    assert.equal(first.status, 202);
    const shards = parse(first).shards as number;
    assert.equal(shards, 4, 'two files of ~1.7 MB at 1 MiB per shard');
    const before = h.store.snapshot();
    const published = h.publisher.messages.length;
    assert.equal(published, 4);

    // same content, keys in another order, text instead of an object
    const again = await post(h, JSON.stringify({ shardMB: 1, jobId: 'same', dataset: [r21, r22] }));
    assert.equal(again.status, 200, again.body);
    const reply = parse(again);
    assert.equal(reply.created, false);
    assert.equal(reply.jobId, 'same');
    assert.equal(reply.shards, 4);
    assert.deepEqual(h.store.snapshot(), before, 'no document changed');
    assert.equal(h.publisher.messages.length, published, 'no second publication');
    const jobs = await h.store.query(h.config.jobsCollection);
    assert.deepEqual(jobs.map((d) => d.id), ['same']);
  });

  test('the same jobId with different content → 409 on jobId; nothing changed', async () => {
    const h = harness();
    assert.equal((await post(h, { dataset: [r21], jobId: 'taken' })).status, 202);
    const before = h.store.snapshot();
    const published = h.publisher.messages.length;
    for (const other of [{ dataset: [r22], jobId: 'taken' }, { dataset: [r21], jobId: 'taken', label: 'x' }, { dataset: [r21], jobId: 'taken', options: { profile: 'r21' } }, { dataset: [r21], jobId: 'taken', shardMB: 1 }]) {
      const res = await post(h, other);
      assert.equal(res.status, 409, JSON.stringify(other));
      const reply = parse(res);
      assert.equal(reply.field, 'jobId');
      assert.match(String(reply.error), /job id taken is already used by a different request/);
    }
    assert.deepEqual(h.store.snapshot(), before);
    assert.equal(h.publisher.messages.length, published);
  });

  test('a job record whose publication was interrupted is published on the retry (and only then)', async () => {
    const h = harness();
    const real = h.publisher;
    const outage = publisherOutage(real);
    h.deps.publisher = outage.publisher;
    const first = await post(h, { dataset: [r21, r22], jobId: 'half' });
    assert.equal(first.status, 503);
    assert.match(JSON.parse(first.body).error, /job half is recorded but publishing its shards failed .*repeat the request with "jobId": "half"/);
    const job = (await h.store.get('physlite-jobs/half')) as unknown as JobRecord;
    assert.equal(job.state, 'running');
    assert.equal(job.publishedAt, undefined);
    outage.end();
    const retry = await post(h, { dataset: [r21, r22], jobId: 'half' });
    assert.equal(retry.status, 200, retry.body);
    assert.equal(real.messages.length, 2);
    assert.deepEqual(real.messages.map((m) => (m.data as unknown as ShardTask).url).sort(), [r21, r22].sort());
    assert.equal(((await h.store.get('physlite-jobs/half')) as unknown as JobRecord).publishedAt, NOW);
    await post(h, { dataset: [r21, r22], jobId: 'half' });
    assert.equal(real.messages.length, 2, 'published once the retry succeeded, not again');
  });
});

// ---------------------------------------------------------------------------
describe('concurrent requests for one jobId', () => {
  test('two identical requests at once: one job, created once', async () => {
    const h = harness();
    const body = { dataset: [r21, r22], jobId: 'twin' };
    const [a, b] = await Promise.all([post(h, body), post(h, body)]);
    assert.deepEqual([a.status, b.status].sort(), [200, 202], `${a.body}\n${b.body}`);
    assert.deepEqual((await h.store.query(h.config.jobsCollection)).map((d) => d.id), ['twin']);
    // the loser may publish the stored plan again (documented as harmless): every message names a planned shard
    for (const m of h.publisher.messages) assert.ok([r21, r22].includes((m.data as unknown as ShardTask).url));
  });

  // JobStore.createJob (shared/pipeline/state.ts:76) merge()s the plan documents
  // BEFORE the job record's create(), the commit point, and nothing ties a plan
  // document to the request that wrote it. A different request for the same
  // jobId that races the first one overwrites the committed job's stored plan
  // (then gets its 409). If the first request's publication was interrupted, its
  // retry resumes from the stored plan — the other request's files.
  test('a conflicting request racing a job\'s creation does not change that job\'s stored plan', async () => {
    const h = harness();
    const local = createLocalObjectStore();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let reachedGate!: () => void;
    const atGate = new Promise<void>((resolve) => (reachedGate = resolve));
    h.deps.objects = {
      list: (p, n) => local.list(p, n),
      readText: (u, n) => local.readText(u, n),
      open: (u, i) => local.open(u, i),
      stat: async (url) => {
        if (url === r22) {
          reachedGate();
          await gate; // request B is held after its job lookup, before its plan is written
        }
        return local.stat(url);
      },
    };
    const real = h.publisher;
    const outage = publisherOutage(real);
    h.deps.publisher = outage.publisher;

    const requestB = post(h, { dataset: [r22], jobId: 'clash' });
    await atGate; // B has looked the job up (absent) and is listing its dataset
    const first = await post(h, { dataset: [r21], jobId: 'clash' }); // A: plan + job record stored, publishing fails
    assert.equal(first.status, 503);
    release();
    const b = await requestB;
    assert.equal(b.status, 409, b.body); // B is refused, correctly…

    outage.end();
    const retry = await post(h, { dataset: [r21], jobId: 'clash' }); // A retried: resumes from the stored plan
    assert.equal(retry.status, 200, retry.body);
    const job = (await h.store.get('physlite-jobs/clash')) as unknown as JobRecord;
    assert.deepEqual(job.datasetPreview, [r21]);
    const urls = real.messages.map((m) => (m.data as unknown as ShardTask).url);
    assert.deepEqual(urls, [r21], `job "clash" (dataset ${r21}) published shards for ${urls.join(', ')}`);
  });
});

// ---------------------------------------------------------------------------
describe('handleJobDelivery (job requests from the jobs topic)', () => {
  test('a bad request is recorded as a "rejected" job named after the message id, with the reason; nothing published', async () => {
    const h = harness();
    const out = await handleJobDelivery({ messageId: 'ABC.123_x', data: { dataset: [] }, attributes: {} }, h.deps);
    assert.equal(out, undefined);
    const job = (await h.store.get('physlite-jobs-rejected/msg-abc-123-x')) as unknown as JobRecord;
    assert.ok(job, `recorded: ${JSON.stringify(Object.keys(h.store.snapshot()))}`);
    assert.equal(job.state, 'rejected');
    assert.match(job.error ?? '', /^400: dataset is empty/);
    assert.deepEqual(h.publisher.messages, []);
    assert.deepEqual(Object.keys(h.store.snapshot()), ['physlite-jobs-rejected/msg-abc-123-x']);
    const status = await jobStatus('msg-abc-123-x', { store: h.store, config: h.config, now: () => NOW });
    assert.equal(status?.state, 'rejected');
    assert.match(status?.error ?? '', /dataset is empty/);

    // redelivered: still one record, unchanged
    const before = h.store.snapshot();
    await handleJobDelivery({ messageId: 'ABC.123_x', data: { dataset: [] }, attributes: {} }, h.deps);
    assert.deepEqual(h.store.snapshot(), before);
  });

  test('a bad request that names a valid jobId is recorded under that id', async () => {
    const h = harness();
    await handleJobDelivery({ messageId: '77', data: { kind: 'job', v: 1, request: { dataset: [r21], jobId: 'mine', analysis: 'nope' } }, attributes: {} }, h.deps);
    const job = (await h.store.get('physlite-jobs-rejected/mine')) as unknown as JobRecord;
    assert.equal(job.state, 'rejected');
    assert.match(job.error ?? '', /^400: unknown analysis "nope"/);
    assert.equal(await h.store.get('physlite-jobs-rejected/msg-77'), undefined);
  });

  test('a valid request creates job msg-<id>; a redelivery of the same message creates no second job and publishes nothing more', async () => {
    const h = harness();
    const delivery = () => ({ messageId: '4711', data: { kind: 'job', v: 1, request: { dataset: [r21, r22], label: 'from the queue' } }, attributes: {} });
    const first = await handleJobDelivery(delivery(), h.deps);
    assert.equal(first?.jobId, 'msg-4711');
    assert.equal(first?.created, true);
    assert.equal(first?.shards, 2);
    assert.equal(h.publisher.messages.length, 2);
    const before = h.store.snapshot();

    const again = await handleJobDelivery(delivery(), h.deps);
    assert.equal(again?.jobId, 'msg-4711');
    assert.equal(again?.created, false);
    assert.equal(h.publisher.messages.length, 2);
    assert.deepEqual(h.store.snapshot(), before);
    assert.deepEqual((await h.store.query(h.config.jobsCollection)).map((d) => d.id), ['msg-4711']);
  });

  test('a bare request (not wrapped in {kind:"job"}) works the same', async () => {
    const h = harness();
    const out = await handleJobDelivery({ messageId: '99', data: { dataset: [r22] }, attributes: {} }, h.deps);
    assert.equal(out?.jobId, 'msg-99');
    assert.equal(((await h.store.get('physlite-jobs/msg-99')) as unknown as JobRecord).state, 'running');
  });

  test('a reused jobId (409) is recorded as rejected under the message id; the existing job is untouched', async () => {
    const h = harness();
    assert.equal((await post(h, { dataset: [r21], jobId: 'taken' })).status, 202);
    const existing = await h.store.get('physlite-jobs/taken');
    await handleJobDelivery({ messageId: '5', data: { dataset: [r22], jobId: 'taken' }, attributes: {} }, h.deps);
    assert.deepEqual(await h.store.get('physlite-jobs/taken'), existing);
    const rejected = (await h.store.get('physlite-jobs-rejected/msg-5')) as unknown as JobRecord;
    assert.equal(rejected.state, 'rejected');
    assert.match(rejected.error ?? '', /^409: job id taken is already used/);
  });

  // A refusal is kept apart from the jobs ({jobs}-rejected/{id}), so the id is
  // still free for the corrected (or, as here, unchanged) request.
  test('a request rejected because a file was missing, sent again unchanged once the file exists, runs', async () => {
    const h = harness();
    const late = path.join(dir, 'late.root');
    const body = { dataset: [late], jobId: 'late-data' };
    await handleJobDelivery({ messageId: '10', data: body, attributes: {} }, h.deps);
    assert.equal(((await h.store.get('physlite-jobs-rejected/late-data')) as unknown as JobRecord).state, 'rejected');
    await writeFile(late, Buffer.alloc(10));
    const again = await handleJobDelivery({ messageId: '11', data: body, attributes: {} }, h.deps);
    const rejected = (await h.store.get('physlite-jobs-rejected/msg-11')) as unknown as JobRecord | undefined;
    assert.equal(rejected, undefined, `the resent request was rejected: ${rejected?.error}`);
    assert.equal(again?.jobId, 'late-data');
  });

  test('transient trouble (503) is thrown for a redelivery and records nothing', async () => {
    const objects = statFailsWith('SOURCE_TIMEOUT', 'deadline');
    const h = harness({}, objects);
    await assert.rejects(handleJobDelivery({ messageId: '6', data: { dataset: ['https://h.example/f.root'] }, attributes: {} }, h.deps), (e: unknown) => (e as { status?: number }).status === 503);
    assertNothingWritten(h, '503 from the queue');
  });
});

/** The local object store, except that every stat() fails with this (transient) storage error. */
function statFailsWith(code: 'SOURCE_UNAVAILABLE' | 'SOURCE_TIMEOUT', detail: string): ObjectStore {
  const local = createLocalObjectStore();
  return {
    list: (p, n) => local.list(p, n),
    readText: (u, n) => local.readText(u, n),
    open: (u, i) => local.open(u, i),
    stat: async (url) => {
      throw new RootError(code, detail, { file: url });
    },
  };
}

/** A publisher that fails ("pubsub unavailable") until end(), then publishes to `real`. */
function publisherOutage(real: Publisher): { publisher: Publisher; end(): void } {
  let down = true;
  return {
    publisher: {
      publish: async (topic, data, attributes) => {
        if (down) throw new Error('pubsub unavailable');
        return real.publish(topic, data, attributes);
      },
    },
    end: () => {
      down = false;
    },
  };
}
