// Dashboard sign-in: one-time login codes and the session cookies they are exchanged for,
// with a clock the test moves.
import { parse } from 'cookie';
import { describe, expect, it } from 'vitest';
import { DashboardSessions, LOGIN_CODE_TTL_MS, SESSION_TTL_MS } from '../../src-main/server/sessions.js';
import { isLoopbackAddress } from '../../src-main/server/access.js';

function sessions(token = 't'.repeat(43), port = 4000) {
  let now = 1_000_000;
  const s = new DashboardSessions(
    token,
    () => port,
    () => now,
  );
  return { s, advance: (ms: number) => (now += ms) };
}

const cookieOf = (setCookie: string) => setCookie.split(';')[0]!;

describe('dashboard sessions', () => {
  it('exchanges a code once for a session cookie that the same mirror accepts until it expires', () => {
    const { s, advance } = sessions();
    const { code, expiresAt } = s.mintCode();
    expect(expiresAt).toBe(1_000_000 + LOGIN_CODE_TTL_MS);
    const { setCookie, secret } = s.redeem(code)!;
    expect(secret).toMatch(/^[\w-]{43}$/);
    expect(setCookie).toMatch(/^hexhub-session-4000=\d+\.[\w-]+\.[\w-]+; Max-Age=604800; Path=\/; HttpOnly; SameSite=Strict$/);
    expect(s.redeem(code)).toBeUndefined();
    const cookie = cookieOf(setCookie);
    expect(s.valid(cookie)).toBe(true);
    expect(s.valid(`other=1; ${cookie}`)).toBe(true);
    // The API wants the page secret too, and only this session's.
    expect(s.validWithSecret(cookie, secret)).toBe(true);
    expect(s.validWithSecret(cookie, undefined)).toBe(false);
    expect(s.validWithSecret(cookie, s.redeem(s.mintCode().code)!.secret)).toBe(false);
    expect(s.validWithSecret(undefined, secret)).toBe(false);
    advance(SESSION_TTL_MS - 1);
    expect(s.validWithSecret(cookie, secret)).toBe(true);
    advance(1);
    expect(s.valid(cookie)).toBe(false);
    expect(s.validWithSecret(cookie, secret)).toBe(false);
  });

  it('refuses expired codes, and cookies that were altered, made with another token or for another port', () => {
    const { s, advance } = sessions();
    const late = s.mintCode().code;
    advance(LOGIN_CODE_TTL_MS);
    expect(s.redeem(late)).toBeUndefined();
    const cookie = cookieOf(s.redeem(s.mintCode().code)!.setCookie);
    const value = parse(cookie)['hexhub-session-4000']!;
    const [expires, nonce, mac] = value.split('.');
    expect(s.valid(`hexhub-session-4000=${Number(expires) + 1000}.${nonce}.${mac}`)).toBe(false);
    expect(s.valid(`hexhub-session-4000=${expires}.${nonce}x.${mac}`)).toBe(false);
    expect(s.valid(`hexhub-session-4000=${value}.extra`)).toBe(false);
    expect(s.valid('hexhub-session-4000=')).toBe(false);
    expect(s.valid(undefined)).toBe(false);
    expect(sessions('u'.repeat(43)).s.valid(cookie)).toBe(false);
    expect(sessions(undefined, 4001).s.valid(`hexhub-session-4001=${value}`)).toBe(false);
  });

  it('keeps at most 64 unused codes, dropping the oldest', () => {
    const { s } = sessions();
    const first = s.mintCode().code;
    for (let i = 0; i < 64; i++) s.mintCode();
    expect(s.redeem(first)).toBeUndefined();
  });
});

describe('loopback peers', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.45.6.7', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['::FFFF:127.0.0.2', true],
    ['10.213.7.2', false],
    ['::ffff:10.0.0.1', false],
    ['192.168.1.5', false],
    ['fe80::1', false],
    ['::', false],
    ['', false],
    [undefined, false],
    ['not an address', false],
  ])('%s → %s', (address, loopback) => {
    expect(isLoopbackAddress(address)).toBe(loopback);
  });
});
