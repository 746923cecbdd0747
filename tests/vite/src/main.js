// What a front-end developer writes: import the package, load a bundle, track, recommend.
import { Recommender, connectDataLayer } from 'localrec';

const status = document.getElementById('status');
try {
  const rec = await Recommender.load('/fixture.lrec', { device: 'cpu', namespace: 'vite-consumer', maxAgeDays: Infinity });
  await rec.forget();
  window.dataLayer = [];
  connectDataLayer(rec);
  await rec.track({ item: 'item-0003', type: 'view' });
  window.dataLayer.push({ event: 'add_to_cart', ecommerce: { items: [{ item_id: 'item-0017' }] } });
  const top = await rec.recommend({ k: 5 });
  document.getElementById('list').replaceChildren(...top.map((r) => Object.assign(document.createElement('li'), { textContent: r.item })));
  window.result = { backend: rec.backend, items: top.map((r) => r.item), history: (await rec.history()).map((e) => [e.type, e.item]) };
  status.textContent = 'ready';
} catch (e) {
  window.result = { error: `${e?.name}: ${e?.message}` };
  status.textContent = `failed: ${e?.message}`;
}
