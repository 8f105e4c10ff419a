// The HTTP side holds requests that arrive before the mirror is ready (it listens before it
// reads its index): they are answered once it opens, or get a 503 if starting fails.
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src-main/core/metrics.js';
import { createHttpApp, StartGate } from '../../src-main/server/http-app.js';
import { httpGet } from '../support/http.js';

const apps: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function listening(gate: StartGate): Promise<string> {
  const app = createHttpApp(createMetrics(), undefined, {}, gate);
  app.get('/x', async () => 'answered');
  apps.push(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

const settledWithin = (promise: Promise<unknown>, ms: number) =>
  Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))]);

describe('StartGate', () => {
  it('holds a request until the gate opens, then routes it', async () => {
    const gate = new StartGate(true);
    const url = await listening(gate);
    const reply = httpGet(url, '/x');
    expect(await settledWithin(reply, 200)).toBe(false);
    gate.open();
    const answered = await reply;
    expect(answered.status).toBe(200);
    expect(answered.body.toString()).toBe('answered');
    // Open for good: later requests go straight through.
    expect((await httpGet(url, '/x')).status).toBe(200);
  });

  it('answers the held requests with a 503 when starting fails', async () => {
    const gate = new StartGate(true);
    const url = await listening(gate);
    const replies = [httpGet(url, '/x'), httpGet(url, '/x')];
    expect(await settledWithin(replies[0]!, 100)).toBe(false);
    gate.fail();
    for (const reply of await Promise.all(replies)) {
      expect(reply.status).toBe(503);
      expect(reply.headers['retry-after']).toBe('5');
    }
  });

  it('is open from the start unless made closed', async () => {
    const url = await listening(new StartGate());
    expect((await httpGet(url, '/x')).status).toBe(200);
  });
});
