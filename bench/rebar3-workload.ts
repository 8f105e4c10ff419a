// Phase `rebar3` (issue #15): a real client workload. `rebar3 compile` of a project whose
// dependency closure is 45 generated Hex packages (real Erlang sources that call their own
// dependencies, 2–3 versions each, a dependency graph the resolver must walk), against the
// fake upstream (test/support/fake-upstream.ts) at +50 ms per request:
//   a. direct  HEX_CDN = the fake upstream;
//   b. cold    through a fresh `./bin/hexhub serve` (empty data dir);
//   c. warm    through the same HexHub again.
// Every run starts from a fresh HOME (rebar3's own ~/.cache/rebar3 empty, the repository key in
// ~/.config/rebar3/rebar.config as test/support/rebar3.ts writes it) and a project without
// _build or rebar.lock, so rebar3 resolves and fetches every package each time. The three are
// interleaved over a few rounds (a fresh HexHub per round) after one discarded direct run;
// figures are medians. rebar3 must exit 0 and every dependency must have its .beam, or the
// phase fails with rebar3's output. Skipped, with the reason, where rebar3 is not installed.
import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeUpstream, type FakeUpstream } from '../test/support/fake-upstream.js';
import { FixtureRepo, testKeys, type DepSpec } from '../test/support/hex-fixtures.js';
import { runClient, type ClientResult } from '../test/support/rebar3.js';
import { seededRandom } from '../test/support/sized-fixtures.js';
import { hasTool } from '../test/support/tools.js';
import { spawnSync } from 'node:child_process';
import { fmt } from './util.js';

export const REBAR3_PLAN = {
  packages: Number(process.env.BENCH_REBAR3_PACKAGES ?? 45),
  latencyMs: 50,
  rounds: Number(process.env.BENCH_REBAR3_ROUNDS ?? 3),
  /** Packages 0..leaves-1 depend on nothing; every later one on 1–3 earlier ones. */
  leaves: 8,
  timeoutMs: 300_000,
};

type Mode = 'direct' | 'cold' | 'warm';
const MODES: readonly Mode[] = ['direct', 'cold', 'warm'];

export interface Rebar3Run {
  mode: Mode;
  round: number;
  seconds: number;
  upstreamRequests: number;
  registryRequests: number;
  tarballRequests: number;
}

export interface Rebar3Figures {
  skipped?: undefined;
  rebar3Version: string;
  packages: number;
  versions: number;
  dependencyEdges: number;
  topLevelDeps: number;
  tarballBytes: number;
  latencyMs: number;
  rounds: number;
  /** The discarded first run (direct): rebar3, Erlang and the fake upstream warming up. */
  warmupSec: number;
  runs: Rebar3Run[];
  medianSec: Record<Mode, number>;
  medianUpstreamRequests: Record<Mode, number>;
  /** direct ÷ warm (medians): how many times faster a warm HexHub makes the build. */
  warmSpeedup: number;
  /** cold − direct (medians). */
  coldOverheadSec: number;
  coldOverheadPct: number;
  /** Every run exited 0 with every dependency compiled, and no warm run asked the upstream for anything. */
  pass: boolean;
}

export type Rebar3PhaseResult = Rebar3Figures | { skipped: string };

export interface Rebar3Deps {
  log(line: string): void;
  /** A fresh `hexhub serve` (own data dir) over `upstream`, as bench/run.ts starts every mirror. */
  startMirror(upstream: FakeUpstream, label: string): Promise<{ url: string; stderr(): string; stop(): Promise<void> }>;
}

// ------------------------------------------------------------------ fixtures

const WORDS =
  'buffer socket frame codec header stream decode encode parse token lexer record tuple binary atom process monitor supervisor worker pool queue timer event handler route session cache index shard replica lease quorum vector clock merkle digest cipher signature nonce payload'.split(
    ' ',
  );

