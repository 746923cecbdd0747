// Browser tests of the npm package in pkg/, in headless Chromium (Debian's /usr/bin/chromium),
// driven by playwright-core. Needs pkg/ (src/web/npm/build.sh) and the fixtures
// (cargo run --example web_fixture -- tests/browser/generated). .ci/run does all of it.
//
// WebGPU runs on SwiftShader here (`--enable-unsafe-webgpu`): correct, slow.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startServer, FIXTURES } from './server.mjs';

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
const TOL = 1e-4;
const T = { timeout: 240_000 };

let server, profile, context, expected, bundleBytes;

before(async () => {
  expected = JSON.parse(await readFile(join(FIXTURES, 'expected.json'), 'utf8'));
  bundleBytes = await readFile(join(FIXTURES, 'fixture.lrec'));
  server = await startServer();
  profile = await mkdtemp(join(tmpdir(), 'localrec-chromium-'));
  context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS });
});

after(async () => {
  await context?.close();
  await server?.close();
  if (profile) await rm(profile, { recursive: true, force: true });
});

const consoleErrors = [];

async function openPage() {
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  await page.goto(`${server.url}/index.html`);
  await page.waitForFunction(() => window.testReady === true);
  return page;
}

/** Loads the fixture bundle into `window.recs[name]`; returns what the recommender reports. */
async function load(page, name, options) {
  return page.evaluate(
    async ({ name, options }) => {
      const phases = [];
      window.recs ??= {};
      const rec = await localrec.Recommender.load('/fixtures/fixture.lrec', {
        // The fixtures' events are dated from 2026-01-01 on, and most tests date theirs near
        // 1970: no age limit unless a test sets one (the retention test does).
        maxAgeDays: Infinity,
        ...options,
        onProgress: (p) => phases.push(p),
      });
      window.recs[name] = rec;
      return { backend: rec.backend, reason: rec.fallbackReason, adapter: rec.adapter, info: rec.info, ns: rec.namespace, phases };
    },
    { name, options },
  );
}

/** Runs `body(rec, arg)` in the page against `window.recs[name]`. */
function onRec(page, name, body, arg) {
  return page.evaluate(
    async ({ name, src, arg }) => {
      const fn = new Function('rec', 'arg', `return (${src})(rec, arg);`);
      return fn(window.recs[name], arg);
    },
    { name, src: body.toString(), arg },
  );
}

/** Like onRec, but returns { ok } or { error } (see pages/index.html). */
function attempt(page, name, body, arg) {
  return page.evaluate(
    async ({ name, src, arg }) => {
      const fn = new Function('rec', 'arg', 'localrec', `return (${src})(rec, arg, localrec);`);
      return window.attempt(() => fn(window.recs?.[name], arg, window.localrec));
    },
    { name, src: body.toString(), arg },
  );
}

/** A list of results without their `recommendationId` (each list has its own). */
const withoutIds = (list) => list.map(({ recommendationId, ...rest }) => rest);

function assertSameTop(got, want, what) {
  assert.deepEqual(
    got.map((r) => r.item),
    want.map((r) => r.item),
    `${what}: same items in the same order`,
  );
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i].score - want[i].score);
    assert.ok(d <= TOL, `${what}: ${want[i].item} scores ${got[i].score} here, ${want[i].score} natively (|d| = ${d})`);
  }
}

test('loads on the CPU when asked, and reports what it loaded', T, async () => {
  const page = await openPage();
  const r = await load(page, 'cpu', { device: 'cpu', namespace: 'load-cpu' });
  assert.equal(r.backend, 'cpu');
  assert.equal(r.reason, undefined);
  assert.equal(r.adapter, undefined);
  assert.equal(r.ns, 'load-cpu');
  assert.equal(r.info.encoder, 'sasrec');
  assert.equal(r.info.items, expected.items);
  assert.equal(r.info.formatVersion, expected.formatVersion);
  const phases = r.phases.map((p) => p.phase);
  assert.deepEqual([...new Set(phases)], ['compile', 'download', 'parse', 'backend', 'model', 'warmup', 'ready'], 'the first load of a page compiles the module');
  const last = r.phases.filter((p) => p.phase === 'download').at(-1);
  assert.equal(last.loaded, bundleBytes.length);
  assert.equal(last.total, bundleBytes.length);
  await page.close();
});

test('auto uses WebGPU when the browser has it (one warm-up after init)', T, async () => {
  const page = await openPage();
  const r = await load(page, 'gpu', { namespace: 'load-auto' });
  assert.equal(r.backend, 'webgpu', `fell back: ${r.reason}`);
  assert.equal(r.reason, undefined);
  assert.match(r.adapter, /\S/);
  assert.equal(r.phases.filter((p) => p.phase === 'warmup').length, 1);
  // The bytes can be handed over directly too.
  const fromBytes = await page.evaluate(async () => {
    const buf = await (await fetch('/fixtures/fixture.lrec')).arrayBuffer();
    const a = await localrec.Recommender.load(buf, { device: 'cpu', namespace: 'bytes' });
    const b = await localrec.Recommender.load(new Uint8Array(buf), { device: 'cpu', namespace: 'bytes' });
    return [a.info.items, b.info.items];
  });
  assert.deepEqual(fromBytes, [expected.items, expected.items]);
  await page.close();
});

test('cold start recommends the bundle popularity', T, async () => {
  const page = await openPage();
  await load(page, 'cold', { device: 'cpu', namespace: 'cold' });
  const got = await onRec(page, 'cold', (rec) => rec.recommend({ k: 10, explain: true }));
  assertSameTop(got, expected.popular, 'cold start');
  assert.equal(got[0].reasons[0].kind, 'popular');
  await page.close();
});

test('track, recommend, rerank, history and forget', T, async () => {
  const page = await openPage();
  await load(page, 'api', { device: 'cpu', namespace: 'api' });
  const r = await onRec(page, 'api', async (rec) => {
    const out = {};
    await rec.forget();
    await rec.track({ item: 'item-0003', type: 'view', ts: 1000 });
    await rec.track({ type: 'search', query: 'red shoes', ts: 1500 });
    // Not awaited one by one: written in one batch, in order.
    await Promise.all([
      rec.track({ item: 'item-0017', type: 'cart', ts: 2000 }),
      rec.track([
        { item: 'item-0042', type: 'purchase', ts: 3000 },
        { item: 'item-0050', type: 'view' },
      ]),
    ]);
    out.history = await rec.history();
    out.top = await rec.recommend({ k: 5 });
    out.seenAllowed = await rec.recommend({ k: 300, excludeSeen: false });
    out.excluded = await rec.recommend({ k: 5, exclude: [out.top[0].item, 'not-an-item'] });
    out.toys = await rec.recommend({ k: 5, filter: { categories: ['toys'] } });
    let asked = 0;
    out.fn = await rec.recommend({ k: 3, filter: (it) => (asked++, it.item.endsWith('1')) });
    out.asked = asked;
    out.explained = await rec.recommend({ k: 5, explain: true });
    out.candidates = ['item-0100', 'item-0007', 'item-0250', 'item-0003'];
    out.reranked = await rec.rerank(out.candidates);
    out.rerank2 = await rec.rerank(out.candidates, { k: 2 });
    await rec.forget();
    out.afterForget = await rec.history();
    out.coldAgain = await rec.recommend({ k: 3 });
    return out;
  });
  const h = r.history;
  assert.equal(h.length, 5);
  assert.deepEqual(
    h.map((e) => [e.item, e.type]),
    [
      ['item-0003', 'view'],
      [undefined, 'search'],
      ['item-0017', 'cart'],
      ['item-0042', 'purchase'],
      ['item-0050', 'view'],
    ],
  );
  assert.equal(h[1].query, 'red shoes');
  assert.ok(h.every((e) => e.saved));
  assert.ok(h[4].ts > 1e12, 'ts defaults to Date.now()');

  const seen = new Set(['item-0003', 'item-0017', 'item-0042', 'item-0050']);
  assert.equal(r.top.length, 5);
  assert.ok(r.top.every((x) => !seen.has(x.item)), 'seen items are excluded by default');
  assert.ok(r.top.every((x, i) => i === 0 || r.top[i - 1].score >= x.score), 'best first');
  for (const x of r.top) {
    const k = Number(x.item.slice(5));
    assert.equal(x.title, k % 5 === 4 ? undefined : `Product ${k}`);
    assert.ok(Array.isArray(x.categories) && x.categories.length >= 1);
  }
  assert.ok(r.seenAllowed.some((x) => seen.has(x.item)));
  assert.ok(!r.excluded.some((x) => x.item === r.top[0].item));
  assert.deepEqual(
    r.excluded.slice(0, 4).map((x) => x.item),
    r.top.slice(1, 5).map((x) => x.item),
  );
  assert.ok(r.toys.length === 5 && r.toys.every((x) => x.categories.includes('toys')));
  assert.ok(r.fn.length === 3 && r.fn.every((x) => x.item.endsWith('1')));
  assert.ok(r.asked < 100, `the filter is asked lazily, in rank order (asked ${r.asked} times)`);
  for (const x of r.explained) {
    assert.ok(x.reasons.length >= 1);
    for (const why of x.reasons) {
      assert.ok(['similar', 'recent'].includes(why.kind));
      if (why.kind === 'similar') {
        assert.ok(seen.has(why.item));
        assert.match(why.text, /^Because you (viewed|bought|added to your cart) “.+”$/);
        assert.ok(why.similarity > 0 && why.similarity <= 1);
      }
    }
  }
  assert.ok(r.explained.some((x) => x.reasons[0].kind === 'similar'));
  assert.deepEqual(new Set(r.reranked.map((x) => x.item)), new Set(r.candidates));
  assert.ok(r.reranked.every((x, i) => i === 0 || r.reranked[i - 1].score >= x.score));
  assert.deepEqual(withoutIds(r.rerank2), withoutIds(r.reranked.slice(0, 2)));
  assert.notEqual(r.rerank2[0].recommendationId, r.reranked[0].recommendationId, 'each list has its own id');
  assert.deepEqual(r.afterForget, []);
  assertSameTop(r.coldAgain, expected.popular.slice(0, 3), 'after forget');
  await page.close();
});

