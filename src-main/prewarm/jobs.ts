// Pre-warm jobs: from a mix.lock, a rebar.lock or a list of package names to tarballs in
// the cache, with bounded concurrency, per-item state and bytes, cancel, and a final
// report. Several jobs can run at once; a release two jobs (or a job and a client) want
// is fetched once, because the artifact cache shares transfers. Jobs keep their request and
// are kept in the data dir (job-history.ts), so a finished one can be retried for what failed
// or run again, after a restart too.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { JobItem, JobView, PrewarmRequest, ServerEvent } from '../../src-shared/contract.js';
import type { Config } from '../config/config.js';
import { failureInWords } from '../../src-shared/failure-words.js';
import { messageOf } from '../../src-shared/problems.js';
import { Problem } from '../core/problem.js';
import { ValidationError } from '../core/validation-errors.js';
import type { RegistryService } from '../mirror/registry-service.js';
import type { ReleaseArtifacts } from '../mirror/release-artifacts.js';
import type { PackageRecord } from '../hex/registry.js';
import { keys } from '../store/keys.js';
import { detectLockKind, parseMixLock, parsePackageArgs, parseRebarLock, type LockEntry } from './lock-files.js';
import { resolve } from './resolve.js';
import { STOPPED_UNDER_IT, type JobHistory } from './job-history.js';
import { finalState, fromResolve, lockChecksumWarning } from './job-outcome.js';

export interface JobDeps {
  registry: RegistryService;
  releases: ReleaseArtifacts;
  config: () => Config;
  log: Logger;
  publish(event: ServerEvent, coalesceKey?: string): void;
  /** Transfer progress, to show bytes per item while it downloads. */
  onTransfer(listener: (key: string, bytes: number, total?: number) => void): () => void;
  signal: AbortSignal;
  /** Where jobs are kept across restarts; none in tests of the jobs alone. */
  history?: JobHistory;
}

const MAX_CONCURRENCY = 64;
/** Finished jobs kept for the dashboard. */
const KEEP_FINISHED = 50;

interface Job {
  view: JobView;
  cancelled: boolean;
  /** Lock entries of items that came from a lock file, for the checksum comparison. */
  locks: Map<JobItem, LockEntry>;
  /** The run in the background, until it ends; none for a job restored from the history. */
  running?: Promise<void>;
}

function isGoing(view: JobView): boolean {
  return view.state === 'resolving' || view.state === 'running';
}

function refuseGoing(view: JobView, what: string): void {
  if (isGoing(view)) throw new Problem('conflict', `this job is still running; it can be ${what} once it has finished or been cancelled`);
}

/** An item that could not be fetched, in user words; one the mirror's stop cut short is cancelled, not failed. */
function failItem(item: JobItem, error: unknown, stopping: boolean): void {
  if (stopping) {
    item.state = 'cancelled';
    return;
  }
  const words = failureInWords(error);
  item.state = 'failed';
  item.error = words.error;
  if (words.detail !== words.error) item.detail = words.detail;
}

/** A job that failed as a whole (its plan could not be made). */
function jobFailure(error: unknown): Pick<JobView, 'error' | 'detail'> {
  const words = failureInWords(error);
  return { error: words.error, ...(words.detail !== words.error ? { detail: words.detail } : {}) };
}

export class JobManager {
  private readonly jobs = new Map<string, Job>();

  constructor(private readonly deps: JobDeps) {}

  /** Reads back the kept history (after the data dir is opened); restored jobs are never running. */
  async load(): Promise<void> {
    for (const view of (await this.deps.history?.load()) ?? []) {
      if (!this.jobs.has(view.id)) this.jobs.set(view.id, { view, cancelled: false, locks: new Map() });
    }
    this.prune();
  }

  /** Waits for every job to end (after cancelAll, on stop) and for the history to be written. */
  async settle(): Promise<void> {
    await Promise.all([...this.jobs.values()].map((job) => job.running));
    await this.deps.history?.flush();
  }

  get active(): number {
    return [...this.jobs.values()].filter((j) => isGoing(j.view)).length;
  }

  list(): JobView[] {
    return [...this.jobs.values()].map((j) => j.view).sort((a, b) => b.createdAt - a.createdAt);
  }

  get(id: string): JobView | undefined {
    return this.jobs.get(id)?.view;
  }

  cancel(id: string): JobView | undefined {
    const job = this.jobs.get(id);
    if (!job) return undefined;
    if (isGoing(job.view)) {
      job.cancelled = true;
      for (const item of job.view.items) if (item.state === 'queued') item.state = 'cancelled';
      this.publish(job);
    }
    return job.view;
  }

  cancelAll(): void {
    for (const id of this.jobs.keys()) this.cancel(id);
  }

