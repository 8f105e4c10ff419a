// `hexhub prewarm PATH_OR_NAMES…`: fills the cache from a lock file or package names,
// through the running server when there is one, with a live bar on a terminal and plain
// lines otherwise. Exits 1 if anything failed or the lock disagrees with the registry.
import { describeProblem } from '../../src-shared/problems.js';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import cliProgress from 'cli-progress';
import type { JobView, PrewarmRequest } from '../../src-shared/contract.js';
import type { Control } from '../../src-shared/control.js';
import { formatBytes } from '../../src-shared/format.js';
import type { ConfigOverrides } from '../config/config.js';
import { configFrom, fail } from './context.js';
import { reachDataDir } from './data-dir-control.js';

const FINAL = new Set(['done', 'failed', 'cancelled']);

async function buildRequest(args: string[], concurrency: number | undefined): Promise<PrewarmRequest> {
  const files = args.filter((arg) => existsSync(arg));
  const names = args.filter((arg) => !existsSync(arg));
  if (files.length > 1) fail('give one lock file at a time');
  if (files.length === 1 && names.length > 0) fail('give either a lock file or package names, not both');
  const base = concurrency !== undefined ? { concurrency } : {};
  if (files.length === 1) return { ...base, lockfile: { name: basename(files[0]!), content: await readFile(files[0]!, 'utf8') } };
  return { ...base, packages: names };
}

class Progress {
  private readonly bar = process.stdout.isTTY
    ? new cliProgress.SingleBar(
        { format: ' {bar} {value}/{total} releases | {bytes} | {current}', hideCursor: true, clearOnComplete: true },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  private started = false;
  private readonly reported = new Set<string>();

  update(job: JobView): void {
    const done = job.items.filter((i) => i.state !== 'queued' && i.state !== 'fetching').length;
    const current = job.items
      .filter((i) => i.state === 'fetching')
      .map((i) => `${i.name} ${i.version}`)
      .slice(0, 3)
      .join(', ');
    const bytes = formatBytes(job.items.reduce((sum, i) => sum + i.bytes, 0));
    if (this.bar) {
      if (!this.started && job.state === 'running') {
        this.bar.start(job.items.length, done, { bytes, current });
        this.started = true;
      } else if (this.started) {
        this.bar.update(done, { bytes, current });
      }
      return;
    }
    for (const item of job.items) {
      const id = `${item.name}@${item.version}`;
      if (this.reported.has(id) || item.state === 'queued' || item.state === 'fetching') continue;
      this.reported.add(id);
      const detail = item.state === 'failed' ? `: ${item.error}` : ` (${formatBytes(item.bytes)})`;
      process.stdout.write(`${item.state} ${item.name} ${item.version}${detail}\n`);
    }
  }

  stop(): void {
    this.bar?.stop();
  }
}

function report(job: JobView): void {
  const t = job.totals;
  process.stdout.write(`\npre-warm ${job.state}: ${t.fetched} fetched, ${t.cached} already cached, ${t.failed} failed, ${formatBytes(t.bytes)}\n`);
  const detail = (text?: string) => (text ? `\n    ${text}` : '');
  for (const item of job.items.filter((i) => i.state === 'failed'))
    process.stdout.write(`  failed ${item.name} ${item.version}: ${item.error}${detail(item.detail)}\n`);
  for (const problem of job.problems)
    process.stdout.write(`  ${problem.warning ? 'warning' : 'problem'} ${problem.name}: ${problem.reason}${detail(problem.detail)}\n`);
  for (const skip of job.skipped) process.stdout.write(`  skipped ${skip.name}: ${skip.reason}\n`);
  if (job.error) process.stdout.write(`  error: ${job.error}${detail(job.detail)}\n`);
}

/**
 * Starts the job and resolves with its final view, feeding `progress` from the job's events;
 * a poll backs the events up, for those missed while a stream (re)connects.
 */
function followJob(control: Control, request: PrewarmRequest, progress: Progress): Promise<JobView> {
  return new Promise((resolve, reject) => {
    let id: string | undefined;
    let timer: NodeJS.Timeout | undefined;
    const early: JobView[] = [];
    const stream = new AbortController();
    const onJob = (job: JobView) => {
      if (id === undefined) return void early.push(job);
      if (job.id !== id) return;
      progress.update(job);
      if (FINAL.has(job.state)) {
        stream.abort();
        clearInterval(timer);
        resolve(job);
      }
    };
    void control.events((event) => event.type === 'job' && onJob(event.job), stream.signal).catch(() => undefined);
    control.startPrewarm(request).then(
      (job) => {
        id = job.id;
        for (const j of [job, ...early]) onJob(j);
        if (!stream.signal.aborted) timer = setInterval(() => void control.job(job.id).then(onJob, () => undefined), 2000);
      },
      (error: unknown) => {
        stream.abort();
        reject(error);
      },
    );
  });
}

export async function prewarmCommand(args: string[], options: ConfigOverrides & { concurrency?: string }): Promise<void> {
  if (args.length === 0) fail('give a mix.lock or rebar.lock, or package names');
  const config = configFrom(options);
  const concurrency = options.concurrency === undefined ? undefined : Number(options.concurrency);
  const request = await buildRequest(args, concurrency);
  const dataDir = await reachDataDir(config, 'prewarm');
  if (dataDir.server) process.stdout.write(`handing the job to the server running on this data dir (${dataDir.server})\n`);
  const progress = new Progress();
  let final: JobView;
  try {
    final = await followJob(dataDir.control, request, progress);
  } catch (error) {
    progress.stop();
    await dataDir.close();
    fail(describeProblem(error));
  }
  progress.stop();
  await dataDir.close();
  report(final);
  process.exit(final.state === 'done' ? 0 : 1);
}
