// The operator scripts (scripts/deploy.sh, trigger.sh, upload-samples.sh) as
// a user runs them, against fake gcloud / terraform / npm executables (test/
// support/fake-cli.ts) and a local HTTP server standing in for the
// orchestrator and status functions. No cloud, and no real gcloud or
// terraform: PATH holds only the fakes and a few basic tools.

import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeCli, type FakeCall, type FakeConfig, type FakeTool } from './support/fake-cli';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SCRIPT = (name: string) => path.join(ROOT, 'scripts', name);
const DEPLOY = SCRIPT('deploy.sh');
const TRIGGER = SCRIPT('trigger.sh');
const UPLOAD = SCRIPT('upload-samples.sh');
const SHARED_DATA = path.resolve(ROOT, '..', 'shared', 'data');
const JOB_ID_RULE = /^[a-z0-9][a-z0-9-]{0,62}$/;

const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups.reverse()) c();
});

function fake(config: FakeConfig = {}, tools?: readonly FakeTool[]): FakeCli {
  const cli = FakeCli.create(config, tools);
  cleanups.push(() => cli.cleanup());
  return cli;
}

const OUTPUTS = {
  jobs_topic: 'physlite-jobs',
  project_id: 'tf-project',
  data_bucket: 'tf-data-bucket',
  orchestrator_url: 'https://orchestrator.invalid',
  status_url: 'https://status.invalid',
};

/** Calls of one fake tool, as argument lists. */
const callsOf = (cli: FakeCli, cmd: FakeTool): string[][] => cli.calls().filter((c) => c.cmd === cmd).map((c) => c.argv);

/** The subcommand of a terraform call (after -chdir=…). */
const tfSub = (argv: string[]) => argv.find((a) => !a.startsWith('-'));

/**
 * A throwaway checkout holding deploy.sh and common.sh, a stub Terraform
 * module and a lockfile, so the fake npm's build output and node_modules land
 * there and not in this repository.
 */
function deployCheckout(opts: { nodeModules?: boolean; tfvars?: string } = {}): string {
  const root = mkdtempSync(path.join(tmpdir(), 'deploy-checkout-'));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(path.join(root, 'scripts', 'lib'), { recursive: true });
  mkdirSync(path.join(root, 'terraform'));
  copyFileSync(DEPLOY, path.join(root, 'scripts', 'deploy.sh'));
  chmodSync(path.join(root, 'scripts', 'deploy.sh'), 0o755);
  copyFileSync(path.join(ROOT, 'scripts', 'lib', 'common.sh'), path.join(root, 'scripts', 'lib', 'common.sh'));
  writeFileSync(path.join(root, 'terraform', 'main.tf'), '# stub module\n');
  if (opts.tfvars !== undefined) writeFileSync(path.join(root, 'terraform', 'terraform.tfvars'), opts.tfvars);
  writeFileSync(path.join(root, 'package.json'), '{"name":"stub","private":true}\n');
  writeFileSync(path.join(root, 'package-lock.json'), '{"lockfileVersion":3}\n');
  const old = new Date(Date.now() - 3600_000);
  utimesSync(path.join(root, 'package-lock.json'), old, old);
  if (opts.nodeModules !== false) {
    mkdirSync(path.join(root, 'node_modules'));
    writeFileSync(path.join(root, 'node_modules', '.package-lock.json'), '{}\n');
  }
  return root;
}

// ---------------------------------------------------------------------------
// A stand-in for the orchestrator and status functions.

interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

interface Reply {
  status: number;
  body: unknown;
}

class FunctionsServer {
  readonly requests: Recorded[] = [];
  /** Replies to GET /jobs/{id}, in turn; the last one repeats. `jobId` and links are filled in from the URL. */
  jobReplies: Reply[] = [];
  /** Reply to POST /jobs; a function of the request body. */
  postReply: (body: unknown) => Reply = () => ({ status: 500, body: { error: 'no reply configured' } });
  private server!: Server;
  url = '';
  private served = 0;

