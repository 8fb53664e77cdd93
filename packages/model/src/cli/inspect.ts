import { parseArgs } from 'node:util';
import type { BundleManifest } from '../bundle/manifest.ts';
import { attentionResolutions } from '../config/generator-config.ts';
import { verifyBundleDir } from '../node/bundle-dir.ts';
import { resolveBundle } from './bundle-arg.ts';
import { UsageError } from './errors.ts';

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** `aurora inspect <bundle> [--verify] [--json]`: what a bundle holds, and whether its files are intact. */
export async function inspectCommand(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { verify: { type: 'boolean' }, json: { type: 'boolean' } } });
  if (positionals.length > 1) throw new UsageError('usage: aurora inspect [<bundle-dir>] [--verify] [--json]');
  const source = resolveBundle(positionals[0]);
  const m = source.manifest;
  if (values.verify) await verifyBundleDir(source);
  if (values.json) {
    console.log(JSON.stringify({ contentHash: source.contentHash, verified: Boolean(values.verify), manifest: m }, null, 2));
    return 0;
  }
  const g = m.generator.config;
  const lines = [
    `${m.id} ${m.version}${m.trained ? '' : '  (untrained: random weights)'}`,
    m.description && `  ${m.description}`,
    // Only a checked bundle's hash stands for its files; otherwise it is what the manifest claims.
    `  content hash   ${source.contentHash}${values.verify ? '' : " (the manifest's; files not checked: --verify)"}`,
    `  output         ${m.resolution}x${m.resolution}, ${g.image_channels} channels`,
    `  parameters     ${m.parameters.toLocaleString('en')} (generator ${m.generator.parameters.toLocaleString('en')}, text encoder ${m.textEncoder.parameters.toLocaleString('en')})`,
    `  generator      ${m.generator.numLayers} layers, z ${g.z_dim}, w ${g.w_dim}, experts ${JSON.stringify(g.num_experts)}, mtm ${g.mtm}, attention at ${attentionResolutions(g).join('/') || 'none'}`,
    `  text encoder   width ${m.textEncoder.config.width}, ${m.textEncoder.config.layers} layers, ${m.textEncoder.config.heads} heads, vocab ${m.textEncoder.config.vocabSize}`,
    `  serving        ${m.serving ? `${[m.serving.graph, m.serving.gpuGraph].filter(Boolean).join(', ')}: input_ids, z, psi -> images${m.serving.partials.length ? `, partial images ${m.serving.partials.join('/')}` : ''}` : 'none (made before the serving graph: aurora upgrade adds it)'}`,
    `  sampling       default psi ${m.sampling.defaultPsi}, text-conditional centre of ${m.sampling.centerCount} latents`,
    ...trainingLines(m),
    m.prompts && `  try            ${m.prompts.examples.map((p) => `"${p}"`).join(', ')}`,
    '  files',
    ...Object.entries(m.files).map(([name, f]) => `    ${name.padEnd(26)} ${mb(f.bytes).padStart(12)}  sha256 ${f.sha256.slice(0, 16)}…`),
    values.verify ? '  all files match their sha256' : '',
  ];
  console.log(lines.filter(Boolean).join('\n'));
  return 0;
}

const pct = (x: number) => `${(100 * x).toFixed(0)}%`;

/** How a trained bundle was made and what its eval measured (manifest `training`). */
function trainingLines(m: BundleManifest): string[] {
  const t = m.training;
  if (!t) return [];
  const lines = [
    `  trained        ${t.steps.toLocaleString('en')} steps, ${t.images.toLocaleString('en')} images, ${t.wallSeconds.toFixed(0)} s on ${t.machine} (${t.framework}), seed ${t.seed}, commit ${t.commit.slice(0, 12)}`,
    `  command        ${t.command}`,
  ];
  if (t.eval) {
    const diversity = t.eval.diversity === null ? 'n/a' : t.eval.diversity.toFixed(2);
    lines.push(`  eval           colour ${pct(t.eval.colour_acc)}, shape ${pct(t.eval.shape_acc)}, held-out pairs ${pct(t.eval.heldout_acc)}, diversity ${diversity} (${t.eval.seeds})`);
  }
  return lines;
}
