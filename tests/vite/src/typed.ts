// A typed consumer of the package: `tsc --noEmit` checks it against the declarations the
// package ships (index.d.ts, localrec.d.ts). Not run: the test only type-checks it.
import { Recommender, connectDataLayer, init } from 'localrec';
import type { Recommendation, OnlineStats, PrivateReport, StoredEvent, CatalogItem, EvalReport } from 'localrec';

export async function demo(url: string): Promise<void> {
  await init();
  const rec: Recommender = await Recommender.load(url, { device: 'auto', namespace: 'typed', storage: 'memory', maxEvents: 500, worker: true });
  const experiment = await Recommender.load({ variants: { a: url, b: new Uint8Array(0) }, weights: { a: 1, b: 2 } }, { experiment: 'x' });
  await rec.track({ item: 'sku-1', type: 'view', recommendationId: 'abc' });
  await rec.track({ event: 'add_to_cart', ecommerce: { items: [{ item_id: 'sku-2' }] } });
  const top: Recommendation[] = await rec.recommend({ k: 5, excludeSeen: { purchased: true, recent: 10 }, filter: { categories: ['tea'] } });
  const prefetched: Recommendation[] = await rec.recommend({ k: 50, record: false, explain: false });
  void prefetched;
  const first: string = top[0].recommendationId;
  const inModel: boolean = top[0].inModel;
  const reranked = await rec.rerank(['sku-1', 'sku-9'], { k: 1, explain: true });
  const events: StoredEvent[] = await rec.history();
  const catalog: CatalogItem[] = await rec.catalog();
  const update: { added: number; updated: number } = await rec.updateCatalog([{ item: 'sku-3', categories: ['tea'], available: false }]);
  const stats: OnlineStats = await rec.stats({ since: Date.now() - 86_400_000 });
  const ctr: number = stats.variants[experiment.variant]?.ctr ?? 0;
  const report: PrivateReport = await rec.report({ epsilon: 2 });
  const evaluation: EvalReport = await rec.evaluate('/data.json', { ks: [10] });
  await rec.setStorage('indexeddb');
  const disconnect: () => void = connectDataLayer(rec, { onTrack: () => undefined });
  disconnect();
  console.log(first, inModel, reranked, events, catalog, update, ctr, report.bits.clicked, evaluation.metrics, rec.storage, rec.backend);
  // @ts-expect-error: `k` is a number
  await rec.recommend({ k: '5' });
  // @ts-expect-error: an unknown storage mode
  await rec.setStorage('cookies');
}
