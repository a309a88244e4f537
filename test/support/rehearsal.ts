// A rehearsal of production on one machine: the deployed bundles
// (dist/functions/*, exactly what the deploy step uploads) run under the
// Functions Framework as separate processes, each with the environment Cloud
// Run would give it and the node_modules the deploy's `npm ci` gives it (from
// the bundle's own lockfile), and the official Google clients inside them talk to
// local servers through their own emulator settings:
//
//   Firestore      @firestore-emulator/server, in this process,  FIRESTORE_EMULATOR_HOST
//                  or the official emulator (PHYSLITE_REHEARSAL_FIRESTORE=host:port)
//   Pub/Sub        test/support/pubsub-standin.ts (gRPC Publisher
//                  + push delivery as Eventarc's CloudEvents)     PUBSUB_EMULATOR_HOST
//   Cloud Storage  test/support/fake-gcs.ts (JSON API)            STORAGE_EMULATOR_HOST
//
// Topics and push subscriptions are made as the Terraform module makes them:
// one subscription per event-triggered function in functions/functions.json,
// pushing to that function's instances, with a retry policy and a dead-letter
// topic. Everything listens on 127.0.0.1.
//
//   const r = await startRehearsal({ instances: { worker: 2 } });
//   await r.upload('data/a.root', bytes);
//   const { status, body } = await r.submit({ dataset: r.gs('data/') });
//   const job = await r.waitForJob(body.jobId);
//   await r.close();
//
// The settings that differ from production are only those that make the
// rehearsal fast: short retry backoffs, 2 s deadlines for a storage request and
// for Pub/Sub to accept a message, and short ack deadlines (still far longer
// than a shard takes here).

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PubSub } from '@google-cloud/pubsub';
import { Storage } from '@google-cloud/storage';
import type { JobStatus } from '../../shared/pipeline/model';
import type { Topics } from '../../shared/pipeline/model';
import { configFromEnv } from '../../shared/pipeline/google/env';
import { startFakeGcs, type FakeGcs } from './fake-gcs';
import { Firestore } from '@google-cloud/firestore';
import { startFirestoreEmulator } from './firestore-emulator';
import { startFunction, type FunctionProcess } from './function-process';
import { freePort } from './range-server';
import { startPubSubStandIn, type PubSubStandIn } from './pubsub-standin';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const execFileAsync = promisify(execFile);
export const PROJECT = 'physlite-rehearsal';
export const BUCKET = 'physlite-rehearsal-data';

export interface FunctionEntry {
  source: string;
  entryPoint: string;
  /** 'http' or a key of Topics. */
  trigger: 'http' | keyof Topics;
}

/** functions/functions.json: the deployed functions. */
export function functionList(): Record<string, FunctionEntry> {
  return (JSON.parse(readFileSync(path.join(ROOT, 'functions/functions.json'), 'utf8')) as { functions: Record<string, FunctionEntry> }).functions;
}

/**
 * Copies each bundle folder into a fresh directory and gives it the node_modules that the
 * deploy's `npm ci` makes from the bundle's own package-lock.json: installed once per
 * lockfile (offline, from npm's cache, which this project's `npm ci` filled) and kept in
 * node_modules/.cache/physlite-rehearsal/ for later runs. A bundle that imports anything it
 * does not declare, or needs a version its lockfile does not pin, fails here as it would
 * after deploying. If the offline install is impossible (npm's cache lacks a package), the
 * bundle gets links to this project's packages instead, with a warning.
 */
