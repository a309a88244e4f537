// Tests of shared/root/source: the planner (coalescing, splitting, slicing),
// the four sources (memory, local file, HTTP, Cloud Storage) against the same
// bytes read with fs, the concurrency limit, retries, and the RootError code
// of every misbehaviour the test servers can produce, within bounded time.
//
// HTTP runs against test/support/range-server.ts, Cloud Storage against the
// fake JSON API in test/support/fake-gcs.ts, both on 127.0.0.1.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createServer } from 'node:net';
import { spawnSync } from 'node:child_process';
import { RootError, type RootErrorCode } from '../shared/root/errors';
import { BufferSource, GcsSource, HttpSource, LocalFileSource, openSource, planReads, type ByteRange, type ByteSource } from '../shared/root/source';
import { backoffDelay, redactUrl, Semaphore } from '../shared/root/source/util';
import { prng } from './support/prng';
import { samplePath } from '../scripts/lib/samples';
import { startRangeServer, type RangeServer } from './support/range-server';
import { startFakeGcs, type FakeGcs } from './support/fake-gcs';

// ../shared/data, or a sha256-checked download when it is absent
const SAMPLE = await samplePath('uproot-HZZ-zlib.root');
const BIG_SAMPLE = await samplePath('DAOD_PHYSLITE_21.2.108.0.art.pool.root');
const DATA_DIR = dirname(SAMPLE);
const KiB = 1024;
const MiB = 1024 * 1024;
const SECRET = 'S3CR3T-signature-abcdef0123456789';

/**
 * Network settings for tests: no retries, no backoff to speak of. The deadline
 * only ends requests that were meant to succeed (every test that stalls the
 * server sets its own short one), so it is generous: a busy machine, or test
 * files running in parallel, can hold a local answer past a few hundred ms.
 */
const FAST = { timeoutMs: 5000, retries: 0, retryBaseMs: 1, retryMaxMs: 5 };

// ---------------------------------------------------------------------------
// helpers


/** A mix of ranges over a file of `size` bytes: scattered, clustered, overlapping, duplicated, empty, first and last byte. */
function mixedRanges(size: number, seed = 1): ByteRange[] {
  const rand = prng(seed);
  const out: ByteRange[] = [
    { offset: 0, length: 512 },
    { offset: size - 1, length: 1 },
    { offset: 100, length: 0 },
    { offset: 0, length: 512 },
    { offset: 256, length: 1000 },
  ];
  for (let i = 0; i < 30; i++) {
    const length = 1 + Math.floor(rand() * 20_000);
    const offset = Math.floor(rand() * (size - length));
    out.push({ offset, length });
    if (rand() < 0.3) out.push({ offset: offset + Math.floor(length / 2), length: Math.min(size - offset - Math.floor(length / 2), 3000) });
  }
  return out;
}

function expected(bytes: Uint8Array, ranges: readonly ByteRange[]): Uint8Array[] {
  return ranges.map((r) => bytes.subarray(r.offset, r.offset + r.length));
}

function assertSameBytes(got: Uint8Array[], want: Uint8Array[]): void {
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) {
    assert.equal(got[i]!.length, want[i]!.length, `length of range ${i}`);
    assert.ok(Buffer.from(got[i]!.buffer, got[i]!.byteOffset, got[i]!.length).equals(want[i]!), `bytes of range ${i}`);
  }
}

/** Awaits a rejection with a RootError of `code` that names `file`, within `maxMs`. */
async function expectRootError(p: Promise<unknown>, code: RootErrorCode, opts: { file?: string; maxMs?: number; transient?: boolean } = {}): Promise<RootError> {
  const t0 = performance.now();
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  const ms = performance.now() - t0;
  assert.ok(err !== undefined, `expected ${code}, but the call succeeded`);
  assert.ok(err instanceof RootError, `expected a RootError, got ${String(err)}`);
  assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
  if (opts.file !== undefined) assert.equal(err.context.file, opts.file);
  if (opts.transient !== undefined) assert.equal(err.transient, opts.transient);
  if (opts.maxMs !== undefined) assert.ok(ms < opts.maxMs, `took ${ms.toFixed(0)} ms, more than ${opts.maxMs}`);
  return err;
}

