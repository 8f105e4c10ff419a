import { describe, expect, it } from 'vitest';
import { backoffDelay, retryAfterMs } from '../../src-main/upstream/backoff.js';

describe('backoffDelay', () => {
  it('doubles per attempt, with jitter between half and all of the ceiling', () => {
    expect(backoffDelay(1, 1000, 30_000, () => 0)).toBe(500);
    expect(backoffDelay(1, 1000, 30_000, () => 1)).toBe(1000);
    expect(backoffDelay(3, 1000, 30_000, () => 0)).toBe(2000);
    expect(backoffDelay(3, 1000, 30_000, () => 1)).toBe(4000);
  });

  it('is capped', () => {
    expect(backoffDelay(20, 1000, 30_000, () => 1)).toBe(30_000);
  });

  it('spreads retries out (jitter)', () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(4, 1000)));
    expect(delays.size).toBeGreaterThan(10);
    for (const d of delays) expect(d >= 4000 && d <= 8000).toBe(true);
  });
});

describe('retryAfterMs', () => {
  it('reads delta-seconds and HTTP dates', () => {
    expect(retryAfterMs('3')).toBe(3000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:10 GMT', now)).toBe(10_000);
    expect(retryAfterMs('Thu, 01 Jan 2025 00:00:10 GMT', now)).toBe(0);
  });

  it('ignores what it cannot read', () => {
    expect(retryAfterMs(undefined)).toBeUndefined();
    expect(retryAfterMs('soon')).toBeUndefined();
  });
});