test('GA4 and Segment e-commerce events: one event per product, list views store nothing', T, async () => {
  const page = await openPage();
  await load(page, 'ga4', { device: 'cpu', namespace: 'ga4' });
  const r = await onRec(page, 'ga4', async (rec) => {
    await rec.forget();
    const before = Date.now();
    await rec.track({ event: 'add_to_cart', ecommerce: { currency: 'USD', value: 20, items: [{ item_id: 'item-0003', item_name: 'Product 3', price: 10 }, { item_id: 'item-0007', quantity: 2 }] } });
    const cart = await rec.history();
    await rec.track({ event: 'view_item_list', ecommerce: { item_list_name: 'Related', items: [{ item_id: 'item-0010' }, { item_id: 'item-0011' }] } });
    const afterList = (await rec.history()).length;
    await rec.track([
      ['event', 'view_item', { items: [{ item_id: 'item-0020' }] }],
      { event: 'search', search_term: 'blue mug', ts: 5e12 / 2 },
      { event: 'Product Viewed', properties: { product_id: 'item-0030', name: 'x' } },
      { event: 'Order Completed', properties: { order_id: 'o1', products: [{ product_id: 'item-0003' }, { product_id: 'item-0007' }] } },
      { event: 'remove_from_cart', ecommerce: { items: [{ item_id: 'item-0007' }] } },
      { item: 'item-0040', type: 'view' },
    ]);
    const all = await rec.history();
    const recs = await rec.recommend({ k: 5 });
    await rec.forget();
    return { before, cart, afterList, all, recs };
  });
  assert.deepEqual(r.cart.map((e) => [e.type, e.item]), [['cart', 'item-0003'], ['cart', 'item-0007']]);
  assert.ok(r.cart.every((e) => e.ts >= r.before && e.saved), 'ts defaults to now');
  assert.equal(r.afterList, 2, 'view_item_list stores nothing');
  // The search has a later `ts` than the rest: history is oldest first.
  assert.deepEqual(
    r.all.map((e) => [e.type, e.item ?? e.query]),
    [
      ['cart', 'item-0003'],
      ['cart', 'item-0007'],
      ['view', 'item-0020'],
      ['view', 'item-0030'],
      ['purchase', 'item-0003'],
      ['purchase', 'item-0007'],
      ['view', 'item-0007'],
      ['view', 'item-0040'],
      ['search', 'blue mug'],
    ],
  );
  assert.equal(r.recs.length, 5);
  assert.ok(!r.recs.some((x) => ['item-0003', 'item-0007', 'item-0020'].includes(x.item)), 'tracked items count as seen');
  await page.close();
});

test('connectDataLayer: replays, follows pushes, ignores the rest, never throws, disconnects', T, async () => {
  const page = await openPage();
  await load(page, 'dl', { device: 'cpu', namespace: 'datalayer' });
  const r = await attempt(page, 'dl', async (rec, _arg, localrec) => {
    await rec.forget();
    const waitFor = async (ok) => {
      for (let i = 0; i < 200 && !(await ok()); i++) await new Promise((res) => setTimeout(res, 25));
    };
    const dataLayer = [
      { 'gtm.start': 1, event: 'gtm.js' },
      ['consent', 'default', { ad_storage: 'denied' }],
      { event: 'view_item', ecommerce: { items: [{ item_id: 'item-0001' }] } },
    ];
    const errors = [];
    const tracked = [];
    const disconnect = localrec.connectDataLayer(rec, { dataLayer, onError: (e, entry) => errors.push([e.code, e.message, entry.event]), onTrack: (entry) => tracked.push(entry.event ?? entry[1]) });
    await waitFor(async () => (await rec.history()).length === 1);
    const replayed = (await rec.history()).map((e) => [e.type, e.item]);
    const wrapped = dataLayer.push !== Array.prototype.push;

    // What sites push: gtag's `arguments`, a cleared ecommerce object, page views, GTM events.
    function gtag() { return dataLayer.push(arguments); }
    const n1 = dataLayer.push({ ecommerce: null });
    gtag('event', 'page_view', { page_title: 'Home' });
    gtag('event', 'add_to_cart', { items: [{ item_id: 'item-0002' }, { item_id: 'item-0003' }] });
    dataLayer.push({ event: 'gtm.click', 'gtm.element': document.body });
    dataLayer.push({ event: 'purchase', ecommerce: { transaction_id: 'T1', items: [{ item_id: 'item-0002' }] } }, { event: 'view_item_list', ecommerce: { items: [{ item_id: 'item-0009' }] } });
    // Bad pushes: the caller sees no exception, the push itself happens, onError is told.
    let threw = null;
    let length;
    try {
      dataLayer.push({ event: 'add_to_cart', ecommerce: { items: [{ item_name: 'no id' }] } });
      length = dataLayer.push({ event: 'view_item', ecommerce: { items: [{ item_id: ' ' }] } });
    } catch (e) {
      threw = String(e);
    }
    await waitFor(async () => (await rec.history()).length === 4 && errors.length === 2);
    const followed = (await rec.history()).map((e) => [e.type, e.item]);

    disconnect();
    const restored = dataLayer.push === Array.prototype.push && !Object.hasOwn(dataLayer, 'push');
    dataLayer.push({ event: 'view_item', ecommerce: { items: [{ item_id: 'item-0004' }] } });
    await new Promise((res) => setTimeout(res, 200));
    const afterDisconnect = (await rec.history()).length;

    // Without onError, errors go to console.warn, never to the caller.
    const warned = [];
    const warn = console.warn;
    console.warn = (...args) => warned.push(args.map(String).join(' '));
    const dl2 = [];
    const stop2 = localrec.connectDataLayer(rec, { dataLayer: dl2 });
    dl2.push({ event: 'add_to_cart', ecommerce: {} });
    await waitFor(async () => warned.length > 0);
    console.warn = warn;
    stop2();
    // A Segment-shaped push and replay: false.
    const dl3 = [{ event: 'Product Viewed', properties: { product_id: 'item-0005' } }];
    const stop3 = localrec.connectDataLayer(rec, { dataLayer: dl3, replay: false });
    dl3.push({ event: 'Product Added', properties: { product_id: 'item-0006' } });
    await waitFor(async () => (await rec.history()).length === 5);
    stop3();
    const last = (await rec.history()).slice(4).map((e) => [e.type, e.item]);
    const badArgs = [];
    for (const args of [[null], [rec, { dataLayer: 5 }], [rec, { onError: 'x' }]]) {
      try { localrec.connectDataLayer(...args); } catch (e) { badArgs.push(e instanceof TypeError); }
    }
    await rec.forget();
    return { replayed, wrapped, n1, length, threw, errors, tracked, followed, restored, afterDisconnect, entries: dataLayer.length, warned, last, badArgs };
  });
  assert.ok(r.ok, JSON.stringify(r.error));
  const o = r.ok;
  assert.deepEqual(o.replayed, [['view', 'item-0001']], 'the entries already there are replayed; gtm.js and consent are not');
  assert.ok(o.wrapped);
  assert.equal(o.n1, 4, 'push returns what the original returns (the new length)');
  assert.equal(o.threw, null, 'a bad push does not throw into the site');
  assert.equal(o.length, 11, 'every entry is pushed, bad ones too');
  assert.deepEqual(o.followed, [
    ['view', 'item-0001'],
    ['cart', 'item-0002'],
    ['cart', 'item-0003'],
    ['purchase', 'item-0002'],
  ]);
  assert.deepEqual(o.tracked, ['view_item', 'add_to_cart', 'purchase', 'view_item_list'], 'onTrack after each tracked entry');
  assert.equal(o.errors.length, 2);
  assert.deepEqual(o.errors.map((e) => e[0]), ['INVALID_INPUT', 'INVALID_INPUT']);
  assert.match(o.errors[0][1], /`ecommerce\.items\[0\]\.item_id`: missing/);
  assert.equal(o.errors[1][2], 'view_item');
  assert.ok(o.restored, 'disconnect restores the original push');
  assert.equal(o.afterDisconnect, 4, 'nothing is tracked after disconnect');
  assert.equal(o.entries, 12);
  assert.equal(o.warned.length, 1);
  assert.match(o.warned[0], /localrec: a dataLayer event could not be tracked/);
  assert.deepEqual(o.last, [['cart', 'item-0006']], 'replay: false skips what was there; Segment names are followed');
  assert.deepEqual(o.badArgs, [true, true, true]);
  await page.close();
});

test('browser (CPU and WebGPU) and native agree: same top-10, scores within 1e-4', T, async () => {
  const page = await openPage();
  for (const device of ['cpu', 'webgpu']) {
    const r = await load(page, device, { device, namespace: `parity-${device}` });
    assert.equal(r.backend, device);
    for (const c of expected.cases) {
      const got = await onRec(
        page,
        device,
        async (rec, c) => {
          await rec.forget();
          await rec.track(c.events);
          return {
            history: (await rec.history()).filter((e) => e.item).map((e) => e.item),
            top: await rec.recommend({ k: 10 }),
            rerank: await rec.rerank(c.candidates),
          };
        },
        { ...c, candidates: expected.candidates },
      );
      assertSameTop(got.top, c.top, `${device} / ${c.name}`);
      const want = new Map(c.rerank.map((x) => [x.item, x.score]));
      for (const x of got.rerank) {
        assert.ok(Math.abs(x.score - want.get(x.item)) <= TOL, `${device} / ${c.name}: rerank ${x.item}`);
      }
    }
  }
  await page.close();
});

