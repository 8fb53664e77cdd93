import { isRetryable, nextAttemptDelay, WEBHOOK_TIMEOUT_MS, type WebhookSender, webhookHeaders } from '../webhooks/deliver.ts';
import type { BatchStore } from './store.ts';

/** What sending the outbox needs: runtime-free (Node passes webhooks/node-sender.ts's sender, Workers fetchSender). */
export interface DeliveryDeps {
  readonly store: BatchStore;
  readonly send: WebhookSender;
  /** The secret of callers without an API key (WEBHOOK_SECRET), null when none. */
  readonly openSecret: string | null;
  /** WEBHOOK_ALLOW_PRIVATE. */
  readonly allowPrivate: boolean;
  readonly now?: () => number;
  readonly random?: () => number;
  readonly log?: (message: string, error?: unknown) => void;
}

/** How long a taken message is someone's before another gateway may try it (an attempt's timeout, twice). */
const TAKE_MS = 2 * WEBHOOK_TIMEOUT_MS;

/**
 * Sends the outbox's messages that are due (at most `limit`): each taken first (so gateways sharing
 * the database do not send one message twice at once), signed with its owner's secret (the API
 * key's, or WEBHOOK_SECRET) at this attempt's time, sent, and recorded: delivered on a 2xx,
 * otherwise retried on the Standard Webhooks schedule (5 s, 30 s, 2 min, 10 min, 30 min, with
 * jitter) and given up after the sixth attempt, or at once when retrying cannot help (refused
 * address, oversized body, no secret). Resolves with how many were attempted.
 */
export async function deliverDue(deps: DeliveryDeps, limit = 16): Promise<number> {
  const now = deps.now ?? Date.now;
  const rows = await deps.store.dueDeliveries(limit);
  let attempted = 0;
  await Promise.all(
    rows.map(async (row) => {
      if (!(await deps.store.takeDelivery(row, TAKE_MS))) return;
      attempted++;
      const attempts = row.attempts + 1;
      try {
        const secret = row.owner.startsWith('key:') ? await deps.store.webhookSecret(row.owner) : deps.openSecret;
        if (!secret) {
          await deps.store.recordDelivery(row.id, { delivered: false, status: null, error: 'no webhook secret for this caller any more', retryAt: null });
          return;
        }
        const headers = await webhookHeaders({ secret, id: row.id, body: row.body, now: now() });
        const result = await deps.send({ url: row.url, headers, body: row.body, allowPrivate: deps.allowPrivate });
        const delay = result.ok || !isRetryable(result) ? null : nextAttemptDelay(attempts, deps.random);
        await deps.store.recordDelivery(row.id, {
          delivered: result.ok,
          status: result.status ?? null,
          error: result.ok ? null : (result.error ?? result.failure ?? 'failed'),
          retryAt: delay === null ? null : now() + delay,
        });
      } catch (error) {
        deps.log?.(`webhook ${row.id}: attempt ${attempts} failed unexpectedly`, error);
      }
    }),
  );
  return attempted;
}

/** A gateway's outbox sender: deliverDue every `pollMs` (and at once after a full round). */
export class DeliveryLoop {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = true;

  constructor(
    private readonly deps: DeliveryDeps,
    private readonly pollMs = 1_000,
    private readonly perRound = 16,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = deliverDue(this.deps, this.perRound)
        .catch((error) => {
          this.deps.log?.('webhooks: reading the outbox failed', error);
          return 0;
        })
        .then((n) => this.schedule(n >= this.perRound ? 0 : this.pollMs));
    }, ms);
  }
}
