// The status pages: a running job shows its progress numbers and reloads
// itself, failures and retries are listed with everything from data escaped,
// a finished job shows its result (counts, cut-flow, one inline SVG per
// histogram plus the cut-flow's) and stops reloading; the job list links each
// job and reloads only while one runs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fill } from '../shared/analysis/result';
import { emptyReferenceResult } from '../shared/analysis/reference/index';
import type { JobListEntry, JobStatus } from '../shared/pipeline/model';
import { formatBytes, formatDuration, formatEventRate, formatInt, renderJobList, renderJobPage } from '../shared/pipeline/status-page';

const HOSTILE = '<script>alert("x")</script> & \'more\'';
const HOSTILE_URL = 'gs://bucket/a"><img src=x onerror=alert(1)>.root';

function runningStatus(overrides: Partial<JobStatus> = {}): JobStatus {
  return {
    jobId: 'zmumu-2024',
    label: 'Z→μμ <test> run',
    state: 'running',
    analysis: 'reference',
    options: { profile: 'r22' },
    dataset: { preview: ['gs://atlas-open/mc20/', 'https://example.org/a.root'], entries: 5, files: 120, bytes: 250e9 },
    shards: { total: 1000, done: 400, failed: 12, pending: 558, running: 30 },
    published: true,
    events: 48_213_377,
    bytesRead: 98.7e9,
    createdAt: '2026-11-25T02:39:36.000Z',
    elapsedSeconds: 200,
    throughput: { eventsPerSecond: 241_066.9, bytesPerSecond: 493.5e6 },
    etaSeconds: 300,
    failures: [],
    moreFailures: 0,
    retrying: [],
    links: { self: '/jobs/zmumu-2024', page: '/jobs/zmumu-2024' },
    ...overrides,
  };
}

function finishedResult() {
  const r = emptyReferenceResult('r22');
  r.eventsRead = 1000;
  r.eventsKept = 250;
  r.counts.Electrons = { baseline: 812, passOR: 640, signal: 501 };
  r.counts.Muons = { baseline: 1234, passOR: 1100, signal: 987 };
  r.counts.Jets = { baseline: 5678, passOR: 4321, signal: 3210 };
  const steps = [1000, 990, 700, 600, 400, 250];
  r.cutflow.forEach((s, i) => (s.events = steps[i]!));
  for (const x of [12, 25, 25, 40, 41, 299, 400]) fill(r.histograms.pt_muons_passOR!, x);
  for (const x of [0.1, 0.5, 2.5, 7]) fill(r.histograms.dR_electron_jet_preOR!, x);
  return r;
}

function finishedStatus(): JobStatus {
  return runningStatus({
    state: 'finished',
    shards: { total: 10, done: 9, failed: 1, pending: 0, running: 0 },
    events: 1000,
    finishedAt: '2026-11-25T02:45:00.000Z',
    etaSeconds: undefined,
    failures: [{ shard: 7, url: 'gs://b/f.root', part: 1, parts: 3, error: { code: 'TRUNCATED', message: 'file ends early' } }],
    result: finishedResult(),
  });
}

const count = (s: string, sub: string) => s.split(sub).length - 1;

/** The markup from `marker` to the end of that table. */
function section(html: string, marker: string): string {
  const at = html.indexOf(marker);
  assert.ok(at >= 0, `no ${marker}`);
  return html.slice(at, html.indexOf('</table>', at));
}

test('formatting helpers: counts, bytes, durations, rates', () => {
  assert.equal(formatInt(48213377), '48,213,377');
  assert.equal(formatInt(0), '0');
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(1500), '1.5 kB');
  assert.equal(formatBytes(98.7e9), '98.7 GB');
  assert.equal(formatBytes(999_999), '1 MB');
  assert.equal(formatBytes(1024 ** 3), '1.07 GB');
  assert.equal(formatDuration(0.42), '0.4 s');
  assert.equal(formatDuration(42), '42 s');
  assert.equal(formatDuration(59.7), '1 min');
  assert.equal(formatDuration(200), '3 min 20 s');
  assert.equal(formatDuration(3600 + 5 * 60), '1 h 5 min');
  assert.equal(formatDuration(3 * 86400 + 4 * 3600), '3 d 4 h');
  assert.equal(formatDuration(undefined), '—');
  assert.equal(formatDuration(NaN), '—');
  assert.equal(formatEventRate(241066.9), '241,067 events/s');
  assert.equal(formatEventRate(12.345), '12.3 events/s');
});

