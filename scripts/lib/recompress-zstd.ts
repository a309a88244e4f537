// Rewrites the baskets of a ROOT file as zstd, in place: the same file with
// ZS blocks where its baskets had ZL ones. Used by bench:inflate (and its
// test) to compare zstd with zlib on the same PHYSLITE content, as Athena
// writes PHYSLITE (ZSTD level 5).
//
// Each compressed basket is inflated and compressed again with zstd into
// blocks of at most 16 MiB - 1 (ROOT's block limit), written over the old
// payload, and the rest of the old payload is zeroed (a reader stops after
// the blocks that produce the basket's size, as ROOT does). A basket whose
// zstd form would not fit where the zlib one was stays zlib, and is counted.
// Tree metadata and the streamer list stay as they were: only baskets move.

import { createRequire } from 'node:module';
import * as nodeZlib from 'node:zlib';
import { Cursor } from '../../shared/root/cursor';
import { listTrees, readKeyHeader, readTree, RootFile } from '../../shared/root/file';
import { BLOCK_HEADER_SIZE, decompressObject, MAX_BLOCK_SIZE } from '../../shared/root/compression';
import { BufferSource } from '../../shared/root/source';

export type Compress = (data: Uint8Array) => Uint8Array;

interface NodeZstd {
  zstdCompressSync(data: Uint8Array, options: { params: Record<number, number>; pledgedSrcSize?: number }): Buffer;
  constants: Record<string, number>;
}

/**
 * A zstd compressor at `level` that writes the content size and no checksum,
 * as ROOT does: Node's built-in (>= 22.15) or libzstd as WebAssembly
 * (@bokuweb/zstd-wasm, which `physlite synth` uses too).
 */
export async function zstdCompressor(level: number): Promise<{ compress: Compress; by: string }> {
  const z = nodeZlib as unknown as Partial<NodeZstd>;
  if (typeof z.zstdCompressSync === 'function' && z.constants) {
    const c = z.constants;
    const compress = z.zstdCompressSync;
    return {
      by: `node ${process.version} zlib.zstdCompressSync`,
      compress: (data) => new Uint8Array(compress(data, { params: { [c.ZSTD_c_compressionLevel]: level, [c.ZSTD_c_contentSizeFlag]: 1 }, pledgedSrcSize: data.length })),
    };
  }
  // its ES build calls require(); the CommonJS one loads its .wasm beside itself
  const wasm = createRequire(import.meta.url)('@bokuweb/zstd-wasm') as { init(): Promise<void>; compress(data: Uint8Array, level: number): Uint8Array };
  await wasm.init();
  return { by: '@bokuweb/zstd-wasm', compress: (data) => wasm.compress(data, level) };
}

export interface Recompressed {
  bytes: Uint8Array;
  /** Baskets now stored as zstd. */
  baskets: number;
  /** Compressed baskets left as they were because their zstd form is larger. */
  kept: number;
  /** Bytes of the rewritten baskets' payloads before (zlib) and after (zstd, without padding). */
  before: number;
  after: number;
}

/** The file with every compressed basket of every tree rewritten as zstd by `compress`. */
export async function recompressBaskets(input: Uint8Array, name: string, compress: Compress): Promise<Recompressed> {
  const out = input.slice();
  const file = await RootFile.open(new BufferSource(input, name));
  const seen = new Set<number>();
  const result: Recompressed = { bytes: out, baskets: 0, kept: 0, before: 0, after: 0 };
  for (const path of await listTrees(file)) {
    const tree = await readTree(file, path);
    for (const branch of tree.allBranches()) {
      for (const basket of branch.baskets) {
        if (basket.seek === 0 || seen.has(basket.seek)) continue;
        seen.add(basket.seek);
        const key = readKeyHeader(new Cursor(input, { file: name }, basket.seek));
        const start = basket.seek + key.keylen;
        const stored = input.subarray(start, basket.seek + key.nbytes);
        if (stored.length >= key.objlen) continue; // stored uncompressed
        const data = decompressObject(stored, key.objlen, { file: name, branch: branch.name, offset: start });
        const blocks: Uint8Array[] = [];
        for (let at = 0; at < data.length; at += MAX_BLOCK_SIZE) {
          const part = data.subarray(at, Math.min(data.length, at + MAX_BLOCK_SIZE));
          blocks.push(zsBlock(compress(part), part.length));
        }
        const size = blocks.reduce((n, b) => n + b.length, 0);
        if (size > stored.length) {
          result.kept++;
          continue;
        }
        let p = start;
        for (const b of blocks) {
          out.set(b, p);
          p += b.length;
        }
        out.fill(0, p, start + stored.length);
        result.baskets++;
        result.before += stored.length;
        result.after += size;
      }
    }
  }
  return result;
}

/** One ROOT block: "ZS", method 1, compressed and uncompressed sizes (3 bytes each, little-endian), the frame. */
function zsBlock(frame: Uint8Array, size: number): Uint8Array {
  if (frame.length > MAX_BLOCK_SIZE) throw new Error(`a zstd frame of ${frame.length} bytes does not fit a ROOT block`);
  const b = new Uint8Array(BLOCK_HEADER_SIZE + frame.length);
  b.set([0x5a, 0x53, 1, frame.length & 0xff, (frame.length >>> 8) & 0xff, frame.length >>> 16, size & 0xff, (size >>> 8) & 0xff, size >>> 16]);
  b.set(frame, BLOCK_HEADER_SIZE);
  return b;
}
