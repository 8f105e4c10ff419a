// The cache index's file (index.jsonl): an append-only journal with compaction, on real files
// in a temporary data dir. What survives a restart, what a crash or a damaged line does, the
// migration from the index.json of earlier versions, the file's mode, failed writes (a path
// that cannot be written, a full disk), and the bytes written at hex.pm's size.
import { appendFile, mkdir, mkdtemp, readFile, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CacheIndex, type CacheEntry } from '../../src-main/store/cache-index.js';
import { Interner, line, parseRecord, PutLineReader, writeIndexFile } from '../../src-main/store/index-journal.js';
import { keys } from '../../src-main/store/keys.js';
import { readIndexFile } from '../support/index-file.js';
import { removeDir } from '../support/mirror.js';
import { canMountTmpfs, mountTmpfs, type Tmpfs } from '../support/tmpfs.js';

const MiB = 1024 * 1024;
let dir: string;
let opened: CacheIndex[] = [];
let logs: Record<string, unknown>[] = [];
let writeErrors: Error[] = [];

function tarball(name: string, version = '1.0.0', extra: Partial<CacheEntry> = {}): CacheEntry {
  return { kind: 'tarball', package: name, version, size: 100, sha256: 'a'.repeat(64), fetchedAt: 1, validatedAt: 2, lastUsedAt: 3, hits: 0, ...extra };
}

/** A CacheIndex on `dir` (loaded), as the engine makes one; its logs go to `logs`. */
async function openIndex(options: { minCompactBytes?: number; at?: string } = {}): Promise<CacheIndex> {
  const log = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) });
  const index = new CacheIndex(options.at ?? dir, log, 1000, (error) => writeErrors.push(error), { minCompactBytes: options.minCompactBytes });
  await index.load();
  opened.push(index);
  return index;
}

const events = () => logs.map((l) => l.event);

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hexhub-index-'));
  opened = [];
  logs = [];
  writeErrors = [];
});

afterEach(async () => {
  await removeDir(dir);
});

