import { useId, type ReactNode } from 'react';
import { Icon } from '../../components/icons';

export function FixedNote({ variable }: { variable: string }) {
  return (
    <p className="fixed-note">
      <Icon name="lock" size={13} />
      Set by <code>{variable}</code> in the environment; change it there and restart the mirror.
    </p>
  );
}

/** What a field's input takes from its Field: the label's target, and what describes it. */
export interface FieldProps {
  id: string;
  disabled: boolean;
  'aria-invalid': boolean;
  'aria-describedby': string;
}

/** A labelled setting with its hint, its error and, when the environment fixes it, the variable. */
export function Field({
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
  /** Several inputs under one label (a group), rather than one input the label names. */
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
