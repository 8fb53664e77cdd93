/**
 * One error type for everything the weight-import layer rejects, so callers (CLI, HTTP
 * handlers, tests) can tell "this file is bad" apart from programming errors and show
 * `message` to a user as is. `details` carries the machine-readable facts behind the message.
 */

export type WeightsErrorCode =
  /** The bytes are not in the expected container format at all (not a zip, not safetensors). */
  | 'bad-format'
  /** The file ends before the data its own header/directory promises. */
  | 'truncated'
  /** A header, directory or pickle is present but malformed or self-contradictory. */
  | 'corrupt'
  /** Well-formed, but uses a feature this reader does not implement (dtype, compression...). */
  | 'unsupported'
  /** The checkpoint does not hold what was asked for (no such entry, not a state dict). */
  | 'not-found'
  /** The state dict does not match the model's expected names/shapes. */
  | 'mismatch';

export class WeightsError extends Error {
  override readonly name = 'WeightsError';
  readonly code: WeightsErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    code: WeightsErrorCode,
    message: string,
    details: Readonly<Record<string, unknown>> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = code;
    this.details = details;
  }
}
