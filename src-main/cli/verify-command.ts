// `hexhub verify`: re-hashes every stored file; exits 1 if anything is damaged or missing.
import type { VerifyReport } from '../../src-shared/contract.js';
import type { ConfigOverrides } from '../config/config.js';
import { configFrom, reachDataDir } from './context.js';

export async function verifyCommand(options: ConfigOverrides): Promise<void> {
  const config = configFrom(options);
  const target = await reachDataDir(config, 'verify');
  let report: VerifyReport;
  if (target.kind === 'server') {
    report = await target.api.verify();
  } else {
    report = await target.engine.admin.verify();
    await target.engine.stop();
  }
  process.stdout.write(`verified ${report.checked} stored files in ${report.durationMs} ms: ${report.ok} ok, ${report.problems.length} damaged or missing\n`);
  for (const problem of report.problems) process.stdout.write(`  ${problem.key}: ${problem.reason}\n`);
  for (const path of report.quarantined) process.stdout.write(`  quarantined: ${path}\n`);
  process.exit(report.problems.length === 0 ? 0 : 1);
}
