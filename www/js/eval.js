// The evaluation page: full-ranking evaluation of the demo's models in the browser
// (rec.evaluate, on WebGPU when available), checked against the native CLI's reports, beside
// the baselines (popularity, Markov, item-kNN: Recommender.evaluateBaseline, fitted and
// evaluated in the page by the code of `localrec eval`), with a summary table, charts, a
// side-by-side comparison and a simulated shopper.
//
// URL parameters: ?device=auto|webgpu|cpu preselects the backend; ?run=1 starts at once.
import { Recommender } from 'localrec';
import {
  $, h, DemoError, loadDemoConfig, deviceFromUrl, explainError, showErrorPanel, fmtMs, fmtInt,
  backendLabel, START_COMMAND, esc,
} from './common.js';
import { chart, forest, legend } from './charts.js';
import { parseDataset } from './dataset.js';
import { displayTitle } from './catalog.js';

const FAMILIES = [
  ['hr', 'Hit rate (HR)'],
  ['ndcg', 'NDCG'],
  ['mrr', 'MRR'],
  ['recall', 'Recall'],
  ['precision', 'Precision'],
  ['map', 'MAP'],
  ['coverage', 'Coverage'],
];

/** The baselines the page fits and evaluates itself: [name, title, what it recommends]. */
const BASELINES = [
  ['pop', 'Most popular', 'the films watched most in training, the same for everyone'],
  ['markov', 'Markov chain', 'the films that most often came right after the last one watched'],
  ['itemknn', 'Item-kNN', 'the films most often watched near the recent ones'],
];
const isBaseline = (run) => run.kind === 'baseline';

const state = {
  cfg: null,
  datasetBytes: null, // ArrayBuffer of the held-out data JSON
  dataset: null, // parsed (for the simulated shopper)
  recs: new Map(), // `${model}|${device}` -> Promise<Recommender>
  runs: [], // { id, model, kind?: 'baseline', source: 'browser'|'native', label, report, backend?, ms? }
  compareTouched: false, // the visitor picked A or B: keep their choice
};
window.evalPage = state; // for the console and the end-to-end tests

// ---------------------------------------------------------------------------------------
// Loading

async function loadDataset() {
  const ds = state.cfg.dataset;
  if (!ds?.url) {
    throw new DemoError('The demo has no held-out data', 'generated/demo.json names no dataset file.', {
      hint: `Run <code>${START_COMMAND}</code> to write it.`,
    });
  }
  const res = await fetch(ds.url).catch((e) => ({ ok: false, status: e.message }));
  if (!res.ok) {
    throw new DemoError('The held-out data is missing', `${ds.file} could not be downloaded (HTTP ${res.status}).`, {
      hint: `Run <code>${START_COMMAND}</code> in the repository: it writes <code>www/generated/${esc(ds.file)}</code>. Then reload.`,
    });
  }
  state.datasetBytes = await res.arrayBuffer();
  try {
    state.dataset = parseDataset(JSON.parse(new TextDecoder().decode(state.datasetBytes)));
  } catch (e) {
    throw new DemoError('The held-out data cannot be read', String(e.message ?? e), { hint: `Write it again with <code>${START_COMMAND}</code>.` });
  }
}

/** The native CLI's reports (generated/*.eval.json), shown until the browser has run. */
async function loadReferences() {
  await Promise.all(
    state.cfg.models.map(async (m) => {
      if (!m.referenceUrl) return;
      try {
        const res = await fetch(m.referenceUrl);
        if (!res.ok) return;
        const report = await res.json();
        state.runs.push({ id: `native:${m.name}`, model: m.name, source: 'native', label: `${m.name} · native CLI`, report });
      } catch {
        // no reference: the parity check says so
      }
    }),
  );
  state.runs.sort((a, b) => a.id.localeCompare(b.id));
}

const device = () => $('#device').value;

/** One recommender per model and backend, shared by the evaluation and the simulated shopper. */
function recFor(model) {
  const key = `${model.name}|${device()}`;
  if (!state.recs.has(key)) {
    // The replayed histories keep their 1997-98 timestamps: no age limit on them.
    const p = Recommender.load(model.url, { device: device(), namespace: `demo-sim:${model.name}`, maxAgeDays: Infinity }).catch((e) => {
      state.recs.delete(key);
      throw explainError(e, `The model “${model.name}”`);
    });
    state.recs.set(key, p);
  }
  return state.recs.get(key);
}

function showBackend(rec, ms, what) {
  const { name, tip } = backendLabel(rec);
  const b = $('#backend-badge');
  b.disabled = false;
  b.dataset.backend = rec.backend;
  b.title = `${tip}. ${what}`;
  $('#backend-name').textContent = name;
  $('#latency').textContent = fmtMs(ms);
}

// ---------------------------------------------------------------------------------------
// Running the evaluation

