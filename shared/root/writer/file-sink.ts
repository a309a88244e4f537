// Where a written file's bytes go: appended through a fixed buffer to a file
// descriptor, with positional writes for the few records that are patched at
// the end (file header, root directory). Memory stays at the buffer size
// whatever the file size.

import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { RootError } from '../errors';

const BUFFER_BYTES = 8 << 20;

export class FileSink {
  private readonly fd: number;
  private readonly buf = new Uint8Array(BUFFER_BYTES);
  private used = 0;
  /** File offset of buf[0]. */
  private flushedTo = 0;
  private closed = false;

  constructor(readonly path: string) {
    try {
      this.fd = openSync(path, 'w');
    } catch (e) {
      throw new RootError('BAD_ARGUMENT', `cannot write ${path}: ${(e as Error).message}`, { file: path });
    }
  }

  /** Offset at which the next appended byte lands. */
  get position(): number {
    return this.flushedTo + this.used;
  }

  append(bytes: Uint8Array): number {
    const at = this.position;
    if (bytes.length >= BUFFER_BYTES) {
      this.flush();
      this.writeAt(bytes, at);
      this.flushedTo += bytes.length;
      return at;
    }
    if (this.used + bytes.length > BUFFER_BYTES) this.flush();
    this.buf.set(bytes, this.used);
    this.used += bytes.length;
    return at;
  }

  /**
   * Moves the append position forward by n bytes without writing them: the
   * file system leaves a hole (sparse file), read back as zeros.
   */
  skip(n: number): void {
    this.flush();
    this.flushedTo += n;
  }

  /** Overwrites bytes already appended (flushed or not). */
  patch(bytes: Uint8Array, at: number): void {
    if (at + bytes.length > this.position) throw new RootError('BAD_ARGUMENT', `patch at ${at} (+${bytes.length}) is past the written end ${this.position}`, { file: this.path });
    if (at >= this.flushedTo) {
      this.buf.set(bytes, at - this.flushedTo);
      return;
    }
    this.flush();
    this.writeAt(bytes, at);
  }

  flush(): void {
    if (this.used > 0) this.writeAt(this.buf.subarray(0, this.used), this.flushedTo);
    this.flushedTo += this.used;
    this.used = 0;
  }

  private writeAt(bytes: Uint8Array, at: number): void {
    let done = 0;
    while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done, at + done);
  }

  /** Flushes, sets the file's length to the append position (a trailing hole included) and closes. */
  close(): void {
    if (this.closed) return;
    this.flush();
    ftruncateSync(this.fd, this.flushedTo);
    closeSync(this.fd);
    this.closed = true;
  }

  /** Closes without flushing (after a failure). */
  abandon(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      closeSync(this.fd);
    } catch {
      // already failing: the first error is the one to report
    }
  }
}
