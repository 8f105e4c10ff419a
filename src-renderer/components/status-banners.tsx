// The banners above every view: whatever keeps the mirror from working as usual, each with
// its way out.
import type { StatusResponse } from '../../src-shared/contract';
import { failureInWords } from '../../src-shared/failure-words';
import { formatAgo, formatBytes } from '../lib/format';
import { useLive } from '../lib/live';
import { useMirrorState } from '../lib/mirror-state';
import { useOfflineSwitch } from '../lib/mutations';
import { upstreamState } from '../lib/upstream-state';
import { errorMessage, useSettings, useStatus } from '../lib/queries';
import { href } from '../lib/route';
import { Banner } from './banner';

export function StatusBanners() {
  const status = useStatus();
  const settings = useSettings();
  const { connection } = useLive();
  const mirror = useMirrorState();
  const offlineSwitch = useOfflineSwitch();
  // Offline mode fixed by UPSTREAM_ENABLED cannot be switched from here.
  const setOffline = settings.data?.fixedByEnv.upstreamEnabled
    ? undefined
    : { busy: offlineSwitch.isPending, to: (offline: boolean) => offlineSwitch.mutate(offline) };
  const { upstream, storage } = status.data ?? {};
  const banners = [
    connection === 'refused' && <SignInRefused key="refused" />,
    connection !== 'refused' && mirror === 'down' && <MirrorNotAnswering key="down" error={status.error} onRetry={() => void status.refetch()} />,
    // While the mirror is down, what it last said about its upstream is old news.
    mirror !== 'down' && upstream?.enabled && upstreamState(upstream) === 'unreachable' && (
      <UpstreamUnreachable key="upstream" upstream={upstream} setOffline={setOffline} />
    ),
    storage && !storage.writable && <StorageFull key="storage" storage={storage} />,
    mirror !== 'down' && status.data?.offline && <OfflineMode key="offline" setOffline={setOffline} />,
    offlineSwitch.isError && (
      <Banner key="offline-error" tone="danger" actions={[{ label: 'Dismiss', onClick: () => offlineSwitch.reset() }]}>
        Could not change offline mode: {errorMessage(offlineSwitch.error)}
      </Banner>
    ),
  ].filter(Boolean);
  return banners.length ? <div className="banners">{banners}</div> : null;
}

type OfflineSwitch = { busy: boolean; to: (offline: boolean) => void } | undefined;

function SignInRefused() {
  return (
    <Banner tone="danger" actions={[{ label: 'Reload', onClick: () => window.location.reload() }]}>
      <strong>The mirror no longer accepts this dashboard’s sign-in.</strong> It may have expired, or the mirror was restarted with another data dir. Run{' '}
      <code>hexhub dashboard</code> for a new sign-in link.
    </Banner>
  );
}

function MirrorNotAnswering({ error, onRetry }: { error: unknown; onRetry: () => void }) {
  return (
    <Banner tone="danger" testId="mirror-banner" actions={[{ label: 'Retry', onClick: onRetry }]}>
      <strong>The mirror is not answering.</strong> {error ? errorMessage(error) : 'The connection to it was lost: it may have stopped or be restarting.'} What
      is shown here may be out of date; the dashboard reconnects by itself.
    </Banner>
  );
}

function UpstreamUnreachable({ upstream, setOffline }: { upstream: StatusResponse['upstream']; setOffline: OfflineSwitch }) {
  return (
    <Banner
      tone="danger"
      testId="upstream-banner"
      detail={
        upstream.lastError
          ? `Last error${upstream.lastErrorAt ? ` (${formatAgo(upstream.lastErrorAt)})` : ''}: ${failureInWords(upstream.lastError).error} (${upstream.lastError})`
          : undefined
      }
      actions={[
        setOffline && { label: 'Work offline', onClick: () => setOffline.to(true), disabled: setOffline.busy },
        { label: 'Upstream settings', href: href('settings') },
      ]}
    >
      <strong>Upstream unreachable — cached content is still served.</strong> Packages not in the cache can’t be fetched until {upstream.url} answers again.
    </Banner>
  );
}

function StorageFull({ storage }: { storage: StatusResponse['storage'] }) {
  const shared = storage.backend === 's3';
  return (
    <Banner
      tone="danger"
      testId="storage-banner"
      detail={storage.lastError ? `Since ${formatAgo(storage.since ?? storage.lastErrorAt ?? Date.now())}: ${storage.lastError}` : undefined}
      actions={[{ label: 'Disk use', href: href('disk') }]}
    >
      <strong>
        {shared ? 'Shared storage' : 'Cache disk'}: {storage.reason ?? 'write failed'} — new downloads are passed through without being kept.
      </strong>{' '}
      Cached content is still served; caching resumes by itself once {shared ? 'the object store takes writes again' : 'space is freed'}
      {storage.freeBytes !== undefined ? ` (free now: ${formatBytes(storage.freeBytes)})` : ''}.
    </Banner>
  );
}

function OfflineMode({ setOffline }: { setOffline: OfflineSwitch }) {
  return (
    <Banner
      tone="info"
      testId="offline-banner"
      actions={[setOffline && { label: 'Go online', onClick: () => setOffline.to(false), disabled: setOffline.busy }]}
    >
      <strong>Offline mode.</strong> Only cached content is served; the upstream is not contacted.
    </Banner>
  );
}
