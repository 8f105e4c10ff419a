import { useState } from 'react';
import type { JobView } from '../../../src-shared/contract';
import { Badge, FormError, ProgressBar } from '../../components/ui';
import { useToast } from '../../components/toasts';
import { useNow } from '../../lib/clock';
import { formatAgo, formatBytes, formatCount, formatDuration, formatRate } from '../../lib/format';
import { jobLabel, jobOutcome, sourceNames, summariseNames } from '../../lib/job-words';
import { useLive } from '../../lib/live';
import { useCancelJob, useFollowUpJob } from '../../lib/mutations';
import { jobProgress, type JobProgress } from './job-progress';

const BAR_TONE: Partial<Record<JobView['state'], 'ok' | 'danger' | 'warn'>> = { done: 'ok', failed: 'danger', cancelled: 'warn' };

/** Long lists fold after this many lines, with a button for the rest. */
const FOLD_AFTER = 5;

export function JobCard({ job }: { job: JobView }) {
  const active = job.state === 'resolving' || job.state === 'running';
  const now = useNow(active ? 1000 : 5000);
  const progress = jobProgress(job, useLive().transfers);
  const outcome = jobOutcome(job);
  const [allNames, setAllNames] = useState(false);
  return (
    <li className={`job job-${job.state}`} data-testid="job" data-state={job.state}>
      <div className="job-head">
        <div className="job-title">
          <Badge tone={outcome.tone}>{outcome.text}</Badge>
          {job.restored ? (
            <Badge tone="neutral" title="Read back from the data dir after the mirror restarted">
              before restart
            </Badge>
          ) : null}
          <JobSource source={job.source} all={allNames} onToggle={() => setAllNames(!allNames)} />
        </div>
        <div className="job-meta muted small num">
          started {formatAgo(job.createdAt, Math.max(now, job.createdAt))} · {formatDuration(((job.finishedAt ?? now) - job.createdAt) / 1000)}
        </div>
        <JobActions job={job} active={active} />
      </div>
      {allNames ? (
        <p className="job-names mono small" aria-label="All names of the job">
          {sourceNames(job.source).join(', ')}
        </p>
      ) : null}
      <ProgressBar
        value={progress.processed}
        shown={progress.shown}
        max={job.totals.items}
        indeterminate={job.state === 'resolving'}
        tone={BAR_TONE[job.state]}
        label={`Progress of ${jobLabel(job)}`}
      />
      <JobStats job={job} progress={progress} active={active} />
      {job.error ? (
        <div className="field-error break" role="alert">
          {job.error}
          {job.detail ? <Detail text={job.detail} /> : null}
        </div>
      ) : null}
      <ProblemList
        label="Problems"
        problems={job.problems
          .filter((p) => !p.warning && job.state !== 'done')
          .map((p) => ({ what: p.name, reason: p.reason, ...(p.detail ? { detail: p.detail } : {}) }))}
      />
      <ProblemList
        label="Warnings"
        problems={job.problems
          .filter((p) => p.warning || job.state === 'done')
          .map((p) => ({ what: p.name, reason: p.reason, ...(p.detail ? { detail: p.detail } : {}) }))}
      />
      <ProblemList
        label="Failed downloads"
        problems={job.items
          .filter((i) => i.state === 'failed')
          .map((i) => ({ what: `${i.name} ${i.version}`, reason: i.error ?? 'failed', ...(i.detail ? { detail: i.detail } : {}) }))}
      />
      {job.items.length || job.skipped.length ? <JobReleases job={job} /> : null}
    </li>
  );
}

/** The job's names: "phoenix, ecto and 25 more", with a button that shows them all (under the head, full width). */
function JobSource({ source, all, onToggle }: { source: string; all: boolean; onToggle: () => void }) {
  const names = source ? sourceNames(source) : ['Pre-warm'];
  const short = summariseNames(names);
  const folded = short !== names.join(', ');
  return (
    <span className="job-source" title={folded ? names.join(', ') : undefined}>
      <span className="job-source-text">{short}</span>
      {folded ? (
        <button type="button" className="link-button small" aria-expanded={all} onClick={onToggle}>
          {all ? 'show fewer' : `show all ${names.length}`}
        </button>
      ) : null}
    </span>
  );
}

