import { describe, expect, it } from 'vitest';
import {
  compareVersions,
  InvalidRequirementError,
  InvalidVersionError,
  isPrerelease,
  isRequirement,
  matches,
  newestFirst,
  parseRequirement,
  parseVersion,
} from '../../src-main/hex/versions.js';

describe('matches (Hex: allow_pre false)', () => {
  it.each([
    // ==, bare version, !=
    ['1.2.3', '== 1.2.3', true],
    ['1.2.4', '== 1.2.3', false],
    ['1.2.3', '==1.2.3', true],
    ['1.2.3', '1.2.3', true],
    ['1.2.4', '1.2.3', false],
    ['1.2.3+build.7', '== 1.2.3', true],
    ['1.2.3', '== 1.2.3+other', true],
    ['1.0.0-rc.1', '== 1.0.0-rc.1', true],
    ['1.0.0', '== 1.0.0-rc.1', false],
    ['1.2.4', '!= 1.2.3', true],
    ['1.2.3', '!= 1.2.3', false],
    ['1.2.4', '! 1.2.3', true],
    // > >= < <=
    ['1.2.4', '> 1.2.3', true],
    ['1.2.3', '> 1.2.3', false],
    ['2.0.0', '>1.2.3', true],
    ['1.2.3', '>= 1.2.3', true],
    ['1.2.2', '>= 1.2.3', false],
    ['10.0.0', '>= 9.0.0', true],
    ['1.2.2', '< 1.2.3', true],
    ['1.2.3', '< 1.2.3', false],
    ['1.2.3', '<= 1.2.3', true],
    ['1.2.4', '<= 1.2.3', false],
    ['0.0.1', '>= 0.0.0', true],
    // ~> with MAJOR.MINOR: >= M.m.0 and < (M+1).0.0
    ['2.0.0', '~> 2.0', true],
    ['2.1.0', '~> 2.0', true],
    ['2.99.99', '~> 2.0', true],
    ['3.0.0', '~> 2.0', false],
    ['1.9.9', '~> 2.0', false],
    ['2.1.0', '~> 2.1', true],
    ['2.0.9', '~> 2.1', false],
    ['0.5.0', '~> 0.4', true],
    ['1.0.0', '~> 0.4', false],
    // ~> with MAJOR.MINOR.PATCH: >= M.m.p and < M.(m+1).0
    ['2.0.0', '~> 2.0.0', true],
    ['2.0.5', '~> 2.0.0', true],
    ['2.1.0', '~> 2.0.0', false],
    ['2.1.2', '~> 2.1.2', true],
    ['2.1.9', '~> 2.1.2', true],
    ['2.1.1', '~> 2.1.2', false],
    ['2.2.0', '~> 2.1.2', false],
    ['1.14.0', '~>1.14', true],
    // pre-releases: only where the comparison's operand is a pre-release
    ['2.1.6-dev', '~> 2.1.2', false],
    ['2.2.0-dev', '~> 2.1-dev', true],
    ['2.1.6-dev', '~> 2.1.2-dev', true],
    ['2.1.3-dev', '~> 2.1.3-dev', true],
    ['1.2.0-rc.1', '~> 1.2-rc', true],
    ['1.2.0-beta', '~> 1.2-rc', false],
    ['2.2.0-dev', '>= 2.1.0', false],
    ['2.2.6-dev', '>= 2.1.0-dev', true],
    ['1.0.1-beta', '~> 1.0.0', false],
    ['1.0.1-beta', '~> 1.0.0-beta', true],
    ['1.1.0-beta', '>= 1.0.0', false],
    ['1.1.0-beta', '>= 1.0.0-beta', true],
    ['1.0.0-rc.2', '> 1.0.0-rc.1', true],
    ['1.0.0-beta', '> 1.0.0-alpha.1', true],
    ['1.0.0-alpha', '> 1.0.0-alpha.1', false],
    ['1.5.0-rc.1', '< 2.0.0', true],
    ['2.0.0-rc.1', '< 2.0.0', true],
    ['2.0.0-rc.1', '<= 2.0.0', true],
    ['1.0.0-rc.1', '!= 1.0.0', true],
    // ~> never admits pre-releases of its upper bound
    ['3.0.0-rc.0', '~> 2.0', false],
    ['3.0.0-0', '~> 2.0-dev', false],
    ['2.2.0-rc.1', '~> 2.1.2-rc', false],
    // and / or
    ['1.5.0', '>= 1.0.0 and < 2.0.0', true],
    ['2.0.0', '>= 1.0.0 and < 2.0.0', false],
    ['0.9.0', '>= 1.0.0 and < 2.0.0', false],
    ['2.5.0', '~> 1.0 or ~> 2.0', true],
    ['1.0.0', '~> 1.0 or ~> 2.0', true],
    ['3.0.0', '~> 1.0 or ~> 2.0', false],
    ['0.4.7', '~> 0.4 or ~> 1.0', true],
    ['0.5.0', '~> 0.4.0 or ~> 1.0', false],
    ['0.2.3', '~> 0.1.1 or ~> 0.2.0 or ~> 1.0', true],
    ['1.11.7', '~> 1.11 and >= 1.11.6', true],
    ['1.11.5', '~> 1.11 and >= 1.11.6', false],
    ['1.0.0', '1.0.0 or 2.0.0', true],
    ['2.0.0', '1.0.0 or 2.0.0', true],
    ['1.5.0', '1.0.0 or 2.0.0', false],
    // Elixir folds right to left with no precedence: A and B or C == A and (B or C)
    ['3.0.0', '== 1.0.0 and == 2.0.0 or == 3.0.0', false],
    ['1.0.0', '== 1.0.0 or == 2.0.0 and == 3.0.0', true],
    ['1.5.0', '>= 1.0.0 and < 2.0.0 or >= 3.0.0', true],
    ['3.5.0', '>= 1.0.0 and < 2.0.0 or >= 3.0.0', true],
    ['0.5.0', '>= 1.0.0 and < 2.0.0 or >= 3.0.0', false],
  ])('%s matches %s: %s', (version, requirement, expected) => {
    expect(matches(version, requirement)).toBe(expected);
    expect(matches(version, parseRequirement(requirement))).toBe(expected);
  });

  it.each([
    ['2.1.6-dev', '~> 2.1.2', true],
    ['2.2.0-dev', '>= 2.1.0', true],
    ['1.1.0-beta', '> 1.0.0', true],
    ['3.0.0-rc.0', '~> 2.0', false],
    ['2.2.0-rc.1', '~> 2.1.2', false],
    ['1.0.0-beta', '~> 1.0', false],
  ])('with allowPre: %s matches %s: %s', (version, requirement, expected) => {
    expect(matches(version, requirement, { allowPre: true })).toBe(expected);
  });

  it('throws on invalid versions and requirements', () => {
    expect(() => matches('1.0', '~> 1.0')).toThrow(InvalidVersionError);
    expect(() => matches('v1.0.0', '~> 1.0')).toThrow(InvalidVersionError);
    expect(() => matches('1.0.0', '^1.0.0')).toThrow(InvalidRequirementError);
  });
});

