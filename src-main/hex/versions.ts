// Hex/Elixir version requirements ("~> 1.14", ">= 1.0.0 and < 2.0.0", "~> 1.0 or ~> 2.0"),
// ported from Elixir's Version module (elixir-lang/elixir lib/elixir/lib/version.ex:
// Version.Parser.lexer/parse_version, Requirement.match_lexed?/match_op?, compare) and its
// documented table (https://hexdocs.pm/elixir/Version.html). This is not npm semver:
//
// * `~> 2.1` means `>= 2.1.0 and < 3.0.0-0`, `~> 2.1.2` means `>= 2.1.2 and < 2.2.0-0`; the
//   upper bound never admits pre-releases of the bound. Only `~>` may omit the patch.
// * A requirement without an operator means `==`. `!` is an alias of `!=`.
// * `and`/`or` chains are evaluated the way Elixir's Version.match? does: right to left with
//   no precedence, i.e. `A and B or C` is `A and (B or C)`. (hex_solver, the resolver in
//   Hex >= 2.0, binds `and` tighter; the two only differ for an `and` followed by an `or`,
//   which nobody writes in practice.)
// * Pre-releases, `allowPre: false` (Hex's setting, and the default here): a pre-release
//   version matches `>`, `>=` and `~>` only if that comparison's own operand is a
//   pre-release (`~> 2.1-dev` admits 2.2.0-dev, `>= 2.1.0` does not admit 2.2.0-dev).
//   `==`, `!=`, `<` and `<=` never check this. Elixir's Version.match? defaults to
//   `allow_pre: true`; pass `{ allowPre: true }` for that behaviour.
// * Build metadata is parsed and ignored by every comparison.

export type PreIdentifier = string | number;

export interface ParsedVersion {
  major: number;
  minor: number;
  /** Only undefined in the operand of `~>` ("~> 2.1"). */
  patch: number | undefined;
  pre: PreIdentifier[];
  build: string[];
}

export type Operator = '==' | '!=' | '>' | '>=' | '<' | '<=' | '~>';

export interface Comparison {
  op: Operator;
  version: ParsedVersion;
}

export interface Requirement {
  source: string;
  /** comparisons[i] is joined to comparisons[i + 1] by connectors[i]. */
  comparisons: Comparison[];
  connectors: ('and' | 'or')[];
}

export interface MatchOptions {
  /** Let pre-release versions match comparisons whose operand is not a pre-release. Default false, as in Hex. */
  allowPre?: boolean;
}

export class InvalidVersionError extends Error {
  constructor(readonly version: string) {
    super(`invalid version: ${JSON.stringify(version)}`);
    this.name = 'InvalidVersionError';
  }
}

export class InvalidRequirementError extends Error {
  constructor(
    readonly requirement: string,
    readonly detail: string,
  ) {
    super(`invalid requirement: ${JSON.stringify(requirement)} (${detail})`);
    this.name = 'InvalidRequirementError';
  }
}

const IDENTIFIER = /^[0-9A-Za-z-]+$/;
const DIGITS = /^(0|[1-9][0-9]*)$/;

