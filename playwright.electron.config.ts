// Playwright for the desktop app (test/e2e-electron/), apart from any browser e2e config:
// these tests drive Electron itself through Playwright's _electron, and run only where
// Electron's binary is installed and a display exists; elsewhere they are skipped with the
// reason printed. `npm run test:electron` runs them (npm test does too; a skip is instant).
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: 'test/e2e-electron',
  testMatch: '*.spec.ts',
  timeout: 60_000,
  workers: 1,
  reporter: [['list']],
  outputDir: 'test-results/e2e-electron',
});
