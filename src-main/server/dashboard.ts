// Serves the dashboard (the Vite build of src-renderer/) at /, so it also works in a browser
// when the mirror runs headless. The page never carries the access token: the desktop window
// gets it over IPC, and a browser signs in once through a one-time login link (/-/login),
// which sets a session cookie (control/sessions.ts). Without one, / is a short page that
// says how to get a link. Only loopback peers get any of it.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccessGuard } from './access.js';
import type { DashboardSessions } from './sessions.js';
import { SESSION_FRAGMENT } from '../../src-shared/contract.js';
import { STATUS_OF } from '../../src-shared/problems.js';
import { Problem } from '../core/problem.js';

export const LOGIN_PATH = '/-/login';

/** dist/renderer, seen from the bundled CLI in dist/cli/, from tsc's dist/src-main/server/ or from the sources in src-main/server/. */
export function rendererDir(): string | undefined {
  for (const relative of ['../renderer/', '../../renderer/', '../../dist/renderer/']) {
    const dir = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(`${dir}index.html`)) return dir;
  }
  return undefined;
}

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
};

/** The sign-in pages run no script at all. */
const PLAIN_PAGE_HEADERS = {
  ...SECURITY_HEADERS,
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'cache-control': 'no-store',
};

function plainPage(title: string, body: string, refreshTo?: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">${refreshTo ? `<meta http-equiv="refresh" content="0;url=${refreshTo}">` : ''}
<title>${title}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:15vh auto;padding:0 1.5rem}code{font-size:.95em;padding:.1em .3em;border-radius:4px;background:rgba(127,127,127,.15)}</style>
</head><body><h1>${title}</h1>${body}</body></html>
`;
}

const SIGN_IN_HELP =
  '<p>This browser is not signed in to the HexHub dashboard. For a one-time sign-in link, run</p><p><code>hexhub dashboard</code></p>' +
  '<p>in a terminal on this machine (add <code>--data-dir DIR</code> if the mirror uses another data dir). <code>hexhub serve</code> also prints one when it starts.</p>';

export async function registerDashboard(app: FastifyInstance, guard: AccessGuard, sessions: DashboardSessions): Promise<void> {
  const checked =
    (check: (req: FastifyRequest['raw']) => void, handler: (request: FastifyRequest, reply: FastifyReply) => unknown) =>
    async (request: FastifyRequest, reply: FastifyReply) => {
      try {
        check(request.raw);
      } catch (error) {
        const e = error as Problem;
        return reply.code(STATUS_OF[e.kind]).header('cache-control', 'no-store').type('text/plain; charset=utf-8').send(`${e.message}\n`);
      }
      return handler(request, reply);
    };

  // A link opened from a terminal, a file or another application arrives as a cross-site
  // navigation, so only the peer and the Host are checked here; the code is the credential.
  app.get(
    LOGIN_PATH,
    checked(
      (req) => (guard.checkPeer(req), guard.checkHost(req)),
      (request, reply) => {
        const code = (request.query as { code?: unknown }).code;
        const session = typeof code === 'string' ? sessions.redeem(code) : undefined;
        reply.headers(PLAIN_PAGE_HEADERS).type('text/html; charset=utf-8');
        // A SameSite=Strict cookie set during a cross-site navigation is not sent on that
        // navigation's redirects, so the page moves on to / by itself (a same-site navigation).
        // The page secret rides in the fragment, which the browser never sends anywhere.
        if (session) {
          const target = `/#${SESSION_FRAGMENT}=${session.secret}`;
          return reply
            .header('set-cookie', session.setCookie)
            .send(plainPage('Signed in', `<p>Opening the <a href="${target}">HexHub dashboard</a>…</p>`, target));
        }
        // The secret is not handed out again: whoever holds only the cookie must not get it here.
        if (guard.hasSession(request.raw)) return reply.send(plainPage('Already signed in', '<p>Opening the <a href="/">HexHub dashboard</a>…</p>', '/'));
        return reply.code(401).send(plainPage('Sign-in link used or expired', `<p>Each sign-in link works once, within 15 minutes.</p>${SIGN_IN_HELP}`));
      },
    ),
  );

  const dir = rendererDir();
  if (!dir) {
    app.get(
      '/',
      checked(
        (req) => guard.checkOrigin(req),
        async (_request, reply) => reply.type('text/plain; charset=utf-8').send('HexHub mirror is running. The dashboard is not built: run `npm run build`.\n'),
      ),
    );
    return;
  }
  const html = await readFile(`${dir}index.html`, 'utf8');
  const page = checked(
    (req) => guard.checkOrigin(req),
    (request, reply) => {
      reply.headers({ ...SECURITY_HEADERS, 'cache-control': 'no-store' }).type('text/html; charset=utf-8');
      if (guard.hasSession(request.raw) || guard.hasToken(request.raw)) return reply.send(html);
      return reply.code(401).headers(PLAIN_PAGE_HEADERS).send(plainPage('Sign in to HexHub', SIGN_IN_HELP));
    },
  );
  app.get('/', page);
  app.get('/index.html', page);
  await app.register(async (assets) => {
    assets.addHook('onRequest', async (request, reply) => {
      try {
        guard.checkPeer(request.raw);
        guard.checkHost(request.raw);
      } catch (error) {
        const e = error as Problem;
        return reply.code(STATUS_OF[e.kind]).header('cache-control', 'no-store').type('text/plain; charset=utf-8').send(`${e.message}\n`);
      }
    });
    await assets.register(fastifyStatic, {
      root: `${dir}assets`,
      prefix: '/assets/',
      index: false,
      wildcard: false,
      immutable: true,
      maxAge: '365d',
      setHeaders: (res) => {
        for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
      },
    });
  });
}
