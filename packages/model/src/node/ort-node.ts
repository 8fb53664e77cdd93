import type { OrtModule } from '../runtime/ort-types.ts';

/** onnxruntime-node, loaded on demand so commands that never run a graph start fast. */
export async function loadOrtNode(): Promise<OrtModule> {
  const mod = await import('onnxruntime-node');
  return mod.default ?? mod;
}

/**
 * onnxruntime-web in Node, set up as every Node user of it runs it (the gateway's in-process
 * generator, the CLI's wasm runtime, bench): WASM SIMD on one thread, in this thread (no proxy
 * worker). One thread keeps results independent of the machine's cores and the heap small.
 */
export async function loadOrtWasm(): Promise<OrtModule> {
  const web = await import('onnxruntime-web');
  web.env.wasm.numThreads = 1;
  web.env.wasm.proxy = false;
  return web;
}