test('a product-quantised bundle: the top-10 of the CPU module equals the native one; a damaged table is a BAD_BUNDLE', T, async () => {
  const page = await openPage();
  const c = expected.compressed;
  const info = await page.evaluate(async ({ url }) => {
    window.recs ??= {};
    const rec = await localrec.Recommender.load(url, { device: 'cpu', namespace: 'pq', maxAgeDays: Infinity });
    window.recs.pq = rec;
    return { backend: rec.backend, table: rec.info.itemTable };
  }, { url: `/fixtures/${c.bundle}` });
  assert.deepEqual(info, { backend: 'cpu', table: c.format });
  for (const want of c.cases) {
    const events = expected.cases.find((x) => x.name === want.name).events;
    const top = await onRec(page, 'pq', async (rec, events) => {
      await rec.forget();
      await rec.track(events);
      return rec.recommend({ k: 10 });
    }, events);
    assertSameTop(top, want.top, `pq / ${want.name}`);
  }
  for (const bad of c.bad) {
    const r = await attempt(page, 'pq', (_rec, url, localrec) => localrec.Recommender.load(url, { device: 'cpu', namespace: 'pq-bad' }), `/fixtures/${bad.bundle}`);
    assert.ok(r.error, `${bad.bundle} should be refused`);
    assert.equal(r.error.code, 'BAD_BUNDLE', `${bad.bundle}: ${r.error.message}`);
    assert.ok(r.error.message.includes(bad.problem), `${bad.bundle}: ${r.error.message} should name ${bad.problem}`);
  }
  await page.close();
});

test('a bundle trained with event kinds is served with them: browser (CPU and WebGPU) equals native', T, async () => {
  const page = await openPage();
  for (const device of ['cpu', 'webgpu']) {
    const r = await page.evaluate(
      async ({ device, cases }) => {
        const rec = await localrec.Recommender.load('/fixtures/fixture-kinds.lrec', { device, namespace: `kinds-${device}`, maxAgeDays: Infinity });
        const out = [];
        for (const c of cases) {
          await rec.forget();
          await rec.track(c.events);
          out.push(await rec.recommend({ k: 10 }));
        }
        const backend = rec.backend;
        rec.free();
        return { backend, out };
      },
      { device, cases: expected.cases },
    );
    assert.equal(r.backend, device);
    let differs = 0;
    for (const [i, want] of expected.kinds.cases.entries()) {
      assertSameTop(r.out[i], want.top, `${device} / ${want.name} with kinds`);
      const without = want.withoutKinds.map((x) => x.item);
      if (JSON.stringify(r.out[i].map((x) => x.item)) !== JSON.stringify(without)) differs++;
    }
    assert.equal(differs, expected.kinds.cases.length, 'scored with the kinds: not the ranking without them');
  }
  await page.close();
});

test('catalog() lists the bundle; evaluate() on CPU and WebGPU equals the native evaluation', T, async () => {
  const page = await openPage();
  await load(page, 'cpu', { device: 'cpu', namespace: 'eval-cpu' });
  const cat = await onRec(page, 'cpu', (rec) => rec.catalog());
  assert.equal(cat.length, expected.items);
  assert.deepEqual(cat[0], { item: 'item-0000', title: 'Product 0', categories: ['books', 'toys'], popularity: expected.items * 3, available: true, inModel: true });
  assert.equal(cat[4].title, undefined, 'item 4 has no title');
  const want = expected.evaluation;
  for (const name of ['cpu', 'gpu']) {
    if (name === 'gpu') await load(page, 'gpu', { device: 'webgpu', namespace: 'eval-gpu' });
    const r = await onRec(page, name, async (rec, url) => {
      const phases = [];
      const report = await rec.evaluate(url, { batchSize: 32, onProgress: (p) => phases.push(p) });
      return { report, phases, backend: rec.backend };
    }, `/fixtures/${want.dataset}`);
    assert.equal(r.report.cases, want.cases, `${name}: cases`);
    assert.equal(r.report.split, 'loo');
    assert.equal(r.report.protocol.full_ranking, true);
    for (const key of ['ndcg@10', 'hr@10', 'mrr@10', 'ndcg@50', 'recall@20']) {
      assert.ok(Math.abs(r.report.metrics[key] - want.metrics[key]) < 1e-9, `${name} ${key}: ${r.report.metrics[key]} here, ${want.metrics[key]} natively`);
    }
    assert.ok(r.report.metrics['ndcg@10'] > 0, 'a real figure');
    assert.deepEqual(r.report.ci95['ndcg@10'], want.ci95['ndcg@10'], `${name}: same bootstrap interval`);
    const scoring = r.phases.filter((p) => p.phase === 'scoring');
    assert.ok(scoring.length >= 2, `${name}: progress between batches (${scoring.length} reports)`);
    assert.equal(scoring.at(-1).done, scoring.at(-1).total);
    assert.equal(r.phases.at(-1).phase, 'done');
  }
  // A dataset that is not the model's, or not a dataset: a clear error, code BAD_DATASET.
  const bad = [
    [(t) => t.replace('"user-000"', '"someone-else"'), /is not the one the model was trained on/],
    [(t) => t.slice(0, t.length / 2), /not a valid localrec dataset file/],
    [(t) => t.replace('"items":[', '"items":[0,'), /not a valid localrec dataset file/],
  ];
  for (const [mutate, message] of bad) {
    const r = await attempt(page, 'cpu', async (rec, { url, src }) => {
      const text = await (await fetch(url)).text();
      const mutate = new Function(`return (${src})`)();
      return rec.evaluate(new TextEncoder().encode(mutate(text)));
    }, { url: `/fixtures/${want.dataset}`, src: mutate.toString() });
    assert.ok(r.error, `${message} should fail`);
    assert.equal(r.error.code, 'BAD_DATASET', r.error.message);
    assert.match(r.error.message, /^evaluate: /);
    assert.match(r.error.message, message);
  }
  const r = await attempt(page, 'cpu', (rec) => rec.evaluate('/fixtures/dataset.json', { ks: [0] }));
  assert.equal(r.error.code, 'INVALID_INPUT');
  assert.match(r.error.message, /`ks\[0\]` must be an integer from 1 to 1000/);
  await page.close();
});

test('Recommender.evaluateBaseline() fits each baseline in the page and equals the native evaluation', T, async () => {
  // A fresh page: the static method initialises the module itself.
  const page = await openPage();
  const url = `/fixtures/${expected.evaluation.dataset}`;
  assert.deepEqual(Object.keys(expected.baselines).sort(), ['itemknn', 'markov', 'pop']);
  const ndcg = [];
  for (const [name, want] of Object.entries(expected.baselines)) {
    const r = await page.evaluate(async ({ name, url }) => {
      const phases = [];
      const report = await localrec.Recommender.evaluateBaseline(name, url, { onProgress: (p) => phases.push(p) });
      return { report, phases };
    }, { name, url });
    assert.equal(r.report.model, name);
    assert.equal(r.report.cases, want.cases, `${name}: cases`);
    assert.equal(r.report.split, 'loo');
    assert.equal(r.report.protocol.full_ranking, true);
    assert.deepEqual(Object.keys(r.report.metrics).sort(), Object.keys(want.metrics).sort(), `${name}: the same metrics`);
    for (const [key, w] of Object.entries(want.metrics)) {
      assert.ok(Math.abs(r.report.metrics[key] - w) <= 1e-9, `${name} ${key}: ${r.report.metrics[key]} here, ${w} natively`);
    }
    assert.deepEqual(r.report.ci95, want.ci95, `${name}: the same bootstrap intervals`);
    assert.deepEqual([...new Set(r.phases.map((p) => p.phase))], ['parse', 'fit', 'scoring', 'metrics', 'done']);
    assert.deepEqual(r.phases.at(-1), { phase: 'done', done: want.cases, total: want.cases });
    ndcg.push(r.report.metrics['ndcg@10']);
  }
  assert.equal(new Set(ndcg).size, 3, `three different figures: ${ndcg}`);
  // The bytes can be handed over directly, with other cut-offs.
  const fromBytes = await page.evaluate(async (url) => {
    const buf = await (await fetch(url)).arrayBuffer();
    const r = await localrec.Recommender.evaluateBaseline('itemknn', new Uint8Array(buf), { ks: [10, 3] });
    return { ndcg10: r.metrics['ndcg@10'], ks: r.protocol.ks, has5: 'ndcg@5' in r.metrics };
  }, url);
  assert.equal(fromBytes.ndcg10, expected.baselines.itemknn.metrics['ndcg@10']);
  assert.deepEqual(fromBytes, { ndcg10: fromBytes.ndcg10, ks: [10, 3], has5: false });

  // Bad input: a clear error with its code, never a panic.
  const cases = [
    [['sasrec', url], 'INVALID_INPUT', /^Recommender\.evaluateBaseline: .*unknown baseline `sasrec` \(available: pop, markov, itemknn\)/],
    [[42, url], 'INVALID_INPUT', /^Recommender\.evaluateBaseline: `name` must be a string, got a number/],
    [[undefined, url], 'INVALID_INPUT', /the baseline's name is missing/],
    [['pop', url, { ks: [0] }], 'INVALID_INPUT', /`ks\[0\]` must be an integer from 1 to 1000/],
    [['pop', url, { split: 'sideways' }], 'INVALID_INPUT', /`split`/],
    [['pop', url, 'fast'], 'INVALID_INPUT', /the options must be an object/],
    [['pop', 12], 'INVALID_INPUT', /the dataset must be a URL string, an ArrayBuffer or a Uint8Array/],
    [['pop', '/fixtures/no-such-file.json'], 'NETWORK', /^Recommender\.evaluateBaseline: /],
    [['pop', new TextEncoder().encode('{"not":"a dataset"}')], 'BAD_DATASET', /not a valid localrec dataset file/],
  ];
  for (const [args, code, message] of cases) {
    // Typed arrays do not survive the trip into the page as such: send their text and rebuild them there.
    const sent = args.map((a) => (a instanceof Uint8Array ? { bytes: new TextDecoder().decode(a) } : a));
    const r = await attempt(page, 'none', (rec, args, localrec) =>
      localrec.Recommender.evaluateBaseline(...args.map((a) => (a && a.bytes !== undefined ? new TextEncoder().encode(a.bytes) : a))), sent);
    assert.ok(r.error, `${JSON.stringify(sent)} should fail`);
    assert.equal(r.error.isError, true);
    assert.equal(r.error.name, 'LocalrecError');
    assert.equal(r.error.code, code, r.error.message);
    assert.match(r.error.message, message);
  }
  await page.close();
});

test('events persist in IndexedDB across a reload', T, async () => {
  const page = await openPage();
  await load(page, 'p', { device: 'cpu', namespace: 'persist' });
  const before = await onRec(page, 'p', async (rec) => {
    await rec.forget();
    await rec.track([
      { item: 'item-0010', type: 'view', ts: 10 },
      { item: 'item-0020', type: 'cart', ts: 20 },
      { item: 'item-0030', type: 'purchase', ts: 30 },
    ]);
    return rec.recommend({ k: 10 });
  });
  await page.reload();
  await page.waitForFunction(() => window.testReady === true);
  await load(page, 'p', { device: 'cpu', namespace: 'persist' });
  const after = await onRec(page, 'p', async (rec) => ({ history: await rec.history(), top: await rec.recommend({ k: 10 }) }));
  assert.deepEqual(
    after.history.map((e) => e.item),
    ['item-0010', 'item-0020', 'item-0030'],
  );
  assert.deepEqual(withoutIds(after.top), withoutIds(before));
  // Another namespace on the same origin does not see them.
  await load(page, 'other', { device: 'cpu', namespace: 'persist-other' });
  assert.deepEqual(await onRec(page, 'other', (rec) => rec.history()), []);
  await page.close();
});

test('two tabs on one namespace: concurrent writes are all kept, each tab sees both', T, async () => {
  const [a, b] = [await openPage(), await openPage()];
  await load(a, 't', { device: 'cpu', namespace: 'tabs' });
  await load(b, 't', { device: 'cpu', namespace: 'tabs' });
  await onRec(a, 't', (rec) => rec.forget());
  const write = (rec, tab) =>
    Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        rec.track({ item: `item-${String(i * 3 + tab).padStart(4, '0')}`, type: 'view', ts: 1000 + i }),
      ),
    );
  await Promise.all([onRec(a, 't', write, 0), onRec(b, 't', write, 1)]);
  // Each tab reads its memory; the other tab's events arrive on a BroadcastChannel.
  const settled = (rec) => new Promise((ok) => {
    const poll = async () => ((await rec.history()).length >= 40 ? ok() : setTimeout(poll, 20));
    poll();
  });
  await Promise.all([onRec(a, 't', settled), onRec(b, 't', settled)]);
  const ha = await onRec(a, 't', (rec) => rec.history());
  const hb = await onRec(b, 't', (rec) => rec.history());
  assert.equal(ha.length, 40, 'no event lost, even with equal timestamps in both tabs');
  assert.deepEqual(ha, hb);
  assert.ok(ha.every((e, i) => i === 0 || ha[i - 1].ts <= e.ts), 'time order');
  const ra = await onRec(a, 't', (rec) => rec.recommend({ k: 10 }));
  const rb = await onRec(b, 't', (rec) => rec.recommend({ k: 10 }));
  assert.deepEqual(withoutIds(ra), withoutIds(rb));
  // And a reload reads the same events, in the same order, from IndexedDB.
  await b.reload();
  await b.waitForFunction(() => window.testReady === true);
  await load(b, 't', { device: 'cpu', namespace: 'tabs' });
  assert.deepEqual(await onRec(b, 't', (rec) => rec.history()), ha);
  // forget() in one tab empties the other.
  await onRec(a, 't', (rec) => rec.forget());
  await onRec(b, 't', (rec) => new Promise((ok) => {
    const poll = async () => ((await rec.history()).length === 0 ? ok() : setTimeout(poll, 20));
    poll();
  }));
  await a.close();
  await b.close();
});

