// End-to-end test of the online metrics on the demo storefront: the shopper opens a film from
// the "Recommended for you" rail and buys it; `rec.stats()` attributes the view (a click) and
// the purchase to the list that showed the film, under the variant that made it, and
// `forget()` clears them with the events.
//
// Runs in its own browser profile, so the shop starts with a new shopper.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, ids, railUpdate, demoConfig } from './helpers.mjs';

const T = { timeout: 120_000 };
let env;

before(async () => {
  await demoConfig();
  env = await launch();
});

after(async () => {
  await env?.close();
});

test('a film clicked in the rail and bought: stats() counts the click and the purchase for the variant that showed it; forget() clears them', T, async () => {
  const page = await open(env, 'index.html?device=cpu');
  const before = await page.evaluate(async () => {
    const rec = window.shop.rec;
    // Count the lists the shop asks for from now on (each one is an impression set).
    window.lists = 0;
    const recommend = rec.recommend.bind(rec);
    rec.recommend = (...args) => (window.lists++, recommend(...args));
    return { variant: rec.variant, stats: await rec.stats() };
  });
  const shown = before.stats.variants[before.variant]?.impressionSets ?? 0;
  assert.ok(shown >= 1, 'the cold-start rail is a list shown');
  const rail = await ids(page, '#rail');
  const film = rail[0];

  await railUpdate(page, () => page.click(`#rail [data-item="${film}"]`));
  await page.waitForSelector('#item-dialog[open]');
  await railUpdate(page, () => page.click('#item-buy'));
  await page.keyboard.press('Escape');

  const after = await page.evaluate(async () => ({
    stats: await window.shop.rec.stats(),
    lists: window.lists,
    history: (await window.shop.rec.history()).map((e) => [e.type, e.item]),
  }));
  assert.deepEqual(after.history, [
    ['view', film],
    ['purchase', film],
  ]);
  assert.deepEqual(Object.keys(after.stats.variants), [before.variant], 'only the variant that showed the lists');
  const m = after.stats.variants[before.variant];
  assert.equal(m.impressionSets, shown + after.lists, 'every list the shop asked for, and no other');
  assert.equal(m.clicks, 1, 'the view of the film from the rail');
  assert.equal(m.purchases, 1, 'the purchase after it');
  assert.equal(m.carts, 0);
  assert.equal(m.mrr, 1, 'clicked in the first slot');
  assert.ok(m.hits >= 1 && m.judged >= 1, 'the rail that showed the film was followed by its view: a hit');

  // The quality page shows the same session beside the model's offline figures.
  const quality = await open(env, 'eval.html?device=cpu');
  const row = await quality.waitForSelector(`#session-table tr[data-model="${before.variant}"]`, { timeout: 60_000 });
  const cells = await row.$$eval('td', (tds) => tds.map((td) => td.textContent));
  assert.deepEqual(cells.slice(0, 4), [String(m.impressionSets), '1', '0', '1'], 'lists shown, clicks, carts, purchases');
  await quality.close();

  await page.evaluate(() => window.shop.rec.forget());
  const cleared = await page.evaluate(() => window.shop.rec.stats());
  assert.deepEqual(cleared.variants, {}, 'forget() clears the impressions too');
  await page.close();
});

test('no errors in the page console', () => {
  assert.deepEqual(env.errors, []);
});