function digits(text: string | undefined): number | undefined {
  if (text === undefined || !DIGITS.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}

function dotSeparated(text: string | undefined): string[] | undefined {
  if (text === undefined) return [];
  const parts = text.split('.');
  return parts.every((p) => IDENTIFIER.test(p)) ? parts : undefined;
}

/** Version.Parser.parse_version/2; `approximate` allows a missing patch (the `~>` operand). */
function tryParse(text: string, approximate: boolean): ParsedVersion | undefined {
  const plus = text.indexOf('+');
  const withPre = plus < 0 ? text : text.slice(0, plus);
  const buildText = plus < 0 ? undefined : text.slice(plus + 1);
  const dash = withPre.indexOf('-');
  const core = dash < 0 ? withPre : withPre.slice(0, dash);
  const preText = dash < 0 ? undefined : withPre.slice(dash + 1);
  const nums = core.split('.');
  if (nums.length > 3) return undefined;
  const major = digits(nums[0]);
  const minor = digits(nums[1]);
  const patch = nums[2] === undefined && approximate ? undefined : digits(nums[2]);
  if (major === undefined || minor === undefined || (patch === undefined && !(approximate && nums[2] === undefined))) return undefined;
  const preParts = dotSeparated(preText);
  const build = dotSeparated(buildText);
  if (!preParts || !build) return undefined;
  const pre: PreIdentifier[] = [];
  for (const part of preParts) {
    if (/^[0-9]+$/.test(part)) {
      const n = digits(part); // numeric identifiers must not have leading zeros
      if (n === undefined) return undefined;
      pre.push(n);
    } else {
      pre.push(part);
    }
  }
  return { major, minor, patch, pre, build };
}

/** Parses a full version (`MAJOR.MINOR.PATCH[-PRE][+BUILD]`). Throws InvalidVersionError. */
export function parseVersion(text: string): ParsedVersion {
  const parsed = tryParse(text, false);
  if (!parsed) throw new InvalidVersionError(text);
  return parsed;
}

export function isValidVersion(text: string): boolean {
  return tryParse(text, false) !== undefined;
}

function toParsed(version: string | ParsedVersion): ParsedVersion {
  return typeof version === 'string' ? parseVersion(version) : version;
}

export function isPrerelease(version: string | ParsedVersion): boolean {
  return toParsed(version).pre.length > 0;
}

function comparePre(a: PreIdentifier[], b: PreIdentifier[]): number {
  // Release > pre-release; otherwise identifiers left to right, numbers below strings
  // (Erlang term order, same as SemVer 2.0 precedence), a shorter prefix first.
  if (a.length === 0 || b.length === 0) return a.length === b.length ? 0 : a.length === 0 ? 1 : -1;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x < y ? -1 : 1;
    if (typeof x === 'number') return -1;
    if (typeof y === 'number') return 1;
    return x < y ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

function compareParsed(a: ParsedVersion, b: ParsedVersion): -1 | 0 | 1 {
  const pairs: [number, number][] = [
    [a.major, b.major],
    [a.minor, b.minor],
    [a.patch ?? 0, b.patch ?? 0],
  ];
  for (const [x, y] of pairs) if (x !== y) return x < y ? -1 : 1;
  const pre = comparePre(a.pre, b.pre);
  return pre < 0 ? -1 : pre > 0 ? 1 : 0;
}

/** SemVer 2.0 precedence (Version.compare/2): -1, 0 or 1; build metadata is ignored. */
export function compareVersions(a: string | ParsedVersion, b: string | ParsedVersion): -1 | 0 | 1 {
  return compareParsed(toParsed(a), toParsed(b));
}

/**
 * For lists shown newest first: SemVer versions by precedence, then anything else a signed
 * record may hold (Hex itself only publishes SemVer, but the mirror must not fail on one that
 * is not), by its text.
 */
export function newestFirst(a: string, b: string): number {
  const x = tryParse(a, false);
  const y = tryParse(b, false);
  if (x && y) return compareParsed(y, x);
  if (x || y) return x ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

// Version.Parser.lexer: operators are matched greedily at each position, " or "/" and " need
// the surrounding spaces, other spaces are skipped, anything else accumulates into a version.
const OPERATORS: [string, Operator | 'and' | 'or'][] = [
  ['>=', '>='],
  ['<=', '<='],
  ['~>', '~>'],
  ['>', '>'],
  ['<', '<'],
  ['==', '=='],
  ['!=', '!='],
  ['!', '!='],
  [' or ', 'or'],
  [' and ', 'and'],
];

type Lexeme = { kind: 'op'; op: Operator } | { kind: 'conj'; conj: 'and' | 'or' } | { kind: 'version'; text: string };

function lex(source: string): Lexeme[] {
  const out: Lexeme[] = [];
  let i = 0;
  outer: while (i < source.length) {
    for (const [text, op] of OPERATORS) {
      if (source.startsWith(text, i)) {
        out.push(op === 'and' || op === 'or' ? { kind: 'conj', conj: op } : { kind: 'op', op });
        i += text.length;
        continue outer;
      }
    }
    const ch = source[i]!;
    i++;
    if (ch === ' ') continue;
    const head = out[out.length - 1];
    if (head?.kind === 'version') head.text += ch;
    else if (head === undefined || head.kind === 'conj') out.push({ kind: 'op', op: '==' }, { kind: 'version', text: ch });
    else out.push({ kind: 'version', text: ch });
  }
  return out;
}

/** Parses a requirement; throws InvalidRequirementError naming what is wrong. */
export function parseRequirement(source: string): Requirement {
  const fail = (detail: string): never => {
    throw new InvalidRequirementError(source, detail);
  };
  const lexed = lex(source);
  if (lexed.length === 0) fail('empty requirement');
  const comparisons: Comparison[] = [];
  const connectors: ('and' | 'or')[] = [];
  let i = 0;
  for (;;) {
    const op = lexed[i];
    const operand = lexed[i + 1];
    if (op?.kind !== 'op') fail(op ? `expected an operator or a version, found "${op.kind === 'conj' ? op.conj : ''}"` : 'expected a version at the end');
    const opKind = (op as { op: Operator }).op;
    if (operand?.kind !== 'version') fail(`expected a version after "${opKind}"`);
    const text = (operand as { text: string }).text;
    const version = tryParse(text, opKind === '~>');
    if (!version) {
      const partial = tryParse(text, true);
      fail(partial ? `"${text}" needs a patch version; only ~> accepts MAJOR.MINOR` : `"${text}" is not a valid version`);
    }
    comparisons.push({ op: opKind, version: version! });
    i += 2;
    const next = lexed[i];
    if (next === undefined) break;
    if (next.kind !== 'conj') fail(next.kind === 'op' ? `unexpected operator "${next.op}"` : `unexpected "${next.text}"`);
    connectors.push((next as { conj: 'and' | 'or' }).conj);
    i++;
    if (lexed[i] === undefined) fail(`expected a comparison after "${connectors[connectors.length - 1]}"`);
  }
  return { source, comparisons, connectors };
}

export function isRequirement(source: string): boolean {
  try {
    parseRequirement(source);
    return true;
  } catch {
    return false;
  }
}

function matchOp({ op, version: req }: Comparison, v: ParsedVersion, allowPre: boolean): boolean {
  const preOk = allowPre || req.pre.length > 0 || v.pre.length === 0;
  switch (op) {
    case '==':
      return compareParsed(v, req) === 0;
    case '!=':
      return compareParsed(v, req) !== 0;
    case '>':
      return compareParsed(v, req) > 0 && preOk;
    case '>=':
      return compareParsed(v, req) >= 0 && preOk;
    case '<':
      return compareParsed(v, req) < 0;
    case '<=':
      return compareParsed(v, req) <= 0;
    case '~>': {
      const lower: ParsedVersion = { ...req, patch: req.patch ?? 0 };
      const upper: ParsedVersion =
        req.patch === undefined
          ? { major: req.major + 1, minor: 0, patch: 0, pre: [0], build: [] }
          : { major: req.major, minor: req.minor + 1, patch: 0, pre: [0], build: [] };
      return compareParsed(v, lower) >= 0 && compareParsed(v, upper) < 0 && preOk;
    }
  }
}

/**
 * Whether `version` satisfies `requirement` (Version.match?/3 with Hex's `allow_pre: false`
 * unless `allowPre` is set). Throws InvalidVersionError / InvalidRequirementError.
 */
export function matches(version: string | ParsedVersion, requirement: string | Requirement, opts: MatchOptions = {}): boolean {
  const v = toParsed(version);
  const req = typeof requirement === 'string' ? parseRequirement(requirement) : requirement;
  const allowPre = opts.allowPre ?? false;
  // Right fold, as Requirement.match_lexed?: c0 and/or (c1 and/or (c2 ...)).
  let result = matchOp(req.comparisons[req.comparisons.length - 1]!, v, allowPre);
  for (let i = req.comparisons.length - 2; i >= 0; i--) {
    const here = matchOp(req.comparisons[i]!, v, allowPre);
    result = req.connectors[i] === 'and' ? here && result : here || result;
  }
  return result;
}
