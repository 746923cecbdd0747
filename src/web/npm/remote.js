// The page's side of a `Recommender` that runs in a Web Worker (`worker.js`), the default: the
// model, the event store (IndexedDB) and every ranking run there, off the page's main thread,
// and this class forwards each call and mirrors the getters. Same API as the module's class.
//
// What cannot cross to the worker is handled here:
// - functions: `onProgress` becomes progress messages; a `filter` function runs on the page,
//   over the worker's ranking (`recommend` below); other functions (GTM's `eventCallback` in
//   a tracked event) cross as stubs (`cloneable`), so the module treats them as on the page;
// - relative URLs (of bundles, datasets and modules) are resolved against the page, not the
//   worker's script;
// - an error's `code` is carried beside it and put back.
// A worker that cannot start (a Content-Security-Policy without `worker-src`, a bundler that
// left the worker out) makes `load` run the model on the page instead, with a warning.

/** Most items one `recommend` may return (serve::MAX_K). */
const MAX_K = 10_000;

/** A URL relative to the page made absolute (the worker resolves against its own script). */
function absolute(url) {
  if (typeof url !== 'string' || typeof document === 'undefined') return url;
  try {
    return new URL(url, document.baseURI).href;
  } catch {
    return url; // not a URL: the module reports it
  }
}

/** `bundle` of `Recommender.load` with its URLs (also an experiment's) made absolute. */
function bundleArg(bundle) {
  if (typeof bundle === 'string') return absolute(bundle);
  if (bundle !== null && typeof bundle === 'object' && !ArrayBuffer.isView(bundle) && !(bundle instanceof ArrayBuffer)) {
    const variants = bundle.variants;
    if (variants !== null && typeof variants === 'object') {
      const abs = {};
      for (const [name, src] of Object.entries(variants)) abs[name] = absolute(src);
      return { ...bundle, variants: abs };
    }
  }
  return bundle;
}

