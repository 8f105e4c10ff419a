// What every request outside the dashboard and the control API (which check their own) must
// pass before routing. The Hex routes are for Hex clients, which send neither Origin nor fetch
// metadata: a web page's cross-site request is refused, so no page can make the mirror
// download and keep packages or time the cache. On a loopback listener the probes and
// metrics also need a Host naming this server, so a DNS-rebinding page cannot read them; on a
// wildcard listener (team mode) balancers and Prometheus reach them under any name.
import type { FastifyInstance } from 'fastify';
import { crossSiteReason, type AccessGuard } from './access.js';
import type { Problem } from '../core/problem.js';

const PROBES = new Set(['/metrics', '/healthz', '/readyz']);

function ownChecks(path: string): boolean {
  return path === '/' || path === '/index.html' || path.startsWith('/-/') || path.startsWith('/assets/');
}

export function applyRequestPolicy(app: FastifyInstance, guard: AccessGuard, options: { loopbackListener: boolean }): void {
  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?', 1)[0]!;
    if (ownChecks(path)) return;
    let refusal: string | undefined;
    if (PROBES.has(path)) {
      if (options.loopbackListener) {
        try {
          guard.checkHost(request.raw);
        } catch (error) {
          refusal = (error as Problem).message;
        }
      }
    } else {
      refusal = crossSiteReason(request.raw);
    }
    if (refusal)
      return reply
        .code(403)
        .headers({ 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' })
        .type('text/plain; charset=utf-8')
        .send(`${refusal}\n`);
  });
}