test('a live catalogue: new products are kept, added, recommended and re-ranked; unavailable ones never recommended', T, async () => {
  const page = await openPage();
  await load(page, 'live', { device: 'cpu', namespace: 'live' });
  const r = await onRec(page, 'live', async (rec) => {
    const out = {};
    await rec.forget();
    // A product newer than the model: stored and listed, not an error.
    await rec.track([
      { item: 'item-0003', type: 'view', ts: 1000 },
      { item: 'NEW-SKU-2026', type: 'view', ts: 2000 },
      { item: 'item-0011', type: 'cart', ts: 3000 },
    ]);
    out.history = await rec.history();
    out.before = await rec.recommend({ k: 300, excludeSeen: false });
    out.rerankUnknown = await rec.rerank(['item-0100', 'NEVER-SEEN', 'item-0007']);
    // The shop adds it (with a category the bundle knows) and a product without categories.
    out.update = await rec.updateCatalog([
      { item: 'NEW-SKU-2026', title: 'Garden hose 2026', categories: ['garden'] },
      { item: 'NEW-PLAIN', title: 'Mystery box' },
    ]);
    out.catalog = (await rec.catalog()).slice(-2);
    out.after = await rec.recommend({ k: 310, excludeSeen: false });
    out.garden = await rec.recommend({ k: 100, filter: { categories: ['garden'] }, excludeSeen: false });
    out.reranked = await rec.rerank(['item-0100', 'NEW-SKU-2026', 'NEW-PLAIN', 'NEVER-SEEN']);
    out.explained = await rec.recommend({ k: 310, explain: true, excludeSeen: false });
    // Products marked unavailable are never recommended, still in the history.
    const top = (await rec.recommend({ k: 3 })).map((x) => x.item);
    out.hidden = [...top, 'NEW-SKU-2026', 'item-0011'];
    await rec.updateCatalog(out.hidden.map((item) => ({ item, available: false })));
    out.withoutHidden = await rec.recommend({ k: 310, excludeSeen: false });
    out.filtered = await rec.recommend({ k: 310, filter: () => true, excludeSeen: false });
    out.historyAfter = (await rec.history()).map((e) => e.item);
    return out;
  });
  assert.deepEqual(
    r.history.map((e) => [e.item, e.inCatalog]),
    [['item-0003', true], ['NEW-SKU-2026', false], ['item-0011', true]],
  );
  assert.equal(r.before.length, 300, 'the bundle catalogue only');
  assert.ok(!r.before.some((x) => x.item === 'NEW-SKU-2026'));
  // An unknown candidate is placed by the popularity prior, not refused.
  const unknown = r.rerankUnknown.find((x) => x.item === 'NEVER-SEEN');
  assert.ok(unknown && Number.isFinite(unknown.score) && unknown.inModel === false);
  assert.deepEqual(r.update, { added: 2, updated: 0 });
  assert.deepEqual(r.catalog, [
    { item: 'NEW-SKU-2026', title: 'Garden hose 2026', categories: ['garden'], popularity: 0, available: true, inModel: false },
    { item: 'NEW-PLAIN', title: 'Mystery box', categories: [], popularity: 0, available: true, inModel: false },
  ]);
  // Now recommendable: its score is its category's mean model score.
  assert.equal(r.after.length, 302);
  const fresh = r.after.find((x) => x.item === 'NEW-SKU-2026');
  assert.ok(fresh && fresh.inModel === false && fresh.title === 'Garden hose 2026');
  const garden = r.after.filter((x) => x.inModel && x.categories?.includes('garden'));
  const mean = garden.reduce((a, x) => a + x.score, 0) / garden.length;
  assert.ok(Math.abs(fresh.score - mean) < 1e-4, `${fresh.score} vs the garden mean ${mean}`);
  assert.ok(r.garden.some((x) => x.item === 'NEW-SKU-2026'), 'found by a category filter');
  // The same scores in rerank, and the prior for the product without categories.
  const rr = Object.fromEntries(r.reranked.map((x) => [x.item, x]));
  assert.ok(Math.abs(rr['NEW-SKU-2026'].score - fresh.score) < 1e-6);
  assert.equal(rr['NEW-PLAIN'].score, rr['NEVER-SEEN'].score, 'no categories: the popularity prior');
  assert.ok(r.reranked.every((x, i) => i === 0 || r.reranked[i - 1].score >= x.score));
  const expl = r.explained.find((x) => x.item === 'NEW-SKU-2026');
  assert.ok(expl.reasons.length >= 1 && expl.reasons.every((w) => w.kind !== 'similar'), 'no embedding to compare');
  for (const list of [r.withoutHidden, r.filtered]) {
    assert.equal(list.length, 302 - r.hidden.length);
    assert.ok(!list.some((x) => r.hidden.includes(x.item)), 'unavailable items are never recommended');
  }
  assert.deepEqual(r.historyAfter, ['item-0003', 'NEW-SKU-2026', 'item-0011']);

  // The catalogue's changes persist with the events.
  await page.reload();
  await page.waitForFunction(() => window.testReady === true);
  await load(page, 'live', { device: 'cpu', namespace: 'live' });
  const again = await onRec(page, 'live', async (rec) => ({
    catalog: (await rec.catalog()).filter((x) => !x.available || !x.inModel).map((x) => x.item),
    top: (await rec.recommend({ k: 310, excludeSeen: false })).map((x) => x.item),
  }));
  assert.deepEqual(new Set(again.catalog), new Set([...r.hidden, 'NEW-PLAIN']));
  assert.ok(!again.top.some((x) => r.hidden.includes(x)));
  assert.ok(again.top.includes('NEW-PLAIN'));
  await page.close();
});

