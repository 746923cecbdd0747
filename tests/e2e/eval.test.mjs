// End-to-end tests of the evaluation page (www/eval.html): the full-ranking evaluation runs in
// the browser and agrees with the native CLI's report; the charts and the side-by-side
// comparison render; the simulated shopper replays a held-out user in its own namespace; the
// baselines (pop, markov, itemknn) are fitted and evaluated in the page beside the neural
// models and agree with `localrec eval --model NAME`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { launch, open, screenshot, demoConfig, GENERATED, ARTIFACTS, WWW } from './helpers.mjs';

const ROOT = join(WWW, '..');
const BASELINES = ['pop', 'markov', 'itemknn'];

/**
 * `localrec eval --model NAME --data DATA --json`, by the release binary that
 * `cargo run --release --features cli -- start` built (or $LOCALREC_BIN), run in the repository
 * (so on ./data, or $LOCALREC_DATA_DIR, where `start` put the dataset).
 */
async function cliReport(name, data) {
  const bin = process.env.LOCALREC_BIN ?? join(resolve(ROOT, process.env.CARGO_TARGET_DIR ?? 'target'), 'release', 'localrec');
  try {
    await access(bin);
  } catch {
    assert.fail(`the localrec command line is missing (${bin}): build it with \`cargo build --release --features cli\` (\`localrec start\` does), or set LOCALREC_BIN`);
  }
  const { stdout } = await promisify(execFile)(bin, ['--quiet', 'eval', '--model', name, '--data', data, '--json'], { cwd: ROOT, maxBuffer: 64 << 20 });
  return JSON.parse(stdout);
}

let env, cfg, page;

before(async () => {
  cfg = await demoConfig();
  env = await launch();
});

after(async () => {
  await env?.close();
});

test('the evaluation finishes and its NDCG@10 equals the native CLI report to 4 decimals', { timeout: 200_000 }, async () => {
  const model = cfg.models[0];
  assert.ok(model.reference, 'demo.json names the native report of the first model');
  const reference = JSON.parse(await readFile(join(GENERATED, model.reference), 'utf8'));

  page = await open(env, 'eval.html?device=cpu');
  // Only the first model, to keep the test short.
  for (const box of await page.$$('#model-list input[type=checkbox]')) {
    if ((await box.getAttribute('value')) !== model.name) await box.uncheck();
  }
  await page.click('#run');
  await page.waitForSelector('body[data-eval-done=true]', { timeout: 180_000 });
  const parity = await page.waitForSelector(`.parity[data-model="${model.name}"]`);
  const browser = Number(await parity.getAttribute('data-browser'));
  const native = Number(await parity.getAttribute('data-native'));
  assert.equal(native, reference.metrics['ndcg@10']);
  assert.equal(browser.toFixed(4), reference.metrics['ndcg@10'].toFixed(4), `browser ${browser} vs native ${native}`);
  assert.equal(await parity.getAttribute('data-same'), 'true');
  assert.equal(await page.getAttribute(`.progress-row[data-model="${model.name}"]`, 'data-state'), 'done');

  // The metrics table, the charts and the comparison (browser run vs native report).
  const run = `browser:${model.name}`;
  const cell = await page.textContent(`table[data-run="${run}"] td[data-metric="ndcg@10"]`);
  assert.equal(cell, reference.metrics['ndcg@10'].toFixed(4));
  assert.ok((await page.$$('#charts svg.chart')).length >= 3, 'metric@K, by length and drift charts');
  assert.ok(await page.isVisible('#compare'));
  assert.ok((await page.$$('#compare-body svg.chart')).length === 1);
  assert.ok((await page.$$('#compare-body tbody tr')).length >= 4);
  await page.selectOption('#chart-metric', 'hr');
  assert.match(await page.textContent('#charts'), /Hit rate \(HR\)@K/);
  await screenshot(page, '12-evaluation', { fullPage: true });
});