  /** A new job for exactly the releases that failed in a finished job (not their dependencies again). */
  retry(id: string): JobView | undefined {
    const job = this.jobs.get(id);
    if (!job) return undefined;
    refuseGoing(job.view, 'retried');
    const failed = job.view.items.filter((i) => i.state === 'failed');
    if (failed.length === 0) throw new Problem('conflict', 'this job has no failed releases to retry');
    const packages = failed.map((i) => `${i.name}@${i.version}`);
    const { concurrency } = job.view;
    return this.launch({ packages, concurrency }, concurrency, packages.join(', '), async (next) => {
      for (const item of failed) this.addItem(next, item.name, item.version);
    });
  }

  /** A new job with the request of a finished one. */
  async rerun(id: string): Promise<JobView | undefined> {
    const job = this.jobs.get(id);
    if (!job) return undefined;
    refuseGoing(job.view, 'run again');
    if (!job.view.request) throw new Problem('conflict', 'this job does not keep its request; start a new pre-warm instead');
    return this.start(job.view.request);
  }

  /** Forgets finished jobs (done, failed, cancelled), here and in the kept history; returns the jobs left. */
  clearFinished(): JobView[] {
    for (const [id, job] of this.jobs) if (!isGoing(job.view)) this.jobs.delete(id);
    this.save();
    return this.list();
  }

  private publish(job: Job, coalesce = false): void {
    const event: ServerEvent = { type: 'job', job: structuredClone(job.view) };
    this.deps.publish(event, coalesce ? `job:${job.view.id}` : undefined);
    if (!coalesce) this.save();
  }

  private save(): void {
    void this.deps.history?.save(this.list());
  }

