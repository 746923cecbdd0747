// The "Recommended for you" rail ("Popular right now" for a new shopper): rec.recommend with
// reasons, recomputed after every tracked event.
import { $, h, explainError, showErrorPanel, fmtMs } from '../common.js';
import { state, on, emit } from './store.js';
import { railCard, skeletons } from './cards.js';

const RAIL_K = 12;

let railRun = null;
let railAgain = false;

/** Recomputes the rail; calls made while one runs are merged into one more run. */
export function refreshRail() {
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
  emit('recs', recs); // the badge's latency, the product page's "picked for you now"
}

/** Placeholders until the model is loaded; recomputes after every tracked event. */
export function wireRail() {
  $('#rail').replaceChildren(...skeletons(6, 'rail-item'));
  on('history', () => refreshRail());
}