async function runSelected() {
  const boxes = [...document.querySelectorAll('#model-list input:checked')];
  const chosen = boxes.filter((i) => !i.dataset.baseline).map((i) => state.cfg.models.find((m) => m.name === i.value)).filter(Boolean);
  const baselines = boxes.map((i) => i.dataset.baseline).filter(Boolean);
  if (!chosen.length && !baselines.length) return;
  $('#run').disabled = true;
  document.body.dataset.evalDone = 'false';
  const box = $('#progress');
  const progressRow = (key, name, kind) => {
    const bar = h('progress', { max: 1, value: 0, 'aria-label': `Evaluation of ${name}${kind === 'baseline' ? ' (baseline)' : ''}` });
    const text = h('span', { class: 'small' }, 'waiting…');
    const label = h('strong', {}, [name, kind === 'baseline' ? h('span', { class: 'muted small' }, ' baseline') : null]);
    const row = h('div', { class: 'progress-row', dataset: { model: name, kind } }, [label, bar, text]);
    return [key, { row, bar, text }];
  };
  const rows = new Map([
    ...chosen.map((m) => progressRow(m.name, m.name, 'model')),
    ...baselines.map((b) => progressRow(`baseline:${b}`, b, 'baseline')),
  ]);
  box.replaceChildren(...[...rows.values()].map((r) => r.row));
  // One model after the other: they share the device.
  for (const m of chosen) {
    const { bar, text, row } = rows.get(m.name);
    const t0 = performance.now();
    try {
      text.textContent = 'loading the model…';
      const rec = await recFor(m);
      text.textContent = `${rec.backend === 'webgpu' ? 'WebGPU' : 'CPU'}: reading the data…`;
      if (rec.backend === 'webgpu' && /swiftshader|llvmpipe|software/i.test(rec.adapter ?? '')) {
        row.title = `WebGPU runs on a software renderer here (${rec.adapter}): choose “CPU” above for a faster run on this machine.`;
        row.append(h('span', { class: 'muted small', style: { 'grid-column': '1 / -1' } }, row.title));
      }
      const report = await rec.evaluate(state.datasetBytes.slice(0), {
        onProgress: (p) => {
          const el = ((performance.now() - t0) / 1000).toFixed(1);
          if (p.phase === 'scoring' && p.total) {
            bar.value = p.done / p.total;
            text.textContent = `${rec.backend === 'webgpu' ? 'WebGPU' : 'CPU'}: ${fmtInt(p.done)} / ${fmtInt(p.total)} shoppers · ${el} s`;
          } else if (p.phase === 'metrics') {
            text.textContent = `computing metrics and intervals… ${el} s`;
          }
        },
      });
      const ms = performance.now() - t0;
      bar.value = 1;
      text.textContent = `done in ${fmtMs(ms)} on ${rec.backend === 'webgpu' ? 'WebGPU' : 'the CPU'}`;
      row.dataset.state = 'done';
      showBackend(rec, ms, 'Time of the last evaluation.');
      state.runs = state.runs.filter((r) => r.id !== `browser:${m.name}`);
      state.runs.push({
        id: `browser:${m.name}`, model: m.name, source: 'browser', report, backend: rec.backend, ms,
        label: `${m.name} · browser (${rec.backend === 'webgpu' ? 'WebGPU' : 'CPU'})`,
      });
      renderResults();
    } catch (e) {
      const err = explainError(e, `Evaluating ${m.name}`);
      row.dataset.state = 'error';
      text.replaceChildren(h('span', { class: 'warn' }, `${err.title}: ${err.message}`));
    }
  }
  // Then the baselines: fitted on the training part of the held-out data and ranked here, on
  // the CPU (WebAssembly), by the same Rust code as `localrec eval --model NAME`.
  for (const name of baselines) {
    const id = `baseline:${name}`;
    const { bar, text, row } = rows.get(id);
    const t0 = performance.now();
    try {
      text.textContent = 'reading the data…';
      const report = await Recommender.evaluateBaseline(name, state.datasetBytes.slice(0), {
        onProgress: (p) => {
          const el = ((performance.now() - t0) / 1000).toFixed(1);
          if (p.phase === 'fit') {
            bar.value = 0.1;
            text.textContent = `fitting on the training data… ${el} s`;
          } else if (p.phase === 'scoring' && p.total) {
            bar.value = 0.2 + 0.5 * (p.done / p.total);
            text.textContent = `ranking every film for ${fmtInt(p.total)} shoppers… ${el} s`;
          } else if (p.phase === 'metrics') {
            bar.value = 0.8;
            text.textContent = `computing metrics and intervals… ${el} s`;
          }
        },
      });
      const ms = performance.now() - t0;
      bar.value = 1;
      text.textContent = `fitted and evaluated in ${fmtMs(ms)} on the CPU`;
      row.dataset.state = 'done';
      state.runs = state.runs.filter((r) => r.id !== id);
      state.runs.push({ id, model: name, kind: 'baseline', source: 'browser', report, backend: 'cpu', ms, label: `${name} · baseline (browser, CPU)` });
      renderResults();
    } catch (e) {
      const err = explainError(e, `Evaluating the baseline ${name}`);
      row.dataset.state = 'error';
      text.replaceChildren(h('span', { class: 'warn' }, `${err.title}: ${err.message}`));
    }
  }
  $('#run').disabled = false;
  document.body.dataset.evalDone = 'true';
}

// ---------------------------------------------------------------------------------------
// Results: parity, tables, charts

const f4 = (v) => (Number.isFinite(v) ? v.toFixed(4) : '–');

/**
 * Runs to show: per model the browser run if there is one, else the native report; then the
 * baselines evaluated here.
 */
function shownRuns() {
  const out = [];
  for (const m of state.cfg.models) {
    const b = state.runs.find((r) => r.id === `browser:${m.name}`);
    const n = state.runs.find((r) => r.id === `native:${m.name}`);
    if (b || n) out.push(b ?? n);
  }
  for (const [name] of BASELINES) {
    const b = state.runs.find((r) => r.id === `baseline:${name}`);
    if (b) out.push(b);
  }
  return out;
}

/** The baseline run with the highest NDCG@10, or undefined. */
function bestBaseline(runs) {
  return runs.filter(isBaseline).reduce((best, r) => (!best || r.report.metrics['ndcg@10'] > best.report.metrics['ndcg@10'] ? r : best), undefined);
}

