import { AuroraPipeline, type BundleSource, type OrtModule } from '@aurora-edge/model';
import { WASM_SESSION_OPTIONS } from '../generate/wasm.ts';
import { type WasmWatch, watchWasm } from '../generate/wasm-memory.ts';

/** onnxruntime-web (WASM SIMD, one thread) in Node, with the wasm heap watched. */
export async function loadOrtWeb(): Promise<{ ort: OrtModule; watch: WasmWatch; load(source: BundleSource): Promise<AuroraPipeline> }> {
  const watch = watchWasm();
  const ort = await import('onnxruntime-web');
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  const mod = ort as unknown as OrtModule;
  return { ort: mod, watch, load: (source) => AuroraPipeline.load(mod, source, { sessionOptions: WASM_SESSION_OPTIONS }) };
}
