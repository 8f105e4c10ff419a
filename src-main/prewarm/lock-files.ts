// Reads the two lock-file formats of the BEAM world into one list of entries, and parses
// CLI package arguments (`jason`, `jason@1.4.1`, `plug@~> 1.14`).
//
// * mix.lock (Mix, written by elixir-lang/elixir lib/mix/lib/mix/dep/lock.ex; Hex tuples from
//   hexpm/hex lib/hex/scm.ex): a map `%{"app": {...}, ...}` (older files: `"app" => {...}`) where
//   a Hex entry is `{:hex, :package, "version", "inner checksum", managers, deps, "repo",
//   "outer checksum"}`. Older Hex wrote shorter tuples: without the outer checksum (7), without
//   the repo (6, implied "hexpm") and, in the 0.x days, only `{:hex, :package, "version"}`. Git
//   entries are `{:git, "url", "sha", opts}`. Checksums are lowercase hex (hex-protocol.md §3).
// * rebar.lock (rebar3, erlang/rebar3 apps/rebar/src/rebar_config.erl): `{"1.2.0", Locks}.`
//   followed by `[{pkg_hash, [{<<"app">>, <<"HEX">>}]}, {pkg_hash_ext, [...]}].`, or the older
//   ("beta") bare `Locks.` list, which rebar3 still writes when there are no package hashes.
//   Locks are `{<<"app">>, {pkg, <<"package">>, <<"version">>}, Level}` or
//   `{<<"app">>, {git, "url", {ref, "sha"}}, Level}`. pkg_hash is the inner checksum and
//   pkg_hash_ext the outer one, both uppercase hex, keyed by app name.
import { messageOf } from '../../src-shared/problems.js';
import { isPackageName, isVersion } from '../hex/names.js';
import { atomName, ElixirSyntaxError, keywordToMap, parseElixirTerm, type ElixirTerm } from './elixir-terms.js';
import { ErlangSyntaxError, parseErlangTerms, textOf, type ErlangTerm } from './erlang-terms.js';
import { parseRequirement } from '../hex/versions.js';

export type LockSource = 'hex' | 'git' | 'path' | 'other';

export interface LockDependency {
  /** The app name the parent depends on. */
  app: string;
  /** The Hex package name (differs from `app` when the dep was declared with `hex: :other_name`). */
  name: string;
  requirement?: string;
  optional: boolean;
  repo?: string;
}

export interface LockEntry {
  /** The Hex package name for Hex entries; the app name for anything else. */
  name: string;
  /** The app name: the mix.lock key / the first element of a rebar.lock entry. */
  app: string;
  version?: string;
  source: LockSource;
  /** The Hex repository ("hexpm", "hexpm:org", a custom repo); rebar.lock does not record it. */
  repo?: string;
  innerChecksum?: string; // lowercase hex
  outerChecksum?: string; // lowercase hex
  /**
   * mix.lock only: true when every dependency reference to this app from the other entries is
   * optional. The project's own deps are not recorded in mix.lock, so this is a hint, not proof
   * that nothing needs it. Undefined when no entry references it.
   */
  optional?: boolean;
  /** Git URL (plus the subdirectory for git_subdir), or a printout of an unknown source. */
  detail?: string;
  /** The locked git revision. */
  ref?: string;
  /** mix.lock: build tools, e.g. ["mix"] or ["rebar3"]. */
  managers?: string[];
  /** mix.lock: the dependencies recorded with a Hex entry. */
  dependencies?: LockDependency[];
  /** rebar.lock: depth in the dependency tree (0 = top level). */
  level?: number;
}

export class LockFileError extends Error {
  constructor(
    message: string,
    readonly line?: number,
    readonly column?: number,
  ) {
    super(line === undefined ? message : `${line}:${column}: ${message}`);
    this.name = 'LockFileError';
  }
}

const CHECKSUM = /^[0-9a-fA-F]{64}$/;

function conflictMarkers(text: string, file: string): void {
  const marker = /^(<{7}|={7}|>{7})(\s|$)/m.exec(text);
  if (marker) {
    const line = text.slice(0, marker.index).split('\n').length;
    throw new LockFileError(`${file} contains merge conflict markers; resolve the conflict first`, line, 1);
  }
}

// ---------------------------------------------------------------- mix.lock

function exFail(message: string, term: ElixirTerm): never {
  throw new LockFileError(message, term.loc.line, term.loc.column);
}

function exString(term: ElixirTerm | undefined, what: string, at: ElixirTerm): string {
  if (term?.type !== 'string') exFail(`${what}: expected a string`, term ?? at);
  return term.value;
}