test('a running job: a complete document with the progress numbers, a 2 s reload, no result', () => {
  const html = renderJobPage(runningStatus());
  assert.match(html, /^<!DOCTYPE html>\n<html lang="en">/);
  assert.ok(html.trimEnd().endsWith('</html>'));
  assert.equal(count(html, '<meta http-equiv="refresh" content="2">'), 1);
  assert.doesNotMatch(html, /<script|<link|src=/i, 'no scripts or external assets');
  assert.match(html, /<title>Job zmumu-2024 — Z→μμ &lt;test&gt; run \(running\)<\/title>/);
  assert.match(html, /<span class="badge running">running<\/span>/);
  // progress bar: done 40 %, failed 1.2 %, running 3 % of the width
  assert.match(html, /role="progressbar" aria-valuemin="0" aria-valuemax="1000" aria-valuenow="412"/);
  assert.match(html, /<span class="done" style="width: 40%"><\/span><span class="failed" style="width: 1.2%"><\/span><span class="running" style="width: 3%"><\/span>/);
  assert.match(html, /412 of 1,000 shards finished \(41\.2%\)/);
  for (const s of ['400 done', '12 failed', '30 running', '558 pending']) assert.ok(html.includes(s), s);
  assert.match(html, /<dt>Events<\/dt><dd>48,213,377<\/dd>/);
  assert.match(html, /<dt>Bytes read<\/dt><dd>98\.7 GB <span class="muted">\(dataset 250 GB\)<\/span><\/dd>/);
  assert.match(html, /<dt>Throughput<\/dt><dd>241,067 events\/s · 494 MB\/s<\/dd>/);
  assert.match(html, /<dt>Elapsed<\/dt><dd>3 min 20 s<\/dd>/);
  assert.match(html, /<dt>ETA<\/dt><dd>about 5 min<\/dd>/);
  assert.match(html, /<time datetime="2026-11-25T02:39:36.000Z">2026-11-25 02:39:36 UTC<\/time>/);
  assert.ok(html.includes('<code>{&quot;profile&quot;:&quot;r22&quot;}</code>'), 'options as escaped JSON');
  assert.ok(html.includes('<li class="muted">and 3 more</li>'), 'dataset entries beyond the preview');
  // links: JSON of this job, and the list relative to /jobs/{id}
  assert.ok(html.includes('<a href="/jobs/zmumu-2024?format=json">JSON</a>'));
  assert.ok(html.includes('<a href="../jobs">'));
  assert.equal(new URL('../jobs', 'https://h.example/jobs/zmumu-2024').pathname, '/jobs');
  // nothing of a result, no tables of failures or retries
  assert.equal(count(html, '<svg'), 0);
  assert.doesNotMatch(html, /<h2>Result|Failed shards|Retrying/);

  assert.ok(renderJobPage(runningStatus(), { refreshSeconds: 7 }).includes('<meta http-equiv="refresh" content="7">'));
  assert.doesNotMatch(renderJobPage(runningStatus(), { refreshSeconds: 0 }), /http-equiv/);
  assert.match(renderJobPage(runningStatus({ etaSeconds: undefined })), /<dt>ETA<\/dt><dd><span class="muted">— \(after the first shard reports\)/);
});

