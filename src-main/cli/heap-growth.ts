// How far V8 lets the heap outgrow what is live, for the long-running mirror process.
//
// V8 sizes the old generation by how fast the program allocates: a burst of cold misses
// (each leaves a few hundred KiB of short-lived objects, many of which outlive a scavenge
// while their download is in flight) grew the heap to ~130 MiB with ~35 MiB live, and the
// collector picks a growth factor of up to 4 for a small heap. The mirror sits under every
// build on the machine and must stay small: factor 2 kept filling 644 MiB of cold tarballs
// at ~170 MiB peak RSS instead of 215 (BENCHMARKS.md, phase 10 fill), for more frequent full
// collections.
//
// Only the headless process sets it: the desktop app's Electron main process may freeze V8's
// flags after start-up, and changing a frozen flag aborts the process.
import { setFlagsFromString } from 'node:v8';

export const HEAP_GROWING_PERCENT = 100;

export function limitHeapGrowth(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