function exChecksum(term: ElixirTerm | undefined, what: string, at: ElixirTerm): string {
  const value = exString(term, what, at);
  if (!CHECKSUM.test(value)) exFail(`${what}: expected 64 hex digits`, term ?? at);
  return value.toLowerCase();
}

function exDependency(term: ElixirTerm, owner: string): LockDependency {
  // {:app, "requirement" | nil, [hex: :package, repo: "hexpm", optional: false]}
  const items = term.type === 'tuple' ? term.items : [];
  const app = items[0] && atomName(items[0]);
  if (!app || items.length < 2 || items.length > 3) exFail(`${owner}: malformed dependency, expected {:app, "requirement", opts}`, term);
  const req = items[1]!;
  if (req.type !== 'string' && req.type !== 'nil') exFail(`${owner}: dependency ${app}: requirement must be a string or nil`, req);
  const opts = items[2] ? keywordToMap(items[2]) : new Map<string, ElixirTerm>();
  if (!opts) exFail(`${owner}: dependency ${app}: options must be a keyword list`, items[2]!);
  const hex = opts.get('hex');
  const name = hex ? (atomName(hex) ?? (hex.type === 'string' ? hex.value : undefined)) : app;
  if (!name) exFail(`${owner}: dependency ${app}: hex: must be an atom`, hex!);
  const repo = opts.get('repo');
  const optional = opts.get('optional');
  return {
    app,
    name,
    ...(req.type === 'string' ? { requirement: req.value } : {}),
    optional: optional?.type === 'boolean' ? optional.value : false,
    ...(repo?.type === 'string' ? { repo: repo.value } : {}),
  };
}

function mixEntry(app: string, value: ElixirTerm): LockEntry {
  const where = `mix.lock entry "${app}"`;
  if (value.type !== 'tuple' || value.items.length === 0) exFail(`${where}: expected a tuple such as {:hex, ...} or {:git, ...}`, value);
  const items = value.items;
  const scm = atomName(items[0]!);
  if (scm === 'hex') {
    if (items.length < 3 || items.length > 8) exFail(`${where}: a :hex tuple has 3 to 8 elements, found ${items.length}`, value);
    const pkg = items[1]!;
    const name = atomName(pkg) ?? (pkg.type === 'string' ? pkg.value : undefined);
    if (!name || !isPackageName(name)) exFail(`${where}: invalid package name`, pkg);
    const version = exString(items[2], `${where}: version`, value);
    if (!isVersion(version)) exFail(`${where}: invalid version ${JSON.stringify(version)}`, items[2]!);
    const entry: LockEntry = { name, app, version, source: 'hex', repo: 'hexpm' };
    if (items[3]) entry.innerChecksum = exChecksum(items[3], `${where}: inner checksum`, value);
    if (items[4]) {
      if (items[4].type !== 'list') exFail(`${where}: managers must be a list`, items[4]);
      entry.managers = items[4].items.map((m) => atomName(m) ?? exFail(`${where}: managers must be atoms`, m));
    }
    if (items[5]) {
      if (items[5].type !== 'list') exFail(`${where}: dependencies must be a list`, items[5]);
      entry.dependencies = items[5].items.map((d) => exDependency(d, where));
    }
    if (items[6]) entry.repo = exString(items[6], `${where}: repository`, value);
    if (items[7]) entry.outerChecksum = exChecksum(items[7], `${where}: outer checksum`, value);
    return entry;
  }
  if (scm === 'git') {
    // {:git, "url", "sha", [branch: ..., tag: ..., sparse: ..., submodules: ...]}
    const url = exString(items[1], `${where}: git URL`, value);
    const entry: LockEntry = { name: app, app, source: 'git', detail: url };
    if (items[2]?.type === 'string') entry.ref = items[2].value;
    return entry;
  }
  if (scm === 'path') {
    const path = items[1]?.type === 'string' ? items[1].value : undefined;
    return { name: app, app, source: 'path', ...(path ? { detail: path } : {}) };
  }
  return { name: app, app, source: 'other', detail: scm ? `{:${scm}, ...}` : 'unrecognised lock tuple' };
}

