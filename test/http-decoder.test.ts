// The decoder over HTTP: a local range server on 127.0.0.1 serves the PHYSLITE
// samples; reading the analysis branches must give the same columns as the
// local file and cost at most 1.5x the compressed bytes of those baskets plus
// the metadata. A misbehaving server must give typed errors naming the URL.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { openRootFile, RootError, toPlainArray } from '../shared/root/index';
import { startRangeServer } from './support/range-server';
import { samplePath } from '../scripts/lib/samples';
import { analysisBranches, type Profile } from '../scripts/lib/analysis-branches';

const SAMPLES: [string, Profile][] = [
  ['DAOD_PHYSLITE_21.2.108.0.art.pool.root', 'r21'],
  ['PHYSLITE_example.root', 'r22'],
];

for (const [name, profile] of SAMPLES) {
  test(`HTTP: ${name} analysis branches equal the local read, within 1.5x the basket bytes`, async () => {
    const path = await samplePath(name);
    const server = await startRangeServer(path);
    try {
      const remote = await openRootFile(server.url);
      const tree = await remote.tree('CollectionTree');
      const meta = { ...remote.source.stats };
      const names = analysisBranches(profile);
      const got = await tree.read(names);

      const local = await openRootFile(path);
      const want = await (await local.tree('CollectionTree')).read(names);
      for (const n of names) {
        assert.ok(isDeepStrictEqual(toPlainArray(got.columns.get(n)!), toPlainArray(want.columns.get(n)!)), `${n} differs over HTTP`);
      }
      await local.close();

      // The baskets those branches need (a split collection's member branches included).
      let basketBytes = 0;
      let baskets = 0;
      for (const n of names) {
        for (const b of tree.tree.branch(n).walk()) {
          for (const k of b.baskets) {
            basketBytes += k.bytes;
            baskets++;
          }
        }
      }
      const stats = remote.source.stats;
      const dataBytes = stats.bytes - meta.bytes;
      const dataRequests = stats.requests - meta.requests;
      assert.ok(dataBytes >= basketBytes, 'every basket byte was fetched');
      assert.ok(dataBytes <= 1.5 * basketBytes, `fetched ${dataBytes} bytes for ${basketBytes} bytes of baskets`);
      assert.ok(meta.requests <= 4, `opening took ${meta.requests} requests`);
      assert.ok(dataRequests >= 1 && dataRequests <= baskets, `${dataRequests} requests for ${baskets} baskets`);
      // the server saw exactly what the source counted
      assert.equal(server.requests, stats.requests);
      assert.equal(server.bytesSent, stats.bytes);
      console.log(`${name}: open ${meta.requests} requests / ${meta.bytes} B; ${names.length} branches: ${dataRequests} requests / ${dataBytes} B for ${baskets} baskets of ${basketBytes} B (${(dataBytes / basketBytes).toFixed(2)}x)`);
      await remote.close();
    } finally {
      await server.close();
    }
  });
}

test('HTTP: a server that ignores Range, or answers 404/403/503, gives a typed error naming the URL', async () => {
  const path = await samplePath('PHYSLITE_example.root');
  const server = await startRangeServer(path);
  try {
    const cases: [Parameters<typeof server.setMode>[0], string][] = [
      ['ignore-range', 'SOURCE_PROTOCOL'],
      ['short-body', 'SOURCE_PROTOCOL'],
      [404, 'SOURCE_NOT_FOUND'],
      [403, 'SOURCE_FORBIDDEN'],
      [503, 'SOURCE_UNAVAILABLE'],
    ];
    for (const [mode, code] of cases) {
      server.setMode(mode);
      const t0 = Date.now();
      await assert.rejects(
        (async () => {
          const f = await openRootFile(`${server.url}?X-Goog-Signature=secret`, { source: { retries: 1, retryBaseMs: 10, timeoutMs: 2000 } });
          await (await f.tree('CollectionTree')).read(['AnalysisElectronsAuxDyn.pt']);
        })(),
        (e: unknown) => {
          assert.ok(e instanceof RootError, `mode ${mode}: ${e}`);
          assert.equal(e.code, code, `mode ${mode}: ${e.message}`);
          assert.ok(e.message.includes(server.url), `mode ${mode}: message names the URL: ${e.message}`);
          assert.ok(!e.message.includes('secret'), 'no credentials in messages');
          return true;
        },
      );
      assert.ok(Date.now() - t0 < 5000, `mode ${mode} took ${Date.now() - t0} ms`);
    }
    // a stalled server times out instead of hanging
    server.setMode('stall');
    const t0 = Date.now();
    await assert.rejects(openRootFile(server.url, { source: { retries: 0, timeoutMs: 300 } }), (e: unknown) => e instanceof RootError && e.code === 'SOURCE_TIMEOUT');
    assert.ok(Date.now() - t0 < 3000);
  } finally {
    await server.close();
  }
});
