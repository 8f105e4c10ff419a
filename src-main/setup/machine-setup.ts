// One-click setup: point mix (Hex's config file), rebar3 and the user's shells at this
// mirror. Every change is planned first and checked (writable, no hand edits inside our
// blocks, a known shell), backed up, then written; a failure half-way restores what was
// already written, and `undo` puts back exactly the files as they were.
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { constants, existsSync } from 'node:fs';
import { access, chmod, copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import type { SetupChange, SetupState } from '../../src-shared/contract.js';
import { hexConfigPath, readMirrorUrl, withMirrorUrl } from './hex-config.js';
import { blockUrl, ProfileError, profileTargets, shellOf, VARIABLES, withBlock, type ShellName } from './shell-profiles.js';

export interface SetupContext {
  env: Record<string, string | undefined>;
  home?: string;
  /** Backups live here (the mirror's data dir). */
  dataDir: string;
  mirrorUrl: string;
}

/** Empty variables count as unset (an empty XDG_CONFIG_HOME must not make paths relative). */
function cleanEnv(env: Record<string, string | undefined>): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
}

export class SetupError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'SetupError';
  }
}

const KNOWN_SHELLS = new Set(['bash', 'zsh', 'fish', 'sh', 'dash']);

function onPath(command: string, env: Record<string, string | undefined>): boolean {
  return (env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, command)));
}

/** A file not valid as UTF-8 is read and written as Latin-1, which keeps every byte as it was. */
async function encodingOf(path: string): Promise<BufferEncoding> {
  try {
    return isUtf8(await readFile(path)) ? 'utf8' : 'latin1';
  } catch {
    return 'utf8';
  }
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, await encodingOf(path));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function shells(ctx: SetupContext): Set<ShellName> {
  const home = ctx.home ?? homedir();
  const found = new Set<ShellName>(['sh']);
  const login = shellOf(ctx.env);
  if (login === 'bash' || onPath('bash', ctx.env)) found.add('bash');
  if (login === 'zsh' || onPath('zsh', ctx.env) || existsSync(join(ctx.env.ZDOTDIR ?? home, '.zshrc'))) found.add('zsh');
  if (login === 'fish' || onPath('fish', ctx.env) || existsSync(join(home, '.config/fish'))) found.add('fish');
  return found;
}

function rebar3Config(ctx: SetupContext): string {
  return join(ctx.env.XDG_CONFIG_HOME ?? join(ctx.home ?? homedir(), '.config'), 'rebar3', 'rebar.config');
}

/** What mix, rebar3 and the shell use now, and whether that is this mirror. */
export async function inspectSetup(given: SetupContext): Promise<SetupState> {
  const ctx = { ...given, env: cleanEnv(given.env) };
  const home = ctx.home ?? homedir();
  const hexConfig = hexConfigPath(ctx.env, home);
  const configured = readMirrorUrl((await readText(hexConfig)) ?? '');
  const envMirror = ctx.env.HEX_MIRROR_URL ?? ctx.env.HEX_MIRROR;
  const mix = envMirror
    ? { url: envMirror, source: `environment (${ctx.env.HEX_MIRROR_URL ? 'HEX_MIRROR_URL' : 'HEX_MIRROR'})` }
    : configured
      ? { url: configured, source: hexConfig }
      : { url: 'https://repo.hex.pm', source: 'default' };
  const rebarCdn = /\{\s*rebar_packages_cdn\s*,\s*"([^"]*)"\s*\}/.exec((await readText(rebar3Config(ctx))) ?? '')?.[1];
  const rebar3 = ctx.env.HEX_CDN
    ? { url: ctx.env.HEX_CDN, source: 'environment (HEX_CDN)' }
    : ctx.env.HEX_MIRROR
      ? { url: ctx.env.HEX_MIRROR, source: 'environment (HEX_MIRROR, rebar3 ≥ 3.20 only)' }
      : rebarCdn
        ? { url: rebarCdn, source: rebar3Config(ctx) }
        : { url: 'https://repo.hex.pm', source: 'default' };
  const files = [];
  for (const target of profileTargets(ctx.env, shells(ctx), existsSync, home)) {
    const text = await readText(target.path);
    const url = text === null ? undefined : blockUrl(text);
    files.push({ path: target.path, why: target.why, exists: text !== null, ...(url ? { mirrorUrl: url } : {}) });
  }
  const same = (url: string) => url.replace(/\/+$/, '') === ctx.mirrorUrl.replace(/\/+$/, '');
  return {
    mirrorUrl: ctx.mirrorUrl,
    shell: shellOf(ctx.env) ?? 'unknown',
    mix: { ...mix, pointsHere: same(mix.url) },
    rebar3: { ...rebar3, pointsHere: same(rebar3.url) },
    environment: Object.fromEntries(VARIABLES.map((name) => [name, ctx.env[name] ?? null])),
    files,
    applied: files.length > 0 && files.every((f) => f.mirrorUrl !== undefined && same(f.mirrorUrl)) && configured !== undefined && same(configured),
  };
}

