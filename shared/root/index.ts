// Public API of the ROOT decoder.
//
//   const file = await openRootFile('gs://bucket/file.root');
//   const tree = await file.tree('CollectionTree');
//   const { columns } = await tree.read(['AnalysisElectronsAuxDyn.pt'], { entryStart: 0, entryStop: 100 });
//   for await (const chunk of tree.iterate(names)) { … }   // cluster by cluster

import { RootFile, listRNTuples, listTrees, readTree, type OpenOptions } from './file';
import { TreeReader } from './reader';
import { openSource, type SourceOptions } from './source';
import type { ByteSource } from './source/types';

export { RootError, isRootError, DEFAULT_LIMITS, type RootErrorCode, type ErrorContext, type DecodeLimits } from './errors';
export { RootFile, RootDirectory, type KeyInfo } from './file';
export { Tree, Branch, type ClusterRange, type BasketLocation } from './tree';
export { TreeReader, chunkClusters, type ReadResult, type EntryRange, type DecodeStats } from './reader';
export * from './content';
export type { ByteSource } from './source/types';

export interface OpenRootOptions extends OpenOptions {
  source?: SourceOptions;
}

/** A ROOT file with convenient tree access. */
export class RootFileHandle {
  constructor(readonly file: RootFile) {}
  get name(): string {
    return this.file.name;
  }
  get source(): ByteSource {
    return this.file.source;
  }
  /** Paths of all TTrees in the file. */
  trees(): Promise<string[]> {
    return listTrees(this.file);
  }
  /** RNTuples in the file (named so a caller can tell the user; their data is not decoded). */
  rntuples(): Promise<{ path: string; className: string }[]> {
    return listRNTuples(this.file);
  }
  async tree(path: string): Promise<TreeReader> {
    return new TreeReader(await readTree(this.file, path));
  }
  close(): Promise<void> {
    return this.file.source.close();
  }
}

/** Opens a local path, file:// / http(s):// URL, gs://bucket/object, or an existing ByteSource. */
export async function openRootFile(input: string | ByteSource, options: OpenRootOptions = {}): Promise<RootFileHandle> {
  const source = typeof input === 'string' ? await openSource(input, options.source) : input;
  try {
    return new RootFileHandle(await RootFile.open(source, options));
  } catch (e) {
    if (typeof input === 'string') await source.close().catch(() => undefined);
    throw e;
  }
}
