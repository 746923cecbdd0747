// The shop's state and the one way shopper actions reach localrec (the dataLayer).
//
// `state` is the single mutable object of the page (also `window.shop`, for the console and
// the end-to-end tests). Views do not call each other; they publish and subscribe here:
//   'history'  after events were tracked (or forgotten: detail `{ forgotten: true }`)
//   'cart'     after the cart changed
//   'recs'     after the recommendation rail was recomputed (detail: the recommendations)
// `emit` calls the listeners at once, in order, and resolves when all they return resolved.
import { connectDataLayer } from 'localrec';
import { deviceFromUrl, explainError, toast } from '../common.js';

export const PAGE = 48; // catalogue cards shown per "Show more"

export const state = {
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
window.shop = state;

const listeners = new Map();

/** Calls `fn(detail)` after every `emit(topic)`. */
export function on(topic, fn) {
  if (!listeners.has(topic)) listeners.set(topic, []);
  listeners.get(topic).push(fn);
}

/** Calls the listeners of `topic`; resolves when the work they return is done. */
export function emit(topic, detail) {
  return Promise.all((listeners.get(topic) ?? []).map((fn) => fn(detail)));
}

export const inCart = (id) => state.cart.includes(id);

// Shopper actions are pushed as GA4 e-commerce events to `window.dataLayer`, the array Google
// Tag Manager and gtag.js read (this demo loads neither, so the array stays in the page), and
// localrec's connectDataLayer tracks them: the tagging a shop already has is all it needs.

/** A film as a GA4 e-commerce item. */
export const ga4Item = (it) => ({ item_id: it.id, item_name: it.title, item_category: it.categories[0], price: it.price, quantity: 1 });

/** Pushes a GA4 event to the dataLayer (clearing the previous `ecommerce` object first, as Google's guide does). */
export function push(event) {
  window.dataLayer ??= [];
  if (event.ecommerce) window.dataLayer.push({ ecommerce: null });
  window.dataLayer.push(event);
}

let disconnect = null;

/**
 * Tracks the dataLayer's e-commerce events with `rec` (instead of the previous model's);
 * everything that shows the history follows each one. `replay`: also the events pushed before.
 */
export function trackDataLayer(rec, { replay }) {
  disconnect?.();
  disconnect = connectDataLayer(rec, {
    replay,
    onTrack: () => emit('history'),
    onError: (e) => {
      const err = explainError(e, 'Saving your activity');
      toast(`${err.title}. ${err.hint ? '' : err.message}`.trim(), 'error', 6000);
      // Events that could not be written are kept in memory and count: show them.
      if (e?.code === 'QUOTA_EXCEEDED' || e?.code === 'STORAGE') emit('history');
    },
  });
}
