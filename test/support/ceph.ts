// A real S3 server for the S3 storage tests: a fresh single-node Ceph cluster (one monitor,
// one OSD, radosgw on loopback) per startCeph(), started by the vendored workplace scripts in
// ./s3/. Where Ceph is missing the tests are skipped with a printed reason, except under
// CI=true, where that is a failure (like requireTool).
//
// Usage:
//   describe.runIf(cephAvailable())('…', () => {
//     let ceph: Ceph;
//     beforeAll(async () => { ceph = await startCeph(); }, 90_000);
//     afterAll(() => ceph?.stop(), 30_000);
//   });
//   ceph.env()                      S3_* / AWS_* variables for the engine under test
//   newS3Client(ceph)               an SDK client with the settings Ceph 16 needs
//   ceph.stopGateway('SIGKILL')     S3 requests now fail with ECONNREFUSED; the cluster keeps running
//   ceph.startGateway()             radosgw back on the same port, with the same data
//
// Quirks of the scripts (vendored verbatim, so not fixed here):
// - The monitor always listens on 127.0.0.1:3300, so only one cluster per machine at a time:
//   startCeph() fails at once when that port is taken (ceph-start.sh itself fails ~10 s
//   later, after the monitor's bind retries).
// - ceph-start.sh polls radosgw with curl; without curl it waits 120 s instead of failing.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { freePort } from './ports.js';
import { requireTool } from './tools.js';

const execFileAsync = promisify(execFile);
const START_SCRIPT = fileURLToPath(new URL('./s3/ceph-start.sh', import.meta.url));
const STOP_SCRIPT = fileURLToPath(new URL('./s3/ceph-stop.sh', import.meta.url));
const INSTALL = 'apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw ceph-common';
/** Fixed by ceph-start.sh (mon host = v2:127.0.0.1:3300). */
const MON_PORT = 3300;
/** Every cluster lives in a temp dir with this prefix (see reapOrphans). */
const DIR_PREFIX = 'hexhub-ceph-';
/** radosgw's pid file in DIR/run (ceph.conf: pid file = $D/run/$cluster-$name.pid). */
const RGW_PID_FILE = 'ceph-client.rgw.a.pid';
const START_TIMEOUT_MS = 60_000;
const GATEWAY_TIMEOUT_MS = 30_000;

export interface Ceph {
  /** 'http://127.0.0.1:PORT', path-style addressing. */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: 'us-east-1';
  /** AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, S3_ENDPOINT, S3_REGION, S3_FORCE_PATH_STYLE, … plus `extra`. */
  env(extra?: Record<string, string>): Record<string, string>;
  createBucket(name: string): Promise<void>;
  /** All keys (every page) under `prefix`, in S3's order. */
  listKeys(bucket: string, prefix?: string): Promise<string[]>;
  getObject(bucket: string, key: string): Promise<Buffer>;
  /** Kills radosgw (the cluster keeps running); resolves once its port refuses connections. */
  stopGateway(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts radosgw again on the same port and data; resolves once it answers. */
  startGateway(): Promise<void>;
  /** Stops every daemon (~0.5 s, see stopCluster) and removes the temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

let available: boolean | undefined;

/** Whether the Ceph tests may run; prints why not, and throws under CI=true. */
export function cephAvailable(): boolean {
  available ??=
    requireTool('radosgw', INSTALL) &&
    requireTool('ceph-mon', INSTALL) &&
    requireTool('ceph-osd', INSTALL) &&
    // ceph-start.sh waits for radosgw with curl, which no Ceph package pulls in.
    requireTool('curl', 'apt-get install -y --no-install-recommends curl');
  return available;
}

/** An SDK client for `ceph` with the settings Ceph 16's radosgw needs; `extra` overrides. */
export function newS3Client(ceph: Pick<Ceph, 'endpoint' | 'accessKeyId' | 'secretAccessKey' | 'region'>, extra: S3ClientConfig = {}): S3Client {
  // Else the SDK warns that it will drop Node 20: noise in test output.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return new S3Client({
    endpoint: ceph.endpoint,
    region: ceph.region,
    forcePathStyle: true,
    credentials: { accessKeyId: ceph.accessKeyId, secretAccessKey: ceph.secretAccessKey },
    // By default the SDK sends streamed bodies aws-chunked with a CRC32 trailer, which
    // radosgw 16 refuses (411 MissingContentLength); plain requests work.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // A dead gateway must fail a test quickly, not hang it.
    requestHandler: new NodeHttpHandler({ connectionTimeout: 2_000, requestTimeout: 10_000 }),
    ...extra,
  });
}

// Clusters this process started and has not stopped yet, for the safety nets below.
const running = new Set<string>();
let safetyNetInstalled = false;

