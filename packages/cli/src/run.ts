/**
 * The `aurora` command's one home: the model package's commands (@aurora-edge/model/cli) and the
 * gateway's (@aurora-edge/edge/cli) in one table, dispatched by name.
 */
import { edgeCommands } from '@aurora-edge/edge/cli';
import { type CommandTable, modelCommands, UsageError } from '@aurora-edge/model/cli';

export const COMMANDS: CommandTable = { ...modelCommands, ...edgeCommands };

export function usage(commands: CommandTable = COMMANDS): string {
  return ['usage: aurora <command> [options]', '', ...Object.values(commands).map((c) => `  ${c.summary}`)].join('\n');
}

/** Runs `aurora <argv>` and resolves with the command's exit code; a mistake or failure rejects (see exitCodeOf). */
export async function runAurora(argv: readonly string[], commands: CommandTable = COMMANDS): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage(commands));
    return name ? 0 : 2;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) throw new UsageError(`unknown command "${name}"\n${usage(commands)}`);
  return (await command.load())(rest);
}

/**
 * What a rejection of runAurora becomes: one `aurora: ` line (the message with its line breaks
 * folded) and exit 2 for a usage mistake (a UsageError of either package, a parseArgs error) or
 * 1 for anything else.
 */
export function describeFailure(error: unknown): { line: string; code: 1 | 2 } {
  const message = (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, ' ');
  const code = (error as { code?: unknown } | null)?.code;
  const usageMistake = (error as Error | null)?.name === 'UsageError' || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'));
  return { line: `aurora: ${message}`, code: usageMistake ? 2 : 1 };
}
