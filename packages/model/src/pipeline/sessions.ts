import { type BundleSource, readVerified } from '../bundle/bundle.ts';
import type { InferenceSession, OrtModule } from '../runtime/ort-types.ts';

export interface SessionLoadOptions {
  readonly sessionOptions?: InferenceSession.SessionOptions;
  /**
   * Load graphs by file path when the bundle is a local folder (onnxruntime-node: it reads the
   * external data itself and never holds a copy in JS). Otherwise graphs and external data are
   * read as bytes, as onnxruntime-web needs.
   */
  readonly preferPaths?: boolean;
}

/** Creates a session for one of the bundle's graphs, with its external data. */
export async function createGraphSession(
  ort: OrtModule,
  source: BundleSource,
  graph: { readonly graph: string; readonly externalData: string | null },
  options: SessionLoadOptions = {},
): Promise<InferenceSession> {
  if (options.preferPaths && source.localPath) {
    return ort.InferenceSession.create(source.localPath(graph.graph), options.sessionOptions);
  }
  const model = await readVerified(source, graph.graph);
  if (!graph.externalData) return ort.InferenceSession.create(model, options.sessionOptions);
  const data = await readVerified(source, graph.externalData);
  return ort.InferenceSession.create(model, { ...options.sessionOptions, externalData: [{ path: graph.externalData, data }] });
}
