// Reel Corner: the demo storefront. Every shopper action goes through the localrec package
// (rec.track); the "Recommended for you" rail, the personalised search order and the privacy
// panel read it back (recommend / rerank / history / forget). Nothing is sent anywhere.
//
// URL parameters: ?device=auto|webgpu|cpu (default auto), ?model=NAME (a model of
// generated/demo.json) or ?bundle=URL (any .lrec). Routes: #/ and #/item/ID (product page).
import { Recommender } from 'localrec';
import {
  $, h, DemoError, loadDemoConfig, deviceFromUrl, explainError, showErrorPanel, toast,
  fmtMs, fmtBytes, fmtInt, backendLabel, loadPhaseText, loadPhaseFraction,
} from './common.js';
import { loadCatalog, categoryCounts, plainSearch, fmtPrice } from './catalog.js';
import { watchNetwork } from './netwatch.js';

const RAIL_K = 12;
const PAGE = 48;
const RERANK_MAX = 500; // candidates handed to rec.rerank (the rest keep the plain order)

const state = {
  cfg: null,
  device: deviceFromUrl(),
  rec: null,
  source: null, // { key, label, bundle, model? }
  items: [],
  byId: new Map(),
  query: '',
  category: null,
  personal: true,
  shown: PAGE,
  cart: [],
  recs: [],
  lastLatency: undefined,
  history: [],
  loadMs: undefined,
};
window.shop = state; // for the console and the end-to-end tests

// ---------------------------------------------------------------------------------------
// Network counter (starts first, so it sees every request)

const net = watchNetwork((list) => {
  const bad = list.filter((r) => r.carries).length;
  $('#net-count').textContent = String(list.length);
  $('#net-count').title = `${list.length} network requests since this page loaded; ${bad} could carry anything about you`;
  $('#open-privacy').classList.toggle('alert', bad > 0);
  if ($('#privacy-dialog').open) renderNetwork();
});

// ---------------------------------------------------------------------------------------
// Small view helpers

function poster(it, big = false) {
  const initials = it.title
    .replace(/^(The|A|An) /, '')
    .split(/\s+/)
    .slice(0, 2)
    .map((w) => w[0])
    .join('')
    .toUpperCase();
  return h('div', { class: `poster${big ? ' big' : ''}`, style: { '--h': it.hue }, 'aria-hidden': 'true' }, [
    h('span', { class: 'poster-initials' }, initials),
    h('span', { class: 'poster-genre' }, it.categories[0] ?? ''),
    it.year ? h('span', { class: 'poster-year' }, it.year) : null,
  ]);
}

const itemHref = (id) => `#/item/${encodeURIComponent(id)}`;
const inCart = (id) => state.cart.includes(id);

/** A card of the recommendation rail (or of the product page's "picked for you now"). */
function railCard(r) {
  const it = state.byId.get(r.item) ?? { id: r.item, title: r.title ?? r.item, categories: r.categories ?? [], hue: 0, year: '', price: 9.99 };
  const reason = r.reasons?.[0];
  return h('li', { class: 'rail-item' }, [
    h('a', { class: 'card rail-card', href: itemHref(it.id), dataset: { item: it.id }, title: `score ${r.score.toFixed(3)}` }, [
      poster(it),
      h('span', { class: 'card-title' }, it.title),
      h('span', { class: 'card-meta' }, [it.year, it.categories.slice(0, 2).join(', ')].filter(Boolean).join(' · ')),
      h('span', { class: `reason reason-${reason?.kind ?? 'none'}` }, reason?.text ?? ''),
    ]),
  ]);
}

/** A card of the catalogue grid. `note`: the plain-order rank, when the order is personalised. */
function gridCard(it, note) {
  const added = inCart(it.id);
  return h('li', { class: 'grid-item' }, [
    h('article', { class: 'card grid-card', dataset: { item: it.id } }, [
      h('a', { class: 'card-link', href: itemHref(it.id) }, [
        poster(it),
        h('span', { class: 'card-title' }, it.title),
      ]),
      h('span', { class: 'card-meta' }, [it.year, it.categories.slice(0, 2).join(', ')].filter(Boolean).join(' · ')),
      note ? h('span', { class: 'rank-note', title: 'Its position in the plain order' }, note) : null,
      h('div', { class: 'card-foot' }, [
        h('span', { class: 'price' }, fmtPrice(it.price)),
        h(
          'button',
          {
            type: 'button',
            class: `btn small${added ? ' done' : ''}`,
            'aria-label': added ? `${it.title} is in your cart` : `Add ${it.title} to the cart`,
            disabled: added,
            onclick: () => addToCart(it.id),
          },
          added ? 'In cart ✓' : 'Add to cart',
        ),
      ]),
    ]),
  ]);
}

