// Checked decoding of queue messages. A message that does not parse can never
// succeed, so handlers log it and acknowledge it instead of retrying forever.

import type { ShardDoneMessage, ShardTask } from './model';
import type { Doc } from './ports';

export class MessageFormatError extends Error {
  override readonly name = 'MessageFormatError';
}

const JOB_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

export function parseShardTask(data: Doc): ShardTask {
  const d = data as Record<string, unknown>;
  const bad = (what: string) => new MessageFormatError(`shard message: ${what} (got ${JSON.stringify(data).slice(0, 300)})`);
  if (d.kind !== 'shard' || d.v !== 1) throw bad('kind must be "shard" and v 1');
  if (typeof d.jobId !== 'string' || !JOB_ID.test(d.jobId)) throw bad('jobId missing or malformed');
  if (!isIndex(d.shard)) throw bad('shard must be a non-negative integer');
  if (typeof d.url !== 'string' || d.url === '') throw bad('url missing');
  if (!isIndex(d.parts) || d.parts < 1 || !isIndex(d.part) || d.part >= d.parts) throw bad('part/parts invalid');
  if (d.size !== undefined && !isIndex(d.size)) throw bad('size must be a non-negative integer');
  if (d.generation !== undefined && typeof d.generation !== 'string') throw bad('generation must be a string');
  if (typeof d.analysis !== 'string') throw bad('analysis missing');
  if (d.options === null || typeof d.options !== 'object' || Array.isArray(d.options)) throw bad('options must be an object');
  return data as unknown as ShardTask;
}

export function parseShardDone(data: Doc): ShardDoneMessage {
  const d = data as Record<string, unknown>;
  if (d.kind !== 'shard-done' || d.v !== 1 || typeof d.jobId !== 'string' || !JOB_ID.test(d.jobId) || !isIndex(d.shard)) {
    throw new MessageFormatError(`shard-done message malformed (got ${JSON.stringify(data).slice(0, 300)})`);
  }
  return data as unknown as ShardDoneMessage;
}

export function shardDoneMessage(jobId: string, shard: number): Doc {
  return { kind: 'shard-done', v: 1, jobId, shard };
}
