import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useRef, useState, type DragEvent } from 'react';
import type { JobView, PrewarmRequest } from '../../src-shared/contract';
import { api } from '../api';
import { Icon } from '../components/icons';
import { Badge, Card, Empty, Loading, PageHeader, ProgressBar, QueryError } from '../components/ui';
import { useToast } from '../components/toasts';
import { describeKey, formatAgo, formatBytes, formatCount, formatDuration, formatRate } from '../lib/format';
import { useNow } from '../lib/clock';
import { useLive } from '../lib/live';
import { errorMessage, fieldErrors, keys, useJobs } from '../lib/queries';

export function DownloadsView() {
  return (
    <>
      <PageHeader title="Downloads" subtitle="Transfers from the upstream as they happen, and pre-warm jobs that fill the cache ahead of time." />
      <div className="grid grid-downloads">
        <PrewarmForm />
        <Transfers />
      </div>
      <Jobs />
    </>
  );
}

// ---------------------------------------------------------------- transfers

function Transfers() {
  const { transfers, finished } = useLive();
  const now = useNow(5000);
  return (
    <Card title="Transfers" actions={<span className="hint num">{transfers.length} in flight</span>}>
      <ul className="transfers" aria-label="Transfers in flight" data-testid="transfers">
        {transfers.length === 0 ? <li className="transfers-empty muted">Nothing is downloading right now.</li> : null}
        {transfers.map((t) => {
          const info = describeKey(t.key);
          return (
            <li key={t.id} className="transfer">
              <div className="transfer-head">
                <span className="transfer-name">{info.label}</span>
                <span className="transfer-numbers num">
                  {formatBytes(t.bytes)}
                  {t.totalBytes ? ` of ${formatBytes(t.totalBytes)}` : ''} · {formatRate(t.rate)}
                </span>
              </div>
              <ProgressBar value={t.bytes} max={t.totalBytes ?? 0} indeterminate={!t.totalBytes} label={`Downloading ${info.label}`} />
            </li>
          );
        })}
      </ul>
      {finished.length ? (
        <>
          <h3 className="subheading">Finished</h3>
          <ul className="finished" aria-label="Finished transfers">
            {finished.slice(0, 6).map((f) => (
              <li key={f.id} className={f.outcome === 'failed' ? 'error-text' : f.outcome === 'passed' ? 'warn-text' : undefined}>
                <Icon name={f.outcome === 'stored' ? 'check' : 'warning'} size={14} />
                <span className="truncate">{describeKey(f.key).label}</span>
                <span className="muted num">{f.outcome === 'stored' ? (f.bytes ? formatBytes(f.bytes) : 'stored') : (f.error ?? f.outcome)}</span>
                <span className="muted num small">{formatAgo(f.at, Math.max(now, f.at))}</span>
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </Card>
  );
}

// ---------------------------------------------------------------- starting a pre-warm

type Mode = 'lock' | 'packages';

const REQUIREMENT = /(\S+@(?:~>|>=|<=|==|!=|>|<)\s+[^\s,]+|[^\s,]+)/g;

/** "phoenix jason@1.4.1, plug@~> 1.14" → ['phoenix', 'jason@1.4.1', 'plug@~> 1.14'] */
export function splitPackages(text: string): string[] {
  return [...text.matchAll(REQUIREMENT)].map((m) => m[1]!.replace(/@\s+/, '@'));
}

function guessLockName(text: string): string {
  return text.trimStart().startsWith('%{') ? 'mix.lock' : 'rebar.lock';
}

function PrewarmForm() {
  const client = useQueryClient();
  const toast = useToast();
  const [mode, setMode] = useState<Mode>('lock');
  const [lockText, setLockText] = useState('');
  const [lockName, setLockName] = useState<string | null>(null);
  const [packages, setPackages] = useState('');
  const [dragging, setDragging] = useState(false);
  const [readError, setReadError] = useState<string | null>(null);
  const fileRef = useRef<HTMLInputElement>(null);
  const ids = { lock: useId(), packages: useId(), file: useId() };

  const start = useMutation({
    mutationFn: (request: PrewarmRequest) => api.startPrewarm(request),
    onSuccess: (job) => {
      client.setQueryData<JobView[]>(keys.jobs, (jobs) => (jobs?.some((j) => j.id === job.id) ? jobs : [job, ...(jobs ?? [])]));
      toast('info', `Pre-warm started: ${job.source}`);
      if (mode === 'lock') {
        setLockText('');
        setLockName(null);
      } else setPackages('');
    },
  });
  const errors = fieldErrors(start.error);
  const generalError = start.isError && !Object.keys(errors).length ? errorMessage(start.error) : errors.request;

  const readFile = async (file: File) => {
    setReadError(null);
    if (file.size > 2 * 1024 * 1024) return setReadError(`${file.name} is larger than 2 MiB; that is not a lock file.`);
    try {
      setLockText(await file.text());
      setLockName(file.name);
      setMode('lock');
      start.reset();
    } catch (error) {
      setReadError(`Could not read ${file.name}: ${(error as Error).message}`);
    }
  };

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    const file = e.dataTransfer.files[0];
    if (file) void readFile(file);
  };

  const submit = () => {
    if (mode === 'lock') {
      if (!lockText.trim()) return;
      start.mutate({ lockfile: { name: lockName ?? guessLockName(lockText), content: lockText } });
    } else {
      const list = splitPackages(packages);
      if (!list.length) return;
      start.mutate({ packages: list });
    }
  };

  const canStart = mode === 'lock' ? lockText.trim() !== '' : splitPackages(packages).length > 0;

  return (
    <Card title="Start a pre-warm">
      <fieldset className="segmented">
        <legend className="sr-only">Pre-warm from</legend>
        <label className={mode === 'lock' ? 'checked' : undefined}>
          <input type="radio" name="prewarm-mode" value="lock" checked={mode === 'lock'} onChange={() => setMode('lock')} />
          Lock file
        </label>
        <label className={mode === 'packages' ? 'checked' : undefined}>
          <input type="radio" name="prewarm-mode" value="packages" checked={mode === 'packages'} onChange={() => setMode('packages')} />
          Package names
        </label>
      </fieldset>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        {mode === 'lock' ? (
          <div className="tabpanel">
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
                id={ids.file}
                ref={fileRef}
                type="file"
                className="sr-only"
                tabIndex={-1}
                aria-label="Lock file to read"
                accept=".lock,text/plain"
                onChange={(e) => {
                  const file = e.currentTarget.files?.[0];
                  if (file) void readFile(file);
                  e.currentTarget.value = '';
                }}
              />
            </div>
            <label htmlFor={ids.lock} className="field-label">
              Lock file text {lockName ? <span className="muted">({lockName})</span> : <span className="muted">(paste it here)</span>}
            </label>
            <textarea
              id={ids.lock}
              className={`mono${errors.lockfile ? ' invalid' : ''}`}
              rows={7}
              spellCheck={false}
              placeholder={'%{\n  "jason": {:hex, :jason, "1.4.1", "…", [:mix], [], "hexpm", "…"},\n}'}
              value={lockText}
              onChange={(e) => {
                setLockText(e.currentTarget.value);
                if (!e.currentTarget.value) setLockName(null);
              }}
              aria-invalid={Boolean(errors.lockfile)}
              aria-describedby={errors.lockfile ? `${ids.lock}-error` : undefined}
            />
            {errors.lockfile ? (
              <p className="field-error" id={`${ids.lock}-error`}>
                {errors.lockfile}
              </p>
            ) : null}
            {readError ? <p className="field-error">{readError}</p> : null}
            <p className="hint">Hex entries are fetched and checked against the lock’s checksums; git and path dependencies are listed as skipped.</p>
          </div>
        ) : (
          <div className="tabpanel">
            <label htmlFor={ids.packages} className="field-label">
              Packages
            </label>
            <textarea
              id={ids.packages}
              className={`mono${errors.packages ? ' invalid' : ''}`}
              rows={4}
              spellCheck={false}
              placeholder={'phoenix\njason@1.4.1\nplug@~> 1.14'}
              value={packages}
              onChange={(e) => setPackages(e.currentTarget.value)}
              aria-invalid={Boolean(errors.packages)}
              aria-describedby={`${ids.packages}-hint${errors.packages ? ` ${ids.packages}-error` : ''}`}
            />
            {errors.packages ? (
              <p className="field-error" id={`${ids.packages}-error`}>
                {errors.packages}
              </p>
            ) : null}
            <p className="hint" id={`${ids.packages}-hint`}>
              Names separated by spaces, commas or lines; <code>name@version</code> or <code>name@requirement</code> picks a version. Dependencies come along.
            </p>
          </div>
        )}
        {generalError ? (
          <p className="field-error" role="alert">
            {generalError}
          </p>
        ) : null}
        {errors.concurrency ? <p className="field-error">{errors.concurrency}</p> : null}
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={!canStart || start.isPending}>
            <Icon name="downloads" /> {start.isPending ? 'Starting…' : 'Start pre-warm'}
          </button>
        </div>
      </form>
    </Card>
  );
}

// ---------------------------------------------------------------- jobs

const STATE_TONE: Record<JobView['state'], 'info' | 'ok' | 'danger' | 'warn' | 'accent'> = {
  resolving: 'accent',
  running: 'info',
  done: 'ok',
  failed: 'danger',
  cancelled: 'warn',
};

const STATE_LABEL: Record<JobView['state'], string> = {
  resolving: 'Resolving',
  running: 'Running',
  done: 'Done',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

function Jobs() {
  const jobs = useJobs();
  return (
    <Card title="Pre-warm jobs" className="jobs-card">
      {jobs.isPending ? <Loading /> : null}
      {jobs.isError ? <QueryError error={jobs.error} onRetry={() => void jobs.refetch()} /> : null}
      {jobs.data && jobs.data.length === 0 ? <Empty>No pre-warm jobs yet. Start one above, or run <code>hexhub prewarm mix.lock</code>: jobs from the command line show up here too.</Empty> : null}
      <ul className="jobs" aria-label="Pre-warm jobs">
        {[...(jobs.data ?? [])]
          .sort((a, b) => b.createdAt - a.createdAt)
          .map((job) => (
            <JobCard key={job.id} job={job} />
          ))}
      </ul>
    </Card>
  );
}

function JobCard({ job }: { job: JobView }) {
  const client = useQueryClient();
  const active = job.state === 'resolving' || job.state === 'running';
  const now = useNow(active ? 1000 : 5000);
  const cancel = useMutation({
    mutationFn: () => api.cancelJob(job.id),
    onSuccess: (view) => client.setQueryData<JobView[]>(keys.jobs, (jobs) => jobs?.map((j) => (j.id === view.id ? view : j))),
  });
  const { totals } = job;
  const { transfers } = useLive();
  // Job events come at most every 250 ms; the transfers of its releases may be newer.
  let liveBytes = 0;
  let rate = 0;
  let partly = 0;
  for (const item of job.items) {
    const transfer = item.state === 'fetching' ? transfers.find((t) => t.key === `tarballs/${item.name}-${item.version}.tar`) : undefined;
    const done = Math.max(item.bytes, transfer?.bytes ?? 0);
    const total = item.totalBytes ?? transfer?.totalBytes;
    liveBytes += done;
    rate += transfer?.rate ?? 0;
    if (item.state === 'fetching' && total) partly += Math.min(0.99, done / total);
  }
  const bytes = Math.max(totals.bytes, liveBytes);
  const processed = totals.fetched + totals.cached + totals.failed + job.items.filter((i) => i.state === 'cancelled').length;
  const elapsed = ((job.finishedAt ?? now) - job.createdAt) / 1000;
  const expectedBytes = job.items.reduce((sum, i) => sum + (i.totalBytes ?? 0), 0);
  const failedItems = job.items.filter((i) => i.state === 'failed');
  return (
    <li className={`job job-${job.state}`} data-testid="job" data-state={job.state}>
      <div className="job-head">
        <div className="job-title">
          <Badge tone={STATE_TONE[job.state]}>{STATE_LABEL[job.state]}</Badge>
          <span className="job-source truncate" title={job.source}>
            {job.source || 'Pre-warm'}
          </span>
        </div>
        <div className="job-meta muted small num">
          started {formatAgo(job.createdAt, Math.max(now, job.createdAt))} · {formatDuration(elapsed)}
        </div>
        {active ? (
          <button type="button" className="btn btn-small" onClick={() => cancel.mutate()} disabled={cancel.isPending}>
            {cancel.isPending ? 'Cancelling…' : 'Cancel'}
          </button>
        ) : (
          <span className="job-button-placeholder" />
        )}
      </div>
      <ProgressBar
        value={processed}
        shown={processed + partly}
        max={totals.items}
        indeterminate={job.state === 'resolving'}
        tone={job.state === 'failed' ? 'danger' : job.state === 'done' ? 'ok' : job.state === 'cancelled' ? 'warn' : undefined}
        label={`Progress of ${job.source || 'pre-warm'}`}
      />
      <div className="job-stats num">
        <span>
          <strong>{formatCount(processed)}</strong> of {formatCount(totals.items)} releases
        </span>
        <span>{formatCount(totals.fetched)} fetched</span>
        <span>{formatCount(totals.cached)} already cached</span>
        <span className={totals.failed ? 'error-text' : undefined}>{formatCount(totals.failed)} failed</span>
        {job.skipped.length ? <span>{job.skipped.length} skipped</span> : null}
        <span>
          {formatBytes(bytes)}
          {expectedBytes > bytes ? ` of ${formatBytes(expectedBytes)}` : ''}
        </span>
        {active ? <span>{formatRate(rate)}</span> : null}
      </div>
      {cancel.isError ? <p className="field-error">{errorMessage(cancel.error)}</p> : null}
      {job.error ? <p className="field-error">{job.error}</p> : null}
      {job.problems.length ? (
        <ul className="problem-list" aria-label="Problems">
          {job.problems.map((p, i) => (
            <li key={`${p.name}-${i}`}>
              <strong className="mono">{p.name}</strong>: {p.reason}
            </li>
          ))}
        </ul>
      ) : null}
      {failedItems.length ? (
        <ul className="problem-list" aria-label="Failed downloads">
          {failedItems.map((i) => (
            <li key={`${i.name}@${i.version}`}>
              <strong className="mono">
                {i.name} {i.version}
              </strong>
              : {i.error ?? 'failed'}
            </li>
          ))}
        </ul>
      ) : null}
      {job.items.length || job.skipped.length ? (
        <details className="job-details">
          <summary>
            {job.items.length} release{job.items.length === 1 ? '' : 's'}
            {job.skipped.length ? `, ${job.skipped.length} skipped` : ''}
          </summary>
          <table className="mini-table">
            <thead>
              <tr>
                <th scope="col">Release</th>
                <th scope="col">State</th>
                <th scope="col" className="right">
                  Size
                </th>
              </tr>
            </thead>
            <tbody>
              {job.items.map((i) => (
                <tr key={`${i.name}@${i.version}`}>
                  <td className="mono">
                    {i.name} {i.version}
                  </td>
                  <td className={i.state === 'failed' ? 'error-text' : undefined}>{i.state}</td>
                  <td className="right num">{formatBytes(i.totalBytes ?? i.bytes)}</td>
                </tr>
              ))}
              {job.skipped.map((s) => (
                <tr key={`skip-${s.name}`} className="muted">
                  <td className="mono">{s.name}</td>
                  <td colSpan={2}>skipped: {s.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      ) : null}
    </li>
  );
}