/** Pids named by the daemons' pid files in DIR/run ('ceph-osd.0.pid' → 1234). */
function daemonPids(dir: string, pattern = /\.pid$/): Map<string, number> {
  const run = join(dir, 'run');
  const pids = new Map<string, number>();
  for (const name of existsSync(run) ? readdirSync(run) : []) {
    if (!pattern.test(name)) continue;
    try {
      pids.set(join(run, name), Number(readFileSync(join(run, name), 'utf8')));
    } catch {
      // removed by its daemon meanwhile
    }
  }
  return pids;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Stops a cluster: radosgw by SIGKILL, then the OSDs, then ceph-stop.sh (the monitor), then
 * SIGKILL for anything still running. Synchronous so the 'exit' safety net can use it; takes
 * about 0.5 s. Why not just ceph-stop.sh (which SIGTERMs all three at once, ~7 s):
 * - radosgw's SIGTERM shutdown takes ~5 s, and was seen to hang past ceph-stop.sh's 10 s wait
 *   (it then sets itself a 120 s alarm) when the monitor went down at the same time. Nothing
 *   of a throwaway cluster needs flushing.
 * - an OSD stopped together with the monitor waits 5 s for it before exiting; alone, it exits
 *   at once.
 * - a killed daemon stays a zombie until PID 1 reaps it (~2 s here) and ceph-stop.sh waits
 *   on zombies (kill -0), so the pid files of the daemons already stopped are removed first.
 */
function stopCluster(dir: string): void {
  for (const [file, pid] of daemonPids(dir, /^ceph-client\.rgw\./)) {
    if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(file, { force: true });
  }
  for (const [file, pid] of daemonPids(dir, /^ceph-osd\./)) {
    if (pidAlive(pid)) process.kill(pid, 'SIGTERM');
    for (let waited = 0; pidAlive(pid) && waited < 10_000; waited += 20) sleepSync(20);
    if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(file, { force: true });
  }
  spawnSync('bash', [STOP_SCRIPT, dir], { stdio: 'ignore', timeout: 20_000 });
  for (const pid of daemonPids(dir).values()) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
}

function removeCluster(root: string): void {
  stopCluster(join(root, 'ceph'));
  rmSync(root, { recursive: true, force: true });
  running.delete(root);
}

/**
 * A test process that ends without calling stop() must not leave daemons running forever:
 * - on 'exit' (a crash, process.exit) the clusters are stopped synchronously;
 * - vitest ends its fork workers with SIGTERM and SIGKILLs them 500 ms later, and 'exit' does
 *   not run on a signal: there every daemon is SIGKILLed at once (well within the 500 ms),
 *   then the signal is raised again for its default effect. Same for Ctrl-C (SIGINT).
 * - a process that was SIGKILLed is covered by reapOrphans in the next startCeph.
 */
function installSafetyNet(): void {
  if (safetyNetInstalled) return;
  safetyNetInstalled = true;
  process.on('exit', () => {
    for (const root of running) removeCluster(root);
  });
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.once(signal, () => {
      for (const root of running) {
        for (const pid of daemonPids(join(root, 'ceph')).values()) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
        rmSync(root, { recursive: true, force: true });
      }
      running.clear();
      process.kill(process.pid, signal);
    });
  }
}

function pidAlive(pid: number): boolean {
  try {
    // A daemonized radosgw or osd that was killed stays a zombie until init reaps it (1–2 s
    // here); kill(pid, 0) still succeeds on a zombie, so look at its state instead.
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Stops clusters whose owning test process died without cleaning up (e.g. SIGKILL). */
function reapOrphans(): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(DIR_PREFIX)) continue;
    const root = join(tmpdir(), name);
    let owner: number;
    try {
      owner = Number(readFileSync(join(root, 'owner.pid'), 'utf8'));
    } catch {
      continue; // not ours, or being created right now
    }
    if (owner > 0 && owner !== process.pid && !pidAlive(owner)) removeCluster(root);
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** True once something answers HTTP on `endpoint` (any status: radosgw says 200 or 403). */
async function answers(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(endpoint, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** Runs ceph-start.sh; rejects with its output if it fails or takes longer than `timeoutMs`. */
function runStartScript(dir: string, env: Record<string, string>, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    // Through bash, so a checkout that lost the executable bit still works. Own process
    // group, so a timeout can kill the script and whatever it is waiting on (ceph -s, curl);
    // the daemons it already started detach themselves and are stopped by their pid files.
    const child = spawn('bash', [START_SCRIPT, dir, 'bluestore', 'nomgr'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      reject(new Error(`ceph-start.sh did not finish within ${timeoutMs} ms; its output:\n${output}`));
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`ceph-start.sh exited with ${code ?? signal}; its output:\n${output}`));
    });
  });
}

