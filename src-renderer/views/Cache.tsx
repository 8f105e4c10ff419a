import { useQueries } from '@tanstack/react-query';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useId, useMemo, useRef, useState } from 'react';
import type { CachedPackageSummary, CacheListQuery, CacheListResponse, CacheSortField } from '../../src-shared/contract';
import { Icon } from '../components/icons';
import { Badge, PageHeader, QueryError } from '../components/ui';
import { useToast } from '../components/toasts';
import { formatAgo, formatBytes, formatCount, formatDateTime, formatDuration } from '../lib/format';
import { useNow } from '../lib/clock';
import { useVerifyCache } from '../lib/mutations';
import { cachePageQuery, errorMessage, useCachePage, useStatus } from '../lib/queries';
import { href, navigate } from '../lib/route';
import { PackageDetail } from './package/PackageDetail';

const PAGE_SIZE = 100;
const ROW_HEIGHT = 40;

const COLUMNS: { field: CacheSortField; label: string; className: string }[] = [
  { field: 'name', label: 'Package', className: 'col-name' },
  { field: 'releases', label: 'Cached releases', className: 'col-releases' },
  { field: 'size', label: 'Size', className: 'col-size' },
  { field: 'fetched', label: 'Fetched', className: 'col-date' },
  { field: 'lastUsed', label: 'Last used', className: 'col-date' },
  { field: 'hits', label: 'Hits', className: 'col-hits' },
];

function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}

export function CacheView({ selected }: { selected?: string | undefined }) {
  const status = useStatus();
  const [search, setSearch] = useState('');
  const q = useDebounced(search.trim().toLowerCase(), 200);
  const [sort, setSort] = useState<CacheSortField>('name');
  const [order, setOrder] = useState<'asc' | 'desc'>('asc');
  const query = useMemo<Omit<CacheListQuery, 'page'>>(() => ({ q, sort, order, pageSize: PAGE_SIZE }), [q, sort, order]);
  const searchId = useId();
  const verify = useVerify();

  const sortBy = (field: CacheSortField) => {
    if (field === sort) setOrder(order === 'asc' ? 'desc' : 'asc');
    else {
      setSort(field);
      setOrder(field === 'name' ? 'asc' : 'desc');
    }
  };

  const c = status.data?.cache;
  return (
    <div className={`cache-layout${selected ? ' with-detail' : ''}`}>
      <div className="cache-main">
        <PageHeader
          title="Cache"
          subtitle={
            c ? (
              <span className="num">
                {formatCount(c.packages)} packages · {formatCount(c.releases)} releases · {formatCount(c.docs)} docs · {formatBytes(c.bytes)} on disk
              </span>
            ) : (
              '\u00a0'
            )
          }
          actions={<VerifyButton verify={verify} />}
        />
        <VerifyOutcome verify={verify} />
        <div className="toolbar">
          <label htmlFor={searchId} className="sr-only">
            Search packages
          </label>
          <div className="search">
            <Icon name="search" />
            <input
              id={searchId}
              type="search"
              placeholder="Search packages"
              value={search}
              onChange={(e) => setSearch(e.currentTarget.value)}
              autoComplete="off"
              spellCheck={false}
            />
          </div>
        </div>
        <PackageTable query={query} sort={sort} order={order} onSort={sortBy} selected={selected} />
      </div>
      {selected ? <PackageDetail key={selected} name={selected} onClose={() => navigate('cache')} /> : null}
    </div>
  );
}

