// Which stored copies the size cap evicts: the least recently used first, never one being
// served, until what is left fits. One pure function, used by the eviction itself and by the
// preview the dashboard shows before a lower cap is saved, so the two cannot disagree.

export interface CapCandidate {
  key: string;
  bytes: number;
  lastUsed: number;
}

/** The copies to evict so that `totalBytes` fits under `capBytes` (null: no cap, nothing). */
export function selectForCap(candidates: CapCandidate[], totalBytes: number, capBytes: number | null, inUse: (key: string) => boolean): CapCandidate[] {
  if (capBytes === null || totalBytes <= capBytes) return [];
  // Ties broken by key: the same cache gives the same choice every time it is asked.
  const oldestFirst = [...candidates].sort((a, b) => a.lastUsed - b.lastUsed || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const victims: CapCandidate[] = [];
  let excess = totalBytes - capBytes;
  for (const candidate of oldestFirst) {
    if (excess <= 0) break;
    if (inUse(candidate.key)) continue;
    victims.push(candidate);
    excess -= candidate.bytes;
  }
  return victims;
}
