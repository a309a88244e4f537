// The Cloud Run functions' configuration and service clients, from their
// environment. Every variable the functions read is listed in ENV_VARS (the
// Terraform module sets each of them; a test checks the two agree).

import { RootError } from '../../root/errors';
import { resolveConfig, type PipelineConfig } from '../config';
import { createLocalObjectStore } from '../local/object-store';
import type { NetworkOptions } from '../../root/source/types';
import type { DocumentStore, ObjectInfo, ObjectStore, Publisher } from '../ports';
import { FirestoreDocumentStore } from './firestore-store';
import { PubSubPublisher } from './pubsub-publisher';

/** Environment variables read by the functions, with what they set. */
export const ENV_VARS = {
  PHYSLITE_JOBS_COLLECTION: 'Firestore collection of the job documents',
  FIRESTORE_DATABASE: 'Firestore database id (default "(default)")',
  PHYSLITE_TOPIC_JOBS: 'topic of job requests',
  PHYSLITE_TOPIC_SHARDS: 'topic of shard messages',
  PHYSLITE_TOPIC_SHARD_DONE: 'topic of shard-done messages',
  PHYSLITE_TOPIC_DEAD_LETTERS: 'dead-letter topic',
  PHYSLITE_STATUS_URL: 'base URL of the status function, for links in replies',
  PHYSLITE_SHARD_MB: 'default shard size, MiB of file',
  PHYSLITE_MAX_SHARDS: 'largest number of shards one job may have',
  PHYSLITE_SHARD_DEADLINE_S: 'seconds after which a shard fails with DEADLINE (below the function timeout)',
  PHYSLITE_MAX_SHARD_ATTEMPTS: 'deliveries of a shard before it is recorded as failed',
  PHYSLITE_READ_TIMEOUT_S: 'deadline of one Cloud Storage / HTTP request of the readers, seconds (default 30)',
  PHYSLITE_READ_RETRIES: 'repeats of a storage request after a transient failure, before the delivery fails (default 2)',
} as const;

type Env = Record<string, string | undefined>;

function positive(env: Env, name: keyof typeof ENV_VARS, allowZero = false): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || (n === 0 && !allowZero)) throw new Error(`environment variable ${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got "${v}"`);
  return n;
}

/** Deadline and retries of the storage readers (gs:// and https://). */
export function readOptionsFromEnv(env: Env = process.env): NetworkOptions {
  const o: NetworkOptions = {};
  const timeout = positive(env, 'PHYSLITE_READ_TIMEOUT_S');
  if (timeout !== undefined) o.timeoutMs = Math.round(timeout * 1000);
  const retries = positive(env, 'PHYSLITE_READ_RETRIES', true);
  if (retries !== undefined) o.retries = Math.floor(retries);
  return o;
}

export function configFromEnv(env: Env = process.env): PipelineConfig {
  const o: Partial<PipelineConfig> = {};
  if (env.PHYSLITE_JOBS_COLLECTION) o.jobsCollection = env.PHYSLITE_JOBS_COLLECTION;
  if (env.PHYSLITE_STATUS_URL) o.statusBaseUrl = env.PHYSLITE_STATUS_URL;
  const shardMB = positive(env, 'PHYSLITE_SHARD_MB');
  if (shardMB !== undefined) o.defaultShardBytes = Math.round(shardMB * 1024 * 1024);
  const maxShards = positive(env, 'PHYSLITE_MAX_SHARDS');
  if (maxShards !== undefined) o.maxShards = Math.floor(maxShards);
  const deadline = positive(env, 'PHYSLITE_SHARD_DEADLINE_S');
  if (deadline !== undefined) o.shardDeadlineMs = deadline * 1000;
  const attempts = positive(env, 'PHYSLITE_MAX_SHARD_ATTEMPTS');
  if (attempts !== undefined) o.maxShardAttempts = Math.floor(attempts);
  const topics: Partial<PipelineConfig['topics']> = {};
  if (env.PHYSLITE_TOPIC_JOBS) topics.jobs = env.PHYSLITE_TOPIC_JOBS;
  if (env.PHYSLITE_TOPIC_SHARDS) topics.shards = env.PHYSLITE_TOPIC_SHARDS;
  if (env.PHYSLITE_TOPIC_SHARD_DONE) topics.shardDone = env.PHYSLITE_TOPIC_SHARD_DONE;
  if (env.PHYSLITE_TOPIC_DEAD_LETTERS) topics.deadLetters = env.PHYSLITE_TOPIC_DEAD_LETTERS;
  return resolveConfig({ ...o, topics: topics as PipelineConfig['topics'] });
}

/** Cloud functions have no useful local filesystem: only gs:// and http(s):// entries are read. */
export function cloudObjectStore(inner: ObjectStore = createLocalObjectStore()): ObjectStore {
  const check = (url: string) => {
    if (!/^(gs|https?):\/\//i.test(url)) throw new RootError('BAD_ARGUMENT', 'the cloud pipeline reads gs:// and https:// objects only, not local paths', { file: url });
  };
  return {
    list: async (prefix: string, limit: number) => (check(prefix), inner.list(prefix, limit)),
    stat: async (url: string) => (check(url), inner.stat(url)),
    readText: async (url: string, maxBytes: number) => (check(url), inner.readText(url, maxBytes)),
    open: async (url: string, info?: ObjectInfo) => (check(url), inner.open(url, info)),
  };
}

export interface GoogleDeps {
  config: PipelineConfig;
  store: DocumentStore;
  publisher: Publisher;
  objects: ObjectStore;
}

let deps: GoogleDeps | undefined;

/** One set of clients per instance, made on first use (clients are reused across invocations). */
export function googleDeps(env: Env = process.env): GoogleDeps {
  deps ??= {
    config: configFromEnv(env),
    store: new FirestoreDocumentStore(env.FIRESTORE_DATABASE ? { databaseId: env.FIRESTORE_DATABASE } : {}),
    publisher: new PubSubPublisher(),
    objects: cloudObjectStore(createLocalObjectStore({ gcs: { source: readOptionsFromEnv(env) }, http: readOptionsFromEnv(env) })),
  };
  return deps;
}
