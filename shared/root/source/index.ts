// Byte sources: where the decoder's bytes come from.
//
//   const src = await openSource('gs://bucket/file.root');   // or https://…, file://…, a path
//   const [a, b] = await src.read([{ offset: 0, length: 512 }, { offset: 4096, length: 100 }]);
//   src.stats;   // { requests, bytes, ranges, retries }
//   await src.close();

import { RootError } from '../errors';
import { GcsSource, type GcsSourceOptions } from './gcs';
import { HttpSource, type HttpSourceOptions } from './http';
import { LocalFileSource, type LocalSourceOptions } from './local';
import type { ByteSource } from './types';
import { redactUrl } from './util';
import { guardedFetch, LOCAL_URL_POLICY } from './url-policy';

export type { ByteRange, ByteSource, NetworkOptions, PlannerOptions, ReadStats } from './types';
export { BufferSource } from './buffer';
export { LocalFileSource, type LocalSourceOptions } from './local';
export { HttpSource, HttpRangeSource, resolveRetryPolicy, DEFAULT_RETRIES, DEFAULT_RETRY_BASE_MS, DEFAULT_RETRY_MAX_MS, DEFAULT_TIMEOUT_MS, type HttpSourceOptions, type RequestTarget } from './http';
export { GcsSource, parseGsUrl, type GcsSourceOptions } from './gcs';
export {
  planReads,
  PlannedSource,
  DEFAULT_LOCAL_CONCURRENCY,
  DEFAULT_MAX_GAP,
  DEFAULT_MAX_RANGE_BYTES,
  DEFAULT_MAX_REQUEST_BYTES,
  DEFAULT_NETWORK_CONCURRENCY,
  type CoalesceOptions,
  type PlannedSpan,
  type ReadPlan,
} from './planner';
export { redactUrl } from './util';
export { checkUrl, CLOUD_URL_POLICY, displayName, guardedFetch, LOCAL_URL_POLICY, UrlRefusedError, type UrlPolicy } from './url-policy';

/**
 * Options for openSource(). The planner and network fields apply to whichever
 * source the URL selects (unset fields take that source's defaults); `http`,
 * `gcs` and `local` hold options for one kind only and win over the shared ones.
 */
export interface SourceOptions extends HttpSourceOptions, Omit<GcsSourceOptions, keyof HttpSourceOptions> {
  http?: HttpSourceOptions;
  gcs?: GcsSourceOptions;
  local?: LocalSourceOptions;
}

/**
 * Opens a byte source for `gs://bucket/object` (GcsSource), `http(s)://…`
 * (HttpSource), `file://…` or a plain path (LocalFileSource). Nothing is
 * requested yet: the first size() or read() does. Any other scheme is
 * BAD_ARGUMENT.
 */
export async function openSource(urlOrPath: string, options: SourceOptions = {}): Promise<ByteSource> {
  if (typeof urlOrPath !== 'string' || urlOrPath.length === 0) throw new RootError('BAD_ARGUMENT', 'openSource needs a non-empty path or URL');
  const { http, gcs, local, ...shared } = options;
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(urlOrPath)?.[1]?.toLowerCase();
  // A one-letter "scheme" is a Windows drive letter (C:\data\f.root), i.e. a path.
  if (scheme === undefined || scheme.length === 1) return new LocalFileSource(urlOrPath, { ...pickPlanner(shared), ...local });
  switch (scheme) {
    case 'gs':
      return new GcsSource(urlOrPath, { ...shared, ...gcs });
    case 'http':
    case 'https': {
      // redirects are followed by hand, each target checked (no metadata server or link-local hop)
      const o: HttpSourceOptions = { ...shared, ...http };
      return new HttpSource(urlOrPath, { ...o, fetch: guardedFetch(LOCAL_URL_POLICY, o.fetch) });
    }
    case 'file':
      return new LocalFileSource(urlOrPath, { ...pickPlanner(shared), ...local });
    default:
      throw new RootError('BAD_ARGUMENT', `unsupported URL scheme "${scheme}:" (use gs://, http(s)://, file:// or a path)`, { file: redactUrl(urlOrPath) });
  }
}

function pickPlanner(o: SourceOptions): LocalSourceOptions {
  const out: LocalSourceOptions = {};
  if (o.maxGap !== undefined) out.maxGap = o.maxGap;
  if (o.maxRequestBytes !== undefined) out.maxRequestBytes = o.maxRequestBytes;
  if (o.concurrency !== undefined) out.concurrency = o.concurrency;
  if (o.maxRangeBytes !== undefined) out.maxRangeBytes = o.maxRangeBytes;
  return out;
}

