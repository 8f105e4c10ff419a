// One process owns a data dir at a time: a server, or a CLI command working without one.
// The lock file names the owner (and, for a server, its URL) so that a second command can
// hand its work to the running server instead of writing the same files behind its back.
import { open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface LockOwner {
  pid: number;
  role: 'server' | 'prewarm' | 'verify' | 'status';
  startedAt: number;
  url?: string;
}

export class DataDirBusyError extends Error {
  constructor(readonly owner: LockOwner) {
    super(`the data dir is in use by hexhub ${owner.role} (pid ${owner.pid}${owner.url ? `, ${owner.url}` : ''})`);
    this.name = 'DataDirBusyError';
  }
}

function lockPath(dataDir: string): string {
  return join(dataDir, 'hexhub.lock');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The live owner of the data dir, if any (a lock left by a dead process does not count). */
export async function readLockOwner(dataDir: string): Promise<LockOwner | undefined> {
  try {
    const owner = JSON.parse(await readFile(lockPath(dataDir), 'utf8')) as LockOwner;
    return typeof owner.pid === 'number' && alive(owner.pid) ? owner : undefined;
  } catch {
    return undefined;
  }
}

export interface DataDirLock {
  update(owner: Partial<LockOwner>): Promise<void>;
  release(): Promise<void>;
}

export async function acquireDataDirLock(dataDir: string, role: LockOwner['role']): Promise<DataDirLock> {
  const path = lockPath(dataDir);
  let owner: LockOwner = { pid: process.pid, role, startedAt: Date.now() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const file = await open(path, 'wx', 0o600);
      await file.writeFile(JSON.stringify(owner));
      await file.close();
      return {
        async update(changes) {
          owner = { ...owner, ...changes };
          await writeFile(path, JSON.stringify(owner));
        },
        async release() {
          await rm(path, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const current = await readLockOwner(dataDir);
      if (current) throw new DataDirBusyError(current);
      await rm(path, { force: true }); // left by a process that died
    }
  }
  throw new Error(`could not lock ${path}`);
}