/** Cancel while it runs; Retry failed and Run again once it has finished. */
function JobActions({ job, active }: { job: JobView; active: boolean }) {
  const toast = useToast();
  const cancel = useCancelJob(job.id);
  const followUp = useFollowUpJob(job.id, (next) => toast('info', `Pre-warm started: ${jobLabel(next)}`));
  const error = cancel.error ?? followUp.error;
  return (
    <div className="job-actions">
      {active ? (
        <button type="button" className="btn btn-small" onClick={() => cancel.mutate()} disabled={cancel.isPending}>
          {cancel.isPending ? 'Cancelling…' : 'Cancel'}
        </button>
      ) : (
        <>
          {job.totals.failed > 0 ? (
            <button type="button" className="btn btn-small" onClick={() => followUp.mutate('retry')} disabled={followUp.isPending}>
              Retry failed
            </button>
          ) : null}
          {job.request ? (
            <button type="button" className="btn btn-small" onClick={() => followUp.mutate('rerun')} disabled={followUp.isPending}>
              Run again
            </button>
          ) : null}
        </>
      )}
      {error ? <FormError error={error} /> : null}
    </div>
  );
}

function JobStats({ job, progress, active }: { job: JobView; progress: JobProgress; active: boolean }) {
  const { totals } = job;
  const cancelled = job.items.filter((i) => i.state === 'cancelled').length;
  return (
    <div className="job-stats num">
      <span>
        <strong>{formatCount(progress.processed)}</strong> of {formatCount(totals.items)} releases
      </span>
      <span>{formatCount(totals.fetched)} fetched</span>
      <span>{formatCount(totals.cached)} already cached</span>
      <span className={totals.failed ? 'error-text' : undefined}>{formatCount(totals.failed)} failed</span>
      {job.skipped.length ? <span>{job.skipped.length} skipped</span> : null}
      {cancelled ? <span>{formatCount(cancelled)} not fetched (cancelled)</span> : null}
      <span>
        {formatBytes(progress.bytes)}
        {progress.expectedBytes > progress.bytes ? ` of ${formatBytes(progress.expectedBytes)}` : ''}
      </span>
      {active ? <span>{formatRate(progress.rate)}</span> : null}
    </div>
  );
}

interface ProblemLine {
  what: string;
  reason: string;
  /** The internal detail (keys, checksums), behind a disclosure. */
  detail?: string;
}

function ProblemList({ label, problems }: { label: string; problems: ProblemLine[] }) {
  const [all, setAll] = useState(false);
  if (!problems.length) return null;
  const shown = all ? problems : problems.slice(0, FOLD_AFTER);
  return (
    <div className="problems">
      <ul className="problem-list" aria-label={label}>
        {shown.map((p, i) => (
          <li key={`${p.what}-${i}`}>
            <strong className="mono">{p.what}</strong>: {p.reason}
            {p.detail ? <Detail text={p.detail} /> : null}
          </li>
        ))}
      </ul>
      {problems.length > FOLD_AFTER ? (
        <button type="button" className="link-button small" aria-expanded={all} onClick={() => setAll(!all)}>
          {all ? 'Show fewer' : `Show all ${problems.length} ${label.toLowerCase()}`}
        </button>
      ) : null}
    </div>
  );
}

/** The engine's own words (keys, "required by …"), folded away behind the user's. */
function Detail({ text }: { text: string }) {
  return (
    <details className="problem-detail">
      <summary>Details</summary>
      <pre>{text}</pre>
    </details>
  );
}

/** Every release of the job and every entry it skipped, folded away. */
function JobReleases({ job }: { job: JobView }) {
  return (
    <details className="job-details">
      <summary>
        {job.items.length} release{job.items.length === 1 ? '' : 's'}
        {job.skipped.length ? `, ${job.skipped.length} skipped` : ''}
      </summary>
      <table className="mini-table mini-table-fixed">
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
              <td className="mono break">
                {i.name} {i.version}
              </td>
              <td className={i.state === 'failed' ? 'error-text break' : undefined}>{i.state === 'failed' && i.error ? `failed: ${i.error}` : i.state}</td>
              <td className="right num">{formatBytes(i.totalBytes ?? i.bytes)}</td>
            </tr>
          ))}
          {job.skipped.map((s) => (
            <tr key={`skip-${s.name}`} className="muted">
              <td className="mono break">{s.name}</td>
              <td colSpan={2} className="break">
                skipped: {s.reason}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}
