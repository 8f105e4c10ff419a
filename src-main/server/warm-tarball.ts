// Warm tarball hits answered before any routing: serving speed is what a mirror is for, and
// those hits need none of the routing (see http-app.ts). Only a tarball the index and the
// registry record in memory vouch for qualifies (mirror/release-artifacts.ts decides which),
// asked for by a client that is not a web page. It is served from the hot cache, or read off
// disk whole through a kept descriptor into a pooled buffer; anything unusual (a conditional
// request, HEAD, a large object, a file that is missing or of the wrong size) goes the routed
// way, which knows what to do about it.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Metrics } from '../core/metrics.js';
import { ARTIFACT_SERVING, type ReleaseArtifacts } from '../mirror/release-artifacts.js';
import type { BlobStore } from '../store/blob-store.js';
import type { CacheEntry, CacheIndex } from '../store/cache-index.js';
import type { FastPath } from './http-app.js';
import { bodyHeaders, etagOf, sendWithoutIo } from './respond.js';

/**
 * A warm tarball's response head, built once per stored object: the same head answers every
 * hit, and building it (object spreads, one header object per request) cost as much as a
 * tenth of a warm hit. Keyed by the index entry, which is a new object whenever the tarball is
 * stored again; the validators are compared anyway, as they are what the head carries.
 */
interface WarmHead {
  etag: string;
  lastModified: string | undefined;
  length: number;
  head: (string | number)[];
}

interface Deps {
  releases: ReleaseArtifacts;
  store: BlobStore;
  index: CacheIndex;
  metrics: Metrics;
}

export function warmTarballs(deps: Deps): FastPath {
  const { store } = deps;
  const how = { ...ARTIFACT_SERVING.tarball, cacheState: 'HIT' };
  const heads = new WeakMap<CacheEntry, WarmHead>();
  const headOf = (entry: CacheEntry, length: number): (string | number)[] => {
    const etag = etagOf(entry);
    const known = heads.get(entry);
    if (known && known.etag === etag && known.lastModified === entry.lastModified && known.length === length) return known.head;
    const head = Object.entries({ ...bodyHeaders({ ...how, etag, lastModified: entry.lastModified }), 'content-length': length }).flat();
    heads.set(entry, { etag, lastModified: entry.lastModified, length, head });
    return head;
  };
  const served = (entry: CacheEntry, bytes: number) => {
    deps.index.touch(entry);
    deps.metrics.warmTarballHit(bytes);
    deps.metrics.usage.hit(bytes);
  };

  /** Off the hot cache: the whole file in one read; kept in memory (hashed first) if the hot cache admits it. */
  const fromDisk = (req: IncomingMessage, res: ServerResponse, routed: (req: IncomingMessage, res: ServerResponse) => void, key: string, entry: CacheEntry) => {
    const size = entry.size;
    const keep = store.hot.admits(key, size);
    const into = keep ? Buffer.allocUnsafeSlow(size) : store.buffers.acquire(size);
    store.readWhole(key, size, into, (error) => {
      const body = keep ? into : into.subarray(0, size);
      // Whatever went wrong, the routed way finds it again and deals with it (drops a damaged file, fetches it anew).
      const verified = !error && (!keep || createHash('sha256').update(body).digest('hex') === entry.sha256);
      if (!verified) {
        if (!keep) store.buffers.release(into);
        routed(req, res);
        return;
      }
      if (keep) store.hot.put(key, entry.sha256, body);
      res.writeHead(200, headOf(entry, size));
      // The pooled buffer is reused once the response is handed to the socket ('finish');
      // if the client goes away first it is simply left to the collector.
      if (keep) res.end(body);
      else res.end(body, () => store.buffers.release(into));
      served(entry, size);
    });
  };

  return (req, res, routed) => {
    const url = req.url ?? '';
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !url.startsWith('/tarballs/')) return false;
    // A browser's request (Hex clients send neither header) goes the routed way, past the request policy.
    if (req.headers.origin !== undefined || req.headers['sec-fetch-site'] !== undefined) return false;
    const warm = deps.releases.warmTarball(url.slice('/tarballs/'.length));
    if (!warm) return false;
    if (req.headers['if-none-match'] !== undefined) {
      // Conditional requests are rare from Hex clients: the general path handles the 304.
      const sent = sendWithoutIo(req, res, store, warm.key, warm.entry, how);
      if (!sent) return false;
      served(warm.entry, sent.bytes);
      return true;
    }
    const body = store.hot.get(warm.key, warm.entry.sha256);
    if (body) {
      res.writeHead(200, headOf(warm.entry, body.length));
      const bytes = req.method === 'HEAD' ? 0 : body.length;
      res.end(bytes ? body : undefined);
      served(warm.entry, bytes);
      return true;
    }
    if (req.method === 'HEAD' || warm.entry.size > store.buffers.maxBytes) return false;
    fromDisk(req, res, routed, warm.key, warm.entry);
    return true;
  };
}
