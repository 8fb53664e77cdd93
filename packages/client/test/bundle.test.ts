/**
 * What the SDK carries when bundled (as the embed bundles it): its own files and the gateway's
 * dependency-free signing file (verifyWebhook), nothing else of the gateway and no zod (the types
 * derived from the gateway's schemas are type-only imports, erased).
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** The files that end up in the bundle of `contents` (those tree-shaking left at least a byte of), relative to the repository. */
async function inputsOf(contents: string): Promise<{ inputs: string[]; text: string }> {
  const result = await build({
    absWorkingDir: ROOT,
    stdin: { contents, resolveDir: path.join(ROOT, 'packages/client/test'), sourcefile: 'entry.ts', loader: 'ts' },
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    metafile: true,
    minify: true,
    logLevel: 'silent',
  });
  const [output] = Object.values(result.metafile.outputs);
  const inputs = Object.entries(output.inputs)
    .filter(([name, use]) => use.bytesInOutput > 0 && !name.endsWith('entry.ts'))
    .map(([name]) => name)
    .sort();
  return { inputs, text: result.outputFiles[0].text };
}

describe('the SDK bundle', () => {
  it('holds the SDK and standard-webhooks.ts only', async () => {
    const { inputs } = await inputsOf("export * from '../src/index.ts';");
    const outside = inputs.filter((i) => !i.startsWith('packages/client/src/'));
    expect(outside).toEqual(['apps/edge/src/webhooks/standard-webhooks.ts']);
    expect(inputs.some((i) => i.includes('zod'))).toBe(false);
  });

  it('leaves the webhook code out of a bundle that uses only the client', async () => {
    const client = await inputsOf("export { AuroraClient } from '../src/index.ts';");
    const whole = await inputsOf("export * from '../src/index.ts';");
    expect(client.inputs.every((i) => i.startsWith('packages/client/src/'))).toBe(true);
    expect(client.inputs).toContain('packages/client/src/batches.ts');
    expect(client.text).not.toContain('webhook-signature');
    expect(whole.text).toContain('webhook-signature');
  });
});
