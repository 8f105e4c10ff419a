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

/** Runs a child to the end with our signals forwarded; `onLine` sees its stdout line by line. */
function run(command, commandArgs, onLine) {
  const child = spawn(command, commandArgs, { cwd: ROOT, stdio: ['inherit', onLine ? 'pipe' : 'inherit', 'inherit'] });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    });
  }
  if (onLine) {
    let buffer = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text) => {
      process.stdout.write(text);
      buffer += text;
      for (let end = buffer.indexOf('\n'); end >= 0; end = buffer.indexOf('\n')) {
        onLine(buffer.slice(0, end));
        buffer = buffer.slice(end + 1);
      }
    });
  }
  child.on('error', (error) => {
    process.stderr.write(`start: could not run ${command}: ${error.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)));
}

/** Opens a URL in the user's browser; failing to is not worth more than a line. */
function openInBrowser(url) {
  const [command, commandArgs] =
    process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '""', url]] : ['xdg-open', [url]];
  try {
    const opener = spawn(command, commandArgs, { stdio: 'ignore', detached: true });
    opener.on('error', () => process.stderr.write(`start: could not open a browser; open ${url} yourself\n`));
    opener.unref();
  } catch {
    // as above: the URL is printed already
  }
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
  // Where serve will listen: its flags win over the environment, as in the CLI.
  const flag = (name) => {
    const at = args.findIndex((a) => a === name || a.startsWith(`${name}=`));
    return at < 0 ? undefined : args[at].includes('=') ? args[at].slice(name.length + 1) : args[at + 1];
  };
  const host = flag('--host') || process.env.HEXHUB_HOST?.trim() || '127.0.0.1';
  const port = flag('--port') || process.env.HEXHUB_PORT?.trim() || '4000';
  const where = port === '0' ? 'the address it prints' : `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;
  process.stdout.write(`${why}; running the headless mirror instead; open ${where} for the dashboard\n`);
  // Only where a graphical browser can open: on a text console xdg-open falls back to a text
  // browser that would take over this terminal.
  const browse = !noDisplay && !process.env.CI && process.env.HEXHUB_NO_BROWSER !== '1';
  let opened = false;
  run(process.execPath, [HEXHUB, 'serve', ...args], (line) => {
    const url = /^HexHub mirror listening on (\S+)/.exec(line)?.[1];
    if (!url || opened || !browse) return;
    opened = true;
    openInBrowser(`${url}/`);
  });
}
