// Small, frequently served objects kept in memory, so a warm hit costs no file system
// calls. Bounded in bytes, least recently used out first. An entry is only used when its
// checksum is the one the index records, so a replaced object is never served from here.
export class HotCache {
  private readonly entries = new Map<string, { sha256: string; body: Buffer }>();
  private bytes = 0;

  constructor(
    private readonly budgetBytes: number,
    /** Objects larger than this are streamed from disk instead. */
    readonly maxObjectBytes = 4 * 1024 * 1024,
  ) {}

  get(key: string, sha256: string): Buffer | undefined {
    const hit = this.entries.get(key);
    if (!hit || hit.sha256 !== sha256) return undefined;
    // Re-insert: Map order is recency order.
    this.entries.delete(key);
    this.entries.set(key, hit);
    return hit.body;
  }

  put(key: string, sha256: string, body: Buffer): void {
    if (body.length > this.maxObjectBytes || body.length > this.budgetBytes) return;
    this.delete(key);
    this.entries.set(key, { sha256, body });
    this.bytes += body.length;
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.budgetBytes) break;
      this.entries.delete(oldest);
      this.bytes -= entry.body.length;
    }
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
