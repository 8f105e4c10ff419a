import { useEffect, useState } from 'react';
import { Bar, BarChart, Cell, LabelList, Pie, PieChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { DiskUsageResponse, ObjectKind } from '../../src-shared/contract';
import { CapPreviewDialog, useCapPreview } from '../components/cap-preview';
import { capToDraft, draftToCap, SizeCapInput, type CapDraft } from '../components/size-cap';
import { Card, Empty, Loading, PageHeader, QueryError } from '../components/ui';
import { useToast } from '../components/toasts';
import { formatBytes, formatPercent, KIND_LABELS } from '../lib/format';
import { useSaveSettings } from '../lib/mutations';
import { errorMessage, fieldErrors, useDisk, useSettings } from '../lib/queries';
import { href } from '../lib/route';

const KIND_ORDER: ObjectKind[] = ['tarball', 'docs', 'registry', 'api', 'installs', 'public_key'];
const KIND_COLOR: Record<ObjectKind, string> = {
  tarball: 'var(--chart-1)',
  docs: 'var(--chart-2)',
  registry: 'var(--chart-3)',
  api: 'var(--chart-4)',
  installs: 'var(--chart-5)',
  public_key: 'var(--chart-6)',
};

export function DiskView() {
  const disk = useDisk();
  return (
    <>
      <PageHeader title="Disk" subtitle="What the cache takes on disk, what takes the room, and the cap that keeps it in bounds." />
      {disk.isPending ? <Loading /> : null}
      {disk.isError && !disk.data ? <QueryError error={disk.error} onRetry={() => void disk.refetch()} /> : null}
      {disk.data ? (
        <>
          {disk.isError ? <QueryError compact error={disk.error} onRetry={() => void disk.refetch()} /> : null}
          <div className="grid grid-disk">
            <Usage disk={disk.data} />
            <CapCard disk={disk.data} />
          </div>
          <div className="grid grid-2">
            <ByPackage disk={disk.data} />
            <ByKind disk={disk.data} />
          </div>
        </>
      ) : null}
    </>
  );
}

function Usage({ disk }: { disk: DiskUsageResponse }) {
  const capped = disk.byKind.tarball + disk.byKind.docs;
  const cap = disk.sizeCapBytes;
  // Used as `df` counts it: blocks reserved for root are neither used by files nor free to us.
  const used = disk.volumeUsedBytes ?? disk.volumeBytes - disk.freeBytes;
  const other = Math.max(0, used - disk.totalBytes);
  const scale = used + disk.freeBytes;
  const pct = (n: number) => `${scale > 0 ? (n / scale) * 100 : 0}%`;
  return (
    <Card title="Usage">
      <div className="big-numbers">
        <div>
          <div className="tile-label">Cache</div>
          <div className="big-value num" data-testid="disk-total">
            {formatBytes(disk.totalBytes)}
          </div>
        </div>
        <div>
          <div className="tile-label">Size cap</div>
          <div className="big-value num" data-testid="disk-cap">
            {cap === null ? 'none' : formatBytes(cap)}
          </div>
        </div>
        <div>
          <div className="tile-label">Free on the volume</div>
          <div className="big-value num" data-testid="disk-free">
            {formatBytes(disk.freeBytes)}
          </div>
        </div>
      </div>
      {cap !== null ? (
        <div className="meter-block">
          <div className="meter-label num">
            <span>Tarballs and docs against the cap</span>
            <span>
              {formatBytes(capped)} of {formatBytes(cap)} ({formatPercent(cap > 0 ? capped / cap : null)})
            </span>
          </div>
          <div
            className="progress progress-large"
            role="meter"
            aria-label="Cache use against the size cap"
            aria-valuemin={0}
            aria-valuemax={cap}
            aria-valuenow={Math.min(capped, cap)}
          >
            <div className={`progress-fill${capped / cap > 0.9 ? ' warn' : ''}`} style={{ width: `${Math.min(100, (capped / cap) * 100)}%` }} />
          </div>
          <p className="hint">When the cap is reached, the least recently used tarballs and docs are evicted; registry records are kept.</p>
        </div>
      ) : (
        <p className="hint">No size cap: the cache grows as clients fetch packages. Set a cap to evict the least recently used tarballs and docs.</p>
      )}
      <div className="meter-block">
        <div className="meter-label num">
          <span>Volume</span>
          <span data-testid="disk-volume-used">
            {formatBytes(used)} used of {formatBytes(disk.volumeBytes)}
          </span>
        </div>
        <div
          className="stacked"
          role="img"
          aria-label={`Volume: cache ${formatBytes(disk.totalBytes)}, other files ${formatBytes(other)}, free ${formatBytes(disk.freeBytes)}`}
        >
          <span className="stacked-cache" style={{ width: pct(disk.totalBytes) }} />
          <span className="stacked-other" style={{ width: pct(other) }} />
        </div>
        <ul className="legend num">
          <li>
            <span className="swatch stacked-cache" /> Cache {formatBytes(disk.totalBytes)}
          </li>
          <li>
            <span className="swatch stacked-other" /> Other files <span data-testid="disk-other">{formatBytes(other)}</span>
          </li>
          <li>
            <span className="swatch stacked-free" /> Free {formatBytes(disk.freeBytes)}
          </li>
        </ul>
      </div>
    </Card>
  );
}

function CapCard({ disk }: { disk: DiskUsageResponse }) {
  const settings = useSettings();
  const toast = useToast();
  const [draft, setDraft] = useState<CapDraft>(() => capToDraft(disk.sizeCapBytes));
  const [localError, setLocalError] = useState<string>();
  const save = useSaveSettings({
    onSuccess: (data) => toast('ok', data.values.sizeCapBytes === null ? 'Size cap removed' : `Size cap set to ${formatBytes(data.values.sizeCapBytes)}`),
  });
  // Follow changes made elsewhere while nothing is being edited here.
  const current = settings.data?.values.sizeCapBytes ?? disk.sizeCapBytes;
  const [base, setBase] = useState(current);
  useEffect(() => {
    if (current !== base) {
      setBase(current);
      setDraft(capToDraft(current));
    }
  }, [current, base]);

  const fixed = settings.data?.fixedByEnv.sizeCapBytes;
  const error = localError ?? fieldErrors(save.error).sizeCapBytes ?? (save.isError ? errorMessage(save.error) : undefined);
  const parsed = draftToCap(draft);
  const changed = typeof parsed === 'number' || parsed === null ? parsed !== current : true;
  const preview = useCapPreview();
  const previewError = preview.error ? `Could not check what the cap would evict: ${errorMessage(preview.error)}` : undefined;
  return (
    <Card title="Change the cap">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const value = draftToCap(draft);
          if (value !== null && typeof value === 'object') return setLocalError(value.error);
          setLocalError(undefined);
          preview.check(value, () => save.mutate({ sizeCapBytes: value }));
        }}
      >
        <SizeCapInput
          value={draft}
          onChange={(next) => {
            setDraft(next);
            setLocalError(undefined);
            save.reset();
            preview.reset();
          }}
          disabled={Boolean(fixed)}
          error={error ?? previewError}
        />
        {fixed ? (
          <p className="hint">Fixed by the environment variable {fixed}; change it there and restart the mirror.</p>
        ) : (
          <p className="hint">Applies at once; at least 1 MiB. If it evicts anything, you see what first.</p>
        )}
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={Boolean(fixed) || save.isPending || preview.checking || !changed}>
            {save.isPending ? 'Saving…' : preview.checking ? 'Checking…' : 'Apply cap'}
          </button>
          <a href={href('settings')} className="muted small">
            All settings
          </a>
        </div>
      </form>
      <CapPreviewDialog state={preview} busy={save.isPending} />
    </Card>
  );
}

