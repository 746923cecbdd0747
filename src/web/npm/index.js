// The entry point of the npm package `localrec`: two builds of one module, initialised on
// first use, and `connectDataLayer` (datalayer.js).
//
// - `localrec_cpu_bg.wasm`: the CPU-only module (burn's CPU backend), what most page views need;
// - `localrec_bg.wasm`: the WebGPU module (also has the CPU backend, for the fallback when the
//   GPU fails during a session).
//
// `Recommender.load(bundle, { device })` fetches and compiles only the module it needs: the
// WebGPU one for `device: 'webgpu'`, and for `'auto'` (the default) when the browser offers a
// WebGPU adapter; the CPU-only one otherwise. `rec.backend` says what ran. Both modules expose
// the same class. `Recommender.evaluateBaseline()` uses the CPU-only module. Call
// `init(urlOrModule, 'cpu' | 'webgpu')` yourself first to load a module from elsewhere.
//
// Nothing here runs at import: the package is `"sideEffects": false`, and a bundler drops a
// module's top-level statements when it only keeps its exports (an earlier version patched
// `Recommender.load` at import, and a Vite production build dropped the patch). `Recommender`
// is the class seen through a Proxy whose static `load` and `evaluateBaseline` pick and
// initialise a module first.
import initGpu, { Recommender as GpuRecommender } from './localrec.js';
import initCpu, { Recommender as CpuRecommender } from './localrec_cpu.js';

const MODULES = {
  cpu: { init: initCpu, cls: CpuRecommender, ready: undefined },
  webgpu: { init: initGpu, cls: GpuRecommender, ready: undefined },
};

/**
 * Loads one of the two WebAssembly modules (`'cpu'`, the default, or `'webgpu'`) once; later
 * calls return the same promise.
 */
export function init(moduleOrPath, which = 'cpu') {
  const m = MODULES[which];
  if (!m) return Promise.reject(new TypeError(`init: the module is 'cpu' or 'webgpu', got ${String(which)}`));
  m.ready ??= m.init(moduleOrPath === undefined ? undefined : { module_or_path: moduleOrPath });
  return m.ready;
}

/** Which module `Recommender.load` needs for `options.device`. */
async function moduleFor(options) {
  const device = options !== null && typeof options === 'object' ? (options.device ?? 'auto') : 'auto';
  if (device === 'webgpu') return 'webgpu';
  if (device !== 'auto') return 'cpu'; // 'cpu', or a bad value that the module reports
  try {
    const gpu = globalThis.navigator?.gpu;
    return gpu && (await gpu.requestAdapter()) ? 'webgpu' : 'cpu';
  } catch {
    return 'cpu';
  }
}

const STATIC = {
  async load(bundle, options) {
    const which = await moduleFor(options);
    await init(undefined, which);
    return MODULES[which].cls.load(bundle, options);
  },
  async evaluateBaseline(name, dataset, options) {
    await init(undefined, 'cpu');
    return CpuRecommender.evaluateBaseline(name, dataset, options);
  },
};

export const Recommender = /* @__PURE__ */ new Proxy(CpuRecommender, {
  get(target, name, receiver) {
    return Object.hasOwn(STATIC, name) ? STATIC[name] : Reflect.get(target, name, receiver);
  },
});

export { connectDataLayer } from './datalayer.js';
