// The TypeScript declarations of the npm package `localrec`: the `Recommender` class and the
// types of its arguments and results. wasm-bindgen inserts this file into pkg/localrec.d.ts
// (`typescript_custom_section` in src/web/mod.rs; the class itself is `skip_typescript`), and
// src/web/npm/check-types.mjs fails the build when the class declared here and the one
// exported by pkg/localrec.js do not have the same members.

/** The backend that runs the model. */
export type Backend = 'webgpu' | 'cpu';
/** Which backend `Recommender.load` should use: `'auto'` tries WebGPU and falls back to the CPU. */
export type DeviceChoice = 'auto' | 'webgpu' | 'cpu';
/** What the shopper did. */
export type EventType = 'view' | 'cart' | 'purchase' | 'search';

/** A progress report during `Recommender.load`. */
export interface LoadProgress {
  /** `compile`: the WebAssembly module is downloaded and compiled (the first load of a page, or of the worker); `cache`: a kept copy of the bundle is used (revalidated with the server, or offline). */
  phase: 'compile' | 'download' | 'cache' | 'parse' | 'backend' | 'model' | 'warmup' | 'ready';
  /** Bytes downloaded so far (phase `download`). */
  loaded?: number;
  /** Bytes to download, when the server says (phase `download`). */
  total?: number;
}

export interface LoadOptions {
  /** Default `'auto'`. */
  device?: DeviceChoice;
  /** Separates the stored events of different sites, models or shoppers on one origin. Default `'default'`. */
  namespace?: string;
  onProgress?: (progress: LoadProgress) => void;
  /** Where the shopper's events (and the catalogue's changes) are kept: `'indexeddb'` (default) across visits, or `'memory'`: nothing is written to the device (e.g. before the shopper consents to storage). Switch later with `setStorage`. */
  storage?: StorageMode;
  /** Most events kept; the oldest are dropped first. Default 10000. */
  maxEvents?: number;
  /** Events older than this many days are dropped. Default 365; `Infinity` for no limit. */
  maxAgeDays?: number;
  /** The model's name in the online metrics (`stats()`). Default: the experiment's variant, else the bundle's encoder. */
  variant?: string;
  /** The experiment's name, which seeds the sticky assignment of variants. Default: the namespace. */
  experiment?: string;
  /** Keep a bundle downloaded from a URL in the Cache API and reuse it (revalidated with the server; offline as it is; a damaged copy is downloaded again). Default true. */
  cache?: boolean;
  /** Run the model, the event store and the rankings in a Web Worker, off the page's main thread (same API). Default true on a page; `false` runs them on the page. */
  worker?: boolean;
}

/** An A/B test: this device is assigned one variant (sticky, by a random id kept with its events) and downloads only its bundle. */
export interface Experiment {
  variants: Record<string, string | ArrayBuffer | Uint8Array>;
  /** Relative shares of the variants. Default: equal. */
  weights?: Record<string, number>;
}

/** Options of `stats()`. */
export interface StatsOptions {
  /** Only the lists shown at or after this time (ms since the epoch). */
  since?: number;
  /** How long after a list an event without a `recommendationId` is attributed to it. Default 30. */
  windowMinutes?: number;
}

/** Online metrics of one variant (or one day of it), with the counts behind each rate. */
export interface OnlineMetrics {
  impressionSets: number;
  itemsShown: number;
  clicks: number;
  carts: number;
  purchases: number;
  /** Lists followed by an item event. */
  judged: number;
  /** Lists whose next item event was one of their items. */
  hits: number;
  distinctItems: number;
  /** clicks / impressionSets */
  ctr: number;
  /** carts / impressionSets */
  cartRate: number;
  /** purchases / impressionSets */
  purchaseRate: number;
  /** hits / judged */
  hitRate: number;
  /** Mean 1 / (slot + 1) over clicks. */
  mrr: number;
  /** distinctItems / catalogue size */
  coverage: number;
}

