import { parseArgs } from 'node:util';
import { defaultBundlePath, ensureDefaultBundle } from '../node/default-bundle.ts';

/** `aurora build-default [--out <dir>]`: (re)builds the built-in aurora-tiny bundle when needed. */
export async function buildDefaultCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { out: { type: 'string' } } });
  const dir = values.out ?? defaultBundlePath();
  const { source, rebuilt } = ensureDefaultBundle(dir);
  console.log(`${rebuilt ? 'built' : 'up to date:'} ${source.manifest.id} ${source.manifest.version} (${source.contentHash.slice(0, 12)}) at ${dir}`);
  return 0;
}
