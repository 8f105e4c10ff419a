import type { JobView } from '../../../src-shared/contract';
import { keys as cacheKeys } from '../../../src-shared/keys';
import { jobProcessed } from '../../lib/job-words';
import type { LiveTransfer } from '../../lib/live';

export interface JobProgress {
  /** Releases done with: fetched, already cached or failed (a cancelled one was not done). */
  processed: number;
  /** What the bar draws: `processed` plus the part of each release under way. */
  shown: number;
  bytes: number;
  /** The sizes of the releases, as far as known. */
  expectedBytes: number;
  rate: number;
}

/** Job events come at most every 250 ms; the transfers of its releases may be newer, so they count too. */
export function jobProgress(job: JobView, transfers: LiveTransfer[]): JobProgress {
  let liveBytes = 0;
  let rate = 0;
  let partly = 0;
  for (const item of job.items) {
    const transfer = item.state === 'fetching' ? transfers.find((t) => t.key === cacheKeys.tarball(item.name, item.version)) : undefined;
    const done = Math.max(item.bytes, transfer?.bytes ?? 0);
    const total = item.totalBytes ?? transfer?.totalBytes;
    liveBytes += done;
    rate += transfer?.rate ?? 0;
    if (item.state === 'fetching' && total) partly += Math.min(0.99, done / total);
  }
  const processed = jobProcessed(job);
  return {
    processed,
    shown: processed + partly,
    bytes: Math.max(job.totals.bytes, liveBytes),
    expectedBytes: job.items.reduce((sum, i) => sum + (i.totalBytes ?? 0), 0),
    rate,
  };
}