test('the simulated shopper replays a held-out user and shows the rank of the next item', { timeout: 120_000 }, async () => {
  await page.selectOption('#sim-speed', '0');
  await page.fill('#sim-steps', '8');
  await page.click('#sim-start');
  await page.waitForSelector('body[data-sim-done=true]', { timeout: 100_000 });
  const ranks = await page.evaluate(() => document.querySelector('#sim-stats').textContent);
  assert.match(ranks, /8 \/ 8steps/);
  assert.equal((await page.$$('#sim-top li')).length, 10);
  assert.match(await page.textContent('#sim-now'), /held-out test film/);
  assert.match(await page.textContent('#sim-rank'), /^(#[\d,]+|> [\d,]+|already seen)$/);
  assert.ok(await page.$('#sim-chart svg.chart'));
  // It ran in its own namespace, emptied first: exactly the replayed events are stored there.
  const stored = await page.evaluate(async () => {
    const rec = await [...window.evalPage.recs.values()][0];
    return { ns: rec.namespace, n: (await rec.history()).length };
  });
  assert.deepEqual(stored, { ns: `demo-sim:${cfg.models[0].name}`, n: 8 });
  await page.locator('#sim').screenshot({ path: join(ARTIFACTS, '13-simulated-shopper.png') });
  // Restarting empties the namespace again.
  await page.click('#sim-start');
  await page.waitForFunction(() => !document.querySelector('#sim-start').disabled);
  // Stop the replay if it is still running: at speed 0 its 8 steps may already be over (Pause is
  // then disabled), so check and click in one step inside the page rather than racing it.
  await page.evaluate(() => {
    const pause = document.querySelector('#sim-pause');
    if (!pause.disabled) pause.click();
  });
});

test('the baselines are evaluated in the page beside the neural models, with NDCG@10 equal to localrec eval', { timeout: 200_000 }, async () => {
  // The native figures first, computed now by the command line on the same data.
  const native = Object.fromEntries(await Promise.all(BASELINES.map(async (b) => [b, await cliReport(b, cfg.dataset.name)])));

  const page = await open(env, 'eval.html?device=cpu');
  // The first model and the baselines, in one run (the other models show their native reports).
  const first = cfg.models[0].name;
  for (const box of await page.$$('#model-list input[type=checkbox]')) {
    if (await box.getAttribute('data-baseline')) assert.ok(await box.isChecked(), 'baselines are chosen by default');
    else if ((await box.getAttribute('value')) !== first) await box.uncheck();
  }
  await page.click('#run');
  await page.waitForSelector('body[data-eval-done=true]', { timeout: 180_000 });
  for (const [kind, m] of [['model', first], ...BASELINES.map((b) => ['baseline', b])]) {
    assert.equal(await page.getAttribute(`.progress-row[data-kind="${kind}"][data-model="${m}"]`, 'data-state'), 'done', `${m} evaluated`);
  }

  // One table: the neural models and the three baselines side by side, the baselines labelled.
  const rows = await page.$$eval('#summary-table tbody tr', (trs) => trs.map((tr) => ({
    model: tr.dataset.model,
    kind: tr.dataset.kind,
    source: tr.dataset.source,
    label: tr.querySelector('th .pill').textContent,
    ndcg: tr.querySelector('td[data-metric="ndcg@10"]').dataset.value,
    shown: tr.querySelector('td[data-metric="ndcg@10"]').textContent,
  })));
  assert.deepEqual(rows.map((r) => r.model), [...cfg.models.map((m) => m.name), ...BASELINES]);
  for (const r of rows) {
    const baseline = BASELINES.includes(r.model);
    assert.equal(r.kind, baseline ? 'baseline' : 'model', r.model);
    assert.equal(r.label, baseline ? 'baseline' : 'neural encoder', r.model);
    assert.equal(r.source, baseline || r.model === first ? 'browser' : 'native', r.model);
  }
  assert.ok(rows.some((r) => r.model === 'itemknn') && rows.some((r) => r.model === 'sasrec') && rows.some((r) => r.model === 'gru4rec'),
    'item-kNN beside sasrec and gru4rec');

  for (const b of BASELINES) {
    const row = rows.find((r) => r.model === b);
    const want = native[b].metrics['ndcg@10'];
    const got = Number(row.ndcg);
    assert.ok(Math.abs(got - want) <= 1e-9, `${b}: NDCG@10 ${got} in the page, ${want} from localrec eval`);
    assert.equal(row.shown.slice(0, 6), want.toFixed(4));
    // The same data and protocol: the report in the page names the same dataset and cases.
    const report = await page.evaluate((id) => window.evalPage.runs.find((r) => r.id === id).report, `baseline:${b}`);
    assert.equal(report.model, b);
    assert.deepEqual(report.data, native[b].data);
    assert.equal(report.cases, native[b].cases);
    for (const k of ['hr@10', 'mrr@10', 'ndcg@50', 'coverage@10']) {
      assert.ok(Math.abs(report.metrics[k] - native[b].metrics[k]) <= 1e-9, `${b} ${k}: ${report.metrics[k]} vs ${native[b].metrics[k]}`);
    }
    assert.deepEqual(report.ci95['ndcg@10'], native[b].ci95['ndcg@10'], `${b}: the same interval`);
  }

  // Each neural model is compared with the best baseline; the side-by-side view starts there too.
  const best = BASELINES.reduce((a, b) => (native[b].metrics['ndcg@10'] > native[a].metrics['ndcg@10'] ? b : a));
  assert.match(await page.textContent('#summary-table thead'), new RegExp(`NDCG@10 vs ${best}`));
  for (const m of cfg.models) {
    const delta = Number(await page.getAttribute(`#summary-table tr[data-model="${m.name}"] td[data-delta]`, 'data-delta'));
    const model = Number(await page.getAttribute(`#summary-table tr[data-model="${m.name}"] td[data-metric="ndcg@10"]`, 'data-value'));
    assert.ok(Math.abs(delta - (model - native[best].metrics['ndcg@10'])) <= 1e-9, `${m.name}: NDCG@10 minus the best baseline's`);
  }
  assert.equal(await page.inputValue('#cmp-a'), `baseline:${best}`);
  assert.equal(await page.inputValue('#cmp-b'), `browser:${first}`);
  assert.ok((await page.$$('#metrics details.baseline-tables table.metrics')).length === 3, 'every metric of each baseline, folded');
  await page.locator('#summary').screenshot({ path: join(ARTIFACTS, '16-baselines-beside-models.png') });
  await page.close();
});

test('no errors in any page console', () => {
  assert.deepEqual(env.errors, []);
});
