// Job planning: what a dataset entry names (classifyEntry), files → shards by
// size (planShards), "part k of n" → a cluster-aligned entry range
// (partEntryRange, checked over many random cluster layouts), and dataset
// expansion over a real directory tree (expandDataset with the local object store).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { resolveConfig, type PipelineConfig } from '../shared/pipeline/config';
import { classifyEntry, expandDataset, partEntryRange, planShards } from '../shared/pipeline/plan';
import { RequestError } from '../shared/pipeline/request';
import { createLocalObjectStore } from '../shared/pipeline/local/object-store';
import type { ObjectInfo } from '../shared/pipeline/ports';
import { RootError } from '../shared/root/errors';
import { prng } from './support/prng';

type Range = { entryStart: number; entryStop: number };

/** Asserts that `fn` rejects/throws a RequestError with this status (and field), its message matching every pattern. */
async function rejectsRequest(fn: () => unknown, status: number, field: string | undefined, ...patterns: RegExp[]): Promise<RequestError> {
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof RequestError, `expected a RequestError, got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`);
  assert.equal(caught.status, status, caught.message);
  assert.equal(caught.field, field, caught.message);
  for (const p of patterns) assert.match(caught.message, p);
  return caught;
}

// ---------------------------------------------------------------------------
describe('classifyEntry', () => {
  const cases: [string, 'index' | 'object' | 'prefix'][] = [
    ['gs://bucket/mc20/', 'prefix'],
    ['gs://bucket/mc20', 'prefix'],
    ['gs://bucket/mc20/run1_', 'prefix'],
    ['gs://bucket/files.txt', 'index'],
    ['gs://bucket/files.list', 'index'],
    ['gs://bucket/files.lst', 'index'],
    ['gs://bucket/FILES.TXT', 'index'],
    ['gs://bucket/a/DAOD_PHYSLITE.37621409._000001.pool.root.1', 'object'],
    ['gs://bucket/a/x.root', 'object'],
    ['gs://bucket/a/x.root/', 'prefix'],
    ['https://host/data/f.root', 'object'],
    ['https://host/data/f.root.12?X-Goog-Signature=abc', 'object'],
    ['https://host/data/f.root#frag', 'object'],
    ['https://host/data/list.txt?token=secret', 'index'],
    ['HTTPS://host/download?id=3', 'object'],
    ['http://host/noext', 'object'],
    ['https://host/dir/', 'prefix'],
    ['/data/samples/', 'prefix'],
    ['/data/samples', 'prefix'],
    ['/data/samples/a.root', 'object'],
    ['relative/dir/b.pool.root.3', 'object'],
    ['/data/index.txt', 'index'],
    ['/data/x.rootfile', 'prefix'],
    ['/data/x.root.', 'prefix'],
  ];
  for (const [entry, kind] of cases) {
    test(`${entry} → ${kind}`, () => assert.equal(classifyEntry(entry), kind));
  }
});

