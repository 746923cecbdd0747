// Checks that the TypeScript declarations in pkg/localrec.d.ts (src/web/npm/types.d.ts, plus
// what wasm-bindgen writes for `init`) declare exactly what pkg/localrec.js exports: the same
// exported values, and for each exported class the same static and instance members, getters
// as getters and methods as methods. Members whose names start with `_` are internal
// (wasm-bindgen's `__wrap`, the test hook `_destroyGpuDevice`) and need no declaration.
// The same for the package's entry point, pkg/index.js and pkg/index.d.ts.
// Run by src/web/npm/build.sh after wasm-bindgen and package.mjs; exits with 1 and a list when
// they disagree.
// Usage: node src/web/npm/check-types.mjs [pkg dir]
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const pkg = resolve(process.argv[2] ?? join(import.meta.dirname, '..', '..', '..', 'pkg'));
const dts = readFileSync(join(pkg, 'localrec.d.ts'), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, '');
const mod = await import(pathToFileURL(join(pkg, 'localrec.js')).href);

const problems = [];
const internal = (name) => name.startsWith('_');
/** A property key as a declaration writes it: `[Symbol.dispose]` for a well-known symbol. */
const symbolName = (k) => {
  if (typeof k !== 'symbol') return k;
  const known = Object.getOwnPropertyNames(Symbol).find((n) => Symbol[n] === k);
  return known ? `[Symbol.${known}]` : `[${k.description}]`;
};

/** Runtime members of a class: `static load()`, `catalog()`, `get backend`, … */
function runtimeMembers(cls) {
  const out = new Set();
  const add = (obj, prefix, skip) => {
    for (const key of Reflect.ownKeys(obj)) {
      const name = symbolName(key);
      if (skip.includes(name) || internal(name)) continue;
      const d = Object.getOwnPropertyDescriptor(obj, key);
      out.add(d.get || d.set ? `${prefix}get ${name}` : `${prefix}${name}()`);
    }
  };
  add(cls, 'static ', ['length', 'name', 'prototype']);
  add(cls.prototype, '', ['constructor']);
  return out;
}

/** The text between the braces that open at `open` (an index of `{`). */
function block(text, open) {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return text.slice(open + 1, i);
  }
  throw new Error('unbalanced braces in localrec.d.ts');
}

/** Declared members of a class body, in the same notation as runtimeMembers. */
function declaredMembers(body) {
  const out = new Set();
  // Split at `;` outside parentheses, braces and brackets.
  let depth = 0;
  let start = 0;
  const decls = [];
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if ('({['.includes(c)) depth++;
    else if (')}]'.includes(c)) depth--;
    else if (c === ';' && depth === 0) {
      decls.push(body.slice(start, i).trim());
      start = i + 1;
    }
  }
  for (const decl of decls) {
    const m = decl.match(/^((?:(?:static|readonly|private|public|protected|get|set)\s+)*)(\[Symbol\.\w+\]|[\w$]+)\s*(\??)\s*([(:<])/);
    if (!m) {
      problems.push(`cannot read the declaration \`${decl}\``);
      continue;
    }
    const [, mods, name, , after] = m;
    if (name === 'constructor' || internal(name)) continue;
    const prefix = /\bstatic\b/.test(mods) ? 'static ' : '';
    const getter = /\b(get|set|readonly)\b/.test(mods) || after === ':';
    out.add(getter ? `${prefix}get ${name}` : `${prefix}${name}()`);
  }
  return out;
}

// Exported values: `export class X`, `export function f`, `export default function`, `export const`.
const declared = new Set();
for (const m of dts.matchAll(/^export\s+(default\s+)?(?:declare\s+)?(class|function|const|let|var)\s+([\w$]+)/gm)) {
  declared.add(m[1] ? 'default' : m[3]);
}
const exported = new Set(Object.keys(mod));
for (const name of exported) if (!declared.has(name)) problems.push(`pkg/localrec.js exports \`${name}\`, which the .d.ts does not declare`);
for (const name of declared) if (!exported.has(name)) problems.push(`the .d.ts declares \`${name}\`, which pkg/localrec.js does not export`);

