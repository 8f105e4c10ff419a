// What a cache hands the route edge to serve: a stored copy (or, when the disk would not take
// it, the verified bytes in memory), and what the cache did to get it. The edge serves it
// (serve-cached.ts); the caches never write HTTP.
import type { CacheEntry } from '../store/cache-index.js';

/** What X-HexHub-Cache says. */
export type CacheState = 'HIT' | 'MISS' | 'REVALIDATED' | 'STALE';

export interface CachedCopy {
  key: string;
  entry: CacheEntry;
  state: CacheState;
  /** Why a stale copy was served. */
  staleReason?: string;
  /** The verified body, when the disk would not take it (full): served from memory, not kept. */
  unstored?: Buffer;
  /** The miss was counted when the download began (artifacts count every client that asks). */
  missCounted?: boolean;
}
