// The Terraform module, checked offline against the code it deploys: no cloud
// and no google provider (so no `terraform validate`). Every .tf file is parsed
// with @cdktn/hcl2json, then: variables declared ⇔ used, every reference
// resolves, each function matches a bundle `npm run build` makes, the
// environment Terraform sets is exactly what the functions read (and the
// functions accept its default values), the topics the code publishes to
// exist and are wired to the right functions, the IAM is least privilege, and
// `terraform fmt -check` passes where a terraform binary exists.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { unzipSync } from 'fflate';
import { configFromEnv, ENV_VARS, publishTimeoutFromEnv, readOptionsFromEnv } from '../shared/pipeline/google/env';
import { DEFAULT_TOPICS } from '../shared/pipeline/model';
import { DEFAULT_COST_MODEL } from '../shared/pipeline/cost';
import { evaluate, expressions, loadTerraformModule, parseHcl, referencesIn, splitReference, variableValue, type Block, type EvalContext, type RefPart, type TerraformModule } from './support/terraform-module';

const ROOT = path.resolve(import.meta.dirname, '..');
const TF_DIR = path.join(ROOT, 'terraform');
const functionsJson = JSON.parse(readFileSync(path.join(ROOT, 'functions/functions.json'), 'utf8')).functions as Record<string, { source: string; entryPoint: string; trigger: string }>;

let tf: TerraformModule;
let ctx: EvalContext;
const PROJECT = 'test-project-123';

before(async () => {
  tf = await loadTerraformModule(TF_DIR);
  ctx = { module: tf, vars: { project_id: PROJECT } };
});

type Json = Parameters<typeof evaluate>[1];
const obj = (v: unknown) => v as Record<string, Json>;
const first = (v: unknown): Block => (v as Block[])[0]!;
const resource = (type: string, name: string): Block => {
  const r = tf.resources[type]?.[name];
  assert.ok(r, `resource ${type}.${name} is declared`);
  return r;
};
const localFunctions = () => obj(tf.locals.functions) as Record<string, Record<string, Json>>;

/** The matches of `pattern` (global) in every .ts file under the given folders of the project. */
function sourceMatches(dirs: string[], pattern: RegExp): RegExpMatchArray[] {
  return dirs.flatMap((dir) =>
    (readdirSync(path.join(ROOT, dir), { recursive: true }) as string[])
      .filter((f) => f.endsWith('.ts'))
      .flatMap((f) => [...readFileSync(path.join(ROOT, dir, f), 'utf8').matchAll(pattern)]),
  );
}

/** Every expression of the module, with where it is. */
function* allExpressions(): Generator<{ where: string; text: string; block?: Block }> {
  // a variable's `type` is a type constraint (hcl2json writes it as "${number}"), not an expression
  for (const [name, v] of Object.entries(tf.variables)) for (const e of expressions({ ...v, type: null })) yield { where: `variable.${name}`, text: e.text };
  for (const [name, v] of Object.entries(tf.locals)) for (const e of expressions(v)) yield { where: `local.${name}`, text: e.text };
  for (const [name, v] of Object.entries(tf.outputs)) for (const e of expressions(v)) yield { where: `output.${name}`, text: e.text };
  for (const [name, v] of Object.entries(tf.checks)) for (const e of expressions(v)) yield { where: `check.${name}`, text: e.text };
  for (const [type, named] of Object.entries(tf.resources)) for (const [name, b] of Object.entries(named)) for (const e of expressions(b)) yield { where: `${type}.${name}`, text: e.text, block: b };
  for (const [type, named] of Object.entries(tf.data)) for (const [name, b] of Object.entries(named)) for (const e of expressions(b)) yield { where: `data.${type}.${name}`, text: e.text, block: b };
}

