// `hexhub verify`: re-hashes every stored file; exits 1 if anything is damaged or missing.
import type { ConfigOverrides } from '../config/config.js';
import { configFrom } from './context.js';
import { reachDataDir } from './data-dir-control.js';

export async function verifyCommand(options: ConfigOverrides): Promise<void> {
  const config = configFrom(options);
  const dataDir = await reachDataDir(config, 'verify');
  const report = await dataDir.control.verify();
  await dataDir.close();
  process.stdout.write(`verified ${report.checked} stored files in ${report.durationMs} ms: ${report.ok} ok, ${report.problems.length} damaged or missing\n`);
  for (const problem of report.problems) process.stdout.write(`  ${problem.key}: ${problem.reason}\n`);
  for (const path of report.quarantined) process.stdout.write(`  quarantined: ${path}\n`);
  process.exit(report.problems.length === 0 ? 0 : 1);
}
