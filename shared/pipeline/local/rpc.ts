// The main thread's DocumentStore and Publisher, callable from a worker thread
// over a MessagePort. Arguments and results are plain JSON-like values (the
// increment() sentinel is a plain object), so structured clone carries them;
// errors cross as SerializedError and come back as Error with their name and
// message (and a RootError as a RootError).

import type { MessagePort } from 'node:worker_threads';
import type { Aggregate, Doc, DocumentStore, Filter, Publisher, QueryOptions, StoredDoc } from '../ports';
import { RootError, type ErrorContext, type RootErrorCode } from '../../root/errors';

export interface RpcServices {
  store: DocumentStore;
  publisher: Publisher;
}

/** What the thread side gets: proxies that forward every call to the services behind the port. */
export interface RpcClient extends RpcServices {
  /** Stops listening; calls still waiting reject. */
  close(): void;
}

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  transient?: boolean;
  /** RootError only: its context and message without the context prefix, to rebuild it. */
  context?: ErrorContext;
  detail?: string;
}

type StoreMethod = 'create' | 'get' | 'merge' | 'query' | 'aggregate';
type Target = 'store' | 'publisher';

const METHODS: Record<Target, ReadonlySet<string>> = {
  store: new Set<StoreMethod>(['create', 'get', 'merge', 'query', 'aggregate']),
  publisher: new Set(['publish']),
};

interface CallMessage {
  id: number;
  target: Target;
  method: string;
  args: unknown[];
}

type ReplyMessage = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: SerializedError };

/** Main side: answers the calls arriving on `port` with `services`. The port is unref'd: it never keeps the process alive by itself. */
export function serveRpc(port: MessagePort, services: RpcServices): void {
  port.on('message', (call: CallMessage) => {
    const reply = (message: ReplyMessage) => {
      try {
        port.postMessage(message);
      } catch (e) {
        // A value structured clone cannot carry (a class instance with methods, a function): report it instead.
        if (message.ok) port.postMessage({ id: message.id, ok: false, error: serializeError(e) } satisfies ReplyMessage);
      }
    };
    Promise.resolve()
      .then(() => {
        if (!METHODS[call.target]?.has(call.method)) throw new Error(`RPC: no method ${call.target}.${call.method}`);
        const service = services[call.target] as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
        return service[call.method](...call.args);
      })
      .then(
        (value) => reply({ id: call.id, ok: true, value }),
        (e) => reply({ id: call.id, ok: false, error: serializeError(e) }),
      );
  });
  port.unref();
}

/** Thread side: proxies of the services served at the other end of `port`. */
export function connectRpc(port: MessagePort): RpcClient {
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let closed = false;

  port.on('message', (reply: ReplyMessage) => {
    const call = waiting.get(reply.id);
    if (!call) return;
    waiting.delete(reply.id);
    if (reply.ok) call.resolve(reply.value);
    else call.reject(deserializeError(reply.error));
  });

  const call = <T>(target: Target, method: string, args: unknown[]): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (closed) throw new Error(`RPC closed: cannot call ${target}.${method}`);
      const id = nextId++;
      waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      try {
        port.postMessage({ id, target, method, args } satisfies CallMessage);
      } catch (e) {
        waiting.delete(id);
        throw e;
      }
    });

  const store: DocumentStore = {
    create: (path: string, data: Doc) => call<boolean>('store', 'create', [path, data]),
    get: (path: string) => call<Doc | undefined>('store', 'get', [path]),
    merge: (path: string, data: Doc) => call<void>('store', 'merge', [path, data]),
    query: (collection: string, options?: QueryOptions) => call<StoredDoc[]>('store', 'query', [collection, options]),
    aggregate: (collection: string, where?: Filter[], sumFields?: string[]) => call<Aggregate>('store', 'aggregate', [collection, where, sumFields]),
  };
  const publisher: Publisher = {
    publish: (topic: string, data: Doc, attributes?: Record<string, string>) => call<string>('publisher', 'publish', [topic, data, attributes]),
  };

  return {
    store,
    publisher,
    close() {
      if (closed) return;
      closed = true;
      port.close();
      for (const w of waiting.values()) w.reject(new Error('RPC closed while a call was waiting'));
      waiting.clear();
    },
  };
}

export function serializeError(e: unknown): SerializedError {
  if (!(e instanceof Error)) return { name: 'Error', message: typeof e === 'string' ? e : String(e) };
  const out: SerializedError = { name: e.name, message: e.message, stack: e.stack };
  const extra = e as Error & { code?: unknown; transient?: unknown };
  if (typeof extra.code === 'string') out.code = extra.code;
  if (typeof extra.transient === 'boolean') out.transient = extra.transient;
  if (e instanceof RootError) {
    out.context = { ...e.context };
    out.detail = e.detail;
  }
  return out;
}

export function deserializeError(s: SerializedError): Error {
  let e: Error;
  if (s.name === 'RootError' && s.code !== undefined && s.detail !== undefined) {
    e = new RootError(s.code as RootErrorCode, s.detail, s.context, { transient: s.transient });
  } else {
    e = new Error(s.message);
    if (s.name !== 'Error') e.name = s.name;
    if (s.code !== undefined) (e as Error & { code?: string }).code = s.code;
    if (s.transient !== undefined) (e as Error & { transient?: boolean }).transient = s.transient;
  }
  if (s.stack !== undefined) e.stack = s.stack;
  return e;
}
