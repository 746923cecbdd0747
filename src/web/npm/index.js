// The entry point of the npm package `localrec`: the wasm-bindgen module, initialised on first use.
//
// `Recommender.load()` (or `Recommender.evaluateBaseline()`) fetches and compiles
// `localrec_bg.wasm` (next to this file) the first time it is called; call `init(urlOrModule)`
// yourself first to load the module from elsewhere. `connectDataLayer` (datalayer.js) tracks
// the GA4 / Segment e-commerce events a site pushes to its `dataLayer`.
//
// Nothing here runs at import: the package is `"sideEffects": false`, and a bundler drops a
// module's top-level statements when it only keeps its exports (an earlier version patched
// `Recommender.load` at import, and a Vite production build dropped the patch). `Recommender`
// is the wasm-bindgen class seen through a Proxy whose static `load` and `evaluateBaseline`
// initialise the module first; everything else (instances, `instanceof`, the other members)
// is the class itself.
import initWasm, { Recommender as Module } from './localrec.js';

let ready;

/** Loads the WebAssembly module (once; later calls return the same promise). */
export function init(moduleOrPath) {
  ready ??= initWasm(moduleOrPath === undefined ? undefined : { module_or_path: moduleOrPath });
  return ready;
}

/** The static methods that need the module: they initialise it first. */
const INIT_FIRST = new Set(['load', 'evaluateBaseline']);

export const Recommender = /* @__PURE__ */ new Proxy(Module, {
  get(target, name, receiver) {
    const value = Reflect.get(target, name, receiver);
    if (!INIT_FIRST.has(name) || typeof value !== 'function') return value;
    return async (...args) => {
      await init();
      return value.apply(target, args);
    };
  },
});

export { connectDataLayer } from './datalayer.js';
