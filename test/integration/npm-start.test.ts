// `npm start`'s launcher (scripts/start.mjs) where the desktop app cannot run — no Electron
// binary, as on CI, or no display: it says why, runs the headless mirror, and passes a
// SIGTERM on so the mirror stops cleanly with exit code 0.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { displayProblem, findElectron } from '../../scripts/electron-binary.mjs';
import { removeDir } from '../support/mirror.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const built = existsSync(join(ROOT, 'dist/cli/hexhub.mjs'));
// Where Electron can run, start.mjs would open the desktop app instead; that is the e2e tests' part.
const desktopRuns = findElectron().ok && !displayProblem();
const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await removeDir(dir);
});

describe.skipIf(!built || desktopRuns)('npm start without the desktop app', () => {
  it('explains, serves headless, and stops on SIGTERM', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'hexhub-start-'));
    dirs.push(dataDir);
    const child = spawn(process.execPath, ['scripts/start.mjs', '--data-dir', dataDir], {
      cwd: ROOT,
      // Port 0: any free port, so the test never collides with a mirror running here.
      env: { ...process.env, HEXHUB_PORT: '0', HEXHUB_NO_BROWSER: '1', HEXHUB_LOG_LEVEL: 'silent', UPSTREAM_URL: 'http://127.0.0.1:9' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (out += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (out += text));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

    await expect.poll(() => out, { timeout: 20_000 }).toMatch(/HexHub mirror listening on (http:\/\/127\.0\.0\.1:\d+)/);
    expect(out).toMatch(/running the headless mirror instead; the sign-in link it prints opens the dashboard/);
    expect(out).toMatch(/Electron's binary is not installed here|there is no display/);
    const url = /listening on (\S+)/.exec(out)![1]!;
    // The dashboard needs the printed one-time link; without it, a sign-in page.
    expect((await fetch(`${url}/`)).status).toBe(401);
    await expect.poll(() => out, { timeout: 5_000 }).toMatch(/sign-in link .*: (\S+\/-\/login\?code=\S+)/);
    const link = /sign-in link .*: (\S+)/.exec(out)![1]!;
    const signIn = await fetch(link);
    expect(signIn.status).toBe(200);
    const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
    expect((await fetch(`${url}/`, { headers: { cookie } })).status).toBe(200);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