/** What `report()` resolves to: one device's private report (randomized response). */
export interface PrivateReport {
  mechanism: 'randomized-response';
  version: number;
  /** The variant the device was assigned to (in the clear). */
  variant: string;
  /** The total privacy budget of the report, split evenly over the five bits. */
  epsilon: number;
  /** Each the truth with probability e^(ε/5) / (1 + e^(ε/5)), else its flip. */
  bits: { exposed: boolean; clicked: boolean; carted: boolean; purchased: boolean; hit: boolean };
}

/** What `stats()` resolves to. */
export interface OnlineStats {
  variants: Record<string, OnlineMetrics & { days: Record<string, OnlineMetrics> }>;
  windowMs: number;
  impressions: number;
}

/** Where the shopper's events are kept. */
export type StorageMode = 'indexeddb' | 'memory';

/** A product's new state for `updateCatalog`: fields left out are unchanged (a new product: no title, no categories, available). */
export interface CatalogUpdate {
  item: string;
  title?: string;
  /** Category names (replacing the old ones); a product the model was not trained on is placed by them. */
  categories?: string[];
  /** `false`: never recommended (still in the history); `true`: recommendable again. */
  available?: boolean;
}

/** An event to record. `item` is required except for searches; `ts` defaults to `Date.now()`. */
export interface TrackEvent {
  item?: string;
  type: EventType;
  /** Search text (required for `type: 'search'`). */
  query?: string;
  /** Milliseconds since the epoch. */
  ts?: number;
  /** The `recommendationId` of the list the shopper acted from: attributes the event to it (`stats()`). */
  recommendationId?: string;
}

/** A product of a GA4 e-commerce event: only `item_id` is read (string, or integer). */
export interface Ga4Item {
  item_id: string | number;
  item_name?: string;
  item_category?: string;
  quantity?: number;
  [field: string]: unknown;
}

/** A GA4 e-commerce event name that `track` reads. `view_item_list` is accepted and stores nothing (a list shown is no interest in one item); `remove_from_cart` is stored as a `view`. */
export type Ga4EventName = 'view_item' | 'select_item' | 'add_to_cart' | 'remove_from_cart' | 'purchase' | 'search' | 'view_item_list';

/**
 * A GA4 e-commerce event as pushed to the `dataLayer`: `{ event, ecommerce: { items } }`
 * (or with `items` at the top, as gtag's parameters); a `search` has `search_term`. Each item
 * becomes one event. `ts` defaults to `Date.now()`.
 */
export interface Ga4Event {
  event: Ga4EventName;
  ecommerce?: { items?: Ga4Item[]; [field: string]: unknown } | null;
  items?: Ga4Item[];
  search_term?: string;
  ts?: number;
  [field: string]: unknown;
}

/** What `gtag('event', name, params)` pushes. */
export type GtagEvent = ['event', Ga4EventName, { items?: Ga4Item[]; search_term?: string; [field: string]: unknown }?];

/** A product of a Segment e-commerce event: only `product_id` is read. */
export interface SegmentProduct {
  product_id: string | number;
  [field: string]: unknown;
}

/** A Segment e-commerce spec event name that `track` reads (aliases of the GA4 ones). */
export type SegmentEventName =
  | 'Product Viewed' | 'Product Clicked' | 'Product Added' | 'Product Removed'
  | 'Order Completed' | 'Products Searched' | 'Product List Viewed';

/** A Segment e-commerce event: `properties.product_id`, `properties.products` (`Order Completed`) or `properties.query` (`Products Searched`). */
export interface SegmentEvent {
  event: SegmentEventName;
  properties?: { product_id?: string | number; products?: SegmentProduct[]; query?: string; [field: string]: unknown };
  ts?: number;
  [field: string]: unknown;
}

/** An analytics e-commerce event `track` accepts besides its own `TrackEvent`. */
export type AnalyticsEvent = Ga4Event | GtagEvent | SegmentEvent;

