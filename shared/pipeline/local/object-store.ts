// ObjectStore for local runs: local paths and file:// URLs, http(s):// URLs,
// and gs:// (delegated to a GcsObjectStore made on the first gs:// call, so a
// run without gs:// never loads @google-cloud/storage).
//
// Local files
//   list(dir)        every ROOT-named file under the directory, recursively,
//                    symbolic links followed, in name order (byte order of the
//                    full path, as Cloud Storage orders names); urls are
//                    absolute paths, or file:// URLs when the prefix was one.
//                    Each file is listed once (by its real path: the first
//                    path in walk order names it), each real directory is
//                    walked once, so links back up or fanning out cannot
//                    multiply files or make the walk endless; the depth and
//                    the number of entries read are bounded (LIMIT).
//                    A ROOT-named entry that is not a regular file (a FIFO,
//                    socket or device) is refused (BAD_ARGUMENT, naming it):
//                    opening a FIFO would block.
//   list(/d/run1_)   not a directory: the entries of /d whose names start with
//                    "run1_" (files, and directories walked recursively), like
//                    a Cloud Storage prefix. A prefix ending in "/" must be a
//                    directory.
//   A missing directory is SOURCE_NOT_FOUND, an unreadable one
//   SOURCE_FORBIDDEN; a broken symbolic link with a ROOT name is
//   SOURCE_NOT_FOUND (a listing does not silently drop a file).
//
// HTTP(S)
//   list             BAD_ARGUMENT: a web server has no listing; give object URLs or an index file.
//   stat             HttpSource's size probe: HEAD (Content-Length), or when HEAD is
//                    refused (405, 501, 400, and 403 as URLs signed for GET give) a
//                    GET of byte 0 (Content-Range total). 404 → SOURCE_NOT_FOUND,
//                    401/403 → SOURCE_FORBIDDEN, 5xx/429/network → SOURCE_UNAVAILABLE,
//                    deadline → SOURCE_TIMEOUT (both transient, retried first).
//   readText         one GET, streamed and cut off past maxBytes (LIMIT).
//   Every request goes through guardedFetch (root/source/url-policy.ts) under
//   the store's urlPolicy (default LOCAL_URL_POLICY): redirects are followed
//   by hand and each target checked, so no reader is sent to the metadata
//   server or a link-local address, nor (cloud policy) off https.

import { open as openFile, readdir, realpath, stat as statPath, type FileHandle } from 'node:fs/promises';
import { constants as fsConstants } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { RootError } from '../../root/errors';
import { DEFAULT_TIMEOUT_MS, HttpSource, LocalFileSource, redactUrl, resolveRetryPolicy, type ByteSource, type HttpSourceOptions, type LocalSourceOptions } from '../../root/source/index';
import { checkCount, codeForFsError, codeForStatus, describeError, scrubMessage, systemErrorCode, withRetries } from '../../root/source/util';
import { guardedFetch, LOCAL_URL_POLICY, type UrlPolicy } from '../../root/source/url-policy';
import { describeFileKind } from '../../root/source/local';
import { GcsObjectStore, type GcsObjectStoreOptions } from '../google/gcs-objects';
import { isRootObjectName } from '../object-names';
import type { ObjectInfo, ObjectStore } from '../ports';

export interface LocalObjectStoreOptions {
  /** For gs:// URLs. */
  gcs?: GcsObjectStoreOptions;
  /** For http(s):// URLs: headers (an Authorization token), timeouts, retries, planner options. */
  http?: HttpSourceOptions;
  /** Planner options of the LocalFileSources that open() makes. */
  local?: LocalSourceOptions;
  /** What http(s) requests may go to, redirects included; default LOCAL_URL_POLICY. */
  urlPolicy?: UrlPolicy;
}

type Target = { kind: 'local'; path: string; asUrl: boolean } | { kind: 'http'; url: string } | { kind: 'gs'; url: string };

export class LocalObjectStore implements ObjectStore {
  private readonly options: LocalObjectStoreOptions;
  /** options.http with its fetch wrapped in the URL policy. */
  private readonly http: HttpSourceOptions;
  private gcsStore: GcsObjectStore | undefined;

  constructor(options: LocalObjectStoreOptions = {}) {
    this.options = options;
    this.http = { ...options.http, fetch: guardedFetch(options.urlPolicy ?? LOCAL_URL_POLICY, options.http?.fetch) };
  }

  /** The gs:// store, made on first use. */
  private gcs(): GcsObjectStore {
    this.gcsStore ??= new GcsObjectStore(this.options.gcs);
    return this.gcsStore;
  }

