// A bare pass-through HTTP proxy (node:http, keep-alive to the upstream, no cache, no
// verification, no disk), run as its own process by the cold-miss benchmark: the cost of
// one more Node process hop on this machine, a floor for any proxying mirror.
//
//   node bench/passthrough.mjs http://127.0.0.1:UPSTREAM_PORT   → prints "listening on http://127.0.0.1:PORT"
import { Agent, createServer, request } from 'node:http';

const upstream = new URL(process.argv[2] ?? 'http://127.0.0.1:80');
const agent = new Agent({ keepAlive: true });
const server = createServer((req, res) => {
  const out = request(
    { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: { 'user-agent': 'passthrough' }, agent },
    (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    },
  );
  out.on('error', (error) => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(String(error));
  });
  out.end();
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening on http://127.0.0.1:${server.address().port}\n`));
process.on('SIGTERM', () => process.exit(0));
