// Issue 14, items 7-10 and 12, each reproduced exactly as reported and kept:
//
//   7  the local server takes requests from any web page (text/plain POST from
//      another Origin → 202; DNS rebinding reads the replies)
//   8  a refused request echoes the first line of any readable .txt/.list/.lst
//   9  a signed URL's signature shows in status JSON, page, failure list,
//      stored records, logs and CLI output
//   10 the cloud object store accepts plain http:// and follows redirects
//      anywhere (SSRF: the metadata server, link-local addresses)
//   12 GET /jobs/%ZZ answers 500 with a stack trace in the log
//
// Item 11 (deployment) is checked in terraform.test.ts.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { collect, rawRequest } from './support/raw-http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { resolveConfig } from '../shared/pipeline/config';
import { cloudObjectStore } from '../shared/pipeline/google/env';
import { orchestratorHttp, statusHttp } from '../shared/pipeline/http';
import { LocalPipeline } from '../shared/pipeline/local/job';
import { MemoryDocumentStore } from '../shared/pipeline/local/memory-store';
import { createLocalObjectStore } from '../shared/pipeline/local/object-store';
import { handleJobDelivery } from '../shared/pipeline/orchestrator';
import type { ObjectStore } from '../shared/pipeline/ports';
import { RequestError } from '../shared/pipeline/request';
import { renderJobPage } from '../shared/pipeline/status-page';
import { jobCommand } from '../shared/cli/job';
import { runCommand } from '../shared/cli/run';
import { RootError } from '../shared/root/errors';
import { openSource } from '../shared/root/source/index';
import { checkUrl, CLOUD_URL_POLICY, displayName, guardedFetch, LOCAL_URL_POLICY, UrlRefusedError, type UrlPolicy } from '../shared/root/source/url-policy';
import { RecordingPublisher } from './support/recording-publisher';
import { startRangeServer, type RangeServer } from './support/range-server';