/** Parses a mix.lock; throws LockFileError (with line:column) on anything it cannot read. */
export function parseMixLock(text: string): LockEntry[] {
  conflictMarkers(text, 'mix.lock');
  let root: ElixirTerm;
  try {
    root = parseElixirTerm(text);
  } catch (error) {
    if (error instanceof ElixirSyntaxError) throw new LockFileError(`mix.lock: ${error.reason}`, error.line, error.column);
    throw error;
  }
  if (root.type !== 'map') exFail('mix.lock: expected a map %{...}', root);
  const entries = root.entries.map(({ key, value }) => {
    const app = atomName(key) ?? (key.type === 'string' ? key.value : undefined);
    if (!app) exFail('mix.lock: map keys must be app names', key);
    return mixEntry(app, value);
  });
  // An app only referenced as an optional dependency is marked optional.
  const refs = new Map<string, boolean[]>();
  for (const entry of entries) {
    for (const dep of entry.dependencies ?? []) {
      const list = refs.get(dep.app) ?? [];
      list.push(dep.optional);
      refs.set(dep.app, list);
    }
  }
  for (const entry of entries) {
    const list = refs.get(entry.app);
    if (list) entry.optional = list.every(Boolean);
  }
  return entries;
}

// ---------------------------------------------------------------- rebar.lock

function erFail(message: string, term: ErlangTerm): never {
  throw new LockFileError(message, term.loc.line, term.loc.column);
}

function hashList(attrs: ErlangTerm | undefined, key: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!attrs) return out;
  if (attrs.type !== 'list') erFail('rebar.lock: the attribute term must be a list', attrs);
  for (const attr of attrs.items) {
    if (attr.type !== 'tuple' || attr.items.length !== 2 || textOf(attr.items[0]) !== key) continue;
    const list = attr.items[1]!;
    if (list.type !== 'list') erFail(`rebar.lock: ${key} must be a list`, list);
    for (const pair of list.items) {
      const app = pair.type === 'tuple' && pair.items.length === 2 ? textOf(pair.items[0]) : undefined;
      const hash = pair.type === 'tuple' ? textOf(pair.items[1]) : undefined;
      if (app === undefined || hash === undefined) erFail(`rebar.lock: ${key} entries must be {<<"app">>, <<"HASH">>}`, pair);
      if (!CHECKSUM.test(hash)) erFail(`rebar.lock: ${key} for ${app}: expected 64 hex digits`, pair);
      if (!out.has(app)) out.set(app, hash.toLowerCase());
    }
  }
  return out;
}

function printErlang(term: ErlangTerm): string {
  switch (term.type) {
    case 'atom':
      return term.value;
    case 'string':
      return JSON.stringify(term.value);
    case 'binary':
      return `<<${JSON.stringify(term.value)}>>`;
    case 'integer':
      return String(term.value);
    case 'tuple':
      return `{${term.items.map(printErlang).join(',')}}`;
    case 'list':
      return `[${term.items.map(printErlang).join(',')}]`;
  }
}

function rebarEntry(lock: ErlangTerm, inner: Map<string, string>, outer: Map<string, string>): LockEntry {
  if (lock.type !== 'tuple' || lock.items.length !== 3) erFail('rebar.lock: expected {<<"app">>, Source, Level}', lock);
  const [appTerm, source, levelTerm] = lock.items as [ErlangTerm, ErlangTerm, ErlangTerm];
  const app = textOf(appTerm);
  if (!app) erFail('rebar.lock: app name must be a binary', appTerm);
  const level = levelTerm.type === 'integer' ? levelTerm.value : undefined;
  const base = { app, ...(level !== undefined ? { level } : {}) };
  const kind = source.type === 'tuple' && source.items[0]?.type === 'atom' ? source.items[0].value : undefined;
  const parts = source.type === 'tuple' ? source.items : [];
  if (kind === 'pkg') {
    // {pkg, Name, Vsn} in files; {pkg, Name, Vsn, Inner[, Outer]} is rebar3's in-memory form.
    const name = textOf(parts[1]);
    const version = textOf(parts[2]);
    if (!name || !isPackageName(name)) erFail(`rebar.lock entry ${app}: invalid package name`, parts[1] ?? source);
    if (!version || !isVersion(version)) erFail(`rebar.lock entry ${app}: invalid version`, parts[2] ?? source);
    const entry: LockEntry = { name, ...base, version, source: 'hex' };
    const inlineInner = textOf(parts[3]);
    const inlineOuter = textOf(parts[4]);
    const innerHash = inner.get(app) ?? (inlineInner && CHECKSUM.test(inlineInner) ? inlineInner.toLowerCase() : undefined);
    const outerHash = outer.get(app) ?? (inlineOuter && CHECKSUM.test(inlineOuter) ? inlineOuter.toLowerCase() : undefined);
    if (innerHash) entry.innerChecksum = innerHash;
    if (outerHash) entry.outerChecksum = outerHash;
    return entry;
  }
  if (kind === 'git' || kind === 'git_subdir') {
    // {git, "url", {ref, "sha"}} / {git_subdir, "url", {ref, "sha"}, "dir"}
    const url = textOf(parts[1]);
    if (!url) erFail(`rebar.lock entry ${app}: git URL must be a string`, parts[1] ?? source);
    const ref = parts[2];
    const entry: LockEntry = { name: app, ...base, source: 'git', detail: kind === 'git_subdir' && textOf(parts[3]) ? `${url} (${textOf(parts[3])})` : url };
    if (ref?.type === 'tuple' && ref.items.length === 2) {
      const value = textOf(ref.items[1]);
      if (value) entry.ref = value;
    }
    return entry;
  }
  return { name: app, ...base, source: 'other', detail: printErlang(source) };
}

