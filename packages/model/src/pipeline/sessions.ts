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
  graph: { readonly graph: string; readonly externalData: string | readonly string[] | null },
  options: SessionLoadOptions = {},
): Promise<InferenceSession> {
  // A graph may read several data files (the serving graph reads the text encoder's and the generator's).
  const dataFiles = graph.externalData === null ? [] : typeof graph.externalData === 'string' ? [graph.externalData] : [...graph.externalData];
  if (options.preferPaths && source.verifiedPath) {
    const verifiedPath = source.verifiedPath.bind(source);
    // onnxruntime-node opens the external data files named inside the graph, beside it: check them too.
    const [graphPath] = await Promise.all([verifiedPath(graph.graph), ...dataFiles.map((f) => verifiedPath(f))]);
    return ort.InferenceSession.create(graphPath, options.sessionOptions);
  }
  const model = await readVerified(source, graph.graph);
  if (dataFiles.length === 0) return ort.InferenceSession.create(model, options.sessionOptions);
  const externalData = await Promise.all(dataFiles.map(async (path) => ({ path, data: await readVerified(source, path) })));
  return creations.run(() => ort.InferenceSession.create(model, { ...options.sessionOptions, externalData }));
}