let members = 0;
for (const m of dts.matchAll(/^export\s+(?:declare\s+)?class\s+([\w$]+)[^{]*\{/gm)) {
  const cls = mod[m[1]];
  if (typeof cls !== 'function') continue; // reported above
  const want = declaredMembers(block(dts, m.index + m[0].length - 1));
  const have = runtimeMembers(cls);
  if (typeof Symbol.dispose !== 'symbol') want.delete('[Symbol.dispose]()'); // this Node has none
  for (const x of have) if (!want.has(x)) problems.push(`${m[1]}: \`${x}\` is exported by pkg/localrec.js but not declared`);
  for (const x of want) if (!have.has(x)) problems.push(`${m[1]}: \`${x}\` is declared but pkg/localrec.js has no such member`);
  members += want.size;
}

// The CPU-only build (pkg/localrec_cpu.js) has the same API as the WebGPU one.
const cpu = await import(pathToFileURL(join(pkg, 'localrec_cpu.js')).href);
const same = (a, b) => a.size === b.size && [...a].every((x) => b.has(x));
if (!same(new Set(Object.keys(cpu)), exported)) problems.push('pkg/localrec_cpu.js does not export what pkg/localrec.js exports');
for (const [name, cls] of Object.entries(mod)) {
  if (typeof cls === 'function' && /^class\b/.test(Function.prototype.toString.call(cls)) && !same(runtimeMembers(cls), runtimeMembers(cpu[name] ?? class {}))) {
    problems.push(`${name}: the CPU-only build's members differ from the WebGPU build's`);
  }
}

// The Recommender that runs in a worker (pkg/remote.js) has the module's API, getter for getter
// and method for method.
const { RemoteRecommender } = await import(pathToFileURL(join(pkg, 'remote.js')).href);
{
  const local = runtimeMembers(mod.Recommender);
  const remote = runtimeMembers(RemoteRecommender);
  for (const x of local) if (!remote.has(x)) problems.push(`pkg/remote.js: RemoteRecommender lacks \`${x}\` of the module's Recommender`);
  for (const x of remote) if (!local.has(x)) problems.push(`pkg/remote.js: RemoteRecommender has \`${x}\`, which the module's Recommender lacks`);
}

// The package's entry point: pkg/index.js exports what pkg/index.d.ts declares (its own
// functions, such as `init` and `connectDataLayer`, the values it re-exports by name with
// `export { X } from`, and with `export * from './localrec.js'` every value of localrec.js but
// its default export; `export type` exports no value).
const indexDts = readFileSync(join(pkg, 'index.d.ts'), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, '');
const index = await import(pathToFileURL(join(pkg, 'index.js')).href);
const indexDeclared = new Set();
for (const m of indexDts.matchAll(/^export\s+(?:declare\s+)?(?:class|function|const|let|var)\s+([\w$]+)/gm)) indexDeclared.add(m[1]);
for (const m of indexDts.matchAll(/^export\s+\{([^}]*)\}\s+from/gm)) {
  for (const part of m[1].split(',')) {
    const name = part.trim().split(/\s+as\s+/).pop();
    if (name && !part.trim().startsWith('type ')) indexDeclared.add(name);
  }
}
if (/^export\s+\*\s+from\s+['"]\.\/localrec\.js['"]/m.test(indexDts)) for (const name of declared) if (name !== 'default') indexDeclared.add(name);
const indexExported = new Set(Object.keys(index));
for (const name of indexExported) if (!indexDeclared.has(name)) problems.push(`pkg/index.js exports \`${name}\`, which pkg/index.d.ts does not declare`);
for (const name of indexDeclared) if (!indexExported.has(name)) problems.push(`pkg/index.d.ts declares \`${name}\`, which pkg/index.js does not export`);

if (problems.length) {
  console.error(`the TypeScript declarations in pkg/ do not match its exports (sources: src/web/npm/types.d.ts, src/web/npm/index.d.ts):`);
  for (const p of problems) console.error(`  - ${p}`);
  process.exit(1);
}
console.log(`types: ${declared.size} exports and ${members} class members declared as exported; index.js: ${indexExported.size} exports`);
