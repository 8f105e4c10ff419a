import { useId } from 'react';

const REQUIREMENT = /(\S+@(?:~>|>=|<=|==|!=|>|<)\s+[^\s,]+|[^\s,]+)/g;

/** "phoenix jason@1.4.1, plug@~> 1.14" → ['phoenix', 'jason@1.4.1', 'plug@~> 1.14'] */
export function splitPackages(text: string): string[] {
  return [...text.matchAll(REQUIREMENT)].map((m) => m[1]!.replace(/@\s+/, '@'));
}

export function PackageNamesInput({ value, onChange, error }: { value: string; onChange: (value: string) => void; error: string | undefined }) {
  const id = useId();
  return (
    <div className="tabpanel">
      <label htmlFor={id} className="field-label">
        Packages
      </label>
      <textarea
        id={id}
        className={`mono${error ? ' invalid' : ''}`}
        rows={4}
        spellCheck={false}
        placeholder={'phoenix\njason@1.4.1\nplug@~> 1.14'}
        value={value}
        onChange={(e) => onChange(e.currentTarget.value)}
        aria-invalid={Boolean(error)}
        aria-describedby={`${id}-hint${error ? ` ${id}-error` : ''}`}
      />
      {error ? (
        <p className="field-error" id={`${id}-error`}>
          {error}
        </p>
      ) : null}
      <p className="hint" id={`${id}-hint`}>
        Names separated by spaces, commas or lines; <code>name@version</code> or <code>name@requirement</code> picks a version. Dependencies come along.
      </p>
    </div>
  );
}