/** Parses a rebar.lock (1.x.0 versioned or legacy bare list); throws LockFileError. */
export function parseRebarLock(text: string): LockEntry[] {
  conflictMarkers(text, 'rebar.lock');
  let terms: ErlangTerm[];
  try {
    terms = parseErlangTerms(text);
  } catch (error) {
    if (error instanceof ErlangSyntaxError) throw new LockFileError(`rebar.lock: ${error.reason}`, error.line, error.column);
    throw error;
  }
  const first = terms[0];
  if (!first) return [];
  let locks: ErlangTerm;
  let attrs: ErlangTerm | undefined;
  if (first.type === 'list') {
    locks = first; // legacy ("beta") format: just the list
  } else if (first.type === 'tuple' && first.items.length === 2 && first.items[0]?.type === 'string' && first.items[1]?.type === 'list') {
    locks = first.items[1];
    attrs = terms[1];
  } else {
    return erFail('rebar.lock: expected {"1.2.0", [...]} or a list of locks', first);
  }
  if (locks.type !== 'list') return erFail('rebar.lock: expected a list of locks', locks);
  const inner = hashList(attrs, 'pkg_hash');
  const outer = hashList(attrs, 'pkg_hash_ext');
  return locks.items.map((lock) => rebarEntry(lock, inner, outer));
}

// ---------------------------------------------------------------- detection & CLI args

export type LockKind = 'mix' | 'rebar';

/**
 * Which parser a lock file needs. The content decides when it is telling (`%{` starts a
 * mix.lock; `{` or `[` a rebar.lock), otherwise the file name (mix.lock / rebar.lock).
 */
export function detectLockKind(fileName: string, text: string): LockKind {
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (/\s|\uFEFF/.test(ch)) {
      i++;
    } else if (text.startsWith('%{', i)) {
      return 'mix';
    } else if (ch === '#' || ch === '%') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (ch === '{' || ch === '[') {
      return 'rebar';
    } else {
      break;
    }
  }
  const base = fileName.split(/[\\/]/).pop() ?? fileName;
  if (base === 'mix.lock') return 'mix';
  if (base === 'rebar.lock') return 'rebar';
  throw new LockFileError(`cannot tell whether ${JSON.stringify(fileName)} is a mix.lock or a rebar.lock`);
}

/** Parses a lock file of either kind. */
export function parseLockFile(fileName: string, text: string): { kind: LockKind; entries: LockEntry[] } {
  const kind = detectLockKind(fileName, text);
  return { kind, entries: kind === 'mix' ? parseMixLock(text) : parseRebarLock(text) };
}

export interface PackageArg {
  name: string;
  version?: string;
  requirement?: string;
}

export class PackageArgError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'PackageArgError';
  }
}

/**
 * `jason` → {name}; `jason@1.4.1` → {name, version}; `plug@~> 1.14` → {name, requirement}.
 * Everything is validated; all bad arguments are reported together in one PackageArgError.
 */
export function parsePackageArgs(args: string[]): PackageArg[] {
  const out: PackageArg[] = [];
  const problems: string[] = [];
  for (const raw of args) {
    const arg = raw.trim();
    const at = arg.indexOf('@');
    const name = at < 0 ? arg : arg.slice(0, at).trim();
    const spec = at < 0 ? undefined : arg.slice(at + 1).trim();
    if (!isPackageName(name)) {
      problems.push(`${JSON.stringify(raw)}: invalid package name ${JSON.stringify(name)}`);
      continue;
    }
    if (spec === undefined) {
      out.push({ name });
    } else if (spec === '') {
      problems.push(`${JSON.stringify(raw)}: missing version or requirement after "@"`);
    } else if (isVersion(spec)) {
      out.push({ name, version: spec });
    } else {
      try {
        parseRequirement(spec);
        out.push({ name, requirement: spec });
      } catch (error) {
        problems.push(`${JSON.stringify(raw)}: neither a version nor a requirement: ${messageOf(error)}`);
      }
    }
  }
  if (problems.length > 0) throw new PackageArgError(problems);
  return out;
}
