// The event stream: transfers in flight (known only from events), recent activity, and the
// updates it makes to react-query's answers (status, jobs, settings) or the refetches it
// asks for (cache list, package, disk) when something changed on the server.
import { useEffect, useSyncExternalStore } from 'react';
import type { QueryClient, QueryKey } from '@tanstack/react-query';
import { ApiError } from '../../src-shared/api-client';
import type { JobView, ServerEvent, SettingsResponse, StatusResponse, TransferOutcome, TransferView } from '../../src-shared/contract';
import { parseKey } from '../../src-shared/keys';
import { api } from '../api';
import { keyLabel } from './format';
import { jobLabel, jobOutcome, type JobTone } from './job-words';
import { cacheQueries, keys, storeActivity, storeJob } from './queries';

export type Connection = 'connecting' | 'live' | 'reconnecting' | 'refused';

export interface LiveTransfer extends TransferView {
  /** Average rate since the transfer started, bytes per second. */
  rate: number;
}

export interface FinishedTransfer {
  id: string;
  key: string;
  bytes: number;
  outcome: TransferOutcome;
  error?: string;
  /** The engine's own message behind `error`, for a tooltip. */
  detail?: string;
  at: number;
}

export type Tone = 'ok' | 'info' | 'warn' | 'danger';

export interface ActivityItem {
  id: number;
  at: number;
  tone: Tone;
  text: string;
  detail?: string;
  /** The internal detail, on hover. */
  title?: string;
}

export interface LiveSnapshot {
  connection: Connection;
  transfers: LiveTransfer[];
  finished: FinishedTransfer[];
  activity: ActivityItem[];
}

const MAX_ACTIVITY = 60;
const MAX_FINISHED = 12;

class LiveStore {
  private snapshot: LiveSnapshot = { connection: 'connecting', transfers: [], finished: [], activity: [] };
  private readonly listeners = new Set<() => void>();
  private readonly transfers = new Map<string, LiveTransfer>();
  private nextId = 1;

