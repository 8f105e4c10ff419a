// Before any browser starts: the built server and dashboard must exist, and Chromium must be
// installed. A missing Chromium skips the tests with a printed reason, except under CI=true,
// where it is a failure (the same rule as test/support/tools.ts).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromiumMissing, hasChromium } from './chromium.js';

export default function globalSetup(): void {
  for (const file of ['../../dist/cli/hexhub.mjs', '../../dist/renderer/index.html']) {
    if (!existsSync(fileURLToPath(new URL(file, import.meta.url))))
      throw new Error(`${file.replace('../../', '')} is missing: run \`npm run build\` (npm test does) before the dashboard tests`);
  }
  if (hasChromium) return;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${chromiumMissing}`);
  console.warn(`SKIPPED: dashboard tests, ${chromiumMissing}`);
}
