import { describe, expect, it } from 'vitest';
import { applyEvent, snapshotOf, statusLine, trayState, trayStateOf } from '../../../src-main/desktop/tray-state.js';
import { healthEvent, jobEvent, settingsEvent, status, transferEnded, transferStarted, URL_4000 } from './engine-states.js';

describe('tray state from the engine status', () => {
  it('running: serving, upstream fine or not asked yet, nothing in flight', () => {
    expect(trayStateOf(status(), [])).toBe('running');
    expect(trayStateOf(status({ reachable: true }), [])).toBe('running');
    expect(statusLine(snapshotOf(status()))).toBe(`Running at ${URL_4000}`);
  });

  it('offline: the upstream is switched off', () => {
    expect(trayStateOf(status({ offline: true }), [])).toBe('offline');
    expect(statusLine(snapshotOf(status({ offline: true })))).toBe('Offline: serving from the cache');
  });

  it('upstream error: the last upstream request failed', () => {
    const s = status({ reachable: false, lastError: 'upstream unreachable: ECONNREFUSED' });
    expect(trayStateOf(s, [])).toBe('upstream-error');
    expect(statusLine(snapshotOf(s))).toBe('Upstream unreachable: ECONNREFUSED');
  });

  it('busy: downloads or pre-warm jobs in flight', () => {
    expect(trayStateOf(status({ transfers: 2 }), [])).toBe('busy');
    expect(trayStateOf(status({ jobs: 1 }), [])).toBe('busy');
    expect(statusLine(snapshotOf(status({ transfers: 2, jobs: 1 })))).toBe('Busy: 2 downloads, 1 pre-warm job');
  });

  it('puts offline before an upstream error, and an error before busy', () => {
    expect(trayStateOf(status({ offline: true, reachable: false, transfers: 1 }), [])).toBe('offline');
    expect(trayStateOf(status({ reachable: false, transfers: 1 }), [])).toBe('upstream-error');
  });

  it('keeps a long error to one short menu line', () => {
    const line = statusLine(snapshotOf(status({ reachable: false, lastError: 'x'.repeat(200) })));
    expect(line.length).toBeLessThan(90);
    expect(line.endsWith('…')).toBe(true);
  });
});

describe('tray state kept current by events', () => {
  it('a download makes it busy until it ends', () => {
    expect(trayStateOf(status(), [transferStarted('1')])).toBe('busy');
    expect(trayStateOf(status(), [transferStarted('1'), transferStarted('2'), transferEnded('1')])).toBe('busy');
    expect(trayStateOf(status(), [transferStarted('1'), transferEnded('1')])).toBe('running');
  });

  it('a pre-warm job makes it busy until it finishes, fails or is cancelled', () => {
    expect(trayStateOf(status(), [jobEvent('j1', 'resolving')])).toBe('busy');
    expect(trayStateOf(status(), [jobEvent('j1', 'resolving'), jobEvent('j1', 'running')])).toBe('busy');
    for (const end of ['done', 'failed', 'cancelled'] as const) {
      expect(trayStateOf(status(), [jobEvent('j1', 'running'), jobEvent('j1', end)])).toBe('running');
    }
  });

  it('work already running at the snapshot is counted down by end events it never saw start', () => {
    expect(trayStateOf(status({ transfers: 1, jobs: 1 }), [transferEnded('old')])).toBe('busy');
    expect(trayStateOf(status({ transfers: 1, jobs: 1 }), [transferEnded('old'), jobEvent('old-job', 'done')])).toBe('running');
    // Never below zero.
    expect(trayStateOf(status(), [transferEnded('x'), transferEnded('y'), transferStarted('z')])).toBe('busy');
  });

  it('health events move it between running and upstream error', () => {
    expect(trayStateOf(status(), [healthEvent({ reachable: false, lastError: 'timeout' })])).toBe('upstream-error');
    expect(trayStateOf(status(), [healthEvent({ reachable: false }), healthEvent({ reachable: true })])).toBe('running');
  });

  it('says so while the upstream is retrying (degraded), before it is given up on', () => {
    const retrying = [transferStarted('a'), healthEvent({ state: 'degraded', reachable: true })];
    const snapshot = retrying.reduce(applyEvent, snapshotOf(status()));
    expect(trayState(snapshot)).toBe('busy');
    expect(statusLine(snapshot)).toBe('Upstream not answering, retrying · 1 download');
    const settled = [transferEnded('a'), healthEvent({ reachable: true })].reduce(applyEvent, snapshot);
    expect(statusLine(settled)).toBe(`Running at ${URL_4000}`);
    expect(statusLine(applyEvent(settled, healthEvent({ state: 'degraded', reachable: true })))).toBe('Upstream not answering, retrying');
  });

  it('going offline and online, by settings or health events', () => {
    expect(trayStateOf(status(), [settingsEvent(false)])).toBe('offline');
    expect(trayStateOf(status({ offline: true }), [settingsEvent(true)])).toBe('running');
    expect(trayStateOf(status(), [healthEvent({ enabled: false })])).toBe('offline');
  });

  it('a hello starts over from its status', () => {
    expect(trayStateOf(status(), [transferStarted('1'), { type: 'hello', status: status({ offline: true }) }])).toBe('offline');
  });

  it('returns the same snapshot when nothing the tray shows changed', () => {
    const busy = applyEvent(snapshotOf(status()), transferStarted('1'));
    expect(applyEvent(busy, transferStarted('1'))).toBe(busy); // progress of a known transfer
    expect(applyEvent(busy, { type: 'cache', change: 'stored', key: 'tarballs/x.tar' })).toBe(busy);
    expect(applyEvent(busy, jobEvent('j', 'running'))).not.toBe(busy);
    expect(trayState(busy)).toBe('busy');
  });
});
