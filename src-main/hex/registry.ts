// The Hex registry v2 format: gzip(Signed{payload, signature}) where the payload is a
// Names, Versions or Package protobuf (hexpm/specifications registry-v2.md). Like
// hex_core's hex_registry, this module only knows the format; fetching lives elsewhere.
import { messageOf } from '../../src-shared/problems.js';
import { createHash, createPublicKey, createSign, createVerify, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzip, gunzipSync, gzipSync } from 'node:zlib';
import protobuf from 'protobufjs';

const gunzipAsync = promisify(gunzip);
/** Bodies that unpack to at most this are unpacked synchronously (well under a millisecond). */
const SYNC_UNPACKED = 512 * 1024;

function unpackSmall(body: Uint8Array): Buffer | undefined {
  if (body.length > SYNC_UNPACKED) return undefined;
  try {
    return gunzipSync(body, { maxOutputLength: SYNC_UNPACKED });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return undefined;
    throw error;
  }
}

const schema = protobuf.parse(
  `
syntax = "proto2";
package hex;
message Signed { required bytes payload = 1; optional bytes signature = 2; }
message Timestamp { optional int64 seconds = 1; optional int32 nanos = 2; }
message Names { repeated NamesPackage packages = 1; required string repository = 2; }
message NamesPackage { required string name = 1; optional Timestamp updated_at = 3; }
message Versions { repeated VersionsPackage packages = 1; required string repository = 2; }
message VersionsPackage {
  required string name = 1;
  repeated string versions = 2;
  repeated int32 retired = 3 [packed = true];
  repeated int32 with_advisories = 5 [packed = true];
}
message Package {
  repeated Release releases = 1;
  required string name = 2;
  required string repository = 3;
  repeated SecurityAdvisory advisories = 4;
}
message Release {
  required string version = 1;
  required bytes inner_checksum = 2;
  repeated Dependency dependencies = 3;
  optional RetirementStatus retired = 4;
  optional bytes outer_checksum = 5;
  repeated uint32 advisory_indexes = 6;
  optional Timestamp published_at = 7;
}
message Dependency {
  required string package = 1;
  required string requirement = 2;
  optional bool optional = 3;
  optional string app = 4;
  optional string repository = 5;
}
message RetirementStatus { required int32 reason = 1; optional string message = 2; }
message SecurityAdvisory {
  required string id = 1;
  required string summary = 2;
  required string html_url = 3;
  optional int32 severity = 4;
  optional float cvss_score = 5;
  required string api_url = 6;
  repeated string aliases = 7;
}
`,
  { keepCase: true },
).root;

const T = {
  Signed: schema.lookupType('hex.Signed'),
  Names: schema.lookupType('hex.Names'),
  Versions: schema.lookupType('hex.Versions'),
  Package: schema.lookupType('hex.Package'),
};

export const RETIREMENT_REASONS = ['other', 'invalid', 'security', 'deprecated', 'renamed'] as const;

export interface Dependency {
  package: string;
  requirement: string;
  optional: boolean;
  app: string;
  repository?: string;
}

export interface Release {
  version: string;
  innerChecksum: string; // lowercase hex
  outerChecksum?: string; // lowercase hex; absent in very old records
  dependencies: Dependency[];
  retired?: { reason: string; message?: string };
  publishedAt?: number; // unix seconds
}

export interface PackageRecord {
  name: string;
  repository: string;
  releases: Release[];
}

export interface NamesRecord {
  repository: string;
  packages: { name: string; updatedAt?: number }[];
}

export interface VersionsRecord {
  repository: string;
  packages: { name: string; versions: string[]; retired: number[] }[];
}

export type RegistryKind = 'names' | 'versions' | 'package';

/** Why a registry body was refused; the message is shown to clients as-is. */
export class RegistryError extends Error {
  constructor(
    readonly code: 'malformed' | 'bad_signature' | 'bad_repo_name' | 'bad_package_name',
    message: string,
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}

export function loadPublicKey(pem: string): KeyObject {
  return createPublicKey({ key: pem, format: 'pem' });
}

/**
 * A repository's public key from PEM text: RSA only (what Hex signs with), never a private
 * key, returned as the normalised SPKI PEM so nothing else of the given text is kept. Errors
 * never repeat the text.
 */
export function parsePublicKeyPem(text: string): string {
  if (!/-----BEGIN [A-Z ]*KEY-----/.test(text)) throw new Error('expected PEM text of a public key (-----BEGIN PUBLIC KEY-----)');
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) throw new Error("this is a private key; give the repository's public key");
  let key: KeyObject;
  try {
    key = createPublicKey({ key: text, format: 'pem' });
  } catch {
    throw new Error('not a valid PEM public key');
  }
  if (key.asymmetricKeyType !== 'rsa') throw new Error(`expected an RSA key, got ${key.asymmetricKeyType ?? 'another kind'}`);
  return key.export({ type: 'spki', format: 'pem' }).toString();
}

