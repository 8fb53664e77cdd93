import type { OrtModule } from '../runtime/ort-types.ts';

/** onnxruntime-node, loaded on demand so commands that never run a graph start fast. */
export async function loadOrtNode(): Promise<OrtModule> {
  const mod = await import('onnxruntime-node');
  return (mod.default ?? mod) as unknown as OrtModule;
}
