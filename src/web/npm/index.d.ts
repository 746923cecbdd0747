export * from './localrec.js';
import type { InitInput } from './localrec.js';

/**
 * Loads the WebAssembly module once (`Recommender.load` and `Recommender.evaluateBaseline` call it for you). Pass a URL,
 * `Response`, `BufferSource` or `WebAssembly.Module` to load `localrec_bg.wasm` from elsewhere
 * than next to this file.
 */
export function init(moduleOrPath?: InitInput | Promise<InitInput>): Promise<unknown>;