describe('the index file', () => {
  it('keeps stored, removed, touched, annotated, validated entries and eviction marks across a restart', async () => {
    const index = await openIndex();
    index.put(keys.tarball('a', '1.0.0'), tarball('a'));
    index.put(keys.tarball('b', '1.0.0'), tarball('b'));
    index.put(keys.tarball('c', '1.0.0'), tarball('c'));
    await index.flush();
    index.delete(keys.tarball('b', '1.0.0'));
    index.markEvicted(keys.tarball('b', '1.0.0'), 1234);
    index.markEvicted(keys.tarball('b', '2.0.0'), 1235);
    const a = index.get(keys.tarball('a', '1.0.0'))!;
    index.touch(a);
    index.touch(a);
    const c = index.get(keys.tarball('c', '1.0.0'))!;
    index.annotate(c, { trust: 'SHA256:key' });
    index.markValidated(c);
    // Replaced: the new entry is what counts, also for a touch of the old one.
    const old = index.get(keys.tarball('c', '1.0.0'))!;
    index.put(keys.tarball('d', '1.0.0'), tarball('d'));
    index.put(keys.tarball('d', '1.0.0'), tarball('d', '1.0.0', { size: 7 }));
    await index.flush();
    expect(await readFile(join(dir, 'index.jsonl'), 'utf8')).toMatch(/^\{"format":"hexhub-index","version":1\}\n/);

    const again = await openIndex();
    expect(again.size).toBe(3);
    expect(again.get(keys.tarball('a', '1.0.0'))).toMatchObject({ hits: 2, lastUsedAt: a.lastUsedAt });
    expect(again.get(keys.tarball('b', '1.0.0'))).toBeUndefined();
    expect(again.get(keys.tarball('c', '1.0.0'))).toEqual(old);
    expect(again.get(keys.tarball('c', '1.0.0'))?.trust).toBe('SHA256:key');
    expect(again.get(keys.tarball('d', '1.0.0'))?.size).toBe(7);
    expect(again.evictedAt(keys.tarball('b', '1.0.0'))).toBe(1234);
    expect(again.evictedCount('b')).toBe(2);
    // Storing it again forgets the mark, also after a restart.
    again.put(keys.tarball('b', '2.0.0'), tarball('b', '2.0.0'));
    await again.flush();
    const third = await openIndex();
    expect(third.evictedCount('b')).toBe(1);
    expect(third.evictedAt(keys.tarball('b', '2.0.0'))).toBeUndefined();
    expect(events()).not.toContain('index_damaged');
  });

  it('keeps every kind of entry exactly, all its fields, and its touches and annotations', async () => {
    const base = { size: 10, sha256: 'b'.repeat(64), fetchedAt: 1, validatedAt: 2, lastUsedAt: 3, hits: 4 };
    const stored: [string, CacheEntry][] = [
      [keys.tarball('a', '1.0.0-rc.1+build'), { kind: 'tarball', package: 'a', version: '1.0.0-rc.1+build', ...base, trust: 'SHA256:x' }],
      [keys.docs('a', '1.0.0'), { kind: 'docs', package: 'a', version: '1.0.0', ...base, etag: '"up"', upstreamEtag: 'W/"u"' }],
      [keys.package('a'), { kind: 'registry', package: 'a', ...base, upstreamEtag: '"e"', trust: 'SHA256:x' }],
      [keys.names(), { kind: 'registry', ...base }],
      [keys.versions(), { kind: 'registry', ...base }],
      [keys.publicKey(), { kind: 'public_key', ...base, trust: 'http://up' }],
      [
        keys.api('json', 'a', '1.0.0'),
        {
          kind: 'api',
          package: 'a',
          version: '1.0.0',
          ...base,
          contentType: 'application/json; charset=utf-8',
          lastModified: 'Mon',
          hexMessage: 'héllo ✓\nthere',
        },
      ],
      [keys.installs(['hex-1.0.0.ez']), { kind: 'installs', ...base }],
      // Not what its key says (no entry is made so; kept as it is all the same).
      [keys.tarball('b', '2.0.0'), { kind: 'docs', package: 'c', ...base }],
    ];
    const index = await openIndex();
    for (const [key, entry] of stored) index.put(key, { ...entry });
    await index.flush();
    let again = await openIndex();
    expect(again.all()).toEqual(stored);

    for (const [key] of stored) {
      const entry = again.get(key)!;
      again.touch(entry);
      again.markValidated(entry);
    }
    again.annotate(again.get(keys.api('json', 'a', '1.0.0'))!, { trust: 'http://other' });
    await again.flush();
    const touches = (await readFile(join(dir, 'index.jsonl'), 'utf8')).split('\n').filter((l) => l.startsWith('["put"')).length;
    expect(touches).toBe(2 * stored.length);
    const changed = again.all();
    again = await openIndex();
    expect(again.all()).toEqual(changed);
    expect(again.get(keys.installs(['hex-1.0.0.ez']))?.hits).toBe(5);
    expect(again.get(keys.api('json', 'a', '1.0.0'))?.trust).toBe('http://other');
    expect(Object.entries(again.get(keys.names())!).map(([field]) => field)).not.toContain('package');
  });

  it('journals a touch as one small record, lazily (not the whole entry, not at once)', async () => {
    const index = await openIndex();
    const key = keys.tarball('a', '1.0.0');
    index.put(key, tarball('a'));
    await index.flush();
    const before = index.fileBytes;
    for (let i = 0; i < 1000; i++) index.touch(index.get(key)!);
    // Not written within the ordinary batch delay.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(index.fileBytes).toBe(before);
    await index.flush();
    const added = (await readFile(join(dir, 'index.jsonl'), 'utf8')).split('\n').filter(Boolean).slice(2);
    expect(added).toEqual([`["touch","${key}",1000,${index.get(key)!.lastUsedAt}]`]);
  });

  it('is written for a new data dir, also with nothing in it, and is its owner’s alone (0600), also after a compaction', async () => {
    const index = await openIndex({ minCompactBytes: 1 });
    await index.flush();
    expect((await readIndexFile(dir)).entries).toEqual({});
    expect((await stat(join(dir, 'index.jsonl'))).mode & 0o777).toBe(0o600);
    index.put(keys.tarball('a', '1.0.0'), tarball('a'));
    await index.flush();
    expect((await stat(join(dir, 'index.jsonl'))).mode & 0o777).toBe(0o600);
    expect(existsSync(join(dir, 'index.jsonl.tmp'))).toBe(false);
  });

  it('ignores a torn last line (a crash mid-append), says so, and appends cleanly after it', async () => {
    const index = await openIndex();
    index.put(keys.tarball('a', '1.0.0'), tarball('a'));
    await index.flush();
    await appendFile(join(dir, 'index.jsonl'), '["put","tarballs/b-1.0.0.tar",100,"aaa');

    const again = await openIndex();
    expect(logs).toContainEqual(expect.objectContaining({ event: 'index_torn', level: 40 }));
    expect(again.all().map(([key]) => key)).toEqual([keys.tarball('a', '1.0.0')]);
    again.put(keys.tarball('c', '1.0.0'), tarball('c'));
    await again.flush();
    logs = [];
    const third = await openIndex();
    expect(third.all().map(([key]) => key)).toEqual([keys.tarball('a', '1.0.0'), keys.tarball('c', '1.0.0')]);
    expect(events()).not.toContain('index_torn');
    expect(events()).not.toContain('index_damaged');
  });

  it('skips lines that are not records, and keeps the rest', async () => {
    const index = await openIndex();
    index.put(keys.tarball('a', '1.0.0'), tarball('a'));
    await index.flush();
    await appendFile(
      join(dir, 'index.jsonl'),
      [
        'garbage',
        '["put","tarballs/x-1.0.0.tar","not an entry"]',
        '[1,2]',
        '["evict","tarballs/y-1.0.0.tar"]',
        '{"put":"tarballs/z-1.0.0.tar"}',
        '\u0000\u0000',
        '',
      ].join('\n'),
    );
    await appendFile(join(dir, 'index.jsonl'), `["put","tarballs/b-1.0.0.tar",1,"${'b'.repeat(64)}",1,2,3,4,null]\n`);

    const again = await openIndex();
    expect(again.all().map(([key]) => key)).toEqual([keys.tarball('a', '1.0.0'), keys.tarball('b', '1.0.0')]);
    expect(logs).toContainEqual(expect.objectContaining({ event: 'index_damaged', lines: 6 }));
    expect(again.get(keys.tarball('b', '1.0.0'))).toEqual({
      kind: 'tarball',
      package: 'b',
      version: '1.0.0',
      size: 1,
      sha256: 'b'.repeat(64),
      fetchedAt: 1,
      validatedAt: 2,
      lastUsedAt: 3,
      hits: 4,
    });
  });

  it('starts afresh from a file that is not an index of this version (reconcile rebuilds it), and replaces it', async () => {
    await writeFile(join(dir, 'index.jsonl'), '{"format":"hexhub-index","version":99}\n["put","tarballs/a-1.0.0.tar",1,"a",1,2,3,4,null]\n');
    const index = await openIndex();
    expect(index.size).toBe(0);
    expect(logs).toContainEqual(expect.objectContaining({ msg: expect.stringMatching(/unreadable/) }));
    index.put(keys.tarball('b', '1.0.0'), tarball('b'));
    await index.flush();
    expect(Object.keys((await readIndexFile(dir)).entries)).toEqual([keys.tarball('b', '1.0.0')]);
  });

  it('is compacted once past twice what is live: the file holds only live state, and appends go on after it', async () => {
    const index = await openIndex({ minCompactBytes: 64 * 1024 });
    for (let i = 0; i < 100; i++) index.put(keys.tarball(`p${i}`, '1.0.0'), tarball(`p${i}`));
    await index.flush();
    const live = index.fileBytes;
    // The same 100 keys over and over, with their marks: live state stays the same size.
    let compactions = 0;
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 100; i++) index.put(keys.tarball(`p${i}`, '1.0.0'), tarball(`p${i}`, '1.0.0', { hits: round }));
      index.delete(keys.tarball('p0', '1.0.0'));
      index.markEvicted(keys.tarball('p0', '1.0.0'), round);
      const before = index.fileBytes;
      await index.flush();
      if (index.fileBytes < before) compactions++;
      expect(index.fileBytes).toBeLessThanOrEqual(Math.max(64 * 1024, 2 * live) + 40 * 1024);
    }
    expect(compactions).toBeGreaterThan(0);
    expect(events()).toContain('index_compacted');
    const again = await openIndex();
    expect(again.size).toBe(99);
    expect(again.get(keys.tarball('p5', '1.0.0'))?.hits).toBe(39);
    expect(again.evictedAt(keys.tarball('p0', '1.0.0'))).toBe(39);
    expect(existsSync(join(dir, 'index.jsonl.tmp'))).toBe(false);
  });

  it('keeps at most 5000 eviction marks, the newest, across a restart', async () => {
    const index = await openIndex();
    for (let i = 0; i < 5100; i++) index.markEvicted(keys.tarball(`p${i}`, '1.0.0'), i);
    await index.flush();
    const again = await openIndex();
    expect(again.evictedAt(keys.tarball('p99', '1.0.0'))).toBeUndefined();
    expect(again.evictedAt(keys.tarball('p100', '1.0.0'))).toBe(100);
    expect(again.evictedAt(keys.tarball('p5099', '1.0.0'))).toBe(5099);
    expect(again.evictedCount('p99')).toBe(0);
    expect(again.evictedCount('p100')).toBe(1);
  });
});