  static async start(): Promise<FunctionsServer> {
    const s = new FunctionsServer();
    s.server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        s.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        const reply = s.answer(req.method ?? '', req.url ?? '', body);
        res.writeHead(reply.status, { 'content-type': 'application/json' });
        res.end(typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body));
      });
    });
    await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
    s.url = `http://127.0.0.1:${(s.server.address() as AddressInfo).port}`;
    cleanups.push(() => s.server.close());
    return s;
  }

  private answer(method: string, url: string, body: string): Reply {
    const u = new URL(url, this.url);
    if (method === 'POST' && u.pathname === '/jobs') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        return { status: 400, body: { error: 'not JSON', status: 400 } };
      }
      return this.postReply(parsed);
    }
    const m = /^\/jobs\/([^/]+)$/.exec(u.pathname);
    if (method === 'GET' && m) {
      const reply = this.jobReplies[Math.min(this.served++, this.jobReplies.length - 1)];
      if (!reply) return { status: 404, body: { error: `no job ${m[1]}`, status: 404 } };
      if (reply.body && typeof reply.body === 'object') {
        const id = decodeURIComponent(m[1]!);
        return { status: reply.status, body: { ...reply.body, jobId: id, links: { self: `${this.url}/jobs/${id}`, page: `${this.url}/jobs/${id}?format=html` } } };
      }
      return reply;
    }
    return { status: 404, body: { error: `no route ${method} ${u.pathname}`, status: 404 } };
  }

  jobPolls(): Recorded[] {
    return this.requests.filter((r) => r.method === 'GET');
  }
}

const NOT_YET: Reply = { status: 404, body: { error: 'no job', status: 404 } };

/** A JobStatus as GET /jobs/{id}?format=json answers it. */
function jobStatus(state: 'running' | 'finished' | 'rejected', over: Record<string, unknown> = {}): Reply {
  const done = state === 'finished' ? 8 : 3;
  return {
    status: 200,
    body: {
      jobId: 'x',
      state,
      analysis: 'reference',
      options: {},
      dataset: { preview: ['gs://b/samples/'], entries: 1, files: 2, bytes: 3_476_298 },
      shards: { total: 8, done, failed: 0, pending: 8 - done, running: state === 'running' ? 2 : 0 },
      published: true,
      events: done * 17,
      bytesRead: 1_000_000 * done,
      createdAt: '2026-01-01T00:00:00.000Z',
      elapsedSeconds: state === 'finished' ? 83 : 20,
      throughput: { eventsPerSecond: 2, bytesPerSecond: 40_000 },
      ...(state === 'running' ? { etaSeconds: 41 } : {}),
      failures: [],
      moreFailures: 0,
      retrying: [],
      ...over,
    },
  };
}

// ---------------------------------------------------------------------------

