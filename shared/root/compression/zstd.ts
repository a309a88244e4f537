// zstd: the frame is walked here first (magic, header, content size against
// the block header, block structure, exact length) before any decoder runs or
// anything is allocated; then one of three decoders produces the bytes:
//
//   'wasm'   libzstd compiled to WebAssembly (the zstddec package, no install
//            script). Needs one asynchronous start: zstdReady(), which
//            RootFile.open awaits, so every file read has it.
//   'node'   Node's built-in zlib.zstdDecompressSync (Node >= 22.15 / 23.8).
//            Synchronous, always ready, but each call sets up a decoder
//            context: measured on PHYSLITE content (bench:inflate), it is about
//            half as fast as the WASM decoder on frames of a few kB, as fast
//            at ~128 kB and faster beyond. So with both present, frames from
//            ZSTD_NODE_MIN_BYTES up go to Node, smaller ones to WASM.
//   'fzstd'  pure JavaScript, ~20x slower: the fallback when neither is
//            available (zstdReady() not awaited on Node < 22.15, or
//            WebAssembly refused, e.g. by a page's Content-Security-Policy).
//
// libzstd (both 'wasm' and 'node') verifies the content checksum itself and
// reports a mismatch as its error 22; fzstd skips it, so it is verified here.

import * as nodeZlib from 'node:zlib';
import { Decompress as FzstdStream, decompress as fzstdDecompress } from 'fzstd';
import { ZSTDDecoder } from 'zstddec';
import { RootError } from '../errors';
import { BlockFailure, fail, hex32 } from './failure';
import { xxhash64 } from './xxhash64';

/** One decoder. */
export type ZstdDecoderName = 'wasm' | 'node' | 'fzstd';
/** What decodes zstd frames now: one decoder, or 'node+wasm' (WASM below ZSTD_NODE_MIN_BYTES, Node from there). */
export type ZstdImplementation = ZstdDecoderName | 'node+wasm';

/** With both Node's and the WASM decoder present, frames of at least this many output bytes go to Node's. */
export const ZSTD_NODE_MIN_BYTES = 131072;

// ---------------------------------------------------------------------------
// the decoders that exist in this process

/** The shape of Node's zlib.zstdDecompressSync as called here. */
export type NodeZstdDecompress = (buf: Uint8Array, options: { info: true; maxOutputLength: number; chunkSize: number }) => { buffer: Buffer };
const builtinNodeZstd = (nodeZlib as unknown as { zstdDecompressSync?: NodeZstdDecompress }).zstdDecompressSync;
let nodeZstd = builtinNodeZstd;

/**
 * Replaces Node's built-in zstd decoder (null: back to the runtime's own).
 * For tests: it runs the 'node' path, error mapping included, on a Node
 * without the built-in.
 */
export function replaceNodeZstdDecompress(fn: NodeZstdDecompress | null): void {
  nodeZstd = fn ?? builtinNodeZstd;
  if (forced === 'node' && !nodeZstd) forced = null;
}

/** The exports of zstddec's WebAssembly module that are used here. */
interface ZstdWasm {
  memory: { buffer: ArrayBuffer };
  malloc(size: number): number;
  free(ptr: number): void;
  ZSTD_decompress(dst: number, dstCapacity: number, src: number, srcSize: number): number;
  ZSTD_isError(code: number): number;
}

let wasm: ZstdWasm | null = null;
let wasmHeap = new Uint8Array(0);
let wasmFailure: string | null = null;
let wasmStart: Promise<void> | null = null;
let forced: ZstdDecoderName | null = null;

/**
 * Starts the WASM decoder (once per process) and resolves when it is ready or
 * has failed; never rejects. Await it before decoding zstd outside RootFile
 * (RootFile.open awaits it).
 */
export function zstdReady(): Promise<ZstdImplementation> {
  wasmStart ??= startWasm().catch((e: unknown) => {
    wasmFailure = e instanceof Error ? e.message : String(e);
  });
  return wasmStart.then(zstdImplementation);
}

