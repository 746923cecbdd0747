// The shop's state and the one way shopper actions reach localrec.
//
// `state` is the single mutable object of the page (also `window.shop`, for the console and
// the end-to-end tests). Views do not call each other; they publish and subscribe here:
//   'history'  after events were tracked (or forgotten: detail `{ forgotten: true }`)
//   'cart'     after the cart changed
//   'recs'     after the recommendation rail was recomputed (detail: the recommendations)
// `emit` calls the listeners at once, in order, and resolves when all they return resolved.
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

/** Records shopper events with `rec.track`; everything that shows the history follows. */
export async function track(events) {
  try {
    await state.rec.track(events);
  } catch (e) {
    const err = explainError(e, 'Saving your activity');
    toast(`${err.title}. ${err.hint ? '' : err.message}`.trim(), 'error', 6000);
    if (e?.code !== 'QUOTA_EXCEEDED' && e?.code !== 'STORAGE') return;
  }
  await emit('history');
}