let dir: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'security-test-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------
describe('7. the local server answers only requests addressed to it, and takes writes only as same-origin JSON', () => {
  let pipeline: LocalPipeline;
  let port: number;
  const JOB = JSON.stringify({ dataset: ['/nonexistent/x.root'] });

  before(async () => {
    pipeline = new LocalPipeline({ workers: 1 });
    port = (await pipeline.serve(0)).port;
  });
  after(() => pipeline.close());

  test('the reported request — POST /jobs, text/plain, Origin: http://attacker.example — is refused (403), nothing is written', async () => {
    const r = await rawRequest(port, { method: 'POST', headers: { host: `127.0.0.1:${port}`, 'content-type': 'text/plain', origin: 'http://attacker.example' }, body: JOB });
    assert.equal(r.status, 403, r.text);
    assert.match(JSON.parse(r.text).error, /Origin "http:\/\/attacker\.example" are refused/);
    assert.deepEqual(pipeline.store.snapshot(), {});
  });

  test('cross-origin JSON, a "null" Origin and a browser\'s Sec-Fetch-Site: cross-site/same-site are refused too (403)', async () => {
    const refusedHeaders: Record<string, string>[] = [
      { origin: 'http://attacker.example' },
      { origin: 'null' },
      { origin: `http://localhost:${port + 1}` },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
    ];
    for (const headers of refusedHeaders) {
      const r = await rawRequest(port, { method: 'POST', headers: { host: `127.0.0.1:${port}`, 'content-type': 'application/json', ...headers }, body: JOB });
      assert.equal(r.status, 403, `${JSON.stringify(headers)}: ${r.text}`);
    }
    assert.deepEqual(pipeline.store.snapshot(), {});
  });

  test('a body that is not declared JSON is 415 (text/plain, a form, none) — what a page can send without a preflight', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', undefined]) {
      const r = await rawRequest(port, { method: 'POST', headers: { host: `127.0.0.1:${port}`, ...(type ? { 'content-type': type } : {}) }, body: JOB });
      assert.equal(r.status, 415, `${type}: ${r.text}`);
      assert.match(JSON.parse(r.text).error, /Content-Type: application\/json/);
    }
    assert.deepEqual(pipeline.store.snapshot(), {});
  });

  test('same-origin JSON from the server\'s own page, or from a program without Origin, gets through to validation', async () => {
    const allowed: Record<string, string>[] = [{}, { origin: `http://127.0.0.1:${port}` }, { 'sec-fetch-site': 'same-origin' }, { 'content-type': 'application/json; charset=utf-8' }];
    for (const headers of allowed) {
      const r = await rawRequest(port, { method: 'POST', headers: { host: `127.0.0.1:${port}`, 'content-type': 'application/json', ...headers }, body: '{}' });
      assert.equal(r.status, 400, r.text);
      assert.match(JSON.parse(r.text).error, /dataset is missing/);
    }
  });

  test('DNS rebinding: a request for Host attacker.example (with or without the port) is 403 and answers no job data', async () => {
    for (const host of ['attacker.example', `attacker.example:${port}`, `127.0.0.1:${port + 1}`, '127.0.0.1', `127.0.0.2:${port}`, `localhost.attacker.example:${port}`]) {
      for (const p of ['/jobs', '/jobs?format=json', '/jobs/some-job']) {
        const r = await rawRequest(port, { path: p, headers: { host } });
        assert.equal(r.status, 403, `${host} ${p}: ${r.text}`);
        assert.deepEqual(Object.keys(JSON.parse(r.text)).sort(), ['error', 'status']);
      }
    }
    // a refused POST does not plan or write either
    const r = await rawRequest(port, { method: 'POST', headers: { host: 'attacker.example', 'content-type': 'application/json' }, body: JOB });
    assert.equal(r.status, 403);
    assert.deepEqual(pipeline.store.snapshot(), {});
  });

  test('the loopback names with the server\'s port are answered', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `LOCALHOST:${port}`]) {
      const r = await rawRequest(port, { path: '/jobs?format=json', headers: { host } });
      assert.equal(r.status, 200, `${host}: ${r.text}`);
      assert.deepEqual(JSON.parse(r.text), { jobs: [] });
    }
  });

  test('a request target that is not a path ("//host/…", absolute form) is not taken for another authority', async () => {
    const r = await rawRequest(port, { path: '//attacker.example/jobs', headers: { host: `127.0.0.1:${port}` } });
    assert.equal(r.status, 404, r.text);
  });
});

// ---------------------------------------------------------------------------
describe('12. a malformed path is a 400, never a 500 with a stack trace', () => {
  const store = new MemoryDocumentStore();
  const config = resolveConfig();

  test('GET /jobs/%ZZ (and other bad escapes) → 400 naming the problem; nothing is logged', async () => {
    for (const p of ['/jobs/%ZZ', '/jobs/%', '/jobs/abc%E0%A4%A', '/jobs/%C0%80']) {
      const logs: string[] = [];
      const r = await statusHttp({ method: 'GET', path: p, query: new URLSearchParams(), headers: {} }, { store, config, log: (l) => logs.push(l) });
      assert.equal(r.status, 400, `${p}: ${r.body}`);
      assert.deepEqual(JSON.parse(r.body), { error: 'the job id in the path is not valid percent-encoding', status: 400 });
      assert.deepEqual(logs, [], 'no internal error, no stack trace');
    }
  });

  test('through the local server too', async () => {
    const pipeline = new LocalPipeline({ workers: 1 });
    try {
      const { port } = await pipeline.serve(0);
      const r = await rawRequest(port, { path: '/jobs/%ZZ', headers: { host: `127.0.0.1:${port}` } });
      assert.equal(r.status, 400);
      assert.doesNotMatch(r.text, /URIError|\bat \w|node:/);
    } finally {
      await pipeline.close();
    }
  });

  test('a well-formed escape still decodes: %61bc is the job "abc"', async () => {
    const r = await statusHttp({ method: 'GET', path: '/jobs/%61bc', query: new URLSearchParams(), headers: {} }, { store, config });
    assert.equal(r.status, 404);
    assert.match(JSON.parse(r.body).error, /no job abc/);
  });
});

