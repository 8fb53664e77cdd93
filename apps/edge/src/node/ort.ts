import { AuroraInterpolator, AuroraPipeline, type BundleSource, type OrtModule } from '@aurora-edge/model';
import { loadOrtWasm } from '@aurora-edge/model/node';
import { interpolatingPipeline, WASM_SESSION_OPTIONS, type WasmPipeline } from '../generate/wasm.ts';
import { type WasmWatch, watchWasm } from '../generate/wasm-memory.ts';

/** onnxruntime-web (WASM SIMD, one thread) in Node, with the wasm heap watched. */
export async function loadOrtWeb(): Promise<{ ort: OrtModule; watch: WasmWatch; load(source: BundleSource): Promise<Required<WasmPipeline>> }> {
  const watch = watchWasm();
  const mod = await loadOrtWasm();
  const options = { sessionOptions: WASM_SESSION_OPTIONS };
  return {
    ort: mod,
    watch,
    // With prompt interpolation, whose stages load on the first one.
    load: async (source) =>
      interpolatingPipeline(await AuroraPipeline.load(mod, source, options), (p) => AuroraInterpolator.load(mod, source, p.text, options)),
  };
}
