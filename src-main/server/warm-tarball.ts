// Warm tarball hits answered before any routing, from memory: serving speed is what a mirror
// is for, and those hits need none of the routing (see http-app.ts). Only what needs no I/O
// qualifies (mirror/release-artifacts.ts decides which), asked for by a client that is not a
// web page.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Metrics } from '../core/metrics.js';
import { ARTIFACT_SERVING, type ReleaseArtifacts } from '../mirror/release-artifacts.js';
import type { BlobStore } from '../store/blob-store.js';
import type { CacheIndex } from '../store/cache-index.js';
import type { FastPath } from './http-app.js';
import { sendWithoutIo } from './respond.js';

export function warmTarballs(deps: { releases: ReleaseArtifacts; store: BlobStore; index: CacheIndex; metrics: Metrics }): FastPath {
  const { contentType, cacheControl } = ARTIFACT_SERVING.tarball;
  return (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '';
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !url.startsWith('/tarballs/')) return false;
    // A browser's request (Hex clients send neither header) goes the routed way, past the request policy.
    if (req.headers.origin !== undefined || req.headers['sec-fetch-site'] !== undefined) return false;
    const warm = deps.releases.warmTarball(url.slice('/tarballs/'.length));
    if (!warm) return false;
    const sent = sendWithoutIo(req, res, deps.store, warm.key, warm.entry, { contentType, cacheControl, cacheState: 'HIT' });
    if (!sent) return false;
    deps.index.touch(warm.entry);
    deps.metrics.hits.inc({ kind: 'tarball' });
    deps.metrics.bytesServed.inc({ kind: 'tarball' }, sent.bytes);
    deps.metrics.usage.hit(sent.bytes);
    return true;
  };
}
