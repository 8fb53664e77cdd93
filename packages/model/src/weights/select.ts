/**
 * Finding a state dict inside an unpickled checkpoint. Generic over the leaf type so the same
 * rules apply to lazily loaded trees (TensorRef leaves, pth.ts) and to fully materialised ones
 * (HostTensor leaves, what readTorchCheckpoint returns).
 */
import { WeightsError } from './errors.ts';

export interface LeafKind<T> {
  is(value: unknown): value is T;
  describe(value: T): string;
}

/** Aurora's training checkpoints keep the EMA generator under 'generator_smooth'. */
export const GENERATOR_ENTRIES = ['generator_smooth', 'generator'] as const;

/** Entries of a pickled dict (Map) or of a plain JS object; null for anything else. */
export function dictEntries(value: unknown): Array<[unknown, unknown]> | null {
  if (value instanceof Map) return [...value.entries()];
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value)) {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) return Object.entries(value);
  }
  return null;
}

function lookup(value: unknown, key: string): { found: boolean; value?: unknown } {
  const entries = dictEntries(value);
  const hit = entries?.find(([k]) => k === key);
  return hit ? { found: true, value: hit[1] } : { found: false };
}

/** Follows `path` through nested dicts, e.g. ['generator_smooth'] or ['model', 'ema']. */
export function selectEntry<T>(root: unknown, path: readonly string[], leaf: LeafKind<T>): unknown {
  let value = root;
  for (let i = 0; i < path.length; i++) {
    const hit = lookup(value, path[i]);
    if (!hit.found) {
      const where = i === 0 ? 'at the top level' : `under ${formatPath(path.slice(0, i))}`;
      throw new WeightsError('not-found', `checkpoint has no entry '${path[i]}' ${where}; ${describeKeys(value, leaf)}`, {
        path,
        keys: keyList(value),
      });
    }
    value = hit.value;
  }
  return value;
}

/**
 * The generator's state dict: 'generator_smooth' if present, else 'generator', else the whole
 * object when it is itself a flat dict of tensors.
 */
export function selectGeneratorEntry<T>(root: unknown, leaf: LeafKind<T>): { path: string[]; value: unknown } {
  for (const key of GENERATOR_ENTRIES) {
    const hit = lookup(root, key);
    if (hit.found) return { path: [key], value: hit.value };
  }
  if (looksLikeStateDict(root, leaf)) return { path: [], value: root };
  throw new WeightsError(
    'not-found',
    `checkpoint has neither a 'generator_smooth' nor a 'generator' entry and is not itself a state dict; ${describeKeys(root, leaf)}`,
    { keys: keyList(root) },
  );
}

/** Checks that `value` is a flat dict of string -> tensor and returns it as a Map. */
export function collectStateDict<T>(value: unknown, path: readonly string[], leaf: LeafKind<T>): Map<string, T> {
  const where = path.length === 0 ? 'the checkpoint' : `checkpoint entry ${formatPath(path)}`;
  const entries = dictEntries(value);
  if (!entries) {
    throw new WeightsError('not-found', `${where} is not a state dict: it is ${describeValue(value, leaf)}`, { path });
  }
  const out = new Map<string, T>();
  const bad: string[] = [];
  for (const [key, v] of entries) {
    if (typeof key === 'string' && leaf.is(v)) out.set(key, v);
    else bad.push(`${String(key)}: ${describeValue(v, leaf)}`);
  }
  if (bad.length > 0) {
    // The common mistake: reading a training checkpoint without saying which entry to use.
    const nested = entries.filter(([k, v]) => typeof k === 'string' && !leaf.is(v) && looksLikeStateDict(v, leaf));
    const hint = nested.length > 0 ? ` (to load a nested state dict, select it with entry: [${[...path, String(nested[0][0])].map((p) => `'${p}'`).join(', ')}])` : '';
    throw new WeightsError(
      'not-found',
      `${where} is not a flat state dict of tensors${hint}; ${bad.length} ${bad.length === 1 ? 'entry is not a tensor' : 'entries are not tensors'}:\n  ${bad.join('\n  ')}`,
      { path, nonTensorKeys: bad },
    );
  }
  return out;
}

function looksLikeStateDict<T>(value: unknown, leaf: LeafKind<T>): boolean {
  const entries = dictEntries(value);
  return entries !== null && entries.length > 0 && entries.every(([k, v]) => typeof k === 'string' && leaf.is(v));
}

export function describeValue<T>(value: unknown, leaf: LeafKind<T>): string {
  if (leaf.is(value)) return leaf.describe(value);
  if (value === null || value === undefined) return 'None';
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (ArrayBuffer.isView(value)) return `${value.byteLength} bytes`;
  const entries = dictEntries(value);
  if (entries) {
    const tensors = entries.filter(([, v]) => leaf.is(v)).length;
    return tensors === entries.length && tensors > 0 ? `a dict of ${tensors} tensors` : `a dict with ${entries.length} keys`;
  }
  if (typeof value === 'object' || typeof value === 'function') {
    const proto = Object.getPrototypeOf(value) as { __module__?: unknown; __name__?: unknown } | null;
    if (proto && typeof proto.__name__ === 'string') return `a ${String(proto.__module__)}.${proto.__name__} object`;
    return 'an object';
  }
  return `${typeof value} ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`;
}

function keyList(value: unknown): string[] {
  return (dictEntries(value) ?? []).map(([k]) => String(k));
}

function describeKeys<T>(value: unknown, leaf: LeafKind<T>): string {
  const entries = dictEntries(value);
  if (!entries) return `it is ${describeValue(value, leaf)}`;
  if (entries.length === 0) return 'it is an empty dict';
  const shown = entries.slice(0, 50).map(([k, v]) => `'${String(k)}' (${describeValue(v, leaf)})`);
  const more = entries.length > shown.length ? `, ... ${entries.length - shown.length} more` : '';
  return `keys found: ${shown.join(', ')}${more}`;
}

function formatPath(path: readonly string[]): string {
  return path.map((p) => `'${p}'`).join(' > ');
}