test('online metrics: lists carry a recommendationId, later events are attributed, stats() counts them, forget() clears them', T, async () => {
  const page = await openPage();
  await load(page, 'on', { device: 'cpu', namespace: 'online' });
  const r = await onRec(page, 'on', async (rec) => {
    await rec.forget();
    const out = { variant: rec.variant, empty: await rec.stats() };
    const list = await rec.recommend({ k: 5 });
    out.ids = [...new Set(list.map((x) => x.recommendationId))];
    out.list = list.map((x) => x.item);
    // The shopper opens the second item from the list, then buys it (no id: by the window).
    await rec.track({ item: list[1].item, type: 'view', recommendationId: list[1].recommendationId });
    await rec.track({ item: list[1].item, type: 'purchase' });
    out.stats = await rec.stats();
    out.later = await rec.stats({ since: Date.now() + 60_000 });
    const again = await rec.rerank(['item-0001', 'item-0002']);
    out.rerankId = again[0].recommendationId;
    out.after = await rec.stats();
    // Private reports: 400 of this device (clicked, purchased, hit; never carted).
    out.reports = [];
    for (let i = 0; i < 400; i++) out.reports.push(await rec.report({ epsilon: 2 }));
    await rec.forget();
    out.forgotten = await rec.stats();
    return out;
  });
  const rep = r.reports[0];
  assert.deepEqual(Object.keys(rep).sort(), ['bits', 'epsilon', 'mechanism', 'variant', 'version']);
  assert.deepEqual([rep.mechanism, rep.version, rep.variant, rep.epsilon], ['randomized-response', 1, 'sasrec', 2]);
  assert.deepEqual(Object.keys(rep.bits).sort(), ['carted', 'clicked', 'exposed', 'hit', 'purchased']);
  // Each bit is the truth with p = e^0.4 / (1 + e^0.4) = 0.599: randomized on the device.
  const share = (bit) => r.reports.filter((x) => x.bits[bit]).length / r.reports.length;
  const p = Math.exp(0.4) / (1 + Math.exp(0.4));
  for (const bit of ['exposed', 'clicked', 'purchased', 'hit']) assert.ok(Math.abs(share(bit) - p) < 0.08, `${bit}: ${share(bit)} vs ${p}`);
  assert.ok(Math.abs(share('carted') - (1 - p)) < 0.08, `carted: ${share('carted')} vs ${1 - p}`);
  assert.equal(r.variant, 'sasrec', 'the bundle encoder names the variant');
  assert.deepEqual(r.empty.variants, {});
  assert.equal(r.ids.length, 1, 'one id per list');
  assert.match(r.ids[0], /^[0-9a-f]+-[0-9a-f]{6}$/);
  const m = r.stats.variants.sasrec;
  assert.equal(r.stats.impressions, 1);
  assert.equal(r.stats.windowMs, 30 * 60 * 1000);
  assert.deepEqual(
    [m.impressionSets, m.itemsShown, m.clicks, m.carts, m.purchases, m.judged, m.hits, m.distinctItems],
    [1, 5, 1, 0, 1, 1, 1, 5],
  );
  assert.equal(m.ctr, 1);
  assert.equal(m.purchaseRate, 1);
  assert.equal(m.hitRate, 1);
  assert.equal(m.mrr, 0.5, 'clicked in slot 2');
  assert.equal(m.coverage, 5 / 300);
  assert.deepEqual(Object.keys(m.days), [new Date().toISOString().slice(0, 10)]);
  assert.deepEqual(r.later.variants, {}, '`since` after the list: nothing');
  assert.notEqual(r.rerankId, r.ids[0]);
  assert.equal(r.after.variants.sasrec.impressionSets, 2, 'rerank() shows a list too');
  assert.deepEqual(r.forgotten.variants, {});

  // The impressions survive a reload (IndexedDB), and the id attributes across it.
  const kept = await onRec(page, 'on', async (rec) => {
    const list = await rec.recommend({ k: 3 });
    await rec.track({ item: list[0].item, type: 'cart', recommendationId: list[0].recommendationId });
    return list[0].recommendationId;
  });
  await page.reload();
  await page.waitForFunction(() => window.testReady === true);
  await load(page, 'on', { device: 'cpu', namespace: 'online', variant: 'control' });
  const reloaded = await onRec(page, 'on', async (rec) => ({ variant: rec.variant, stats: await rec.stats() }));
  assert.equal(reloaded.variant, 'control', 'the variant option names the model');
  assert.deepEqual([reloaded.stats.variants.sasrec.impressionSets, reloaded.stats.variants.sasrec.carts], [1, 1]);
  assert.ok(kept);
  await page.close();
});

test('an A/B test: each device gets a sticky variant and downloads only its bundle', T, async () => {
  const page = await openPage();
  const fetched = [];
  page.on('request', (q) => q.url().endsWith('.lrec') && fetched.push(new URL(q.url()).pathname));
  const experiment = { variants: { plain: '/fixtures/fixture.lrec', kinds: '/fixtures/fixture-kinds.lrec' } };
  const variantOf = (ns) =>
    page.evaluate(
      async ({ experiment, ns }) => {
        const rec = await localrec.Recommender.load(experiment, { device: 'cpu', namespace: ns });
        const list = await rec.recommend({ k: 3 });
        const v = rec.variant;
        const stats = await rec.stats();
        rec.free();
        return { v, names: Object.keys(stats.variants), info: list.length };
      },
      { experiment, ns },
    );
  const first = await variantOf('ab-0');
  assert.ok(['plain', 'kinds'].includes(first.v));
  assert.deepEqual(first.names, [first.v], 'its lists are counted under its variant');
  assert.deepEqual(fetched, [first.v === 'plain' ? '/fixtures/fixture.lrec' : '/fixtures/fixture-kinds.lrec'], 'only the assigned bundle');
  await page.reload();
  await page.waitForFunction(() => window.testReady === true);
  assert.equal((await variantOf('ab-0')).v, first.v, 'sticky across reloads');
  // Other namespaces are other devices' draws: both variants occur.
  const seen = new Set();
  for (let i = 1; i <= 12; i++) seen.add((await variantOf(`ab-${i}`)).v);
  assert.deepEqual([...seen].sort(), ['kinds', 'plain']);
  const one = await page.evaluate(async () => {
    const rec = await localrec.Recommender.load({ variants: { only: '/fixtures/fixture.lrec' }, weights: { only: 2 } }, { device: 'cpu', namespace: 'ab-one' });
    return rec.variant;
  });
  assert.equal(one, 'only');
  // Any typed array is a bundle's bytes, not an experiment.
  const typed = await page.evaluate(async () => {
    const bytes = new Uint8Array(await (await fetch('/fixtures/fixture.lrec')).arrayBuffer());
    const rec = await localrec.Recommender.load(new Int8Array(bytes.buffer), { device: 'cpu', namespace: 'ab-typed' });
    return rec.info.items;
  });
  assert.equal(typed, expected.items);
  await page.close();
});

test('memory storage writes nothing to the device; switching keeps the session', T, async () => {
  const page = await openPage();
  const stored = () =>
    page.evaluate(
      () =>
        new Promise((ok, fail) => {
          const req = indexedDB.open('localrec');
          req.onerror = () => fail(req.error);
          req.onsuccess = () => {
            const db = req.result;
            const tx = db.transaction(['events', 'catalog']);
            const range = IDBKeyRange.bound(['consent'], ['consent', []]);
            const events = tx.objectStore('events').count(range);
            const catalog = tx.objectStore('catalog').count('consent');
            tx.oncomplete = () => (db.close(), ok({ events: events.result, catalog: catalog.result }));
          };
        }),
    );
  await load(page, 'm', { device: 'cpu', namespace: 'consent', storage: 'memory' });
  const first = await onRec(page, 'm', async (rec) => {
    await rec.track([{ item: 'item-0001', type: 'view', ts: 1 }, { item: 'item-0002', type: 'cart', ts: 2 }]);
    await rec.updateCatalog([{ item: 'NEW-1', categories: ['toys'] }]);
    return { storage: rec.storage, history: await rec.history(), top: await rec.recommend({ k: 5 }) };
  });
  assert.equal(first.storage, 'memory');
  assert.deepEqual(first.history.map((e) => [e.item, e.saved]), [['item-0001', false], ['item-0002', false]]);
  assert.deepEqual(await stored(), { events: 0, catalog: 0 }, 'nothing written');
  // The shopper consents: the session is written, nothing lost.
  const consented = await onRec(page, 'm', async (rec) => {
    await rec.setStorage('indexeddb');
    await rec.track({ item: 'item-0003', type: 'view', ts: 3 });
    return { storage: rec.storage, history: await rec.history(), top: await rec.recommend({ k: 5 }) };
  });
  assert.equal(consented.storage, 'indexeddb');
  assert.deepEqual(consented.history.map((e) => [e.item, e.saved]), [['item-0001', true], ['item-0002', true], ['item-0003', true]]);
  assert.deepEqual(await stored(), { events: 3, catalog: 1 });
  // And withdraws it: storage is emptied, the session goes on in memory.
  const withdrawn = await onRec(page, 'm', async (rec) => {
    await rec.setStorage('memory');
    return { storage: rec.storage, history: await rec.history(), catalog: (await rec.catalog()).length };
  });
  assert.equal(withdrawn.storage, 'memory');
  assert.deepEqual(withdrawn.history.map((e) => [e.item, e.saved]), [['item-0001', false], ['item-0002', false], ['item-0003', false]]);
  assert.equal(withdrawn.catalog, 301);
  assert.deepEqual(await stored(), { events: 0, catalog: 0 });
  await page.close();
});

test('retention keeps the newest events; a long history never empties the recommendations', T, async () => {
  const page = await openPage();
  await load(page, 'ret', { device: 'cpu', namespace: 'retention', maxEvents: 50, maxAgeDays: 30 });
  const r = await onRec(page, 'ret', async (rec) => {
    await rec.forget();
    const now = Date.now();
    const day = 86400000;
    // 40 days ago: dropped by maxAgeDays.
    await rec.track({ item: 'item-0299', type: 'purchase', ts: now - 40 * day });
    const events = [];
    for (let i = 0; i < 300; i++) events.push({ item: `item-${String(i).padStart(4, '0')}`, type: i % 3 ? 'view' : 'purchase', ts: now - day + i });
    await rec.track(events);
    const history = await rec.history();
    return {
      n: history.length,
      first: history[0].item,
      last: history.at(-1).item,
      // Every item is either excluded by the caller or in the history.
      top: await rec.recommend({
        k: 10,
        exclude: events.slice(0, 250).map((e) => e.item),
        excludeSeen: { purchased: true, recent: 50 },
      }),
    };
  });
  assert.equal(r.n, 50, 'maxEvents');
  assert.deepEqual([r.first, r.last], ['item-0250', 'item-0299']);
  assert.equal(r.top.length, 10, 'the seen items fill the list rather than leave it empty');
  assert.ok(r.top.every((x) => Number(x.item.slice(5)) >= 250), 'never an item the caller excluded');
  await page.reload();
  await page.waitForFunction(() => window.testReady === true);
  await load(page, 'ret', { device: 'cpu', namespace: 'retention', maxEvents: 50, maxAgeDays: 30 });
  assert.equal((await onRec(page, 'ret', (rec) => rec.history())).length, 50, 'dropped from IndexedDB too');
  await page.close();
});

