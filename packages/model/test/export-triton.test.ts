/**
 * `aurora export triton`: the model repository entry is in Triton's documented layout
 * (<name>/config.pbtxt, <name>/1/model.onnx + its external data), its config parsed back agrees with
 * the exported graph's own inputs and outputs, and the exported model.onnx, loaded from that folder
 * by onnxruntime-node, makes AuroraPipeline's pixels. (Triton itself cannot run here.)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import onnxProto from 'onnx-proto';
import ortNode from 'onnxruntime-node';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { exportCommand } from '../src/cli/export.ts';
import { UsageError } from '../src/cli/errors.ts';
import { readBundleDir } from '../src/node/bundle-dir.ts';
import { exportTriton } from '../src/node/export-triton.ts';
import { AuroraPipeline, type GenerateRequest } from '../src/pipeline/pipeline.ts';
import { sampleLatents } from '../src/sampling/latent.ts';
import { one, type PbMessage, parsePbtxt } from './support/pbtxt.ts';
import { tinyBundleDir, zeroFourBytes } from './support/tiny-bundle.ts';

const { onnx } = onnxProto;

async function run(args: string[]): Promise<{ code: number | 'usage'; message: string; log: string }> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  try {
    const code = await exportCommand(args);
    return { code, message: '', log: log.mock.calls.flat().join('\n') };
  } catch (error) {
    if (error instanceof UsageError) return { code: 'usage', message: error.message, log: '' };
    throw error;
  } finally {
    log.mockRestore();
  }
}

const TRITON_TYPES: Record<string, string> = { int32: 'TYPE_INT32', float32: 'TYPE_FP32', uint8: 'TYPE_UINT8' };
const ONNX_TYPES: Record<number, string> = { 1: 'float32', 2: 'uint8', 6: 'int32' };

describe('aurora export triton', () => {
  let bundle: string;
  let repo: string;
  let config: PbMessage;
  beforeAll(async () => {
    bundle = tinyBundleDir();
    repo = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-triton-'));
    const r = await run([
      'triton',
      '--bundle',
      bundle,
      '--out',
      repo,
      '--max-batch-size',
      '16',
      '--preferred-batch-sizes',
      '2,8',
      '--max-queue-delay-us',
      '500',
    ]);
    expect(r.code).toBe(0);
    expect(r.log).toMatch(/tritonserver --model-repository=/);
    config = parsePbtxt(fs.readFileSync(path.join(repo, 'aurora-tiny', 'config.pbtxt'), 'utf8'));
  });

  it("writes Triton's repository layout, the weights beside model.onnx as the bundle's own data files", () => {
    const dir = path.join(repo, 'aurora-tiny');
    expect(fs.readdirSync(dir).sort()).toEqual(['1', 'config.pbtxt']);
    expect(fs.readdirSync(path.join(dir, '1')).sort()).toEqual(['generator.onnx.data', 'model.onnx', 'text-encoder.onnx.data']);
    expect(fs.readFileSync(path.join(dir, '1/model.onnx')).equals(fs.readFileSync(path.join(bundle, 'serving.onnx')))).toBe(true);
    for (const f of ['generator.onnx.data', 'text-encoder.onnx.data'])
      expect(fs.readFileSync(path.join(dir, '1', f)).equals(fs.readFileSync(path.join(bundle, f)))).toBe(true);
    // Every external initializer names a file that is there, within its size.
    const model = onnx.ModelProto.decode(fs.readFileSync(path.join(dir, '1/model.onnx')));
    const external = (model.graph?.initializer ?? []).filter((t) => t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL);
    expect(external.length).toBeGreaterThan(50);
    for (const t of external) {
      const entry = (k: string) => t.externalData?.find((e) => e.key === k)?.value ?? '';
      const file = path.join(dir, '1', entry('location'));
      expect(fs.existsSync(file), entry('location')).toBe(true);
      expect(Number(entry('offset')) + Number(entry('length'))).toBeLessThanOrEqual(fs.statSync(file).size);
    }
  });

  it("config.pbtxt says what the exported graph's inputs and outputs are (names, types, dims without the batch)", async () => {
    const model = onnx.ModelProto.decode(fs.readFileSync(path.join(repo, 'aurora-tiny/1/model.onnx')));
    const session = await ortNode.InferenceSession.create(path.join(repo, 'aurora-tiny/1/model.onnx'));
    expect(one(config, 'name')).toBe('aurora-tiny');
    expect(one(config, 'platform')).toBe('onnxruntime_onnx');
    expect(one(config, 'max_batch_size')).toBe(16);
    const m = readBundleDir(bundle);
    const batching = one(config, 'dynamic_batching') as PbMessage;
    expect(batching.preferred_batch_size).toEqual([2, 8]);
    expect(one(batching, 'max_queue_delay_microseconds')).toBe(500);
    const group = one(config, 'instance_group') as PbMessage;
    expect(one(group, 'kind')).toBe('KIND_CPU');
    const params = Object.fromEntries(
      config.parameters.map((p) => [one(p as PbMessage, 'key'), one(one(p as PbMessage, 'value') as PbMessage, 'string_value')]),
    );
    expect(params.aurora_content_hash).toBe(m.contentHash);

    for (const [kind, graphValues, names] of [
      ['input', model.graph?.input ?? [], session.inputNames],
      ['output', model.graph?.output ?? [], session.outputNames],
    ] as const) {
      const declared = config[kind] as PbMessage[];
      expect(declared.map((t) => one(t, 'name'))).toEqual([...names]);
      for (const t of declared) {
        const g = graphValues.find((v) => v.name === one(t, 'name'));
        const dims = g?.type?.tensorType?.shape?.dim ?? [];
        expect(dims[0]?.dimParam, `${one(t, 'name')} is batched`).toBe('batch');
        expect(t.dims).toEqual(dims.slice(1).map((d) => Number(d.dimValue)));
        expect(one(t, 'data_type')).toBe(TRITON_TYPES[ONNX_TYPES[g?.type?.tensorType?.elemType ?? 0]]);
      }
    }
    expect(session.inputNames).toEqual(['input_ids', 'z', 'psi']);
    expect(session.outputNames).toEqual(['images', 'partial_images_4', 'partial_images_8', 'partial_images_16', 'partial_images_32']);
  });

  it("the exported model.onnx, run from the repository on a batch, gives AuroraPipeline's pixels byte for byte", async () => {
    const requests: GenerateRequest[] = [
      { prompt: 'a red apple', seed: 5 },
      { prompt: 'a blue circle on white', seed: 6, psi: 0.4 },
      { prompt: 'a red apple', seed: 9, psi: 1 },
    ];
    const pipeline = await AuroraPipeline.load(ortNode, readBundleDir(bundle), { preferPaths: true });
    const expected = await pipeline.generate(requests);
    const session = await ortNode.InferenceSession.create(path.join(repo, 'aurora-tiny/1/model.onnx'));
    const n = requests.length;
    const ids = new Int32Array(n * 77);
    requests.forEach((r, i) => ids.set(pipeline.validate(r), i * 77));
    const out = await session.run({
      input_ids: new ortNode.Tensor('int32', ids, [n, 77]),
      z: new ortNode.Tensor(
        'float32',
        sampleLatents(
          requests.map((r) => r.seed),
          32,
        ),
        [n, 32],
      ),
      psi: new ortNode.Tensor(
        'float32',
        Float32Array.from(requests, (r) => r.psi ?? 0.7),
        [n, 1],
      ),
    });
    expect(out.images.type).toBe('uint8');
    expect(out.images.dims).toEqual([n, 64, 64, 3]);
    const px = out.images.data as Uint8Array;
    expected.forEach((img, i) =>
      expect(Buffer.from(px.subarray(i * img.pixels.length, (i + 1) * img.pixels.length)).equals(Buffer.from(img.pixels))).toBe(true),
    );
  });

  it('--gpu exports the grouped-MoE graph on GPU instances; --name names the model', async () => {
    const r = await exportTriton({ bundleDir: bundle, out: repo, name: 'tiny-gpu', gpu: true });
    expect(r.name).toBe('tiny-gpu');
    expect(fs.readFileSync(path.join(repo, 'tiny-gpu/1/model.onnx')).equals(fs.readFileSync(path.join(bundle, 'serving-gpu.onnx')))).toBe(true);
    const c = parsePbtxt(fs.readFileSync(path.join(repo, 'tiny-gpu/config.pbtxt'), 'utf8'));
    expect(one(c, 'name')).toBe('tiny-gpu');
    expect(one(one(c, 'instance_group') as PbMessage, 'kind')).toBe('KIND_GPU');
    expect((one(c, 'dynamic_batching') as PbMessage).preferred_batch_size).toEqual([4, 8, 16]);
    expect(one(c, 'max_batch_size')).toBe(32);
  });

  it('refuses a non-empty model folder without --force, bad arguments (exit 2), and a damaged bundle', async () => {
    const again = await run(['triton', '--bundle', bundle, '--out', repo]);
    expect(again).toMatchObject({ code: 'usage' });
    expect(again.message).toMatch(/exists and is not empty \(use --force/);
    expect((await run(['triton', '--bundle', bundle, '--out', repo, '--force'])).code).toBe(0);
    const cases: [string[], RegExp][] = [
      [[], /usage: aurora export triton/],
      [['onnx', '--out', repo], /usage: aurora export triton/],
      [['triton', '--bundle', bundle], /--out is required/],
      [['triton', '--out', repo, '--bundle', '/no/such/bundle'], /no such folder/],
      [['triton', '--out', repo, '--bundle', bundle, '--max-batch-size', '0'], /--max-batch-size must be an integer/],
      [['triton', '--out', repo, '--bundle', bundle, '--preferred-batch-sizes', '8,4'], /--preferred-batch-sizes must be ascending/],
      [['triton', '--out', repo, '--bundle', bundle, '--max-batch-size', '8', '--preferred-batch-sizes', '16'], /\[1, 8\]/],
      [['triton', '--out', repo, '--bundle', bundle, '--name', '../evil', '--force'], /--name must be/],
      [['triton', '--out', repo, '--bundle', bundle, '--bogus'], /Unknown option/],
    ];
    for (const [args, message] of cases) {
      const r = await run(args);
      expect(r.code, args.join(' ')).toBe('usage');
      expect(r.message).toMatch(message);
    }
    const damaged = tinyBundleDir();
    zeroFourBytes(damaged, 'generator.onnx.data');
    await expect(exportTriton({ bundleDir: damaged, out: fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-triton-')) })).rejects.toThrow(
      /generator\.onnx\.data is corrupt/,
    );
  });
});

describe('the pbtxt reader used above', () => {
  it("reads protobuf text format as Triton's documentation writes it, and rejects broken text", () => {
    const m = parsePbtxt(`# a comment
name: "m"
max_batch_size: 8
input [ { name: "x", data_type: TYPE_FP32, dims: [ -1, 16 ] } ]
dynamic_batching { preferred_batch_size: [ 4, 8 ] max_queue_delay_microseconds: 100 }
parameters: { key: "k" value: { string_value: "a \\"quoted\\" v" } }
parameters { key: "k2" value { string_value: "w" } }`);
    expect(one(m, 'max_batch_size')).toBe(8);
    expect((one(m, 'input') as PbMessage).dims).toEqual([-1, 16]);
    expect(one(one(m, 'input') as PbMessage, 'data_type')).toBe('TYPE_FP32');
    expect(m.parameters.map((p) => one(one(p as PbMessage, 'value') as PbMessage, 'string_value'))).toEqual(['a "quoted" v', 'w']);
    expect(() => parsePbtxt('name: "unterminated')).toThrow(SyntaxError);
    expect(() => parsePbtxt('input [ { name: "x" ]')).toThrow(SyntaxError);
    expect(() => parsePbtxt('name "no colon"')).toThrow(SyntaxError);
  });
});
