/**
 * onnxruntime-web inside workerd. Workers forbid compiling wasm from bytes and have no
 * import.meta.url, so: the build with its emscripten glue inlined ('onnxruntime-web/wasm'), the
 * .wasm imported as a precompiled module, and a placeholder ArrayBuffer as wasmBinary that the
 * instantiate hook (watchWasm) swaps for that module. One thread, no proxy worker.
 */

import { AuroraInterpolator, AuroraPipeline, type BundleSource } from '@aurora-edge/model';
import ortWasmModule from 'onnxruntime-web/ort-wasm-simd-threaded.wasm';
import * as ort from 'onnxruntime-web/wasm';
import { interpolatingPipeline, WASM_SESSION_OPTIONS, type WasmPipeline } from '../generate/wasm.ts';
import { watchWasm } from '../generate/wasm-memory.ts';

// An ArrayBuffer, not a Uint8Array: the glue copies a Uint8Array and the identity check then fails.
const placeholder = new ArrayBuffer(8);
export const wasmWatch = watchWasm({ substitute: { placeholder, module: ortWasmModule } });
ort.env.wasm.numThreads = 1;
ort.env.wasm.proxy = false;
ort.env.wasm.wasmBinary = placeholder;

/**
 * Loads a bundle into onnxruntime-web; call it inside a handler (sessions are made lazily). Prompt
 * interpolation runs here too, in the request's isolate; its stages load on the first one.
 */
export async function loadPipeline(source: BundleSource): Promise<WasmPipeline> {
  const mod = ort;
  const options = { sessionOptions: WASM_SESSION_OPTIONS };
  const pipeline = await AuroraPipeline.load(mod, source, options);
  return interpolatingPipeline(pipeline, (p) => AuroraInterpolator.load(mod, source, p.text, options));
}
