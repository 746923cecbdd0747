// A tiny static server for the demo storefront (www/), on 127.0.0.1 only.
//
//   node www/server.mjs [port]      (or PORT=…; default 8080; 0 = any free port)
//
// prints one line, `localrec demo: http://127.0.0.1:PORT/`, and serves until stopped. Tests
// import `startServer({ port })` instead, which resolves to `{ url, requests, close() }`:
// `requests` lists the path (with query string) of every request served, in order; a request
// with another method than GET or HEAD is refused and listed as `METHOD path`.
//
// It serves www/ and nothing outside it, with two exceptions that are symbolic links inside
// www/: node_modules/localrec (npm links it to ../pkg for `file:../pkg`) and generated/ (where
// `localrec start` writes the bundles, if someone links it elsewhere).
import { createServer } from 'node:http';
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { extname, join, sep, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const WWW = dirname(fileURLToPath(import.meta.url));

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.lrec': 'application/octet-stream',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.ts': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
};

/** The directories files may really live in (after following symbolic links). */
async function allowedRoots() {
  const roots = [await realpath(WWW)];
  for (const link of ['node_modules/localrec', 'generated']) {
    try {
      roots.push(await realpath(join(WWW, link)));
    } catch {
      // not there (yet): `npm install` / `localrec start` has not run
    }
  }
  return roots;
}

const inside = (file, root) => file === root || file.startsWith(root + sep);

/** The real path of the file for a URL path, or null (not found, or outside what is served). */
async function resolve(urlPath) {
  let rel;
  try {
    rel = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (rel.endsWith('/')) rel += 'index.html';
  // Refuse any `..` segment, NUL bytes and backslashes outright rather than normalising them.
  const parts = rel.split('/').filter(Boolean);
  if (parts.some((p) => p === '..' || p === '.' || p.includes('\\') || p.includes('\0'))) return null;
  try {
    const file = await realpath(join(WWW, ...parts));
    const roots = await allowedRoots();
    if (!roots.some((r) => inside(file, r))) return null;
    const info = await stat(file);
    return info.isFile() ? { file, info } : null;
  } catch {
    return null;
  }
}

/**
 * Starts the server; resolves to `{ url, requests, close() }` (`url` ends with `/`).
 * @param {{ port?: number }} [options]
 */
export function startServer({ port = 8080 } = {}) {
  const requests = [];
  const server = createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      requests.push(`${req.method} ${req.url}`);
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' });
      res.end('method not allowed');
      return;
    }
    requests.push(req.url);
    const found = await resolve(path);
    if (!found) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('not found');
      return;
    }
    const { file, info } = found;
    // Revalidate every time (the files change while developing), but answer 304 when
    // unchanged: Chromium then reuses the compiled wasm module from its code cache.
    const etag = `"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
    const headers = {
      'content-type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'cache-control': 'no-cache',
      etag,
      'x-content-type-options': 'nosniff',
    };
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    res.writeHead(200, { ...headers, 'content-length': info.size });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    createReadStream(file)
      .on('error', () => res.destroy())
      .pipe(res);
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => {
      ok({
        url: `http://127.0.0.1:${server.address().port}/`,
        requests,
        // Browsers keep connections alive: end them, or close() waits for ever.
        close: () => new Promise((done) => (server.close(() => done()), server.closeAllConnections())),
      });
    });
  });
}

if (process.argv[1] && (await realpath(process.argv[1]).catch(() => '')) === fileURLToPath(import.meta.url)) {
  const arg = process.argv[2] ?? process.env.PORT ?? '8080';
  const port = Number(arg);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`localrec demo: bad port ${JSON.stringify(arg)} (a number from 0 to 65535)`);
    process.exit(2);
  }
  try {
    const { url } = await startServer({ port });
    console.log(`localrec demo: ${url}`);
  } catch (e) {
    console.error(`localrec demo: cannot listen on 127.0.0.1:${port}: ${e.message}`);
    process.exit(1);
  }
}
