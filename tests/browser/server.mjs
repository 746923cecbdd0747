// A tiny static file server for the browser tests and the benchmark page, on 127.0.0.1 only.
//   /pkg/...       the npm package built by src/web/npm/build.sh
//   /fixtures/...  bundles and expected results written by `cargo run --example web_fixture`
//   /...           tests/browser/pages/
// Run alone: node tests/browser/server.mjs [port]  (prints the URL)
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
export const FIXTURES = process.env.LOCALREC_FIXTURES ?? join(here, 'generated');
const mounts = [
  ['/pkg/', process.env.LOCALREC_PKG ?? join(root, 'pkg')],
  ['/fixtures/', FIXTURES],
  ['/', join(here, 'pages')],
];
const types = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.ts': 'text/plain; charset=utf-8',
  '.lrec': 'application/octet-stream',
};

function resolve(urlPath) {
  for (const [prefix, dir] of mounts) {
    if (urlPath.startsWith(prefix)) {
      const rel = normalize(decodeURIComponent(urlPath.slice(prefix.length)) || 'index.html');
      if (rel.startsWith('..') || rel.includes(`${sep}..${sep}`)) return null;
      return join(dir, rel);
    }
  }
  return null;
}

/** Starts the server on a free port; resolves to { url, requests, close() }. */
export function startServer(port = 0) {
  const requests = [];
  const server = createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const seen = { method: req.method, url: req.url, ifNoneMatch: req.headers['if-none-match'], status: 404 };
    requests.push(seen);
    const file = resolve(path);
    try {
      const info = file && req.method === 'GET' ? await stat(file) : null;
      if (!info?.isFile()) throw new Error('not found');
      // A validator, so that a client can revalidate what it keeps (the bundle cache does).
      const etag = `"${info.size}-${Math.round(info.mtimeMs)}"`;
      if (req.headers['if-none-match'] === etag) {
        seen.status = 304;
        res.writeHead(304, { etag, 'cache-control': 'no-store' });
        res.end();
        return;
      }
      const body = await readFile(file);
      seen.status = 200;
      res.writeHead(200, {
        'content-type': types[extname(file)] ?? 'application/octet-stream',
        'content-length': body.length,
        'cache-control': 'no-store',
        etag,
      });
      res.end(body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }
  });
  return new Promise((ok) =>
    server.listen(port, '127.0.0.1', () => {
      const url = `http://127.0.0.1:${server.address().port}`;
      ok({
        url,
        requests,
        // Chromium keeps connections alive: end them, or close() waits for ever.
        close: () => new Promise((done) => (server.close(done), server.closeAllConnections())),
      });
    }),
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const s = await startServer(Number(process.argv[2] ?? 8787));
  console.log(`serving on ${s.url}`);
}