function PackageTable({
  query,
  sort,
  order,
  onSort,
  selected,
}: {
  query: Omit<CacheListQuery, 'page'>;
  sort: CacheSortField;
  order: 'asc' | 'desc';
  onSort: (field: CacheSortField) => void;
  selected: string | undefined;
}) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const now = useNow(15_000);
  const first = useCachePage(query, 1);
  const total = first.data?.total ?? 0;
  const virtualizer = useVirtualizer({
    count: total,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
  });

  // A new search or order starts at the top.
  useEffect(() => {
    scrollRef.current?.scrollTo({ top: 0 });
  }, [query]);

  const rows = virtualizer.getVirtualItems();
  const firstPage = rows.length ? Math.floor(rows[0]!.index / PAGE_SIZE) + 1 : 1;
  const lastPage = rows.length ? Math.floor(rows[rows.length - 1]!.index / PAGE_SIZE) + 1 : 1;
  const pageNumbers: number[] = [];
  for (let p = Math.max(2, firstPage); p <= lastPage; p++) pageNumbers.push(p);
  const pages = useQueries({
    queries: pageNumbers.map((page) => cachePageQuery(query, page)),
  });
  const pageData = new Map<number, CacheListResponse | undefined>([[1, first.data]]);
  pageNumbers.forEach((page, i) => pageData.set(page, pages[i]?.data));
  const failed = pages.find((p) => p.isError);

  const itemAt = (index: number): CachedPackageSummary | undefined => pageData.get(Math.floor(index / PAGE_SIZE) + 1)?.items[index % PAGE_SIZE];

  if (first.isError && !first.data) {
    return <QueryError error={first.error} onRetry={() => void first.refetch()} />;
  }
  return (
    <div className="table package-table" role="table" aria-label="Cached packages" aria-rowcount={total + 1} aria-busy={first.isFetching}>
      <div className="table-head" role="rowgroup">
        <div className="table-row" role="row" aria-rowindex={1}>
          {COLUMNS.map((col) => (
            <div
              key={col.field}
              role="columnheader"
              className={`cell ${col.className}`}
              aria-sort={sort === col.field ? (order === 'asc' ? 'ascending' : 'descending') : 'none'}
            >
              <button type="button" className="sort-button" onClick={() => onSort(col.field)}>
                {col.label}
                <Icon
                  name={sort === col.field && order === 'asc' ? 'arrowUp' : 'arrowDown'}
                  size={12}
                  className={sort === col.field ? 'sort-icon active' : 'sort-icon'}
                />
              </button>
            </div>
          ))}
        </div>
      </div>
      <div className="table-body" ref={scrollRef} role="rowgroup" data-testid="package-rows">
        {failed ? <QueryError compact error={failed.error} onRetry={() => void failed.refetch()} /> : null}
        {first.data && total === 0 ? (
          <div className="table-empty">
            {query.q ? `No cached package matches “${query.q}”.` : 'Nothing is cached yet. Packages appear here as clients fetch them or a pre-warm runs.'}
          </div>
        ) : null}
        {!first.data && first.isPending ? <div className="table-empty">Loading…</div> : null}
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {rows.map((row) => {
            const item = itemAt(row.index);
            return (
              <div
                key={row.key}
                role="row"
                aria-rowindex={row.index + 2}
                className={`table-row${item && item.name === selected ? ' selected' : ''}`}
                style={{ position: 'absolute', top: 0, left: 0, right: 0, height: ROW_HEIGHT, transform: `translateY(${row.start}px)` }}
                onClick={item ? () => navigate('cache', item.name) : undefined}
              >
                {item ? <PackageRow item={item} now={now} /> : <SkeletonRow />}
              </div>
            );
          })}
        </div>
      </div>
      <div className="table-foot num" aria-live="polite" data-testid="list-count">
        {first.data ? `${formatCount(total)} package${total === 1 ? '' : 's'}${query.q ? ` matching “${query.q}”` : ''}` : '\u00a0'}
      </div>
    </div>
  );
}

