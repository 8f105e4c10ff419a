// Team mode: objects kept in an S3-compatible bucket (AWS S3, Ceph radosgw, MinIO) shared by
// several instances, through the official AWS SDK v3. The bucket is the truth; each instance's
// data dir holds a bounded, least-recently-used cache of local copies (what serving reads) and
// an index rebuilt from the bucket's listing.
//
// Writes: an object is uploaded only after it was verified, as one PutObject with an exact
// Content-Length (an interrupted upload never leaves an object), and tarballs and docs with
// If-None-Match: * so concurrent writers of one key never overwrite each other: the loser gets
// 412 and checks that what is there has its checksum. Objects from S3_MULTIPART_THRESHOLD up
// go in parts; S3-compatible stores (Ceph 16 among them) ignore conditions on multipart
// completion, so those are looked up first, and a racing writer of the same key can only
// write the same verified bytes. Every object carries its SHA-256 (and client ETag) as
// metadata, so every instance serves it with the same ETag and re-checks it when copying it in.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
// The SDK is loaded when S3 storage is opened: the desktop app and the CLI (filesystem storage)
// do not pay its start-up cost.
import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import type { StorageConfig } from '../config/config.js';
import { drained, type BlobStore } from './blob-store.js';
import type { CacheIndex } from './cache-index.js';
import { describeKey, isValidKey } from './keys.js';
import { StorageError, type ObjectStorage, type StoredMeta } from './object-storage.js';
import { selectForCap } from './size-cap.js';

type S3Config = Extract<StorageConfig, { kind: 's3' }>;
type Sdk = typeof import('@aws-sdk/client-s3');
type LibStorage = typeof import('@aws-sdk/lib-storage');

const PART_BYTES = 16 * 1024 * 1024;
/** HEADs at once while learning what other instances stored. */
const SYNC_CONCURRENCY = 16;

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

const statusOf = (error: unknown) => (error as SdkError).$metadata?.httpStatusCode;

/** Ceph and others answer errors without a message; the name and status are what tell. */
function explain(error: unknown): string {
  const e = error as SdkError;
  const status = statusOf(error);
  const detail = e.message && e.message !== 'UnknownError' ? e.message : (e.name ?? 'error');
  return status ? `${detail} (HTTP ${status})` : `${e.code ? `${e.code} ` : ''}${detail}`;
}

export class S3Storage implements ObjectStorage {
  readonly kind = 's3';
  readonly shared = true;
  private sdk!: Sdk;
  private MultipartUpload!: LibStorage['Upload'];
  private client!: S3Client;
  /** Local copies in the data dir and their sizes. */
  private readonly local = new Map<string, number>();
  private trimming = false;

  constructor(
    private readonly config: S3Config,
    private readonly blobs: BlobStore,
    private readonly log: Logger,
  ) {}

  get location(): string {
    return `s3://${this.config.bucket}/${this.config.prefix}${this.config.endpoint ? ` at ${this.config.endpoint}` : ''}`;
  }

  private objectKey(key: string): string {
    return this.config.prefix + key;
  }

  async open(): Promise<void> {
    this.sdk = await import('@aws-sdk/client-s3');
    this.MultipartUpload = (await import('@aws-sdk/lib-storage')).Upload;
    const { NodeHttpHandler } = await import('@smithy/node-http-handler');
    const quiet = () => undefined;
    const sdkLog = (...args: unknown[]) => this.log.debug({ event: 's3_sdk', message: args.map(String).join(' ') });
    this.client = new this.sdk.S3Client({
      region: this.config.region,
      ...(this.config.endpoint ? { endpoint: this.config.endpoint } : {}),
      forcePathStyle: this.config.forcePathStyle,
      // Streamed uploads with the SDK's default trailing checksums are refused by several
      // S3-compatible stores; integrity is our SHA-256, checked on the way back in.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 3,
      // The SDK's own complaints (a failed streamed upload) go to the log, where ours say more.
      logger: { trace: quiet, debug: quiet, info: quiet, warn: sdkLog, error: sdkLog },
      requestHandler: new NodeHttpHandler({ connectionTimeout: 3000, requestTimeout: 30_000, throwOnRequestTimeout: true, socketTimeout: 30_000 }),
    });
    try {
      await this.client.send(new this.sdk.HeadBucketCommand({ Bucket: this.config.bucket }));
    } catch (error) {
      const status = statusOf(error);
      const name = (error as SdkError).name ?? '';
      const where = this.config.endpoint ?? `AWS (${this.config.region})`;
      if (status === 404 || name === 'NotFound' || name === 'NoSuchBucket')
        throw new Error(`S3 bucket "${this.config.bucket}" does not exist at ${where}; create it or fix S3_BUCKET`);
      if (status === 403 || status === 401)
        throw new Error(
          `access to S3 bucket "${this.config.bucket}" at ${where} was refused (HTTP ${status}): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)`,
        );
      if (name === 'CredentialsProviderError')
        throw new Error(`no AWS credentials found for S3 bucket "${this.config.bucket}": set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE`);
      throw new Error(`cannot reach S3 at ${where} for bucket "${this.config.bucket}": ${explain(error)}`);
    }
    for await (const key of this.blobs.list()) this.local.set(key, (await this.blobs.size(key)) ?? 0);
  }

