// The cart (kept in localStorage, per model) and purchases: "Add to cart", "Buy now", the cart
// panel's ✕ and checkout, each pushed to the dataLayer as a GA4 `add_to_cart`, `purchase` or
// `remove_from_cart` (which localrec stores as a "cart", "purchase" or "view" event).
import { $, h, toast } from '../common.js';
import { fmtPrice } from '../catalog.js';
import { state, emit, inCart, push, ga4Item } from './store.js';
import { poster, itemHref } from './cards.js';

const cartKey = () => `reel-corner:cart:${state.source?.key ?? ''}`;

function readCart() {
  try {
    const v = JSON.parse(localStorage.getItem(cartKey()) ?? '[]');
    return Array.isArray(v) ? v.filter((x) => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

/** Replaces the cart, stores it and updates everything that shows it. */
function setCart(ids) {
  state.cart = ids;
  try {
    localStorage.setItem(cartKey(), JSON.stringify(state.cart));
  } catch {
    // storage full or disabled: the cart lives for this page only
  }
  renderCartCount();
  emit('cart'); // the grid's and the product page's buttons
  if ($('#cart-dialog').open) renderCart();
}

function renderCartCount() {
  $('#cart-count').textContent = String(state.cart.length);
}

/** The stored cart of the model just loaded (films it does not have are dropped). */
export function loadCart() {
  state.cart = readCart().filter((id) => state.byId.has(id));
  renderCartCount();
}

/** Empties the cart without tracking anything (for "forget everything"). */
export function clearCart() {
  setCart([]);
}

/** The GA4 `ecommerce` object of some films. */
function ecommerce(ids, extra = {}) {
  const items = ids.map((id) => state.byId.get(id)).filter(Boolean).map(ga4Item);
  return { currency: 'USD', value: items.reduce((s, it) => s + it.price, 0), ...extra, items };
}

let orders = 0;
const transactionId = () => `T-${Date.now().toString(36)}-${++orders}`;

export function addToCart(id) {
  if (inCart(id)) return;
  setCart([...state.cart, id]);
  toast(`“${state.byId.get(id)?.title ?? id}” is in your cart.`, 'ok');
  push({ event: 'add_to_cart', ecommerce: ecommerce([id]) });
}

export function buyNow(id) {
  setCart(state.cart.filter((x) => x !== id));
  toast(`Thank you! “${state.byId.get(id)?.title ?? id}” is yours.`, 'ok');
  push({ event: 'purchase', ecommerce: ecommerce([id], { transaction_id: transactionId() }) });
}

function removeFromCart(id) {
  setCart(state.cart.filter((x) => x !== id));
  push({ event: 'remove_from_cart', ecommerce: ecommerce([id]) });
}

function checkout() {
  const ids = [...state.cart];
  if (!ids.length) return;
  setCart([]);
  toast(`Order placed: ${ids.length} ${ids.length === 1 ? 'film' : 'films'}. Enjoy!`, 'ok');
  push({ event: 'purchase', ecommerce: ecommerce(ids, { transaction_id: transactionId() }) });
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
              onclick: () => removeFromCart(it.id),
            }, '✕'),
          ]))),
    h('div', { class: 'cart-total' }, [h('span', {}, 'Total'), h('strong', {}, fmtPrice(total))]),
    h('button', { type: 'button', class: 'btn primary wide', id: 'checkout', disabled: items.length === 0, onclick: checkout }, items.length ? `Buy ${items.length} ${items.length === 1 ? 'film' : 'films'}` : 'Buy'),
    h('p', { class: 'muted small' }, 'A demo: nothing is charged. Buying records a “purchase” event on this device.'),
  );
}

export function wireCart() {
  $('#open-cart').addEventListener('click', () => {
    renderCart();
    $('#cart-dialog').showModal();
  });
}
