// Serves the dashboard (the Vite build of src-renderer/) at /, so it also works in a browser
// when the mirror runs headless. The page gets the control API token in a meta tag: only a
// page loaded from this server's own host can read it (Host is checked, and other origins
// cannot read cross-origin responses).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import type { AccessGuard } from '../control/access.js';
import { HttpError } from './http-error.js';

export const TOKEN_META = 'hexhub-token';

/** dist/renderer, seen from the built dist/src-main/server/ or from the sources in src-main/server/. */
export function rendererDir(): string | undefined {
  for (const relative of ['../../renderer/', '../../dist/renderer/']) {
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

export async function registerDashboard(app: FastifyInstance, guard: AccessGuard, token: string): Promise<void> {
  const dir = rendererDir();
  if (!dir) {
    app.get('/', async (_request, reply) => reply.type('text/plain; charset=utf-8').send('HexHub mirror is running. The dashboard is not built: run `npm run build`.\n'));
    return;
  }
  const html = (await readFile(`${dir}index.html`, 'utf8')).replace('</head>', `  <meta name="${TOKEN_META}" content="${token}" />\n  </head>`);
  const page = async (request: { raw: import('node:http').IncomingMessage }, reply: import('fastify').FastifyReply) => {
    try {
      guard.checkOrigin(request.raw);
    } catch (error) {
      const e = error as HttpError;
      return reply.code(e.status).type('text/plain; charset=utf-8').send(`${e.message}\n`);
    }
    return reply.headers({ ...SECURITY_HEADERS, 'cache-control': 'no-store' }).type('text/html; charset=utf-8').send(html);
  };
  app.get('/', page);
  app.get('/index.html', page);
  await app.register(fastifyStatic, {
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
}
