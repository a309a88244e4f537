// What the readers may request, and how a dataset entry is named where people
// see it.
//
// displayName(entry)  an entry safe to store, log and show: an http(s) URL (or
//   any other scheme but gs: and file:) loses its user info, query string
//   (signed-URL signatures, access tokens) and fragment; gs:// URLs and paths
//   stay as they are (they hold no secrets, and '?' and '#' are legal in names).
//
// UrlPolicy  which schemes and hosts may be requested. guardedFetch() checks
//   the URL asked for and follows redirects itself (redirect: 'manual'),
//   checking every hop, so a server cannot bounce a reader to a scheme or an
//   address the policy refuses. Both policies refuse the link-local range
//   (169.254.0.0/16, fe80::/10) and the metadata server (by name, by address);
//   the cloud one also refuses plain http, loopback and unspecified addresses,
//   and checks the addresses a host name resolves to (the local one does not
//   look names up: a laptop reads what its user names).

import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { RootError } from '../errors';
import { redactUrl } from './util';

export function displayName(entry: string): string {
  const scheme = /^\s*([a-z][a-z0-9+.-]*):/i.exec(entry)?.[1]?.toLowerCase();
  if (scheme === undefined || scheme.length === 1 || scheme === 'gs' || scheme === 'file') return entry;
  return redactUrl(entry.trim());
}

/** A URL the policy does not allow a reader to request (the one given, or a redirect's target). */
export class UrlRefusedError extends RootError {
  constructor(detail: string, url: string | URL) {
    super('BAD_ARGUMENT', detail, { file: redactUrl(url) });
  }
}

export interface UrlPolicy {
  /** Where the policy applies, for messages: "in the cloud pipeline". */
  where: string;
  schemes: readonly string[];
  /** Refuse 127.0.0.0/8, ::1 and the unspecified addresses too. */
  refuseLoopback: boolean;
  /** Looks a host name up, to check its addresses as well; undefined: names are not resolved. */
  resolve?: (host: string) => Promise<string[]>;
}

const resolveAll = async (host: string): Promise<string[]> => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

export const CLOUD_URL_POLICY: UrlPolicy = { where: 'in the cloud pipeline', schemes: ['https:'], refuseLoopback: true, resolve: resolveAll };
export const LOCAL_URL_POLICY: UrlPolicy = { where: 'by the pipeline', schemes: ['http:', 'https:'], refuseLoopback: false };

const METADATA_NAMES = new Set(['metadata.google.internal', 'metadata']);
const MAX_REDIRECTS = 5;
const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);

/** Why an address may not be requested under the policy, or undefined. */
function addressProblem(address: string, policy: UrlPolicy): string | undefined {
  const kind = isIP(address);
  if (kind === 4) return ipv4Problem(address.split('.').map(Number), policy);
  if (kind !== 6) return undefined;
  const groups = expandIpv6(address);
  if (!groups) return undefined;
  // ::ffff:a.b.c.d carries an IPv4 address
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return ipv4Problem([groups[6]! >> 8, groups[6]! & 255, groups[7]! >> 8, groups[7]! & 255], policy);
  if ((groups[0]! & 0xffc0) === 0xfe80) return 'a link-local address';
  if (groups.join(':') === [0xfd20, 0xce, 0, 0, 0, 0, 0, 0x254].join(':')) return 'the metadata server';
  if (policy.refuseLoopback && groups.slice(0, 7).every((g) => g === 0) && (groups[7] === 0 || groups[7] === 1)) return 'a loopback or unspecified address';
  return undefined;
}

function ipv4Problem(b: number[], policy: UrlPolicy): string | undefined {
  if (b[0] === 169 && b[1] === 254) return b[2] === 169 && b[3] === 254 ? 'the metadata server' : 'a link-local address';
  if (policy.refuseLoopback && (b[0] === 127 || b[0] === 0)) return 'a loopback or unspecified address';
  return undefined;
}

/** The eight 16-bit groups of an IPv6 address (with an embedded IPv4 tail allowed), or undefined. */
function expandIpv6(text: string): number[] | undefined {
  let s = text.replace(/%.*$/, '');
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    s = `${s.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const groups = [...head, ...Array<string>(Math.max(0, fill)).fill('0'), ...tail].map((g) => parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}

/**
 * Checks a URL against the policy: its scheme, its host (name or literal
 * address) and, when the policy resolves names, every address the name has.
 * A name that does not resolve passes: the request then fails on its own.
 */
export async function checkUrl(url: string | URL, policy: UrlPolicy): Promise<URL> {
  let u: URL;
  try {
    u = typeof url === 'string' ? new URL(url) : url;
  } catch {
    throw new UrlRefusedError('not a valid URL', String(url));
  }
  if (!policy.schemes.includes(u.protocol)) {
    throw new UrlRefusedError(`${u.protocol}// URLs are not read ${policy.where} (${policy.schemes.map((s) => `${s}//`).join(', ')} only)`, u);
  }
  const host = u.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
  if (METADATA_NAMES.has(host)) throw new UrlRefusedError(`the metadata server is not read ${policy.where}`, u);
  const literal = addressProblem(host, policy);
  if (literal) throw new UrlRefusedError(`${host} is ${literal}, not read ${policy.where}`, u);
  if (policy.resolve && isIP(host) === 0) {
    let addresses: string[];
    try {
      addresses = await policy.resolve(host);
    } catch {
      return u;
    }
    for (const a of addresses) {
      const problem = addressProblem(a, policy);
      if (problem) throw new UrlRefusedError(`${host} resolves to ${problem} (${a}), not read ${policy.where}`, u);
    }
  }
  return u;
}

/**
 * A fetch that requests only what the policy allows: the URL is checked, and
 * redirects are followed here (at most 5), each target checked before it is
 * requested. Credentials (Authorization, Cookie) are not sent to another origin.
 */
export function guardedFetch(policy: UrlPolicy, inner?: typeof fetch): typeof fetch {
  const send: typeof fetch = inner ?? ((input, init) => fetch(input, init));
  const guarded = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    if (input instanceof Request) throw new TypeError('guardedFetch takes a URL, not a Request');
    let url = await checkUrl(String(input), policy);
    const mode = init.redirect ?? 'follow';
    let headers = new Headers(init.headers);
    for (let hop = 0; ; hop++) {
      const res = await send(url, { ...init, headers, redirect: 'manual' });
      const location = res.headers.get('location');
      if (!REDIRECT_STATUS.has(res.status) || location === null || mode === 'manual') return res;
      await res.body?.cancel().catch(() => undefined);
      if (mode === 'error') throw new UrlRefusedError(`redirected (HTTP ${res.status}) where no redirect is followed`, url);
      if (hop >= MAX_REDIRECTS) throw new UrlRefusedError(`more than ${MAX_REDIRECTS} redirects`, url);
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new UrlRefusedError(`redirected (HTTP ${res.status}) to an invalid URL`, url);
      }
      try {
        await checkUrl(next, policy);
      } catch (e) {
        if (!(e instanceof UrlRefusedError)) throw e;
        throw new UrlRefusedError(`redirect (HTTP ${res.status}) refused: ${e.detail}`, url);
      }
      if (next.origin !== url.origin) {
        headers = new Headers(headers);
        headers.delete('authorization');
        headers.delete('cookie');
      }
      url = next;
    }
  };
  return guarded as typeof fetch;
}
