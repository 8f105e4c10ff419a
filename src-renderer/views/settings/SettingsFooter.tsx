import { FormError } from '../../components/ui';
import type { SettingsFormState } from './use-settings-form';

/** Where the form says how it stands (saving, saved, unsaved, what is wrong), with Discard and Save. */
export function SettingsFooter({ form }: { form: SettingsFormState }) {
  const { dirty, saving, generalError } = form;
  const invalid = Object.values(form.errors).some(Boolean);
  return (
    <div className="form-footer">
      <div className="form-status" role="status">
        {saving ? 'Saving…' : form.savedAt && !dirty ? <span className="ok-text">Saved. Changes apply at once.</span> : dirty ? 'Unsaved changes' : null}
      </div>
      <FormError error={generalError} />
      <FormError error={form.unknownErrors.map(([name, message]) => `${name}: ${message}`).join('; ')} />
      <FormError error={invalid && !generalError && 'Some values are not valid; see the marked fields.'} />
      <button type="button" className="btn" disabled={!dirty || saving} onClick={form.discard}>
        Discard
      </button>
      <button type="submit" className="btn btn-primary" disabled={!dirty || saving}>
        Save changes
      </button>
    </div>
  );
}
