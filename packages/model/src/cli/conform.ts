import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { type CheckResult, formatResult } from '../conform/compare.ts';
import { conformGenerator } from '../node/conform-generator.ts';
import { FixtureDir } from '../node/fixture-dir.ts';
import { loadOrtNode } from '../node/ort-node.ts';
import { UsageError } from './errors.ts';

/**
 * `aurora conform <dir> [--vocab <file>]`: runs our graphs on a reference fixture folder in
 * onnxruntime-node, prints one line per compared output and exits 1 when any is out of tolerance.
 */
export async function conformCommand(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { vocab: { type: 'string' } } });
  if (positionals.length !== 1) throw new UsageError('usage: aurora conform <dir> [--vocab <file>]');
  const dir = path.resolve(positionals[0]);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UsageError(`${positionals[0]}: no such folder`);
  if (values.vocab !== undefined && !fs.existsSync(values.vocab)) throw new UsageError(`--vocab ${values.vocab}: no such file`);

  const ort = await loadOrtNode();
  const results: CheckResult[] = [];
  if (fs.existsSync(path.join(dir, 'generator.pth'))) {
    results.push(...(await conformGenerator(ort, new FixtureDir(dir))));
  } else {
    throw new UsageError(`${positionals[0]} has no generator.pth: not a generator fixture folder`);
  }
  for (const r of results) console.log(formatResult(r));
  const failed = results.filter((r) => !r.ok).length;
  console.log(`${results.length - failed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}
