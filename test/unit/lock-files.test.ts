import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  detectLockKind,
  LockFileError,
  PackageArgError,
  parseLockFile,
  parseMixLock,
  parsePackageArgs,
  parseRebarLock,
  type LockEntry,
} from '../../src-main/prewarm/lock-files.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/locks/${name}`, import.meta.url), 'utf8');
const byApp = (entries: LockEntry[]) => new Map(entries.map((e) => [e.app, e]));

function lockError(fn: () => unknown): LockFileError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(LockFileError);
    return error as LockFileError;
  }
  throw new Error('expected a LockFileError');
}

describe('parseMixLock: Phoenix app fixture', () => {
  const entries = parseMixLock(fixture('phoenix-app.mix.lock'));
  const apps = byApp(entries);

  it('reads every entry in file order', () => {
    expect(entries).toHaveLength(43);
    expect(entries.filter((e) => e.source === 'hex')).toHaveLength(42);
    expect(entries.filter((e) => e.source === 'git').map((e) => e.app)).toEqual(['heroicons']);
    expect(entries.slice(0, 3).map((e) => e.app)).toEqual(['acme_billing', 'bandit', 'castore']);
    expect(entries[entries.length - 1]!.app).toBe('websock_adapter');
  });

  it('reads the current 8-element tuple with both checksums', () => {
    expect(apps.get('castore')).toEqual({
      name: 'castore',
      app: 'castore',
      version: '1.0.8',
      source: 'hex',
      repo: 'hexpm',
      innerChecksum: 'b3145c044bb112bdfb8cc159c88955626b4ad8a789bad1d973675f1e64ed8947',
      outerChecksum: 'd860a722d22e9aef4c3a327765d3b248fc6a51c1b5f4c99733fc07d26f8b5178',
      managers: ['mix'],
      dependencies: [],
      optional: false,
    });
    expect(apps.get('cowboy')!.managers).toEqual(['make', 'rebar3']);
  });

  it('reads the older 7-element (no outer checksum) and 6-element (no repo) tuples', () => {
    const expo = apps.get('expo')!;
    expect(expo.version).toBe('1.0.0');
    expect(expo.innerChecksum).toBe('89309ca7ad536ce57ef1de22eaa46e7e8564ee6efc3a95060188cf208fb58ad3');
    expect(expo.outerChecksum).toBeUndefined();
    expect(expo.repo).toBe('hexpm');
    const floki = apps.get('floki')!;
    expect(floki.version).toBe('0.36.2');
    expect(floki.innerChecksum).toBe('01e0c8a1aa530e5a92fd385ecb1f582acb5fc420c65ecc73dc19bcf1c0f9999e');
    expect(floki.outerChecksum).toBeUndefined();
    expect(floki.repo).toBe('hexpm');
  });

  it('uses the Hex package name when it differs from the app key', () => {
    expect(apps.get('uuid')).toMatchObject({ name: 'elixir_uuid', app: 'uuid', version: '1.2.1', source: 'hex' });
  });

  it('keeps a non-hexpm repository', () => {
    expect(apps.get('acme_billing')).toMatchObject({ name: 'acme_billing', repo: 'hexpm:acme', version: '0.3.0' });
  });

  it('reads git entries with URL and revision', () => {
    expect(apps.get('heroicons')).toEqual({
      name: 'heroicons',
      app: 'heroicons',
      source: 'git',
      detail: 'https://github.com/tailwindlabs/heroicons.git',
      ref: '88ab3a0d790e6a47404cba02800a6b25d2afae50',
    });
  });

  it('reads dependency lists including optional flags', () => {
    const phoenix = apps.get('phoenix')!;
    expect(phoenix.dependencies).toHaveLength(10);
    expect(phoenix.dependencies![1]).toEqual({ app: 'jason', name: 'jason', requirement: '~> 1.0', optional: true, repo: 'hexpm' });
    expect(phoenix.dependencies!.filter((d) => d.optional).map((d) => d.app)).toEqual(['jason', 'phoenix_view', 'plug_cowboy']);
    expect(apps.get('ecto_sql')!.dependencies!.find((d) => d.app === 'db_connection')!.requirement).toBe('~> 2.4.1 or ~> 2.5');
  });

  it('marks apps that are only referenced optionally', () => {
    expect(apps.get('floki')!.optional).toBe(true); // only phoenix_live_view's optional dep
    expect(apps.get('jason')!.optional).toBe(false); // esbuild and swoosh need it
    expect(apps.get('telemetry')!.optional).toBe(false);
    expect(apps.get('castore')!.optional).toBe(false);
    expect(apps.get('phoenix_live_reload')!.optional).toBeUndefined(); // a top-level dep
    expect(apps.get('uuid')!.optional).toBeUndefined();
  });

  it('lowercases every checksum', () => {
    for (const entry of entries.filter((e) => e.source === 'hex')) {
      expect(entry.innerChecksum).toMatch(/^[0-9a-f]{64}$/);
      if (entry.outerChecksum) expect(entry.outerChecksum).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(entries.filter((e) => e.outerChecksum)).toHaveLength(39); // all but expo, file_system, floki
  });
});

describe('parseMixLock: other shapes', () => {
  const inner = 'ABCDEF0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789';

  it('accepts the "key" => form, 3-element 0.x tuples, uppercase checksums and unknown SCMs', () => {
    const text = `%{"cowboy" => {:hex, :cowboy, "1.0.0"},
      "plug" => {:hex, :plug, "1.0.0", "${inner}", [:mix], [{:cowboy, nil, [hex: :cowboy, optional: true]}]},
      "local" => {:path, "../local"},
      "weird" => {:hg, "https://hg.example/x", "abc"}}`;
    const apps = byApp(parseMixLock(text));
    expect(apps.get('cowboy')).toEqual({ name: 'cowboy', app: 'cowboy', version: '1.0.0', source: 'hex', repo: 'hexpm', optional: true });
    expect(apps.get('plug')!.innerChecksum).toBe(inner.toLowerCase());
    expect(apps.get('plug')!.dependencies).toEqual([{ app: 'cowboy', name: 'cowboy', optional: true }]);
    expect(apps.get('local')).toEqual({ name: 'local', app: 'local', source: 'path', detail: '../local' });
    expect(apps.get('weird')).toEqual({ name: 'weird', app: 'weird', source: 'other', detail: '{:hg, ...}' });
  });

  it('reads an empty lock', () => {
    expect(parseMixLock('%{}\n')).toEqual([]);
  });

  it.each([
    ['not a map', '[1]', 1, 1, 'expected a map'],
    ['syntax error', '%{\n  "a": {:hex, :a "1.0.0"}\n}', 2, 18, 'mix.lock: expected "," or "}" in tuple'],
    ['short checksum', '%{\n"a": {:hex, :a, "1.0.0", "abc"}}', 2, 26, 'inner checksum: expected 64 hex digits'],
    ['bad version', '%{"a": {:hex, :a, "1.0"}}', 1, 19, 'invalid version "1.0"'],
    ['bad package name', '%{"a": {:hex, :"A-b", "1.0.0"}}', 1, 15, 'invalid package name'],
    ['too long tuple', `%{"a": {:hex, :a, "1.0.0", "${'a'.repeat(64)}", [], [], "hexpm", "${'b'.repeat(64)}", 1}}`, 1, 8, '3 to 8 elements'],
    ['bad dependency', '%{"a": {:hex, :a, "1.0.0", "' + 'a'.repeat(64) + '", [:mix], [:b]}}', 1, 105, 'malformed dependency'],
    ['value not a tuple', '%{"a": "1.0.0"}', 1, 8, 'expected a tuple'],
  ])('rejects %s with a location', (_label, text, line, column, message) => {
    const error = lockError(() => parseMixLock(text));
    expect({ line: error.line, column: error.column }).toEqual({ line, column });
    expect(error.message).toContain(message);
  });

  it('refuses a file with merge conflict markers', () => {
    const text = '%{\n<<<<<<< HEAD\n  "a": {:hex, :a, "1.0.0"},\n=======\n  "a": {:hex, :a, "1.0.1"},\n>>>>>>> branch\n}';
    const error = lockError(() => parseMixLock(text));
    expect(error.line).toBe(2);
    expect(error.message).toContain('merge conflict');
  });
});

describe('parseRebarLock', () => {
  it('reads the 1.2.0 format with pkg_hash and pkg_hash_ext', () => {
    const entries = parseRebarLock(fixture('erlang-app.rebar.lock'));
    expect(entries).toHaveLength(13);
    expect(entries.map((e) => e.app)).toEqual([
      'certifi',
      'cowboy',
      'cowlib',
      'hackney',
      'idna',
      'jose',
      'jsx',
      'metrics',
      'mimerl',
      'parse_trans',
      'ranch',
      'ssl_verify_fun',
      'unicode_util_compat',
    ]);
    const apps = byApp(entries);
    expect(apps.get('cowboy')).toEqual({
      name: 'cowboy',
      app: 'cowboy',
      level: 0,
      version: '2.12.0',
      source: 'hex',
      innerChecksum: 'a10a22e96059c6a48a8aa179305d214ee391dad9f1058a15fbf5dc476a7bcecc',
      outerChecksum: 'd11a95ad84aa5079509aa00697d3a4f390dbb9665d85cb8e0f87eb1208972dea',
    });
    expect(apps.get('unicode_util_compat')).toMatchObject({ level: 2, version: '0.7.0' });
    expect(entries.filter((e) => e.source === 'hex').every((e) => /^[0-9a-f]{64}$/.test(e.innerChecksum!) && /^[0-9a-f]{64}$/.test(e.outerChecksum!))).toBe(
      true,
    );
  });

  it('uses the package name when it differs from the app, with hashes keyed by app', () => {
    const jose = byApp(parseRebarLock(fixture('erlang-app.rebar.lock'))).get('jose')!;
    expect(jose.name).toBe('erlang_jose');
    expect(jose.version).toBe('1.11.10');
    expect(jose.innerChecksum).toBe('552022b1a9befb88c0f6613634a21af2d4f3df2c93290e4bd32810e32cdf2ee0');
  });

  it('reads git dependencies', () => {
    expect(byApp(parseRebarLock(fixture('erlang-app.rebar.lock'))).get('jsx')).toEqual({
      name: 'jsx',
      app: 'jsx',
      level: 0,
      source: 'git',
      detail: 'https://github.com/talentdeficit/jsx.git',
      ref: '3074d4865b3385a050badf7828ad31490d860df5',
    });
  });

  it('reads the legacy bare-list format (no hashes)', () => {
    expect(parseRebarLock(fixture('legacy.rebar.lock'))).toEqual([
      { name: 'cowboy', app: 'cowboy', level: 0, version: '1.0.4', source: 'hex' },
      { name: 'cowlib', app: 'cowlib', level: 1, version: '1.0.2', source: 'hex' },
      {
        name: 'goldrush',
        app: 'goldrush',
        level: 1,
        source: 'git',
        detail: 'git://github.com/DeadZen/goldrush.git',
        ref: '8f1b715d36b650ec1e1f5612c00e28af6ab0de82',
      },
      { name: 'ranch', app: 'ranch', level: 1, version: '1.2.1', source: 'hex' },
    ]);
  });

  it('reads a 1.1.0 lock with only pkg_hash, git_subdir and unknown sources', () => {
    const hash = 'F'.repeat(64);
    const text = `{"1.1.0",
[{<<"a">>,{pkg,<<"a">>,<<"1.0.0">>},0},
 {<<"sub">>,{git_subdir,"https://example.com/mono.git",{ref,"abc"},"apps/sub"},0},
 {<<"raw">>,{hg,"https://hg.example/raw",{ref,"1"}},1}]}.
[{pkg_hash,[{<<"a">>,<<"${hash}">>}]}].`;
    expect(parseRebarLock(text)).toEqual([
      { name: 'a', app: 'a', level: 0, version: '1.0.0', source: 'hex', innerChecksum: 'f'.repeat(64) },
      { name: 'sub', app: 'sub', level: 0, source: 'git', detail: 'https://example.com/mono.git (apps/sub)', ref: 'abc' },
      { name: 'raw', app: 'raw', level: 1, source: 'other', detail: '{hg,"https://hg.example/raw",{ref,"1"}}' },
    ]);
  });

  it('reads an empty lock', () => {
    expect(parseRebarLock('')).toEqual([]);
    expect(parseRebarLock('[].\n')).toEqual([]);
  });

  it.each([
    ['syntax error', '{"1.2.0",\n[{<<"a">>,{pkg,<<"a">>,<<"1.0.0">>},0}]}\n', 3, 1, 'expected "." after a term'],
    ['bad hash', '{"1.2.0",[{<<"a">>,{pkg,<<"a">>,<<"1.0.0">>},0}]}.\n[{pkg_hash,[{<<"a">>,<<"ABC">>}]}].', 2, 13, 'pkg_hash for a: expected 64 hex digits'],
    ['bad version', '[{<<"a">>,{pkg,<<"a">>,<<"1.0">>},0}].', 1, 24, 'invalid version'],
    ['bad entry', '[{<<"a">>,0}].', 1, 2, 'expected {<<"app">>, Source, Level}'],
    ['not a lock', 'foo.', 1, 1, 'expected {"1.2.0", [...]}'],
  ])('rejects %s with a location', (_label, text, line, column, message) => {
    const error = lockError(() => parseRebarLock(text));
    expect({ line: error.line, column: error.column }).toEqual({ line, column });
    expect(error.message).toContain(message);
  });
});

describe('detectLockKind', () => {
  it.each([
    ['mix.lock', '%{}', 'mix'],
    ['/home/me/app/mix.lock', '', 'mix'],
    ['C:\\proj\\rebar.lock', '', 'rebar'],
    ['upload.txt', '# comment\n%{\n}', 'mix'],
    ['upload.txt', '%% comment\n{"1.2.0",\n[]}.', 'rebar'],
    ['upload.txt', '\n  [{<<"a">>,{pkg,<<"a">>,<<"1.0.0">>},0}].', 'rebar'],
    ['rebar.lock', '%{"a": {:hex, :a, "1.0.0"}}', 'mix'], // the content wins when it is telling
    ['mix.lock', 'garbage', 'mix'],
  ])('%s %j → %s', (name, text, expected) => {
    expect(detectLockKind(name, text)).toBe(expected);
  });

  it('fails when neither the name nor the content tells', () => {
    expect(() => detectLockKind('deps.txt', 'hello')).toThrow(/cannot tell/);
  });

  it('parseLockFile dispatches on the detected kind', () => {
    const mix = parseLockFile('mix.lock', fixture('phoenix-app.mix.lock'));
    expect(mix.kind).toBe('mix');
    expect(mix.entries).toHaveLength(43);
    const rebar = parseLockFile('upload', fixture('legacy.rebar.lock'));
    expect(rebar.kind).toBe('rebar');
    expect(rebar.entries).toHaveLength(4);
  });
});

describe('parsePackageArgs', () => {
  it('parses names, versions and requirements', () => {
    expect(parsePackageArgs(['jason', 'jason@1.4.1', 'plug@~> 1.14', ' phoenix @ >= 1.7.0 and < 1.8.0 ', 'ecto@1.0.0-rc.1', 'x@== 1.0.0'])).toEqual([
      { name: 'jason' },
      { name: 'jason', version: '1.4.1' },
      { name: 'plug', requirement: '~> 1.14' },
      { name: 'phoenix', requirement: '>= 1.7.0 and < 1.8.0' },
      { name: 'ecto', version: '1.0.0-rc.1' },
      { name: 'x', requirement: '== 1.0.0' },
    ]);
    expect(parsePackageArgs([])).toEqual([]);
  });

  it('reports every bad argument at once', () => {
    let error: unknown;
    try {
      parsePackageArgs(['jason', 'Jason', 'plug@', 'ecto@1.0', 'a@^1.0.0', '../etc', '@1.0.0']);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PackageArgError);
    const problems = (error as PackageArgError).problems;
    expect(problems).toHaveLength(6);
    expect(problems[0]).toBe('"Jason": invalid package name "Jason"');
    expect(problems[1]).toBe('"plug@": missing version or requirement after "@"');
    expect(problems[2]).toContain('"ecto@1.0": neither a version nor a requirement');
    expect(problems[2]).toContain('needs a patch version');
    expect(problems[3]).toContain('"a@^1.0.0"');
    expect(problems[4]).toBe('"../etc": invalid package name "../etc"');
    expect(problems[5]).toBe('"@1.0.0": invalid package name ""');
  });
});
