import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { Builder } from '../onnx/builder.ts';
import { encodeModel } from '../onnx/encode.ts';
import { Graph } from '../onnx/graph.ts';
import { ParamRegistry } from '../onnx/params.ts';
import { shapeOnlyProvider } from '../onnx/providers.ts';
import type { InferenceSession, OrtModule } from '../runtime/ort-types.ts';

/**
 * Execution providers as one concept for the runner, the CLI and the benchmarks (onnxruntime-node):
 *   cpu     onnxruntime's own kernels
 *   webgpu  onnxruntime's WebGPU provider (Dawn over Vulkan), built into onnxruntime-node's
 *           libonnxruntime: a GPU with nothing beyond libvulkan1 and the GPU's Vulkan driver
 *   cuda    the CUDA provider (its libraries come from ONNXRUNTIME_NODE_INSTALL=cuda12)
 *   auto    cuda if it loads, else webgpu on a real GPU, else cpu; never a CPU-emulated adapter
 *           (lavapipe/llvmpipe, SwiftShader), which exist for tests and are slower than cpu
 */
export const EXECUTION_PROVIDERS = ['cpu', 'webgpu', 'cuda'] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];
export type ExecutionProviderChoice = ExecutionProvider | 'auto';
export const EXECUTION_PROVIDER_CHOICES: readonly ExecutionProviderChoice[] = ['auto', ...EXECUTION_PROVIDERS];

export function isExecutionProviderChoice(raw: string): raw is ExecutionProviderChoice {
  return (EXECUTION_PROVIDER_CHOICES as readonly string[]).includes(raw);
}

/** An execution provider that was asked for and cannot run here; `detail` says what is missing. */
export class ExecutionProviderError extends Error {
  constructor(
    readonly provider: ExecutionProvider,
    readonly detail: string,
    options?: ErrorOptions,
  ) {
    super(`execution provider ${provider}: ${detail}`, options);
    this.name = 'ExecutionProviderError';
  }
}

export interface ProviderOptions {
  readonly cudaDeviceId?: number;
  readonly intraOpThreads?: number;
}

type SessionOptions = InferenceSession.SessionOptions;

/**
 * Session options for a provider. CUDA lists 'cpu' second so the few ops it lacks still run.
 * TF32 must stay off (it rounds fp32 matmuls to a 10-bit mantissa and breaks the parity bound):
 * onnxruntime-node 1.30 forwards only `deviceId` to the CUDA provider, so callers also set
 * NVIDIA_TF32_OVERRIDE=0 (see the runner). WebGPU computes in fp32 throughout.
 */
export function sessionOptionsFor(ep: ExecutionProvider, options: ProviderOptions = {}): SessionOptions {
  const threads = options.intraOpThreads ? { intraOpNumThreads: options.intraOpThreads } : {};
  if (ep === 'cpu') return { ...threads, executionProviders: ['cpu'] };
  // Severity 3: the warning that some nodes run on the CPU is `aurora placements`' to report.
  if (ep === 'webgpu') return { ...threads, executionProviders: ['webgpu'], logSeverityLevel: 3 };
  const cuda = { name: 'cuda', deviceId: options.cudaDeviceId ?? 0, use_tf32: 0 } as unknown as 'cuda';
  return { ...threads, executionProviders: [cuda, 'cpu'] };
}

/**
 * The bundle generator graph a provider should load: GPU providers take the grouped MoE graph
 * (shapes fixed by the batch: no NonZero, no host round trip); the CPU the sparse one (faster there).
 */
export function generatorGraphFor(ep: ExecutionProvider): 'default' | 'gpu' {
  return ep === 'cpu' ? 'default' : 'gpu';
}

// ---- WebGPU adapter probe ------------------------------------------------------------------------

export interface WebGpuAdapter {
  /** The Vulkan device name, e.g. "NVIDIA H200" or "llvmpipe (LLVM 15.0.6, 256 bits)". */
  readonly description: string;
  /** lavapipe/llvmpipe or SwiftShader: a CPU pretending to be a GPU (tests only, no speed claim). */
  readonly cpuEmulated: boolean;
  /** Every Vulkan device the loader found, in its order. */
  readonly devices: readonly string[];
}

export type WebGpuProbe =
  | { readonly ok: true; readonly adapter: WebGpuAdapter }
  | { readonly ok: false; readonly missing: 'vulkan-loader' | 'vulkan-driver' | 'adapter'; readonly reason: string };

