// Shared helpers of the demo pages: the demo configuration (generated/demo.json), DOM
// building, error messages a shopper can act on, formatting, toasts.

/** Where `localrec start` writes the demo's files, relative to the pages. */
export const GENERATED = 'generated/';

/** The command that creates everything under generated/. */
export const START_COMMAND = 'cargo run --release --features cli -- start';

/** An error with a title and a hint for the person looking at the page. */
export class DemoError extends Error {
  constructor(title, message, { hint, cause, code } = {}) {
    super(message, { cause });
    this.title = title;
    this.hint = hint;
    this.code = code ?? cause?.code;
  }
}

/**
 * Reads generated/demo.json: `{ dataset: { name, file }, models: [{ name, file, reference? }] }`,
 * with every file resolved to a URL relative to the page.
 */
export async function loadDemoConfig() {
  let res;
  try {
    res = await fetch(`${GENERATED}demo.json`, { cache: 'no-cache' });
  } catch (e) {
    throw new DemoError('The demo server is not answering', String(e.message ?? e), {
      hint: 'Start it again with <code>node www/server.mjs</code> and reload this page.',
      cause: e,
    });
  }
  if (!res.ok) {
    throw new DemoError(
      'The demo has no model yet',
      `generated/demo.json is missing (HTTP ${res.status}): the demo's model bundles and data have not been written.`,
      { hint: `In the repository, run <code>${START_COMMAND}</code> (it downloads MovieLens-100k, trains the model and writes <code>www/generated/</code>), then reload this page.` },
    );
  }
  let cfg;
  try {
    cfg = await res.json();
  } catch (e) {
    throw new DemoError('generated/demo.json is not valid JSON', e.message, {
      hint: `Write it again with <code>${START_COMMAND}</code>.`,
      cause: e,
    });
  }
  if (!Array.isArray(cfg.models) || cfg.models.length === 0) {
    throw new DemoError('generated/demo.json lists no model', 'Its "models" list is empty or missing.', {
      hint: `Write it again with <code>${START_COMMAND}</code>.`,
    });
  }
  const url = (f) => (f ? new URL(f, new URL(GENERATED, location.href)).href : undefined);
  return {
    dataset: cfg.dataset ? { ...cfg.dataset, url: url(cfg.dataset.file) } : undefined,
    models: cfg.models.map((m) => ({ ...m, url: url(m.file), referenceUrl: url(m.reference) })),
  };
}

/** `?device=` of the page: 'auto' (default), 'webgpu' or 'cpu'. */
export function deviceFromUrl() {
  const d = new URLSearchParams(location.search).get('device');
  return ['auto', 'webgpu', 'cpu'].includes(d) ? d : 'auto';
}

/**
 * Turns anything thrown while loading or running a model into a DemoError with a message a
 * person can act on (the package's errors carry a `.code`, see the localrec README).
 */
export function explainError(e, what = 'The model') {
  if (e instanceof DemoError) return e;
  const msg = String(e?.message ?? e);
  switch (e?.code) {
    case 'NETWORK':
      return new DemoError(`${what} could not be downloaded`, msg, {
        cause: e,
        hint: `If this is the demo's own model, run <code>${START_COMMAND}</code> in the repository to write <code>www/generated/</code>, then reload.`,
      });
    case 'BAD_BUNDLE':
      return new DemoError(`${what} is not a bundle this version of localrec can read`, msg, {
        cause: e,
        hint: `Bundles are written by <code>localrec train</code> (or <code>${START_COMMAND}</code>); one from another localrec version must be re-exported with <code>localrec export</code>.`,
      });
    case 'WEBGPU_UNAVAILABLE':
      return new DemoError('WebGPU is not available in this browser', msg, {
        cause: e,
        hint: 'Open the page without <code>?device=webgpu</code> to run on the CPU (WebAssembly) instead.',
      });
    case 'QUOTA_EXCEEDED':
    case 'STORAGE':
      return new DemoError('The browser refused to store your activity', msg, {
        cause: e,
        hint: 'Your events are kept in memory for now. Free some site storage (or leave private browsing) to keep them across visits.',
      });
    case 'UNKNOWN_ITEM':
      return new DemoError('That item is not in the loaded model’s catalogue', msg, { cause: e });
    case 'INVALID_INPUT':
      return new DemoError('localrec rejected a request', msg, { cause: e });
    case 'INFERENCE':
      return new DemoError('The model failed to run', msg, {
        cause: e,
        hint: 'This is a bug in localrec: please report it with the message below.',
      });
    default:
      return new DemoError(`${what} failed`, msg, { cause: e });
  }
}

