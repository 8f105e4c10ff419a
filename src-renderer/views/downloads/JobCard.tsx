import type { JobView } from '../../../src-shared/contract';
import { Badge, FormError, ProgressBar } from '../../components/ui';
import { useNow } from '../../lib/clock';
import { formatAgo, formatBytes, formatCount, formatDuration, formatRate } from '../../lib/format';
import { useLive } from '../../lib/live';
import { useCancelJob } from '../../lib/mutations';
import { jobProgress, type JobProgress } from './job-progress';

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

const BAR_TONE: Partial<Record<JobView['state'], 'ok' | 'danger' | 'warn'>> = { done: 'ok', failed: 'danger', cancelled: 'warn' };

export function JobCard({ job }: { job: JobView }) {
  const active = job.state === 'resolving' || job.state === 'running';
  const now = useNow(active ? 1000 : 5000);
  const cancel = useCancelJob(job.id);
  const progress = jobProgress(job, useLive().transfers);
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
          started {formatAgo(job.createdAt, Math.max(now, job.createdAt))} · {formatDuration(((job.finishedAt ?? now) - job.createdAt) / 1000)}
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
        value={progress.processed}
        shown={progress.shown}
        max={job.totals.items}
        indeterminate={job.state === 'resolving'}
        tone={BAR_TONE[job.state]}
        label={`Progress of ${job.source || 'pre-warm'}`}
      />
      <JobStats job={job} progress={progress} active={active} />
      <FormError error={cancel.error} />
      {job.error ? <p className="field-error">{job.error}</p> : null}
      <ProblemList label="Problems" problems={job.problems.map((p) => ({ what: p.name, reason: p.reason }))} />
      <ProblemList
        label="Failed downloads"
        problems={job.items.filter((i) => i.state === 'failed').map((i) => ({ what: `${i.name} ${i.version}`, reason: i.error ?? 'failed' }))}
      />
      {job.items.length || job.skipped.length ? <JobReleases job={job} /> : null}
    </li>
  );
}

function JobStats({ job, progress, active }: { job: JobView; progress: JobProgress; active: boolean }) {
  const { totals } = job;
  return (
    <div className="job-stats num">
      <span>
        <strong>{formatCount(progress.processed)}</strong> of {formatCount(totals.items)} releases
      </span>
      <span>{formatCount(totals.fetched)} fetched</span>
      <span>{formatCount(totals.cached)} already cached</span>
      <span className={totals.failed ? 'error-text' : undefined}>{formatCount(totals.failed)} failed</span>
      {job.skipped.length ? <span>{job.skipped.length} skipped</span> : null}
      <span>
        {formatBytes(progress.bytes)}
        {progress.expectedBytes > progress.bytes ? ` of ${formatBytes(progress.expectedBytes)}` : ''}
      </span>
      {active ? <span>{formatRate(progress.rate)}</span> : null}
    </div>
  );
}

function ProblemList({ label, problems }: { label: string; problems: { what: string; reason: string }[] }) {
  if (!problems.length) return null;
  return (
    <ul className="problem-list" aria-label={label}>
      {problems.map((p, i) => (
        <li key={`${p.what}-${i}`}>
          <strong className="mono">{p.what}</strong>: {p.reason}
        </li>
      ))}
    </ul>
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
  );
}