// ---------------------------------------------------------------------------
describe('planShards', () => {
  const MB = 1024 * 1024;

  test('parts = ceil(size / shardBytes), at least 1; unknown size → 1 part; file order then part order', () => {
    const objects: ObjectInfo[] = [
      { url: 'gs://b/a.root', size: 10 * MB, generation: '17' }, // exactly 10 shards
      { url: 'gs://b/b.root', size: 10 * MB + 1 }, // one byte over → 11
      { url: 'gs://b/c.root', size: 1 }, // tiny → 1
      { url: 'gs://b/d.root', size: 0 }, // empty → still 1
      { url: 'https://h/e.root' }, // size unknown → 1
    ];
    const plan = planShards(objects, MB);
    const perFile = (url: string) => plan.filter((s) => s.url === url);
    assert.equal(perFile('gs://b/a.root').length, 10);
    assert.equal(perFile('gs://b/b.root').length, 11);
    assert.equal(perFile('gs://b/c.root').length, 1);
    assert.equal(perFile('gs://b/d.root').length, 1);
    assert.equal(perFile('https://h/e.root').length, 1);
    assert.equal(plan.length, 24);

    // order: the files in the given order, each file's parts 0..n-1 in a row
    const expected: { url: string; part: number; parts: number }[] = [];
    for (const [url, n] of [['gs://b/a.root', 10], ['gs://b/b.root', 11], ['gs://b/c.root', 1], ['gs://b/d.root', 1], ['https://h/e.root', 1]] as const) {
      for (let part = 0; part < n; part++) expected.push({ url, part, parts: n });
    }
    assert.deepEqual(plan.map(({ url, part, parts }) => ({ url, part, parts })), expected);

    // size and generation are carried; absent ones stay absent (not undefined-valued keys)
    assert.deepEqual(plan[0], { url: 'gs://b/a.root', part: 0, parts: 10, size: 10 * MB, generation: '17' });
    assert.deepEqual(plan[10], { url: 'gs://b/b.root', part: 0, parts: 11, size: 10 * MB + 1 });
    assert.deepEqual(plan[plan.length - 1], { url: 'https://h/e.root', part: 0, parts: 1 });
    assert.ok(!('size' in plan[plan.length - 1]!));
    assert.ok(!('generation' in plan[10]!));
  });

  test('random sizes: parts per file = max(1, ceil(size / shardBytes))', () => {
    const rand = prng(20240611);
    for (let round = 0; round < 200; round++) {
      const shardBytes = 1 + Math.floor(rand() * 5000);
      const objects: ObjectInfo[] = Array.from({ length: 1 + Math.floor(rand() * 6) }, (_, i) => (rand() < 0.15 ? { url: `f${i}` } : { url: `f${i}`, size: Math.floor(rand() * 40000) }));
      const plan = planShards(objects, shardBytes);
      let i = 0;
      for (const o of objects) {
        const n = o.size === undefined ? 1 : Math.max(1, Math.ceil(o.size / shardBytes));
        for (let part = 0; part < n; part++, i++) {
          assert.equal(plan[i]!.url, o.url, `round ${round}`);
          assert.equal(plan[i]!.part, part);
          assert.equal(plan[i]!.parts, n);
        }
      }
      assert.equal(plan.length, i, `round ${round}`);
    }
  });

  test('no objects → no shards', () => {
    assert.deepEqual(planShards([], MB), []);
  });

  test('more shards than maxShards → RequestError 413 on shardMB, naming the count and the limit', async () => {
    const objects: ObjectInfo[] = [{ url: 'gs://b/a.root', size: 5 * MB }, { url: 'gs://b/b.root', size: 1 }];
    assert.equal(planShards(objects, MB, 6).length, 6); // exactly at the limit is fine
    await rejectsRequest(() => planShards(objects, MB, 5), 413, 'shardMB', /\b6 shards\b/, /\b5\b/, /shardMB/);
  });

  test('a shard size that is not positive is a programming error (RangeError)', () => {
    for (const bad of [0, -1, Number.NaN]) assert.throws(() => planShards([{ url: 'x.root', size: 1 }], bad), RangeError);
  });
});