/** A recorded event, as `history()` returns it. */
export interface StoredEvent {
  item?: string;
  type: EventType;
  query?: string;
  ts: number;
  /** False while it is not in IndexedDB (its write failed and is retried with the next `track()`, or storage is `'memory'`). */
  saved: boolean;
  /** False for an item the catalogue does not have (kept, not read by the model until the catalogue has it). */
  inCatalog?: boolean;
}

/** What a filter function is given. */
export interface ItemInfo {
  item: string;
  title?: string;
  categories: string[];
}

export interface RecommendOptions {
  /** How many items, 1 to 10000. Default 10. */
  k?: number;
  /** Item ids never to recommend (ids not in the catalogue are ignored). */
  exclude?: string[];
  /** Leave out the shopper's own items: `true` (default) leaves out purchased items and the items of the newest 20 events; `false` nothing; or say which. When too few other items remain, the left-out ones fill the list, so it is never empty. */
  excludeSeen?: boolean | { purchased?: boolean; recent?: number };
  /** Keep only items the function accepts (asked in rank order, until `k` are found), or only items in one of the categories. */
  filter?: ((item: ItemInfo) => boolean) | { categories: string[] };
  /** Add `reasons` to each result. Default false. */
  explain?: boolean;
  /** Keep the list as an impression for `stats()` (default true); `false` for a list that is not shown as it is (prefetched, or filtered further): its `recommendationId` is empty. */
  record?: boolean;
}

export interface RerankOptions {
  /** How many of the candidates to return. Default: all of them. */
  k?: number;
  explain?: boolean;
}

/** Why an item was recommended. */
export interface Reason {
  /** `similar`: close to an item in the history; `popular`: cold start; `recent`: from the history as a whole. */
  kind: 'similar' | 'popular' | 'recent';
  /** A sentence for the shopper, e.g. `Because you viewed “Green tea”`. */
  text: string;
  /** The history item (kind `similar`). */
  item?: string;
  title?: string;
  event?: EventType;
  /** Cosine similarity of the two items' embeddings (kind `similar`). */
  similarity?: number;
}

export interface Recommendation {
  item: string;
  /** The model's score (on a cold start: the item's popularity count). Higher is better. */
  score: number;
  title?: string;
  categories?: string[];
  /** False for a product the model was not trained on: its score is its categories' average item's, or the popularity prior. */
  inModel: boolean;
  /** Present (`false`) only for a product marked unavailable (`rerank` keeps what it is given; `recommend` never returns one). */
  available?: false;
  /** The id of the list this item was shown in: pass it to `track` when the shopper acts on it. */
  recommendationId: string;
  reasons?: Reason[];
}

/** One product of the catalogue (`rec.catalog()`): the bundle's, or added with `updateCatalog`. */
export interface CatalogItem {
  item: string;
  title?: string;
  categories: string[];
  /** Interactions in the training data (0 for added products). */
  popularity: number;
  available: boolean;
  /** False for a product added after the model was trained. */
  inModel: boolean;
}

export interface EvaluateOptions {
  /** Cut-offs of the @K metrics, 1 to 1000 each. Default [1, 5, 10, 20, 50]. */
  ks?: number[];
  /** Split of the dataset: 'loo' (default), 'temporal[:TEST[:VALID]]', 'session[...]', as on the CLI. */
  split?: string;
  /** Histories scored per pass on the device, 1 to 4096. Default 64. */
  batchSize?: number;
  /** Called with `{ phase: 'parse' | 'scoring' | 'metrics' | 'done', done, total }`. */
  onProgress?: (p: { phase: string; done: number; total: number }) => void;
}

/** A baseline that `Recommender.evaluateBaseline` fits and evaluates: the names `localrec eval --model` takes. */
export type Baseline = 'pop' | 'markov' | 'itemknn';

