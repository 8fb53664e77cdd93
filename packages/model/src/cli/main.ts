import { UsageError } from './errors.ts';

type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  conform: { summary: 'aurora conform <dir> [--vocab <file>]   check our graphs against reference fixtures', load: async () => (await import('./conform.ts')).conformCommand },
};

function usage(): string {
  return ['usage: aurora <command> [options]', '', ...Object.values(COMMANDS).map((c) => `  ${c.summary}`)].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) throw new UsageError(`unknown command "${name}"\n${usage()}`);
  return (await command.load())(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // Expected failures are one clear line; anything else is a bug and keeps its stack with AURORA_DEBUG=1.
    const message = error instanceof Error ? error.message : String(error);
    console.error(`aurora: ${message}`);
    if (process.env.AURORA_DEBUG && error instanceof Error) console.error(error.stack);
    process.exitCode = error instanceof UsageError ? 2 : 1;
  },
);
