// A pool of worker threads that run shard deliveries, so a local run decodes
// on every core: `pool.handler` is a DeliveryHandler for LocalQueue.subscribe
// that runs each delivery on a free thread (queueing while all are busy) and
// settles with the thread's outcome. Each thread reaches the main thread's
// DocumentStore and Publisher over RPC and opens objects itself.
//
// A thread that dies (process.exit, an uncaught exception, running out of
// memory) rejects its delivery — a nack, so the queue retries it — and is
// replaced by a fresh thread.
//
// Which file a thread runs: under tsx (this module's URL ends in .ts) the
// bootstrap ./ts-thread.mjs, which registers tsx and runs ./worker-thread.ts;
// from the esbuild bundle, the bundle file itself, with workerData.physliteRole
// = 'shard-worker' so its entry (shared/cli/main.ts) runs the thread body.

import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { MessageChannel, Worker, type MessagePort, type ResourceLimits } from 'node:worker_threads';
import { DEFAULT_CONFIG, type PipelineConfig } from '../config';
import type { Delivery, DeliveryHandler, DocumentStore, Publisher } from '../ports';
import type { ChaosOptions } from './chaos';
import { deserializeError, serveRpc } from './rpc';
import type { ExportRef, ObjectStoreFactoryRef, RunMessage, ShardThreadData, ThreadMessage } from './worker-thread';

export type { ExportRef, ObjectStoreFactoryRef } from './worker-thread';

export interface WorkerPoolOptions {
  /** Served to the threads over RPC. */
  store: DocumentStore;
  publisher: Publisher;
  /** Default DEFAULT_CONFIG. */
  config?: PipelineConfig;
  /** Threads. Default os.availableParallelism(). */
  size?: number;
  /** The factory each thread calls for its ObjectStore. Default createLocalObjectStore() of ./object-store. */
  objectStore?: ObjectStoreFactoryRef;
  /** A `(delivery, deps) => Promise<void>` run instead of handleShardDelivery (tests). */
  threadHandler?: ExportRef;
  chaos?: ChaosOptions;
  /** Per thread, e.g. { maxOldGenerationSizeMb } to make a runaway shard fail alone. */
  resourceLimits?: ResourceLimits;
  /** Print the workers' log lines (duplicates dropped, malformed messages). Default false: the job's status says what matters. */
  verbose?: boolean;
}

export interface WorkerPoolStats {
  /** Threads alive (starting or started). */
  threads: number;
  busy: number;
  /** Deliveries waiting for a free thread. */
  waiting: number;
  /** Threads ever started (the N of the newest local-thread-N). */
  started: number;
  /** Started threads that died other than by close(). */
  crashed: number;
  completed: number;
  failed: number;
}

interface Job {
  delivery: Delivery;
  resolve: () => void;
  reject: (e: Error) => void;
}

interface Thread {
  workerId: string;
  worker: Worker;
  rpcPort: MessagePort;
  ready: boolean;
  job?: Job;
  /** The uncaught error the thread died of, for the exit message. */
  error?: Error;
}

const SELF = import.meta.url;
const FROM_TYPESCRIPT = /\.[cm]?ts$/.test(new URL(SELF).pathname);
const ROLE: ShardThreadData['physliteRole'] = 'shard-worker';

export class WorkerPool {
  readonly size: number;
  /** Runs one delivery on a thread: resolves when the thread's handler does, rejects with its error or when the thread dies. */
  readonly handler: DeliveryHandler = (delivery) => this.run(delivery);

  private readonly options: WorkerPoolOptions;
  private readonly config: PipelineConfig;
  private readonly objectStore?: ObjectStoreFactoryRef;
  private readonly threadHandler?: ExportRef;
  private readonly threads = new Set<Thread>();
  private idleThreads: Thread[] = [];
  private waiting: Job[] = [];
  private readyWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  /** Set when a thread dies before it is ready; no more threads start while others live, cleared once one is ready. */
  private startupError?: Error;
  private counts = { started: 0, crashed: 0, completed: 0, failed: 0 };
  private closed = false;

  constructor(options: WorkerPoolOptions) {
    this.options = options;
    this.size = options.size ?? os.availableParallelism();
    if (!Number.isInteger(this.size) || this.size < 1) throw new RangeError(`pool size must be a positive integer, got ${this.size}`);
    this.config = options.config ?? DEFAULT_CONFIG;
    if (options.objectStore) {
      this.objectStore = { ...options.objectStore, module: options.objectStore.module === undefined ? undefined : moduleUrl(options.objectStore.module) };
    }
    if (options.threadHandler) this.threadHandler = { ...options.threadHandler, module: moduleUrl(options.threadHandler.module) };
  }

