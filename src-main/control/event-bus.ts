// Fan-out of live events to every open event stream. Progress events are coalesced per
// subject so a fast download does not flood slow dashboards.
import type { ServerEvent } from '../../src-shared/contract.js';

type Listener = (event: ServerEvent) => void;

export class EventBus {
  private readonly listeners = new Set<Listener>();
  private readonly pending = new Map<string, ServerEvent>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly coalesceMs = 250) {}

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  publish(event: ServerEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  /** Publishes at most one event per `subject` every `coalesceMs`; the latest wins. */
  publishCoalesced(subject: string, event: ServerEvent): void {
    if (this.listeners.size === 0) return;
    this.pending.set(subject, event);
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const events = [...this.pending.values()];
      this.pending.clear();
      for (const e of events) this.publish(e);
    }, this.coalesceMs);
    this.timer.unref();
  }

  /** Drops a coalesced event that a final one (an end, a removal) makes stale. */
  cancelCoalesced(subject: string): void {
    this.pending.delete(subject);
  }
}