/** A small but real Erlang module: hello/0 calls every dependency's hello/0; the rest is ordinary list and map code. */
function moduleSource(name: string, version: string, deps: DepSpec[], random: () => number): string {
  const functions = 6 + Math.floor(random() * 10);
  const lines = [
    `-module(${name}).`,
    `-export([hello/0, run/1${Array.from({ length: functions }, (_, i) => `, step_${i}/2`).join('')}]).`,
    '',
    `-record(state, {name = ${name} :: atom(), count = 0 :: non_neg_integer(), seen = #{} :: map()}).`,
    '',
  ];
  // Documentation-like comments, as real sources have (and real tarball sizes).
  const paragraphs = 2 + Math.floor(random() * 12);
  for (let p = 0; p < paragraphs; p++) {
    for (let l = 0; l < 8; l++) lines.push(`%% ${Array.from({ length: 12 }, () => WORDS[Math.floor(random() * WORDS.length)]).join(' ')}`);
    lines.push('%%');
  }
  lines.push(
    '',
    `%% This package's name and version and those of its dependencies, so that they are real at compile and run time.`,
    'hello() ->',
    `    {${name}, <<"${version}">>, [${deps.map((d) => `${d.name}:hello()`).join(', ')}]}.`,
    '',
    'run(Items) when is_list(Items) ->',
    `    State = lists:foldl(fun(Item, S) -> step_0(Item, S) end, #state{}, Items),`,
    '    {State#state.name, State#state.count, maps:size(State#state.seen)}.',
    '',
  );
  for (let i = 0; i < functions; i++) {
    const k = 1 + Math.floor(random() * 97);
    const next = i + 1 < functions ? `step_${i + 1}(Item, S1)` : 'S1';
    lines.push(
      `step_${i}(Item, #state{count = C, seen = Seen} = S) when is_integer(Item) ->`,
      `    S1 = S#state{count = C + 1, seen = Seen#{Item rem ${k} => Item * ${k}}},`,
      `    ${next};`,
      `step_${i}(Item, S) when is_binary(Item) ->`,
      `    step_${i}(byte_size(Item) + ${k}, S);`,
      `step_${i}({Key, Value}, #state{seen = Seen} = S) ->`,
      `    case maps:find(Key, Seen) of`,
      `        {ok, Old} -> S#state{seen = Seen#{Key => Old + Value}};`,
      `        error -> S#state{seen = Seen#{Key => Value}}`,
      `    end;`,
      `step_${i}(_Other, S) ->`,
      `    S.`,
      '',
    );
  }
  return lines.join('\n');
}

interface Workload {
  repo: FixtureRepo;
  names: string[];
  /** The project's own deps (packages nothing else depends on), name → requirement. */
  topLevel: Record<string, string>;
  versions: number;
  edges: number;
  tarballBytes: number;
}

/** 45 packages in a dependency graph: 1.0.0 and 1.1.0 each (every fifth also 2.0.0, which "~> 1.0" must pass over). */
async function buildWorkload(count: number): Promise<Workload> {
  const random = seededRandom(15_045);
  const repo = new FixtureRepo();
  const names = Array.from({ length: count }, (_, i) => `${WORDS[i % WORDS.length]}_${String(i).padStart(2, '0')}`);
  const dependedOn = new Set<string>();
  let versions = 0;
  let edges = 0;
  let tarballBytes = 0;
  for (const [i, name] of names.entries()) {
    const deps: DepSpec[] = [];
    if (i >= REBAR3_PLAN.leaves) {
      const wanted = 1 + Math.floor(random() * 3);
      while (deps.length < wanted) {
        const dep = names[Math.floor(random() * i)]!;
        if (!deps.some((d) => d.name === dep)) deps.push({ name: dep, requirement: '~> 1.0' });
      }
    }
    for (const d of deps) dependedOn.add(d.name);
    edges += deps.length;
    const published = ['1.0.0', '1.1.0', ...(i % 5 === 0 ? ['2.0.0'] : [])];
    for (const version of published) {
      const release = await repo.publish({ name, version, deps, erlangModuleSource: moduleSource(name, version, deps, random) }, { docs: false });
      versions++;
      if (version === '1.1.0') tarballBytes += release.bytes.length;
    }
  }
  const topLevel = Object.fromEntries(names.filter((n) => !dependedOn.has(n)).map((n) => [n, '~> 1.1']));
  return { repo, names, topLevel, versions, edges, tarballBytes };
}

