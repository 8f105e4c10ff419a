// `hexhub dashboard`: a fresh one-time sign-in link to the dashboard of the server running on
// the data dir, minted by that server; printed as the last line, and opened in the browser
// where one can be opened.
import type { ConfigOverrides } from '../config/config.js';
import { browserProblem, openInBrowser } from './browser.js';
import { configFrom, fail } from './context.js';
import { runningServer } from './data-dir-control.js';

export async function dashboardCommand(options: ConfigOverrides & { open?: boolean }): Promise<void> {
  const config = configFrom(options);
  const server = await runningServer(config);
  if (!server) fail(`no HexHub server is running on ${config.dataDir}; start one (\`hexhub serve\`, or the desktop app) and run this again`, 1);
  const link = await server.control.loginLink();
  const problem = options.open === false ? 'asked not to (--no-open)' : browserProblem();
  if (!problem) {
    await openInBrowser(link.url, config.dataDir).then(
      () => process.stderr.write('hexhub: opened the dashboard in your browser\n'),
      (error: Error) => process.stderr.write(`hexhub: could not open a browser (${error.message}); open the link below yourself\n`),
    );
  }
  process.stdout.write(`Sign-in link for the HexHub dashboard (works once, within 15 minutes):\n${link.url}\n`);
}
