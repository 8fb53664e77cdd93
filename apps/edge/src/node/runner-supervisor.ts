import { type LocalRunner, type LocalRunnerOptions, startLocalRunner } from './runner-process.ts';

/** First restart delay; it doubles per failure in a row, up to MAX_BACKOFF_MS. */
const FIRST_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;
/** A runner that stayed up this long was healthy: the next failure starts the backoff again. */
const STABLE_MS = 60_000;

export interface SupervisorHooks {
  /** The runner process ended (health must say so now, not after a TTL). */
  onExit?: (reason: string) => void;
  /** A restarted runner answers /v2/health/ready again. */
  onReady?: () => void;
}

/**
 * Keeps the gateway's local GPU runner alive. Left alone, a killed or crashed runner would go
 * unnoticed (no log line, /healthz healthy until the health TTL ran out, then a 503 for every
 * batch that needs a runner until the gateway restarted). So the exit is logged and reported at
 * once (`onExit`), and the runner is started again on the same port (so its URL, the pool's
 * endpoint, stays) after a backoff that doubles per failure in a row (0.5 s .. 30 s) and resets
 * once a runner stayed up a minute.
 */
export class RunnerSupervisor implements LocalRunner {
  hooks: SupervisorHooks = {};
  private current: LocalRunner;
  private failures = 0;
  private stopping = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    first: LocalRunner,
    private readonly options: LocalRunnerOptions,
    private readonly log: (line: string) => void,
  ) {
    this.current = first;
    this.watch(first);
  }

  get url(): string {
    return this.current.url;
  }

  get secret(): string {
    return this.current.secret;
  }

  /** The runner process now (a new one after each restart). */
  get child() {
    return this.current.child;
  }

  get ready(): Promise<void> {
    return this.current.ready;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    await this.current.stop();
  }

  private watch(runner: LocalRunner): void {
    const startedAt = Date.now();
    runner.child.once('exit', (code, signal) => {
      if (this.stopping || runner !== this.current) return;
      const reason = `the local GPU runner (pid ${runner.child.pid}) exited with ${signal ? `signal ${signal}` : `code ${code}`}`;
      this.hooks.onExit?.(reason);
      if (Date.now() - startedAt >= STABLE_MS) this.failures = 0;
      this.scheduleRestart(reason);
    });
  }

  private scheduleRestart(reason: string): void {
    const delay = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** this.failures++);
    this.log(`aurora-edge: ${reason}; restarting it in ${delay} ms`);
    this.timer = setTimeout(() => void this.restart(), delay);
  }

  private async restart(): Promise<void> {
    this.timer = null;
    if (this.stopping) return;
    let runner: LocalRunner;
    try {
      runner = await startLocalRunner({ ...this.options, port: new URL(this.current.url).port ? Number(new URL(this.current.url).port) : undefined });
    } catch (error) {
      this.scheduleRestart(`the local GPU runner could not be started (${(error as Error).message})`);
      return;
    }
    // Watched before it is ready: one that dies while starting is restarted the same way.
    this.current = runner;
    this.watch(runner);
    try {
      await runner.ready;
    } catch (error) {
      this.log(`aurora-edge: the restarted local GPU runner did not become ready: ${(error as Error).message.split('\n')[0]}`);
      // Still running but never ready: end it, and its exit schedules the next try.
      if (runner.child.exitCode === null && runner.child.signalCode === null) runner.child.kill('SIGKILL');
      return;
    }
    if (this.stopping) return;
    this.log(`aurora-edge: local GPU runner restarted on ${runner.url} (pid ${runner.child.pid})`);
    this.hooks.onReady?.();
  }
}