function renderResults() {
  const runs = shownRuns();
  $('#results').hidden = runs.length === 0;
  if (!runs.length) return;
  const anyBrowser = runs.some((r) => r.source === 'browser');
  const rep = runs[0].report;
  $('#results-lede').textContent =
    `${rep.data.name}: ${fmtInt(rep.cases)} held-out shoppers, ${fmtInt(rep.data.items)} films, split ${rep.split}, every film ranked` +
    `${rep.protocol?.history_masked ? ', films already seen left out' : ''}. ` +
    (anyBrowser ? '' : 'Showing the native command line’s report until you run the evaluation here.');
  renderSummary(runs);
  renderParity();
  const baselines = runs.filter(isBaseline);
  $('#metrics').replaceChildren(
    ...runs.filter((r) => !isBaseline(r)).map(metricsTable),
    baselines.length
      ? h('details', { class: 'baseline-tables' }, [h('summary', {}, `Every metric of the ${baselines.length === 1 ? 'baseline' : `${baselines.length} baselines`}`), ...baselines.map(metricsTable)])
      : null,
  );
  renderCharts();
  renderCompare();
}

/**
 * One row per run: the neural models and the baselines side by side on the headline metrics,
 * each compared with the best baseline (what the encoder adds over counting).
 */
function renderSummary(runs) {
  const KEYS = [['hr@10', 'HR@10'], ['ndcg@10', 'NDCG@10 [95% CI]'], ['mrr@10', 'MRR@10'], ['coverage@10', 'Coverage@10']];
  const best = bestBaseline(runs);
  const key = 'ndcg@10';
  const where = (r) => (r.source === 'native' ? 'native CLI report' : `this browser (${r.backend === 'webgpu' ? 'WebGPU' : 'CPU'})`);
  const versus = (r) => {
    if (!best) return null;
    if (r === best) return h('td', { class: 'muted' }, 'the best baseline');
    const v = r.report.metrics[key];
    const w = best.report.metrics[key];
    const c = r.report.ci95?.[key];
    const cb = best.report.ci95?.[key];
    let verdict = '';
    if (c && cb) verdict = c[0] > cb[1] ? 'better, intervals apart' : cb[0] > c[1] ? 'worse, intervals apart' : 'intervals overlap';
    return h('td', { class: 'num', dataset: { delta: String(v - w) } }, [
      `${v - w >= 0 ? '+' : ''}${f4(v - w)}${w ? ` (${v - w >= 0 ? '+' : ''}${(((v - w) / w) * 100).toFixed(0)}%)` : ''}`,
      verdict ? h('span', { class: 'muted small' }, ` · ${verdict}`) : null,
    ]);
  };
  const rows = runs.map((r) =>
    h('tr', { dataset: { run: r.id, model: r.model, kind: isBaseline(r) ? 'baseline' : 'model', source: r.source } }, [
      h('th', { scope: 'row' }, [
        r.model, ' ',
        h('span', { class: `pill ${isBaseline(r) ? 'kind-baseline' : 'kind-model'}` }, isBaseline(r) ? 'baseline' : 'neural encoder'),
      ]),
      h('td', {}, where(r)),
      ...KEYS.map(([k]) => {
        const v = r.report.metrics[k];
        const c = k === key ? r.report.ci95?.[k] : null;
        return h('td', { class: 'num', dataset: { metric: k, value: String(v) } }, [f4(v), c ? h('span', { class: 'muted small' }, ` [${f4(c[0])}, ${f4(c[1])}]`) : null]);
      }),
      versus(r),
    ]));
  const head = ['run', 'computed by', ...KEYS.map(([, t]) => t), best ? `NDCG@10 vs ${best.model}` : null].filter(Boolean);
  $('#summary').replaceChildren(
    h('div', { class: 'table-wrap', style: { 'max-height': 'none', 'margin-bottom': '8px' }, tabindex: '0', role: 'region', 'aria-label': 'Every run at a glance' },
      h('table', { class: 'metrics summary-table', id: 'summary-table' }, [
        h('caption', {}, 'At a glance: the neural encoders beside the baselines'),
        h('thead', {}, h('tr', {}, head.map((t, i) => h('th', { scope: 'col', class: i >= 2 ? 'num' : undefined }, t)))),
        h('tbody', {}, rows),
      ])),
    h('p', { class: 'muted small' }, best
      ? 'Baselines: fitted here on the training part of the held-out data and evaluated by the same Rust code as localrec eval --model pop|markov|itemknn, on the same shoppers and with the same protocol as the neural encoders. The demo has no native report of them to check against (the end-to-end tests compare them with the command line). The last column is what each run adds over the best baseline.'
      : 'Run the evaluation to fit the baselines (most popular, Markov chain, item-kNN) here as well, and see what the neural encoders add over them.'),
  );
}

function renderParity() {
  const boxes = [];
  for (const m of state.cfg.models) {
    const b = state.runs.find((r) => r.id === `browser:${m.name}`);
    const n = state.runs.find((r) => r.id === `native:${m.name}`);
    if (!b) continue;
    if (!n) {
      boxes.push(h('div', { class: 'parity none', dataset: { model: m.name } }, `${m.name}: NDCG@10 ${f4(b.report.metrics['ndcg@10'])} in the browser; no native report to compare with.`));
      continue;
    }
    const bv = b.report.metrics['ndcg@10'];
    const nv = n.report.metrics['ndcg@10'];
    const same = f4(bv) === f4(nv);
    // The largest difference over every metric both reports have.
    let worst = 0;
    for (const [k, v] of Object.entries(b.report.metrics)) {
      const w = n.report.metrics[k];
      if (Number.isFinite(v) && Number.isFinite(w)) worst = Math.max(worst, Math.abs(v - w) / Math.max(1, Math.abs(w)));
    }
    boxes.push(
      h('div', { class: `parity${same ? '' : ' mismatch'}`, dataset: { model: m.name, browser: String(bv), native: String(nv), same: String(same) } }, [
        h('strong', {}, same ? '✓ Same as the native CLI' : '✗ Differs from the native CLI'),
        h('span', {}, `${m.name}: NDCG@10 ${f4(bv)} here (${b.backend === 'webgpu' ? 'WebGPU' : 'CPU'}, ${fmtMs(b.ms)}) vs ${f4(nv)} from localrec eval`),
        h('span', { class: 'muted small' }, `largest relative difference over all metrics: ${worst.toExponential(1)}`),
      ]),
    );
  }
  $('#parity').replaceChildren(...boxes);
}

