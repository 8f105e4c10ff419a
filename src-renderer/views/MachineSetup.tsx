import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import type { SetupResult, SetupState } from '../../src-shared/contract';
import { api } from '../api';
import { Badge, Card, ConfirmDialog, FormError, Loading, QueryError } from '../components/ui';
import { useToast } from '../components/toasts';

const SETUP_KEY = ['setup'] as const;

function Client({ name, setting }: { name: string; setting: SetupState['mix'] }) {
  return (
    <div className="setup-client">
      <dt>{name}</dt>
      <dd>
        <span className="mono">{setting.url}</span>{' '}
        <Badge tone={setting.pointsHere ? 'ok' : 'neutral'}>{setting.pointsHere ? 'this mirror' : 'not this mirror'}</Badge>
        <div className="muted small">from {setting.source}</div>
      </dd>
    </div>
  );
}

/**
 * One-click setup of this machine: Hex's mirror_url and api_url and the HEX_MIRROR /
 * HEX_BUILDS_URL / HEX_CDN / HEX_API_URL block in the shell startup files, with a preview of the exact changes and undo.
 */
export function MachineSetup() {
  const client = useQueryClient();
  const toast = useToast();
  const state = useQuery({ queryKey: SETUP_KEY, queryFn: () => api.setupState() });
  const [preview, setPreview] = useState<SetupResult | null>(null);
  /** What the last apply or undo did, until the next one. */
  const [outcome, setOutcome] = useState<{ kind: 'applied' | 'undone'; files: string[] } | null>(null);
  const plan = useMutation({ mutationFn: () => api.applySetup({ dryRun: true }), onSuccess: setPreview });
  const apply = useMutation({ mutationFn: () => api.applySetup({}) });
  const undo = useMutation({ mutationFn: () => api.undoSetup() });
  // Any action clears what the others left: no stale "there is no setup to undo" after a setup.
  const clearOthers = (keep: 'plan' | 'apply' | 'undo') => {
    if (keep !== 'plan') plan.reset();
    if (keep !== 'apply') apply.reset();
    if (keep !== 'undo') undo.reset();
  };
  const done = (result: SetupResult, kind: 'applied' | 'undone') => {
    client.setQueryData(SETUP_KEY, result.state);
    setPreview(null);
    const files = kind === 'applied' ? result.changes.map((c) => c.path) : (result.restored ?? []);
    setOutcome({ kind, files });
    toast('ok', kind === 'applied' ? `Set up: ${files.length} file(s) changed` : `Restored ${files.length} file(s)`);
  };
  const failure = plan.error ?? undo.error;

  return (
    <Card title="Set up this machine" className="machine-setup">
      <p className="muted">
        Points mix (Hex's <span className="mono">mirror_url</span> and <span className="mono">api_url</span>) and your shells (
        <span className="mono">HEX_MIRROR</span>, <span className="mono">HEX_BUILDS_URL</span>, <span className="mono">HEX_CDN</span>,{' '}
        <span className="mono">HEX_API_URL</span>, for mix, rebar3 and IDEs started from the desktop) at this mirror. Every file is backed up first; Undo puts
        them back exactly.
      </p>
      {state.isPending ? <Loading /> : null}
      {state.isError ? <QueryError error={state.error} onRetry={() => void state.refetch()} compact /> : null}
      {state.data ? (
        <>
          <dl className="setup-clients">
            <Client name="mix" setting={state.data.mix} />
            <Client name="Hex API" setting={state.data.hexApi} />
            <Client name="rebar3" setting={state.data.rebar3} />
          </dl>
          <ul className="setup-files">
            {state.data.files.map((f) => (
              <li key={f.path}>
                <span className="mono">{f.path}</span>{' '}
                <span className="muted small">— {f.mirrorUrl ? `sets ${f.mirrorUrl}` : f.exists ? 'no HexHub block' : 'not created yet'}</span>
              </li>
            ))}
          </ul>
        </>
      ) : null}
      {outcome ? <SetupOutcome kind={outcome.kind} files={outcome.files} /> : null}
      <FormError error={failure} />
      <div className="form-actions">
        <button
          type="button"
          className="btn btn-primary"
          disabled={plan.isPending || !state.data}
          onClick={() => {
            clearOthers('plan');
            plan.mutate();
          }}
        >
          {state.data?.applied ? 'Check setup' : 'Set up…'}
        </button>
        <button
          type="button"
          className="btn"
          disabled={undo.isPending}
          onClick={() => {
            clearOthers('undo');
            setOutcome(null);
            undo.mutate(undefined, { onSuccess: (r) => done(r, 'undone') });
          }}
        >
          Undo last setup
        </button>
      </div>
      <ConfirmDialog
        open={preview !== null}
        title={preview?.changes.length ? `Change ${preview.changes.length} file(s)?` : 'Nothing to change'}
        confirmLabel={preview?.changes.length ? 'Apply' : 'Close'}
        busy={apply.isPending}
        error={apply.error ?? undefined}
        onConfirm={() => {
          if (!preview?.changes.length) return setPreview(null);
          clearOthers('apply');
          apply.mutate(undefined, { onSuccess: (r) => done(r, 'applied') });
        }}
        onCancel={() => setPreview(null)}
      >
        {preview?.changes.length ? (
          <>
            <ul className="setup-change-list" aria-label="Files to change">
              {preview.changes.map((c) => (
                <li key={c.path}>
                  <span className="mono break">{c.path}</span> <span className="muted small">— {c.created ? `created: ${c.why}` : c.why}</span>
                </li>
              ))}
            </ul>
            <pre className="setup-diff">{preview.changes.map((c) => c.diff).join('\n')}</pre>
          </>
        ) : (
          <p>Everything already points at this mirror.</p>
        )}
      </ConfirmDialog>
    </Card>
  );
}

/** After a setup: every file it changed, and that open shells keep the old environment. */
function SetupOutcome({ kind, files }: { kind: 'applied' | 'undone'; files: string[] }) {
  return (
    <div className="notice notice-ok" role="status" data-testid="setup-outcome">
      <div>
        <strong>{kind === 'applied' ? `Set up: ${files.length} file(s) changed` : `Undone: ${files.length} file(s) restored`}</strong>
        {files.length ? (
          <ul className="setup-change-list">
            {files.map((f) => (
              <li key={f} className="mono break">
                {f}
              </li>
            ))}
          </ul>
        ) : null}
        <p className="small">
          Open a new terminal (or restart your editor) for the change to take effect: shells that are already open keep the old environment.
        </p>
      </div>
    </div>
  );
}