const CPU_EMULATED = /llvmpipe|lavapipe|softpipe|swiftshader/i;

export function isCpuEmulatedAdapter(description: string): boolean {
  return CPU_EMULATED.test(description);
}

/**
 * Dawn picks a discrete GPU over an integrated one over a CPU device; the loader lists them all.
 * The adapter is therefore the first real GPU, else the first device.
 */
export function pickAdapter(devices: readonly string[]): WebGpuAdapter | null {
  if (devices.length === 0) return null;
  const description = devices.find((d) => !isCpuEmulatedAdapter(d)) ?? devices[0];
  return { description, cpuEmulated: isCpuEmulatedAdapter(description), devices };
}

/** Device names from the Vulkan loader's VK_LOADER_DEBUG=driver log ("[0] NVIDIA H200" lines). */
export function parseLoaderDevices(log: string): string[] {
  const names: string[] = [];
  for (const line of log.split('\n')) {
    const m = /DRIVER:\s+\[\d+\]\s+(.+?)\s*$/.exec(line);
    if (m && !names.includes(m[1])) names.push(m[1]);
  }
  return names;
}

const PROBE_SCRIPT = `
const ort = require(process.env.AURORA_PROBE_ORT);
const model = Buffer.from(process.env.AURORA_PROBE_MODEL, 'base64');
ort.InferenceSession.create(model, { executionProviders: ['webgpu'] }).then(async (s) => {
  const x = new ort.Tensor('float32', new Float32Array([1, 2, 3, 4]), [4]);
  const y = (await s.run({ x })).y.data;
  process.stdout.write('PROBE_RESULT ' + JSON.stringify({ ok: true, y: Array.from(y) }) + '\\n');
}, (e) => {
  process.stdout.write('PROBE_RESULT ' + JSON.stringify({ ok: false, error: String((e && e.message) || e) }) + '\\n');
});
`;

/** A one-node graph (y = x + x) to create and run on the provider. */
export function probeModel(): Uint8Array {
  const g = new Graph('probe');
  const b = new Builder(g, new ParamRegistry(shapeOnlyProvider()));
  const x = g.addInput('x', 'float32', [4]);
  g.addOutput(b.add(x, x), 'y', 'float32', [4]);
  return encodeModel(g).model;
}

let probed: Promise<WebGpuProbe> | null = null;

/**
 * Whether onnxruntime-node's WebGPU provider gets an adapter here, and which. It runs in a child
 * process because what says which device Dawn got (and whether the Vulkan loader exists at all) is
 * the loader's own log on the process's stderr, which native code writes past JavaScript. One probe
 * per process (~1 s).
 */
export function probeWebGpu(): Promise<WebGpuProbe> {
  probed ??= runProbe();
  return probed;
}

async function runProbe(): Promise<WebGpuProbe> {
  const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
  const env = { ...process.env, VK_LOADER_DEBUG: 'driver', AURORA_PROBE_ORT: ortPath, AURORA_PROBE_MODEL: Buffer.from(probeModel()).toString('base64') };
  const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ['-e', PROBE_SCRIPT], { env, timeout: 120_000, maxBuffer: 64 << 20 }, (error, out, err) => {
      resolve({ stdout: String(out), stderr: `${String(err)}${error && !String(out).includes('PROBE_RESULT') ? `\n${error.message}` : ''}` });
    });
  });
  const line = stdout.split('\n').find((l) => l.startsWith('PROBE_RESULT '));
  const result = line ? (JSON.parse(line.slice('PROBE_RESULT '.length)) as { ok: boolean; y?: number[]; error?: string }) : { ok: false, error: stderr.trim().split('\n').slice(-3).join(' ') };
  const devices = parseLoaderDevices(stderr);
  const loaderRan = /DRIVER:/.test(stderr);
  if (result.ok && result.y?.join() === '2,4,6,8') {
    const adapter = pickAdapter(devices) ?? { description: 'unknown Vulkan adapter', cpuEmulated: false, devices };
    return { ok: true, adapter };
  }
  // onnxruntime's message carries its source path and assertion; the last sentence is the news.
  const raw = (result.error ?? 'the probe graph gave wrong values').replace(/\s+/g, ' ').trim();
  const error = raw.includes('Failed to get a WebGPU adapter') ? raw.slice(raw.indexOf('Failed to get a WebGPU adapter')) : raw;
  if (!loaderRan) {
    return { ok: false, missing: 'vulkan-loader', reason: `the Vulkan loader libvulkan.so.1 was not found (Debian/Ubuntu: apt-get install libvulkan1); onnxruntime said: ${error}` };
  }
  if (devices.length === 0) {
    return {
      ok: false,
      missing: 'vulkan-driver',
      reason: `no Vulkan driver (ICD) offers a device: install the GPU's Vulkan driver (NVIDIA: the driver's Vulkan ICD, nvidia_icd.json, via VK_ICD_FILENAMES if not in /usr/share/vulkan/icd.d), or for tests Mesa >= 25 lavapipe (mesa-vulkan-drivers from bookworm-backports); onnxruntime said: ${error}`,
    };
  }
  return {
    ok: false,
    missing: 'adapter',
    reason: `Dawn refused every Vulkan device (${devices.join('; ')}); Mesa lavapipe before 25 lacks features Dawn needs (install mesa-vulkan-drivers >= 25 from bookworm-backports); onnxruntime said: ${error}`,
  };
}