function skeletons(n, cls) {
  return Array.from({ length: n }, () => h('li', { class: `${cls} skeleton`, 'aria-hidden': 'true' }, h('div', { class: 'card' }, [h('div', { class: 'poster' }), h('span', { class: 'bar' }), h('span', { class: 'bar short' })])));
}

// ---------------------------------------------------------------------------------------
// Loading a model

function setProgress(p) {
  $('#load-progress').hidden = false;
  $('#load-bar').value = loadPhaseFraction(p);
  $('#load-text').textContent = loadPhaseText(p, state.device);
}

/** Loads a bundle and its catalogue; resolves to `{ rec, items, loadMs }` (the page is unchanged). */
async function openBundle(source) {
  const t0 = performance.now();
  setProgress({ phase: 'init' });
  $('#load-text').textContent = 'Loading localrec (WebAssembly)…';
  let rec;
  try {
    rec = await Recommender.load(source.bundle, { device: state.device, namespace: `shop:${source.key}`, onProgress: setProgress });
  } catch (e) {
    throw explainError(e, source.model ? `The model “${source.label}”` : 'The bundle');
  }
  try {
    const items = loadCatalog(rec);
    return { rec, items, loadMs: performance.now() - t0 };
  } catch (e) {
    rec.free();
    throw new DemoError('The bundle’s catalogue could not be read', String(e.message ?? e), { cause: e });
  }
}

/** Makes a loaded bundle the shop's model and renders everything. */
async function useBundle(source, { rec, items, loadMs }) {
  const old = state.rec;
  Object.assign(state, { rec, source, items, loadMs, byId: new Map(items.map((it) => [it.id, it])), category: null, shown: PAGE });
  old?.free();
  $('#fatal').hidden = true;
  $('#rail-section').hidden = false;
  $('#catalog').hidden = false;
  state.cart = readCart().filter((id) => state.byId.has(id));
  $('#load-progress').hidden = true;
  $('#q').disabled = false;
  renderBadge();
  renderModelInfo();
  renderGenres();
  renderCartCount();
  await Promise.all([refreshRail(), renderGrid()]);
  route();
  document.body.dataset.ready = 'true'; // the rail and the grid are on screen (tests wait for it)
}

function renderBadge() {
  const { name, tip } = backendLabel(state.rec);
  const b = $('#backend-badge');
  b.disabled = false;
  b.dataset.backend = state.rec.backend;
  b.title = `${tip}. Latency of the last recommendation, measured in this page.`;
  $('#backend-tip').textContent = tip;
  $('#backend-name').textContent = name;
  $('#latency').textContent = fmtMs(state.lastLatency);
}

function renderModelInfo() {
  const i = state.rec.info;
  $('#model-info').replaceChildren(
    h('span', {}, [
      'Model: ', h('strong', {}, state.source.label), ` (${i.encoder}, ${fmtInt(i.items)} items, trained on ${i.dataset}`,
      i.metrics?.['test/ndcg@10'] !== undefined ? `, test NDCG@10 ${i.metrics['test/ndcg@10'].toFixed(4)}` : '',
      `) · loaded in ${fmtMs(state.loadMs)} · events in namespace “${state.rec.namespace}”`,
    ]),
  );
}

// ---------------------------------------------------------------------------------------
// Tracking (every shopper action goes through here)

async function track(events) {
  try {
    await state.rec.track(events);
  } catch (e) {
    const err = explainError(e, 'Saving your activity');
    toast(`${err.title}. ${err.hint ? '' : err.message}`.trim(), 'error', 6000);
    if (e?.code !== 'QUOTA_EXCEEDED' && e?.code !== 'STORAGE') return;
  }
  // The rail, the personalised results and the privacy panel all follow the new history.
  const work = [refreshRail()];
  if (state.personal && (state.query || state.category)) work.push(renderGrid());
  if ($('#privacy-dialog').open) work.push(renderPrivacy());
  await Promise.all(work);
}

// ---------------------------------------------------------------------------------------
// The recommendation rail

let railRun = null;
let railAgain = false;