test('bad input rejects with a clear JS Error and leaves stored events intact', T, async () => {
  const page = await openPage();
  await load(page, 'bad', { device: 'cpu', namespace: 'bad-input' });
  const good = [
    { item: 'item-0001', type: 'view', ts: 100 },
    { item: 'item-0002', type: 'cart', ts: 200 },
  ];
  await onRec(page, 'bad', async (rec, good) => (await rec.forget(), rec.track(good)), good);
  const stored = await onRec(page, 'bad', (rec) => rec.history());

  const cases = [
    [(r) => r.track({ item: 'x'.repeat(300), type: 'view' }), 'INVALID_INPUT', /track: event field `item` is 300 characters long; the limit is 256/],
    [(r) => r.track({ type: 'view' }), 'INVALID_INPUT', /track: event field `item` is empty or missing/],
    [(r) => r.track({ item: 'item-0001' }), 'INVALID_INPUT', /track: the event has no `type`/],
    [(r) => r.track({ item: 42, type: 'view' }), 'INVALID_INPUT', /track: `item` must be a string, got a number/],
    [(r) => r.track({ item: 'item-0001', type: 'teleport' }), 'INVALID_INPUT', /unknown event kind `teleport`/],
    [(r) => r.track({ item: 'item-0001', type: 'view', ts: 'yesterday' }), 'INVALID_INPUT', /`ts` must be a number of milliseconds since the epoch, got a string/],
    [(r) => r.track({ item: 'item-0001', type: 'view', ts: -5 }), 'INVALID_INPUT', /timestamp -5 is invalid/],
    [(r) => r.track({ item: 'item-0001', type: 'view', ts: NaN }), 'INVALID_INPUT', /`ts` must be/],
    [(r) => r.track({ type: 'search' }), 'INVALID_INPUT', /`query` is empty or missing/],
    [(r) => r.track(null), 'INVALID_INPUT', /an event must be an object/],
    [(r) => r.track('item-0001'), 'INVALID_INPUT', /an event must be an object .*got a string/],
    [(r) => r.track([]), 'INVALID_INPUT', /the array of events is empty/],
    [(r) => r.track([{ item: 'item-0003', type: 'view' }, { item: ' ', type: 'view' }]), 'INVALID_INPUT', /track: event \[1\]: event field `item` is empty or missing/],
    // Analytics events: one bad product rejects the whole event (nothing of it is stored).
    [(r) => r.track({ event: 'purchase', ecommerce: { items: [{ item_id: 'item-0001' }, { item_id: ' ' }] } }), 'INVALID_INPUT', /^track: .*item/],
    [(r) => r.track({ event: 'add_to_cart', ecommerce: { items: [{ item_id: 'item-0001' }, { item_name: 'Tee' }] } }), 'INVALID_INPUT', /^track: invalid value for `ecommerce\.items\[1\]\.item_id`: missing/],
    [(r) => r.track({ event: 'add_to_cart' }), 'INVALID_INPUT', /`ecommerce\.items`: missing/],
    [(r) => r.track({ event: 'Product Added', properties: {} }), 'INVALID_INPUT', /`properties\.product_id`: missing/],
    [(r) => r.track({ event: 'search' }), 'INVALID_INPUT', /`search_term`: missing/],
    [(r) => r.track({ event: 'begin_checkout', ecommerce: { items: [{ item_id: 'item-0001' }] } }), 'INVALID_INPUT', /`begin_checkout` is not an e-commerce event localrec reads/],
    [(r) => r.track({ event: 'view_item', ecommerce: { items: [{ item_id: () => 1 }] } }), 'INVALID_INPUT', /`ecommerce\.items\[0\]\.item_id` must be JSON data .*got a function/],
    [(r) => { const e = { event: 'view_item', ecommerce: { items: [{ item_id: 'item-0001' }] } }; e.ecommerce.self = e.ecommerce; return r.track(e); }, 'INVALID_INPUT', /nested too deeply/],
    [(r) => r.track({ event: 'view_item', ecommerce: { items: [{ item_id: 'item-0001' }] }, ts: 'now' }), 'INVALID_INPUT', /`ts` must be a number/],
    [(r) => r.recommend({ k: 0 }), 'INVALID_INPUT', /recommend: `k` must be an integer from 1 to 10000, got 0/],
    [(r) => r.recommend({ k: '10' }), 'INVALID_INPUT', /`k` must be an integer from 1 to 10000, got a string/],
    [(r) => r.recommend({ k: 2.5 }), 'INVALID_INPUT', /got 2.5/],
    [(r) => r.recommend('everything'), 'INVALID_INPUT', /recommend: the options must be an object, got a string/],
    [(r) => r.recommend({ exclude: 'item-0001' }), 'INVALID_INPUT', /`exclude` must be an array of strings, got a string/],
    [(r) => r.recommend({ exclude: ['item-0001', 7] }), 'INVALID_INPUT', /`exclude`\[1\] must be a string, got a number/],
    [(r) => r.recommend({ filter: 5 }), 'INVALID_INPUT', /`filter` must be a function or an object/],
    [(r) => r.recommend({ filter: { categories: ['nope'] } }), 'INVALID_INPUT', /unknown category `nope`/],
    [(r) => r.recommend({ filter: () => { throw new Error('boom'); } }), 'INVALID_INPUT', /recommend: the filter function threw: boom/],
    [(r) => r.recommend({ explain: 'yes' }), 'INVALID_INPUT', /`explain` must be a boolean/],
    [(r) => r.rerank('item-0001'), 'INVALID_INPUT', /rerank: the candidates must be an array of strings, got a string/],
    [(r) => r.rerank(['item-0001', '']), 'INVALID_INPUT', /rerank: candidate 1 must be an item id of 1 to 256 characters/],
    [(r) => r.recommend({ excludeSeen: 'yes' }), 'INVALID_INPUT', /`excludeSeen` must be a boolean or an object like/],
    [(r) => r.recommend({ excludeSeen: { recent: -1 } }), 'INVALID_INPUT', /`excludeSeen.recent` must be an integer from 0/],
    [(r) => r.updateCatalog({ item: 'new-1' }), 'INVALID_INPUT', /^updateCatalog: expects an array like/],
    [(r) => r.updateCatalog([{ title: 'Tea' }]), 'INVALID_INPUT', /updateCatalog: item \[0\]: has no `item`/],
    [(r) => r.updateCatalog([{ item: 'new-1' }, { item: 'new-2', categories: 'toys' }]), 'INVALID_INPUT', /item \[1\]: `categories` must be an array of strings, got a string/],
    [(r) => r.updateCatalog([{ item: 'new-1' }, { item: 'new-2', available: 'no' }]), 'INVALID_INPUT', /item \[1\]: `available` must be a boolean/],
    [(r) => r.updateCatalog([{ item: 'new-1' }, { item: 'new-2', categories: [''] }]), 'INVALID_INPUT', /item \[1\]: category `` must be 1 to 200 characters/],
    [(r) => r.updateCatalog([{ item: 'new-1' }, { item: 'x'.repeat(257) }]), 'INVALID_INPUT', /item \[1\]: `item` is 257 characters long/],
    [(r) => r.setStorage('disk'), 'INVALID_INPUT', /setStorage: `storage` must be 'indexeddb' or 'memory', got 'disk'/],
    [(r) => r.track({ item: 'item-0001', type: 'view', recommendationId: '' }), 'INVALID_INPUT', /`recommendationId` must be 1 to 100 characters/],
    [(r) => r.track({ item: 'item-0001', type: 'view', recommendationId: 7 }), 'INVALID_INPUT', /`recommendationId` must be a string/],
    [(r) => r.stats({ since: 'today' }), 'INVALID_INPUT', /stats: `since` must be a number of milliseconds/],
    [(r) => r.stats({ windowMinutes: -5 }), 'INVALID_INPUT', /`windowMinutes` must be a number of minutes ≥ 0, got -5/],
    [(r) => r.report(), 'INVALID_INPUT', /report: `epsilon` is required/],
    [(r) => r.report({ epsilon: 50 }), 'INVALID_INPUT', /report: .*epsilon.*50/],
    [(r) => r.report({ epsilon: 'high' }), 'INVALID_INPUT', /`epsilon` must be a number greater than 0/],
    [(r) => r.rerank(['item-0001'], { k: -1 }), 'INVALID_INPUT', /`k` must be an integer/],
  ];
  for (const [call, code, message] of cases) {
    const r = await attempt(page, 'bad', call);
    assert.ok(r.error, `${call} should fail`);
    assert.equal(r.error.isError, true, `${call}: an Error`);
    assert.equal(r.error.name, 'LocalrecError');
    assert.equal(r.error.code, code, `${call}: ${r.error.message}`);
    assert.match(r.error.message, message);
  }

  // Bundles: truncated, tampered, of another format version, not a bundle, the wrong type.
  const b64 = bundleBytes.toString('base64');
  const loads = [
    ['truncated', (b) => b.slice(0, b.length - 10), 'BAD_BUNDLE', /the bundle is corrupted or truncated: checksum mismatch/],
    ['tampered', (b) => ((b[b.length - 100] ^= 0xff), b), 'BAD_BUNDLE', /the bundle is corrupted or truncated: checksum mismatch/],
    ['a manifest byte (an item id)', (b) => ((b[b.indexOf(0x69, 40)] ^= 0x01), b), 'BAD_BUNDLE', /the bundle is corrupted or truncated: checksum mismatch/],
    ['another format version', (b) => ((b[8] = 99), b), 'BAD_BUNDLE', new RegExp(`bundle format version 99, this localrec reads version ${expected.formatVersion}`)],
    ['not a bundle', () => new TextEncoder().encode('<html>404</html>'), 'BAD_BUNDLE', /not a localrec bundle/],
    ['empty', () => new Uint8Array(0), 'BAD_BUNDLE', /not a localrec bundle/],
  ];
  for (const [what, mutate, code, message] of loads) {
    const r = await attempt(
      page,
      'bad',
      async (_rec, { b64, src }, localrec) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const mutate = new Function(`return (${src})`)();
        return localrec.Recommender.load(mutate(bytes), { device: 'cpu', namespace: 'bad-input' });
      },
      { b64, src: mutate.toString() },
    );
    assert.ok(r.error, `${what} should fail`);
    assert.equal(r.error.isError, true);
    assert.equal(r.error.code, code, `${what}: ${r.error.message}`);
    assert.match(r.error.message, /^Recommender\.load: /);
    assert.match(r.error.message, message);
  }
  // A sweep over the whole file: single-byte corruptions and truncations at 256 places each
  // (every one is checked natively: bundle::tests::every_byte_flip_is_rejected).
  const sweep = await page.evaluate(async (b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const codes = {};
    const count = (code) => (codes[code] = (codes[code] ?? 0) + 1);
    for (let n = 0; n < 256; n++) {
      const at = Math.floor((n * (bytes.length - 1)) / 255);
      const flipped = bytes.slice();
      flipped[at] ^= 1 << n % 8;
      for (const b of [flipped, bytes.slice(0, at)]) {
        try {
          (await window.localrec.Recommender.load(b, { device: 'cpu', namespace: 'bad-input' })).free();
          count('LOADED');
        } catch (e) {
          count(e.code);
        }
      }
    }
    return codes;
  }, b64);
  assert.deepEqual(sweep, { BAD_BUNDLE: 512 }, 'every corruption and truncation is a BAD_BUNDLE');
  const badLoads = [
    [(_r, _a, l) => l.Recommender.load(42), 'INVALID_INPUT', /the bundle must be a URL string, an ArrayBuffer or a Uint8Array, got a number/],
    [(_r, _a, l) => l.Recommender.load('/fixtures/missing.lrec'), 'NETWORK', /could not download the bundle from (http:\/\/[\d.:]+)?\/fixtures\/missing\.lrec: HTTP 404/], // in the worker, the URL resolved against the page
    [(_r, _a, l) => l.Recommender.load('/fixtures/fixture.lrec', { device: 'tpu' }), 'INVALID_INPUT', /`device` must be 'auto', 'webgpu' or 'cpu', got 'tpu'/],
    [(_r, _a, l) => l.Recommender.load('/fixtures/fixture.lrec', { namespace: '' }), 'INVALID_INPUT', /`namespace` must be 1 to 200 characters/],
    [(_r, _a, l) => l.Recommender.load('/fixtures/fixture.lrec', { onProgress: 5 }), 'INVALID_INPUT', /`onProgress` must be a function/],
    [(_r, _a, l) => l.Recommender.load('/fixtures/fixture.lrec', { storage: 'cookies' }), 'INVALID_INPUT', /`storage` must be 'indexeddb' or 'memory'/],
    [(_r, _a, l) => l.Recommender.load({ variants: {} }), 'INVALID_INPUT', /`variants` names no bundle/],
    [(_r, _a, l) => l.Recommender.load({ bundles: ['/fixtures/fixture.lrec'] }), 'INVALID_INPUT', /or \{ variants: \{ name: bundle, … \} \}/],
    [(_r, _a, l) => l.Recommender.load({ variants: { a: '/fixtures/fixture.lrec' }, weights: { a: -1 } }), 'INVALID_INPUT', /`weights.a` must be a number ≥ 0/],
    [(_r, _a, l) => l.Recommender.load({ variants: { a: '/fixtures/fixture.lrec' }, weights: { a: 0 } }), 'INVALID_INPUT', /at least one variant needs a weight above 0/],
    [(_r, _a, l) => l.Recommender.load('/fixtures/fixture.lrec', { variant: '' }), 'INVALID_INPUT', /`variant` must be 1 to 100 characters long, got 0/],
    [(_r, _a, l) => l.Recommender.load('/fixtures/fixture.lrec', { maxEvents: 0 }), 'INVALID_INPUT', /`maxEvents` must be an integer from 1 to 10000000, got 0/],
    [(_r, _a, l) => l.Recommender.load('/fixtures/fixture.lrec', { maxAgeDays: -1 }), 'INVALID_INPUT', /`maxAgeDays` must be a number of days greater than 0 \(or Infinity\), got -1/],
  ];
  for (const [call, code, message] of badLoads) {
    const r = await attempt(page, 'bad', call);
    assert.ok(r.error, `${call} should fail`);
    assert.equal(r.error.code, code, r.error.message);
    assert.match(r.error.message, message);
  }

  assert.deepEqual(await onRec(page, 'bad', (rec) => rec.history()), stored, 'stored events intact');
  assert.equal(stored.length, 2);
  assert.equal(await onRec(page, 'bad', async (rec) => (await rec.catalog()).length), 300, 'no bad update was applied, not even its good items');
  // And the recommender still works.
  assert.equal((await onRec(page, 'bad', (rec) => rec.recommend({ k: 3 }))).length, 3);
  await page.close();
});

