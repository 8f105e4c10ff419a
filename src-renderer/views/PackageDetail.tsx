import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { ApiError } from '../../src-shared/api-client';
import type { DeleteResponse, ReleaseView } from '../../src-shared/contract';
import { api } from '../api';
import { Icon } from '../components/icons';
import { Badge, ConfirmDialog, Loading, QueryError } from '../components/ui';
import { useToast } from '../components/toasts';
import { formatAgo, formatBytes, formatCount, formatDateTime, KIND_LABELS } from '../lib/format';
import { useNow } from '../lib/clock';
import { keys, usePackage } from '../lib/queries';
import { href } from '../lib/route';

type Pending = { kind: 'package' } | { kind: 'release'; version: string } | null;

export function PackageDetail({ name, onClose }: { name: string; onClose: () => void }) {
  const detail = usePackage(name);
  const now = useNow(10_000);
  const client = useQueryClient();
  const toast = useToast();
  const [pending, setPending] = useState<Pending>(null);
  const [open, setOpen] = useState<string | null>(null);

  const remove = useMutation({
    mutationFn: (what: NonNullable<Pending>): Promise<DeleteResponse> => (what.kind === 'package' ? api.deletePackage(name) : api.deleteRelease(name, what.version)),
    onSuccess: (result, what) => {
      toast('ok', `${what.kind === 'package' ? `Deleted ${name}` : `Deleted ${name} ${what.version}`}: freed ${formatBytes(result.freedBytes)}`);
      setPending(null);
      void client.invalidateQueries({ queryKey: keys.cache });
      void client.invalidateQueries({ queryKey: keys.disk });
      void client.invalidateQueries({ queryKey: keys.status });
      if (what.kind === 'package') {
        client.removeQueries({ queryKey: keys.package(name) });
        onClose();
      } else void client.invalidateQueries({ queryKey: keys.package(name) });
    },
  });

  const data = detail.data;
  const cachedReleases = data?.registry?.releases.filter((r) => r.cached.tarball).length ?? data?.objects.filter((o) => o.kind === 'tarball').length ?? 0;

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
        {data ? (
          <>
            <dl className="facts facts-inline">
              <dt>On disk</dt>
              <dd className="num">{formatBytes(data.size)}</dd>
              <dt>Cached releases</dt>
              <dd className="num">{formatCount(cachedReleases)}</dd>
              <dt>Registry record</dt>
              <dd>{data.registry ? `fetched ${formatAgo(data.registry.fetchedAt, now)}, checked ${formatAgo(data.registry.validatedAt, now)}` : 'not cached'}</dd>
            </dl>

            <h3>Versions</h3>
            {data.registry ? (
              <ul className="release-list" aria-label={`Versions of ${name}`}>
                {data.registry.releases.map((release) => (
                  <Release
                    key={release.version}
                    release={release}
                    expanded={open === release.version}
                    onToggle={() => setOpen(open === release.version ? null : release.version)}
                    onDelete={() => setPending({ kind: 'release', version: release.version })}
                  />
                ))}
              </ul>
            ) : (
              <p className="muted">The registry record is not cached, so the list of versions is unknown. It is fetched the next time a client asks for {name}.</p>
            )}

            <h3>Stored files</h3>
            <table className="mini-table">
              <thead>
                <tr>
                  <th scope="col">File</th>
                  <th scope="col" className="right">
                    Size
                  </th>
                  <th scope="col" className="right">
                    Hits
                  </th>
                  <th scope="col">Last used</th>
                </tr>
              </thead>
              <tbody>
                {data.objects.map((o) => (
                  <tr key={o.key}>
                    <td className="mono" title={KIND_LABELS[o.kind] ?? o.kind}>
                      {o.key}
                    </td>
                    <td className="right num">{formatBytes(o.size)}</td>
                    <td className="right num">{formatCount(o.hits)}</td>
                    <td title={formatDateTime(o.lastUsedAt)}>{formatAgo(o.lastUsedAt, Math.max(now, o.lastUsedAt))}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        ) : null}
      </div>
      <ConfirmDialog
        open={pending !== null}
        title={pending?.kind === 'package' ? `Delete ${name} from the cache?` : `Delete ${name} ${pending?.kind === 'release' ? pending.version : ''}?`}
        confirmLabel={pending?.kind === 'package' ? 'Delete package' : 'Delete release'}
        busy={remove.isPending}
        error={remove.error}
        onCancel={() => {
          setPending(null);
          remove.reset();
        }}
        onConfirm={() => pending && remove.mutate(pending)}
      >
        {pending?.kind === 'package' ? (
          <p>
            Every stored file of <strong>{name}</strong> ({formatBytes(data?.size ?? 0)}) is removed: tarballs, docs and the registry record. Clients asking for it again get it fetched from
            the upstream.
          </p>
        ) : (
          <p>The tarball (and docs, if cached) of this release is removed. It is fetched again from the upstream when a client asks for it.</p>
        )}
      </ConfirmDialog>
    </aside>
  );
}

function Release({ release, expanded, onToggle, onDelete }: { release: ReleaseView; expanded: boolean; onToggle: () => void; onDelete: () => void }) {
  const panelId = `release-${release.version.replace(/[^a-z0-9]/gi, '-')}`;
  return (
    <li className={`release${release.retired ? ' retired' : ''}`}>
      <div className="release-row">
        <button type="button" className="release-toggle" aria-expanded={expanded} aria-controls={panelId} onClick={onToggle}>
          <span className={`chevron${expanded ? ' open' : ''}`} aria-hidden="true">
            ›
          </span>
          <span className="mono release-version">{release.version}</span>
        </button>
        <span className="release-badges">
          {release.retired ? (
            <Badge tone="warn" title={release.retired.message ?? release.retired.reason}>
              retired: {release.retired.reason}
            </Badge>
          ) : null}
          {release.cached.tarball ? <Badge tone="ok">cached</Badge> : <Badge>not cached</Badge>}
          {release.cached.docs ? <Badge tone="info">docs</Badge> : null}
        </span>
        <span className="muted small num release-deps">
          {release.dependencies.length} dep{release.dependencies.length === 1 ? '' : 's'}
        </span>
        {release.cached.tarball || release.cached.docs ? (
          <button type="button" className="icon-button danger" onClick={onDelete} aria-label={`Delete release ${release.version}`} title="Delete this release from the cache">
            <Icon name="trash" size={15} />
          </button>
        ) : (
          <span className="icon-button-placeholder" />
        )}
      </div>
      {expanded ? (
        <div className="release-panel" id={panelId}>
          {release.retired?.message ? <p className="retired-message">Retired ({release.retired.reason}): {release.retired.message}</p> : null}
          {release.dependencies.length ? (
            <ul className="deps">
              {release.dependencies.map((d) => (
                <li key={d.package}>
                  <a href={href('cache', d.package)} className="mono">
                    {d.package}
                  </a>{' '}
                  <span className="mono muted">{d.requirement}</span>
                  {d.optional ? <Badge>optional</Badge> : null}
                  {d.app !== d.package ? <span className="muted small"> (app {d.app})</span> : null}
                </li>
              ))}
            </ul>
          ) : (
            <p className="muted small">No dependencies.</p>
          )}
          <dl className="facts facts-small">
            {release.publishedAt ? (
              <>
                <dt>Published</dt>
                <dd>{formatDateTime(release.publishedAt * 1000)}</dd>
              </>
            ) : null}
            <dt>Inner checksum</dt>
            <dd className="mono break">{release.innerChecksum}</dd>
            {release.outerChecksum ? (
              <>
                <dt>Outer checksum</dt>
                <dd className="mono break">{release.outerChecksum}</dd>
              </>
            ) : null}
          </dl>
        </div>
      ) : null}
    </li>
  );
}