/** Whether `v` is an object literal (or made by `Object.create(null)`). */
function isPlainObject(v) {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** The key of the object that stands for a function in a message (see `cloneable`). */
export const FUNCTION_TAG = '\u0000localrec:function';

/**
 * `value` as structured cloning accepts it: each function (and symbol) replaced by
 * `{ [FUNCTION_TAG]: true }`, which the worker turns back into a function (`revive`), so the
 * module sees a function where the page passed one: ignored where it ignores extra fields
 * (GTM's `eventCallback`), refused by name where a value was expected.
 */
function cloneable(value, depth = 0) {
  if (typeof value === 'function' || typeof value === 'symbol') return { [FUNCTION_TAG]: true };
  if (depth > 64) return value;
  if (Array.isArray(value)) return value.map((v) => cloneable(v, depth + 1));
  if (!isPlainObject(value)) return value; // a primitive, bytes, a Date, a WebAssembly.Module, …
  const out = {};
  for (const [k, v] of Object.entries(value)) out[k] = cloneable(v, depth + 1);
  return out;
}

/** `value` from the page with its tagged functions made functions again (see `cloneable`). */
export function revive(value, depth = 0) {
  if (depth > 64) return value;
  if (Array.isArray(value)) return value.map((v) => revive(v, depth + 1));
  if (!isPlainObject(value)) return value;
  if (value[FUNCTION_TAG] === true) return function stub() {};
  const out = {};
  for (const [k, v] of Object.entries(value)) out[k] = revive(v, depth + 1);
  return out;
}

/** Options with `onProgress` replaced by `true` (the worker posts progress); the callback. */
function splitProgress(options) {
  if (options === null || typeof options !== 'object') return [options, undefined];
  const { onProgress, ...rest } = options;
  const cb = typeof onProgress === 'function' ? onProgress : undefined;
  return [cloneable({ ...rest, ...(cb ? { onProgress: true } : onProgress === undefined ? {} : { onProgress }) }), cb];
}

/** An error from the worker as the module would have thrown it. */
function rebuild(e) {
  const err = new Error(e.message);
  err.name = e.name;
  if (e.code !== undefined) err.code = e.code;
  return err;
}

/** Thrown by `Channel` when the worker could not start or died. */
class WorkerFailed extends Error {}

/** Request/reply over one worker; `onProgress` messages go to the request's callback. A worker
 * that fails (cannot load, dies) rejects what is pending and every later request. */
class Channel {
  #worker;
  #pending = new Map();
  #next = 1;
  #broken;

  constructor(worker) {
    this.#worker = worker;
    worker.onmessage = (e) => {
      const { id, progress, error, ...reply } = e.data;
      const p = this.#pending.get(id);
      if (!p) return;
      if (progress !== undefined) {
        try {
          p.onProgress?.(progress);
        } catch (err) {
          console.error('localrec: onProgress threw', err);
        }
        return;
      }
      this.#pending.delete(id);
      if (error) p.reject(rebuild(error));
      else p.resolve(reply);
    };
    const fail = (why) => {
      this.#broken = new WorkerFailed(`localrec: the worker failed: ${why}`);
      for (const p of this.#pending.values()) p.reject(this.#broken);
      this.#pending.clear();
    };
    worker.onerror = (e) => {
      e.preventDefault?.();
      fail(e.message || 'it could not be loaded');
    };
    worker.onmessageerror = () => fail('a message could not be read');
  }

  /** Sends `msg` (with a fresh id); resolves to the reply `{ value, state? }`. */
  request(msg, onProgress) {
    if (this.#broken) return Promise.reject(this.#broken);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, onProgress });
      try {
        this.#worker.postMessage({ ...msg, id });
      } catch (err) {
        this.#pending.delete(id);
        reject(err);
      }
    });
  }

  post(msg) {
    if (!this.#broken) this.#worker.postMessage(msg);
  }

  /** Whether the worker failed (every later request is refused). */
  get broken() {
    return this.#broken !== undefined;
  }
}

/**
 * A module worker running `worker.js`. Served from another origin (a CDN), the script cannot be
 * a worker itself: a same-origin blob script imports it. `WorkerFailed` when no worker starts.
 */
function startWorker() {
  try {
    // This exact form is what bundlers (Vite, webpack, Rollup) recognise and emit as a worker;
    // a second `new URL('./worker.js', import.meta.url)` would make them copy the file again.
    return new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  } catch (err) {
    const href = err?.name === 'SecurityError' ? import.meta.resolve?.('./worker.js') : undefined;
    if (href) {
      try {
        const src = `import ${JSON.stringify(href)};`;
        return new Worker(URL.createObjectURL(new Blob([src], { type: 'text/javascript' })), { type: 'module' });
      } catch {
        // reported below
      }
    }
    throw new WorkerFailed(`localrec: no worker could start (${err?.name}: ${err?.message})`);
  }
}

/** Whether a `Recommender` runs in a worker by default here: on a page that can start one. */
export function workerByDefault() {
  return typeof Worker === 'function' && typeof document !== 'undefined';
}

/** The page's worker, started by the first load and shared by every later one (one copy of
 * each module in memory, and a module's state — such as a failed GPU — seen by all). */
let shared;

/** The shared worker's channel; a fresh one after the last one failed. */
function channel() {
  if (!shared || shared.broken) shared = new Channel(startWorker());
  return shared;
}

let nextRec = 1;

/** A `Recommender` running in a Web Worker (see the top of this file). */
export class RemoteRecommender {
  #channel;
  #rec;
  #state;

  constructor(channel, rec, state) {
    this.#channel = channel;
    this.#rec = rec;
    this.#state = state;
  }

  /**
   * Loads `bundle` in the page's worker (started on first use). `wasm`: the module sources
   * given to `init()`. Rejects with `WorkerFailed` when the worker cannot start (the caller
   * then loads on the page).
   */
  static async load(bundle, options, wasm) {
    const ch = channel();
    const rec = nextRec++;
    const [opts, onProgress] = splitProgress(options);
    const reply = await ch.request({ op: 'load', rec, bundle: cloneable(bundleArg(bundle)), options: opts, wasm }, onProgress);
    return new RemoteRecommender(ch, rec, reply.state);
  }

  /** `Recommender.evaluateBaseline` in the page's worker. */
  static async evaluateBaseline(name, dataset, options, wasm) {
    const [opts, onProgress] = splitProgress(options);
    return (await channel().request({ op: 'baseline', args: cloneable([name, absolute(dataset), opts]), wasm }, onProgress)).value;
  }

  async #call(method, args, onProgress) {
    const reply = await this.#channel.request({ op: 'call', rec: this.#rec, method, args }, onProgress);
    Object.assign(this.#state, reply.state);
    return reply.value;
  }

  get backend() { return this.#state.backend; }
  get fallbackReason() { return this.#state.fallbackReason; }
  get adapter() { return this.#state.adapter; }
  get namespace() { return this.#state.namespace; }
  get storage() { return this.#state.storage; }
  get variant() { return this.#state.variant; }
  get info() { return this.#state.info; }

  catalog() { return this.#call('catalog', []); }
  updateCatalog(items) { return this.#call('updateCatalog', [cloneable(items)]); }
  setStorage(mode) { return this.#call('setStorage', [mode]); }
  stats(options) { return this.#call('stats', [cloneable(options)]); }
  report(options) { return this.#call('report', [cloneable(options)]); }
  track(event) { return this.#call('track', [cloneable(event)]); }
  rerank(candidates, options) { return this.#call('rerank', [cloneable(candidates), cloneable(options)]); }
  history() { return this.#call('history', []); }
  forget() { return this.#call('forget', []); }
  _destroyGpuDevice() { return this.#call('_destroyGpuDevice', []); }

  evaluate(dataset, options) {
    const [opts, onProgress] = splitProgress(options);
    return this.#call('evaluate', [absolute(dataset), opts], onProgress);
  }

  /**
   * `recommend(options)`. A `filter` function cannot run in the worker: the worker ranks the
   * candidates without it (as many as 4·k, at least 64, more while too few pass, at most
   * 10,000), the function is asked about them here in rank order until `k` pass, and the
   * worker returns the list with the others excluded — the same list as on the page, kept as
   * one impression.
   */
  async recommend(options) {
    const filter = options !== null && typeof options === 'object' ? options.filter : undefined;
    if (typeof filter !== 'function') return this.#call('recommend', [cloneable(options)]);
    const { filter: _, ...rest } = options;
    const k = rest.k ?? 10;
    if (!Number.isInteger(k) || k < 1 || k > MAX_K) return this.#call('recommend', [cloneable(rest)]); // the module's error
    const rejected = [];
    let want = Math.min(MAX_K, Math.max(4 * k, 64));
    for (;;) {
      const ranked = await this.#call('recommend', [cloneable({ ...rest, k: want, explain: false, record: false })]);
      rejected.length = 0;
      let passed = 0;
      for (const r of ranked) {
        if (passed === k) break;
        let ok;
        try {
          ok = filter({ item: r.item, title: r.title, categories: r.categories ?? [] });
        } catch (err) {
          const e = new Error(`recommend: the filter function threw: ${err?.message ?? String(err)}`);
          e.name = 'LocalrecError';
          e.code = 'INVALID_INPUT';
          throw e;
        }
        if (ok) passed++;
        else rejected.push(r.item);
      }
      if (passed === k || ranked.length < want || want === MAX_K) break;
      want = Math.min(MAX_K, want * 4);
    }
    const exclude = [...(Array.isArray(rest.exclude) ? rest.exclude : []), ...rejected];
    return this.#call('recommend', [cloneable({ ...rest, exclude })]);
  }

  /** Frees the model in the worker (the worker stays for the page's other recommenders). */
  free() {
    this.#channel.post({ op: 'free', rec: this.#rec });
  }

  [Symbol.dispose]() {
    this.free();
  }
}

export { WorkerFailed };