/** SHA256:… of the key's SPKI bytes, the form `ssh-keygen -l` uses, for people to compare keys by. */
export function keyFingerprint(pem: string): string {
  const der = loadPublicKey(pem).export({ type: 'spki', format: 'der' });
  return `SHA256:${createHash('sha256').update(der).digest('base64').replace(/=+$/, '')}`;
}

/**
 * hex.pm's /versions, the largest record, unpacks to a few MB; this bounds a gzip bomb, which
 * is also unpacked off the event loop so it cannot stall the server while it does.
 */
const MAX_UNPACKED = 64 * 1024 * 1024;

function decodeMessage(type: protobuf.Type, bytes: Uint8Array, what: string): Record<string, unknown> {
  try {
    const message = type.decode(bytes);
    return type.toObject(message, { longs: Number, bytes: Buffer, defaults: false, arrays: true }) as Record<string, unknown>;
  } catch (error) {
    throw new RegistryError('malformed', `${what} is not a valid protobuf message: ${messageOf(error)}`);
  }
}

/**
 * Gunzips, decodes `Signed`, checks the RSA/SHA-512 signature over the raw payload
 * (the hex_core `get_protobuf` pipeline) and returns the payload bytes.
 */
export async function openSigned(body: Uint8Array, key: KeyObject): Promise<Buffer> {
  let raw: Buffer;
  try {
    // Most records are a few KiB: unpacked at once, rather than queued on the thread pool behind
    // the cache's file writes (a client's first tarball waits for this record's checksums).
    // Whatever unpacks to more (a large record, or a gzip bomb) goes to the pool.
    raw = unpackSmall(body) ?? (await gunzipAsync(body, { maxOutputLength: MAX_UNPACKED }));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new RegistryError('malformed', `registry body unpacks to more than ${MAX_UNPACKED / 1024 / 1024} MiB; refused`);
    }
    throw new RegistryError('malformed', `registry body is not valid gzip: ${messageOf(error)}`);
  }
  const signed = decodeMessage(T.Signed, raw, 'signed envelope') as { payload?: Buffer; signature?: Buffer };
  if (!signed.payload) throw new RegistryError('malformed', 'signed envelope has no payload');
  if (!signed.signature || signed.signature.length === 0) {
    throw new RegistryError('bad_signature', 'registry record is not signed');
  }
  const verifier = createVerify('sha512');
  verifier.update(signed.payload);
  if (!verifier.verify(key, signed.signature)) {
    throw new RegistryError('bad_signature', 'registry signature does not verify against the configured public key');
  }
  return signed.payload;
}

function hex(bytes: unknown): string | undefined {
  return bytes instanceof Uint8Array && bytes.length > 0 ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex') : undefined;
}

function checkRepository(actual: unknown, expected: string): void {
  if (actual !== expected) {
    throw new RegistryError('bad_repo_name', `registry record is for repository "${String(actual)}", expected "${expected}"`);
  }
}

export function decodePackage(payload: Uint8Array): PackageRecord {
  const obj = decodeMessage(T.Package, payload, 'package record') as {
    name: string;
    repository: string;
    releases?: {
      version: string;
      inner_checksum?: Buffer;
      outer_checksum?: Buffer;
      dependencies?: { package: string; requirement: string; optional?: boolean; app?: string; repository?: string }[];
      retired?: { reason: number; message?: string };
      published_at?: { seconds?: number };
    }[];
  };
  return {
    name: obj.name,
    repository: obj.repository,
    releases: (obj.releases ?? []).map((r) => ({
      version: r.version,
      innerChecksum: hex(r.inner_checksum) ?? '',
      outerChecksum: hex(r.outer_checksum),
      dependencies: (r.dependencies ?? []).map((d) => ({
        package: d.package,
        requirement: d.requirement,
        optional: d.optional ?? false,
        app: d.app ?? d.package,
        ...(d.repository ? { repository: d.repository } : {}),
      })),
      ...(r.retired
        ? {
            retired: {
              reason: RETIREMENT_REASONS[r.retired.reason] ?? `unknown(${r.retired.reason})`,
              ...(r.retired.message ? { message: r.retired.message } : {}),
            },
          }
        : {}),
      ...(r.published_at?.seconds !== undefined ? { publishedAt: r.published_at.seconds } : {}),
    })),
  };
}