  async ping(): Promise<void> {
    await this.client.send(new this.sdk.HeadBucketCommand({ Bucket: this.config.bucket }), { abortSignal: AbortSignal.timeout(3000) });
  }

  /** Reports a failed bucket operation to the storage health and returns it as a StorageError. */
  private failure(action: string, key: string, error: unknown): StorageError {
    const status = statusOf(error);
    const reason = status === undefined || status >= 500 ? 'object store unreachable' : 'object store refused the write';
    const failure = new StorageError(`${action} ${key} in ${this.location}: ${explain(error)}`, reason);
    this.blobs.health.failed(failure, reason);
    return failure;
  }

  async persist(tempPath: string, key: string, meta: StoredMeta, options: { immutable: boolean }): Promise<void> {
    try {
      if (meta.size >= this.config.multipartThresholdBytes) await this.uploadInParts(tempPath, key, meta, options.immutable);
      else await this.upload(tempPath, key, meta, options.immutable);
    } catch (error) {
      await this.blobs.discard(tempPath);
      if (error instanceof StorageError) throw error;
      throw this.failure('could not store', key, error);
    }
    this.blobs.health.succeeded();
    await this.blobs.commit(tempPath, key);
    this.local.set(key, meta.size);
  }

  private async upload(tempPath: string, key: string, meta: StoredMeta, immutable: boolean): Promise<void> {
    const body = createReadStream(tempPath);
    // The SDK pipes the body without handling its errors: a failed read must abort the request.
    const abort = new AbortController();
    body.on('error', (error) => abort.abort(error));
    try {
      await this.client.send(
        new this.sdk.PutObjectCommand({
          Bucket: this.config.bucket,
          Key: this.objectKey(key),
          Body: body,
          ContentLength: meta.size,
          ContentType: 'application/octet-stream',
          Metadata: toMetadata(meta),
          ...(immutable ? { IfNoneMatch: '*' } : {}),
        }),
        { abortSignal: abort.signal },
      );
    } catch (error) {
      if (statusOf(error) !== 412) throw error;
      await this.acceptExisting(key, meta);
    } finally {
      body.destroy();
    }
  }

  private async uploadInParts(tempPath: string, key: string, meta: StoredMeta, immutable: boolean): Promise<void> {
    if (immutable && (await this.head(key))) return this.acceptExisting(key, meta);
    const upload = new this.MultipartUpload({
      client: this.client,
      params: {
        Bucket: this.config.bucket,
        Key: this.objectKey(key),
        Body: createReadStream(tempPath),
        ContentType: 'application/octet-stream',
        Metadata: toMetadata(meta),
      },
      partSize: PART_BYTES,
      queueSize: 2,
    });
    await upload.done();
  }

  /** Another instance stored the key first: fine if it holds the same bytes. */
  private async acceptExisting(key: string, meta: StoredMeta): Promise<void> {
    const existing = await this.head(key);
    if (existing?.sha256 === meta.sha256) {
      this.log.info({ event: 's3_already_stored', key }, 'object already stored by another instance');
      return;
    }
    throw new StorageError(
      `${key} is already in ${this.location} with other contents (SHA-256 ${existing?.sha256 ?? 'unknown'})`,
      'object store holds other contents',
    );
  }

  private async head(key: string): Promise<StoredMeta | undefined> {
    try {
      const head = await this.client.send(new this.sdk.HeadObjectCommand({ Bucket: this.config.bucket, Key: this.objectKey(key) }));
      return fromMetadata(head.Metadata, head.ContentLength, head.LastModified);
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  async restore(key: string): Promise<StoredMeta | undefined> {
    let response;
    try {
      response = await this.client.send(new this.sdk.GetObjectCommand({ Bucket: this.config.bucket, Key: this.objectKey(key) }));
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      // Unreachable: the caller goes to the upstream instead, and status shows why.
      throw this.failure('could not read', key, error);
    }
    const meta = fromMetadata(response.Metadata, response.ContentLength, response.LastModified);
    const body = response.Body as Readable;
    if (!meta) {
      body.destroy();
      this.log.warn({ event: 's3_foreign_object', key }, 'object in the bucket has no HexHub checksum; ignored');
      return undefined;
    }
    const temp = this.blobs.createTemp();
    const hash = createHash('sha256');
    let size = 0;
    let localFailure: Error | undefined;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        hash.update(chunk);
        size += chunk.length;
        if (!temp.stream.write(chunk)) await drained(temp.stream);
        if ((localFailure = temp.stream.errored ?? undefined)) throw localFailure;
      }
      temp.stream.end();
      await new Promise<void>((resolve, reject) => temp.stream.once('finish', resolve).once('error', reject));
    } catch (error) {
      temp.stream.destroy();
      await this.blobs.discard(temp.path);
      if (error === localFailure || error === temp.stream.errored) {
        this.blobs.health.failed(error);
        throw error;
      }
      throw this.failure('could not read', key, error);
    }
    const sha256 = hash.digest('hex');
    if (size !== meta.size || sha256 !== meta.sha256) {
      await this.blobs.discard(temp.path);
      this.log.error({ event: 's3_damaged_object', key, size, sha256, expected: meta.sha256 }, 'object in the bucket does not match its recorded checksum');
      return undefined;
    }
    await this.blobs.commit(temp.path, key);
    this.local.set(key, size);
    this.blobs.health.succeeded();
    return meta;
  }

