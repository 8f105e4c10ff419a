import { Card, Empty, Loading, QueryError } from '../../components/ui';
import { useClearFinishedJobs } from '../../lib/mutations';
import { useJobs } from '../../lib/queries';
import { FormError } from '../../components/ui';
import { JobCard } from './JobCard';

/** Every pre-warm job the mirror knows, newest first: from the dashboard and the command line alike. */
export function Jobs() {
  const jobs = useJobs();
  const clear = useClearFinishedJobs();
  const finished = (jobs.data ?? []).filter((j) => j.state !== 'resolving' && j.state !== 'running').length;
  return (
    <Card
      title="Pre-warm jobs"
      className="jobs-card"
      actions={
        finished ? (
          <button type="button" className="btn btn-small" onClick={() => clear.mutate()} disabled={clear.isPending}>
            Clear finished ({finished})
          </button>
        ) : undefined
      }
    >
      <FormError error={clear.error} />
      {jobs.isPending ? <Loading /> : null}
      {jobs.isError ? <QueryError error={jobs.error} onRetry={() => void jobs.refetch()} /> : null}
      {jobs.data && jobs.data.length === 0 ? (
        <Empty>
          No pre-warm jobs yet. Start one above, or run <code>hexhub prewarm mix.lock</code>: jobs from the command line show up here too.
        </Empty>
      ) : null}
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