// ------------------------------------------------------------------ the project and one run

async function createProject(root: string, deps: Record<string, string>): Promise<string> {
  const dir = join(root, 'app');
  await mkdir(join(dir, 'src'), { recursive: true });
  const names = Object.keys(deps);
  await writeFile(join(dir, 'rebar.config'), `{erl_opts, [debug_info]}.\n{deps, [${names.map((n) => `{${n}, "${deps[n]}"}`).join(',\n        ')}]}.\n`);
  await writeFile(
    join(dir, 'src/app.app.src'),
    `{application, app, [{description, "bench app"}, {vsn, "0.1.0"}, {applications, [kernel, stdlib${names.map((n) => `, ${n}`).join('')}]}, {env, []}, {modules, []}]}.\n`,
  );
  await writeFile(join(dir, 'src/app.erl'), `-module(app).\n-export([run/0]).\nrun() -> [${names.map((n) => `${n}:hello()`).join(', ')}].\n`);
  return dir;
}

/** A HOME of its own (rebar3's cache empty) trusting the fixture repository's key, as test/support/rebar3.ts sets one up. */
async function freshHome(root: string, label: string): Promise<string> {
  const home = await mkdtemp(join(root, `home-${label}-`));
  await mkdir(join(home, '.config/rebar3'), { recursive: true });
  const pem = testKeys().publicKeyPem.replace(/\n$/, '');
  await writeFile(join(home, '.config/rebar3/rebar.config'), `{hex, [{repos, [#{name => <<"hexpm">>, repo_public_key => <<"${pem}">>}]}]}.\n`);
  return home;
}

async function missingBeams(dir: string, names: string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const name of names) {
    await access(join(dir, '_build/default/lib', name, 'ebin', `${name}.beam`)).catch(() => missing.push(name));
  }
  return missing;
}

/** `rebar3 compile` from nothing (no _build, no rebar.lock, empty ~/.cache/rebar3) against `cdn`; timed. */
async function compileOnce(
  root: string,
  dir: string,
  names: string[],
  cdn: string,
  label: string,
  mirrorLog?: () => string,
): Promise<{ seconds: number; result: ClientResult }> {
  await rm(join(dir, '_build'), { recursive: true, force: true });
  await rm(join(dir, 'rebar.lock'), { force: true });
  const home = await freshHome(root, label);
  try {
    const t0 = performance.now();
    const result = await runClient('rebar3', ['compile'], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: home, HEX_CDN: cdn, REBAR_COLOR: 'none' },
      timeoutMs: REBAR3_PLAN.timeoutMs,
    });
    const seconds = (performance.now() - t0) / 1000;
    const tail = () => `rebar3 output:\n${result.output.slice(-6000)}${mirrorLog ? `\nHexHub log (tail):\n${mirrorLog().slice(-3000)}` : ''}`;
    if (result.timedOut) throw new Error(`rebar3 (${label}) was killed after ${REBAR3_PLAN.timeoutMs / 1000} s\n${tail()}`);
    if (result.code !== 0) throw new Error(`rebar3 compile (${label}) exited with ${result.code}\n${tail()}`);
    const missing = await missingBeams(dir, names);
    if (missing.length) throw new Error(`rebar3 compile (${label}) exited 0 but these deps were not compiled: ${missing.join(', ')}\n${tail()}`);
    return { seconds, result };
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

// ------------------------------------------------------------------ the phase

