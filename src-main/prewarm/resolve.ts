// Turns a list of wanted packages (`jason`, `jason@1.4.1`, `plug@~> 1.14`) into the set of
// releases to pre-fetch, following dependencies through decoded registry v2 Package records
// (src-main/hex/registry.ts; hexpm/specifications registry-v2.md: Release.dependencies with
// package, requirement, optional, app, repository). Requirements are matched as Hex does
// (./hex-requirement.ts, allow_pre: false).
//
// Strategy (greedy, deterministic, no backtracking; good enough for warming a cache, not a
// replacement for hex_solver):
// 1. Every request becomes a constraint on its package: "any version" (name alone), an exact
//    pin (`version`) or a requirement. Each selected release adds a constraint per dependency.
// 2. Work proceeds breadth first in rounds. A round fetches the records of all packages whose
//    constraints changed (at most `concurrency` fetches at a time), then re-selects those
//    packages in name order. Selecting a different version withdraws the old release's
//    constraints and adds the new one's, which queues the affected packages for the next round.
// 3. A package is selected only while something requires it non-optionally; optional
//    constraints then still restrict its version (as in Hex).
// 4. Selection = the highest version satisfying all constraints, preferring in turn:
//    non-retired stable (pre-releases only where a requirement names one), non-retired with
//    "any version" admitting pre-releases, then retired releases (flagged). A pin is honoured
//    even if retired (flagged). If nothing satisfies everything, the highest version satisfying
//    the longest prefix of constraints in arrival order (non-optional first) is taken and the
//    conflict is reported with every requirer.
// 5. When the rounds settle, packages no longer reachable from a request through
//    non-optional edges (left over from a withdrawn version, e.g. a cycle) are dropped and
//    the rounds resume. A package whose selection changed `maxReselections` times is frozen
//    and reported, which bounds the work even for oscillating requirement sets.
import { messageOf } from '../../src-shared/problems.js';
import type { Dependency, PackageRecord, Release } from '../hex/registry.js';
import { isPackageName, isVersion } from '../hex/names.js';
import { compareVersions, isValidVersion, matches, parseRequirement, parseVersion, type ParsedVersion, type Requirement } from '../hex/versions.js';

export interface ResolveRequest {
  name: string;
  version?: string;
  requirement?: string;
}

export interface ResolvedRelease {
  name: string;
  version: string;
  innerChecksum: string;
  outerChecksum?: string;
  /** `(requested)` and/or `parent@version` of everything that constrains it; optional ones are marked. */
  requiredBy: string[];
  retired?: { reason: string; message?: string };
}

export type ProblemKind =
  | 'invalid-request'
  | 'unknown-package'
  | 'fetch-failed'
  | 'unknown-version'
  | 'no-match'
  | 'conflict'
  | 'retired'
  | 'other-repository'
  | 'invalid-dependency'
  | 'unstable';

export interface ResolveProblem {
  name: string;
  kind: ProblemKind;
  reason: string;
  /** fetch-failed: what the registry lookup threw, so callers can say why in their own words. */
  cause?: unknown;
}

export interface ResolveResult {
  releases: ResolvedRelease[];
  problems: ResolveProblem[];
}

/** Returns the decoded record, or undefined (or throws) when the package does not exist. */
export type GetPackage = (name: string) => Promise<PackageRecord | undefined>;

export interface ResolveOptions {
  /** Registry fetches in flight at once. Default 8. */
  concurrency?: number;
  /** Selection changes allowed per package before it is frozen. Default 16. */
  maxReselections?: number;
}

const REQUESTED = '(requested)';

interface Constraint {
  /** `(requested)` or `parent@version`. */
  source: string;
  /** The parent package; undefined for requests. */
  parent?: string;
  kind: 'any' | 'pin' | 'req';
  /** The pinned version or the requirement's source text. */
  text: string;
  requirement?: Requirement;
  optional: boolean;
  seq: number;
}

interface Candidate {
  release: Release;
  parsed: ParsedVersion;
}

interface Selection {
  release: Release;
  parsed: ParsedVersion;
}