describe('put lines read straight from the bytes (PutLineReader), as parseRecord reads them', () => {
  const sha = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
  const fingerprint = 'SHA256:SrLuXInhYTXrqkDSBv3ZZG2b0tPbLYUQiWiRnQkgIno';
  const at = 1796322299865;
  const release = (kind: 'tarball' | 'docs', name: string, version: string, extra: Partial<CacheEntry> = {}): CacheEntry => ({
    kind,
    package: name,
    version,
    size: 1234,
    sha256: sha,
    trust: fingerprint,
    fetchedAt: at,
    validatedAt: at + 1,
    lastUsedAt: at + 2,
    hits: 7,
    ...extra,
  });
  const put = (key: string, entry: CacheEntry) => line.put(key, entry).slice(0, -1);
  const fields = (key: string, rest: string) => `["put","${key}",${rest}]`;

  // In order: one reader reads them all, so it compares each with what it read before.
  const written = [
    put(keys.tarball('a', '1.0.0'), release('tarball', 'a', '1.0.0')),
    // A run of one package and signing key.
    put(keys.tarball('a', '1.1.0'), release('tarball', 'a', '1.1.0')),
    put(keys.tarball('a', '1.2.0-rc.1'), release('tarball', 'a', '1.2.0-rc.1', { trust: undefined })),
    // Another package and trust, then a damaged line, then the same package and trust again.
    put(keys.tarball('phoenix_live_view', '1.0.0'), release('tarball', 'phoenix_live_view', '1.0.0', { trust: 'http://up' })),
    '["put","tarballs/phoenix_live_view-1.1.0.tar",1234,"e3b0',
    put(keys.tarball('phoenix_live_view', '1.1.0'), release('tarball', 'phoenix_live_view', '1.1.0', { trust: 'http://up' })),
    put(keys.docs('phoenix_live_view', '1.1.0'), release('docs', 'phoenix_live_view', '1.1.0', { trust: 'http://up' })),
    put(keys.package('phoenix_live_view'), { ...release('tarball', 'phoenix_live_view', ''), kind: 'registry', version: undefined }),
    put(keys.package('b'), { ...release('tarball', 'b', ''), kind: 'registry', version: undefined, trust: undefined }),
    put(keys.tarball('b', '1.0.0'), release('tarball', 'b', '1.0.0', { trust: '', size: 0, hits: 999_999_999_999_999 })),
    // The same versions as another package's (interned: one string for all).
    put(keys.tarball('c', '1.0.0'), release('tarball', 'c', '1.0.0')),
    put(keys.tarball('c', '1.1.0'), release('tarball', 'c', '1.1.0')),
    fields('tarballs/c-.tar', `1,"${sha}",1,2,3,4,null`),
    // More versions than the reader keeps (some share a place there).
    ...Array.from({ length: 5000 }, (_, i) => put(keys.tarball('g', `0.${i}.0`), release('tarball', 'g', `0.${i}.0`))),
  ];
  // Left to parseRecord: read there, or damaged there too.
  const others = [
    put(keys.tarball('d', '1.0.0'), release('tarball', 'd', '1.0.0', { etag: '"e"' })),
    put(keys.tarball('d', '1.0.0'), { ...release('tarball', 'd', '1.0.0'), package: 'e' }),
    put(keys.api('json', 'd', '1.0.0'), { ...release('tarball', 'd', '1.0.0'), kind: 'api' }),
    put(keys.names(), { ...release('tarball', 'd', '1.0.0'), kind: 'registry', package: undefined, version: undefined }),
    put(keys.tarball('d', '1.0.0'), release('tarball', 'd', '1.0.0', { trust: 'SHA256:é' })),
    put(keys.tarball('d', '1.0.0'), release('tarball', 'd', '1.0.0', { size: 1.5 })),
    put(keys.tarball('d', '1.0.0'), release('tarball', 'd', '1.0.0', { size: -1 })),
    put(keys.tarball('d', '1.0.0'), release('tarball', 'd', '1.0.0', { size: 1e21 })),
    put(keys.tarball('d', '1.0.0'), release('tarball', 'd', '1.0.0', { hits: 1_234_567_890_123_456 })),
    fields('tarballs/d\\u002d1.0.0.tar', `1,"${sha}",1,2,3,4,null`),
    fields('tarballs/d-1.0.0.tar', `01,"${sha}",1,2,3,4,null`),
    fields('tarballs/d-1.0.0.tar', `1,"${sha}",1,2,3,4,1e3,null`),
    fields('tarballs/d-1.0.0.tar', `1, "${sha}",1,2,3,4,null`),
    fields('tarballs/d-1.0.0.tar', `1,"${sha}",1,2,3,4,"${fingerprint}"`) + '\r',
    fields('tarballs/d-1.0.0.tar', `1,"${sha}",1,2,3,4,nul`),
    fields('tarballs/d-1.0.0.tar', `1,"${sha}",1,2,3,4,null`) + ']',
    fields('tarballs/d\t-1.0.0.tar', `1,"${sha}",1,2,3,4,null`),
    fields('tarballs/d-1.0.0.tar', `1,"${sha}\u0001",1,2,3,4,null`),
    fields('tarballs/d.tar', `1,"${sha}",1,2,3,4,null`),
    fields('tarballs/-1.0.0.tar', `1,"${sha}",1,2,3,4,null`),
    fields('docs/.tar.gz', `1,"${sha}",1,2,3,4,null`),
    fields('registry/packages/', `1,"${sha}",1,2,3,4,null`),
    fields('tarballs/d-1.0.0.tar', `1,"${sha}",1,2,3,4`),
    line.touch(keys.tarball('a', '1.0.0'), { hits: 1, lastUsedAt: 2 }).slice(0, -1),
    line.remove(keys.tarball('a', '1.0.0')).slice(0, -1),
    'garbage',
  ];

  it('reads what line.put writes for releases and package records, as parseRecord does, field for field and in the same order', () => {
    const reader = new PutLineReader(new Interner());
    const lines = [...written, ...others, ...written];
    const fast = lines.map((text) => {
      const data = Buffer.from(`${text}\n`);
      let read: { key: string; entry: CacheEntry; named: boolean } | undefined;
      const taken = reader.read(data, 0, data.length - 1, (key, entry, named) => (read = { key, entry, named }));
      expect(taken).toBe(read !== undefined);
      return read;
    });
    // It reads the writer's lines (but the damaged one), and none of the others.
    expect(lines.filter((_, i) => fast[i])).toEqual([...written, ...written].filter((text) => !text.endsWith('"e3b0')));
    for (const [i, read] of fast.entries()) {
      if (!read) continue;
      const record = parseRecord(lines[i]!);
      expect(record).toEqual({ type: 'put', key: read.key, entry: read.entry, named: true });
      expect(Object.keys(read.entry)).toEqual(Object.keys(record?.type === 'put' ? record.entry : {}));
    }
  });

  it('loads a file of runs of one package and trust, other packages and damaged lines between, a line longer than a read, as parseRecord reads it', async () => {
    const long = put(keys.tarball('f', '1.0.0'), release('tarball', 'f', '1.0.0', { hexMessage: 'm'.repeat(3 * MiB) }));
    const lines = [...written, long, ...others, ...written.slice(0, 3), long, ...written.slice(3)];
    await writeFile(join(dir, 'index.jsonl'), `{"format":"hexhub-index","version":1}\n${lines.join('\n')}\n["put","tarballs/torn`);
    const expected = new Map<string, CacheEntry>();
    let damaged = 0;
    for (const text of lines) {
      const record = parseRecord(text);
      if (record?.type === 'put') expected.set(record.key, record.entry);
      else if (record?.type === 'remove') expected.delete(record.key);
      else if (record?.type === 'touch' && expected.has(record.key))
        Object.assign(expected.get(record.key)!, { hits: record.hits, lastUsedAt: record.lastUsedAt });
      else if (!record) damaged++;
    }
    const index = await openIndex();
    expect(index.all()).toEqual([...expected]);
    expect(index.get(keys.tarball('f', '1.0.0'))?.hexMessage).toHaveLength(3 * MiB);
    expect(logs).toContainEqual(expect.objectContaining({ event: 'index_damaged', lines: damaged }));
    expect(logs).toContainEqual(expect.objectContaining({ event: 'index_torn', bytes: '["put","tarballs/torn'.length }));
  });
});

