#!/usr/bin/env node
// `npm start` (after `npm run build`): the desktop app where Electron's binary is installed and
// a window can open; otherwise the headless mirror (`./bin/hexhub serve`) with the dashboard
// opened in the browser. Either way the child gets this process's signals, and its exit code
// becomes ours, so Ctrl-C stops the mirror cleanly.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { displayProblem, findElectron } from './electron-binary.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = fileURLToPath(new URL('../dist/src-main/desktop/main.js', import.meta.url));
const HEXHUB = fileURLToPath(new URL('../bin/hexhub', import.meta.url));
const args = process.argv.slice(2);

/** Runs a child to the end with our signals forwarded. */
function run(command, commandArgs) {
  const child = spawn(command, commandArgs, { cwd: ROOT, stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    });
  }
  child.on('error', (error) => {
    process.stderr.write(`start: could not run ${command}: ${error.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)));
}

const electron = findElectron();
const noDisplay = displayProblem();

if (electron.ok && !noDisplay) {
  const flags = [];
  // Chromium refuses to start as root with its sandbox on; a development convenience only
  // (the packaged app is never run as root), and said out loud.
  if (process.platform === 'linux' && process.getuid?.() === 0) {
    process.stderr.write('start: running as root, so Electron gets --no-sandbox (Chromium will not start as root otherwise)\n');
    flags.push('--no-sandbox');
  }
  run(electron.path, [...flags, MAIN, ...args]);
} else {
  const why = electron.ok ? noDisplay : `Electron's binary is not installed here (${electron.reason})`;
  // Only where a graphical browser can open (serve decides, and never under CI or with
  // HEXHUB_NO_BROWSER=1): the dashboard opens through a one-time sign-in link.
  process.stdout.write(
    `${why}; running the headless mirror instead; the sign-in link it prints opens the dashboard (in your browser, where one can be opened)\n`,
  );
  run(process.execPath, [HEXHUB, 'serve', '--open', ...args]);
}
