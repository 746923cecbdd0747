// What index.js exports: the class, `init` and `connectDataLayer` (not wasm-bindgen's own
// `initSync` and `start`); and every type of localrec.d.ts.
export { Recommender } from './localrec.js';
export type * from './localrec.js';
import type { InitInput, Recommender, AnalyticsEvent } from './localrec.js';

/**
 * Loads one of the two WebAssembly modules once: `'cpu'` (default, `localrec_cpu_bg.wasm`) or
 * `'webgpu'` (`localrec_bg.wasm`). `Recommender.load` and `Recommender.evaluateBaseline` load the
 * one they need for you; pass a URL, `Response`, `BufferSource` or `WebAssembly.Module` to load it
 * from elsewhere than next to this file.
 */
export function init(moduleOrPath?: InitInput | Promise<InitInput>, which?: 'cpu' | 'webgpu'): Promise<unknown>;

/** A `dataLayer`: the array Google Tag Manager and gtag.js push to (or anything with `push`). */
export type DataLayer = unknown[] | { push(...entries: unknown[]): unknown; length?: number; [index: number]: unknown };

export interface DataLayerOptions {
  /** The array to follow. Default `window.dataLayer` (created as `[]` when there is none). */
  dataLayer?: DataLayer;
  /** Called when an e-commerce entry could not be tracked (invalid, unknown item, storage); default `console.warn`. Never thrown to the code that pushed. */
  onError?: (error: unknown, entry: unknown) => void;
  /** Called after the events of an entry were stored, e.g. to refresh recommendations. */
  onTrack?: (entry: AnalyticsEvent) => void;
  /** Track the e-commerce entries already in the array. Default true. */
  replay?: boolean;
}

/**
 * Tracks the GA4 / Segment e-commerce events of a `dataLayer` with `rec` (see `AnalyticsEvent`):
 * those already in it, then every one pushed later, by wrapping its `push` (which still calls
 * the original and returns what it returns). Other entries (`gtm.js`, consent, `page_view`, ...)
 * are ignored. Returns a function that stops it and restores the original `push`.
 */
export function connectDataLayer(rec: Pick<Recommender, 'track'>, options?: DataLayerOptions): () => void;
