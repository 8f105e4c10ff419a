// Recent activity: the server's log (downloads, evictions, removals; kept across restarts, so
// what a build fetched before this window opened is there too), merged with what this window
// saw happen to the mirror itself (jobs, upstream, settings).
import type { ActivityEntry } from '../../../src-shared/contract';
import { Card, Dot, QueryError } from '../../components/ui';
import { formatAgo, formatBytes, formatTime, keyLabel } from '../../lib/format';
import { useLive, type ActivityItem, type Tone } from '../../lib/live';
import { useActivity } from '../../lib/queries';

const SOURCE_TEXT: Record<ActivityEntry['source'], string> = { client: '', prewarm: 'pre-warm', user: 'by you', cap: 'size cap' };

/** One log line as people read it. */
export function activityLine(entry: ActivityEntry): ActivityItem {
  const label = keyLabel(entry.key);
  const by = SOURCE_TEXT[entry.source];
  const detail = (text: string | undefined) => [by, text].filter(Boolean).join(' · ') || undefined;
  const base = { id: -entry.id, at: entry.at, ...(entry.detail ? { title: entry.detail } : {}) };
  switch (entry.outcome) {
    case 'stored':
      return { ...base, tone: 'ok', text: `Downloaded ${label}`, detail: detail(entry.bytes ? formatBytes(entry.bytes) : undefined) };
    case 'passed':
      return { ...base, tone: 'warn', text: `Passed through, not kept: ${label}`, detail: detail(entry.error) };
    case 'failed':
      return { ...base, tone: 'danger', text: `Download failed: ${label}`, detail: detail(entry.error) };
    case 'evicted':
      return { ...base, tone: 'warn', text: `Evicted (size cap): ${label}`, detail: entry.bytes ? formatBytes(entry.bytes) : undefined };
    case 'removed':
      return { ...base, tone: 'warn', text: `Removed ${label}`, detail: detail(entry.bytes ? formatBytes(entry.bytes) : undefined) };
  }
}

const DOT: Record<Tone, 'ok' | 'danger' | 'warn' | 'info'> = { ok: 'ok', danger: 'danger', warn: 'warn', info: 'info' };

export function ActivityCard({ now }: { now: number }) {
  const { activity: notices, connection } = useLive();
  const log = useActivity();
  const items = [...(log.data ?? []).map(activityLine), ...notices].sort((a, b) => b.at - a.at).slice(0, 60);
  return (
    <Card title="Recent activity" actions={<span className="hint">kept across restarts</span>}>
      {log.isError ? <QueryError compact error={log.error} onRetry={() => void log.refetch()} /> : null}
      <ol className="activity" aria-live="polite" aria-relevant="additions" data-testid="activity">
        {items.length === 0 ? (
          <li className="activity-empty">
            {connection === 'live' || log.data ? 'Nothing yet. Downloads, evictions, jobs and upstream changes appear here.' : 'Waiting for the event stream…'}
          </li>
        ) : (
          items.map((item) => (
            // One line each, cut short: the whole of it (and any internal detail) on hover.
            <li key={item.id} className={`activity-item activity-${item.tone}`} title={[item.text, item.detail, item.title].filter(Boolean).join(' · ')}>
              <Dot tone={DOT[item.tone]} />
              <span className="activity-text">
                {item.text}
                {item.detail ? <span className="activity-detail"> · {item.detail}</span> : null}
              </span>
              <time className="activity-time num" dateTime={new Date(item.at).toISOString()} title={formatTime(item.at)}>
                {formatAgo(item.at, Math.max(now, item.at))}
              </time>
            </li>
          ))
        )}
      </ol>
    </Card>
  );
}