// ---- resolving a choice ------------------------------------------------------------------------

export interface ResolvedProvider {
  readonly provider: ExecutionProvider;
  /** The WebGPU adapter, when the provider is webgpu. */
  readonly adapter?: WebGpuAdapter;
  /** For auto: why the providers before the chosen one were passed over. */
  readonly skipped: readonly string[];
}

/** Whether the CUDA provider's libraries load here (a one-node session on it). */
export async function cudaAvailable(ort: OrtModule, options: ProviderOptions = {}): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    // Severity 4: a missing CUDA library is an expected answer here, not an error worth a log line.
    await ort.InferenceSession.create(probeModel(), { ...sessionOptionsFor('cuda', options), logSeverityLevel: 4 });
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: (error as Error).message.replace(/\s+/g, ' ').trim() };
  }
}

function cudaMissing(reason: string): string {
  return `the CUDA execution provider could not start: ${reason}. On a GPU host install onnxruntime-node with ONNXRUNTIME_NODE_INSTALL=cuda12 (CUDA 12 and cuDNN 9 libraries on the library path), or use the webgpu provider (libvulkan1 and the GPU's Vulkan driver, nothing else to download)`;
}

/**
 * Turns a choice into the provider to use. An explicit provider that cannot run is an
 * ExecutionProviderError naming the provider and what is missing; auto says why it passed each
 * one over in `skipped`.
 */
export async function resolveExecutionProvider(ort: OrtModule, choice: ExecutionProviderChoice, options: ProviderOptions = {}): Promise<ResolvedProvider> {
  if (choice === 'cpu') return { provider: 'cpu', skipped: [] };
  if (choice === 'cuda') {
    const cuda = await cudaAvailable(ort, options);
    if (!cuda.ok) throw new ExecutionProviderError('cuda', cudaMissing(cuda.reason));
    return { provider: 'cuda', skipped: [] };
  }
  if (choice === 'webgpu') {
    const probe = await probeWebGpu();
    if (!probe.ok) throw new ExecutionProviderError('webgpu', `no WebGPU adapter: ${probe.reason}`);
    return { provider: 'webgpu', adapter: probe.adapter, skipped: [] };
  }
  const skipped: string[] = [];
  const cuda = await cudaAvailable(ort, options);
  if (cuda.ok) return { provider: 'cuda', skipped };
  skipped.push(`cuda: ${cuda.reason}`);
  const probe = await probeWebGpu();
  if (probe.ok && !probe.adapter.cpuEmulated) return { provider: 'webgpu', adapter: probe.adapter, skipped };
  skipped.push(probe.ok ? `webgpu: the only adapter is CPU-emulated (${probe.adapter.description}); auto never picks it` : `webgpu: ${probe.reason}`);
  return { provider: 'cpu', skipped };
}

/** One line for logs and reports: "webgpu (NVIDIA H200)", "webgpu (llvmpipe ..., CPU-emulated)", "cpu". */
export function describeProvider(resolved: Pick<ResolvedProvider, 'provider' | 'adapter'>): string {
  if (resolved.provider !== 'webgpu' || !resolved.adapter) return resolved.provider;
  return `webgpu (${resolved.adapter.description}${resolved.adapter.cpuEmulated ? ', CPU-emulated' : ''})`;
}
