// Dashboard end-to-end tests: Debian's Chromium (never a downloaded browser) against real
// `hexhub serve` processes that each test starts with a fake upstream.
import { defineConfig } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './test/e2e-ui/chromium.js';

export default defineConfig({
  testDir: 'test/e2e-ui',
  outputDir: 'test-results/e2e-ui',
  globalSetup: './test/e2e-ui/global-setup.ts',
  // A 2-core machine, and each test runs a server and a browser.
  workers: 1,
  fullyParallel: false,
  forbidOnly: process.env.CI === 'true',
  retries: 0,
  timeout: 45_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  use: {
    browserName: 'chromium',
    headless: true,
    viewport: { width: 1280, height: 800 },
    deviceScaleFactor: 1,
    locale: 'en-US',
    timezoneId: 'UTC',
    actionTimeout: 10_000,
    navigationTimeout: 15_000,
    launchOptions: { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS },
    // Traces cost a lot on 2 cores; record them on demand: npx playwright test --trace on
    trace: 'off',
    screenshot: 'only-on-failure',
  },
});