// ---------------------------------------------------------------------------
describe('partEntryRange', () => {
  /** Clusters tiling [0, entries) with random sizes (some layouts a few huge clusters, some many small ones). */
  function randomLayout(rand: () => number): { clusters: Range[]; entries: number } {
    const style = rand();
    const clusters: Range[] = [];
    const count = 1 + Math.floor(rand() * (style < 0.3 ? 4 : style < 0.7 ? 30 : 200));
    let at = 0;
    for (let i = 0; i < count; i++) {
      const size = 1 + Math.floor(rand() * (rand() < 0.1 ? 5000 : 300));
      clusters.push({ entryStart: at, entryStop: at + size });
      at += size;
    }
    return { clusters, entries: at };
  }

  function allParts(clusters: readonly Range[], entries: number, parts: number): Range[] {
    return Array.from({ length: parts }, (_, part) => partEntryRange(clusters, entries, part, parts));
  }

  const SEEDS = 120;

  test('random layouts, parts 1..50: non-empty parts tile [0, entries) in part order, once, as unions of whole clusters', () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const { clusters, entries } = randomLayout(prng(seed));
      const starts = new Set(clusters.map((c) => c.entryStart));
      const stops = new Set(clusters.map((c) => c.entryStop));
      for (let parts = 1; parts <= 50; parts++) {
        const where = `seed ${seed}, ${clusters.length} clusters, ${entries} entries, ${parts} parts`;
        const ranges = allParts(clusters, entries, parts);
        let covered = 0;
        ranges.forEach((r, part) => {
          assert.ok(r.entryStart <= r.entryStop && r.entryStart >= 0 && r.entryStop <= entries, `${where}: part ${part} is ${JSON.stringify(r)}`);
          if (r.entryStart === r.entryStop) return;
          // contiguous with the previous non-empty part: no gap, no overlap
          assert.equal(r.entryStart, covered, `${where}: part ${part} starts at ${r.entryStart}, the parts before it end at ${covered}`);
          // whole clusters: starts at a cluster start, ends at a cluster stop
          assert.ok(starts.has(r.entryStart), `${where}: part ${part} starts inside a cluster`);
          assert.ok(stops.has(r.entryStop), `${where}: part ${part} ends inside a cluster`);
          // it holds the clusters whose first entry falls in [part·E/parts, (part+1)·E/parts)
          for (const c of clusters) {
            if (c.entryStart >= r.entryStart && c.entryStop <= r.entryStop) assert.equal(Math.floor((c.entryStart * parts) / entries), part, `${where}: cluster ${JSON.stringify(c)} in part ${part}`);
          }
          covered = r.entryStop;
        });
        assert.equal(covered, entries, `${where}: the parts cover [0, ${covered}) of [0, ${entries})`);
        // every cluster is in exactly one part
        for (const c of clusters) {
          const owners = ranges.filter((r) => c.entryStart >= r.entryStart && c.entryStop <= r.entryStop && r.entryStop > r.entryStart);
          assert.equal(owners.length, 1, `${where}: cluster ${JSON.stringify(c)} is in ${owners.length} parts`);
        }
      }
    }
  });

  test('deterministic: the same answer every call, in any call order, from a copy of the layout', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const { clusters, entries } = randomLayout(prng(seed));
      const copy = clusters.map((c) => ({ ...c }));
      for (const parts of [1, 2, 3, 7, 16, 50]) {
        const forward = allParts(clusters, entries, parts);
        const backward = Array.from({ length: parts }, (_, i) => parts - 1 - i).map((part) => partEntryRange(copy, entries, part, parts)).reverse();
        assert.deepEqual(backward, forward, `seed ${seed}, ${parts} parts`);
        assert.deepEqual(allParts(clusters, entries, parts), forward);
      }
      assert.deepEqual(copy, clusters, 'the layout is not modified');
    }
  });

  test('one part is the whole file; as many parts as clusters of equal size gives one cluster each', () => {
    const clusters = Array.from({ length: 8 }, (_, i) => ({ entryStart: i * 10, entryStop: i * 10 + 10 }));
    assert.deepEqual(partEntryRange(clusters, 80, 0, 1), { entryStart: 0, entryStop: 80 });
    assert.deepEqual(allParts(clusters, 80, 8), clusters);
    assert.deepEqual(allParts(clusters, 80, 4), [0, 1, 2, 3].map((k) => ({ entryStart: k * 20, entryStop: k * 20 + 20 })));
  });

  test('the r21 sample layout (clusters [0,27) [27,40)) in 3 parts: all 40 entries once', () => {
    const clusters = [{ entryStart: 0, entryStop: 27 }, { entryStart: 27, entryStop: 40 }];
    const ranges = allParts(clusters, 40, 3);
    assert.deepEqual(ranges[0], { entryStart: 0, entryStop: 27 });
    assert.equal(ranges[1]!.entryStart, ranges[1]!.entryStop, 'no cluster starts in part 1');
    assert.deepEqual(ranges[2], { entryStart: 27, entryStop: 40 });
    assert.equal(ranges.reduce((n, r) => n + r.entryStop - r.entryStart, 0), 40);
  });

  test('no entries → every part is empty at 0', () => {
    for (const parts of [1, 3]) for (let part = 0; part < parts; part++) assert.deepEqual(partEntryRange([], 0, part, parts), { entryStart: 0, entryStop: 0 });
  });

  // The doc comment says "the parts are contiguous" and the code places an empty
  // part "where it would be so the range is still ordered". Taken strictly — part
  // k ends where part k+1 starts, part 0 starts at 0, the last part ends at
  // `entries` — an empty part placed at ceil(k·E/parts) breaks it: with clusters
  // [0,27) [27,40) and 3 parts, part 1 is [14,14), inside part 0's [0,27).
  test('strict contiguity including empty parts: part k ends where part k+1 starts, the last ends at entries', () => {
    const problems: string[] = [];
    for (let seed = 1; seed <= SEEDS; seed++) {
      const { clusters, entries } = randomLayout(prng(seed));
      for (let parts = 1; parts <= 50; parts++) {
        const ranges = allParts(clusters, entries, parts);
        let at = 0;
        for (let part = 0; part < parts; part++) {
          const r = ranges[part]!;
          if (r.entryStart !== at) {
            problems.push(`seed ${seed} (${clusters.length} clusters, ${entries} entries), ${parts} parts: part ${part} is [${r.entryStart},${r.entryStop}) but the previous part ends at ${at}`);
            break;
          }
          at = r.entryStop;
        }
        if (at !== entries) problems.push(`seed ${seed}, ${parts} parts: the last part ends at ${at}, not ${entries}`);
      }
    }
    // the smallest reproduction first
    const r21 = allParts([{ entryStart: 0, entryStop: 27 }, { entryStart: 27, entryStop: 40 }], 40, 3);
    assert.deepEqual(r21, [{ entryStart: 0, entryStop: 27 }, { entryStart: 27, entryStop: 27 }, { entryStart: 27, entryStop: 40 }], 'r21 layout in 3 parts');
    assert.deepEqual(problems.slice(0, 5), [], `${problems.length} layouts/part counts are not strictly contiguous`);
  });

  test('an invalid part or part count is RootError BAD_ARGUMENT', () => {
    const clusters = [{ entryStart: 0, entryStop: 10 }];
    const bad: [number, number][] = [
      [-1, 3],
      [3, 3],
      [4, 3],
      [0, 0],
      [0, -2],
      [1.5, 3],
      [0, 2.5],
      [Number.NaN, 2],
      [0, Number.NaN],
      [0, Number.POSITIVE_INFINITY],
    ];
    for (const [part, parts] of bad) {
      assert.throws(
        () => partEntryRange(clusters, 10, part, parts),
        (e: unknown) => e instanceof RootError && e.code === 'BAD_ARGUMENT' && e.transient === false && /part/.test(e.message),
        `part ${part} of ${parts}`,
      );
    }
  });
});

