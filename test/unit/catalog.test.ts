// The catalog's views of the cache index (keys by package, bytes by kind), on a real index in a
// temporary data dir: made when first asked for after the index is loaded, not at start-up,
// kept up to date by the index's changes from then on, and made again after another load.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Catalog } from '../../src-main/control/catalog.js';
import { CacheIndex, type CacheEntry } from '../../src-main/store/cache-index.js';
import { writeIndexFile } from '../../src-main/store/index-journal.js';
import { keys } from '../../src-main/store/keys.js';
import { removeDir } from '../support/mirror.js';

let dir: string;

function entry(kind: CacheEntry['kind'], name: string | undefined, version: string | undefined, size: number): CacheEntry {
  return {
    kind,
    ...(name ? { package: name } : {}),
    ...(version ? { version } : {}),
    size,
    sha256: 'a'.repeat(64),
    fetchedAt: 1,
    validatedAt: 2,
    lastUsedAt: 3,
    hits: 0,
  };
}

/** Not in one run per package: a's entries come before and after b's. */
const stored: [string, CacheEntry][] = [
  [keys.tarball('a', '1.0.0'), entry('tarball', 'a', '1.0.0', 100)],
  [keys.tarball('b', '1.0.0'), entry('tarball', 'b', '1.0.0', 20)],
  [keys.docs('a', '1.0.0'), entry('docs', 'a', '1.0.0', 3)],
  [keys.package('a'), entry('registry', 'a', undefined, 4000)],
  [keys.names(), entry('registry', undefined, undefined, 50_000)],
];

async function loaded(): Promise<CacheIndex> {
  const index = new CacheIndex(dir, pino({ level: 'silent' }));
  await index.load();
  return index;
}

/** What a catalog shows of the index (its registry is never asked: no detail() here). */
function views(catalog: Catalog) {
  const list = catalog.list({ pageSize: 500 });
  return {
    counts: catalog.counts(),
    totalBytes: catalog.totalBytes,
    evictableBytes: catalog.evictableBytes,
    keys: Object.fromEntries(list.items.map(({ name }) => [name, catalog.keysOf(name).sort()])),
    list,
  };
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hexhub-catalog-'));
  await writeIndexFile(dir, stored);
});

afterEach(async () => {
  await removeDir(dir);
});

describe('the catalog', () => {
  it('is made from the loaded index when first asked for, as one prepared at once makes it', async () => {
    const index = await loaded();
    const lazy = new Catalog(index, undefined as never, dir);
    const eager = new Catalog(index, undefined as never, dir);
    eager.prepare();
    expect(views(lazy)).toEqual(views(eager));
    expect(lazy.counts()).toEqual({ packages: 2, releases: 2, docs: 1, bytes: 54_123 });
    expect(lazy.evictableBytes).toBe(123);
    expect(lazy.keysOf('a').sort()).toEqual([keys.docs('a', '1.0.0'), keys.package('a'), keys.tarball('a', '1.0.0')].sort());
  });

  it('shows what changed before it was first asked for, and keeps up with changes after', async () => {
    const index = await loaded();
    const catalog = new Catalog(index, undefined as never, dir);
    index.put(keys.tarball('c', '1.0.0'), entry('tarball', 'c', '1.0.0', 1000));
    index.delete(keys.tarball('b', '1.0.0'));
    expect(catalog.counts()).toEqual({ packages: 2, releases: 2, docs: 1, bytes: 55_103 });
    expect(catalog.keysOf('b')).toEqual([]);

    index.put(keys.tarball('c', '1.0.0'), entry('tarball', 'c', '1.0.0', 7));
    index.put(keys.tarball('c', '2.0.0'), entry('tarball', 'c', '2.0.0', 1));
    index.delete(keys.docs('a', '1.0.0'));
    expect(catalog.counts()).toEqual({ packages: 2, releases: 3, docs: 0, bytes: 54_108 });
    expect(catalog.evictableBytes).toBe(108);
    const again = new Catalog(index, undefined as never, dir);
    expect(views(catalog)).toEqual(views(again));
  });

  it('is made again after the index is loaded again (a load tells no listener)', async () => {
    const index = await loaded();
    const catalog = new Catalog(index, undefined as never, dir);
    expect(catalog.counts().packages).toBe(2);
    await writeIndexFile(dir, [[keys.tarball('z', '1.0.0'), entry('tarball', 'z', '1.0.0', 9)]]);
    await index.load();
    expect(catalog.counts()).toEqual({ packages: 1, releases: 1, docs: 0, bytes: 9 });
    expect(catalog.keysOf('a')).toEqual([]);
    index.put(keys.tarball('z', '2.0.0'), entry('tarball', 'z', '2.0.0', 1));
    expect(catalog.totalBytes).toBe(10);
  });
});
