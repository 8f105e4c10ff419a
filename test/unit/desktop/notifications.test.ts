// Notifications from engine events, each fact once. No Electron: the notifier is handed a
// function that records what would be shown.
import { describe, expect, it } from 'vitest';
import { createNotifier, jobNotification, type NotificationContent } from '../../../src-main/desktop/notifications.js';
import { healthEvent, job, jobEvent, status } from './engine-states.js';

function setup(initialReachable: boolean | null = null) {
  const shown: NotificationContent[] = [];
  return { shown, notifier: createNotifier((n) => shown.push(n), initialReachable) };
}

describe('pre-warm notifications', () => {
  it('tells when a job finished, once, however often its last state is published', () => {
    const { shown, notifier } = setup();
    notifier.handle(jobEvent('j1', 'resolving'));
    notifier.handle(jobEvent('j1', 'running'));
    expect(shown).toEqual([]);
    notifier.handle(jobEvent('j1', 'done'));
    notifier.handle(jobEvent('j1', 'done'));
    expect(shown).toEqual([{ title: 'Pre-warm finished', body: 'mix.lock (12 entries): 9 fetched, 3 already cached' }]);
  });

  it('tells when a job failed, with the reason', () => {
    const { shown, notifier } = setup();
    notifier.handle(jobEvent('j2', 'failed', { error: 'plug: no version matches ~> 9.0' }));
    notifier.handle(jobEvent('j2', 'failed', { error: 'plug: no version matches ~> 9.0' }));
    notifier.handle(jobEvent('j3', 'failed', { totals: { items: 4, fetched: 2, cached: 0, failed: 2, bytes: 0 } }));
    expect(shown).toEqual([
      { title: 'Pre-warm failed', body: 'mix.lock (12 entries): plug: no version matches ~> 9.0' },
      { title: 'Pre-warm failed', body: 'mix.lock (12 entries): 2 of 4 failed' },
    ]);
  });

  it('says nothing about cancelled jobs (the user cancelled them)', () => {
    expect(jobNotification(job('j', 'cancelled'))).toBeUndefined();
    expect(jobNotification(job('j', 'done', { skipped: [{ name: 'my_dep', reason: 'git dependency' }] }))?.body).toContain('1 skipped');
  });

  it("counts a done job's warnings, and names what made a job fail rather than a warning", () => {
    const warning = { name: 'mime', reason: 'the lock file gives another checksum', warning: true };
    expect(jobNotification(job('j', 'done', { problems: [warning] }))?.body).toContain('1 warning');
    const failed = jobNotification(job('j', 'failed', { problems: [warning, { name: 'nope', reason: 'no package named nope' }] }));
    expect(failed?.body).toContain('no package named nope');
  });
});

describe('upstream notifications', () => {
  it('tells when the upstream becomes unreachable and when it comes back, once each', () => {
    const { shown, notifier } = setup(true);
    notifier.handle(healthEvent({ reachable: false, lastError: 'upstream unreachable: ECONNREFUSED' }));
    notifier.handle(healthEvent({ reachable: false, lastError: 'upstream unreachable: ECONNREFUSED' }));
    notifier.handle(healthEvent({ reachable: true }));
    notifier.handle(healthEvent({ reachable: true }));
    expect(shown.map((n) => n.title)).toEqual(['Upstream unreachable', 'Upstream reachable again']);
    expect(shown[0]!.body).toContain('ECONNREFUSED');
  });

  it('does not announce the first success after start', () => {
    const { shown, notifier } = setup(null);
    notifier.handle(healthEvent({ reachable: true }));
    expect(shown).toEqual([]);
  });

  it('tells about a failure when the state was unknown', () => {
    const { shown, notifier } = setup(null);
    notifier.handle({ type: 'hello', status: status({ reachable: false, lastError: 'timeout' }) });
    expect(shown.map((n) => n.title)).toEqual(['Upstream unreachable']);
  });

  it('is quiet about an upstream the user switched off, and starts afresh when it is back on', () => {
    const { shown, notifier } = setup(false);
    notifier.handle(healthEvent({ enabled: false, reachable: false }));
    notifier.handle(healthEvent({ enabled: true, reachable: true }));
    expect(shown).toEqual([]);
  });
});

describe('upstream change notifications', () => {
  it('tells every change of the upstream URL or key, with both fingerprints', () => {
    const { shown, notifier } = setup();
    const from = { url: 'https://repo.hex.pm', fingerprint: 'SHA256:old' };
    notifier.handle({ type: 'upstream-identity', change: { from, to: { url: 'https://evil.example', fingerprint: 'SHA256:new' } }, at: 1 });
    notifier.handle({ type: 'upstream-identity', change: { from, to: { url: 'https://mirror.example', fingerprint: 'SHA256:old' } }, at: 2 });
    expect(shown).toEqual([
      {
        title: 'Upstream changed',
        body: 'HexHub now mirrors https://evil.example (key SHA256:new, was SHA256:old); was https://repo.hex.pm. If you did not do this, change it back in Settings.',
      },
      {
        title: 'Upstream changed',
        body: 'HexHub now mirrors https://mirror.example (same key SHA256:old); was https://repo.hex.pm. If you did not do this, change it back in Settings.',
      },
    ]);
  });
});
