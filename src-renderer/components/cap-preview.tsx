// Lowering the size cap evicts at once: first ask the server what would go, show it, and apply
// the cap only when the user agrees (nothing is asked when nothing would be evicted).
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import type { CapPreview } from '../../src-shared/contract';
import { api } from '../api';
import { formatBytes, formatCount } from '../lib/format';
import { ConfirmDialog } from './ui';

/** Package lines shown in the dialog before "and N more". */
const LISTED = 12;

export function useCapPreview() {
  const [pending, setPending] = useState<{ preview: CapPreview; apply: () => void } | null>(null);
  const ask = useMutation({ mutationFn: (cap: number | null) => api.capPreview(cap) });
  return {
    pending,
    checking: ask.isPending,
    error: ask.error,
    /** Runs `apply` at once when the cap evicts nothing, else once the user confirms. */
    check: (cap: number | null, apply: () => void) => {
      if (cap === null) return apply();
      ask.mutate(cap, { onSuccess: (preview) => (preview.evict.length ? setPending({ preview, apply }) : apply()) });
    },
    confirm: () => {
      pending?.apply();
      setPending(null);
    },
    cancel: () => setPending(null),
    reset: () => ask.reset(),
  };
}

export type CapPreviewState = ReturnType<typeof useCapPreview>;

export function CapPreviewDialog({ state, busy }: { state: CapPreviewState; busy?: boolean }) {
  const preview = state.pending?.preview;
  const releases = preview?.evict.filter((e) => e.kind === 'tarball').length ?? 0;
  const files = preview?.evict.length ?? 0;
  return (
    <ConfirmDialog
      open={preview !== undefined}
      title={preview ? `Evict ${formatCount(files)} file${files === 1 ? '' : 's'} (${formatBytes(preview.bytes)})?` : 'Lower the size cap?'}
      confirmLabel="Evict and apply cap"
      busy={busy}
      onConfirm={state.confirm}
      onCancel={state.cancel}
    >
      {preview ? (
        <div data-testid="cap-preview">
          <p>
            A cap of <strong>{preview.sizeCapBytes === null ? 'none' : formatBytes(preview.sizeCapBytes)}</strong> is below what is cached now (
            {formatBytes(preview.totalBytes)}). The least recently used tarballs and docs are removed at once: {formatCount(releases)} release
            {releases === 1 ? '' : 's'} of {formatCount(preview.packages.length)} package{preview.packages.length === 1 ? '' : 's'}, leaving{' '}
            {formatBytes(preview.afterBytes)}. They are fetched again when a client asks for them.
          </p>
          <ul className="cap-preview-list" aria-label="Packages to evict">
            {preview.packages.slice(0, LISTED).map((p) => (
              <li key={p.name}>
                <span className="mono break">{p.name}</span>
                <span className="muted num">
                  {p.releases} release{p.releases === 1 ? '' : 's'} · {formatBytes(p.bytes)}
                </span>
              </li>
            ))}
          </ul>
          {preview.packages.length > LISTED ? <p className="muted small">and {preview.packages.length - LISTED} more packages</p> : null}
        </div>
      ) : null}
    </ConfirmDialog>
  );
}