/** Fills `el` with a message panel for an error (title, what happened, what to do). */
export function showErrorPanel(el, error, { retry } = {}) {
  const e = explainError(error);
  el.replaceChildren(
    h('div', { class: 'panel panel-error', role: 'alert' }, [
      h('h2', {}, e.title),
      h('p', {}, e.message),
      e.hint ? h('p', { class: 'hint', html: e.hint }) : null,
      e.code ? h('p', { class: 'muted small' }, `error code: ${e.code}`) : null,
      retry ? h('button', { class: 'btn', onclick: retry }, 'Try again') : null,
    ]),
  );
  el.hidden = false;
  return e;
}

/**
 * Creates an element: `h('a', { href, class, onclick, dataset: {…}, html }, children)`.
 * Children are nodes, strings (as text, never HTML) or arrays of them; null/false are skipped.
 * `html` sets innerHTML and is only ever given constant strings of this code.
 */
export function h(tag, attrs = {}, children = []) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'html') el.innerHTML = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'style' && typeof v === 'object') for (const [p, x] of Object.entries(v)) el.style.setProperty(p, x);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  const add = (c) => {
    if (c === null || c === undefined || c === false) return;
    if (Array.isArray(c)) c.forEach(add);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  };
  add(children);
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);

/** Escapes text for the few hints that are HTML (they hold <code>). */
export const esc = (t) => String(t).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function fmtMs(ms) {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return '–';
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

export function fmtBytes(n) {
  if (!Number.isFinite(n)) return '–';
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 ** 2).toFixed(1)} MB`;
}

export const fmtInt = (n) => Number(n).toLocaleString('en-US');

/** The backend badge text and tooltip for a loaded recommender. */
export function backendLabel(rec) {
  const name = rec.backend === 'webgpu' ? 'WebGPU' : 'CPU';
  const tip =
    rec.backend === 'webgpu'
      ? `Running on WebGPU${rec.adapter ? ` (${rec.adapter})` : ''}`
      : `Running on the CPU (WebAssembly)${rec.fallbackReason ? `: ${rec.fallbackReason}` : ': asked for with ?device=cpu'}`;
  return { name, tip };
}

/** Shows a short message at the bottom of the page. `kind`: 'info' | 'ok' | 'error'. */
export function toast(message, kind = 'info', ms = 3500) {
  let box = document.getElementById('toasts');
  if (!box) {
    box = h('div', { id: 'toasts', class: 'toasts', 'aria-live': 'polite', role: 'status' });
    document.body.append(box);
  }
  const t = h('div', { class: `toast toast-${kind}` }, message);
  box.append(t);
  setTimeout(() => t.remove(), ms);
}

/** A stable small hash of a string (FNV-1a), for colours and demo prices. */
export function hashString(s) {
  let x = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    x ^= s.charCodeAt(i);
    x = Math.imul(x, 0x01000193);
  }
  return x >>> 0;
}

/** Progress text for `Recommender.load`'s onProgress phases. */
export function loadPhaseText(p, device) {
  switch (p.phase) {
    case 'compile':
      return 'Loading localrec (WebAssembly)…';
    case 'cache':
      return 'Using the kept copy of the model…';
    case 'download':
      return p.total ? `Downloading the model… ${fmtBytes(p.loaded)} of ${fmtBytes(p.total)}` : `Downloading the model… ${fmtBytes(p.loaded ?? 0)}`;
    case 'parse':
      return 'Checking the bundle…';
    case 'backend':
      return device === 'cpu' ? 'Starting the CPU backend…' : 'Starting WebGPU…';
    case 'model':
      return 'Building the model…';
    case 'warmup':
      return 'Warming up…';
    case 'ready':
      return 'Ready';
    default:
      return 'Loading…';
  }
}

/** The fraction done (0..1) for a load phase, for a progress bar. */
export function loadPhaseFraction(p) {
  const order = ['download', 'parse', 'backend', 'model', 'warmup', 'ready'];
  const i = order.indexOf(p.phase);
  if (p.phase === 'download' && p.total) return 0.1 + 0.5 * (p.loaded / p.total);
  return [0.1, 0.62, 0.7, 0.8, 0.9, 1][i] ?? 0.05;
}
