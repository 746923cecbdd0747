// The privacy panel: the events stored in this browser (IndexedDB, via rec.history), a JSON
// export, "Forget everything" (rec.forget and the cart), and every network request the page
// made, with the header's request counter.
import { $, h, explainError, toast, fmtBytes } from '../common.js';
import { watchNetwork } from '../netwatch.js';
import { state, on, emit } from './store.js';
import { clearCart } from './cart.js';

let net = { list: [] };

async function renderPrivacy() {
  const rec = state.rec;
  if (!rec) {
    // No model loaded (an error): there is still the network list to show.
    $('#privacy-body').replaceChildren(
      h('p', {}, 'No model is loaded, so nothing about you has been recorded on this page.'),
      h('section', { class: 'privacy-section', 'aria-labelledby': 'net-title', id: 'network-section' }),
    );
    renderNetwork();
    return;
  }
  let events = [];
  let error;
  try {
    events = await rec.history();
  } catch (e) {
    error = explainError(e, 'Reading your stored events');
  }
  const rows = [...events].reverse().map((e) => {
    const it = e.item ? state.byId.get(e.item) : undefined;
    return h('tr', { dataset: { type: e.type } }, [
      h('td', {}, new Date(e.ts).toLocaleString()),
      h('td', {}, h('span', { class: `event event-${e.type}` }, e.type)),
      h('td', {}, e.type === 'search' ? `“${e.query}”` : it ? it.title : e.item),
      h('td', {}, e.saved ? 'IndexedDB' : h('span', { class: 'warn' }, 'memory only')),
    ]);
  });
  $('#privacy-body').replaceChildren(
    h('section', { class: 'privacy-section', 'aria-labelledby': 'stored-title' }, [
      h('h3', { id: 'stored-title' }, ['Stored in this browser ', h('span', { class: 'pill', id: 'event-count' }, `${events.length} ${events.length === 1 ? 'event' : 'events'}`)]),
      h('p', {}, [
        'Your views, searches, cart additions and purchases are kept in this browser’s IndexedDB (database “localrec”, namespace ',
        h('code', {}, rec.namespace),
        '). The model runs in this tab and reads them there; they are never uploaded. Your cart is kept in localStorage (',
        String(state.cart.length), ' ', state.cart.length === 1 ? 'film' : 'films', ').',
      ]),
      error ? h('p', { class: 'warn' }, `${error.title}: ${error.message}`) : null,
      h('div', { class: 'row-actions' }, [
        h('button', { type: 'button', class: 'btn', id: 'export-json', disabled: events.length === 0, onclick: () => exportEvents(events) }, 'Export as JSON'),
        forgetButton(events.length),
      ]),
      events.length === 0
        ? h('p', { class: 'empty' }, 'Nothing stored: you are a new shopper here.')
        : h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Stored events' }, h('table', { class: 'events', id: 'events-table' }, [
            h('thead', {}, h('tr', {}, ['When', 'Event', 'Film or search', 'Where'].map((t) => h('th', { scope: 'col' }, t)))),
            h('tbody', {}, rows),
          ])),
    ]),
    h('section', { class: 'privacy-section', 'aria-labelledby': 'net-title', id: 'network-section' }),
  );
  renderNetwork();
}

function forgetButton(n) {
  const wrap = h('span', { class: 'forget' });
  const ask = h('button', { type: 'button', class: 'btn danger', id: 'forget', disabled: n === 0 }, 'Forget everything');
  ask.addEventListener('click', () => {
    wrap.replaceChildren(
      h('span', {}, `Delete ${n} ${n === 1 ? 'event' : 'events'} and the cart? `),
      h('button', { type: 'button', class: 'btn danger', id: 'forget-confirm', onclick: forgetAll }, 'Yes, forget'),
      h('button', { type: 'button', class: 'btn', onclick: () => wrap.replaceChildren(ask) }, 'Cancel'),
    );
    $('#forget-confirm').focus();
  });
  wrap.append(ask);
  return wrap;
}

async function forgetAll() {
  try {
    await state.rec.forget();
  } catch (e) {
    const err = explainError(e, 'Forgetting');
    toast(`${err.title}: ${err.message}`, 'error', 6000);
    return;
  }
  clearCart();
  toast('Forgotten: this browser holds nothing about you any more.', 'ok');
  await emit('history', { forgotten: true }); // this panel, the rail and the grid
  $('#export-json')?.focus();
}

function exportEvents(events) {
  const doc = {
    exported: new Date().toISOString(),
    shop: 'Reel Corner (localrec demo)',
    namespace: state.rec.namespace,
    model: state.source.label,
    events,
  };
  const url = URL.createObjectURL(new Blob([JSON.stringify(doc, null, 2)], { type: 'application/json' }));
  const a = h('a', { href: url, download: `reel-corner-my-data-${new Date().toISOString().slice(0, 10)}.json` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function renderNetwork() {
  const box = $('#network-section');
  if (!box) return;
  const list = net.list;
  const bad = list.filter((r) => r.carries);
  box.replaceChildren(
    h('h3', { id: 'net-title' }, ['Network ', h('span', { class: 'pill', id: 'net-total' }, `${list.length} requests`)]),
    h('p', {}, [
      h('strong', {}, `${list.length} requests since this page loaded`), ', ',
      bad.length === 0
        ? h('strong', { class: 'ok', id: 'net-verdict' }, 'none of them carries your activity')
        : h('strong', { class: 'warn', id: 'net-verdict' }, `${bad.length} could carry data`),
      ': each is a plain download of the page, the localrec package, the model or its data (counted by the browser’s own Resource Timing). Tracking, recommending and forgetting make no request at all.',
    ]),
    h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Network requests of this page' }, h('table', { class: 'net' }, [
      h('thead', {}, h('tr', {}, ['#', 'What', 'Path', 'Size', 'About you?'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, list.map((r, i) => h('tr', { class: r.carries ? 'bad' : '' }, [
        h('td', {}, String(i + 1)),
        h('td', {}, r.what),
        h('td', { class: 'path' }, r.url),
        h('td', {}, r.bytes ? `${fmtBytes(r.bytes)}${r.cached ? ' (cached)' : ''}` : '–'),
        h('td', {}, r.carries ? `check: ${r.flags.join(', ')}` : 'no'),
      ]))),
    ])),
  );
}

/** Starts the network counter (first, so that it sees every request) and wires the panel. */
export function wirePrivacy() {
  net = watchNetwork((list) => {
    const bad = list.filter((r) => r.carries).length;
    $('#net-count').textContent = String(list.length);
    $('#net-count').title = `${list.length} network requests since this page loaded; ${bad} could carry anything about you`;
    $('#open-privacy').classList.toggle('alert', bad > 0);
    if ($('#privacy-dialog').open) renderNetwork();
  });
  $('#open-privacy').addEventListener('click', async () => {
    await renderPrivacy();
    $('#privacy-dialog').showModal();
  });
  // The panel follows the history while it is open (new events, or "forget").
  on('history', () => {
    if ($('#privacy-dialog').open) return renderPrivacy();
  });
}