  subscribe = (listener: () => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  get = () => this.snapshot;

  private emit(patch: Partial<LiveSnapshot>) {
    this.snapshot = { ...this.snapshot, ...patch };
    for (const listener of this.listeners) listener();
  }

  setConnection(connection: Connection) {
    if (this.snapshot.connection !== connection) this.emit({ connection });
  }

  transfer(t: TransferView) {
    const elapsed = Math.max(0.25, (Date.now() - t.startedAt) / 1000);
    this.transfers.set(t.id, { ...t, rate: t.bytes / elapsed });
    this.emit({ transfers: [...this.transfers.values()] });
  }

  transferEnd(id: string, key: string, outcome: TransferOutcome, bytes: number | undefined, error?: string, detail?: string) {
    const last = this.transfers.get(id);
    this.transfers.delete(id);
    // The event's own count is the truth; the last progress event may be a chunk behind.
    const moved = bytes ?? last?.totalBytes ?? last?.bytes ?? 0;
    const done: FinishedTransfer = { id, key, bytes: moved, outcome, ...(error ? { error } : {}), ...(detail ? { detail } : {}), at: Date.now() };
    this.emit({ transfers: [...this.transfers.values()], finished: [done, ...this.snapshot.finished].slice(0, MAX_FINISHED) });
  }

  /** Drops transfers we never saw end (the stream was down meanwhile). */
  clearTransfers() {
    this.transfers.clear();
    this.emit({ transfers: [] });
  }

  activity(tone: Tone, text: string, detail?: string) {
    const item: ActivityItem = { id: this.nextId++, at: Date.now(), tone, text, ...(detail ? { detail } : {}) };
    this.emit({ activity: [item, ...this.snapshot.activity].slice(0, MAX_ACTIVITY) });
  }
}

export const live = new LiveStore();

export function useLive(): LiveSnapshot {
  return useSyncExternalStore(live.subscribe, live.get);
}

/** Batches invalidations so a burst of cache events refetches each view once. */
function invalidator(client: QueryClient, delayMs = 400) {
  const pending = new Map<string, QueryKey>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  return (...queryKeys: QueryKey[]) => {
    for (const key of queryKeys) pending.set(JSON.stringify(key), key);
    timer ??= setTimeout(() => {
      timer = undefined;
      const batch = [...pending.values()];
      pending.clear();
      for (const queryKey of batch) void client.invalidateQueries({ queryKey });
    }, delayMs);
  };
}

const JOB_TONE: Record<JobTone, Tone> = { ok: 'ok', danger: 'danger', warn: 'warn', info: 'info', accent: 'info' };

export function handleEvent(client: QueryClient, invalidate: ReturnType<typeof invalidator>, event: ServerEvent, firstHello: { seen: boolean }) {
  switch (event.type) {
    case 'hello':
      client.setQueryData<StatusResponse>(keys.status, event.status);
      if (firstHello.seen) {
        // Back after a gap: whatever happened meanwhile is only on the server.
        live.clearTransfers();
        void client.invalidateQueries({ predicate: (query) => query.queryKey[0] !== 'status' });
      }
      firstHello.seen = true;
      return;
    case 'transfer':
      live.transfer(event.transfer);
      return;
    case 'transfer-end':
      // What it did goes into the server's activity log, which sends an `activity` event.
      live.transferEnd(event.id, event.key, event.outcome, event.bytes, event.error, event.detail);
      invalidate(keys.status);
      return;
    case 'activity':
      storeActivity(client, event.entry);
      return;
    case 'counters':
      client.setQueryData<StatusResponse>(keys.status, (status) => (status ? { ...status, counters: event.counters } : status));
      return;
    case 'job': {
      const previous = client.getQueryData<JobView[]>(keys.jobs)?.find((j) => j.id === event.job.id);
      storeJob(client, event.job);
      if (!previous || previous.state !== event.job.state) {
        const { totals } = event.job;
        const finished = event.job.state !== 'resolving' && event.job.state !== 'running';
        const detail = finished ? `${totals.fetched} fetched, ${totals.cached} already cached, ${totals.failed} failed` : undefined;
        const outcome = jobOutcome(event.job);
        live.activity(JOB_TONE[outcome.tone], `Pre-warm ${outcome.text.toLowerCase()}: ${jobLabel(event.job)}`, detail ?? event.job.error);
        invalidate(keys.status);
      }
      return;
    }
    case 'cache': {
      const info = parseKey(event.key);
      invalidate(...cacheQueries, info?.package ? keys.package(info.package) : ['package']);
      return;
    }
    case 'health': {
      const before = client.getQueryData<StatusResponse>(keys.status);
      client.setQueryData<StatusResponse>(keys.status, (status) =>
        status ? { ...status, upstream: event.upstream, offline: !event.upstream.enabled } : status,
      );
      const was = before?.upstream.state;
      const now = event.upstream.state;
      if (before && was !== now && event.upstream.enabled) {
        if (now === 'unreachable') live.activity('danger', 'Upstream unreachable', event.upstream.lastError);
        else if (now === 'degraded' && was !== 'unreachable') live.activity('warn', 'Upstream slow or failing: retrying', event.upstream.lastError);
        else if (now === 'reachable' && (was === 'unreachable' || was === 'degraded')) live.activity('ok', 'Upstream reachable again');
      }
      return;
    }
    case 'storage': {
      client.setQueryData<StatusResponse>(keys.status, (status) => (status ? { ...status, storage: event.storage } : status));
      if (event.storage.writable) live.activity('ok', 'The cache disk takes writes again: caching resumed');
      else live.activity('danger', `Cache disk: ${event.storage.reason ?? 'write failed'}`, event.storage.lastError);
      invalidate(keys.status, keys.disk);
      return;
    }
    case 'scrub': {
      const before = client.getQueryData<StatusResponse>(keys.status)?.scrub;
      client.setQueryData<StatusResponse>(keys.status, (status) => (status ? { ...status, scrub: event.scrub } : status));
      const newest = event.scrub.problems[0];
      if (newest && newest.at !== before?.problems[0]?.at) live.activity('danger', `Damaged file found by the scrub: ${keyLabel(newest.key)}`, newest.reason);
      return;
    }
    case 'settings': {
      const before = client.getQueryData<SettingsResponse>(keys.settings);
      client.setQueryData<SettingsResponse>(keys.settings, event.settings);
      if (before && before.values.upstreamEnabled !== event.settings.values.upstreamEnabled) {
        live.activity(
          event.settings.values.upstreamEnabled ? 'ok' : 'warn',
          event.settings.values.upstreamEnabled ? 'Online: the upstream is used again' : 'Offline mode: serving cached content only',
        );
      } else live.activity('info', 'Settings changed');
      invalidate(keys.status, keys.disk);
      return;
    }
    case 'upstream-identity': {
      const { from, to } = event.change;
      const key = from.fingerprint === to.fingerprint ? `same key ${to.fingerprint}` : `key ${to.fingerprint}, was ${from.fingerprint}`;
      live.activity('warn', `Upstream changed to ${to.url}`, `${key}; was ${from.url}`);
      return;
    }
  }
}

/** Follows the event stream for as long as the dashboard is open. */
export function useEventStream(client: QueryClient): void {
  useEffect(() => {
    const stop = new AbortController();
    const invalidate = invalidator(client);
    const firstHello = { seen: false };
    live.setConnection('connecting');
    api
      .events(
        (event) => handleEvent(client, invalidate, event, firstHello),
        stop.signal,
        (connected) => live.setConnection(connected ? 'live' : 'reconnecting'),
      )
      .catch((error: unknown) => {
        if (!stop.signal.aborted) live.setConnection(error instanceof ApiError && (error.status === 401 || error.status === 403) ? 'refused' : 'reconnecting');
      });
    return () => stop.abort();
  }, [client]);
}
