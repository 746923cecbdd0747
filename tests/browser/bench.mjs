// The package's benchmark in headless Chromium: the size of each module (raw, gzip -9, brotli
// -q 11); the time to the first recommendation on a cold page per module (nothing cached:
// module download and compilation, bundle download and load, five events, one recommend());
// recommend() latency (p50/p95 after one warm-up call), load time, history() and reload time,
// and main-thread blocking, per backend, catalogue size, number of stored events and worker
// on/off. Not part of the tests (slow; SwiftShader timings say nothing about a real GPU; on the
// CPU they are real). Usage, from the repository root:
//
//   src/web/npm/build.sh
//   for n in 12000 100000 1000000; do cargo run --release --example web_fixture -- tests/browser/generated --bench $n; done
//   node tests/browser/bench.mjs [--sizes 12000,100000,1000000] [--devices webgpu,cpu] [--runs 30]
//       [--events 50,100000] [--worker true,false] [--cold 3] [--label NAME]
//
// Other bundles in tests/browser/generated (e.g. a compressed table, `localrec export --items pq:16`):
//   node tests/browser/bench.mjs --files a.lrec,b.lrec [--ids-prefix p --ids-pad 0] ...
// (the page tracks items `${prefix}${k}`, k padded to the given digits: item-0000 by default).
// `LOCALREC_PKG=dir` benchmarks another build of the package (e.g. one without SIMD); `--label`
// names it in the tables. Prints Markdown tables and writes tests/browser/generated/bench-LABEL.json.
import { readFile, writeFile, mkdtemp, rm, access, stat } from 'node:fs/promises';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer, FIXTURES } from './server.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const sizes = arg('sizes', '12000,100000,1000000').split(',').map(Number);
const devices = arg('devices', 'webgpu,cpu').split(',');
const runs = Number(arg('runs', '30'));
const eventCounts = arg('events', '50').split(',').map(Number);
const workers = arg('worker', 'true').split(',').map((w) => w === 'true');
const coldRuns = Number(arg('cold', '0'));
const label = arg('label', 'default');
const files = arg('files', sizes.map((n) => `bench-${n}.lrec`).join(',')).split(',');
const idPrefix = arg('ids-prefix', 'item-');
const idPad = Number(arg('ids-pad', '4'));
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkg = process.env.LOCALREC_PKG ?? join(root, 'pkg');
const ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--enable-unsafe-webgpu'];
const launch = async () => {
  const profile = await mkdtemp(join(tmpdir(), 'localrec-bench-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, args: ARGS });
  return { context, close: async () => (await context.close(), await rm(profile, { recursive: true, force: true })) };
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

const size = {};
for (const [name, file] of [['webgpu', 'localrec_bg.wasm'], ['cpu', 'localrec_cpu_bg.wasm']]) {
  const wasm = await readFile(join(pkg, file));
  size[name] = {
    file,
    raw: wasm.length,
    gzip: gzipSync(wasm, { level: 9 }).length,
    brotli: brotliCompressSync(wasm, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: wasm.length } }).length,
  };
}

const server = await startServer();
const results = [];
const cold = [];
try {
  // Cold pages: a fresh profile each time (no HTTP cache, no Cache API copy of the bundle).
  for (const device of coldRuns > 0 ? devices : []) {
    const times = [];
    for (let i = 0; i < coldRuns; i++) {
      const b = await launch();
      const page = await b.context.newPage();
      await page.goto(`${server.url}/cold.html?bundle=/fixtures/bench-12000.lrec&device=${device}`);
      await page.waitForFunction(() => window.result !== undefined, null, { timeout: 300_000 });
      const r = await page.evaluate(() => window.result);
      await b.close();
      if (r.error) throw new Error(`cold ${device}: ${r.error}`);
      times.push(r.marks);
      console.log(JSON.stringify({ cold: device, ...r }));
    }
    cold.push({ device, module: size[device].file, runs: coldRuns, ...Object.fromEntries(Object.keys(times[0]).map((k) => [k, median(times.map((t) => t[k]))])) });
  }
  const b = await launch();
  try {
    for (const file of files) {
      try {
        await access(join(FIXTURES, file));
      } catch {
        console.log(`skipping ${file}: missing (cargo run --release --example web_fixture -- tests/browser/generated --bench N)`);
        continue;
      }
      const bytes = (await stat(join(FIXTURES, file))).size;
      for (const device of devices) {
        for (const events of eventCounts) {
          for (const worker of workers) {
            // A fresh page per run: WebGPU is initialised once per page, and memory is returned.
            const page = await b.context.newPage();
            await page.goto(`${server.url}/bench.html`);
            await page.waitForFunction(() => window.benchReady === true);
            const r = await page.evaluate(
              ({ url, device, runs, events, worker, idPrefix, idPad }) => window.runBench(url, device, runs, events, worker, idPrefix, idPad),
              { url: `/fixtures/${file}`, device, runs, events, worker, idPrefix, idPad },
            );
            r.bytes = bytes;
            results.push(r);
            console.log(JSON.stringify(r));
            await page.close();
          }
        }
      }
    }
  } finally {
    await b.close();
  }
} finally {
  await server.close();
}

const mb = (b) => (b / 1e6).toFixed(2);
console.log(`\nbuild: ${label} (${pkg})\n\n| module | raw (MB) | gzip -9 (MB) | brotli -q 11 (MB) |\n|---|---:|---:|---:|`);
for (const s of Object.values(size)) console.log(`| ${s.file} | ${mb(s.raw)} | ${mb(s.gzip)} | ${mb(s.brotli)} |`);
if (cold.length) {
  console.log('\n| cold page, module | runs | script imported (ms) | bundle download starts (ms) | loaded (ms) | first recommendation (ms) |\n|---|---:|---:|---:|---:|---:|');
  for (const c of cold) {
    console.log(`| ${c.device}: ${c.module} | ${c.runs} | ${c.imported.toFixed(0)} | ${(c.download ?? c.cache ?? NaN).toFixed(0)} | ${c.loaded.toFixed(0)} | ${c.firstRecommendation.toFixed(0)} |`);
  }
}
console.log('\n| items | item table | bundle MB | backend | worker | stored events | load (s) | first recommend (ms) | p50 (ms) | p95 (ms) | history() (ms) | reload (ms) | main-thread blocking (ms) |\n|---:|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of results) {
  console.log(
    `| ${r.items} | ${r.itemTable} | ${(r.bytes / 1e6).toFixed(2)} | ${r.backend} | ${r.worker ? 'yes' : 'no'} | ${r.events} | ${(r.loadMs / 1000).toFixed(2)} | ${r.firstMs.toFixed(1)} | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${r.historyMs.toFixed(0)} | ${r.reloadMs.toFixed(0)} | ${r.blockingMs.toFixed(0)} |`,
  );
}
await writeFile(join(FIXTURES, `bench-${label}.json`), JSON.stringify({ label, pkg, wasm: size, cold, results }, null, 2));
