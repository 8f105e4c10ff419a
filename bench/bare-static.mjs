// Bare Node serving files from memory (node:http, every file read once at start, one head
// array per file, `res.writeHead` + `res.end(body)`), run as its own process by the warm
// benchmark: no routing, no index, no checks. What Node's HTTP server itself costs on this
// machine, the ceiling for any Node mirror's warm hits.
//
//   node bench/bare-static.mjs ROOT   → serves ROOT/tarballs/*; prints "listening on http://127.0.0.1:PORT"
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';

const root = process.argv[2] ?? '.';
const files = new Map();
const walk = (dir, prefix) => {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, `${prefix}${name}/`);
    else {
      const body = readFileSync(path);
      files.set(`${prefix}${name}`, { body, head: ['content-type', 'application/octet-stream', 'content-length', body.length] });
    }
  }
};
walk(root, '/');
const server = createServer((req, res) => {
  const file = files.get(req.url);
  if (!file) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, file.head);
  res.end(file.body);
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening on http://127.0.0.1:${server.address().port}\n`));
process.on('SIGTERM', () => process.exit(0));
