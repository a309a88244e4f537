// An ObjectStore factory for the worker-pool tests: every URL opens an
// in-memory file of the bytes 0..size-1, so a thread can read without disk.
import { BufferSource } from '../../shared/root/source/buffer';
import { RootError } from '../../shared/root/errors';
import type { ObjectInfo, ObjectStore } from '../../shared/pipeline/ports';

export function createPoolTestObjects(options: { size?: number } = {}): ObjectStore {
  const size = options.size ?? 16;
  const bytes = Uint8Array.from({ length: size }, (_, i) => i & 0xff);
  const notHere = (url: string) => Promise.reject(new RootError('SOURCE_NOT_FOUND', 'test store has no listing', { file: url }));
  return {
    list: (prefix: string) => notHere(prefix),
    stat: async (url: string): Promise<ObjectInfo> => ({ url, size }),
    readText: (url: string) => notHere(url),
    open: async (url: string) => new BufferSource(bytes, url),
  };
}
