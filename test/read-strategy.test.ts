// The read planner's cost model on hand-made layouts (request counts and
// bytes worked out by hand below), the prefetching source, and the chunked
// reader giving the same analysis result whatever plan fetched its bytes.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BufferSource } from '../shared/root/source/index';
import { PrefetchSource } from '../shared/root/source/prefetch';
import { chooseReadPlan, estimatePlan, localEnvironment, networkEnvironment, planUnits, type ShardLayout } from '../shared/root/source/read-strategy';
import { MiB } from '../shared/root/source/planner';
import { PhysliteFile } from '../shared/physlite/index';
import { analyseOpenFile } from '../shared/analysis/runner';
import { createAnalysis } from '../shared/analysis/registry';
import { sampleBytes } from '../scripts/lib/samples';

const KB = 1000;

/**
 * 10 clusters of 4,000,000 bytes each, laid out one after the other; in each,
 * 16 wanted baskets of 10,000 bytes, 250,000 bytes apart (other branches'
 * baskets in between), starting at the cluster's first byte.
 */
function spreadLayout(): ShardLayout {
  const chunks = [];
  for (let c = 0; c < 10; c++) {
    const ranges = [];
    for (let k = 0; k < 16; k++) ranges.push({ offset: c * 4_000_000 + k * 250_000, length: 10 * KB });
    chunks.push(ranges);
  }
  return { chunks };
}

describe('read plans on a hand-made layout', () => {
  const layout = spreadLayout();
  const env = networkEnvironment();

  it('ranges: gaps of 240,000 bytes are over the 64 KiB coalescing gap, so one request per basket', () => {
    const p = estimatePlan('ranges', layout, env);
    assert.equal(p.requests, 160);
    assert.equal(p.bytes, 160 * 10 * KB);
    assert.equal(p.wantedBytes, 1_600_000);
  });

  it('clusters: one request per cluster, from its first wanted basket to the end of its last', () => {
    const p = estimatePlan('clusters', layout, env);
    assert.equal(p.requests, 10);
    // 15 × 250,000 + 10,000 bytes per cluster
    assert.equal(p.bytes, 10 * 3_760_000);
    assert.equal(p.largestUnitBytes, 3_760_000);
  });

  it('spans: the whole shard (36,010,000 bytes) fits one 64 MiB span, fetched in 8 MiB pieces', () => {
    const p = estimatePlan('spans', layout, env);
    assert.equal(p.units.length, 1);
    assert.deepEqual([p.units[0]!.firstChunk, p.units[0]!.lastChunk], [0, 9]);
    // first wanted byte 0, last 9 × 4,000,000 + 3,760,000
    assert.equal(p.bytes, 39_760_000);
    assert.equal(p.requests, Math.ceil(39_760_000 / (8 * MiB))); // 5
    assert.equal(p.requests, 5);
  });

  it('the network model picks spans: 5 requests instead of 160, and the decoding, not the transfer, sets the pace', () => {
    const choice = chooseReadPlan(layout, env);
    assert.equal(choice.chosen.kind, 'spans');
    const ranges = choice.alternatives.find((p) => p.kind === 'ranges')!;
    assert.ok(choice.chosen.usd < ranges.usd);
    assert.ok(choice.chosen.requests <= 40, `${choice.chosen.requests} requests`);
    // every plan was priced, the cheapest first
    for (let i = 1; i < choice.alternatives.length; i++) assert.ok(choice.alternatives[i - 1]!.usd <= choice.alternatives[i]!.usd);
  });

  it('a local disk (requests free, no latency) reads only the wanted baskets', () => {
    assert.equal(chooseReadPlan(layout, localEnvironment()).chosen.kind, 'ranges');
  });

  it('a slow link makes the extra bytes of a span cost more instance time than 160 requests cost', () => {
    // 1 MB/s per connection: 39.76 MB of spans take ~4 s over 10 connections, 1.6 MB of ranges ~0.4 s over 16
    const slow = networkEnvironment({ connectionBytesPerSecond: 1e6 });
    assert.equal(chooseReadPlan(layout, slow).chosen.kind, 'ranges');
  });

  it('a buffer too small for two clusters leaves only the ranges plan', () => {
    const tight = networkEnvironment({ bufferBytes: 4_000_000 });
    const choice = chooseReadPlan(layout, tight);
    assert.equal(choice.chosen.kind, 'ranges');
    assert.equal(choice.alternatives.find((p) => p.kind === 'clusters')!.fits, false); // 2 × 3,760,000 > 4,000,000
    assert.equal(choice.chosen.fits, true); // 2 × 160,000
  });
});

describe('planUnits: spans', () => {
  const env = networkEnvironment({ bufferBytes: 200, readAhead: 1, maxRequestBytes: 40 }); // spans up to 100 bytes
  const at = (offset: number, length: number) => [{ offset, length }];

  it('joins chunks while the span stays within bufferBytes / (1 + readAhead), in pieces of maxRequestBytes', () => {
    const layout: ShardLayout = { chunks: [at(0, 30), at(30, 30), at(60, 30), at(90, 30), at(120, 30)] };
    const units = planUnits('spans', layout, env);
    assert.deepEqual(
      units.map((u) => [u.firstChunk, u.lastChunk, u.ranges]),
      [
        [0, 2, [{ offset: 0, length: 30 }, { offset: 30, length: 30 }, { offset: 60, length: 30 }]], // 90 bytes, pieces of ≤ 40: 3 × 30
        [3, 4, [{ offset: 90, length: 30 }, { offset: 120, length: 30 }]], // 60 bytes: 2 × 30
      ],
    );
  });

  it('a chunk that starts before the span starts a new one; a chunk with nothing rides along', () => {
    const layout: ShardLayout = { chunks: [at(50, 10), [], at(0, 10)] };
    const units = planUnits('spans', layout, env);
    assert.deepEqual(
      units.map((u) => [u.firstChunk, u.lastChunk, u.ranges]),
      [
        [0, 1, [{ offset: 50, length: 10 }]],
        [2, 2, [{ offset: 0, length: 10 }]],
      ],
    );
  });
});

