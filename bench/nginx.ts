// nginx as the reference static file server: a throwaway config in a temp dir, in the
// foreground (daemon off), on a loopback port, with every path it writes kept in that dir.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './util.js';

export const NGINX = process.env.NGINX ?? '/usr/sbin/nginx';

export interface NginxServer {
  url: string;
  /** The master's pid (workers are its children). */
  pid: number;
  workers: string;
  stop(): Promise<void>;
}

/** nginx -v (it prints to stderr), e.g. "nginx/1.22.1". */
export async function nginxVersion(): Promise<string> {
  const child = spawn(NGINX, ['-v'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let text = '';
  child.stderr.on('data', (c: Buffer) => (text += c.toString()));
  try {
    await once(child, 'exit');
  } catch (error) {
    // No nginx: fine for the phases that do not use it (BENCH_ONLY=cold,herd,rss,prewarm,catalog,load).
    return `nginx not found (${NGINX}: ${(error as Error).message})`;
  }
  return /nginx\/\S+/.exec(text)?.[0] ?? text.trim();
}

/**
 * Serves `root` (a folder holding tarballs/NAME-VERSION.tar) on 127.0.0.1.
 * A stock static-file setup: sendfile on, access_log off, no open_file_cache, defaults
 * otherwise -- except keepalive_requests, raised from 1000 to match the mirror (Node keeps
 * a connection for any number of requests), so that neither side reconnects mid-run.
 */
export async function startNginx(root: string, workers: '1' | 'auto'): Promise<NginxServer> {
  const dir = await mkdtemp(join(tmpdir(), 'hexhub-bench-nginx-'));
  const port = await freePort();
  for (const sub of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) await mkdir(join(dir, sub));
  const running = process.getuid?.() === 0;
  const conf = `
${running ? 'user root;' : ''}
worker_processes ${workers};
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 65;
  keepalive_requests 1000000;
  default_type application/octet-stream;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location / { }
  }
}
`;
  const confPath = join(dir, 'nginx.conf');
  await writeFile(confPath, conf);
  const child = spawn(NGINX, ['-p', `${dir}/`, '-c', confPath, '-e', join(dir, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = once(child, 'exit');
  const log = async () => `${stderr}${await readFile(join(dir, 'error.log'), 'utf8').catch(() => '')}`;

  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}:\n${await log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`nginx did not start listening on ${port}:\n${await log()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    workers,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM'); // fast shutdown
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
