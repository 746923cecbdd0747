// End-to-end tests of the demo storefront (www/index.html) in headless Chromium: a shopper
// browses, views, adds to the cart and buys; the recommendations follow, with explanations;
// history survives a reload and goes with "forget"; search results are re-ranked on the
// device; the privacy panel shows every network request; WebGPU runs when the browser has it.
//
// The tests share one browser profile and run in order (each builds on the previous one's
// stored events). Most use ?device=cpu: WebGPU here is SwiftShader, a slow software renderer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { launch, open, screenshot, ids, railUpdate, until, demoConfig, ARTIFACTS, GENERATED } from './helpers.mjs';

const T = { timeout: 120_000 };
const SHOP = 'index.html?device=cpu';
let env, cfg;

before(async () => {
  cfg = await demoConfig();
  env = await launch();
});

after(async () => {
  await env?.close();
});

test('a new shopper sees "Popular right now", the backend badge and the latency', T, async () => {
  const page = await open(env, SHOP);
  assert.equal(await page.textContent('#rail-title'), 'Popular right now');
  assert.equal(await page.getAttribute('#rail-section', 'data-state'), 'popular');
  const rail = await ids(page, '#rail');
  assert.equal(rail.length, 12);
  const reasons = await page.$$eval('#rail .reason', (els) => els.map((e) => e.textContent));
  assert.ok(reasons.every((r) => r.length > 0), 'every popular item says why');
  assert.equal(await page.getAttribute('#backend-badge', 'data-backend'), 'cpu');
  assert.equal(await page.textContent('#backend-name'), 'CPU');
  assert.match(await page.textContent('#latency'), /^\d+(\.\d)? ms$/);
  // The catalogue grid, its genre filter and the network counter are there.
  assert.ok((await ids(page, '#grid')).length >= 24);
  assert.ok((await page.$$('#genres .chip')).length > 5);
  assert.ok(Number(await page.textContent('#net-count')) >= 5);
  await screenshot(page, '01-new-shopper');
  await page.close();
});

