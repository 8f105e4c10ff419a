// `hexhub` command line. Each subcommand is a thin adapter from flags to the engine.
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, loadConfig, type ConfigOverrides } from '../config/config.js';
import { createEngine } from '../engine.js';
import { VERSION } from '../version.js';

function fail(message: string): never {
  process.stderr.write(`hexhub: ${message}\n`);
  process.exit(2);
}

function port(value: string): string {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a port number');
  return value;
}

async function serve(options: ConfigOverrides): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env, options);
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
  const engine = createEngine(config, { processMetrics: true });
  let url: string;
  try {
    url = await engine.start();
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') fail(`port ${config.port} on ${config.host} is already in use (choose another with --port or HEXHUB_PORT)`);
    if (e.code === 'EACCES') fail(`not allowed to listen on ${config.host}:${config.port}`);
    fail(`could not start: ${e.message}`);
  }
  process.stdout.write(`HexHub mirror listening on ${url}\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    engine.log.info({ event: 'signal', signal }, 'shutting down');
    engine.stop().then(
      () => process.exit(0),
      (error: Error) => {
        process.stderr.write(`hexhub: shutdown failed: ${error.message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

const program = new Command('hexhub').description('A verified, caching hex.pm mirror').version(VERSION);

program
  .command('serve')
  .description('run the mirror (headless)')
  .option('--host <host>', 'address to listen on (HEXHUB_HOST, default 127.0.0.1)')
  .option('--port <port>', 'port to listen on, 0 for any free port (HEXHUB_PORT, default 4000)', port)
  .option('--data-dir <dir>', 'where the cache and index live (HEXHUB_DATA_DIR)')
  .action((options: ConfigOverrides) => serve(options));

program.parseAsync(process.argv).catch((error: Error) => fail(error.message));
