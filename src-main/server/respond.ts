// Writing repository responses: stored objects with validators, and plain-text errors.
// Bytes go out exactly as stored: no Content-Encoding, no transcoding (Hex and rebar3
// verify the raw upstream bytes).
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { FileHandle } from 'node:fs/promises';
import type { BlobStore } from '../store/blob-store.js';
import type { CacheEntry } from '../store/cache-index.js';
import { STATUS_OF } from '../../src-shared/problems.js';
import type { Problem } from '../core/problem.js';

/** Larger objects stream from disk in chunks of this size. */
const STREAM_CHUNK = 256 * 1024;

/**
 * On every repository response: these are bytes for Hex clients, never a document. A browser
 * that opens one must neither guess it is HTML nor run anything in it (a hostile upstream's
 * "docs" included).
 */
export const REPOSITORY_HEADERS = { 'x-content-type-options': 'nosniff', 'content-security-policy': 'sandbox' } as const;

/** Headers of a stored copy served although it could not be revalidated (or while it is), with why. */
export function staleHeaders(reason: string): Record<string, string> {
  return { 'x-hexhub-stale': reason.replace(/[^\x20-\x7e]/g, ' ').slice(0, 300), warning: '110 hexhub "Response is Stale"' };
}

export function etagOf(entry: CacheEntry): string {
  return entry.etag ?? `"${entry.sha256}"`;
}

/** RFC 9110 weak comparison of If-None-Match against our ETag. */
export function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const ours = etag.replace(/^W\//, '');
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === ours);
}

export interface StoredResponse {
  contentType: string;
  cacheControl: string;
  cacheState: string;
  extraHeaders?: Record<string, string>;
}

/** The head of an answer with a body, stored or streamed live: the object's validators and what the cache did. */
export function bodyHeaders(how: StoredResponse & { etag: string; lastModified?: string | undefined }): Record<string, string | number> {
  return {
    ...REPOSITORY_HEADERS,
    'content-type': how.contentType,
    etag: how.etag,
    'cache-control': how.cacheControl,
    'x-hexhub-cache': how.cacheState,
    ...(how.lastModified !== undefined ? { 'last-modified': how.lastModified } : {}),
    ...how.extraHeaders,
  };
}

function headersFor(entry: CacheEntry, how: StoredResponse): Record<string, string | number> {
  return bodyHeaders({ ...how, etag: etagOf(entry), lastModified: entry.lastModified });
}

/**
 * Answers from what needs no I/O: a 304 for a matching If-None-Match, or the object's
 * in-memory copy. Returns undefined when the disk is needed. Synchronous, so the server can
 * try it before any routing (see http-app.ts).
 */
export function sendWithoutIo(
  req: IncomingMessage,
  res: ServerResponse,
  store: BlobStore,
  key: string,
  entry: CacheEntry,
  how: StoredResponse,
): { sent: true; bytes: number } | undefined {
  const headers = headersFor(entry, how);
  if (matchesIfNoneMatch(req.headers['if-none-match'], headers.etag as string)) {
    delete headers['content-type'];
    res.writeHead(304, headers).end();
    return { sent: true, bytes: 0 };
  }
  const cached = store.hot.get(key, entry.sha256);
  if (!cached) return undefined;
  return sendBody(req, res, entry, cached, how, headers);
}

/** Sends an object's verified bytes held in memory. */
export function sendBody(
  req: IncomingMessage,
  res: ServerResponse,
  entry: CacheEntry,
  body: Buffer,
  how: StoredResponse,
  headers = headersFor(entry, how),
): { sent: true; bytes: number } {
  headers['content-length'] = body.length;
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
  return { sent: true, bytes: req.method === 'HEAD' ? 0 : body.length };
}

/**
 * Sends a stored object. Returns false, having sent nothing, when the file is missing or
 * its size disagrees with the index: the caller then treats it as a miss.
 */
export function sendStored(
  req: IncomingMessage,
  res: ServerResponse,
  store: BlobStore,
  key: string,
  entry: CacheEntry,
  how: StoredResponse,
): Promise<{ sent: boolean; bytes: number }> {
  // Marked in use while it is read, so eviction leaves it alone.
  return store.reading(key, async () => {
    const quick = sendWithoutIo(req, res, store, key, entry, how);
    if (quick) return quick;
    const headers = headersFor(entry, how);
    let file: FileHandle | undefined;
    try {
      file = await store.open(key);
    } catch {
      return { sent: false, bytes: 0 };
    }
    try {
      const { size } = await file.stat();
      if (size !== entry.size) return { sent: false, bytes: 0 };
      if (size <= store.hot.maxObjectBytes && req.method !== 'HEAD') {
        const body = await file.readFile();
        // Closed before answering, so the caller's bookkeeping (hit counters) runs before the
        // client can see the response and ask for the next thing.
        await file.close();
        file = undefined;
        // Hashed once on its way into memory, so what warm hits serve from there is verified.
        if (body.length !== entry.size || createHash('sha256').update(body).digest('hex') !== entry.sha256) return { sent: false, bytes: 0 };
        store.hot.put(key, entry.sha256, body);
        return sendBody(req, res, entry, body, how, headers);
      }
      headers['content-length'] = size;
      res.writeHead(200, headers);
      if (req.method === 'HEAD') {
        res.end();
        return { sent: true, bytes: 0 };
      }
      await pipeline(file.createReadStream({ autoClose: false, highWaterMark: STREAM_CHUNK }), res).catch(() => res.destroy());
      return { sent: true, bytes: size };
    } finally {
      await file?.close();
    }
  });
}

export function sendError(res: ServerResponse, error: Problem): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = `${error.message}\n`;
  res.writeHead(STATUS_OF[error.kind], {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...REPOSITORY_HEADERS,
    ...error.headers,
  });
  res.end(body);
}
