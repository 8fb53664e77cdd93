import type { ErrorBody } from '@aurora-edge/protocol';

type ErrorStatus = 400 | 401 | 404 | 413 | 429 | 500 | 503;

/**
 * Every failure the runner answers on purpose: an HTTP status, a stable machine-readable code and,
 * for bad input, the field at fault (`items[3].prompt`). One onError turns it into the protocol's
 * JSON error body, so no handler formats errors itself.
 */
export class RunnerError extends Error {
  constructor(
    readonly status: ErrorStatus,
    readonly code: string,
    message: string,
    readonly options: { field?: string; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'RunnerError';
  }

  get field(): string | undefined {
    return this.options.field;
  }

  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.field ? { field: this.field } : {}) } };
  }
}

/** Path segments of a zod issue as a field name: ['items', 3, 'prompt'] -> 'items[3].prompt'. */
export function fieldName(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)), '');
}
