import * as fs from 'node:fs';
import * as path from 'node:path';
import onnxProto from 'onnx-proto';
import { IMAGE_STAGE_FILE, IMAGE_STAGE_GPU_FILE, TEXT_STAGE_FILE } from '../bundle/build.ts';
import { encodeServingFiles, SERVING_FILE, SERVING_GPU_FILE } from '../bundle/serving-files.ts';
import { buildServingGraph } from '../serving/serving-graph.ts';
import { BundleError, type BundleManifest, parseBundleManifest } from '../bundle/manifest.ts';
import { sha256Hex } from '../bundle/sha256.ts';
import { buildImageStage, buildTextStage } from '../generator/stages.ts';
import { encodeModel, type ExternalLayout, liveNodes } from '../onnx/encode.ts';
import type { Graph } from '../onnx/graph.ts';
import type { ParamProvider, ParamSpec } from '../onnx/params.ts';
import { sharedProvider } from '../onnx/providers.ts';
import { readBundleDir, sha256FileSync } from './bundle-dir.ts';

const { onnx } = onnxProto;

/** What each stage file's docString says, as buildBundle writes it (an upgraded bundle gets the same bytes). */
const STAGE_DOC: Record<string, string> = { [TEXT_STAGE_FILE]: 'text stage', [IMAGE_STAGE_FILE]: 'image stage', [IMAGE_STAGE_GPU_FILE]: 'image stage (grouped MoE)' };

export interface UpgradeResult {
  readonly added: readonly string[];
  readonly manifest: BundleManifest;
}

/**
 * Adds what newer code puts in a bundle and an older bundle lacks: the generator's text and image
 * stages (prompt interpolation) and the serving graphs (serving.onnx, serving-gpu.onnx). Their
 * weights are read back from the bundle's own generator and text-encoder graphs (initializers carry
 * the reference state-dict names), so no checkpoint is needed; the new graphs refer to the same
 * external data files. Everything else stays byte for byte; the manifest (hence the content hash)
 * changes, so caches keyed by it start afresh. The manifest is replaced last, atomically: an
 * interrupted upgrade leaves the old bundle intact.
 */
export function upgradeBundleDir(dir: string): UpgradeResult {
  const source = readBundleDir(dir);
  const m = source.manifest;
  if (m.generator.stages && m.serving) return { added: [], manifest: m };
  // The new graphs' weights are read from these files: they must be the ones the manifest names.
  const read = [m.generator.graph, m.generator.externalData, ...(m.serving ? [] : [m.textEncoder.graph, m.textEncoder.externalData])];
  for (const name of read) {
    if (name && sha256FileSync(path.join(dir, name)) !== m.files[name]?.sha256) throw new BundleError(`${dir}: ${name} does not match its sha256 in manifest.json (damaged or changed): not upgrading`);
  }
  const generator = readInitializers(dir, m.generator);
  const provider = fromInitializers(generator.values);
  const config = m.generator.config;
  const files: Record<string, { sha256: string; bytes: number }> = { ...m.files };
  const added: string[] = [];
  const write = (name: string, bytes: Uint8Array, graph: Graph, lacking: ReadonlySet<string>) => {
    const used = liveNodes(graph).used;
    const absent = [...lacking].filter((p) => used.has(p));
    if (absent.length) throw new BundleError(`${dir}: cannot add ${name}: its graph reads ${absent.slice(0, 3).join(', ')}${absent.length > 3 ? ', ...' : ''}, which the bundle's graphs do not hold`);
    fs.writeFileSync(path.join(dir, name), bytes);
    files[name] = { sha256: sha256Hex([bytes]), bytes: bytes.byteLength };
    added.push(name);
  };

  let stages = m.generator.stages;
  if (!stages) {
    const graphs: [string, Graph][] = [
      [TEXT_STAGE_FILE, buildTextStage(config, provider).graph],
      [IMAGE_STAGE_FILE, buildImageStage(config, provider).graph],
    ];
    if (m.generator.gpuGraph) graphs.push([IMAGE_STAGE_GPU_FILE, buildImageStage(config, provider, { moe: 'grouped' }).graph]);
    const external = m.generator.externalData ? { location: m.generator.externalData, reuse: generator.layout } : undefined;
    for (const [name, graph] of graphs) write(name, encodeModel(graph, { external, docString: `${m.id} generator, ${STAGE_DOC[name]}` }).model, graph, provider.missing);
    stages = { text: TEXT_STAGE_FILE, image: IMAGE_STAGE_FILE, ...(m.generator.gpuGraph ? { imageGpu: IMAGE_STAGE_GPU_FILE } : {}) };
  }

  let serving = m.serving;
  if (!serving) {
    const text = readInitializers(dir, m.textEncoder);
    const textProvider = fromInitializers(text.values);
    const externalData = [
      ...(m.textEncoder.externalData ? [{ location: m.textEncoder.externalData, layout: text.layout }] : []),
      ...(m.generator.externalData ? [{ location: m.generator.externalData, layout: generator.layout }] : []),
    ];
    const spec = {
      id: m.id,
      generator: { config, provider },
      textEncoder: { config: m.textEncoder.config, provider: textProvider },
      centerCount: m.sampling.centerCount,
      gpu: m.generator.gpuGraph !== undefined,
    };
    const encoded = encodeServingFiles({ ...spec, externalData: m.generator.externalData ? externalData : undefined });
    const graphs = new Map([[SERVING_FILE, buildServingGraph(spec).graph], [SERVING_GPU_FILE, buildServingGraph({ ...spec, moe: 'grouped' }).graph]]);
    const lacking = new Set([...provider.missing, ...textProvider.missing]);
    for (const [name, bytes] of encoded.files) write(name, bytes, graphs.get(name) as Graph, lacking);
    serving = encoded.entry;
  }

  const sortedFiles = Object.fromEntries(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : 1)));
  const manifest = parseBundleManifest({ ...m, generator: { ...m.generator, stages }, serving, files: sortedFiles });
  const temp = path.join(dir, `manifest.json.tmp-${process.pid}`);
  fs.writeFileSync(temp, `${JSON.stringify(manifest, null, 2)}\n`);
  fs.renameSync(temp, path.join(dir, 'manifest.json'));
  return { added, manifest };
}

