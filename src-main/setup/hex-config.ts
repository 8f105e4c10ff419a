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

const MIRROR_TERM = /^\{\s*'?mirror_url'?\s*,/;

/** The mirror_url entry's value, if set (a binary `<<"…">>` or a string). */
export function readMirrorUrl(source: string): string | undefined {
  for (const span of splitTerms(source)) {
    if (!MIRROR_TERM.test(span.text)) continue;
    const match = /,\s*(?:<<\s*"((?:[^"\\]|\\.)*)"\s*>>|"((?:[^"\\]|\\.)*)")\s*\}\s*\.$/.exec(span.text);
    return match ? (match[1] ?? match[2]) : undefined;
  }
  return undefined;
}

function erlangBinary(text: string): string {
  return `<<"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}">>`;
}

/** The file with mirror_url set to `url` (replacing an existing entry in place, else appended). */
export function withMirrorUrl(source: string, url: string): PartEdit {
  const entry = `{mirror_url,${erlangBinary(url)}}.`;
  const existing = splitTerms(source).find((span) => MIRROR_TERM.test(span.text));
  if (existing) return { text: source.slice(0, existing.start) + entry + source.slice(existing.end), partBefore: existing.text, partAfter: entry };
  const separator = source.length === 0 || source.endsWith('\n') ? '' : '\n';
  return { text: `${source}${separator}${entry}\n`, partBefore: null, partAfter: entry };
}
