// A second engineer's checks of the provisioning work (terraform/, scripts/,
// shared/pipeline/cost.ts). Each `describe` names the defect it shows; tests
// marked "(holds)" check something that was found right and pin it down.
//
// Offline and fast: the Terraform module is read with @cdktn/hcl2json (no
// provider), the scripts run against the fake CLIs of test/support/fake-cli.ts,
// and the pipeline behind trigger.sh is the real orchestrator, worker, reducer
// and status code over an in-memory store, served on 127.0.0.1.

import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveConfig, type PipelineConfig } from '../shared/pipeline/config';
import { DEFAULT_COST_MODEL, estimateCost } from '../shared/pipeline/cost';
import { publishTimeoutFromEnv, readOptionsFromEnv } from '../shared/pipeline/google/env';
import { statusHttp } from '../shared/pipeline/http';
import { MemoryDocumentStore } from '../shared/pipeline/local/memory-store';
import { createLocalObjectStore } from '../shared/pipeline/local/object-store';
import { handleJobDelivery } from '../shared/pipeline/orchestrator';
import type { Doc } from '../shared/pipeline/ports';
import { handleShardDoneDelivery } from '../shared/pipeline/reducer';
import { jobStatus } from '../shared/pipeline/status';
import { handleShardDelivery } from '../shared/pipeline/worker';
import { FakeCli, type FakeConfig, type FakeTool } from './support/fake-cli';
import { deliveryOf, RecordingPublisher } from './support/recording-publisher';
import { expressions, loadTerraformModule, referencesIn, type TerraformModule } from './support/terraform-module';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TF_DIR = path.join(ROOT, 'terraform');
const TRIGGER = path.join(ROOT, 'scripts', 'trigger.sh');
const SHARED_DATA = path.resolve(ROOT, '..', 'shared', 'data');
const SAMPLE_A = path.join(SHARED_DATA, 'PHYSLITE_example.root');
const SAMPLE_B = path.join(SHARED_DATA, 'DAOD_PHYSLITE_21.2.108.0.art.pool.root');
const HAVE_SAMPLES = existsSync(SAMPLE_A) && existsSync(SAMPLE_B);

const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups.reverse()) c();
});

function fake(config: FakeConfig = {}, tools?: readonly FakeTool[]): FakeCli {
  const cli = FakeCli.create(config, tools);
  cleanups.push(() => cli.cleanup());
  return cli;
}

let modulePromise: Promise<TerraformModule> | undefined;
const tfModule = () => (modulePromise ??= loadTerraformModule(TF_DIR));

/** A throwaway checkout with deploy.sh, common.sh, a stub module and an up-to-date node_modules (as test/scripts.test.ts makes). */
function deployCheckout(tfvars?: string): string {
  const root = mkdtempSync(path.join(tmpdir(), 'deploy-extra-'));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(path.join(root, 'scripts', 'lib'), { recursive: true });
  mkdirSync(path.join(root, 'terraform'));
  copyFileSync(path.join(ROOT, 'scripts', 'deploy.sh'), path.join(root, 'scripts', 'deploy.sh'));
  chmodSync(path.join(root, 'scripts', 'deploy.sh'), 0o755);
  copyFileSync(path.join(ROOT, 'scripts', 'lib', 'common.sh'), path.join(root, 'scripts', 'lib', 'common.sh'));
  writeFileSync(path.join(root, 'terraform', 'main.tf'), '# stub module\n');
  if (tfvars !== undefined) writeFileSync(path.join(root, 'terraform', 'terraform.tfvars'), tfvars);
  writeFileSync(path.join(root, 'package.json'), '{"name":"stub","private":true}\n');
  writeFileSync(path.join(root, 'package-lock.json'), '{"lockfileVersion":3}\n');
  const old = new Date(Date.now() - 3600_000);
  utimesSync(path.join(root, 'package-lock.json'), old, old);
  mkdirSync(path.join(root, 'node_modules'));
  writeFileSync(path.join(root, 'node_modules', '.package-lock.json'), '{}\n');
  return root;
}

const tfSub = (argv: string[]) => argv.find((a) => !a.startsWith('-'));
const planCall = (cli: FakeCli) => cli.calls().find((c) => c.cmd === 'terraform' && tfSub(c.argv) === 'plan')?.argv;

// ---------------------------------------------------------------------------
// The real pipeline (orchestrator, workers, reducer, status) in this process,
// with its status endpoint on 127.0.0.1: what trigger.sh talks to.