async function startWasm(): Promise<void> {
  // (this project's TypeScript libraries do not declare WebAssembly)
  if (!('WebAssembly' in globalThis)) throw new Error('this runtime has no WebAssembly');
  // zstddec keeps its WebAssembly instance private; its init() hands the
  // instantiated module to the decoder's _init, which is wrapped here to keep
  // the exports, so frames decode straight into our buffers with libzstd's
  // error codes (zstddec's decode() copies twice and drops the error codes).
  const decoder = new ZSTDDecoder();
  let instance: { exports: unknown } | undefined;
  const keep = decoder._init;
  decoder._init = (result: Parameters<typeof keep>[0]) => {
    instance = (result as unknown as { instance: { exports: unknown } }).instance;
    keep.call(decoder, result);
  };
  await decoder.init();
  const x = instance?.exports as Partial<ZstdWasm> | undefined;
  if (!x || !(x.memory?.buffer instanceof ArrayBuffer) || typeof x.malloc !== 'function' || typeof x.free !== 'function' || typeof x.ZSTD_decompress !== 'function' || typeof x.ZSTD_isError !== 'function') {
    throw new Error('zstddec did not expose its WebAssembly exports (a zstddec version this code does not know?)');
  }
  wasm = x as ZstdWasm;
  wasmHeap = new Uint8Array(wasm.memory.buffer);
}

/** Why the WASM decoder is not available, or null when it is (or has not been started). */
export function zstdWasmFailure(): string | null {
  return wasmFailure;
}

/** The decoders usable now. */
export function zstdDecoders(): ZstdDecoderName[] {
  const out: ZstdDecoderName[] = [];
  if (wasm) out.push('wasm');
  if (nodeZstd) out.push('node');
  out.push('fzstd');
  return out;
}

/** What decodes zstd frames now (for logs and `inspect`). */
export function zstdImplementation(): ZstdImplementation {
  if (forced) return forced;
  if (wasm && nodeZstd) return 'node+wasm';
  return wasm ? 'wasm' : nodeZstd ? 'node' : 'fzstd';
}

/** Forces one decoder process-wide (tests and benchmarks), or 'auto' for the fastest by frame size. */
export function setZstdImplementation(impl: ZstdDecoderName | 'auto'): void {
  if (impl === 'auto') {
    forced = null;
    return;
  }
  if (impl !== 'wasm' && impl !== 'node' && impl !== 'fzstd') {
    throw new RootError('BAD_ARGUMENT', `unknown zstd implementation ${JSON.stringify(impl)} (expected 'wasm', 'node', 'fzstd' or 'auto')`);
  }
  if (!zstdDecoders().includes(impl)) {
    const why = impl === 'node' ? `this Node.js (${process.version}) has no zlib.zstdDecompressSync (it needs 22.15 or later)` : wasmFailure ?? 'await zstdReady() first';
    throw new RootError('UNSUPPORTED', `zstd implementation '${impl}' is not available: ${why}`);
  }
  forced = impl;
}

function decoderFor(size: number, requested: ZstdDecoderName | undefined): ZstdDecoderName {
  const want = requested ?? forced;
  if (want) {
    if (want === 'wasm' && !wasm) fail('UNSUPPORTED', `the WASM zstd decoder is not available: ${wasmFailure ?? 'await zstdReady() first'}`);
    if (want === 'node' && !nodeZstd) fail('UNSUPPORTED', `this Node.js (${process.version}) has no zlib.zstdDecompressSync`);
    return want;
  }
  if (wasm && (!nodeZstd || size < ZSTD_NODE_MIN_BYTES)) return 'wasm';
  return nodeZstd ? 'node' : 'fzstd';
}

// ---------------------------------------------------------------------------
// one frame

/** libzstd's error codes (zstd_errors.h, fixed since zstd 1.3.1) that get their own message. */
const LIBZSTD_ERRORS: Readonly<Record<number, string>> = {
  10: 'unknown frame type',
  14: 'unsupported frame parameter',
  16: 'window too large',
  20: 'corrupted data',
  22: 'checksum mismatch',
  64: 'out of memory',
  70: 'output larger than declared',
  72: 'input size wrong',
};
const LIBZSTD_CHECKSUM_WRONG = 22;

/**
 * Decodes one zstd frame (a ROOT ZS block's payload) into `dst`, whose length
 * is the block's declared size. `impl` overrides the process-wide choice.
 */
export function decodeZstdFrame(payload: Uint8Array, dst: Uint8Array, impl?: ZstdDecoderName): Uint8Array {
  const frame = walkFrame(payload, dst.length);
  const decoder = decoderFor(dst.length, impl);
  if (decoder === 'wasm') decodeWithWasm(payload, dst, frame);
  else if (decoder === 'node') decodeWithNode(payload, dst, frame);
  else decodeWithFzstd(payload, dst, frame);
  return dst;
}

