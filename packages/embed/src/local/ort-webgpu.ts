/**
 * onnxruntime-web's WebGPU build (its native WebGPU execution provider plus the CPU kernels it
 * falls back to per node; ort-wasm-simd-threaded.asyncify.{mjs,wasm}, 27 MB), a lazy chunk of its
 * own (embed-local-<hash>.js), loaded only where the page got a WebGPU device and the browser
 * lacks JSPI (else ort-webgpu-jspi.ts).
 */
export * from 'onnxruntime-web/webgpu';