describe('parseRequirement', () => {
  it('parses operators, partial ~> operands, pre and build', () => {
    expect(parseRequirement('~> 2.1-dev')).toEqual({
      source: '~> 2.1-dev',
      comparisons: [{ op: '~>', version: { major: 2, minor: 1, patch: undefined, pre: ['dev'], build: [] } }],
      connectors: [],
    });
    const req = parseRequirement('>= 1.0.0-rc.1+b5 and < 2.0.0 or 3.0.0');
    expect(req.comparisons.map((c) => c.op)).toEqual(['>=', '<', '==']);
    expect(req.comparisons[0]!.version).toEqual({ major: 1, minor: 0, patch: 0, pre: ['rc', 1], build: ['b5'] });
    expect(req.connectors).toEqual(['and', 'or']);
    expect(parseRequirement('!1.0.0').comparisons[0]!.op).toBe('!=');
  });

  it.each([
    ['empty', '', 'empty requirement'],
    ['spaces only', '   ', 'empty requirement'],
    ['double operator', '== == 1.0.0', 'expected a version after "=="'],
    ['partial without ~>', '>= 1.0', 'needs a patch version'],
    ['bare partial', '1.0', 'needs a patch version'],
    ['major only', '~> 1', 'not a valid version'],
    ['four parts', '1.0.0.0', 'not a valid version'],
    ['leading zero', '>= 01.0.0', 'not a valid version'],
    ['leading zero in pre', '== 1.0.0-01', 'not a valid version'],
    ['empty pre', '== 1.0.0-', 'not a valid version'],
    ['empty pre part', '== 1.0.0-rc..1', 'not a valid version'],
    ['empty build', '== 1.0.0+', 'not a valid version'],
    ['bad build char', '== 1.0.0+a_b', 'not a valid version'],
    ['npm caret', '^1.0.0', 'not a valid version'],
    ['npm tilde', '~1.0.0', 'not a valid version'],
    ['npm x-range', '1.x', 'not a valid version'],
    ['npm ||', '~> 1.0 || ~> 2.0', 'not a valid version'],
    ['npm space-and', '>= 1.0.0 < 2.0.0', 'unexpected operator "<"'],
    ['two comparisons', '~> 1.0 ~> 2.0', 'unexpected operator "~>"'],
    ['dangling or', '~> 1.0 or ', 'expected a comparison after "or"'],
    ['dangling and', '~> 1.0 and', 'not a valid version'],
    ['leading or', ' or 1.0.0', 'expected an operator or a version, found "or"'],
    ['double or', '1.0.0 or  or 2.0.0', 'expected an operator or a version, found "or"'],
    ['operator only', '>=', 'expected a version after ">="'],
    ['words', 'latest', 'not a valid version'],
    ['tab is not a separator', '~>\t1.0', 'not a valid version'],
  ])('rejects %s', (_label, text, detail) => {
    let error: unknown;
    try {
      parseRequirement(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidRequirementError);
    expect((error as InvalidRequirementError).message).toContain(JSON.stringify(text));
    expect((error as InvalidRequirementError).detail).toContain(detail);
    expect(isRequirement(text)).toBe(false);
  });

  it('isRequirement accepts what parseRequirement accepts', () => {
    expect(isRequirement('~> 1.14')).toBe(true);
    expect(isRequirement('>= 0.0.0')).toBe(true);
  });
});

describe('compareVersions (SemVer 2.0 precedence)', () => {
  it.each([
    ['1.0.0', '1.0.0', 0],
    ['1.0.1', '1.0.0', 1],
    ['1.0.0', '1.0.1', -1],
    ['1.10.0', '1.9.0', 1],
    ['2.0.0', '1.99.99', 1],
    ['2.0.1-alpha1', '2.0.0', 1],
    ['1.0.0-beta', '1.0.0-rc1', -1],
    ['1.0.0-10', '1.0.0-2', 1],
    ['1.0.0-2', '1.0.0-a', -1],
    ['2.0.1+build0', '2.0.1', 0],
    ['1.0.0+a', '1.0.0+b', 0],
    ['1.0.0-rc.1+b1', '1.0.0-rc.1', 0],
  ])('%s vs %s = %d', (a, b, expected) => {
    expect(compareVersions(a, b)).toBe(expected);
    expect(compareVersions(b, a)).toBe(expected === 0 ? 0 : -expected);
  });

  it('sorts the SemVer spec example chain', () => {
    const ordered = ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0'];
    const shuffled = [ordered[4]!, ordered[7]!, ordered[0]!, ordered[6]!, ordered[2]!, ordered[5]!, ordered[1]!, ordered[3]!];
    expect(shuffled.sort(compareVersions)).toEqual(ordered);
  });

  it('rejects invalid versions', () => {
    expect(() => compareVersions('1.0', '1.0.0')).toThrow(InvalidVersionError);
    expect(() => compareVersions('1.0.0', '01.0.0')).toThrow(/invalid version: "01.0.0"/);
  });
});

describe('isPrerelease / parseVersion', () => {
  it.each([
    ['1.0.0', false],
    ['1.0.0-rc.1', true],
    ['1.0.0-0', true],
    ['1.0.0+build.1', false],
    ['1.0.0-beta+build.1', true],
  ])('%s → %s', (version, expected) => {
    expect(isPrerelease(version)).toBe(expected);
  });

  it('parses the parts', () => {
    expect(parseVersion('1.22.333-rc.0.x-y+sha.5')).toEqual({ major: 1, minor: 22, patch: 333, pre: ['rc', 0, 'x-y'], build: ['sha', '5'] });
    expect(() => parseVersion('1.2')).toThrow(InvalidVersionError);
    expect(() => parseVersion('1.2.3-')).toThrow(InvalidVersionError);
    expect(() => parseVersion('99999999999999999.0.0')).toThrow(InvalidVersionError);
  });
});

describe('newestFirst', () => {
  it('orders SemVer versions newest first and anything else after them, by text', () => {
    expect(['1.0', '0.9.0', 'latest', '2.0.0-rc.1', '2.0.0', '10.0.0', '', '1.0.0.0'].sort(newestFirst)).toEqual([
      '10.0.0',
      '2.0.0',
      '2.0.0-rc.1',
      '0.9.0',
      '',
      '1.0',
      '1.0.0.0',
      'latest',
    ]);
  });
});
