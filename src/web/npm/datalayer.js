// connectDataLayer: the GA4 / Segment e-commerce events a site already pushes to its
// `dataLayer` (Google Tag Manager, gtag.js) tracked by a Recommender, with no new tagging.
// Plain JavaScript over `rec.track`, which reads the events (src/serve/analytics.rs); nothing
// happens at import.

/** The analytics event names `rec.track` reads (src/serve/analytics.rs, ANALYTICS_EVENTS). */
const ANALYTICS_EVENTS = [
  'view_item', 'select_item', 'add_to_cart', 'remove_from_cart', 'purchase', 'search', 'view_item_list',
  'Product Viewed', 'Product Clicked', 'Product Added', 'Product Removed', 'Order Completed', 'Products Searched', 'Product List Viewed',
];
const NAMES = new Set(ANALYTICS_EVENTS);

/**
 * What `rec.track` is given for a dataLayer entry, or undefined for an entry that is not an
 * e-commerce event localrec reads (`gtm.js`, consent, `page_view`, `{ ecommerce: null }`, ...).
 * gtag.js pushes its `arguments` object (`['event', name, params]`, array-like, not an array).
 */
function eventOf(entry) {
  if (entry === null || typeof entry !== 'object') return undefined;
  if (typeof entry.length === 'number' && entry[0] === 'event') {
    return NAMES.has(entry[1]) ? Array.from(entry) : undefined;
  }
  return typeof entry.event === 'string' && NAMES.has(entry.event) ? entry : undefined;
}

/**
 * Tracks the e-commerce events of a `dataLayer` with `rec`: those already in it, then every
 * one pushed later. Returns a function that disconnects it (and restores the original `push`).
 */
export function connectDataLayer(rec, { dataLayer, onError, onTrack, replay = true } = {}) {
  if (typeof rec?.track !== 'function') throw new TypeError('connectDataLayer: the first argument must be a Recommender');
  if (dataLayer === undefined) {
    if (typeof window === 'undefined') throw new TypeError('connectDataLayer: no `window`; pass `{ dataLayer }`');
    window.dataLayer ??= []; // what the Google Tag Manager snippet does too
    dataLayer = window.dataLayer;
  }
  if (typeof dataLayer?.push !== 'function') throw new TypeError('connectDataLayer: `dataLayer` must be an array (or have a `push` method)');
  for (const [name, f] of [['onError', onError], ['onTrack', onTrack]]) {
    if (f !== undefined && typeof f !== 'function') throw new TypeError(`connectDataLayer: \`${name}\` must be a function`);
  }

  let connected = true;
  // Never throws: the site's code that pushed must not see localrec's errors.
  const report = (error, entry) => {
    try {
      if (onError) Promise.resolve(onError(error, entry)).catch(() => {});
      else console.warn('localrec: a dataLayer event could not be tracked:', error, entry);
    } catch {
      // onError itself failed; nothing more to do
    }
  };
  const track = (entry) => {
    const event = eventOf(entry);
    if (event === undefined) return;
    try {
      // rec.track checks the event at once (so events keep their order) and stores it
      Promise.resolve(rec.track(event)).then(
        () => {
          // Also for an entry pushed just before disconnect(): it was tracked.
          if (onTrack) {
            try {
              Promise.resolve(onTrack(entry)).catch((e) => report(e, entry));
            } catch (e) {
              report(e, entry);
            }
          }
        },
        (e) => report(e, entry),
      );
    } catch (e) {
      report(e, entry); // e.g. a Recommender already freed
    }
  };

  const original = dataLayer.push;
  const ownPush = Object.prototype.hasOwnProperty.call(dataLayer, 'push'); // false for an array's
  const push = function (...entries) {
    const result = original.apply(this, entries);
    if (connected) for (const entry of entries) track(entry);
    return result;
  };
  if (replay) for (let i = 0; i < (dataLayer.length ?? 0); i++) track(dataLayer[i]);
  dataLayer.push = push;

  return function disconnect() {
    if (!connected) return;
    connected = false;
    // Another script (Google Tag Manager loading later) may have wrapped our push since: then
    // ours stays in its chain, passing entries through untouched.
    if (dataLayer.push !== push) return;
    if (ownPush) dataLayer.push = original;
    else delete dataLayer.push;
  };
}
