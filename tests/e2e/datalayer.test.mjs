// End-to-end test of the demo storefront's GA4 tagging: the shop pushes its shopper actions to
// `window.dataLayer` as GA4 e-commerce events and localrec's connectDataLayer tracks them, so
// an event pushed by any other script on the page (a tag manager, a consent tool, the site's
// own analytics code) changes the recommendations as the shop's own actions do, once.
//
// Runs in its own browser profile, so the shop starts with a new shopper.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, ids, railUpdate, demoConfig } from './helpers.mjs';

const T = { timeout: 120_000 };
const SHOP = 'index.html?device=cpu';
let env;

before(async () => {
  await demoConfig();
  env = await launch();
});

after(async () => {
  await env?.close();
});

const history = (page) => page.evaluate(async () => (await window.shop.rec.history()).map((e) => [e.type, e.item ?? e.query]));

test('a GA4 add_to_cart pushed to window.dataLayer changes the rail and is in the history', T, async () => {
  const page = await open(env, SHOP);
  assert.equal(await page.textContent('#rail-title'), 'Popular right now');
  assert.deepEqual(await history(page), []);
  const cold = await ids(page, '#rail');
  // A film the shopper has not seen, not among the popular ones shown.
  const film = await page.evaluate((shown) => window.shop.items.find((it) => !shown.includes(it.id) && it.popularity > 50).id, cold);

  await railUpdate(page, () =>
    page.evaluate((id) => {
      window.dataLayer.push({ event: 'gtm.js', 'gtm.start': Date.now() }); // not e-commerce: ignored
      window.dataLayer.push({ event: 'add_to_cart', ecommerce: { currency: 'USD', items: [{ item_id: id, quantity: 1 }] } });
    }, film),
  );
  assert.equal(await page.textContent('#rail-title'), 'Recommended for you');
  const warm = await ids(page, '#rail');
  assert.equal(warm.length, cold.length);
  assert.notDeepEqual(warm, cold, 'the rail changed after the pushed event');
  assert.ok(!warm.includes(film), 'the carted film is not recommended back');
  assert.deepEqual(await history(page), [['cart', film]]);
  assert.match(await page.textContent('#rail-sub'), /From your 1 event,/);

  // The shop's own actions go through the dataLayer too, and are tracked once each.
  const second = warm[0];
  await railUpdate(page, () => page.click(`#rail [data-item="${second}"]`));
  await page.waitForSelector('#item-dialog[open]');
  await railUpdate(page, () => page.click('#item-cart'));
  const pushed = await page.evaluate(() => window.dataLayer.filter((e) => e.ecommerce?.items).map((e) => [e.event, e.ecommerce.items.map((i) => i.item_id)]));
  assert.deepEqual(pushed, [
    ['add_to_cart', [film]],
    ['view_item', [second]],
    ['add_to_cart', [second]],
  ]);
  assert.deepEqual(await history(page), [
    ['cart', film],
    ['view', second],
    ['cart', second],
  ]);
  await page.close();
});

test('a reload tracks nothing again (the new page has a new dataLayer), and forget empties the history', T, async () => {
  const page = await open(env, SHOP);
  assert.equal((await history(page)).length, 3);
  await page.evaluate(() => window.shop.rec.forget());
  assert.deepEqual(await history(page), []);
  await page.close();
});

test('no errors in the page console', () => {
  assert.deepEqual(env.errors, []);
});
