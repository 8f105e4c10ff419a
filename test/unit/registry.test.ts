import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  decodeNames,
  decodePackage,
  decodeVersions,
  encodePackage,
  loadPublicKey,
  openSigned,
  RegistryError,
  signAndPack,
  verifyRegistryBody,
  type PackageRecord,
} from '../../src-main/hex/registry.js';
import { FixtureRepo, otherKeys, packSigned, signPayload, testKeys, unpackSigned } from '../support/hex-fixtures.js';

const key = () => loadPublicKey(testKeys().publicKeyPem);

async function expectRegistryError(fn: () => unknown, code: RegistryError['code']): Promise<RegistryError> {
  let caught: unknown;
  try {
    await fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(RegistryError);
  expect((caught as RegistryError).code).toBe(code);
  return caught as RegistryError;
}

describe('registry v2', () => {
  const repo = new FixtureRepo();

  beforeAll(async () => {
    await repo.publish({ name: 'bar', version: '1.0.0' }, { publishedAt: 1_700_000_100 });
    await repo.publish({ name: 'bar', version: '1.1.0-rc.1' });
    await repo.publish({ name: 'bar', version: '0.9.0' }, { retired: { reason: 'security', message: 'CVE-2099-0001' } });
    await repo.publish({
      name: 'foo',
      version: '2.0.0+build.7',
      deps: [
        { name: 'bar', requirement: '~> 1.0' },
        { name: 'baz_opt', requirement: '>= 0.1.0', optional: true, app: 'baz' },
        { name: 'corp', requirement: '1.0.0', repository: 'hexpm:acme' },
      ],
    });
  });

  it('round-trips a package record with checksums, dependencies, retirement and time', async () => {
    const result = await verifyRegistryBody(repo.packageBody('bar')!, key(), { kind: 'package', repository: 'hexpm', packageName: 'bar' });
    expect(result.kind).toBe('package');
    if (result.kind !== 'package') return;
    const { record } = result;
    expect(record.name).toBe('bar');
    expect(record.repository).toBe('hexpm');
    expect(record.releases.map((r) => r.version)).toEqual(['0.9.0', '1.0.0', '1.1.0-rc.1']);
    const v100 = record.releases[1]!;
    const fixture = repo.release('bar', '1.0.0')!;
    expect(v100.innerChecksum).toBe(fixture.innerChecksum);
    expect(v100.outerChecksum).toBe(fixture.outerChecksum);
    expect(v100.innerChecksum).toMatch(/^[0-9a-f]{64}$/);
    expect(v100.outerChecksum).not.toBe(v100.innerChecksum);
    expect(v100.publishedAt).toBe(1_700_000_100);
    expect(v100.retired).toBeUndefined();
    expect(v100.dependencies).toEqual([]);
    expect(record.releases[0]!.retired).toEqual({ reason: 'security', message: 'CVE-2099-0001' });
  });

  it('decodes dependencies with defaults for app, optional and repository', async () => {
    const result = await verifyRegistryBody(repo.packageBody('foo')!, key(), { kind: 'package', repository: 'hexpm', packageName: 'foo' });
    if (result.kind !== 'package') throw new Error('expected a package');
    expect(result.record.releases).toHaveLength(1);
    expect(result.record.releases[0]!.version).toBe('2.0.0+build.7');
    expect(result.record.releases[0]!.dependencies).toEqual([
      { package: 'bar', requirement: '~> 1.0', optional: false, app: 'bar' },
      { package: 'baz_opt', requirement: '>= 0.1.0', optional: true, app: 'baz' },
      { package: 'corp', requirement: '1.0.0', optional: false, app: 'corp', repository: 'hexpm:acme' },
    ]);
  });

  it('round-trips names', async () => {
    const result = await verifyRegistryBody(repo.namesBody(), key(), { kind: 'names', repository: 'hexpm' });
    if (result.kind !== 'names') throw new Error('expected names');
    expect(result.record.repository).toBe('hexpm');
    expect(result.record.packages.map((p) => p.name)).toEqual(['bar', 'foo']);
    const barTimes = repo.releases('bar').map((r) => r.publishedAt);
    expect(result.record.packages[0]!.updatedAt).toBe(Math.max(...barTimes));
  });

  it('round-trips versions with retired indexes', async () => {
    const result = await verifyRegistryBody(repo.versionsBody(), key(), { kind: 'versions', repository: 'hexpm' });
    if (result.kind !== 'versions') throw new Error('expected versions');
    expect(result.record.packages).toEqual([
      { name: 'bar', versions: ['0.9.0', '1.0.0', '1.1.0-rc.1'], retired: [0] },
      { name: 'foo', versions: ['2.0.0+build.7'], retired: [] },
    ]);
  });

  it('signAndPack produces a body that verifies, and matches the fixture packing', async () => {
    const payload = encodePackage(repo.packageRecord('bar')!);
    const body = signAndPack(payload, testKeys().privateKeyPem);
    expect((await openSigned(body, key())).equals(payload)).toBe(true);
    // PKCS#1 v1.5 signatures are deterministic, and so is gzip: both packers agree byte for byte.
    expect(body.equals(repo.packageBody('bar')!)).toBe(true);
    const { signature } = unpackSigned(body);
    expect(signature).toHaveLength(256); // RSA-2048, raw (not base64)
  });

  it('rejects a tampered payload byte as bad_signature', async () => {
    const { payload, signature } = unpackSigned(repo.packageBody('bar')!);
    const index = payload.indexOf(Buffer.from('1.0.0'));
    expect(index).toBeGreaterThan(0);
    const tampered = Buffer.from(payload);
    tampered[index + 4] = '1'.charCodeAt(0); // 1.0.0 -> 1.0.1, still a valid protobuf
    expect(decodePackage(tampered).releases.map((r) => r.version)).toContain('1.0.1');
    await expectRegistryError(
      () => verifyRegistryBody(packSigned(tampered, signature), key(), { kind: 'package', repository: 'hexpm', packageName: 'bar' }),
      'bad_signature',
    );
  });

  it('rejects a record signed by another key as bad_signature', async () => {
    const body = repo.packageBody('bar', { privateKeyPem: otherKeys().privateKeyPem })!;
    await expectRegistryError(() => verifyRegistryBody(body, key(), { kind: 'package', repository: 'hexpm', packageName: 'bar' }), 'bad_signature');
    // ...and the same body verifies against that other key.
    await expect(openSigned(body, loadPublicKey(otherKeys().publicKeyPem))).resolves.toBeInstanceOf(Buffer);
  });

  it('rejects an unsigned record as bad_signature', async () => {
    const body = repo.namesBody({ unsigned: true });
    expect(unpackSigned(body).signature).toBeUndefined();
    await expectRegistryError(() => verifyRegistryBody(body, key(), { kind: 'names', repository: 'hexpm' }), 'bad_signature');
    const emptySignature = packSigned(unpackSigned(repo.namesBody()).payload, Buffer.alloc(0));
    await expectRegistryError(() => openSigned(emptySignature, key()), 'bad_signature');
  });

  it('rejects a truncated gzip body as malformed', async () => {
    const body = repo.packageBody('bar')!;
    await expectRegistryError(
      () => verifyRegistryBody(body.subarray(0, Math.floor(body.length / 2)), key(), { kind: 'package', repository: 'hexpm', packageName: 'bar' }),
      'malformed',
    );
  });

  it('rejects garbage as malformed', async () => {
    await expectRegistryError(() => openSigned(Buffer.from('<html>Service Unavailable</html>'), key()), 'malformed');
    await expectRegistryError(() => openSigned(Buffer.alloc(0), key()), 'malformed');
    // Valid gzip, but not a Signed message (field 1 is missing / wire garbage).
    await expectRegistryError(() => openSigned(gzipSync(Buffer.from([0xff, 0xff, 0xff, 0xff])), key()), 'malformed');
    // A signed, verified payload that is not a Package message.
    const junk = Buffer.from([0x0a, 0x05, 0x01]);
    const body = packSigned(junk, signPayload(junk, testKeys().privateKeyPem));
    await expectRegistryError(() => verifyRegistryBody(body, key(), { kind: 'package', repository: 'hexpm', packageName: 'bar' }), 'malformed');
  });

  it('rejects a record for another repository as bad_repo_name', async () => {
    const packageBody = repo.packageBody('bar', { repository: 'evil' })!;
    const err = await expectRegistryError(
      () => verifyRegistryBody(packageBody, key(), { kind: 'package', repository: 'hexpm', packageName: 'bar' }),
      'bad_repo_name',
    );
    expect(err.message).toContain('evil');
    await expectRegistryError(() => verifyRegistryBody(repo.namesBody({ repository: 'evil' }), key(), { kind: 'names', repository: 'hexpm' }), 'bad_repo_name');
    await expectRegistryError(
      () => verifyRegistryBody(repo.versionsBody({ repository: 'evil' }), key(), { kind: 'versions', repository: 'hexpm' }),
      'bad_repo_name',
    );
    // A repository configured under another name refuses genuine hexpm records.
    await expectRegistryError(() => verifyRegistryBody(repo.namesBody(), key(), { kind: 'names', repository: 'corp' }), 'bad_repo_name');
  });

  it('rejects a record for another package as bad_package_name', async () => {
    // A genuine, correctly signed record for "foo" served at /packages/bar.
    const err = await expectRegistryError(
      () => verifyRegistryBody(repo.packageBody('foo')!, key(), { kind: 'package', repository: 'hexpm', packageName: 'bar' }),
      'bad_package_name',
    );
    expect(err.message).toContain('foo');
  });

  it('handles a release without an outer checksum (old records)', async () => {
    const record: PackageRecord = {
      name: 'old',
      repository: 'hexpm',
      releases: [{ version: '0.1.0', innerChecksum: 'ab'.repeat(32), dependencies: [] }],
    };
    const body = signAndPack(encodePackage(record), testKeys().privateKeyPem);
    const result = await verifyRegistryBody(body, key(), { kind: 'package', repository: 'hexpm', packageName: 'old' });
    if (result.kind !== 'package') throw new Error('expected a package');
    expect(result.record.releases[0]!.innerChecksum).toBe('ab'.repeat(32));
    expect(result.record.releases[0]!.outerChecksum).toBeUndefined();
    expect(result.record.releases[0]!.publishedAt).toBeUndefined();
  });

  it('decodes an unknown retirement reason without failing', async () => {
    const record = repo.packageRecord('bar')!;
    const payload = encodePackage(record);
    // Patch reason SECURITY (2) of the retired release to 9: RetirementStatus is {08 02 12 len message}.
    const marker = Buffer.from([0x08, 0x02, 0x12, 'CVE-2099-0001'.length]);
    const at = payload.indexOf(marker);
    expect(at).toBeGreaterThan(0);
    const patched = Buffer.from(payload);
    patched[at + 1] = 9;
    expect(decodePackage(patched).releases[0]!.retired?.reason).toMatch(/unknown|9/);
  });

  it('decoders work on Buffers from openSigned', async () => {
    const names = decodeNames(await openSigned(repo.namesBody(), key()));
    const versions = decodeVersions(await openSigned(repo.versionsBody(), key()));
    expect(names.packages).toHaveLength(2);
    expect(versions.packages[0]!.versions).toContain('1.0.0');
  });

  // decodePackage() is typed to take a Uint8Array, but for a plain Uint8Array protobufjs
  // returns Uint8Array (not Buffer) bytes fields, which registry.ts `hex()` discards: the
  // checksums silently decode as '' / undefined.
  it('decodePackage keeps checksums when given a plain Uint8Array', async () => {
    const payload = encodePackage(repo.packageRecord('bar')!);
    const decoded = decodePackage(new Uint8Array(payload));
    expect(decoded.releases[1]!.innerChecksum).toBe(repo.release('bar', '1.0.0')!.innerChecksum);
    expect(decoded.releases[1]!.outerChecksum).toBe(repo.release('bar', '1.0.0')!.outerChecksum);
  });
});

describe('FixtureRepo options', () => {
  it('signs with its own key and repository name', async () => {
    const corp = new FixtureRepo({ repository: 'corp', privateKeyPem: otherKeys().privateKeyPem });
    expect(corp.publicKeyPem).toBe(otherKeys().publicKeyPem);
    await corp.publish({ name: 'secret', version: '0.1.0' });
    const result = await verifyRegistryBody(corp.packageBody('secret')!, loadPublicKey(corp.publicKeyPem), {
      kind: 'package',
      repository: 'corp',
      packageName: 'secret',
    });
    expect(result.kind).toBe('package');
    await expectRegistryError(
      () => verifyRegistryBody(corp.packageBody('secret')!, key(), { kind: 'package', repository: 'corp', packageName: 'secret' }),
      'bad_signature',
    );
    expect(corp.packageBody('nope')).toBeUndefined();
  });
});