test('browse → view → cart → purchase: the rail changes, with "because you viewed" reasons', T, async () => {
  const page = await open(env, SHOP);
  const cold = await ids(page, '#rail');

  // Browse: filter a genre, then open a film from the grid with the keyboard.
  await page.click('#genres .chip[data-category="Sci-Fi"]');
  await page.waitForFunction(() => document.querySelector('#results-title').textContent === 'Sci-Fi' && document.querySelector('#grid').getAttribute('aria-busy') === 'false');
  const film = (await ids(page, '#grid'))[0];
  const t0 = Date.now();
  await railUpdate(page, async () => {
    await page.focus(`#grid [data-item="${film}"] .card-link`);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#item-dialog[open]');
  });
  const firstRecsMs = Date.now() - t0;
  assert.equal(new URL(page.url()).hash, `#/item/${encodeURIComponent(film)}`);
  assert.equal(await page.textContent('#rail-title'), 'Recommended for you');
  const viewed = await ids(page, '#rail');
  assert.notDeepEqual(viewed, cold, 'the rail changed after one view');
  assert.ok(!viewed.includes(film), 'the film just viewed is not recommended back');
  const reasons = await page.$$eval('#rail .reason', (els) => els.map((e) => e.textContent));
  assert.ok(reasons.some((r) => /^Because you viewed “.+”$/.test(r)), `explanations: ${reasons.join(' | ')}`);
  // The product page shows the fresh recommendations too.
  await page.waitForFunction(() => document.querySelectorAll('#item-recs [data-item]').length > 0);
  await screenshot(page, '02-product-page');
  console.log(`# first personalised recommendations ${firstRecsMs} ms after the click (incl. the dialog)`);

  // Add to the cart, then buy another film.
  await railUpdate(page, () => page.click('#item-cart'));
  assert.equal(await page.textContent('#cart-count'), '1');
  assert.equal(await page.isDisabled('#item-cart'), true);
  await page.keyboard.press('Escape');
  await page.waitForFunction(() => !document.querySelector('#item-dialog').open);
  // Closing goes back in history (`history.back()`), which moves the URL asynchronously: wait
  // for it (up to the default timeout) rather than reading the URL at once.
  await page.waitForFunction(() => !/^#\/item\//.test(location.hash), null, { timeout: 5000 }).catch(() => {});
  assert.ok(!/^#\/item\//.test(new URL(page.url()).hash), 'closing the product page leaves its route');

  const second = (await ids(page, '#rail'))[0];
  await railUpdate(page, () => page.click(`#rail [data-item="${second}"]`));
  await page.waitForSelector('#item-dialog[open]');
  await railUpdate(page, () => page.click('#item-buy'));
  await page.keyboard.press('Escape');

  // Check out the cart.
  await page.click('#open-cart');
  await page.waitForSelector('#cart-dialog[open] .cart-line');
  await screenshot(page, '03-cart');
  await railUpdate(page, () => page.click('#checkout'));
  assert.equal(await page.textContent('#cart-count'), '0');
  await page.keyboard.press('Escape');

  const history = await page.evaluate(() => window.shop.rec.history());
  assert.deepEqual(
    history.map((e) => [e.type, e.item]),
    [
      ['view', film],
      ['cart', film],
      ['view', second],
      ['purchase', second],
      ['purchase', film],
    ],
  );
  const after = await ids(page, '#rail');
  assert.ok(![film, second].some((x) => after.includes(x)), 'bought films are not recommended again');
  const sub = await page.textContent('#rail-sub');
  assert.match(sub, /From your 5 events/);
  await screenshot(page, '04-recommended-for-you');
  await page.close();
});

test('a reload keeps the history and the personal rail', T, async () => {
  const page = await open(env, SHOP);
  assert.equal(await page.textContent('#rail-title'), 'Recommended for you');
  const history = await page.evaluate(() => window.shop.rec.history());
  assert.equal(history.length, 5);
  assert.ok(history.every((e) => e.saved));
  await page.close();

  // A product route opened directly works too (and records a view).
  const direct = await open(env, `${SHOP}#/item/${encodeURIComponent(history[0].item)}`);
  await direct.waitForSelector('#item-dialog[open]');
  assert.equal(await direct.textContent('#item-title'), await direct.evaluate((id) => window.shop.byId.get(id).title, history[0].item));
  await until(async () => (await direct.evaluate(() => window.shop.rec.history())).length === 6, { what: 'the view of the product page' });
  await direct.keyboard.press('Escape');
  await direct.waitForFunction(() => !document.querySelector('#item-dialog').open && location.hash === '#/');
  await direct.close();
});

test('search results are re-ranked on the device, and the toggle shows the plain order', T, async () => {
  const page = await open(env, SHOP);
  await page.fill('#q', 'the');
  await page.press('#q', 'Enter');
  await page.waitForFunction(() => document.querySelector('#grid').dataset.order === 'personal' && document.querySelector('#grid').getAttribute('aria-busy') === 'false' && /ordered for you/.test(document.querySelector('#results-count').textContent));
  const personal = (await ids(page, '#grid')).slice(0, 24);
  assert.ok((await page.$$('#grid .rank-note')).length > 0, 'moved results say where they came from');
  await screenshot(page, '05-search-personal');

  await page.click('#personal-wrap'); // the switch
  await page.waitForFunction(() => document.querySelector('#grid').dataset.order === 'plain');
  const plain = (await ids(page, '#grid')).slice(0, 24);
  assert.notDeepEqual(personal, plain, 'the personalised order differs from the plain one');
  // The plain order is the text-match order, the same with or without history.
  const expected = await page.evaluate(() => {
    const q = 'the';
    return window.shop.items
      .filter((it) => it.search.includes(q))
      .map((it) => ({ id: it.id, s: it.title.toLowerCase().startsWith(q) ? 3 : it.title.toLowerCase().includes(q) ? 2 : 1, p: it.popularity }))
      .sort((a, b) => b.s - a.s || b.p - a.p)
      .slice(0, 24)
      .map((x) => x.id);
  });
  assert.deepEqual(plain, expected);
  assert.equal((await page.$$('#grid .rank-note')).length, 0);
  await screenshot(page, '06-search-plain');

  // The search was recorded as an event (once, not per keystroke).
  const searches = (await page.evaluate(() => window.shop.rec.history())).filter((e) => e.type === 'search');
  assert.deepEqual(searches.map((e) => e.query), ['the']);
  await page.close();
});

test('privacy panel: stored events, JSON export, network requests without behaviour, forget', T, async () => {
  const page = await open(env, SHOP);
  await page.click('#open-privacy');
  await page.waitForSelector('#privacy-dialog[open] #events-table');
  const stored = await page.evaluate(() => window.shop.rec.history());
  assert.equal(await page.$$eval('#events-table tbody tr', (r) => r.length), stored.length);
  assert.match(await page.textContent('#net-verdict'), /none of them carries your activity/);
  await screenshot(page, '07-privacy');

  // Export: a JSON download with exactly the stored events.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-json')]);
  const file = join(ARTIFACTS, 'exported-events.json');
  await download.saveAs(file);
  const exported = JSON.parse(await readFile(file, 'utf8'));
  assert.deepEqual(exported.events, stored);
  assert.equal(exported.namespace, `shop:${cfg.models[0].name}`);

  // Every request the server saw was a GET of a static file; none carried a query string
  // or an item id except the page's own ?device=cpu.
  const reqs = env.server.requests;
  const itemIds = new Set(stored.map((e) => e.item).filter(Boolean));
  for (const r of reqs) {
    assert.ok(r.startsWith('/'), `only GET/HEAD requests: ${r}`);
    const u = new URL(r, 'http://x');
    assert.ok(u.search === '' || u.pathname === '/index.html', `no query strings: ${r}`);
    assert.match(u.pathname, /\.(html|js|css|json|wasm|lrec)$/, `static files only: ${r}`);
    for (const id of itemIds) assert.ok(!u.pathname.split('/').includes(id), `no item ids in ${r}`);
  }
  await writeFile(join(ARTIFACTS, 'server-requests.json'), JSON.stringify(reqs, null, 2));

  // Forget everything (two steps), the panel, the rail and the cart follow.
  await page.click('#forget');
  await railUpdate(page, () => page.click('#forget-confirm'));
  await page.waitForFunction(() => document.querySelector('#event-count')?.textContent === '0 events');
  assert.deepEqual(await page.evaluate(() => window.shop.rec.history()), []);
  await screenshot(page, '08-forgotten');
  await page.keyboard.press('Escape');
  assert.equal(await page.textContent('#rail-title'), 'Popular right now');
  await page.reload();
  await page.waitForSelector('body[data-ready=true]');
  assert.equal(await page.textContent('#rail-title'), 'Popular right now');
  assert.deepEqual(await page.evaluate(() => window.shop.rec.history()), []);
  await page.close();
});

test('a missing bundle shows what to do, not a raw error', T, async () => {
  const page = await open(env, 'index.html?device=cpu&bundle=generated/no-such-model.lrec', { expectError: true });
  assert.equal(await page.getAttribute('body', 'data-ready'), 'error');
  const text = await page.textContent('#fatal');
  assert.match(text, /could not be downloaded/);
  assert.match(text, /cargo run --release --features cli -- start/);
  await screenshot(page, '09-missing-bundle');
  await page.close();
});

test('"Change model" loads another bundle from a file or a URL, each with its own history', T, async () => {
  const page = await open(env, SHOP);
  const file = cfg.models[0].file;
  await page.click('#open-model');
  await page.waitForSelector('#model-dialog[open] #bundle-file');
  await page.setInputFiles('#bundle-file', join(GENERATED, file));
  await page.waitForFunction(() => !document.querySelector('#model-dialog').open, null, { timeout: 60_000 });
  assert.equal(await page.evaluate(() => window.shop.rec.namespace), `shop:file:${file}`);
  assert.match(await page.textContent('#model-info'), new RegExp(`Model: ${file.replace(/[.]/g, '\\.')}`));
  assert.equal(await page.textContent('#rail-title'), 'Popular right now');
  assert.ok((await ids(page, '#grid')).length > 0);

  await page.click('#open-model');
  await page.fill('#bundle-url', `generated/${file}`);
  await page.press('#bundle-url', 'Enter');
  await page.waitForFunction(() => !document.querySelector('#model-dialog').open, null, { timeout: 60_000 });
  assert.equal(await page.evaluate(() => window.shop.rec.namespace), `shop:url:generated/${file}`);
  assert.match(page.url(), /[?&]bundle=generated%2F/);
  // A bad URL leaves the current model running and says why.
  await page.click('#open-model');
  await page.fill('#bundle-url', 'generated/nothing-here.lrec');
  await page.press('#bundle-url', 'Enter');
  await page.waitForFunction(() => /could not be downloaded/.test(document.querySelector('#model-status').textContent));
  assert.equal(await page.evaluate(() => window.shop.rec.namespace), `shop:url:generated/${file}`);
  await screenshot(page, '10-change-model');
  await page.close();
});

test('WebGPU: with device auto the badge shows the backend that ran', { timeout: 240_000 }, async () => {
  const page = await open(env, 'index.html', { timeout: 200_000 });
  const hasGpu = await page.evaluate(() => 'gpu' in navigator);
  const backend = await page.getAttribute('#backend-badge', 'data-backend');
  const title = await page.getAttribute('#backend-badge', 'title');
  if (hasGpu) {
    assert.equal(backend, 'webgpu', `fell back to the CPU: ${title}`);
    assert.equal(await page.textContent('#backend-name'), 'WebGPU');
    assert.match(title, /Running on WebGPU/);
  } else {
    assert.equal(backend, 'cpu');
    assert.match(title, /Running on the CPU \(WebAssembly\): \S/, 'the fallback reason is the tooltip');
  }
  const film = (await ids(page, '#grid'))[0];
  await railUpdate(page, () => page.click(`#grid [data-item="${film}"] .card-link`));
  assert.equal(await page.textContent('#rail-title'), 'Recommended for you');
  assert.match(await page.textContent('#latency'), /\d (ms|s)$/);
  await screenshot(page, '11-webgpu');
  await page.evaluate(() => window.shop.rec.forget());
  await page.close();
});

test('no errors in any page console', () => {
  assert.deepEqual(env.errors, []);
});
