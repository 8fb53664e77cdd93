/**
 * Weight import against the real reference fixtures (checkpoints written by PyTorch 1.13 from
 * the original Aurora code). Skipped, with a message, when ../shared/reference is not present.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  type HostTensor,
  type StateDict,
  StateDictMismatchError,
  checkStateDict,
  extractGeneratorStateDict,
  readGeneratorStateDict,
  readSafetensors,
  readStateDict,
  readTorchCheckpoint,
  writeSafetensors,
} from '../src/weights/index.ts';
import { readFixtureManifest, readFixtureTensor, withFileByteSource } from '../src/node/fixture.ts';
import { expectWeightsError } from './support/weights-error.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const referenceDir = path.resolve(repoRoot, '../shared/reference');
const haveReference = fs.existsSync(path.join(referenceDir, 'tiny-full', 'manifest.json'));
if (!haveReference) {
  console.warn(`weights.test.ts: reference fixtures not found at ${referenceDir}; skipping the fixture-based tests`);
}
const fixtureDescribe = describe.skipIf(!haveReference);

const CASES = ['tiny-full', 'tiny-plain'] as const;

interface CaseConfig {
  generator_derived: { num_parameters: number };
  clip_text: { width: number; vocab_size: number; num_parameters: number };
}

interface ParamShapes {
  state_dict_keys_in_order: string[];
  parameters: Record<string, number[]>;
  buffers: Record<string, number[]>;
}

const readJson = <T>(...parts: string[]): T => JSON.parse(fs.readFileSync(path.join(referenceDir, ...parts), 'utf8')) as T;
const readBytes = (...parts: string[]): Uint8Array => fs.readFileSync(path.join(referenceDir, ...parts));
const bufferOf = (t: HostTensor): Buffer => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
/** Bit-exact comparison; Buffer.equals because deep-equal on MB-sized arrays is very slow. */
const sameBytes = (a: HostTensor, b: HostTensor): boolean => a.dtype === b.dtype && bufferOf(a).equals(bufferOf(b));
const totalNumel = (sd: StateDict): number => [...sd.values()].reduce((n, t) => n + t.data.length, 0);

/**
 * In the text head, `res_blocks.N.mlp.c_fc/c_proj` are the same modules as `res_blocks.N.c_fc/
 * c_proj` (registered twice), so state_dict lists them twice while parameters() counts them once.
 * param_shapes.json lists their shapes only under the non-mlp name.
 */
const aliasOf = (key: string): string | undefined =>
  /^text_head\..*\.mlp\.c_(fc|proj)\./.test(key) ? key.replace('.mlp.c_', '.c_') : undefined;