test('failures and retries are tabled, with hostile messages and URLs escaped', () => {
  const html = renderJobPage(
    runningStatus({
      jobId: 'j1',
      label: HOSTILE,
      failures: [
        { shard: 17, url: HOSTILE_URL, part: 2, parts: 4, error: { code: 'BAD_KEY', message: HOSTILE } },
        { shard: 18, url: 'https://example.org/b.root', part: 0, parts: 1, error: { code: 'HTTP_404', message: 'not found' } },
      ],
      moreFailures: 10,
      retrying: [
        { shard: 3, attempts: 2, error: { code: 'UNAVAILABLE', message: `socket hang up ${HOSTILE}` } },
        { shard: 4, attempts: 1 },
      ],
      links: { self: 'https://status.example/jobs/j1?x=1&y="2"', page: 'https://status.example/jobs/j1' },
    }),
  );
  assert.ok(!html.includes('<script>'), 'no live script element');
  assert.ok(!html.includes('<img'), 'no live img element');
  const escaped = '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;more&#39;';
  assert.ok(html.includes(`<p class="label">${escaped}</p>`), 'label escaped');
  assert.ok(html.includes(`<title>Job j1 — ${escaped} (running)</title>`), 'title escaped');

  const failures = section(html, '<table class="failures">');
  assert.ok(html.includes('<h2>Failed shards (12)</h2>'));
  assert.equal(count(failures, '<tr'), 4, 'header, two failures, "and N more"');
  assert.ok(
    failures.includes(
      `<tr><td class="n">17</td><td class="url"><code>gs://bucket/a&quot;&gt;&lt;img src=x onerror=alert(1)&gt;.root</code></td><td class="n">3/4</td>` +
        `<td><code class="code">BAD_KEY</code></td><td class="err"><span class="msg">${escaped}</span></td></tr>`,
    ),
  );
  assert.ok(failures.includes('<td class="n">1/1</td><td><code class="code">HTTP_404</code></td><td class="err"><span class="msg">not found</span>'));
  assert.ok(failures.includes('<tr class="more"><td colspan="5">and 10 more</td></tr>'));

  const retrying = section(html, '<table class="retrying">');
  assert.ok(html.includes('<h2>Retrying (2)</h2>'));
  assert.ok(retrying.includes(`<tr><td class="n">3</td><td class="n">2</td><td class="err"><code class="code">UNAVAILABLE</code> <span class="msg">socket hang up ${escaped}</span></td></tr>`));
  assert.ok(retrying.includes('<tr><td class="n">4</td><td class="n">1</td><td class="err">—</td></tr>'));

  // the JSON link keeps the existing query and is escaped inside the attribute
  assert.ok(html.includes('<a href="https://status.example/jobs/j1?x=1&amp;y=&quot;2&quot;&amp;format=json">JSON</a>'));
  // a link with a script scheme is not followed
  const evil = renderJobPage(runningStatus({ links: { self: 'javascript:alert(1)', page: '' } }));
  assert.ok(!evil.includes('javascript:'));
});

test('a finished job: badge with its failures, no reload, result tables and one SVG per histogram plus the cut-flow', () => {
  const status = finishedStatus();
  const html = renderJobPage(status, { refreshSeconds: 3 });
  assert.doesNotMatch(html, /http-equiv="refresh"/);
  assert.ok(html.includes('<span class="badge warn">finished with 1 failed shard</span>'));
  assert.ok(html.includes('<title>Job zmumu-2024 — Z→μμ &lt;test&gt; run (finished, 1 failed)</title>'));
  assert.doesNotMatch(html, /ETA/, 'no ETA once finished');
  assert.match(html, /<dt>Finished<\/dt><dd><time datetime="2026-11-25T02:45:00.000Z">/);
  assert.match(html, /10 of 10 shards finished \(100\.0%\)/);
  assert.ok(html.includes('<td class="n">2/3</td>'), 'part 1 of 0-based parts 3 shows as 2/3');

  assert.ok(html.includes('<h2>Result</h2>'));
  assert.ok(html.includes('1,000 events read · 250 kept (25.0%)'));
  const counts = section(html, '<table class="counts">');
  assert.ok(counts.includes('<th class="n">baseline</th><th class="n">passOR</th><th class="n">signal</th>'));
  assert.ok(counts.includes('<tr><td>Muons</td><td class="n">1,234</td><td class="n">1,100</td><td class="n">987</td></tr>'));
  assert.ok(counts.includes('<tr><td>Jets</td><td class="n">5,678</td><td class="n">4,321</td><td class="n">3,210</td></tr>'));
  const cutflow = section(html, '<table class="cutflow">');
  assert.equal(count(cutflow, '<tr>'), 7);
  assert.ok(cutflow.includes('<tr><td class="n">0</td><td>all events</td><td class="n">1,000</td><td class="n">100.0%</td><td class="n">—</td></tr>'));
  assert.ok(cutflow.includes('<tr><td class="n">2</td><td>≥1 baseline lepton</td><td class="n">700</td><td class="n">70.0%</td><td class="n">70.7%</td></tr>'));
  assert.ok(cutflow.includes('<td class="n">250</td><td class="n">25.0%</td><td class="n">62.5%</td></tr>'));

  const histograms = Object.keys(status.result!.histograms);
  assert.equal(histograms.length, 5);
  assert.equal(count(html, '<svg'), histograms.length + 1);
  assert.equal(count(html, '</svg>'), histograms.length + 1);
  assert.equal(count(html, '<figure class="plot cutflow">'), 1);
  for (const name of histograms) assert.ok(html.includes(`<figcaption><code>${name}</code></figcaption>`), name);
  assert.ok(html.includes('data-bins="60"'), 'the filled pt histogram draws its outline');

  // finished without failures: the plain badge
  const clean = renderJobPage({ ...status, shards: { total: 10, done: 10, failed: 0, pending: 0, running: 0 }, failures: [] });
  assert.ok(clean.includes('<span class="badge finished">finished</span>'));
  assert.doesNotMatch(clean, /Failed shards/);
  // everything failed: no result, said so, in the error colour
  const lost = renderJobPage({ ...status, shards: { total: 2, done: 0, failed: 2, pending: 0, running: 0 }, result: undefined });
  assert.ok(lost.includes('<span class="badge error">finished with 2 failed shards</span>'));
  assert.ok(lost.includes('No result: no shard finished successfully.'));
  assert.equal(count(lost, '<svg'), 0);
});