/** Recomputes the rail; calls made while one runs are merged into one more run. */
function refreshRail() {
  if (railRun) {
    railAgain = true;
    return railRun;
  }
  railRun = (async () => {
    do {
      railAgain = false;
      await computeRail();
    } while (railAgain);
  })().finally(() => (railRun = null));
  return railRun;
}

async function computeRail() {
  const rec = state.rec;
  const rail = $('#rail');
  rail.setAttribute('aria-busy', 'true');
  let recs, history;
  try {
    const t0 = performance.now();
    recs = await rec.recommend({ k: RAIL_K, explain: true, exclude: state.cart });
    state.lastLatency = performance.now() - t0;
    history = await rec.history();
  } catch (e) {
    const box = h('div');
    showErrorPanel(box, explainError(e, 'The recommendation'), { retry: refreshRail });
    rail.replaceChildren(h('li', { class: 'rail-error' }, box));
    rail.setAttribute('aria-busy', 'false');
    return;
  }
  if (rec !== state.rec) return; // the model was switched meanwhile
  state.recs = recs;
  state.history = history;
  const cold = recs.length > 0 && recs.every((r) => r.reasons?.[0]?.kind === 'popular');
  const n = history.filter((e) => e.item).length;
  $('#rail-section').dataset.state = cold ? 'popular' : 'personal';
  $('#rail-title').textContent = cold ? 'Popular right now' : 'Recommended for you';
  $('#rail-sub').textContent = cold
    ? 'Nothing about you yet, so these are what most shoppers pick. Open a film: this row adapts at once, on your device.'
    : `From your ${n} ${n === 1 ? 'event' : 'events'}, computed in this tab by ${rec.info.encoder} on the ${rec.backend === 'webgpu' ? 'GPU (WebGPU)' : 'CPU'} in ${fmtMs(state.lastLatency)}. Nothing was sent.`;
  rail.replaceChildren(...recs.map(railCard));
  rail.setAttribute('aria-busy', 'false');
  rail.dataset.updates = String(Number(rail.dataset.updates ?? 0) + 1);
  $('#latency').textContent = fmtMs(state.lastLatency);
  const more = $('#item-recs');
  if (more) more.replaceChildren(...recs.filter((r) => r.item !== more.dataset.item).slice(0, 4).map(railCard));
}

// ---------------------------------------------------------------------------------------
// Catalogue grid, search and genre filter

function renderGenres() {
  const box = $('#genres');
  const chip = (label, value, count) =>
    h(
      'button',
      {
        type: 'button',
        class: 'chip',
        'aria-pressed': String(state.category === value),
        dataset: { category: value ?? '' },
        onclick: () => {
          state.category = state.category === value ? null : value;
          state.shown = PAGE;
          renderGenres();
          renderGrid();
        },
      },
      count === undefined ? label : [label, h('span', { class: 'chip-count' }, String(count))],
    );
  const cats = categoryCounts(state.items).slice(0, 30);
  box.replaceChildren(chip('All', null), ...cats.map(([c, n]) => chip(c, c, n)));
  box.hidden = cats.length === 0;
}

let gridSeq = 0;

async function renderGrid() {
  const seq = ++gridSeq;
  const grid = $('#grid');
  const filtered = Boolean(state.query || state.category);
  const plain = filtered ? plainSearch(state.items, state.query, state.category) : [...state.items].sort((a, b) => b.popularity - a.popularity);
  let order = plain;
  let note = '';
  $('#personal-wrap').hidden = !filtered;
  grid.dataset.order = filtered && state.personal ? 'personal' : 'plain';
  if (filtered && state.personal && plain.length > 1) {
    grid.setAttribute('aria-busy', 'true');
    const head = plain.slice(0, RERANK_MAX);
    try {
      const t0 = performance.now();
      const ranked = await state.rec.rerank(head.map((it) => it.id), {});
      const ms = performance.now() - t0;
      if (seq !== gridSeq) return;
      order = [...ranked.map((r) => state.byId.get(r.item)), ...plain.slice(RERANK_MAX)];
      note = `ordered for you on this device in ${fmtMs(ms)}`;
    } catch (e) {
      if (seq !== gridSeq) return;
      const err = explainError(e, 'Personalising the results');
      note = `plain order (${err.title.toLowerCase()})`;
    }
  }
  if (seq !== gridSeq) return;
  const plainRank = new Map(plain.map((it, i) => [it.id, i + 1]));
  const personal = grid.dataset.order === 'personal';
  const shown = order.slice(0, state.shown);
  grid.replaceChildren(
    ...shown.map((it, i) => {
      const was = plainRank.get(it.id);
      const moved = personal && was !== i + 1 ? (was > i + 1 ? `▲ from #${was}` : `▼ from #${was}`) : '';
      return gridCard(it, moved);
    }),
  );
  grid.setAttribute('aria-busy', 'false');
  $('#results-title').textContent = state.query
    ? `Results for “${state.query}”${state.category ? ` in ${state.category}` : ''}`
    : state.category
      ? state.category
      : 'Most popular films';
  $('#results-count').textContent = `${fmtInt(order.length)} ${order.length === 1 ? 'film' : 'films'}${note ? ` · ${note}` : ''}`;
  const empty = $('#grid-empty');
  empty.hidden = order.length > 0;
  if (!order.length) {
    empty.replaceChildren(
      `No films match “${state.query}”${state.category ? ` in ${state.category}` : ''}. `,
      h('button', { type: 'button', class: 'link-btn', onclick: clearSearch }, 'Clear the search'),
    );
  }
  $('#more').hidden = order.length <= state.shown;
}

