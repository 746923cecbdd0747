// Shared setup of the end-to-end tests: the demo server (www/server.mjs on a free port), a
// headless Debian Chromium with a fresh profile, page helpers and screenshots.
//
// Needs: www/generated/ (written by `cargo run --release --features cli -- start`), pkg/
// (src/web/npm/build.sh) and `npm install` in www/ and here.
import assert from 'node:assert/strict';
import { access, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from '../../www/server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const WWW = join(here, '..', '..', 'www');
export const GENERATED = join(WWW, 'generated');
export const ARTIFACTS = join(here, 'artifacts');

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--enable-unsafe-webgpu',
];

/** generated/demo.json, after checking that the demo's files are there. */
export async function demoConfig() {
  const need = async (p, what) => {
    try {
      await access(p);
    } catch {
      assert.fail(`${what} is missing (${p}): run \`cargo run --release --features cli -- start\` and \`(cd www && npm install)\` first`);
    }
  };
  await need(join(GENERATED, 'demo.json'), 'www/generated/demo.json');
  await need(join(WWW, 'node_modules', 'localrec', 'index.js'), 'www/node_modules/localrec (npm install in www/)');
  const cfg = JSON.parse(await readFile(join(GENERATED, 'demo.json'), 'utf8'));
  for (const m of cfg.models) await need(join(GENERATED, m.file), `the bundle ${m.file}`);
  return cfg;
}

/** Starts the server and Chromium (fresh profile); returns `{ server, context, close() }`. */
export async function launch() {
  await mkdir(ARTIFACTS, { recursive: true });
  const server = await startServer({ port: 0 });
  const profile = await mkdtemp(join(tmpdir(), 'localrec-e2e-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
  });
  const errors = [];
  context.on('page', (p) => watchErrors(p, errors));
  for (const p of context.pages()) watchErrors(p, errors);
  return {
    server,
    context,
    errors,
    async close() {
      await context.close().catch(() => {});
      await server.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

function watchErrors(page, errors) {
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // A 404 is expected in the missing-bundle test; everything else is a bug.
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(`console: ${m.text()}`);
  });
}

/**
 * Opens a page of the demo and waits until it has loaded its model (body[data-ready]).
 * Fails with the page's message panel when it shows one. `viewport`: `{ width, height }`
 * (default 1280×900).
 */
export async function open(env, path, { expectError = false, timeout = 120_000, viewport } = {}) {
  const page = await env.context.newPage();
  if (viewport) await page.setViewportSize(viewport);
  await page.goto(new URL(path, env.server.url).href);
  await page.waitForSelector('body[data-ready]', { timeout });
  const ready = await page.getAttribute('body', 'data-ready');
  if (!expectError && ready !== 'true') {
    const msg = await page.textContent('#fatal').catch(() => '');
    assert.fail(`${path} did not load: ${msg}`);
  }
  return page;
}

export async function screenshot(page, name, options = {}) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), ...options });
}

/** The item ids of the cards in a list (`#rail`, `#grid`), in order. */
export function ids(page, list) {
  return page.$$eval(`${list} [data-item]`, (els) => els.map((e) => e.dataset.item));
}

/** Runs `fn` and waits for the recommendation rail to be recomputed after it. */
export async function railUpdate(page, fn) {
  const before = Number((await page.getAttribute('#rail', 'data-updates')) ?? 0);
  await fn();
  await page.waitForFunction((n) => Number(document.querySelector('#rail').dataset.updates ?? 0) > n && document.querySelector('#rail').getAttribute('aria-busy') === 'false', before);
}

/** Polls `fn` (async) until it returns something truthy; fails after `timeout` ms. */
export async function until(fn, { timeout = 30_000, what = 'the condition' } = {}) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