function metricsTable(run) {
  const r = run.report;
  const ks = r.protocol?.ks ?? [1, 5, 10, 20, 50];
  const ci = r.ci95 ?? {};
  const k10 = ks.includes(10) ? 10 : ks[Math.floor(ks.length / 2)];
  const fams = FAMILIES.filter(([f]) => ks.some((k) => Number.isFinite(r.metrics[`${f}@${k}`])));
  return h('div', { class: 'table-wrap', style: { 'max-height': 'none', 'margin-bottom': '16px' } },
    h('table', { class: 'metrics', dataset: { run: run.id } }, [
      h('caption', {}, [run.label, h('span', { class: 'muted small' }, `  · ${fmtInt(r.cases)} cases${r.metrics.gauc !== undefined ? ` · GAUC ${f4(r.metrics.gauc)}` : ''}`)]),
      h('thead', {}, h('tr', {}, [h('th', { scope: 'col' }, 'metric'), ...ks.map((k) => h('th', { scope: 'col', class: 'num' }, `@${k}`)), h('th', { scope: 'col', class: 'num' }, `@${k10} 95% CI`)])),
      h('tbody', {}, fams.map(([f, name]) => {
        const c = ci[`${f}@${k10}`];
        return h('tr', {}, [
          h('th', { scope: 'row' }, name),
          ...ks.map((k) => h('td', { class: 'num', dataset: { metric: `${f}@${k}` } }, f4(r.metrics[`${f}@${k}`]))),
          h('td', { class: 'num' }, c ? `[${f4(c[0])}, ${f4(c[1])}]` : '–'),
        ]);
      })),
    ]));
}

function chartBox(svg, caption, names) {
  return h('figure', { class: 'chart-box' }, [svg, names?.length ? legend(names) : null, caption ? h('figcaption', {}, caption) : null]);
}

function renderCharts() {
  const runs = shownRuns();
  const fam = $('#chart-metric').value;
  const famName = FAMILIES.find(([f]) => f === fam)?.[1] ?? fam;
  const ks = runs[0].report.protocol?.ks ?? [1, 5, 10, 20, 50];
  const at = ks.includes(10) ? 10 : ks[0];
  const key = `${fam}@${at}`;
  const names = runs.map((r) => r.label);
  const out = [];

  // 1. metric@K with its confidence band
  out.push(chartBox(chart({
    title: `${famName}@K`,
    xLabels: ks.map((k) => `@${k}`),
    xTitle: 'K (length of the list)',
    series: runs.map((r, i) => ({
      name: names[i],
      values: ks.map((k) => r.report.metrics[`${fam}@${k}`]),
      lo: ks.map((k) => r.report.ci95?.[`${fam}@${k}`]?.[0]),
      hi: ks.map((k) => r.report.ci95?.[`${fam}@${k}`]?.[1]),
    })),
  }), 'Shaded: 95% bootstrap confidence interval.', names));

  // 2.–4. breakdowns of the dynamic evaluation
  const breakdown = (pick, title, xTitle, caption, kind = 'bar', short = (l) => l) => {
    const buckets = pick(runs[0].report) ?? [];
    const keep = buckets.map((b, i) => i).filter((i) => runs.some((r) => (pick(r.report)?.[i]?.cases ?? 0) > 0));
    if (!keep.length) return;
    out.push(chartBox(chart({
      title,
      kind,
      xTitle,
      xLabels: keep.map((i) => short(buckets[i].label)),
      series: runs.map((r, si) => ({ name: names[si], values: keep.map((i) => pick(r.report)?.[i]?.metrics?.[key]) })),
    }), caption(keep.map((i) => `${buckets[i].label}: ${fmtInt(buckets[i].cases)}`).join(' · ')), names));
  };
  breakdown((r) => r.dynamic?.by_length, `${famName}@${at} by history length`, 'events before the held-out film', (c) => `Shoppers per bucket: ${c}.`);
  const drift = runs[0].report.dynamic?.drift;
  if (drift?.by_drift) {
    const rho = runs.map((r, i) => (Number.isFinite(r.report.dynamic?.drift?.spearman) ? `ρ = ${r.report.dynamic.drift.spearman.toFixed(3)}${runs.length > 1 ? ` (${names[i]})` : ''}` : null)).filter(Boolean);
    breakdown((r) => r.dynamic?.drift?.by_drift, `Drift vs ${famName}@${at}`, 'taste drift (distance of the recent items from the earlier ones)',
      (c) => `Shoppers per fifth of drift: ${c}. Rank correlation of ${drift.metric ?? 'ndcg@10'} with drift, per shopper: ${rho.join('; ')} (near 0: accuracy holds up when tastes change).`, 'line');
  }
  breakdown((r) => r.dynamic?.by_activity, `${famName}@${at} by shopper activity`, 'interactions in training', (c) => `Shoppers per bucket: ${c}.`);
  // Periods are labelled "start–end": the axis shows the start.
  breakdown((r) => r.dynamic?.by_time, `${famName}@${at} over time`, 'start of the period of the held-out film', (c) => `Shoppers per period: ${c}.`, 'line', (l) => l.split('–')[0]);
  $('#charts').replaceChildren(...out);
}

