// The mirror's HTTP side: one app with the Hex repository routes, the health probes, the
// control API (an adapter over the engine's Control) and the dashboard, all behind the
// request policy and the access guard. Made only when the engine serves; a CLI command that
// opens the data dir itself never builds it.
import type { AddressInfo } from 'node:net';
import type { Control } from '../../src-shared/control.js';
import { mirrorUrlOf } from '../config/mirror-url.js';
import { AccessGuard, allowedHosts, isLoopbackListener, serverProof } from '../server/access.js';
import type { ServerCalls } from '../control/control-service.js';
import { registerControlRoutes } from '../server/control-routes.js';
import { DashboardSessions } from '../server/sessions.js';
import { registerRepositoryRoutes } from '../server/repository-routes.js';
import { LOGIN_PATH, registerDashboard } from '../server/dashboard.js';
import { registerHealthRoutes } from '../server/health-routes.js';
import { createHttpApp, StartGate, type HttpLimits } from '../server/http-app.js';
import { applyRequestPolicy } from '../server/request-policy.js';
import { warmTarballs } from '../server/warm-tarball.js';
import type { Mirror } from './build.js';
import { healthView } from './views.js';

export interface MirrorServer extends ServerCalls {
  /**
   * Listens on the configured address; resolves to the mirror's URL (mirrorUrlOf, with the
   * port bound). Requests wait until `open()` (or get a 503 after `fail()`).
   */
  listen(): Promise<string>;
  /** The mirror is ready: answer requests (those waiting first). */
  open(): void;
  /** Starting failed: requests waiting get a 503. */
  fail(): void;
  close(): Promise<void>;
}

export function createMirrorServer(mirror: Mirror, control: Control, token: string, httpLimits?: Partial<HttpLimits>): MirrorServer {
  const { config, releases, store, storage, upstream, log } = mirror;
  const gate = new StartGate(true);
  const app = createHttpApp(mirror.metrics, warmTarballs({ releases, store, index: mirror.index, metrics: mirror.metrics }), httpLimits, gate);
  const port = () => (app.server.address() as AddressInfo).port;
  const sessions = new DashboardSessions(token, port);
  // The listen address is fixed for the server's life; settings never change it.
  const host = config.current.host;
  const guard = new AccessGuard(token, () => allowedHosts(host, port()), sessions);
  let url = '';

  return {
    async listen() {
      applyRequestPolicy(app, guard, { loopbackListener: isLoopbackListener(host) });
      registerControlRoutes(app, { guard, control, log });
      registerHealthRoutes(app, { storage, storageWritable: () => store.health.writable, upstream: () => healthView(config.current, upstream) });
      registerRepositoryRoutes(app, { ...mirror, config: () => config.current });
      await registerDashboard(app, guard, sessions);
      await app.listen({ host, port: config.current.port });
      url = mirrorUrlOf(host, port());
      return url;
    },
    loginLink() {
      const { code, expiresAt } = sessions.mintCode();
      return { url: `${url}${LOGIN_PATH}?code=${code}`, expiresAt };
    },
    proof: (nonce) => serverProof(token, port(), nonce),
    open: () => gate.open(),
    fail: () => gate.fail(),
    close: () => app.close(),
  };
}
