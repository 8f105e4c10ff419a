import { useMutation, useQueryClient } from '@tanstack/react-query';
import { lazy, Suspense, type ReactNode } from 'react';
import { api } from './api';
import { Icon, Logo, type IconName } from './components/icons';
import { Dot, Loading } from './components/ui';
import { formatAgo, formatBytes, formatCount } from './lib/format';
import { useEventStream, useLive, type Connection } from './lib/live';
import { errorMessage, keys, useSettings, useStatus } from './lib/queries';
import { href, useRoute, type View } from './lib/route';
import { CacheView } from './views/Cache';
import { DownloadsView } from './views/Downloads';
import { OverviewView } from './views/Overview';
import { SettingsView } from './views/Settings';

// recharts is the bulk of the bundle: loaded when the disk view first opens.
const DiskView = lazy(() => import('./views/Disk').then((m) => ({ default: m.DiskView })));

const NAV: { view: View; label: string; icon: IconName }[] = [
  { view: 'overview', label: 'Overview', icon: 'overview' },
  { view: 'cache', label: 'Cache', icon: 'cache' },
  { view: 'downloads', label: 'Downloads', icon: 'downloads' },
  { view: 'disk', label: 'Disk', icon: 'disk' },
  { view: 'settings', label: 'Settings', icon: 'settings' },
];

const CONNECTION_TEXT: Record<Connection, string> = {
  connecting: 'Connecting…',
  live: 'Live updates',
  reconnecting: 'Reconnecting…',
  refused: 'Updates refused',
};