  async remove(key: string): Promise<void> {
    try {
      await this.client.send(new this.sdk.DeleteObjectCommand({ Bucket: this.config.bucket, Key: this.objectKey(key) }));
    } catch (error) {
      throw this.failure('could not delete', key, error);
    }
    await this.blobs.remove(key);
    this.local.delete(key);
  }

  /**
   * Learns what the bucket holds: entries for objects stored by other instances (metadata from
   * a HEAD each), and drops entries for objects deleted there. Local copies stay as they are.
   */
  async reconcile(index: CacheIndex): Promise<{ dropped: number; adopted: number }> {
    const startedAt = Date.now();
    const inBucket = new Set<string>();
    const unknown: string[] = [];
    const paginator = this.sdk.paginateListObjectsV2({ client: this.client, pageSize: 1000 }, { Bucket: this.config.bucket, Prefix: this.config.prefix });
    for await (const page of paginator) {
      for (const object of page.Contents ?? []) {
        const key = object.Key?.slice(this.config.prefix.length);
        if (!key || !isValidKey(key)) continue;
        inBucket.add(key);
        if (!index.get(key)) unknown.push(key);
      }
    }
    let adopted = 0;
    let next = 0;
    await Promise.all(
      Array.from({ length: SYNC_CONCURRENCY }, async () => {
        while (next < unknown.length) {
          const key = unknown[next++]!;
          const meta = await this.head(key).catch(() => undefined);
          if (!meta || index.get(key)) continue;
          index.put(key, { ...describeKey(key), ...meta, validatedAt: meta.fetchedAt, lastUsedAt: meta.fetchedAt, hits: 0 });
          adopted++;
        }
      }),
    );
    let dropped = 0;
    for (const [key, entry] of index.all()) {
      // Stored after the listing began: not in it yet, but there.
      if (inBucket.has(key) || entry.fetchedAt >= startedAt) continue;
      index.delete(key);
      await this.blobs.remove(key);
      this.local.delete(key);
      dropped++;
    }
    if (adopted || dropped) this.log.info({ event: 's3_synced', adopted, dropped, objects: inBucket.size }, 'index synced with the bucket');
    return { dropped, adopted };
  }

  localCopies(): { key: string; bytes: number }[] {
    return [...this.local].map(([key, bytes]) => ({ key, bytes }));
  }

  async trimLocal(capBytes: number, lastUsed: (key: string) => number, inUse: (key: string) => boolean): Promise<{ removed: number; freedBytes: number }> {
    if (this.trimming) return { removed: 0, freedBytes: 0 };
    const copies = this.localCopies();
    const total = copies.reduce((sum, c) => sum + c.bytes, 0);
    const victims = selectForCap(
      copies.map((c) => ({ ...c, lastUsed: lastUsed(c.key) })),
      total,
      capBytes,
      inUse,
    );
    if (victims.length === 0) return { removed: 0, freedBytes: 0 };
    this.trimming = true;
    try {
      let removed = 0;
      let freedBytes = 0;
      for (const { key } of victims) {
        // Being read since it was chosen: keep it; the next trim takes another.
        if (inUse(key)) continue;
        await this.blobs.remove(key);
        freedBytes += this.local.get(key) ?? 0;
        this.local.delete(key);
        removed++;
      }
      return { removed, freedBytes };
    } finally {
      this.trimming = false;
    }
  }

  async close(): Promise<void> {
    this.client?.destroy();
  }
}

function toMetadata(meta: StoredMeta): Record<string, string> {
  return {
    sha256: meta.sha256,
    'fetched-at': String(meta.fetchedAt),
    ...(meta.etag ? { etag: encodeURIComponent(meta.etag) } : {}),
    ...(meta.upstreamEtag ? { 'upstream-etag': encodeURIComponent(meta.upstreamEtag) } : {}),
  };
}

function fromMetadata(metadata: Record<string, string> | undefined, size: number | undefined, lastModified: Date | undefined): StoredMeta | undefined {
  const sha256 = metadata?.sha256;
  if (!sha256 || !/^[0-9a-f]{64}$/.test(sha256) || size === undefined) return undefined;
  const fetchedAt = Number(metadata['fetched-at']) || lastModified?.getTime() || Date.now();
  return {
    size,
    sha256,
    fetchedAt,
    ...(metadata.etag ? { etag: decodeURIComponent(metadata.etag) } : {}),
    ...(metadata['upstream-etag'] ? { upstreamEtag: decodeURIComponent(metadata['upstream-etag']) } : {}),
  };
}