describe('the index.json of earlier versions', () => {
  it('is read once when there is no journal, written as the journal, then removed', async () => {
    const entries = { [keys.tarball('a', '1.0.0')]: tarball('a', '1.0.0', { hits: 5 }), [keys.package('a')]: { ...tarball('a'), kind: 'registry' } };
    const evicted = { [keys.tarball('a', '0.9.0')]: 10, [keys.tarball('z', '1.0.0')]: 11 };
    await writeFile(join(dir, 'index.json'), JSON.stringify({ schema: 1, entries, evicted }));
    const index = await openIndex();
    expect(index.size).toBe(2);
    expect(index.get(keys.tarball('a', '1.0.0'))?.hits).toBe(5);
    expect(index.evictedCount('a')).toBe(1);
    expect(events()).toContain('index_migrated');
    // Written at the first flush (a stop, at the latest), and only then is index.json removed.
    expect(existsSync(join(dir, 'index.json'))).toBe(true);
    await index.flush();
    expect(existsSync(join(dir, 'index.json'))).toBe(false);
    const file = await readIndexFile(dir);
    expect(file.entries).toEqual(entries);
    expect(Object.entries(file.evicted)).toEqual(Object.entries(evicted));
    expect((await stat(join(dir, 'index.jsonl'))).mode & 0o777).toBe(0o600);

    const again = await openIndex();
    expect(again.all()).toEqual(Object.entries(entries));
    expect(again.evictedAt(keys.tarball('z', '1.0.0'))).toBe(11);
  });

  it('starts afresh from an unreadable index.json, and removes it once the journal is written', async () => {
    await writeFile(join(dir, 'index.json'), '{"schema":1,"entries":{"tarb');
    const index = await openIndex();
    expect(index.size).toBe(0);
    await index.flush();
    expect(existsSync(join(dir, 'index.json'))).toBe(false);
    expect(existsSync(join(dir, 'index.jsonl'))).toBe(true);
  });

  it('left beside a journal (a crash between the two), is the older one: removed at load', async () => {
    await writeIndexFile(dir, [[keys.tarball('new', '1.0.0'), tarball('new')]]);
    await writeFile(join(dir, 'index.json'), JSON.stringify({ schema: 1, entries: { [keys.tarball('old', '1.0.0')]: tarball('old') } }));
    const index = await openIndex();
    expect(index.all().map(([key]) => key)).toEqual([keys.tarball('new', '1.0.0')]);
    expect(existsSync(join(dir, 'index.json'))).toBe(false);
  });
});

