// Serving what a cache found, at the route edge, the same way for every repository resource:
// the stored copy (or the verified bytes in memory) with its validators, the counters, and
// what a stored file found damaged (missing, or of the wrong size) means: it is never served,
// but logged, counted, dropped and fetched again, once.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { Problem } from '../core/problem.js';
import type { Metrics } from '../core/metrics.js';
import { sendBody, sendStored, staleHeaders, type StoredResponse } from './respond.js';
import type { BlobStore } from '../store/blob-store.js';
import type { CacheIndex } from '../store/cache-index.js';
import type { CachedCopy } from '../mirror/cached-copy.js';

export interface ServeDeps {
  store: BlobStore;
  index: CacheIndex;
  metrics: Metrics;
  log: Logger;
}

/** How a resource is served: its metric label and its own headers (a content type kept with a copy wins). */
export interface Serving {
  kind: string;
  contentType: string;
  cacheControl: string;
  vary?: string;
}

/**
 * Serves the copy `find` resolves to. `find` may answer the client itself (a download
 * streamed live) and resolve to nothing. When the stored file turns out damaged, `find` is
 * asked once more: with the file dropped, it fetches it again.
 */
export async function serveCached(
  deps: ServeDeps,
  req: IncomingMessage,
  res: ServerResponse,
  find: () => Promise<CachedCopy | undefined>,
  how: Serving,
): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const copy = await find();
    if (!copy) return;
    const answer = answerFor(copy, how);
    const { sent, bytes } = copy.unstored
      ? sendBody(req, res, copy.entry, copy.unstored, answer)
      : await sendStored(req, res, deps.store, copy.key, copy.entry, answer);
    if (sent) {
      count(deps, copy, how.kind, bytes);
      return;
    }
    await dropDamaged(deps, copy.key, how.kind);
  }
  throw new Problem('upstream_failed', 'stored object could not be read');
}

function answerFor(copy: CachedCopy, how: Serving): StoredResponse {
  const stale = copy.state === 'STALE';
  return {
    // What the upstream said, where it was kept (API answers), over the resource's own.
    contentType: copy.entry.contentType ?? how.contentType,
    cacheControl: stale ? 'no-cache' : how.cacheControl,
    cacheState: copy.state,
    extraHeaders: {
      ...(how.vary ? { vary: how.vary } : {}),
      ...(copy.entry.hexMessage !== undefined ? { 'x-hex-message': copy.entry.hexMessage } : {}),
      ...(stale ? staleHeaders(copy.staleReason ?? 'upstream failed') : {}),
    },
  };
}

function count({ index, metrics }: ServeDeps, copy: CachedCopy, kind: string, bytes: number): void {
  if (!copy.unstored) index.touch(copy.entry);
  metrics.bytesServed.inc({ kind }, bytes);
  if (copy.state !== 'MISS') {
    metrics.hits.inc({ kind });
    metrics.usage.hit(bytes);
    return;
  }
  if (!copy.missCounted) {
    metrics.misses.inc({ kind });
    metrics.usage.add('misses');
  }
  metrics.usage.add('bytesServed', bytes);
}

async function dropDamaged({ store, index, metrics, log }: ServeDeps, key: string, kind: string): Promise<void> {
  log.warn({ event: 'damaged_object', key }, 'stored object missing or of the wrong size; fetching it again');
  metrics.damagedObjects.inc({ kind, found_by: 'serving' });
  index.delete(key);
  await store.remove(key);
}
