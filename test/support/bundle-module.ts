import { build } from 'esbuild';

/**
 * Bundles a small TypeScript entry of ours into one self-contained ES module string, so the
 * very same code can be loaded by workerd and by a browser page in cross-runtime tests.
 */
export async function bundleModule(entry: string): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0].text;
}
