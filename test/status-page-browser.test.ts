// The status page in a real browser (Debian's Chromium, driven by
// playwright-core): a job whose shards this test delivers by hand, so the page
// is caught RUNNING — progress bar, ETA, a failed shard, a retrying one, the
// cost so far — and then, after the page has reloaded itself, FINISHED with
// its result tables and plots drawn. File names, the label, a dataset entry
// and an error message carry markup that would run script if it were not
// escaped: the browser must show it as text, load nothing, and run nothing.
//
// The pipeline pieces are the real ones (orchestrator, worker, reducer, the
// local status server over the same HTTP routes as the Cloud Run functions);
// only the queue is replaced by a recording publisher whose messages the test
// delivers when it chooses. Expected numbers come from the single-file runner
// (checked against the independent oracle elsewhere) or are the samples'
// known entry counts, never from the page's own code.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { analyseFile } from '../shared/analysis/runner';
import { createAnalysis } from '../shared/analysis/registry';
import { mergeAll, type AnalysisResult } from '../shared/analysis/result';
import { resolveConfig } from '../shared/pipeline/config';
import { MemoryDocumentStore } from '../shared/pipeline/local/memory-store';
import { createLocalObjectStore } from '../shared/pipeline/local/object-store';
import { startLocalServer, type LocalServer } from '../shared/pipeline/local/server';
import { submitJob } from '../shared/pipeline/orchestrator';
import { handleShardDoneDelivery } from '../shared/pipeline/reducer';
import { JobStore } from '../shared/pipeline/state';
import { handleShardDelivery } from '../shared/pipeline/worker';
import { samplePath } from '../scripts/lib/samples';
import { launchChromium, type TestBrowser } from './support/browser';
import { deliveryOf, RecordingPublisher } from './support/recording-publisher';
import { R21_EVENTS, R21_NAME, R22_EVENTS, R22_NAME } from './support/sample-pair';

const IMG = '<img src=x onerror=window.__pwned=1>';
const SCRIPT = '<script>window.__pwned=1</script>';
const LABEL = `Z→μμ ${SCRIPT}${IMG}`;
const RETRY_MESSAGE = `socket hang up ${SCRIPT} ${IMG}`;
// a dataset folder named as ATLAS names them: long, without a space to break the line at
const DATASET = 'mc20_13TeV.700320.Sh_2211_Zee_maxHTpTV2_BFilter.deriv.DAOD_PHYSLITE.e8351_s3681_r13144_r13146_p6026';

let dir: string;
let shotDir: string;
let browser: TestBrowser;
let server: LocalServer;
let expected: AnalysisResult;
const config = resolveConfig();
const store = new MemoryDocumentStore();
const publisher = new RecordingPublisher();
const deps = { store, publisher, objects: createLocalObjectStore(), config, log: () => undefined };

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'physlite-browser-'));
  shotDir = process.env.STATUS_PAGE_SCREENSHOTS || (await mkdtemp(path.join(tmpdir(), 'physlite-screens-')));
  await mkdir(shotDir, { recursive: true });
  const [r21, r22] = [await samplePath(R21_NAME), await samplePath(R22_NAME)];
  // listed in name order ('<' sorts before 'm'): shard 0 = the <img…> file, 1 = the <script>…</script> file, 2 = r21, 3 = r22
  await writeFile(path.join(dir, `${IMG}.root`), new Uint8Array(4096).fill(7));
  await mkdir(path.join(dir, '<script>window.__pwned=1<'));
  await writeFile(path.join(dir, `${SCRIPT}.root`), new Uint8Array(4096).fill(7));
  await mkdir(path.join(dir, DATASET));
  await symlink(r21, path.join(dir, DATASET, 'DAOD_PHYSLITE.37621409._000001.pool.root.1'));
  await symlink(r22, path.join(dir, DATASET, 'DAOD_PHYSLITE.37621409._000002.pool.root.1'));
  expected = mergeAll([(await analyseFile(r21, createAnalysis('reference'))).result, (await analyseFile(r22, createAnalysis('reference'))).result]);
  server = await startLocalServer(deps);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
  if (!process.env.STATUS_PAGE_SCREENSHOTS) await rm(shotDir, { recursive: true, force: true });
});

