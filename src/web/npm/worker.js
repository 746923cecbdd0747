// The Web Worker in which a `Recommender` runs by default (`remote.js` is the page's side).
//
// It loads one of the two modules (the same choice as on the page: `modules.js`), keeps the
// loaded recommenders by a number the page gives them, and answers messages:
//
//   { id, op: 'load', rec, bundle, options, wasm }   -> Recommender.load; its state
//   { id, op: 'call', rec, method, args }            -> rec[method](...args); its state
//   { id, op: 'baseline', args, wasm }               -> Recommender.evaluateBaseline(...args)
//   { op: 'free', rec }                              -> rec.free()
//
// with `{ id, value, state? }`, `{ id, error: { name, message, code } }` (the error's `code`
// does not survive structured cloning on its own) or, while loading or evaluating,
// `{ id, progress }`. An option that was a function on the page (`onProgress`) arrives as
// `true` and becomes a function that posts progress messages; other functions arrive as tags
// that `revive` turns into stubs.
import { pickModule, initModule } from './modules.js';
import { revive } from './remote.js';

const recs = new Map();

/** The getters the page mirrors after each call. */
function state(rec) {
  return {
    backend: rec.backend,
    fallbackReason: rec.fallbackReason,
    adapter: rec.adapter,
    namespace: rec.namespace,
    storage: rec.storage,
    variant: rec.variant,
  };
}

/** `options` with `onProgress: true` made a function that reports to the page as message `id`. */
function withProgress(id, options) {
  if (options === null || typeof options !== 'object' || options.onProgress !== true) return options;
  return { ...options, onProgress: (progress) => self.postMessage({ id, progress }) };
}

async function handle(msg) {
  switch (msg.op) {
    case 'load': {
      const which = await pickModule(msg.options);
      const options = withProgress(msg.id, msg.options);
      const cls = await initModule(which, msg.wasm?.[which], options?.onProgress);
      const rec = await cls.load(msg.bundle, options);
      recs.set(msg.rec, rec);
      return { value: undefined, state: { ...state(rec), info: rec.info } };
    }
    case 'call': {
      const rec = recs.get(msg.rec);
      if (!rec) throw new Error('this Recommender was freed');
      const args = msg.method === 'evaluate' ? [msg.args[0], withProgress(msg.id, msg.args[1])] : msg.args;
      const value = await rec[msg.method](...args);
      return { value, state: state(rec) };
    }
    case 'baseline': {
      const cls = await initModule('cpu', msg.wasm?.cpu);
      const [name, dataset, options] = msg.args;
      return { value: await cls.evaluateBaseline(name, dataset, withProgress(msg.id, options)) };
    }
    case 'free': {
      recs.get(msg.rec)?.free();
      recs.delete(msg.rec);
      return undefined;
    }
    default:
      throw new Error(`localrec worker: unknown message ${String(msg.op)}`);
  }
}

self.onmessage = async (e) => {
  const msg = revive(e.data);
  try {
    const reply = await handle(msg);
    if (msg.id !== undefined) self.postMessage({ id: msg.id, ...reply });
  } catch (err) {
    const error = err instanceof Error
      ? { name: err.name, message: err.message, code: err.code }
      : { name: 'Error', message: String(err) };
    if (msg.id !== undefined) self.postMessage({ id: msg.id, error });
  }
};
