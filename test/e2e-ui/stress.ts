// The stressed state of issue #14, for the layout checks and the screenshots alike: 60-character
// package names, 30-name jobs, checksum failures, and an upstream that goes down mid-job.
import type { Hub } from './fixtures.js';
import { expect, sized } from './fixtures.js';

/** A valid Hex name of exactly 60 characters: lowercase letters, digits, underscores. */
export function longName(i: number): string {
  const stem = `very_long_package_name_for_layout_checks_number_${String(i).padStart(3, '0')}_`;
  return (stem + 'abcdefghijklmnopqrstuvwxyz').slice(0, 60);
}

export const LONG_NAMES = Array.from({ length: 32 }, (_, i) => longName(i + 1));

export async function publishLongNames(hub: Hub, kib = 3): Promise<void> {
  for (const name of LONG_NAMES) await hub.repo.publish(sized({ name, version: '1.0.0' }, kib));
}

/**
 * A 30-name pre-warm in which two tarballs fail their checksum and the upstream goes down once
 * a few are fetched; resolves when the job has ended, with the upstream still down.
 */
export async function jobThatLosesItsUpstream(hub: Hub): Promise<string> {
  hub.upstream.fault.corruptTarball({ path: new RegExp(`/tarballs/(${LONG_NAMES[5]}|${LONG_NAMES[6]})-`) });
  hub.upstream.fault.bytesPerSecond(3000, { path: '/tarballs/' });
  const job = await hub.api.startPrewarm({ packages: LONG_NAMES.slice(0, 30) });
  await expect.poll(async () => (await hub.api.job(job.id)).totals.fetched, { timeout: 30_000 }).toBeGreaterThanOrEqual(3);
  await hub.upstream.stop();
  await expect.poll(async () => (await hub.api.job(job.id)).state, { timeout: 60_000 }).toMatch(/failed|done|cancelled/);
  hub.upstream.fault.clear('corruptTarball');
  return job.id;
}

/** Brings the upstream back, slow, and starts a 30-name job that keeps running for minutes. */
export async function slowJob(hub: Hub): Promise<string> {
  await hub.upstream.start();
  hub.upstream.fault.bytesPerSecond(120, { path: '/tarballs/' });
  return (await hub.api.startPrewarm({ packages: LONG_NAMES.slice(2) })).id;
}