// ---------------------------------------------------------------------------
describe('8. a refused request names what was wrong, never what a file says', () => {
  const SECRET = 'TOPSECRET-hunter2';

  test('the reported request — POST /jobs {"dataset": ["/tmp/x.txt"]} — answers 400 without the file\'s text', async () => {
    const file = path.join(dir, 'x.txt');
    await writeFile(file, `${SECRET} first line\nsecond ${SECRET}\n`);
    const pipeline = new LocalPipeline({ workers: 1 });
    try {
      const { port } = await pipeline.serve(0);
      const r = await rawRequest(port, { method: 'POST', headers: { host: `127.0.0.1:${port}`, 'content-type': 'application/json' }, body: JSON.stringify({ dataset: [file] }) });
      assert.equal(r.status, 400);
      const error = JSON.parse(r.text).error as string;
      assert.equal(error.includes('TOPSECRET'), false, error);
      assert.equal(error.includes('hunter2'), false, error);
      assert.match(error, new RegExp(`line 1 of index file ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} was not found`));
    } finally {
      await pipeline.close();
    }
  });

  test('every refusal about an index file\'s line (.txt, .list, .lst): not found, too long, another index, not readable in the cloud', async () => {
    const store = new MemoryDocumentStore();
    const config = resolveConfig();
    const deps = { store, publisher: new RecordingPublisher(), objects: createLocalObjectStore(), config, log: () => undefined };
    const cases: [string, string, RegExp][] = [
      ['a.list', `${SECRET}\n`, /line 1 of index file .*a\.list was not found/],
      ['b.lst', `# comment\n\n/${SECRET}/x.root\n`, /line 3 of index file .*b\.lst was not found/],
      ['c.txt', `${SECRET}.txt\n`, /line 1 of index file .*c\.txt names another index file/],
      ['d.txt', `/${SECRET}${'x'.repeat(2100)}.root\n`, /line 1 of index file .*d\.txt is longer than 2048 characters/],
    ];
    for (const [name, content, expected] of cases) {
      await writeFile(path.join(dir, name), content);
      const r = await orchestratorHttp({ method: 'POST', path: '/jobs', query: new URLSearchParams(), headers: { 'content-type': 'application/json' }, body: JSON.stringify({ dataset: [path.join(dir, name)] }) }, deps);
      assert.equal(r.status, 400, r.body);
      assert.match(r.body, expected);
      assert.equal(r.body.includes('TOPSECRET'), false, r.body);
    }
  });

  test('the same for an index object in the cloud, whatever the storage error quotes', async () => {
    const inner: ObjectStore = {
      list: async () => [],
      readText: async () => `${SECRET}/a.root\n`,
      stat: async (url) => {
        throw new RootError('SOURCE_NOT_FOUND', `no such object ${url} (HTTP 404: No such object: b/${SECRET}/a.root)`, { file: url });
      },
      open: async () => {
        throw new Error('not used');
      },
    };
    const deps = { store: new MemoryDocumentStore(), publisher: new RecordingPublisher(), objects: cloudObjectStore(inner), config: resolveConfig(), log: () => undefined };
    const r = await orchestratorHttp({ method: 'POST', path: '/jobs', query: new URLSearchParams(), headers: { 'content-type': 'application/json' }, body: { dataset: ['gs://b/index.txt'] } }, deps);
    assert.equal(r.status, 400, r.body);
    assert.match(r.body, /line 1 of index file gs:\/\/b\/index\.txt was not found/);
    assert.equal(r.body.includes('TOPSECRET'), false, r.body);
  });
});