test('a page that never asks for WebGPU downloads only the CPU module; WebGPU downloads the WebGPU one', T, async () => {
  const fetchedBy = async (device) => {
    const page = await context.newPage();
    const wasm = [];
    page.on('request', (r) => r.url().endsWith('.wasm') && wasm.push(new URL(r.url()).pathname));
    await page.goto(`${server.url}/index.html`);
    await page.waitForFunction(() => window.testReady === true);
    const r = await load(page, 'm', { device, namespace: `modules-${device}` });
    const top = await onRec(page, 'm', (rec) => rec.recommend({ k: 3 }));
    await page.close();
    return { wasm, backend: r.backend, top: top.map((x) => x.item) };
  };
  const cpu = await fetchedBy('cpu');
  assert.deepEqual(cpu.wasm, ['/pkg/localrec_cpu_bg.wasm'], 'only the CPU-only module');
  assert.equal(cpu.backend, 'cpu');
  const gpu = await fetchedBy('webgpu');
  assert.deepEqual(gpu.wasm, ['/pkg/localrec_bg.wasm'], 'only the WebGPU module');
  assert.equal(gpu.backend, 'webgpu');
  assert.deepEqual(gpu.top, cpu.top, 'the same recommendations from either module');
  // 'auto' on a browser with a WebGPU adapter (SwiftShader here) takes the WebGPU module.
  assert.deepEqual((await fetchedBy('auto')).wasm, ['/pkg/localrec_bg.wasm']);
});

test('a Recommender runs in a Web Worker by default, with the same results, errors and filters as on the page', T, async () => {
  const page = await openPage();
  const c = expected.cases[0];
  const run = (worker) =>
    attempt(
      page,
      null,
      async (_rec, { c, worker }, localrec) => {
        const calls = [];
        const rec = await localrec.Recommender.load('/fixtures/fixture.lrec', { device: 'cpu', namespace: `worker-${worker}`, maxAgeDays: Infinity, worker });
        await rec.forget();
        // GTM adds a function to what it pushes: ignored in both places.
        await rec.track(c.events.map((e, i) => (i === 0 ? { ...e, eventCallback: () => {} } : e)));
        const top = await rec.recommend({ k: 10 });
        // A filter function: asked in rank order, only until k pass.
        const odd = await rec.recommend({
          k: 5,
          filter: (item) => {
            calls.push(item.item);
            return Number(item.item.slice(-1)) % 2 === 1;
          },
        });
        const throwing = await window.attempt(() => rec.recommend({ filter: () => { throw new Error('nope'); } }));
        const bad = await window.attempt(() => rec.recommend({ k: 0 }));
        const badEvent = await window.attempt(() => rec.track({ event: 'add_to_cart', ecommerce: { items: [{ item_id: () => 'x' }] } }));
        const stats = await rec.stats();
        const out = {
          top, odd, calls, throwing, bad, badEvent,
          catalog: (await rec.catalog()).length,
          history: (await rec.history()).length,
          backend: rec.backend, storage: rec.storage, variant: rec.variant, namespace: rec.namespace, info: rec.info,
          lists: stats.variants?.[rec.variant]?.impressionSets ?? JSON.stringify(stats),
          onPage: rec instanceof localrec.Recommender,
        };
        rec.free();
        return out;
      },
      { c, worker },
    );
  const inWorker = await run(true);
  const onPage = await run(false);
  assert.ok(inWorker.ok, JSON.stringify(inWorker.error));
  assert.ok(onPage.ok, JSON.stringify(onPage.error));
  const w = inWorker.ok;
  const p = onPage.ok;
  assert.equal(w.onPage, false, 'the default runs in a worker (not the module class)');
  assert.equal(p.onPage, true, 'worker: false runs the module class on the page');
  assertSameTop(w.top, c.top, 'worker');
  assertSameTop(p.top, c.top, 'page');
  assert.deepEqual(w.odd.map((x) => x.item), p.odd.map((x) => x.item), 'a filter function gives the same list');
  assert.equal(w.odd.length, 5);
  assert.ok(w.odd.every((x) => Number(x.item.slice(-1)) % 2 === 1));
  assert.deepEqual(w.calls, p.calls, 'the filter is asked about the same items in the same order');
  assert.ok(w.odd.every((x) => x.recommendationId && x.recommendationId === w.odd[0].recommendationId), 'one impression id');
  for (const k of ['throwing', 'bad', 'badEvent']) {
    assert.equal(w[k].error?.isError, true, `${k}: an Error`);
    assert.deepEqual(w[k].error, p[k].error, `${k}: the same error (name, message, code) in both`);
  }
  assert.match(w.throwing.error.message, /the filter function threw: nope/);
  for (const k of ['catalog', 'history', 'backend', 'storage', 'variant', 'info', 'lists']) assert.deepEqual(w[k], p[k], k);
  assert.equal(w.lists, 2, 'the shown lists are the impressions: the over-fetched ranking of the filter is not one');
  await page.close();
});

