// Whether the cache can be written to right now. A full disk (or a read-only or failing one)
// must not take serving down: transfers pass the verified bytes through without keeping them,
// the dashboard and status say why, and the first write that succeeds again clears the
// condition, so caching resumes by itself once space is freed.
import { messageOf } from '../../src-shared/problems.js';
import { statfs } from 'node:fs/promises';
import type { StorageHealthView } from '../../src-shared/contract.js';

export class StorageHealth {
  private state: StorageHealthView = { writable: true };
  private readonly listeners = new Set<(view: StorageHealthView) => void>();

  constructor(private readonly dir: string) {}

  get writable(): boolean {
    return this.state.writable;
  }

  onChange(listener: (view: StorageHealthView) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A write to the cache failed: remembered until one succeeds. */
  failed(error: unknown, why?: string): void {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = why ?? (code === 'ENOSPC' || code === 'EDQUOT' ? 'disk full' : code === 'EROFS' ? 'read-only file system' : 'write failed');
    const wasWritable = this.state.writable;
    this.state = {
      writable: false,
      reason,
      lastError: messageOf(error),
      lastErrorAt: Date.now(),
      since: wasWritable ? Date.now() : (this.state.since ?? Date.now()),
    };
    if (wasWritable) this.emit();
  }

  succeeded(): void {
    if (this.state.writable) return;
    this.state = { writable: true, recoveredAt: Date.now() };
    this.emit();
  }

  /** The condition with the free space now. */
  async view(): Promise<StorageHealthView> {
    try {
      const fs = await statfs(this.dir);
      return { ...this.state, freeBytes: fs.bavail * fs.bsize, totalBytes: fs.blocks * fs.bsize };
    } catch {
      return { ...this.state };
    }
  }

  private emit(): void {
    for (const listener of this.listeners) listener({ ...this.state });
  }
}