// ---------------------------------------------------------------------------
describe('9. a signed URL\'s query string is never stored or shown, only used to read', () => {
  const SIGNATURE = '5ecre7deadbeefcafe0123456789signature';
  const QUERY = `?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=svc%40proj.iam.gserviceaccount.com%2F20261202%2Fauto%2Fstorage%2Fgoog4_request&X-Goog-Signature=${SIGNATURE}`;
  let server: RangeServer;
  let pipeline: LocalPipeline;
  const logs: string[] = [];

  before(async () => {
    // 4 KiB that are not a ROOT file: the shard fails (BAD_MAGIC) and is listed with its URL
    server = await startRangeServer({ 'not-root.root': new Uint8Array(4096).fill(7) });
    pipeline = new LocalPipeline({ workers: 1, log: (l) => logs.push(l) });
  });
  after(async () => {
    await pipeline.close();
    await server.close();
  });

  const signed = () => `${server.urlFor('not-root.root')}${QUERY}`;
  const leaks = (where: string, text: string) => {
    assert.equal(text.includes(SIGNATURE), false, `${where} shows the signature: ${text.slice(0, 2000)}`);
    assert.equal(text.includes('X-Goog-Credential'), false, `${where} shows the credential`);
  };

  test('the reported input: a job over https://host/f.root?X-Goog-Signature=…&X-Goog-Credential=… — status JSON, page, failure list, stored records, logs', async () => {
    const { port, url } = await pipeline.serve(0);
    const post = await rawRequest(port, { method: 'POST', headers: { host: `127.0.0.1:${port}`, 'content-type': 'application/json' }, body: JSON.stringify({ dataset: [signed()], label: 'signed' }) });
    assert.equal(post.status, 202, post.text);
    leaks('the 202 reply', post.text);
    const jobId = JSON.parse(post.text).jobId as string;
    const status = await pipeline.waitFor(jobId, undefined, 50);
    assert.equal(status.shards.failed, 1);
    // the signature was used to read: every request the worker and the planner made carried it
    assert.ok(server.log.length > 0);
    for (const r of server.log) assert.equal(r.query, QUERY);
    assert.equal(status.failures.length, 1);
    assert.equal(status.failures[0]!.url, server.urlFor('not-root.root'));
    assert.equal(status.failures[0]!.error.code, 'BAD_MAGIC');
    assert.deepEqual(status.dataset.preview, [server.urlFor('not-root.root')]);

    const json = await rawRequest(port, { path: `/jobs/${jobId}?format=json`, headers: { host: `127.0.0.1:${port}` } });
    assert.equal(json.status, 200);
    leaks('status JSON', json.text);
    const page = await rawRequest(port, { path: `/jobs/${jobId}`, headers: { host: `127.0.0.1:${port}`, accept: 'text/html' } });
    assert.match(page.text, /not-root\.root/);
    leaks('status page', page.text);
    leaks('rendered page', renderJobPage(status));
    const list = await rawRequest(port, { path: '/jobs?format=json', headers: { host: `127.0.0.1:${port}` } });
    leaks('job list', list.text);
    assert.ok(url);

    // stored: every record but the plan, which keeps the URL the workers must read
    const stored = Object.entries(pipeline.store.snapshot());
    const plan = stored.filter(([p]) => p.includes('/plans/'));
    assert.ok(plan.length > 0 && JSON.stringify(plan).includes(SIGNATURE), 'the plan keeps the URL that is read');
    for (const [p, doc] of stored) if (!p.includes('/plans/')) leaks(`stored record ${p}`, JSON.stringify(doc));
    leaks('logs', logs.join('\n'));
  });

  test('a signed URL that cannot be planned: the 400, and a refused job request from the queue recorded as rejected', async () => {
    const missing = `${server.urlFor('missing.root')}${QUERY}`;
    const store = new MemoryDocumentStore();
    const log: string[] = [];
    const deps = { store, publisher: new RecordingPublisher(), objects: createLocalObjectStore(), config: resolveConfig(), log: (l: string) => log.push(l) };
    const r = await orchestratorHttp({ method: 'POST', path: '/jobs', query: new URLSearchParams(), headers: { 'content-type': 'application/json' }, body: { dataset: [missing] } }, deps);
    assert.equal(r.status, 400);
    assert.match(r.body, /missing\.root was not found/);
    leaks('the 400', r.body);
    await handleJobDelivery({ messageId: 'm1', data: { dataset: [missing] }, attributes: {}, deliveryAttempt: 1 } as never, deps);
    leaks('the rejected record', JSON.stringify(store.snapshot()));
    leaks('the log', log.join('\n'));
  });

  test('CLI output: physlite job --local --json and physlite run --keep-going (--json and text)', async () => {
    const out = collect();
    const err = collect();
    const code = await jobCommand(['--local', signed(), '--json', '--workers', '1'], out, err);
    assert.equal(code, 1);
    assert.match(out.text(), /BAD_MAGIC/);
    leaks('job --json', out.text() + err.text());
    const text = collect();
    await jobCommand(['--local', signed(), '--workers', '1'], text, err);
    assert.match(text.text(), /FAILED shard 0 \(http:\/\/127\.0\.0\.1:\d+\/not-root\.root, part 1\/1\)/);
    leaks('job', text.text() + err.text());
    for (const args of [['--json'], []]) {
      const o = collect();
      const e = Object.assign(collect(), { isTTY: true });
      assert.equal(await runCommand([signed(), '--keep-going', ...args], o, e), 1);
      assert.match(o.text(), /BAD_MAGIC|not a ROOT file/);
      leaks(`run ${args.join(' ')}`, o.text() + e.text());
    }
  });

  test('displayName: http(s) URLs lose user info, query and fragment; gs:// names and paths are kept whole', () => {
    assert.equal(displayName(`https://user:pw@host.example/f.root${QUERY}#frag`), 'https://host.example/f.root');
    assert.equal(displayName('gs://bucket/odd?name#1.root'), 'gs://bucket/odd?name#1.root');
    assert.equal(displayName('/data/a?b.root'), '/data/a?b.root');
    assert.equal(displayName('C:\\data\\x.root'), 'C:\\data\\x.root');
  });
});

