// A small tmpfs for full-disk tests: a real file system that really runs out of space.
// Mounting needs root (CI runs as root); elsewhere those tests are skipped with a printed
// reason, except under CI=true, where that is a failure.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let mountable: boolean | undefined;

/** Whether this process may mount a tmpfs; prints why not, and throws under CI=true. */
export function canMountTmpfs(): boolean {
  if (mountable !== undefined) return mountable;
  const probe = spawnSync('sh', ['-c', 'd=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs "$d" && umount "$d"; s=$?; rmdir "$d"; exit $s'], {
    stdio: 'pipe',
    timeout: 10_000,
  });
  mountable = probe.status === 0;
  if (!mountable) {
    const reason = `cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN): ${probe.stderr?.toString().trim() || `exit ${probe.status}`}`;
    if (process.env.CI === 'true') throw new Error(`CI=true and ${reason}`);
    console.warn(`SKIPPED: ${reason}`);
  }
  return mountable;
}

export interface Tmpfs {
  dir: string;
  /** Writes a file that takes all the space left (less `leaveBytes`). */
  fill(leaveBytes?: number): Promise<string>;
  unmount(): Promise<void>;
}

/** Writes DIR/NAME until the file system is full, then gives back `leaveBytes`; returns its path. */
export async function fillDisk(dir: string, name = 'filler', leaveBytes = 0): Promise<string> {
  const path = join(dir, name);
  const file = await open(path, 'w');
  const block = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) await file.write(block);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    if (leaveBytes > 0) {
      const { size } = await file.stat();
      await file.truncate(Math.max(0, size - leaveBytes));
    }
    await file.close();
  }
  return path;
}

/** Mounts a tmpfs of `sizeBytes` at `dir` (a new temporary folder if not given). */
export async function mountTmpfs(sizeBytes: number, dir?: string): Promise<Tmpfs> {
  const target = dir ?? (await mkdtemp(join(tmpdir(), 'hexhub-tmpfs-')));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0700`, 'tmpfs', target]);
  let fillers = 0;
  return {
    dir: target,
    fill: (leaveBytes = 0) => fillDisk(target, `filler-${fillers++}`, leaveBytes),
    async unmount() {
      execFileSync('umount', ['-l', target]);
      if (!dir) await rm(target, { recursive: true, force: true });
    },
  };
}
