// The other parties of the security and network tests, for real: another local user (uid
// 65534, through `setpriv`) and another host, a network namespace joined to this one by a veth
// pair, whose address is not loopback (and which can drop packets, with iptables). They need
// root, setpriv (util-linux), ip (iproute2) and iptables; elsewhere the tests are skipped with a
// printed reason, except under CI=true, where that is a failure.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { runCommand, type Outcome } from './cli.js';

export const NOBODY = 65534;

let able: boolean | undefined;

/** Whether this process may act as another user and make a network namespace; says why not. */
export function canActAsOthers(): boolean {
  if (able !== undefined) return able;
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push('not running as root');
  if (spawnSync('setpriv', ['--version'], { stdio: 'ignore' }).status !== 0) problems.push('setpriv is missing (apt-get install util-linux)');
  if (spawnSync('ip', ['-V'], { stdio: 'ignore' }).status !== 0) problems.push('ip is missing (apt-get install iproute2)');
  able = problems.length === 0;
  if (!able) {
    const reason = `cannot act as another user or host here: ${problems.join('; ')}`;
    if (process.env.CI === 'true') throw new Error(`CI=true and ${reason}`);
    console.warn(`SKIPPED: ${reason}`);
  }
  return able;
}

/**
 * A Node script that makes HTTP requests (node:http, so a Host header can be forged) and
 * prints, for each, the status, body and first Set-Cookie, or the error. `requests` are
 * [url, headers] pairs.
 */
function fetchScript(requests: [string, Record<string, string>][]): string {
  return `
import { request } from 'node:http';
const get = (url, headers) => new Promise((resolve) => {
  const u = new URL(url);
  const req = request({ host: u.hostname, port: u.port, path: u.pathname + u.search, headers }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (chunk) => (body += chunk));
    res.on('end', () => resolve({ status: res.statusCode, body, setCookie: res.headers['set-cookie']?.[0] ?? null }));
  });
  req.setTimeout(10000, () => req.destroy(new Error('timeout')));
  req.on('error', (error) => resolve({ error: error.code ?? error.message }));
  req.end();
});
const out = [];
for (const [url, headers] of ${JSON.stringify(requests)}) out.push(await get(url, headers));
process.stdout.write(JSON.stringify(out));
`;
}

export type FetchResult = { status: number; body: string; setCookie: string | null } | { error: string };

async function fetchAs(prefix: string[], requests: [string, Record<string, string>][]): Promise<FetchResult[]> {
  const outcome = await runCommand(prefix[0]!, [...prefix.slice(1), process.execPath, '--input-type=module', '-e', fetchScript(requests)], {}, 20_000);
  if (outcome.code !== 0) throw new Error(`request script failed (${outcome.code}): ${outcome.stderr}`);
  return JSON.parse(outcome.stdout) as FetchResult[];
}

/** Runs a command as uid/gid 65534 with no supplementary groups. */
export function runAsNobody(command: string, args: string[]): Promise<Outcome> {
  return runCommand('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', command, ...args]);
}

/** HTTP requests made by another local user. */
export function fetchAsNobody(requests: [string, Record<string, string>][]): Promise<FetchResult[]> {
  return fetchAs(['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'], requests);
}

let canDrop: boolean | undefined;

/** Whether a neighbour host can also drop packets (iptables); says why not. */
export function canDropPackets(): boolean {
  if (canDrop !== undefined) return canDrop;
  canDrop = canActAsOthers() && spawnSync('iptables', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!canDrop && process.getuid?.() === 0) {
    const reason = 'iptables is missing (apt-get install iptables)';
    if (process.env.CI === 'true') throw new Error(`CI=true and ${reason}`);
    console.warn(`SKIPPED: ${reason}`);
  }
  return canDrop;
}

export interface NeighbourHost {
  /** This machine's address as the neighbour sees it (not loopback). */
  hostAddress: string;
  /** The neighbour's own address: what the mirror sees as the peer. */
  address: string;
  fetch(requests: [string, Record<string, string>][]): Promise<FetchResult[]>;
  /**
   * Listens on `port` at the neighbour's address and drops every packet of a connection after
   * its handshake (a dead VPN, a firewall that blackholes): connecting works, nothing else does.
   */
  blackhole(port: number): Promise<void>;
  remove(): void;
}

/** A second host on a private link: 10.213.X.2 in its own network namespace, this machine at 10.213.X.1. */
export function createNeighbourHost(): NeighbourHost {
  const id = process.pid % 250;
  const ns = `hexhub-${process.pid}`;
  const [outside, inside] = [`hxa${process.pid}`.slice(0, 15), `hxb${process.pid}`.slice(0, 15)];
  const hostAddress = `10.213.${id}.1`;
  const address = `10.213.${id}.2`;
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
  ip('netns', 'add', ns);
  try {
    ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', inside);
    ip('link', 'set', inside, 'netns', ns);
    ip('addr', 'add', `${hostAddress}/30`, 'dev', outside);
    ip('link', 'set', outside, 'up');
    ip('-n', ns, 'addr', 'add', `${address}/30`, 'dev', inside);
    ip('-n', ns, 'link', 'set', inside, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
  } catch (error) {
    spawnSync('ip', ['link', 'del', outside], { stdio: 'ignore' });
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    throw error;
  }
  const listeners: ChildProcess[] = [];
  return {
    hostAddress,
    address,
    fetch: (requests) => fetchAs(['ip', 'netns', 'exec', ns], requests),
    async blackhole(port) {
      const listener = spawn(
        'ip',
        ['netns', 'exec', ns, process.execPath, '-e', `require('node:net').createServer(() => {}).listen(${port}, '${address}', () => console.log('ready'))`],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      listeners.push(listener);
      await new Promise<void>((resolve, reject) => {
        listener.stdout!.once('data', () => resolve());
        listener.once('exit', (code) => reject(new Error(`the blackhole listener exited with ${code}`)));
      });
      // The handshake's SYN is NEW; everything after it is ESTABLISHED, and dropped.
      ip('netns', 'exec', ns, 'iptables', '-A', 'INPUT', '-p', 'tcp', '--dport', String(port), '-m', 'conntrack', '--ctstate', 'ESTABLISHED', '-j', 'DROP');
    },
    remove() {
      for (const listener of listeners) listener.kill('SIGKILL');
      spawnSync('ip', ['link', 'del', outside], { stdio: 'ignore' });
      spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    },
  };
}
