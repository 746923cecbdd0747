// The model behind the shop: loading a bundle (with progress), making it the shop's model,
// the backend badge and latency in the header, the model line of the footer and the
// "Change model" dialog (a model of generated/demo.json, a URL or a .lrec file).
import { Recommender } from 'localrec';
import { $, h, DemoError, explainError, toast, fmtMs, fmtInt, backendLabel, loadPhaseText, loadPhaseFraction } from '../common.js';
import { loadCatalog } from '../catalog.js';
import { state, on, PAGE, trackDataLayer } from './store.js';
import { refreshRail } from './rail.js';
import { showCatalogue } from './grid.js';
import { loadCart } from './cart.js';
import { route } from './product.js';

function setProgress(p) {
  $('#load-progress').hidden = false;
  $('#load-bar').value = loadPhaseFraction(p);
  $('#load-text').textContent = loadPhaseText(p, state.device);
}

/** Loads a bundle and its catalogue; resolves to `{ rec, items, loadMs }` (the page is unchanged). */
export async function openBundle(source) {
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
    const items = await loadCatalog(rec);
    return { rec, items, loadMs: performance.now() - t0 };
  } catch (e) {
    rec.free();
    throw new DemoError('The bundle’s catalogue could not be read', String(e.message ?? e), { cause: e });
  }
}

/** Makes a loaded bundle the shop's model and renders everything. */
export async function useBundle(source, { rec, items, loadMs }) {
  const old = state.rec;
  // The first model also tracks what was pushed before it loaded; another one only what follows.
  trackDataLayer(rec, { replay: !old });
  Object.assign(state, { rec, source, items, loadMs, byId: new Map(items.map((it) => [it.id, it])), category: null, shown: PAGE });
  old?.free();
  $('#fatal').hidden = true;
  $('#rail-section').hidden = false;
  loadCart();
  $('#load-progress').hidden = true;
  renderBadge();
  renderModelInfo();
  await Promise.all([refreshRail(), showCatalogue()]);
  route();
  document.body.dataset.ready = 'true'; // the rail and the grid are on screen (tests wait for it)
}

/** A model of generated/demo.json as a source for openBundle. */
export const sourceFor = (m) => ({ key: m.name, label: m.name, bundle: m.url, model: m });

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

export function wireModel() {
  $('#open-model').addEventListener('click', () => {
    renderModelDialog();
    $('#model-dialog').showModal();
  });
  $('#backend-badge').addEventListener('click', () => toast($('#backend-badge').title, 'info', 6000));
  on('recs', () => {
    $('#latency').textContent = fmtMs(state.lastLatency);
  });
}
