// Counts the network requests the page has made since it loaded (the navigation itself plus
// every resource: scripts, the wasm module, the model bundle, data files), from the browser's
// own Resource Timing entries, so the privacy panel can show what went over the network.
//
// A request "could carry behaviour" if it went to another origin, had a query string, or was
// a beacon or a fetch to something that is not one of the page's static files. The demo
// never makes such a request (every request is a GET of a static file, with no body); the
// check is there so that one would show up in red if it did. IndexedDB and the model run
// locally and make no requests.

const STATIC = /\.(html|js|mjs|css|wasm|lrec|json|svg|png|ico|woff2?)$/i;

/** What a request was, in words, from its path. */
function describe(url, initiator) {
  const p = url.pathname;
  if (initiator === 'navigation') return 'this page';
  if (p.endsWith('.wasm')) return 'localrec WebAssembly module';
  if (p.endsWith('.lrec')) return 'model bundle';
  if (p.endsWith('demo.json')) return 'demo configuration';
  if (p.endsWith('.dataset.json')) return 'held-out evaluation data';
  if (p.endsWith('.eval.json')) return 'native CLI evaluation report';
  if (p.includes('/node_modules/localrec/')) return 'localrec package';
  if (p.endsWith('.css')) return 'stylesheet';
  if (p.endsWith('.js') || p.endsWith('.mjs')) return 'page script';
  if (p.endsWith('.svg') || p.endsWith('.ico') || p.endsWith('.png')) return 'image';
  return initiator || 'other';
}

function classify(entry) {
  const url = new URL(entry.name, location.href);
  const sameOrigin = url.origin === location.origin;
  const initiator = entry.entryType === 'navigation' ? 'navigation' : entry.initiatorType;
  // Why this request could carry something about the shopper (empty: it cannot).
  const flags = [];
  if (!sameOrigin) flags.push('another origin');
  if (initiator !== 'navigation') {
    if (url.search) flags.push('query string');
    if (initiator === 'beacon') flags.push('beacon');
    if (!STATIC.test(url.pathname)) flags.push('not a static file');
  }
  return {
    url: sameOrigin ? url.pathname + url.search : url.href,
    what: describe(url, initiator),
    initiator,
    // Size of the body, and whether it came from the HTTP cache (a 304 moves only headers).
    bytes: entry.encodedBodySize || entry.transferSize || 0,
    cached: entry.encodedBodySize > 0 && entry.transferSize < entry.encodedBodySize,
    start: entry.startTime,
    duration: entry.duration,
    flags,
    carries: flags.length > 0,
  };
}

/**
 * Starts watching; `onChange(list)` is called with every request so far each time one
 * finishes. Returns `{ list }` (live).
 */
export function watchNetwork(onChange) {
  const list = [];
  const seen = new Set();
  const add = (entries) => {
    let changed = false;
    for (const e of entries) {
      // blob: and data: URLs (the JSON export) are not network requests.
      if (!/^https?:/.test(e.name)) continue;
      const key = `${e.entryType}|${e.name}|${e.startTime}`;
      if (seen.has(key)) continue;
      seen.add(key);
      list.push(classify(e));
      changed = true;
    }
    if (changed) {
      list.sort((a, b) => a.start - b.start);
      onChange?.(list);
    }
  };
  add(performance.getEntriesByType('navigation'));
  if (typeof PerformanceObserver === 'function') {
    new PerformanceObserver((l) => add(l.getEntries())).observe({ type: 'resource', buffered: true });
  }
  // The Resource Timing buffer holds 250 entries by default; keep room for a long session.
  performance.setResourceTimingBufferSize?.(10_000);
  return { list };
}
