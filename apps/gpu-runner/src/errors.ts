import type { OipErrorBody } from '@aurora-edge/protocol';

type ErrorStatus = 400 | 401 | 404 | 413 | 429 | 500 | 503;

/**
 * Every failure the runner answers on purpose: an HTTP status, a stable code (the
 * aurora_runner_errors_total label and the log's) and a message that names the tensor at fault.
 * One onError turns it into the Open Inference Protocol's error body, `{ "error": "<message>" }`,
 * so no handler formats errors itself.
 */
export class RunnerError extends Error {
  constructor(
    readonly status: ErrorStatus,
    readonly code: string,
    message: string,
    readonly options: { headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'RunnerError';
  }

  toBody(): OipErrorBody {
    return { error: this.message };
  }
}
