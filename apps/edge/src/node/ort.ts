import { AuroraInterpolator, AuroraPipeline, type BundleSource, type OrtModule } from '@aurora-edge/model';
import { interpolatingPipeline, WASM_SESSION_OPTIONS, type WasmPipeline } from '../generate/wasm.ts';
import { type WasmWatch, watchWasm } from '../generate/wasm-memory.ts';

/** onnxruntime-web (WASM SIMD, one thread) in Node, with the wasm heap watched. */
export async function loadOrtWeb(): Promise<{ ort: OrtModule; watch: WasmWatch; load(source: BundleSource): Promise<Required<WasmPipeline>> }> {
  const watch = watchWasm();
  const ort = await import('onnxruntime-web');
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  const mod = ort as unknown as OrtModule;
  const options = { sessionOptions: WASM_SESSION_OPTIONS };
  return {
    ort: mod,
    watch,
    // With prompt interpolation, whose stages load on the first one.
    load: async (source) =>
      interpolatingPipeline(await AuroraPipeline.load(mod, source, options), (p) => AuroraInterpolator.load(mod, source, p.text, options)),
  };
}
