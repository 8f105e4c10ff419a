// Docs must be a whole, valid gzip stream, inflating within bounds: checked while the body
// passes through, so a bomb is refused before it is read whole.
import { finished } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

/**
 * Bounds on inflating docs, which a few hundred KB of gzip can make take gigabytes and
 * minutes of CPU. hex.pm refuses docs uploads over 16 MiB compressed or 128 MiB inflated
 * (hexpm's API DocsController), so 512 MiB passes everything it serves, with room for a
 * self-hosted upstream, and costs about a second of inflating at worst. HexDocs tarballs
 * (HTML, JS, CSS, a search index) compress about 5-10×, a tar of many tiny files (mostly
 * zero-padded headers) a few tens: 100× is past anything real and far below deflate's ceiling
 * of about 1000×, so a bomb stops at 32 MiB, from where the ratio counts (before that a small
 * tarball that compresses unusually well would trip it).
 */
const MiB = 1024 * 1024;
const DOCS_INFLATED_MAX = 512 * MiB;
const DOCS_RATIO_MAX = 100;
const DOCS_RATIO_AFTER = 32 * MiB;

export class GzipBombError extends Error {}

/** Checks that a body is a whole, valid gzip stream, within the bounds above, while it passes through. */
export class GzipCheck {
  private readonly gunzip = createGunzip();
  private failure: Error | undefined;
  private inflated = 0;

  constructor() {
    this.gunzip.on('error', (error) => (this.failure ??= error));
    // The inflated bytes are only counted, then dropped.
    this.gunzip.on('data', (chunk: Buffer) => {
      this.inflated += chunk.length;
      const refusal = this.overBounds();
      if (refusal) {
        this.failure ??= refusal;
        this.gunzip.destroy();
      }
    });
  }

  private overBounds(): GzipBombError | undefined {
    if (this.inflated > DOCS_INFLATED_MAX) return new GzipBombError(`expands beyond ${DOCS_INFLATED_MAX / MiB} MiB when inflated`);
    // bytesWritten: the compressed bytes the inflater has consumed so far.
    const compressed = this.gunzip.bytesWritten;
    if (this.inflated > DOCS_RATIO_AFTER && this.inflated > DOCS_RATIO_MAX * compressed) {
      return new GzipBombError(`expands beyond ${DOCS_RATIO_MAX} times its compressed size (${this.inflated} bytes from the first ${compressed})`);
    }
    return undefined;
  }

  /**
   * Feeds a chunk, waiting while the inflater catches up (so a fast upstream cannot queue a
   * whole body in memory ahead of it); throws as soon as the stream is refused.
   */
  async update(chunk: Buffer): Promise<void> {
    if (!this.failure && !this.gunzip.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.gunzip.off('drain', done).off('close', done);
          resolve();
        };
        this.gunzip.on('drain', done).on('close', done);
      });
    }
    if (this.failure) throw this.failure;
  }

  /** Frees the inflater of a transfer that failed for another reason. */
  dispose(): void {
    this.gunzip.destroy();
  }

  async finish(): Promise<void> {
    if (!this.failure) {
      this.gunzip.end();
      await finished(this.gunzip).catch((error: Error) => (this.failure ??= error));
    }
    if (this.failure) throw this.failure;
  }
}