  /** Starts every thread now (rather than on the first deliveries); resolves once all have loaded, rejects with the first startup failure. */
  ready(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('WorkerPool is closed'));
    while (this.threads.size < this.size) this.spawn();
    return new Promise((resolve, reject) => {
      this.readyWaiters.push({ resolve, reject });
      this.checkReady();
    });
  }

  stats(): WorkerPoolStats {
    let busy = 0;
    for (const t of this.threads) if (t.job) busy++;
    return { threads: this.threads.size, busy, waiting: this.waiting.length, ...this.counts };
  }

  /** Terminates every thread: deliveries running or waiting reject, later ones too. Resolves once all threads have exited. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      const error = new Error('WorkerPool closed');
      for (const job of this.waiting) job.reject(error);
      this.waiting = [];
      this.idleThreads = [];
      this.rejectReadyWaiters(error);
    }
    await Promise.all([...this.threads].map((t) => t.worker.terminate()));
  }

  // -------------------------------------------------------------------------

  private run(delivery: Delivery): Promise<void> {
    if (this.closed) return Promise.reject(new Error('WorkerPool is closed'));
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ delivery, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.waiting.length > 0 && this.idleThreads.length > 0) this.assign(this.idleThreads.pop()!, this.waiting.shift()!);
    if (this.closed || this.waiting.length === 0) return;
    let starting = 0;
    for (const t of this.threads) if (!t.ready) starting++;
    // After a failed start, wait for the live threads rather than spawn-and-fail in a loop; with none left, try again on demand.
    if (this.startupError && this.threads.size > 0) return;
    while (this.threads.size < this.size && this.waiting.length > starting) {
      this.spawn();
      starting++;
    }
  }

  private assign(thread: Thread, job: Job): void {
    thread.job = job;
    thread.worker.ref();
    try {
      thread.worker.postMessage({ type: 'run', delivery: job.delivery } satisfies RunMessage);
    } catch (e) {
      // The delivery could not be cloned: its fault, not the thread's.
      thread.job = undefined;
      this.counts.failed++;
      job.reject(e instanceof Error ? e : new Error(String(e)));
      this.makeIdle(thread);
    }
  }

  private makeIdle(thread: Thread): void {
    thread.worker.unref(); // an idle pool does not keep the process alive
    this.idleThreads.push(thread);
  }

  private spawn(): void {
    const threadNumber = ++this.counts.started;
    const workerId = `local-thread-${threadNumber}`;
    const { port1, port2 } = new MessageChannel();
    serveRpc(port1, { store: this.options.store, publisher: this.options.publisher });
    const data: ShardThreadData = {
      physliteRole: ROLE,
      threadModule: FROM_TYPESCRIPT ? new URL('./worker-thread.ts', SELF).href : undefined,
      threadNumber,
      workerId,
      config: this.config,
      objectStore: this.objectStore,
      handler: this.threadHandler,
      chaos: this.options.chaos,
      verbose: this.options.verbose === true,
      rpcPort: port2,
    };
    const entry = FROM_TYPESCRIPT ? new URL('./ts-thread.mjs', SELF) : new URL(SELF);
    const worker = new Worker(entry, { workerData: data, transferList: [port2], resourceLimits: this.options.resourceLimits });
    const thread: Thread = { workerId, worker, rpcPort: port1, ready: false };
    this.threads.add(thread);
    worker.on('message', (message: ThreadMessage) => this.onMessage(thread, message));
    worker.on('error', (error) => {
      thread.error = error;
    });
    worker.on('exit', (code) => this.onExit(thread, code));
  }

  private onMessage(thread: Thread, message: ThreadMessage): void {
    if (message.type === 'ready') {
      thread.ready = true;
      this.startupError = undefined;
      if (this.closed) return;
      this.makeIdle(thread);
      this.checkReady();
      this.dispatch();
      return;
    }
    const job = thread.job;
    thread.job = undefined;
    if (job) {
      if (message.type === 'done') {
        this.counts.completed++;
        job.resolve();
      } else {
        this.counts.failed++;
        job.reject(deserializeError(message.error));
      }
    }
    if (this.closed) return;
    this.makeIdle(thread);
    this.dispatch();
  }

  private onExit(thread: Thread, code: number): void {
    this.threads.delete(thread);
    thread.rpcPort.close();
    const i = this.idleThreads.indexOf(thread);
    if (i >= 0) this.idleThreads.splice(i, 1);
    const cause = thread.error ? `: ${thread.error.message}` : '';
    if (thread.job) {
      const job = thread.job;
      thread.job = undefined;
      this.counts.failed++;
      const why = this.closed ? 'was terminated by WorkerPool.close()' : `exited with code ${code}${cause}`;
      job.reject(new Error(`worker thread ${thread.workerId} ${why} while handling message ${job.delivery.messageId}`, { cause: thread.error }));
    }
    if (this.closed) return;
    if (!thread.ready) {
      const error = new Error(`worker thread ${thread.workerId} failed to start (exit code ${code})${cause}`, { cause: thread.error });
      this.startupError = error;
      this.rejectReadyWaiters(error);
      let anyReady = false;
      for (const t of this.threads) anyReady ||= t.ready;
      if (!anyReady) {
        for (const job of this.waiting) job.reject(error);
        this.waiting = [];
      }
    } else {
      this.counts.crashed++;
      this.spawn(); // keep the pool at its size
    }
    this.dispatch();
  }

  private checkReady(): void {
    if (this.readyWaiters.length === 0 || this.threads.size < this.size) return;
    for (const t of this.threads) if (!t.ready) return;
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const w of waiters) w.resolve();
  }

  private rejectReadyWaiters(error: Error): void {
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const w of waiters) w.reject(error);
  }
}

/** Modules are named by absolute file: URL; an absolute path is accepted too. */
function moduleUrl(module: string): string {
  if (module.startsWith('file:')) return module;
  if (path.isAbsolute(module)) return pathToFileURL(module).href;
  throw new Error(`module must be an absolute file: URL or path, got ${module}`);
}
