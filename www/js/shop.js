// Reel Corner: the demo storefront. Every shopper action is pushed to `window.dataLayer` as a
// GA4 e-commerce event, as a shop tagged for Google Analytics does, and the localrec package
// tracks it (connectDataLayer → rec.track); the "Recommended for you" rail, the personalised
// search order and the privacy panel read it back (recommend / rerank / history / forget).
// Nothing is sent anywhere.
//
// URL parameters: ?device=auto|webgpu|cpu (default auto), ?model=NAME (a model of
// generated/demo.json) or ?bundle=URL (any .lrec). Routes: #/ and #/item/ID (product page).
//
// This file starts the page; the views are in shop/ (one per thing the shopper sees), around
// shop/store.js (the state, the dataLayer and a small publish/subscribe):
//   rail.js     "Recommended for you"       grid.js     the catalogue, search and genres
//   product.js  the product page (#/item/)  cart.js     the cart and purchases
//   privacy.js  the privacy panel           model.js    loading a model, badge, "Change model"
//   cards.js    posters and cards shared by the views
import { $, h, loadDemoConfig, showErrorPanel } from './common.js';
import { state } from './shop/store.js';
import { wirePrivacy } from './shop/privacy.js';
import { wireRail } from './shop/rail.js';
import { wireCatalogue } from './shop/grid.js';
import { wireProductPage } from './shop/product.js';
import { wireCart } from './shop/cart.js';
import { wireModel, openBundle, useBundle, sourceFor } from './shop/model.js';

function wireDialogs() {
  for (const dlg of document.querySelectorAll('dialog')) {
    dlg.addEventListener('click', (ev) => {
      if (ev.target === dlg) dlg.close(); // a click on the backdrop
    });
    dlg.addEventListener('click', (ev) => {
      if (ev.target.closest('[data-close]')) dlg.close();
    });
  }
}

async function main() {
  wirePrivacy(); // first: its network counter sees every request
  wireDialogs();
  wireProductPage();
  wireCatalogue();
  wireCart();
  wireModel();
  wireRail();
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
