import onnxProto from 'onnx-proto';
import type { Attr, Graph, NodeSpec, ValueInfo } from './graph.ts';
import { byteView, type ConstTensor, ONNX_DTYPE } from './tensor-data.ts';

const { onnx } = onnxProto;

export const OPSET = 17;
const IR_VERSION = 8;

export interface ExternalDataOptions {
  /** File name the model refers to, relative to the model file (e.g. `generator.onnx.data`). */
  readonly location: string;
  /** Initializers smaller than this stay inside the model (shape constants, scalars). */
  readonly minBytes?: number;
  /**
   * Refer to tensors already written by another graph of the same bundle (its EncodedModel.layout)
   * instead of writing a file of its own: a tensor found there with the same bytes is referenced at
   * its offset; any other is embedded. The model then writes no external data.
   */
  readonly reuse?: ExternalLayout;
  /**
   * Like `reuse`, over several graphs' data files (the serving graph reads the text encoder's and
   * the generator's): each tensor is referenced in the first file that holds its bytes, under its
   * own name or, failing that, any name (a constant may be named differently in another graph).
   * `location` is then unused. Tensors found nowhere are embedded.
   */
  readonly reuseFrom?: readonly { readonly location: string; readonly layout: ExternalLayout }[];
}

/** Where each externally stored initializer sits in the data file, with its bytes (to check reuse). */
export type ExternalLayout = ReadonlyMap<string, { readonly offset: number; readonly bytes: Uint8Array }>;

export interface EncodedModel {
  readonly model: Uint8Array;
  /**
   * The external data file as consecutive chunks (empty when everything is embedded). Chunks,
   * not one buffer: the paper model's 4.7 GB of weights exceed what one ArrayBuffer may hold.
   */
  readonly externalData: readonly Uint8Array[];
  readonly externalBytes: number;
  /** Every initializer this model stores externally (reused ones included), by name. */
  readonly layout: ExternalLayout;
}

/** Tensors are 64-byte aligned in the external file so runtimes may map them directly. */
const ALIGN = 64;

function encodeAttr(name: string, a: Attr): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.kind) {
    case 'int': return { name, type: T.INT, i: a.value };
    case 'float': return { name, type: T.FLOAT, f: a.value };
    case 'ints': return { name, type: T.INTS, ints: [...a.value] };
    case 'floats': return { name, type: T.FLOATS, floats: [...a.value] };
    case 'string': return { name, type: T.STRING, s: new TextEncoder().encode(a.value) };
  }
}

function valueInfo(v: ValueInfo): onnxProto.onnx.IValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: ONNX_DTYPE[v.type],
        shape: { dim: v.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/**
 * Serialises the graph as an ONNX ModelProto. With `external`, large initializers are written to
 * a side buffer instead, which keeps models over protobuf's 2 GB limit loadable.
 */
export function encodeModel(graph: Graph, options: { external?: ExternalDataOptions; docString?: string } = {}): EncodedModel {
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const { nodes, used } = liveNodes(graph);
  const initializer: onnxProto.onnx.ITensorProto[] = [];
  const layout = new Map<string, { offset: number; bytes: Uint8Array }>();
  const reuse = options.external?.reuse;
  const findShared = options.external?.reuseFrom ? sharedFinder(options.external.reuseFrom) : null;
  for (const [name, t] of graph.initializers) {
    if (!used.has(name)) continue;
    initializer.push(encodeTensor(name, t, options.external, (bytes) => {
      if (findShared) return findShared(name, bytes);
      if (reuse) {
        const found = reuse.get(name);
        if (!found || !equalBytes(found.bytes, bytes)) return null;
        layout.set(name, found);
        return found.offset;
      }
      const pad = (ALIGN - (offset % ALIGN)) % ALIGN;
      if (pad) chunks.push(new Uint8Array(pad));
      offset += pad;
      const at = offset;
      chunks.push(bytes);
      offset += bytes.byteLength;
      layout.set(name, { offset: at, bytes });
      return at;
    }));
  }
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: 'aurora-edge',
    producerVersion: '0.1.0',
    docString: options.docString ?? '',
    opsetImport: [{ domain: '', version: OPSET }],
    graph: {
      name: graph.name,
      node: nodes.map((n) => ({
        opType: n.opType,
        name: n.name,
        input: [...n.inputs],
        output: [...n.outputs],
        attribute: Object.entries(n.attrs).map(([k, v]) => encodeAttr(k, v)),
      })),
      initializer,
      input: graph.inputs.map(valueInfo),
      output: graph.outputs.map(valueInfo),
    },
  });
  return { model: onnx.ModelProto.encode(model).finish(), externalData: chunks, externalBytes: offset, layout };
}

/**
 * Nodes that contribute to some graph output, in their original order, and every tensor name they
 * read. Modules are built whole (their weights are in the checkpoint) even where the forward pass
 * skips them, so unused branches are dropped here.
 */
export function liveNodes(graph: Graph): { nodes: NodeSpec[]; used: Set<string> } {
  const used = new Set(graph.outputs.map((o) => o.name));
  const live: NodeSpec[] = [];
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const n = graph.nodes[i];
    if (!n.outputs.some((o) => used.has(o))) continue;
    live.push(n);
    for (const input of n.inputs) used.add(input);
  }
  return { nodes: live.reverse(), used };
}

function encodeTensor(
  name: string,
  t: ConstTensor,
  external: ExternalDataOptions | undefined,
  place: (bytes: Uint8Array) => number | { readonly location: string; readonly offset: number } | null,
): onnxProto.onnx.ITensorProto {
  const base = { name, dims: [...t.dims], dataType: ONNX_DTYPE[t.type] };
  const bytes = byteView(t);
  const placed = external && bytes.byteLength >= (external.minBytes ?? 1024) ? place(bytes) : null;
  if (external && placed !== null) {
    const at = typeof placed === 'number' ? { location: external.location, offset: placed } : placed;
    return {
      ...base,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: at.location },
        { key: 'offset', value: String(at.offset) },
        { key: 'length', value: String(bytes.byteLength) },
      ],
    };
  }
  return { ...base, rawData: bytes };
}

/** Looks a tensor up in several data files' layouts: by name first, then by its bytes. */
function sharedFinder(sources: NonNullable<ExternalDataOptions['reuseFrom']>): (name: string, bytes: Uint8Array) => { location: string; offset: number } | null {
  let bySize: Map<number, { location: string; offset: number; bytes: Uint8Array }[]> | null = null;
  return (name, bytes) => {
    for (const s of sources) {
      const found = s.layout.get(name);
      if (found && equalBytes(found.bytes, bytes)) return { location: s.location, offset: found.offset };
    }
    if (!bySize) {
      bySize = new Map();
      for (const s of sources) {
        for (const entry of s.layout.values()) {
          const list = bySize.get(entry.bytes.byteLength) ?? [];
          list.push({ location: s.location, ...entry });
          bySize.set(entry.bytes.byteLength, list);
        }
      }
    }
    const same = bySize.get(bytes.byteLength)?.find((e) => equalBytes(e.bytes, bytes));
    return same ? { location: same.location, offset: same.offset } : null;
  };
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
