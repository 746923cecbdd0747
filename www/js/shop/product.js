// The product page: a dialog on the route #/item/ID. Opening it pushes a GA4 `view_item`; it offers
// "Add to cart" and "Buy now" and shows the rail's fresh picks ("Picked for you now").
import { $, h, toast, fmtInt } from '../common.js';
import { fmtPrice } from '../catalog.js';
import { state, on, inCart, push, ga4Item } from './store.js';
import { poster, railCard, skeletons } from './cards.js';
import { addToCart, buyNow } from './cart.js';

let openedFromApp = false; // the item route was pushed by this page (so Back closes it)
let shownItem = null;

/** Opens or closes the product page to match the URL's hash. */
export function route() {
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
  push({ event: 'view_item', ecommerce: { currency: 'USD', value: it.price, items: [ga4Item(it)] } });
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

/** The "Add to cart" button of the open product page, after the cart changed. */
function renderItemActions() {
  const btn = $('#item-cart');
  if (!$('#item-dialog').open || !shownItem || !btn) return;
  const added = inCart(shownItem);
  btn.disabled = added;
  btn.classList.toggle('done', added);
  btn.textContent = added ? 'In your cart ✓' : 'Add to cart';
}

/** "Picked for you now": the rail's recommendations, less the film on show. */
function renderItemRecs(recs) {
  const more = $('#item-recs');
  if (more) more.replaceChildren(...recs.filter((r) => r.item !== more.dataset.item).slice(0, 4).map(railCard));
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

export function wireProductPage() {
  $('#item-dialog').addEventListener('close', () => {
    shownItem = null;
    setTimeout(restoreFocus);
    if (/^#\/item\//.test(location.hash)) {
      if (openedFromApp) history.back();
      else history.replaceState(null, '', `${location.pathname}${location.search}#/`);
    }
    openedFromApp = false;
  });
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
  on('cart', renderItemActions);
  on('recs', renderItemRecs);
}
