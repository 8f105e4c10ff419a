import { ConfirmDialog } from '../../components/ui';
import { formatBytes } from '../../lib/format';
import type { Deletion } from '../../lib/mutations';

/** Confirms deleting a package or one release, saying what goes and what comes back. */
export function DeleteDialog({
  name,
  size,
  pending,
  busy,
  error,
  onConfirm,
  onCancel,
}: {
  name: string;
  size: number;
  pending: Deletion | null;
  busy: boolean;
  error: unknown;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const whole = pending?.kind === 'package';
  return (
    <ConfirmDialog
      open={pending !== null}
      title={whole ? `Delete ${name} from the cache?` : `Delete ${name} ${pending?.kind === 'release' ? pending.version : ''}?`}
      confirmLabel={whole ? 'Delete package' : 'Delete release'}
      busy={busy}
      error={error}
      onCancel={onCancel}
      onConfirm={onConfirm}
    >
      {whole ? (
        <p>
          Every stored file of <strong>{name}</strong> ({formatBytes(size)}) is removed: tarballs, docs and the registry record. Clients asking for it again get
          it fetched from the upstream.
        </p>
      ) : (
        <p>The tarball (and docs, if cached) of this release is removed. It is fetched again from the upstream when a client asks for it.</p>
      )}
    </ConfirmDialog>
  );
}