test('the job list: a row per job linking /jobs/{id}, escaped, reloading every 5 s only while a job runs', () => {
  const jobs: JobListEntry[] = [
    { jobId: 'run-b', label: HOSTILE, state: 'running', analysis: 'reference', shards: 40, createdAt: '2026-11-25T03:00:00.000Z' },
    {
      jobId: 'run-a',
      state: 'finished',
      analysis: 'reference',
      shards: 12,
      createdAt: '2026-11-25T02:00:00.000Z',
      finishedAt: '2026-11-25T02:03:20.000Z',
      summary: { shardsDone: 10, shardsFailed: 2, events: 1_234_567, bytesRead: 1e9, mergeMs: 40 },
    },
  ];
  const html = renderJobList(jobs);
  assert.match(html, /^<!DOCTYPE html>/);
  assert.equal(count(html, '<meta http-equiv="refresh" content="5">'), 1);
  assert.ok(html.includes('<a href="/jobs/run-b"><code>run-b</code></a>'));
  assert.ok(html.includes('<a href="/jobs/run-a"><code>run-a</code></a>'));
  assert.ok(!html.includes('<script>'));
  assert.ok(html.includes('<td>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;more&#39;</td>'));
  assert.ok(html.includes('<span class="badge warn">finished, 2 failed</span>'));
  assert.ok(html.includes('<td class="n">1,234,567</td>'));
  assert.ok(html.includes('<span class="muted">(3 min 20 s)</span>'));
  assert.equal(count(html, '<tr>'), 3);

  const done = renderJobList([jobs[1]!]);
  assert.doesNotMatch(done, /http-equiv/);
  assert.ok(renderJobList([jobs[0]!], { jobsPath: '/status/jobs/' }).includes('<a href="/status/jobs/run-b">'));
  assert.ok(renderJobList([{ ...jobs[0]!, jobId: 'a b/<c>' }]).includes('<a href="/jobs/a%20b%2F%3Cc%3E"><code>a b/&lt;c&gt;</code></a>'));
  assert.ok(renderJobList([]).includes('No jobs yet.'));
});

test('a rejected request (sent as a queue message) shows its reason, escaped, and does not reload', () => {
  const html = renderJobPage(runningStatus({ state: 'rejected', error: `400: unknown analysis ${HOSTILE}`, finishedAt: '2026-11-25T03:00:00.000Z' }));
  assert.match(html, /<span class="badge error">rejected<\/span>/);
  assert.match(html, /Rejected request/);
  assert.ok(html.includes('400: unknown analysis &lt;script&gt;'));
  assert.ok(!html.includes('<script>'));
  assert.ok(!html.includes('http-equiv="refresh"'));
  assert.ok(!html.includes('class="bar"'));
  const list = renderJobList([{ jobId: 'msg-1', state: 'rejected', analysis: '', shards: 0, createdAt: '2026-11-25T03:00:00.000Z', finishedAt: '2026-11-25T03:00:00.000Z' }]);
  assert.match(list, /badge error">rejected/);
});

test('a running job whose shards are not all published says how to finish publishing', () => {
  assert.match(renderJobPage(runningStatus({ published: false })), /repeat the job request with this <code>jobId<\/code>/);
  assert.doesNotMatch(renderJobPage(runningStatus()), /repeat the job request/);
});
