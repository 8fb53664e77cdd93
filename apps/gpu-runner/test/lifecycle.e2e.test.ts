/** The runner process's start-up failures and its graceful SIGTERM (real process, real onnxruntime-node). */
import { afterAll, describe, expect, it } from 'vitest';
import { decodeImages, expectImagesMatch, type InferRow, referencePipeline, useBundle } from './support/oip.ts';
import { zeroFourBytes } from '../../../packages/model/test/support/tiny-bundle.ts';
import { metric, removeTinyBundleDirs, spawnRunner, startRunner, tinyBundleDir, withoutServingGraph } from './support/runner-process.ts';

afterAll(removeTinyBundleDirs);

describe('gpu-runner start-up', () => {
  // Every configuration message is checked in process in config.test.ts; one here as the real process.
  it.each([['a queue smaller than a batch', { RUNNER_MAX_BATCH: '32', RUNNER_QUEUE_LIMIT: '8' }, 'RUNNER_QUEUE_LIMIT=8: must be >= RUNNER_MAX_BATCH (32)']])(
    'stops with a clear message on %s',
    async (_name, env, message) => {
      const runner = spawnRunner(env);
      expect((await runner.exited).code).toBe(1);
      expect(runner.stderr()).toContain('invalid runner configuration');
      expect(runner.stderr()).toContain(message);
    },
  );

  it('stops naming the file when a bundle file does not match its sha256, and never reports ready', async () => {
    const dir = tinyBundleDir();
    zeroFourBytes(dir);
    const runner = spawnRunner({ RUNNER_BUNDLES: dir, RUNNER_EXECUTION_PROVIDER: 'auto' });
    expect((await runner.exited).code).toBe(1);
    expect(runner.stderr()).toMatch(/generator\.onnx\.data is corrupt \(sha256 [0-9a-f]{64}, manifest [0-9a-f]{64}\)/);
    expect(runner.logs.some((l) => l.msg === 'ready')).toBe(false);
  });

  it('stops on a bundle made before serving graphs, naming it and `npx aurora upgrade`, and never reports ready', async () => {
    const dir = withoutServingGraph(tinyBundleDir());
    const runner = spawnRunner({ RUNNER_BUNDLES: dir, RUNNER_EXECUTION_PROVIDER: 'cpu' });
    expect((await runner.exited).code).toBe(1);
    expect(runner.stderr()).toContain(`gpu-runner: cannot start: NoServingGraphError: bundle aurora-tiny (${dir}) has no serving graph`);
    expect(runner.stderr()).toContain(`\`npx aurora upgrade ${dir}\` adds it`);
    expect(runner.logs.some((l) => l.msg === 'ready')).toBe(false);
  });

  it('stops when RUNNER_EXECUTION_PROVIDER=cuda and CUDA cannot start, saying how to install it', async () => {
    const runner = spawnRunner({ RUNNER_BUNDLES: tinyBundleDir(), RUNNER_EXECUTION_PROVIDER: 'cuda' });
    expect((await runner.exited).code).toBe(1);
    expect(runner.stderr()).toContain('RUNNER_EXECUTION_PROVIDER=cuda, but the CUDA execution provider could not start');
    expect(runner.stderr()).toContain('ONNXRUNTIME_NODE_INSTALL=cuda12');
  });

  it('stops when RUNNER_EXECUTION_PROVIDER=webgpu and no adapter exists, naming the provider and what is missing', async () => {
    // No Vulkan driver: a manifest that does not exist is the only one the loader may use.
    const runner = spawnRunner({ RUNNER_BUNDLES: tinyBundleDir(), RUNNER_EXECUTION_PROVIDER: 'webgpu', VK_ICD_FILENAMES: '/nonexistent/icd.json' });
    expect((await runner.exited).code).toBe(1);
    expect(runner.stderr()).toContain('RUNNER_EXECUTION_PROVIDER=webgpu, but no WebGPU adapter');
    // Where libvulkan1 is installed the driver is what is missing; elsewhere the loader itself.
    expect(runner.stderr()).toMatch(/no Vulkan driver \(ICD\) offers a device|the Vulkan loader libvulkan\.so\.1 was not found/);
    expect(runner.logs.some((l) => l.msg === 'ready')).toBe(false);
  });
});

describe('gpu-runner SIGTERM', () => {
  it('runs everything queued at once, answers every accepted request, refuses new ones and exits 0', async () => {
    const dir = tinyBundleDir();
    await useBundle(dir);
    // A 5 s queue delay keeps the items waiting, so they are certainly queued when the signal comes.
    const [runner, reference] = await Promise.all([
      startRunner({
        RUNNER_BUNDLES: dir,
        RUNNER_EXECUTION_PROVIDER: 'cpu',
        RUNNER_MAX_QUEUE_DELAY_MS: '5000',
        RUNNER_MAX_BATCH: '8',
        // No secret: the model routes are open (unsigned requests below).
        RUNNER_SHARED_SECRET: '',
      }),
      referencePipeline(dir),
    ]);
    try {
      expect(runner.logs.some((l) => l.level === 'warn' && String(l.msg).startsWith('RUNNER_SHARED_SECRET is not set'))).toBe(true);
      const item = (seed: number): InferRow => ({ prompt: `a lighthouse, take ${seed % 2}`, seed, psi: 0.6 });
      const requests = [0, 1, 2].map((r) => [item(2 * r), item(2 * r + 1)]);
      // Each body is read as it arrives, as the gateway does: a client that leaves a large body unread
      // until after the runner has exited finds its socket closed.
      const pending = requests.map((rows) => runner.infer(rows, { secret: null }).then(decodeImages));
      let depth = 0;
      for (let i = 0; i < 300 && depth < 6; i++) {
        depth = metric(await (await runner.get('/metrics')).text(), 'aurora_runner_queue_depth');
        if (depth < 6) await new Promise((r) => setTimeout(r, 10));
      }
      expect(depth).toBe(6);
      const signalled = performance.now();
      runner.child.kill('SIGTERM');
      const decoded = await Promise.all(pending);
      expect(performance.now() - signalled).toBeLessThan(4000); // drained without waiting out the delay
      for (let r = 0; r < requests.length; r++) {
        await expectImagesMatch(requests[r], decoded[r].pixels, reference);
      }
      const late = await runner.infer([item(9)], { secret: null }).then(
        (res) => res.status,
        () => 'refused',
      );
      expect([503, 'refused']).toContain(late);
      expect(await runner.exited).toEqual({ code: 0, signal: null });
      expect(runner.logs.map((l) => l.msg)).toEqual(expect.arrayContaining(['draining', 'stopped']));
    } finally {
      await runner.stop();
    }
  });
});
