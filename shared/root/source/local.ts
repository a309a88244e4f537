// A local file read with positional reads on one fs.promises FileHandle.
// The handle is opened on first use; coalesced requests run in parallel
// (libuv's thread pool does the I/O) under the concurrency limit. `stats`
// counts positional reads as requests (not the open or the stat).

import { constants as fsConstants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { RootError } from '../errors';
import { DEFAULT_LOCAL_CONCURRENCY, PlannedSource } from './planner';
import type { PlannerOptions } from './types';
import { closedError, codeForFsError, describeError } from './util';

export type LocalSourceOptions = PlannerOptions;

export class LocalFileSource extends PlannedSource {
  readonly path: string;
  private handle: Promise<FileHandle> | undefined;

  /** `path` is a file-system path or a file:// URL. */
  constructor(path: string | URL, options: LocalSourceOptions = {}) {
    const p = typeof path === 'string' && !path.startsWith('file:') ? path : toPath(path);
    super(p, options, { concurrency: DEFAULT_LOCAL_CONCURRENCY });
    this.path = p;
  }

  private fileHandle(): Promise<FileHandle> {
    if (this.closed) return Promise.reject(closedError(this.name));
    if (!this.handle) {
      this.handle = openRegularFile(this.path, this.name).catch((e: unknown) => {
        this.handle = undefined;
        throw this.fsError(e, 'cannot open file');
      });
    }
    return this.handle;
  }

  protected async fetchSize(): Promise<number> {
    const fh = await this.fileHandle();
    try {
      return (await fh.stat()).size;
    } catch (e) {
      throw e instanceof RootError ? e : this.fsError(e, 'cannot stat file');
    }
  }

  protected async fetchInto(offset: number, dest: Uint8Array, signal: AbortSignal): Promise<void> {
    const fh = await this.fileHandle();
    await this.withSlot(signal, async () => {
      let done = 0;
      while (done < dest.length) {
        this.stats.requests++;
        let n: number;
        try {
          ({ bytesRead: n } = await fh.read(dest, done, dest.length - done, offset + done));
        } catch (e) {
          throw this.fsError(e, `read of ${dest.length} bytes failed`, offset);
        }
        if (n === 0) {
          throw new RootError('TRUNCATED', `file ended at byte ${offset + done} while reading ${dest.length} bytes (did it shrink?)`, { file: this.name, offset });
        }
        this.stats.bytes += n;
        done += n;
      }
    });
  }

  protected override async release(): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    if (h) await h.then((fh) => fh.close()).catch(() => undefined);
  }

  private fsError(e: unknown, what: string, offset?: number): RootError {
    if (e instanceof RootError) return e;
    const sys = (e as { code?: unknown })?.code;
    const mapped = codeForFsError(typeof sys === 'string' ? sys : undefined);
    return new RootError(mapped.code, `${what}: ${describeError(e)}`, offset === undefined ? { file: this.name } : { file: this.name, offset }, { cause: e, transient: mapped.transient });
  }
}

/**
 * Opens a file for reading only if it is a regular file. The open is
 * non-blocking (a FIFO opened for reading would otherwise wait for a writer
 * for ever), and the check is on the opened handle, so the path cannot be
 * swapped for a FIFO between a check and the open.
 */
async function openRegularFile(path: string, name: string): Promise<FileHandle> {
  const fh = await open(path, fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0));
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new RootError('BAD_ARGUMENT', `${describeFileKind(st)}, not a regular file`, { file: name });
    return fh;
  } catch (e) {
    await fh.close().catch(() => undefined);
    throw e;
  }
}

/** What a non-regular file is, for messages: "a FIFO", "a socket", … */
export function describeFileKind(st: { isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isDirectory(): boolean }): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isDirectory()) return 'a directory';
  return 'not a regular file';
}

function toPath(p: string | URL): string {
  try {
    return fileURLToPath(p);
  } catch (e) {
    throw new RootError('BAD_ARGUMENT', `not a usable file URL: ${describeError(e)}`, { file: String(p).replace(/[?#].*$/s, '') });
  }
}
