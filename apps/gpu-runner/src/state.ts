import type { RunnerInfo } from '@aurora-edge/protocol';
import type { ModelRequest } from './item-validator.ts';

/** A loaded bundle: what /v1/info reports, and the input check made before an item is queued. */
export interface RunnerModel {
  readonly id: string;
  readonly version: string;
  readonly contentHash: string;
  readonly trained: boolean;
  /** Checks an item the model constrains (AuroraInputError naming the field) and returns its prompt's token ids. */
  readonly validate: (request: ModelRequest) => Int32Array;
}

/**
 * What changes while the runner lives: the server fills `models` as bundles load, sets `ready`
 * after the warm-up and `draining` on SIGTERM; the app only reads it. The server listens before
 * the models are loaded, so /healthz answers while a large bundle is still loading.
 */
export class RunnerState {
  readonly models = new Map<string, RunnerModel>();
  executionProvider = 'none';
  /** The WebGPU adapter, when the provider is webgpu. */
  adapter: RunnerInfo['adapter'] = null;
  ready = false;
  draining = false;

  get serving(): boolean {
    return this.ready && !this.draining;
  }

  info(limits: { maxBatch: number; queueDepth: number; queueLimit: number }): RunnerInfo {
    const bundles = [...this.models.values()].map(({ id, version, contentHash, trained }) => ({ id, version, contentHash, trained }));
    return { ready: this.serving, bundles, executionProvider: this.executionProvider, adapter: this.adapter, ...limits };
  }
}
