// Buffers for reads off the hot cache, reused instead of allocated per request: a fresh
// multi-hundred-KiB buffer per warm read is memory the collector must find and free, and at
// thousands of reads a second that is most of the resident set. Power-of-two classes; at most
// `keepBytes` of free buffers kept in all, the rest left to the collector.

const MIN_CLASS = 16 * 1024;

export class BufferPool {
  private readonly free = new Map<number, Buffer[]>();
  private freeBytes = 0;

  constructor(
    /** Largest buffer handed out from the pool; larger requests get a buffer of their own. */
    readonly maxBytes = 4 * 1024 * 1024,
    /** Free bytes kept, all classes together. */
    private readonly keepBytes = 16 * 1024 * 1024,
  ) {}

  /** A buffer of at least `size` bytes; give it back with `release` once nothing reads it. */
  acquire(size: number): Buffer {
    const cls = classOf(size);
    if (cls > this.maxBytes) return Buffer.allocUnsafeSlow(size);
    const reused = this.free.get(cls)?.pop();
    if (!reused) return Buffer.allocUnsafeSlow(cls);
    this.freeBytes -= cls;
    return reused;
  }

  release(buffer: Buffer): void {
    const cls = buffer.length;
    if (cls > this.maxBytes || cls !== classOf(cls) || this.freeBytes + cls > this.keepBytes) return;
    let list = this.free.get(cls);
    if (!list) this.free.set(cls, (list = []));
    list.push(buffer);
    this.freeBytes += cls;
  }
}

function classOf(size: number): number {
  let cls = MIN_CLASS;
  while (cls < size) cls *= 2;
  return cls;
}
