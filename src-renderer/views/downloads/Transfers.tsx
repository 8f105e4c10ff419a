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
        <span className="transfer-name">{label}</span>
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
          <li key={f.id} className={f.outcome === 'failed' ? 'error-text' : f.outcome === 'passed' ? 'warn-text' : undefined}>
            <Icon name={f.outcome === 'stored' ? 'check' : 'warning'} size={14} />
            <span className="truncate">{keyLabel(f.key)}</span>
            <span className="muted num">{f.outcome === 'stored' ? (f.bytes ? formatBytes(f.bytes) : 'stored') : (f.error ?? f.outcome)}</span>
            <span className="muted num small">{formatAgo(f.at, Math.max(now, f.at))}</span>
          </li>
        ))}
      </ul>
    </>
  );
}
