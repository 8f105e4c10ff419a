import { describe, expect, it } from 'vitest';
import { FrequencySketch } from '../../src-main/store/frequency-sketch.js';
import { HotCache } from '../../src-main/store/hot-cache.js';
import { BufferPool } from '../../src-main/store/buffer-pool.js';

const KiB = 1024;
const body = (bytes: number) => Buffer.alloc(bytes, 1);

/** Asks for `key` `times` times (a request counts whether or not it hits). */
function ask(cache: HotCache, key: string, times = 1): Buffer | undefined {
  let got: Buffer | undefined;
  for (let i = 0; i < times; i++) got = cache.get(key, 'sha');
  return got;
}

describe('FrequencySketch', () => {
  it('counts requests per key, saturates at 15, and keeps keys apart', () => {
    const sketch = new FrequencySketch(4096);
    for (let i = 0; i < 3; i++) sketch.increment('tarballs/plug-1.0.0');
    for (let i = 0; i < 40; i++) sketch.increment('tarballs/jason-1.4.0');
    expect(sketch.frequency('tarballs/plug-1.0.0')).toBe(3);
    expect(sketch.frequency('tarballs/jason-1.4.0')).toBe(15);
    expect(sketch.frequency('tarballs/never-asked-1.0.0')).toBe(0);
  });

  it("forgets: counts halve once enough requests went by, so yesterday's popular key fades", () => {
    const sketch = new FrequencySketch(1024);
    for (let i = 0; i < 12; i++) sketch.increment('old');
    expect(sketch.frequency('old')).toBe(12);
    // 10 × width additions (a few hit saturated counters and do not count) trigger the halving (12 → 6; other keys may share a counter or two).
    for (let i = 0; i < 1024 * 11; i++) sketch.increment(`other-${i % 2000}`);
    expect(sketch.frequency('old')).toBeLessThanOrEqual(8);
  });
});

describe('HotCache', () => {
  it('admits everything while there is room, and serves only the recorded checksum', () => {
    const cache = new HotCache(100 * KiB);
    expect(cache.put('a', 'sha', body(40 * KiB))).toBe(true);
    expect(cache.put('b', 'sha', body(40 * KiB))).toBe(true);
    expect(ask(cache, 'a')).toBeDefined();
    expect(cache.get('a', 'another-sha')).toBeUndefined();
    expect(cache.size).toBe(80 * KiB);
  });

  it('keeps popular objects when the working set is larger than the budget (a scan does not flush them)', () => {
    const cache = new HotCache(100 * KiB);
    for (const key of ['p1', 'p2', 'p3', 'p4']) {
      ask(cache, key, 5);
      cache.put(key, 'sha', body(20 * KiB));
    }
    // A one-time scan over many other objects.
    for (let i = 0; i < 200; i++) {
      const key = `scan-${i}`;
      if (!ask(cache, key)) cache.put(key, 'sha', body(20 * KiB));
    }
    for (const key of ['p1', 'p2', 'p3', 'p4']) expect(ask(cache, key), key).toBeDefined();
  });

  it('never lets one large object evict many small popular ones, but does admit it once it is the more popular', () => {
    const cache = new HotCache(1024 * KiB);
    for (let i = 0; i < 100; i++) {
      ask(cache, `small-${i}`, 2);
      cache.put(`small-${i}`, 'sha', body(10 * KiB));
    }
    ask(cache, 'large', 3);
    expect(cache.admits('large', 600 * KiB)).toBe(false);
    expect(cache.put('large', 'sha', body(600 * KiB))).toBe(false);
    expect(ask(cache, 'small-0')).toBeDefined();
    // An object as popular as what it displaces together is still refused; more popular gets in.
    const big = new HotCache(100 * KiB);
    ask(big, 'x', 2);
    big.put('x', 'sha', body(60 * KiB));
    ask(big, 'y', 2);
    expect(big.put('y', 'sha', body(60 * KiB))).toBe(false);
    ask(big, 'y', 2);
    expect(big.put('y', 'sha', body(60 * KiB))).toBe(true);
    expect(big.get('x', 'sha')).toBeUndefined();
    expect(big.size).toBe(60 * KiB);
  });

  it('refuses objects over its per-object limit or its budget', () => {
    const cache = new HotCache(100 * KiB, 50 * KiB);
    ask(cache, 'big', 10);
    expect(cache.put('big', 'sha', body(51 * KiB))).toBe(false);
    expect(new HotCache(10 * KiB).put('x', 'sha', body(11 * KiB))).toBe(false);
  });

  it('replacing a key frees its old bytes', () => {
    const cache = new HotCache(100 * KiB);
    cache.put('a', 'sha', body(60 * KiB));
    cache.put('a', 'sha2', body(30 * KiB));
    expect(cache.size).toBe(30 * KiB);
    cache.delete('a');
    expect(cache.size).toBe(0);
  });
});

describe('BufferPool', () => {
  it('hands out buffers of at least the size asked, reuses released ones, and keeps no more than its bound', () => {
    const pool = new BufferPool(1024 * KiB, 128 * KiB);
    const a = pool.acquire(20 * KiB);
    expect(a.length).toBe(32 * KiB);
    pool.release(a);
    expect(pool.acquire(17 * KiB)).toBe(a);
    const large = pool.acquire(2048 * KiB);
    expect(large.length).toBe(2048 * KiB);
    const kept = Array.from({ length: 3 }, () => pool.acquire(64 * KiB));
    for (const b of kept) pool.release(b);
    // 128 KiB kept at most: two 64 KiB buffers come back, the third is new.
    const again = [pool.acquire(64 * KiB), pool.acquire(64 * KiB), pool.acquire(64 * KiB)];
    expect(again.filter((b) => kept.includes(b))).toHaveLength(2);
  });
});