interface FrameFacts {
  /** Offset of the 4-byte content checksum, or -1 when the frame has none. */
  checksumAt: number;
  /** The frame states its content size (then equal to the declared size). */
  hasContentSize: boolean;
  /** The window the frame asks a streaming decoder for. */
  windowSize: number;
}

/** libzstd's default limit on a frame's window (ZSTD_WINDOWLOG_LIMIT_DEFAULT, 2^27 bytes); fzstd is held to it too. */
const MAX_WINDOW = 2 ** 27;

/** Checks the frame's structure against the declared size; nothing is decoded or allocated. */
function walkFrame(payload: Uint8Array, size: number): FrameFacts {
  const n = payload.length;
  if (n < 6 || payload[0] !== 0x28 || payload[1] !== 0xb5 || payload[2] !== 0x2f || payload[3] !== 0xfd) {
    fail('DECOMPRESSION', 'zstd block does not start with a zstd frame (magic 28 b5 2f fd)');
  }
  const fhd = payload[4];
  const fcsFlag = fhd >>> 6;
  const singleSegment = (fhd >>> 5) & 1;
  const hasChecksum = (fhd >>> 2) & 1;
  const dictIdFlag = fhd & 3;
  if (fhd & 0x08) fail('DECOMPRESSION', 'zstd frame header has its reserved bit set');
  let p = 5;
  let windowSize = 0;
  if (!singleSegment) {
    const exponent = 10 + (payload[p] >>> 3);
    windowSize = 2 ** exponent + 2 ** (exponent - 3) * (payload[p] & 7);
    p++;
  }
  const dictIdSize = [0, 1, 2, 4][dictIdFlag];
  let dictId = 0;
  for (let i = 0; i < dictIdSize; i++) dictId += payload[p + i] * 2 ** (8 * i);
  p += dictIdSize;
  if (dictId !== 0) fail('UNSUPPORTED', `zstd frame needs dictionary ${dictId}`);
  const fcsSize = fcsFlag === 0 ? singleSegment : 1 << fcsFlag;
  if (p + fcsSize > n) fail('DECOMPRESSION', 'zstd frame header is cut short');
  if (fcsSize > 0) {
    let fcs = 0;
    for (let i = 0; i < fcsSize; i++) fcs += payload[p + i] * 2 ** (8 * i);
    if (fcsSize === 2) fcs += 256;
    if (fcs !== size) fail('DECOMPRESSION', `zstd frame content size is ${fcs}, the block header declares ${size}`);
  }
  if (singleSegment) windowSize = size;
  p += fcsSize;
  // Walk the blocks to find the end of the frame.
  for (;;) {
    if (p + 3 > n) fail('DECOMPRESSION', 'zstd frame ends inside a block header');
    const bh = payload[p] | (payload[p + 1] << 8) | (payload[p + 2] << 16);
    p += 3;
    const type = (bh >>> 1) & 3;
    if (type === 3) fail('DECOMPRESSION', 'zstd block of reserved type 3');
    p += type === 1 ? 1 : bh >>> 3;
    if (p > n) fail('DECOMPRESSION', 'zstd frame is cut short inside a block');
    if (bh & 1) break;
  }
  const frameEnd = p + (hasChecksum ? 4 : 0);
  if (frameEnd > n) fail('DECOMPRESSION', 'zstd frame is cut short before its checksum');
  if (frameEnd < n) fail('DECOMPRESSION', `zstd frame ends ${n - frameEnd} bytes before the end of its block`);
  return { checksumAt: hasChecksum ? p : -1, hasContentSize: fcsSize > 0, windowSize };
}

function storedChecksum(payload: Uint8Array, at: number): number {
  return (payload[at] | (payload[at + 1] << 8) | (payload[at + 2] << 16) | (payload[at + 3] << 24)) >>> 0;
}

function libzstdFailure(decoder: string, code: number, payload: Uint8Array, frame: FrameFacts, size: number, cause?: unknown): never {
  if (code === LIBZSTD_CHECKSUM_WRONG && frame.checksumAt >= 0) {
    fail('CHECKSUM', `zstd content checksum does not match the frame's ${hex32(storedChecksum(payload, frame.checksumAt))} (${decoder})`, cause);
  }
  if (code === 70) fail('DECOMPRESSION', `zstd frame decodes to more than the ${size} bytes the block header declares (${decoder})`, cause);
  const what = LIBZSTD_ERRORS[code] ?? 'decoding error';
  fail('DECOMPRESSION', `zstd frame does not decode: ${what} (libzstd error ${code}, ${decoder})`, cause);
}

