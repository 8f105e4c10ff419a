// Small, frequently served objects kept in memory, so a warm hit costs no file system calls.
// An entry is only used when its checksum is the one the index records, so a replaced object
// is never served from here.
//
// Bounded in bytes. Plain LRU thrashes as soon as the working set outgrows the budget (every
// miss evicts something about to be asked for, and pays a read and a hash for it), so
// admission is by frequency (TinyLFU): a newcomer gets in only if it was asked for more often
// lately than everything it would push out together. Together, so that one large object never
// evicts hundreds of small popular ones; recency still picks which entries are the candidates.
import { FrequencySketch } from './frequency-sketch.js';

interface Entry {
  sha256: string;
  body: Buffer;
}

export class HotCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  private readonly sketch: FrequencySketch;

  constructor(
    private readonly budgetBytes: number,
    /** Objects larger than this are read from disk instead. */
    readonly maxObjectBytes = 4 * 1024 * 1024,
  ) {
    // Sized for the keys that compete for the budget: many more than fit (16 KiB is about
    // the smallest tarball worth keeping), bounded so the sketch stays a few hundred KiB.
    this.sketch = new FrequencySketch(Math.min(1 << 16, Math.max(1024, Math.ceil(budgetBytes / 16384) * 8)));
  }

  /** The object's bytes if held; counts the request either way. */
  get(key: string, sha256: string): Buffer | undefined {
    this.sketch.increment(key);
    const hit = this.entries.get(key);
    if (!hit || hit.sha256 !== sha256) return undefined;
    // Re-insert: Map order is recency order.
    this.entries.delete(key);
    this.entries.set(key, hit);
    return hit.body;
  }

  /** Whether an object of `size` bytes under `key` would be kept if offered now. */
  admits(key: string, size: number): boolean {
    if (size > this.maxObjectBytes || size > this.budgetBytes) return false;
    const current = this.entries.get(key);
    let toFree = this.bytes - (current?.body.length ?? 0) + size - this.budgetBytes;
    if (toFree <= 0) return true;
    const candidate = this.sketch.frequency(key);
    let victims = 0;
    for (const [victimKey, victim] of this.entries) {
      if (victimKey === key) continue;
      victims += this.sketch.frequency(victimKey);
      if (victims >= candidate) return false;
      toFree -= victim.body.length;
      if (toFree <= 0) return true;
    }
    return true;
  }

  /** Keeps `body` if admitted (see `admits`), evicting the least recently used; returns whether it did. */
  put(key: string, sha256: string, body: Buffer): boolean {
    if (!this.admits(key, body.length)) return false;
    this.delete(key);
    this.entries.set(key, { sha256, body });
    this.bytes += body.length;
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.budgetBytes) break;
      this.entries.delete(oldest);
      this.bytes -= entry.body.length;
    }
    return true;
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.bytes -= entry.body.length;
  }

  get size(): number {
    return this.bytes;
  }
}