  async list(prefix: string, limit: number): Promise<ObjectInfo[]> {
    checkCount('limit', limit, 0);
    const t = classify(prefix);
    switch (t.kind) {
      case 'gs':
        return this.gcs().list(t.url, limit);
      case 'http':
        throw new RootError('BAD_ARGUMENT', `cannot list an ${t.url.slice(0, t.url.indexOf(':')).toLowerCase()}:// prefix; give object URLs or an index file`, { file: redactUrl(t.url) });
      case 'local':
        return listLocal(t.path, limit, t.asUrl, /[\\/]$/.test(prefix));
    }
  }

  async stat(url: string): Promise<ObjectInfo> {
    const t = classify(url);
    switch (t.kind) {
      case 'gs':
        return this.gcs().stat(t.url);
      case 'http': {
        const src = new HttpSource(t.url, this.http);
        try {
          return { url, size: await src.size() };
        } finally {
          await src.close();
        }
      }
      case 'local': {
        const st = await fsCall(t.path, 'cannot stat file', () => statPath(t.path));
        if (!st.isFile()) throw new RootError('BAD_ARGUMENT', st.isDirectory() ? 'is a directory, not a file (list it as a prefix)' : `${describeFileKind(st)}, not a regular file`, { file: t.path });
        const real = await fsCall(t.path, 'cannot resolve file', () => realpath(t.path));
        return withIdentity({ url, size: st.size }, t.path, real);
      }
    }
  }

  async readText(url: string, maxBytes: number): Promise<string> {
    checkCount('maxBytes', maxBytes, 0);
    const t = classify(url);
    switch (t.kind) {
      case 'gs':
        return this.gcs().readText(t.url, maxBytes);
      case 'http':
        return httpReadText(t.url, maxBytes, this.http);
      case 'local':
        return localReadText(t.path, maxBytes);
    }
  }

  async open(url: string, info?: ObjectInfo): Promise<ByteSource> {
    const t = classify(url);
    switch (t.kind) {
      case 'gs':
        return this.gcs().open(t.url, info);
      case 'http': {
        const options: HttpSourceOptions = { ...this.http };
        if (info?.size !== undefined) options.size = info.size;
        return new HttpSource(t.url, options);
      }
      case 'local':
        return new LocalFileSource(t.path, this.options.local);
    }
  }
}

/** The ObjectStore of local runs: local paths, file://, http(s):// and gs://. */
export function createLocalObjectStore(options: LocalObjectStoreOptions = {}): ObjectStore {
  return new LocalObjectStore(options);
}

