import { Icon } from '../../components/icons';
import { Card, ProgressBar } from '../../components/ui';
import { useNow } from '../../lib/clock';
import { formatAgo, formatBytes, formatRate, keyLabel } from '../../lib/format';
import { useLive, type FinishedTransfer, type LiveTransfer } from '../../lib/live';

/** Downloads from the upstream in flight, and the last few that ended. */
export function Transfers() {
  const { transfers, finished } = useLive();
  return (
    <Card title="Transfers" actions={<span className="hint num">{transfers.length} in flight</span>}>
      <ul className="transfers" aria-label="Transfers in flight" data-testid="transfers">
        {transfers.length === 0 ? <li className="transfers-empty muted">Nothing is downloading right now.</li> : null}
        {transfers.map((t) => (
          <TransferRow key={t.id} transfer={t} />
        ))}
      </ul>
      {finished.length ? <FinishedTransfers finished={finished.slice(0, 6)} /> : null}
    </Card>
  );
}

function TransferRow({ transfer: t }: { transfer: LiveTransfer }) {
  const label = keyLabel(t.key);
  return (
    <li className="transfer">
      <div className="transfer-head">
        <span className="transfer-name" title={label}>
          {label}
        </span>
        <span className="transfer-numbers num">
          {formatBytes(t.bytes)}
          {t.totalBytes ? ` of ${formatBytes(t.totalBytes)}` : ''} · {formatRate(t.rate)}
        </span>
      </div>
      <ProgressBar value={t.bytes} max={t.totalBytes ?? 0} indeterminate={!t.totalBytes} label={`Downloading ${label}`} />
    </li>
  );
}

function FinishedTransfers({ finished }: { finished: FinishedTransfer[] }) {
  const now = useNow(5000);
  return (
    <>
      <h3 className="subheading">Finished</h3>
      <ul className="finished" aria-label="Finished transfers">
        {finished.map((f) => (
          // Rows grow with a long error (it wraps under the name), so they never overlap.
          <li key={f.id} className={f.outcome === 'failed' ? 'error-text' : f.outcome === 'passed' ? 'warn-text' : undefined}>
            <Icon name={f.outcome === 'stored' ? 'check' : 'warning'} size={14} />
            <span className="truncate" title={keyLabel(f.key)}>
              {keyLabel(f.key)}
            </span>
            <span className="muted num">{f.bytes ? formatBytes(f.bytes) : f.outcome === 'stored' ? 'stored' : ''}</span>
            <span className="muted num small">{formatAgo(f.at, Math.max(now, f.at))}</span>
            {f.outcome !== 'stored' ? (
              <span className="finished-error" title={f.detail}>
                {f.error ?? (f.outcome === 'passed' ? 'passed through, not kept' : 'failed')}
              </span>
            ) : null}
          </li>
        ))}
      </ul>
    </>
  );
}
