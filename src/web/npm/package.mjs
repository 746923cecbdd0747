// Completes the npm package in pkg/ after wasm-bindgen: package.json, README, entry point.
// Run by src/web/npm/build.sh; pkg/ is generated, never edited by hand.
import { readFileSync, writeFileSync, copyFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const pkg = join(root, 'pkg');
const cargo = readFileSync(join(root, 'Cargo.toml'), 'utf8');
const field = (name) => {
  const m = cargo.match(new RegExp(`^${name}\\s*=\\s*"([^"]*)"`, 'm'));
  if (!m) throw new Error(`Cargo.toml has no ${name}`);
  return m[1];
};

for (const f of ['index.js', 'index.d.ts', 'modules.js', 'remote.js', 'worker.js', 'datalayer.js', 'README.md']) copyFileSync(join(root, 'src', 'web', 'npm', f), join(pkg, f));
for (const f of ['localrec.js', 'localrec.d.ts', 'localrec_bg.wasm', 'localrec_cpu.js', 'localrec_cpu.d.ts', 'localrec_cpu_bg.wasm']) {
  if (!existsSync(join(pkg, f))) throw new Error(`pkg/${f} is missing: did wasm-bindgen run?`);
}

const manifest = {
  name: 'localrec',
  version: field('version'),
  description: 'On-device sequential recommendation in the browser: WebGPU (or CPU) inference, events in IndexedDB, nothing sent anywhere',
  license: field('license'),
  repository: { type: 'git', url: field('repository') },
  keywords: ['recommender', 'recommendation', 'webgpu', 'wasm', 'on-device', 'privacy'],
  type: 'module',
  main: './index.js',
  module: './index.js',
  types: './index.d.ts',
  exports: {
    '.': { types: './index.d.ts', import: './index.js', default: './index.js' },
    './localrec_bg.wasm': './localrec_bg.wasm',
    './localrec_cpu_bg.wasm': './localrec_cpu_bg.wasm',
    './package.json': './package.json',
  },
  files: [
    'index.js', 'index.d.ts', 'modules.js', 'remote.js', 'worker.js', 'datalayer.js', 'README.md',
    'localrec.js', 'localrec.d.ts', 'localrec_bg.wasm', 'localrec_bg.wasm.d.ts',
    'localrec_cpu.js', 'localrec_cpu.d.ts', 'localrec_cpu_bg.wasm', 'localrec_cpu_bg.wasm.d.ts',
  ],
  sideEffects: false,
};
writeFileSync(join(pkg, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
console.log(`pkg/: localrec ${manifest.version}`);
