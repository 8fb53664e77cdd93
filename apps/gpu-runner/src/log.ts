/** One JSON object per line (what log collectors parse): info and warn to stdout, errors to stderr. */
export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export function jsonLogger(out: (line: string) => void, err: (line: string) => void, now: () => Date = () => new Date()): Logger {
  const write =
    (to: (line: string) => void, level: string) =>
    (msg: string, fields: Record<string, unknown> = {}) =>
      to(`${JSON.stringify({ time: now().toISOString(), level, msg, ...fields })}\n`);
  return { info: write(out, 'info'), warn: write(out, 'warn'), error: write(err, 'error') };
}

/** An error and its causes as one line, for logs (a cause whose message is already shown is left out). */
export function describeError(error: unknown): string {
  let out = '';
  for (let e = error, depth = 0; e !== undefined && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const message = e instanceof Error ? e.message : String(e);
    if (!out.includes(message)) out += `${out ? ' <- ' : ''}${e instanceof Error && e.name !== 'Error' ? `${e.name}: ` : ''}${message}`;
    if (!(e instanceof Error)) break;
  }
  return out;
}