interface Pipeline {
  url: string;
  config: PipelineConfig;
  /** Runs a job message through the orchestrator, then every shard and shard-done message to the end. */
  deliverJob(data: Doc, messageId: string): Promise<void>;
  status(jobId: string): ReturnType<typeof jobStatus>;
  /** Called on every GET, before it is answered. */
  onPoll: () => Promise<void> | void;
}

async function startPipeline(): Promise<Pipeline> {
  const store = new MemoryDocumentStore();
  const publisher = new RecordingPublisher();
  const objects = createLocalObjectStore();
  const log = () => undefined;
  let server!: Server;
  const p: Pipeline = {
    url: '',
    config: resolveConfig({}),
    onPoll: () => undefined,
    async deliverJob(data, messageId) {
      await handleJobDelivery({ messageId, data, attributes: {} }, { store, publisher, objects, config: p.config, log });
      for (;;) {
        const shards = publisher.take(p.config.topics.shards);
        for (const m of shards) await handleShardDelivery(deliveryOf(m), { store, publisher, objects, config: p.config, workerId: 'w1', log });
        const done = publisher.take(p.config.topics.shardDone);
        for (const m of done) await handleShardDoneDelivery(deliveryOf(m), { store, publisher, config: p.config, workerId: 'r1', log });
        if (shards.length === 0 && done.length === 0) break;
      }
    },
    status: (jobId) => jobStatus(jobId, { store, config: p.config }),
  };
  server = createServer((req, res) => {
    void (async () => {
      const u = new URL(req.url ?? '/', 'http://127.0.0.1');
      await p.onPoll();
      const reply = await statusHttp({ method: req.method ?? 'GET', path: u.pathname, query: u.searchParams, headers: req.headers }, { store, config: p.config, log });
      res.writeHead(reply.status, reply.headers);
      res.end(reply.body);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  p.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  p.config = resolveConfig({ jobsCollection: 'extra-jobs', statusBaseUrl: p.url });
  cleanups.push(() => server.close());
  return p;
}

/** The job message trigger.sh handed to `gcloud pubsub topics publish`, once it has. */
function publishedMessage(cli: FakeCli): Doc | undefined {
  const call = cli.calls().find((c) => c.cmd === 'gcloud' && c.argv[0] === 'pubsub');
  const arg = call?.argv.find((a) => a.startsWith('--message='));
  return arg ? (JSON.parse(arg.slice('--message='.length)) as Doc) : undefined;
}

// ---------------------------------------------------------------------------

describe('terraform: the build account can read the source Cloud Functions stages in gcf-v2-sources-* (a review finding: it could not)', () => {
  // The 2nd-gen API copies build_config.source.storage_source into its own bucket,
  // gcf-v2-sources-{project number}-{region}, and Cloud Build reads it from there as
  // the build account: hashicorp/terraform-provider-google
  // google/services/cloudfunctions2/resource_cloudfunctions2_function.go
  // (flattenCloudfunctions2functionBuildConfigSourceStorageSourceBucket: "GET Response
  // format: gcf-v2-sources-{Project-number}-{location}"). The provider's own "Basic
  // Builder" example grants the build account roles/storage.objectAdmin on the project
  // (website/docs/r/cloudfunctions2_function.html.markdown), as Google's build-service-account
  // page does. The module grants only objectViewer on its own source bucket.
  test('the build account has object read access beyond the module\'s own source bucket', async () => {
    const m = await tfModule();
    const isBuild = (b: Record<string, unknown>) => String(b.member ?? '').includes('google_service_account.build.email');
    const projectRoles = Object.values(m.resources.google_project_iam_member ?? {})
      .filter(isBuild)
      .flatMap((b) => [...JSON.stringify([b.role, b.for_each]).matchAll(/roles\/[A-Za-z.]+/g)].map((x) => x[0]));
    const bucketGrants = Object.values(m.resources.google_storage_bucket_iam_member ?? {}).filter(isBuild).map((b) => `${String(b.bucket)} ${String(b.role)}`);
    const readsAnyBucket = projectRoles.some((r) => /^roles\/storage\.(objectViewer|objectAdmin|admin)$/.test(r));
    const readsStaging = bucketGrants.some((g) => g.includes('gcf-v2-sources'));
    assert.ok(
      readsAnyBucket || readsStaging,
      `the build account's project roles are ${projectRoles.join(', ')} and its bucket grants ${bucketGrants.join('; ')}: ` +
        'it cannot read gs://gcf-v2-sources-<number>-<region>/<function>/…zip, so every build fails with a storage 403',
    );
  });
});

describe('terraform: every environment setting the functions range-check has a validation, so a value they refuse is refused before deploying (a review finding: three had none)', () => {
  // shared/pipeline/google/env.ts range-checks these at module load ("a bad value stops
  // the instance at start"); README "What the module creates" promises the validations
  // "refuse combinations that cannot work, before anything is created".
  const cases = [
    { variable: 'read_timeout_s', env: 'PHYSLITE_READ_TIMEOUT_S', bad: '900', check: (e: Record<string, string>) => readOptionsFromEnv(e) },
    { variable: 'read_retries', env: 'PHYSLITE_READ_RETRIES', bad: '2.5', check: (e: Record<string, string>) => readOptionsFromEnv(e) },
    { variable: 'publish_timeout_s', env: 'PHYSLITE_PUBLISH_TIMEOUT_S', bad: '0', check: (e: Record<string, string>) => publishTimeoutFromEnv(e) },
  ];
  for (const c of cases) {
    test(`${c.variable} = ${c.bad}: refused by the functions, so it must be refused by a validation`, async () => {
      assert.throws(() => c.check({ [c.env]: c.bad }), new RegExp(c.env), 'the functions refuse it (this part holds)');
      const v = (await tfModule()).variables[c.variable]!;
      assert.ok(v, `var.${c.variable} is declared`);
      assert.ok(Array.isArray(v.validation) && v.validation.length > 0, `var.${c.variable} has no validation block: terraform apply accepts ${c.bad}, and every instance then fails to start`);
    });
  }
});

describe('scripts: the Terraform version the scripts ask for is the one the module requires (a review finding: they asked for 1.5)', () => {
  test('require_terraform names the version of versions.tf', () => {
    const required = /required_version\s*=\s*">=\s*([0-9.]+)"/.exec(readFileSync(path.join(TF_DIR, 'versions.tf'), 'utf8'))?.[1];
    const said = /install Terraform ([0-9.]+) or newer/.exec(readFileSync(path.join(ROOT, 'scripts', 'lib', 'common.sh'), 'utf8'))?.[1];
    assert.equal(required, '1.9');
    assert.equal(said, required, `common.sh tells users to install Terraform ${said}, but terraform init refuses anything below ${required}`);
  });
});

describe('deploy.sh: with TF_VAR_project_id and terraform.tfvars both set, it names the project Terraform uses (a review finding: it named the other)', () => {
  // Terraform's precedence: environment variables < terraform.tfvars < -var. deploy.sh
  // checks TF_VAR_project_id first and passes no -var, so terraform.tfvars wins.
  test('the project deploy.sh names is the project the plan is for', async () => {
    const repo = deployCheckout('project_id = "tfvars-project"\n');
    const cli = fake({ project: 'gcloud-project' });
    const r = await cli.run(path.join(repo, 'scripts', 'deploy.sh'), ['--dry-run'], { env: { TF_VAR_project_id: 'env-project' } });
    assert.equal(r.code, 0, r.stderr);
    const announced = /project (\S+) \(from ([^)]+)\)/.exec(r.stderr);
    assert.ok(announced, r.stderr);
    const plan = planCall(cli)!;
    const viaVar = plan.find((a) => a.startsWith('project_id='))?.slice('project_id='.length);
    const terraformUses = viaVar ?? 'tfvars-project'; // -var, else terraform.tfvars, else TF_VAR_project_id
    assert.equal(announced[1], terraformUses, `deploy.sh says "${announced[0]}", but terraform plan (${plan.join(' ')}) deploys ${terraformUses}`);
  });
});

describe('scripts on bash < 4.4 (macOS /bin/bash 3.2, bash 4.2/4.3): no "${arr[@]}" of a possibly empty array under set -u (a review finding; checked by hand with bash 4.3)', () => {
  // bash-4.4 CHANGES, 3.a: "Using ${a[@]} or ${a[*]} with an array without any assigned
  // elements when the nounset option is enabled no longer throws an unbound variable error."
  // deploy.sh: TF_VARS is empty when the project comes from terraform.tfvars (the README's
  // way) → "TF_VARS[@]: unbound variable" after the build. trigger.sh: http_request's
  // `data` is empty for every GET → each poll fails as "unreachable" and the follow gives up.
  test('every possibly-empty array is expanded with a guard (static)', () => {
    const problems: string[] = [];
    for (const script of ['deploy.sh', 'trigger.sh', 'upload-samples.sh', 'lib/common.sh']) {
      const text = readFileSync(path.join(ROOT, 'scripts', script), 'utf8');
      const empties = new Set([...text.matchAll(/(?:^|[\s;(])(?:local\s+[^\n]*?)?\b([A-Za-z_]\w*)=\(\)/gm)].map((m) => m[1]!));
      for (const name of empties) {
        const checkedNonEmpty = new RegExp(`\\$\\{#${name}\\[@\\]\\}\\s*-(gt|eq|ne)\\s*0`).test(text);
        const bare = [...text.matchAll(new RegExp(`"\\$\\{${name}\\[@\\]\\}"`, 'g'))].filter((m) => !text.slice(Math.max(0, m.index! - 20), m.index!).includes(`\${${name}[@]+`));
        if (bare.length && !checkedNonEmpty) problems.push(`${script}: "\${${name}[@]}" (${name} may be empty)`);
      }
    }
    assert.deepEqual(problems, [], 'write ${NAME[@]+"${NAME[@]}"} (or state bash >= 4.4 in the README and check BASH_VERSINFO)');
  });
});

describe('trigger.sh: a corrected request under a job id that was rejected before is followed, not reported as rejected (a review finding)', { skip: HAVE_SAMPLES ? false : `${SHARED_DATA} is missing` }, () => {
  // README: a refused queue request is kept apart "so the id stays free for the corrected
  // request"; status.ts answers getJob(id) ?? getRejected(id), so until the orchestrator has
  // planned the new request (a push, a cold start, the listing) GET /jobs/{id} still answers
  // the old rejection, and trigger.sh exits 1 on the first poll.
  test('the stale rejection is not taken for the new job, which is followed to the end', async () => {
    const p = await startPipeline();
    await p.deliverJob({ kind: 'job', v: 1, request: { dataset: ['/no/such/folder/'], jobId: 'fix-1' } }, 'earlier-message');
    assert.equal((await p.status('fix-1'))?.state, 'rejected', 'the first request was refused (this part holds)');

    const cli = fake({ messageId: '5150', outputs: { jobs_topic: 'physlite-jobs', project_id: 'p' } });
    let delivered: Promise<void> | undefined;
    p.onPoll = () => {
      const message = publishedMessage(cli);
      if (message && !delivered) {
        // the push reaches the orchestrator, which plans the job, a moment after the first poll
        delivered = new Promise<void>((resolve, reject) => setTimeout(() => p.deliverJob(message, '5150').then(resolve, reject), 300));
      }
    };
    const r = await cli.run(TRIGGER, ['--job-id', 'fix-1', '--status-url', p.url, '--interval', '0.2', '--timeout', '15', SAMPLE_A]);
    assert.ok(delivered, 'trigger.sh published the corrected request');
    await delivered;
    assert.equal((await p.status('fix-1'))?.state, 'finished', 'the corrected job ran to the end (this part holds)');
    assert.equal(r.code, 0, `trigger.sh exited ${r.code} though job fix-1 finished:\n${r.stderr}`);
    assert.match(r.stdout, /job fix-1 finished/);
  });
});

describe('trigger.sh: a job id already used by another request', { skip: HAVE_SAMPLES ? false : `${SHARED_DATA} is missing` }, () => {
  // orchestrator.ts handleJobDelivery records a 409 as job msg-<messageId>, not under the
  // requested id, so following the id would show the other job. Found by this review:
  // trigger.sh followed the old job and exited 0 with its result. Now it checks the id first.
  test('is refused before anything is published, with the way out named', async () => {
    const p = await startPipeline();
    await p.deliverJob({ kind: 'job', v: 1, request: { dataset: [SAMPLE_A], jobId: 'reuse-1' } }, 'first-message');
    assert.equal((await p.status('reuse-1'))?.state, 'finished');
    const cli = fake({ messageId: '4242', outputs: { jobs_topic: 'physlite-jobs', project_id: 'p' } });
    const r = await cli.run(TRIGGER, ['--job-id', 'reuse-1', '--status-url', p.url, '--interval', '0.2', '--timeout', '15', SAMPLE_B]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /job reuse-1 already exists \(finished, created [^)]+\).*Choose another --job-id, or resume it with --http/);
    assert.equal(publishedMessage(cli), undefined, 'nothing was published');
    assert.doesNotMatch(r.stdout, /finished in/, 'the other job\'s result is not printed as if it were this one\'s');
  });
});

// ---------------------------------------------------------------------------
// Checked and found right.

describe('(holds) cost.ts arithmetic against GCP-FACTS §7 prices, worked by hand', () => {
  test('S = 1000 shards, 1100 deliveries, 2000 s of worker time, 20,000 Class B reads, 1 listing, merged', () => {
    const r = estimateCost(
      { shards: 1000, shardsReported: 1000, deliveries: 1100, workerWallMs: 2_000_000, storageRequests: 20_000, bytesRead: 5e11, listRequests: 1, metadataReads: 0, orchestratorMs: 2000, mergeMs: 3000, merged: true },
      DEFAULT_COST_MODEL,
    );
    const usd = (item: string) => r.items.find((i) => i.item.startsWith(item))!.usd;
    const qty = (item: string) => r.items.find((i) => i.item.startsWith(item))!.quantity;
    const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);
    close(usd('worker vCPU'), 2000 * 0.000024, 'worker vCPU: 2000 vCPU-s × $0.000024');
    close(usd('worker memory'), 2000 * 2 * 0.0000025, 'worker memory: 4000 GiB-s × $0.0000025');
    close(qty('worker time outside'), (1100 * 0.1 + 100 * 2), 'outside the records: 1100 × 0.1 s + 100 unrecorded × 2 s mean');
    close(usd('worker time outside'), 310 * (0.000024 + 2 * 0.0000025), 'at $0.000029 per 1 vCPU 2 GiB instance-s');
    close(qty('orchestrator time'), 2.1, 'orchestrator: 100 ms planning + 2000 ms publishing');
    close(qty('reducer time'), 1000 * 0.1 + 3, 'reducer: 1000 messages × 0.1 s + 3 s merge');
    close(qty('function requests'), 1 + 1100 + 1000, 'requests');
    close(qty('Pub/Sub'), 2000 + 2100, 'Pub/Sub: 1000 + 1000 published, 1100 + 1000 pushed');
    close(usd('Pub/Sub'), 4100 * (1000 / 1024 ** 4) * 40, 'at 1000 B each, $40/TiB');
    // reads: orchestrator 1, workers 2×1100, reducer 2×1000 + Σ ceil(i/1000) = 1000, merge 1000 + 1 (empty last page) + 1 (sum)
    close(qty('Firestore document reads'), 1 + 2200 + 3000 + 1002, 'Firestore reads');
    close(qty('Firestore writes'), 2 + 2 + 2200 + 3, 'Firestore writes');
    close(usd('Storage reads by the workers'), 20_000 * 0.0004 / 1000, 'Class B: $0.0004 per 1000');
    close(usd('Storage listings'), 0.005 / 1000, 'Class A: $0.005 per 1000');
    close(r.totalUsd, 0.048 + 0.01 + 310 * 0.000029 + 2.1 * 0.0000265 + 103 * 0.000029 + 2101 * 4e-7 + 4100 * (1000 / 1024 ** 4) * 40 + 6203 * 3e-7 + 2207 * 9e-7 + 0.008 + 0.000005, 'total ≈ $0.0829');
    assert.ok(Math.abs(r.totalUsd - 0.08287) < 1e-5, String(r.totalUsd));
  });
});

describe('(holds) terraform: the resources\' references and depends_on form no cycle', () => {
  test('the dependency graph of resources, data sources and locals is acyclic', async () => {
    const m = await tfModule();
    const edges = new Map<string, Set<string>>();
    const nodeOf = (ref: string): string | undefined => {
      const parts = ref.split('.');
      if (parts[0] === 'local') return `local.${parts[1]}`;
      if (parts[0] === 'data') return `data.${parts[1]}.${parts[2]}`;
      if (parts[0]?.startsWith('google_')) return `${parts[0]}.${parts[1]!.replace(/\[.*$/, '')}`;
      return undefined;
    };
    const addAll = async (from: string, value: unknown) => {
      const set = edges.get(from) ?? new Set<string>();
      edges.set(from, set);
      for (const e of expressions(value as never)) for (const ref of await referencesIn(e.text)) {
        const to = nodeOf(ref);
        if (to && to !== from) set.add(to);
      }
    };
    for (const [type, named] of Object.entries(m.resources)) for (const [name, block] of Object.entries(named)) await addAll(`${type}.${name}`, block);
    for (const [type, named] of Object.entries(m.data)) for (const [name, block] of Object.entries(named)) await addAll(`data.${type}.${name}`, block);
    for (const [name, value] of Object.entries(m.locals)) await addAll(`local.${name}`, value);
    assert.ok(edges.get('google_pubsub_subscription.push')!.has('google_cloud_run_v2_service_iam_member.push_invoker'), 'depends_on is seen');
    const state = new Map<string, 'open' | 'done'>();
    const visit = (n: string, trail: string[]): void => {
      if (state.get(n) === 'done') return;
      assert.notEqual(state.get(n), 'open', `cycle: ${[...trail, n].join(' → ')}`);
      state.set(n, 'open');
      for (const to of edges.get(n) ?? []) visit(to, [...trail, n]);
      state.set(n, 'done');
    };
    for (const n of edges.keys()) visit(n, []);
  });
});
