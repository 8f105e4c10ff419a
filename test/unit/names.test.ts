import { describe, expect, it } from 'vitest';
import { isPackageName, isVersion, parseReleaseFile } from '../../src-main/hex/names.js';

describe('isPackageName', () => {
  it.each(['a', 'phoenix', 'plug_crypto', 'ecto_sql', 'x509', 'a1_b2', 'a'.repeat(128)])('accepts %s', (name) => {
    expect(isPackageName(name)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['uppercase', 'Phoenix'],
    ['inner uppercase', 'plugCrypto'],
    ['leading digit', '1password'],
    ['leading underscore', '_private'],
    ['dash', 'plug-crypto'],
    ['dot', 'plug.crypto'],
    ['dot dot', '..'],
    ['path traversal', '../etc'],
    ['slash', 'a/b'],
    ['backslash', 'a\\b'],
    ['space', 'a b'],
    ['trailing newline', 'phoenix\n'],
    ['NUL', 'pho\0enix'],
    ['unicode letter', 'café'],
    ['cyrillic look-alike', 'рhoenix'],
    ['percent-encoded', 'a%2Fb'],
    ['too long', 'a'.repeat(129)],
    ['very long', 'a'.repeat(100_000)],
  ])('rejects %s', (_label, name) => {
    expect(isPackageName(name)).toBe(false);
  });
});

describe('isVersion', () => {
  it.each([
    '0.0.0',
    '1.0.0',
    '10.20.30',
    '1.0.0-rc.1',
    '1.0.0-alpha',
    '1.0.0-alpha.beta.1',
    '1.0.0-0.3.7',
    '1.0.0-x-y-z.--',
    '1.0.0+build.1',
    '1.0.0-rc.1+build.1',
    '1.0.0+20130313144700',
    '2.0.0-dev+sha.5114f85',
    '999999999.0.0',
  ])('accepts %s', (version) => {
    expect(isVersion(version)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['two parts', '1.0'],
    ['four parts', '1.0.0.0'],
    ['v prefix', 'v1.0.0'],
    ['leading zero', '01.0.0'],
    ['leading zero minor', '1.01.0'],
    ['empty pre-release', '1.0.0-'],
    ['empty pre-release identifier', '1.0.0-rc..1'],
    ['empty build', '1.0.0+'],
    ['dot dot', '..'],
    ['traversal', '1.0.0/../../x'],
    ['slash in pre-release', '1.0.0-rc/1'],
    ['space', '1.0.0 '],
    ['trailing newline', '1.0.0\n'],
    ['NUL', '1.0.0\0'],
    ['unicode digit', '1.0.٣'],
    ['unicode pre-release', '1.0.0-βeta'],
    ['underscore', '1.0.0-rc_1'],
    ['too many digits', '1234567890.0.0'],
    ['too long', `1.0.0-${'a'.repeat(123)}`],
    ['very long', `1.0.0-${'a.'.repeat(50_000)}a`],
  ])('rejects %s', (_label, version) => {
    expect(isVersion(version)).toBe(false);
  });

  it('accepts exactly 128 characters and rejects 129', () => {
    expect(isVersion(`1.0.0-${'a'.repeat(122)}`)).toBe(true);
    expect(`1.0.0-${'a'.repeat(122)}`).toHaveLength(128);
    expect(isVersion(`1.0.0-${'a'.repeat(123)}`)).toBe(false);
  });
});

describe('parseReleaseFile', () => {
  it.each([
    ['phoenix-1.7.14.tar', '.tar', { name: 'phoenix', version: '1.7.14' }],
    ['plug_crypto-2.1.0.tar', '.tar', { name: 'plug_crypto', version: '2.1.0' }],
    ['foo-1.0.0-rc.1.tar', '.tar', { name: 'foo', version: '1.0.0-rc.1' }],
    ['foo-1.0.0-rc.1+build.1.tar', '.tar', { name: 'foo', version: '1.0.0-rc.1+build.1' }],
    ['ex_doc-0.34.0.tar.gz', '.tar.gz', { name: 'ex_doc', version: '0.34.0' }],
  ])('parses %s', (file, suffix, expected) => {
    expect(parseReleaseFile(file, suffix)).toEqual(expected);
  });

  it.each([
    ['wrong suffix', 'phoenix-1.7.14.tar.gz', '.tar'],
    ['no suffix', 'phoenix-1.7.14', '.tar'],
    ['no version', 'phoenix.tar', '.tar'],
    ['empty version', 'phoenix-.tar', '.tar'],
    ['no name', '-1.0.0.tar', '.tar'],
    ['uppercase name', 'Phoenix-1.0.0.tar', '.tar'],
    ['bad version', 'phoenix-1.0.tar', '.tar'],
    ['traversal in name', '..-1.0.0.tar', '.tar'],
    ['traversal in version', 'phoenix-1.0.0/../../x.tar', '.tar'],
    ['slash', 'a/b-1.0.0.tar', '.tar'],
    ['NUL', 'phoenix-1.0.0\0.tar', '.tar'],
    ['encoded plus', 'foo-1.0.0%2Bbuild.tar', '.tar'],
    ['only suffix', '.tar', '.tar'],
  ])('rejects %s', (_label, file, suffix) => {
    expect(parseReleaseFile(file, suffix)).toBeUndefined();
  });
});
