import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { PackageRecord, Release } from '../../src-main/hex/registry.js';
import { resolve, type ResolveResult } from '../../src-main/prewarm/resolve.js';

type DepSpec = [pkg: string, requirement: string, opts?: { optional?: boolean; repository?: string }];
interface ReleaseSpec {
  v: string;
  deps?: DepSpec[];
  retired?: boolean;
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** An in-memory registry: getPackage resolves records, records the calls and the peak concurrency. */
function registry(spec: Record<string, ReleaseSpec[]>, opts: { delayMs?: number; failing?: string[] } = {}) {
  const calls: string[] = [];
  let inFlight = 0;
  let peak = 0;
  const getPackage = async (name: string): Promise<PackageRecord | undefined> => {
    calls.push(name);
    inFlight++;
    peak = Math.max(peak, inFlight);
    try {
      await new Promise((r) => setTimeout(r, opts.delayMs ?? 0));
      if (opts.failing?.includes(name)) throw new Error(`upstream said 503 for ${name}`);
      const releases = spec[name];
      if (!releases) return undefined;
      return {
        name,
        repository: 'hexpm',
        releases: releases.map((r): Release => ({
          version: r.v,
          innerChecksum: sha(`${name}-${r.v}-inner`),
          outerChecksum: sha(`${name}-${r.v}-outer`),
          dependencies: (r.deps ?? []).map(([pkg, requirement, o]) => ({
            package: pkg,
            requirement,
            optional: o?.optional ?? false,
            app: pkg,
            ...(o?.repository ? { repository: o.repository } : {}),
          })),
          ...(r.retired ? { retired: { reason: 'security', message: 'CVE-2024-0001' } } : {}),
        })),
      };
    } finally {
      inFlight--;
    }
  };
  return { getPackage, calls, peak: () => peak };
}

const versions = (result: ResolveResult) => Object.fromEntries(result.releases.map((r) => [r.name, r.version]));
const kinds = (result: ResolveResult) => result.problems.map((p) => `${p.name}:${p.kind}`);

describe('resolve: picking versions', () => {
  const reg = registry({
    plug: [{ v: '1.13.6' }, { v: '1.14.0' }, { v: '1.14.2' }, { v: '1.15.0', retired: true }, { v: '1.16.0-rc.0' }, { v: '1.15.3' }],
    beta_only: [{ v: '0.1.0-alpha.1' }, { v: '0.1.0-beta.2' }],
    all_retired: [
      { v: '1.0.0', retired: true },
      { v: '1.1.0', retired: true },
    ],
    stable_retired: [{ v: '1.0.0', retired: true }, { v: '1.1.0-rc.1' }],
  });

  it('a name alone means the latest non-retired stable release', async () => {
    const result = await resolve([{ name: 'plug' }], reg.getPackage);
    expect(result.releases).toEqual([
      {
        name: 'plug',
        version: '1.15.3',
        innerChecksum: sha('plug-1.15.3-inner'),
        outerChecksum: sha('plug-1.15.3-outer'),
        requiredBy: ['(requested)'],
      },
    ]);
    expect(result.problems).toEqual([]);
  });

  it('falls back to the latest pre-release when nothing stable exists', async () => {
    const result = await resolve([{ name: 'beta_only' }], reg.getPackage);
    expect(versions(result)).toEqual({ beta_only: '0.1.0-beta.2' });
    expect(result.problems).toEqual([]);
  });

  it('prefers a non-retired pre-release over a retired stable release', async () => {
    const result = await resolve([{ name: 'stable_retired' }], reg.getPackage);
    expect(versions(result)).toEqual({ stable_retired: '1.1.0-rc.1' });
    expect(result.problems).toEqual([]);
  });

  it('takes the highest retired release when every release is retired, and flags it', async () => {
    const result = await resolve([{ name: 'all_retired' }], reg.getPackage);
    expect(versions(result)).toEqual({ all_retired: '1.1.0' });
    expect(result.releases[0]!.retired).toEqual({ reason: 'security', message: 'CVE-2024-0001' });
    expect(kinds(result)).toEqual(['all_retired:retired']);
  });

  it('a requirement picks the highest matching non-retired release', async () => {
    expect(versions(await resolve([{ name: 'plug', requirement: '~> 1.14.0' }], reg.getPackage))).toEqual({ plug: '1.14.2' });
    expect(versions(await resolve([{ name: 'plug', requirement: '~> 1.14' }], reg.getPackage))).toEqual({ plug: '1.15.3' });
    expect(versions(await resolve([{ name: 'plug', requirement: '>= 1.15.0 and < 1.15.3' }], reg.getPackage))).toEqual({ plug: '1.15.0' });
    expect(versions(await resolve([{ name: 'plug', requirement: '~> 1.16-rc' }], reg.getPackage))).toEqual({ plug: '1.16.0-rc.0' });
  });

  it('a pinned version is taken even if retired, and flagged', async () => {
    const result = await resolve([{ name: 'plug', version: '1.15.0' }], reg.getPackage);
    expect(versions(result)).toEqual({ plug: '1.15.0' });
    expect(result.releases[0]!.retired?.reason).toBe('security');
    expect(result.problems).toEqual([
      { name: 'plug', kind: 'retired', reason: '1.15.0 is retired (security: CVE-2024-0001); pinned, so it is fetched anyway' },
    ]);
  });

  it('pins exactly, including pre-releases', async () => {
    expect(versions(await resolve([{ name: 'plug', version: '1.13.6' }], reg.getPackage))).toEqual({ plug: '1.13.6' });
    expect(versions(await resolve([{ name: 'plug', version: '1.16.0-rc.0' }], reg.getPackage))).toEqual({ plug: '1.16.0-rc.0' });
  });

  it('reports an unknown version and selects nothing for it', async () => {
    const result = await resolve([{ name: 'plug', version: '9.9.9' }], reg.getPackage);
    expect(result.releases).toEqual([]);
    expect(result.problems).toEqual([{ name: 'plug', kind: 'unknown-version', reason: 'version 9.9.9 does not exist' }]);
  });

  it('reports a requirement nothing matches', async () => {
    const result = await resolve([{ name: 'plug', requirement: '~> 2.0' }], reg.getPackage);
    expect(result.releases).toEqual([]);
    expect(result.problems).toEqual([{ name: 'plug', kind: 'no-match', reason: 'no release matches: (requested) requires ~> 2.0' }]);
  });

  it('reports unknown packages, failed fetches and invalid requests', async () => {
    const failing = registry({ ok: [{ v: '1.0.0' }] }, { failing: ['flaky'] });
    const result = await resolve(
      [{ name: 'nope' }, { name: 'flaky' }, { name: 'ok' }, { name: 'Bad-Name' }, { name: 'ok', version: '1.0' }, { name: 'ok', requirement: '^1.0.0' }],
      failing.getPackage,
    );
    expect(versions(result)).toEqual({ ok: '1.0.0' });
    expect(kinds(result)).toEqual(['Bad-Name:invalid-request', 'ok:invalid-request', 'ok:invalid-request', 'flaky:fetch-failed', 'nope:unknown-package']);
    expect(result.problems[3]!.reason).toBe('registry record could not be fetched: upstream said 503 for flaky (required by (requested))');
    expect(result.problems[4]!.reason).toBe('no such package in the registry (required by (requested))');
  });
});

describe('resolve: dependencies', () => {
  const phoenixLike = {
    phoenix: [
      {
        v: '1.7.13',
        deps: [
          ['plug', '~> 1.14'],
          ['telemetry', '~> 0.4 or ~> 1.0'],
        ],
      },
      {
        v: '1.7.14',
        deps: [
          ['plug', '~> 1.14'],
          ['plug_crypto', '~> 1.2 or ~> 2.0'],
          ['telemetry', '~> 0.4 or ~> 1.0'],
          ['jason', '~> 1.0', { optional: true }],
          ['phoenix_view', '~> 2.0', { optional: true }],
        ],
      },
    ],
    plug: [
      {
        v: '1.14.2',
        deps: [
          ['mime', '~> 1.0 or ~> 2.0'],
          ['plug_crypto', '~> 1.1.1 or ~> 1.2'],
          ['telemetry', '~> 0.4.3 or ~> 1.0'],
        ],
      },
      {
        v: '1.16.1',
        deps: [
          ['mime', '~> 1.0 or ~> 2.0'],
          ['plug_crypto', '~> 1.1.1 or ~> 1.2 or ~> 2.0'],
          ['telemetry', '~> 0.4.3 or ~> 1.0'],
        ],
      },
      { v: '1.17.0-rc.1', deps: [] },
    ],
    plug_crypto: [{ v: '1.2.5' }, { v: '2.1.0' }],
    mime: [{ v: '1.6.0' }, { v: '2.0.6' }, { v: '2.0.7', retired: true }],
    telemetry: [{ v: '0.4.3' }, { v: '1.3.0' }, { v: '1.4.0-rc.0' }],
    jason: [{ v: '1.4.4', deps: [['decimal', '~> 1.0 or ~> 2.0', { optional: true }]] }],
    decimal: [{ v: '2.1.1' }],
    phoenix_view: [{ v: '2.0.4' }],
  } satisfies Record<string, ReleaseSpec[]>;

  it('adds dependencies transitively, skipping retired and pre-release versions', async () => {
    const reg = registry(phoenixLike);
    const result = await resolve([{ name: 'phoenix' }], reg.getPackage);
    expect(versions(result)).toEqual({ mime: '2.0.6', phoenix: '1.7.14', plug: '1.16.1', plug_crypto: '2.1.0', telemetry: '1.3.0' });
    expect(result.problems).toEqual([]);
    const byName = new Map(result.releases.map((r) => [r.name, r]));
    expect(byName.get('plug_crypto')!.requiredBy).toEqual(['phoenix@1.7.14', 'plug@1.16.1']);
    expect(byName.get('mime')!.requiredBy).toEqual(['plug@1.16.1']);
    expect(byName.get('mime')!.outerChecksum).toBe(sha('mime-2.0.6-outer'));
    expect(result.releases.map((r) => r.name)).toEqual(['mime', 'phoenix', 'plug', 'plug_crypto', 'telemetry']);
  });

  it('does not fetch optional dependencies nobody else needs', async () => {
    const reg = registry(phoenixLike);
    await resolve([{ name: 'phoenix' }], reg.getPackage);
    expect(reg.calls).not.toContain('jason');
    expect(reg.calls).not.toContain('phoenix_view');
    expect(reg.calls).toHaveLength(5); // each record fetched once
  });

  it('includes an optional dependency once something requires it, and keeps its requirement', async () => {
    const reg = registry({
      ...phoenixLike,
      jason: [{ v: '1.4.4' }, { v: '2.0.0' }],
      my_app: [
        {
          v: '0.1.0',
          deps: [
            ['jason', '>= 1.0.0'],
            ['phoenix', '~> 1.7'],
          ],
        },
      ],
    });
    const result = await resolve([{ name: 'my_app' }], reg.getPackage);
    // my_app allows jason 2.0.0, but phoenix's optional "~> 1.0" applies once jason is in.
    expect(versions(result).jason).toBe('1.4.4');
    expect(result.releases.find((r) => r.name === 'jason')!.requiredBy).toEqual(['my_app@0.1.0', 'phoenix@1.7.14 (optional)']);
    expect(result.problems).toEqual([]);
  });

  it('re-resolves when a stricter requirement arrives and withdraws the old release’s dependencies', async () => {
    const reg = registry({
      app: [
        {
          v: '1.0.0',
          deps: [
            ['http', '>= 1.0.0'],
            ['middle', '~> 1.0'],
          ],
        },
      ],
      middle: [{ v: '1.0.0', deps: [['deeper', '~> 1.0']] }],
      deeper: [{ v: '1.0.0', deps: [['http', '~> 1.2']] }],
      http: [
        { v: '1.2.0', deps: [['old_dep', '~> 1.0']] },
        { v: '1.3.1', deps: [['old_dep', '~> 1.0']] },
        { v: '2.0.0', deps: [['new_dep', '~> 1.0']] },
      ],
      old_dep: [{ v: '1.0.0' }],
      new_dep: [{ v: '1.0.0' }],
    });
    const result = await resolve([{ name: 'app' }], reg.getPackage);
    expect(versions(result)).toEqual({ app: '1.0.0', deeper: '1.0.0', http: '1.3.1', middle: '1.0.0', old_dep: '1.0.0' });
    expect(result.releases.find((r) => r.name === 'http')!.requiredBy).toEqual(['app@1.0.0', 'deeper@1.0.0']);
    expect(result.problems).toEqual([]);
  });

  it('reports conflicting requirements with every requirer, deterministically', async () => {
    const reg = registry({
      a: [{ v: '1.0.0', deps: [['shared', '~> 1.0']] }],
      b: [{ v: '2.3.0', deps: [['shared', '~> 2.0']] }],
      shared: [{ v: '1.5.0' }, { v: '2.1.0' }],
    });
    const first = await resolve([{ name: 'a' }, { name: 'b' }], reg.getPackage);
    expect(versions(first)).toEqual({ a: '1.0.0', b: '2.3.0', shared: '1.5.0' });
    expect(first.problems).toEqual([
      {
        name: 'shared',
        kind: 'conflict',
        reason: 'no release satisfies all requirements: a@1.0.0 requires ~> 1.0; b@2.3.0 requires ~> 2.0; picked 1.5.0, which does not satisfy b@2.3.0',
      },
    ]);
    expect(first.releases.find((r) => r.name === 'shared')!.requiredBy).toEqual(['a@1.0.0', 'b@2.3.0']);
    const again = await resolve([{ name: 'a' }, { name: 'b' }], reg.getPackage);
    expect(again).toEqual(first);
  });

  it('reports a conflict between a pin and a dependency requirement', async () => {
    const reg = registry({
      web: [{ v: '1.0.0', deps: [['json', '~> 2.0']] }],
      json: [{ v: '1.0.0' }, { v: '2.0.0' }],
    });
    const result = await resolve([{ name: 'json', version: '1.0.0' }, { name: 'web' }], reg.getPackage);
    expect(versions(result)).toEqual({ json: '1.0.0', web: '1.0.0' });
    expect(kinds(result)).toEqual(['json:conflict']);
    expect(result.problems[0]!.reason).toContain('(requested) requires exactly 1.0.0; web@1.0.0 requires ~> 2.0');
  });

  it('handles dependency cycles', async () => {
    const reg = registry({
      ping: [{ v: '1.0.0', deps: [['pong', '~> 1.0']] }],
      pong: [{ v: '1.1.0', deps: [['ping', '>= 1.0.0']] }],
    });
    const result = await resolve([{ name: 'ping' }], reg.getPackage);
    expect(versions(result)).toEqual({ ping: '1.0.0', pong: '1.1.0' });
    expect(result.releases.find((r) => r.name === 'ping')!.requiredBy).toEqual(['(requested)', 'pong@1.1.0']);
    expect(result.problems).toEqual([]);
  });

  it('drops a cycle left behind when the release that pulled it in is replaced', async () => {
    const reg = registry({
      x: [{ v: '1.0.0' }, { v: '2.0.0', deps: [['p', '>= 1.0.0']] }],
      p: [{ v: '1.0.0', deps: [['q', '~> 1.0']] }],
      q: [{ v: '1.0.0', deps: [['p', '~> 1.0']] }],
      z: [{ v: '1.0.0', deps: [['w', '~> 1.0']] }],
      w: [{ v: '1.0.0', deps: [['x', '~> 1.0']] }],
    });
    const result = await resolve([{ name: 'x' }, { name: 'z' }], reg.getPackage);
    expect(versions(result)).toEqual({ w: '1.0.0', x: '1.0.0', z: '1.0.0' });
    expect(result.problems).toEqual([]);
  });

  it('skips dependencies from another repository and reports them', async () => {
    const reg = registry({
      app: [
        {
          v: '1.0.0',
          deps: [
            ['private_lib', '~> 1.0', { repository: 'acme' }],
            ['opt_private', '~> 1.0', { repository: 'acme', optional: true }],
            ['local', '~> 1.0', { repository: 'hexpm' }],
          ],
        },
      ],
      local: [{ v: '1.0.0' }],
    });
    const result = await resolve([{ name: 'app' }], reg.getPackage);
    expect(versions(result)).toEqual({ app: '1.0.0', local: '1.0.0' });
    expect(result.problems).toEqual([{ name: 'private_lib', kind: 'other-repository', reason: 'app@1.0.0 requires it from repository "acme"; skipped' }]);
    expect(reg.calls).not.toContain('private_lib');
  });

  it('reports broken dependency entries in the registry', async () => {
    const reg = registry({
      app: [
        {
          v: '1.0.0',
          deps: [
            ['Bad/Name', '~> 1.0'],
            ['loose', 'not a requirement'],
          ],
        },
      ],
      loose: [{ v: '1.0.0' }, { v: '3.0.0' }],
    });
    const result = await resolve([{ name: 'app' }], reg.getPackage);
    expect(versions(result)).toEqual({ app: '1.0.0', loose: '3.0.0' });
    expect(kinds(result)).toEqual(['Bad/Name:invalid-dependency', 'loose:invalid-dependency']);
  });

  it('stops and reports packages whose selection keeps flipping', async () => {
    const reg = registry({
      a: [
        { v: '1.0.0', deps: [['b', '~> 2.0']] },
        { v: '2.0.0', deps: [['b', '~> 1.0']] },
      ],
      b: [{ v: '1.0.0', deps: [['a', '~> 1.0']] }, { v: '2.0.0' }],
    });
    const result = await resolve([{ name: 'a' }, { name: 'b' }], reg.getPackage, { maxReselections: 4 });
    expect(kinds(result)).toContain('a:unstable');
    expect(result.releases.map((r) => r.name)).toEqual(['a', 'b']);
  });

  it('gives the same answer whatever the request order', async () => {
    const reg = registry(phoenixLike);
    const one = await resolve([{ name: 'phoenix' }, { name: 'mime', requirement: '~> 1.6' }, { name: 'telemetry' }], reg.getPackage);
    const two = await resolve([{ name: 'telemetry' }, { name: 'mime', requirement: '~> 1.6' }, { name: 'phoenix' }], reg.getPackage);
    expect(one).toEqual(two);
    expect(versions(one).mime).toBe('1.6.0');
  });
});

describe('resolve: fetching', () => {
  const wide: Record<string, ReleaseSpec[]> = { root: [{ v: '1.0.0', deps: Array.from({ length: 30 }, (_, i): DepSpec => [`dep${i}`, '~> 1.0']) }] };
  for (let i = 0; i < 30; i++) wide[`dep${i}`] = [{ v: '1.0.0', deps: [['leaf', '>= 0.0.0']] }];
  wide.leaf = [{ v: '0.1.0' }];

  it('fetches at most 8 records at a time by default, each once, breadth first', async () => {
    const reg = registry(wide, { delayMs: 5 });
    const result = await resolve([{ name: 'root' }], reg.getPackage);
    expect(result.releases).toHaveLength(32);
    expect(reg.peak()).toBe(8);
    expect(reg.calls).toHaveLength(32);
    expect(reg.calls[0]).toBe('root');
    expect(reg.calls[reg.calls.length - 1]).toBe('leaf');
  });

  it('honours a custom concurrency', async () => {
    const reg = registry(wide, { delayMs: 2 });
    await resolve([{ name: 'root' }], reg.getPackage, { concurrency: 3 });
    expect(reg.peak()).toBe(3);
  });
});
