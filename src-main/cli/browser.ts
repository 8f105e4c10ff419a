// Opening the dashboard's sign-in link in the user's browser, for `hexhub serve --open` and
// `hexhub dashboard`. The link is a credential until it is used, and a command line is
// readable by every local user (/proc/PID/cmdline), so the browser is handed a file instead:
// a page in the data dir (0700, the page 0600) that moves on to the link, as Jupyter does.
import { writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import open from 'open';

/** Why no browser should be opened here, or undefined when one can be. */
export function browserProblem(env: Record<string, string | undefined> = process.env, platform: NodeJS.Platform = process.platform): string | undefined {
  if (env.HEXHUB_NO_BROWSER === '1') return 'HEXHUB_NO_BROWSER=1';
  if (env.CI) return 'running under CI';
  // On a text console xdg-open falls back to a text browser that would take over the terminal.
  if (platform === 'linux' && !env.DISPLAY && !env.WAYLAND_DISPLAY) return 'there is no display';
  return undefined;
}

function escapeAttribute(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

/** Writes the private page that moves on to `link`; returns its path. */
export async function writeSignInPage(link: string, dataDir: string): Promise<string> {
  const page = join(dataDir, 'open-dashboard.html');
  const target = escapeAttribute(link);
  await writeFile(
    page,
    `<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${target}"><title>HexHub</title><p><a href="${target}">Open the HexHub dashboard</a></p>\n`,
    { mode: 0o600 },
  );
  await chmod(page, 0o600);
  return page;
}

/** Opens `link` in the user's browser through the private page; resolves once the browser was started. */
export async function openInBrowser(link: string, dataDir: string): Promise<void> {
  await open(pathToFileURL(await writeSignInPage(link, dataDir)).href);
}