describe('PrefetchSource', () => {
  const bytes = new Uint8Array(1000).map((_, i) => i % 251);
  const expect = (offset: number, length: number) => bytes.subarray(offset, offset + length);

  it('serves reads inside the current unit from its buffers, fetches the next unit ahead, and passes other reads through', async () => {
    const inner = new BufferSource(bytes, 'mem', { maxGap: 0 });
    const src = new PrefetchSource(inner);
    src.schedule(
      [
        { firstChunk: 0, lastChunk: 0, ranges: [{ offset: 0, length: 100 }, { offset: 100, length: 100 }], coalesced: false },
        { firstChunk: 1, lastChunk: 1, ranges: [{ offset: 500, length: 100 }], coalesced: false },
      ],
      1,
    );
    src.advance(0);
    const [a, b, c] = await src.read([{ offset: 10, length: 20 }, { offset: 90, length: 30 }, { offset: 150, length: 0 }]);
    assert.deepEqual(a, expect(10, 20));
    assert.deepEqual(b, expect(90, 30)); // across the two pieces: copied together
    assert.equal(c!.length, 0);
    // units 0 (two pieces) and 1 (read ahead): three requests, nothing else
    assert.equal(inner.stats.requests, 3);
    const [d] = await src.read([{ offset: 700, length: 10 }]); // outside the unit
    assert.deepEqual(d, expect(700, 10));
    assert.equal(inner.stats.requests, 4);
    src.advance(1);
    const [e] = await src.read([{ offset: 550, length: 50 }]);
    assert.deepEqual(e, expect(550, 50));
    assert.equal(inner.stats.requests, 4);
    assert.deepEqual(src.prefetchStats, { served: 2, passedThrough: 1 });
  });

  it('a unit that cannot be fetched leaves the read to the inner source, which reports its own error', async () => {
    const inner = new BufferSource(bytes, 'mem');
    const src = new PrefetchSource(inner);
    src.schedule([{ firstChunk: 0, lastChunk: 0, ranges: [{ offset: 900, length: 200 }], coalesced: false }], 0);
    src.advance(0);
    const [ok] = await src.read([{ offset: 900, length: 50 }]);
    assert.deepEqual(ok, expect(900, 50));
    await assert.rejects(src.read([{ offset: 990, length: 20 }]), { code: 'TRUNCATED' });
  });
});

describe('chunked reading under each plan', () => {
  it('gives the analysis result of the plain reader, with the requests the plan predicted', async () => {
    const bytes = await sampleBytes('PHYSLITE_example.root');
    const analysis = createAnalysis('reference');
    const run = async (plan: 'off' | 'ranges' | 'clusters' | 'spans') => {
      const source = new BufferSource(bytes, 'PHYSLITE_example.root');
      const file = await PhysliteFile.open(source);
      const before = source.stats.requests;
      const r = await analyseOpenFile(file, analysis, { read: { plan, environment: { maxRequestBytes: 8 * MiB } } });
      const requests = source.stats.requests - before;
      const choice = file.lastReadChoice;
      await file.close();
      return { json: JSON.stringify(r.result), requests, choice };
    };
    const off = await run('off');
    for (const plan of ['ranges', 'clusters', 'spans'] as const) {
      const r = await run(plan);
      assert.equal(r.json, off.json, `${plan}: same result`);
      assert.equal(r.choice!.chosen.kind, plan);
      assert.equal(r.requests, r.choice!.chosen.requests, `${plan}: requests as planned`);
    }
    // the whole analysis of this 1.6 MB sample is one span: one request
    assert.equal((await run('spans')).requests, 1);
  });
});

describe('through the Cloud-Storage-shaped server', () => {
  it('serves exact ranges after the first-byte delay, no faster than its bandwidth, and the reader makes the requests its plan predicted', async () => {
    const { startShapedServer } = await import('../scripts/lib/shaped-server');
    const { HttpSource } = await import('../shared/root/source/index');
    const { samplePath } = await import('../scripts/lib/samples');
    const path = await samplePath('PHYSLITE_example.root');
    const bytes = await sampleBytes('PHYSLITE_example.root');
    const server = await startShapedServer({ 'f.root': path }, { firstByteMs: 20, bytesPerSecond: 20e6 });
    try {
      const src = new HttpSource(`${server.url}/f.root`);
      const t0 = performance.now();
      const [a] = await src.read([{ offset: 1000, length: 1_000_000 }]);
      const ms = performance.now() - t0;
      assert.deepEqual(a, bytes.subarray(1000, 1_001_000));
      // lower bounds only: 20 ms to the first byte, 1 MB at 20 MB/s = 50 ms
      assert.ok(ms >= 20 + 50 - 2, `${ms.toFixed(1)} ms`);
      await src.close();

      const analysis = createAnalysis('reference');
      for (const plan of ['ranges', 'spans'] as const) {
        const file = await PhysliteFile.open(new HttpSource(`${server.url}/f.root`));
        server.reset();
        await analyseOpenFile(file, analysis, { read: { plan } });
        assert.equal(server.stats.gets, file.lastReadChoice!.chosen.requests, plan);
        await file.close();
      }
    } finally {
      await server.close();
    }
  });
});
