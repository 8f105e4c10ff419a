// Desktop notifications for what a user wants to know without looking: a pre-warm job
// finished or failed, the upstream became unreachable or came back, the upstream's URL or
// signing key was changed (whoever changed it: it decides what every build gets). The engine's events say
// the same thing more than once (a job's last state can be published again; a settings change
// republishes health), so each fact is notified once: a job once per id, the upstream only on
// a change between reachable and unreachable.
import type { JobView, ServerEvent, UpstreamChange, UpstreamHealthView } from '../../src-shared/contract.js';

export interface NotificationContent {
  title: string;
  body: string;
}

export function jobNotification(job: JobView): NotificationContent | undefined {
  const { fetched, cached, failed, items } = job.totals;
  if (job.state === 'done') {
    const skipped = job.skipped.length ? `, ${job.skipped.length} skipped` : '';
    // A done job's problems are warnings: they did not keep anything from being fetched.
    const warnings = job.problems.length ? `, ${job.problems.length} warning${job.problems.length === 1 ? '' : 's'}` : '';
    return { title: 'Pre-warm finished', body: `${job.source}: ${fetched} fetched, ${cached} already cached${skipped}${warnings}` };
  }
  if (job.state === 'failed') {
    const reason = job.error ?? job.problems.find((p) => !p.warning)?.reason ?? `${failed} of ${items} failed`;
    return { title: 'Pre-warm failed', body: `${job.source}: ${reason}` };
  }
  // Cancelled jobs were cancelled by the user, who knows already; running ones are not news.
  return undefined;
}

export function upstreamChangeNotification(change: UpstreamChange): NotificationContent {
  const key =
    change.from.fingerprint === change.to.fingerprint ? `same key ${change.to.fingerprint}` : `key ${change.to.fingerprint}, was ${change.from.fingerprint}`;
  return {
    title: 'Upstream changed',
    body: `HexHub now mirrors ${change.to.url} (${key}); was ${change.from.url}. If you did not do this, change it back in Settings.`,
  };
}

export interface Notifier {
  handle(event: ServerEvent): void;
}

/**
 * `initialReachable` is the upstream's state when the app subscribed (from the status), so
 * the first health event is compared with what was already true.
 */
export function createNotifier(show: (notification: NotificationContent) => void, initialReachable: boolean | null = null): Notifier {
  const notifiedJobs = new Set<string>();
  let reachable: boolean | null = initialReachable;

  const health = (upstream: UpstreamHealthView) => {
    // Offline mode is the user's choice: no news about an upstream they switched off, and a
    // fresh start when they switch it back on.
    if (!upstream.enabled) {
      reachable = null;
      return;
    }
    const now = upstream.reachable;
    if (now === null || now === reachable) return;
    const was = reachable;
    reachable = now;
    if (!now) {
      show({ title: 'Upstream unreachable', body: `${upstream.lastError ?? upstream.url}. HexHub keeps serving what it has cached.` });
    } else if (was === false) {
      // Only "back" after an "unreachable": the first success after start is not news.
      show({ title: 'Upstream reachable again', body: `${upstream.url} answers again.` });
    }
  };

  return {
    handle(event) {
      if (event.type === 'upstream-identity') return show(upstreamChangeNotification(event.change));
      if (event.type === 'health') return health(event.upstream);
      if (event.type === 'hello') return health(event.status.upstream);
      if (event.type !== 'job' || notifiedJobs.has(event.job.id)) return;
      const notification = jobNotification(event.job);
      if (!notification) return;
      notifiedJobs.add(event.job.id);
      show(notification);
    },
  };
}
