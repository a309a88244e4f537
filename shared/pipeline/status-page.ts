// The job status as HTML for a person in a browser: the page GET /jobs/{id}
// answers (progress, failures, retries and, once merged, the result with its
// plots) and the list of recent jobs GET /jobs answers. Pure: data in, one
// self-contained HTML5 document out (inline CSS and SVG, no scripts, no
// external assets). A running job's page reloads itself with
// <meta http-equiv="refresh">; a finished one does not. http.ts serves the
// pages with a Content-Security-Policy that allows inline styles and nothing
// else (no script, no loads), so keep them that way.
//
// Everything that comes from data (ids, labels, URLs, error messages,
// histogram names) goes through escapeXml, so it shows as text.
//
// Links. The job page is served at /jobs/{id}: its link back to the list is
// the relative "../jobs" (resolves to /jobs, and still works when the
// service sits under a path prefix such as a function's URL). The list page
// is served at /jobs; its rows link to "/jobs/{id}" (root-relative: correct
// whether the list was requested as /jobs or /jobs/), and `jobsPath` changes
// that prefix for a deployment under a path. The JSON form of a page is the
// same address with ?format=json.

import type { AnalysisResult } from '../analysis/result';
import { cutflowSvg, resultPlots, FONT_FAMILY } from '../plot/svg';
import { escapeXml as esc, formatCount, formatPercent, num } from '../plot/text';
import { formatQuantity, formatUsd, type CostReport } from './cost';
import type { ErrorInfo, JobListEntry, JobStatus } from './model';

export interface JobPageOptions {
  /** Seconds between reloads while the job runs; default 2; 0 turns reloading off. Never when finished. */
  refreshSeconds?: number;
  /** The job list, relative to the page's address; default "../jobs" (the page is served at /jobs/{id}). */
  listHref?: string;
}

export interface JobListOptions {
  /** Seconds between reloads while any job runs; default 5; 0 turns reloading off. */
  refreshSeconds?: number;
  /** Prefix of the job pages' addresses; default "/jobs" (rows link to /jobs/{id}). */
  jobsPath?: string;
}

const DEFAULT_PAGE_REFRESH = 2;
const DEFAULT_LIST_REFRESH = 5;

// ---------------------------------------------------------------- formatting

/** An integer count with thousands separators ("48,213,377"); anything else as formatCount does it. */
export function formatInt(n: number): string {
  if (!Number.isFinite(n)) return '—';
  return Number.isInteger(n) && Math.abs(n) < 1e15 ? n.toLocaleString('en-US') : formatCount(n);
}

/** Bytes in decimal SI units with 3 significant digits: "512 B", "1.5 kB", "123 MB", "1.07 GB". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  if (bytes < 1000) return `${Math.round(bytes)} B`;
  const units = ['kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  let v = bytes / 1000;
  let u = 0;
  while (Number(v.toPrecision(3)) >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${Number(v.toPrecision(3))} ${units[u]}`;
}

/** A duration for people: "0.4 s", "42 s", "3 min 20 s", "2 h 5 min", "3 d 4 h"; "—" when unknown. */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '—';
  if (seconds < 9.95) return `${Number(seconds.toFixed(1))} s`;
  let s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const pair = (a: number, unitA: string, b: number, unitB: string) => (b ? `${a} ${unitA} ${b} ${unitB}` : `${a} ${unitA}`);
  if (s < 3600) return pair(Math.floor(s / 60), 'min', s % 60, 's');
  s = Math.round(s / 60); // minutes
  if (s < 24 * 60) return pair(Math.floor(s / 60), 'h', s % 60, 'min');
  s = Math.round(s / 60); // hours
  return pair(Math.floor(s / 24), 'd', s % 24, 'h');
}

/** Events per second: integers with separators from 100 up, else 3 significant digits. */
export function formatEventRate(perSecond: number): string {
  if (!Number.isFinite(perSecond) || perSecond < 0) return '—';
  return `${perSecond >= 100 ? formatInt(Math.round(perSecond)) : String(Number(perSecond.toPrecision(3)))} events/s`;
}

