// `hexhub serve`: the mirror, headless, until SIGTERM or SIGINT.
import type { ConfigOverrides } from '../config/config.js';
import { createEngine } from '../engine.js';
import { DataDirBusyError } from '../store/data-dir-lock.js';
import { browserProblem, openInBrowser } from './browser.js';
import { configFrom, fail } from './context.js';
import { limitHeapGrowth } from './heap-growth.js';

export async function serveCommand(options: ConfigOverrides & { open?: boolean }): Promise<void> {
  const config = configFrom(options);
  limitHeapGrowth();
  const engine = createEngine(config, { processMetrics: true });
  try {
    // The line scripts wait for, as soon as the port is bound: a client that connects while the
    // index is still being read waits for it (engine.start).
    await engine.start({ onListening: (bound) => process.stdout.write(`HexHub mirror listening on ${bound}\n`) });
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (error instanceof DataDirBusyError) fail(`${e.message}; use another --data-dir`);
    if (e.code === 'EADDRINUSE') fail(`port ${config.port} on ${config.host} is already in use (choose another with --port or HEXHUB_PORT)`);
    if (e.code === 'EACCES') fail(`not allowed to listen on ${config.host}:${config.port}`);
    fail(`could not start: ${e.message}`);
  }
  // The dashboard needs a sign-in: a one-time link, on this terminal only.
  const link = await engine.control.loginLink();
  process.stdout.write(`Dashboard sign-in link (works once, within 15 minutes; \`hexhub dashboard\` makes another): ${link.url}\n`);
  if (options.open && !browserProblem()) {
    openInBrowser(link.url, config.dataDir).catch((error: Error) =>
      process.stderr.write(`hexhub: could not open a browser (${error.message}); open the link above yourself\n`),
    );
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    engine.log.info({ event: 'signal', signal }, 'shutting down');
    engine.stop().then(
      () => process.exit(0),
      (error: Error) => fail(`shutdown failed: ${error.message}`, 1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
