// The package as a front-end developer meets it: `npm pack` of pkg/, installed into this
// minimal Vite app, built for production (`vite build`) and opened in headless Chromium (Debian's
// /usr/bin/chromium). The page loads the browser tests' fixture bundle, tracks an event and a
// GA4 push, and recommends; `tsc` checks a typed consumer (src/typed.ts) against the
// declarations the package ships. Needs pkg/ (src/web/npm/build.sh), the fixtures
// (cargo run --example web_fixture -- tests/browser/generated) and `npm install` here.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, readdir, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.lrec': 'application/octet-stream' };

let work, server, url, context, profile;

/** A static server of `dir` (what a host serves of a `vite build`). */
function serve(dir) {
  return new Promise((ok) => {
    const s = createServer(async (req, res) => {
      const path = join(dir, decodeURIComponent(new URL(req.url, 'http://x').pathname).replace(/^\/+/, '') || 'index.html');
      try {
        const body = await readFile((await stat(path)).isDirectory() ? join(path, 'index.html') : path);
        res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' });
        res.end(body);
      } catch {
        res.writeHead(404).end();
      }
    });
    s.listen(0, '127.0.0.1', () => ok(s));
  });
}

before(async () => {
  // A copy of the app outside the repository, with the packed tarball installed into it.
  work = await mkdtemp(join(tmpdir(), 'localrec-vite-'));
  for (const f of ['index.html', 'src', 'package.json', 'tsconfig.json']) await cp(join(here, f), join(work, f), { recursive: true });
  await cp(join(here, 'node_modules'), join(work, 'node_modules'), { recursive: true, verbatimSymlinks: true });
  const { stdout } = await run('npm', ['pack', join(root, 'pkg'), '--pack-destination', work, '--silent']);
  const tarball = join(work, stdout.trim().split('\n').pop());
  await run('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--offline', tarball], { cwd: work }).catch(() =>
    run('npm', ['install', '--no-save', '--no-audit', '--no-fund', tarball], { cwd: work }),
  );
  await cp(join(root, 'tests', 'browser', 'generated', 'fixture.lrec'), join(work, 'public', 'fixture.lrec'), { recursive: true });
  await run(join(work, 'node_modules', '.bin', 'vite'), ['build', '--logLevel', 'warn'], { cwd: work });
  server = await serve(join(work, 'dist'));
  url = `http://127.0.0.1:${server.address().port}/`;
  profile = await mkdtemp(join(tmpdir(), 'localrec-vite-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
});

after(async () => {
  await context?.close();
  server?.close();
  for (const d of [work, profile]) if (d) await rm(d, { recursive: true, force: true });
});

test('the declarations the package ships type-check a typed consumer (tsc --strict)', { timeout: 120_000 }, async () => {
  const tsc = join(work, 'node_modules', '.bin', 'tsc');
  const r = await run(tsc, ['-p', work]).catch((e) => e);
  assert.equal(r.code ?? 0, 0, `tsc found errors:\n${r.stdout ?? ''}${r.stderr ?? ''}`);
});

test('the packed package, built by Vite for production, loads a bundle and recommends in Chromium', { timeout: 120_000 }, async () => {
  const assets = await readdir(join(work, 'dist', 'assets'));
  assert.equal(assets.filter((f) => f.endsWith('.wasm')).length, 2, `vite build emitted both modules: ${assets.join(', ')}`);
  const workers = assets.filter((f) => /worker.*\.js$/.test(f));
  assert.equal(workers.length, 1, `vite build emitted the package's worker: ${assets.join(', ')}`);
  const page = await context.newPage();
  const errors = [];
  const warnings = [];
  const wasm = [];
  const scripts = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => m.type() === 'warning' && warnings.push(m.text()));
  page.on('request', (r) => r.url().endsWith('.wasm') && wasm.push(new URL(r.url()).pathname.split('/').pop()));
  page.on('request', (r) => r.url().endsWith('.js') && scripts.push(new URL(r.url()).pathname.split('/').pop()));
  await page.goto(url);
  await page.waitForFunction(() => window.result !== undefined, null, { timeout: 60_000 });
  const r = await page.evaluate(() => window.result);
  assert.equal(r.error, undefined, r.error);
  assert.equal(r.backend, 'cpu');
  assert.equal(r.items.length, 5);
  assert.deepEqual(r.history, [
    ['view', 'item-0003'],
    ['cart', 'item-0017'],
  ]);
  assert.equal(wasm.length, 1, `one module fetched: ${wasm}`);
  assert.match(wasm[0], /^localrec_cpu_bg/, 'a page that asks for the CPU fetches only the CPU-only module');
  assert.deepEqual(errors, []);
  assert.ok(scripts.includes(workers[0]), `the model ran in the worker: ${scripts}`);
  assert.deepEqual(warnings, [], 'no fallback to the page');
  await page.close();
});
