// `hexhub` command line: flags in, one engine call out. Each command lives in its own file.
import { describeProblem } from '../../src-shared/problems.js';
import { Command, InvalidArgumentError } from 'commander';
import { VERSION } from '../version.js';
import { fail } from './context.js';
import { dashboardCommand } from './dashboard-command.js';
import { prewarmCommand } from './prewarm-command.js';
import { serveCommand } from './serve-command.js';
import { setupCommand } from './setup-command.js';
import { statusCommand } from './status-command.js';
import { verifyCommand } from './verify-command.js';

function wholeNumber(value: string): string {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number');
  return value;
}

const program = new Command('hexhub').description('A verified, caching hex.pm mirror').version(VERSION);
const dataDirOption = ['--data-dir <dir>', 'where the cache and index live (HEXHUB_DATA_DIR)'] as const;

program
  .command('serve')
  .description('run the mirror (headless)')
  .option('--host <host>', 'address to listen on (HEXHUB_HOST, default 127.0.0.1)')
  .option('--port <port>', 'port to listen on, 0 for any free port (HEXHUB_PORT, default 4000)', wholeNumber)
  .option(...dataDirOption)
  .option('--open', 'open the dashboard in the browser once listening (through a one-time sign-in link)')
  .action(serveCommand);

program
  .command('dashboard')
  .description("print a one-time sign-in link to the running mirror's dashboard, and open it in the browser")
  .option('--no-open', 'only print the link')
  .option(...dataDirOption)
  .action(dashboardCommand);

program
  .command('prewarm')
  .description('fetch into the cache what a mix.lock or rebar.lock needs, or packages by name (name, name@1.2.3, "name@~> 1.2")')
  .argument('<path-or-names...>')
  .option('--concurrency <n>', 'downloads at once (HEXHUB_PREWARM_CONCURRENCY, default 8)', wholeNumber)
  .option(...dataDirOption)
  .action(prewarmCommand);

program
  .command('verify')
  .description('re-hash the cache; exit 1 if anything is damaged or missing')
  .option(...dataDirOption)
  .action(verifyCommand);
program
  .command('setup')
  .description('point mix (hex.config), rebar3 and your shells (HEX_MIRROR, HEX_BUILDS_URL, HEX_CDN) at this mirror')
  .option('--mirror-url <url>', "the mirror to point at (default: this mirror's configured address)")
  .option('--undo', 'restore the files as they were before the last setup')
  .option('--dry-run', 'show the changes as a diff, change nothing')
  .option(...dataDirOption)
  .action(setupCommand);

program
  .command('status')
  .description('show what is cached and the disk use')
  .option(...dataDirOption)
  .action(statusCommand);

program.parseAsync(process.argv).catch((error: unknown) => fail(describeProblem(error)));
