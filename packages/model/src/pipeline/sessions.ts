import { type BundleSource, readVerified } from '../bundle/bundle.ts';
import type { InferenceSession, OrtModule } from '../runtime/ort-types.ts';
import { SerialQueue } from '../runtime/serial-queue.ts';

export interface SessionLoadOptions {
  readonly sessionOptions?: InferenceSession.SessionOptions;
  /**
   * Load graphs by file path when the bundle is a local folder (onnxruntime-node: it reads the
   * external data itself and never holds a copy in JS); each file's sha256 is checked first,
   * streamed. Otherwise graphs and external data are read as bytes and checked, as
   * onnxruntime-web needs. Either way no session is made from a file the manifest does not name.
   */
  readonly preferPaths?: boolean;
  /**
   * Which generator graph: 'gpu' takes the bundle's gpuGraph (the grouped MoE, which GPU providers
   * run without leaving the device) when it has one; the default is the sparse one (CPU, WASM).
   */
  readonly generatorGraph?: 'default' | 'gpu';
}

/**
 * onnxruntime-web keeps the external data of the session being created in ONE map per wasm
 * instance (one per process or page) and empties it when any creation finishes, so two sessions
 * with external data created at once (the text encoder and generator of one pipeline, or two
 * pipelines) fail with "Module.MountedFiles is not available". Such creations therefore run one
 * at a time.
 */
const creations = new SerialQueue();

/** Creates a session for one of the bundle's graphs, with its external data. */
export async function createGraphSession(
  ort: OrtModule,
  source: BundleSource,
  graph: { readonly graph: string; readonly externalData: string | null },
  options: SessionLoadOptions = {},
): Promise<InferenceSession> {
  if (options.preferPaths && source.verifiedPath) {
    // onnxruntime-node opens the external data file named inside the graph, beside it: check it too.
    const [graphPath] = await Promise.all([source.verifiedPath(graph.graph), graph.externalData && source.verifiedPath(graph.externalData)]);
    return ort.InferenceSession.create(graphPath, options.sessionOptions);
  }
  const model = await readVerified(source, graph.graph);
  if (!graph.externalData) return ort.InferenceSession.create(model, options.sessionOptions);
  const externalData = [{ path: graph.externalData, data: await readVerified(source, graph.externalData) }];
  return creations.run(() => ort.InferenceSession.create(model, { ...options.sessionOptions, externalData }));
}