function PackageRow({ item, now }: { item: CachedPackageSummary; now: number }) {
  return (
    <>
      <div role="cell" className="cell col-name">
        <a href={href('cache', item.name)} className="package-link" title={item.name} onClick={(e) => e.stopPropagation()}>
          {item.name}
        </a>
      </div>
      <div role="cell" className="cell col-releases">
        {item.versions.length ? (
          <>
            <span className="num count-pill">{item.versions.length}</span>
            <span className="mono muted truncate" title={item.versions.join(', ')}>
              {item.versions.slice(0, 3).join(', ')}
              {item.versions.length > 3 ? ', …' : ''}
            </span>
            {item.docs ? <Badge tone="neutral">{item.docs} docs</Badge> : null}
          </>
        ) : item.evicted ? (
          <span className="muted" title="The size cap evicted its tarballs; they are fetched again when a client asks for them.">
            evicted (size cap)
          </span>
        ) : (
          <span className="muted" title="Only the list of versions is kept; a tarball is fetched when a client asks for it.">
            no tarball cached
          </span>
        )}
      </div>
      <div role="cell" className="cell col-size num" title={formatBytes(item.size)}>
        {formatBytes(item.size)}
      </div>
      <div role="cell" className="cell col-date" title={formatDateTime(item.fetchedAt)}>
        {formatAgo(item.fetchedAt, now)}
      </div>
      <div role="cell" className="cell col-date" title={formatDateTime(item.lastUsedAt)}>
        {formatAgo(item.lastUsedAt, now)}
      </div>
      <div role="cell" className="cell col-hits num" title={`${formatCount(item.hits)} hits`}>
        {formatCount(item.hits)}
      </div>
    </>
  );
}

function SkeletonRow() {
  return (
    <>
      {COLUMNS.map((col) => (
        <div key={col.field} role="cell" className={`cell ${col.className}`}>
          <span className="skeleton" />
        </div>
      ))}
    </>
  );
}

type Verify = ReturnType<typeof useVerify>;

function useVerify() {
  const toast = useToast();
  return useVerifyCache((report) => {
    if (report.problems.length) toast('danger', `${report.problems.length} damaged file(s) quarantined`);
  });
}

function VerifyButton({ verify }: { verify: Verify }) {
  return (
    <button type="button" className="btn" disabled={verify.isPending} onClick={() => verify.mutate()}>
      <Icon name="shield" />
      {verify.isPending ? 'Verifying…' : 'Verify cache'}
    </button>
  );
}

function VerifyOutcome({ verify }: { verify: Verify }) {
  const close = (
    <button type="button" className="icon-button" onClick={() => verify.reset()} aria-label="Close verify outcome">
      <Icon name="close" size={14} />
    </button>
  );
  if (verify.isError) {
    return (
      <div className="notice notice-danger" role="alert" data-testid="verify-outcome">
        <Icon name="warning" />
        <div>
          Verification could not run: {errorMessage(verify.error)}{' '}
          <button type="button" className="btn btn-small" onClick={() => verify.mutate()}>
            Try again
          </button>
        </div>
        {close}
      </div>
    );
  }
  const report = verify.data;
  if (!report) return null;
  const ok = report.problems.length === 0;
  return (
    <div className={`notice ${ok ? 'notice-ok' : 'notice-danger'}`} role="status" data-testid="verify-outcome">
      <Icon name={ok ? 'check' : 'warning'} />
      <div>
        {ok ? (
          <>
            <strong>Cache verified:</strong> all {formatCount(report.checked)} stored files match their checksums (in{' '}
            {report.durationMs < 1000 ? `${Math.max(1, Math.round(report.durationMs))} ms` : formatDuration(report.durationMs / 1000)}).
          </>
        ) : (
          <>
            <strong>
              {report.problems.length} damaged file{report.problems.length === 1 ? '' : 's'}
            </strong>{' '}
            of {formatCount(report.checked)} checked; moved to quarantine and fetched again on the next request.
            <ul className="problem-list">
              {report.problems.map((p) => (
                <li key={p.key}>
                  <span className="mono break">{p.key}</span>: {p.reason}
                </li>
              ))}
            </ul>
          </>
        )}
      </div>
      {close}
    </div>
  );
}
