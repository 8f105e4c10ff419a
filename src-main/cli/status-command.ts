// `hexhub status`: what is cached and how much room it takes.
import type { CacheListResponse } from '../../src-shared/contract.js';
import { formatBytes } from '../../src-shared/format.js';
import type { ConfigOverrides } from '../config/config.js';
import { configFrom } from './context.js';
import { reachDataDir } from './data-dir-control.js';

const PAGE = 500;

export async function statusCommand(options: ConfigOverrides): Promise<void> {
  const config = configFrom(options);
  const dataDir = await reachDataDir(config, 'status');
  const { control } = dataDir;
  const pages: CacheListResponse[] = [];
  for (let page = 1; ; page++) {
    const result = await control.listCache({ page, pageSize: PAGE });
    pages.push(result);
    if (page * PAGE >= result.total) break;
  }
  const disk = await control.disk();
  const { storage, scrub } = await control.status();
  await dataDir.close();
  process.stdout.write(dataDir.server ? `server: ${dataDir.server} (running)\n` : 'server: not running\n');
  if (!storage.writable)
    process.stdout.write(
      `storage: ${storage.reason ?? 'write failed'} since ${new Date(storage.since ?? Date.now()).toISOString()}: downloads are passed through without being kept (${storage.lastError ?? ''})\n`,
    );
  if (scrub.lastPass)
    process.stdout.write(
      `scrub: last pass ${new Date(scrub.lastPass.finishedAt).toISOString()}, ${scrub.lastPass.checked} checked, ${scrub.lastPass.problems} damaged\n`,
    );
  const items = pages.flatMap((p) => p.items);
  process.stdout.write(`data dir: ${config.dataDir}\n`);
  process.stdout.write(
    `cache: ${items.length} packages, ${items.reduce((n, i) => n + i.versions.length, 0)} releases, ${formatBytes(disk.totalBytes)}` +
      ` (tarballs ${formatBytes(disk.byKind.tarball)}, docs ${formatBytes(disk.byKind.docs)}, registry ${formatBytes(disk.byKind.registry)})\n`,
  );
  process.stdout.write(
    `disk: ${formatBytes(disk.freeBytes)} free of ${formatBytes(disk.volumeBytes)}; size cap ${disk.sizeCapBytes === null ? 'none' : formatBytes(disk.sizeCapBytes)}\n`,
  );
  for (const item of items) {
    process.stdout.write(`  ${item.name.padEnd(30)} ${formatBytes(item.size).padStart(10)}  ${item.versions.join(', ') || '(registry only)'}\n`);
  }
}
