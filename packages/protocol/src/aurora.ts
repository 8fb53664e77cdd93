/**
 * The Aurora serving model as an Open Inference Protocol model: its fixed tensor names (the
 * serving graph's, shared with @aurora-edge/model and the Triton export), the platform it reports
 * and the config parameter that carries the bundle's content hash where versions are numbers.
 */
export const AURORA_TENSORS = {
  /** INT32 [-1, contextLength]: the bundle's CLIP token ids, one prompt per row. */
  inputIds: 'input_ids',
  /** FP32 [-1, z_dim]: sampleLatents(seeds, z_dim). */
  z: 'z',
  /** FP32 [-1, 1]: truncation psi in [0, 1]. */
  psi: 'psi',
  /** UINT8 [-1, H, W, C]: the images, NHWC (the reference postprocess). */
  images: 'images',
} as const;

/** Optional lower-resolution outputs: `partial_images_<res>`, UINT8 NHWC. */
export const PARTIAL_IMAGES_PREFIX = 'partial_images_';

/** Platform of the model metadata (Triton's name for an ONNX model on onnxruntime). */
export const AURORA_PLATFORM = 'onnxruntime_onnx';

/**
 * Model config parameter (`GET /v2/models/{m}/config` -> parameters.aurora_content_hash.string_value)
 * holding the bundle's content hash, for servers such as Triton whose versions are numbers.
 */
export const CONTENT_HASH_PARAMETER = 'aurora_content_hash';

/** Most rows (images) one runner request may carry; a runner may configure a lower max batch. */
export const RUNNER_MAX_ROWS = 64;
