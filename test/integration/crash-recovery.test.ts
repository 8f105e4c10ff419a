// The mirror process killed with SIGKILL at random moments while 50 cold downloads are in
// flight, several times over, then started again: nothing partial or unverified is in the
// cache, `hexhub verify` finds no problem, and clients (a real rebar3 build where rebar3 is
// installed) are then served correctly.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishSized, seededRandom } from '../support/sized-fixtures.js';
import { run, serve, upstreamEnv, type ServeProcess } from '../support/cli.js';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { FixtureRepo } from '../support/hex-fixtures.js';
import { httpGet } from '../support/http.js';
import { removeDir } from '../support/mirror.js';
import { createRebar3Project } from '../support/rebar3.js';
import { requireTool } from '../support/tools.js';

const hasRebar3 = requireTool('rebar3', 'apt-get install erlang-nox rebar3', ['version']);
const PACKAGES = 50;
const ROUNDS = 4;
/** Fixed, so a failure can be replayed; printed with every kill. */
const SEED = 20261128;
const KiB = 1024;

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const names = Array.from({ length: PACKAGES }, (_, i) => `crashpkg_${i}`);

let repo: FixtureRepo;
let upstream: FakeUpstream;
let dataDir: string;
let server: ServeProcess | undefined;

beforeAll(async () => {
  repo = new FixtureRepo();
  const random = seededRandom(SEED);
  for (const [i, name] of names.entries()) await publishSized(repo, name, '1.0.0', Math.round(128 * KiB + random() * 384 * KiB), i + 1);
  upstream = await startFakeUpstream(repo);
  // Slow bodies (0.1 to 0.5 s each), so there is a window in which downloads are mid-body.
  upstream.fault.bytesPerSecond(1024 * KiB, { path: '/tarballs/' });
  dataDir = await mkdtemp(join(tmpdir(), 'hexhub-crash-'));
}, 120_000);

afterAll(async () => {
  server?.child.kill('SIGKILL');
  await server?.exited;
  await upstream?.close();
  await removeDir(dataDir);
});

const start = () => serve(['--port', '0', '--data-dir', dataDir], upstreamEnv(upstream.url, { HEXHUB_LOG_LEVEL: 'warn' }));

/** Every file under cache/tarballs, checked against the fixture itself (not the mirror's index). */
async function storedTarballs(): Promise<{ good: number; bad: string[] }> {
  const dir = join(dataDir, 'cache', 'tarballs');
  const bad: string[] = [];
  let good = 0;
  for (const file of existsSync(dir) ? await readdir(dir) : []) {
    const name = file.replace(/-1\.0\.0\.tar$/, '');
    const expected = repo.release(name, '1.0.0');
    if (expected && sha256(await readFile(join(dir, file))) === expected.outerChecksum) good++;
    else bad.push(file);
  }
  return { good, bad };
}

describe('SIGKILL during 50 concurrent cold downloads', () => {
  it('leaves a cache that verifies clean, and serves every client correctly after a restart', async () => {
    const random = seededRandom(SEED + 1);
    let leftovers = 0;
    for (let round = 0; round < ROUNDS; round++) {
      server = await start();
      const pending = names.map((name) => httpGet(server!.url, `/tarballs/${name}-1.0.0.tar`));
      // Timed from the first download reaching the disk, not from the start, so that a busy
      // machine (slow registry fetches) still gets kills mid-body: a random moment within the
      // next 400 ms, when some downloads are half-way, others finished, or not yet started.
      const tmp = join(dataDir, 'tmp');
      for (let i = 0; i < 1000 && (await readdir(tmp).catch(() => [])).length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
      const delayMs = Math.round(random() * 400);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      server.child.kill('SIGKILL');
      expect((await server.exited).signal).toBe('SIGKILL');
      server = undefined;
      const replies = await Promise.all(pending);
      // Whatever a client got before the kill was either whole and right, or cut short:
      // never a complete body with wrong bytes.
      for (const [i, reply] of replies.entries()) {
        if (reply.status === 200 && !reply.error && reply.body.length === repo.release(names[i]!, '1.0.0')!.bytes.length) {
          expect(sha256(reply.body), `round ${round}, seed ${SEED}, killed ${delayMs} ms after the first download began`).toBe(
            repo.release(names[i]!, '1.0.0')!.outerChecksum,
          );
        }
      }
      // Between kills, whatever reached cache/ is whole: files appear only by rename after verification.
      expect((await storedTarballs()).bad, `round ${round}, killed ${delayMs} ms after the first download began`).toEqual([]);
      leftovers += (await readdir(join(dataDir, 'tmp'))).length;
    }
    // The kills did land mid-transfer (else this test would prove nothing).
    expect(leftovers).toBeGreaterThan(0);

    // What was left behind: temporary files only (removed at the next start), nothing else.
    const verify = await run(['verify', '--data-dir', dataDir], upstreamEnv(upstream.url, { HEXHUB_LOG_LEVEL: 'warn' }), 60_000);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/ 0 damaged or missing/);
    expect(await readdir(join(dataDir, 'tmp'))).toEqual([]);
    const { good, bad } = await storedTarballs();
    expect(bad).toEqual([]);
    console.log(`crash test: ${leftovers} partial downloads killed over ${ROUNDS} rounds; ${good} of ${PACKAGES} tarballs stored whole`);

    // A client after the restart gets every package, whole and right; only what was not
    // stored before the kills is fetched from the upstream.
    server = await start();
    upstream.resetRequests();
    const replies = await Promise.all(names.map((name) => httpGet(server!.url, `/tarballs/${name}-1.0.0.tar`)));
    for (const [i, reply] of replies.entries()) {
      expect(reply.status).toBe(200);
      expect(sha256(reply.body)).toBe(repo.release(names[i]!, '1.0.0')!.outerChecksum);
    }
    expect(upstream.countRequests('/tarballs/')).toBe(PACKAGES - good);
  }, 180_000);

  it.runIf(hasRebar3)(
    'then a real rebar3 build through the restarted mirror succeeds',
    async () => {
      server ??= await start();
      const project = await createRebar3Project({ crashpkg_0: '1.0.0', crashpkg_17: '1.0.0', crashpkg_49: '1.0.0' });
      try {
        const result = await project.run(['compile'], server.url);
        expect(result.code, result.output).toBe(0);
        expect(result.output).toMatch(/Compiling crashpkg_17/);
      } finally {
        await project.remove();
      }
    },
    240_000,
  );
});