/** Runs the worker on the published message of one shard. */
async function deliverShard(jobId: string, shard: number, workerId = 'browser-test'): Promise<void> {
  const m = publisher.on(config.topics.shards).find((x) => x.data.jobId === jobId && x.data.shard === shard);
  assert.ok(m, `shard ${shard} was published`);
  await handleShardDelivery(deliveryOf(m), { ...deps, workerId });
}

/** The little of the DOM the test's in-page function uses (the project compiles without the DOM library). */
type InPage = { document: { querySelector(selector: string): { textContent: string | null } | null } };

/** Everything the test reads off the page, in one evaluation (the running page reloads itself every 2 s). */
interface PageView {
  title: string;
  badge: string;
  bodyText: string;
  facts: Record<string, string>;
  bar: { width: number; height: number; segments: { cls: string; width: number }[] };
  tables: Record<string, string[][]>;
  figures: { caption: string; width: number; height: number; marks: number; drawn: number }[];
  scripts: number;
  images: number;
  handlers: number;
  pwned: unknown;
}

// Plain JavaScript run in the page, kept as text: tsx would wrap a function
// written here in helpers (__name) that do not exist in the page.
const READ_VIEW = `(() => {
  const box = (e) => e.getBoundingClientRect();
  const facts = {};
  for (const dt of document.querySelectorAll('dl.facts dt')) facts[dt.textContent] = dt.nextElementSibling.innerText;
  const tables = {};
  for (const t of document.querySelectorAll('table')) tables[t.className] = [...t.querySelectorAll('tr')].map((tr) => [...tr.children].map((c) => c.innerText));
  const bar = document.querySelector('.bar');
  return {
    title: document.title,
    badge: document.querySelector('h1 .badge')?.textContent ?? '',
    bodyText: document.body.innerText,
    facts,
    bar: { width: bar ? box(bar).width : 0, height: bar ? box(bar).height : 0, segments: bar ? [...bar.children].map((s) => ({ cls: s.className, width: box(s).width })) : [] },
    tables,
    figures: [...document.querySelectorAll('figure')].map((f) => {
      const svg = f.querySelector('svg');
      const marks = svg ? [...svg.querySelectorAll('rect, path, polyline, line')] : [];
      return {
        caption: f.querySelector('figcaption')?.textContent ?? '',
        width: svg ? box(svg).width : 0,
        height: svg ? box(svg).height : 0,
        marks: marks.length,
        drawn: marks.filter((m) => box(m).width > 0 || box(m).height > 0).length,
      };
    }),
    scripts: document.scripts.length,
    images: document.images.length,
    handlers: [...document.querySelectorAll('*')].filter((e) => [...e.attributes].some((a) => a.name.startsWith('on'))).length,
    pwned: window.__pwned,
  };
})()`;

function readView(page: Page): Promise<PageView> {
  return page.evaluate(READ_VIEW) as Promise<PageView>;
}

/** readView, again if a reload of the page came in between. */
async function view(page: Page): Promise<PageView> {
  for (let attempt = 1; ; attempt++) {
    try {
      await page.waitForLoadState('load');
      return await readView(page);
    } catch (e) {
      if (attempt >= 5 || !/context was destroyed|navigat/i.test(String(e))) throw e;
    }
  }
}

/** Nothing from data ran, loaded or became markup; the hostile strings show as text. */
function assertInert(v: PageView, requests: string[], origin: string): void {
  assert.equal(v.pwned, undefined, 'no script from data ran');
  assert.equal(v.scripts, 0, 'no <script> element');
  assert.equal(v.images, 0, 'no <img> element');
  assert.equal(v.handlers, 0, 'no element with an on… attribute');
  assert.deepEqual(
    requests.filter((u) => !u.startsWith(`${origin}/jobs/`)),
    [],
    'the page requested nothing but itself',
  );
  assert.ok(v.bodyText.includes(LABEL), 'the label shows as the text it is');
}

