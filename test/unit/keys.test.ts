// The one reader of cache keys (src-shared/keys.ts), used by the engine and the dashboard:
// every key the engine builds reads back as what it names, and nothing else reads as a key.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeKey, isValidKey, keys, parseKey } from '../../src-shared/keys.js';
import { describeKey as engineDescribeKey, keys as engineKeys } from '../../src-main/store/keys.js';

const name = fc.stringMatching(/^[a-z][a-z0-9_]{0,127}$/);
const version = fc.stringMatching(
  /^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})(-[0-9A-Za-z-]{1,8}(\.[0-9A-Za-z-]{1,8}){0,3})?(\+[0-9A-Za-z-]{1,8}(\.[0-9A-Za-z-]{1,8}){0,3})?$/,
);
const variant = fc.constantFrom('json', 'erlang');

describe('parseKey reads every key the engine builds', () => {
  it.each([
    ['registry/names', keys.names(), { kind: 'registry' }],
    ['registry/versions', keys.versions(), { kind: 'registry' }],
    ['a registry record', keys.package('plug_crypto'), { kind: 'registry', package: 'plug_crypto' }],
    ['a tarball', keys.tarball('plug', '1.14.0'), { kind: 'tarball', package: 'plug', version: '1.14.0' }],
    ['a pre-release tarball', keys.tarball('phoenix', '1.8.0-rc.1+build.7'), { kind: 'tarball', package: 'phoenix', version: '1.8.0-rc.1+build.7' }],
    ['docs', keys.docs('ecto_sql', '3.11.1'), { kind: 'docs', package: 'ecto_sql', version: '3.11.1' }],
    ['the public key', keys.publicKey(), { kind: 'public_key' }],
    ['a JSON package answer', keys.api('json', 'jason'), { kind: 'api', package: 'jason' }],
    ['an Erlang release answer', keys.api('erlang', 'jason', '1.4.1'), { kind: 'api', package: 'jason', version: '1.4.1' }],
    ['an installs file', keys.installs(['hex-1.0.0.ez']), { kind: 'installs' }],
    ['a nested installs file', keys.installs(['1.15.0', 'hex-2.0.6.ez']), { kind: 'installs' }],
  ])('%s', (_label, key, info) => {
    expect(parseKey(key)).toEqual(info);
    expect(isValidKey(key)).toBe(true);
    expect(describeKey(key)).toEqual(info);
  });

  it('the API keys as the engine stores them (the dashboard once missed these)', () => {
    expect(keys.api('json', 'plug')).toBe('api/json/packages/plug/index');
    expect(keys.api('erlang', 'plug', '1.14.0')).toBe('api/erlang/packages/plug/releases/1.14.0');
    expect(parseKey('api/json/packages/plug/index')).toEqual({ kind: 'api', package: 'plug' });
    expect(parseKey('api/erlang/packages/plug/releases/1.14.0')).toEqual({ kind: 'api', package: 'plug', version: '1.14.0' });
  });

  it('any valid name and version, in every kind of key', () => {
    fc.assert(
      fc.property(name, version, variant, (n, v, t) => {
        expect(parseKey(keys.package(n))).toEqual({ kind: 'registry', package: n });
        expect(parseKey(keys.tarball(n, v))).toEqual({ kind: 'tarball', package: n, version: v });
        expect(parseKey(keys.docs(n, v))).toEqual({ kind: 'docs', package: n, version: v });
        expect(parseKey(keys.api(t, n))).toEqual({ kind: 'api', package: n });
        expect(parseKey(keys.api(t, n, v))).toEqual({ kind: 'api', package: n, version: v });
      }),
    );
  });

  it('the engine builds and reads keys through the shared module', () => {
    expect(engineKeys).toBe(keys);
    expect(engineDescribeKey).toBe(describeKey);
  });
});

describe('parseKey refuses what no builder makes', () => {
  it.each([
    '',
    'foo',
    'public_key/x',
    'registry',
    'registry/other',
    'registry/packages',
    'registry/packages/Plug',
    'registry/packages/../../etc/passwd',
    'registry/packages/plug/extra',
    'tarballs/plug.tar',
    'tarballs/plug-1.14.0.tar.gz',
    'tarballs/plug-1.14.tar',
    'tarballs/../plug-1.14.0.tar',
    'tarballs/sub/plug-1.14.0.tar',
    'docs/plug-1.14.0.tar',
    'api/packages/plug',
    'api/json/packages/plug',
    'api/json/packages/plug/releases',
    'api/json/packages/plug/releases/latest',
    'api/json/packages/plug/index/more',
    'api/JSON/packages/plug/index',
    'api/json/repos/plug/index',
    'installs',
    'installs/..',
    'installs/.hidden',
    'installs/a/b/c/d/e',
    'quarantine/plug-1.14.0.tar',
  ])('%j', (key) => {
    expect(parseKey(key)).toBeUndefined();
    expect(isValidKey(key)).toBe(false);
    expect(() => describeKey(key)).toThrow(/not a cache key/);
  });
});