function decodeWithWasm(payload: Uint8Array, dst: Uint8Array, frame: FrameFacts): void {
  const x = wasm!;
  const size = dst.length;
  const src = x.malloc(payload.length);
  const out = src === 0 ? 0 : x.malloc(size);
  try {
    if (src === 0 || out === 0) fail('LIMIT', `the WASM zstd decoder cannot allocate ${payload.length + size} bytes`);
    // malloc may have grown the memory, which detaches the old view
    if (wasmHeap.buffer !== x.memory.buffer) wasmHeap = new Uint8Array(x.memory.buffer);
    wasmHeap.set(payload, src);
    const r = x.ZSTD_decompress(out, size, src, payload.length);
    // size_t is 32 bits here; libzstd's errors are (size_t)-code, i.e. negative as an i32
    if (x.ZSTD_isError(r)) libzstdFailure('wasm', -(r | 0), payload, frame, size);
    if (r !== size) fail('DECOMPRESSION', `zstd frame decodes to ${r} bytes, the block header declares ${size}`);
    // libzstd allocates its decoding context inside ZSTD_decompress, which may grow (and detach) the memory again
    if (wasmHeap.buffer !== x.memory.buffer) wasmHeap = new Uint8Array(x.memory.buffer);
    dst.set(wasmHeap.subarray(out, out + size));
  } finally {
    if (out !== 0) x.free(out);
    if (src !== 0) x.free(src);
  }
}

function decodeWithNode(payload: Uint8Array, dst: Uint8Array, frame: FrameFacts): void {
  const size = dst.length;
  let result: { buffer: Buffer };
  try {
    result = nodeZstd!(payload, { info: true, maxOutputLength: size, chunkSize: Math.max(64, size) });
  } catch (e) {
    const err = e as { code?: string; errno?: number; message?: string };
    if (err.code === 'ERR_BUFFER_TOO_LARGE') fail('DECOMPRESSION', `zstd frame decodes to more than the ${size} bytes the block header declares (node)`, e);
    if (typeof err.errno === 'number' && typeof err.code === 'string' && err.code.startsWith('ZSTD_error_')) libzstdFailure('node', err.errno, payload, frame, size, e);
    fail('DECOMPRESSION', `zstd frame does not decode (node): ${err.message ?? String(e)}`, e);
  }
  // A frame cut short inside a block is caught by the walk; this catches the rest.
  if (result.buffer.length !== size) fail('DECOMPRESSION', `zstd frame decodes to ${result.buffer.length} bytes, the block header declares ${size}`);
  dst.set(result.buffer);
}

function decodeWithFzstd(payload: Uint8Array, dst: Uint8Array, frame: FrameFacts): void {
  const size = dst.length;
  try {
    if (frame.hasContentSize) {
      // fzstd allocates the content size, which the walk has checked. (Given an
      // output buffer it runs several times slower: it tests it with `== 1`,
      // which turns it into a string.)
      const result = fzstdDecompress(payload);
      if (result.length !== size) fail('DECOMPRESSION', `zstd frame decodes to ${result.length} bytes, the block header declares ${size}`);
      dst.set(result);
    } else {
      // No content size: streamed, so that output beyond the declared size is
      // noticed (fzstd drops what does not fit a given buffer, and returns all
      // of it); the stream holds one window.
      if (frame.windowSize > MAX_WINDOW) fail('LIMIT', `zstd frame asks for a window of ${frame.windowSize} bytes, more than ${MAX_WINDOW}`);
      let at = 0;
      const stream = new FzstdStream((chunk) => {
        if (at + chunk.length > size) fail('DECOMPRESSION', `zstd frame decodes to more than the ${size} bytes the block header declares (fzstd)`);
        dst.set(chunk, at);
        at += chunk.length;
      });
      stream.push(payload, true);
      if (at !== size) fail('DECOMPRESSION', `zstd frame decodes to ${at} bytes, the block header declares ${size}`);
    }
  } catch (e) {
    if (e instanceof BlockFailure) throw e;
    fail('DECOMPRESSION', `zstd frame does not decode: ${e instanceof Error ? e.message : String(e)} (fzstd)`, e);
  }
  if (frame.checksumAt >= 0) {
    const stored = storedChecksum(payload, frame.checksumAt);
    const computed = xxhash64(dst).lo;
    if (stored !== computed) fail('CHECKSUM', `zstd content checksum is ${hex32(computed)}, the frame says ${hex32(stored)}`);
  }
}