/** The keys a for_each resource instance can have, when the module states them literally (else undefined). */
function forEachKeys(block: Block): string[] | undefined {
  const fe = block.for_each;
  if (typeof fe !== 'string') return undefined;
  let m = /^\$\{local\.(\w+)\}$/.exec(fe);
  if (m) {
    const v = tf.locals[m[1]!];
    if (v && typeof v === 'object' && !Array.isArray(v)) return Object.keys(v);
    // a comprehension filtering another local: its keys are a subset of that local's
    m = typeof v === 'string' ? /^\$\{\{\s*for\s+\w+\s*,\s*\w+\s+in\s+local\.(\w+)\s*:/.exec(v) : null;
    const inner = m ? tf.locals[m[1]!] : undefined;
    return inner && typeof inner === 'object' && !Array.isArray(inner) ? Object.keys(inner) : undefined;
  }
  m = /^\$\{toset\(\[([^\]]*)\]\)\}$/.exec(fe.replace(/\s+/g, ' '));
  return m ? [...m[1]!.matchAll(/"([^"]+)"/g)].map((x) => x[1]!) : undefined;
}

describe('terraform module: parsing', () => {
  test('every .tf file parses, and a syntax error is reported with its file and line', async () => {
    assert.deepEqual(tf.files, ['firestore.tf', 'functions.tf', 'iam.tf', 'main.tf', 'outputs.tf', 'pubsub.tf', 'storage.tf', 'variables.tf', 'versions.tf']);
    const dir = mkdtempSync(path.join(tmpdir(), 'tf-bad-'));
    try {
      writeFileSync(path.join(dir, 'broken.tf'), 'resource "google_pubsub_topic" "t" {\n  name = \n}\n');
      await assert.rejects(loadTerraformModule(dir), /broken\.tf:2,\d+-\d+,\d+: Invalid expression/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('terraform.tfvars.example parses and sets only declared variables', async () => {
    const example = (await parseHcl('terraform.tfvars.example', readFileSync(path.join(TF_DIR, 'terraform.tfvars.example'), 'utf8'))) as Record<string, unknown>;
    assert.ok(Object.keys(example).includes('project_id'));
    for (const k of Object.keys(example)) assert.ok(tf.variables[k], `terraform.tfvars.example sets ${k}, which is not a variable`);
  });

  test('terraform and provider versions are pinned', () => {
    const versions = readFileSync(path.join(TF_DIR, 'versions.tf'), 'utf8');
    // variable validations that refer to other variables need Terraform 1.9
    assert.match(versions, /required_version\s*=\s*">= 1\.9"/);
    assert.match(versions, /source\s*=\s*"hashicorp\/google"/);
    assert.match(versions, /version\s*=\s*">= 6\.0, < 8\.0"/);
  });
});

describe('terraform module: variables and references', () => {
  test('every declared variable is used, every used variable is declared, and each has a type and a description', async () => {
    const used = new Set<string>();
    for (const e of allExpressions()) for (const r of await referencesIn(e.text)) if (r.startsWith('var.')) used.add(String(splitReference(r)[1]));
    const declared = Object.keys(tf.variables);
    assert.deepEqual([...used].filter((v) => !declared.includes(v)).sort(), [], 'used but not declared');
    assert.deepEqual(declared.filter((v) => !used.has(v)).sort(), [], 'declared but not used');
    for (const [name, v] of Object.entries(tf.variables)) {
      assert.ok(typeof v.description === 'string' && v.description.length > 20, `variable ${name} has a description`);
      assert.ok(v.type, `variable ${name} has a type`);
    }
    // only the project has no default: everything else runs as shipped
    assert.deepEqual(declared.filter((v) => !('default' in tf.variables[v]!)), ['project_id']);
  });

  test('every reference resolves: variables, locals, data sources, resources, and the literal keys of for_each resources', async () => {
    const problems: string[] = [];
    let keyed = 0;
    for (const e of allExpressions()) {
      const dynamicNames = e.block ? Object.keys(obj(e.block.dynamic ?? {})) : [];
      // a dynamic block's iterator is named after the block, and may sit inside another block
      const nestedDynamic = [...e.text.matchAll(/(\w+)\.value/g)].map((m) => m[1]!);
      for (const ref of await referencesIn(e.text)) {
        const parts: RefPart[] = splitReference(ref);
        const [root, second, third] = parts;
        if (typeof root !== 'string') continue;
        if (root === 'var') {
          if (!tf.variables[String(second)]) problems.push(`${e.where}: ${ref} (no such variable)`);
        } else if (root === 'local') {
          if (!(String(second) in tf.locals)) problems.push(`${e.where}: ${ref} (no such local)`);
        } else if (root === 'data') {
          if (!tf.data[String(second)]?.[String(third)]) problems.push(`${e.where}: ${ref} (no such data source)`);
        } else if (root === 'each') {
          if (!e.block?.for_each && !/\bfor_each\b/.test(e.text) && !e.where.startsWith('local.')) problems.push(`${e.where}: ${ref} outside a for_each resource`);
        } else if (['path', 'count', 'self', 'terraform'].includes(root) || dynamicNames.includes(root) || nestedDynamic.includes(root)) {
          // built in, or a dynamic block's iterator
        } else if (tf.resources[root]) {
          const r = tf.resources[root]![String(second)];
          if (!r) {
            problems.push(`${e.where}: ${ref} (no such resource)`);
            continue;
          }
          if (third && typeof third === 'object') {
            const keys = forEachKeys(r);
            if (keys) {
              keyed++;
              if (!keys.includes(third.key)) problems.push(`${e.where}: ${ref} (${root}.${String(second)} has no instance "${third.key}"; it has ${keys.join(', ')})`);
            }
          }
        } else {
          problems.push(`${e.where}: ${ref} (unknown name ${root})`);
        }
      }
    }
    assert.deepEqual(problems, []);
    assert.ok(keyed >= 10, `the literal instance keys of at least 10 references were checked (${keyed})`);
  });
});

describe('terraform module: functions and bundles', () => {
  let outDir: string;
  let manifest: { functions: Record<string, { entryPoint: string; signatureType: string; trigger: string; zip: string; zipSha256: string }> };

  before(async () => {
    outDir = mkdtempSync(path.join(tmpdir(), 'tf-bundles-'));
    // a build of our own, in its own folder: what `npm run build` (and so deploy.sh) makes
    const { buildFunctions } = await import('../scripts/build.mjs');
    manifest = (await buildFunctions(outDir)) as typeof manifest;
  });
  after(() => rmSync(outDir, { recursive: true, force: true }));

  test('the module deploys exactly the functions of functions/functions.json, with their entry points and triggers', () => {
    assert.deepEqual(Object.keys(localFunctions()).sort(), Object.keys(functionsJson).sort());
    for (const [name, f] of Object.entries(functionsJson)) {
      assert.equal(localFunctions()[name]!.entry_point, f.entryPoint, `${name}: entry point`);
      assert.equal(localFunctions()[name]!.trigger, f.trigger, `${name}: trigger`);
      assert.equal(manifest.functions[name]!.entryPoint, f.entryPoint, `${name}: the built bundle's entry point`);
    }
    const fn = resource('google_cloudfunctions2_function', 'function');
    assert.equal(fn.for_each, '${local.functions}');
    const build = first(fn.build_config);
    assert.equal(build.entry_point, '${each.value.entry_point}');
    assert.equal(first(first(build.source).storage_source).object, '${google_storage_bucket_object.bundle[each.key].name}');
    // Terraform refuses to deploy a bundle whose manifest names another entry point
    assert.match(JSON.stringify(first(fn.lifecycle).precondition), /local\.manifest\.functions\[each\.key\]\.entryPoint.*== each\.value\.entry_point/);
  });

  test('each function is deployed from its own zip, named by the hash of its content, and the zip is a runnable bundle', () => {
    const object = resource('google_storage_bucket_object', 'bundle');
    assert.equal(object.for_each, '${local.functions}');
    assert.equal(object.name, 'functions/${each.key}-${local.manifest.functions[each.key].zipSha256}.zip');
    assert.equal(object.source, '${path.module}/${var.bundles_dir}/${local.manifest.functions[each.key].zip}');
    assert.equal(tf.locals.manifest, '${jsondecode(file("${path.module}/${var.bundles_dir}/manifest.json"))}');
    assert.equal(path.resolve(TF_DIR, String(variableValue(ctx, 'bundles_dir'))), path.join(ROOT, 'dist/functions'), 'bundles_dir points at npm run build\'s output');
    for (const [name, f] of Object.entries(manifest.functions)) {
      const zip = readFileSync(path.join(outDir, f.zip));
      assert.equal(createHash('sha256').update(zip).digest('hex'), f.zipSha256, `${name}: zip hash`);
      const files = unzipSync(zip);
      const pkg = JSON.parse(Buffer.from(files['package.json']!).toString('utf8'));
      assert.ok(files[pkg.main], `${name}: the zip holds its main file ${pkg.main}`);
      assert.ok(files['package-lock.json'], `${name}: the zip holds a lockfile, so the deploy's npm ci installs the tested versions`);
      assert.ok(pkg.dependencies['@google-cloud/functions-framework'], `${name}: depends on the Functions Framework`);
      assert.match(Buffer.from(files[pkg.main]!).toString('utf8'), new RegExp(`ff\\.(http|cloudEvent)\\(\\s*["']${f.entryPoint}["']`), `${name}: the bundle registers ${f.entryPoint}`);
    }
  });

  test('the zips are reproducible: building again gives the same hashes (an unchanged function is not redeployed)', async () => {
    const again = mkdtempSync(path.join(tmpdir(), 'tf-bundles-'));
    try {
      const { buildFunctions } = await import('../scripts/build.mjs');
      const second = (await buildFunctions(again)) as typeof manifest;
      for (const name of Object.keys(manifest.functions)) assert.equal(second.functions[name]!.zipSha256, manifest.functions[name]!.zipSha256, name);
    } finally {
      rmSync(again, { recursive: true, force: true });
    }
  });

  test('the runtime is a Node.js release the bundles are built for', () => {
    const fn = resource('google_cloudfunctions2_function', 'function');
    assert.equal(first(fn.build_config).runtime, '${var.nodejs_runtime}');
    const runtime = String(variableValue(ctx, 'nodejs_runtime'));
    const major = Number(/^nodejs(\d+)$/.exec(runtime)?.[1]);
    const target = Number(/target:\s*'node(\d+)'/.exec(readFileSync(path.join(ROOT, 'scripts/build.mjs'), 'utf8'))?.[1]);
    const engines = Number(/>=\s*(\d+)/.exec(JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).engines.node)?.[1]);
    assert.ok(target >= 20 && engines >= 20, 'build target and engines found');
    assert.ok(major >= target && major >= engines, `${runtime} runs code built for node${target} (engines >=${engines})`);
  });

  test('instance shapes are ones Cloud Run accepts, and concurrency above 1 has a whole vCPU', () => {
    const fns = localFunctions();
    for (const [name, f] of Object.entries(fns)) {
      const cpu = Number(evaluate(ctx, f.cpu!));
      const mem = Number(evaluate(ctx, f.memory_mib!));
      const conc = Number(evaluate(ctx, f.concurrency!));
      const timeout = Number(evaluate(ctx, f.timeout_s!));
      const [lo, hi] = ({ 1: [512, 4096], 2: [512, 8192], 4: [2048, 16384], 6: [4096, 24576], 8: [4096, 32768] } as Record<number, [number, number]>)[cpu] ?? [NaN, NaN];
      assert.ok(mem >= lo && mem <= hi, `${name}: ${cpu} vCPU with ${mem} MiB`);
      assert.ok(conc === 1 || cpu >= 1, `${name}: concurrency ${conc} needs at least 1 vCPU`);
      // pushed functions must answer within the 600 s ack deadline; HTTP functions within 3600 s
      assert.ok(timeout > 0 && timeout <= (f.trigger === 'http' ? 3600 : 600), `${name}: timeout ${timeout} s`);
      assert.ok(Number(evaluate(ctx, f.max_instances!)) >= 1, `${name}: max instances`);
    }
    const sc = first(resource('google_cloudfunctions2_function', 'function').service_config);
    assert.equal(sc.available_cpu, '${tostring(each.value.cpu)}');
    assert.equal(sc.available_memory, '${each.value.memory_mib}Mi');
    assert.equal(sc.max_instance_request_concurrency, '${each.value.concurrency}');
    assert.equal(sc.max_instance_count, '${each.value.max_instances}');
    assert.equal(sc.timeout_seconds, '${each.value.timeout_s}');
  });
});

describe('terraform module: environment', () => {
  /** The functions' environment with the module's default values (and a project id). */
  function defaultEnv(): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(obj(tf.locals.function_env))) {
      if (k === 'PHYSLITE_COST_MODEL') continue; // jsonencode(): rebuilt in its own test
      env[k] = String(evaluate(ctx, v));
    }
    return env;
  }

  test('every function gets the same environment, and it is exactly what the code reads (plus NODE_ENV and NODE_OPTIONS)', () => {
    const sc = first(resource('google_cloudfunctions2_function', 'function').service_config);
    assert.equal(sc.environment_variables, '${local.function_env}');
    const set = Object.keys(obj(tf.locals.function_env)).sort();
    assert.deepEqual(set, [...Object.keys(ENV_VARS), 'NODE_ENV', 'NODE_OPTIONS'].sort());
    assert.equal(obj(tf.locals.function_env).NODE_ENV, 'production', 'the Functions Framework hides stack traces from callers only in production');
  });

  test('every variable the code reads is named in ENV_VARS (so the check above covers the code, not just the list)', () => {
    const read = new Set(sourceMatches(['functions', 'shared/pipeline/google'], /\benv\.([A-Z][A-Z0-9_]+)|process\.env\.([A-Z][A-Z0-9_]+)|numberVar\(env, '([A-Z0-9_]+)'/g).map((m) => (m[1] ?? m[2] ?? m[3])!));
    // set by Cloud Run itself, not by us
    for (const platform of ['K_REVISION', 'K_SERVICE', 'PORT']) read.delete(platform);
    assert.deepEqual([...read].filter((v) => !(v in ENV_VARS)).sort(), []);
    assert.ok(read.size >= 10, `found the variables the code reads (${[...read].join(', ')})`);
  });

  test('the functions accept the module\'s default environment and read the values Terraform meant', () => {
    const env = defaultEnv();
    const config = configFromEnv(env);
    const topics = obj(tf.locals.topics);
    assert.deepEqual(config.topics, { jobs: evaluate(ctx, topics.jobs!), shards: evaluate(ctx, topics.shards!), shardDone: evaluate(ctx, topics.shardDone!), deadLetters: evaluate(ctx, topics.deadLetters!) });
    assert.equal(config.topics.shards, 'physlite-shards');
    assert.equal(config.jobsCollection, variableValue(ctx, 'jobs_collection'));
    assert.equal(config.defaultShardBytes, Number(variableValue(ctx, 'shard_mb')) * 1024 * 1024);
    assert.equal(config.maxShards, variableValue(ctx, 'max_shards'));
    assert.equal(config.shardDeadlineMs, Number(variableValue(ctx, 'shard_deadline_s')) * 1000);
    assert.equal(config.maxShardAttempts, variableValue(ctx, 'max_shard_attempts'));
    assert.equal(config.statusBaseUrl, `https://us-central1-${PROJECT}.cloudfunctions.net/physlite-status`);
    assert.deepEqual(readOptionsFromEnv(env), { timeoutMs: Number(variableValue(ctx, 'read_timeout_s')) * 1000, retries: variableValue(ctx, 'read_retries') });
    assert.equal(publishTimeoutFromEnv(env), Number(variableValue(ctx, 'publish_timeout_s')) * 1000);
    assert.equal(env.FIRESTORE_DATABASE, '(default)');
  });

  test('the cost model Terraform passes is the functions\' instance shapes and prices the code parses, and its default prices are the code\'s', () => {
    const expr = String(obj(tf.locals.function_env).PHYSLITE_COST_MODEL).replace(/\s+/g, ' ');
    assert.match(expr, /^\$\{jsonencode\(\{ prices = var\.prices instances = \{ for name in \["worker", "orchestrator", "reducer"\] : name => \{ vcpu = local\.functions\[name\]\.cpu, memoryGiB = local\.functions\[name\]\.memory_mib \/ 1024, concurrency = local\.functions\[name\]\.concurrency \} \} \}\)\}$/);
    // what that expression gives with the defaults
    const shape = (name: string) => ({
      vcpu: Number(evaluate(ctx, localFunctions()[name]!.cpu!)),
      memoryGiB: Number(evaluate(ctx, localFunctions()[name]!.memory_mib!)) / 1024,
      concurrency: Number(evaluate(ctx, localFunctions()[name]!.concurrency!)),
    });
    const json = JSON.stringify({ prices: variableValue(ctx, 'prices'), instances: { worker: shape('worker'), orchestrator: shape('orchestrator'), reducer: shape('reducer') } });
    const config = configFromEnv({ PHYSLITE_COST_MODEL: json });
    assert.deepEqual(config.costModel.instances.worker, { vcpu: 1, memoryGiB: 2, concurrency: 1 });
    assert.deepEqual(config.costModel.instances.reducer, { vcpu: 1, memoryGiB: Number(variableValue(ctx, 'reducer_memory_mib')) / 1024, concurrency: 4 });
    assert.deepEqual(variableValue(ctx, 'prices'), { ...DEFAULT_COST_MODEL.prices }, 'the module\'s default prices are the code\'s');
  });
});

describe('terraform module: topics, subscriptions and dead letters', () => {
  test('the topics are the code\'s four, and every topic the code publishes to exists', () => {
    assert.deepEqual(Object.keys(obj(tf.locals.topics)).sort(), Object.keys(DEFAULT_TOPICS).sort());
    assert.equal(resource('google_pubsub_topic', 'topic').for_each, '${local.topics}');
    const published = new Set(sourceMatches(['shared', 'functions'], /publish\([^,]*topics\.(\w+)/g).map((m) => m[1]!));
    assert.deepEqual([...published].sort(), ['shardDone', 'shards']);
    for (const t of published) assert.ok(t in obj(tf.locals.topics), `topic ${t}`);
  });

  test('every Pub/Sub-fed function has a push subscription on its topic, authenticated, with retries and (except the dead letters\' own) a dead-letter policy', () => {
    const sub = resource('google_pubsub_subscription', 'push');
    assert.equal(sub.for_each, '${local.pushed_functions}');
    assert.match(String(tf.locals.pushed_functions), /for name, f in local\.functions : name => f if f\.trigger != "http"/);
    assert.deepEqual(Object.entries(functionsJson).filter(([, f]) => f.trigger !== 'http').map(([, f]) => f.trigger).sort(), ['deadLetters', 'jobs', 'shardDone', 'shards']);
    assert.equal(sub.topic, '${google_pubsub_topic.topic[each.value.trigger].id}');
    const push = first(sub.push_config);
    // the path names the topic: the Functions Framework takes the CloudEvent's source from it
    assert.equal(push.push_endpoint, '${google_cloudfunctions2_function.function[each.key].service_config[0].uri}/projects/${var.project_id}/topics/${google_pubsub_topic.topic[each.value.trigger].name}');
    const oidc = first(push.oidc_token);
    assert.equal(oidc.service_account_email, '${google_service_account.push.email}');
    assert.equal(oidc.audience, '${google_cloudfunctions2_function.function[each.key].service_config[0].uri}', 'the audience is the service URL, without the path');
    const retry = first(sub.retry_policy);
    assert.equal(retry.minimum_backoff, '${var.retry_minimum_backoff}');
    assert.equal(retry.maximum_backoff, '${var.retry_maximum_backoff}');
    const dl = first(obj(sub.dynamic).dead_letter_policy);
    assert.equal(dl.for_each, '${each.value.trigger == "deadLetters" ? [] : [var.dead_letter_max_delivery_attempts]}');
    const content = first(dl.content);
    assert.equal(content.dead_letter_topic, '${google_pubsub_topic.topic["deadLetters"].id}');
    assert.equal(content.max_delivery_attempts, '${dead_letter_policy.value}');
    // the push identity may invoke exactly the pushed functions
    const inv = resource('google_cloud_run_v2_service_iam_member', 'push_invoker');
    assert.equal(inv.for_each, '${local.pushed_functions}');
    assert.equal(inv.role, 'roles/run.invoker');
    assert.equal(inv.member, 'serviceAccount:${google_service_account.push.email}');
  });

  test('time limits nest: shard deadline < worker timeout ≤ ack deadline (600 s); attempts: worker gives up before Pub/Sub dead-letters', () => {
    const sub = resource('google_pubsub_subscription', 'push');
    const ack = Number(sub.ack_deadline_seconds);
    assert.equal(ack, 600, 'Pub/Sub\'s largest ack deadline, which is also the push request timeout');
    const deadline = Number(variableValue(ctx, 'shard_deadline_s'));
    const timeout = Number(variableValue(ctx, 'worker_timeout_s'));
    assert.equal(localFunctions().worker!.timeout_s, '${var.worker_timeout_s}');
    assert.ok(deadline < timeout && timeout <= ack, `${deadline} < ${timeout} ≤ ${ack}`);
    const attempts = Number(variableValue(ctx, 'max_shard_attempts'));
    const dlq = Number(variableValue(ctx, 'dead_letter_max_delivery_attempts'));
    assert.ok(dlq >= 5 && dlq <= 100, 'Pub/Sub allows 5 to 100');
    // the worker records GAVE_UP on delivery attempts+1, so Pub/Sub must allow at least that many, with a margin
    assert.ok(dlq >= attempts + 2, `${dlq} ≥ ${attempts} + 2`);
    // and the variables' own validations say the same, so a user's values are held to it too
    assert.match(JSON.stringify(tf.variables.shard_deadline_s!.validation), /var\.shard_deadline_s < var\.worker_timeout_s/);
    assert.match(JSON.stringify(tf.variables.dead_letter_max_delivery_attempts!.validation), /var\.dead_letter_max_delivery_attempts >= var\.max_shard_attempts \+ 2/);
    assert.match(JSON.stringify(tf.variables.worker_timeout_s!.validation), /var\.worker_timeout_s <= 600/);
  });

  test('Pub/Sub\'s service agent may publish dead letters, acknowledge the source subscriptions and sign push tokens', () => {
    assert.equal(tf.locals.pubsub_agent, 'serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com');
    const pub = resource('google_pubsub_topic_iam_member', 'agent_publishes_dead_letters');
    assert.deepEqual([pub.topic, pub.role, pub.member], ['${google_pubsub_topic.topic["deadLetters"].name}', 'roles/pubsub.publisher', '${local.pubsub_agent}']);
    const ack = resource('google_pubsub_subscription_iam_member', 'agent_acks_dead_letters');
    assert.equal(ack.for_each, '${local.dead_lettered_feeds}');
    assert.match(String(tf.locals.dead_lettered_feeds), /local\.pushed_functions : name => f if f\.trigger != "deadLetters"/);
    assert.deepEqual([ack.subscription, ack.role], ['${google_pubsub_subscription.push[each.key].name}', 'roles/pubsub.subscriber']);
    const sign = resource('google_service_account_iam_member', 'agent_signs_push_tokens');
    assert.deepEqual([sign.service_account_id, sign.role, sign.member], ['${google_service_account.push.name}', 'roles/iam.serviceAccountTokenCreator', '${local.pubsub_agent}']);
  });
});

describe('terraform module: identities and access', () => {
  test('one service account per function, each function runs as its own', () => {
    const sa = resource('google_service_account', 'function');
    assert.equal(sa.for_each, '${local.functions}');
    assert.equal(first(resource('google_cloudfunctions2_function', 'function').service_config).service_account_email, '${google_service_account.function[each.key].email}');
  });

  test('least privilege: the status endpoint only reads state; only the readers of data read objects; each function publishes only where the code does', () => {
    const firestore = obj(tf.locals.firestore_role);
    assert.deepEqual(Object.keys(firestore).sort(), Object.keys(functionsJson).sort());
    assert.equal(firestore.status, 'roles/datastore.viewer');
    for (const [name, role] of Object.entries(firestore)) if (name !== 'status') assert.equal(role, 'roles/datastore.user', name);
    assert.deepEqual(tf.locals.object_readers, ['orchestrator', 'orchestrator-jobs', 'worker']);
    const objectGrant = resource('google_storage_bucket_iam_member', 'reads_objects');
    assert.equal(objectGrant.role, 'roles/storage.objectViewer');
    // what each function's code publishes to: the orchestrator the shards, the worker and the dead-letter handler "shard done"
    assert.deepEqual(tf.locals.publishes_to, { orchestrator: ['shards'], 'orchestrator-jobs': ['shards'], worker: ['shardDone'], 'dead-letters': ['shardDone'] });
    const pubGrant = resource('google_pubsub_topic_iam_member', 'publishes');
    assert.equal(pubGrant.role, 'roles/pubsub.publisher');
    // on the whole project: Firestore's roles for the functions, and the build account's logs, images and (conditionally) sources, nothing else
    assert.deepEqual(Object.keys(tf.resources.google_project_iam_member ?? {}).sort(), ['build', 'build_reads_sources', 'firestore']);
    const sources = resource('google_project_iam_member', 'build_reads_sources');
    assert.equal(sources.member, 'serviceAccount:${google_service_account.build.email}');
    // only the two buckets the function source comes from: ours, and the copy Cloud Functions stages
    assert.equal(
      first(sources.condition).expression,
      'resource.name.startsWith("projects/_/buckets/${local.source_bucket}/") || resource.name.startsWith("projects/_/buckets/gcf-v2-sources-${data.google_project.this.number}-${var.region}/")',
    );
    assert.equal(resource('google_project_iam_member', 'firestore').role, '${each.value}');
    assert.equal(resource('google_project_iam_member', 'build').for_each, '${toset(["roles/logging.logWriter", "roles/artifactregistry.writer"])}');
    assert.equal(resource('google_project_iam_member', 'build').member, 'serviceAccount:${google_service_account.build.email}');
    assert.equal(first(resource('google_cloudfunctions2_function', 'function').build_config).service_account, '${google_service_account.build.id}');
  });

  test('the status endpoint and the orchestrator are private unless the operator opens them', () => {
    const mentions = [...allExpressions()].filter((e) => e.text.includes('allUsers'));
    // granted only in http_invokers under status_public; named otherwise only by the validations that refuse it
    assert.deepEqual(mentions.map((e) => e.where).sort(), ['local.http_invokers', 'variable.invoker_members', 'variable.invoker_members']);
    assert.match(mentions.find((m) => m.where === 'local.http_invokers')!.text, /var\.status_public \? \{ "status allUsers" = \{ function = "status", member = "allUsers" \} \} : \{\}/);
    assert.equal(variableValue(ctx, 'status_public'), false);
    assert.equal(variableValue(ctx, 'public_endpoints'), false);
    assert.deepEqual(variableValue(ctx, 'invoker_members'), []);
    assert.match(String(tf.locals.http_invokers), /setproduct\(\["orchestrator", "status"\], var\.invoker_members\)/);
    const validations = tf.variables.invoker_members!.validation as { condition: string }[];
    assert.ok(validations.some((v) => /var\.public_endpoints \|\| length\(setintersection\(toset\(var\.invoker_members\), toset\(\["allUsers", "allAuthenticatedUsers"\]\)\)\) == 0/.test(v.condition)), 'allUsers / allAuthenticatedUsers need public_endpoints');
  });

  test('the Pub/Sub-fed functions take internal traffic only (Pub/Sub push from the same project counts as internal); the HTTP ones stay reachable', () => {
    const service = first(resource('google_cloudfunctions2_function', 'function').service_config);
    assert.equal(service.ingress_settings, '${each.value.trigger == "http" ? "ALLOW_ALL" : var.pushed_ingress}');
    assert.equal(variableValue(ctx, 'pushed_ingress'), 'ALLOW_INTERNAL_ONLY');
    // every pushed function is fed by a subscription of this module, in the function's own project
    const sub = resource('google_pubsub_subscription', 'push');
    assert.equal(sub.for_each, '${local.pushed_functions}');
    assert.equal(sub.project, '${var.project_id}');
    assert.equal(resource('google_cloudfunctions2_function', 'function').project, '${var.project_id}');
    assert.deepEqual(Object.keys(obj(localFunctions())).filter((k) => localFunctions()[k]!.trigger === 'http').sort(), ['orchestrator', 'status']);
  });

  test('the Firestore roles hold on the pipeline\'s database only (an IAM condition on its resource name)', () => {
    const grant = resource('google_project_iam_member', 'firestore');
    const dynamic = first(obj(grant.dynamic).condition);
    assert.equal(dynamic.for_each, '${var.firestore_grants_database_only ? [local.firestore_database_name] : []}');
    const content = first(dynamic.content);
    assert.equal(content.expression, 'resource.name == "${condition.value}" || resource.name.startsWith("${condition.value}/")');
    assert.equal(variableValue(ctx, 'firestore_grants_database_only'), true);
    assert.equal(evaluate(ctx, tf.locals.firestore_database_name!), `projects/${PROJECT}/databases/(default)`);
    assert.equal(evaluate({ ...ctx, vars: { ...ctx.vars, firestore_database: 'physlite' } }, tf.locals.firestore_database_name!), `projects/${PROJECT}/databases/physlite`);
  });
});

describe('terraform validations, run by terraform itself on the module\'s variables', () => {
  const terraform = spawnSync('terraform', ['version'], { encoding: 'utf8' }).status === 0;
  let scratch = '';
  let env: NodeJS.ProcessEnv = {};
  before(() => {
    if (!terraform) return;
    // only variables.tf: its validations need no provider, so `terraform plan` runs offline
    scratch = mkdtempSync(path.join(tmpdir(), 'tf-vars-'));
    writeFileSync(path.join(scratch, 'variables.tf'), readFileSync(path.join(TF_DIR, 'variables.tf')));
    writeFileSync(path.join(scratch, 'terraformrc'), '');
    env = { ...process.env, CHECKPOINT_DISABLE: '1', TF_DATA_DIR: path.join(scratch, 'data'), TF_CLI_CONFIG_FILE: path.join(scratch, 'terraformrc'), TF_IN_AUTOMATION: '1', NO_COLOR: '1' };
    const init = spawnSync('terraform', ['init', '-input=false', '-backend=false', '-no-color'], { cwd: scratch, encoding: 'utf8', env });
    assert.equal(init.status, 0, init.stdout + init.stderr);
  });
  after(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });
  const plan = (vars: Record<string, string>) => {
    const args = ['plan', '-input=false', '-no-color', '-lock=false', '-var', `project_id=${PROJECT}`, ...Object.entries(vars).flatMap(([k, v]) => ['-var', `${k}=${v}`])];
    const r = spawnSync('terraform', args, { cwd: scratch, encoding: 'utf8', env });
    return { ok: r.status === 0, text: (r.stdout + r.stderr).replace(/\s+/g, ' ') };
  };
  const skip = terraform ? false : 'no terraform binary on PATH: the static checks above still ran';

  test('invoker_members = ["allUsers"] or ["allAuthenticatedUsers"] is refused unless public_endpoints = true', { skip }, () => {
    for (const member of ['allUsers', 'allAuthenticatedUsers']) {
      const refused = plan({ invoker_members: `["user:a@example.org", "${member}"]` });
      assert.equal(refused.ok, false, refused.text);
      assert.match(refused.text, /invoker_members lists allUsers or allAuthenticatedUsers/);
      const meant = plan({ invoker_members: `["${member}"]`, public_endpoints: 'true' });
      assert.equal(meant.ok, true, meant.text);
    }
  });

  test('members are IAM member strings; the defaults and ordinary members pass', { skip }, () => {
    assert.equal(plan({}).ok, true);
    assert.equal(plan({ invoker_members: '["user:a@example.org", "group:g@example.org", "serviceAccount:s@p.iam.gserviceaccount.com", "domain:example.org"]' }).ok, true);
    const typo = plan({ invoker_members: '["a@example.org"]' });
    assert.equal(typo.ok, false);
    assert.match(typo.text, /invoker_members must be IAM members/);
  });

  test('pushed_ingress takes ALLOW_INTERNAL_ONLY or ALLOW_ALL only', { skip }, () => {
    assert.equal(plan({ pushed_ingress: 'ALLOW_ALL' }).ok, true);
    const bad = plan({ pushed_ingress: 'INTERNAL' });
    assert.equal(bad.ok, false);
    assert.match(bad.text, /pushed_ingress must be ALLOW_INTERNAL_ONLY or ALLOW_ALL/);
  });
});

describe('terraform module: outputs and scripts', () => {
  test('the outputs the scripts and README rely on exist', () => {
    for (const name of ['orchestrator_url', 'status_url', 'jobs_topic', 'shards_topic', 'shard_done_topic', 'dead_letters_topic', 'data_bucket', 'source_bucket', 'project_id', 'region']) assert.ok(tf.outputs[name], `output ${name}`);
    const scripts = readdirSync(path.join(ROOT, 'scripts')).filter((f) => f.endsWith('.sh'));
    const lib = readdirSync(path.join(ROOT, 'scripts/lib')).filter((f) => f.endsWith('.sh')).map((f) => `lib/${f}`);
    const used = new Set<string>();
    // the scripts read outputs through tf_output / need_output (scripts/lib/common.sh) or directly
    for (const f of [...scripts, ...lib]) for (const m of readFileSync(path.join(ROOT, 'scripts', f), 'utf8').matchAll(/(?:output -raw|tf_output|need_output) "?([a-z_]+)/g)) used.add(m[1]!);
    assert.deepEqual([...used].sort(), ['data_bucket', 'jobs_topic', 'orchestrator_url', 'project_id', 'status_url']);
    for (const name of used) assert.ok(tf.outputs[name], `a script reads output ${name}, which the module does not declare`);
  });
});

describe('terraform fmt', () => {
  const terraform = spawnSync('terraform', ['version'], { encoding: 'utf8' }).status === 0;
  test('terraform fmt -check passes (and fails on a badly formatted file)', { skip: terraform ? false : 'no terraform binary on PATH: the HCL checks above still ran' }, () => {
    const scratch = mkdtempSync(path.join(tmpdir(), 'tf-fmt-'));
    try {
      const cli = path.join(scratch, 'terraformrc');
      writeFileSync(cli, '');
      const env = { ...process.env, CHECKPOINT_DISABLE: '1', TF_DATA_DIR: path.join(scratch, 'data'), TF_CLI_CONFIG_FILE: cli, TF_IN_AUTOMATION: '1' };
      const ours = spawnSync('terraform', ['fmt', '-check', '-diff', TF_DIR], { encoding: 'utf8', env });
      assert.equal(ours.status, 0, `terraform fmt -check:\n${ours.stdout}${ours.stderr}`);
      const bad = path.join(scratch, 'bad');
      mkdirSync(bad);
      writeFileSync(path.join(bad, 'x.tf'), 'variable "x" {\ndefault=1\n}\n');
      const result = spawnSync('terraform', ['fmt', '-check', bad], { encoding: 'utf8', env });
      assert.notEqual(result.status, 0, 'an unformatted file fails the check');
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
