// The body of one worker thread of the local pool (./worker-pool.ts): builds
// the worker's dependencies — the main thread's DocumentStore and Publisher
// over RPC, its own ObjectStore — then runs each delivery the pool sends it
// through handleShardDelivery and reports the outcome.
//
// Started either through ./ts-thread.mjs (running the TypeScript sources under
// tsx) or as the CLI bundle itself with workerData.physliteRole ===
// 'shard-worker' (shared/cli/main.ts then calls runShardWorkerThread()).

import { isMainThread, parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { PipelineConfig } from '../config';
import type { Delivery, ObjectStore } from '../ports';
import { handleShardDelivery, type WorkerDeps } from '../worker';
import { chaosEnabled, chaosObjectStore, seededRandom, type ChaosOptions } from './chaos';
import { connectRpc, serializeError, type SerializedError } from './rpc';

/** Names a function exported by a module: the thread imports the module and looks the export up. */
export interface ExportRef {
  /** Absolute file: URL of the module. */
  module: string;
  export: string;
}

/** A factory `(options) => ObjectStore | Promise<ObjectStore>`; module omitted = createLocalObjectStore of ./object-store. */
export interface ObjectStoreFactoryRef {
  module?: string;
  /** Default 'createLocalObjectStore'. */
  export?: string;
  /** JSON-like, passed to the factory. */
  options?: unknown;
}

export type ThreadHandler = (delivery: Delivery, deps: WorkerDeps) => Promise<void>;

/** Marks a thread started from the bundle (see shared/cli/main.ts). */
export const SHARD_WORKER_ROLE = 'shard-worker';

export interface ShardThreadData {
  physliteRole: typeof SHARD_WORKER_ROLE;
  /** Under tsx: the file: URL of this module, for ./ts-thread.mjs to import. */
  threadModule?: string;
  threadNumber: number;
  workerId: string;
  config: PipelineConfig;
  objectStore?: ObjectStoreFactoryRef;
  /** Replaces handleShardDelivery (tests). */
  handler?: ExportRef;
  chaos?: ChaosOptions;
  verbose?: boolean;
  rpcPort: MessagePort;
}

/** Pool → thread. */
export interface RunMessage {
  type: 'run';
  delivery: Delivery;
}

/** Thread → pool. */
export type ThreadMessage = { type: 'ready' } | { type: 'done' } | { type: 'failed'; error: SerializedError };

export async function runShardWorkerThread(): Promise<void> {
  if (isMainThread || !parentPort) throw new Error('runShardWorkerThread() runs only in a worker thread started by WorkerPool');
  const port = parentPort;
  const data = workerData as ShardThreadData;
  const rpc = connectRpc(data.rpcPort);
  const handler = data.handler ? await importExport<ThreadHandler>(data.handler.module, data.handler.export) : handleShardDelivery;

  let objects = await createObjectStore(data.objectStore);
  if (chaosEnabled(data.chaos)) objects = chaosObjectStore(objects, data.chaos!, seededRandom((data.chaos!.seed ?? 0) + data.threadNumber));

  const deps: WorkerDeps = { store: rpc.store, publisher: rpc.publisher, objects, config: data.config, workerId: data.workerId, log: data.verbose ? (line) => console.log(line) : () => undefined };
  const post = (message: ThreadMessage) => port.postMessage(message);

  port.on('message', (message: RunMessage) => {
    if (message.type !== 'run') return;
    Promise.resolve(message.delivery)
      .then((delivery) => handler(delivery, deps))
      .then(
        () => post({ type: 'done' }),
        (e) => post({ type: 'failed', error: serializeError(e) }),
      );
  });
  post({ type: 'ready' });
}

async function createObjectStore(ref: ObjectStoreFactoryRef | undefined): Promise<ObjectStore> {
  const exportName = ref?.export ?? 'createLocalObjectStore';
  // A literal import of the default, so the bundle contains it; loaded only when used.
  const factory = ref?.module
    ? await importExport<(options: unknown) => ObjectStore | Promise<ObjectStore>>(ref.module, exportName)
    : ((await import('./object-store')) as unknown as Record<string, (options: unknown) => ObjectStore>)[exportName];
  if (typeof factory !== 'function') throw new Error(`object store factory ${exportName} is not a function`);
  return factory(ref?.options);
}

async function importExport<T>(module: string, name: string): Promise<T> {
  const loaded = (await import(module)) as Record<string, unknown>;
  const value = loaded[name];
  if (typeof value !== 'function') throw new Error(`${module} has no exported function ${name}`);
  return value as T;
}