export interface BaselineEvaluateOptions {
  /** Cut-offs of the @K metrics, 1 to 1000 each. Default [1, 5, 10, 20, 50]. */
  ks?: number[];
  /** Split of the dataset: 'loo' (default), 'temporal[:TEST[:VALID]]', 'session[...]', as on the CLI. */
  split?: string;
  /** Called with `{ phase: 'parse' | 'fit' | 'scoring' | 'metrics' | 'done', done, total }`. */
  onProgress?: (p: { phase: string; done: number; total: number }) => void;
  /** Evaluate in a Web Worker of its own (default true on a page). */
  worker?: boolean;
}

/** The evaluation report: the same JSON as `localrec eval --json`. */
export interface EvalReport {
  model: string;
  data: { name: string; users: number; items: number; interactions: number; fingerprint: string };
  split: string;
  phase: 'test' | 'valid';
  protocol: { full_ranking: boolean; history_masked: boolean; max_len: number; ks: number[]; ties: string; masked_target: string };
  cases: number;
  /** Means over the cases, keyed like `ndcg@10`, `hr@10`, `mrr@10`, `coverage@10`, `gauc`. */
  metrics: Record<string, number>;
  /** 95% bootstrap confidence intervals `[low, high]`, same keys. */
  ci95: Record<string, [number, number]>;
  /** Breakdowns by history length, user activity and time, and the drift analysis. */
  dynamic: Record<string, unknown>;
  timing: { fit_s: number; eval_s: number };
  notes: string[];
}

/** What the loaded bundle is. */
export interface BundleInfo {
  encoder: string;
  items: number;
  dataset: string;
  formatVersion: number;
  localrecVersion: string;
  created: string;
  metrics: Record<string, number>;
  /** How the bundle stores its item table: 'f32', 'f16', 'int8' or 'pq:M' (product quantisation, M bytes per item). */
  itemTable: string;
}

/**
 * A model bundle loaded for one shopper, with the shopper's events stored in IndexedDB.
 *
 * Create it with `Recommender.load(bundle, options)`.
 */
