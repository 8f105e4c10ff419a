// What the tray shows, derived from the engine: a status snapshot taken once, then kept
// current by folding in the engine's live events (the same ones the dashboard's event stream
// carries), so the tray needs no polling. Pure: no Electron, no timers.
import type { ServerEvent, StatusResponse } from '../../src-shared/contract.js';

export type TrayState = 'running' | 'offline' | 'upstream-error' | 'busy';

export const TRAY_STATES: readonly TrayState[] = ['running', 'offline', 'upstream-error', 'busy'];

export interface TraySnapshot {
  url: string;
  /** Offline mode: the upstream is disabled by the user. */
  offline: boolean;
  /** null until the first upstream request. */
  reachable: boolean | null;
  /** The last upstream attempt failed and requests are being retried: builds may be waiting. */
  retrying: boolean;
  lastError?: string;
  /** Transfers and pre-warm jobs seen starting and not yet seen ending. */
  transfers: readonly string[];
  jobs: readonly string[];
  /**
   * Transfers and jobs already running when the snapshot was taken: the status gives only
   * their number, so an end event for an id not seen starting counts one of these down.
   */
  earlierTransfers: number;
  earlierJobs: number;
}

export function snapshotOf(status: StatusResponse): TraySnapshot {
  return {
    url: status.url,
    offline: status.offline,
    reachable: status.upstream.reachable,
    retrying: status.upstream.state === 'degraded',
    ...(status.upstream.lastError ? { lastError: status.upstream.lastError } : {}),
    transfers: [],
    jobs: [],
    earlierTransfers: status.busy.transfers,
    earlierJobs: status.busy.jobs,
  };
}

function started(list: readonly string[], id: string): readonly string[] {
  return list.includes(id) ? list : [...list, id];
}

/** Removes `id`, or counts down the earlier ones when it was never seen starting. */
function ended(list: readonly string[], earlier: number, id: string): { list: readonly string[]; earlier: number } {
  if (list.includes(id)) return { list: list.filter((x) => x !== id), earlier };
  return { list, earlier: Math.max(0, earlier - 1) };
}

/** The snapshot after one event; the same object when the event changes nothing the tray shows. */
export function applyEvent(snapshot: TraySnapshot, event: ServerEvent): TraySnapshot {
  switch (event.type) {
    case 'hello':
      return snapshotOf(event.status);
    case 'transfer': {
      const transfers = started(snapshot.transfers, event.transfer.id);
      return transfers === snapshot.transfers ? snapshot : { ...snapshot, transfers };
    }
    case 'transfer-end': {
      const { list, earlier } = ended(snapshot.transfers, snapshot.earlierTransfers, event.id);
      return { ...snapshot, transfers: list, earlierTransfers: earlier };
    }
    case 'job': {
      const id = event.job.id;
      if (event.job.state === 'resolving' || event.job.state === 'running') {
        const jobs = started(snapshot.jobs, id);
        return jobs === snapshot.jobs ? snapshot : { ...snapshot, jobs };
      }
      const { list, earlier } = ended(snapshot.jobs, snapshot.earlierJobs, id);
      return { ...snapshot, jobs: list, earlierJobs: earlier };
    }
    case 'health': {
      const { enabled, reachable, lastError, state } = event.upstream;
      const next: TraySnapshot = { ...snapshot, offline: !enabled, reachable, retrying: state === 'degraded' };
      if (lastError) next.lastError = lastError;
      return next;
    }
    case 'settings':
      return { ...snapshot, offline: !event.settings.values.upstreamEnabled };
    case 'cache':
    case 'storage':
    case 'scrub':
    case 'upstream-identity':
    case 'activity':
    case 'counters':
      return snapshot;
  }
}

/**
 * The icon's state. Offline first (the user chose it, and nothing is fetched); then an
 * unreachable upstream, because that is what needs attention even while downloads retry;
 * then busy; otherwise running.
 */
export function trayState(snapshot: TraySnapshot): TrayState {
  if (snapshot.offline) return 'offline';
  if (snapshot.reachable === false) return 'upstream-error';
  if (activeTransfers(snapshot) + activeJobs(snapshot) > 0) return 'busy';
  return 'running';
}

/** The brief's signature: a status plus the events since it was taken give the state. */
export function trayStateOf(status: StatusResponse, events: readonly ServerEvent[]): TrayState {
  return trayState(events.reduce(applyEvent, snapshotOf(status)));
}

function activeTransfers(snapshot: TraySnapshot): number {
  return snapshot.transfers.length + snapshot.earlierTransfers;
}

function activeJobs(snapshot: TraySnapshot): number {
  return snapshot.jobs.length + snapshot.earlierJobs;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The one-line status at the top of the tray menu (and the tooltip). */
export function statusLine(snapshot: TraySnapshot): string {
  switch (trayState(snapshot)) {
    case 'offline':
      return 'Offline: serving from the cache';
    case 'upstream-error': {
      // The upstream client's errors start with the same words; say them once.
      const error = snapshot.lastError?.replace(/^upstream unreachable:\s*/i, '');
      // Menu items are one line; a long network error would stretch the menu across the screen.
      const reason = error ? `: ${error.length > 60 ? `${error.slice(0, 59)}…` : error}` : '';
      return `Upstream unreachable${reason}`;
    }
    case 'busy': {
      const parts = [];
      if (activeTransfers(snapshot)) parts.push(plural(activeTransfers(snapshot), 'download', 'downloads'));
      if (activeJobs(snapshot)) parts.push(plural(activeJobs(snapshot), 'pre-warm job', 'pre-warm jobs'));
      return `${snapshot.retrying ? 'Upstream not answering, retrying · ' : 'Busy: '}${parts.join(', ')}`;
    }
    case 'running':
      return snapshot.retrying ? 'Upstream not answering, retrying' : `Running at ${snapshot.url}`;
  }
}
