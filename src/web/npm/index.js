// The entry point of the npm package `localrec`: `Recommender`, `init` and `connectDataLayer`
// (datalayer.js).
//
// `Recommender.load(bundle, options)` runs the model in a Web Worker by default (remote.js,
// worker.js): inference, the event store and the rankings stay off the page's main thread, with
// the same API. `worker: false` runs it on the page. Either way only one of the two modules
// (modules.js) is fetched: the WebGPU one for `device: 'webgpu'`, and for `'auto'` (the default)
// when WebGPU is there; the CPU-only one otherwise. `rec.backend` says what ran.
// `Recommender.evaluateBaseline()` uses the CPU-only module (in a worker of its own by default).
// Call `init(urlOrModule, 'cpu' | 'webgpu')` first to load a module from elsewhere than next to
// this file (the worker is given the same source).
//
// Nothing here runs at import: the package is `"sideEffects": false`, and a bundler drops a
// module's top-level statements when it only keeps its exports (an earlier version patched
// `Recommender.load` at import, and a Vite production build dropped the patch). `Recommender`
// is the module's class seen through a Proxy whose static `load` and `evaluateBaseline` choose
// where to run and initialise a module first.
import { CpuRecommender, initModule, pickModule } from './modules.js';
import { RemoteRecommender, WorkerFailed, workerByDefault } from './remote.js';

/** The module sources given to `init()`, by module, for the worker too. */
const sources = {};

/** A module source the worker can be sent (a string, a compiled module or bytes), or undefined. */
function forWorker(src) {
  if (typeof src === 'string') return new URL(src, globalThis.document?.baseURI ?? import.meta.url).href;
  if (src instanceof URL) return src.href;
  if (src instanceof WebAssembly.Module || src instanceof ArrayBuffer || ArrayBuffer.isView(src)) return src;
  return undefined; // a Response or a promise: the worker loads its module from next to its script
}

/**
 * Loads one of the two WebAssembly modules (`'cpu'`, the default, or `'webgpu'`) on the page
 * once; later calls return the same promise. A `Recommender` loaded in a worker is given the
 * same source.
 */
export function init(moduleOrPath, which = 'cpu') {
  if (which !== 'cpu' && which !== 'webgpu') {
    return Promise.reject(new TypeError(`init: the module is 'cpu' or 'webgpu', got ${String(which)}`));
  }
  if (moduleOrPath !== undefined) sources[which] = forWorker(moduleOrPath);
  return initModule(which, moduleOrPath);
}

/** Whether `options.worker` asks for a worker (default: yes, on a page that can start one). */
function wantsWorker(method, options) {
  const w = options !== null && typeof options === 'object' ? options.worker : undefined;
  if (w === undefined) return workerByDefault();
  if (typeof w !== 'boolean') {
    const e = new Error(`${method}: \`worker\` must be true or false, got ${typeof w}`);
    e.name = 'LocalrecError';
    e.code = 'INVALID_INPUT';
    throw e;
  }
  return w && workerByDefault();
}

/** Runs `remote()` in a worker; when the worker cannot start, warns and runs `local()` here. */
async function inWorker(remote, local) {
  try {
    return await remote();
  } catch (err) {
    if (!(err instanceof WorkerFailed)) throw err;
    console.warn(`${err.message}; running on the page instead`);
    return local();
  }
}

const STATIC = {
  async load(bundle, options) {
    const local = async () => {
      const cls = await initModule(await pickModule(options), undefined, options?.onProgress);
      return cls.load(bundle, options);
    };
    if (!wantsWorker('Recommender.load', options)) return local();
    return inWorker(() => RemoteRecommender.load(bundle, options, sources), local);
  },
  async evaluateBaseline(name, dataset, options) {
    const local = async () => (await initModule('cpu', undefined)).evaluateBaseline(name, dataset, options);
    if (!wantsWorker('Recommender.evaluateBaseline', options)) return local();
    return inWorker(() => RemoteRecommender.evaluateBaseline(name, dataset, options, sources), local);
  },
};

export const Recommender = /* @__PURE__ */ new Proxy(CpuRecommender, {
  get(target, name, receiver) {
    return Object.hasOwn(STATIC, name) ? STATIC[name] : Reflect.get(target, name, receiver);
  },
});

export { connectDataLayer } from './datalayer.js';
