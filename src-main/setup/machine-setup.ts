// One-click setup: point mix (Hex's config file: packages and API calls), rebar3 and the
// user's shells at this mirror. Every change is planned first and checked (writable, no hand edits inside our
// blocks, a known shell, no broken symbolic links), backed up, then written; a failure
// half-way restores what was already written, and `undo` puts back exactly the files as
// they were. These files hold tokens and API keys: only the part setup changes is ever
// shown, and the backups are readable by their owner alone.
import { messageOf } from '../../src-shared/problems.js';
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { constants, existsSync } from 'node:fs';
import { access, chmod, lstat, mkdir, readdir, readFile, readlink, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import type { SetupChange, SetupState } from '../../src-shared/contract.js';
import { Problem } from '../core/problem.js';
import { hexConfigPath, readEntry, withMirror } from './hex-config.js';
import type { PartEdit } from './part-edit.js';
import { apiUrlOf, blockUrl, ProfileError, profileTargets, shellOf, VARIABLES, withBlock, type ShellName } from './shell-profiles.js';

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

/** Why setup cannot apply, one problem a line; nothing was changed. */
export class SetupError extends Problem {
  constructor(readonly problems: string[]) {
    super('setup_refused', problems.join('\n'));
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

/** For showing the state only: a link loop reads as no file, as a dangling link does; planning names the problem. */
async function readForState(path: string): Promise<string | null> {
  try {
    return await readText(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') return null;
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

const HEX_CONFIG_WHY = 'Hex (mix) mirror_url and api_url';

/** What mix, rebar3 and the shell use now, and whether that is this mirror. */
export async function inspectSetup(given: SetupContext): Promise<SetupState> {
  const ctx = { ...given, env: cleanEnv(given.env) };
  const home = ctx.home ?? homedir();
  const hexConfig = hexConfigPath(ctx.env, home);
  const hexRead = await readForState(hexConfig);
  const hexText = hexRead ?? '';
  const configured = readEntry(hexText, 'mirror_url');
  const configuredApi = readEntry(hexText, 'api_url');
  const envMirror = ctx.env.HEX_MIRROR_URL ?? ctx.env.HEX_MIRROR;
  const mix = envMirror
    ? { url: envMirror, source: `environment (${ctx.env.HEX_MIRROR_URL ? 'HEX_MIRROR_URL' : 'HEX_MIRROR'})` }
    : configured
      ? { url: configured, source: hexConfig }
      : { url: 'https://repo.hex.pm', source: 'default' };
  const mirrorApi = apiUrlOf(ctx.mirrorUrl);
  const envApi = ctx.env.HEX_API_URL ?? ctx.env.HEX_API;
  const hexApi = envApi
    ? { url: envApi, source: `environment (${ctx.env.HEX_API_URL ? 'HEX_API_URL' : 'HEX_API'})` }
    : configuredApi
      ? { url: configuredApi, source: hexConfig }
      : { url: 'https://hex.pm/api', source: 'default' };
  // rebar3 3.19 (Debian 12's, among others) takes the hexpm repository's URL from HEX_CDN alone:
  // at start it sets rebar_packages_cdn to HEX_CDN or the default, over whatever a rebar.config
  // says (fixed in 3.20, erlang/rebar3#2737), HEX_MIRROR is read from 3.20 on (#2748), and a
  // repo_url on the hexpm repo is overridden (since 3.14.4). HEX_CDN works in every version.
  const rebarCdn = /\{\s*rebar_packages_cdn\s*,\s*"([^"]*)"\s*\}/.exec((await readForState(rebar3Config(ctx))) ?? '')?.[1];
  const ignored = [...(ctx.env.HEX_MIRROR ? ['HEX_MIRROR'] : []), ...(rebarCdn ? [`rebar_packages_cdn in ${rebar3Config(ctx)}`] : [])];
  const rebar3 = ctx.env.HEX_CDN
    ? { url: ctx.env.HEX_CDN, source: 'environment (HEX_CDN)' }
    : { url: 'https://repo.hex.pm', source: ignored.length ? `default: rebar3 3.19 reads only HEX_CDN, not ${ignored.join(' or ')}` : 'default' };
  // hex.config first: setup changes it as it changes the startup files, so it is listed with them.
  const files: SetupState['files'] = [{ path: hexConfig, why: HEX_CONFIG_WHY, exists: hexRead !== null, ...(configured ? { mirrorUrl: configured } : {}) }];
  for (const target of profileTargets(ctx.env, shells(ctx), existsSync, home)) {
    const text = await readForState(target.path);
    const url = text === null ? undefined : blockUrl(text);
    files.push({ path: target.path, why: target.why, exists: text !== null, ...(url ? { mirrorUrl: url } : {}) });
  }
  const same = (url: string) => url.replace(/\/+$/, '') === ctx.mirrorUrl.replace(/\/+$/, '');
  return {
    mirrorUrl: ctx.mirrorUrl,
    shell: shellOf(ctx.env) ?? 'unknown',
    mix: { ...mix, pointsHere: same(mix.url) },
    hexApi: { ...hexApi, pointsHere: hexApi.url.replace(/\/+$/, '') === mirrorApi },
    rebar3: { ...rebar3, pointsHere: same(rebar3.url) },
    environment: Object.fromEntries(VARIABLES.map((name) => [name, ctx.env[name] ?? null])),
    files,
    applied:
      files.length > 0 &&
      files.every((f) => f.mirrorUrl !== undefined && same(f.mirrorUrl)) &&
      configured !== undefined &&
      same(configured) &&
      (mirrorApi === undefined || configuredApi?.replace(/\/+$/, '') === mirrorApi),
  };
}

/** Where a managed path really is: dotfile managers make startup files symbolic links into their own folder. */
interface Location {
  /** The file to read and write: the path itself, or the final target when it is a symbolic link. */
  file: string;
  link: boolean;
  /** Permission bits of the file (null: it does not exist yet). */
  mode: number | null;
  /** Two paths with the same identity are one file (a link to another managed file). */
  identity: string;
}

/** A symbolic link setup cannot follow; writing a new file in its place would lose what it pointed at. */
class LinkProblem extends Error {
  constructor(
    readonly what: string,
    fix: string,
  ) {
    super(`${what}; ${fix}`);
  }
}

async function locate(path: string): Promise<Location> {
  let link: boolean;
  try {
    link = (await lstat(path)).isSymbolicLink();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { file: path, link: false, mode: null, identity: path };
    throw error;
  }
  const file = link ? await linkTarget(path) : path;
  const info = await stat(file);
  return { file, link, mode: info.mode & 0o777, identity: `${info.dev}:${info.ino}` };
}

async function linkTarget(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new LinkProblem(
        `${path} is a symbolic link to ${await readlink(path)}, which does not exist`,
        'create that file or remove the link, then run setup again',
      );
    if (code === 'ELOOP')
      throw new LinkProblem(`${path} is a symbolic link that loops (or has too many levels of links)`, 'fix the link, then run setup again');
    throw error;
  }
}

/** A change as it is applied: whole files. It never leaves this module; SetupChange is what is shown. */
interface PlannedChange extends Location {
  path: string;
  why: string;
  /** What setup changes in the file, as named in the diff. */
  part: string;
  before: string | null;
  after: string;
  edit: PartEdit;
}

function endsLine(text: string): string {
  return text === '' || text.endsWith('\n') ? text : `${text}\n`;
}

/** What the user sees of a change: a diff of the changed part alone, never of the rest of the file. */
function shown(change: PlannedChange): SetupChange {
  const created = change.before === null;
  const name = change.link ? `${change.path} (symbolic link to ${change.file})` : change.path;
  const was = created ? 'new file' : change.edit.partBefore === null ? `no ${change.part} yet` : change.part;
  const diff = createTwoFilesPatch(name, name, endsLine(change.edit.partBefore ?? ''), endsLine(change.edit.partAfter), was, change.part);
  return { path: change.path, why: change.why, created, diff };
}

async function planChanges(given: SetupContext): Promise<PlannedChange[]> {
  const ctx = { ...given, env: cleanEnv(given.env) };
  const home = ctx.home ?? homedir();
  const problems: string[] = [];
  const login = shellOf(ctx.env);
  if (login && !KNOWN_SHELLS.has(login)) {
    const repository = VARIABLES.filter((name) => name !== 'HEX_API_URL').join(', ');
    const api = apiUrlOf(ctx.mirrorUrl);
    problems.push(
      `your login shell is ${login}, which setup does not know: set ${repository} to ${ctx.mirrorUrl}${api ? ` and HEX_API_URL to ${api}` : ''} in its startup file yourself`,
    );
  }
  const changes: PlannedChange[] = [];
  const seen = new Set<string>();
  const consider = async (path: string, why: string, part: string, edit: (before: string) => PartEdit) => {
    try {
      const location = await locate(path);
      // Two managed paths linked to one file: the first one's block serves both, and
      // planning the file twice would have the second write undo the first.
      if (seen.has(location.identity)) return;
      seen.add(location.identity);
      const before = await readText(location.file);
      const result = edit(before ?? '');
      if (result.text !== before) changes.push({ ...location, path, why, part, before, after: result.text, edit: result });
    } catch (error) {
      problems.push(error instanceof ProfileError || error instanceof LinkProblem ? error.message : `${path}: ${messageOf(error)}`);
    }
  };
  await consider(hexConfigPath(ctx.env, home), HEX_CONFIG_WHY, 'mirror_url and api_url entries', (text) =>
    withMirror(text, ctx.mirrorUrl, apiUrlOf(ctx.mirrorUrl)),
  );
  for (const target of profileTargets(ctx.env, shells(ctx), existsSync, home)) {
    await consider(target.path, target.why, 'HexHub block', (text) => withBlock(text, target, ctx.mirrorUrl));
  }
  for (const change of changes) {
    const problem = await unwritable(change);
    if (problem) problems.push(problem);
  }
  if (problems.length) throw new SetupError(problems);
  return changes;
}

/** The file changes setup would make; problems that forbid applying any of them throw. */
export async function planSetup(ctx: SetupContext): Promise<SetupChange[]> {
  return (await planChanges(ctx)).map(shown);
}

async function canWrite(path: string): Promise<boolean> {
  try {
    await access(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

async function unwritable(change: PlannedChange): Promise<string | undefined> {
  const name = change.link ? `${change.file} (where ${change.path} links to)` : change.path;
  if (change.before !== null) {
    if (!(await canWrite(change.file))) return `${name} is not writable`;
    // The new text goes to a temporary file beside it, renamed over it.
    const dir = dirname(change.file);
    return (await canWrite(dir)) ? undefined : `${dir} is not writable (needed to replace ${name})`;
  }
  // A new file: the nearest existing folder must be writable.
  let dir = dirname(change.file);
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  return (await canWrite(dir)) ? undefined : `${dir} is not writable (needed for ${change.path})`;
}

interface BackedUpFile {
  path: string;
  /** The file written: the link's final target when `path` was a symbolic link. Absent in manifests of older versions: `path`. */
  file?: string;
  link?: boolean;
  backup: string | null;
  mode: number | null;
  afterSha256: string;
}

interface Manifest {
  createdAt: string;
  mirrorUrl: string;
  files: BackedUpFile[];
}

function backupsDir(dataDir: string): string {
  return join(dataDir, 'setup-backups');
}

async function privateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}

/** Backups hold copies of files with tokens in them; older versions left them readable by everyone. */
async function tightenBackups(root: string): Promise<void> {
  if (!existsSync(root)) return;
  await chmod(root, 0o700);
  for (const run of await readdir(root, { withFileTypes: true })) {
    if (!run.isDirectory()) continue;
    const dir = join(root, run.name);
    await chmod(dir, 0o700);
    if (existsSync(join(dir, 'manifest.json'))) await chmod(join(dir, 'manifest.json'), 0o600);
    if (!existsSync(join(dir, 'files'))) continue;
    await chmod(join(dir, 'files'), 0o700);
    for (const copy of await readdir(join(dir, 'files'))) await chmod(join(dir, 'files', copy), 0o600);
  }
}

/**
 * Replaces a file through a temporary file beside it and a rename, so it is never left
 * half-written. `file` is a link's final target, never the link: renaming over a link
 * would replace the link itself with a regular file.
 */
async function replaceFile(file: string, data: string | Buffer, mode: number | null, encoding?: BufferEncoding): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const temp = `${file}.hexhub-${process.pid}.tmp`;
  // Owner-only until it has the old file's mode: it holds that file's secrets.
  await writeFile(temp, data, { ...(encoding ? { encoding } : {}), mode: mode === null ? 0o666 : 0o600 });
  if (mode !== null) await chmod(temp, mode);
  await rename(temp, file);
}

/** Copies every file about to change into a new backup folder, with a manifest for undo. */
async function backUp(ctx: SetupContext, changes: PlannedChange[]): Promise<{ dir: string; files: BackedUpFile[] }> {
  const root = backupsDir(ctx.dataDir);
  await tightenBackups(root);
  const dir = join(root, new Date().toISOString().replace(/[:.]/g, '-'));
  for (const folder of [root, dir, join(dir, 'files')]) await privateDir(folder);
  const manifest: Manifest = { createdAt: new Date().toISOString(), mirrorUrl: ctx.mirrorUrl, files: [] };
  for (const [i, change] of changes.entries()) {
    const backup = change.before === null ? null : `files/${i}`;
    if (backup) await writeFile(join(dir, backup), await readFile(change.file), { mode: 0o600, flag: 'wx' });
    manifest.files.push({ path: change.path, file: change.file, link: change.link, backup, mode: change.mode, afterSha256: sha256(change.after) });
  }
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2), { mode: 0o600, flag: 'wx' });
  return { dir, files: manifest.files };
}

/** Applies the plan: backs every file up, then writes all of them or none. */
export async function applySetup(ctx: SetupContext): Promise<{ changes: SetupChange[]; backup: string | null }> {
  const changes = await planChanges(ctx);
  if (changes.length === 0) return { changes: [], backup: null };
  const { dir, files } = await backUp(ctx, changes);
  const written: BackedUpFile[] = [];
  try {
    for (const [i, change] of changes.entries()) {
      await replaceFile(change.file, change.after, change.mode, await encodingOf(change.file));
      written.push(files[i]!);
    }
  } catch (error) {
    await restore(dir, written);
    await rm(dir, { recursive: true, force: true });
    throw new SetupError([`could not write ${changes[written.length]!.path}: ${messageOf(error)}; nothing was changed`]);
  }
  return { changes: changes.map(shown), backup: dir };
}

async function restore(dir: string, files: BackedUpFile[]): Promise<void> {
  for (const file of files) {
    if (file.backup === null) await rm(file.path, { force: true });
    else await replaceFile(file.file ?? file.path, await readFile(join(dir, file.backup)), file.mode);
  }
}

/** Why a file cannot be put back: it changed since setup, or its link now points elsewhere. */
async function changedSince(file: BackedUpFile, dir: string): Promise<string | undefined> {
  const byHand = `restore it from ${join(dir, file.backup ?? '')} by hand if you want`;
  let now: Location;
  try {
    now = await locate(file.path);
  } catch (error) {
    if (error instanceof LinkProblem) return `${error.what}; ${byHand}`;
    throw error;
  }
  const target = file.file ?? file.path;
  if (file.link && (!now.link || now.file !== target)) return `${file.path} is no longer a symbolic link to ${target}; ${byHand}`;
  if (!file.link && now.link) return `${file.path} was replaced by a symbolic link since setup; ${byHand}`;
  const text = await readText(target);
  if (text === null || sha256(text) !== file.afterSha256) return `${file.path} changed since setup; ${byHand}`;
  return undefined;
}

/** Puts back the files as they were before the last setup, unless they changed since. */
export async function undoSetup(ctx: SetupContext): Promise<{ restored: string[]; backup: string }> {
  const root = backupsDir(ctx.dataDir);
  const runs = existsSync(root) ? (await readdir(root)).filter((name) => !name.endsWith('-undone')).sort() : [];
  const last = runs.at(-1);
  if (!last) throw new SetupError(['there is no setup to undo']);
  await tightenBackups(root);
  const dir = join(root, last);
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  const problems: string[] = [];
  for (const file of manifest.files) {
    const problem = await changedSince(file, dir);
    if (problem) problems.push(problem);
  }
  if (problems.length) throw new SetupError(problems);
  await restore(dir, manifest.files);
  await rename(dir, `${dir}-undone`);
  return { restored: manifest.files.map((f) => f.path), backup: dir };
}
