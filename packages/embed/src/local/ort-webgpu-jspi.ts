/**
 * onnxruntime-web's WebGPU build on JSPI (WebAssembly.Suspending; Chromium-based browsers):
 * the same WebGPU execution provider as ort-webgpu.ts with a 17 MB runtime instead of 27 MB
 * (ort-wasm-simd-threaded.jspi.{mjs,wasm}). A lazy chunk of its own (embed-local-<hash>.js).
 */
export * from 'onnxruntime-web/jspi';