export async function stageBundles(functionsDir: string, names: string[]): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'physlite-rehearsal-'));
  for (const name of names) {
    const target = path.join(dir, name);
    await cp(path.join(functionsDir, name), target, { recursive: true });
    const modules = await installedDependencies(target);
    if (modules) {
      await symlink(modules, path.join(target, 'node_modules'), 'dir');
      continue;
    }
    const pkg = JSON.parse(readFileSync(path.join(target, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    for (const dep of Object.keys(pkg.dependencies ?? {})) {
      const link = path.join(target, 'node_modules', dep);
      await mkdir(path.dirname(link), { recursive: true });
      await symlink(path.join(ROOT, 'node_modules', dep), link, 'dir');
    }
  }
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

const INSTALL_CACHE = path.join(ROOT, 'node_modules/.cache/physlite-rehearsal');
let warnedOffline = false;

/** node_modules installed by `npm ci --offline` from the bundle's lockfile (cached by its hash), or undefined if npm cannot. */
async function installedDependencies(bundle: string): Promise<string | undefined> {
  // the bundles differ in name and scripts only: one install serves every bundle with the same dependency tree
  const pkg = JSON.parse(readFileSync(path.join(bundle, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  const lock = JSON.parse(readFileSync(path.join(bundle, 'package-lock.json'), 'utf8')) as { packages: Record<string, unknown> };
  const name = 'physlite-rehearsal-dependencies';
  const manifest = { name, version: '0.0.0', private: true, dependencies: pkg.dependencies ?? {} };
  const tree = { name, version: '0.0.0', lockfileVersion: 3, requires: true, packages: { ...lock.packages, '': { name, version: '0.0.0', dependencies: manifest.dependencies } } };
  const hash = createHash('sha256').update(JSON.stringify(tree)).digest('hex').slice(0, 16);
  const done = path.join(INSTALL_CACHE, hash);
  if (existsSync(path.join(done, 'node_modules'))) return path.join(done, 'node_modules');
  await mkdir(INSTALL_CACHE, { recursive: true });
  const work = await mkdtemp(path.join(INSTALL_CACHE, `${hash}-`));
  try {
    await writeFile(path.join(work, 'package.json'), JSON.stringify(manifest));
    await writeFile(path.join(work, 'package-lock.json'), JSON.stringify(tree));
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    await execFileAsync(npm, ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: work, timeout: 120_000 });
    // another process may have finished the same install first: either copy will do
    await rename(work, done).catch(() => rm(work, { recursive: true, force: true }));
    return path.join(done, 'node_modules');
  } catch (e) {
    await rm(work, { recursive: true, force: true });
    if (!warnedOffline) {
      warnedOffline = true;
      console.warn(`rehearsal: could not install the bundles' dependencies offline from their lockfile (${String((e as Error).message).split('\n')[0]}); linking this project's packages instead`);
    }
    return undefined;
  }
}

export interface RehearsalOptions {
  /** Where the bundles are (default dist/functions: run `npm run build` first). They run from a staged copy (stageBundles). */
  functionsDir?: string;
  /** Instances per function (default 1 each). */
  instances?: Partial<Record<string, number>>;
  /** What the subscriptions push: a plain Pub/Sub push body (default: what terraform/'s push subscriptions send) or Eventarc's CloudEvent. */
  format?: 'cloudevent' | 'push';
  /** Extra or overriding environment of every function, e.g. { PHYSLITE_SHARD_MB: '0.5' }. */
  env?: Record<string, string>;
  /** Ack deadline of every subscription, seconds (default 60; production: 600). */
  ackDeadlineSeconds?: number;
  /** Retry policy of the subscriptions (default 100 ms → 2 s; production 10 s → 600 s). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /**
   * Dead-letter policy of the subscriptions (default 10). It must allow more deliveries than the
   * worker's own limit (PHYSLITE_MAX_SHARD_ATTEMPTS, 5, recorded as GAVE_UP at delivery 6): Pub/Sub
   * also counts deliveries that never reached an instance (refused while one restarts).
   */
  maxDeliveryAttempts?: number;
  /** Extra node options per function, e.g. { worker: ['--cpu-prof', '--cpu-prof-dir=prof'] } to profile the workers. */
  nodeArgs?: Partial<Record<string, string[]>>;
  /**
   * host:port of a Firestore emulator already running (e.g. the official one:
   * `gcloud emulators firestore start --host-port=127.0.0.1:8080`). Default: the
   * PHYSLITE_REHEARSAL_FIRESTORE environment variable, else @firestore-emulator/server
   * started in this process.
   */
  firestoreHost?: string;
  /** Every line a function prints, prefixed with its name (default: kept in each process's output only). */
  onLine?: (fn: string, line: string) => void;
}

/** The Firestore the functions use, as the tests see it. */
export interface RehearsalFirestore {
  /** host:port (FIRESTORE_EMULATOR_HOST of the functions). */
  readonly host: string;
  /** 'in-process' (@firestore-emulator/server here) or 'external' (an emulator given by host). */
  readonly kind: 'in-process' | 'external';
  /** A client of this process on it. */
  firestore(): Firestore;
  /**
   * Calls `cb` once when the document `path` (e.g. 'physlite-jobs/J/control/claim') is
   * created. In-process it is called synchronously inside the commit, before the writer gets
   * its answer; on an external emulator it comes from a snapshot listener, a little later.
   */
  whenCreated(path: string, cb: () => void): () => void;
  close(): Promise<void>;
}

export interface Rehearsal {
  readonly firestore: RehearsalFirestore;
  readonly pubsub: PubSubStandIn;
  readonly gcs: FakeGcs;
  /** A Storage client of this process, on the stand-in. */
  readonly storage: Storage;
  readonly topics: Topics;
  /** The environment every function gets (to start more instances like them). */
  readonly env: Readonly<Record<string, string>>;
  /** The staged bundle folders (one per function), to start more instances from. */
  readonly bundlesDir: string;
  /** Running instances of each function. */
  readonly functions: Record<string, FunctionProcess[]>;
  readonly orchestratorUrl: string;
  readonly statusUrl: string;
  /** gs://BUCKET/name */
  gs(name: string): string;
  /** Uploads through the real client (as scripts would): bytes or a local file path. */
  upload(name: string, data: Uint8Array | string): Promise<void>;
  /**
   * POST /jobs on the orchestrator function (or on `url`, another instance). `body` is the
   * parsed JSON answer ({} if it is not JSON), `text` the answer as sent.
   */
  submit(body: unknown, init?: { raw?: string; contentType?: string; url?: string; timeoutMs?: number }): Promise<{ status: number; body: Record<string, unknown>; text: string; headers: Headers }>;
  /** Publishes on the jobs topic through the real client, as `gcloud pubsub topics publish` does; returns the message id. */
  publishJob(message: unknown, options?: { raw?: string }): Promise<string>;
  /** GET the job's status (JSON) from the status function. */
  status(jobId: string): Promise<{ status: number; body: JobStatus }>;
  /** Polls the status function until the job is finished (or rejected); throws with the functions' output on timeout. */
  waitForJob(jobId: string, timeoutMs?: number): Promise<JobStatus>;
  /**
   * Crashes an instance now (SIGKILL, synchronously: safe to call from a hook that must stop it
   * mid-request) and has a new one started, as Cloud Run does. Until it serves, the subscription
   * pushes only to the other instances (Cloud Run routes requests to live instances only).
   * Resolves when the new instance serves.
   */
  crash(instance: FunctionProcess): Promise<void>;
  /** Everything the functions printed. */
  output(): string;
  close(): Promise<void>;
}


async function startFirestore(externalHost: string | undefined): Promise<RehearsalFirestore> {
  if (externalHost) {
    const db = new Firestore({ projectId: PROJECT, host: externalHost, ssl: false, credentials: { client_email: 'rehearsal@example.com', private_key: 'unused by emulators' } });
    return {
      host: externalHost,
      kind: 'external',
      firestore: () => db,
      whenCreated(path, cb) {
        let fired = false;
        const stop = db.doc(path).onSnapshot((snap) => {
          if (fired || !snap.exists) return;
          fired = true;
          cb();
        });
        return stop;
      },
      close: () => db.terminate(),
    };
  }
  const emu = await startFirestoreEmulator({ projectId: PROJECT });
  const db = emu.firestore();
  return {
    host: emu.host,
    kind: 'in-process',
    firestore: () => db,
    whenCreated(path, cb) {
      const onCreate = ({ document }: { document: { getDocumentPath(): string } }) => {
        if (document.getDocumentPath() !== path) return;
        emu.server.state.emitter.off('create-document', onCreate);
        cb();
      };
      emu.server.state.emitter.on('create-document', onCreate);
      return () => emu.server.state.emitter.off('create-document', onCreate);
    },
    close: () => emu.close(),
  };
}

export async function startRehearsal(options: RehearsalOptions = {}): Promise<Rehearsal> {
  const list = functionList();
  const started: FunctionProcess[] = [];
  // what to undo, in reverse order of starting: on close(), or when starting fails part way
  const undo: (() => Promise<unknown>)[] = [];
  const undoAll = async () => {
    for (const step of undo.splice(0).reverse()) await step().catch(() => undefined);
  };
  try {
    const staged = await stageBundles(options.functionsDir ?? path.join(ROOT, 'dist/functions'), Object.keys(list));
    undo.push(() => staged.remove());
    const functionsDir = staged.dir;
    const firestore = await startFirestore(options.firestoreHost ?? process.env.PHYSLITE_REHEARSAL_FIRESTORE);
    undo.push(() => firestore.close());
    const pubsub = await startPubSubStandIn({ projectId: PROJECT });
    undo.push(() => pubsub.close());
    const gcs = await startFakeGcs({});
    undo.push(() => gcs.close());
    gcs.addBucket(BUCKET);
    const statusPort = await freePort();
    const statusUrl = `http://127.0.0.1:${statusPort}`;
    const env: Record<string, string> = {
      GCLOUD_PROJECT: PROJECT,
      GOOGLE_CLOUD_PROJECT: PROJECT,
      FIRESTORE_EMULATOR_HOST: firestore.host,
      PUBSUB_EMULATOR_HOST: pubsub.host,
      STORAGE_EMULATOR_HOST: gcs.endpoint,
      // not on Google Cloud: the auth library must not probe the metadata server
      METADATA_SERVER_DETECTION: 'none',
      // as on Cloud Run (the Terraform module sets it too): error pages without stack traces
      NODE_ENV: 'production',
      PHYSLITE_STATUS_URL: statusUrl,
      PHYSLITE_READ_TIMEOUT_S: '2',
      PHYSLITE_PUBLISH_TIMEOUT_S: '2',
      ...options.env,
    };
    // the topics the functions will use: read from the same environment by the same code
    const topics = configFromEnv(env).topics;
    for (const t of Object.values(topics)) await pubsub.createTopic(t);

    const functions: Record<string, FunctionProcess[]> = {};
    undo.push(() => Promise.allSettled(started.map((p) => p.stop())));
    await Promise.all(
      Object.entries(list).map(async ([name, fn]) => {
        const n = options.instances?.[name] ?? 1;
        const dir = path.join(functionsDir, name);
        functions[name] = [];
        for (let i = 0; i < n; i++) {
          const proc = await startFunction({
            name,
            dir,
            entryPoint: fn.entryPoint,
            signatureType: fn.trigger === 'http' ? 'http' : 'cloudevent',
            env,
            port: name === 'status' && i === 0 ? statusPort : undefined,
            nodeArgs: options.nodeArgs?.[name],
            onLine: options.onLine ? (line) => options.onLine!(name, line) : undefined,
          });
          started.push(proc);
          functions[name].push(proc);
        }
      }),
    );

    const subscriptionOf = (name: string) => `eventarc-local-${name}-sub`;
    const format = options.format ?? 'push';
    // a plain push goes to …/projects/P/topics/T, as terraform/ sets it: the Functions Framework takes
    // the CloudEvent's source from that path (and logs a complaint per message without it)
    const endpointOf = (name: string, url: string) => (format === 'push' ? `${url}/projects/${PROJECT}/topics/${topics[list[name]!.trigger as keyof typeof topics]}` : url);
    const routeToLive = (name: string) => {
      if (list[name]!.trigger === 'http') return;
      const live = functions[name]!.filter((p) => p.running && !restarting.has(p)).map((p) => endpointOf(name, p.url));
      // with none alive, pushes are refused (nacked) as Cloud Run answers when it has no instance
      pubsub.setEndpoints(subscriptionOf(name), live.length ? live : functions[name]!.map((p) => endpointOf(name, p.url)));
    };
    const restarting = new Set<FunctionProcess>();
    for (const [name, fn] of Object.entries(list)) {
      if (fn.trigger === 'http') continue;
      const topic = topics[fn.trigger];
      const deadLettered = topic !== topics.deadLetters;
      pubsub.subscribe(topic, subscriptionOf(name), {
        endpoints: functions[name]!.map((p) => endpointOf(name, p.url)),
        format,
        ackDeadlineSeconds: options.ackDeadlineSeconds ?? 60,
        minBackoffMs: options.minBackoffMs ?? 100,
        maxBackoffMs: options.maxBackoffMs ?? 2000,
        // one request at a time per instance, the functions' default (max_instance_request_concurrency 1)
        concurrency: functions[name]!.length,
        ...(deadLettered ? { deadLetterTopic: topics.deadLetters, maxDeliveryAttempts: options.maxDeliveryAttempts ?? 10 } : {}),
      });
    }

    const storage = new Storage({ apiEndpoint: gcs.endpoint, projectId: PROJECT });
    const publisherClient = new PubSub(pubsub.clientConfig());
    undo.push(() => publisherClient.close());
    const orchestratorUrl = functions.orchestrator![0]!.url;

    const rehearsal: Rehearsal = {
      firestore,
      pubsub,
      gcs,
      storage,
      topics,
      env,
      bundlesDir: functionsDir,
      functions,
      orchestratorUrl,
      statusUrl,
      gs: (name) => `gs://${BUCKET}/${name}`,
      async upload(name, data) {
        // resumable uploads, the client's default (as an upload script would use it)
        if (typeof data === 'string') await storage.bucket(BUCKET).upload(data, { destination: name });
        else await storage.bucket(BUCKET).file(name).save(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
      },
      async submit(body, init = {}) {
        const res = await fetch(`${init.url ?? orchestratorUrl}/jobs`, {
          method: 'POST',
          headers: { 'content-type': init.contentType ?? 'application/json' },
          body: init.raw ?? JSON.stringify(body),
          signal: AbortSignal.timeout(init.timeoutMs ?? 60_000),
        });
        const text = await res.text();
        let parsed: Record<string, unknown> = {};
        try {
          parsed = JSON.parse(text) as Record<string, unknown>;
        } catch {
          // not JSON: the caller has `text`
        }
        return { status: res.status, body: parsed, text, headers: res.headers };
      },
      async publishJob(message, opts = {}) {
        const data = Buffer.from(opts.raw ?? JSON.stringify(message), 'utf8');
        return publisherClient.topic(topics.jobs).publishMessage({ data });
      },
      async status(jobId) {
        const r = await fetch(`${statusUrl}/jobs/${encodeURIComponent(jobId)}`, { headers: { accept: 'application/json' } });
        return { status: r.status, body: (await r.json()) as JobStatus };
      },
      async waitForJob(jobId, timeoutMs = 60_000) {
        const deadline = Date.now() + timeoutMs;
        let last: unknown;
        for (;;) {
          const r = await rehearsal.status(jobId);
          last = r.body;
          if (r.status === 200 && (r.body.state === 'finished' || r.body.state === 'rejected')) return r.body;
          if (Date.now() > deadline) {
            throw new Error(`job ${jobId} not finished after ${timeoutMs} ms; last status ${JSON.stringify(last)}\n--- functions' output ---\n${rehearsal.output()}`);
          }
          await new Promise((res) => setTimeout(res, 100));
        }
      },
      crash(instance) {
        const name = Object.keys(functions).find((n) => functions[n]!.includes(instance));
        if (!name) throw new Error(`crash(): ${instance.url} is not an instance of this rehearsal`);
        if (instance.running) process.kill(instance.pid, 'SIGKILL');
        restarting.add(instance);
        routeToLive(name);
        return instance.restart().finally(() => {
          restarting.delete(instance);
          routeToLive(name);
        });
      },
      output: () => started.map((p) => p.output).join(''),
      close: undoAll,
    };
    return rehearsal;
  } catch (e) {
    await undoAll();
    throw e;
  }
}