/** At most `limit` calls of `fn` run at once; a finishing call hands its slot to the next waiter. */
function limiter(limit: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (fn) => {
    if (active < limit) active++;
    else await new Promise<void>((wake) => waiting.push(wake));
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}

function describe(c: Constraint): string {
  const what = c.kind === 'any' ? 'any version' : c.kind === 'pin' ? `exactly ${c.text}` : c.text;
  return `${c.source} requires ${what}${c.optional ? ' (optional)' : ''}`;
}

export async function resolve(requests: ResolveRequest[], getPackage: GetPackage, options: ResolveOptions = {}): Promise<ResolveResult> {
  const resolver = new Resolver(getPackage, options);
  resolver.request(requests);
  await resolver.settle();
  return resolver.report();
}

/** The state of one resolution, and its steps (see the strategy at the top of the file). */
class Resolver {
  private readonly limit: <T>(fn: () => Promise<T>) => Promise<T>;
  private readonly maxReselections: number;
  private readonly problems: ResolveProblem[] = [];
  private readonly records = new Map<string, PackageRecord | null>(); // null: unknown or failed
  private readonly fetchErrors = new Map<string, unknown>();
  private readonly candidates = new Map<string, Candidate[]>(); // valid releases, highest first
  private readonly constraints = new Map<string, Constraint[]>();
  private readonly children = new Map<string, Set<string>>(); // parent → packages it constrains
  private readonly selected = new Map<string, Selection>();
  private readonly changes = new Map<string, number>();
  private readonly frozen = new Set<string>();
  private readonly dirty = new Set<string>();
  private seq = 0;

  constructor(
    private readonly getPackage: GetPackage,
    options: ResolveOptions,
  ) {
    this.limit = limiter(Math.max(1, options.concurrency ?? 8));
    this.maxReselections = Math.max(1, options.maxReselections ?? 16);
  }

  private addConstraint(name: string, c: Omit<Constraint, 'seq'>): void {
    const list = this.constraints.get(name) ?? [];
    list.push({ ...c, seq: this.seq++ });
    this.constraints.set(name, list);
    this.dirty.add(name);
  }

  /** Step 1: each request becomes a constraint on its package (or a problem). */
  request(requests: ResolveRequest[]): void {
    for (const request of requests) {
      const label = (request.version ?? request.requirement) ? `${request.name}@${request.version ?? request.requirement}` : request.name;
      const invalid = (reason: string) => this.problems.push({ name: request.name, kind: 'invalid-request', reason: `${JSON.stringify(label)}: ${reason}` });
      if (!isPackageName(request.name)) {
        invalid('invalid package name');
        continue;
      }
      if (request.version !== undefined && !isVersion(request.version)) {
        invalid(`invalid version ${JSON.stringify(request.version)}`);
        continue;
      }
      let requirement: Requirement | undefined;
      if (request.requirement !== undefined) {
        try {
          requirement = parseRequirement(request.requirement);
        } catch (error) {
          invalid(messageOf(error));
          continue;
        }
      }
      if (request.version !== undefined) this.addConstraint(request.name, { source: REQUESTED, kind: 'pin', text: request.version, optional: false });
      if (requirement) this.addConstraint(request.name, { source: REQUESTED, kind: 'req', text: requirement.source, requirement, optional: false });
      if (request.version === undefined && !requirement) this.addConstraint(request.name, { source: REQUESTED, kind: 'any', text: '', optional: false });
    }
  }

  private isActive(name: string): boolean {
    return (this.constraints.get(name) ?? []).some((c) => !c.optional);
  }

  private async fetch(name: string): Promise<void> {
    let record: PackageRecord | undefined;
    try {
      record = await this.limit(() => this.getPackage(name));
    } catch (error) {
      this.fetchErrors.set(name, error);
      this.records.set(name, null);
      return;
    }
    this.records.set(name, record ?? null);
    if (!record) return;
    const valid: Candidate[] = [];
    for (const release of record.releases) {
      if (isValidVersion(release.version)) valid.push({ release, parsed: parseVersion(release.version) });
    }
    // Highest first; versions equal but for build metadata are ordered by their text.
    valid.sort((a, b) => compareVersions(b.parsed, a.parsed) || (a.release.version < b.release.version ? -1 : 1));
    this.candidates.set(name, valid);
  }

  /** Pins to versions the record does not have are dead: reported, but they select nothing. */
  private liveConstraints(name: string): Constraint[] {
    const list = this.constraints.get(name) ?? [];
    const versions = new Set((this.candidates.get(name) ?? []).map((c) => c.release.version));
    return list.filter((c) => c.kind !== 'pin' || versions.has(c.text));
  }

  /** Step 4: the highest version satisfying all live constraints, else the longest satisfiable prefix. */
  private choose(name: string): Selection | undefined {
    const list = this.candidates.get(name) ?? [];
    const live = this.liveConstraints(name);
    if (!live.some((c) => !c.optional)) return undefined;
    const all = best(list, live);
    if (all) return all;
    const ordered = [...live].sort((a, b) => Number(a.optional) - Number(b.optional) || a.seq - b.seq);
    for (let n = ordered.length - 1; n >= 1; n--) {
      const partial = best(list, ordered.slice(0, n));
      if (partial) return partial;
    }
    return undefined;
  }

  private withdraw(parent: string): void {
    for (const child of this.children.get(parent) ?? []) {
      this.constraints.set(
        child,
        (this.constraints.get(child) ?? []).filter((c) => c.parent !== parent),
      );
      this.dirty.add(child);
    }
    this.children.delete(parent);
  }

  private contribute(parent: string, release: Release): void {
    const record = this.records.get(parent);
    const kids = new Set<string>();
    for (const dep of release.dependencies) {
      if (dep.repository && record && dep.repository !== record.repository) continue; // reported at the end
      if (!isPackageName(dep.package)) continue; // reported at the end
      let requirement: Requirement | undefined;
      try {
        requirement = parseRequirement(dep.requirement);
      } catch {
        requirement = undefined; // reported at the end; treated as "any version"
      }
      this.addConstraint(dep.package, {
        source: `${parent}@${release.version}`,
        parent,
        kind: requirement ? 'req' : 'any',
        text: requirement ? requirement.source : '',
        ...(requirement ? { requirement } : {}),
        optional: dep.optional,
      });
      kids.add(dep.package);
    }
    this.children.set(parent, kids);
  }

  private setSelection(name: string, next: Selection | undefined): void {
    this.withdraw(name);
    if (next) {
      this.selected.set(name, next);
      this.contribute(name, next.release);
    } else {
      this.selected.delete(name);
    }
  }

  private reselect(name: string): void {
    const current = this.selected.get(name);
    const next = this.isActive(name) && this.records.get(name) ? this.choose(name) : undefined;
    if (current?.release.version === next?.release.version) return;
    const count = this.changes.get(name) ?? 0;
    if (count >= this.maxReselections) {
      this.frozen.add(name);
      return;
    }
    this.changes.set(name, count + 1);
    this.setSelection(name, next);
  }

  /** Packages reachable from the requests through selected releases' non-optional dependencies. */
  private reachable(): Set<string> {
    const seen = new Set<string>();
    const queue = [...this.constraints.entries()].filter(([, cs]) => cs.some((c) => c.source === REQUESTED)).map(([name]) => name);
    while (queue.length > 0) {
      const name = queue.shift()!;
      if (seen.has(name)) continue;
      seen.add(name);
      for (const child of this.children.get(name) ?? []) {
        if ((this.constraints.get(child) ?? []).some((c) => c.parent === name && !c.optional)) queue.push(child);
      }
    }
    return seen;
  }

  /** Steps 2 and 5: rounds of fetching and reselecting until nothing changes, dropping orphans. */
  async settle(): Promise<void> {
    for (;;) {
      while (this.dirty.size > 0) {
        const batch = [...this.dirty].sort();
        this.dirty.clear();
        await Promise.all(batch.filter((name) => this.isActive(name) && !this.records.has(name)).map((name) => this.fetch(name)));
        for (const name of batch) this.reselect(name);
      }
      const live = this.reachable();
      const orphans = [...this.selected.keys()].filter((name) => !live.has(name)).sort();
      if (orphans.length === 0) return;
      for (const name of orphans) this.setSelection(name, undefined);
    }
  }

  /** The releases to fetch, and every problem on the way. */
  report(): ResolveResult {
    const releases: ResolvedRelease[] = [];
    for (const [name, cs] of [...this.constraints.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (!cs.some((c) => !c.optional)) continue;
      const release = this.reportPackage(name, cs);
      if (release) releases.push(release);
    }
    return { releases, problems: this.problems };
  }

  private reportPackage(name: string, cs: Constraint[]): ResolvedRelease | undefined {
    const record = this.records.get(name);
    if (!record) {
      const by = [...new Set(cs.map((c) => c.source))].join(', ');
      this.problems.push(
        this.fetchErrors.has(name)
          ? {
              name,
              kind: 'fetch-failed',
              reason: `registry record could not be fetched: ${messageOf(this.fetchErrors.get(name))} (required by ${by})`,
              cause: this.fetchErrors.get(name),
            }
          : { name, kind: 'unknown-package', reason: `no such package in the registry (required by ${by})` },
      );
      return undefined;
    }
    const versions = new Set((this.candidates.get(name) ?? []).map((c) => c.release.version));
    for (const pin of cs.filter((c) => c.kind === 'pin' && !versions.has(c.text))) {
      this.problems.push({ name, kind: 'unknown-version', reason: `version ${pin.text} does not exist` });
    }
    const live = this.liveConstraints(name);
    const selection = this.selected.get(name);
    if (this.frozen.has(name)) {
      this.problems.push({
        name,
        kind: 'unstable',
        reason: `selection kept changing; stopped at ${selection?.release.version ?? 'nothing'} after ${this.maxReselections} changes`,
      });
    }
    if (!selection) {
      this.reportUnselected(name, live);
      return undefined;
    }
    const unmet = live.filter((c) => !satisfies(c, selection, true));
    if (unmet.length > 0) {
      this.problems.push({
        name,
        kind: 'conflict',
        reason: `no release satisfies all requirements: ${live.map(describe).join('; ')}; picked ${selection.release.version}, which does not satisfy ${unmet.map((c) => c.source).join(', ')}`,
      });
    }
    const { release } = selection;
    if (release.retired) {
      this.problems.push({
        name,
        kind: 'retired',
        reason: `${release.version} is retired (${release.retired.reason}${release.retired.message ? `: ${release.retired.message}` : ''})${live.some((c) => c.kind === 'pin') ? '; pinned, so it is fetched anyway' : '; no other release satisfies the requirements'}`,
      });
    }
    for (const dep of release.dependencies) problemsForDependency(name, release, record, dep, this.problems);
    return {
      name,
      version: release.version,
      innerChecksum: release.innerChecksum,
      ...(release.outerChecksum ? { outerChecksum: release.outerChecksum } : {}),
      requiredBy: [...new Set(live.map((c) => (c.optional ? `${c.source} (optional)` : c.source)))].sort(),
      ...(release.retired ? { retired: release.retired } : {}),
    };
  }

  /** Why nothing was selected: requirements no release matches, or no release matching all. */
  private reportUnselected(name: string, live: Constraint[]): void {
    if (!live.some((c) => !c.optional)) return; // only dead pins: already reported
    const list = this.candidates.get(name) ?? [];
    const unmatched = live.filter((c) => !list.some((cand) => satisfies(c, cand, true)));
    if (unmatched.length > 0) {
      for (const c of unmatched) this.problems.push({ name, kind: 'no-match', reason: `no release matches: ${describe(c)}` });
    } else {
      this.problems.push({ name, kind: 'conflict', reason: `no release satisfies all requirements: ${live.map(describe).join('; ')}` });
    }
  }
}

function satisfies(c: Constraint, cand: Candidate, preForAny: boolean): boolean {
  if (c.kind === 'any') return preForAny || cand.parsed.pre.length === 0;
  if (c.kind === 'pin') return cand.release.version === c.text;
  return c.requirement ? matches(cand.parsed, c.requirement, { allowPre: false }) : true;
}

function best(list: Candidate[], cs: Constraint[]): Candidate | undefined {
  const tiers: [boolean, boolean][] = [
    [false, false], // non-retired, "any" means stable
    [false, true], // non-retired, "any" admits pre-releases
    [true, false], // retired too
    [true, true],
  ];
  for (const [retiredOk, preForAny] of tiers) {
    const hit = list.find((cand) => (retiredOk || !cand.release.retired) && cs.every((c) => satisfies(c, cand, preForAny)));
    if (hit) return hit;
  }
  return undefined;
}

function problemsForDependency(parent: string, release: Release, record: PackageRecord, dep: Dependency, problems: ResolveProblem[]): void {
  const from = `${parent}@${release.version}`;
  if (dep.repository && dep.repository !== record.repository) {
    if (!dep.optional) {
      problems.push({ name: dep.package, kind: 'other-repository', reason: `${from} requires it from repository "${dep.repository}"; skipped` });
    }
    return;
  }
  if (!isPackageName(dep.package)) {
    problems.push({ name: dep.package, kind: 'invalid-dependency', reason: `${from} lists an invalid package name; skipped` });
    return;
  }
  try {
    parseRequirement(dep.requirement);
  } catch (error) {
    problems.push({ name: dep.package, kind: 'invalid-dependency', reason: `${from}: ${messageOf(error)}; treated as any version` });
  }
}
