// The PHYSLITE event model: collections grouped from a CollectionTree's
// branches, link keys, and lazy chunked reading.
export { PhysliteSchema, parseColumnRef, expectedBranch, collectionNameOfKey, type CollectionSchema, type ColumnRef } from './schema';
export { CollectionKeys, readCollectionKeys, sgKey, CONTAINER_CLIDS, type EventFormatEntry } from './event-format';
export { EventChunk, PhysliteFile, type ChunkOptions, type ObjectColumn, type ObjectVectorColumn, type ObjectLinkColumn, type ObjectLinkVectorColumn } from './events';
