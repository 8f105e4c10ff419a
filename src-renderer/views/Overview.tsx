import type { StatusResponse } from '../../src-shared/contract';
import { Card, CopyLine, Dot, FormError, Loading, PageHeader, ProgressBar, QueryError, Switch } from '../components/ui';
import { formatAgo, formatBytes, formatCount, formatDateTime, formatDuration, formatPercent, formatTime } from '../lib/format';
import { useNow } from '../lib/clock';
import { useLive } from '../lib/live';
import { useSaveSettings } from '../lib/mutations';
import { useSettings, useStatus } from '../lib/queries';
import { href } from '../lib/route';

export function OverviewView() {
  const status = useStatus();
  const now = useNow(5000);
  if (!status.data) {
    return (
      <>
        <PageHeader title="Overview" />
        {status.isError ? <QueryError error={status.error} onRetry={() => void status.refetch()} /> : <Loading />}
      </>
    );
  }
  const s = status.data;
  return (
    <>
      <PageHeader
        title="Overview"
        subtitle={
          <>
            Running since {formatDateTime(s.startedAt)} · up <span className="num">{formatDuration((now - s.startedAt) / 1000)}</span>
          </>
        }
      />
      {status.isError ? <QueryError compact error={status.error} onRetry={() => void status.refetch()} /> : null}
      <div className="grid grid-top">
        <MirrorCard status={s} />
        <UpstreamCard status={s} now={now} />
      </div>
      <Traffic status={s} />
      <div className="grid grid-activity">
        <ActivityCard now={now} />
        <CacheCard status={s} />
      </div>
    </>
  );
}

function MirrorCard({ status }: { status: StatusResponse }) {
  return (
    <Card title="Mirror">
      <div className="state-line">
        <Dot tone="ok" />
        <strong>Running</strong>
        <span className="muted">at</span>
        <a href={status.url} className="mono" target="_blank" rel="noreferrer">
          {status.url}
        </a>
      </div>
      <p className="hint">Point your build tools at it:</p>
      <div className="copy-lines">
        <div className="copy-label">mix</div>
        <CopyLine text={`export HEX_MIRROR=${status.url}`} label="HEX_MIRROR export line" />
        <div className="copy-label">rebar3</div>
        <CopyLine text={`export HEX_CDN=${status.url}`} label="HEX_CDN export line" />
      </div>
      <p className="hint truncate" title={status.dataDir}>
        Data dir <span className="mono">{status.dataDir}</span>
      </p>
      {status.storage.backend === 's3' ? (
        <p className="hint truncate" title={status.storage.location} data-testid="shared-storage">
          Shared storage <span className="mono">{status.storage.location}</span> (local copies are a cache)
        </p>
      ) : null}
    </Card>
  );
}

function UpstreamCard({ status, now }: { status: StatusResponse; now: number }) {
  const settings = useSettings();
  const toggle = useSaveSettings();
  const u = status.upstream;
  const fixed = settings.data?.fixedByEnv.upstreamEnabled;
  const [tone, text] = status.offline
    ? (['muted', 'Offline mode'] as const)
    : u.reachable === true
      ? (['ok', 'Reachable'] as const)
      : u.reachable === false
        ? (['danger', 'Unreachable'] as const)
        : (['muted', 'Not contacted yet'] as const);
  return (
    <Card title="Upstream">
      <div className="state-line" data-testid="upstream-state">
        <Dot tone={tone} />
        <strong>{text}</strong>
        <span className="mono truncate muted" title={u.url}>
          {u.url}
        </span>
      </div>
      <dl className="facts">
        <dt>Latency</dt>
        <dd className="num">{u.latencyMs !== undefined ? `${Math.round(u.latencyMs)} ms` : '—'}</dd>
        <dt>Last success</dt>
        <dd>{u.lastOkAt ? formatAgo(u.lastOkAt, now) : '—'}</dd>
        <dt>Last error</dt>
        <dd className={u.lastError ? 'error-text' : undefined}>{u.lastError ? `${u.lastError} (${formatAgo(u.lastErrorAt, now)})` : 'none'}</dd>
      </dl>
      <Switch
        label="Offline mode"
        checked={status.offline}
        disabled={Boolean(fixed) || toggle.isPending}
        onChange={(offline) => toggle.mutate({ upstreamEnabled: !offline })}
        description={fixed ? `Fixed by ${fixed}` : 'Serve only what is cached; never contact the upstream.'}
      />
      <FormError error={toggle.error} />
    </Card>
  );
}

