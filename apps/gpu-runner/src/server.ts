/**
 * Node entry of the GPU runner: `tsx src/server.ts` (`npm start -w @aurora-edge/gpu-runner`).
 * Reads and validates the environment, listens at once (so /v2/health/live answers while a large
 * bundle loads), resolves the execution provider (RUNNER_EXECUTION_PROVIDER: cuda, webgpu, cpu or auto),
 * starts the model workers on it (warm-up included), then reports ready.
 * SIGTERM/SIGINT: stop accepting, run everything queued, send every accepted response, exit 0.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { describeProvider, defaultBundlePath, ensureDefaultBundle, loadOrtNode } from '@aurora-edge/model/node';
import { serve } from '@hono/node-server';
import { ConfigError, parseConfig, type RunnerConfig } from './config.ts';
import { resolveRunnerProvider } from './execution-provider.ts';
import { describeError, jsonLogger } from './log.ts';
import { ModelHost } from './model-host.ts';
import { createRunner } from './runner.ts';

const log = jsonLogger(
  (line) => process.stdout.write(line),
  (line) => process.stderr.write(line),
);

function fail(message: string): never {
  process.stderr.write(`gpu-runner: cannot start: ${message}\n`);
  process.exit(1);
}

let config: RunnerConfig;
try {
  config = parseConfig(process.env);
} catch (error) {
  fail(error instanceof ConfigError ? error.message : describeError(error));
}

if (config.secret === null) {
  log.warn(
    'RUNNER_SHARED_SECRET is not set: the model routes take unsigned requests from anyone who can reach this port. Authenticate at a proxy in front (as Triton deployments do), or set the secret.',
  );
}

let host: ModelHost | undefined;
const runner = createRunner({
  ...config,
  // Batches only run once the host is up: infer answers 503 not_ready before.
  runBatch: (bundle, batch) => host!.run(bundle, batch),
  logError: (msg, error) => log.error(msg, { error: describeError(error) }),
});
const server = serve({ fetch: runner.app.fetch, port: config.port, hostname: config.host }, (info) =>
  log.info('listening', { host: config.host, port: info.port }),
) as Server;
const openResponses = trackResponses(server);

process.once('SIGTERM', () => void shutdown('SIGTERM', 0));
process.once('SIGINT', () => void shutdown('SIGINT', 0));

try {
  if (config.executionProvider === 'cuda' || config.executionProvider === 'auto') disableTf32();
  const dirs = config.bundles.length ? config.bundles : [builtInBundleDir()];
  const started = performance.now();
  const provider = await resolveRunnerProvider(await loadOrtNode(), config.executionProvider, config);
  for (const reason of provider.skipped) log.warn(`RUNNER_EXECUTION_PROVIDER=auto passed over ${reason.split(':')[0]}`, { reason });
  log.info('execution provider', {
    requested: config.executionProvider,
    executionProvider: provider.provider,
    adapter: provider.adapter?.description ?? null,
    cpuEmulated: provider.adapter?.cpuEmulated ?? false,
    description: describeProvider(provider),
  });
  runner.state.executionProvider = provider.provider;
  runner.state.adapter = provider.adapter ? { description: provider.adapter.description, cpuEmulated: provider.adapter.cpuEmulated } : null;
  host = await ModelHost.start(dirs, {
    executionProvider: provider.provider,
    cudaDeviceId: config.cudaDeviceId,
    intraOpThreads: config.intraOpThreads,
    warmUpBatch: config.maxBatch,
    workersPerBundle: config.maxConcurrentBatches,
    onWorkerDeath: (bundle, error) => {
      log.error('a model worker died; shutting down', { bundle, error: describeError(error) });
      void shutdown('worker death', 1);
    },
  });
  for (const model of host.models) runner.state.models.set(model.id, model);
  runner.state.ready = true;
  log.info('ready', {
    executionProvider: host.executionProvider,
    bundles: host.models.map((m) => m.id),
    maxBatch: config.maxBatch,
    startMs: Math.round(performance.now() - started),
  });
} catch (error) {
  fail(describeError(error));
}

/** The built-in aurora-tiny, (re)built in about a second when missing or stale. */
function builtInBundleDir(): string {
  const dir = defaultBundlePath();
  ensureDefaultBundle(dir);
  return dir;
}

/** TF32 rounds fp32 matmuls and convolutions on Ampere+ GPUs; cuBLAS and cuDNN obey this variable. */
function disableTf32(): void {
  if (process.env.NVIDIA_TF32_OVERRIDE === undefined) process.env.NVIDIA_TF32_OVERRIDE = '0';
  else if (process.env.NVIDIA_TF32_OVERRIDE !== '0') log.warn('NVIDIA_TF32_OVERRIDE is not 0: TF32 may be on and CUDA images may leave the parity bound');
}

/** Counts responses not yet fully sent, so shutdown waits for the last byte of each; and the open sockets. */
function trackResponses(server: Server): { count: () => number; whenNone: () => Promise<void>; endSockets: (timeoutMs: number) => Promise<void> } {
  let open = 0;
  const waiters: (() => void)[] = [];
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('request', (_req, res) => {
    open++;
    res.once('close', () => {
      if (--open === 0) waiters.splice(0).forEach((resolve) => resolve());
    });
  });
  return {
    count: () => open,
    whenNone: () => (open === 0 ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve))),
    // end(), not destroy(): a response's last bytes may still be queued on its socket (a large binary
    // body to a client that has not read it yet), and process.exit would drop them.
    endSockets: async (timeoutMs) => {
      const closed = [...sockets].map((socket) => new Promise<void>((resolve) => socket.once('close', () => resolve()).end()));
      await Promise.race([Promise.all(closed), new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
    },
  };
}

let stopping = false;
async function shutdown(reason: string, exitCode: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  runner.state.draining = true;
  log.info('draining', { reason, queuedItems: runner.batcher.depth, openRequests: openResponses.count() });
  setTimeout(() => {
    log.error('shutdown timed out; exiting with work unfinished', { queuedItems: runner.batcher.depth, openRequests: openResponses.count() });
    process.exit(1);
  }, config.shutdownTimeoutMs).unref();
  server.close(); // no new connections; requests on open keep-alive connections get 503 shutting_down
  await runner.batcher.drain();
  await openResponses.whenNone();
  await openResponses.endSockets(2_000);
  server.closeAllConnections();
  await host?.close();
  log.info('stopped', { reason });
  process.exit(exitCode);
}