/** The last lines of each daemon log in DIR/log, for start failures. */
function logTails(dir: string, lines = 15): string {
  const logDir = join(dir, 'log');
  const names = existsSync(logDir) ? readdirSync(logDir).filter((name) => name.endsWith('.log')) : [];
  return names
    .map((name) => `--- ${name} (last ${lines} lines):\n${readFileSync(join(logDir, name), 'utf8').trimEnd().split('\n').slice(-lines).join('\n')}`)
    .join('\n');
}

/** Starts a fresh single-node Ceph cluster with radosgw on a free loopback port (~10 s). */
export async function startCeph(): Promise<Ceph> {
  reapOrphans();
  if (!(await portFree(MON_PORT))) {
    throw new Error(
      `127.0.0.1:${MON_PORT} is taken: another Ceph monitor is running (ceph-start.sh always uses this port, so only one cluster can run at a time; test files using startCeph must not run in parallel)`,
    );
  }
  const root = await mkdtemp(join(tmpdir(), DIR_PREFIX));
  // Lets a later run find and stop this cluster if this process dies without cleaning up.
  writeFileSync(join(root, 'owner.pid'), String(process.pid));
  // ceph-start.sh wipes the dir it is given, so the cluster gets a subdir of ours.
  const dir = join(root, 'ceph');
  const conf = join(dir, 'ceph.conf');
  const pidFile = join(dir, 'run', RGW_PID_FILE);
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const accessKeyId = 'hexhub-test-key';
  const secretAccessKey = 'hexhub-test-secret';

  installSafetyNet();
  running.add(root);
  const started = Date.now();
  try {
    const output = await runStartScript(dir, { RGW_PORT: String(port), AK: accessKeyId, SK: secretAccessKey }, START_TIMEOUT_MS);
    const left = Math.max(1_000, START_TIMEOUT_MS - (Date.now() - started));
    await until(() => answers(endpoint), `radosgw at ${endpoint}`, left).catch((error: Error) => {
      throw new Error(`${error.message}; ceph-start.sh output:\n${output}`);
    });
  } catch (error) {
    // The daemons' own logs say why (e.g. radosgw could not bind); they go with the dir.
    const logs = logTails(dir);
    removeCluster(root);
    throw logs ? new Error(`${(error as Error).message}\n${logs}`) : error;
  }

  let client: S3Client | undefined;
  const s3 = () => (client ??= newS3Client(ceph));

  async function gatewayPid(): Promise<number | undefined> {
    try {
      return Number(await readFile(pidFile, 'utf8'));
    } catch {
      return undefined;
    }
  }

  const ceph: Ceph = {
    endpoint,
    accessKeyId,
    secretAccessKey,
    region: 'us-east-1',
    env: (extra = {}) => ({
      AWS_ACCESS_KEY_ID: accessKeyId,
      AWS_SECRET_ACCESS_KEY: secretAccessKey,
      S3_ENDPOINT: endpoint,
      S3_REGION: 'us-east-1',
      S3_FORCE_PATH_STYLE: 'true',
      // Else the SDK warns that it will drop Node 20: noise in test output.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...extra,
    }),
    async createBucket(name) {
      await s3().send(new CreateBucketCommand({ Bucket: name }));
    },
    async listKeys(bucket, prefix) {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await s3().send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        for (const object of page.Contents ?? []) keys.push(object.Key!);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return keys;
    },
    async getObject(bucket, key) {
      const response = await s3().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(await response.Body!.transformToByteArray());
    },
    async stopGateway(signal = 'SIGTERM') {
      const pid = await gatewayPid();
      if (pid === undefined || !pidAlive(pid)) throw new Error('radosgw is not running');
      process.kill(pid, signal);
      // Both: the refused port is what clients see; waiting for the process too means a new
      // radosgw never races the old one for the port or the pid file.
      await until(async () => !pidAlive(pid) && (await refuses(port)), `radosgw (pid ${pid}) to exit`, GATEWAY_TIMEOUT_MS);
    },
    async startGateway() {
      const pid = await gatewayPid();
      if (pid !== undefined && pidAlive(pid)) throw new Error(`radosgw is already running (pid ${pid})`);
      // What ceph-start.sh runs; it returns once radosgw connected to the cluster and
      // daemonized (~0.4 s), before the HTTP frontend listens. Not spawnSync: an engine under
      // test may run in this process and must keep running meanwhile.
      await execFileAsync('radosgw', ['-c', conf, '-n', 'client.rgw.a'], { timeout: GATEWAY_TIMEOUT_MS }).catch(
        (error: Error & { stdout?: string; stderr?: string }) => {
          throw new Error(`radosgw failed to start: ${error.message}\n${error.stdout ?? ''}${error.stderr ?? ''}`);
        },
      );
      await until(() => answers(endpoint), `radosgw at ${endpoint}`, GATEWAY_TIMEOUT_MS);
    },
    async stop() {
      if (!running.has(root)) return;
      client?.destroy();
      removeCluster(root);
    },
  };
  return ceph;
}