// ---------------------------------------------------------------------------------------
// Side by side

function renderCompare() {
  const runs = state.runs;
  $('#compare').hidden = runs.length < 2;
  if (runs.length < 2) return;
  const a = $('#cmp-a');
  const b = $('#cmp-b');
  const keepA = a.value;
  const keepB = b.value;
  const opts = () => runs.map((r) => h('option', { value: r.id }, r.label));
  a.replaceChildren(...opts());
  b.replaceChildren(...opts());
  // Default: the best baseline against the demo's first model when there are both (what the
  // encoder adds); else two different models if there are; else the browser run against the
  // native one.
  const models = [...new Set(runs.filter((r) => !isBaseline(r)).map((r) => r.model))];
  const pick = (m) => runs.find((r) => r.model === m && !isBaseline(r) && r.source === 'browser') ?? runs.find((r) => r.model === m && !isBaseline(r));
  const best = bestBaseline(runs);
  const first = state.cfg.models.map((m) => m.name).find((n) => models.includes(n));
  const da = best && first ? best.id : pick(models[0])?.id ?? runs[0].id;
  const db = best && first ? pick(first).id : models.length > 1 ? pick(models[1])?.id : runs.find((r) => r.id !== da)?.id;
  const keep = state.compareTouched && runs.some((r) => r.id === keepA) && runs.some((r) => r.id === keepB) && keepA !== keepB;
  a.value = keep ? keepA : da;
  b.value = keep ? keepB : db;
  drawCompare();
}

function drawCompare() {
  const A = state.runs.find((r) => r.id === $('#cmp-a').value);
  const B = state.runs.find((r) => r.id === $('#cmp-b').value);
  if (!A || !B) return;
  const keys = ['hr@10', 'ndcg@10', 'mrr@10', 'recall@20', 'ndcg@20', 'precision@10', 'gauc', 'coverage@10'].filter(
    (k) => Number.isFinite(A.report.metrics[k]) && Number.isFinite(B.report.metrics[k]),
  );
  const cell = (r, k) => {
    const c = r.report.ci95?.[k];
    return h('td', { class: 'num' }, [f4(r.report.metrics[k]), c ? h('span', { class: 'muted small' }, ` [${f4(c[0])}, ${f4(c[1])}]`) : null]);
  };
  const rows = keys.map((k) => {
    const va = A.report.metrics[k];
    const vb = B.report.metrics[k];
    const ca = A.report.ci95?.[k];
    const cb = B.report.ci95?.[k];
    let verdict = 'no interval';
    if (ca && cb) {
      if (ca[0] > cb[1]) verdict = 'A is better';
      else if (cb[0] > ca[1]) verdict = 'B is better';
      else verdict = 'intervals overlap';
    }
    return h('tr', {}, [
      h('th', { scope: 'row' }, k),
      cell(A, k),
      cell(B, k),
      h('td', { class: 'num' }, `${vb - va >= 0 ? '+' : ''}${f4(vb - va)}${va ? ` (${(((vb - va) / va) * 100).toFixed(1)}%)` : ''}`),
      h('td', { class: verdict.endsWith('better') ? 'better' : 'muted' }, verdict),
    ]);
  });
  const withCi = keys.filter((k) => A.report.ci95?.[k] && B.report.ci95?.[k] && !k.startsWith('coverage') && k !== 'gauc');
  $('#compare-body').replaceChildren(
    h('div', { class: 'table-wrap', style: { 'max-height': 'none' } }, h('table', { class: 'metrics compare-table' }, [
      h('thead', {}, h('tr', {}, ['metric', `A: ${A.label}`, `B: ${B.label}`, 'B − A', ''].map((t, i) => h('th', { scope: 'col', class: i && i < 4 ? 'num' : undefined }, t)))),
      h('tbody', {}, rows),
    ])),
    withCi.length
      ? chartBox(forest({
          title: 'Metrics with 95% confidence intervals',
          rows: withCi.map((k) => ({
            label: k,
            items: [A, B].map((r) => ({ name: r.label, value: r.report.metrics[k], lo: r.report.ci95[k][0], hi: r.report.ci95[k][1] })),
          })),
        }), undefined, [`A: ${A.label}`, `B: ${B.label}`])
      : null,
  );
}

// ---------------------------------------------------------------------------------------
// Cohort replay: online metrics per variant, beside the offline ones

/** 95% Wilson interval of `hits` out of `n`. */
function wilson(hits, n) {
  if (!n) return [NaN, NaN];
  const z = 1.96;
  const p = hits / n;
  const d = 1 + (z * z) / n;
  const c = (p + (z * z) / (2 * n)) / d;
  const w = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
  return [c - w, c + w];
}

/**
 * Replays the first `n` held-out shoppers through each demo model as a fresh device (memory
 * storage, emptied between shoppers): track the history, recommend a top 10 that leaves the
 * whole history out, track the held-out film, and add up what `stats()` attributed. Resolves
 * to one row per model: `{ model, users, shown, judged, hits, clicks, hitRate, ci, offline }`.
 */