function classify(urlOrPath: string): Target {
  if (typeof urlOrPath !== 'string' || urlOrPath.length === 0) throw new RootError('BAD_ARGUMENT', 'expected a non-empty path or URL');
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(urlOrPath)?.[1]?.toLowerCase();
  // A one-letter "scheme" is a Windows drive letter.
  if (scheme === undefined || scheme.length === 1) return { kind: 'local', path: path.resolve(urlOrPath), asUrl: false };
  switch (scheme) {
    case 'gs':
      return { kind: 'gs', url: urlOrPath };
    case 'http':
    case 'https':
      return { kind: 'http', url: urlOrPath };
    case 'file':
      try {
        return { kind: 'local', path: path.resolve(fileURLToPath(urlOrPath)), asUrl: true };
      } catch (e) {
        throw new RootError('BAD_ARGUMENT', `not a usable file URL: ${describeError(e)}`, { file: urlOrPath.replace(/[?#].*$/s, '') });
      }
    default:
      throw new RootError('BAD_ARGUMENT', `unsupported URL scheme "${scheme}:" (use gs://, http(s)://, file:// or a path)`, { file: redactUrl(urlOrPath) });
  }
}

// ---------------------------------------------------------------------------
// Local files

/** Runs a file-system call, mapping its error to a RootError about `file`. */
async function fsCall<T>(file: string, what: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (e) {
    if (e instanceof RootError) throw e;
    const sys = (e as { code?: unknown })?.code;
    const mapped = codeForFsError(typeof sys === 'string' ? sys : undefined);
    return Promise.reject(new RootError(mapped.code, `${what}: ${describeError(e)}`, { file }, { cause: e, transient: mapped.transient }));
  }
}

async function statOrUndefined(p: string) {
  try {
    return await statPath(p);
  } catch (e) {
    const code = (e as { code?: unknown })?.code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return undefined;
    throw e;
  }
}

/** Marks an object reached through a symbolic link with the file's real path. */
function withIdentity(o: ObjectInfo, file: string, real: string): ObjectInfo {
  if (real !== file) o.identity = real;
  return o;
}

interface Entry {
  name: string;
  full: string;
  dir: boolean;
}

/** Byte order of UTF-8 names, as Cloud Storage orders object names. */
function byName(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Bounds of a directory walk: how deep, and how many directory entries in all. */
export const MAX_WALK_DEPTH = 64;
export const MAX_WALK_ENTRIES = 1_000_000;

class Walk {
  readonly out: ObjectInfo[] = [];
  /** Real paths of the files listed and of the directories walked. */
  private readonly files = new Set<string>();
  private readonly dirs = new Set<string>();
  private entriesRead = 0;
  constructor(readonly limit: number, readonly asUrl: boolean, readonly root: string) {}

  get full(): boolean {
    return this.out.length >= this.limit;
  }

  /** The directory's entries (files with ROOT names and directories, links resolved) whose names start with `startsWith`, in walk order. */
  async entries(dir: string, startsWith = ''): Promise<Entry[]> {
    const dirents = await fsCall(dir, 'cannot read directory', () => readdir(dir, { withFileTypes: true }));
    this.entriesRead += dirents.length;
    if (this.entriesRead > MAX_WALK_ENTRIES) {
      throw new RootError('LIMIT', `listing read more than ${MAX_WALK_ENTRIES} directory entries; list a narrower prefix`, { file: this.root });
    }
    const entries: Entry[] = [];
    for (const d of dirents) {
      if (!d.name.startsWith(startsWith)) continue;
      const full = path.join(dir, d.name);
      let isDir = d.isDirectory();
      let isFile = d.isFile();
      let st: Awaited<ReturnType<typeof statOrUndefined>> | undefined;
      if (d.isSymbolicLink()) {
        st = await fsCall(full, 'cannot follow symbolic link', () => statOrUndefined(full));
        if (!st) {
          if (isRootObjectName(d.name)) throw new RootError('SOURCE_NOT_FOUND', 'symbolic link to a missing file', { file: full });
          continue;
        }
        isDir = st.isDirectory();
        isFile = st.isFile();
      }
      if (!isDir && !isFile && isRootObjectName(d.name)) {
        // a FIFO (or socket, device) with a ROOT name: opening it would block or read garbage
        const kind = describeFileKind(st ?? d);
        throw new RootError('BAD_ARGUMENT', `${kind}, not a regular file: a listing does not open it (remove it or name files explicitly)`, { file: full });
      }
      if (isDir || (isFile && isRootObjectName(d.name))) entries.push({ name: d.name, full, dir: isDir });
    }
    // Under a directory "a", every name starts with "a/": sorting on name + "/" gives full-name order.
    return entries.sort((x, y) => byName(x.dir ? `${x.name}/` : x.name, y.dir ? `${y.name}/` : y.name));
  }

  async visit(entries: Entry[], depth: number): Promise<void> {
    for (const e of entries) {
      if (this.full) return;
      if (e.dir) await this.directory(e.full, depth + 1);
      else {
        // eight links to one file are one file
        const real = await fsCall(e.full, 'cannot resolve file', () => realpath(e.full));
        if (this.files.has(real)) continue;
        this.files.add(real);
        const st = await fsCall(e.full, 'cannot stat file', () => statPath(e.full));
        if (!st.isFile()) throw new RootError('BAD_ARGUMENT', `${describeFileKind(st)}, not a regular file`, { file: e.full });
        this.out.push(withIdentity({ url: this.asUrl ? pathToFileURL(e.full).href : e.full, size: st.size }, e.full, real));
      }
    }
  }

  async directory(dir: string, depth: number): Promise<void> {
    const real = await fsCall(dir, 'cannot resolve directory', () => realpath(dir));
    // each real directory once: a link back up, or links fanning out to the same directories, add nothing
    if (this.dirs.has(real)) return;
    this.dirs.add(real);
    if (depth > MAX_WALK_DEPTH) throw new RootError('LIMIT', `directories nested more than ${MAX_WALK_DEPTH} deep`, { file: dir });
    await this.visit(await this.entries(dir), depth);
  }

  /** Marks a directory as walked (the parent of a path prefix, whose matching entries are visited). */
  async enter(dir: string): Promise<void> {
    this.dirs.add(await fsCall(dir, 'cannot resolve directory', () => realpath(dir)));
  }
}

async function listLocal(prefix: string, limit: number, asUrl: boolean, mustBeDirectory: boolean): Promise<ObjectInfo[]> {
  const walk = new Walk(limit, asUrl, prefix);
  if (limit === 0) return walk.out;
  const st = await fsCall(prefix, 'cannot stat', () => statOrUndefined(prefix));
  if (st?.isDirectory()) {
    await walk.directory(prefix, 0);
    return walk.out;
  }
  if (mustBeDirectory) throw new RootError('SOURCE_NOT_FOUND', st ? 'not a directory' : 'no such directory', { file: prefix });
  // A path prefix: the entries of the parent directory that start with the last component.
  const parent = path.dirname(prefix);
  const pst = await fsCall(parent, 'cannot stat', () => statOrUndefined(parent));
  if (!pst?.isDirectory()) throw new RootError('SOURCE_NOT_FOUND', `no such directory ${parent} (listing the prefix ${prefix})`, { file: prefix });
  await walk.enter(parent);
  await walk.visit(await walk.entries(parent, path.basename(prefix)), 0);
  return walk.out;
}

async function localReadText(file: string, maxBytes: number): Promise<string> {
  // non-blocking: opening a FIFO for reading would otherwise wait for a writer
  const fh: FileHandle = await fsCall(file, 'cannot open file', () => openFile(file, fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0)));
  try {
    const st = await fsCall(file, 'cannot stat file', () => fh.stat());
    if (!st.isFile()) throw new RootError('BAD_ARGUMENT', `${describeFileKind(st)}, not a regular file`, { file });
    if (st.size > maxBytes) throw new RootError('LIMIT', `file is ${st.size} bytes, over the ${maxBytes}-byte limit for a text file`, { file });
    // Read one byte more than allowed, in case the file grew since the stat.
    const buf = new Uint8Array(maxBytes + 1);
    let got = 0;
    for (;;) {
      const { bytesRead } = await fsCall(file, 'read failed', () => fh.read(buf, got, buf.length - got, got));
      if (bytesRead === 0) break;
      got += bytesRead;
      if (got > maxBytes) throw new RootError('LIMIT', `file is over the ${maxBytes}-byte limit for a text file`, { file });
    }
    return new TextDecoder('utf-8').decode(buf.subarray(0, got));
  } finally {
    await fh.close().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------
// HTTP

/** GET of a small text object: deadline per attempt, transient failures retried, body cut off past maxBytes. */
async function httpReadText(url: string, maxBytes: number, options: HttpSourceOptions): Promise<string> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RootError('BAD_ARGUMENT', 'not a valid URL', { file: redactUrl(url) });
  }
  const name = redactUrl(u);
  const headers = { ...options.headers };
  const secrets = [u.search, u.password, u.username, ...Object.values(headers)].filter((s) => s.length > 0);
  const timeoutMs = checkCount('timeoutMs', options.timeoutMs, DEFAULT_TIMEOUT_MS, 1);
  const fetchImpl = options.fetch ?? fetch;
  const fail = (code: RootError['code'], detail: string, cause?: unknown) => new RootError(code, scrubMessage(detail, secrets), { file: name }, cause === undefined ? {} : { cause });

  const attempt = async (): Promise<string> => {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error('deadline'));
    }, timeoutMs);
    try {
      const res = await fetchImpl(u, { headers, signal: controller.signal, redirect: 'follow' });
      if (!res.ok) {
        controller.abort(new Error('response dropped'));
        throw fail(codeForStatus(res.status), `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''} for GET`);
      }
      const encoded = (res.headers.get('content-encoding') ?? 'identity').trim().toLowerCase() !== 'identity';
      const len = res.headers.get('content-length');
      if (!encoded && len !== null && /^\d+$/.test(len.trim()) && Number(len) > maxBytes) {
        controller.abort(new Error('response dropped'));
        throw fail('LIMIT', `object is ${len.trim()} bytes, over the ${maxBytes}-byte limit for a text file`);
      }
      const chunks: Uint8Array[] = [];
      let total = 0;
      if (res.body) {
        const reader = res.body.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          total += value.length;
          if (total > maxBytes) {
            controller.abort(new Error('response dropped'));
            throw fail('LIMIT', `object is over the ${maxBytes}-byte limit for a text file`);
          }
          chunks.push(value);
        }
      }
      return new TextDecoder('utf-8').decode(Buffer.concat(chunks, total));
    } catch (e) {
      if (e instanceof RootError) throw e;
      if (timedOut) throw fail('SOURCE_TIMEOUT', `GET took longer than ${timeoutMs} ms`);
      const sys = systemErrorCode(e);
      const timeout = sys === 'ETIMEDOUT' || sys === 'UND_ERR_CONNECT_TIMEOUT' || sys === 'UND_ERR_HEADERS_TIMEOUT' || sys === 'UND_ERR_BODY_TIMEOUT';
      throw fail(timeout ? 'SOURCE_TIMEOUT' : 'SOURCE_UNAVAILABLE', `GET failed: ${describeError(e)}`, e);
    } finally {
      clearTimeout(timer);
    }
  };
  return withRetries(resolveRetryPolicy(options), attempt);
}