/**
 * Weights by state-dict name from a graph's initializers; a parameter the graph lacks (pruned when
 * the bundle was built: no live node read it) is zeros and recorded in `missing`, which a new graph
 * must not read.
 */
function fromInitializers(values: ReadonlyMap<string, Float32Array>): ParamProvider & { readonly missing: Set<string> } {
  const missing = new Set<string>();
  const shared = sharedProvider({
    provide(spec: ParamSpec): Float32Array {
      const n = spec.shape.reduce((a, b) => a * b, 1);
      const found = values.get(spec.name);
      if (found && found.length === n) return found;
      missing.add(spec.name);
      return new Float32Array(n);
    },
  });
  return { provide: (spec) => shared.provide(spec), missing };
}

/** The float32 initializers of one of the bundle's graphs by name, and where the external ones sit. */
function readInitializers(dir: string, g: { readonly graph: string; readonly externalData: string | null }): { values: Map<string, Float32Array>; layout: ExternalLayout } {
  const model = onnx.ModelProto.decode(fs.readFileSync(path.join(dir, g.graph)));
  const data = g.externalData ? fs.readFileSync(path.join(dir, g.externalData)) : null;
  const values = new Map<string, Float32Array>();
  const layout = new Map<string, { offset: number; bytes: Uint8Array }>();
  for (const t of model.graph?.initializer ?? []) {
    if (!t.name || t.dataType !== onnx.TensorProto.DataType.FLOAT) continue;
    let bytes: Uint8Array;
    if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
      const entry = (key: string) => t.externalData?.find((e) => e.key === key)?.value;
      const offset = Number(entry('offset') ?? 0);
      const length = Number(entry('length'));
      if (!data || entry('location') !== g.externalData || !(offset + length <= data.byteLength)) {
        throw new BundleError(`${dir}: ${g.graph} refers to external data it does not name in the manifest (${t.name})`);
      }
      bytes = new Uint8Array(data.buffer, data.byteOffset + offset, length).slice();
      layout.set(t.name, { offset, bytes });
    } else if (t.rawData && t.rawData.byteLength > 0) {
      bytes = new Uint8Array(t.rawData); // a copy: protobufjs may hand out an unaligned view
    } else {
      continue;
    }
    values.set(t.name, new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4));
  }
  return { values, layout };
}
