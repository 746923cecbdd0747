// The two builds of the module and the choice between them, the same on the page and in the
// worker (`worker.js`):
//
// - `localrec_cpu_bg.wasm`: the CPU-only module (burn's CPU backend), what most page views need;
// - `localrec_bg.wasm`: the WebGPU module (also has the CPU backend, for the fallback when the
//   GPU fails during a session).
//
// Only the glue code of both is imported here; a module's `.wasm` is fetched and compiled by
// `initModule`, the first time it is needed.
import initGpu, { Recommender as GpuRecommender } from './localrec.js';
import initCpu, { Recommender as CpuRecommender } from './localrec_cpu.js';

const MODULES = {
  cpu: { init: initCpu, cls: CpuRecommender, ready: undefined },
  webgpu: { init: initGpu, cls: GpuRecommender, ready: undefined },
};

export { CpuRecommender };

/**
 * Loads module `which` (`'cpu'` or `'webgpu'`) once, from `moduleOrPath` if given (else next to
 * this file); resolves to its `Recommender` class. Later calls return the first call's module.
 * `onProgress`, if given, hears `{ phase: 'compile' }` when this call downloads and compiles it.
 */
export async function initModule(which, moduleOrPath, onProgress) {
  const m = MODULES[which];
  if (!m) throw new TypeError(`init: the module is 'cpu' or 'webgpu', got ${String(which)}`);
  if (!m.ready && typeof onProgress === 'function') onProgress({ phase: 'compile' });
  m.ready ??= m.init(moduleOrPath === undefined ? undefined : { module_or_path: moduleOrPath });
  await m.ready;
  return m.cls;
}

/**
 * Which module `Recommender.load` needs for `options.device`: `'webgpu'` when asked for, or for
 * `'auto'` (the default) when this context offers a WebGPU adapter; else `'cpu'`.
 */
export async function pickModule(options) {
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