function clearSearch() {
  $('#q').value = '';
  state.query = '';
  state.category = null;
  state.shown = PAGE;
  renderGenres();
  renderGrid();
}

// Searching: results follow the typing; a search event is tracked once the shopper pauses
// (or presses Enter), not for every keystroke.
let typing;
let searchTimer;
let lastTrackedQuery = '';
function onSearchInput() {
  clearTimeout(typing);
  clearTimeout(searchTimer);
  typing = setTimeout(() => {
    state.query = $('#q').value.trim();
    state.shown = PAGE;
    renderGrid();
  }, 120);
  searchTimer = setTimeout(trackSearch, 1200);
}
function trackSearch() {
  clearTimeout(searchTimer);
  const q = $('#q').value.trim();
  if (!q || q === lastTrackedQuery || !state.rec) return;
  lastTrackedQuery = q;
  track({ type: 'search', query: q });
}

// ---------------------------------------------------------------------------------------
// Product page (#/item/ID)

let openedFromApp = false; // the item route was pushed by this page (so Back closes it)
let shownItem = null;

function route() {
  if (!state.rec) return;
  const m = location.hash.match(/^#\/item\/(.+)$/);
  if (m) openItem(decodeURIComponent(m[1]));
  else if ($('#item-dialog').open) $('#item-dialog').close();
}

function openItem(id) {
  const it = state.byId.get(id);
  const dlg = $('#item-dialog');
  if (!it) {
    toast(`There is no film with id “${id}” in this shop.`, 'error');
    history.replaceState(null, '', `${location.pathname}${location.search}#/`);
    return;
  }
  if (dlg.open && shownItem === id) return;
  if (!dlg.open) rememberOpener();
  shownItem = id;
  renderItem(it);
  if (!dlg.open) dlg.showModal();
  $('#item-dialog [data-autofocus]')?.focus();
  track({ item: id, type: 'view' });
}

function renderItem(it) {
  const added = inCart(it.id);
  $('#item-body').replaceChildren(
    h('button', { type: 'button', class: 'icon-btn close-corner', 'aria-label': 'Close the product page', onclick: () => $('#item-dialog').close() }, '✕'),
    h('div', { class: 'product-main' }, [
      poster(it, true),
      h('div', { class: 'product-info' }, [
        h('h2', { id: 'item-title' }, it.title),
        h('p', { class: 'muted' }, [it.year ? `${it.year} · ` : '', `${fmtInt(it.popularity)} shoppers interacted with it`]),
        h('div', { class: 'tags' }, it.categories.map((c) => h('span', { class: 'tag' }, c))),
        h('p', { class: 'price big' }, fmtPrice(it.price)),
        h('div', { class: 'product-actions' }, [
          h(
            'button',
            { type: 'button', class: `btn${added ? ' done' : ''}`, id: 'item-cart', 'data-autofocus': true, disabled: added, onclick: () => addToCart(it.id) },
            added ? 'In your cart ✓' : 'Add to cart',
          ),
          h('button', { type: 'button', class: 'btn primary', id: 'item-buy', onclick: () => buyNow(it.id) }, 'Buy now'),
        ]),
        h('p', { class: 'muted small' }, 'Opening this page was recorded as a “view” in this browser only.'),
      ]),
    ]),
    h('section', { class: 'product-recs', 'aria-labelledby': 'item-recs-title' }, [
      h('h3', { id: 'item-recs-title' }, 'Picked for you now'),
      h('ol', { class: 'rail-list mini', id: 'item-recs', 'aria-live': 'polite', dataset: { item: it.id } }, skeletons(4, 'rail-item')),
    ]),
  );
}

// The card that opened the product page may have been re-rendered meanwhile (the rail and
// the results follow every event), so the dialog cannot give focus back to it by itself:
// remember which list and item it was, and focus the same item (or that list) on close.
let opener = null;
function rememberOpener() {
  const a = document.activeElement;
  const list = a?.closest?.('ol[id], ul[id]');
  opener = list ? { list: list.id, item: a.closest('[data-item]')?.dataset.item } : null;
}
function restoreFocus() {
  if (!opener || (document.activeElement && document.activeElement !== document.body)) return;
  const list = document.getElementById(opener.list);
  const same = opener.item ? list?.querySelector(`[data-item="${CSS.escape(opener.item)}"]`) : null;
  const target = same ? (same.matches('a') ? same : same.querySelector('a')) : list?.querySelector('a');
  target?.focus();
  opener = null;
}

$('#item-dialog').addEventListener('close', () => {
  shownItem = null;
  setTimeout(restoreFocus);
  if (/^#\/item\//.test(location.hash)) {
    if (openedFromApp) history.back();
    else history.replaceState(null, '', `${location.pathname}${location.search}#/`);
  }
  openedFromApp = false;
});
// Clicks on the backdrop close the dialogs too.
for (const dlg of document.querySelectorAll('dialog')) {
  dlg.addEventListener('click', (ev) => {
    if (ev.target === dlg) dlg.close();
  });
  dlg.addEventListener('click', (ev) => {
    if (ev.target.closest('[data-close]')) dlg.close();
  });
}
document.addEventListener('click', (ev) => {
  const a = ev.target.closest('a[href^="#/item/"]');
  if (a) {
    // A link from inside the product page replaces it rather than stacking history entries.
    if ($('#item-dialog').open) {
      ev.preventDefault();
      history.replaceState(null, '', a.getAttribute('href'));
      route();
    } else openedFromApp = true;
  }
});
window.addEventListener('hashchange', route);

// ---------------------------------------------------------------------------------------
// Cart and purchases

const cartKey = () => `reel-corner:cart:${state.source?.key ?? ''}`;
function readCart() {
  try {
    const v = JSON.parse(localStorage.getItem(cartKey()) ?? '[]');
    return Array.isArray(v) ? v.filter((x) => typeof x === 'string') : [];
  } catch {
    return [];
  }
}
function saveCart() {
  try {
    localStorage.setItem(cartKey(), JSON.stringify(state.cart));
  } catch {
    // storage full or disabled: the cart lives for this page only
  }
  renderCartCount();
}
function renderCartCount() {
  $('#cart-count').textContent = String(state.cart.length);
}

function refreshCartButtons() {
  for (const card of document.querySelectorAll('.grid-card')) {
    const id = card.dataset.item;
    const it = state.byId.get(id);
    card.querySelector('.card-foot').replaceWith(gridCard(it).querySelector('.card-foot'));
  }
  if ($('#item-dialog').open && shownItem) renderItemActions(shownItem);
  if ($('#cart-dialog').open) renderCart();
}

function renderItemActions(id) {
  const btn = $('#item-cart');
  if (!btn) return;
  const added = inCart(id);
  btn.disabled = added;
  btn.classList.toggle('done', added);
  btn.textContent = added ? 'In your cart ✓' : 'Add to cart';
}

async function addToCart(id) {
  if (inCart(id)) return;
  state.cart.push(id);
  saveCart();
  refreshCartButtons();
  toast(`“${state.byId.get(id)?.title ?? id}” is in your cart.`, 'ok');
  await track({ item: id, type: 'cart' });
}

async function buyNow(id) {
  state.cart = state.cart.filter((x) => x !== id);
  saveCart();
  refreshCartButtons();
  toast(`Thank you! “${state.byId.get(id)?.title ?? id}” is yours.`, 'ok');
  await track({ item: id, type: 'purchase' });
}

async function checkout() {
  const ids = [...state.cart];
  if (!ids.length) return;
  state.cart = [];
  saveCart();
  refreshCartButtons();
  renderCart();
  toast(`Order placed: ${ids.length} ${ids.length === 1 ? 'film' : 'films'}. Enjoy!`, 'ok');
  await track(ids.map((item) => ({ item, type: 'purchase' })));
}

function renderCart() {
  const items = state.cart.map((id) => state.byId.get(id)).filter(Boolean);
  const total = items.reduce((s, it) => s + it.price, 0);
  $('#cart-body').replaceChildren(
    items.length === 0
      ? h('p', { class: 'empty' }, 'Your cart is empty. Add a film from the shop or its page.')
      : h('ul', { class: 'cart-list' }, items.map((it) =>
          h('li', { class: 'cart-line', dataset: { item: it.id } }, [
            poster(it),
            h('div', {}, [h('a', { href: itemHref(it.id), onclick: () => $('#cart-dialog').close() }, it.title), h('div', { class: 'muted small' }, it.year)]),
            h('span', { class: 'price' }, fmtPrice(it.price)),
            h('button', {
              type: 'button', class: 'icon-btn', 'aria-label': `Remove ${it.title} from the cart`,
              onclick: () => {
                state.cart = state.cart.filter((x) => x !== it.id);
                saveCart();
                refreshCartButtons();
              },
            }, '✕'),
          ]))),
    h('div', { class: 'cart-total' }, [h('span', {}, 'Total'), h('strong', {}, fmtPrice(total))]),
    h('button', { type: 'button', class: 'btn primary wide', id: 'checkout', disabled: items.length === 0, onclick: checkout }, items.length ? `Buy ${items.length} ${items.length === 1 ? 'film' : 'films'}` : 'Buy'),
    h('p', { class: 'muted small' }, 'A demo: nothing is charged. Buying records a “purchase” event on this device.'),
  );
}

// ---------------------------------------------------------------------------------------
// Privacy panel

async function renderPrivacy() {
  const rec = state.rec;
  if (!rec) {
    // No model loaded (an error): there is still the network list to show.
    $('#privacy-body').replaceChildren(
      h('p', {}, 'No model is loaded, so nothing about you has been recorded on this page.'),
      h('section', { class: 'privacy-section', 'aria-labelledby': 'net-title', id: 'network-section' }),
    );
    renderNetwork();
    return;
  }
  let events = [];
  let error;
  try {
    events = await rec.history();
  } catch (e) {
    error = explainError(e, 'Reading your stored events');
  }
  const rows = [...events].reverse().map((e) => {
    const it = e.item ? state.byId.get(e.item) : undefined;
    return h('tr', { dataset: { type: e.type } }, [
      h('td', {}, new Date(e.ts).toLocaleString()),
      h('td', {}, h('span', { class: `event event-${e.type}` }, e.type)),
      h('td', {}, e.type === 'search' ? `“${e.query}”` : it ? it.title : e.item),
      h('td', {}, e.saved ? 'IndexedDB' : h('span', { class: 'warn' }, 'memory only')),
    ]);
  });
  $('#privacy-body').replaceChildren(
    h('section', { class: 'privacy-section', 'aria-labelledby': 'stored-title' }, [
      h('h3', { id: 'stored-title' }, ['Stored in this browser ', h('span', { class: 'pill', id: 'event-count' }, `${events.length} ${events.length === 1 ? 'event' : 'events'}`)]),
      h('p', {}, [
        'Your views, searches, cart additions and purchases are kept in this browser’s IndexedDB (database “localrec”, namespace ',
        h('code', {}, rec.namespace),
        '). The model runs in this tab and reads them there; they are never uploaded. Your cart is kept in localStorage (',
        String(state.cart.length), ' ', state.cart.length === 1 ? 'film' : 'films', ').',
      ]),
      error ? h('p', { class: 'warn' }, `${error.title}: ${error.message}`) : null,
      h('div', { class: 'row-actions' }, [
        h('button', { type: 'button', class: 'btn', id: 'export-json', disabled: events.length === 0, onclick: () => exportEvents(events) }, 'Export as JSON'),
        forgetButton(events.length),
      ]),
      events.length === 0
        ? h('p', { class: 'empty' }, 'Nothing stored: you are a new shopper here.')
        : h('div', { class: 'table-wrap' }, h('table', { class: 'events', id: 'events-table' }, [
            h('thead', {}, h('tr', {}, ['When', 'Event', 'Film or search', 'Where'].map((t) => h('th', { scope: 'col' }, t)))),
            h('tbody', {}, rows),
          ])),
    ]),
    h('section', { class: 'privacy-section', 'aria-labelledby': 'net-title', id: 'network-section' }),
  );
  renderNetwork();
}

function forgetButton(n) {
  const wrap = h('span', { class: 'forget' });
  const ask = h('button', { type: 'button', class: 'btn danger', id: 'forget', disabled: n === 0 }, 'Forget everything');
  ask.addEventListener('click', () => {
    wrap.replaceChildren(
      h('span', {}, `Delete ${n} ${n === 1 ? 'event' : 'events'} and the cart? `),
      h('button', { type: 'button', class: 'btn danger', id: 'forget-confirm', onclick: forgetAll }, 'Yes, forget'),
      h('button', { type: 'button', class: 'btn', onclick: () => wrap.replaceChildren(ask) }, 'Cancel'),
    );
    $('#forget-confirm').focus();
  });
  wrap.append(ask);
  return wrap;
}

async function forgetAll() {
  try {
    await state.rec.forget();
  } catch (e) {
    const err = explainError(e, 'Forgetting');
    toast(`${err.title}: ${err.message}`, 'error', 6000);
    return;
  }
  state.cart = [];
  saveCart();
  lastTrackedQuery = '';
  refreshCartButtons();
  toast('Forgotten: this browser holds nothing about you any more.', 'ok');
  await Promise.all([renderPrivacy(), refreshRail(), renderGrid()]);
  $('#export-json')?.focus();
}

function exportEvents(events) {
  const doc = {
    exported: new Date().toISOString(),
    shop: 'Reel Corner (localrec demo)',
    namespace: state.rec.namespace,
    model: state.source.label,
    events,
  };
  const url = URL.createObjectURL(new Blob([JSON.stringify(doc, null, 2)], { type: 'application/json' }));
  const a = h('a', { href: url, download: `reel-corner-my-data-${new Date().toISOString().slice(0, 10)}.json` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function renderNetwork() {
  const box = $('#network-section');
  if (!box) return;
  const list = net.list;
  const bad = list.filter((r) => r.carries);
  box.replaceChildren(
    h('h3', { id: 'net-title' }, ['Network ', h('span', { class: 'pill', id: 'net-total' }, `${list.length} requests`)]),
    h('p', {}, [
      h('strong', {}, `${list.length} requests since this page loaded`), ', ',
      bad.length === 0
        ? h('strong', { class: 'ok', id: 'net-verdict' }, 'none of them carries your activity')
        : h('strong', { class: 'warn', id: 'net-verdict' }, `${bad.length} could carry data`),
      ': each is a plain download of the page, the localrec package, the model or its data (counted by the browser’s own Resource Timing). Tracking, recommending and forgetting make no request at all.',
    ]),
    h('div', { class: 'table-wrap' }, h('table', { class: 'net' }, [
      h('thead', {}, h('tr', {}, ['#', 'What', 'Path', 'Size', 'About you?'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, list.map((r, i) => h('tr', { class: r.carries ? 'bad' : '' }, [
        h('td', {}, String(i + 1)),
        h('td', {}, r.what),
        h('td', { class: 'path' }, r.url),
        h('td', {}, r.bytes ? `${fmtBytes(r.bytes)}${r.cached ? ' (cached)' : ''}` : '–'),
        h('td', {}, r.carries ? `check: ${r.flags.join(', ')}` : 'no'),
      ]))),
    ])),
  );
}

// ---------------------------------------------------------------------------------------
// Model switcher

function renderModelDialog(message) {
  const cur = state.source?.key;
  const models = state.cfg?.models ?? [];
  const status = h('p', { class: 'model-status', role: 'status', id: 'model-status' }, message ?? '');
  const choose = async (source) => {
    status.textContent = 'Loading…';
    try {
      const loaded = await openBundle(source);
      await useBundle(source, loaded);
      const params = new URLSearchParams(location.search);
      params.delete('model');
      params.delete('bundle');
      if (source.model) params.set('model', source.model.name);
      else if (typeof source.bundle === 'string') params.set('bundle', source.bundle);
      history.replaceState(null, '', `${location.pathname}${params.size ? `?${params}` : ''}${location.hash}`);
      $('#model-dialog').close();
      toast(`Now recommending with ${source.label}.`, 'ok');
    } catch (e) {
      $('#load-progress').hidden = true;
      const err = explainError(e, 'The bundle');
      status.replaceChildren(h('span', { class: 'warn' }, `${err.title}. `), err.message);
    }
  };
  const urlInput = h('input', { type: 'text', inputmode: 'url', spellcheck: 'false', id: 'bundle-url', placeholder: 'https://…/shop.lrec or generated/other.lrec', class: 'input' });
  const fileInput = h('input', { type: 'file', id: 'bundle-file', accept: '.lrec,application/octet-stream' });
  fileInput.addEventListener('change', async () => {
    const f = fileInput.files?.[0];
    if (!f) return;
    choose({ key: `file:${f.name}`, label: f.name, bundle: new Uint8Array(await f.arrayBuffer()) });
  });
  $('#model-body').replaceChildren(
    models.length
      ? h('fieldset', { class: 'models' }, [
          h('legend', {}, 'Models that come with the demo'),
          ...models.map((m) =>
            h('button', {
              type: 'button', class: `model-choice${m.name === cur ? ' current' : ''}`, 'aria-current': m.name === cur ? 'true' : undefined,
              onclick: () => choose(sourceFor(m)),
            }, [h('strong', {}, m.name), h('span', { class: 'muted small' }, m.file)])),
        ])
      : null,
    h('form', { class: 'url-form', onsubmit: (ev) => {
      ev.preventDefault();
      const u = urlInput.value.trim();
      if (u) choose({ key: `url:${u}`, label: u.split('/').pop() || u, bundle: u });
    } }, [
      h('label', { for: 'bundle-url' }, 'Load a bundle from a URL'),
      h('div', { class: 'row' }, [urlInput, h('button', { type: 'submit', class: 'btn' }, 'Load')]),
    ]),
    h('div', { class: 'file-pick' }, [h('label', { for: 'bundle-file' }, 'Or open a .lrec file from this computer'), fileInput]),
    h('p', { class: 'muted small' }, 'Each model keeps its own history (a separate namespace), since their catalogues differ.'),
    status,
  );
}

const sourceFor = (m) => ({ key: m.name, label: m.name, bundle: m.url, model: m });

// ---------------------------------------------------------------------------------------
// Start

function wireUi() {
  $('#search-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    clearTimeout(typing);
    state.query = $('#q').value.trim();
    renderGrid();
    trackSearch();
  });
  $('#q').addEventListener('input', onSearchInput);
  $('#personal').addEventListener('change', (ev) => {
    state.personal = ev.target.checked;
    renderGrid();
  });
  $('#more').addEventListener('click', () => {
    state.shown += PAGE;
    renderGrid();
  });
  $('#open-cart').addEventListener('click', () => {
    renderCart();
    $('#cart-dialog').showModal();
  });
  $('#open-privacy').addEventListener('click', async () => {
    await renderPrivacy();
    $('#privacy-dialog').showModal();
  });
  $('#open-model').addEventListener('click', () => {
    renderModelDialog();
    $('#model-dialog').showModal();
  });
  $('#backend-badge').addEventListener('click', () => toast($('#backend-badge').title, 'info', 6000));
  // "/" focuses the search box, as in many shops.
  document.addEventListener('keydown', (ev) => {
    if (ev.key === '/' && !ev.ctrlKey && !ev.metaKey && !(ev.target instanceof HTMLInputElement) && !document.querySelector('dialog[open]')) {
      ev.preventDefault();
      $('#q').focus();
    }
  });
}

async function main() {
  wireUi();
  $('#rail').replaceChildren(...skeletons(6, 'rail-item'));
  $('#grid').replaceChildren(...skeletons(12, 'grid-item'));
  try {
    const params = new URLSearchParams(location.search);
    let source;
    const bundleParam = params.get('bundle');
    if (bundleParam) {
      state.cfg = await loadDemoConfig().catch(() => null);
      source = { key: `url:${bundleParam}`, label: bundleParam.split('/').pop() || bundleParam, bundle: bundleParam };
    } else {
      state.cfg = await loadDemoConfig();
      const want = params.get('model');
      const m = state.cfg.models.find((x) => x.name === want) ?? state.cfg.models[0];
      source = sourceFor(m);
    }
    await useBundle(source, await openBundle(source));
  } catch (e) {
    $('#load-progress').hidden = true;
    $('#rail-section').hidden = true;
    $('#catalog').hidden = true;
    showErrorPanel($('#fatal'), e, { retry: () => location.reload() });
    $('#backend-name').textContent = 'No model';
    if (new URLSearchParams(location.search).has('bundle') && state.cfg) {
      $('#fatal .panel').append(h('p', {}, [h('a', { href: location.pathname }, 'Open the shop with the demo’s own model instead')]));
    }
    document.body.dataset.ready = 'error';
  }
}

main();
