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
  const done = (result: SetupResult, message: string) => {
    client.setQueryData(SETUP_KEY, result.state);
    setPreview(null);
    toast('ok', message);
  };
  const plan = useMutation({ mutationFn: () => api.applySetup({ dryRun: true }), onSuccess: setPreview });
  const apply = useMutation({ mutationFn: () => api.applySetup({}), onSuccess: (r) => done(r, `Set up: ${r.changes.length} file(s) changed`) });
  const undo = useMutation({ mutationFn: () => api.undoSetup(), onSuccess: (r) => done(r, `Restored ${r.restored?.length ?? 0} file(s)`) });
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
      <FormError error={failure} />
      <div className="form-actions">
        <button type="button" className="btn btn-primary" disabled={plan.isPending || !state.data} onClick={() => plan.mutate()}>
          {state.data?.applied ? 'Check setup' : 'Set up…'}
        </button>
        <button type="button" className="btn" disabled={undo.isPending} onClick={() => undo.mutate()}>
          Undo last setup
        </button>
      </div>
      <ConfirmDialog
        open={preview !== null}
        title={preview?.changes.length ? `Change ${preview.changes.length} file(s)?` : 'Nothing to change'}
        confirmLabel={preview?.changes.length ? 'Apply' : 'Close'}
        busy={apply.isPending}
        error={apply.error ?? undefined}
        onConfirm={() => (preview?.changes.length ? apply.mutate() : setPreview(null))}
        onCancel={() => setPreview(null)}
      >
        {preview?.changes.length ? (
          <pre className="setup-diff">{preview.changes.map((c) => c.diff).join('\n')}</pre>
        ) : (
          <p>Everything already points at this mirror.</p>
        )}
      </ConfirmDialog>
    </Card>
  );
}
