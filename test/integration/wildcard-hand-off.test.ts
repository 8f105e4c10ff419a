// A team server listens on 0.0.0.0, but this machine reaches it on loopback: the CLI's
// commands hand their work to it there (real processes, through the lock file), and what the
// dashboard's setup shows and writes is the loopback URL, never the wildcard address.
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiClient } from '../../src-shared/api-client.js';
import { run, serve, upstreamEnv, type ServeProcess } from '../support/cli.js';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { FixtureRepo } from '../support/hex-fixtures.js';
import { removeDir } from '../support/mirror.js';

let repo: FixtureRepo;
let upstream: FakeUpstream;
const dirs: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hexhub-wildcard-'));
  dirs.push(dir);
  return dir;
}

/** A home with nothing of the test runner's own mirror settings, as setup.test.ts uses. */
async function tempHome(): Promise<{ home: string; env: Record<string, string> }> {
  const home = await tempDir();
  await mkdir(join(home, '.hex'));
  await writeFile(join(home, '.hex/hex.config'), '{unsafe_https,false}.\n');
  await writeFile(join(home, '.bashrc'), 'alias ll="ls -alF"\n');
  return {
    home,
    env: { HOME: home, SHELL: '/bin/bash', XDG_CONFIG_HOME: '', ZDOTDIR: '', HEX_HOME: '', MIX_XDG: '', HEX_MIRROR: '', HEX_CDN: '', HEX_API_URL: '' },
  };
}

async function stopServer(server: ServeProcess): Promise<void> {
  server.child.kill('SIGTERM');
  await server.exited;
}

const tokenOf = async (dataDir: string) => (await readFile(join(dataDir, 'token'), 'utf8')).trim();

beforeAll(async () => {
  repo = new FixtureRepo();
  await repo.publish({ name: 'jason', version: '1.4.1' });
  upstream = await startFakeUpstream(repo);
});

afterAll(async () => {
  await upstream.close();
  await Promise.all(dirs.map(removeDir));
});

describe('a server listening on 0.0.0.0', () => {
  it('gets the work of `hexhub prewarm` and `hexhub status` at its loopback URL, which the lock file names', async () => {
    const dataDir = await tempDir();
    const server = await serve(['--host', '0.0.0.0', '--port', '0', '--data-dir', dataDir], upstreamEnv(upstream.url));
    try {
      const port = new URL(server.url).port;
      const loopback = `http://127.0.0.1:${port}`;
      expect(server.url).toBe(loopback);
      expect(JSON.parse(await readFile(join(dataDir, 'hexhub.lock'), 'utf8'))).toMatchObject({ role: 'server', url: loopback });

      const prewarm = await run(['prewarm', 'jason', '--data-dir', dataDir], upstreamEnv(upstream.url));
      expect(prewarm.code, prewarm.stderr).toBe(0);
      expect(prewarm.stdout).toContain(`handing the job to the server running on this data dir (${loopback})`);
      expect(prewarm.stdout).toMatch(/pre-warm done: 1 fetched/);

      const status = await run(['status', '--data-dir', dataDir]);
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toContain(`server: ${loopback} (running)`);
      expect(status.stdout).toMatch(/cache: 1 packages, 1 releases/);

      // The job ran in the server (its dashboard lists it), not in a process of its own.
      const api = createApiClient({ baseUrl: loopback, token: await tokenOf(dataDir) });
      expect((await api.jobs()).map((job) => [job.source, job.state])).toEqual([[expect.stringContaining('jason'), 'done']]);
    } finally {
      await stopServer(server);
    }
  });

  it("shows and writes the loopback URL in the dashboard's setup and its copy line, not 0.0.0.0", async () => {
    const dataDir = await tempDir();
    const { home, env } = await tempHome();
    const server = await serve(['--host', '0.0.0.0', '--port', '0', '--data-dir', dataDir], upstreamEnv(upstream.url, env));
    try {
      const loopback = `http://127.0.0.1:${new URL(server.url).port}`;
      const api = createApiClient({ baseUrl: loopback, token: await tokenOf(dataDir) });
      // The Overview's copy line is built from status.url.
      expect((await api.status()).url).toBe(loopback);
      expect((await api.setupState()).mirrorUrl).toBe(loopback);

      const applied = await api.applySetup({});
      expect(applied.changes.length).toBeGreaterThan(0);
      expect(JSON.stringify(applied)).not.toContain('0.0.0.0');
      const bashrc = await readFile(join(home, '.bashrc'), 'utf8');
      expect(bashrc).toContain(`export HEX_MIRROR='${loopback}'`);
      expect(bashrc).not.toContain('0.0.0.0');
      expect(await readFile(join(home, '.hex/hex.config'), 'utf8')).toContain(`{mirror_url,<<"${loopback}">>}.`);
      expect(applied.state).toMatchObject({ mirrorUrl: loopback, applied: true });
    } finally {
      await stopServer(server);
    }
  });

  it('is what `hexhub setup` points clients at when the mirror is configured to listen on 0.0.0.0', async () => {
    const { home, env } = await tempHome();
    const result = await run(['setup', '--dry-run', '--data-dir', join(home, 'data')], { ...env, HEXHUB_HOST: '0.0.0.0', HEXHUB_PORT: '4567' });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^mirror: http:\/\/127\.0\.0\.1:4567$/m);
    expect(result.stdout).toContain(`+export HEX_MIRROR='http://127.0.0.1:4567'`);
    expect(result.stdout).not.toContain('0.0.0.0');
  });
});
