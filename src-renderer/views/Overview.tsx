import { useState, type ReactNode } from 'react';
import type { StatusResponse } from '../../src-shared/contract';
import { failureInWords } from '../../src-shared/failure-words';
import { useToast } from '../components/toasts';
import { ConfirmDialog, Card, CopyLine, Dot, FormError, Loading, PageHeader, ProgressBar, QueryError, Switch } from '../components/ui';
import { formatAgo, formatBytes, formatCount, formatDateTime, formatDuration, formatPercent } from '../lib/format';
import { useNow } from '../lib/clock';
import { useLive } from '../lib/live';
import { useMirrorState, type MirrorState } from '../lib/mirror-state';
import { useOfflineSwitch, useResetCounters } from '../lib/mutations';
import { useSettings, useStatus } from '../lib/queries';
import { href } from '../lib/route';
import { upstreamState } from '../lib/upstream-state';
import { ActivityCard } from './overview/ActivityCard';

export function OverviewView() {
  const status = useStatus();
  const mirror = useMirrorState();
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
          mirror === 'down' ? (
            <span className="error-text">Not answering: the figures below are from before the connection was lost.</span>
          ) : (
            <>
              Running since {formatDateTime(s.startedAt)} · up <span className="num">{formatDuration((now - s.startedAt) / 1000)}</span>
            </>
          )
        }
      />
      <div className="grid grid-top">
        <MirrorCard status={s} state={mirror} />
        <UpstreamCard status={s} now={now} mirrorDown={mirror === 'down'} />
      </div>
      <Traffic status={s} />
      <div className="grid grid-activity">
        <ActivityCard now={now} />
        <CacheCard status={s} />
      </div>
    </>
  );
}

const MIRROR_STATE: Record<MirrorState, ['ok' | 'danger' | 'muted', string]> = {
  running: ['ok', 'Running'],
  down: ['danger', 'Not answering'],
  connecting: ['muted', 'Connecting…'],
};