fixtureDescribe.each(CASES)('reference checkpoints: %s', (name) => {
  const dir = path.join(referenceDir, name);
  const config = haveReference ? readJson<CaseConfig>(name, 'config.json') : undefined;

  it('loads generator.pth and holds the documented number of parameters', () => {
    const sd = readGeneratorStateDict(readBytes(name, 'generator.pth'));
    expect(sd.size).toBeGreaterThan(100);
    for (const t of sd.values()) expect(t.dtype).toBe('float32');

    // Buffer names come from the paper-shape listing (same module types, different sizes).
    const buffers = new Set(Object.keys(readJson<ParamShapes>('paper-shape', 'param_shapes.json').buffers).map((k) => k.split('.').pop()));
    // Modules registered twice (text_head mlp.c_fc = c_fc, and in tiny-plain ff.net.* =
    // ff.project_in/proj_out) appear twice in the state dict, sharing one storage, but
    // parameters() counts them once. Every parameter was randomised, so bit-identical tensors
    // are exactly the shared ones.
    const seen = new Set<string>();
    let parameters = 0;
    for (const [key, t] of sd) {
      if (buffers.has(key.split('.').pop())) continue;
      const fingerprint = `${t.shape.join(',')}:${bufferOf(t).toString('base64')}`;
      if (seen.has(fingerprint)) continue;
      seen.add(fingerprint);
      parameters += t.data.length;
    }
    const alias = 'text_head.transformer.res_blocks.0.mlp.c_fc.weight';
    expect(sameBytes(sd.get(alias)!, sd.get(aliasOf(alias)!)!)).toBe(true);
    expect(parameters).toBe(config!.generator_derived.num_parameters);
  });

  it('w_avg equals outputs/w_avg.f32 exactly', () => {
    const sd = readGeneratorStateDict(readBytes(name, 'generator.pth'));
    const reference = readFixtureTensor(dir, 'outputs/w_avg.f32', { verifySha256: true });
    const wAvg = sd.get('w_avg')!;
    expect(wAvg.shape).toEqual(reference.shape);
    expect(sameBytes(wAvg, reference)).toBe(true);
  });

  it('readTorchCheckpoint + extractGeneratorStateDict agree with the lazy reader', () => {
    const bytes = readBytes(name, 'generator.pth');
    const checkpoint = readTorchCheckpoint(bytes);
    expect(checkpoint).toBeInstanceOf(Map);
    expect([...(checkpoint as Map<unknown, unknown>).keys()]).toEqual(['generator_smooth']);
    const eager = extractGeneratorStateDict(checkpoint);
    const lazy = readStateDict(bytes, { entry: ['generator_smooth'] });
    expect([...eager.keys()]).toEqual([...lazy.keys()]);
    for (const [key, t] of lazy) expect(sameBytes(eager.get(key)!, t), key).toBe(true);
    // Expecting exactly what was loaded passes the check.
    expect(() => checkStateDict(new Map([...lazy].map(([k, t]) => [k, t.shape])), lazy)).not.toThrow();
  });

  it('explains how to select the state dict when asked for a bare one', () => {
    expectWeightsError(
      () => readStateDict(readBytes(name, 'generator.pth')),
      /the checkpoint is not a flat state dict of tensors \(to load a nested state dict, select it with entry: \['generator_smooth'\]\); 1 entry is not a tensor:\n  generator_smooth: a dict of \d+ tensors/,
    );
  });

  it('loads clip_text.pth, from memory and from a file source', () => {
    const fromBytes = readStateDict(readBytes(name, 'clip_text.pth'));
    const embedding = fromBytes.get('token_embedding.weight')!;
    expect(embedding.dtype).toBe('float32');
    expect(embedding.shape).toEqual([config!.clip_text.vocab_size, config!.clip_text.width]);
    expect(embedding.shape).toEqual([49408, config!.clip_text.width]);
    expect(totalNumel(fromBytes)).toBe(config!.clip_text.num_parameters);

    const fromFile = withFileByteSource(path.join(dir, 'clip_text.pth'), (source) => readStateDict(source));
    expect([...fromFile.keys()]).toEqual([...fromBytes.keys()]);
    for (const [key, t] of fromBytes) expect(sameBytes(fromFile.get(key)!, t), key).toBe(true);
  });

  it('round-trips the generator through safetensors bit for bit', () => {
    const sd = readGeneratorStateDict(readBytes(name, 'generator.pth'));
    const back = readSafetensors(writeSafetensors(sd));
    expect([...back.keys()]).toEqual([...sd.keys()]);
    for (const [key, t] of sd) {
      expect(back.get(key)!.shape, key).toEqual(t.shape);
      expect(sameBytes(back.get(key)!, t), key).toBe(true);
    }
  });
});

fixtureDescribe('fixture reader', () => {
  const dir = path.join(referenceDir, 'tiny-full');

  it('reads every manifest entry with its dtype and shape', () => {
    const manifest = readFixtureManifest(dir);
    expect(manifest.size).toBeGreaterThan(10);
    for (const [rel, entry] of manifest) {
      const t = readFixtureTensor(dir, rel, { manifest });
      expect(t.dtype, rel).toBe(entry.dtype);
      expect(t.shape, rel).toEqual(entry.shape);
    }
    const ids = readFixtureTensor(dir, 'inputs/token_ids.i32', { manifest, verifySha256: true });
    expect(ids.dtype).toBe('int32');
    expect((ids.data as Int32Array)[0]).toBe(49406); // SOT
  });

  it('names unknown fixtures', () => {
    expectWeightsError(() => readFixtureTensor(dir, 'outputs/nope.f32'), /fixture outputs\/nope\.f32 is not listed in .*manifest\.json/);
  });
});

