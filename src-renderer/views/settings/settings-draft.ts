// The settings form's values as typed, and the patch they make against the saved values.
import type { Settings, SettingName } from '../../../src-shared/contract';
import { capToDraft, draftToCap, type CapDraft } from '../../components/size-cap';

export type NumberSettingName = 'timeoutMs' | 'retryAttempts' | 'retryDelayMs' | 'registryTtlSeconds' | 'prewarmConcurrency';

export interface Draft {
  upstreamUrl: string;
  publicKeyPem: string;
  numbers: Record<NumberSettingName, string>;
  cap: CapDraft;
}

export type FieldErrors = Partial<Record<SettingName, string>>;

const NUMBER_SETTINGS: NumberSettingName[] = ['timeoutMs', 'retryAttempts', 'retryDelayMs', 'registryTtlSeconds', 'prewarmConcurrency'];

export function toDraft(values: Settings): Draft {
  return {
    upstreamUrl: values.upstreamUrl,
    publicKeyPem: values.publicKeyPem,
    numbers: Object.fromEntries(NUMBER_SETTINGS.map((f) => [f, String(values[f])])) as Record<NumberSettingName, string>,
    cap: capToDraft(values.sizeCapBytes),
  };
}

/** The fields that differ from the saved values, as the API takes them; or client-side errors. */
export function toPatch(draft: Draft, values: Settings): { patch: Partial<Settings>; errors: FieldErrors } {
  const patch: Record<string, unknown> = {};
  const errors: FieldErrors = {};
  if (draft.upstreamUrl.trim() !== values.upstreamUrl) patch.upstreamUrl = draft.upstreamUrl.trim();
  if (draft.publicKeyPem.trim() !== values.publicKeyPem.trim()) patch.publicKeyPem = draft.publicKeyPem;
  for (const field of NUMBER_SETTINGS) {
    const text = draft.numbers[field].trim();
    if (text === String(values[field])) continue;
    // Whole numbers (negative ones too, so the API names the allowed range) go as numbers;
    // anything else goes as typed, and the API says what is wrong.
    patch[field] = /^-?\d+$/.test(text) ? Number(text) : text;
  }
  const cap = draftToCap(draft.cap);
  if (cap !== null && typeof cap === 'object') errors.sizeCapBytes = cap.error;
  else if (cap !== values.sizeCapBytes) patch.sizeCapBytes = cap;
  return { patch: patch as Partial<Settings>, errors };
}
