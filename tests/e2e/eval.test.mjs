// End-to-end tests of the evaluation page (www/eval.html): the full-ranking evaluation runs in
// the browser and agrees with the native CLI's report; the charts and the side-by-side
// comparison render; the simulated shopper replays a held-out user in its own namespace.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { launch, open, screenshot, demoConfig, GENERATED, ARTIFACTS } from './helpers.mjs';

let env, cfg, page;

before(async () => {
  cfg = await demoConfig();
  env = await launch();
});

after(async () => {
  await env?.close();
});

test('the evaluation finishes and its NDCG@10 equals the native CLI report to 4 decimals', { timeout: 200_000 }, async () => {
  const model = cfg.models[0];
  assert.ok(model.reference, 'demo.json names the native report of the first model');
  const reference = JSON.parse(await readFile(join(GENERATED, model.reference), 'utf8'));

  page = await open(env, 'eval.html?device=cpu');
  // Only the first model, to keep the test short.
  for (const box of await page.$$('#model-list input[type=checkbox]')) {
    if ((await box.getAttribute('value')) !== model.name) await box.uncheck();
  }
  await page.click('#run');
  await page.waitForSelector('body[data-eval-done=true]', { timeout: 180_000 });
  const parity = await page.waitForSelector(`.parity[data-model="${model.name}"]`);
  const browser = Number(await parity.getAttribute('data-browser'));
  const native = Number(await parity.getAttribute('data-native'));
  assert.equal(native, reference.metrics['ndcg@10']);
  assert.equal(browser.toFixed(4), reference.metrics['ndcg@10'].toFixed(4), `browser ${browser} vs native ${native}`);
  assert.equal(await parity.getAttribute('data-same'), 'true');
  assert.equal(await page.getAttribute(`.progress-row[data-model="${model.name}"]`, 'data-state'), 'done');

  // The metrics table, the charts and the comparison (browser run vs native report).
  const run = `browser:${model.name}`;
  const cell = await page.textContent(`table[data-run="${run}"] td[data-metric="ndcg@10"]`);
  assert.equal(cell, reference.metrics['ndcg@10'].toFixed(4));
  assert.ok((await page.$$('#charts svg.chart')).length >= 3, 'metric@K, by length and drift charts');
  assert.ok(await page.isVisible('#compare'));
  assert.ok((await page.$$('#compare-body svg.chart')).length === 1);
  assert.ok((await page.$$('#compare-body tbody tr')).length >= 4);
  await page.selectOption('#chart-metric', 'hr');
  assert.match(await page.textContent('#charts'), /Hit rate \(HR\)@K/);
  await screenshot(page, '12-evaluation', { fullPage: true });
});

test('the simulated shopper replays a held-out user and shows the rank of the next item', { timeout: 120_000 }, async () => {
  await page.selectOption('#sim-speed', '0');
  await page.fill('#sim-steps', '8');
  await page.click('#sim-start');
  await page.waitForSelector('body[data-sim-done=true]', { timeout: 100_000 });
  const ranks = await page.evaluate(() => document.querySelector('#sim-stats').textContent);
  assert.match(ranks, /8 \/ 8steps/);
  assert.equal((await page.$$('#sim-top li')).length, 10);
  assert.match(await page.textContent('#sim-now'), /held-out test film/);
  assert.match(await page.textContent('#sim-rank'), /^(#[\d,]+|> [\d,]+|already seen)$/);
  assert.ok(await page.$('#sim-chart svg.chart'));
  // It ran in its own namespace, emptied first: exactly the replayed events are stored there.
  const stored = await page.evaluate(async () => {
    const rec = await [...window.evalPage.recs.values()][0];
    return { ns: rec.namespace, n: (await rec.history()).length };
  });
  assert.deepEqual(stored, { ns: `demo-sim:${cfg.models[0].name}`, n: 8 });
  await page.locator('#sim').screenshot({ path: join(ARTIFACTS, '13-simulated-shopper.png') });
  // Restarting empties the namespace again.
  await page.click('#sim-start');
  await page.waitForFunction(() => !document.querySelector('#sim-start').disabled);
  // Stop the replay if it is still running: at speed 0 its 8 steps may already be over (Pause is
  // then disabled), so check and click in one step inside the page rather than racing it.
  await page.evaluate(() => {
    const pause = document.querySelector('#sim-pause');
    if (!pause.disabled) pause.click();
  });
});

test('no errors in any page console', () => {
  assert.deepEqual(env.errors, []);
});
