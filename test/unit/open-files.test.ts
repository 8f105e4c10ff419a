import { mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OpenFiles } from '../../src-main/store/open-files.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hexhub-open-files-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function read(files: OpenFiles, key: string, expected: number): Promise<{ error?: Error; text: string }> {
  const into = Buffer.alloc(expected + 16);
  return new Promise((resolve) =>
    files.readWhole(key, join(dir, key), expected, into, (error) => resolve({ ...(error ? { error } : {}), text: into.subarray(0, expected).toString() })),
  );
}

/** Descriptors this process has open on files in `dir`. */
async function openIn(): Promise<number> {
  const { readlink } = await import('node:fs/promises');
  let count = 0;
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target.startsWith(dir)) count++;
  }
  return count;
}

describe('OpenFiles', () => {
  it('reads whole files, keeps their descriptors up to its bound, closing the least recently used', async () => {
    const files = new OpenFiles(3);
    for (let i = 0; i < 5; i++) await writeFile(join(dir, `f${i}`), `file number ${i}`);
    for (let i = 0; i < 5; i++) expect((await read(files, `f${i}`, 13)).text).toBe(`file number ${i}`);
    expect(files.openCount).toBe(3);
    expect(await openIn()).toBe(3);
    files.clear();
    expect(await openIn()).toBe(0);
  });

  it('refuses a file whose size is not the expected one, and a missing file', async () => {
    const files = new OpenFiles();
    await writeFile(join(dir, 'short'), 'abc');
    expect((await read(files, 'short', 10)).error?.message).toMatch(/3 bytes, expected 10/);
    expect((await read(files, 'missing', 10)).error).toBeDefined();
  });

  it('after a key is stored again (renamed over) and retired, reads the new file, and the old descriptor is closed', async () => {
    const files = new OpenFiles();
    await writeFile(join(dir, 'k'), 'old bytes');
    expect((await read(files, 'k', 9)).text).toBe('old bytes');
    await writeFile(join(dir, 'k.tmp'), 'new bytes');
    await rename(join(dir, 'k.tmp'), join(dir, 'k'));
    // Until retired, the kept descriptor reads what it was opened on: whole, earlier bytes.
    expect((await read(files, 'k', 9)).text).toBe('old bytes');
    files.retire('k');
    expect((await read(files, 'k', 9)).text).toBe('new bytes');
    expect(await openIn()).toBe(1);
  });

  it('a descriptor retired while it is being read is closed only once the read is done', async () => {
    const files = new OpenFiles();
    const size = 8 * 1024 * 1024;
    await writeFile(join(dir, 'big'), Buffer.alloc(size, 7));
    await read(files, 'big', size);
    const reading = read(files, 'big', size);
    files.retire('big');
    const { error, text } = await reading;
    expect(error).toBeUndefined();
    expect(text.length).toBe(size);
    expect(await openIn()).toBe(0);
  });
});
