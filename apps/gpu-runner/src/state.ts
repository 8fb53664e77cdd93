import type { BundleManifest } from '@aurora-edge/model';
import type { RunnerShape } from './serving.ts';

/** A loaded bundle: the OIP v2 model it serves (name = id, version = content hash) and its tensor shapes. */
export interface RunnerModel {
  readonly id: string;
  readonly version: string;
  readonly contentHash: string;
  readonly trained: boolean;
  readonly manifest: BundleManifest;
  readonly shape: RunnerShape;
}

/** The WebGPU adapter the runner got (webgpu only); cpuEmulated: lavapipe or SwiftShader, a test adapter. */
export interface RunnerAdapter {
  readonly description: string;
  readonly cpuEmulated: boolean;
}

/**
 * What changes while the runner lives: the server fills `models` as bundles load, sets `ready`
 * after the warm-up and `draining` on SIGTERM; the app only reads it. The server listens before
 * the models are loaded, so /v2/health/live answers while a large bundle is still loading.
 */
export class RunnerState {
  readonly models = new Map<string, RunnerModel>();
  executionProvider = 'none';
  /** The WebGPU adapter, when the provider is webgpu. */
  adapter: RunnerAdapter | null = null;
  ready = false;
  draining = false;

  get serving(): boolean {
    return this.ready && !this.draining;
  }
}
