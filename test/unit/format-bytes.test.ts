// The one byte formatter, printed by the CLI and shown by the dashboard: binary units, as the
// size cap counts them (10G = 10 GiB).
import { describe, expect, it } from 'vitest';
import { formatBytes } from '../../src-shared/format.js';

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1, '1 B'],
    [1023, '1023 B'],
    [1024, '1.00 KiB'],
    [1536, '1.50 KiB'],
    [10 * 1024, '10.0 KiB'],
    [99.94 * 1024, '99.9 KiB'],
    [100 * 1024, '100 KiB'],
    [1024 ** 2, '1.00 MiB'],
    [64 * 1024 ** 2, '64.0 MiB'],
    [10 * 1024 ** 3, '10.0 GiB'],
    [2 * 1024 ** 4, '2.00 TiB'],
    [1024 ** 5, '1024 TiB'],
  ])('%d bytes: %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  it('says nothing for what is not a size', () => {
    for (const missing of [null, undefined, Number.NaN, Number.POSITIVE_INFINITY]) expect(formatBytes(missing)).toBe('—');
  });

  it('never prints a negative size', () => {
    expect(formatBytes(-5)).toBe('0 B');
  });
});
