// The entry point of the npm package `localrec`: the wasm-bindgen module, initialised on first use.
//
// `Recommender.load()` (or `Recommender.evaluateBaseline()`) fetches and compiles
// `localrec_bg.wasm` (next to this file) the first time it is called; call `init(urlOrModule)`
// yourself first to load the module from elsewhere. `connectDataLayer` (datalayer.js) tracks
// the GA4 / Segment e-commerce events a site pushes to its `dataLayer`.
import initWasm, { Recommender } from './localrec.js';

let ready;

/** Loads the WebAssembly module (once; later calls return the same promise). */
export function init(moduleOrPath) {
  ready ??= initWasm(moduleOrPath === undefined ? undefined : { module_or_path: moduleOrPath });
  return ready;
}

const load = Recommender.load;
Recommender.load = async function (bundle, options) {
  await init();
  return load.call(Recommender, bundle, options);
};

const evaluateBaseline = Recommender.evaluateBaseline;
Recommender.evaluateBaseline = async function (name, dataset, options) {
  await init();
  return evaluateBaseline.call(Recommender, name, dataset, options);
};

export { Recommender };
export { connectDataLayer } from './datalayer.js';
