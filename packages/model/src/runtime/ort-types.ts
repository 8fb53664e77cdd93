import type { InferenceSession, Tensor } from 'onnxruntime-common';

/**
 * What the model package needs from an onnxruntime build. onnxruntime-node, onnxruntime-web
 * and onnxruntime-react-native all satisfy it, so the core never imports a runtime itself.
 */
export interface OrtModule {
  readonly InferenceSession: {
    create(model: Uint8Array, options?: InferenceSession.SessionOptions): Promise<InferenceSession>;
    /** onnxruntime-node also loads from a path, which resolves external data beside the file. */
    create(path: string, options?: InferenceSession.SessionOptions): Promise<InferenceSession>;
  };
  readonly Tensor: typeof Tensor;
}

export type { InferenceSession, Tensor };
