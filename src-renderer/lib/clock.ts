// One clock per interval for the "5 s ago" texts, so that they move on together.
import { useSyncExternalStore } from 'react';

interface Clock {
  now: number;
  listeners: Set<() => void>;
}

const clocks = new Map<number, Clock>();

function clock(intervalMs: number): Clock {
  let entry = clocks.get(intervalMs);
  if (!entry) {
    const created: Clock = { now: Date.now(), listeners: new Set() };
    setInterval(() => {
      created.now = Date.now();
      for (const listener of created.listeners) listener();
    }, intervalMs);
    clocks.set(intervalMs, (entry = created));
  }
  return entry;
}

/** The current time, updated every `intervalMs`. */
export function useNow(intervalMs = 5000): number {
  const entry = clock(intervalMs);
  return useSyncExternalStore(
    (listener) => {
      entry.listeners.add(listener);
      return () => entry.listeners.delete(listener);
    },
    () => entry.now,
  );
}
