import { useId, useRef, useState, type DragEvent } from 'react';
import { messageOf } from '../../../src-shared/problems.js';
import { Icon } from '../../components/icons';
import { FormError } from '../../components/ui';

export interface LockDraft {
  text: string;
  /** The file it was read from; unknown for pasted text. */
  name: string | null;
}

export const NO_LOCK: LockDraft = { text: '', name: null };

// A lock file is a few KiB; anything this big was chosen by mistake.
const MAX_LOCK_BYTES = 2 * 1024 * 1024;

/** A lock file's text: dropped, chosen or pasted. */
export function LockFileInput({
  lock,
  onChange,
  error,
}: {
  lock: LockDraft;
  onChange: (lock: LockDraft, fromFile?: boolean) => void;
  error: string | undefined;
}) {
  const [readError, setReadError] = useState<string | null>(null);
  const id = useId();

  const read = async (file: File) => {
    setReadError(null);
    if (file.size > MAX_LOCK_BYTES) return setReadError(`${file.name} is larger than 2 MiB; that is not a lock file.`);
    try {
      onChange({ text: await file.text(), name: file.name }, true);
    } catch (failure) {
      setReadError(`Could not read ${file.name}: ${messageOf(failure)}`);
    }
  };

  return (
    <div className="tabpanel">
      <LockFileDrop onFile={(file) => void read(file)} />
      <label htmlFor={id} className="field-label">
        Lock file text {lock.name ? <span className="muted">({lock.name})</span> : <span className="muted">(paste it here)</span>}
      </label>
      <textarea
        id={id}
        className={`mono${error ? ' invalid' : ''}`}
        rows={7}
        spellCheck={false}
        placeholder={'%{\n  "jason": {:hex, :jason, "1.4.1", "…", [:mix], [], "hexpm", "…"},\n}'}
        value={lock.text}
        onChange={(e) => {
          const text = e.currentTarget.value;
          onChange({ text, name: text ? lock.name : null });
        }}
        aria-invalid={Boolean(error)}
        aria-describedby={error ? `${id}-error` : undefined}
      />
      {error ? (
        <p className="field-error" id={`${id}-error`}>
          {error}
        </p>
      ) : null}
      <FormError error={readError} />
      <p className="hint">Hex entries are fetched and checked against the lock’s checksums; git and path dependencies are listed as skipped.</p>
    </div>
  );
}

function LockFileDrop({ onFile }: { onFile: (file: File) => void }) {
  const [dragging, setDragging] = useState(false);
  const fileRef = useRef<HTMLInputElement>(null);
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    const file = e.dataTransfer.files[0];
    if (file) onFile(file);
  };
  return (
    <div
      className={`dropzone${dragging ? ' dragging' : ''}`}
      onDragOver={(e) => {
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={onDrop}
      data-testid="dropzone"
    >
      <Icon name="upload" size={20} />
      <span>
        Drop a <code>mix.lock</code> or <code>rebar.lock</code> here, or{' '}
        <button type="button" className="link-button" onClick={() => fileRef.current?.click()}>
          choose a file…
        </button>
      </span>
      <input
        ref={fileRef}
        type="file"
        className="sr-only"
        tabIndex={-1}
        aria-label="Lock file to read"
        accept=".lock,text/plain"
        onChange={(e) => {
          const file = e.currentTarget.files?.[0];
          if (file) onFile(file);
          e.currentTarget.value = '';
        }}
      />
    </div>
  );
}
