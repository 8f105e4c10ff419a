// Hex's own config file ($HEX_HOME/hex.config, default ~/.hex/hex.config): Erlang terms,
// one `{key, Value}.` per entry, as `mix hex.config KEY VALUE` writes them (hexpm/hex
// lib/hex/config.ex). Entries are handled as text so every other entry (including the
// `'$repos'` map, which the term parser here does not read) stays byte for byte as it was.
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { PartEdit } from './part-edit.js';

export function hexConfigPath(env: Record<string, string | undefined>, home = homedir()): string {
  if (env.HEX_HOME) return join(env.HEX_HOME, 'hex.config');
  if (env.MIX_XDG && env.MIX_XDG !== '0' && env.MIX_XDG !== 'false') {
    return join(env.XDG_CONFIG_HOME ?? join(home, '.config'), 'hex', 'hex.config');
  }
  return join(home, '.hex', 'hex.config');
}

interface TermSpan {
  text: string;
  start: number;
  /** Just past the terminating dot. */
  end: number;
}

/**
 * Splits Erlang source into top-level terms, each ending with a dot at nesting depth 0
 * followed by white space, a comment or the end. Strings, quoted atoms, char literals and
 * comments are skipped so a dot or bracket inside them does not count.
 */
export function splitTerms(source: string): TermSpan[] {
  const spans: TermSpan[] = [];
  let depth = 0;
  let start = -1;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i]!;
    if (ch === '%') {
      while (i < source.length && source[i] !== '\n') i++;
      continue;
    }
    if (start < 0 && /\s/.test(ch)) continue;
    if (start < 0) start = i;
    if (ch === '"' || ch === "'") {
      for (i++; i < source.length && source[i] !== ch; i++) if (source[i] === '\\') i++;
      continue;
    }
    if (ch === '$') {
      i += source[i + 1] === '\\' ? 2 : 1;
      continue;
    }
    if (ch === '{' || ch === '[' || ch === '(') depth++;
    else if (ch === '}' || ch === ']' || ch === ')') depth--;
    else if (ch === '.' && depth === 0 && (i + 1 >= source.length || /[\s%]/.test(source[i + 1]!))) {
      spans.push({ text: source.slice(start, i + 1), start, end: i + 1 });
      start = -1;
    }
  }
  if (start >= 0 && source.slice(start).trim()) throw new Error('hex.config ends in the middle of a term (no closing ".")');
  if (depth !== 0) throw new Error('hex.config has unbalanced brackets');
  return spans;
}

/** The entries setup manages: where mix fetches packages from, and where it sends API calls. */
export type HexConfigKey = 'mirror_url' | 'api_url';

function termOf(key: HexConfigKey): RegExp {
  return new RegExp(`^\\{\\s*'?${key}'?\\s*,`);
}

/** An entry's value, if set (a binary `<<"…">>` or a string). */
export function readEntry(source: string, key: HexConfigKey): string | undefined {
  for (const span of splitTerms(source)) {
    if (!termOf(key).test(span.text)) continue;
    const match = /,\s*(?:<<\s*"((?:[^"\\]|\\.)*)"\s*>>|"((?:[^"\\]|\\.)*)")\s*\}\s*\.$/.exec(span.text);
    return match ? (match[1] ?? match[2]) : undefined;
  }
  return undefined;
}

export function readMirrorUrl(source: string): string | undefined {
  return readEntry(source, 'mirror_url');
}

function erlangBinary(text: string): string {
  return `<<"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}">>`;
}

/**
 * The file with each entry set to its value: an existing entry replaced in place, a missing one
 * appended. The part shown is the entries alone, as they were (null if none was there) and will be.
 */
export function withEntries(source: string, values: [HexConfigKey, string][]): PartEdit {
  let text = source;
  const before: string[] = [];
  const after: string[] = [];
  for (const [key, value] of values) {
    const entry = `{${key},${erlangBinary(value)}}.`;
    const existing = splitTerms(text).find((span) => termOf(key).test(span.text));
    after.push(entry);
    if (existing) {
      before.push(existing.text);
      text = text.slice(0, existing.start) + entry + text.slice(existing.end);
    } else {
      const separator = text.length === 0 || text.endsWith('\n') ? '' : '\n';
      text = `${text}${separator}${entry}\n`;
    }
  }
  return { text, partBefore: before.length ? before.join('\n') : null, partAfter: after.join('\n') };
}

/** Hex pointed at the mirror: packages from it (mirror_url) and API calls through it (api_url). */
export function withMirror(source: string, mirrorUrl: string, apiUrl: string | undefined): PartEdit {
  return withEntries(source, [['mirror_url', mirrorUrl], ...(apiUrl === undefined ? [] : [['api_url', apiUrl] as [HexConfigKey, string]])]);
}
