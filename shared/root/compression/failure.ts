// Failures inside one block's codec. The dispatcher (index.ts) turns them into
// RootErrors carrying the block's context and file offset.

import type { RootErrorCode } from '../errors';

/** A failure inside one block's codec; turned into a RootError with the block's context by the caller. */
export class BlockFailure extends Error {
  readonly code: RootErrorCode;
  constructor(code: RootErrorCode, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
  }
}

export function fail(code: RootErrorCode, message: string, cause?: unknown): never {
  throw new BlockFailure(code, message, cause);
}


export function hex32(v: number): string {
  return '0x' + (v >>> 0).toString(16).padStart(8, '0');
}

export function hex64(hi: number, lo: number): string {
  return '0x' + hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}
