// The Cloud Run functions' configuration and service clients, from their
// environment. Every variable the functions read is listed in ENV_VARS (the
// Terraform module sets each of them; a test checks the two agree).

import { checkUrl, CLOUD_URL_POLICY, UrlRefusedError, type UrlPolicy } from '../../root/source/url-policy';
import { DEFAULT_CONFIG, resolveConfig, type PipelineConfig } from '../config';
import { parseCostModel } from '../cost';
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
  PHYSLITE_PUBLISH_TIMEOUT_S: 'how long the orchestrator waits for Pub/Sub to accept a message before answering 503, seconds (default 30)',
  PHYSLITE_COST_MODEL: 'unit prices and instance shapes for the cost estimate, JSON (see shared/pipeline/cost.ts)',
} as const;

type Env = Record<string, string | undefined>;

interface Range {
  min: number;
  max: number;
  /** Whole numbers only (counts). */
  integer?: boolean;
  /** min itself is not allowed (a duration must be above 0). */
  aboveMin?: boolean;
}

/** A numeric variable within its range, or an error naming it: a typo must not become 0 or NaN. */
function numberVar(env: Env, name: keyof typeof ENV_VARS, range: Range): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  const ok = Number.isFinite(n) && (range.aboveMin ? n > range.min : n >= range.min) && n <= range.max && (!range.integer || Number.isInteger(n));
  if (!ok) {
    const kind = range.integer ? 'a whole number' : 'a number';
    throw new Error(`environment variable ${name} must be ${kind} ${range.aboveMin ? 'above' : 'from'} ${range.min} ${range.aboveMin ? 'and at most' : 'to'} ${range.max}, got "${v}"`);
  }
  return n;
}

/** The largest request timeout of any Cloud Run function (HTTP functions; event-driven ones stop at 540 s). */
const MAX_FUNCTION_SECONDS = 3600;

/** Deadline and retries of the storage readers (gs:// and https://). */
export function readOptionsFromEnv(env: Env = process.env): NetworkOptions {
  const o: NetworkOptions = {};
  const timeout = numberVar(env, 'PHYSLITE_READ_TIMEOUT_S', { min: 0, max: 600, aboveMin: true });
  if (timeout !== undefined) o.timeoutMs = Math.round(timeout * 1000);
  const retries = numberVar(env, 'PHYSLITE_READ_RETRIES', { min: 0, max: 20, integer: true });
  if (retries !== undefined) o.retries = retries;
  return o;
}

/** How long the orchestrator waits for Pub/Sub to confirm a message, ms (default 30 s). */
export function publishTimeoutFromEnv(env: Env = process.env): number | undefined {
  const s = numberVar(env, 'PHYSLITE_PUBLISH_TIMEOUT_S', { min: 0, max: 600, aboveMin: true });
  return s === undefined ? undefined : Math.round(s * 1000);
}

