// Issue 14, checked by a second engineer from the issue text and the user
// docs only: other encodings of the same attacks and unusual inputs than the
// ones the implementing engineers tested (Host spellings, media types, secret
// parameter names, nested FIFOs, link loops, hard links, dump ranges).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { collect, rawRequest } from './support/raw-http';
import { link, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { LocalPipeline } from '../shared/pipeline/local/job';
import { jobCommand } from '../shared/cli/job';
import { runCommand } from '../shared/cli/run';
import { openOracle } from './support/jsroot-oracle';
import { startRangeServer, type RangeServer } from './support/range-server';
import { samplePath, sampleBytes } from '../scripts/lib/samples';

const BIN = fileURLToPath(new URL('../bin/physlite.js', import.meta.url));
const execFileP = promisify(execFile);

async function physlite(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return physliteWith({}, ...args);
}

async function physliteWith(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, [BIN, ...args], { maxBuffer: 64 << 20, timeout: 25_000, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'issue14-review-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------
describe('local server: other spellings of a foreign Host, other media types', () => {
  let pipeline: LocalPipeline;
  let port: number;
  const JOB = JSON.stringify({ dataset: ['/nonexistent/x.root'] });

  before(async () => {
    pipeline = new LocalPipeline({ workers: 1 });
    port = (await pipeline.serve(0)).port;
  });
  after(() => pipeline.close());

  test('Host names that merely contain a loopback name are refused, for reads and writes', async () => {
    const hosts = [
      `127.0.0.1.nip.io:${port}`,
      '127.0.0.1.nip.io',
      `localhost.attacker.example:${port}`,
      `LOCALHOST.attacker.example:${port}`,
      `attacker.localhost.example:${port}`,
      `evil-localhost:${port}`,
      `localhost@attacker.example:${port}`,
      `127.0.0.1:${port}@attacker.example`,
      `0x7f000001:${port}`,
      `2130706433:${port}`,
      `[::ffff:7f00:1]:${port}.attacker.example`,
      `attacker.example:${port}, 127.0.0.1:${port}`,
    ];
    for (const host of hosts) {
      const r = await rawRequest(port, { path: '/jobs?format=json', headers: { host } });
      assert.ok(r.status === 403 || r.status === 400, `GET with Host ${JSON.stringify(host)} answered ${r.status}: ${r.text}`);
      assert.equal(r.text.includes('"jobs"'), false, `${host}: ${r.text}`);
      const w = await rawRequest(port, { method: 'POST', headers: { host, 'content-type': 'application/json' }, body: JOB });
      assert.ok(w.status === 403 || w.status === 400, `POST with Host ${JSON.stringify(host)} answered ${w.status}: ${w.text}`);
    }
    assert.deepEqual(pipeline.store.snapshot(), {});
  });

  test('JSON media type: parameters and case are fine; text/json, application/json-seq and look-alikes are 415', async () => {
    for (const type of ['application/json; charset=utf-8', 'Application/JSON', 'application/json;charset=UTF-8', 'application/json ; charset=utf-8']) {
      const r = await rawRequest(port, { method: 'POST', headers: { host: `127.0.0.1:${port}`, 'content-type': type }, body: '{}' });
      assert.equal(r.status, 400, `${type}: ${r.text}`);
      assert.match(JSON.parse(r.text).error, /dataset is missing/, type);
    }
    for (const type of ['text/json', 'application/json-seq', 'application/jsonx', 'application/x-json', 'text/plain; x=application/json', 'text/plain, application/json', 'application/json-patch+json']) {
      const r = await rawRequest(port, { method: 'POST', headers: { host: `127.0.0.1:${port}`, 'content-type': type }, body: JOB });
      assert.equal(r.status, 415, `${type}: ${r.text}`);
    }
    assert.deepEqual(pipeline.store.snapshot(), {});
  });

  test('cross-origin JSON from an Origin that only resembles the server is refused', async () => {
    for (const origin of [`http://127.0.0.1:${port}.attacker.example`, `http://127.0.0.1.nip.io:${port}`, `http://localhost.attacker.example:${port}`, `http://127.0.0.1:${port}@attacker.example`]) {
      const r = await rawRequest(port, { method: 'POST', headers: { host: `127.0.0.1:${port}`, 'content-type': 'application/json', origin }, body: JOB });
      assert.equal(r.status, 403, `${origin}: ${r.text}`);
    }
    assert.deepEqual(pipeline.store.snapshot(), {});
  });

  test('malformed escapes in a job id: 400 naming the problem, no stack trace', async () => {
    for (const p of ['/jobs/%ZZ', '/jobs/%', '/jobs/%E0%A4%A', '/jobs/%C0%AF', '/jobs/abc%2', '/jobs/%ZZ?format=json']) {
      const r = await rawRequest(port, { path: p, headers: { host: `127.0.0.1:${port}` } });
      assert.equal(r.status, 400, `${p}: ${r.text}`);
      assert.doesNotMatch(r.text, /at .*\.(ts|js):\d+|URIError|stack/, p);
    }
  });
});

// ---------------------------------------------------------------------------
describe('index files: a refusal quotes none of the file', () => {
  test('.lst with a secret on line 3, .list with a secret on line 1 after comments', async () => {
    const SECRET = 'S3CRET-correct-horse';
    const lst = path.join(dir, 'index.lst');
    await writeFile(lst, `# comment\n\nhttps://example.invalid/${SECRET}.root?token=${SECRET}\n`);
    const list = path.join(dir, 'index.list');
    await writeFile(list, `# ${SECRET}\n   \n/nope/${SECRET}\n`);
    const refused = path.join(dir, 'refused.txt');
    await writeFile(refused, `https://127.0.0.1:1/${SECRET}/f.root\n`);
    const binary = path.join(dir, 'bin.txt');
    await writeFile(binary, Buffer.concat([Buffer.from(`${SECRET}\0\0\xff\xfe`), Buffer.alloc(100, 1)]));
    const pipeline = new LocalPipeline({ workers: 1 });
    try {
      const { port } = await pipeline.serve(0);
      for (const f of [lst, list, refused, binary]) {
        const r = await rawRequest(port, { method: 'POST', headers: { host: `127.0.0.1:${port}`, 'content-type': 'application/json' }, body: JSON.stringify({ dataset: [f] }) });
        assert.ok(r.status >= 400 && r.status <= 503, `${f}: ${r.status} ${r.text}`);
        assert.match(JSON.parse(r.text).error, /of index file /, f);
        assert.equal(r.text.includes('S3CRET'), false, `${f}: ${r.text}`);
        assert.equal(r.text.includes('correct-horse'), false, `${f}: ${r.text}`);
      }
      assert.deepEqual(pipeline.store.snapshot(), {});
    } finally {
      await pipeline.close();
    }
  });
});

// ---------------------------------------------------------------------------
describe('signed-URL secrets under other parameter names', () => {
  let server: RangeServer;
  before(async () => {
    server = await startRangeServer({ 'not-root.root': new Uint8Array(4096).fill(7) });
  });
  after(() => server.close());

  const SECRETS = ['amzSIG0123456789abcdef', 'sasSIG0123456789abcdef', 'tokVAL0123456789abcdef', 'awsSIG0123456789abcdef', 'googSIG0123456789abcdef'];
  const queries = [
    `?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20261202&x-amz-signature=${SECRETS[0]}`,
    `?sv=2022-11-02&se=2026-12-03&SIG=${SECRETS[1]}`,
    `?Token=${SECRETS[2]}`,
    `?Expires=1&signature=${SECRETS[3]}&Key-Pair-Id=K1`,
    `?x-goog-signature=${SECRETS[4]}&x-goog-credential=svc`,
  ];

  test('physlite run --keep-going and job --local --json never print the secret', async () => {
    for (let i = 0; i < queries.length; i++) {
      const url = `${server.urlFor('not-root.root')}${queries[i]}`;
      const out = collect();
      const err = collect();
      const code = await runCommand([url, '--keep-going'], out, err);
      assert.equal(code, 1, err.text());
      const text = out.text() + err.text();
      assert.match(text, /not-root\.root/);
      assert.equal(text.includes(SECRETS[i]!), false, `run shows ${queries[i]}: ${text}`);
      const jOut = collect();
      const jErr = collect();
      await jobCommand(['--local', url, '--json', '--workers', '1'], jOut, jErr);
      const jText = jOut.text() + jErr.text();
      assert.match(jText, /BAD_MAGIC/);
      assert.equal(jText.includes(SECRETS[i]!), false, `job shows ${queries[i]}: ${jText}`);
    }
  });

  test('the local server\'s status JSON, page and job list never show them', async () => {
    const pipeline = new LocalPipeline({ workers: 1 });
    try {
      const { port } = await pipeline.serve(0);
      const host = `127.0.0.1:${port}`;
      const dataset = queries.map((q, i) => `${server.urlFor('not-root.root')}${q}&copy=${i}`);
      const post = await rawRequest(port, { method: 'POST', headers: { host, 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify({ dataset }) });
      assert.equal(post.status, 202, post.text);
      const jobId = JSON.parse(post.text).jobId as string;
      const status = await pipeline.waitFor(jobId, undefined, 50);
      // URLs that differ in their query are different requests (a query may select the object): five shards
      assert.equal(status.shards.failed, queries.length);
      const texts = [
        post.text,
        (await rawRequest(port, { path: `/jobs/${encodeURIComponent(jobId)}?format=json`, headers: { host } })).text,
        (await rawRequest(port, { path: `/jobs/${encodeURIComponent(jobId)}`, headers: { host, accept: 'text/html' } })).text,
        (await rawRequest(port, { path: '/jobs?format=json', headers: { host } })).text,
      ];
      assert.match(texts[1]!, /not-root\.root/);
      for (const text of texts) for (const secret of SECRETS) assert.equal(text.includes(secret), false, `${secret} in ${text.slice(0, 1500)}`);
    } finally {
      await pipeline.close();
    }
  });

  test('credentials in the URL\'s user-info are not shown either', async () => {
    const url = server.urlFor('not-root.root').replace('http://', 'http://alice:pa55word-XYZ@');
    const out = collect();
    const err = collect();
    await runCommand([url, '--keep-going'], out, err);
    const text = out.text() + err.text();
    assert.match(text, /not-root\.root/);
    assert.equal(text.includes('pa55word-XYZ'), false, text);
  });
});

// ---------------------------------------------------------------------------
describe('unusual files on disk', () => {
  test('a FIFO nested two levels down: run DIR ends promptly naming it (exit 1, nothing analysed); inspect and dump of it refuse', { timeout: 30_000 }, async () => {
    const root = path.join(dir, 'fifo-tree');
    await mkdir(path.join(root, 'a', 'b'), { recursive: true });
    const fifo = path.join(root, 'a', 'b', 'events.root');
    await execFileP('mkfifo', [fifo]);
    await symlink(await samplePath('PHYSLITE_example.root'), path.join(root, 'physlite.root'));
    // a listing that meets a non-regular file refuses the run and says how to go on
    const r = await physlite('run', root, '--max-events', '50');
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /events\.root: a FIFO, not a regular file/);
    assert.equal(r.stdout, '');
    const job = await physlite('job', '--local', root, '--workers', '1');
    assert.notEqual(job.code, 0);
    assert.match(job.stdout + job.stderr, /events\.root/);
    for (const args of [['inspect', fifo], ['dump', fifo, '--branch', 'x'], ['run', fifo]]) {
      const x = await physlite(...args);
      assert.equal(x.code, 1, `${args[0]}: ${x.stdout} ${x.stderr}`);
      assert.match(x.stderr, /FIFO, not a regular file/, args[0]);
      assert.equal(x.stdout, '', args[0]);
    }
  });

  test('job --local: a FIFO as an index file, a FIFO named on an index line, a device as a .root: refused at once (exit 2), nothing read', { timeout: 30_000 }, async () => {
    const root = path.join(dir, 'fifo-index');
    await mkdir(root, { recursive: true });
    await execFileP('mkfifo', [path.join(root, 'list.txt')]);
    await execFileP('mkfifo', [path.join(root, 'ev.root')]);
    await writeFile(path.join(root, 'idx.lst'), `# events\n${path.join(root, 'ev.root')}\n`);
    await symlink('/dev/zero', path.join(root, 'zero.root'));
    const cases: [string, RegExp][] = [
      [path.join(root, 'list.txt'), /list\.txt: a FIFO, not a regular file/],
      [path.join(root, 'idx.lst'), /line 2 of index file .*idx\.lst/],
      [path.join(root, 'zero.root'), /zero\.root: a character device, not a regular file/],
    ];
    for (const [input, message] of cases) {
      const r = await physlite('job', '--local', input, '--workers', '1');
      assert.equal(r.code, 2, `${input}: ${r.stdout} ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });

  test('a directory symlink loop and a fan-out of links: run finishes, each file analysed once', { timeout: 30_000 }, async () => {
    const root = path.join(dir, 'loops');
    await mkdir(path.join(root, 'sub'), { recursive: true });
    const sample = await samplePath('PHYSLITE_example.root');
    await symlink(sample, path.join(root, 'sub', 'one.root'));
    await symlink('..', path.join(root, 'sub', 'up'));
    await symlink(root, path.join(root, 'sub', 'abs-up'));
    for (let k = 0; k < 8; k++) await symlink(path.join(root, 'sub'), path.join(root, `fan${k}`));
    const r = await physlite('run', root, '--max-events', '20', '--json');
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as { eventsRead: number };
    assert.equal(result.eventsRead, 20, 'one file, 20 events, not 20 per path to it');
    // a link to itself named *.root: refused with its reason, no hang
    await symlink(path.join(root, 'self.root'), path.join(root, 'self.root'));
    const looped = await physlite('run', root, '--max-events', '20');
    assert.equal(looped.code, 1);
    assert.match(looped.stderr, /self\.root: symbolic link to a missing file/);
  });

  test('a hard link and a symlink to the same file given explicitly: run reads it once', { timeout: 30_000 }, async () => {
    const root = path.join(dir, 'links');
    await mkdir(root, { recursive: true });
    const sample = await samplePath('PHYSLITE_example.root');
    const copy = path.join(root, 'copy.root');
    await writeFile(copy, await sampleBytes('PHYSLITE_example.root'));
    await link(copy, path.join(root, 'hard.root'));
    await symlink(copy, path.join(root, 'soft.root'));
    const once = await physlite('run', copy, '--max-events', '10', '--json');
    assert.equal(once.code, 0, once.stderr);
    const all = await physlite('run', copy, path.join(root, 'soft.root'), path.join(root, 'hard.root'), '--max-events', '10', '--json');
    assert.equal(all.code, 0, all.stderr);
    assert.equal(JSON.parse(all.stdout).eventsRead, JSON.parse(once.stdout).eventsRead);
    assert.ok(sample);
  });
});

// ---------------------------------------------------------------------------
describe('dump ranges and the RNTuple sample', () => {
  const SAMPLE = 'PHYSLITE_example.root';
  const BRANCH = 'AnalysisElectronsAuxDyn.pt';

  test('--start 0 --stop 0 is an empty array; negative, fractional, reversed, huge are usage errors (exit 2, nothing on stdout)', async () => {
    const file = await samplePath(SAMPLE);
    const empty = await physlite('dump', file, '--branch', BRANCH, '--start', '0', '--stop', '0');
    assert.equal(empty.code, 0, empty.stderr);
    assert.deepEqual(JSON.parse(empty.stdout), []);
    const same = await physlite('dump', file, '--branch', BRANCH, '--start', '3', '--stop', '3');
    assert.deepEqual(JSON.parse(same.stdout), []);
    for (const range of [['--start=-1'], ['--stop=-2'], ['--start', '1.5'], ['--start', '5', '--stop', '2'], ['--stop', 'abc'], ['--start', '99999999999999999999'], ['--start', '']]) {
      const r = await physlite('dump', file, '--branch', BRANCH, ...range);
      assert.equal(r.code, 2, `${range.join(' ')}: ${r.stdout} ${r.stderr}`);
      assert.equal(r.stdout, '', range.join(' '));
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
  });

  test('a --stop past the last entry gives the entries there are, each as jsroot reads it', async () => {
    const oracle = await openOracle(await sampleBytes(SAMPLE), 'CollectionTree');
    const want = await oracle.read(BRANCH);
    assert.ok(Array.isArray(want));
    const n = oracle.entries;
    const r = await physlite('dump', await samplePath(SAMPLE), '--branch', BRANCH, '--start', String(n - 2), '--stop', String(n + 1000));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), want.slice(n - 2));
  });

  test('the RNTuple sample: its ##Params and ##Shapes trees dump as jsroot reads them; its events are named as an RNTuple', async () => {
    const RNT = 'uproot-physlite-rntuple_v1-0-0-0.root';
    const bytes = await sampleBytes(RNT);
    const file = await samplePath(RNT);
    for (const tree of ['##Params', '##Shapes']) {
      const oracle = await openOracle(bytes, tree);
      for (const branch of ['db_string', 'index_ref']) {
        const want = await oracle.read(branch);
        assert.ok(Array.isArray(want), `jsroot reads ${tree}/${branch}`);
        const r = await physlite('dump', file, '--tree', tree, '--branch', branch);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(JSON.parse(r.stdout), want, `${tree}/${branch}`);
      }
    }
    const amiTag = await physlite('dump', file, '--tree', 'MetaData', '--branch', 'FileMetaDataAuxDyn.amiTag');
    assert.deepEqual(JSON.parse(amiTag.stdout), ['e8514_s4159_s4114_r14799']);
    const events = await physlite('dump', file, '--tree', 'EventData', '--branch', 'x');
    assert.equal(events.code, 1);
    assert.match(events.stderr, /RNTuple/);
    assert.equal(events.stdout, '');
    const ran = await physlite('run', file);
    assert.notEqual(ran.code, 0);
    assert.match(ran.stderr + ran.stdout, /RNTuple/);
  });

  test('inspect FILE | head -1 prints one line and no EPIPE trace', { timeout: 30_000 }, async () => {
    const file = await samplePath('DAOD_PHYSLITE_21.2.108.0.art.pool.root');
    const child = spawn('sh', ['-c', `"${process.execPath}" "${BIN}" inspect "${file}" | head -c 10`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c));
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    await new Promise((resolve) => child.on('close', resolve));
    assert.equal(stdout.length, 10);
    assert.equal(stderr, '');
  });
});

// ---------------------------------------------------------------------------
describe('a tree whose entry count is patched in an uncompressed file', () => {
  /** uproot-HZZ-uncompressed.root with the TTree's fEntries (the first int64 2421 after the class name "TTree") replaced. */
  async function patchedTree(entries: bigint, name: string): Promise<string> {
    const bytes = Buffer.from(await sampleBytes('uproot-HZZ-uncompressed.root'));
    const at = bytes.indexOf(Buffer.from('TTree'));
    const want = Buffer.alloc(8);
    want.writeBigInt64BE(2421n);
    const offset = bytes.indexOf(want, at);
    assert.ok(at > 0 && offset > at && offset - at < 200, 'fEntries found just after the TTree streamer header');
    bytes.writeBigInt64BE(entries, offset);
    const file = path.join(dir, name);
    await writeFile(file, bytes);
    return file;
  }

  test('2^52, 2422, 2420, 0 and -5 entries against 2421 in the branches: exit 1 naming the disagreement, stdout empty or valid JSON, bounded memory', { timeout: 60_000 }, async () => {
    const cases: [bigint, RegExp][] = [
      [2n ** 52n, /4503599627370496 entries but branch NJet holds 2421/],
      [2422n, /2422 entries but branch NJet holds 2421/],
      [2420n, /2420 entries but branch NJet holds 2421/],
      [0n, /0 entries but branch NJet holds 2421/],
      [-5n, /-5 entries/],
    ];
    for (const [entries, message] of cases) {
      const file = await patchedTree(entries, `hzz-${entries}.root`);
      for (const range of [[], ['--start', '2419', '--stop', '2425'], ['--start', '0', '--stop', '3']]) {
        // a 128 MiB heap: a decoder that sized anything by the claimed count would die here
        const r = await physliteWith({ NODE_OPTIONS: '--max-old-space-size=128' }, 'dump', file, '--branch', 'NJet', ...range);
        assert.equal(r.code, 1, `${entries} ${range.join(' ')}: ${r.stdout.slice(0, 200)} ${r.stderr}`);
        if (r.stdout !== '') assert.doesNotThrow(() => JSON.parse(r.stdout), `${entries}: stdout is not JSON`);
        assert.match(r.stderr, message, `${entries}`);
        assert.match(r.stderr, /\[CORRUPT\]/);
        assert.doesNotMatch(r.stderr, /\n\s+at /);
      }
      const i = await physlite('inspect', file);
      assert.equal(i.code, 1, `${entries}`);
      assert.match(i.stderr, message);
    }
  });
});
