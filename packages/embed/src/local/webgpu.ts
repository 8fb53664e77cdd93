/**
 * Finding a WebGPU device for local mode. Only what the local chunk uses of the WebGPU API is
 * typed here (TypeScript's DOM library has no WebGPU types, and onnxruntime-web accepts any
 * GPUDevice object).
 */

export interface GpuAdapterInfo {
  readonly vendor?: string;
  readonly architecture?: string;
  readonly device?: string;
  readonly description?: string;
  readonly isFallbackAdapter?: boolean;
}

export interface GpuDevice {
  readonly lost: Promise<{ readonly reason?: string; readonly message?: string }>;
  destroy(): void;
}

export interface GpuAdapter {
  readonly info?: GpuAdapterInfo;
  readonly limits: Readonly<Record<string, number>>;
  readonly features: ReadonlySet<string>;
  requestDevice(descriptor?: { requiredLimits?: Record<string, number>; requiredFeatures?: string[] }): Promise<GpuDevice>;
}

interface Gpu {
  requestAdapter(options?: { featureLevel?: 'core' | 'compatibility'; powerPreference?: 'low-power' | 'high-performance' }): Promise<GpuAdapter | null>;
}

export interface GpuChoice {
  readonly adapter: GpuAdapter;
  readonly device: GpuDevice;
  /** What the browser tells of the adapter (e.g. "ANGLE (Mesa, Vulkan 1.4 (llvmpipe ...))"), or undefined: browsers may hide it. */
  readonly description?: string;
}

/** Why no WebGPU device was had, in `aurora-load`'s `backendFallback`. */
export type NoGpu = 'no-webgpu' | 'no-adapter' | 'fallback-adapter-only' | `webgpu-device-error: ${string}`;

/**
 * Limits onnxruntime's WebGPU kernels may need beyond WebGPU's defaults: asked at the adapter's
 * values, as onnxruntime does for the devices it makes itself (a device made with default limits
 * can refuse shaders the adapter could run).
 */
const LIMITS = [
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBufferBindingSize',
  'maxStorageBuffersPerShaderStage',
  'maxBufferSize',
];

function describe(info: GpuAdapterInfo | undefined): string | undefined {
  if (!info) return undefined;
  const text = info.description || [info.vendor, info.architecture].filter(Boolean).join(' ');
  return text || undefined;
}

/**
 * An adapter the browser does not mark as a fallback (a software rasterizer such as SwiftShader:
 * WASM SIMD is the better use of the same CPU, and SwiftShader's sin/cos are too coarse for the
 * parity bound). The default request first; where that gives none or only a fallback adapter,
 * `featureLevel: 'compatibility'` too (Chromium over ANGLE/OpenGL ES offers adapters only there).
 */
export async function requestGpu(): Promise<GpuChoice | NoGpu> {
  const gpu = (globalThis.navigator as Navigator & { gpu?: Gpu }).gpu;
  if (!gpu) return 'no-webgpu';
  let sawFallback = false;
  for (const options of [undefined, { featureLevel: 'compatibility' } as const]) {
    let adapter: GpuAdapter | null = null;
    try {
      adapter = await gpu.requestAdapter(options);
    } catch {
      // A browser that does not know the option may throw: try the next request.
    }
    if (!adapter) continue;
    if (adapter.info?.isFallbackAdapter) {
      sawFallback = true;
      continue;
    }
    const requiredLimits: Record<string, number> = {};
    for (const name of LIMITS) if (typeof adapter.limits[name] === 'number') requiredLimits[name] = adapter.limits[name];
    try {
      const device = await adapter.requestDevice({ requiredLimits });
      return { adapter, device, description: describe(adapter.info) };
    } catch (error) {
      return `webgpu-device-error: ${error instanceof Error ? error.message : String(error)}`;
    }
  }
  return sawFallback ? 'fallback-adapter-only' : 'no-adapter';
}
