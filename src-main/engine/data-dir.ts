// Taking hold of the data dir: its lock first (one owner at a time), the store and the token
// (claimDataDir); then what it records: the index, jobs, counters and activity (loadRecords).
// A server listens between the two (at 200,000 releases reading the index takes most of a
// second; clients that connect meanwhile wait for it instead of being refused). While serving,
// what the storage holds that the index does not know is adopted in the background.
import { loadOrCreateToken } from '../server/access.js';
import { acquireDataDirLock, type DataDirLock, type LockOwner } from '../store/data-dir-lock.js';
import { preparePrivateDir } from '../core/private-files.js';
import type { Mirror } from './build.js';

/** The lock, the store and the token; lets go of the lock again if anything after taking it fails. */
export async function claimDataDir(mirror: Mirror, role: LockOwner['role']): Promise<{ lock: DataDirLock; token: string }> {
  const { dataDir } = mirror.config.current;
  await preparePrivateDir(dataDir);
  const lock = await acquireDataDirLock(dataDir, role);
  try {
    await mirror.store.init();
    await mirror.storage.open();
    return { lock, token: await loadOrCreateToken(dataDir) };
  } catch (error) {
    await lock.release();
    throw error;
  }
}

/** What the data dir records, read into memory (the caller holds the lock). */
export async function loadRecords(mirror: Mirror): Promise<void> {
  // The catalog is made from the index when first used (Catalog), not here.
  await mirror.index.load();
  await mirror.jobs.load();
  await mirror.counters.load();
  await mirror.activity.load();
}

/** claimDataDir, then loadRecords: for a CLI command's own engine, which does not listen. */
export async function openDataDir(mirror: Mirror, role: LockOwner['role']): Promise<{ lock: DataDirLock; token: string }> {
  const claimed = await claimDataDir(mirror, role);
  try {
    await loadRecords(mirror);
    return claimed;
  } catch (error) {
    await claimed.lock.release();
    throw error;
  }
}

/**
 * Files a crash left unrecorded are adopted in the background (serving does not wait); with
 * shared storage, what other instances store shows up in this one's index, every sync interval.
 */
export function reconcileInBackground({ config, storage, index, log }: Mirror): { stop(): Promise<unknown> } {
  const reconcile = () =>
    storage.reconcile(index).catch((error: Error) => log.error({ event: 'reconcile_failed', error: error.message }, 'cache reconciliation failed'));
  let running: Promise<unknown> = reconcile();
  const { storage: kind } = config.current;
  const timer = kind.kind === 's3' ? setInterval(() => (running = running.then(reconcile)), kind.syncIntervalSeconds * 1000) : undefined;
  timer?.unref();
  return {
    stop() {
      clearInterval(timer);
      return running;
    },
  };
}