// ---------------------------------------------------------------------------
describe('expandDataset (local directories)', () => {
  let dir: string;
  const objects = createLocalObjectStore();
  const config = (overrides: Partial<PipelineConfig> = {}) => resolveConfig({ statConcurrency: 3, ...overrides });
  const p = (...parts: string[]) => path.join(dir, ...parts);

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'plan-test-'));
    await mkdir(p('data', 'sub'), { recursive: true });
    await mkdir(p('empty'));
    await mkdir(p('many'));
    await writeFile(p('data', 'a.root'), Buffer.alloc(100));
    await writeFile(p('data', 'b.pool.root.1'), Buffer.alloc(200));
    await writeFile(p('data', 'notes.txt'), 'not a ROOT file');
    await writeFile(p('data', 'README'), 'neither');
    await writeFile(p('data', 'sub', 'c.root'), Buffer.alloc(300));
    await writeFile(p('data', 'run1_x.root'), Buffer.alloc(11));
    await writeFile(p('data', 'run1_y.root'), Buffer.alloc(12));
    await writeFile(p('data', 'run2_z.root'), Buffer.alloc(13));
    await writeFile(p('empty', 'only.txt'), 'no ROOT files here');
    for (let i = 0; i < 5; i++) await writeFile(p('many', `f${i}.root`), Buffer.alloc(i + 1));
    await writeFile(
      p('index.txt'),
      [`# the files of run 1`, '', `  ${p('data', 'a.root')}  `, '\t', `# ${p('data', 'missing.root')} (commented out)`, p('data', 'sub', 'c.root'), ''].join('\r\n'),
    );
    await writeFile(p('comments-only.txt'), '# nothing\n\n   \n# still nothing\n');
    await writeFile(p('nested.txt'), `${p('data', 'a.root')}\n${p('index.txt')}\n`);
    await writeFile(p('index-missing.txt'), `${p('data', 'a.root')}\n${p('data', 'nope.root')}\n`);
    await writeFile(p('index-many.txt'), Array.from({ length: 5 }, (_, i) => p('many', `f${i}.root`)).join('\n'));
    await writeFile(p('big.txt'), `${p('data', 'a.root')}\n`.repeat(100));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a directory prefix lists the ROOT files under it, recursively, in name order, with sizes', async () => {
    for (const entry of [p('data') + '/', p('data')]) {
      const out = await expandDataset([entry], objects, config());
      assert.deepEqual(out.objects, [
        { url: p('data', 'a.root'), size: 100 },
        { url: p('data', 'b.pool.root.1'), size: 200 },
        { url: p('data', 'run1_x.root'), size: 11 },
        { url: p('data', 'run1_y.root'), size: 12 },
        { url: p('data', 'run2_z.root'), size: 13 },
        { url: p('data', 'sub', 'c.root'), size: 300 },
      ], entry);
      assert.equal(out.duplicates, 0);
    }
  });

  test('a name prefix (not a directory) lists the matching entries', async () => {
    const out = await expandDataset([p('data', 'run1_')], objects, config());
    assert.deepEqual(out.objects.map((o) => o.url), [p('data', 'run1_x.root'), p('data', 'run1_y.root')]);
  });

  test('explicit objects are stat()ed and kept as named', async () => {
    const out = await expandDataset([p('data', 'sub', 'c.root'), p('data', 'b.pool.root.1')], objects, config());
    assert.deepEqual(out, { objects: [{ url: p('data', 'sub', 'c.root'), size: 300 }, { url: p('data', 'b.pool.root.1'), size: 200 }], duplicates: 0 });
  });

  test('an index file: comments, blank lines, CRLF and surrounding spaces ignored; each URL stat()ed', async () => {
    const out = await expandDataset([p('index.txt')], objects, config());
    assert.deepEqual(out, { objects: [{ url: p('data', 'a.root'), size: 100 }, { url: p('data', 'sub', 'c.root'), size: 300 }], duplicates: 0 });
  });

  test('objects named more than once (overlapping prefix, repeated entry, index) are kept once and counted', async () => {
    const out = await expandDataset([p('data') + '/', p('data', 'a.root'), p('data', 'a.root'), p('index.txt'), p('data', 'run1_')], objects, config());
    const urls = out.objects.map((o) => o.url);
    assert.equal(new Set(urls).size, urls.length, 'no url twice');
    assert.deepEqual([...urls].sort(), [p('data', 'a.root'), p('data', 'b.pool.root.1'), p('data', 'run1_x.root'), p('data', 'run1_y.root'), p('data', 'run2_z.root'), p('data', 'sub', 'c.root')].sort());
    // 6 listed under data/ + a.root ×2 + index (a.root, c.root) + run1_ (2) = 12 named, 6 distinct
    assert.equal(out.duplicates, 6);
  });

  // The local store lists absolute paths but keeps an explicit entry as given,
  // and expandDataset (shared/pipeline/plan.ts:81) drops duplicates by comparing
  // those strings: one file named by a relative path (or "dir//a.root") and
  // through its directory is planned twice, so its events are counted twice.
  test('the same file named by a relative path and through its directory is kept once', async () => {
    const relative = path.relative(process.cwd(), p('data', 'a.root'));
    for (const spelling of [relative, p('data') + '//a.root', `./${relative}`]) {
      const out = await expandDataset([p('data') + '/', spelling], objects, config());
      const aRoot = out.objects.filter((o) => path.resolve(o.url) === p('data', 'a.root'));
      assert.equal(aRoot.length, 1, `${spelling}: a.root planned as ${aRoot.map((o) => o.url).join(' and ')}`);
      assert.equal(out.duplicates, 1, spelling);
    }
  });

  test('a missing object → 400 naming the entry', async () => {
    const missing = p('data', 'missing.root');
    await rejectsRequest(() => expandDataset([p('data', 'a.root'), missing], objects, config()), 400, 'dataset', new RegExp(`entry ${reEscape(missing)} was not found`));
  });

  test('an index line longer than a dataset entry may be → 400 naming the line and the index (the plan stores every URL in full)', async () => {
    await writeFile(p('index-long.txt'), `${p('data', 'a.root')}\n/${'x'.repeat(2100)}.root\n`);
    const e = await rejectsRequest(() => expandDataset([p('index-long.txt')], objects, config()), 400, 'dataset', new RegExp(`line 2 of index file ${reEscape(p('index-long.txt'))} is longer than 2048 characters`));
    assert.doesNotMatch(e.message, /xxxx/);
  });

  test('a missing object listed in an index → 400 naming the line and the index, not quoting the line (an "index" may be any text file)', async () => {
    const e = await rejectsRequest(() => expandDataset([p('index-missing.txt')], objects, config()), 400, 'dataset', new RegExp(`line 2 of index file ${reEscape(p('index-missing.txt'))} was not found`));
    assert.doesNotMatch(e.message, /nope/);
  });

  test('a missing directory or index file → 400 naming it', async () => {
    await rejectsRequest(() => expandDataset([p('no-such-dir') + '/'], objects, config()), 400, 'dataset', new RegExp(reEscape(p('no-such-dir'))));
    await rejectsRequest(() => expandDataset([p('no-such-index.txt')], objects, config()), 400, 'dataset', new RegExp(reEscape(p('no-such-index.txt'))));
  });

  test('a prefix with no ROOT files → 400 naming it', async () => {
    await rejectsRequest(() => expandDataset([p('empty') + '/'], objects, config()), 400, 'dataset', /no ROOT files/, new RegExp(reEscape(p('empty'))));
    await rejectsRequest(() => expandDataset([p('data', 'zzz_')], objects, config()), 400, 'dataset', /no ROOT files/);
  });

  test('an index that lists nothing → 400', async () => {
    await rejectsRequest(() => expandDataset([p('comments-only.txt')], objects, config()), 400, 'dataset', /lists no URLs/, new RegExp(reEscape(p('comments-only.txt'))));
  });

  test('an index naming another index → 400 naming the line and the index', async () => {
    await rejectsRequest(() => expandDataset([p('nested.txt')], objects, config()), 400, 'dataset', new RegExp(`line 2 of index file ${reEscape(p('nested.txt'))} names another index file`));
  });

  test('an index file larger than maxIndexBytes → 413', async () => {
    await rejectsRequest(() => expandDataset([p('big.txt')], objects, config({ maxIndexBytes: 64 })), 413, 'dataset', new RegExp(reEscape(p('big.txt'))));
  });

  test('more files than maxShards (by listing, by index, by explicit entries) → 413 naming the limit', async () => {
    await rejectsRequest(() => expandDataset([p('many') + '/'], objects, config({ maxShards: 4 })), 413, 'dataset', /more than the 4 shards/);
    await rejectsRequest(() => expandDataset([p('index-many.txt')], objects, config({ maxShards: 4 })), 413, 'dataset', /more than the 4 shards/);
    const explicit = [0, 1, 2].map((i) => p('many', `f${i}.root`));
    await rejectsRequest(() => expandDataset(explicit, objects, config({ maxShards: 2 })), 413, 'dataset', /makes 3 files/);
    // exactly at the limit is fine
    assert.equal((await expandDataset([p('many') + '/'], objects, config({ maxShards: 5 }))).objects.length, 5);
  });

  test('an explicit ".root" that is a directory → 400', async () => {
    await mkdir(p('dir.root'), { recursive: true });
    await rejectsRequest(() => expandDataset([p('dir.root')], objects, config()), 400, 'dataset', new RegExp(reEscape(p('dir.root'))));
  });
});

function reEscape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
