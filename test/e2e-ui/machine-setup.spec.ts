// One-click setup from the dashboard, on a temporary HOME given to the server (never the
// real one): preview the exact changes (and nothing else of the files), apply, see mix
// pointing here, undo.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromiumMissing, expect, hasChromium, test } from './fixtures.js';

test.skip(!hasChromium, chromiumMissing);

test('sets up this machine with a preview, and undoes it', async ({ hub, page }) => {
  const home = await mkdtemp(join(tmpdir(), 'hexhub-ui-home-'));
  try {
    await mkdir(join(home, '.hex'));
    const hexConfig = '{api_key,<<"ui-secret-api-key">>}.\n';
    await writeFile(join(home, '.hex/hex.config'), hexConfig);
    await hub.restart({ HOME: home, SHELL: '/bin/bash', XDG_CONFIG_HOME: '', ZDOTDIR: '', HEX_HOME: '', HEX_MIRROR: '', HEX_CDN: '' });
    await hub.open(page, '#/settings');
    const card = page.locator('.machine-setup');
    await expect(card).toContainText('not this mirror');
    // Undo with nothing to undo says so; the error goes away with the next action.
    await card.getByRole('button', { name: 'Undo last setup' }).click();
    await expect(card.locator('.field-error')).toBeVisible();
    await card.getByRole('button', { name: 'Set up…' }).click();
    const dialog = page.getByRole('dialog');
    await expect(dialog).toContainText(`+{mirror_url,<<"${hub.url}">>}.`);
    await expect(dialog).toContainText(`export HEX_MIRROR='${hub.url}'`);
    // The entry next to mirror_url holds a key: the preview shows the changed entry alone.
    await expect(dialog).not.toContainText('ui-secret-api-key');
    // Every file it changes is named, hex.config too.
    await expect(dialog.getByRole('list', { name: 'Files to change' })).toContainText('hex.config');
    await expect(dialog.getByRole('list', { name: 'Files to change' })).toContainText('.profile');
    // The diff wraps: the dialog never scrolls sideways.
    expect(await dialog.evaluate((d) => d.scrollWidth <= d.clientWidth)).toBe(true);
    await dialog.getByRole('button', { name: 'Apply' }).click();
    await expect(dialog).toBeHidden();
    const outcome = page.getByTestId('setup-outcome');
    await expect(outcome).toContainText('hex.config');
    await expect(outcome).toContainText('.profile');
    await expect(outcome).toContainText('Open a new terminal');
    await expect(card.locator('.field-error')).toHaveCount(0);
    await expect(card.locator('.setup-client').first()).toContainText('this mirror');
    expect(await readFile(join(home, '.hex/hex.config'), 'utf8')).toBe(`${hexConfig}{mirror_url,<<"${hub.url}">>}.\n{api_url,<<"${hub.url}/api">>}.\n`);
    expect(await readFile(join(home, '.profile'), 'utf8')).toContain(`export HEX_CDN='${hub.url}'`);

    await card.getByRole('button', { name: 'Undo last setup' }).click();
    await expect(card.locator('.setup-client').first()).toContainText('not this mirror');
    expect(await readFile(join(home, '.hex/hex.config'), 'utf8')).toBe(hexConfig);
    expect(existsSync(join(home, '.profile'))).toBe(false);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});
