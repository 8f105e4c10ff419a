// What the engine's parts tell the event bus, which feeds the dashboard's live view, the tray
// and the CLI's progress: transfers with their bytes, jobs, cache changes, upstream health,
// storage health, settings and changes of the trusted upstream; and what goes into the
// activity log (finished downloads, removals, evictions) and the counters.
import type { ServerEvent, TransferOutcome, TransferView } from '../../src-shared/contract.js';
import { failureInWords } from '../../src-shared/failure-words.js';
import type { ActivityLog } from '../control/activity-log.js';
import type { CacheAdmin } from '../control/cache-admin.js';
import type { EventBus } from '../control/event-bus.js';
import type { TransferEnd } from '../mirror/transfer.js';
import type { Mirror } from './build.js';
import { healthView, settingsView, storageView } from './views.js';

type TransferWatcher = (key: string, bytes: number, total?: number) => void;

/** The artifact cache's transfer listener (which also keeps the activity log), and a way for pre-warm jobs to watch bytes arrive. */
export function transferEvents(bus: EventBus, activity: ActivityLog) {
  const watchers = new Set<TransferWatcher>();
  return {
    listener: {
      started: (transfer: TransferView) => bus.publish({ type: 'transfer', transfer: { ...transfer } }),
      progress: (transfer: TransferView) => {
        bus.publishCoalesced(transfer.id, { type: 'transfer', transfer: { ...transfer } });
        for (const watch of watchers) watch(transfer.key, transfer.bytes, transfer.totalBytes);
      },
      ended: (transfer: TransferView, outcome: TransferOutcome, error: string | undefined, end: TransferEnd) => {
        bus.cancelCoalesced(transfer.id);
        // One wording for the live row and the activity log: user words, the engine's message as the detail.
        const words = end.problem ? failureInWords(end.problem) : error ? failureInWords(error) : undefined;
        bus.publish({ type: 'transfer-end', id: transfer.id, key: transfer.key, outcome, bytes: transfer.bytes, ...words });
        activity.record({ key: transfer.key, kind: transfer.kind, outcome, source: end.source, bytes: transfer.bytes, ...words });
      },
    },
    watch(watcher: TransferWatcher): () => void {
      watchers.add(watcher);
      return () => watchers.delete(watcher);
    },
  };
}

/** How pre-warm jobs publish: progress coalesced per job, and a job's final state never overtaken by a stale progress event. */
export function jobEvents(bus: EventBus) {
  return (event: ServerEvent, coalesceKey?: string): void => {
    if (coalesceKey) return bus.publishCoalesced(coalesceKey, event);
    if (event.type === 'job') bus.cancelCoalesced(`job:${event.job.id}`);
    bus.publish(event);
  };
}

/**
 * Removals by the user and evictions by the size cap, into the activity log: of releases
 * (tarballs, docs) only, as downloads are. A package's registry record and API answers go
 * with it, and one line each would push what a person looks for out of the bounded log.
 */
export function recordRemovals(admin: CacheAdmin, activity: ActivityLog): void {
  admin.onRemoved((key, entry, reason) => {
    if (entry.kind !== 'tarball' && entry.kind !== 'docs') return;
    activity.record({ key, kind: entry.kind, outcome: reason === 'cap' ? 'evicted' : 'removed', source: reason, bytes: entry.size });
  });
}

/** Cache, health, storage and settings changes onto the bus (transfers and jobs publish as they are built). */
export function publishChanges(mirror: Mirror): void {
  const { config, events, index, upstream, store, storage, registry, log } = mirror;
  mirror.activity.onEntry((entry) => events.publish({ type: 'activity', entry }));
  const health = () => events.publish({ type: 'health', upstream: healthView(config.current, upstream) });
  index.onChange((change) => events.publish({ type: 'cache', change: change.type, key: change.key }));
  upstream.onHealthChange(health);
  store.health.onChange((state) => {
    if (state.writable) log.info({ event: 'storage_recovered' }, 'the cache disk takes writes again; caching resumed');
    else
      log.error(
        { event: 'storage_failed', reason: state.reason, error: state.lastError },
        'the cache disk refuses writes; passing downloads through without keeping them',
      );
    void storageView(store, storage).then((view) => events.publish({ type: 'storage', storage: view }));
  });
  config.onChange(({ current, fields, upstreamChange: change }) => {
    log.info({ event: 'settings_changed', fields }, 'settings changed');
    if (change) {
      log.warn(
        { event: 'upstream_identity_changed', from: change.from, to: change.to },
        `upstream changed to ${change.to.url} (key ${change.to.fingerprint}); was ${change.from.url} (key ${change.from.fingerprint})`,
      );
      events.publish({ type: 'upstream-identity', change, at: Date.now() });
    }
    events.publish({ type: 'settings', settings: settingsView(current, registry) });
    health();
  });
}
