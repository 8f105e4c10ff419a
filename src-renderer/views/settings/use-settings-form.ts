// The settings form's state: the draft against the saved values, the errors from both sides,
// and a change of upstream waiting for its confirmation.
import { useEffect, useState } from 'react';
import { ApiError } from '../../../src-shared/api-client';
import type { Settings, SettingsResponse, UpstreamChange } from '../../../src-shared/contract';
import { useCapPreview } from '../../components/cap-preview';
import { useToast } from '../../components/toasts';
import { useSaveSettings } from '../../lib/mutations';
import { errorMessage, fieldErrors } from '../../lib/queries';
import { toDraft, toPatch, type Draft, type FieldErrors } from './settings-draft';

/** The API's 409: the patch changes the upstream's URL or key, and says from what to what. */
function isUpstreamConflict(error: unknown): error is ApiError {
  return error instanceof ApiError && error.status === 409;
}

export type SettingsFormState = ReturnType<typeof useSettingsForm>;

export function useSettingsForm(settings: SettingsResponse) {
  const toast = useToast();
  const [draft, setDraft] = useState<Draft>(() => toDraft(settings.values));
  const [base, setBase] = useState<Settings>(settings.values);
  const [clientErrors, setClientErrors] = useState<FieldErrors>({});
  const [savedAt, setSavedAt] = useState<number | null>(null);
  const [upstreamChange, setUpstreamChange] = useState<{ patch: Partial<Settings>; change: UpstreamChange } | null>(null);
  const save = useSaveSettings({
    onError: (error, patch) => {
      if (isUpstreamConflict(error) && error.body.upstreamChange) setUpstreamChange({ patch, change: error.body.upstreamChange });
    },
    onSuccess: (data) => {
      setUpstreamChange(null);
      setBase(data.values);
      setDraft(toDraft(data.values));
      setSavedAt(Date.now());
      toast('ok', 'Settings saved');
    },
  });

  const capPreview = useCapPreview();
  const pending = toPatch(draft, base);
  const dirty = Object.keys(pending.patch).length > 0 || Object.keys(pending.errors).length > 0;

  // Changes from elsewhere (the tray, another window) replace an untouched form.
  useEffect(() => {
    if (settings.values === base) return;
    if (!dirty) setDraft(toDraft(settings.values));
    setBase(settings.values);
  }, [settings.values]);

  const serverErrors = fieldErrors(save.error);
  const confirming = isUpstreamConflict(save.error) && upstreamChange !== null;
  return {
    draft,
    dirty,
    savedAt,
    saving: save.isPending,
    fixed: settings.fixedByEnv,
    /** Saved at once by its own switch, not by the form. */
    offline: !settings.values.upstreamEnabled,
    fingerprint: settings.publicKeyFingerprint,
    errors: { ...serverErrors, ...clientErrors } as Partial<Record<string, string>>,
    /** Errors for settings this form does not show. */
    unknownErrors: Object.entries(serverErrors).filter(([name]) => !(name in base)),
    generalError:
      save.isError && !confirming && Object.keys(serverErrors).length === 0
        ? errorMessage(save.error)
        : capPreview.error
          ? `Could not check what the cap would evict: ${errorMessage(capPreview.error)}`
          : null,
    edit: (change: (d: Draft) => Draft) => {
      setDraft(change);
      setSavedAt(null);
    },
    clearError: (name: keyof FieldErrors) => setClientErrors((e) => ({ ...e, [name]: undefined })),
    submit: () => {
      const result = toPatch(draft, base);
      setClientErrors(result.errors);
      if (Object.keys(result.errors).length || !Object.keys(result.patch).length) return;
      const { patch } = result;
      // A lower cap evicts at once: show what goes first (nothing is asked if nothing would).
      if (patch.sizeCapBytes !== undefined && patch.sizeCapBytes !== null && (base.sizeCapBytes === null || patch.sizeCapBytes < base.sizeCapBytes)) {
        capPreview.check(patch.sizeCapBytes, () => save.mutate(patch));
      } else save.mutate(patch);
    },
    capPreview,
    discard: () => {
      setDraft(toDraft(base));
      setClientErrors({});
      save.reset();
    },
    upstreamChange: upstreamChange?.change ?? null,
    confirmError: isUpstreamConflict(save.error) ? undefined : save.error,
    confirmUpstreamChange: () => upstreamChange && save.mutate({ ...upstreamChange.patch, confirmUpstreamChange: upstreamChange.change.to }),
    cancelUpstreamChange: () => {
      setUpstreamChange(null);
      save.reset();
    },
  };
}