export async function benchRebar3(deps: Rebar3Deps): Promise<Rebar3PhaseResult> {
  const { log } = deps;
  if (!hasTool('rebar3', ['version'])) {
    const reason = 'rebar3 is not installed (apt-get install erlang-nox rebar3)';
    log(`rebar3: SKIPPED: ${reason}`);
    return { skipped: reason };
  }
  const rebar3Version = spawnSync('rebar3', ['version'], { encoding: 'utf8' }).stdout.trim();
  log(`rebar3: building ${REBAR3_PLAN.packages} packages with real Erlang sources in a dependency graph`);
  const w = await buildWorkload(REBAR3_PLAN.packages);
  const upstream = await startFakeUpstream(w.repo);
  const root = await mkdtemp(join(tmpdir(), 'hexhub-bench-rebar3-'));
  try {
    const dir = await createProject(root, w.topLevel);
    upstream.fault.latencyMs(REBAR3_PLAN.latencyMs);
    const counted = async (mode: Mode, round: number, build: () => Promise<{ seconds: number }>): Promise<Rebar3Run> => {
      const before = { all: upstream.requests.length, registry: upstream.countRequests('/packages/'), tarballs: upstream.countRequests('/tarballs/') };
      const { seconds } = await build();
      const run = {
        mode,
        round,
        seconds,
        upstreamRequests: upstream.requests.length - before.all,
        registryRequests: upstream.countRequests('/packages/') - before.registry,
        tarballRequests: upstream.countRequests('/tarballs/') - before.tarballs,
      };
      log(
        `rebar3: round ${round}, ${mode.padEnd(6)} ${fmt(seconds, 2)} s, ${run.upstreamRequests} upstream requests (${run.registryRequests} registry, ${run.tarballRequests} tarballs)`,
      );
      return run;
    };

    log(
      `rebar3: project with ${Object.keys(w.topLevel).length} top-level deps, ${w.names.length} packages in all; upstream +${REBAR3_PLAN.latencyMs} ms; one discarded direct run first`,
    );
    const warmup = await compileOnce(root, dir, w.names, upstream.url, 'warm-up');
    log(`rebar3: warm-up (direct, discarded) ${fmt(warmup.seconds, 2)} s`);

    const runs: Rebar3Run[] = [];
    for (let round = 1; round <= REBAR3_PLAN.rounds; round++) {
      runs.push(await counted('direct', round, () => compileOnce(root, dir, w.names, upstream.url, 'direct')));
      const mirror = await deps.startMirror(upstream, `rebar3-${round}`);
      try {
        runs.push(await counted('cold', round, () => compileOnce(root, dir, w.names, mirror.url, 'cold', () => mirror.stderr())));
        runs.push(await counted('warm', round, () => compileOnce(root, dir, w.names, mirror.url, 'warm', () => mirror.stderr())));
      } finally {
        await mirror.stop();
      }
    }
    const of = (mode: Mode) => runs.filter((r) => r.mode === mode);
    const medianSec = Object.fromEntries(MODES.map((m) => [m, median(of(m).map((r) => r.seconds))])) as Record<Mode, number>;
    const medianUpstreamRequests = Object.fromEntries(MODES.map((m) => [m, median(of(m).map((r) => r.upstreamRequests))])) as Record<Mode, number>;
    return {
      rebar3Version,
      packages: w.names.length,
      versions: w.versions,
      dependencyEdges: w.edges,
      topLevelDeps: Object.keys(w.topLevel).length,
      tarballBytes: w.tarballBytes,
      latencyMs: REBAR3_PLAN.latencyMs,
      rounds: REBAR3_PLAN.rounds,
      warmupSec: warmup.seconds,
      runs,
      medianSec,
      medianUpstreamRequests,
      warmSpeedup: medianSec.direct / medianSec.warm,
      coldOverheadSec: medianSec.cold - medianSec.direct,
      coldOverheadPct: (100 * (medianSec.cold - medianSec.direct)) / medianSec.direct,
      // Every run compiled (compileOnce throws otherwise); a warm HexHub answers everything itself.
      pass: of('warm').every((r) => r.upstreamRequests === 0),
    };
  } finally {
    await upstream.close();
    await rm(root, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------ report

const PF = (pass: boolean) => (pass ? 'PASS' : 'FAIL');

export function rebar3Targets(r: Rebar3PhaseResult) {
  if (r.skipped !== undefined) return [];
  return [
    {
      id: '9',
      name: `rebar3 compile, ${r.packages} hex deps: upstream requests of a warm HexHub run (median; speed-up ${fmt(r.warmSpeedup, 1)} x, reported)`,
      value: r.medianUpstreamRequests.warm,
      target: '== 0 in every warm run',
      pass: r.pass,
    },
  ];
}

export function rebar3Report(r: Rebar3PhaseResult, noise: string): string[] {
  const out = [''];
  if (r.skipped !== undefined) {
    out.push(`9. rebar3 compile, real client workload  [SKIPPED: ${r.skipped}]`);
    return out;
  }
  const s = (x: number) => `${fmt(x, 2)} s`;
  out.push(`9. rebar3 compile, real client workload  [${PF(r.pass)}]${noise}`);
  out.push(
    `  ${r.rebar3Version}; a project with ${r.topLevelDeps} top-level deps whose closure is ${r.packages} hex packages (${r.versions} releases published, ${r.dependencyEdges} dependency edges, ${fmt(r.tarballBytes / 1024, 0)} KiB of tarballs fetched)`,
  );
  out.push(
    `  fake upstream +${r.latencyMs} ms per request; every run: fresh HOME (empty ~/.cache/rebar3), no _build, no rebar.lock; ${r.rounds} interleaved rounds (direct, HexHub cold on a fresh data dir, HexHub warm), after a discarded direct run (${s(r.warmupSec)})`,
  );
  for (const mode of MODES) {
    const runs = r.runs.filter((x) => x.mode === mode);
    out.push(
      `  ${{ direct: 'straight from upstream', cold: 'through HexHub, cold', warm: 'through HexHub, warm' }[mode].padEnd(24)} median ${s(r.medianSec[mode])}  (runs: ${runs.map((x) => fmt(x.seconds, 2)).join(', ')} s);  upstream requests per run: ${runs.map((x) => `${x.upstreamRequests} (${x.registryRequests} registry, ${x.tarballRequests} tarballs)`).join(', ')}`,
    );
  }
  const inRound = (mode: Mode, round: number) => r.runs.find((x) => x.mode === mode && x.round === round)!.seconds;
  const rounds = Array.from({ length: r.rounds }, (_, i) => i + 1);
  out.push(
    `  warm speed-up: ${fmt(r.warmSpeedup, 2)} × (direct ÷ warm);  cold overhead: ${fmt(r.coldOverheadSec, 2)} s (${fmt(r.coldOverheadPct, 1)} %) (cold − direct);  target: a warm run makes no upstream request`,
  );
  out.push(
    `  per round: speed-up ${rounds.map((i) => fmt(inRound('direct', i) / inRound('warm', i), 2)).join(', ')} ×;  cold − direct ${rounds.map((i) => fmt(inRound('cold', i) - inRound('direct', i), 2)).join(', ')} s`,
  );
  out.push(`  (wall time of the whole \`rebar3 compile\`, Erlang VM start and compilation of the ${r.packages} packages included)`);
  return out;
}

export function rebar3MarkdownRow(r: Rebar3PhaseResult): string[] {
  if (r.skipped !== undefined) return ['9', 'rebar3 compile, real client workload', 'skipped', r.skipped, '', 'n/a'];
  return [
    '9',
    `\`rebar3 compile\`, ${r.packages} hex deps (${r.topLevelDeps} top-level), fresh HOME, no _build / rebar.lock, upstream +${r.latencyMs} ms; median of ${r.rounds}`,
    `warm ${fmt(r.medianSec.warm, 2)} s (${r.medianUpstreamRequests.warm} upstream requests); cold ${fmt(r.medianSec.cold, 2)} s (${r.medianUpstreamRequests.cold} upstream requests)`,
    `straight from upstream: ${fmt(r.medianSec.direct, 2)} s (${r.medianUpstreamRequests.direct} requests)`,
    `none (reported): warm ${fmt(r.warmSpeedup, 2)} × faster; cold overhead ${fmt(r.coldOverheadSec, 2)} s (${fmt(r.coldOverheadPct, 1)} %); warm asks the upstream nothing`,
    PF(r.pass),
  ];
}