  /** Validates the request, starts the job in the background, and returns its first view. */
  async start(request: PrewarmRequest): Promise<JobView> {
    const concurrency = request.concurrency ?? this.deps.config().prewarmConcurrency;
    const fields: Record<string, string> = {};
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY)
      fields.concurrency = `must be a whole number from 1 to ${MAX_CONCURRENCY}`;
    if (!request.lockfile === !request.packages) fields.request = 'give either a lock file or a list of packages';
    let plan: ((job: Job) => Promise<void>) | undefined;
    let source = '';
    let kept: PrewarmRequest | undefined;
    if (request.lockfile) {
      const lockfile = { name: String(request.lockfile.name), content: String(request.lockfile.content) };
      try {
        const kind = detectLockKind(lockfile.name, lockfile.content);
        const entries = kind === 'mix' ? parseMixLock(lockfile.content) : parseRebarLock(lockfile.content);
        source = `${kind === 'mix' ? 'mix.lock' : 'rebar.lock'} (${entries.length} entries)`;
        plan = (job) => this.planFromLock(job, entries);
        kept = { lockfile };
      } catch (error) {
        fields.lockfile = messageOf(error);
      }
    } else if (request.packages) {
      try {
        if (!Array.isArray(request.packages) || request.packages.length === 0) throw new Error('give at least one package name');
        const packages = request.packages.map(String);
        const wanted = parsePackageArgs(packages);
        source = wanted.map((w) => ((w.version ?? w.requirement) ? `${w.name}@${w.version ?? w.requirement}` : w.name)).join(', ');
        plan = (job) => this.planFromNames(job, wanted);
        kept = { packages };
      } catch (error) {
        fields.packages = messageOf(error);
      }
    }
    if (Object.keys(fields).length || !plan || !kept) throw new ValidationError(fields, 'the pre-warm request is not valid');
    return this.launch({ ...kept, ...(request.concurrency !== undefined ? { concurrency } : {}) }, concurrency, source, plan);
  }

  /** Registers a valid job, keeps it, and runs it in the background. */
  private launch(request: PrewarmRequest, concurrency: number, source: string, plan: (job: Job) => Promise<void>): JobView {
    const job: Job = {
      view: {
        id: randomUUID(),
        source,
        state: 'resolving',
        createdAt: Date.now(),
        concurrency,
        items: [],
        skipped: [],
        problems: [],
        totals: { items: 0, fetched: 0, cached: 0, failed: 0, bytes: 0 },
        request,
      },
      cancelled: false,
      locks: new Map(),
    };
    this.jobs.set(job.view.id, job);
    this.prune();
    this.publish(job);
    this.deps.log.info({ event: 'prewarm_started', job: job.view.id, source }, 'pre-warm started');
    job.running = this.run(job, () => plan(job));
    return structuredClone(job.view);
  }

  private prune(): void {
    const finished = this.list().filter((j) => !isGoing(j));
    for (const view of finished.slice(KEEP_FINISHED)) this.jobs.delete(view.id);
  }

  private addItem(job: Job, name: string, version: string, lock?: LockEntry): void {
    if (job.view.items.some((i) => i.name === name && i.version === version)) return;
    const item: JobItem = { name, version, state: 'queued', bytes: 0 };
    job.view.items.push(item);
    if (lock) job.locks.set(item, lock);
  }

  private async planFromLock(job: Job, entries: LockEntry[]): Promise<void> {
    const repo = this.deps.config().upstream.repoName;
    const hex = entries.filter((e) => {
      if (e.source !== 'hex') {
        job.view.skipped.push({ name: e.name, reason: `${e.source} dependency${e.detail ? ` (${e.detail})` : ''}` });
        return false;
      }
      if (e.repo && e.repo !== repo && e.repo !== 'hexpm') {
        job.view.skipped.push({ name: e.name, reason: `from repository ${e.repo}, which this mirror does not serve` });
        return false;
      }
      return true;
    });
    for (const entry of hex) {
      if (!entry.version) job.view.problems.push({ name: entry.name, reason: 'the lock file gives no version for it' });
      else this.addItem(job, entry.name, entry.version, entry);
    }
  }

  /** A lock's checksums must agree with the verified registry (Hex ≥ 2.4.2 refuses otherwise). */
  private async checkLock(job: Job, item: JobItem, entry: LockEntry): Promise<void> {
    const sums = await this.deps.registry.release(item.name, item.version);
    if (entry.outerChecksum && sums.outer && entry.outerChecksum !== sums.outer)
      job.view.problems.push(lockChecksumWarning(item.name, item.version, 'outer', entry.outerChecksum, sums.outer));
    if (entry.innerChecksum && entry.innerChecksum !== sums.inner.toLowerCase())
      job.view.problems.push(lockChecksumWarning(item.name, item.version, 'inner', entry.innerChecksum, sums.inner.toLowerCase()));
  }

  private async planFromNames(job: Job, wanted: ReturnType<typeof parsePackageArgs>): Promise<void> {
    const getPackage = async (name: string): Promise<PackageRecord> => {
      const record = await this.deps.registry.record(name);
      if (!record) throw new Error(`${name}: registry record could not be read`);
      return record;
    };
    const result = await resolve(wanted, getPackage);
    const picked = new Set(result.releases.map((r) => r.name));
    job.view.problems.push(...result.problems.map((problem) => fromResolve(problem, picked)));
    for (const release of result.releases) this.addItem(job, release.name, release.version);
  }

  /** Runs `work` over `items` with at most `concurrency` at once, stopping early when cancelled. */
  private async pool<T>(items: T[], concurrency: number, job: Job, work: (item: T) => Promise<void>): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < items.length && !job.cancelled && !this.deps.signal.aborted) await work(items[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  }

  private async run(job: Job, plan: () => Promise<void>): Promise<void> {
    const view = job.view;
    const byKey = new Map<string, JobItem>();
    const unsubscribe = this.deps.onTransfer((key, bytes, total) => {
      const item = byKey.get(key);
      if (!item || item.state !== 'fetching') return;
      item.bytes = bytes;
      if (total !== undefined) item.totalBytes = total;
      this.publish(job, true);
    });
    try {
      await plan();
      view.totals.items = view.items.length;
      for (const item of view.items) byKey.set(keys.tarball(item.name, item.version), item);
      if (!job.cancelled) view.state = 'running';
      this.publish(job);
      await this.pool(view.items, view.concurrency, job, async (item) => {
        if (item.state !== 'queued') return;
        item.state = 'fetching';
        this.publish(job, true);
        try {
          const lock = job.locks.get(item);
          if (lock) await this.checkLock(job, item, lock);
          const { entry, fetched } = await this.deps.releases.ensureTarball(item.name, item.version);
          item.state = fetched ? 'fetched' : 'cached';
          item.bytes = entry.size;
          item.totalBytes = entry.size;
        } catch (error) {
          failItem(item, error, this.deps.signal.aborted);
        }
        this.count(view);
        this.publish(job, true);
      });
      if (this.deps.signal.aborted) job.cancelled = true;
      if (job.cancelled) for (const item of view.items) if (item.state === 'queued') item.state = 'cancelled';
    } catch (error) {
      Object.assign(view, jobFailure(error));
    } finally {
      unsubscribe();
    }
    if (this.deps.signal.aborted) view.error = STOPPED_UNDER_IT;
    this.count(view);
    view.state = finalState(view, job.cancelled);
    view.finishedAt = Date.now();
    this.deps.log.info({ event: 'prewarm_finished', job: view.id, state: view.state, ...view.totals, problems: view.problems.length }, 'pre-warm finished');
    this.publish(job);
  }

  private count(view: JobView): void {
    view.totals = {
      items: view.items.length,
      fetched: view.items.filter((i) => i.state === 'fetched').length,
      cached: view.items.filter((i) => i.state === 'cached').length,
      failed: view.items.filter((i) => i.state === 'failed').length,
      bytes: view.items.reduce((sum, i) => sum + i.bytes, 0),
    };
  }
}
