// recommend() latency (p50/p95 after warm-up), load time, per backend, catalogue size and
// number of stored events, in headless Chromium; and the size of the wasm module. Not part of the tests (slow; SwiftShader
// timings say nothing about a real GPU). Usage, from the repository root:
//
//   src/web/npm/build.sh
//   for n in 12000 100000 1000000; do cargo run --release --example web_fixture -- tests/browser/generated --bench $n; done
//   node tests/browser/bench.mjs [--sizes 12000,100000,1000000] [--devices webgpu,cpu] [--runs 30] [--events 50,100000]
//
// Other bundles in tests/browser/generated (e.g. a compressed table, `localrec export --items pq:16`):
//   node tests/browser/bench.mjs --files a.lrec,b.lrec [--ids-prefix p --ids-pad 0] ...
// (the page tracks items `${prefix}${k}`, k padded to the given digits: item-0000 by default).
//
// Prints a Markdown table and writes tests/browser/generated/bench.json.
import { readFile, writeFile, mkdtemp, rm, access, stat } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
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
const files = arg('files', sizes.map((n) => `bench-${n}.lrec`).join(',')).split(',');
const idPrefix = arg('ids-prefix', 'item-');
const idPad = Number(arg('ids-pad', '4'));
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const size = {};
for (const [name, file] of [['webgpu', 'localrec_bg.wasm'], ['cpu', 'localrec_cpu_bg.wasm']]) {
  const wasm = await readFile(join(root, 'pkg', file));
  size[name] = { file, raw: wasm.length, gzip: gzipSync(wasm, { level: 9 }).length };
  console.log(`${file}: ${(size[name].raw / 1e6).toFixed(2)} MB raw, ${(size[name].gzip / 1e6).toFixed(2)} MB gzip -9`);
}

const server = await startServer();
const profile = await mkdtemp(join(tmpdir(), 'localrec-bench-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--enable-unsafe-webgpu'],
});
const results = [];
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
        // A fresh page per run: WebGPU is initialised once per page, and memory is returned.
        const page = await context.newPage();
        await page.goto(`${server.url}/bench.html`);
        await page.waitForFunction(() => window.benchReady === true);
        const r = await page.evaluate(
          ({ url, device, runs, events, idPrefix, idPad }) => window.runBench(url, device, runs, events, idPrefix, idPad),
          { url: `/fixtures/${file}`, device, runs, events, idPrefix, idPad },
        );
        r.bytes = bytes;
        results.push(r);
        console.log(JSON.stringify(r));
        await page.close();
      }
    }
  }
} finally {
  await context.close();
  await server.close();
  await rm(profile, { recursive: true, force: true });
}
console.log('\n| items | item table | bundle MB | backend | stored events | load (s) | first recommend (ms) | p50 (ms) | p95 (ms) | history() (ms) | reload (ms) |\n|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---:|');
for (const r of results) {
  console.log(
    `| ${r.items} | ${r.itemTable} | ${(r.bytes / 1e6).toFixed(2)} | ${r.backend} | ${r.events} | ${(r.loadMs / 1000).toFixed(2)} | ${r.firstMs.toFixed(1)} | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${r.historyMs.toFixed(0)} | ${r.reloadMs.toFixed(0)} |`,
  );
}
await writeFile(join(FIXTURES, 'bench.json'), JSON.stringify({ wasm: size, results }, null, 2));