describe('a failed write', () => {
  it('keeps the entries in memory, says so, and the retry writes them (the journal path is a folder)', async () => {
    await mkdir(join(dir, 'index.jsonl'));
    const index = await openIndex();
    index.put(keys.tarball('a', '1.0.0'), tarball('a'));
    index.markEvicted(keys.tarball('z', '1.0.0'), 5);
    await index.flush();
    expect(writeErrors).toHaveLength(1);
    expect(events()).toContain('index_write_failed');
    expect(index.get(keys.tarball('a', '1.0.0'))).toBeDefined();
    expect(existsSync(join(dir, 'index.jsonl.tmp'))).toBe(false);

    await rmdir(join(dir, 'index.jsonl'));
    index.put(keys.tarball('b', '1.0.0'), tarball('b'));
    await index.flush();
    expect(writeErrors).toHaveLength(1);
    const file = await readIndexFile(dir);
    expect(Object.keys(file.entries)).toEqual([keys.tarball('a', '1.0.0'), keys.tarball('b', '1.0.0')]);
    expect(file.evicted).toEqual({ [keys.tarball('z', '1.0.0')]: 5 });
  });

  it('of a compaction keeps appending meanwhile (the old file is whole), and compacts later', async () => {
    const index = await openIndex({ minCompactBytes: 1 });
    index.put(keys.tarball('a', '1.0.0'), tarball('a'));
    await index.flush();
    logs = [];
    // The temporary file cannot be made: compactions fail.
    await mkdir(join(dir, 'index.jsonl.tmp'));
    // The same entry again and again, until the file is due for compaction.
    for (let hits = 1; writeErrors.length === 0 && hits < 20; hits++) {
      index.put(keys.tarball('a', '1.0.0'), tarball('a', '1.0.0', { hits }));
      await index.flush();
    }
    expect(writeErrors).toHaveLength(1);
    expect(events()).not.toContain('index_compacted');
    index.put(keys.tarball('b', '1.0.0'), tarball('b'));
    await index.flush();
    expect(writeErrors).toHaveLength(1);
    const file = await readIndexFile(dir);
    expect(Object.keys(file.entries)).toEqual([keys.tarball('a', '1.0.0'), keys.tarball('b', '1.0.0')]);
    expect(file.entries[keys.tarball('a', '1.0.0')]?.hits).toBe(index.get(keys.tarball('a', '1.0.0'))?.hits);
  });

  describe.runIf(canMountTmpfs())('on a full disk', () => {
    let disk: Tmpfs;

    beforeEach(async () => {
      disk = await mountTmpfs(MiB);
    });

    afterEach(async () => {
      await disk.unmount();
    });

    it('cuts off what it half wrote (earlier lines stay whole), and the retry writes everything that changed, in order', async () => {
      const data = join(disk.dir, 'data');
      await mkdir(data);
      const index = await openIndex({ at: data });
      for (let i = 0; i < 10; i++) index.put(keys.tarball(`early${i}`, '1.0.0'), tarball(`early${i}`));
      await index.flush();
      const written = index.fileBytes;
      const filler = await disk.fill();

      // A batch of about 30 KB: more than the space left in the file's last page.
      for (let i = 0; i < 100; i++) index.put(keys.tarball(`late${i}`, '1.0.0'), tarball(`late${i}`));
      index.touch(index.get(keys.tarball('early0', '1.0.0'))!);
      await index.flush();
      expect(writeErrors.map((e) => (e as NodeJS.ErrnoException).code)).toEqual(['ENOSPC']);
      expect(index.size).toBe(110);
      expect((await stat(join(data, 'index.jsonl'))).size).toBe(written);
      expect(Object.keys((await readIndexFile(data)).entries)).toHaveLength(10);

      // Changed meanwhile: written after what failed.
      index.delete(keys.tarball('late5', '1.0.0'));
      await rm(filler);
      await index.flush();
      expect(writeErrors).toHaveLength(1);
      logs = [];
      const again = await openIndex({ at: data });
      expect(again.size).toBe(109);
      expect(again.get(keys.tarball('late5', '1.0.0'))).toBeUndefined();
      expect(again.get(keys.tarball('late99', '1.0.0'))).toBeDefined();
      expect(again.get(keys.tarball('early0', '1.0.0'))?.hits).toBe(1);
      expect(events()).not.toContain('index_damaged');
      expect(events()).not.toContain('index_torn');
    });
  });
});

