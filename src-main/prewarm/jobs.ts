// Pre-warm jobs: from a mix.lock, a rebar.lock or a list of package names to tarballs in
// the cache, with bounded concurrency, per-item state and bytes, cancel, and a final
// report. Several jobs can run at once; a release two jobs (or a job and a client) want
// is fetched once, because the artifact cache shares transfers.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { JobItem, JobView, PrewarmRequest, ServerEvent } from '../../src-shared/contract.js';
import type { Config } from '../config/config.js';
import { messageOf } from '../../src-shared/problems.js';
import { ValidationError } from '../core/validation-errors.js';
import type { RegistryService } from '../mirror/registry-service.js';
import type { ReleaseArtifacts } from '../mirror/release-artifacts.js';
import type { PackageRecord } from '../hex/registry.js';
import { keys } from '../store/keys.js';
import { detectLockKind, parseMixLock, parsePackageArgs, parseRebarLock, type LockEntry } from './lock-files.js';
import { resolve } from './resolve.js';

export interface JobDeps {
  registry: RegistryService;
  releases: ReleaseArtifacts;
  config: () => Config;
  log: Logger;
  publish(event: ServerEvent, coalesceKey?: string): void;
  /** Transfer progress, to show bytes per item while it downloads. */
  onTransfer(listener: (key: string, bytes: number, total?: number) => void): () => void;
  signal: AbortSignal;
}

const MAX_CONCURRENCY = 64;
/** Finished jobs kept for the dashboard. */
const KEEP_FINISHED = 50;

interface Job {
  view: JobView;
  cancelled: boolean;
  /** Lock entries of items that came from a lock file, for the checksum comparison. */
  locks: Map<JobItem, LockEntry>;
}

export class JobManager {
  private readonly jobs = new Map<string, Job>();

  constructor(private readonly deps: JobDeps) {}

  get active(): number {
    return [...this.jobs.values()].filter((j) => j.view.state === 'resolving' || j.view.state === 'running').length;
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
    if (job.view.state === 'resolving' || job.view.state === 'running') {
      job.cancelled = true;
      for (const item of job.view.items) if (item.state === 'queued') item.state = 'cancelled';
      this.publish(job);
    }
    return job.view;
  }

  cancelAll(): void {
    for (const id of this.jobs.keys()) this.cancel(id);
  }

  private publish(job: Job, coalesce = false): void {
    const event: ServerEvent = { type: 'job', job: structuredClone(job.view) };
    this.deps.publish(event, coalesce ? `job:${job.view.id}` : undefined);
  }

  /** Validates the request, starts the job in the background, and returns its first view. */
  async start(request: PrewarmRequest): Promise<JobView> {
    const concurrency = request.concurrency ?? this.deps.config().prewarmConcurrency;
    const fields: Record<string, string> = {};
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY)
      fields.concurrency = `must be a whole number from 1 to ${MAX_CONCURRENCY}`;
    if (!request.lockfile === !request.packages) fields.request = 'give either a lock file or a list of packages';
    let plan: (() => Promise<void>) | undefined;
    let source = '';
    const job: Job = {
      view: {
        id: randomUUID(),
        source: '',
        state: 'resolving',
        createdAt: Date.now(),
        concurrency,
        items: [],
        skipped: [],
        problems: [],
        totals: { items: 0, fetched: 0, cached: 0, failed: 0, bytes: 0 },
      },
      cancelled: false,
      locks: new Map(),
    };
    if (request.lockfile) {
      const { name, content } = request.lockfile;
      try {
        const kind = detectLockKind(String(name), String(content));
        const entries = kind === 'mix' ? parseMixLock(String(content)) : parseRebarLock(String(content));
        source = `${kind === 'mix' ? 'mix.lock' : 'rebar.lock'} (${entries.length} entries)`;
        plan = () => this.planFromLock(job, entries);
      } catch (error) {
        fields.lockfile = messageOf(error);
      }
    } else if (request.packages) {
      try {
        if (!Array.isArray(request.packages) || request.packages.length === 0) throw new Error('give at least one package name');
        const wanted = parsePackageArgs(request.packages.map(String));
        source = wanted.map((w) => ((w.version ?? w.requirement) ? `${w.name}@${w.version ?? w.requirement}` : w.name)).join(', ');
        plan = () => this.planFromNames(job, wanted);
      } catch (error) {
        fields.packages = messageOf(error);
      }
    }
    if (Object.keys(fields).length || !plan) throw new ValidationError(fields, 'the pre-warm request is not valid');
    job.view.source = source;
    this.jobs.set(job.view.id, job);
    this.prune();
    this.publish(job);
    this.deps.log.info({ event: 'prewarm_started', job: job.view.id, source }, 'pre-warm started');
    void this.run(job, plan);
    return structuredClone(job.view);
  }

  private prune(): void {
    const finished = this.list().filter((j) => j.state !== 'resolving' && j.state !== 'running');
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
      if (!entry.version) job.view.problems.push({ name: entry.name, reason: 'lock entry has no version' });
      else this.addItem(job, entry.name, entry.version, entry);
    }
  }

  /** A lock's checksums must agree with the verified registry (Hex ≥ 2.4.2 refuses otherwise). */
  private async checkLock(job: Job, item: JobItem, entry: LockEntry): Promise<void> {
    const sums = await this.deps.registry.release(item.name, item.version);
    if (entry.outerChecksum && sums.outer && entry.outerChecksum !== sums.outer) {
      job.view.problems.push({
        name: item.name,
        reason: `${item.version}: lock outer checksum ${entry.outerChecksum} differs from the registry's ${sums.outer}`,
      });
    }
    if (entry.innerChecksum && entry.innerChecksum !== sums.inner.toLowerCase()) {
      job.view.problems.push({
        name: item.name,
        reason: `${item.version}: lock inner checksum ${entry.innerChecksum} differs from the registry's ${sums.inner.toLowerCase()}`,
      });
    }
  }

  private async planFromNames(job: Job, wanted: ReturnType<typeof parsePackageArgs>): Promise<void> {
    const getPackage = async (name: string): Promise<PackageRecord> => {
      const record = await this.deps.registry.record(name);
      if (!record) throw new Error(`${name}: registry record could not be read`);
      return record;
    };
    const result = await resolve(wanted, getPackage);
    job.view.problems.push(...result.problems);
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
          item.state = 'failed';
          item.error = messageOf(error);
        }
        this.count(view);
        this.publish(job, true);
      });
      if (job.cancelled) for (const item of view.items) if (item.state === 'queued') item.state = 'cancelled';
      view.state = job.cancelled ? 'cancelled' : view.totals.failed > 0 || view.problems.length > 0 ? 'failed' : 'done';
    } catch (error) {
      view.state = 'failed';
      view.error = messageOf(error);
    } finally {
      unsubscribe();
    }
    this.count(view);
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
