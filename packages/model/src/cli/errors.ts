import { parseIntegerOption } from './args.ts';

/** An error whose message is meant for the user as is: the CLI prints it on one line, no stack. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** An integer option of a model command: `fallback` when absent, else a whole number in [min, max] or a UsageError. */
export function integerOption(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  return parseIntegerOption(name, raw, fallback, { min, max }, (message) => new UsageError(message));
}