function Traffic({ status }: { status: StatusResponse }) {
  const c = status.counters;
  const requests = c.hits + c.misses;
  const ratio = requests > 0 ? c.hits / requests : null;
  return (
    <section className="tiles" aria-label="Traffic">
      <div className="tile tile-wide">
        <div className="tile-label">Hit ratio</div>
        <div className="tile-value num" data-testid="hit-ratio">
          {formatPercent(ratio)}
        </div>
        <div className="tile-foot num">
          {formatCount(c.hits)} of {formatCount(requests)} requests answered from the cache
        </div>
        <div className="tile-bottom">
          <ProgressBar value={c.hits} max={Math.max(1, requests)} label="Hit ratio" tone="ok" />
        </div>
      </div>
      <Tile label="Hits" value={formatCount(c.hits)} testId="counter-hits" foot="served from disk" />
      <Tile label="Misses" value={formatCount(c.misses)} testId="counter-misses" foot="fetched upstream" />
      <Tile
        label="Stale serves"
        value={formatCount(c.staleServes)}
        testId="counter-stale"
        foot="while upstream down"
        tone={c.staleServes ? 'warn' : undefined}
      />
      <Tile
        label="Upstream errors"
        value={formatCount(c.upstreamErrors)}
        testId="counter-errors"
        foot="after retries"
        tone={c.upstreamErrors ? 'danger' : undefined}
      />
      <Tile label="Served" value={formatBytes(c.bytesServed)} testId="counter-served" foot="to clients" />
      <Tile label="Downloaded" value={formatBytes(c.upstreamBytes)} testId="counter-upstream" foot="from the upstream" />
      <Tile label="Saved" value={formatBytes(Math.max(0, c.bytesServed - c.upstreamBytes))} testId="counter-saved" foot="not downloaded again" />
      <Tile
        label="Rejected"
        value={formatCount(c.verificationFailures)}
        testId="counter-verification"
        foot="failed verification"
        tone={c.verificationFailures ? 'danger' : undefined}
      />
    </section>
  );
}

function Tile({ label, value, foot, testId, tone }: { label: string; value: string; foot: string; testId: string; tone?: 'warn' | 'danger' }) {
  return (
    <div className={`tile${tone ? ` tile-${tone}` : ''}`}>
      <div className="tile-label">{label}</div>
      <div className="tile-value num" data-testid={testId}>
        {value}
      </div>
      <div className="tile-foot">{foot}</div>
    </div>
  );
}

function CacheCard({ status }: { status: StatusResponse }) {
  const { transfers } = useLive();
  return (
    <Card title="Cache" actions={<a href={href('cache')}>Browse</a>}>
      <dl className="facts facts-numbers">
        <dt>Packages</dt>
        <dd className="num" data-testid="cache-packages">
          {formatCount(status.cache.packages)}
        </dd>
        <dt>Releases</dt>
        <dd className="num">{formatCount(status.cache.releases)}</dd>
        <dt>Docs</dt>
        <dd className="num">{formatCount(status.cache.docs)}</dd>
        <dt>On disk</dt>
        <dd className="num">{formatBytes(status.cache.bytes)}</dd>
      </dl>
      <div className="busy-line">
        <span className="num">
          {transfers.length || status.busy.transfers} downloading · {status.busy.jobs} job{status.busy.jobs === 1 ? '' : 's'} running
        </span>
        <a href={href('downloads')}>Downloads</a>
      </div>
    </Card>
  );
}

function ActivityCard({ now }: { now: number }) {
  const { activity, connection } = useLive();
  return (
    <Card title="Recent activity" actions={<span className="hint">since this window opened</span>}>
      <ol className="activity" aria-live="polite" aria-relevant="additions">
        {activity.length === 0 ? (
          <li className="activity-empty">
            {connection === 'live' ? 'Nothing yet. Downloads, deletions, jobs and upstream changes appear here.' : 'Waiting for the event stream…'}
          </li>
        ) : (
          activity.map((item) => (
            <li key={item.id} className={`activity-item activity-${item.tone}`}>
              <Dot tone={item.tone === 'ok' ? 'ok' : item.tone === 'danger' ? 'danger' : item.tone === 'warn' ? 'warn' : 'info'} />
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