/** A port on 127.0.0.1 with nothing listening. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}


// ---------------------------------------------------------------------------
// planner

describe('planReads', () => {
  // the waste bound is tested on its own below; here only gaps and sizes decide
  const opts = { maxGap: 64 * KiB, maxRequestBytes: 8 * MiB, maxWasteRatio: Infinity };

  test('bridges a gap only while gap bytes stay within maxWasteRatio of the useful bytes', () => {
    const small = [
      { offset: 0, length: 1000 },
      { offset: 1400, length: 1000 }, // gap 400 <= 0.5 * 2000: joins
      { offset: 3400, length: 100 }, // gap 1000 > 0.5 * 2100 - 400: new span
    ];
    const plan = planReads(small, { maxGap: 64 * KiB, maxRequestBytes: 8 * MiB });
    assert.deepEqual(plan.requests, [
      { offset: 0, length: 2400 },
      { offset: 3400, length: 100 },
    ]);
    // transferred bytes never exceed 1.5x the asked-for bytes with the default ratio
    const rnd = prng(7);
    for (let k = 0; k < 50; k++) {
      const ranges = Array.from({ length: 40 }, () => ({ offset: Math.floor(rnd() * 1e6), length: 1 + Math.floor(rnd() * 5000) }));
      const p = planReads(ranges, { maxGap: 64 * KiB, maxRequestBytes: 8 * MiB });
      const covered = new Uint8Array(1e6 + 5000);
      for (const r of ranges) covered.fill(1, r.offset, r.offset + r.length);
      const useful = covered.reduce((n, x) => n + x, 0);
      const fetched = p.requests.reduce((n, r) => n + r.length, 0);
      assert.ok(fetched <= 1.5 * useful, `fetched ${fetched} for ${useful} useful bytes`);
    }
  });

  test('coalesces close ranges, keeps far ones apart, slices back exactly', () => {
    const ranges = [
      { offset: 1000, length: 100 }, // span 0
      { offset: 50, length: 100 }, // span 0 (gap 850)
      { offset: 1050, length: 100 }, // span 0, overlapping
      { offset: 1000, length: 100 }, // span 0, duplicate
      { offset: 70_000, length: 10 }, // span 0: gap 68 850 > 64 KiB → no: span 1
      { offset: 500_000, length: 4 }, // span 2
      { offset: 123, length: 0 }, // empty: no request
    ];
    const plan = planReads(ranges, opts);
    assert.deepEqual(
      plan.spans.map((s) => [s.offset, s.length]),
      [
        [50, 1100],
        [70_000, 10],
        [500_000, 4],
      ],
    );
    assert.deepEqual(plan.requests, [
      { offset: 50, length: 1100 },
      { offset: 70_000, length: 10 },
      { offset: 500_000, length: 4 },
    ]);
    assert.deepEqual(plan.slices, [{ span: 0, start: 950 }, { span: 0, start: 0 }, { span: 0, start: 1000 }, { span: 0, start: 950 }, { span: 1, start: 0 }, { span: 2, start: 0 }, null]);
    // With a 70 000-byte gap allowed, the first two spans merge.
    assert.equal(planReads(ranges, { ...opts, maxGap: 70_000 }).requests.length, 2);
    // Gap 0: touching and overlapping ranges still merge, nothing else.
    assert.equal(planReads([{ offset: 0, length: 10 }, { offset: 10, length: 10 }, { offset: 21, length: 1 }], { ...opts, maxGap: 0 }).requests.length, 2);
  });

  test('respects the request size cap when coalescing', () => {
    const three = (i: number) => ({ offset: i * 3 * MiB, length: 3 * MiB });
    const plan = planReads([three(0), three(1), three(2), three(3)], opts);
    assert.deepEqual(
      plan.requests.map((r) => [r.offset / MiB, r.length / MiB]),
      [
        [0, 6],
        [6, 6],
      ],
    );
  });

  test('splits a range larger than the cap into equal parallel requests; contained ranges ride along', () => {
    const plan = planReads([{ offset: 10, length: 20 * MiB }, { offset: 10 + MiB, length: MiB }], opts);
    assert.equal(plan.spans.length, 1);
    assert.equal(plan.requests.length, 3);
    assert.equal(plan.requests.reduce((n, r) => n + r.length, 0), 20 * MiB);
    assert.ok(plan.requests.every((r) => r.length <= 8 * MiB));
    for (let i = 1; i < 3; i++) assert.equal(plan.requests[i]!.offset, plan.requests[i - 1]!.offset + plan.requests[i - 1]!.length);
    assert.deepEqual(plan.slices[1], { span: 0, start: MiB });
  });

  test('empty input and all-empty ranges plan no request', () => {
    assert.equal(planReads([], opts).requests.length, 0);
    assert.equal(planReads([{ offset: 5, length: 0 }], opts).requests.length, 0);
  });
});

describe('helpers', () => {
  test('redactUrl drops query, fragment and user info', () => {
    assert.equal(redactUrl(`https://user:pw@example.org:8443/a/b.root?X-Goog-Signature=${SECRET}#frag`), 'https://example.org:8443/a/b.root');
  });

  test('backoff grows exponentially, is capped and jittered', () => {
    const p = { retries: 5, baseMs: 100, maxMs: 1000 };
    assert.equal(backoffDelay(p, 0, () => 0), 50);
    assert.equal(backoffDelay(p, 0, () => 1), 100);
    assert.equal(backoffDelay(p, 2, () => 1), 400);
    assert.equal(backoffDelay(p, 10, () => 1), 1000);
  });

  test('Semaphore never exceeds its limit', async () => {
    const sem = new Semaphore(3);
    let active = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        sem.run(async () => {
          peak = Math.max(peak, ++active);
          await new Promise((r) => setTimeout(r, 1 + (i % 3)));
          active--;
        }),
      ),
    );
    assert.equal(peak, 3);
    assert.equal(sem.inFlight, 0);
  });
});

// ---------------------------------------------------------------------------
// memory and local sources

describe('BufferSource', () => {
  test('reads views of the given bytes and counts planned requests', async () => {
    const bytes = new Uint8Array(200_000).map((_, i) => (i * 7) & 255);
    const src = new BufferSource(bytes, 'mem.root');
    const ranges = mixedRanges(bytes.length, 3);
    const got = await src.read(ranges);
    assertSameBytes(got, expected(bytes, ranges));
    assert.equal(got[0]!.buffer, bytes.buffer, 'zero-copy');
    assert.equal(Object.getPrototypeOf(got[0]), Uint8Array.prototype);
    assert.equal(src.stats.ranges, ranges.length);
    assert.equal(src.stats.requests, planReads(ranges, { maxGap: 64 * KiB, maxRequestBytes: 8 * MiB }).requests.length);
    assert.equal(await src.size(), bytes.length);
    await expectRootError(src.read([{ offset: bytes.length - 1, length: 2 }]), 'TRUNCATED', { file: 'mem.root' });
    await expectRootError(src.read([{ offset: -1, length: 2 }]), 'BAD_ARGUMENT', { file: 'mem.root' });
    await expectRootError(src.read([{ offset: 1.5, length: 2 }]), 'BAD_ARGUMENT');
    await src.close();
    await expectRootError(src.read([{ offset: 0, length: 1 }]), 'BAD_ARGUMENT');
  });

  test('rejects a range over maxRangeBytes with LIMIT', async () => {
    const src = new BufferSource(new Uint8Array(5000), 'm', { maxRangeBytes: 1000 });
    await expectRootError(src.read([{ offset: 0, length: 1001 }]), 'LIMIT');
  });
});

describe('LocalFileSource', () => {
  test('reads the same bytes as fs, by path and by file:// URL', async () => {
    const bytes = new Uint8Array(readFileSync(SAMPLE));
    for (const input of [SAMPLE, pathToFileURL(SAMPLE).href]) {
      const src = await openSource(input);
      assert.ok(src instanceof LocalFileSource);
      assert.equal(src.name, SAMPLE);
      assert.equal(await src.size(), bytes.length);
      const ranges = mixedRanges(bytes.length, 7);
      assertSameBytes(await src.read(ranges), expected(bytes, ranges));
      assert.equal(src.stats.ranges, ranges.length);
      assert.equal(src.stats.requests, planReads(ranges, { maxGap: 64 * KiB, maxRequestBytes: 8 * MiB }).requests.length);
      await src.close();
      await src.close(); // idempotent
      await expectRootError(src.read([{ offset: 0, length: 1 }]), 'BAD_ARGUMENT');
    }
  });

  test('missing file is SOURCE_NOT_FOUND; a directory is BAD_ARGUMENT; past the end is TRUNCATED', async () => {
    const missing = join(DATA_DIR, 'no-such-file.root');
    const src = new LocalFileSource(missing);
    await expectRootError(src.size(), 'SOURCE_NOT_FOUND', { file: missing });
    await expectRootError(src.read([{ offset: 0, length: 1 }]), 'SOURCE_NOT_FOUND', { file: missing });
    await src.close();
    const dir = new LocalFileSource(DATA_DIR);
    await assert.rejects(dir.size(), (e: unknown) => e instanceof RootError && (e.code === 'BAD_ARGUMENT' || e.code === 'SOURCE_UNAVAILABLE'));
    await dir.close();
    const ok = new LocalFileSource(SAMPLE);
    const size = await ok.size();
    await expectRootError(ok.read([{ offset: size - 10, length: 11 }]), 'TRUNCATED', { file: SAMPLE });
    await ok.close();
  });

  test('a file that shrinks after the size was read gives TRUNCATED', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sources-test-'));
    try {
      const path = join(dir, 'f.bin');
      writeFileSync(path, new Uint8Array(10_000).fill(7));
      const src = new LocalFileSource(path);
      assert.equal(await src.size(), 10_000);
      truncateSync(path, 5000);
      await expectRootError(src.read([{ offset: 4000, length: 2000 }]), 'TRUNCATED', { file: path });
      await src.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('runs at most `concurrency` reads at once', async () => {
    const src = new LocalFileSource(SAMPLE, { concurrency: 2, maxGap: 0 });
    const limiter = (src as unknown as { limiter: Semaphore }).limiter;
    let peak = 0;
    const acquire = limiter.acquire.bind(limiter);
    limiter.acquire = async () => {
      await acquire();
      peak = Math.max(peak, limiter.inFlight);
    };
    const ranges = Array.from({ length: 20 }, (_, i) => ({ offset: i * 10_000, length: 100 }));
    await src.read(ranges);
    assert.equal(src.stats.requests, 20);
    assert.equal(peak, 2);
    await src.close();
  });
});

describe('openSource', () => {
  test('dispatches on the scheme', async () => {
    const a = await openSource('gs://bucket-x/dir/f.root', { retries: 0 });
    assert.ok(a instanceof GcsSource);
    assert.equal(a.name, 'gs://bucket-x/dir/f.root');
    const b = await openSource(`https://example.org/f.root?sig=${SECRET}`);
    assert.ok(b instanceof HttpSource);
    assert.equal(b.name, 'https://example.org/f.root');
    assert.ok((await openSource('relative/path.root')) instanceof LocalFileSource);
    assert.ok((await openSource('file:///tmp/x.root')) instanceof LocalFileSource);
    for (const s of [a, b]) await s.close();
  });

  test('unknown scheme, malformed gs:// and bad options are BAD_ARGUMENT', async () => {
    await expectRootError(openSource(`ftp://host/f.root?token=${SECRET}`), 'BAD_ARGUMENT', { file: 'ftp://host/f.root' });
    await expectRootError(openSource('gs://bucket-only'), 'BAD_ARGUMENT');
    await expectRootError(openSource(''), 'BAD_ARGUMENT');
    await expectRootError(openSource('https://example.org/f', { concurrency: 0 }), 'BAD_ARGUMENT');
    await expectRootError(openSource('https://example.org/f', { timeoutMs: -5 }), 'BAD_ARGUMENT');
  });
});

// ---------------------------------------------------------------------------
// HTTP

describe('HttpSource', () => {
  let bytes: Uint8Array;
  let server: RangeServer;

  before(async () => {
    bytes = new Uint8Array(readFileSync(BIG_SAMPLE));
    server = await startRangeServer(bytes, { name: 'data/file.root' });
  });
  after(() => server.close());

  /** A source on the server with a secret-bearing query string, fast settings and the given overrides. */
  function source(extra: ConstructorParameters<typeof HttpSource>[1] = {}, url = `${server.url}?X-Goog-Signature=${SECRET}&X-Goog-Credential=abc`): HttpSource {
    server.setMode('normal');
    server.resetStats();
    return new HttpSource(url, { ...FAST, ...extra });
  }

  test('reads the same bytes as fs, with the size from HEAD or from Content-Range', async () => {
    const src = source();
    assert.equal(src.name, server.url);
    const ranges = mixedRanges(bytes.length, 11);
    assertSameBytes(await src.read(ranges), expected(bytes, ranges));
    // No HEAD was needed: the first ranged GET's Content-Range told the size.
    assert.ok(server.log.every((r) => r.method === 'GET'));
    assert.equal(await src.size(), bytes.length);
    assert.equal(server.requests, src.stats.requests);
    assert.equal(src.stats.bytes, server.bytesSent);
    await src.close();

    const viaHead = source();
    assert.equal(await viaHead.size(), bytes.length);
    assert.deepEqual(
      server.log.map((r) => r.method),
      ['HEAD'],
    );
    await viaHead.close();
  });

  test('a server that refuses HEAD: size from a one-byte GET', async () => {
    const src = source();
    server.setMode('normal', { head: false });
    assert.equal(await src.size(), bytes.length);
    assert.deepEqual(
      server.log.map((r) => `${r.method} ${r.range ?? ''} ${r.status}`),
      ['HEAD  405', 'GET bytes=0-0 206'],
    );
    await src.close();
  });

  test('coalescing: exact request counts on a planned example', async () => {
    // 10 ranges of 1 KiB every 10 KiB → one request with a 64 KiB gap and no waste bound …
    const ranges = Array.from({ length: 10 }, (_, i) => ({ offset: 5000 + i * 10 * KiB, length: KiB }));
    const a = source({ maxWasteRatio: Infinity });
    assertSameBytes(await a.read(ranges), expected(bytes, ranges));
    assert.equal(server.requests, 1);
    assert.equal(server.log[0]!.range, `bytes=5000-${5000 + 9 * 10 * KiB + KiB - 1}`);
    assert.deepEqual(a.stats, { requests: 1, bytes: 9 * 10 * KiB + KiB, ranges: 10, retries: 0 });
    await a.close();
    // … ten with gap 0 …
    const b = source({ maxGap: 0 });
    assertSameBytes(await b.read(ranges), expected(bytes, ranges));
    assert.equal(server.requests, 10);
    assert.equal(b.stats.bytes, 10 * KiB);
    await b.close();
    // … and with a 40 KiB request cap, groups of four ranges (1 + 3 × 10 KiB = 31 KiB; a fifth would make 41): 4 + 4 + 2.
    const c = source({ maxRequestBytes: 40 * KiB, maxWasteRatio: Infinity });
    assertSameBytes(await c.read(ranges), expected(bytes, ranges));
    assert.equal(server.requests, 3);
    await c.close();
    // A 1 MiB range with a 256 KiB cap is four parallel requests.
    const d = source({ maxRequestBytes: 256 * KiB });
    const big = [{ offset: 12345, length: MiB }];
    assertSameBytes(await d.read(big), expected(bytes, big));
    assert.equal(server.requests, 4);
    await d.close();
  });

  test('honours the concurrency limit, across concurrent read() calls too', async () => {
    const src = source({ concurrency: 3, maxGap: 0, timeoutMs: 2000 });
    server.setMode('normal', { delayMs: 20 });
    const ranges = (k: number) => Array.from({ length: 12 }, (_, i) => ({ offset: (k * 12 + i) * 50_000, length: 100 }));
    const [r1, r2] = await Promise.all([src.read(ranges(0)), src.read(ranges(1))]);
    assertSameBytes(r1, expected(bytes, ranges(0)));
    assertSameBytes(r2, expected(bytes, ranges(1)));
    assert.equal(server.requests, 24);
    assert.equal(server.maxInFlight, 3);
    await src.close();
  });

  test('misbehaving server modes give the right codes, quickly', async () => {
    const range = [{ offset: 1000, length: 5000 }];
    const cases: [Parameters<RangeServer['setMode']>[0], RootErrorCode][] = [
      ['ignore-range', 'SOURCE_PROTOCOL'],
      ['short-body', 'SOURCE_PROTOCOL'],
      ['long-body', 'SOURCE_PROTOCOL'],
      ['wrong-content-range', 'SOURCE_PROTOCOL'],
      [404, 'SOURCE_NOT_FOUND'],
      [410, 'SOURCE_NOT_FOUND'],
      [401, 'SOURCE_FORBIDDEN'],
      [403, 'SOURCE_FORBIDDEN'],
      [429, 'SOURCE_UNAVAILABLE'],
      [500, 'SOURCE_UNAVAILABLE'],
      [503, 'SOURCE_UNAVAILABLE'],
      ['drop-mid-body', 'SOURCE_UNAVAILABLE'],
      ['stall', 'SOURCE_TIMEOUT'],
      ['stall-mid-body', 'SOURCE_TIMEOUT'],
      ['no-response', 'SOURCE_TIMEOUT'],
    ];
    for (const [mode, code] of cases) {
      // only the stalls need a short deadline; an answer that comes must not lose a race with it on a busy machine
      const stalls = code === 'SOURCE_TIMEOUT';
      const src = source({ timeoutMs: stalls ? 150 : 5000 });
      server.setMode(mode);
      const err = await expectRootError(src.read(range), code, { file: server.url, maxMs: stalls ? 1500 : 5000 });
      assert.equal(err.transient, code === 'SOURCE_UNAVAILABLE' || code === 'SOURCE_TIMEOUT', `transient flag for ${mode}`);
      assert.equal(err.context.offset, 1000, `offset context for ${mode}`);
      assert.ok(!err.message.includes(SECRET) && !JSON.stringify(err).includes(SECRET), `no secret in the ${mode} error`);
      await src.close();
    }
    server.setMode('normal');
  });

  test('a server ignoring Range does not make the client download the body', async () => {
    const src = source();
    server.setMode('ignore-range');
    await expectRootError(src.read([{ offset: 0, length: 100 }]), 'SOURCE_PROTOCOL');
    assert.ok(src.stats.bytes < bytes.length / 2, `client took in ${src.stats.bytes} bytes`);
    await src.close();
  });

  test('size errors: 404 on HEAD, stalled HEAD', async () => {
    const a = source();
    server.setMode(404);
    await expectRootError(a.size(), 'SOURCE_NOT_FOUND', { file: server.url });
    await a.close();
    const b = source({ timeoutMs: 100 });
    server.setMode('stall');
    await expectRootError(b.size(), 'SOURCE_TIMEOUT', { maxMs: 1000 });
    await b.close();
    server.setMode('normal');
    const c = source({}, server.urlFor('missing.root'));
    await expectRootError(c.read([{ offset: 0, length: 10 }]), 'SOURCE_NOT_FOUND', { file: server.urlFor('missing.root') });
    await c.close();
  });

  test('ranges past the end are TRUNCATED, with or without the size known', async () => {
    const a = source();
    await a.size();
    await expectRootError(a.read([{ offset: bytes.length - 5, length: 10 }]), 'TRUNCATED');
    assert.equal(server.requests, 1, 'rejected before any GET');
    await a.close();
    const b = source();
    await expectRootError(b.read([{ offset: bytes.length - 5, length: 10 }]), 'TRUNCATED'); // server clamps: 206 bytes a-(size-1)
    await b.close();
    const c = source();
    await expectRootError(c.read([{ offset: bytes.length + 100, length: 10 }]), 'TRUNCATED'); // server answers 416
    assert.equal(await c.size(), bytes.length, 'size learnt from the 416');
    await c.close();
  });

  test('invalid ranges are BAD_ARGUMENT, oversized ones LIMIT, without a request', async () => {
    const src = source({ maxRangeBytes: MiB });
    await expectRootError(src.read([{ offset: -1, length: 10 }]), 'BAD_ARGUMENT', { file: server.url });
    await expectRootError(src.read([{ offset: 0, length: Number.NaN }]), 'BAD_ARGUMENT');
    await expectRootError(src.read([{ offset: 0, length: MiB + 1 }]), 'LIMIT');
    assert.equal(server.requests, 0);
    await src.close();
  });

  test('retries recover from transient 503s', async () => {
    const src = source({ retries: 3 });
    server.setMode(503, { times: 3 });
    const r = [{ offset: 777, length: 4321 }];
    assertSameBytes(await src.read(r), expected(bytes, r));
    assert.equal(server.requests, 4);
    assert.equal(src.stats.retries, 3);
    assert.equal(src.stats.requests, 4);
    await src.close();

    const short = source({ retries: 2 });
    server.setMode(503, { times: 3 });
    await expectRootError(short.read(r), 'SOURCE_UNAVAILABLE');
    assert.equal(server.requests, 3);
    await short.close();

    const withHint = source({ retries: 1, retryBaseMs: 10_000, retryMaxMs: 50 });
    server.setMode(429, { times: 1, retryAfter: 30 });
    const t0 = performance.now();
    assertSameBytes(await withHint.read(r), expected(bytes, r));
    assert.ok(performance.now() - t0 < 1000, 'Retry-After capped by retryMaxMs');
    await withHint.close();
  });

  test('a retry after a dropped connection resumes after the bytes received', async () => {
    const src = source({ retries: 1 });
    server.setMode('drop-mid-body', { times: 1 });
    const r = [{ offset: 10_000, length: 100_000 }];
    assertSameBytes(await src.read(r), expected(bytes, r));
    assert.equal(server.log.length, 2);
    assert.equal(server.log[0]!.range, 'bytes=10000-109999');
    const resumedAt = Number(/bytes=(\d+)-/.exec(server.log[1]!.range!)![1]);
    assert.ok(resumedAt > 10_000 && resumedAt <= 60_000, `resumed at ${resumedAt}`);
    assert.match(server.log[1]!.range!, /-109999$/);
    await src.close();
  });

  test('timeouts are retried too', async () => {
    const src = source({ retries: 1, timeoutMs: 100 });
    server.setMode('stall', { times: 1 });
    const r = [{ offset: 0, length: 1000 }];
    assertSameBytes(await src.read(r), expected(bytes, r));
    assert.equal(src.stats.retries, 1);
    await src.close();
  });

  test('one failing request fails the read and stops its siblings', async () => {
    const src = source({ maxGap: 0, concurrency: 2, timeoutMs: 5000 });
    server.setMode(404, { times: 1 });
    const ranges = Array.from({ length: 10 }, (_, i) => ({ offset: i * 100_000, length: 10 }));
    await expectRootError(src.read(ranges), 'SOURCE_NOT_FOUND');
    assert.ok(server.requests <= 3, `${server.requests} requests sent after the failure`);
    await src.close();
  });

  test('close() aborts a stalled read at once', async () => {
    const src = source({ timeoutMs: 10_000 });
    server.setMode('stall');
    const pending = src.read([{ offset: 0, length: 100 }]);
    await new Promise((r) => setTimeout(r, 50));
    const t0 = performance.now();
    await src.close();
    await expectRootError(pending, 'BAD_ARGUMENT', { maxMs: 1000 });
    assert.ok(performance.now() - t0 < 500);
    server.setMode('normal');
  });

  test('credentials in the URL never reach error messages', async () => {
    const port = await closedPort();
    const url = `http://user:pa55word@127.0.0.1:${port}/f.root?X-Goog-Signature=${SECRET}`;
    const src = new HttpSource(url, { ...FAST, headers: { authorization: `Bearer ${SECRET}` } });
    assert.equal(src.name, `http://127.0.0.1:${port}/f.root`);
    const err = await expectRootError(src.read([{ offset: 0, length: 10 }]), 'SOURCE_UNAVAILABLE', { file: src.name, maxMs: 1000 });
    for (const text of [err.message, JSON.stringify(err.toJSON()), String(err.stack)]) {
      assert.ok(!text.includes(SECRET) && !text.includes('pa55word'), text);
    }
    await src.close();
  });
});

