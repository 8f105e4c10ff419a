import type { ReleaseView } from '../../../src-shared/contract';
import { Icon } from '../../components/icons';
import { Badge } from '../../components/ui';
import { formatDateTime } from '../../lib/format';
import { href } from '../../lib/route';

/** A version of the package: a row that opens to its dependencies and checksums. */
export function Release({ release, expanded, onToggle, onDelete }: { release: ReleaseView; expanded: boolean; onToggle: () => void; onDelete: () => void }) {
  const panelId = `release-${release.version.replace(/[^a-z0-9]/gi, '-')}`;
  return (
    <li className={`release${release.retired ? ' retired' : ''}`}>
      <div className="release-row">
        <button type="button" className="release-toggle" aria-expanded={expanded} aria-controls={panelId} onClick={onToggle}>
          <span className={`chevron${expanded ? ' open' : ''}`} aria-hidden="true">
            ›
          </span>
          <span className="mono release-version" title={release.version}>
            {release.version}
          </span>
        </button>
        <span className="release-badges">
          {release.retired ? (
            <Badge tone="warn" title={release.retired.message ?? release.retired.reason}>
              retired: {release.retired.reason}
            </Badge>
          ) : null}
          {release.cached.tarball ? (
            <Badge tone="ok">cached</Badge>
          ) : release.evicted ? (
            // Not a failure: the cap made room, and the next request fetches it again.
            <Badge tone="neutral" title={`Evicted ${formatDateTime(release.evicted.at)} to stay under the size cap; fetched again when asked for`}>
              evicted (size cap)
            </Badge>
          ) : (
            <Badge>not cached</Badge>
          )}
          {release.cached.docs ? <Badge tone="info">docs</Badge> : null}
        </span>
        <span className="muted small num release-deps">
          {release.dependencies.length} dep{release.dependencies.length === 1 ? '' : 's'}
        </span>
        {release.cached.tarball || release.cached.docs ? (
          <button
            type="button"
            className="icon-button danger"
            onClick={onDelete}
            aria-label={`Delete release ${release.version}`}
            title="Delete this release from the cache"
          >
            <Icon name="trash" size={15} />
          </button>
        ) : (
          <span className="icon-button-placeholder" />
        )}
      </div>
      {expanded ? <ReleasePanel id={panelId} release={release} /> : null}
    </li>
  );
}

function ReleasePanel({ id, release }: { id: string; release: ReleaseView }) {
  return (
    <div className="release-panel" id={id}>
      {release.retired?.message ? (
        <p className="retired-message">
          Retired ({release.retired.reason}): {release.retired.message}
        </p>
      ) : null}
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
  );
}
