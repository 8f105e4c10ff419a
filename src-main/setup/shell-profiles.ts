// The export block for HEX_MIRROR, HEX_BUILDS_URL, HEX_CDN and HEX_API_URL in shell startup
// files, in each shell's own syntax, between markers. Where it goes, so that interactive shells and
// login sessions (what an IDE started from the desktop inherits) both see the variables:
// - ~/.profile: read by login shells and by most desktop sessions (POSIX sh syntax);
// - bash: ~/.bashrc for interactive shells, at the very top, because Debian's and Ubuntu's
//   default .bashrc returns early when the shell is not interactive; and ~/.bash_profile or
//   ~/.bash_login when one exists, since bash then reads it instead of ~/.profile;
// - zsh: $ZDOTDIR/.zshenv, which every zsh reads;
// - fish: ~/.config/fish/conf.d/hexhub.fish, which every fish reads.
import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import type { PartEdit } from './part-edit.js';

export const VARIABLES = ['HEX_MIRROR', 'HEX_BUILDS_URL', 'HEX_CDN', 'HEX_API_URL'] as const;
export type Variable = (typeof VARIABLES)[number];

/**
 * The mirror's hex.pm API (api-routes.ts), for HEX_API_URL and hex.config's api_url; undefined
 * where API calls must not go through it. Hex sends the user's API key with them, so a mirror
 * reached over plain http across the network (a team server) does not get them: only one on
 * this machine (loopback) or behind https.
 */
export function apiUrlOf(mirrorUrl: string): string | undefined {
  const { protocol, hostname } = new URL(mirrorUrl);
  const local = hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
  return protocol === 'https:' || local ? `${mirrorUrl.replace(/\/+$/, '')}/api` : undefined;
}

/** What each variable is set to: the repository's URL, except for the API's (and none where apiUrlOf says so). */
export function variableValue(name: Variable, mirrorUrl: string): string | undefined {
  return name === 'HEX_API_URL' ? apiUrlOf(mirrorUrl) : mirrorUrl;
}
export type Syntax = 'posix' | 'fish';
export type ShellName = 'bash' | 'zsh' | 'fish' | 'sh';

const BEGIN = '# >>> hexhub >>>';
const END = '# <<< hexhub <<<';

export interface ProfileTarget {
  path: string;
  syntax: Syntax;
  /** Where a new block goes: the top of the file (before any early return) or the end. */
  place: 'top' | 'end';
  why: string;
}

export function shellOf(env: Record<string, string | undefined>): string | undefined {
  return env.SHELL ? basename(env.SHELL) : undefined;
}

/** The files to write for the shells in use. */
export function profileTargets(
  env: Record<string, string | undefined>,
  shells: Set<ShellName>,
  exists: (path: string) => boolean,
  home = homedir(),
): ProfileTarget[] {
  const targets: ProfileTarget[] = [{ path: join(home, '.profile'), syntax: 'posix', place: 'end', why: 'login shells and desktop sessions' }];
  if (shells.has('bash')) {
    targets.push({ path: join(home, '.bashrc'), syntax: 'posix', place: 'top', why: 'interactive bash (before any early return)' });
    const login = ['.bash_profile', '.bash_login'].map((f) => join(home, f)).find(exists);
    if (login) targets.push({ path: login, syntax: 'posix', place: 'end', why: 'bash login shells (read instead of ~/.profile)' });
  }
  if (shells.has('zsh')) targets.push({ path: join(env.ZDOTDIR ?? home, '.zshenv'), syntax: 'posix', place: 'end', why: 'every zsh' });
  if (shells.has('fish')) {
    targets.push({
      path: join(env.XDG_CONFIG_HOME ?? join(home, '.config'), 'fish', 'conf.d', 'hexhub.fish'),
      syntax: 'fish',
      place: 'end',
      why: 'every fish',
    });
  }
  return targets;
}

function quote(value: string, syntax: Syntax): string {
  // Single quotes need no escaping in either syntax except for the quote itself.
  return syntax === 'fish' ? `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'` : `'${value.replace(/'/g, `'\\''`)}'`;
}

function body(url: string, syntax: Syntax): string {
  return VARIABLES.flatMap((name) => {
    const given = variableValue(name, url);
    if (given === undefined) return [];
    const value = quote(given, syntax);
    return [syntax === 'fish' ? `set -gx ${name} ${value}` : `export ${name}=${value}`];
  }).join('\n');
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

export function renderBlock(url: string, syntax: Syntax): string {
  const text = body(url, syntax);
  return `${BEGIN} managed by \`hexhub setup\`; undo with \`hexhub setup --undo\` (${digest(text)})\n${text}\n${END}\n`;
}

export class ProfileError extends Error {}

interface FoundBlock {
  start: number;
  end: number;
  edited: boolean;
}

/** Our block in a file, and whether someone edited inside it since we wrote it. */
export function findBlock(source: string, path: string): FoundBlock | undefined {
  const start = source.indexOf(BEGIN);
  if (start < 0) return undefined;
  const endMarker = source.indexOf(END, start);
  if (endMarker < 0) throw new ProfileError(`${path}: the HexHub block has no end marker ("${END}"); fix or remove it by hand`);
  if (source.indexOf(BEGIN, start + BEGIN.length) >= 0) throw new ProfileError(`${path}: more than one HexHub block; remove the extra ones by hand`);
  const lineEnd = source.indexOf('\n', start);
  const header = source.slice(start, lineEnd);
  const inner = source.slice(lineEnd + 1, endMarker).replace(/\n$/, '');
  const recorded = /\(([0-9a-f]{12})\)\s*$/.exec(header)?.[1];
  let end = endMarker + END.length;
  if (source[end] === '\n') end++;
  return { start, end, edited: recorded !== digest(inner) };
}

/** The file with our block set for `url`: replaced in place if present, else added where the target says. */
export function withBlock(source: string, target: ProfileTarget, url: string): PartEdit {
  const block = renderBlock(url, target.syntax);
  const found = findBlock(source, target.path);
  if (found?.edited) throw new ProfileError(`${target.path}: the HexHub block was edited by hand; undo the edit or remove the block, then run setup again`);
  if (found)
    return { text: source.slice(0, found.start) + block + source.slice(found.end), partBefore: source.slice(found.start, found.end), partAfter: block };
  return { text: withNewBlock(source, block, target.place), partBefore: null, partAfter: block };
}

function withNewBlock(source: string, block: string, place: ProfileTarget['place']): string {
  if (place === 'top') {
    // After a shebang line, if any.
    const shebang = source.startsWith('#!') ? source.indexOf('\n') + 1 : 0;
    return source.slice(0, shebang) + block + (source.length > shebang ? '\n' : '') + source.slice(shebang);
  }
  const separator = source.length === 0 ? '' : source.endsWith('\n') ? '\n' : '\n\n';
  return `${source}${separator}${block}`;
}

/** The URL our block in this file sets, if there is a block. */
export function blockUrl(source: string): string | undefined {
  const match = /# >>> hexhub >>>[^\n]*\n(?:export HEX_MIRROR=|set -gx HEX_MIRROR )'((?:[^'\\]|\\.|'\\'')*)'/.exec(source);
  return match?.[1]?.replace(/'\\''/g, "'").replace(/\\(.)/g, '$1');
}
