import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ExecutionProvider } from './execution-providers.ts';

/** Where onnxruntime put a graph's nodes on one provider. */
export interface Placements {
  readonly provider: ExecutionProvider;
  /** Nodes per onnxruntime execution provider name, e.g. { WebGpuExecutionProvider: 1864, CPUExecutionProvider: 57 }. */
  readonly byProvider: Readonly<Record<string, number>>;
  /** Nodes not on the asked provider (CPU fallbacks), with their op types: "NonZero (synthesis.net.2.0...)". */
  readonly fallback: readonly string[];
  /** Copies onnxruntime inserted between the provider's memory and the host. */
  readonly memcpy: number;
  /** Nodes of the optimized graph on any provider. */
  readonly total: number;
}

const PROVIDER_NAMES: Record<ExecutionProvider, string> = {
  cpu: 'CPUExecutionProvider',
  webgpu: 'WebGpuExecutionProvider',
  cuda: 'CUDAExecutionProvider',
};

/**
 * Parses onnxruntime's verbose session log: "Node(s) placed on [X]. Number of nodes: n" followed
 * by one "  OpType (name)" line per node, and "Add MemcpyToHost/FromHost ..." per copy inserted.
 */
export function parsePlacementLog(log: string, provider: ExecutionProvider): Placements {
  const byProvider: Record<string, number> = {};
  const fallback: string[] = [];
  let memcpy = 0;
  let current: string | null = null;
  const wanted = PROVIDER_NAMES[provider];
  for (const line of log.split('\n')) {
    const placed = /Node\(s\) placed on \[(\w+)\]\. Number of nodes: (\d+)/.exec(line);
    const all = /All nodes placed on \[(\w+)\]\. Number of nodes: (\d+)/.exec(line);
    if (placed || all) {
      const [, ep, n] = (placed ?? all) as RegExpExecArray;
      byProvider[ep] = (byProvider[ep] ?? 0) + Number(n);
      current = placed ? ep : null;
      continue;
    }
    const node = /VerifyEachNodeIsAssignedToAnEp\]\s{2,}(\S+ \(.*\))\s*$/.exec(line);
    if (node && current) {
      if (current !== wanted) fallback.push(node[1]);
      continue;
    }
    if (/AddCopyNode\] Add Memcpy(To|From)Host/.test(line)) memcpy++;
  }
  const total = Object.values(byProvider).reduce((a, b) => a + b, 0);
  return { provider, byProvider, fallback, memcpy, total };
}

const PLACEMENT_SCRIPT = `
const ort = require(process.env.AURORA_PLACEMENT_ORT);
const providers = JSON.parse(process.env.AURORA_PLACEMENT_PROVIDERS);
ort.InferenceSession.create(process.env.AURORA_PLACEMENT_MODEL, { executionProviders: providers, logSeverityLevel: 0, logVerbosityLevel: 0 }).then(
  () => process.stdout.write('PLACEMENT_DONE\\n'),
  (e) => process.stdout.write('PLACEMENT_FAILED ' + JSON.stringify(String((e && e.message) || e)) + '\\n'),
);
`;

/**
 * Loads a model file on a provider in a child process with onnxruntime's verbose log on and
 * reads the placements from it (native code writes that log to the process's stderr, out of
 * JavaScript's reach). `model` is an .onnx path (its external data beside it) or model bytes.
 */
export async function reportPlacements(model: string | Uint8Array, provider: ExecutionProvider): Promise<Placements> {
  let tmp: string | null = null;
  let file: string;
  if (typeof model === 'string') file = model;
  else {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-placements-'));
    file = path.join(tmp, 'model.onnx');
    fs.writeFileSync(file, model);
  }
  try {
    const providers = provider === 'cpu' ? ['cpu'] : [provider, 'cpu'];
    const env = {
      ...process.env,
      AURORA_PLACEMENT_ORT: createRequire(import.meta.url).resolve('onnxruntime-node'),
      AURORA_PLACEMENT_PROVIDERS: JSON.stringify(providers),
      AURORA_PLACEMENT_MODEL: path.resolve(file),
    };
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
      execFile(process.execPath, ['-e', PLACEMENT_SCRIPT], { env, timeout: 15 * 60_000, maxBuffer: 1 << 30 }, (error, out, err) => {
        if (error && !String(out).includes('PLACEMENT_')) reject(new Error(`placement probe failed: ${error.message}`));
        else resolve({ stdout: String(out), stderr: String(err) });
      });
    });
    const failed = stdout.split('\n').find((l) => l.startsWith('PLACEMENT_FAILED '));
    if (failed) throw new Error(`onnxruntime could not load the model on ${provider}: ${JSON.parse(failed.slice('PLACEMENT_FAILED '.length))}`);
    return parsePlacementLog(stderr, provider);
  } finally {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** "NonZero x12, Equal x12, ..." for a fallback list. */
export function summarizeFallback(fallback: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const f of fallback) {
    const op = f.split(' ')[0];
    counts.set(op, (counts.get(op) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]).map(([op, n]) => `${op} x${n}`).join(', ');
}
