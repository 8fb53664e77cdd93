import { parseArgs } from 'node:util';
import { describeProvider, generatorGraphFor, isExecutionProviderChoice, resolveExecutionProvider } from '../node/execution-providers.ts';
import { loadOrtNode } from '../node/ort-node.ts';
import { reportPlacements, summarizeFallback } from '../node/placements.ts';
import { resolveBundle } from './bundle-arg.ts';
import { UsageError } from './errors.ts';

const USAGE = 'usage: aurora placements [--bundle <dir>] [--runtime webgpu|cuda|cpu|auto] [--json]';

/**
 * `aurora placements`: where onnxruntime puts each node of a bundle's generator on an execution
 * provider, and which fall back to the CPU (each one a host round trip on a GPU). Exit 0 either way:
 * it reports, it does not judge.
 */
export async function placementsCommand(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { bundle: { type: 'string' }, runtime: { type: 'string', default: 'webgpu' }, json: { type: 'boolean', default: false } },
  });
  if (positionals.length !== 0) throw new UsageError(USAGE);
  if (!isExecutionProviderChoice(values.runtime)) throw new UsageError(`--runtime must be cpu, webgpu, cuda or auto, got "${values.runtime}"`);
  const source = resolveBundle(values.bundle);
  const resolved = await resolveExecutionProvider(await loadOrtNode(), values.runtime);
  const g = source.manifest.generator;
  // The generator graph this provider loads (AuroraPipeline with generatorGraphFor), and the text encoder.
  const graphs = [generatorGraphFor(resolved.provider) === 'gpu' && g.gpuGraph ? g.gpuGraph : g.graph, source.manifest.textEncoder.graph];
  const reports = [];
  for (const graph of graphs) {
    if (!source.verifiedPath) throw new UsageError('aurora placements needs a bundle folder');
    const report = await reportPlacements(await source.verifiedPath(graph), resolved.provider);
    reports.push({ graph, ...report });
  }
  if (values.json) {
    console.log(JSON.stringify({ bundle: source.manifest.id, runtime: describeProvider(resolved), graphs: reports }, null, 2));
    return 0;
  }
  console.log(`${source.manifest.id} on ${describeProvider(resolved)}`);
  for (const r of reports) {
    const on = Object.entries(r.byProvider).map(([ep, n]) => `${n} on ${ep}`).join(', ');
    console.log(`${r.graph}: ${r.total} nodes (${on}); ${r.fallback.length} fall back to the CPU${r.fallback.length ? ` (${summarizeFallback(r.fallback)})` : ''}; ${r.memcpy} memcpy`);
    for (const f of r.fallback) console.log(`  cpu  ${f}`);
  }
  return 0;
}
