import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, type EnvVars } from '../config.ts';

export interface LocalRunner {
  readonly url: string;
  readonly secret: string;
  readonly child: ChildProcess;
  /** Resolves once GET /v2/health/ready answers 200; rejects if the runner exits or the wait times out. */
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

export interface LocalRunnerOptions {
  /** The runner's entry file (default: runnerEntry(process.env)). */
  readonly entry?: string;
  readonly secret: string;
  /** Bundle folders for RUNNER_BUNDLES (empty: the runner's built-in aurora-tiny). */
  readonly bundles?: readonly string[];
  readonly readyTimeoutMs?: number;
  /** Where the runner's output lines go (prefixed); default: this process's stderr. */
  readonly log?: (line: string) => void;
  readonly env?: NodeJS.ProcessEnv;
  /** Loopback port to listen on; default: a free one. A restarted runner takes its predecessor's, so its URL stays. */
  readonly port?: number;
}

const require = createRequire(import.meta.url);

/**
 * The GPU runner's entry file: RUNNER_ENTRY (a ConfigError when there is no such file), else the
 * `./server` export of @aurora-edge/gpu-runner as installed; null when that is not installed.
 */
export function runnerEntry(env: EnvVars): string | null {
  if (env.RUNNER_ENTRY) {
    const entry = path.resolve(String(env.RUNNER_ENTRY));
    if (!fs.statSync(entry, { throwIfNoEntry: false })?.isFile())
      throw new ConfigError([`RUNNER_ENTRY=${entry}: no such file (the GPU runner's server entry)`]);
    return entry;
  }
  try {
    return require.resolve('@aurora-edge/gpu-runner/server');
  } catch {
    return null;
  }
}

/** tsx's loader, by file URL, so a TypeScript entry runs whatever the working directory. */
const TSX_LOADER = pathToFileURL(require.resolve('tsx')).href;

/** A free loopback TCP port (asked of the kernel, then released for the child to take). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts the GPU runner (`entry`, run through tsx) as a child process on a free loopback port
 * with the given shared secret, and ends it with the parent. Code against its protocol only: PORT, HOST,
 * RUNNER_SHARED_SECRET, RUNNER_BUNDLES and GET /v2/health/ready (the Open Inference Protocol's readiness).
 */
export async function startLocalRunner(options: LocalRunnerOptions): Promise<LocalRunner> {
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const entry = options.entry ?? runnerEntry(options.env ?? process.env);
  if (!entry) throw new Error('no GPU runner to start: @aurora-edge/gpu-runner is not installed and RUNNER_ENTRY is not set');
  const child = spawn(process.execPath, ['--import', TSX_LOADER, entry], {
    env: {
      ...(options.env ?? process.env),
      PORT: String(port),
      HOST: '127.0.0.1',
      RUNNER_SHARED_SECRET: options.secret,
      RUNNER_BUNDLES: (options.bundles ?? []).join(','),
      // The embedded local runner is a CPU default; a GPU host asks for auto or cuda explicitly
      // (probing CUDA on a CPU-only install prints onnxruntime errors before falling back).
      RUNNER_EXECUTION_PROVIDER: (options.env ?? process.env).RUNNER_EXECUTION_PROVIDER ?? 'cpu',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const recent: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        if (!line) continue;
        log(`[runner] ${line}`);
        recent.push(line);
        if (recent.length > 20) recent.shift();
      }
    });
  }
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  exited.then(() => process.off('exit', killOnExit));

  const ready = (async () => {
    const deadline = Date.now() + (options.readyTimeoutMs ?? 120_000);
    let gone = false;
    exited.then(() => (gone = true));
    while (Date.now() < deadline) {
      if (gone) throw new Error(`the local GPU runner exited (code ${child.exitCode}) before it was ready; its last output:\n${recent.join('\n')}`);
      try {
        const res = await fetch(`${url}/v2/health/ready`, { signal: AbortSignal.timeout(1000) });
        await res.body?.cancel();
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 150));
    }
    throw new Error(`the local GPU runner was not ready within ${options.readyTimeoutMs ?? 120_000} ms`);
  })();
  ready.catch(() => undefined);

  return {
    url,
    secret: options.secret,
    child,
    ready,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * startLocalRunner, waiting until it is ready; a runner that exits before it is ready (e.g. the
 * free port was taken in between) is started again, up to `attempts` times.
 */
export async function startReadyLocalRunner(options: LocalRunnerOptions, attempts = 3): Promise<LocalRunner> {
  for (let attempt = 1; ; attempt++) {
    const runner = await startLocalRunner(options);
    try {
      await runner.ready;
      return runner;
    } catch (error) {
      await runner.stop();
      const exitedEarly = runner.child.exitCode !== null || runner.child.signalCode !== null;
      if (!exitedEarly || attempt >= attempts) throw error;
    }
  }
}