async function replayCohort(n, onProgress) {
  const ds = state.dataset;
  const models = state.cfg.models.slice(0, 2);
  const recs = await Promise.all(
    models.map((m) =>
      Recommender.load(m.url, { device: device(), namespace: `demo-cohort:${m.name}`, storage: 'memory', maxAgeDays: Infinity, variant: m.name }),
    ),
  );
  const totals = models.map((m) => ({ model: m.name, users: 0, shown: 0, judged: 0, hits: 0, clicks: 0 }));
  const users = ds.users.map((_, i) => i).filter((i) => ds.length(i) >= 2).slice(0, n);
  try {
    for (const [j, u] of users.entries()) {
      const seq = ds.sequence(u);
      const last = seq.items.length - 1;
      const history = seq.items.slice(0, last).map((item, i) => ({ item, type: 'view', ts: seq.ts[i] }));
      for (const [v, rec] of recs.entries()) {
        await rec.forget();
        await rec.track(history);
        await rec.recommend({ k: 10, excludeSeen: { purchased: true, recent: history.length } });
        await rec.track({ item: seq.items[last], type: 'view' }); // now: after the list
        const s = (await rec.stats()).variants[models[v].name];
        const t = totals[v];
        t.users++;
        t.shown += s?.impressionSets ?? 0;
        t.judged += s?.judged ?? 0;
        t.hits += s?.hits ?? 0;
        t.clicks += s?.clicks ?? 0;
      }
      if (j % 25 === 24) {
        onProgress(j + 1, users.length);
        await new Promise((r) => setTimeout(r, 0)); // let the page paint
      }
    }
  } finally {
    for (const rec of recs) {
      await rec.forget();
      rec.free();
    }
  }
  return totals.map((t) => {
    const offline = state.runs.find((r) => r.model === t.model && r.source === 'native')?.report?.metrics ?? {};
    return { ...t, hitRate: t.judged ? t.hits / t.judged : NaN, ci: wilson(t.hits, t.judged), offline };
  });
}

async function runCohort() {
  const n = Math.max(10, Math.min(Number($('#cohort-size').value) || 500, state.dataset.users.length));
  $('#cohort-run').disabled = true;
  const t0 = performance.now();
  try {
    const rows = await replayCohort(n, (done, total) => {
      $('#cohort-status').textContent = `Replaying… ${fmtInt(done)} of ${fmtInt(total)} shoppers · ${((performance.now() - t0) / 1000).toFixed(0)} s`;
    });
    state.cohort = rows;
    const byOnline = [...rows].sort((a, b) => b.hitRate - a.hitRate).map((r) => r.model);
    const byOffline = [...rows].sort((a, b) => (b.offline['ndcg@10'] ?? 0) - (a.offline['ndcg@10'] ?? 0)).map((r) => r.model);
    const agree = byOnline.join() === byOffline.join();
    const pct = (v) => (Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : '–');
    $('#cohort-body').replaceChildren(
      h('div', { class: 'table-wrap', style: { 'max-height': 'none' } }, h('table', { class: 'metrics', id: 'cohort-table' }, [
        h('thead', {}, h('tr', {}, ['variant', 'shoppers', 'lists shown', 'judged', 'hits', 'online hit rate', '95% CI', 'offline HR@10', 'offline NDCG@10'].map((t, i) => h('th', { scope: 'col', class: i ? 'num' : undefined }, t)))),
        h('tbody', {}, rows.map((r) =>
          h('tr', { dataset: { model: r.model, hitRate: String(r.hitRate), judged: String(r.judged), hits: String(r.hits), ndcg: String(r.offline['ndcg@10'] ?? '') } }, [
            h('th', { scope: 'row' }, r.model),
            ...[fmtInt(r.users), fmtInt(r.shown), fmtInt(r.judged), fmtInt(r.hits), pct(r.hitRate), `${pct(r.ci[0])} – ${pct(r.ci[1])}`, f4(r.offline['hr@10']), f4(r.offline['ndcg@10'])]
              .map((x) => h('td', { class: 'num' }, x)),
          ]))),
      ])),
      h('p', { id: 'cohort-agree', dataset: { agree: String(agree) } }, agree
        ? `Offline NDCG@10 predicted the online ranking: ${byOnline.join(' > ')} on both.`
        : `Offline NDCG@10 ranks ${byOffline.join(' > ')}, the replay ${byOnline.join(' > ')}: within the noise of ${fmtInt(rows[0].judged)} shoppers, see the intervals.`),
    );
    $('#cohort-status').textContent = `Done: ${fmtInt(n)} shoppers through each model in ${((performance.now() - t0) / 1000).toFixed(1)} s.`;
  } catch (e) {
    const err = explainError(e, 'The cohort replay');
    $('#cohort-status').replaceChildren(h('span', { class: 'warn' }, `${err.title}: ${err.message}`));
  } finally {
    $('#cohort-run').disabled = false;
  }
}

/** The shop's own online metrics on this device (namespace `shop:<model>`), per model. */
async function showSession() {
  const pct = (v) => (Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : '–');
  const rows = [];
  for (const m of state.cfg.models) {
    let metrics;
    try {
      const rec = await Recommender.load(m.url, { device: 'cpu', namespace: `shop:${m.name}` });
      metrics = (await rec.stats()).variants[rec.variant];
      rec.free();
    } catch {
      continue; // this model cannot be read here: the evaluation above says why
    }
    const offline = state.runs.find((r) => r.model === m.name && r.source === 'native')?.report?.metrics ?? {};
    rows.push(h('tr', { dataset: { model: m.name } }, [
      h('th', { scope: 'row' }, m.name),
      ...[
        fmtInt(metrics?.impressionSets ?? 0), fmtInt(metrics?.clicks ?? 0), fmtInt(metrics?.carts ?? 0), fmtInt(metrics?.purchases ?? 0),
        metrics ? pct(metrics.ctr) : '–', metrics?.judged ? `${pct(metrics.hitRate)} (${fmtInt(metrics.hits)}/${fmtInt(metrics.judged)})` : '–',
        metrics?.clicks ? metrics.mrr.toFixed(3) : '–', f4(offline['hr@10']), f4(offline['ndcg@10']),
      ].map((x) => h('td', { class: 'num' }, x)),
    ]));
  }
  $('#session-body').replaceChildren(
    h('div', { class: 'table-wrap', style: { 'max-height': 'none' } }, h('table', { class: 'metrics', id: 'session-table' }, [
      h('thead', {}, h('tr', {}, ['model', 'lists shown', 'clicks', 'carts', 'purchases', 'CTR', 'next-event hit rate', 'MRR', 'offline HR@10', 'offline NDCG@10'].map((t, i) => h('th', { scope: 'col', class: i ? 'num' : undefined }, t)))),
      h('tbody', {}, rows),
    ])),
  );
}

