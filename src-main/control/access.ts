// Who may drive the control API. The mirror listens on loopback, but any web page the
// user opens can send requests to localhost, so every control call needs the access token
// (kept in the data dir, readable by the owner only), a Host header naming this server
// (a DNS-rebinding page carries its own host name) and no foreign Origin. No CORS headers
// are ever sent, so browsers keep foreign pages from reading answers.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { TOKEN_HEADER, TOKEN_QUERY } from '../../src-shared/contract.js';
import { HttpError } from '../server/http-error.js';

export function tokenPath(dataDir: string): string {
  return join(dataDir, 'token');
}

/** Reads the token, creating it (owner-only) on first start. */
export async function loadOrCreateToken(dataDir: string): Promise<string> {
  const path = tokenPath(dataDir);
  try {
    const token = (await readFile(path, 'utf8')).trim();
    if (token.length >= 32) {
      await chmod(path, 0o600);
      return token;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const token = randomBytes(32).toString('base64url');
  await writeFile(path, `${token}\n`, { mode: 0o600 });
  await chmod(path, 0o600);
  return token;
}

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

/** Host header values that name this server. */
export function allowedHosts(listenHost: string, port: number): Set<string> {
  const names = new Set(LOOPBACK_NAMES);
  if (listenHost !== '0.0.0.0' && listenHost !== '::') names.add(listenHost.includes(':') ? `[${listenHost}]` : listenHost);
  return new Set([...names].map((name) => `${name}:${port}`));
}

function sameToken(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export class AccessGuard {
  constructor(
    private readonly token: string,
    private readonly hosts: () => Set<string>,
  ) {}

  /** Host and Origin checks, for every control and dashboard request. */
  checkOrigin(req: IncomingMessage): void {
    const host = (req.headers.host ?? '').toLowerCase();
    if (!this.hosts().has(host)) throw new HttpError(403, `Host "${host}" is not this server; use http://127.0.0.1`);
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== 'null' && !this.hosts().has(origin.replace(/^http:\/\//, '').toLowerCase())) {
      throw new HttpError(403, `requests from ${origin} are not allowed`);
    }
    if (origin === 'null' || req.headers['sec-fetch-site'] === 'cross-site') throw new HttpError(403, 'cross-site requests are not allowed');
  }

  /** Token check; `allowQuery` for the event stream, which browsers open without headers. */
  checkToken(req: IncomingMessage, allowQuery = false): void {
    let given = req.headers[TOKEN_HEADER];
    if (given === undefined && allowQuery) {
      given = new URL(req.url ?? '/', 'http://localhost').searchParams.get(TOKEN_QUERY) ?? undefined;
    }
    if (typeof given !== 'string' || !sameToken(given, this.token)) {
      throw new HttpError(401, `missing or wrong access token (header ${TOKEN_HEADER}; the token is in the data dir's "token" file)`);
    }
  }
}