describe('at hex.pm’s size (200,000 releases)', () => {
  it('writes at most 1 MB per 100 stored releases, compaction included on average', async () => {
    const now = Date.now();
    const entry = (p: number, r: number, hits = 0): CacheEntry => ({
      kind: 'tarball',
      package: `pkg${p}`,
      version: `1.${r}.0`,
      size: 10_000 + p,
      sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      trust: 'SHA256:SrLuXInhYTXrqkDSBv3ZZG2b0tPbLYUQiWiRnQkgIno',
      fetchedAt: now,
      validatedAt: now,
      lastUsedAt: now,
      hits,
    });
    const all = function* () {
      for (let p = 0; p < 20_000; p++) for (let r = 0; r < 10; r++) yield [keys.tarball(`pkg${p}`, `1.${r}.0`), entry(p, r)] as [string, CacheEntry];
    };
    await writeIndexFile(dir, all());
    const index = await openIndex();
    expect(index.size).toBe(200_000);

    // One batch of 100 releases stored (replacing existing ones: the live size stays the same).
    let next = 0;
    const batch = async () => {
      for (let i = 0; i < 100; i++, next++) index.put(keys.tarball(`pkg${next % 20_000}`, '1.0.0'), entry(next % 20_000, 0, next));
      await index.flush();
    };
    await batch();
    expect(index.bytesWritten).toBeLessThan(100 * 1024);

    // Until the journal has been compacted once: the average over all batches, the compaction included.
    let batches = 1;
    while (!events().includes('index_compacted')) {
      await batch();
      batches++;
      if (batches > 10_000) throw new Error('never compacted');
    }
    const perBatch = index.bytesWritten / batches;
    expect(perBatch).toBeLessThanOrEqual(1_000_000);
    expect(index.size).toBe(200_000);
  }, 120_000);
});