// ---------------------------------------------------------------------------------------
// Simulated shopper

const sim = { playing: false, busy: false, rec: null, user: 0, events: [], step: 0, ranks: [], k: 0, timer: null };

function fillSimUsers() {
  const ds = state.dataset;
  const sel = $('#sim-user');
  // A handful of shoppers with histories of different lengths (long enough to replay).
  const cand = ds.users.map((u, i) => i).filter((i) => ds.length(i) >= 8);
  const pick = [];
  const step = Math.max(1, Math.floor(cand.length / 40));
  for (let j = 0; j < cand.length && pick.length < 40; j += step) pick.push(cand[j]);
  sel.replaceChildren(...pick.map((i) => h('option', { value: i }, `shopper ${ds.users[i]} · ${ds.length(i)} films`)));
}

function titleOf(id) {
  const { title, year } = displayTitle(sim.catalog?.get(id)?.title, id);
  return year ? `${title} (${year})` : title;
}

async function simStart() {
  simStop();
  const model = state.cfg.models.find((m) => m.name === $('#sim-model').value) ?? state.cfg.models[0];
  const u = Number($('#sim-user').value);
  const seq = state.dataset.sequence(u);
  const n = Math.max(2, Math.min(Number($('#sim-steps').value) || 20, seq.items.length));
  $('#sim-now').textContent = 'Loading the model…';
  $('#sim-start').disabled = true;
  try {
    const rec = await recFor(model);
    // A separate namespace (demo-sim:<model>), emptied before every replay.
    await rec.forget();
    sim.rec = rec;
    sim.catalog = new Map((await rec.catalog()).map((c) => [c.item, c]));
    sim.k = Math.min(rec.info.items, 10_000);
    const from = seq.items.length - n;
    sim.events = seq.items.slice(from).map((item, i) => ({ item, ts: seq.ts[from + i] }));
    sim.user = u;
    sim.step = 0;
    sim.ranks = [];
    $('#sim-timeline').replaceChildren();
    $('#sim-top').replaceChildren();
    await simAdvance(); // step 0: the cold start, before any event
    sim.playing = true;
    $('#sim-pause').disabled = false;
    $('#sim-step').disabled = false;
    $('#sim-pause').textContent = 'Pause';
    simSchedule();
  } catch (e) {
    const err = explainError(e, 'The simulated shopper');
    $('#sim-now').replaceChildren(h('span', { class: 'warn' }, `${err.title}: ${err.message}`));
  } finally {
    $('#sim-start').disabled = false;
    $('#sim-start').textContent = 'Restart';
  }
}

function simStop() {
  sim.playing = false;
  clearTimeout(sim.timer);
}

function simSchedule() {
  clearTimeout(sim.timer);
  if (!sim.playing) return;
  if (sim.step >= sim.events.length) return simFinish();
  sim.timer = setTimeout(async () => {
    await simTrackAndAdvance();
    simSchedule();
  }, Number($('#sim-speed').value));
}

/** Records the film of the current step, then recommends for the next. */
async function simTrackAndAdvance() {
  if (sim.busy || sim.step >= sim.events.length) return;
  sim.busy = true;
  try {
    const ev = sim.events[sim.step];
    await sim.rec.track({ item: ev.item, type: 'view', ts: ev.ts });
    sim.step++;
    if (sim.step < sim.events.length) await simAdvance();
    else simFinish();
  } catch (e) {
    simStop();
    const err = explainError(e, 'The simulated shopper');
    $('#sim-now').replaceChildren(h('span', { class: 'warn' }, `${err.title}: ${err.message}`));
  } finally {
    sim.busy = false;
  }
}

/** Recommends for the history so far and shows where the true next film ranks. */
async function simAdvance() {
  const target = sim.events[sim.step];
  const t0 = performance.now();
  const ranked = await sim.rec.recommend({ k: sim.k, excludeSeen: true });
  const ms = performance.now() - t0;
  showBackend(sim.rec, ms, 'Latency of the last recommendation of the simulated shopper.');
  const idx = ranked.findIndex((r) => r.item === target.item);
  const seen = sim.events.slice(0, sim.step).some((e) => e.item === target.item);
  const rank = idx >= 0 ? idx + 1 : null;
  sim.ranks.push(rank);
  const last = sim.step === sim.events.length - 1;
  $('#sim-now').replaceChildren(
    h('span', {}, `Step ${sim.step + 1} of ${sim.events.length}${last ? ' (the held-out test film)' : ''}: the next film is `),
    h('strong', {}, `“${titleOf(target.item)}”`),
    h('span', {}, ' — rank '),
    h('span', { class: `rank ${rank && rank <= 10 ? 'ok' : ''}`, id: 'sim-rank' }, rank ? `#${fmtInt(rank)}` : seen ? 'already seen' : `> ${fmtInt(sim.k)}`),
    h('span', { class: 'muted small' }, ` of ${fmtInt(sim.rec.info.items)} · ${fmtMs(ms)}`),
  );
  $('#sim-top').replaceChildren(
    ...ranked.slice(0, 10).map((r, i) =>
      h('li', { class: r.item === target.item ? 'target' : '' }, [h('span', { class: 'muted' }, `${i + 1}.`), h('span', {}, titleOf(r.item))])),
  );
  // the history so far, newest first
  $('#sim-timeline').replaceChildren(
    ...sim.events.slice(0, sim.step).map((e, i) => {
      const r = sim.ranks[i];
      return h('li', { class: r && r <= 10 ? 'hit' : '' }, [
        h('span', { class: 'muted' }, `${i + 1}.`),
        h('span', {}, titleOf(e.item)),
        h('span', { class: 'muted small' }, r ? `was #${r}` : '–'),
      ]);
    }).reverse(),
  );
  renderSimStats();
}

