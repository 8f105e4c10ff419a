import type { UpstreamChange } from '../../../src-shared/contract';
import { ConfirmDialog } from '../../components/ui';

/** Old and new upstream side by side: what every build on this machine will trust from now on. */
export function UpstreamChangeDialog({
  change,
  busy,
  error,
  onConfirm,
  onCancel,
}: {
  change: UpstreamChange | null;
  busy: boolean;
  error: unknown;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  return (
    <ConfirmDialog
      open={change !== null}
      title="Change the upstream?"
      confirmLabel="Change upstream"
      busy={busy}
      error={error}
      onCancel={onCancel}
      onConfirm={onConfirm}
    >
      {change ? <UpstreamChangeSummary change={change} /> : null}
    </ConfirmDialog>
  );
}

function UpstreamChangeSummary({ change }: { change: UpstreamChange }) {
  const sameKey = change.from.fingerprint === change.to.fingerprint;
  return (
    <>
      <p>Every build on this machine will get its packages from the new upstream, checked against its key.</p>
      <dl className="identity-change">
        <dt>Now</dt>
        <dd>
          <span className="mono break">{change.from.url}</span>
          <span className="mono break small" data-testid="fingerprint-from">
            {change.from.fingerprint}
          </span>
        </dd>
        <dt>New</dt>
        <dd>
          <span className="mono break">{change.to.url}</span>
          <span className="mono break small" data-testid="fingerprint-to">
            {change.to.fingerprint}
          </span>
        </dd>
      </dl>
      <p className="small">
        {sameKey ? 'The signing key stays the same.' : 'The signing key changes: compare the new fingerprint with the one its publisher gives.'} What was stored
        under the current upstream is checked again before it is served.
      </p>
    </>
  );
}