function ChartTooltip({
  active,
  payload,
}: {
  active?: boolean;
  payload?: readonly { name?: string | number; value?: unknown; payload?: { name?: string; label?: string } }[];
}) {
  if (!active || !payload?.length) return null;
  const entry = payload[0]!;
  return (
    <div className="chart-tooltip">
      <strong>{entry.payload?.label ?? entry.payload?.name ?? entry.name}</strong> {formatBytes(Number(entry.value))}
    </div>
  );
}

function ByPackage({ disk }: { disk: DiskUsageResponse }) {
  const data = disk.byPackage;
  const height = Math.max(120, data.length * 26 + 16);
  return (
    <Card title="Largest packages" actions={<span className="hint">tarballs and docs, top {data.length || 25}</span>}>
      {data.length === 0 ? (
        <Empty>No tarballs or docs are cached yet.</Empty>
      ) : (
        <div className="chart" style={{ height }} data-testid="chart-by-package">
          <ResponsiveContainer width="100%" height="100%">
            <BarChart data={data} layout="vertical" margin={{ top: 4, right: 72, bottom: 4, left: 4 }} barCategoryGap={5}>
              <XAxis type="number" hide />
              <YAxis
                type="category"
                dataKey="name"
                width={120}
                tickLine={false}
                axisLine={false}
                tick={{ fill: 'var(--text-muted)', fontSize: 12 }}
                interval={0}
                // Long names (up to 60 characters) are cut here; the tooltip and the table below have them whole.
                tickFormatter={(name: string) => (name.length > 16 ? `${name.slice(0, 15)}…` : name)}
              />
              <Tooltip content={ChartTooltip} cursor={{ fill: 'var(--hover)' }} isAnimationActive={false} />
              <Bar dataKey="bytes" fill="var(--chart-1)" radius={[0, 3, 3, 0]} isAnimationActive={false}>
                <LabelList dataKey="bytes" position="right" formatter={(value: unknown) => formatBytes(Number(value))} className="bar-label" />
              </Bar>
            </BarChart>
          </ResponsiveContainer>
        </div>
      )}
      <table className="sr-only" aria-label="Largest packages">
        <tbody>
          {data.map((p) => (
            <tr key={p.name}>
              <th scope="row">{p.name}</th>
              <td>{formatBytes(p.bytes)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Card>
  );
}

function ByKind({ disk }: { disk: DiskUsageResponse }) {
  const data = KIND_ORDER.map((kind) => ({ kind, label: KIND_LABELS[kind], bytes: disk.byKind[kind] ?? 0 }));
  const shown = data.filter((d) => d.bytes > 0);
  return (
    <Card title="By kind">
      <div className="by-kind">
        <div className="chart chart-donut" data-testid="chart-by-kind">
          {shown.length ? (
            <ResponsiveContainer width="100%" height="100%">
              <PieChart>
                <Pie
                  data={shown}
                  dataKey="bytes"
                  nameKey="label"
                  innerRadius="58%"
                  outerRadius="92%"
                  stroke="var(--surface)"
                  strokeWidth={2}
                  isAnimationActive={false}
                >
                  {shown.map((d) => (
                    <Cell key={d.kind} fill={KIND_COLOR[d.kind]} />
                  ))}
                </Pie>
                <Tooltip content={ChartTooltip} isAnimationActive={false} />
              </PieChart>
            </ResponsiveContainer>
          ) : (
            <div className="donut-empty" />
          )}
        </div>
        <table className="kind-table">
          <tbody>
            {data.map((d) => (
              <tr key={d.kind} className={d.bytes ? undefined : 'muted'}>
                <td>
                  <span className="swatch" style={{ background: KIND_COLOR[d.kind] }} />
                  {d.label}
                </td>
                <td className="right num">{formatBytes(d.bytes)}</td>
                <td className="right num muted">{formatPercent(disk.totalBytes ? d.bytes / disk.totalBytes : null)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Card>
  );
}
