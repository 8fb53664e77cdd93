/**
 * The Node gateway supervises its local GPU runner, so a SIGKILLed runner does not go unnoticed
 * (no log line, healthy in /healthz until the health TTL, then 503 for every batch that needs a
 * runner until the gateway restarts): its exit is logged, /healthz says unhealthy at once, and
 * it is restarted (with backoff) on the same URL (real gateway, real runner process).
 */
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeGateway } from '../apps/edge/src/node.ts';
import { postJson, removeTempDirs, startLoggingGateway, tempDir, waitFor } from './support/reliability.ts';

let gateway: NodeGateway;
const logs: string[] = [];

beforeAll(async () => {
  // aurora-tiny only (startLoggingGateway's default): a restarted runner loads only the model under test.
  gateway = await startLoggingGateway(
    {
      LOCAL_RUNNER: '1',
      RUNNER_HEALTH_TTL_MS: '60000', // health must follow the process, not a probe after the TTL
      DATABASE_PATH: path.join(tempDir(), 'cache.sqlite'),
    },
    logs,
  );
});

afterAll(async () => {
  await gateway?.close();
  removeTempDirs();
});

const health = async () => (await (await fetch(`${gateway.url}/healthz`)).json()) as { runners: { healthy: boolean }[] };

describe('local runner supervision', () => {
  it('a SIGKILLed runner: unhealthy at once, logged, restarted on the same URL, and batches run on it again', async () => {
    const runner = gateway.runner!;
    const { url } = runner;
    const first = runner.child;
    expect((await health()).runners).toEqual([expect.objectContaining({ healthy: true })]);
    const exited = new Promise((resolve) => first.once('exit', resolve));
    first.kill('SIGKILL');
    await exited;
    // The gateway's own exit handler ran before this one (registered first): no TTL to wait out.
    expect((await health()).runners[0].healthy).toBe(false);
    expect(
      logs.some((l) => /local GPU runner .*exited with signal SIGKILL; restarting it in \d+ ms/.test(l)),
      logs.join('\n'),
    ).toBe(true);
    const big = await postJson(gateway.url, { prompt: 'while the runner is down', seed: 1, n: 8 });
    expect(big.status).toBe(503);

    await waitFor('the runner to be healthy again', async () => (await health()).runners[0].healthy, 60_000, 100);
    expect(gateway.runner!.child.pid).not.toBe(first.pid);
    expect(gateway.runner!.url).toBe(url);
    expect(logs.some((l) => l.includes(`local GPU runner restarted on ${url}`))).toBe(true);
    const again = await postJson(gateway.url, { prompt: 'the runner is back', seed: 1, n: 8 });
    expect([again.status, again.headers.get('x-aurora-route')]).toEqual([200, 'runner']);
  });
});