export class Recommender {
    private constructor();
    free(): void;
    [Symbol.dispose](): void;
    /**
     * Every item of the catalogue, in catalogue order (the bundle's, then those added with
     * `updateCatalog`), with its title, categories, training popularity and availability:
     * what a shop needs to list, search and filter its products.
     */
    catalog(): Promise<CatalogItem[]>;
    /**
     * Adds products and changes titles, categories or availability, all checked before any is
     * applied. Products the model was not trained on are placed by their categories or the
     * popularity prior; unavailable products are never recommended. The changes are kept with
     * the events (IndexedDB, unless storage is `'memory'`).
     */
    updateCatalog(items: CatalogUpdate[]): Promise<{ added: number; updated: number }>;
    /**
     * Switches where the events are kept, keeping the session: `'memory'` deletes what
     * IndexedDB held of this namespace (events and catalogue changes) and keeps them in memory
     * only; `'indexeddb'` writes the session's events (and catalogue changes) there.
     */
    setStorage(mode: StorageMode): Promise<void>;
    /**
     * Where the events are kept: `'indexeddb'` or `'memory'`.
     */
    readonly storage: StorageMode;
    /**
     * The model's name in the online metrics: the variant this device was assigned in an
     * experiment, the `variant` option, or the bundle's encoder.
     */
    readonly variant: string;
    /**
     * The online metrics of the lists this device showed (`recommend()`, `rerank()`) and what
     * the shopper did after them: per variant and UTC day, impression sets, clicks, carts,
     * purchases, hit rate of the next event, MRR of the clicked slot, coverage, with their
     * counts. Options: `since` (ms), `windowMinutes` (attribution window, default 30).
     */
    stats(options?: StatsOptions): Promise<OnlineStats>;
    /**
     * A private report of this device's online metrics under its variant, for a shop that
     * chooses to collect them (randomized response, ε split over the five bits; one report
     * changes the odds of anything about the shopper by at most e^ε). The library sends
     * nothing: the page decides. `localrec ab-estimate` turns many reports into rates with
     * confidence intervals.
     */
    report(options: { epsilon: number; since?: number }): Promise<PrivateReport>;
    /**
     * Full-ranking evaluation of the model on a held-out dataset (a URL, `ArrayBuffer` or
     * `Uint8Array` of the JSON written by `localrec data export`; it must be the data the
     * bundle was trained on), on the backend in use: leave-one-out, every item ranked, the
     * history masked. Resolves to the same report as `localrec eval --json`.
     */
    evaluate(dataset: string | ArrayBuffer | Uint8Array, options: EvaluateOptions): Promise<EvalReport>;
    /**
     * Full-ranking evaluation of a baseline — `'pop'`, `'markov'` or `'itemknn'` — on a
     * held-out dataset (a URL, `ArrayBuffer` or `Uint8Array` of the JSON written by
     * `localrec data export`), with no bundle: the baseline is fitted here on the split's
     * training data for the test phase and evaluated by the same code as
     * `localrec eval --model NAME`, whose report it resolves to.
     */
    static evaluateBaseline(name: Baseline, dataset: string | ArrayBuffer | Uint8Array, options?: BaselineEvaluateOptions): Promise<EvalReport>;
    /**
     * Deletes every event of this namespace (in memory, in IndexedDB and in every tab).
     */
    forget(): Promise<void>;
    /**
     * The events of this namespace (from every tab), oldest first.
     */
    history(): Promise<StoredEvent[]>;
    /**
     * Loads a model bundle (a URL, an `ArrayBuffer` or a `Uint8Array`) and opens the event
     * store of `options.namespace`. With `device: 'auto'` (the default) the model runs on
     * WebGPU when the browser has it, and on the CPU otherwise (`backend` and
     * `fallbackReason` say which and why); `'webgpu'` fails when WebGPU cannot be used.
     */
    static load(bundle: string | ArrayBuffer | Uint8Array | Experiment, options: LoadOptions): Promise<Recommender>;
    /**
     * The top `k` items for the shopper's history (most popular items while there is none).
     */
    recommend(options: RecommendOptions): Promise<Recommendation[]>;
    /**
     * Orders `candidates` (item ids) for the shopper's history, best first. Candidates the
     * model does not know are placed by their categories or the popularity prior.
     */
    rerank(candidates: string[], options: RerankOptions): Promise<Recommendation[]>;
    /**
     * Records one event (or an array of events, all checked before any is stored). Any
     * well-formed item id is kept, known to the model or not. The events count at once for
     * `recommend()`; the promise resolves when they are written to IndexedDB (concurrent calls
     * are written in one transaction), or at once with storage `'memory'`. An event is
     * `{ item, type, query?, ts? }`, or a GA4 or Segment e-commerce event (`{ event:
     * 'add_to_cart', ecommerce: { items: [...] } }`, gtag's `['event', name, params]`,
     * `{ event: 'Product Added', properties: { product_id } }`): one event per product it names
     * (`view_item_list` stores none; `remove_from_cart` is stored as a `view`).
     */
    track(event: TrackEvent | AnalyticsEvent | (TrackEvent | AnalyticsEvent)[]): Promise<void>;
    /**
     * The WebGPU adapter in use (its name and wgpu backend); `undefined` on the CPU.
     */
    readonly adapter: string | undefined;
    /**
     * The backend that runs the model now: `'webgpu'` or `'cpu'`.
     */
    readonly backend: Backend;
    /**
     * Why the model runs on the CPU although WebGPU was allowed (no WebGPU, failed
     * initialisation, device lost); `undefined` otherwise.
     */
    readonly fallbackReason: string | undefined;
    /**
     * What the loaded bundle is.
     */
    readonly info: BundleInfo;
    /**
     * The namespace of the stored events.
     */
    readonly namespace: string;
}