test('no long task on the main thread during a session at 100k items in the worker (and there are with worker: false)', T, async (t) => {
  const file = 'bench-100000.lrec';
  try {
    await stat(join(FIXTURES, file));
  } catch {
    t.skip(`${file} is missing: cargo run --release --example web_fixture -- tests/browser/generated --bench 100000`);
    return;
  }
  const session = async (worker) => {
    const page = await openPage();
    const r = await page.evaluate(
      async ({ url, worker }) => {
        const long = [];
        const obs = new PerformanceObserver((l) => long.push(...l.getEntries().map((e) => Math.round(e.duration))));
        obs.observe({ type: 'longtask' });
        const t0 = performance.now();
        const rec = await localrec.Recommender.load(url, { device: 'cpu', namespace: `long-${worker}`, worker, maxAgeDays: Infinity });
        await rec.forget();
        const id = (k) => `item-${String(k).padStart(4, '0')}`;
        for (let i = 0; i < 50; i++) await rec.track({ item: id((i * 7919) % 100000), type: i % 5 === 4 ? 'cart' : 'view' });
        for (let i = 0; i < 20; i++) await rec.recommend({ k: 10, explain: i % 5 === 0 });
        await rec.rerank(Array.from({ length: 200 }, (_, i) => id(i * 37)));
        await rec.stats();
        await rec.history();
        const ms = performance.now() - t0;
        rec.free();
        await new Promise((ok) => setTimeout(ok, 200));
        obs.disconnect();
        return { long, ms };
      },
      { url: `/fixtures/${file}`, worker },
    );
    await page.close();
    return r;
  };
  const inWorker = await session(true);
  const onPage = await session(false);
  t.diagnostic(`worker: long tasks ${JSON.stringify(inWorker.long)} in ${inWorker.ms.toFixed(0)} ms; page: ${JSON.stringify(onPage.long)} in ${onPage.ms.toFixed(0)} ms`);
  assert.ok(onPage.long.length > 0, 'on the page, loading 100k items blocks the main thread (the observer sees it)');
  assert.deepEqual(inWorker.long, [], 'in the worker, no task over 50 ms on the main thread');
});

test('a session sends nothing that carries behaviour; all requests are its own files', T, async () => {
  const page = await context.newPage();
  const seen = [];
  page.on('request', (r) => seen.push({ url: r.url(), method: r.method(), body: r.postData() }));
  page.on('websocket', (w) => seen.push({ url: w.url(), method: 'WEBSOCKET' }));
  // Nothing outside the page's own origin can be reached.
  await page.route('**/*', (route) =>
    route.request().url().startsWith(`${server.url}/`) ? route.continue() : route.abort('blockedbyclient'),
  );
  await page.goto(`${server.url}/index.html`);
  await page.waitForFunction(() => window.testReady === true);
  await load(page, 'net', { namespace: 'network' });
  const afterLoad = seen.length;
  const top = await onRec(page, 'net', async (rec) => {
    await rec.forget();
    await rec.track({ item: 'item-0123', type: 'view' });
    await rec.track({ type: 'search', query: 'secret query' });
    await rec.track({ item: 'item-0124', type: 'purchase' });
    const top = await rec.recommend({ k: 10, explain: true });
    await rec.rerank(['item-0001', 'item-0002']);
    await rec.history();
    await new Promise((ok) => setTimeout(ok, 1000));
    return top;
  });
  assert.equal(top.length, 10);
  assert.deepEqual(seen.slice(afterLoad), [], 'no request at all during track/recommend/rerank/history');
  const paths = seen.map((r) => {
    assert.ok(r.url.startsWith(`${server.url}/`), `same origin: ${r.url}`);
    assert.equal(r.method, 'GET');
    assert.equal(r.body ?? null, null);
    return new URL(r.url).pathname;
  });
  const allowed = ['/index.html', '/pkg/index.js', '/pkg/modules.js', '/pkg/remote.js', '/pkg/worker.js', '/pkg/localrec.js', '/pkg/localrec_cpu.js', '/pkg/datalayer.js', '/pkg/localrec_bg.wasm', '/pkg/localrec_cpu_bg.wasm', '/fixtures/fixture.lrec', '/favicon.ico'];
  assert.ok(paths.every((p) => allowed.includes(p)), `only the page's files and the bundle: ${paths}`);
  assert.ok(!seen.some((r) => /item-012[34]|secret/.test(r.url)));
  await page.close();
});

test('when the WebGPU device is lost, it moves to the CPU with the same results', T, async () => {
  const page = await openPage();
  const r = await load(page, 'lost', { namespace: 'device-lost' });
  assert.equal(r.backend, 'webgpu');
  const c = expected.cases[0];
  const out = await onRec(
    page,
    'lost',
    async (rec, events) => {
      await rec.forget();
      await rec.track(events);
      const before = await rec.recommend({ k: 10 });
      const destroyed = await rec._destroyGpuDevice();
      await new Promise((ok) => setTimeout(ok, 100));
      const after = await rec.recommend({ k: 10, explain: true });
      const next = await localrec.Recommender.load('/fixtures/fixture.lrec', { namespace: 'device-lost' });
      return { before, after, destroyed, backend: rec.backend, reason: rec.fallbackReason, next: [next.backend, next.fallbackReason] };
    },
    c.events,
  );
  assert.equal(out.destroyed, true);
  assertSameTop(out.before, c.top, 'before the loss');
  assertSameTop(out.after, c.top, 'after the loss');
  assert.equal(out.backend, 'cpu');
  assert.match(out.reason, /WebGPU device failed/);
  assert.equal(out.next[0], 'cpu', 'later loads in the page use the CPU');
  assert.match(out.next[1], /WebGPU device failed/);
  await page.close();
});

test('a downloaded bundle is cached: revalidated, reused offline, a damaged copy refetched, a changed file downloaded again', T, async () => {
  // A fresh origin (its own server): its own, empty Cache API.
  const fresh = await startServer();
  const file = join(FIXTURES, 'cache-test.lrec');
  await copyFile(join(FIXTURES, 'fixture.lrec'), file);
  const page = await context.newPage();
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  const loadOnce = (options = {}) =>
    page.evaluate(async (options) => {
      const phases = [];
      const rec = await localrec.Recommender.load('/fixtures/cache-test.lrec', { device: 'cpu', namespace: 'cache', onProgress: (p) => phases.push(p.phase), ...options });
      const top = (await rec.recommend({ k: 3 })).map((x) => x.item);
      rec.free();
      const copy = await (await caches.open('localrec-bundles-v1')).match('/fixtures/cache-test.lrec');
      return { phases: [...new Set(phases)], top, cached: copy ? (await copy.arrayBuffer()).byteLength : 0 };
    }, options);
  const bundleRequests = () => fresh.requests.filter((r) => r.url === '/fixtures/cache-test.lrec').map((r) => [r.status, Boolean(r.ifNoneMatch)]);
  try {
    await page.goto(`${fresh.url}/index.html`);
    await page.waitForFunction(() => window.testReady === true);
    const first = await loadOnce();
    assert.ok(first.phases.includes('download') && !first.phases.includes('cache'), String(first.phases));
    assert.equal(first.cached, bundleBytes.length, 'kept in the Cache API');
    const second = await loadOnce();
    assert.ok(second.phases.includes('cache') && !second.phases.includes('download'), String(second.phases));
    assert.deepEqual(second.top, first.top);
    assert.deepEqual(bundleRequests(), [[200, false], [304, true]], 'revalidated, not downloaded again');

    // A damaged copy (same validator): detected by its checksum, deleted, downloaded again.
    const etag = `"${bundleBytes.length}-${Math.round((await stat(file)).mtimeMs)}"`;
    await page.evaluate(async (etag) => {
      const c = await caches.open('localrec-bundles-v1');
      await c.put('/fixtures/cache-test.lrec', new Response(new Uint8Array([76, 82, 69, 67, 1, 2, 3]), { headers: { etag } }));
    }, etag);
    const repaired = await loadOnce();
    assert.deepEqual(repaired.top, first.top, 'never served the damaged copy');
    assert.equal(repaired.cached, bundleBytes.length, 'the copy is whole again');
    assert.deepEqual(bundleRequests().slice(2), [[304, true], [200, false]]);

    // A changed file: downloaded again, not the old copy.
    await copyFile(join(FIXTURES, 'fixture-kinds.lrec'), file);
    const changed = await loadOnce();
    assert.ok(changed.phases.includes('download'), String(changed.phases));
    assert.equal(bundleRequests().at(-1)[0], 200);
    assert.equal(changed.cached, (await stat(file)).size);

    // Offline: the server is gone, the copy serves.
    await fresh.close();
    const offline = await loadOnce();
    assert.ok(offline.phases.includes('cache'), String(offline.phases));
    assert.equal(offline.top.length, 3);
    // `cache: false` neither reads nor writes the copy: offline, it fails.
    const off = await page.evaluate(() =>
      localrec.Recommender.load('/fixtures/cache-test.lrec', { device: 'cpu', namespace: 'cache', cache: false }).then(() => 'loaded', (e) => e.code),
    );
    assert.equal(off, 'NETWORK');
  } finally {
    await page.close();
    await fresh.close().catch(() => {});
    await rm(file, { force: true });
  }
});

test('a full storage quota is reported, and the events are kept and written later', T, async () => {
  // A fresh origin (its own server): Chromium does not enforce a lowered quota on an origin
  // that already holds data from the other tests.
  const fresh = await startServer();
  const page = await context.newPage();
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  try {
    await page.goto(`${fresh.url}/index.html`);
    await page.waitForFunction(() => window.testReady === true);
    await load(page, 'quota', { device: 'cpu', namespace: 'quota' });
    const cdp = await context.newCDPSession(page);
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: fresh.url, quotaSize: 1 });
    // The override reaches the storage backend asynchronously: wait until the page sees it.
    await page.waitForFunction(async () => (await navigator.storage.estimate()).quota <= 1, null, { timeout: 10_000 });
    const big = 'x'.repeat(500);
    const failed = await attempt(page, 'quota', (rec, q) => rec.track({ type: 'search', query: q }), big);
    const during = await onRec(page, 'quota', (rec) => rec.history());
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: fresh.url });
    await onRec(page, 'quota', (rec) => rec.track({ item: 'item-0005', type: 'view' }));
    const afterwards = await onRec(page, 'quota', (rec) => rec.history());
    assert.ok(failed.error, 'the write fails');
    assert.equal(failed.error.code, 'QUOTA_EXCEEDED', failed.error.message);
    assert.match(failed.error.message, /could not be saved.*kept in memory/);
    assert.deepEqual(
      during.map((e) => [e.type, e.saved]),
      [['search', false]],
    );
    assert.deepEqual(
      afterwards.map((e) => [e.type, e.saved]),
      [
        ['search', true],
        ['view', true],
      ],
    );
  } finally {
    await page.close();
    await fresh.close();
  }
});

test('no uncaught errors or panics in any page', () => {
  const bad = consoleErrors.filter((m) => /panicked|internal error|unreachable|RuntimeError|Uncaught/.test(m));
  assert.deepEqual(bad, []);
});
