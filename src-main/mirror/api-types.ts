// The two content types of hex.pm's API and the upstream headers an API answer keeps.
// hex_core decodes a body only when the Content-Type names the type it asked for, and prints
// x-hex-message; an upstream's header values are checked before they reach a client.
import type { IncomingHttpHeaders } from 'node:http';
import type { CacheEntry } from '../store/cache-index.js';

export const API_TYPES = { erlang: 'application/vnd.hex+erlang', json: 'application/json' } as const;
export type ApiVariant = keyof typeof API_TYPES;

/** The variant a client asked for: Hex and rebar3 send `Accept: application/vnd.hex+erlang`, browsers and scripts JSON. */
export function variantOf(accept: string | string[] | undefined): ApiVariant {
  return String(accept ?? '').includes(API_TYPES.erlang) ? 'erlang' : 'json';
}

/** A single header's value, if it is one (not repeated) and printable ASCII of a sane length. */
export function headerValue(value: string | string[] | undefined, max = 1024): string | undefined {
  return typeof value === 'string' && value.length > 0 && value.length <= max && /^[\x20-\x7e]+$/.test(value) ? value : undefined;
}

/** `application/json` or `application/json; charset=utf-8`, not `text/html; application/json`. */
export function isApiType(contentType: string | undefined, type: string): boolean {
  if (contentType === undefined) return false;
  const [base] = contentType.split(';', 1);
  return base!.trim().toLowerCase() === type;
}

/** What of an upstream API answer is kept with the stored copy and sent with it. */
export function keptApiHeaders(headers: IncomingHttpHeaders, type: string): Pick<CacheEntry, 'contentType' | 'lastModified' | 'hexMessage'> {
  const contentType = headerValue(headers['content-type'], 200);
  const lastModified = headerValue(headers['last-modified'], 100);
  const hexMessage = headerValue(headers['x-hex-message']);
  return {
    contentType: contentType !== undefined && isApiType(contentType, type) ? contentType : type,
    ...(lastModified !== undefined ? { lastModified } : {}),
    ...(hexMessage !== undefined ? { hexMessage } : {}),
  };
}

/** The stored copy's kept headers, as response headers. */
export function storedApiHeaders(entry: CacheEntry): Record<string, string> {
  return {
    ...(entry.lastModified !== undefined ? { 'last-modified': entry.lastModified } : {}),
    ...(entry.hexMessage !== undefined ? { 'x-hex-message': entry.hexMessage } : {}),
  };
}

/** Headers of an upstream API answer that a client acts on, passed back when the answer is. */
const ANSWER_HEADERS = ['content-type', 'last-modified', 'x-hex-message', 'retry-after', 'www-authenticate'];

export function apiAnswerHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!ANSWER_HEADERS.includes(name) && !name.startsWith('x-ratelimit-')) continue;
    const safe = headerValue(value);
    if (safe !== undefined) out[name] = safe;
  }
  return out;
}
