/**
 * Command-line helpers shared by the `aurora` commands, the gateway's `aurora keys` included
 * (exported as `@aurora-edge/model/cli-args`), so every command reads numbers the same way.
 */

interface OptionSpec {
  readonly type: 'string' | 'boolean';
}

/** A value that starts with a dash but reads as a number: "-1", "-0.1", "-.5", "-1e9", "-Infinity". */
const NEGATIVE_NUMBER = /^-(?:\d|\.\d|Infinity$)/;

/**
 * node:util parseArgs treats `--seed -1` as an option followed by another option and fails with
 * "argument is ambiguous", so the user never sees what the value's range is. Joining a string
 * option with a following negative number (`--seed=-1`) lets the command's own range check speak.
 */
export function joinNegativeValues(args: readonly string[], options: Readonly<Record<string, OptionSpec>>): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') return [...out, ...args.slice(i)];
    const name = arg.startsWith('--') && !arg.includes('=') ? arg.slice(2) : null;
    const next = args[i + 1];
    if (name !== null && options[name]?.type === 'string' && next !== undefined && NEGATIVE_NUMBER.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

/**
 * An integer option in [min, max]; anything else (a fraction, an exponent, text, out of range) is
 * one message that gives the range and the text exactly as typed. `fail` builds the caller's own
 * usage error (the model CLI and the gateway's commands each have one).
 */
export function parseIntegerOption(
  name: string,
  raw: string | undefined,
  fallback: number,
  range: { readonly min: number; readonly max: number },
  fail: (message: string) => Error,
): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || value < range.min || value > range.max) {
    throw fail(`--${name} must be an integer in [${range.min}, ${range.max}], got "${raw}"`);
  }
  return value;
}