export function App() {
  const client = useQueryClient();
  useEventStream(client);
  const route = useRoute();
  const status = useStatus();
  const { transfers } = useLive();
  const busy = transfers.length + (status.data?.busy.jobs ?? 0);

  let page: ReactNode;
  switch (route.view) {
    case 'cache':
      page = <CacheView selected={route.param} />;
      break;
    case 'downloads':
      page = <DownloadsView />;
      break;
    case 'disk':
      page = (
        <Suspense fallback={<Loading />}>
          <DiskView />
        </Suspense>
      );
      break;
    case 'settings':
      page = <SettingsView />;
      break;
    default:
      page = <OverviewView />;
  }

  return (
    <div className="app">
      <a className="skip-link" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>
        Skip to content
      </a>
      <aside className="sidebar">
        <div className="brand">
          <Logo />
          <div>
            <div className="brand-name">HexHub</div>
            <div className="brand-sub">hex.pm mirror</div>
          </div>
        </div>
        <nav aria-label="Views">
          <ul>
            {NAV.map((item) => (
              <li key={item.view}>
                <a href={href(item.view)} className="nav-link" aria-current={route.view === item.view ? 'page' : undefined}>
                  <Icon name={item.icon} size={18} />
                  <span>{item.label}</span>
                  {item.view === 'cache' && status.data ? <span className="nav-count">{formatCount(status.data.cache.packages)}</span> : null}
                  {item.view === 'downloads' && busy > 0 ? (
                    <span className="nav-count nav-count-active" aria-label={`${busy} active`}>
                      {busy}
                    </span>
                  ) : null}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <SidebarFooter />
      </aside>
      <div className="main">
        <Banners />
        <main id="main" className={`page page-${route.view}`} tabIndex={-1}>
          {page}
        </main>
      </div>
    </div>
  );
}

function SidebarFooter() {
  const status = useStatus();
  const { connection } = useLive();
  const running = status.data && !status.isError;
  return (
    <div className="sidebar-footer">
      <div className="server-state">
        <Dot tone={running ? 'ok' : status.isError ? 'danger' : 'muted'} />
        <span>{running ? 'Mirror running' : status.isError ? 'Mirror not answering' : 'Connecting…'}</span>
      </div>
      {status.data ? <div className="server-url">{status.data.url.replace(/^https?:\/\//, '')}</div> : null}
      <div className={`connection connection-${connection}`} title="The dashboard’s event stream from the mirror" data-connection={connection}>
        <Dot tone={connection === 'live' ? 'ok' : connection === 'refused' ? 'danger' : 'warn'} />
        <span>{CONNECTION_TEXT[connection]}</span>
      </div>
      {status.data ? <div className="version">v{status.data.version}</div> : null}
    </div>
  );
}

function Banners() {
  const status = useStatus();
  const settings = useSettings();
  const { connection } = useLive();
  const client = useQueryClient();
  const goOffline = useMutation({
    mutationFn: (enabled: boolean) => api.updateSettings({ upstreamEnabled: enabled }),
    onSuccess: (data) => {
      client.setQueryData(keys.settings, data);
      void client.invalidateQueries({ queryKey: keys.status });
    },
  });
  const offlineFixed = settings.data?.fixedByEnv.upstreamEnabled;
  const upstream = status.data?.upstream;
  const banners: ReactNode[] = [];

  if (connection === 'refused') {
    banners.push(
      <div key="refused" className="banner banner-danger" role="alert">
        <Icon name="warning" />
        <div className="banner-text">
          <strong>The mirror no longer accepts this dashboard’s sign-in.</strong> It may have expired, or the mirror was restarted with another data dir. Run <code>hexhub dashboard</code> for a new sign-in link.
        </div>
        <button type="button" className="btn btn-small" onClick={() => window.location.reload()}>
          Reload
        </button>
      </div>,
    );
  }
  if (status.isError && !status.data) {
    banners.push(
      <div key="down" className="banner banner-danger" role="alert">
        <Icon name="warning" />
        <div className="banner-text">
          <strong>The mirror is not answering.</strong> {errorMessage(status.error)}
        </div>
        <button type="button" className="btn btn-small" onClick={() => void status.refetch()}>
          Retry
        </button>
      </div>,
    );
  }
  if (upstream && upstream.enabled && upstream.reachable === false) {
    banners.push(
      <div key="upstream" className="banner banner-danger" role="alert" data-testid="upstream-banner">
        <Icon name="warning" />
        <div className="banner-text">
          <strong>Upstream unreachable — cached content is still served.</strong> Packages not in the cache can’t be fetched until {upstream.url} answers again.
          {upstream.lastError ? (
            <span className="banner-detail">
              Last error{upstream.lastErrorAt ? ` (${formatAgo(upstream.lastErrorAt)})` : ''}: {upstream.lastError}
            </span>
          ) : null}
        </div>
        <div className="banner-actions">
          {!offlineFixed ? (
            <button type="button" className="btn btn-small" onClick={() => goOffline.mutate(false)} disabled={goOffline.isPending}>
              Work offline
            </button>
          ) : null}
          <a className="btn btn-small" href={href('settings')}>
            Upstream settings
          </a>
        </div>
      </div>,
    );
  }
  const storage = status.data?.storage;
  if (storage && !storage.writable) {
    banners.push(
      <div key="storage" className="banner banner-danger" role="alert" data-testid="storage-banner">
        <Icon name="warning" />
        <div className="banner-text">
          <strong>{storage.backend === 's3' ? 'Shared storage' : 'Cache disk'}: {storage.reason ?? 'write failed'} — new downloads are passed through without being kept.</strong> Cached content is still served; caching resumes by itself once {storage.backend === 's3' ? 'the object store takes writes again' : 'space is freed'}
          {storage.freeBytes !== undefined ? ` (free now: ${formatBytes(storage.freeBytes)})` : ''}.
          {storage.lastError ? (
            <span className="banner-detail">
              Since {formatAgo(storage.since ?? storage.lastErrorAt ?? Date.now())}: {storage.lastError}
            </span>
          ) : null}
        </div>
        <div className="banner-actions">
          <a className="btn btn-small" href={href('disk')}>
            Disk use
          </a>
        </div>
      </div>,
    );
  }
  if (status.data?.offline) {
    banners.push(
      <div key="offline" className="banner banner-info" role="status" data-testid="offline-banner">
        <Icon name="info" />
        <div className="banner-text">
          <strong>Offline mode.</strong> Only cached content is served; the upstream is not contacted.
        </div>
        {!offlineFixed ? (
          <button type="button" className="btn btn-small" onClick={() => goOffline.mutate(true)} disabled={goOffline.isPending}>
            Go online
          </button>
        ) : null}
      </div>,
    );
  }
  if (goOffline.isError) {
    banners.push(
      <div key="offline-error" className="banner banner-danger" role="alert">
        <Icon name="warning" />
        <div className="banner-text">Could not change offline mode: {errorMessage(goOffline.error)}</div>
        <button type="button" className="btn btn-small" onClick={() => goOffline.reset()}>
          Dismiss
        </button>
      </div>,
    );
  }
  return banners.length ? <div className="banners">{banners}</div> : null;
}
