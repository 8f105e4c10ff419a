import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_PREFERENCES, readPreferences, writePreferences } from '../../../src-main/desktop/preferences.js';
import { removeDir } from '../../support/mirror.js';

const dirs: string[] = [];
const tempFile = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hexhub-prefs-'));
  dirs.push(dir);
  return join(dir, 'nested', 'preferences.json');
};
afterAll(async () => {
  for (const dir of dirs) await removeDir(dir);
});

describe('desktop preferences', () => {
  it('close-to-tray is on by default, also when the file is missing or damaged', async () => {
    expect(DEFAULT_PREFERENCES.closeToTray).toBe(true);
    const file = await tempFile();
    expect(readPreferences(file)).toEqual({ closeToTray: true });
    await writePreferences(file, { closeToTray: true });
    await writeFile(file, '{ not json');
    expect(readPreferences(file)).toEqual({ closeToTray: true });
    await writeFile(file, JSON.stringify({ closeToTray: 'no' }));
    expect(readPreferences(file)).toEqual({ closeToTray: true });
  });

  it('keeps what was written', async () => {
    const file = await tempFile();
    await writePreferences(file, { closeToTray: false });
    expect(readPreferences(file)).toEqual({ closeToTray: false });
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ closeToTray: false });
  });
});
