import { useState } from 'react';
import { ApiError } from '../../../src-shared/api-client';
import type { PackageDetailResponse } from '../../../src-shared/contract';
import { Icon } from '../../components/icons';
import { useToast } from '../../components/toasts';
import { Loading, QueryError } from '../../components/ui';
import { useNow } from '../../lib/clock';
import { formatAgo, formatBytes, formatCount } from '../../lib/format';
import { useDeleteCached, type Deletion } from '../../lib/mutations';
import { usePackage } from '../../lib/queries';
import { DeleteDialog } from './DeleteDialog';
import { Release } from './Release';
import { StoredFiles } from './StoredFiles';

/** The cache view's side panel: what of one package is stored, and deleting it. */
export function PackageDetail({ name, onClose }: { name: string; onClose: () => void }) {
  const detail = usePackage(name);
  const toast = useToast();
  const [pending, setPending] = useState<Deletion | null>(null);
  const remove = useDeleteCached(name, (result, what) => {
    toast('ok', `${what.kind === 'package' ? `Deleted ${name}` : `Deleted ${name} ${what.version}`}: freed ${formatBytes(result.freedBytes)}`);
    setPending(null);
    if (what.kind === 'package') onClose();
  });
  const data = detail.data;

  return (
    <aside className="detail" aria-labelledby="detail-title">
      <div className="detail-header">
        <div>
          <div className="eyebrow">Package</div>
          <h2 id="detail-title">{name}</h2>
        </div>
        <div className="detail-actions">
          {data ? (
            <button type="button" className="btn btn-danger-outline" onClick={() => setPending({ kind: 'package' })}>
              <Icon name="trash" /> Delete package
            </button>
          ) : null}
          <button type="button" className="icon-button" onClick={onClose} aria-label="Close package details">
            <Icon name="close" />
          </button>
        </div>
      </div>
      <div className="detail-body">
        {detail.isPending ? <Loading /> : null}
        {detail.isError ? (
          detail.error instanceof ApiError && detail.error.status === 404 ? (
            <div className="empty">Nothing of {name} is cached.</div>
          ) : (
            <QueryError error={detail.error} onRetry={() => void detail.refetch()} />
          )
        ) : null}
        {data ? <PackageContents detail={data} onDeleteRelease={(version) => setPending({ kind: 'release', version })} /> : null}
      </div>
      <DeleteDialog
        name={name}
        size={data?.size ?? 0}
        pending={pending}
        busy={remove.isPending}
        error={remove.error}
        onCancel={() => {
          setPending(null);
          remove.reset();
        }}
        onConfirm={() => pending && remove.mutate(pending)}
      />
    </aside>
  );
}

function PackageContents({ detail, onDeleteRelease }: { detail: PackageDetailResponse; onDeleteRelease: (version: string) => void }) {
  const now = useNow(10_000);
  const [open, setOpen] = useState<string | null>(null);
  const { name, registry } = detail;
  const cachedReleases = registry?.releases.filter((r) => r.cached.tarball).length ?? detail.objects.filter((o) => o.kind === 'tarball').length;
  return (
    <>
      <dl className="facts facts-inline">
        <dt>On disk</dt>
        <dd className="num">{formatBytes(detail.size)}</dd>
        <dt>Cached releases</dt>
        <dd className="num">{formatCount(cachedReleases)}</dd>
        <dt>Registry record</dt>
        <dd>{registry ? `fetched ${formatAgo(registry.fetchedAt, now)}, checked ${formatAgo(registry.validatedAt, now)}` : 'not cached'}</dd>
      </dl>

      <h3>Versions</h3>
      {registry ? (
        <ul className="release-list" aria-label={`Versions of ${name}`}>
          {registry.releases.map((release) => (
            <Release
              key={release.version}
              release={release}
              expanded={open === release.version}
              onToggle={() => setOpen(open === release.version ? null : release.version)}
              onDelete={() => onDeleteRelease(release.version)}
            />
          ))}
        </ul>
      ) : (
        <p className="muted">The registry record is not cached, so the list of versions is unknown. It is fetched the next time a client asks for {name}.</p>
      )}

      <h3>Stored files</h3>
      <StoredFiles objects={detail.objects} now={now} />
    </>
  );
}