function MirrorCard({ status, state }: { status: StatusResponse; state: MirrorState }) {
  const [tone, text] = MIRROR_STATE[state];
  return (
    <Card title="Mirror">
      <div className="state-line" data-testid="mirror-state">
        <Dot tone={tone} />
        <strong>{text}</strong>
        <span className="muted">at</span>
        <a href={status.url} className="mono truncate" target="_blank" rel="noreferrer" title={status.url}>
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

const UPSTREAM_STATE: Record<ReturnType<typeof upstreamState>, ['ok' | 'warn' | 'danger' | 'muted', string]> = {
  reachable: ['ok', 'Reachable'],
  degraded: ['warn', 'Degraded — retrying'],
  unreachable: ['danger', 'Unreachable'],
  unknown: ['muted', 'Not contacted yet'],
};

function UpstreamCard({ status, now, mirrorDown }: { status: StatusResponse; now: number; mirrorDown: boolean }) {
  const settings = useSettings();
  const toggle = useOfflineSwitch();
  const u = status.upstream;
  const fixed = settings.data?.fixedByEnv.upstreamEnabled;
  // With the mirror gone, what it last said about its upstream is old news.
  const [tone, text] = mirrorDown
    ? (['muted', 'Unknown while the mirror is not answering'] as const)
    : status.offline
      ? (['muted', 'Offline mode'] as const)
      : UPSTREAM_STATE[upstreamState(u)];
  return (
    <Card title="Upstream">
      <div className="state-line" data-testid="upstream-state" data-state={status.offline ? 'offline' : upstreamState(u)}>
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
        {/* In user words; the engine's message (with addresses and error codes) is the tooltip. */}
        <dd className={u.lastError ? 'error-text' : undefined} title={u.lastError}>
          {u.lastError ? `${failureInWords(u.lastError).error} (${formatAgo(u.lastErrorAt, now)})` : 'none'}
        </dd>
      </dl>
      <Switch
        label="Offline mode"
        checked={toggle.shown(status.offline)}
        disabled={Boolean(fixed) || toggle.isPending}
        onChange={(offline) => toggle.mutate(offline)}
        description={fixed ? `Fixed by ${fixed}` : 'Serve only what is cached; never contact the upstream. Applies at once.'}
      />
      <FormError error={toggle.error} />
    </Card>
  );
}

function Traffic({ status }: { status: StatusResponse }) {
  const c = status.counters;
  // Client requests only: pre-warm downloads are counted apart and do not lower the ratio.
  const requests = c.hits + c.misses;
  const ratio = requests > 0 ? c.hits / requests : null;
  return (
    <section className="traffic" aria-labelledby="traffic-title">
      <div className="section-header">
        <h2 id="traffic-title">Traffic</h2>
        <CountingSince since={c.since} />
      </div>
      <div className="tiles">
        <div className="tile tile-wide">
          <div className="tile-label">Hit ratio</div>
          <div className="tile-value num" data-testid="hit-ratio">
            {formatPercent(ratio)}
          </div>
          <div className="tile-foot num">
            {formatCount(c.hits)} of {formatCount(requests)} client requests answered from the cache
          </div>
          <div className="tile-bottom">
            <ProgressBar value={c.hits} max={Math.max(1, requests)} label="Hit ratio" tone="ok" />
          </div>
        </div>
        <Tile label="Hits" value={formatCount(c.hits)} testId="counter-hits" foot="client requests served from disk" />
        <Tile label="Misses" value={formatCount(c.misses)} testId="counter-misses" foot="client requests fetched upstream" />
        <Tile label="Pre-warm" value={formatCount(c.prewarmFetches ?? 0)} testId="counter-prewarm" foot="fetched by pre-warm jobs" />
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
          foot={
            <>
              failed requests · <span data-testid="counter-attempts">{formatCount(c.upstreamFailedAttempts ?? 0)}</span> failed attempts
            </>
          }
          tone={c.upstreamErrors ? 'danger' : undefined}
        />
        <Tile label="Served" value={formatBytes(c.bytesServed)} testId="counter-served" foot="to clients" />
        <Tile label="Downloaded" value={formatBytes(c.upstreamBytes)} testId="counter-upstream" foot="from the upstream" />
        <Tile label="Saved" value={formatBytes(c.bytesSaved ?? 0)} testId="counter-saved" foot="served from the cache, not downloaded" />
        <Tile
          label="Rejected"
          value={formatCount(c.verificationFailures)}
          testId="counter-verification"
          foot="failed verification"
          tone={c.verificationFailures ? 'danger' : undefined}
        />
      </div>
    </section>
  );
}

/** "Since 3 Dec 2026, 09:12" and a Reset that asks first: the counters survive restarts until reset. */
function CountingSince({ since }: { since: number | undefined }) {
  const toast = useToast();
  const [asking, setAsking] = useState(false);
  const reset = useResetCounters(() => {
    setAsking(false);
    toast('ok', 'Counters reset: counting from now');
  });
  return (
    <div className="counting-since">
      <span className="hint" data-testid="counters-since">
        since {formatDateTime(since)}
      </span>
      <button type="button" className="btn btn-small" onClick={() => setAsking(true)}>
        Reset…
      </button>
      <ConfirmDialog
        open={asking}
        title="Reset the counters?"
        confirmLabel="Reset counters"
        busy={reset.isPending}
        error={reset.error}
        onConfirm={() => reset.mutate()}
        onCancel={() => {
          setAsking(false);
          reset.reset();
        }}
      >
        <p>Hits, misses, bytes and errors start again from zero. The cache and the activity log are kept.</p>
      </ConfirmDialog>
    </div>
  );
}

function Tile({ label, value, foot, testId, tone }: { label: string; value: string; foot: ReactNode; testId: string; tone?: 'warn' | 'danger' }) {
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