export function configFromEnv(env: Env = process.env): PipelineConfig {
  const o: Partial<PipelineConfig> = {};
  if (env.PHYSLITE_JOBS_COLLECTION) o.jobsCollection = env.PHYSLITE_JOBS_COLLECTION;
  if (env.PHYSLITE_STATUS_URL) o.statusBaseUrl = env.PHYSLITE_STATUS_URL;
  const shardMB = numberVar(env, 'PHYSLITE_SHARD_MB', { min: DEFAULT_CONFIG.minShardBytes / 1024 ** 2, max: DEFAULT_CONFIG.maxShardBytes / 1024 ** 2 });
  if (shardMB !== undefined) o.defaultShardBytes = Math.round(shardMB * 1024 * 1024);
  const maxShards = numberVar(env, 'PHYSLITE_MAX_SHARDS', { min: 1, max: 1_000_000, integer: true });
  if (maxShards !== undefined) o.maxShards = maxShards;
  const deadline = numberVar(env, 'PHYSLITE_SHARD_DEADLINE_S', { min: 0, max: MAX_FUNCTION_SECONDS, aboveMin: true });
  if (deadline !== undefined) o.shardDeadlineMs = deadline * 1000;
  // Pub/Sub's dead-letter policy allows 5 to 100 deliveries; ours must stay below it
  const attempts = numberVar(env, 'PHYSLITE_MAX_SHARD_ATTEMPTS', { min: 1, max: 99, integer: true });
  if (attempts !== undefined) o.maxShardAttempts = attempts;
  // a bad model is an error naming the variable (and the key): a typo must not price the jobs at a default
  if (env.PHYSLITE_COST_MODEL) o.costModel = parseCostModel(env.PHYSLITE_COST_MODEL, 'PHYSLITE_COST_MODEL');
  const topics: Partial<PipelineConfig['topics']> = {};
  if (env.PHYSLITE_TOPIC_JOBS) topics.jobs = env.PHYSLITE_TOPIC_JOBS;
  if (env.PHYSLITE_TOPIC_SHARDS) topics.shards = env.PHYSLITE_TOPIC_SHARDS;
  if (env.PHYSLITE_TOPIC_SHARD_DONE) topics.shardDone = env.PHYSLITE_TOPIC_SHARD_DONE;
  if (env.PHYSLITE_TOPIC_DEAD_LETTERS) topics.deadLetters = env.PHYSLITE_TOPIC_DEAD_LETTERS;
  return resolveConfig({ ...o, topics: topics as PipelineConfig['topics'] });
}

/**
 * The functions read gs:// and https:// objects only: no local paths (no useful
 * filesystem, and none of the caller's business), no plain http (a request the
 * orchestrator or a worker makes for anyone who submits a job must not reach
 * internal addresses: see CLOUD_URL_POLICY). An https URL is checked here,
 * before any request; the store's guarded fetch checks redirects.
 */
export function cloudObjectStore(inner: ObjectStore = createLocalObjectStore({ urlPolicy: CLOUD_URL_POLICY }), policy: UrlPolicy = CLOUD_URL_POLICY): ObjectStore {
  const check = async (url: string) => {
    if (/^gs:\/\//i.test(url)) return;
    if (!/^https:\/\//i.test(url)) {
      const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1];
      throw new UrlRefusedError(`the cloud pipeline reads gs:// and https:// objects only, not ${scheme && scheme.length > 1 ? `${scheme.toLowerCase()}:// URLs` : 'local paths'}`, url);
    }
    await checkUrl(url, policy);
  };
  return {
    list: async (prefix: string, limit: number) => (await check(prefix), inner.list(prefix, limit)),
    stat: async (url: string) => (await check(url), inner.stat(url)),
    readText: async (url: string, maxBytes: number) => (await check(url), inner.readText(url, maxBytes)),
    open: async (url: string, info?: ObjectInfo) => (await check(url), inner.open(url, info)),
  };
}

export interface GoogleDeps {
  config: PipelineConfig;
  store: DocumentStore;
  publisher: Publisher;
  objects: ObjectStore;
}

let deps: GoogleDeps | undefined;

/**
 * One set of clients per instance (clients are reused across invocations). The functions call
 * it when their module loads, so a bad setting stops the instance from starting, with the
 * variable named in the log, instead of failing every request.
 */
export function googleDeps(env: Env = process.env): GoogleDeps {
  if (!deps) {
    const reads = readOptionsFromEnv(env);
    deps = {
      config: configFromEnv(env),
      store: new FirestoreDocumentStore(env.FIRESTORE_DATABASE ? { databaseId: env.FIRESTORE_DATABASE } : {}),
      publisher: new PubSubPublisher({ publishTimeoutMs: publishTimeoutFromEnv(env) }),
      objects: cloudObjectStore(createLocalObjectStore({ gcs: { source: reads }, http: reads, urlPolicy: CLOUD_URL_POLICY })),
    };
  }
  return deps;
}