fixtureDescribe('checkStateDict against the paper configuration (paper-shape/param_shapes.json)', () => {
  const shapes = haveReference ? readJson<ParamShapes>('paper-shape', 'param_shapes.json') : undefined;
  const shapeOf = (key: string): number[] => {
    const own = shapes!.parameters[key] ?? shapes!.buffers[key];
    if (own) return own;
    const alias = aliasOf(key);
    if (alias && shapes!.parameters[alias]) return shapes!.parameters[alias];
    throw new Error(`no shape for ${key}`);
  };
  const expected = (): Map<string, number[]> => new Map(shapes!.state_dict_keys_in_order.map((k) => [k, shapeOf(k)]));
  /** Shape-only stand-ins: the paper model has 1.1 B parameters and the check reads only shapes. */
  const fakeDict = (from: Map<string, number[]>): StateDict =>
    new Map([...from].map(([k, shape]) => [k, { dtype: 'float32', shape: [...shape], data: new Float32Array(0) } as HostTensor]));

  it('accepts the exact key set', () => {
    const exp = expected();
    expect(exp.size).toBe(shapes!.state_dict_keys_in_order.length);
    expect(() => checkStateDict(exp, fakeDict(exp))).not.toThrow();
  });

  it('names each missing, unexpected and mis-shaped key', () => {
    const exp = expected();
    const actual = fakeDict(exp);
    const keys = [...exp.keys()];
    const removed = keys[10];
    const misshaped = keys.find((k) => exp.get(k)!.length === 4)!;
    actual.delete(removed);
    actual.set('synthesis.net.99.extra.weight', { dtype: 'float32', shape: [7, 7], data: new Float32Array(0) });
    const wrong = [...exp.get(misshaped)!];
    wrong[1] = wrong[1] / 2;
    actual.set(misshaped, { dtype: 'float32', shape: wrong, data: new Float32Array(0) });

    let caught: unknown;
    try {
      checkStateDict(exp, actual);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(StateDictMismatchError);
    const lines = (caught as Error).message.split('\n');
    expect(lines[0]).toBe('checkpoint does not match the model: 1 missing, 1 unexpected, 1 mis-shaped');
    expect(lines).toContain(`  ${removed} [${exp.get(removed)!.join(',')}]`);
    expect(lines).toContain('  synthesis.net.99.extra.weight [7,7]');
    expect(lines).toContain(`  ${misshaped}: expected [${exp.get(misshaped)!.join(',')}] got [${wrong.join(',')}]`);
  });

  it('stays one line per key for hundreds of problems', () => {
    const exp = expected();
    const actual = fakeDict(exp);
    const synthesisKeys = [...actual.keys()].filter((k) => k.startsWith('synthesis.'));
    for (const k of synthesisKeys) actual.delete(k);
    let message = '';
    try {
      checkStateDict(exp, actual);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(synthesisKeys.length).toBeGreaterThan(500);
    expect(message.split('\n')).toHaveLength(2 + synthesisKeys.length);
    expect(message.split('\n')[1]).toBe(`missing (${synthesisKeys.length}):`);
  });
});

describe('not a checkpoint', () => {
  it('rejects garbage, empty, text and safetensors input with clear messages', () => {
    const garbage = Uint8Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24);
    expectWeightsError(() => readStateDict(garbage), /^not a PyTorch checkpoint \(torch\.save zip format\): it is not a zip archive \(4096 bytes, starts with [0-9a-f ]+\)$/);
    expectWeightsError(() => readStateDict(new Uint8Array(0)), 'not a PyTorch checkpoint (torch.save zip format): the file is empty (0 bytes, starts with nothing)');
    expectWeightsError(() => readStateDict(new TextEncoder().encode('<!DOCTYPE html><html>404</html>')), /it is not a zip archive/);
    expectWeightsError(() => readGeneratorStateDict(writeSafetensors(new Map())), /it looks like a safetensors file; read it with readSafetensors/);
  });

  it.skipIf(!haveReference)('rejects a truncated generator.pth', () => {
    const whole = readBytes('tiny-full', 'generator.pth');
    expectWeightsError(() => readGeneratorStateDict(whole.subarray(0, whole.length >> 1)), 'no zip end-of-central-directory record found: the file is not a zip archive or it is truncated');
  });
});
