/**
 * onnxruntime-web's WASM-only build (ort-wasm-simd-threaded.{mjs,wasm}, 14 MB), a lazy chunk of
 * its own (embed-local-<hash>.js): pages without a WebGPU adapter never load the WebGPU build.
 */
export * from 'onnxruntime-web/wasm';
