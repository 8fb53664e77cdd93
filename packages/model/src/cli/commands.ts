/**
 * The model package's commands for the `aurora` CLI (@aurora-edge/cli composes them with the
 * gateway's): each with its usage line, loaded only when run, so `aurora --help` stays quick.
 */
export { UsageError } from './errors.ts';

/** A command: its arguments in, its exit code out (a thrown UsageError: exit 2; any other error: 1). */
export type Command = (args: string[]) => Promise<number>;

export interface CommandEntry {
  /** Its line in `aurora --help`. */
  readonly summary: string;
  readonly load: () => Promise<Command>;
}

export type CommandTable = Readonly<Record<string, CommandEntry>>;

export const modelCommands: CommandTable = {
  generate: {
    summary: 'aurora generate "<prompt>" [--seed 0] [--psi 0.7] [--n 1] [--bundle <dir>] [--out out/] [--runtime cpu|webgpu|cuda|auto|wasm]',
    load: async () => (await import('./generate.ts')).generateCommand,
  },
  interpolate: {
    summary:
      'aurora interpolate "<from>" "<to>" [--steps 9] [--seed 0] [--psi P] [--global] [--loop-mapping N] [--bundle <dir>] [--out out/]   one prompt turning into another',
    load: async () => (await import('./interpolate.ts')).interpolateCommand,
  },
  convert: {
    summary: 'aurora convert --checkpoint aurora_v1.pth --clip ViT-L-14.pt --vocab bpe.txt.gz --out <dir>',
    load: async () => (await import('./convert.ts')).convertCommand,
  },
  inspect: { summary: 'aurora inspect [<bundle-dir>] [--verify] [--json]', load: async () => (await import('./inspect.ts')).inspectCommand },
  upgrade: {
    summary: 'aurora upgrade <bundle-dir>              add what this version expects (interpolation stages, serving graph) to an older bundle',
    load: async () => (await import('./upgrade.ts')).upgradeCommand,
  },
  export: {
    summary:
      'aurora export triton --bundle <dir> --out <model_repository> [--name <model>] [--max-batch-size 32] [--preferred-batch-sizes 4,8,16] [--max-queue-delay-us 2000] [--gpu] [--force]',
    load: async () => (await import('./export.ts')).exportCommand,
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
};