// ---------------------------------------------------------------------------
// Cloud Storage

describe('GcsSource', () => {
  let bytes: Uint8Array;
  let gcs: FakeGcs;
  const URL_ = 'gs://test-bucket/data/PHYSLITE sample.root';
  const KEY = 'test-bucket/data/PHYSLITE sample.root';

  before(async () => {
    bytes = new Uint8Array(readFileSync(BIG_SAMPLE));
    gcs = await startFakeGcs({ [KEY]: bytes, 'test-bucket/small.root': SAMPLE });
  });
  after(() => gcs.close());

  function source(extra: Parameters<typeof openSource>[1] = {}, url = URL_): Promise<ByteSource> {
    gcs.setMode('normal');
    gcs.resetStats();
    return openSource(url, { ...FAST, storageOptions: { apiEndpoint: gcs.endpoint, projectId: 'test-project' }, ...extra });
  }

  test('reads the same bytes as fs; size and generation from one metadata call', async () => {
    const src = await source();
    assert.ok(src instanceof GcsSource);
    assert.equal(src.name, URL_);
    const ranges = mixedRanges(bytes.length, 5);
    assertSameBytes(await src.read(ranges), expected(bytes, ranges));
    assert.equal(await src.size(), bytes.length);
    assert.equal(gcs.metadataRequests, 1);
    const plan = planReads(ranges, { maxGap: 64 * KiB, maxRequestBytes: 8 * MiB });
    assert.equal(gcs.mediaRequests, plan.requests.length);
    assert.equal(src.stats.requests, 1 + plan.requests.length);
    assert.equal(src.stats.bytes, plan.requests.reduce((n, r) => n + r.length, 0));
    assert.ok(gcs.log.filter((r) => r.query.includes('alt=media')).every((r) => /generation=\d+/.test(r.query)), 'media reads pinned to the generation');
    await src.close();
  });

  test('an injected Storage client is used', async () => {
    const { Storage } = await import('@google-cloud/storage');
    const storage = new Storage({ apiEndpoint: gcs.endpoint, projectId: 'p', retryOptions: { autoRetry: false } });
    gcs.resetStats();
    const src = new GcsSource('gs://test-bucket/small.root', { ...FAST, storage });
    const small = new Uint8Array(readFileSync(SAMPLE));
    const r = [{ offset: 3, length: 300 }];
    assertSameBytes(await src.read(r), expected(small, r));
    assert.equal(gcs.requests, 2);
    await src.close();
  });

  test('coalescing and the concurrency limit apply to media downloads', async () => {
    const src = await source({ concurrency: 2, maxGap: 0, timeoutMs: 2000 });
    await src.size();
    gcs.setMode('normal', { delayMs: 20 });
    const ranges = Array.from({ length: 8 }, (_, i) => ({ offset: i * 200_000, length: 64 }));
    assertSameBytes(await src.read(ranges), expected(bytes, ranges));
    assert.equal(gcs.mediaRequests, 8);
    assert.equal(gcs.maxInFlight, 2);
    await src.close();
    const together = await source({ maxWasteRatio: Infinity });
    const close = Array.from({ length: 8 }, (_, i) => ({ offset: i * 2000, length: 64 }));
    assertSameBytes(await together.read(close), expected(bytes, close));
    assert.equal(gcs.mediaRequests, 1);
    await together.close();
  });

  test('error mapping: missing object, forbidden, unavailable, protocol, timeout', async () => {
    const missing = await source({}, 'gs://test-bucket/nope.root');
    await expectRootError(missing.size(), 'SOURCE_NOT_FOUND', { file: 'gs://test-bucket/nope.root', maxMs: 1500 });
    await missing.close();

    const cases: [Parameters<FakeGcs['setMode']>[0], 'metadata' | 'media', RootErrorCode][] = [
      [403, 'metadata', 'SOURCE_FORBIDDEN'],
      [401, 'media', 'SOURCE_FORBIDDEN'],
      [404, 'media', 'SOURCE_NOT_FOUND'],
      [503, 'metadata', 'SOURCE_UNAVAILABLE'],
      [500, 'media', 'SOURCE_UNAVAILABLE'],
      [429, 'media', 'SOURCE_UNAVAILABLE'],
      ['ignore-range', 'media', 'SOURCE_PROTOCOL'],
      ['short-body', 'media', 'SOURCE_PROTOCOL'],
      ['wrong-content-range', 'media', 'SOURCE_PROTOCOL'],
      ['drop-mid-body', 'media', 'SOURCE_UNAVAILABLE'],
      ['stall', 'media', 'SOURCE_TIMEOUT'],
      ['stall-mid-body', 'media', 'SOURCE_TIMEOUT'],
      ['no-response', 'metadata', 'SOURCE_TIMEOUT'],
    ];
    for (const [mode, target, code] of cases) {
      const src = await source({ timeoutMs: 150 });
      gcs.setMode(mode, { target });
      const err = await expectRootError(src.read([{ offset: 100, length: 50_000 }]), code, { file: URL_, maxMs: 1500 });
      assert.equal(err.transient, code === 'SOURCE_UNAVAILABLE' || code === 'SOURCE_TIMEOUT', `transient flag for ${mode}`);
      await src.close();
    }
    gcs.setMode('normal');
  });

  test('retries recover from transient 503s on metadata and media', async () => {
    const src = await source({ retries: 2 });
    gcs.setMode(503, { times: 2, target: 'media' });
    const r = [{ offset: 5000, length: 70_000 }];
    assertSameBytes(await src.read(r), expected(bytes, r));
    assert.equal(gcs.mediaRequests, 3);
    assert.equal(src.stats.retries, 2);
    await src.close();
    const meta = await source({ retries: 2 });
    gcs.setMode(503, { times: 1, target: 'metadata' });
    assert.equal(await meta.size(), bytes.length);
    assert.equal(gcs.metadataRequests, 2);
    await meta.close();
  });

  test('past the end is TRUNCATED; an overwritten object is not mixed with the old one', async () => {
    const src = await source();
    await expectRootError(src.read([{ offset: bytes.length - 1, length: 2 }]), 'TRUNCATED', { file: URL_ });
    await src.read([{ offset: 0, length: 10 }]);
    gcs.putObject(KEY, bytes.subarray(0, 1000)); // new generation
    await expectRootError(src.read([{ offset: 500, length: 10 }]), 'SOURCE_NOT_FOUND');
    gcs.putObject(KEY, bytes);
    await src.close();
  });

  test('an object stored with Content-Encoding gzip is refused', async () => {
    gcs.setMetadata('test-bucket/small.root', { contentEncoding: 'gzip' });
    const src = await source({}, 'gs://test-bucket/small.root');
    await expectRootError(src.size(), 'UNSUPPORTED', { file: 'gs://test-bucket/small.root' });
    gcs.setMetadata('test-bucket/small.root', { contentEncoding: undefined });
    await src.close();
  });

  test('a download that times out does not disturb another one in flight', async () => {
    const a = await source({ timeoutMs: 150 });
    const b = await openSource('gs://test-bucket/small.root', { ...FAST, timeoutMs: 2000, storageOptions: { apiEndpoint: gcs.endpoint, projectId: 'test-project' } });
    // a's metadata call has the same 150 ms deadline: on a busy machine it may need another try before the test proper
    for (let attempt = 1; ; attempt++) {
      try {
        await a.size();
        break;
      } catch (e) {
        if (!(e instanceof RootError && e.code === 'SOURCE_TIMEOUT') || attempt >= 10) throw e;
      }
    }
    await b.size();
    gcs.setMode('stall', { times: 1, target: 'media' });
    const failing = expectRootError(a.read([{ offset: 0, length: 1000 }]), 'SOURCE_TIMEOUT', { maxMs: 1000 });
    await new Promise((r) => setTimeout(r, 20));
    gcs.setMode('normal', { delayMs: 300 }); // b's answer comes after a has timed out and been torn down
    const small = new Uint8Array(readFileSync(SAMPLE));
    const r = [{ offset: 0, length: small.length }];
    const [, got] = await Promise.all([failing, b.read(r)]);
    assertSameBytes(got, expected(small, r));
    await Promise.all([a.close(), b.close()]);
  });

  test('the client library is loaded only when a gs:// source is used', () => {
    const script = [
      "import { createRequire } from 'node:module';",
      "const req = createRequire(import.meta.url);",
      "const loaded = () => Object.keys(req.cache).some((k) => k.includes('@google-cloud') || k.includes('teeny-request'));",
      "const src = await import('./shared/root/source/index.ts');",
      "const before = loaded();",
      "const s = await src.openSource('gs://b-x/o.root', { storageOptions: { apiEndpoint: 'http://127.0.0.1:1' } });",
      "await s.size().catch(() => undefined);",
      "console.log(JSON.stringify({ before, after: loaded() }));",
    ].join('\n');
    const out = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: join(dirname(fileURLToPath(import.meta.url)), '..'), encoding: 'utf8', timeout: 20_000 });
    assert.equal(out.status, 0, out.stderr);
    assert.deepEqual(JSON.parse(out.stdout.trim().split('\n').pop()!), { before: false, after: true });
  });

  test('without a server: SOURCE_UNAVAILABLE, quickly', async () => {
    const port = await closedPort();
    const src = await openSource('gs://test-bucket/x.root', { ...FAST, storageOptions: { apiEndpoint: `http://127.0.0.1:${port}`, projectId: 'p' } });
    await expectRootError(src.size(), 'SOURCE_UNAVAILABLE', { file: 'gs://test-bucket/x.root', maxMs: 1500, transient: true });
    await src.close();
  });
});
