import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useId, useState, type ReactNode } from 'react';
import { ApiError } from '../../src-shared/api-client';
import type { Settings, SettingName, SettingsPatch, SettingsResponse, UpstreamChange } from '../../src-shared/contract';
import { api } from '../api';
import { capToDraft, draftToCap, SizeCapInput, type CapDraft } from '../components/size-cap';
import { Icon } from '../components/icons';
import { Card, ConfirmDialog, Loading, PageHeader, QueryError, Switch } from '../components/ui';
import { useToast } from '../components/toasts';
import { errorMessage, fieldErrors, keys, useSettings } from '../lib/queries';
import { setTheme, useTheme, type ThemeChoice } from '../lib/theme';
import { MachineSetup } from './MachineSetup';

type NumberField = 'timeoutMs' | 'retryAttempts' | 'retryDelayMs' | 'registryTtlSeconds' | 'prewarmConcurrency';

interface Draft {
  upstreamUrl: string;
  publicKeyPem: string;
  offline: boolean;
  numbers: Record<NumberField, string>;
  cap: CapDraft;
}

const NUMBER_FIELDS: NumberField[] = ['timeoutMs', 'retryAttempts', 'retryDelayMs', 'registryTtlSeconds', 'prewarmConcurrency'];

function toDraft(values: Settings): Draft {
  return {
    upstreamUrl: values.upstreamUrl,
    publicKeyPem: values.publicKeyPem,
    offline: !values.upstreamEnabled,
    numbers: Object.fromEntries(NUMBER_FIELDS.map((f) => [f, String(values[f])])) as Record<NumberField, string>,
    cap: capToDraft(values.sizeCapBytes),
  };
}

/** The fields that differ from the saved values, as the API takes them; or client-side errors. */
function toPatch(draft: Draft, values: Settings): { patch: Partial<Settings>; errors: Partial<Record<SettingName, string>> } {
  const patch: Record<string, unknown> = {};
  const errors: Partial<Record<SettingName, string>> = {};
  if (draft.upstreamUrl.trim() !== values.upstreamUrl) patch.upstreamUrl = draft.upstreamUrl.trim();
  if (draft.publicKeyPem.trim() !== values.publicKeyPem.trim()) patch.publicKeyPem = draft.publicKeyPem;
  if (draft.offline === values.upstreamEnabled) patch.upstreamEnabled = !draft.offline;
  for (const field of NUMBER_FIELDS) {
    const text = draft.numbers[field].trim();
    if (text === String(values[field])) continue;
    // Whole numbers go as numbers; anything else goes as typed, and the API says what is wrong.
    patch[field] = /^\d+$/.test(text) ? Number(text) : text;
  }
  const cap = draftToCap(draft.cap);
  if (cap !== null && typeof cap === 'object') errors.sizeCapBytes = cap.error;
  else if (cap !== values.sizeCapBytes) patch.sizeCapBytes = cap;
  return { patch: patch as Partial<Settings>, errors };
}

/** Old and new upstream side by side: what every build on this machine will trust from now on. */
function UpstreamChangeSummary({ change }: { change: UpstreamChange }) {
  const sameKey = change.from.fingerprint === change.to.fingerprint;
  return (
    <>
      <p>Every build on this machine will get its packages from the new upstream, checked against its key.</p>
      <dl className="identity-change">
        <dt>Now</dt>
        <dd>
          <span className="mono break">{change.from.url}</span>
          <span className="mono break small" data-testid="fingerprint-from">{change.from.fingerprint}</span>
        </dd>
        <dt>New</dt>
        <dd>
          <span className="mono break">{change.to.url}</span>
          <span className="mono break small" data-testid="fingerprint-to">{change.to.fingerprint}</span>
        </dd>
      </dl>
      <p className="small">
        {sameKey ? 'The signing key stays the same.' : 'The signing key changes: compare the new fingerprint with the one its publisher gives.'} What was stored under the
        current upstream is checked again before it is served.
      </p>
    </>
  );
}

export function SettingsView() {
  const settings = useSettings();
  return (
    <>
      <PageHeader title="Settings" subtitle="Saved in the data dir and applied at once. Values set by environment variables are shown but cannot be changed here." />
      {settings.isPending ? <Loading /> : null}
      {settings.isError && !settings.data ? <QueryError error={settings.error} onRetry={() => void settings.refetch()} /> : null}
      {settings.data ? <SettingsForm settings={settings.data} /> : null}
      <MachineSetup />
      <Appearance />
    </>
  );
}