export function decodeNames(payload: Uint8Array): NamesRecord {
  const obj = decodeMessage(T.Names, payload, 'names record') as {
    repository: string;
    packages?: { name: string; updated_at?: { seconds?: number } }[];
  };
  return {
    repository: obj.repository,
    packages: (obj.packages ?? []).map((p) => ({
      name: p.name,
      ...(p.updated_at?.seconds !== undefined ? { updatedAt: p.updated_at.seconds } : {}),
    })),
  };
}

export function decodeVersions(payload: Uint8Array): VersionsRecord {
  const obj = decodeMessage(T.Versions, payload, 'versions record') as {
    repository: string;
    packages?: { name: string; versions?: string[]; retired?: number[] }[];
  };
  return {
    repository: obj.repository,
    packages: (obj.packages ?? []).map((p) => ({ name: p.name, versions: p.versions ?? [], retired: p.retired ?? [] })),
  };
}

export type VerifiedRecord = { kind: 'package'; record: PackageRecord } | { kind: 'names'; record: NamesRecord } | { kind: 'versions'; record: VersionsRecord };

export interface Expectation {
  kind: RegistryKind;
  repository: string;
  /** For `package`: the name the record was requested under (the origin check). */
  packageName?: string;
}

/** Full client-side verification of one registry resource, as Hex and rebar3 do it. */
export async function verifyRegistryBody(body: Uint8Array, key: KeyObject, expect: Expectation): Promise<VerifiedRecord> {
  const payload = await openSigned(body, key);
  switch (expect.kind) {
    case 'package': {
      const record = decodePackage(payload);
      checkRepository(record.repository, expect.repository);
      if (record.name !== expect.packageName) {
        throw new RegistryError('bad_package_name', `registry record is for package "${record.name}", requested "${expect.packageName}"`);
      }
      return { kind: 'package', record };
    }
    case 'names': {
      const record = decodeNames(payload);
      checkRepository(record.repository, expect.repository);
      return { kind: 'names', record };
    }
    case 'versions': {
      const record = decodeVersions(payload);
      checkRepository(record.repository, expect.repository);
      return { kind: 'versions', record };
    }
  }
}

// ---- encoding: used by the pre-warm tooling and by tests to build real registries ----

function toTimestamp(seconds?: number) {
  return seconds === undefined ? undefined : { seconds, nanos: 0 };
}

export function encodePackage(record: PackageRecord): Buffer {
  const message = T.Package.fromObject({
    name: record.name,
    repository: record.repository,
    releases: record.releases.map((r) => ({
      version: r.version,
      inner_checksum: Buffer.from(r.innerChecksum, 'hex'),
      ...(r.outerChecksum ? { outer_checksum: Buffer.from(r.outerChecksum, 'hex') } : {}),
      dependencies: r.dependencies.map((d) => ({
        package: d.package,
        requirement: d.requirement,
        optional: d.optional,
        app: d.app,
        ...(d.repository ? { repository: d.repository } : {}),
      })),
      ...(r.retired ? { retired: { reason: Math.max(0, RETIREMENT_REASONS.indexOf(r.retired.reason as never)), message: r.retired.message } } : {}),
      published_at: toTimestamp(r.publishedAt),
    })),
  });
  return Buffer.from(T.Package.encode(message).finish());
}

export function encodeNames(record: NamesRecord): Buffer {
  const message = T.Names.fromObject({
    repository: record.repository,
    packages: record.packages.map((p) => ({ name: p.name, updated_at: toTimestamp(p.updatedAt) })),
  });
  return Buffer.from(T.Names.encode(message).finish());
}

export function encodeVersions(record: VersionsRecord): Buffer {
  const message = T.Versions.fromObject(record);
  return Buffer.from(T.Versions.encode(message).finish());
}

/** gzip(Signed{payload, RSA-SHA512(payload)}) — what repo.hex.pm serves. */
export function signAndPack(payload: Uint8Array, privateKeyPem: string): Buffer {
  const signer = createSign('sha512');
  signer.update(payload);
  const signature = signer.sign(privateKeyPem);
  const signed = T.Signed.encode(T.Signed.fromObject({ payload: Buffer.from(payload), signature })).finish();
  return gzipSync(signed);
}
