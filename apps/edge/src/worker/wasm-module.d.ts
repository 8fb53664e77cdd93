/** Wrangler imports .wasm files as compiled modules (rule CompiledWasm). */
declare module '*.wasm' {
  const module: WebAssembly.Module;
  export default module;
}
