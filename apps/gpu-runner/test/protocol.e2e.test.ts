/**
 * The real runner process on loopback with real onnxruntime-node and aurora-tiny, spoken to over the
 * Open Inference Protocol v2 as the published spec shapes it (kserve/open-inference-protocol
 * inference_rest.md; Triton's binary tensor data extension): health, metadata, JSON and binary
 * tensors both ways, batching, image identity, the errors and signing (lifecycle.e2e.test.ts:
 * start-up failures and SIGTERM).
 */
import {
  AURORA_PLATFORM,
  CONTENT_HASH_PARAMETER,
  decodeInferResponse,
  encodeBody,
  encodeInferRequest,
  INFERENCE_HEADER_CONTENT_LENGTH,
  inferResponseSchema,
  modelConfigSchema,
  modelMetadataSchema,
  oipErrorSchema,
  serverMetadataSchema,
  signRequest,
  type Tensor,
} from '@aurora-edge/protocol';
import { readBundleDir } from '@aurora-edge/model/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeImages,
  expectImagesMatch,
  type InferRow,
  inferTensors,
  parityStats,
  referencePartials,
  referencePipeline,
  TINY,
  useBundle,
  withinParity,
} from './support/oip.ts';
import { metric, type RunnerProcess, removeTinyBundleDirs, startRunner, TEST_SECRET, tinyBundleDir } from './support/runner-process.ts';

const PROMPTS = ['a red apple on a table', 'a cat in the rain', 'sunset over the ocean', 'a castle under the stars'];
const RUNS = 'aurora_runner_session_runs_total{bundle="aurora-tiny"}';
const INFER = '/v2/models/aurora-tiny/infer';
const row = (i: number, prompt = PROMPTS[i % PROMPTS.length]): InferRow => ({ prompt, seed: 1000 + i, psi: 0.7 });

