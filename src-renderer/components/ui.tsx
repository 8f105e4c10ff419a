// Small building blocks shared by the views.
import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { errorMessage } from '../lib/queries';
import { Icon } from './icons';

export function PageHeader({ title, subtitle, actions }: { title: string; subtitle?: ReactNode; actions?: ReactNode }) {
  return (
    <header className="page-header">
      <div>
        <h1>{title}</h1>
        {subtitle ? <p className="page-subtitle">{subtitle}</p> : null}
      </div>
      {actions ? <div className="page-actions">{actions}</div> : null}
    </header>
  );
}

export function Card({
  title,
  actions,
  children,
  className,
  labelledBy,
}: {
  title?: ReactNode;
  actions?: ReactNode;
  children: ReactNode;
  className?: string;
  labelledBy?: string;
}) {
  const id = useId();
  return (
    <section className={`card${className ? ` ${className}` : ''}`} aria-labelledby={title ? (labelledBy ?? id) : undefined}>
      {title || actions ? (
        <div className="card-header">
          {title ? <h2 id={labelledBy ?? id}>{title}</h2> : <span />}
          {actions ? <div className="card-actions">{actions}</div> : null}
        </div>
      ) : null}
      {children}
    </section>
  );
}

/** What a failed request shows: the reason and a way to try again. */
export function QueryError({ error, onRetry, compact }: { error: unknown; onRetry: () => void; compact?: boolean }) {
  return (
    <div className={`query-error${compact ? ' compact' : ''}`} role="alert">
      <Icon name="warning" />
      <span className="query-error-text">{errorMessage(error)}</span>
      <button type="button" className="btn btn-small" onClick={onRetry}>
        <Icon name="refresh" size={14} /> Retry
      </button>
    </div>
  );
}

/** What went wrong with a whole form or action (a field's own error stands under the field); nothing when `error` is empty. */
export function FormError({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p className="field-error" role="alert">
      {errorMessage(error)}
    </p>
  );
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="loading" role="status">
      <span className="spinner" aria-hidden="true" /> {label}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

/** `shown` (default `value`) is what the bar draws, e.g. counting partly done items in part. */
export function ProgressBar({
  value,
  max,
  label,
  tone,
  indeterminate,
  shown = value,
}: {
  value: number;
  max: number;
  label: string;
  tone?: 'ok' | 'danger' | 'warn';
  indeterminate?: boolean;
  shown?: number;
}) {
  const ratio = max > 0 ? Math.min(1, Math.max(0, shown / max)) : 0;
  return (
    <div
      className={`progress${tone ? ` progress-${tone}` : ''}${indeterminate ? ' progress-indeterminate' : ''}`}
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={max}
      {...(indeterminate ? {} : { 'aria-valuenow': value })}
    >
      <div className="progress-fill" style={{ width: indeterminate ? undefined : `${ratio * 100}%` }} />
    </div>
  );
}

export function Badge({
  tone = 'neutral',
  children,
  title,
}: {
  tone?: 'neutral' | 'ok' | 'info' | 'warn' | 'danger' | 'accent';
  children: ReactNode;
  title?: string;
}) {
  return (
    <span className={`badge badge-${tone}`} title={title}>
      {children}
    </span>
  );
}

export function Dot({ tone }: { tone: 'ok' | 'warn' | 'danger' | 'muted' | 'info' }) {
  return <span className={`dot dot-${tone}`} aria-hidden="true" />;
}

/** An on/off switch: a checkbox with the switch role, so Space toggles it. */
export function Switch({
  checked,
  onChange,
  label,
  disabled,
  description,
}: {
  checked: boolean;
  onChange: (value: boolean) => void;
  label: string;
  disabled?: boolean;
  description?: ReactNode;
}) {
  const id = useId();
  return (
    <div className="switch-row">
      <input
        id={id}
        type="checkbox"
        role="switch"
        className="switch"
        checked={checked}
        disabled={disabled}
        onChange={(e) => onChange(e.currentTarget.checked)}
        aria-describedby={description ? `${id}-d` : undefined}
      />
      <label htmlFor={id}>{label}</label>
      {description ? (
        <span id={`${id}-d`} className="hint">
          {description}
        </span>
      ) : null}
    </div>
  );
}

/** One of a few options, as radio buttons drawn as a segmented control. */
export function Segmented<T extends string>({
  legend,
  options,
  value,
  onChange,
}: {
  legend: string;
  options: { value: T; label: string }[];
  value: T;
  onChange: (value: T) => void;
}) {
  const name = useId();
  return (
    <fieldset className="segmented">
      <legend className="sr-only">{legend}</legend>
      {options.map((o) => (
        <label key={o.value} className={value === o.value ? 'checked' : undefined}>
          <input type="radio" name={name} value={o.value} checked={value === o.value} onChange={() => onChange(o.value)} />
          {o.label}
        </label>
      ))}
    </fieldset>
  );
}

async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // fall through to the old way
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.appendChild(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  area.remove();
  return ok;
}

/** A line of shell to copy with one click; if the clipboard is out of reach, the text is selected. */
export function CopyLine({ text, label }: { text: string; label: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'select'>('idle');
  const codeRef = useRef<HTMLElement>(null);
  useEffect(() => {
    if (state !== 'copied') return;
    const timer = setTimeout(() => setState('idle'), 2000);
    return () => clearTimeout(timer);
  }, [state]);
  const copy = async () => {
    if (await copyText(text)) return setState('copied');
    const range = document.createRange();
    if (codeRef.current) {
      range.selectNodeContents(codeRef.current);
      const selection = window.getSelection();
      selection?.removeAllRanges();
      selection?.addRange(range);
    }
    setState('select');
  };
  return (
    <div className="copy-line">
      <code ref={codeRef}>{text}</code>
      <button type="button" className="btn btn-small copy-button" onClick={() => void copy()} aria-label={`Copy ${label}`}>
        <Icon name={state === 'copied' ? 'check' : 'copy'} size={14} />
        <span className="copy-state">{state === 'copied' ? 'Copied' : 'Copy'}</span>
      </button>
      <span className="sr-only" role="status">
        {state === 'copied' ? `${label} copied` : state === 'select' ? 'Press Ctrl+C to copy the selected text' : ''}
      </span>
    </div>
  );
}

/** A modal confirmation on the native <dialog>: focus is held inside, Escape cancels. */
export function ConfirmDialog({
  open,
  title,
  children,
  confirmLabel,
  busy,
  error,
  onConfirm,
  onCancel,
}: {
  open: boolean;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  busy?: boolean;
  error?: unknown;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog
      ref={ref}
      className="dialog"
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault();
        if (!busy) onCancel();
      }}
    >
      <h2 id={titleId}>{title}</h2>
      <div className="dialog-body">{children}</div>
      <FormError error={error} />
      <div className="dialog-actions">
        <button type="button" className="btn" onClick={onCancel} disabled={busy} autoFocus>
          Cancel
        </button>
        <button type="button" className="btn btn-danger" onClick={onConfirm} disabled={busy}>
          {busy ? 'Working…' : confirmLabel}
        </button>
      </div>
    </dialog>
  );
}
