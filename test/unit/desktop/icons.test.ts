// The committed icons (scripts/make-icons.mjs) are where the tray and electron-builder look
// for them, one per tray state, at the sizes they expect.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TRAY_STATES } from '../../../src-main/desktop/tray-state.js';

const ICONS = new URL('../../../build/icons/', import.meta.url);

/** Width and height from a PNG's IHDR chunk, after checking the signature. */
function pngSize(relative: string): [number, number] {
  const bytes = readFileSync(new URL(relative, ICONS));
  expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(bytes.subarray(12, 16).toString('ascii')).toBe('IHDR');
  return [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
}

describe('icons', () => {
  it.each(TRAY_STATES)('has a tray icon for %s at 16 px and @2x', (state) => {
    expect(pngSize(`tray/${state}.png`)).toEqual([16, 16]);
    expect(pngSize(`tray/${state}@2x.png`)).toEqual([32, 32]);
  });

  it.each([16, 32, 256, 512])('has the app icon at %i px', (size) => {
    expect(pngSize(`${size}x${size}.png`)).toEqual([size, size]);
  });

  it('names in electron-builder.yml files that exist', () => {
    const config = readFileSync(new URL('../../../electron-builder.yml', import.meta.url), 'utf8');
    for (const [, path] of config.matchAll(/icon: (build\/icons\/\S+\.png)/g)) {
      expect(() => readFileSync(new URL(`../../../${path}`, import.meta.url))).not.toThrow();
    }
    expect(config).toMatch(/main: dist\/src-main\/desktop\/main\.js/);
  });
});
