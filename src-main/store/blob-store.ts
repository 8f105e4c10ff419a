// Bytes on disk. Objects are written to a temporary file and renamed into place only
// once verified, so the cache folder only ever holds whole, verified objects: a crash
// leaves at most a stray temporary file, which start-up removes.
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { mkdir, open, opendir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { BufferPool } from './buffer-pool.js';
import { HotCache } from './hot-cache.js';
import { OpenFiles, type ReadDone } from './open-files.js';
import { StorageHealth } from './storage-health.js';

/** Resolves once a writer (a temporary file, a response) takes more, or is closed or failed. */
export function drained(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      stream.off('error', done);
      resolve();
    };
    stream.once('drain', done);
    stream.once('close', done);
    stream.once('error', done);
  });
}

export interface TempFile {
  path: string;
  stream: WriteStream;
}

export class BlobStore {
  readonly root: string;
  readonly tmpDir: string;
  /** Objects being read for a client now; eviction leaves them alone. */
  private readonly readers = new Map<string, number>();

  /** Copies of small objects in memory for warm hits. */
  readonly hot: HotCache;
  /** Whether writes are working (a full disk turns caching off until they do again). */
  readonly health: StorageHealth;
  /** Descriptors of recently read objects, and buffers to read them into (warm reads off the hot cache). */
  private readonly files = new OpenFiles();
  readonly buffers = new BufferPool();

  constructor(dataDir: string, hotCacheBytes = 64 * 1024 * 1024) {
    this.root = resolve(dataDir, 'cache');
    this.tmpDir = resolve(dataDir, 'tmp');
    this.hot = new HotCache(hotCacheBytes);
    this.health = new StorageHealth(this.root);
  }

  async init(): Promise<void> {
    await rm(this.tmpDir, { recursive: true, force: true });
    await mkdir(this.tmpDir, { recursive: true });
    await mkdir(this.root, { recursive: true });
  }

  /** Absolute path of a key; refuses anything that would leave the cache folder. */
  path(key: string): string {
    const full = resolve(this.root, key);
    if (!full.startsWith(this.root + sep)) throw new Error(`refusing path outside the cache: ${key}`);
    return full;
  }

  createTemp(): TempFile {
    const path = join(this.tmpDir, `${Date.now()}-${randomBytes(6).toString('hex')}.part`);
    // Up to 256 KiB may wait for the disk before a write asks the writer to: with the default
    // 16 KiB, every socket read of a download (up to 64 KiB) waited for a thread-pool round
    // trip before the next one was taken, on every cold miss.
    const stream = createWriteStream(path, { flags: 'wx', highWaterMark: 256 * 1024 });
    // Write errors (a full disk) are read from `stream.errored` and `finished()` by the
    // writer; this listener only keeps them from being thrown as uncaught.
    stream.on('error', () => undefined);
    return { path, stream };
  }

  /** Moves a whole, verified temporary file into place. A failure removes the temporary file. */
  async commit(tempPath: string, key: string): Promise<void> {
    const target = this.path(key);
    try {
      // The folder nearly always exists: rename first, and make it only when that says it is
      // missing (mkdir on every commit was two more thread-pool round trips on each cold miss).
      await rename(tempPath, target).catch(async (error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
        await mkdir(dirname(target), { recursive: true });
        await rename(tempPath, target);
      });
    } catch (error) {
      await this.discard(tempPath);
      this.health.failed(error);
      throw error;
    }
    this.forget(key);
    this.health.succeeded();
  }

  async discard(tempPath: string): Promise<void> {
    await rm(tempPath, { force: true });
  }

  /** Writes `body` to a new temporary file and returns its path (for `commit` or a storage's `persist`). */
  async writeTemp(body: Buffer): Promise<string> {
    const temp = this.createTemp();
    // end()'s callback also runs after a failed write (ENOSPC), with the error.
    await new Promise<void>((done, fail) => {
      temp.stream.on('error', fail);
      temp.stream.end(body, (error?: Error | null) => (error ? fail(error) : done()));
    }).catch(async (error) => {
      await this.discard(temp.path);
      this.health.failed(error);
      throw error;
    });
    return temp.path;
  }

  /**
   * Reads a whole object of `size` bytes into `into` through a kept descriptor (see
   * open-files.ts); `done` gets an error if the file is missing or not of that size.
   */
  readWhole(key: string, size: number, into: Buffer, done: ReadDone): void {
    let path: string;
    try {
      path = this.path(key);
    } catch (error) {
      return done(error as Error, 0);
    }
    this.files.readWhole(key, path, size, into, done);
  }

  /** Drops what is held in memory for `key` (its hot copy and descriptor): it was stored again, removed or moved. */
  forget(key: string): void {
    this.hot.delete(key);
    this.files.retire(key);
  }

  /** Closes kept descriptors (the engine is stopping). */
  close(): void {
    this.files.clear();
  }

  open(key: string): Promise<FileHandle> {
    return open(this.path(key), 'r');
  }

  /** Runs `read` with the object marked in use. */
  async reading<T>(key: string, read: () => Promise<T>): Promise<T> {
    this.readers.set(key, (this.readers.get(key) ?? 0) + 1);
    try {
      return await read();
    } finally {
      const left = (this.readers.get(key) ?? 1) - 1;
      if (left > 0) this.readers.set(key, left);
      else this.readers.delete(key);
    }
  }

  inUse(key: string): boolean {
    return this.readers.has(key);
  }

  async size(key: string): Promise<number | undefined> {
    try {
      return (await stat(this.path(key))).size;
    } catch {
      return undefined;
    }
  }

  async remove(key: string): Promise<void> {
    this.forget(key);
    await rm(this.path(key), { force: true });
  }

  /** Every stored object's key (for start-up reconciliation). */
  async *list(dir = this.root): AsyncGenerator<string> {
    let entries;
    try {
      // Read a few hundred names at a time: a folder of 200,000 tarballs read whole left ~40 MB of RSS behind.
      entries = await opendir(dir, { bufferSize: 256 });
    } catch {
      return;
    }
    for await (const entry of entries) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) yield* this.list(full);
      else if (entry.isFile()) yield relative(this.root, full).split(sep).join('/');
    }
  }
}
