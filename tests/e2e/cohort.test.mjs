// End-to-end test of the quality page's cohort replay: 500 held-out ml-100k shoppers, each
// replayed through the browser package as a fresh device once per demo model (the variants),
// give an online hit rate per variant from `rec.stats()`; the variants rank as the offline
// evaluation (the native CLI's reports) ranks them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { launch, open, screenshot, demoConfig, GENERATED } from './helpers.mjs';

let env, cfg;

before(async () => {
  cfg = await demoConfig();
  env = await launch();
});

after(async () => {
  await env?.close();
});

test('the cohort replay of 500 held-out shoppers reports an online hit rate per variant, ranked as offline', { timeout: 600_000 }, async () => {
  assert.ok(cfg.models.length >= 2, 'the demo has two models');
  const page = await open(env, 'eval.html?device=cpu');
  await page.waitForSelector('#cohort-run:not([disabled])');
  await page.fill('#cohort-size', '500');
  await page.click('#cohort-run');
  await page.waitForSelector('#cohort-agree', { timeout: 540_000 });
  await screenshot(page, 'eval-cohort');
  const rows = await page.$$eval('#cohort-table tbody tr', (trs) => trs.map((tr) => ({ ...tr.dataset })));
  assert.equal(rows.length, 2);
  const offline = {};
  for (const m of cfg.models.slice(0, 2)) {
    offline[m.name] = JSON.parse(await readFile(join(GENERATED, m.reference), 'utf8')).metrics['ndcg@10'];
  }
  for (const r of rows) {
    assert.equal(Number(r.judged), 500, `${r.model}: every shopper's next film was judged`);
    const rate = Number(r.hitRate);
    assert.ok(rate > 0 && rate < 1, `${r.model}: hit rate ${rate}`);
    assert.equal(Number(r.hits) / 500, rate);
    assert.equal(Number(r.ndcg), offline[r.model], 'the offline figure is the native report');
  }
  const rank = (key) => [...rows].sort((a, b) => key(b) - key(a)).map((r) => r.model);
  assert.deepEqual(rank((r) => Number(r.hitRate)), rank((r) => offline[r.model]), 'online and offline rank the variants alike');
  assert.equal(await page.getAttribute('#cohort-agree', 'data-agree'), 'true');
  await page.close();
});

test('no errors in any page console', () => {
  assert.deepEqual(env.errors, []);
});
