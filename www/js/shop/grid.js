// The catalogue grid: most popular films first; a search box and genre chips filter it, and a
// filtered list is re-ranked for the shopper on the device (rec.rerank) unless the
// "Personalised order" switch is off.
import { $, h, explainError, fmtMs, fmtInt } from '../common.js';
import { categoryCounts, plainSearch, fmtPrice } from '../catalog.js';
import { state, on, inCart, push, PAGE } from './store.js';
import { poster, itemHref, cardMeta, skeletons } from './cards.js';
import { addToCart } from './cart.js';

const RERANK_MAX = 500; // candidates handed to rec.rerank (the rest keep the plain order)

/** A card of the catalogue grid. `note`: the plain-order rank, when the order is personalised. */
function gridCard(it, note) {
  const added = inCart(it.id);
  return h('li', { class: 'grid-item' }, [
    h('article', { class: 'card grid-card', dataset: { item: it.id } }, [
      h('a', { class: 'card-link', href: itemHref(it.id) }, [
        poster(it),
        h('span', { class: 'card-title' }, it.title),
      ]),
      h('span', { class: 'card-meta' }, cardMeta(it)),
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

/** The "Add to cart" / "In cart ✓" buttons of the cards on screen, after the cart changed. */
function refreshCartButtons() {
  for (const card of document.querySelectorAll('.grid-card')) {
    const it = state.byId.get(card.dataset.item);
    card.querySelector('.card-foot').replaceWith(gridCard(it).querySelector('.card-foot'));
  }
}

export function renderGenres() {
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

export async function renderGrid() {
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

// Searching: results follow the typing; a GA4 `search` is pushed once the shopper pauses
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
  push({ event: 'search', search_term: q });
}

/** Shows the catalogue of the model just loaded (all films, no filter). */
export function showCatalogue() {
  $('#catalog').hidden = false;
  $('#q').disabled = false;
  renderGenres();
  return renderGrid();
}

export function wireCatalogue() {
  $('#grid').replaceChildren(...skeletons(12, 'grid-item'));
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
  // "/" focuses the search box, as in many shops.
  document.addEventListener('keydown', (ev) => {
    if (ev.key === '/' && !ev.ctrlKey && !ev.metaKey && !(ev.target instanceof HTMLInputElement) && !document.querySelector('dialog[open]')) {
      ev.preventDefault();
      $('#q').focus();
    }
  });
  on('cart', refreshCartButtons);
  on('history', ({ forgotten } = {}) => {
    if (forgotten) {
      lastTrackedQuery = '';
      return renderGrid();
    }
    // Personalised results follow the new history.
    if (state.personal && (state.query || state.category)) return renderGrid();
  });
}
