// Descriptors of recently served files, kept open (bounded, least recently used closed first),
// so a warm read off the hot cache is one read() and not open + fstat + read + close, each a
// trip through libuv's thread pool. Callback style on purpose: this is the warm path, and a
// promise chain per request costs more than the read itself.
//
// A stored object is never written in place (it is renamed into place whole), so a descriptor
// keeps reading the bytes it was opened on; the store retires it whenever the key is stored
// again or removed. A retired descriptor is closed once no read uses it: closing it under a
// read could let the number be reused for another file and that file's bytes be served.
import { close, fstat, open, read } from 'node:fs';

interface OpenFile {
  fd: number;
  size: number;
  reads: number;
  retired: boolean;
}

export type ReadDone = (error: Error | undefined, size: number) => void;

export class OpenFiles {
  private readonly files = new Map<string, OpenFile>();
  /** Bumped by every retirement, so a descriptor opened across one is not kept (it may be the replaced file's). */
  private generation = 0;

  constructor(private readonly limit = 256) {}

  /**
   * Reads the file of `key` (at `path`) into `into`, which must hold `expected` bytes; `done`
   * gets the file's size, and an error if it could not be read or its size is not `expected`
   * (nothing useful is in `into` then).
   */
  readWhole(key: string, path: string, expected: number, into: Buffer, done: ReadDone): void {
    const cached = this.files.get(key);
    if (cached) {
      this.files.delete(key);
      this.files.set(key, cached);
      this.readFrom(cached, expected, into, done);
      return;
    }
    const generation = this.generation;
    open(path, 'r', (openError, fd) => {
      if (openError) return done(openError, 0);
      fstat(fd, (statError, stats) => {
        if (statError) {
          close(fd, () => undefined);
          return done(statError, 0);
        }
        const file: OpenFile = { fd, size: stats.size, reads: 0, retired: false };
        if (generation !== this.generation || this.files.has(key)) {
          // Something was stored or removed meanwhile, or another read opened it first: used for this read only.
          file.retired = true;
        } else {
          this.files.set(key, file);
          this.trim();
        }
        this.readFrom(file, expected, into, done);
      });
    });
  }

  /** Forgets `key`'s descriptor (stored again, removed): closed once no read uses it. */
  retire(key: string): void {
    this.generation++;
    const file = this.files.get(key);
    if (!file) return;
    this.files.delete(key);
    this.retireFile(file);
  }

  /** Closes every descriptor not being read (the store is closing); the rest close after their reads. */
  clear(): void {
    this.generation++;
    for (const file of this.files.values()) this.retireFile(file);
    this.files.clear();
  }

  get openCount(): number {
    return this.files.size;
  }

  private readFrom(file: OpenFile, expected: number, into: Buffer, done: ReadDone): void {
    if (file.size !== expected) {
      if (file.reads === 0 && file.retired) close(file.fd, () => undefined);
      return done(new Error(`stored file is ${file.size} bytes, expected ${expected}`), file.size);
    }
    file.reads++;
    let offset = 0;
    const next = (): void => {
      read(file.fd, into, offset, expected - offset, offset, (error, bytes) => {
        if (!error && bytes > 0 && offset + bytes < expected) {
          offset += bytes;
          return next();
        }
        if (--file.reads === 0 && file.retired) close(file.fd, () => undefined);
        if (error) return done(error, file.size);
        if (offset + bytes !== expected) return done(new Error(`stored file ended after ${offset + bytes} of ${expected} bytes`), file.size);
        done(undefined, file.size);
      });
    };
    next();
  }

  private retireFile(file: OpenFile): void {
    file.retired = true;
    if (file.reads === 0) close(file.fd, () => undefined);
  }

  private trim(): void {
    for (const [key, file] of this.files) {
      if (this.files.size <= this.limit) break;
      this.files.delete(key);
      this.retireFile(file);
    }
  }
}
