import { UsageError } from './errors.ts';

type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  generate: {
    summary: 'aurora generate "<prompt>" [--seed 0] [--psi 0.7] [--n 1] [--bundle <dir>] [--out out/] [--runtime cpu|webgpu|cuda|auto|wasm]',
    load: async () => (await import('./generate.ts')).generateCommand,
  },
  interpolate: {
    summary: 'aurora interpolate "<from>" "<to>" [--steps 9] [--seed 0] [--psi P] [--global] [--loop-mapping N] [--bundle <dir>] [--out out/]   one prompt turning into another',
    load: async () => (await import('./interpolate.ts')).interpolateCommand,
  },
  convert: {
    summary: 'aurora convert --checkpoint aurora_v1.pth --clip ViT-L-14.pt --vocab bpe.txt.gz --out <dir>',
    load: async () => (await import('./convert.ts')).convertCommand,
  },
  inspect: { summary: 'aurora inspect [<bundle-dir>] [--verify] [--json]', load: async () => (await import('./inspect.ts')).inspectCommand },
  upgrade: {
    summary: 'aurora upgrade <bundle-dir>              add what this version expects (interpolation stages) to an older bundle',
    load: async () => (await import('./upgrade.ts')).upgradeCommand,
  },
  'build-default': {
    summary: 'aurora build-default [--out <dir>]       (re)build the built-in aurora-tiny bundle',
    load: async () => (await import('./build-default.ts')).buildDefaultCommand,
  },
  conform: {
    summary: 'aurora conform <dir> [--vocab <file>] [--runtime cpu|webgpu|cuda|auto]   check our graphs against reference fixtures',
    load: async () => (await import('./conform.ts')).conformCommand,
  },
  eval: {
    summary: 'aurora eval [--bundle <dir>] [--seeds 8] [--seed-start 1000000] [--psi P] [--runtime node|wasm] [--json out.json]',
    load: async () => (await import('./eval.ts')).evalCommand,
  },
  world: {
    summary: 'aurora world export --out <dir> | sample --out <dir> [--n 16] [--seed 0]   the aurora-shapes training world',
    load: async () => (await import('./world.ts')).worldCommand,
  },
  placements: {
    summary: 'aurora placements [--bundle <dir>] [--runtime webgpu] [--json]   which nodes run on the provider, which fall back to the CPU',
    load: async () => (await import('./placements.ts')).placementsCommand,
  },
  keys: {
    summary: 'aurora keys create|list|revoke ...          gateway API keys (aurora keys --help)',
    load: loadKeysCommand,
  },
};

/** The gateway app's own command, when it is installed beside this package (never imported statically). */
async function loadKeysCommand(): Promise<Command> {
  const specifier = '@aurora-edge/edge/cli';
  let edge: { keysCommand: Command };
  try {
    edge = await import(specifier);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes('@aurora-edge/edge')) {
      throw new UsageError(
        '"aurora keys" manages the gateway\'s API keys and needs the gateway app (@aurora-edge/edge): run it in the Aurora Edge repository after npm install',
      );
    }
    throw error;
  }
  return edge.keysCommand;
}

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
    const message = (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, ' ');
    console.error(`aurora: ${message}`);
    if (process.env.AURORA_DEBUG && error instanceof Error) console.error(error.stack);
    const code = (error as { code?: unknown }).code;
    // The gateway's commands (loaded from @aurora-edge/edge) have a UsageError class of their own.
    const usage = error instanceof UsageError || (error as Error)?.name === 'UsageError' || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'));
    process.exitCode = usage ? 2 : 1;
  },
);
