// Who may drive the control API and see the dashboard. Any local user and any web page the
// user opens can send requests to the mirror's port, and on a team server so can the whole
// network. So every control and dashboard request must:
// - come from a loopback peer (the socket's address, never a header), also on a wildcard
//   listener, where remote clients are for the Hex routes only;
// - carry a Host naming this server (a DNS-rebinding page carries its own host name) and no
//   foreign Origin or cross-site fetch metadata;
// - prove who it is: the access token (kept in the data dir, readable by its owner only) or a
//   dashboard session that a one-time login link handed out: its cookie and, for the API, its
//   page secret (control/sessions.ts).
// No CORS headers are ever sent, so browsers keep foreign pages from reading answers.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { BlockList, isIPv6 } from 'node:net';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { SESSION_HEADER, TOKEN_HEADER } from '../../src-shared/contract.js';
import { isWildcardHost } from '../config/mirror-url.js';
import { Problem } from '../core/problem.js';
import type { DashboardSessions } from './sessions.js';

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

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** Whether a socket's remote address is this machine's loopback (IPv4-mapped forms included). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address)?.[1];
  if (mapped) return LOOPBACK.check(mapped, 'ipv4');
  try {
    return LOOPBACK.check(address, isIPv6(address) ? 'ipv6' : 'ipv4');
  } catch {
    return false;
  }
}

/** Whether the listen address only takes connections from this machine. */
export function isLoopbackListener(listenHost: string): boolean {
  return listenHost === 'localhost' || isLoopbackAddress(listenHost);
}

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

/** Host header values that name this server. */
export function allowedHosts(listenHost: string, port: number): Set<string> {
  const names = new Set(LOOPBACK_NAMES);
  if (!isWildcardHost(listenHost)) names.add(listenHost.includes(':') ? `[${listenHost}]` : listenHost);
  return new Set([...names].map((name) => `${name}:${port}`));
}

/**
 * What a server on this data dir answers to a CLI's challenge: proof that it knows the token,
 * bound to the port it listens on, so a process that took over a dead server's port cannot
 * relay the challenge to another HexHub and pass. The CLI sends the token only after checking it.
 */
export function serverProof(token: string, port: number, nonce: string): string {
  return createHmac('sha256', token).update(`hexhub server proof\n${port}\n${nonce}`).digest('hex');
}

function sameText(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function sameProof(given: unknown, expected: string): boolean {
  return typeof given === 'string' && sameText(given, expected);
}

/**
 * Why a request to the Hex routes looks like a web page's, or undefined. Hex and rebar3 send
 * neither Origin nor fetch metadata; a browser's cross-site request (a page making the mirror
 * download and keep packages, or timing the cache) carries one or the other.
 */
export function crossSiteReason(req: IncomingMessage): string | undefined {
  const site = req.headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') return `${site} requests from web pages are not served`;
  const origin = req.headers.origin;
  if (origin !== undefined && (origin === 'null' || origin.replace(/^https?:\/\//, '').toLowerCase() !== (req.headers.host ?? '').toLowerCase())) {
    return `requests from ${origin.slice(0, 100)} are not served`;
  }
  return undefined;
}

export class AccessGuard {
  constructor(
    private readonly token: string,
    private readonly hosts: () => Set<string>,
    private readonly sessions: DashboardSessions,
  ) {}

  /** Loopback peers only, whatever the listen address. */
  checkPeer(req: IncomingMessage): void {
    if (!isLoopbackAddress(req.socket.remoteAddress))
      throw new Problem('forbidden', 'the control API and dashboard answer only on this machine (a loopback address)');
  }

  /** A Host naming this server: a page reached through a rebinding name has its own. */
  checkHost(req: IncomingMessage): void {
    const host = (req.headers.host ?? '').toLowerCase();
    if (!this.hosts().has(host)) throw new Problem('forbidden', `Host "${host.slice(0, 100)}" is not this server; use http://127.0.0.1`);
  }

  /** Peer, Host and Origin checks, for every control and dashboard request. */
  checkOrigin(req: IncomingMessage): void {
    this.checkPeer(req);
    this.checkHost(req);
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== 'null' && !this.hosts().has(origin.replace(/^http:\/\//, '').toLowerCase())) {
      throw new Problem('forbidden', `requests from ${origin.slice(0, 100)} are not allowed`);
    }
    if (origin === 'null' || req.headers['sec-fetch-site'] === 'cross-site' || req.headers['sec-fetch-site'] === 'same-site') {
      throw new Problem('forbidden', 'cross-site requests are not allowed');
    }
  }

  hasToken(req: IncomingMessage): boolean {
    const given = req.headers[TOKEN_HEADER];
    return typeof given === 'string' && sameText(given, this.token);
  }

  /** A live session cookie: enough for the dashboard page, which holds nothing secret. */
  hasSession(req: IncomingMessage): boolean {
    return this.sessions.valid(req.headers.cookie);
  }

  /** The token (CLI, desktop app), or a dashboard session cookie with its page secret (browser). */
  checkAuth(req: IncomingMessage): void {
    const secret = req.headers[SESSION_HEADER];
    if (this.hasToken(req) || this.sessions.validWithSecret(req.headers.cookie, typeof secret === 'string' ? secret : undefined)) return;
    throw new Problem(
      'unauthorized',
      `missing or wrong access token (header ${TOKEN_HEADER}; the token is in the data dir's "token" file), and no dashboard session (run \`hexhub dashboard\` for a sign-in link)`,
    );
  }
}