// ---------------------------------------------------------------------------
describe('10. the cloud reads https:// and gs:// only, and no redirect leads off https or to internal addresses', () => {
  let requests = 0;
  let plain: Server;
  let plainPort: number;

  before(async () => {
    plain = createServer((req, res) => {
      requests++;
      if (req.url?.startsWith('/to-metadata')) res.writeHead(302, { location: 'http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token' }).end();
      else if (req.url?.startsWith('/to-file')) res.writeHead(301, { location: 'file:///etc/passwd' }).end();
      else if (req.url?.startsWith('/to-link-local')) res.writeHead(307, { location: 'http://[fe80::1]/x.root' }).end();
      else if (req.url?.startsWith('/to-name')) res.writeHead(308, { location: 'http://metadata.google.internal./computeMetadata/v1/' }).end();
      else if (req.url?.startsWith('/to-good')) res.writeHead(302, { location: '/good.root' }).end();
      else if (req.url?.startsWith('/loop')) res.writeHead(302, { location: '/loop' }).end();
      else if (req.url?.startsWith('/good.root')) res.writeHead(200, { 'content-length': '10' }).end(req.method === 'HEAD' ? undefined : 'abcdefghij');
      else if (req.url?.startsWith('/index.txt')) res.writeHead(200, { 'content-type': 'text/plain' }).end('SECRET-LINE-ONE\n');
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    plainPort = (plain.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((r) => plain.close(() => r())));

  const refused = (pattern: RegExp) => (e: unknown) => {
    assert.ok(e instanceof UrlRefusedError, `expected UrlRefusedError, got ${String(e)}`);
    assert.equal(e.code, 'BAD_ARGUMENT');
    assert.equal(e.transient, false);
    assert.match(e.message, pattern);
    return true;
  };

  test('the reported input: plain http:// in the cloud object store is a typed refusal, and no request is made', async () => {
    const store = cloudObjectStore();
    const before = requests;
    for (const op of [() => store.stat(`http://127.0.0.1:${plainPort}/good.root`), () => store.readText(`http://127.0.0.1:${plainPort}/index.txt`, 1000), () => store.open(`http://127.0.0.1:${plainPort}/good.root`), () => store.list(`http://127.0.0.1:${plainPort}/`, 10)]) {
      await assert.rejects(op(), refused(/reads gs:\/\/ and https:\/\/ objects only, not http:\/\/ URLs/));
    }
    assert.equal(requests, before, 'nothing was requested');
  });

  test('through the orchestrator: a 400 naming the entry, and an index listing http:// names the line, not its text', async () => {
    const deps = { store: new MemoryDocumentStore(), publisher: new RecordingPublisher(), objects: cloudObjectStore(), config: resolveConfig(), log: () => undefined };
    const r = await orchestratorHttp({ method: 'POST', path: '/jobs', query: new URLSearchParams(), headers: { 'content-type': 'application/json' }, body: { dataset: [`http://127.0.0.1:${plainPort}/good.root`] } }, deps);
    assert.equal(r.status, 400);
    assert.match(JSON.parse(r.body).error, /not http:\/\/ URLs/);
    const inner: ObjectStore = { ...createLocalObjectStore(), readText: async () => 'http://169.254.169.254/computeMetadata/v1/SECRET-PATH.root\n', list: async () => [], stat: async () => assert.fail('not reached'), open: async () => assert.fail('not reached') };
    const viaIndex = await orchestratorHttp({ method: 'POST', path: '/jobs', query: new URLSearchParams(), headers: { 'content-type': 'application/json' }, body: { dataset: ['gs://b/list.txt'] } }, { ...deps, objects: cloudObjectStore(inner) });
    assert.equal(viaIndex.status, 400);
    assert.match(viaIndex.body, /line 1 of index file gs:\/\/b\/list\.txt/);
    assert.equal(viaIndex.body.includes('SECRET-PATH'), false, viaIndex.body);
  });

  test('https to the metadata server, link-local, loopback or unspecified addresses is refused in the cloud before any request', async () => {
    let calls = 0;
    const fakeFetch = (async () => {
      calls++;
      return new Response('x');
    }) as typeof fetch;
    const policy: UrlPolicy = { ...CLOUD_URL_POLICY, resolve: async () => ['203.0.113.7'] };
    const store = cloudObjectStore(createLocalObjectStore({ urlPolicy: policy, http: { fetch: fakeFetch, retries: 0 } }), policy);
    for (const url of [
      'https://169.254.169.254/computeMetadata/v1/',
      'https://metadata.google.internal/computeMetadata/v1/',
      'https://METADATA.GOOGLE.INTERNAL./x',
      'https://metadata/computeMetadata/v1/',
      'https://169.254.1.1/x.root',
      'https://[fe80::1]/x.root',
      'https://[fd20:ce::254]/x.root',
      'https://[::ffff:169.254.169.254]/x.root',
      'https://0xA9FEA9FE/x.root', // 169.254.169.254 spelt as one hex number
      'https://127.0.0.1/x.root',
      'https://[::1]/x.root',
      'https://0.0.0.0/x.root',
    ]) {
      await assert.rejects(store.stat(url), refused(/metadata server|link-local|loopback/), url);
    }
    assert.equal(calls, 0);
  });

  test('a host name that resolves to the metadata server or a link-local address is refused in the cloud', async () => {
    for (const address of ['169.254.169.254', 'fe80::5', '::ffff:a9fe:a9fe', '127.0.0.1']) {
      const policy: UrlPolicy = { ...CLOUD_URL_POLICY, resolve: async () => ['203.0.113.9', address] };
      await assert.rejects(checkUrl('https://rebinding.example/x.root', policy), refused(/rebinding\.example resolves to/));
    }
    await checkUrl('https://data.example/x.root', { ...CLOUD_URL_POLICY, resolve: async () => ['203.0.113.9', '2001:db8::1'] });
  });

  test('redirects to the metadata server, file:, link-local and the metadata name are refused, locally too; the server sees one request', async () => {
    const store = createLocalObjectStore({ http: { retries: 0 } });
    for (const [p, why] of [
      ['/to-metadata', /redirect \(HTTP 302\) refused: 169\.254\.169\.254 is the metadata server/],
      ['/to-file', /redirect \(HTTP 301\) refused: file:\/\/ URLs are not read/],
      ['/to-link-local', /redirect \(HTTP 307\) refused: fe80::1 is a link-local address/],
      ['/to-name', /redirect \(HTTP 308\) refused: the metadata server/],
    ] as const) {
      const before = requests;
      await assert.rejects(store.stat(`http://127.0.0.1:${plainPort}${p}`), refused(why), p);
      await assert.rejects(store.readText(`http://127.0.0.1:${plainPort}${p}`, 100), refused(why), p);
      assert.equal(requests - before, 2, `${p}: one request per call, the redirect not followed`);
    }
    await assert.rejects(store.stat(`http://127.0.0.1:${plainPort}/loop`), refused(/more than 5 redirects/));
  });

  test('physlite run\'s reader (openSource) follows no redirect to the metadata server either', async () => {
    const src = await openSource(`http://127.0.0.1:${plainPort}/to-metadata`, { retries: 0 });
    try {
      await assert.rejects(src.size(), refused(/redirect \(HTTP 302\) refused: 169\.254\.169\.254 is the metadata server/));
    } finally {
      await src.close();
    }
  });

  test('a redirect the policy allows is still followed (same origin, local run)', async () => {
    const store = createLocalObjectStore();
    assert.deepEqual(await store.stat(`http://127.0.0.1:${plainPort}/to-good`), { url: `http://127.0.0.1:${plainPort}/to-good`, size: 10 });
    assert.equal(await store.readText(`http://127.0.0.1:${plainPort}/to-good`, 100), 'abcdefghij');
  });

  test('in the cloud a redirect may not leave https (downgrade to http), and credentials do not follow a redirect to another origin', async () => {
    const seen: { url: string; auth: string | null }[] = [];
    const fake = (async (input: string | URL | Request, init?: RequestInit) => {
      const url = String(input);
      seen.push({ url, auth: new Headers(init?.headers).get('authorization') });
      assert.equal(init?.redirect, 'manual');
      if (url === 'https://a.example/down') return new Response(null, { status: 302, headers: { location: 'http://a.example/f.root' } });
      if (url === 'https://a.example/away') return new Response(null, { status: 302, headers: { location: 'https://b.example/f.root' } });
      return new Response('ok');
    }) as typeof fetch;
    const policy: UrlPolicy = { ...CLOUD_URL_POLICY, resolve: async () => ['203.0.113.7'] };
    const guarded = guardedFetch(policy, fake);
    await assert.rejects(guarded('https://a.example/down', { headers: { authorization: 'Bearer t0ken' } }), refused(/redirect \(HTTP 302\) refused: http:\/\/ URLs are not read in the cloud pipeline/));
    const res = await guarded('https://a.example/away', { headers: { authorization: 'Bearer t0ken' } });
    assert.equal(await res.text(), 'ok');
    assert.deepEqual(seen.slice(1), [
      { url: 'https://a.example/away', auth: 'Bearer t0ken' },
      { url: 'https://b.example/f.root', auth: null },
    ]);
  });

  test('the policies themselves: local allows http and loopback, the cloud neither', async () => {
    await checkUrl('http://127.0.0.1:1/x', LOCAL_URL_POLICY);
    await assert.rejects(checkUrl('http://169.254.169.254/', LOCAL_URL_POLICY), refused(/metadata server/));
    await assert.rejects(checkUrl('http://data.example/x', CLOUD_URL_POLICY), refused(/http:\/\/ URLs are not read in the cloud pipeline \(https:\/\/ only\)/));
    assert.ok(new UrlRefusedError('x', 'https://h/p?sig=1') instanceof RootError);
    assert.equal(new UrlRefusedError('x', 'https://h/p?sig=1').context.file, 'https://h/p');
    assert.ok(RequestError);
  });
});
