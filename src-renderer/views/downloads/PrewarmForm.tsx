import { useState } from 'react';
import type { PrewarmRequest } from '../../../src-shared/contract';
import { Icon } from '../../components/icons';
import { useToast } from '../../components/toasts';
import { Card, FormError, Segmented } from '../../components/ui';
import { jobLabel } from '../../lib/job-words';
import { useStartPrewarm } from '../../lib/mutations';
import { errorMessage, fieldErrors } from '../../lib/queries';
import { LockFileInput, NO_LOCK, type LockDraft } from './LockFileInput';
import { PackageNamesInput, splitPackages } from './PackageNamesInput';

type Mode = 'lock' | 'packages';

const MODES: { value: Mode; label: string }[] = [
  { value: 'lock', label: 'Lock file' },
  { value: 'packages', label: 'Package names' },
];

/** What the form asks for; nothing while there is nothing to fetch. */
function toRequest(mode: Mode, lock: LockDraft, packages: string): PrewarmRequest | undefined {
  if (mode === 'lock') {
    if (!lock.text.trim()) return undefined;
    // Pasted text has no file name, and the engine reads a lock by its name.
    const name = lock.name ?? (lock.text.trimStart().startsWith('%{') ? 'mix.lock' : 'rebar.lock');
    return { lockfile: { name, content: lock.text } };
  }
  const list = splitPackages(packages);
  return list.length ? { packages: list } : undefined;
}

export function PrewarmForm() {
  const toast = useToast();
  const [mode, setMode] = useState<Mode>('lock');
  const [lock, setLock] = useState<LockDraft>(NO_LOCK);
  const [packages, setPackages] = useState('');
  const start = useStartPrewarm((job) => {
    toast('info', `Pre-warm started: ${jobLabel(job)}`);
    if (mode === 'lock') setLock(NO_LOCK);
    else setPackages('');
  });
  const errors = fieldErrors(start.error);
  const generalError = start.isError && !Object.keys(errors).length ? errorMessage(start.error) : errors.request;
  const request = toRequest(mode, lock, packages);

  return (
    <Card title="Start a pre-warm">
      <Segmented legend="Pre-warm from" options={MODES} value={mode} onChange={setMode} />
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (request) start.mutate(request);
        }}
      >
        {mode === 'lock' ? (
          <LockFileInput
            lock={lock}
            error={errors.lockfile}
            onChange={(next, fromFile) => {
              setLock(next);
              // A file read replaces whatever the last attempt complained about.
              if (fromFile) start.reset();
            }}
          />
        ) : (
          <PackageNamesInput value={packages} onChange={setPackages} error={errors.packages} />
        )}
        <FormError error={generalError} />
        <FormError error={errors.concurrency} />
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={!request || start.isPending}>
            <Icon name="downloads" /> {start.isPending ? 'Starting…' : 'Start pre-warm'}
          </button>
        </div>
      </form>
    </Card>
  );
}
