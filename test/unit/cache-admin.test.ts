// Eviction under the size cap, on a real store and index in a temporary data dir.
import { mkdtemp } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CacheAdmin } from '../../src-main/control/cache-admin.js';
import { Catalog } from '../../src-main/control/catalog.js';
import { BlobStore } from '../../src-main/store/blob-store.js';
import { FsStorage } from '../../src-main/store/object-storage.js';
import { CacheIndex } from '../../src-main/store/cache-index.js';
import { keys } from '../../src-main/store/keys.js';
import { removeDir } from '../support/mirror.js';

const MiB = 1024 * 1024;
let dir: string;
let store: BlobStore;
let index: CacheIndex;
let admin: CacheAdmin;

async function put(name: string, size: number, lastUsedAt: number): Promise<string> {
  const key = keys.tarball(name, '1.0.0');
  await store.commit(await store.writeTemp(Buffer.alloc(size)), key);
  index.put(key, { kind: 'tarball', package: name, version: '1.0.0', size, sha256: 'x', fetchedAt: 0, validatedAt: 0, lastUsedAt, hits: 0 });
  return key;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hexhub-admin-'));
  const log = pino({ level: 'silent' });
  store = new BlobStore(dir);
  await store.init();
  index = new CacheIndex(dir, log);
  await index.load();
  // The catalog is only asked for sizes and keys here; it never needs the registry.
  const catalog = new Catalog(index, undefined as never, dir);
  admin = new CacheAdmin(dir, store, new FsStorage(store), index, catalog, log);
});

afterEach(async () => {
  await index.flush();
  await removeDir(dir);
});

describe('CacheAdmin.enforceCap', () => {
  it('evicts least recently used tarballs until under the cap', async () => {
    const oldest = await put('aaa', MiB, 1);
    const middle = await put('bbb', MiB, 2);
    const newest = await put('ccc', MiB, 3);
    const result = await admin.enforceCap(2 * MiB);
    expect(result).toEqual({ removed: 1, freedBytes: MiB });
    expect(index.get(oldest)).toBeUndefined();
    expect(existsSync(store.path(oldest))).toBe(false);
    expect(index.get(middle)).toBeDefined();
    expect(index.get(newest)).toBeDefined();
  });

  it('never evicts an object that is being served; takes the next one instead', async () => {
    const oldest = await put('aaa', MiB, 1);
    const middle = await put('bbb', MiB, 2);
    await put('ccc', MiB, 3);
    let evicted: Awaited<ReturnType<CacheAdmin['enforceCap']>> | undefined;
    await store.reading(oldest, async () => {
      evicted = await admin.enforceCap(2 * MiB);
    });
    expect(evicted).toEqual({ removed: 1, freedBytes: MiB });
    expect(index.get(oldest)).toBeDefined();
    expect(index.get(middle)).toBeUndefined();
  });

  it('evicts exactly what capVictims previewed, and marks evicted tarballs until stored again', async () => {
    const oldest = await put('aaa', MiB, 1);
    const middle = await put('bbb', MiB, 2);
    const newest = await put('ccc', MiB, 3);
    const preview = admin.capVictims(MiB);
    expect(preview).toEqual([
      { key: oldest, bytes: MiB, lastUsed: 1 },
      { key: middle, bytes: MiB, lastUsed: 2 },
    ]);
    expect(index.get(oldest)).toBeDefined();
    const result = await admin.enforceCap(MiB);
    expect(result).toEqual({ removed: 2, freedBytes: 2 * MiB });
    expect(index.all().map(([key]) => key)).toEqual([newest]);
    expect(index.evictedAt(oldest)).toEqual(expect.any(Number));
    expect(index.evictedAt(newest)).toBeUndefined();
    await put('aaa', MiB, 4);
    expect(index.evictedAt(oldest)).toBeUndefined();
    expect(index.evictedAt(middle)).toEqual(expect.any(Number));
  });

  it('previews nothing without a cap or under it, and never a copy being served', async () => {
    const oldest = await put('aaa', MiB, 1);
    await put('bbb', MiB, 2);
    expect(admin.capVictims(null)).toEqual([]);
    expect(admin.capVictims(2 * MiB)).toEqual([]);
    await store.reading(oldest, async () => {
      expect(admin.capVictims(MiB).map((v) => v.key)).toEqual([keys.tarball('bbb', '1.0.0')]);
    });
  });

  it('does nothing without a cap or under it', async () => {
    await put('aaa', MiB, 1);
    expect(await admin.enforceCap(null)).toEqual({ removed: 0, freedBytes: 0 });
    expect(await admin.enforceCap(10 * MiB)).toEqual({ removed: 0, freedBytes: 0 });
  });
});