function SettingsForm({ settings }: { settings: SettingsResponse }) {
  const client = useQueryClient();
  const toast = useToast();
  const [draft, setDraft] = useState<Draft>(() => toDraft(settings.values));
  const [base, setBase] = useState<Settings>(settings.values);
  const [clientErrors, setClientErrors] = useState<Partial<Record<SettingName, string>>>({});
  const [savedAt, setSavedAt] = useState<number | null>(null);
  // A change of upstream URL or key comes back as 409 with both identities, to be confirmed.
  const [upstreamChange, setUpstreamChange] = useState<{ patch: Partial<Settings>; change: UpstreamChange } | null>(null);
  const save = useMutation({
    mutationFn: (patch: SettingsPatch) => api.updateSettings(patch),
    onError: (error, patch) => {
      if (error instanceof ApiError && error.status === 409 && error.body.upstreamChange) setUpstreamChange({ patch, change: error.body.upstreamChange });
    },
    onSuccess: (data) => {
      setUpstreamChange(null);
      client.setQueryData(keys.settings, data);
      void client.invalidateQueries({ queryKey: keys.status });
      setBase(data.values);
      setDraft(toDraft(data.values));
      setSavedAt(Date.now());
      toast('ok', 'Settings saved');
    },
  });

  const { patch } = toPatch(draft, base);
  const dirty = Object.keys(patch).length > 0 || Object.keys(toPatch(draft, base).errors).length > 0;

  // Changes from elsewhere (the tray, another window) replace an untouched form.
  useEffect(() => {
    if (settings.values === base) return;
    if (!dirty) setDraft(toDraft(settings.values));
    setBase(settings.values);
  }, [settings.values]);

  const serverErrors = fieldErrors(save.error);
  const errors: Partial<Record<string, string>> = { ...serverErrors, ...clientErrors };
  const fixed = settings.fixedByEnv;
  const unknownErrors = Object.entries(serverErrors).filter(([name]) => !(name in base));
  const confirming = save.error instanceof ApiError && save.error.status === 409 && upstreamChange !== null;
  const generalError = save.isError && !confirming && Object.keys(serverErrors).length === 0 ? errorMessage(save.error) : null;

  const edit = (change: (d: Draft) => Draft) => {
    setDraft((d) => change(d));
    setSavedAt(null);
  };

  const submit = () => {
    const result = toPatch(draft, base);
    setClientErrors(result.errors);
    if (Object.keys(result.errors).length) return;
    if (!Object.keys(result.patch).length) return;
    save.mutate(result.patch);
  };

  const numberField = (name: NumberField, label: string, unit: string, hint: ReactNode) => (
    <Field name={name} label={label} fixed={fixed[name]} error={errors[name]} hint={hint}>
      {(props) => (
        <div className="input-with-unit">
          <input
            {...props}
            type="text"
            inputMode="numeric"
            className={`num input-short${errors[name] ? ' invalid' : ''}`}
            value={draft.numbers[name]}
            onChange={(e) => {
              const value = e.currentTarget.value;
              edit((d) => ({ ...d, numbers: { ...d.numbers, [name]: value } }));
            }}
          />
          {unit ? <span className="unit">{unit}</span> : null}
        </div>
      )}
    </Field>
  );

  return (
    <form
      className="settings-form"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
      noValidate
    >
      <Card title="Upstream">
        <Field name="upstreamUrl" label="Repository URL" fixed={fixed.upstreamUrl} error={errors.upstreamUrl} hint="The Hex repository to mirror, e.g. https://repo.hex.pm.">
          {(props) => (
            <input
              {...props}
              type="url"
              className={`mono input-wide${errors.upstreamUrl ? ' invalid' : ''}`}
              value={draft.upstreamUrl}
              spellCheck={false}
              onChange={(e) => {
                const value = e.currentTarget.value;
                edit((d) => ({ ...d, upstreamUrl: value }));
              }}
            />
          )}
        </Field>
        <div className="field">
          <div className="field-main">
            <Switch
              label="Offline mode"
              checked={draft.offline}
              disabled={Boolean(fixed.upstreamEnabled)}
              onChange={(offline) => edit((d) => ({ ...d, offline }))}
              description={fixed.upstreamEnabled ? undefined : 'Serve only what is cached; never contact the upstream.'}
            />
            {fixed.upstreamEnabled ? <FixedNote variable={fixed.upstreamEnabled} /> : null}
            {errors.upstreamEnabled ? <p className="field-error">{errors.upstreamEnabled}</p> : null}
          </div>
        </div>
        <Field
          name="publicKeyPem"
          label="Repository public key"
          fixed={fixed.publicKeyPem}
          error={errors.publicKeyPem}
          hint={
            <>
              PEM text; registry signatures are checked against it. Now: <span className="mono" data-testid="key-fingerprint">{settings.publicKeyFingerprint}</span>
            </>
          }
        >
          {(props) => (
            <textarea
              {...props}
              rows={5}
              className={`mono input-wide pem${errors.publicKeyPem ? ' invalid' : ''}`}
              value={draft.publicKeyPem}
              spellCheck={false}
              onChange={(e) => {
                const value = e.currentTarget.value;
                edit((d) => ({ ...d, publicKeyPem: value }));
              }}
            />
          )}
        </Field>
      </Card>

      <Card title="Network">
        {numberField('timeoutMs', 'Timeout', 'ms', 'Bounds connecting, waiting for headers and each pause in a body.')}
        {numberField('retryAttempts', 'Retries', 'attempts', 'On network errors, timeouts and 5xx answers (never on 4xx).')}
        {numberField('retryDelayMs', 'Retry delay', 'ms', 'Base of the exponential backoff; Retry-After wins.')}
      </Card>

      <Card title="Cache">
        {numberField('registryTtlSeconds', 'Registry TTL', 'seconds', 'How long a stored registry record is used before it is revalidated.')}
        <Field name="sizeCapBytes" label="Size cap" fixed={fixed.sizeCapBytes} error={undefined} hint="Least recently used tarballs and docs are evicted above it." group>
          {() => (
            <SizeCapInput
              value={draft.cap}
              disabled={Boolean(fixed.sizeCapBytes)}
              error={errors.sizeCapBytes}
              onChange={(cap) => {
                setClientErrors((e) => ({ ...e, sizeCapBytes: undefined }));
                edit((d) => ({ ...d, cap }));
              }}
            />
          )}
        </Field>
        {numberField('prewarmConcurrency', 'Pre-warm downloads at once', '', 'How many releases a pre-warm job fetches in parallel (1–64).')}
      </Card>

      <div className="form-footer">
        <div className="form-status" role="status">
          {save.isPending ? 'Saving…' : savedAt && !dirty ? <span className="ok-text">Saved. Changes apply at once.</span> : dirty ? 'Unsaved changes' : null}
        </div>
        {generalError ? (
          <p className="field-error" role="alert">
            {generalError}
          </p>
        ) : null}
        {unknownErrors.length ? (
          <p className="field-error" role="alert">
            {unknownErrors.map(([name, message]) => `${name}: ${message}`).join('; ')}
          </p>
        ) : null}
        {Object.keys(errors).some((k) => errors[k]) && !generalError ? (
          <p className="field-error" role="alert">
            Some values are not valid; see the marked fields.
          </p>
        ) : null}
        <button
          type="button"
          className="btn"
          disabled={!dirty || save.isPending}
          onClick={() => {
            setDraft(toDraft(base));
            setClientErrors({});
            save.reset();
          }}
        >
          Discard
        </button>
        <button type="submit" className="btn btn-primary" disabled={!dirty || save.isPending}>
          Save changes
        </button>
      </div>
      <ConfirmDialog
        open={upstreamChange !== null}
        title="Change the upstream?"
        confirmLabel="Change upstream"
        busy={save.isPending}
        error={save.error instanceof ApiError && save.error.status === 409 ? undefined : save.error}
        onCancel={() => {
          setUpstreamChange(null);
          save.reset();
        }}
        onConfirm={() => upstreamChange && save.mutate({ ...upstreamChange.patch, confirmUpstreamChange: upstreamChange.change.to })}
      >
        {upstreamChange ? <UpstreamChangeSummary change={upstreamChange.change} /> : null}
      </ConfirmDialog>
    </form>
  );
}

