// Real Hex tarballs of controlled size for the benchmark and the fault tests, built with the test fixtures
// (test/support/hex-fixtures.ts). A tarball's size is set by padding src/NAME.erl with an
// Erlang comment of seeded pseudo-random printable text, which gzip can barely shrink
// (~6.6 bits of entropy per byte), so contents.tar.gz -- and the outer tarball -- end up
// close to the requested size. Everything is deterministic: same seed, same bytes.
import { buildTarball, type BuiltTarball, type FixtureRelease, type FixtureRepo } from './hex-fixtures.js';

/** mulberry32: a small, fast, seeded PRNG returning floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LINE = 96;

/** `length` bytes of Erlang comment lines ("%% " + printable noise + "\n"). */
function noiseComment(length: number, seed: number): string {
  const out = Buffer.allocUnsafe(length);
  let state = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    const col = i % LINE;
    if (col === 0)
      out[i] = 0x25; // %
    else if (col === 1)
      out[i] = 0x25; // %
    else if (col === 2) out[i] = 0x20;
    else if (col === LINE - 1) out[i] = 0x0a;
    else {
      // xorshift32, inlined: this runs for tens of megabytes.
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      out[i] = 0x21 + ((state >>> 0) % 94);
    }
  }
  if (length > 0) out[length - 1] = 0x0a;
  return out.toString('latin1');
}

function moduleSource(name: string, version: string, padding: number, seed: number): string {
  return (
    `-module(${name}).\n-export([hello/0]).\n\nhello() ->\n    {${name}, <<"${version}">>, []}.\n\n` +
    `%% Benchmark padding: incompressible text so that this tarball has a realistic size.\n` +
    noiseComment(padding, seed)
  );
}

/** Bytes of outer tarball per byte of padding, and the size with no padding (measured once). */
let calibration: { base: number; ratio: number } | undefined;

async function calibrate(): Promise<{ base: number; ratio: number }> {
  if (calibration) return calibration;
  const probe = 512 * 1024;
  const empty = await buildTarball({ name: 'bench_calibrate', version: '1.0.0', erlangModuleSource: moduleSource('bench_calibrate', '1.0.0', 0, 1) });
  const full = await buildTarball({ name: 'bench_calibrate', version: '1.0.0', erlangModuleSource: moduleSource('bench_calibrate', '1.0.0', probe, 1) });
  calibration = { base: empty.bytes.length, ratio: (full.bytes.length - empty.bytes.length) / probe };
  return calibration;
}

/** Padding (bytes of source) that gives an outer tarball of about `targetBytes`. */
async function paddingFor(targetBytes: number): Promise<number> {
  const { base, ratio } = await calibrate();
  return Math.max(0, Math.round((targetBytes - base) / ratio));
}

/** Publishes NAME VERSION with a tarball of about `targetBytes` (no docs). */
export async function publishSized(repo: FixtureRepo, name: string, version: string, targetBytes: number, seed: number): Promise<FixtureRelease> {
  const source = moduleSource(name, version, await paddingFor(targetBytes), seed);
  return repo.publish({ name, version, erlangModuleSource: source }, { docs: false });
}

/** A real tarball of about `targetBytes`, built but not published. */
export async function buildSized(name: string, version: string, targetBytes: number, seed: number): Promise<BuiltTarball> {
  return buildTarball({ name, version, erlangModuleSource: moduleSource(name, version, await paddingFor(targetBytes), seed) });
}

/**
 * Publishes NAME VERSION, then makes it serve `shared` (a real tarball built for another
 * version) instead of its own small one: the registry record then carries the shared
 * tarball's checksums, so a mirror verifies and stores it like any other release. This is
 * how the RSS benchmark gets a gigabyte of distinct cold releases out of two 16 MiB
 * tarballs without building (and holding) a gigabyte of fixtures.
 */
export async function publishSharing(repo: FixtureRepo, name: string, version: string, shared: BuiltTarball): Promise<FixtureRelease> {
  const release = await repo.publish({ name, version }, { docs: false });
  release.bytes = shared.bytes;
  release.innerChecksum = shared.innerChecksum;
  release.outerChecksum = shared.outerChecksum;
  release.tarball = shared;
  return release;
}

/**
 * Tarball sizes shaped like hex.pm's (median ~20-40 KB, a long tail): 60 % 5-30 KB
 * (uniform), 30 % 30-200 KB and 10 % 200 KB-2 MB (log-uniform), shuffled.
 */
export function hexLikeSizes(count: number, random: () => number): number[] {
  const KB = 1024;
  const logUniform = (lo: number, hi: number) => Math.round(Math.exp(Math.log(lo) + random() * (Math.log(hi) - Math.log(lo))));
  const small = Math.round(count * 0.6);
  const medium = Math.round(count * 0.3);
  const sizes: number[] = [];
  for (let i = 0; i < count; i++) {
    if (i < small) sizes.push(Math.round(5 * KB + random() * 25 * KB));
    else if (i < small + medium) sizes.push(logUniform(30 * KB, 200 * KB));
    else sizes.push(logUniform(200 * KB, 2048 * KB));
  }
  return shuffle(sizes, random);
}

export function shuffle<T>(items: T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
