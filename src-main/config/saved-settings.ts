// Settings changed from the dashboard, kept in the data dir (settings.json, via lowdb) and
// read back at start, below the environment in precedence.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Low } from 'lowdb';
import { PrivateJSONFile } from '../core/private-files.js';
import type { Settings } from '../../src-shared/contract.js';
import { loadConfig, type Config, type ConfigOverrides } from './config.js';

export function settingsPath(dataDir: string): string {
  return join(dataDir, 'settings.json');
}

/** Saved settings, or none if the file is missing or unreadable (defaults then apply). */
export function readSavedSettings(dataDir: string): Partial<Settings> {
  try {
    const data = JSON.parse(readFileSync(settingsPath(dataDir), 'utf8')) as unknown;
    return data && typeof data === 'object' ? (data as Partial<Settings>) : {};
  } catch {
    return {};
  }
}

/** The configuration a process starts with: flags > environment > saved settings > defaults. */
export function loadStartupConfig(env: Record<string, string | undefined>, overrides: ConfigOverrides = {}): Config {
  const first = loadConfig(env, overrides);
  return loadConfig(env, overrides, readSavedSettings(first.dataDir));
}

export async function saveSettings(dataDir: string, settings: Partial<Settings>): Promise<void> {
  const db = new Low<Partial<Settings>>(new PrivateJSONFile<Partial<Settings>>(settingsPath(dataDir)), {});
  db.data = settings;
  await db.write();
}