/** The file changes setup would make; problems that forbid applying any of them throw. */
export async function planSetup(given: SetupContext): Promise<SetupChange[]> {
  const ctx = { ...given, env: cleanEnv(given.env) };
  const home = ctx.home ?? homedir();
  const problems: string[] = [];
  const login = shellOf(ctx.env);
  if (login && !KNOWN_SHELLS.has(login)) {
    problems.push(`your login shell is ${login}, which setup does not know: set ${VARIABLES.join(', ')} to ${ctx.mirrorUrl} in its startup file yourself`);
  }
  const changes: SetupChange[] = [];
  const consider = async (path: string, why: string, change: (before: string) => string) => {
    try {
      const before = await readText(path);
      const after = change(before ?? '');
      if (after !== before) changes.push({ path, why, before, after, diff: '' });
    } catch (error) {
      problems.push(error instanceof ProfileError ? error.message : `${path}: ${(error as Error).message}`);
    }
  };
  await consider(hexConfigPath(ctx.env, home), 'Hex (mix) mirror_url', (text) => withMirrorUrl(text, ctx.mirrorUrl));
  for (const target of profileTargets(ctx.env, shells(ctx), existsSync, home)) {
    await consider(target.path, target.why, (text) => withBlock(text, target, ctx.mirrorUrl));
  }
  for (const change of changes) {
    change.diff = createTwoFilesPatch(change.path, change.path, change.before ?? '', change.after, change.before === null ? '(new file)' : '', '');
    const problem = await unwritable(change.path);
    if (problem) problems.push(problem);
  }
  if (problems.length) throw new SetupError(problems);
  return changes;
}

async function unwritable(path: string): Promise<string | undefined> {
  try {
    await access(path, constants.W_OK);
    return undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return `${path} is not writable`;
  }
  // A new file: the nearest existing folder must be writable.
  let dir = dirname(path);
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  try {
    await access(dir, constants.W_OK);
    return undefined;
  } catch {
    return `${dir} is not writable (needed for ${path})`;
  }
}

interface Manifest {
  createdAt: string;
  mirrorUrl: string;
  files: { path: string; backup: string | null; mode: number | null; afterSha256: string }[];
}

function backupsDir(dataDir: string): string {
  return join(dataDir, 'setup-backups');
}

/** Writes through a temporary file and a rename, so a file is never left half-written. */
async function writeAtomically(path: string, write: (temp: string) => Promise<void>, mode?: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.hexhub-${process.pid}.tmp`;
  await write(temp);
  if (mode !== undefined) await chmod(temp, mode);
  await rename(temp, path);
}

/** Applies the plan: backs every file up, then writes all of them or none. */
export async function applySetup(ctx: SetupContext): Promise<{ changes: SetupChange[]; backup: string | null }> {
  const changes = await planSetup(ctx);
  if (changes.length === 0) return { changes, backup: null };
  const dir = join(backupsDir(ctx.dataDir), new Date().toISOString().replace(/[:.]/g, '-'));
  await mkdir(join(dir, 'files'), { recursive: true });
  const manifest: Manifest = { createdAt: new Date().toISOString(), mirrorUrl: ctx.mirrorUrl, files: [] };
  for (const [i, change] of changes.entries()) {
    const mode = change.before === null ? null : (await stat(change.path)).mode & 0o777;
    if (change.before !== null) await copyFile(change.path, join(dir, 'files', String(i)));
    manifest.files.push({ path: change.path, backup: change.before === null ? null : `files/${i}`, mode, afterSha256: sha256(change.after) });
  }
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  const written: Manifest['files'] = [];
  try {
    for (const [i, change] of changes.entries()) {
      const encoding = await encodingOf(change.path);
      await writeAtomically(change.path, (temp) => writeFile(temp, change.after, encoding), manifest.files[i]!.mode ?? undefined);
      written.push(manifest.files[i]!);
    }
  } catch (error) {
    await restore(dir, written);
    await rm(dir, { recursive: true, force: true });
    throw new SetupError([`could not write ${changes[written.length]!.path}: ${(error as Error).message}; nothing was changed`]);
  }
  return { changes, backup: dir };
}

async function restore(dir: string, files: Manifest['files']): Promise<void> {
  for (const file of files) {
    if (file.backup === null) await rm(file.path, { force: true });
    else await writeAtomically(file.path, (temp) => copyFile(join(dir, file.backup!), temp), file.mode ?? undefined);
  }
}

/** Puts back the files as they were before the last setup, unless they changed since. */
export async function undoSetup(ctx: SetupContext): Promise<{ restored: string[]; backup: string }> {
  const root = backupsDir(ctx.dataDir);
  const runs = existsSync(root) ? (await readdir(root)).filter((name) => !name.endsWith('-undone')).sort() : [];
  const last = runs.at(-1);
  if (!last) throw new SetupError(['there is no setup to undo']);
  const dir = join(root, last);
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  const problems: string[] = [];
  for (const file of manifest.files) {
    const now = await readText(file.path);
    if (now === null || sha256(now) !== file.afterSha256) problems.push(`${file.path} changed since setup; restore it from ${join(dir, file.backup ?? '')} by hand if you want`);
  }
  if (problems.length) throw new SetupError(problems);
  await restore(dir, manifest.files);
  await rename(dir, `${dir}-undone`);
  return { restored: manifest.files.map((f) => f.path), backup: dir };
}
