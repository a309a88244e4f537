// A stand-in for handleShardDelivery in the worker-pool tests: what it does is
// chosen by the message's `action`, and it reports through the RPC proxies.
import type { Delivery } from '../../shared/pipeline/ports';
import type { WorkerDeps } from '../../shared/pipeline/worker';
import { RootError } from '../../shared/root/errors';

export async function poolTestHandler(delivery: Delivery, deps: WorkerDeps): Promise<void> {
  const { action, key } = delivery.data as { action: string; key: string };
  switch (action) {
    case 'record': {
      // The first write creates, the rest merge: the store's answers come back through RPC.
      const created = await deps.store.create(`runs/${key}`, { worker: deps.workerId });
      await deps.store.merge(`runs/${key}`, { attempt: delivery.deliveryAttempt ?? 0, collection: deps.config.jobsCollection, created });
      const doc = await deps.store.get(`runs/${key}`);
      const id = await deps.publisher.publish('out', { key, seen: doc ?? null });
      await deps.store.merge(`runs/${key}`, { publishedId: id });
      return;
    }
    case 'exit':
      process.exit(70);
    // falls through (never reached)
    case 'exit-first-attempt':
      if (delivery.deliveryAttempt === 1) process.exit(70);
      await deps.store.merge(`runs/${key}`, { worker: deps.workerId, attempt: delivery.deliveryAttempt ?? 0 });
      return;
    case 'uncaught':
      setTimeout(() => {
        throw new TypeError('uncaught in thread');
      });
      return new Promise(() => {}); // never settles: the thread dies first
    case 'oom': {
      const hoard: number[][] = [];
      for (;;) hoard.push(new Array(1e5).fill(hoard.length));
    }
    case 'hang':
      return new Promise(() => {});
    case 'fail-root':
      throw new RootError('CORRUPT', 'bad basket', { file: 'f.root', basket: 3 });
    case 'store-error':
      try {
        await deps.store.get('explode/now');
      } catch (e) {
        const err = e as Error & { code?: string };
        await deps.store.merge(`runs/${key}`, { name: err.name, message: err.message, code: err.code ?? null, isError: e instanceof Error });
      }
      return;
    case 'read': {
      const source = await deps.objects.open(`mem://${key}`);
      try {
        const [bytes] = await source.read([{ offset: 2, length: 3 }]);
        await deps.store.merge(`runs/${key}`, { bytes: Array.from(bytes), worker: deps.workerId });
      } finally {
        await source.close();
      }
      return;
    }
    default:
      throw new Error(`unknown action ${action}`);
  }
}
