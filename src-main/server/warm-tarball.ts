// Warm tarball hits answered before any routing, from memory: serving speed is what a mirror
// is for, and those hits need none of the routing (see http-app.ts). Only what needs no I/O
// qualifies (mirror/release-artifacts.ts decides which), asked for by a client that is not a
// web page.
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

export function warmTarballs(deps: { releases: ReleaseArtifacts; store: BlobStore; index: CacheIndex; metrics: Metrics }): FastPath {
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
  return (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '';
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !url.startsWith('/tarballs/')) return false;
    // A browser's request (Hex clients send neither header) goes the routed way, past the request policy.
    if (req.headers.origin !== undefined || req.headers['sec-fetch-site'] !== undefined) return false;
    const warm = deps.releases.warmTarball(url.slice('/tarballs/'.length));
    if (!warm) return false;
    let bytes: number;
    if (req.headers['if-none-match'] !== undefined) {
      // Conditional requests are rare from Hex clients: the general path handles the 304.
      const sent = sendWithoutIo(req, res, deps.store, warm.key, warm.entry, how);
      if (!sent) return false;
      bytes = sent.bytes;
    } else {
      const body = deps.store.hot.get(warm.key, warm.entry.sha256);
      if (!body) return false;
      res.writeHead(200, headOf(warm.entry, body.length));
      bytes = req.method === 'HEAD' ? 0 : body.length;
      res.end(bytes ? body : undefined);
    }
    deps.index.touch(warm.entry);
    deps.metrics.warmTarballHit(bytes);
    deps.metrics.usage.hit(bytes);
    return true;
  };
}