describe('every script', { concurrency: true }, () => {
  for (const [script, says] of [
    [DEPLOY, /Deploys the PHYSLITE fan-out/],
    [TRIGGER, /Starts an analysis job over DATASET and follows it/],
    [UPLOAD, /Copies the sample files/],
  ] as const) {
    const name = path.basename(script);

    test(`${name}: bash -n passes, and --help exits 0 saying what it does (no gcloud needed)`, async () => {
      execFileSync('bash', ['-n', script]);
      const cli = fake({}, []);
      const r = await cli.run(script, ['--help']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Usage: scripts\//);
      assert.match(r.stdout, says);
      assert.deepEqual(cli.calls(), []);
    });

    const args = script === TRIGGER ? ['gs://b/samples/'] : [];
    const cwd = script === DEPLOY ? deployCheckout() : undefined;
    const run = (cli: FakeCli, extra: string[] = []) => cli.run(cwd ? path.join(cwd, 'scripts', name) : script, [...args, ...extra]);

    test(`${name}: without gcloud on PATH it says how to install it`, async () => {
      const r = await run(fake({}, ['terraform', 'npm']));
      assert.equal(r.code, 10, r.stderr);
      assert.match(r.stderr, /install the Google Cloud CLI: https:\/\/cloud\.google\.com\/sdk\/docs\/install/);
    });

    test(`${name}: without an active account it says to run gcloud auth login`, async () => {
      const r = await run(fake({ account: '' }));
      assert.equal(r.code, 13, r.stderr);
      assert.match(r.stderr, /no active gcloud account: run 'gcloud auth login'/);
      if (script === DEPLOY) assert.match(r.stderr, /gcloud auth application-default login/);
    });

    test(`${name}: without a project it says how to set one`, async () => {
      const r = await run(fake({ project: '', outputs: { jobs_topic: 'physlite-jobs', data_bucket: 'b' } }));
      assert.equal(r.code, 15, r.stderr);
      assert.match(r.stderr, /no Google Cloud project is set: pass --project PROJECT_ID.*gcloud config set project/);
    });
  }

  test('usage mistakes exit 64 with a hint', async () => {
    const cli = fake();
    for (const [script, args, msg] of [
      [TRIGGER, [], /give at least one DATASET/],
      [TRIGGER, ['--job-id', 'Bad_Id', 'gs://b/'], /--job-id must be/],
      [TRIGGER, ['--interval', 'soon', 'gs://b/'], /--interval must be a number/],
      [DEPLOY, ['--frobnicate'], /unknown argument '--frobnicate'/],
      [UPLOAD, ['--bucket'], /option --bucket needs a value/],
    ] as const) {
      const r = await cli.run(script, args);
      assert.equal(r.code, 64, `${path.basename(script)} ${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, msg);
    }
  });
});

describe('deploy.sh', { concurrency: true }, () => {
  test('without terraform on PATH it says how to install it', async () => {
    const r = await fake({}, ['gcloud', 'npm']).run(path.join(deployCheckout(), 'scripts', 'deploy.sh'), []);
    assert.equal(r.code, 11, r.stderr);
    assert.match(r.stderr, /terraform is not on PATH: install Terraform/);
  });

  test('without application-default credentials it names gcloud auth application-default login', async () => {
    const r = await fake({ adc: false }).run(path.join(deployCheckout(), 'scripts', 'deploy.sh'), []);
    assert.equal(r.code, 14, r.stderr);
    assert.match(r.stderr, /run 'gcloud auth application-default login'/);
  });

  test('--dry-run builds, inits and plans, and never applies', async () => {
    const repo = deployCheckout({ nodeModules: false });
    const cli = fake({ project: 'gc-project' });
    const r = await cli.run(path.join(repo, 'scripts', 'deploy.sh'), ['--dry-run', '--region', 'europe-west1']);
    assert.equal(r.code, 0, r.stderr);
    const steps = cli.calls().filter((c) => c.cmd !== 'gcloud').map((c) => `${c.cmd} ${c.cmd === 'terraform' ? tfSub(c.argv) : c.argv.join(' ')}`);
    assert.deepEqual(steps, ['npm ci', 'npm run build', 'terraform init', 'terraform plan'], 'node_modules was missing, so npm ci first');
    const plan = callsOf(cli, 'terraform').find((a) => tfSub(a) === 'plan')!;
    assert.ok(plan.includes(`-chdir=${path.join(repo, 'terraform')}`));
    assert.ok(plan.some((a) => a.startsWith('-out=')), 'plans into a file');
    assert.ok(plan.includes('-var') && plan.includes('project_id=gc-project'), 'the project from gcloud config is passed');
    assert.ok(plan.includes('region=europe-west1'));
    assert.match(r.stderr, /dry run: would apply the plan above/);
    assert.ok(!callsOf(cli, 'terraform').some((a) => tfSub(a) === 'apply'));
    assert.ok(cli.calls().filter((c) => c.cmd === 'npm').every((c) => c.cwd === repo), 'npm runs in the checkout');
  });

  test('--auto-approve applies the saved plan; a second run does exactly the same', async () => {
    const repo = deployCheckout();
    const cli = fake({ project: 'gc-project', outputs: OUTPUTS });
    const sequence = (calls: FakeCall[]) => calls.map((c) => [c.cmd, ...c.argv.map((a) => a.replace(/(-out=)?\/.*\.tfplan$/, '$1PLAN'))].join(' '));

    const runs: string[][] = [];
    for (let i = 0; i < 2; i++) {
      cli.clearCalls();
      const r = await cli.run(path.join(repo, 'scripts', 'deploy.sh'), ['--auto-approve']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /scripts\/trigger\.sh gs:\/\/tf-data-bucket\/samples\//);
      const tf = callsOf(cli, 'terraform');
      const plan = tf.find((a) => tfSub(a) === 'plan')!;
      const apply = tf.find((a) => tfSub(a) === 'apply')!;
      assert.ok(apply, 'applied');
      assert.equal(apply.at(-1), plan.find((a) => a.startsWith('-out='))!.slice('-out='.length), 'apply takes the plan file that plan wrote');
      assert.ok(!apply.includes('-auto-approve'), 'a saved plan needs no -auto-approve');
      runs.push(sequence(cli.calls()));
    }
    assert.deepEqual(runs[1], runs[0]);
    assert.deepEqual(
      runs[0].filter((c) => !c.startsWith('gcloud')).map((c) => c.replace(/ -chdir=\S+/, '').split(' ').slice(0, 2).join(' ')),
      ['npm run', 'terraform init', 'terraform plan', 'terraform apply', 'terraform output', 'terraform output'],
    );
    // gcloud is only asked questions: nothing is created outside Terraform.
    for (const c of callsOf(cli, 'gcloud')) {
      assert.ok(
        /^(auth list|config get-value project|auth application-default print-access-token)\b/.test(c.join(' ')),
        `unexpected gcloud call: ${c.join(' ')}`,
      );
    }
    assert.ok(!existsSync(path.join(repo, 'terraform', 'deploy.tfplan')));
  });

  test('without --auto-approve and no terminal it refuses to apply and says why', async () => {
    const cli = fake({ project: 'gc-project' });
    const r = await cli.run(path.join(deployCheckout(), 'scripts', 'deploy.sh'), []);
    assert.equal(r.code, 64, r.stderr);
    assert.match(r.stderr, /pass --auto-approve/);
    assert.ok(!callsOf(cli, 'terraform').some((a) => tfSub(a) === 'apply'));
  });

  test('an up-to-date deployment plans no changes and applies nothing', async () => {
    const cli = fake({ project: 'gc-project', planExit: 0, outputs: OUTPUTS });
    const r = await cli.run(path.join(deployCheckout(), 'scripts', 'deploy.sh'), ['--auto-approve']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /no changes: the deployment is up to date/);
    assert.ok(!callsOf(cli, 'terraform').some((a) => tfSub(a) === 'apply'));
  });

  test('a failing plan fails the deploy', async () => {
    const cli = fake({ project: 'gc-project', planExit: 1 });
    const r = await cli.run(path.join(deployCheckout(), 'scripts', 'deploy.sh'), ['--auto-approve']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /terraform plan failed/);
  });

  test('the project in terraform.tfvars is left to Terraform; --project overrides it', async () => {
    const repo = deployCheckout({ tfvars: 'project_id = "tfvars-project"\nregion = "us-east1"\n' });
    const cli = fake({ project: '' });
    let r = await cli.run(path.join(repo, 'scripts', 'deploy.sh'), ['--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /project tfvars-project \(from terraform\/terraform\.tfvars\)/);
    let plan = callsOf(cli, 'terraform').find((a) => tfSub(a) === 'plan')!;
    assert.ok(!plan.includes('-var'), plan.join(' '));
    cli.clearCalls();
    r = await cli.run(path.join(repo, 'scripts', 'deploy.sh'), ['--dry-run', '--project', 'flag-project']);
    assert.equal(r.code, 0, r.stderr);
    plan = callsOf(cli, 'terraform').find((a) => tfSub(a) === 'plan')!;
    assert.ok(plan.includes('project_id=flag-project'));
  });
});

describe('trigger.sh', { concurrency: true }, () => {
  test('publishes the job message on the jobs topic, then follows it until finished (exit 0)', async () => {
    const server = await FunctionsServer.start();
    // the first 404 answers the check that no job holds the explicit id yet, before publishing
    server.jobReplies = [NOT_YET, NOT_YET, jobStatus('running'), jobStatus('finished', { cost: { totalUsd: 0.0123 } })];
    const cli = fake({ identityToken: 'tok-123', messageId: '777', outputs: OUTPUTS });
    const r = await cli.run(TRIGGER, ['--label', 'ttbar mc20', '--shard-mb', '0.5', '--job-id', 'my-run-1', '--status-url', server.url, '--interval', '0.05', 'gs://b/samples/', 'https://host/f.root.1']);
    assert.equal(r.code, 0, r.stderr);

    const publish = callsOf(cli, 'gcloud').find((a) => a[0] === 'pubsub')!;
    assert.deepEqual(publish.slice(0, 4), ['pubsub', 'topics', 'publish', 'physlite-jobs']);
    assert.ok(publish.includes('--project=tf-project'), 'the project from terraform output');
    const message = JSON.parse(publish.find((a) => a.startsWith('--message='))!.slice('--message='.length));
    assert.deepEqual(message, { kind: 'job', v: 1, request: { dataset: ['gs://b/samples/', 'https://host/f.root.1'], jobId: 'my-run-1', label: 'ttbar mc20', shardMB: 0.5 } });

    const polls = server.jobPolls();
    assert.equal(polls.length, 4);
    for (const p of polls) {
      assert.equal(p.url, '/jobs/my-run-1?format=json');
      assert.equal(p.headers.authorization, 'Bearer tok-123');
    }
    const lines = r.stdout.split('\n');
    assert.ok(lines.some((l) => /waiting +job my-run-1 is not planned yet/.test(l)), r.stdout);
    assert.ok(lines.some((l) => /running +shards 3\/8 done, 0 failed, 2 running · 51 events · elapsed 20s · eta 41s/.test(l)), r.stdout);
    assert.ok(lines.some((l) => /finished +shards 8\/8 done, 0 failed · 136 events · elapsed 1m23s · eta \? · cost ~\$0\.0123/.test(l)), r.stdout);
    assert.match(r.stdout, /job my-run-1 finished in 1m23s\n {2}shards: {2}8 total, 8 done, 0 failed/);
    assert.match(r.stdout, /estimated cost: \$0\.0123/);
    assert.match(r.stdout, new RegExp(`status page: ${server.url}/jobs/my-run-1\\?format=html`));
  });

  test('with --job-id on the topic, a job already under that id stops it before anything is published', async () => {
    const server = await FunctionsServer.start();
    server.jobReplies = [jobStatus('finished')];
    const cli = fake({ outputs: OUTPUTS });
    const r = await cli.run(TRIGGER, ['--job-id', 'my-run-1', '--status-url', server.url, 'gs://b/samples/']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /job my-run-1 already exists \(finished, created .*\): .* Choose another --job-id, or resume it with --http/);
    assert.ok(!callsOf(cli, 'gcloud').some((a) => a[0] === 'pubsub'), 'nothing published');
  });

  test('generates a valid job id when none is given, and follows that id', async () => {
    const server = await FunctionsServer.start();
    server.jobReplies = [jobStatus('finished')];
    const cli = fake({ outputs: { ...OUTPUTS, status_url: server.url } });
    const r = await cli.run(TRIGGER, ['--interval', '0.05', 'gs://b/samples/']);
    assert.equal(r.code, 0, r.stderr);
    const publish = callsOf(cli, 'gcloud').find((a) => a[0] === 'pubsub')!;
    const { request } = JSON.parse(publish.find((a) => a.startsWith('--message='))!.slice('--message='.length));
    assert.match(request.jobId, /^job-\d{8}-\d{6}-\d+$/);
    assert.match(request.jobId, JOB_ID_RULE);
    assert.equal(server.jobPolls()[0]!.url, `/jobs/${request.jobId}?format=json`);
  });

  test('a job that finishes with failed shards exits 2 and lists them', async () => {
    const server = await FunctionsServer.start();
    server.jobReplies = [
      jobStatus('finished', {
        shards: { total: 8, done: 6, failed: 2, pending: 0, running: 0 },
        failures: [
          { shard: 3, url: 'gs://b/samples/a.root', part: 0, parts: 2, error: { code: 'BAD_BASKET', message: 'basket 7 of Muons is truncated' } },
          { shard: 5, url: 'gs://b/samples/c.root', part: 0, parts: 1, error: { code: 'PROFILE', message: 'fits neither profile' } },
        ],
      }),
    ];
    const r = await fake().run(TRIGGER, ['--topic', 'projects/p/topics/jobs', '--status-url', server.url, '--interval', '0.05', 'gs://b/samples/']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stdout, /8 total, 6 done, 2 failed/);
    assert.match(r.stdout, /shard 3: gs:\/\/b\/samples\/a\.root \(part 1 of 2\): BAD_BASKET: basket 7 of Muons is truncated/);
    assert.match(r.stdout, /shard 5: gs:\/\/b\/samples\/c\.root: PROFILE: fits neither profile/);
  });

  test('a rejected job exits 1 and prints the reason', async () => {
    const server = await FunctionsServer.start();
    server.jobReplies = [NOT_YET, jobStatus('rejected', { error: '400: dataset[0] gs://b/nothing/ has no ROOT files' })];
    const cli = fake({ outputs: OUTPUTS });
    const r = await cli.run(TRIGGER, ['--status-url', server.url, '--interval', '0.05', 'gs://b/nothing/']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /was rejected: 400: dataset\[0\] gs:\/\/b\/nothing\/ has no ROOT files/);
  });

  test('a job that never appears fails after --plan-timeout', async () => {
    const server = await FunctionsServer.start();
    server.jobReplies = [NOT_YET];
    const r = await fake({ outputs: OUTPUTS }).run(TRIGGER, ['--status-url', server.url, '--interval', '0.2', '--plan-timeout', '1', 'gs://b/samples/']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /did not appear at .* within 1s: the orchestrator has not planned it/);
  });

  test('a status function that refuses the caller: one fresh token, then a clear failure', async () => {
    const server = await FunctionsServer.start();
    server.jobReplies = [{ status: 403, body: 'Forbidden: Your client does not have permission' }];
    const cli = fake({ outputs: OUTPUTS });
    const r = await cli.run(TRIGGER, ['--status-url', server.url, '--interval', '0.05', 'gs://b/samples/']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /refused the request \(HTTP 403\): your account \(dev@example\.com\) needs roles\/run\.invoker.*invoker_members/);
    assert.equal(server.jobPolls().length, 2);
    assert.equal(callsOf(cli, 'gcloud').filter((a) => a.join(' ') === 'auth print-identity-token').length, 2);
  });

  test('a failing publish fails clearly', async () => {
    const r = await fake({ publishFails: true, outputs: OUTPUTS }).run(TRIGGER, ['gs://b/samples/']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /publishing the job on topic physlite-jobs failed/);
  });

  test('without terraform, the topic must be given: the message names --topic', async () => {
    const r = await fake({}, ['gcloud']).run(TRIGGER, ['gs://b/samples/']);
    assert.equal(r.code, 11, r.stderr);
    assert.match(r.stderr, /terraform is not on PATH: it is needed to read the deployment's output 'jobs_topic'.*--topic/);
  });

  test('--http POSTs the request with the identity token and follows the status link of the reply', async () => {
    const server = await FunctionsServer.start();
    server.postReply = (body) => {
      const id = (body as { jobId: string }).jobId;
      return { status: 202, body: { jobId: id, created: true, files: 2, shards: 8, bytes: 3476298, duplicatesDropped: 0, status: `${server.url}/jobs/${id}`, page: `${server.url}/jobs/${id}?format=html` } };
    };
    server.jobReplies = [jobStatus('running'), jobStatus('finished')];
    const cli = fake({ identityToken: 'http-token' }, ['gcloud']); // no terraform: URLs come from flags and the reply
    const r = await cli.run(TRIGGER, ['--http', '--orchestrator-url', `${server.url}/`, '--job-id', 'http-run', '--analysis', 'reference', '--profile', 'r22', '--interval', '0.05', 'gs://b/samples/']);
    assert.equal(r.code, 0, r.stderr);
    const post = server.requests.find((q) => q.method === 'POST')!;
    assert.equal(post.url, '/jobs');
    assert.equal(post.headers.authorization, 'Bearer http-token');
    assert.match(String(post.headers['content-type']), /application\/json/);
    assert.deepEqual(JSON.parse(post.body), { dataset: ['gs://b/samples/'], jobId: 'http-run', analysis: 'reference', options: { profile: 'r22' } });
    assert.match(r.stdout, /"shards": ?8/, 'the reply is printed');
    assert.equal(server.jobPolls().length, 2);
    assert.ok(server.jobPolls().every((p) => p.url === '/jobs/http-run?format=json' && p.headers.authorization === 'Bearer http-token'));
    assert.ok(!callsOf(cli, 'gcloud').some((a) => a[0] === 'pubsub'), 'nothing published');
    assert.ok(!r.stderr.includes('http-token') && !r.stdout.includes('http-token'), 'the token is not printed');
  });

  test('--http: a refusal exits 1 and shows the reply body', async () => {
    const server = await FunctionsServer.start();
    server.postReply = () => ({ status: 400, body: { error: 'dataset[0] gs://b/none/ has no ROOT files under it', field: 'dataset', status: 400 } });
    const r = await fake().run(TRIGGER, ['--http', '--orchestrator-url', server.url, '--status-url', server.url, 'gs://b/none/']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /the orchestrator refused the job \(HTTP 400\)/);
    assert.match(r.stderr, /dataset\[0\] gs:\/\/b\/none\/ has no ROOT files under it/);
    assert.equal(server.jobPolls().length, 0);
  });

  test('--no-follow submits and exits without polling', async () => {
    const server = await FunctionsServer.start();
    const r = await fake({ outputs: OUTPUTS }).run(TRIGGER, ['--no-follow', '--job-id', 'nf-1', '--status-url', server.url, 'gs://b/samples/']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`job nf-1 submitted; status: ${server.url}/jobs/nf-1`));
    // only the check, before publishing, that no job holds the id: no polling
    assert.deepEqual(server.requests.map((q) => `${q.method} ${q.url}`), ['GET /jobs/nf-1?format=json']);
  });
});

describe('upload-samples.sh', { concurrency: true, skip: existsSync(SHARED_DATA) ? false : `${SHARED_DATA} is missing (the script would download the samples)` }, () => {
  test('copies the PHYSLITE samples from ../shared/data to the data bucket and prints the prefix', async () => {
    const cli = fake({ outputs: OUTPUTS });
    const r = await cli.run(UPLOAD, []);
    assert.equal(r.code, 0, r.stderr);
    const cp = callsOf(cli, 'gcloud').filter((a) => a[0] === 'storage');
    assert.equal(cp.length, 1);
    assert.deepEqual(cp[0], [
      'storage',
      'cp',
      path.join(SHARED_DATA, 'DAOD_PHYSLITE_21.2.108.0.art.pool.root'),
      path.join(SHARED_DATA, 'PHYSLITE_example.root'),
      'gs://tf-data-bucket/samples/',
      '--project=tf-project',
    ]);
    assert.equal(r.stdout, 'gs://tf-data-bucket/samples/\n');
    assert.match(r.stderr, /scripts\/trigger\.sh gs:\/\/tf-data-bucket\/samples\//);
  });

  test('--all copies every sample; --bucket and --prefix choose the destination without terraform', async () => {
    const cli = fake({}, ['gcloud']);
    const r = await cli.run(UPLOAD, ['--all', '--bucket', 'gs://other-bucket/', '--prefix', '/runs/v1/', '--project', 'p1']);
    assert.equal(r.code, 0, r.stderr);
    const cp = callsOf(cli, 'gcloud').find((a) => a[0] === 'storage')!;
    const files = cp.slice(2, -2);
    // the nine TTree samples and the RNTuple PHYSLITE sample (its metadata trees are decoded)
    assert.equal(files.length, 10);
    assert.ok(files.every((f) => path.dirname(f) === SHARED_DATA && f.endsWith('.root')));
    assert.deepEqual(cp.slice(-2), ['gs://other-bucket/runs/v1/', '--project=p1']);
    assert.equal(r.stdout, 'gs://other-bucket/runs/v1/\n');
  });
});
