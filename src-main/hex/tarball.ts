// The Hex package tarball v3 (hexpm/specifications package_tarball.md): an uncompressed
// tar of VERSION, CHECKSUM, metadata.config and contents.tar.gz, in that order. The outer
// checksum is SHA-256 of the whole file; the inner one covers the bytes of
// VERSION ‖ metadata.config ‖ contents.tar.gz.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';

export const MEMBER_ORDER = ['VERSION', 'CHECKSUM', 'metadata.config', 'contents.tar.gz'] as const;
const MAX_SMALL_MEMBER = 1024 * 1024;

export interface TarballSummary {
  /** The VERSION member; hex_core accepts only "3". */
  formatVersion: string;
  /** The CHECKSUM member as written (uppercase hex in practice). */
  declaredInnerChecksum: string;
  /** SHA-256 over the inner members, lowercase hex. */
  innerChecksum: string;
}

export class TarballError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TarballError';
  }
}

/**
 * Reads a tarball stream and computes its inner checksum without holding contents.tar.gz
 * in memory. Used to verify releases whose registry record predates `outer_checksum`.
 */
export async function readTarball(input: Readable): Promise<TarballSummary> {
  const extract = tar.extract();
  const inner = createHash('sha256');
  const small = new Map<string, string>();
  let index = 0;
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      // When the archive fails mid-entry, tar-stream destroys the entry stream with the same
      // error it reports on `extract`; without a listener that second emit would be thrown.
      stream.on('error', () => undefined);
      const expected = MEMBER_ORDER[index++];
      if (header.name !== expected) {
        stream.resume();
        extract.destroy(new TarballError(`unexpected member "${header.name}" (expected ${expected ?? 'end of archive'})`));
        return;
      }
      const hashed = header.name !== 'CHECKSUM';
      const keep = header.name === 'VERSION' || header.name === 'CHECKSUM';
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (data: unknown) => {
        const chunk = data as Buffer;
        if (hashed) inner.update(chunk);
        if (keep) {
          size += chunk.length;
          if (size > MAX_SMALL_MEMBER) extract.destroy(new TarballError(`${header.name} is too large`));
          else chunks.push(chunk);
        }
      });
      stream.on('end', () => {
        if (keep) small.set(header.name, Buffer.concat(chunks).toString('utf8').trim());
        next();
      });
    });
    extract.on('finish', resolve);
    extract.on('error', (error) => reject(error instanceof TarballError ? error : new TarballError(`not a valid tarball: ${error.message}`)));
  });
  input.on('error', (error) => extract.destroy(error));
  input.pipe(extract);
  await done;

  if (index !== MEMBER_ORDER.length) throw new TarballError(`tarball has ${index} members, expected ${MEMBER_ORDER.length}`);
  const formatVersion = small.get('VERSION') ?? '';
  if (formatVersion !== '3') throw new TarballError(`unsupported tarball format version "${formatVersion}"`);
  return { formatVersion, declaredInnerChecksum: small.get('CHECKSUM') ?? '', innerChecksum: inner.digest('hex') };
}