test('a running job, then the same page finished: progress, ETA, failures, cost, result and plots, and nothing from data runs', async (t) => {
  const job = await submitJob({ dataset: [dir + '/', path.join(dir, `${SCRIPT}.root`), path.join(dir, DATASET)], label: LABEL }, deps);
  assert.equal(job.shards, 4);
  assert.equal(job.duplicates, 3, 'the hostile file and the dataset folder are in the first folder too');
  const jobId = job.jobId;
  // running: shard 0 failed (not a ROOT file), shard 2 done, shard 3 started and retrying, shard 1 pending
  await deliverShard(jobId, 0);
  await deliverShard(jobId, 2);
  const jobs = new JobStore(store, config);
  await jobs.beginAttempt(jobId, 3, 'browser-test', Date.now());
  await jobs.noteTransientError(jobId, 3, { code: 'SOURCE_UNAVAILABLE', message: RETRY_MESSAGE }, Date.now());

  const page = await browser.context.newPage();
  const requests: string[] = [];
  const problems: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  const response = await page.goto(`${server.url}/jobs/${jobId}`);
  assert.equal(response?.status(), 200);
  const csp = response?.headers()['content-security-policy'] ?? '';
  assert.match(csp, /default-src 'none'/, 'the page forbids everything it does not need');
  assert.doesNotMatch(csp, /script-src/, 'and allows no script at all');

  await t.test('running', async () => {
    const v = await view(page);
    assert.equal(v.badge, 'running');
    assert.match(v.title, /^Job .* \(running\)$/);
    // progress: 2 of 4 finished; the bar's segments are a quarter of its width each (done, failed, running)
    assert.match(v.bodyText, /2 of 4 shards finished \(50\.0%\)/);
    for (const s of ['1 done', '1 failed', '1 running', '1 pending']) assert.ok(v.bodyText.includes(s), s);
    assert.deepEqual(
      v.bar.segments.map((s) => s.cls),
      ['done', 'failed', 'running'],
    );
    assert.ok(v.bar.width > 400 && v.bar.height > 10, `the bar is drawn (${v.bar.width}×${v.bar.height})`);
    for (const s of v.bar.segments) assert.ok(Math.abs(s.width - v.bar.width / 4) <= 2, `${s.cls} is a quarter of the bar (${s.width} of ${v.bar.width})`);
    // facts: r21's events so far, an ETA (a shard has reported), the dataset with its hostile entry as text
    assert.equal(v.facts.Events, String(R21_EVENTS));
    assert.match(v.facts.ETA ?? '', /^about \d+(\.\d)? (s|min)/);
    assert.ok((v.facts.Dataset ?? '').includes(`${SCRIPT}.root`), 'the dataset entry shows as text');
    // the failed shard: the <img…> file, named as text
    const failures = v.tables.failures ?? [];
    assert.deepEqual(failures[0], ['shard', 'file', 'part', 'error', 'message']);
    assert.equal(failures.length, 2);
    assert.deepEqual(failures[1]!.slice(0, 4), ['0', path.join(dir, `${IMG}.root`), '1/1', 'BAD_MAGIC']);
    // the retrying shard with its hostile message
    assert.deepEqual(v.tables.retrying?.[1], ['3', '1', `SOURCE_UNAVAILABLE ${RETRY_MESSAGE}`]);
    // the cost so far: a row per item and a total in dollars
    const cost = v.tables.cost ?? [];
    assert.ok(cost.length >= 3, 'cost items');
    assert.match(cost.at(-1)!.join(' '), /total so far\s+\$\d/);
    assert.equal(v.figures.length, 0, 'no plots before the result');
    assertInert(v, requests, server.url);
    await page.screenshot({ path: path.join(shotDir, 'running.png'), fullPage: true });
  });

  await t.test('finished, after the page reloaded itself', async () => {
    await deliverShard(jobId, 1);
    await deliverShard(jobId, 3, 'browser-test-2');
    for (const m of publisher.take(config.topics.shardDone)) await handleShardDoneDelivery(deliveryOf(m), { ...deps, workerId: 'browser-reducer' });
    assert.equal((await jobs.getJob(jobId))?.state, 'finished');
    // the meta refresh brings the finished page without the test reloading it
    // (a function, not a string: the page's CSP refuses eval, so Playwright could not run a string predicate)
    await page.waitForFunction(() => (globalThis as unknown as InPage).document.querySelector('h1 .badge')?.textContent?.startsWith('finished'), undefined, { timeout: 30_000 });
    const v = await view(page);
    assert.equal(v.badge, 'finished with 2 failed shards');
    assert.match(v.bodyText, /4 of 4 shards finished \(100\.0%\)/);
    assert.equal(v.facts.Events, String(R21_EVENTS + R22_EVENTS));
    assert.equal(v.facts.ETA, undefined, 'no ETA once finished');
    assert.ok(v.facts.Finished, 'a finish time');
    const failures = v.tables.failures ?? [];
    assert.deepEqual(
      failures.slice(1).map((r) => [r[0], r[1], r[3]]),
      [
        ['0', path.join(dir, `${IMG}.root`), 'BAD_MAGIC'],
        ['1', path.join(dir, `${SCRIPT}.root`), 'BAD_MAGIC'],
      ],
    );
    assert.equal(v.tables.retrying, undefined, 'nothing retries once finished');
    assert.match((v.tables.cost ?? []).at(-1)!.join(' '), /^total\s+\$\d/);
    // the result: the cut-flow table has the merged per-file numbers, step by step
    const cutflow = v.tables.cutflow ?? [];
    assert.deepEqual(
      cutflow.slice(1).map((r) => [r[1], r[2]]),
      expected.cutflow.map((s) => [s.name, s.events.toLocaleString('en-US')]),
    );
    assert.equal(expected.cutflow[0]!.events, R21_EVENTS + R22_EVENTS);
    const counts = v.tables.counts ?? [];
    assert.deepEqual(
      counts.slice(1).map((r) => r[0]),
      Object.keys(expected.counts),
    );
    // plots: the cut-flow's and one per histogram, each an SVG with a size and marks drawn
    const names = Object.keys(expected.histograms);
    assert.deepEqual(
      v.figures.map((f) => f.caption),
      ['cut-flow', ...names],
    );
    for (const f of v.figures) {
      assert.ok(f.width >= 300 && f.height >= 150, `${f.caption}: drawn at ${f.width}×${f.height}`);
      assert.ok(f.drawn >= 3 && f.drawn === f.marks, `${f.caption}: ${f.drawn} of ${f.marks} marks have a size`);
    }
    assertInert(v, requests, server.url);
    assert.deepEqual(problems, [], 'no script errors, console errors or dialogs');
    const png = await page.screenshot({ path: path.join(shotDir, 'finished.png'), fullPage: true });
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG');
    // a finished page no longer reloads itself
    assert.equal(await page.locator('meta[http-equiv="refresh"]').count(), 0);
  });

  await t.test('on a phone-sized screen nothing pushes the page wider than the screen', async () => {
    for (const width of [390, 1280]) {
      await page.setViewportSize({ width, height: 800 });
      const [scrollWidth, clientWidth] = (await page.evaluate('[document.documentElement.scrollWidth, document.documentElement.clientWidth]')) as number[];
      assert.equal(scrollWidth, clientWidth, `at ${width} px the page does not scroll sideways (the long dataset name wraps, wide tables scroll on their own)`);
      const v = await view(page);
      for (const f of v.figures) assert.ok(f.width > 200 && f.width <= width, `${f.caption}: ${f.width} px wide on a ${width} px screen`);
      await page.screenshot({ path: path.join(shotDir, `finished-${width}.png`), fullPage: true });
    }
  });

  await t.test('the job list links the job, with its label as text', async () => {
    const list = await browser.context.newPage();
    const listRequests: string[] = [];
    list.on('request', (r) => listRequests.push(r.url()));
    await list.goto(`${server.url}/jobs`);
    await list.screenshot({ path: path.join(shotDir, 'list.png'), fullPage: true });
    const row = list.locator('table.jobs tbody tr');
    assert.equal(await row.count(), 1);
    assert.equal(await row.locator('td').nth(1).innerText(), LABEL);
    assert.equal(await row.locator('td').nth(2).innerText(), 'finished, 2 failed');
    assert.equal(await list.evaluate('window.__pwned'), undefined);
    assert.equal(await list.evaluate('document.images.length + document.scripts.length'), 0);
    await row.locator('a').click();
    await list.waitForURL(`${server.url}/jobs/${jobId}`);
    assert.equal(await list.locator('h1 .badge').innerText(), 'finished with 2 failed shards');
    assert.deepEqual(
      listRequests.filter((u) => !u.startsWith(`${server.url}/jobs`)),
      [],
    );
    await list.close();
  });
  await page.close();
});
