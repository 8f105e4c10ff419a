// Settings: inline errors from the API, values fixed by the environment, and changes that
// survive a restart of the server (the open page reconnects on its own).
import { chromiumMissing, expect, hasChromium, snapshot, test } from './fixtures.js';

test.skip(!hasChromium, chromiumMissing);

test('a settings change persists across a server restart', async ({ hub, page }) => {
  await hub.open(page, '#/settings');
  // Set by the test's environment: shown, disabled, with the variable's name.
  await expect(page.getByLabel('Repository URL')).toBeDisabled();
  await expect(page.getByLabel('Repository URL')).toHaveValue(hub.upstream.url);
  await expect(page.locator('[data-field="upstreamUrl"]')).toContainText('UPSTREAM_URL');
  await expect(page.getByLabel('Retry delay', { exact: true })).toBeDisabled();

  const retries = page.getByLabel('Retries', { exact: true });
  const ttl = page.getByLabel('Registry TTL', { exact: true });
  await expect(ttl).toHaveValue('300');

  // The API's 422 field message appears next to the field.
  await retries.fill('99');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await expect(page.locator('[data-field="retryAttempts"] .field-error')).toHaveText(/between 0 and 20/);
  await expect(retries).toHaveAttribute('aria-invalid', 'true');

  await retries.fill('5');
  await ttl.fill('60');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await expect(page.getByText('Saved. Changes apply at once.')).toBeVisible();
  await expect(page.locator('[data-field="retryAttempts"] .field-error')).toHaveCount(0);
  expect((await hub.api.settings()).values).toMatchObject({ retryAttempts: 5, registryTtlSeconds: 60 });

  // Restart on the same port: the open page notices the gap and reconnects.
  await hub.restart({}, { samePort: true, whileDown: () => expect(page.locator('[data-connection="reconnecting"]')).toBeVisible() });
  await expect(page.locator('[data-connection="live"]')).toBeVisible({ timeout: 15_000 });
  await page.reload();
  await expect(page.getByLabel('Retries', { exact: true })).toHaveValue('5');
  await expect(page.getByLabel('Registry TTL', { exact: true })).toHaveValue('60');
});

test('the upstream URL can be changed when no environment variable fixes it', async ({ hub, page }) => {
  await hub.restart({ UPSTREAM_URL: '' });
  await hub.open(page, '#/settings');
  const url = page.getByLabel('Repository URL');
  await expect(url).toBeEnabled();
  await expect(url).toHaveValue('https://repo.hex.pm');
  await url.fill('ftp://example.com');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await expect(page.locator('[data-field="upstreamUrl"] .field-error')).toHaveText(/must be an http/);
  await url.fill(hub.upstream.url);
  await page.getByRole('button', { name: 'Save changes' }).click();
  // A new upstream is confirmed first, with both URLs and key fingerprints in view.
  const dialog = page.getByRole('dialog', { name: 'Change the upstream?' });
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText('https://repo.hex.pm');
  await expect(dialog).toContainText(hub.upstream.url);
  const fingerprint = await page.getByTestId('key-fingerprint').textContent();
  expect(fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  await expect(dialog.getByTestId('fingerprint-from')).toHaveText(fingerprint!);
  await expect(dialog.getByTestId('fingerprint-to')).toHaveText(fingerprint!);
  await snapshot(page, 'settings-upstream-change');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();
  expect((await hub.api.settings()).values.upstreamUrl).toBe('https://repo.hex.pm');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await dialog.getByRole('button', { name: 'Change upstream' }).click();
  await expect(page.getByText('Saved. Changes apply at once.')).toBeVisible();
  await expect(dialog).toBeHidden();
  await hub.restart({ UPSTREAM_URL: '' });
  await hub.open(page, '#/settings');
  await expect(page.getByLabel('Repository URL')).toHaveValue(hub.upstream.url);
  expect((await hub.fetch('/tarballs/jason-1.4.1.tar')).status).toBe(200);
});
