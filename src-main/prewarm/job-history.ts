// Pre-warm jobs kept in the data dir (jobs.json, owner-only: a lock file's text can name private
// repositories), so the dashboard's job history survives a restart. A job is written when it
// starts, changes state and finishes, not on every byte: what a crash loses is progress, which a
// restored job does not show anyway (its transfers are gone).
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { JobItem, JobView } from '../../src-shared/contract.js';
import { messageOf } from '../../src-shared/problems.js';
import { PrivateJSONFile } from '../core/private-files.js';

interface HistoryFile {
  schema: 1;
  jobs: JobView[];
}

/** What a restored job that was still going says: it did not fail on its own, the process ended under it. */
export const STOPPED_UNDER_IT = 'the mirror stopped before this job finished';

function isJobView(value: unknown): value is JobView {
  const v = value as Partial<JobView> | null;
  return (
    !!v &&
    typeof v.id === 'string' &&
    typeof v.state === 'string' &&
    typeof v.createdAt === 'number' &&
    Array.isArray(v.items) &&
    Array.isArray(v.problems) &&
    Array.isArray(v.skipped) &&
    typeof v.totals === 'object'
  );
}

/** A job read back after a restart: never running, since nothing runs it any more. */
export function restoredView(view: JobView): JobView {
  const unfinished = (item: JobItem) => item.state === 'queued' || item.state === 'fetching';
  const items = view.items.map((item) => (unfinished(item) ? { ...item, state: 'cancelled' as const } : item));
  const going = view.state === 'resolving' || view.state === 'running';
  return { ...view, items, restored: true, ...(going ? { state: 'cancelled' as const, error: STOPPED_UNDER_IT } : {}) };
}

export class JobHistory {
  private readonly file: PrivateJSONFile<HistoryFile>;
  private writing: Promise<void> = Promise.resolve();
  private pending: HistoryFile | undefined;

  constructor(
    dataDir: string,
    private readonly log: Logger,
  ) {
    this.file = new PrivateJSONFile<HistoryFile>(join(dataDir, 'jobs.json'));
  }

  /** The kept jobs, restored (restoredView); none if there is no file or it is damaged. */
  async load(): Promise<JobView[]> {
    try {
      const data = await this.file.read();
      if (data === null) return [];
      if (typeof data !== 'object' || !Array.isArray(data.jobs)) throw new Error('not a job history');
      return data.jobs.filter(isJobView).map(restoredView);
    } catch (error) {
      // Only history: losing it must not keep the mirror from starting.
      this.log.warn({ event: 'job_history_unreadable', error: messageOf(error) }, 'pre-warm job history unreadable; starting with none');
      return [];
    }
  }

  /**
   * Writes `jobs` once any write in progress is done; calls that come meanwhile are folded into
   * one write of the latest list. lowdb renames a finished temporary file into place, so a crash
   * mid-write keeps the previous history.
   */
  save(jobs: JobView[]): Promise<void> {
    const queued = this.pending !== undefined;
    this.pending = { schema: 1, jobs: structuredClone(jobs) };
    if (queued) return this.writing;
    this.writing = this.writing
      .then(() => {
        const data = this.pending!;
        this.pending = undefined;
        return this.file.write(data);
      })
      .catch((error: Error) => this.log.error({ event: 'job_history_write_failed', error: error.message }, 'could not write the pre-warm job history'));
    return this.writing;
  }

  flush(): Promise<void> {
    return this.writing;
  }
}