/** An ISO time as "2026-11-25 02:39:36 UTC" in a <time> element; unparseable text as it is. */
function formatTime(iso: string | undefined): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return esc(iso);
  const d = new Date(t).toISOString();
  return `<time datetime="${d}">${d.slice(0, 10)} ${d.slice(11, 19)} UTC</time>`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatInt(n)} ${n === 1 ? one : many}`;
}

/** A link target safe to put in href: relative references and http(s) only, escaped. */
function href(url: string): string {
  const scheme = /^\s*([A-Za-z][A-Za-z0-9+.-]*):/.exec(url);
  if (scheme && !/^https?$/i.test(scheme[1]!)) return '#';
  return esc(url);
}

function withQuery(url: string, query: string): string {
  const hash = url.indexOf('#');
  const base = hash < 0 ? url : url.slice(0, hash);
  return base + (base.includes('?') ? '&' : '?') + query;
}

function refreshMeta(seconds: number | undefined, dflt: number): string {
  const s = seconds === undefined || !Number.isFinite(seconds) ? dflt : seconds;
  return s > 0 ? `<meta http-equiv="refresh" content="${Math.max(1, Math.round(s))}">\n` : '';
}

function errorText(e: ErrorInfo | undefined): string {
  return e ? `<code class="code">${esc(e.code)}</code> <span class="msg">${esc(e.message)}</span>` : '—';
}

// ---------------------------------------------------------------- page frame

const STYLE = `
:root { --done: #2e8540; --failed: #c0392b; --running: #7fa9dc; --pending: #e4e7eb; --warn: #e69500; --accent: #1f5fa8; }
* { box-sizing: border-box; }
body { font-family: ${FONT_FAMILY}; margin: 0 auto; padding: 16px 24px 48px; max-width: 1200px; color: #1a1a1a; background: #fff; line-height: 1.4; }
nav { font-size: 14px; margin-bottom: 8px; }
nav a, td a { color: var(--accent); }
h1 { font-size: 24px; margin: 8px 0 4px; display: flex; flex-wrap: wrap; align-items: center; gap: 12px; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 16px 0 6px; }
code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 0.92em; }
.label { font-size: 16px; color: #444; margin: 0 0 12px; }
.muted { color: #666; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 12px; font-size: 13px; font-weight: bold; color: #fff; white-space: nowrap; }
.badge.running { background: var(--accent); }
.badge.finished { background: var(--done); }
.badge.warn { background: var(--warn); color: #1a1a1a; }
.badge.error { background: var(--failed); }
.bar { display: flex; height: 22px; background: var(--pending); border-radius: 4px; overflow: hidden; margin: 12px 0 6px; border: 1px solid #c9ced4; }
.bar span { display: block; height: 100%; }
.bar .done { background: var(--done); }
.bar .failed { background: var(--failed); }
.bar .running { background: repeating-linear-gradient(45deg, var(--running) 0 8px, #a9c6ea 8px 16px); }
.legend { font-size: 14px; margin: 0 0 12px; }
.legend span { margin-right: 14px; white-space: nowrap; }
.legend i { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin-right: 5px; vertical-align: -1px; }
.legend .done i { background: var(--done); } .legend .failed i { background: var(--failed); }
.legend .running i { background: var(--running); } .legend .pending i { background: var(--pending); border: 1px solid #c9ced4; }
dl.facts { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 4px 20px; margin: 8px 0; font-size: 14px; }
dl.facts dt { color: #555; }
dl.facts dd { margin: 0; min-width: 0; overflow-wrap: anywhere; font-variant-numeric: tabular-nums; }
ul.dataset { margin: 0; padding-left: 18px; }
table { border-collapse: collapse; margin: 6px 0 12px; font-size: 14px; display: block; max-width: 100%; overflow-x: auto; }
th, td { padding: 3px 10px; border-bottom: 1px solid #e6e6e6; text-align: left; vertical-align: top; }
th { background: #f4f5f7; font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.url { overflow-wrap: anywhere; min-width: 12em; max-width: 420px; }
td.err { min-width: 16em; }
td.err .msg { white-space: pre-wrap; overflow-wrap: anywhere; }
td.err .code, td .code { color: var(--failed); font-weight: bold; }
tr.more td { color: #666; font-style: italic; }
.plots { display: flex; flex-wrap: wrap; gap: 16px; }
figure { margin: 0; flex: 1 1 520px; max-width: 820px; }
figure svg { display: block; width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { font-size: 12px; color: #666; margin-top: 2px; }
p.empty { color: #666; font-style: italic; }
details.assumptions { font-size: 13px; color: #444; max-width: 900px; }
details.assumptions li { margin: 2px 0; }
`;

function htmlDocument(title: string, refresh: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${refresh}<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body}</body>
</html>
`;
}

// ---------------------------------------------------------------- the job page

function badge(state: JobStatus['state'], done: number, failed: number): string {
  if (state === 'running') return '<span class="badge running">running</span>';
  if (state === 'rejected') return '<span class="badge error">rejected</span>';
  if (failed === 0) return '<span class="badge finished">finished</span>';
  return `<span class="badge ${done === 0 ? 'error' : 'warn'}">finished with ${plural(failed, 'failed shard')}</span>`;
}

function progress(status: JobStatus): string {
  const { total, done, failed, running, pending } = status.shards;
  const ended = done + failed;
  const pct = (n: number) => (total > 0 ? Math.min(100, Math.max(0, (100 * n) / total)) : 0);
  const fraction = total > 0 ? ended / total : status.state === 'finished' ? 1 : 0;
  const seg = (cls: string, n: number) => (n > 0 && total > 0 ? `<span class="${cls}" style="width: ${num(pct(n))}%"></span>` : '');
  return (
    `<div class="bar" role="progressbar" aria-valuemin="0" aria-valuemax="${total}" aria-valuenow="${ended}" aria-label="shards finished">` +
    seg('done', done) +
    seg('failed', failed) +
    seg('running', running) +
    '</div>\n' +
    `<p class="legend"><strong>${formatInt(ended)} of ${plural(total, 'shard')} finished (${formatPercent(fraction)})</strong> ` +
    `<span class="done"><i></i>${formatInt(done)} done</span>` +
    `<span class="failed"><i></i>${formatInt(failed)} failed</span>` +
    `<span class="running"><i></i>${formatInt(running)} running</span>` +
    `<span class="pending"><i></i>${formatInt(pending)} pending</span></p>\n`
  );
}

function facts(status: JobStatus): string {
  const rows: [string, string][] = [];
  rows.push(['Events', formatInt(status.events)]);
  rows.push(['Bytes read', `${formatBytes(status.bytesRead)} <span class="muted">(dataset ${formatBytes(status.dataset.bytes)})</span>`]);
  rows.push(['Throughput', `${formatEventRate(status.throughput.eventsPerSecond)} · ${formatBytes(status.throughput.bytesPerSecond)}/s`]);
  rows.push(['Elapsed', formatDuration(status.elapsedSeconds)]);
  if (status.state === 'running') rows.push(['ETA', status.etaSeconds === undefined ? '<span class="muted">— (after the first shard reports)</span>' : `about ${formatDuration(status.etaSeconds)}`]);
  rows.push(['Created', formatTime(status.createdAt)]);
  if (status.finishedAt) rows.push(['Finished', formatTime(status.finishedAt)]);
  let options = '';
  try {
    options = Object.keys(status.options ?? {}).length ? JSON.stringify(status.options) : '';
  } catch {
    options = '(not printable)';
  }
  rows.push(['Analysis', `<code>${esc(status.analysis)}</code>${options ? ` <span class="muted">options</span> <code>${esc(options)}</code>` : ''}`]);
  const ds = status.dataset;
  const preview = ds.preview.map((p) => `<li><code>${esc(p)}</code></li>`).join('');
  const hidden = ds.entries - ds.preview.length;
  rows.push([
    'Dataset',
    `${plural(ds.entries, 'entry', 'entries')} · ${plural(ds.files, 'file')} · ${formatBytes(ds.bytes)}` +
      (preview ? `<ul class="dataset">${preview}${hidden > 0 ? `<li class="muted">and ${formatInt(hidden)} more</li>` : ''}</ul>` : ''),
  ]);
  return `<dl class="facts">\n${rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('\n')}\n</dl>\n`;
}

function failuresTable(status: JobStatus): string {
  if (status.failures.length === 0 && status.moreFailures <= 0) return '';
  const rows = status.failures.map(
    (f) =>
      `<tr><td class="n">${formatInt(f.shard)}</td><td class="url"><code>${esc(f.url)}</code></td><td class="n">${formatInt(f.part + 1)}/${formatInt(f.parts)}</td>` +
      `<td><code class="code">${esc(f.error.code)}</code></td><td class="err"><span class="msg">${esc(f.error.message)}</span></td></tr>`,
  );
  if (status.moreFailures > 0) rows.push(`<tr class="more"><td colspan="5">and ${formatInt(status.moreFailures)} more</td></tr>`);
  return (
    `<h2>Failed shards (${formatInt(status.failures.length + Math.max(0, status.moreFailures))})</h2>\n` +
    '<table class="failures">\n<thead><tr><th class="n">shard</th><th>file</th><th class="n">part</th><th>error</th><th>message</th></tr></thead>\n<tbody>\n' +
    rows.join('\n') +
    '\n</tbody>\n</table>\n'
  );
}

function retryingTable(status: JobStatus): string {
  if (status.retrying.length === 0) return '';
  const rows = status.retrying.map((r) => `<tr><td class="n">${formatInt(r.shard)}</td><td class="n">${formatInt(r.attempts)}</td><td class="err">${errorText(r.error)}</td></tr>`);
  return (
    `<h2>Retrying (${formatInt(status.retrying.length)})</h2>\n` +
    '<table class="retrying">\n<thead><tr><th class="n">shard</th><th class="n">attempts</th><th>last error</th></tr></thead>\n<tbody>\n' +
    rows.join('\n') +
    '\n</tbody>\n</table>\n'
  );
}

/** The cost estimate: one row per item, the total, and the assumptions behind it (folded away). */
function costSection(cost: CostReport | undefined, running: boolean): string {
  if (!cost) return running ? '' : '<h2>Estimated cost</h2>\n<p class="empty">Not available: this job finished before the pipeline recorded what jobs use.</p>\n';
  const rows = cost.items.map(
    (i) =>
      `<tr><td>${esc(i.item)}</td><td class="n">${esc(formatQuantity(i.quantity))}</td><td>${esc(i.unit)}</td>` +
      `<td class="n">${esc(formatUsd(i.unitPriceUsd))}</td><td class="n">${esc(formatUsd(i.usd))}</td><td class="muted">${esc(i.basis)}</td></tr>`,
  );
  rows.push(`<tr class="total"><th colspan="4">total${running ? ' so far' : ''}</th><th class="n">${esc(formatUsd(cost.totalUsd))}</th><th></th></tr>`);
  return (
    `<h2>Estimated cost (${esc(cost.currency)})</h2>\n` +
    '<table class="cost">\n<thead><tr><th>item</th><th class="n">quantity</th><th>unit</th><th class="n">unit price</th><th class="n">USD</th><th>basis</th></tr></thead>\n<tbody>\n' +
    rows.join('\n') +
    '\n</tbody>\n</table>\n' +
    `<details class="assumptions"><summary>Assumptions</summary>\n<ul>${cost.assumptions.map((a) => `<li>${esc(a)}</li>`).join('')}</ul>\n</details>\n`
  );
}

/** The result's numbers (as `physlite run` prints them), the cut-flow and every histogram. */
function resultSection(r: AnalysisResult, partial: boolean): string {
  const parts: string[] = [];
  parts.push(`<h2>${partial ? 'Result so far' : 'Result'}</h2>\n`);
  parts.push(
    `<p>Analysis <code>${esc(r.analysis)}</code> · profile <code>${esc(r.profile || '—')}</code> · ${formatInt(r.eventsRead)} events read · ${formatInt(r.eventsKept)} kept` +
      (r.eventsRead > 0 ? ` (${formatPercent(r.eventsKept / r.eventsRead)})` : '') +
      '</p>\n',
  );

  // objects per collection and flag: the flags as columns, in the order they first appear
  const collections = Object.keys(r.counts);
  const flags: string[] = [];
  for (const c of collections) for (const f of Object.keys(r.counts[c]!)) if (!flags.includes(f)) flags.push(f);
  if (collections.length) {
    parts.push('<h3>Objects</h3>\n<table class="counts">\n');
    parts.push(`<thead><tr><th>collection</th>${flags.map((f) => `<th class="n">${esc(f)}</th>`).join('')}</tr></thead>\n<tbody>\n`);
    for (const c of collections) {
      const counts = r.counts[c]!;
      parts.push(`<tr><td>${esc(c)}</td>${flags.map((f) => `<td class="n">${counts[f] === undefined ? '—' : formatInt(counts[f])}</td>`).join('')}</tr>\n`);
    }
    parts.push('</tbody>\n</table>\n');
  }

  // cut-flow with the efficiency of each step relative to the first and to the one before
  if (r.cutflow.length) {
    const first = r.cutflow[0]!.events;
    parts.push('<h3>Cut-flow</h3>\n<table class="cutflow">\n<thead><tr><th class="n">#</th><th>step</th><th class="n">events</th><th class="n">of all</th><th class="n">of previous</th></tr></thead>\n<tbody>\n');
    r.cutflow.forEach((s, i) => {
      const prev = i > 0 ? r.cutflow[i - 1]!.events : 0;
      const ofAll = first > 0 ? formatPercent(s.events / first) : '—';
      const ofPrev = i > 0 && prev > 0 ? formatPercent(s.events / prev) : '—';
      parts.push(`<tr><td class="n">${i}</td><td>${esc(s.name)}</td><td class="n">${formatInt(s.events)}</td><td class="n">${ofAll}</td><td class="n">${ofPrev}</td></tr>\n`);
    });
    parts.push('</tbody>\n</table>\n');
  }

  // plots: the cut-flow, then each histogram (inline SVG from shared/plot)
  const plots = resultPlots(r);
  parts.push('<h3>Plots</h3>\n<div class="plots">\n');
  parts.push(`<figure class="plot cutflow">\n${cutflowSvg(r)}<figcaption>cut-flow</figcaption>\n</figure>\n`);
  for (const p of plots) parts.push(`<figure class="plot histogram">\n${p.svg}<figcaption><code>${esc(p.name)}</code></figcaption>\n</figure>\n`);
  parts.push('</div>\n');
  return parts.join('');
}

/** The HTML page of one job (what GET /jobs/{id} answers a browser). */
export function renderJobPage(status: JobStatus, options: JobPageOptions = {}): string {
  const { done, failed } = status.shards;
  const running = status.state === 'running';
  const stateText = running ? 'running' : status.state === 'rejected' ? 'rejected' : failed > 0 ? `finished, ${failed} failed` : 'finished';
  const title = `Job ${status.jobId}${status.label ? ` — ${status.label}` : ''} (${stateText})`;
  const json = status.links.self ? withQuery(status.links.self, 'format=json') : '?format=json';
  const body: string[] = [];
  body.push(`<nav><a href="${href(options.listHref ?? '../jobs')}">← all jobs</a> · <a href="${href(json)}">JSON</a></nav>\n`);
  body.push(`<header>\n<h1><span>Job <code>${esc(status.jobId)}</code></span> ${badge(status.state, done, failed)}</h1>\n`);
  if (status.label) body.push(`<p class="label">${esc(status.label)}</p>\n`);
  body.push('</header>\n');
  if (status.state === 'rejected') {
    // a request that came as a queue message and was refused: the reason is all there is
    body.push(`<h2>Rejected request</h2>\n<p class="empty">${esc(status.error ?? 'no reason recorded')}</p>\n`);
    return htmlDocument(title, '', body.join(''));
  }
  if (running && !status.published) {
    body.push('<p class="empty">The shards are still being published — or publishing failed part way: repeat the job request with this <code>jobId</code> to finish it.</p>\n');
  }
  body.push('<section class="progress">\n' + progress(status) + facts(status) + '</section>\n');
  body.push(failuresTable(status));
  body.push(retryingTable(status));
  body.push(costSection(status.cost, running));
  if (status.result) body.push(resultSection(status.result, running));
  else if (!running) body.push('<h2>Result</h2>\n<p class="empty">No result: no shard finished successfully.</p>\n');
  return htmlDocument(title, running ? refreshMeta(options.refreshSeconds, DEFAULT_PAGE_REFRESH) : '', body.join(''));
}

// ---------------------------------------------------------------- the job list

function listState(job: JobListEntry): string {
  if (job.state === 'running') return '<span class="badge running">running</span>';
  if (job.state === 'rejected') return '<span class="badge error">rejected</span>';
  const failed = job.summary?.shardsFailed ?? 0;
  if (failed === 0) return '<span class="badge finished">finished</span>';
  return `<span class="badge ${job.summary?.shardsDone === 0 ? 'error' : 'warn'}">finished, ${formatInt(failed)} failed</span>`;
}

/** The HTML page of recent jobs (what GET /jobs answers a browser), in the order given. */
export function renderJobList(jobs: JobListEntry[], options: JobListOptions = {}): string {
  const prefix = (options.jobsPath ?? '/jobs').replace(/\/+$/, '');
  const rows = jobs.map((j) => {
    const took = j.finishedAt ? (Date.parse(j.finishedAt) - Date.parse(j.createdAt)) / 1000 : NaN;
    return (
      `<tr><td><a href="${href(`${prefix}/${encodeURIComponent(j.jobId)}`)}"><code>${esc(j.jobId)}</code></a></td>` +
      `<td>${j.label ? esc(j.label) : '<span class="muted">—</span>'}</td><td>${listState(j)}</td><td><code>${esc(j.analysis)}</code></td>` +
      `<td class="n">${formatInt(j.shards)}</td><td>${formatTime(j.createdAt)}</td>` +
      `<td>${j.finishedAt ? formatTime(j.finishedAt) + (Number.isFinite(took) && took >= 0 ? ` <span class="muted">(${formatDuration(took)})</span>` : '') : '—'}</td>` +
      `<td class="n">${j.summary ? formatInt(j.summary.events) : '—'}</td></tr>`
    );
  });
  const body =
    `<nav><a href="?format=json">JSON</a></nav>\n<h1>Jobs</h1>\n` +
    (jobs.length === 0
      ? '<p class="empty">No jobs yet.</p>\n'
      : '<table class="jobs">\n<thead><tr><th>job</th><th>label</th><th>state</th><th>analysis</th><th class="n">shards</th><th>created</th><th>finished</th><th class="n">events</th></tr></thead>\n<tbody>\n' +
        rows.join('\n') +
        '\n</tbody>\n</table>\n');
  const running = jobs.filter((j) => j.state === 'running').length;
  return htmlDocument(running ? `Jobs (${running} running)` : 'Jobs', running ? refreshMeta(options.refreshSeconds, DEFAULT_LIST_REFRESH) : '', body);
}
