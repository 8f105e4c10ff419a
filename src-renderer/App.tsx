import { useQueryClient } from '@tanstack/react-query';
import { lazy, Suspense, useEffect, type ReactNode } from 'react';
import { Icon, Logo, type IconName } from './components/icons';
import { StatusBanners } from './components/status-banners';
import { ConfirmDialog, Dot, Loading } from './components/ui';
import { formatCount } from './lib/format';
import { useEventStream, useLive, type Connection } from './lib/live';
import { useMirrorState } from './lib/mirror-state';
import { useStatus } from './lib/queries';
import { href, leaveAnyway, stay, useHeldNavigation, useRoute, type View } from './lib/route';
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
  // Each view starts at its top, not where the last one was scrolled to.
  useEffect(() => {
    document.getElementById('main')?.scrollTo({ top: 0 });
  }, [route.view]);

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
      <a
        className="skip-link"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          document.getElementById('main')?.focus();
        }}
      >
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
                {/* Below ~1000 px only the icon shows: the label stays the link's name, and its tooltip. */}
                <a href={href(item.view)} className="nav-link" aria-current={route.view === item.view ? 'page' : undefined} title={item.label}>
                  <Icon name={item.icon} size={18} />
                  <span className="nav-label">{item.label}</span>
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
        <StatusBanners />
        <main id="main" className={`page page-${route.view}`} tabIndex={-1}>
          {page}
        </main>
      </div>
      <LeaveGuardDialog />
    </div>
  );
}

/** Asks before a view change drops unsaved edits (the Settings form sets the guard). */
function LeaveGuardDialog() {
  const held = useHeldNavigation();
  return (
    <ConfirmDialog open={held !== null} title="Leave without saving?" confirmLabel="Discard changes" onConfirm={leaveAnyway} onCancel={stay}>
      <p>The settings have changes that are not saved yet. Leaving this view discards them.</p>
    </ConfirmDialog>
  );
}

const MIRROR_TEXT = { running: 'Mirror running', down: 'Mirror not answering', connecting: 'Connecting…' } as const;

function SidebarFooter() {
  const status = useStatus();
  const { connection } = useLive();
  const mirror = useMirrorState();
  return (
    <div className="sidebar-footer">
      <div className="server-state" title={MIRROR_TEXT[mirror]}>
        <Dot tone={mirror === 'running' ? 'ok' : mirror === 'down' ? 'danger' : 'muted'} />
        <span>{MIRROR_TEXT[mirror]}</span>
      </div>
      {status.data ? <div className="server-url">{status.data.url.replace(/^https?:\/\//, '')}</div> : null}
      <div
        className={`connection connection-${connection}`}
        title={`${CONNECTION_TEXT[connection]}: the dashboard’s event stream from the mirror`}
        data-connection={connection}
      >
        <Dot tone={connection === 'live' ? 'ok' : connection === 'refused' ? 'danger' : 'warn'} />
        <span>{CONNECTION_TEXT[connection]}</span>
      </div>
      {status.data ? <div className="version">v{status.data.version}</div> : null}
    </div>
  );
}
