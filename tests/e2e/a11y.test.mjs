// Accessibility checks of the demo pages in headless Chromium: axe-core's WCAG 2 A and AA
// rules find no violation on the shop (www/index.html, also with its privacy panel open) or the evaluation page (www/eval.html,
// also with the baselines' results shown), and on a phone (390×844) every control of the header is on the screen.
//
// Runs in its own browser profile, so the shop shows a new shopper ("Popular right now").
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { launch, open, screenshot, demoConfig } from './helpers.mjs';

const require = createRequire(import.meta.url);
const AXE = require.resolve('axe-core/axe.min.js');
const PHONE = { width: 390, height: 844 };
const T = { timeout: 120_000 };
let env;

before(async () => {
  await demoConfig();
  env = await launch();
});

after(async () => {
  await env?.close();
});

/** axe-core's WCAG 2 A/AA violations on the page, one line per element. */
async function axeViolations(page) {
  await page.addScriptTag({ path: AXE });
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] } });
    return r.violations.map((v) => ({ id: v.id, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })) }));
  });
  return violations.flatMap((v) => v.nodes.map((n) => `${v.id} (${v.help}) at ${n.target}: ${n.summary.replace(/\s+/g, ' ')}`));
}

test('axe-core: no WCAG 2 A/AA violation on the shop', T, async () => {
  const page = await open(env, 'index.html?device=cpu');
  assert.deepEqual(await axeViolations(page), []);
  await page.close();
});

test('axe-core: no WCAG 2 A/AA violation in the open privacy panel (after a view, so its tables show)', T, async () => {
  const page = await open(env, 'index.html?device=cpu');
  const film = await page.$eval('#grid [data-item]', (e) => e.dataset.item);
  await page.click(`#grid [data-item="${film}"] .card-link`);
  await page.waitForSelector('#item-dialog[open]');
  await page.keyboard.press('Escape');
  await page.click('#open-privacy');
  await page.waitForSelector('#privacy-dialog[open] #events-table');
  assert.deepEqual(await axeViolations(page), []);
  await page.close();
});

test('axe-core: no WCAG 2 A/AA violation on the evaluation page', T, async () => {
  const page = await open(env, 'eval.html?device=cpu');
  assert.deepEqual(await axeViolations(page), []);
  await page.close();
});

test('axe-core: no WCAG 2 A/AA violation on the evaluation page with the baselines beside the models', T, async () => {
  const page = await open(env, 'eval.html?device=cpu');
  for (const box of await page.$$('#model-list input[type=checkbox]')) {
    if (!(await box.getAttribute('data-baseline'))) await box.uncheck();
  }
  await page.click('#run');
  await page.waitForSelector('body[data-eval-done=true]', { timeout: 100_000 });
  await page.waitForSelector('#summary-table tr[data-kind="baseline"]');
  await page.click('#metrics details.baseline-tables > summary');
  assert.deepEqual(await axeViolations(page), []);
  await page.close();
});

/** The header's links, buttons and inputs that are hidden or not wholly inside the viewport. */
async function headerControlsOffScreen(page) {
  const { width, height } = page.viewportSize();
  const controls = await page.$$('header a, header button, header input');
  assert.ok(controls.length >= 2, 'the header has controls');
  const off = [];
  for (const c of controls) {
    const name = await c.evaluate((e) => e.id || e.getAttribute('aria-label') || e.textContent.trim().replace(/\s+/g, ' '));
    const box = await c.boundingBox();
    if (!box || !(await c.isVisible())) off.push(`${name}: not shown`);
    else if (box.x < 0 || box.y < 0 || box.x + box.width > width + 0.5 || box.y + box.height > height + 0.5) {
      off.push(`${name}: at x ${box.x.toFixed(0)}..${(box.x + box.width).toFixed(0)}, y ${box.y.toFixed(0)}..${(box.y + box.height).toFixed(0)} (viewport ${width}×${height})`);
    }
  }
  return off;
}

test('on a 390 px wide phone every header control of both pages is inside the viewport', T, async () => {
  for (const [path, name] of [['index.html?device=cpu', '14-phone-shop'], ['eval.html?device=cpu', '15-phone-evaluation']]) {
    const page = await open(env, path, { viewport: PHONE });
    await screenshot(page, name);
    assert.deepEqual(await headerControlsOffScreen(page), [], path);
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth), `${path} does not scroll sideways`);
    await page.close();
  }
});

test('no errors in any page console', () => {
  assert.deepEqual(env.errors, []);
});
