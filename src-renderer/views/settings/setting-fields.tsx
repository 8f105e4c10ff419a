// One component per kind of setting, each bound to the form's draft.
import type { ReactNode } from 'react';
import { SizeCapInput } from '../../components/size-cap';
import { FormError, Switch } from '../../components/ui';
import { useOfflineSwitch } from '../../lib/mutations';
import { Field, FixedNote } from './Field';
import type { NumberSettingName } from './settings-draft';
import type { SettingsFormState } from './use-settings-form';

type Form = { form: SettingsFormState };

export function UpstreamUrlSetting({ form }: Form) {
  const { errors } = form;
  return (
    <Field
      name="upstreamUrl"
      label="Repository URL"
      fixed={form.fixed.upstreamUrl}
      error={errors.upstreamUrl}
      hint="The Hex repository to mirror, e.g. https://repo.hex.pm."
    >
      {(props) => (
        <input
          {...props}
          type="url"
          className={`mono input-wide${errors.upstreamUrl ? ' invalid' : ''}`}
          value={form.draft.upstreamUrl}
          spellCheck={false}
          onChange={(e) => {
            const value = e.currentTarget.value;
            form.edit((d) => ({ ...d, upstreamUrl: value }));
          }}
        />
      )}
    </Field>
  );
}

/**
 * Offline mode acts at once, here as on the Overview and in the banner (one behaviour
 * everywhere); it is not part of the form's Save. A switch is its own label, so it goes without Field's.
 */
export function OfflineSetting({ form }: Form) {
  const fixed = form.fixed.upstreamEnabled;
  const toggle = useOfflineSwitch();
  return (
    <div className="field">
      <div className="field-main">
        <Switch
          label="Offline mode"
          checked={toggle.shown(form.offline)}
          disabled={Boolean(fixed) || toggle.isPending}
          onChange={(offline) => toggle.mutate(offline)}
          description={fixed ? undefined : 'Serve only what is cached; never contact the upstream. Applies at once, without Save.'}
        />
        {fixed ? <FixedNote variable={fixed} /> : null}
        <FormError error={toggle.error} />
      </div>
    </div>
  );
}

export function PublicKeySetting({ form }: Form) {
  const { errors } = form;
  const hint = (
    <>
      PEM text; registry signatures are checked against it. Now:{' '}
      <span className="mono" data-testid="key-fingerprint">
        {form.fingerprint}
      </span>
    </>
  );
  return (
    <Field name="publicKeyPem" label="Repository public key" fixed={form.fixed.publicKeyPem} error={errors.publicKeyPem} hint={hint}>
      {(props) => (
        <textarea
          {...props}
          rows={5}
          className={`mono input-wide pem${errors.publicKeyPem ? ' invalid' : ''}`}
          value={form.draft.publicKeyPem}
          spellCheck={false}
          onChange={(e) => {
            const value = e.currentTarget.value;
            form.edit((d) => ({ ...d, publicKeyPem: value }));
          }}
        />
      )}
    </Field>
  );
}

export function NumberSetting({ form, name, label, unit, hint }: Form & { name: NumberSettingName; label: string; unit?: string; hint: ReactNode }) {
  const error = form.errors[name];
  return (
    <Field name={name} label={label} fixed={form.fixed[name]} error={error} hint={hint}>
      {(props) => (
        <div className="input-with-unit">
          <input
            {...props}
            type="text"
            inputMode="numeric"
            className={`num input-short${error ? ' invalid' : ''}`}
            value={form.draft.numbers[name]}
            onChange={(e) => {
              const value = e.currentTarget.value;
              form.edit((d) => ({ ...d, numbers: { ...d.numbers, [name]: value } }));
            }}
          />
          {unit ? <span className="unit">{unit}</span> : null}
        </div>
      )}
    </Field>
  );
}

export function SizeCapSetting({ form }: Form) {
  const fixed = form.fixed.sizeCapBytes;
  // SizeCapInput shows its own error, under the amount it is about.
  return (
    <Field name="sizeCapBytes" label="Size cap" fixed={fixed} error={undefined} hint="Least recently used tarballs and docs are evicted above it." group>
      {() => (
        <SizeCapInput
          value={form.draft.cap}
          disabled={Boolean(fixed)}
          error={form.errors.sizeCapBytes}
          onChange={(cap) => {
            form.clearError('sizeCapBytes');
            form.edit((d) => ({ ...d, cap }));
          }}
        />
      )}
    </Field>
  );
}
