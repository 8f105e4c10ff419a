// The size cap as people type it: an amount in MiB or GiB, or no cap.
import { useId } from 'react';

export interface CapDraft {
  enabled: boolean;
  amount: string;
  unit: 'MiB' | 'GiB';
}

export function capToDraft(bytes: number | null): CapDraft {
  if (bytes === null) return { enabled: false, amount: '10', unit: 'GiB' };
  if (bytes >= 1024 ** 3) return { enabled: true, amount: String(Math.round((bytes / 1024 ** 3) * 100) / 100), unit: 'GiB' };
  return { enabled: true, amount: String(Math.round((bytes / 1024 ** 2) * 10) / 10), unit: 'MiB' };
}

/** Bytes, null for no cap, or an error message. */
export function draftToCap(draft: CapDraft): number | null | { error: string } {
  if (!draft.enabled) return null;
  const text = draft.amount.trim();
  if (!/^\d+(\.\d+)?$/.test(text)) return { error: 'Enter a number, e.g. 10' };
  return Math.round(Number(text) * 1024 ** (draft.unit === 'GiB' ? 3 : 2));
}

export function SizeCapInput({
  value,
  onChange,
  disabled,
  error,
  label = 'Size cap',
}: {
  value: CapDraft;
  onChange: (draft: CapDraft) => void;
  disabled?: boolean;
  error?: string | undefined;
  label?: string;
}) {
  const id = useId();
  return (
    <div className="size-cap">
      <div className="switch-row">
        <input
          id={`${id}-on`}
          type="checkbox"
          role="switch"
          className="switch"
          checked={value.enabled}
          disabled={disabled}
          onChange={(e) => onChange({ ...value, enabled: e.currentTarget.checked })}
        />
        <label htmlFor={`${id}-on`}>Limit the cache size</label>
      </div>
      <div className="inline-inputs">
        <label htmlFor={`${id}-amount`} className="sr-only">
          {label}
        </label>
        <input
          id={`${id}-amount`}
          type="text"
          inputMode="decimal"
          className={`num input-short${error ? ' invalid' : ''}`}
          value={value.amount}
          disabled={disabled || !value.enabled}
          onChange={(e) => onChange({ ...value, amount: e.currentTarget.value })}
          aria-invalid={Boolean(error)}
          aria-describedby={error ? `${id}-error` : undefined}
        />
        <label htmlFor={`${id}-unit`} className="sr-only">
          {label} unit
        </label>
        <select
          id={`${id}-unit`}
          value={value.unit}
          disabled={disabled || !value.enabled}
          onChange={(e) => onChange({ ...value, unit: e.currentTarget.value as CapDraft['unit'] })}
        >
          <option value="MiB">MiB</option>
          <option value="GiB">GiB</option>
        </select>
      </div>
      {error ? (
        <p className="field-error" id={`${id}-error`}>
          {error}
        </p>
      ) : null}
    </div>
  );
}
