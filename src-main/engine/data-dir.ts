// Taking hold of the data dir: its lock first (one owner at a time), then the store, the
// index, the catalog and the token; and, while serving, adopting in the background what the
// storage holds that the index does not know.
import { loadOrCreateToken } from '../server/access.js';
import { acquireDataDirLock, type DataDirLock, type LockOwner } from '../store/data-dir-lock.js';
import { preparePrivateDir } from '../core/private-files.js';
import type { Mirror } from './build.js';

/** Lets go of the lock again if anything after taking it fails. */
export async function openDataDir(mirror: Mirror, role: LockOwner['role']): Promise<{ lock: DataDirLock; token: string }> {
  const { dataDir } = mirror.config.current;
  await preparePrivateDir(dataDir);
  const lock = await acquireDataDirLock(dataDir, role);
  try {
    await mirror.store.init();
    await mirror.storage.open();
    await mirror.index.load();
    mirror.catalog.rebuild();
    await mirror.jobs.load();
    await mirror.counters.load();
    await mirror.activity.load();
    return { lock, token: await loadOrCreateToken(dataDir) };
  } catch (error) {
    await lock.release();
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