describe('gpu-runner over the Open Inference Protocol v2', () => {
  let runner: RunnerProcess;
  let reference: (row: InferRow) => Promise<Uint8Array>;
  let referencePartial: (row: InferRow, res: number) => Promise<Uint8Array>;
  let contentHash: string;

  beforeAll(async () => {
    const dir = tinyBundleDir();
    contentHash = readBundleDir(dir).contentHash;
    await useBundle(dir);
    referencePartial = await referencePartials(dir);
    [runner, reference] = await Promise.all([
      // auto: no CUDA here, so this also checks the clean fallback to CPU.
      startRunner({ RUNNER_BUNDLES: dir, RUNNER_EXECUTION_PROVIDER: 'auto', RUNNER_MAX_QUEUE_DELAY_MS: '20' }),
      referencePipeline(dir),
    ]);
  });
  afterAll(async () => {
    await runner?.stop();
    removeTinyBundleDirs();
  });

  const errorOf = async (res: Response) => oipErrorSchema.parse(await res.json()).error;

  it('answers health, server metadata, model metadata, readiness and config', async () => {
    expect(await (await runner.get('/v2/health/live')).json()).toEqual({ live: true });
    const ready = await runner.get('/v2/health/ready');
    expect(ready.status).toBe(200);
    expect(serverMetadataSchema.parse(await (await runner.get('/v2')).json()).extensions).toContain('binary_tensor_data');

    const meta = modelMetadataSchema.parse(await (await runner.get('/v2/models/aurora-tiny', { signed: true })).json());
    expect(meta).toEqual({
      name: 'aurora-tiny',
      versions: [contentHash],
      platform: AURORA_PLATFORM,
      inputs: [
        { name: 'input_ids', datatype: 'INT32', shape: [-1, TINY.contextLength] },
        { name: 'z', datatype: 'FP32', shape: [-1, TINY.zDim] },
        { name: 'psi', datatype: 'FP32', shape: [-1, 1] },
      ],
      outputs: [
        { name: 'images', datatype: 'UINT8', shape: [-1, 64, 64, 3] },
        ...TINY.partials.map((r) => ({ name: `partial_images_${r}`, datatype: 'UINT8', shape: [-1, r, r, 3] })),
      ],
    });
    expect(TINY.partials.length).toBeGreaterThan(0);
    expect(await (await runner.get(`/v2/models/aurora-tiny/versions/${contentHash}`, { signed: true })).json()).toEqual(meta);
    expect(await (await runner.get('/v2/models/aurora-tiny/ready', { signed: true })).json()).toEqual({ name: 'aurora-tiny', ready: true });
    const config = modelConfigSchema.parse(await (await runner.get('/v2/models/aurora-tiny/config', { signed: true })).json());
    expect(config).toMatchObject({ name: 'aurora-tiny', max_batch_size: 16, parameters: { [CONTENT_HASH_PARAMETER]: { string_value: contentHash } } });

    const otherVersion = await runner.get('/v2/models/aurora-tiny/versions/1', { signed: true });
    expect(otherVersion.status).toBe(404);
    expect(await errorOf(otherVersion)).toContain('has no version "1"');
    const unknown = await runner.get('/v2/models/aurora-v9', { signed: true });
    expect(unknown.status).toBe(404);
    expect(await errorOf(unknown)).toBe('unknown model "aurora-v9" (loaded: aurora-tiny)');
    // Model routes are signed when the runner has a secret; health and server metadata never are.
    expect((await runner.get('/v2/models/aurora-tiny')).status).toBe(401);

    expect(runner.logs.some((l) => l.level === 'warn' && String(l.msg).includes('RUNNER_EXECUTION_PROVIDER=auto passed over cuda'))).toBe(true);
    expect(runner.logs.find((l) => l.msg === 'execution provider')).toMatchObject({ requested: 'auto', executionProvider: 'cpu' });
    expect(metric(await (await runner.get('/metrics')).text(), 'aurora_runner_execution_provider{provider="cpu",adapter=""}')).toBe(1);
  });

  it('makes byte for byte the image AuroraPipeline makes in process (JSON inputs, binary outputs)', async () => {
    const r = row(7);
    const res = await runner.infer([r], { id: 'req-7' });
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    const { response, pixels } = await decodeImages(res);
    expect(response).toMatchObject({ model_name: 'aurora-tiny', model_version: contentHash, id: 'req-7' });
    expect(typeof response.parameters?.run_ms).toBe('number');
    expect(Buffer.from(pixels[0]).equals(Buffer.from(await reference(r)))).toBe(true);
  });

  it('takes binary inputs and answers JSON outputs when not asked for binary, row-major NHWC', async () => {
    const rows = [row(8), row(9)];
    const binary = await decodeImages(await runner.infer(rows, { binaryInputs: true }));
    const json = await runner.infer(rows, { binaryOutputs: false });
    expect(json.headers.get(INFERENCE_HEADER_CONTENT_LENGTH)).toBeNull();
    const body = inferResponseSchema.parse(await json.json());
    // No outputs named: every output of the model, the partial images too.
    expect(body.outputs.map((o) => o.name)).toEqual(['images', ...TINY.partials.map((r) => `partial_images_${r}`)]);
    expect(body.outputs[0]).toMatchObject({ name: 'images', datatype: 'UINT8', shape: [2, 64, 64, 3] });
    expect(Uint8Array.from(body.outputs[0].data as number[])).toEqual(Uint8Array.from([...binary.pixels[0], ...binary.pixels[1]]));
    // Per-output binary_data, through the versioned path.
    const perOutput = encodeInferRequest(await inferTensors(rows), { binaryInputs: false, outputs: ['images'], binaryOutputs: true });
    const versioned = await runner.post(`/v2/models/aurora-tiny/versions/${contentHash}/infer`, perOutput.body, { headers: perOutput.headers });
    expect((await decodeImages(versioned)).pixels).toEqual(binary.pixels);
    await expectImagesMatch(rows, binary.pixels, reference);
  });

  it('answers a partial image asked for by name: what the serving graph makes for the row in process', async () => {
    const r = row(11);
    const res = TINY.partials.at(-1)!;
    const name = `partial_images_${res}`;
    const request = encodeInferRequest(await inferTensors([r]), { binaryInputs: false, outputs: [name], binaryOutputs: true });
    const answer = await runner.post(INFER, request.body, { headers: request.headers });
    expect(answer.status).toBe(200);
    const { outputs } = decodeInferResponse(new Uint8Array(await answer.arrayBuffer()), answer.headers.get(INFERENCE_HEADER_CONTENT_LENGTH));
    expect([...outputs.keys()]).toEqual([name]);
    expect(outputs.get(name)!.shape).toEqual([1, res, res, 3]);
    expect(Buffer.from(outputs.get(name)!.data as Uint8Array).equals(Buffer.from(await referencePartial(r, res)))).toBe(true);
  });

  it('serves 32 concurrent single-image requests in fewer session runs, each with its own image', async () => {
    const before = metric(await (await runner.get('/metrics')).text(), RUNS);
    const rows = Array.from({ length: 32 }, (_, i) => row(i));
    const responses = await Promise.all(rows.map((r, i) => runner.infer([r], { binaryInputs: i % 2 === 0 })));
    const metrics = await (await runner.get('/metrics')).text();
    const runs = metric(metrics, RUNS) - before;
    expect(runs).toBeGreaterThan(0);
    expect(runs).toBeLessThan(32);
    const images: Uint8Array[] = [];
    for (let i = 0; i < rows.length; i++) {
      const { pixels } = await decodeImages(responses[i]);
      await expectImagesMatch([rows[i]], pixels, reference);
      images.push(pixels[0]);
    }
    for (let i = 0; i < images.length; i++) {
      for (let j = i + 1; j < images.length; j++) expect(withinParity(parityStats(images[i], images[j])), `image ${i} vs ${j}`).toBe(false);
    }
    console.log(`32 concurrent requests -> ${runs} session runs`);
  });

  it('serves a multi-row request in row order', async () => {
    const rows = [row(0, 'a bowl of fruit'), row(1, 'a bird over a lake'), row(2, 'a bowl of fruit')];
    const { pixels } = await decodeImages(await runner.infer(rows));
    await expectImagesMatch(rows, pixels, reference);
  });

  /** A request body from tensors as given (JSON data), for the error cases. */
  const raw = (inputs: object[], extra: object = {}) => encodeBody({ inputs, ...extra }, []).body;
  const ids = (n: number, value = 1) => ({
    name: 'input_ids',
    shape: [n, TINY.contextLength],
    datatype: 'INT32',
    data: new Array(n * TINY.contextLength).fill(value),
  });
  const z = (n: number) => ({ name: 'z', shape: [n, TINY.zDim], datatype: 'FP32', data: new Array(n * TINY.zDim).fill(0.5) });
  const psi = (n: number, value = 0.7) => ({ name: 'psi', shape: [n, 1], datatype: 'FP32', data: new Array(n).fill(value) });

  it.each([
    ['a header that is not JSON', 400, /^the inference header is not JSON/, () => new TextEncoder().encode('{"inputs": [')],
    ['a missing input', 400, /^psi: missing input/, () => raw([ids(1), z(1)])],
    ['an unknown input', 400, /^seed: unknown input/, () => raw([ids(1), z(1), psi(1), { name: 'seed', shape: [1], datatype: 'INT32', data: [1] }])],
    ['a wrong datatype', 400, /^input_ids: datatype INT64, the model takes INT32/, () => raw([{ ...ids(1), datatype: 'INT64' }, z(1), psi(1)])],
    [
      'a wrong shape',
      400,
      new RegExp(`^z: shape \\[1, 8\\], the model takes \\[-1, ${TINY.zDim}\\]`),
      () => raw([ids(1), { name: 'z', shape: [1, 8], datatype: 'FP32', data: new Array(8).fill(0) }, psi(1)]),
    ],
    ['data that does not fill the shape', 400, /^psi: 1 values in data, shape \[2, 1\] needs 2/, () => raw([ids(2), z(2), { ...psi(1), shape: [2, 1] }])],
    ['inputs of different row counts', 400, /one row per image/, () => raw([ids(2), z(2), psi(1)])],
    ['more rows than max_batch_size', 400, /^input_ids: 17 rows, this runner takes at most 16/, () => raw([ids(17), z(17), psi(17)])],
    [
      'a token id outside the vocabulary',
      400,
      new RegExp(`^input_ids: \\[0, 0\\] = ${TINY.vocabSize} is not a token id`),
      () => raw([ids(1, TINY.vocabSize), z(1), psi(1)]),
    ],
    ['psi out of range', 400, /^psi: \[1, 0\] = 1\.5 is not in \[0, 1\]/, () => raw([ids(2), z(2), { ...psi(2), data: [0.5, 1.5] }])],
    ['an unknown output', 400, /^scores: unknown output/, () => raw([ids(1), z(1), psi(1)], { outputs: [{ name: 'scores' }] })],
    ['a body over 1 MiB', 413, /over 1048576 bytes/, () => raw([ids(1), z(1), psi(1)], { pad: 'x'.repeat(1 << 20) })],
  ])('answers %s with %i and { error } naming the tensor', async (_name, status, message, body) => {
    const res = await runner.post(INFER, body());
    expect(res.status).toBe(status);
    expect(await errorOf(res)).toMatch(message);
  });

  it('refuses a non-finite latent and binary data of the wrong size', async () => {
    const tensors = await inferTensors([row(0)]);
    const nan: Tensor[] = tensors.map((t) =>
      t.name === 'z' ? { ...t, data: Float32Array.from(t.data as Float32Array, (v, i) => (i === 3 ? Number.NaN : v)) } : t,
    );
    const nanBody = encodeInferRequest(nan, { binaryInputs: true });
    const res = await runner.post(INFER, nanBody.body, { headers: nanBody.headers });
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toBe('z: [0, 3] is not a finite number');
    const short = encodeInferRequest(tensors, { binaryInputs: true });
    const cut = await runner.post(INFER, short.body.subarray(0, short.body.length - 4), { headers: short.headers });
    expect(cut.status).toBe(400);
    expect(await errorOf(cut)).toMatch(/^psi: binary_data_size 4 runs past the end/);
    const wrongVersion = await runner.infer([row(0)], { path: '/v2/models/aurora-tiny/versions/1/infer' });
    expect(wrongVersion.status).toBe(404);
  });

  it('rejects unsigned, stale, tampered and replayed requests', async () => {
    const { body, headers } = encodeInferRequest(await inferTensors([row(5)]), { binaryInputs: false, binaryOutputs: true });
    const send = (h: Record<string, string>, b: Uint8Array<ArrayBuffer> = body) =>
      fetch(`${runner.url}${INFER}`, { method: 'POST', body: b, headers: { ...headers, ...h } });
    const unsigned = await send({});
    expect(unsigned.status).toBe(401);
    expect(await errorOf(unsigned)).toMatch(/^request signature rejected: missing/);
    expect((await send(await signRequest(TEST_SECRET, 'POST', INFER, body, Date.now() - 10 * 60_000))).status).toBe(401);
    const tampered = body.slice();
    tampered[tampered.length - 3] ^= 1;
    expect((await send(await signRequest(TEST_SECRET, 'POST', INFER, body), tampered)).status).toBe(401);
    const signed = await signRequest(TEST_SECRET, 'POST', INFER, body);
    expect((await send(signed)).status).toBe(200);
    const replayed = await send(signed);
    expect(replayed.status).toBe(401);
    expect(await errorOf(replayed)).toMatch(/already used/);
    expect((await send(await signRequest('another-secret-0123456789', 'POST', INFER, body))).status).toBe(401);
    expect((await runner.get('/nope')).status).toBe(404);
  });

  it('exports Prometheus metrics', async () => {
    const text = await (await runner.get('/metrics')).text();
    for (const name of [
      'aurora_runner_queue_depth',
      'aurora_runner_batch_size_bucket',
      'aurora_runner_request_duration_seconds_bucket',
      'aurora_runner_ready 1',
    ]) {
      expect(text).toContain(name);
    }
    expect(metric(text, 'aurora_runner_errors_total{code="invalid_input"}')).toBeGreaterThanOrEqual(1);
    expect(metric(text, 'aurora_runner_errors_total{code="unknown_model"}')).toBeGreaterThanOrEqual(1);
  });
});