function FixedNote({ variable }: { variable: string }) {
  return (
    <p className="fixed-note">
      <Icon name="lock" size={13} />
      Set by <code>{variable}</code> in the environment; change it there and restart the mirror.
    </p>
  );
}

interface FieldProps {
  id: string;
  disabled: boolean;
  'aria-invalid': boolean;
  'aria-describedby': string;
}

function Field({
  name,
  label,
  fixed,
  error,
  hint,
  group,
  children,
}: {
  name: string;
  label: string;
  fixed: string | undefined;
  error: string | undefined;
  hint: ReactNode;
  group?: boolean;
  children: (props: FieldProps) => ReactNode;
}) {
  const id = useId();
  const describedBy = [`${id}-hint`, error ? `${id}-error` : '', fixed ? `${id}-fixed` : ''].filter(Boolean).join(' ');
  return (
    <div className={`field${fixed ? ' is-fixed' : ''}`} data-field={name}>
      {group ? (
        <div className="field-label" id={`${id}-label`}>
          {label}
        </div>
      ) : (
        <label className="field-label" htmlFor={id}>
          {label}
        </label>
      )}
      <div className="field-main" {...(group ? { role: 'group', 'aria-labelledby': `${id}-label` } : {})}>
        {children({ id, disabled: Boolean(fixed), 'aria-invalid': Boolean(error), 'aria-describedby': describedBy })}
        {error ? (
          <p className="field-error" id={`${id}-error`}>
            {error}
          </p>
        ) : null}
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
        {fixed ? (
          <div id={`${id}-fixed`}>
            <FixedNote variable={fixed} />
          </div>
        ) : null}
      </div>
    </div>
  );
}

function Appearance() {
  const theme = useTheme();
  const name = useId();
  const options: { value: ThemeChoice; label: string }[] = [
    { value: 'system', label: 'Follow the system' },
    { value: 'light', label: 'Light' },
    { value: 'dark', label: 'Dark' },
  ];
  return (
    <Card title="Appearance">
      <fieldset className="segmented">
        <legend className="sr-only">Theme</legend>
        {options.map((o) => (
          <label key={o.value} className={theme === o.value ? 'checked' : undefined}>
            <input type="radio" name={name} value={o.value} checked={theme === o.value} onChange={() => setTheme(o.value)} />
            {o.label}
          </label>
        ))}
      </fieldset>
      <p className="hint">Kept in this browser only.</p>
    </Card>
  );
}
