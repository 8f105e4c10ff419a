// Browser sign-in for the dashboard, the Jupyter pattern: a one-time login link (printed by
// `hexhub serve`, minted for `hexhub dashboard`, opened by the desktop window) is exchanged
// for an HttpOnly, SameSite=Strict session cookie. The page itself never holds the token, so
// a local user or a web page that can reach the port cannot read it out of the HTML.
//
// Sessions are stateless: the cookie carries its expiry and a MAC keyed from the data dir's
// token, so they survive a restart of the mirror and all end when the token is replaced.
//
// A cookie alone does not open the control API. Browsers send cookies to every port of a
// host, so a page that another local user serves on 127.0.0.1:OTHER could collect it. The API
// also wants the session's page secret (x-hexhub-session), derived from the cookie with the
// key, handed to the dashboard once in the URL fragment after sign-in (never sent to a server)
// and kept in the origin's own storage, which other ports cannot read.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { parse, serialize } from 'cookie';

/** A login link is good for one use within this time. */
export const LOGIN_CODE_TTL_MS = 15 * 60 * 1000;
/** A signed-in browser stays signed in this long. */
export const SESSION_TTL_MS = 7 * 24 * 3600 * 1000;
/** Unused links kept at most; older ones are dropped, so minting cannot exhaust memory. */
const MAX_PENDING_CODES = 64;

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class DashboardSessions {
  private readonly key: Buffer;
  private readonly codes = new Map<string, number>();

  constructor(
    token: string,
    /** The listening port: cookies are per host, not per port, so the name and MAC carry it. */
    private readonly port: () => number,
    private readonly now: () => number = Date.now,
  ) {
    this.key = createHmac('sha256', token).update('hexhub dashboard sessions').digest();
  }

  /** Cookie name, per port, so two mirrors on one host do not overwrite each other's session. */
  get cookieName(): string {
    return `hexhub-session-${this.port()}`;
  }

  mintCode(): { code: string; expiresAt: number } {
    const now = this.now();
    for (const [code, expiresAt] of this.codes) if (expiresAt <= now) this.codes.delete(code);
    while (this.codes.size >= MAX_PENDING_CODES) this.codes.delete(this.codes.keys().next().value!);
    const code = randomBytes(32).toString('base64url');
    const expiresAt = now + LOGIN_CODE_TTL_MS;
    this.codes.set(code, expiresAt);
    return { code, expiresAt };
  }

  /**
   * Spends a login code: the Set-Cookie header value of a new session and its page secret, or
   * undefined for an unknown, used or expired code.
   */
  redeem(code: string): { setCookie: string; secret: string } | undefined {
    const expiresAt = this.codes.get(code);
    if (expiresAt === undefined) return undefined;
    this.codes.delete(code);
    if (expiresAt <= this.now()) return undefined;
    const expires = this.now() + SESSION_TTL_MS;
    const nonce = randomBytes(16).toString('base64url');
    const setCookie = serialize(this.cookieName, `${expires}.${nonce}.${this.mac('cookie', expires, nonce)}`, {
      httpOnly: true,
      sameSite: 'strict',
      path: '/',
      maxAge: Math.floor(SESSION_TTL_MS / 1000),
    });
    return { setCookie, secret: this.mac('page', expires, nonce) };
  }

  /** Whether a request's Cookie header carries a live session of this mirror (enough for the page itself). */
  valid(cookieHeader: string | undefined): boolean {
    return this.session(cookieHeader) !== undefined;
  }

  /** Whether a request carries a live session and that session's page secret (what the control API wants). */
  validWithSecret(cookieHeader: string | undefined, secret: string | undefined): boolean {
    const session = this.session(cookieHeader);
    return session !== undefined && typeof secret === 'string' && sameText(secret, this.mac('page', session.expires, session.nonce));
  }

  private session(cookieHeader: string | undefined): { expires: number; nonce: string } | undefined {
    if (!cookieHeader) return undefined;
    const value = parse(cookieHeader)[this.cookieName];
    const [expires, nonce, mac, extra] = value?.split('.') ?? [];
    if (!expires || !nonce || !mac || extra !== undefined || !/^\d+$/.test(expires)) return undefined;
    if (Number(expires) <= this.now() || !sameText(mac, this.mac('cookie', Number(expires), nonce))) return undefined;
    return { expires: Number(expires), nonce };
  }

  private mac(use: 'cookie' | 'page', expires: number, nonce: string): string {
    return createHmac('sha256', this.key).update(`${use}.${this.port()}.${expires}.${nonce}`).digest('base64url');
  }
}