function renderSimStats() {
  const ranks = sim.ranks;
  const n = ranks.length;
  const hits = ranks.filter((r) => r && r <= 10).length;
  const mrr = ranks.reduce((s, r) => s + (r ? 1 / r : 0), 0) / Math.max(1, n);
  const finite = ranks.filter(Boolean).sort((a, b) => a - b);
  const median = finite.length ? finite[Math.floor(finite.length / 2)] : null;
  $('#sim-stats').replaceChildren(
    ...[
      ['steps', `${n} / ${sim.events.length}`],
      ['next film in the top 10', `${hits} of ${n}`],
      ['median rank', median ? `#${median}` : '–'],
      ['MRR', mrr.toFixed(3)],
    ].map(([k, v]) => h('div', { class: 'stat' }, [h('strong', {}, v), h('span', { class: 'muted small' }, k)])),
  );
  $('#sim-chart').replaceChildren(
    chart({
      title: 'Rank of the true next film (lower is better; log scale)',
      xLabels: sim.events.map((_, i) => String(i + 1)),
      xTitle: 'step (events recorded so far + 1)',
      series: [{ name: 'rank', values: sim.ranks.map((r) => r ?? sim.k) }],
      log: true,
      invert: true,
      highlight: (_, i) => sim.ranks[i] !== null && sim.ranks[i] <= 10,
      height: 220,
    }),
  );
}

function simFinish() {
  simStop();
  $('#sim-pause').disabled = true;
  $('#sim-step').disabled = true;
  const hits = sim.ranks.filter((r) => r && r <= 10).length;
  const final = sim.ranks.at(-1);
  document.body.dataset.simDone = 'true';
  $('#sim-now').append(
    h('div', { class: 'small' }, `Replay finished: the true next film was in the top 10 at ${hits} of ${sim.ranks.length} steps; the held-out test film ranked ${final ? `#${final}` : `below #${sim.k}`}.`),
  );
}

// ---------------------------------------------------------------------------------------
// Start

async function main() {
  $('#device').value = deviceFromUrl();
  $('#device').addEventListener('change', () => {
    for (const p of state.recs.values()) p.then((r) => r.free()).catch(() => {});
    state.recs.clear();
  });
  $('#chart-metric').addEventListener('change', renderCharts);
  for (const sel of ['#cmp-a', '#cmp-b']) {
    $(sel).addEventListener('change', () => {
      state.compareTouched = true;
      drawCompare();
    });
  }
  $('#run').addEventListener('click', runSelected);
  $('#sim-start').addEventListener('click', simStart);
  $('#cohort-run').addEventListener('click', runCohort);
  $('#sim-random').addEventListener('click', () => {
    const opts = $('#sim-user').options;
    $('#sim-user').selectedIndex = Math.floor(Math.random() * opts.length);
  });
  $('#sim-pause').addEventListener('click', () => {
    sim.playing = !sim.playing;
    $('#sim-pause').textContent = sim.playing ? 'Pause' : 'Resume';
    simSchedule();
  });
  $('#sim-step').addEventListener('click', async () => {
    sim.playing = false;
    $('#sim-pause').textContent = 'Resume';
    await simTrackAndAdvance();
  });
  try {
    state.cfg = await loadDemoConfig();
    $('#model-list').append(
      ...state.cfg.models.map((m, i) =>
        h('label', { class: 'check' }, [
          h('input', { type: 'checkbox', value: m.name, checked: i < 2 }),
          h('span', {}, [h('strong', {}, m.name), h('span', { class: 'muted small' }, ` ${m.file}`)]),
        ])),
      h('span', { class: 'muted small baseline-head' }, 'Baselines, fitted here on the training data:'),
      ...BASELINES.map(([name, title, what]) =>
        h('label', { class: 'check' }, [
          h('input', { type: 'checkbox', value: `baseline:${name}`, checked: true, dataset: { baseline: name } }),
          h('span', {}, [h('strong', {}, name), h('span', { class: 'muted small' }, ` ${title} — ${what}`)]),
        ])),
    );
    $('#sim-model').replaceChildren(...state.cfg.models.map((m) => h('option', { value: m.name }, m.name)));
    await Promise.all([loadDataset(), loadReferences()]);
    const d = state.dataset;
    const events = d.users.reduce((s, _, i) => s + d.length(i), 0);
    $('#dataset-info').replaceChildren(
      h('strong', {}, d.name), ` · ${fmtInt(d.users.length)} shoppers · ${fmtInt(d.itemIds.length - 1)} items · ${fmtInt(events)} events`,
      h('div', { class: 'small' }, `${state.cfg.dataset.file} (${(state.datasetBytes.byteLength / 1e6).toFixed(1)} MB)`),
    );
    fillSimUsers();
    renderResults();
    $('#run').disabled = false;
    $('#sim-start').disabled = false;
    $('#cohort-run').disabled = state.cfg.models.length < 2;
    document.body.dataset.ready = 'true';
    showSession();
    if (new URLSearchParams(location.search).get('run') === '1') runSelected();
  } catch (e) {
    $('#setup').hidden = true;
    $('#sim').hidden = true;
    $('#cohort').hidden = true;
    showErrorPanel($('#fatal'), e, { retry: () => location.reload() });
    document.body.dataset.ready = 'error';
  }
}

main();
