import * as fs from 'node:fs';
import { manifestContentHash } from '../bundle/manifest.ts';
import { upgradeBundleDir } from '../node/upgrade-bundle.ts';
import { UsageError } from './errors.ts';

/** `aurora upgrade <bundle-dir>`: adds the graphs newer code expects (the generator stages, the serving graph) to an older bundle, in place. */
export async function upgradeCommand(args: string[]): Promise<number> {
  if (args.length !== 1 || args[0].startsWith('-')) throw new UsageError('usage: aurora upgrade <bundle-dir>');
  const dir = args[0];
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UsageError(`${dir}: no such folder`);
  const { added, manifest } = upgradeBundleDir(dir);
  if (added.length === 0) console.log(`${manifest.id} ${manifest.version}: already up to date`);
  else console.log(`${manifest.id} ${manifest.version}: added ${added.join(', ')} (content hash now ${manifestContentHash(manifest).slice(0, 12)})`);
  return 0;
}
