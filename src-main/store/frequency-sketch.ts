// How often each key was asked for lately, in a fixed amount of memory: a count-min sketch of
// 4-bit counters that halves itself periodically, so popularity fades (TinyLFU, Einziger et
// al., as in Caffeine). The hot cache asks it whether a newcomer is worth what it would evict.
// No maintained npm package offers an aging sketch of this kind (bloom-filters' count-min
// never forgets, and brings a dozen dependencies for it), and it is forty lines.

const DEPTH = 4;
const MAX_COUNT = 15;

export class FrequencySketch {
  private readonly counters: Uint8Array;
  private readonly mask: number;
  private additions = 0;
  /** After this many increments every counter is halved. */
  private readonly sampleSize: number;

  /** `expectedKeys`: about how many distinct keys compete (rounded up to a power of two). */
  constructor(expectedKeys: number) {
    let width = 64;
    while (width < expectedKeys) width *= 2;
    this.counters = new Uint8Array(width * DEPTH);
    this.mask = width - 1;
    this.sampleSize = 10 * width;
  }

  /** Estimated recent requests for `key` (0–15). */
  frequency(key: string): number {
    const h = hashOf(key);
    let min = MAX_COUNT;
    for (let row = 0; row < DEPTH; row++) min = Math.min(min, this.counters[this.slot(h, row)]!);
    return min;
  }

  /** Counts one request for `key`. */
  increment(key: string): void {
    const h = hashOf(key);
    let added = false;
    for (let row = 0; row < DEPTH; row++) {
      const slot = this.slot(h, row);
      if (this.counters[slot]! < MAX_COUNT) {
        this.counters[slot]! += 1;
        added = true;
      }
    }
    if (added && ++this.additions >= this.sampleSize) this.age();
  }

  private slot(h: number, row: number): number {
    // Double hashing: one 32-bit hash gives every row its own index.
    const mixed = Math.imul(h ^ (h >>> 16), 0x45d9f3b + 2 * row) ^ (h >>> (row + 7));
    return row * (this.mask + 1) + ((mixed >>> 0) & this.mask);
  }

  private age(): void {
    for (let i = 0; i < this.counters.length; i++) this.counters[i]! >>= 1;
    this.additions = Math.floor(this.additions / 2);
  }
}

/** FNV-1a over the key's UTF-16 code units. */
function hashOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
