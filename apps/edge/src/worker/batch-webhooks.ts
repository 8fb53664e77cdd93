/**
 * Batches on Workers, webhooks: the `webhook_deliveries` outbox is drained by the same code the
 * Node gateway's delivery loop runs (batches/deliveries.ts deliverDue: take, sign, send, record
 * with the retry schedule), with the fetch-based sender (webhooks/deliver.ts fetchSender). There
 * is no loop on Workers: the queue consumer drains after each delivery of messages, a batch POST
 * (create, cancel) drains after its response, and the cron trigger drains every minute, which is
 * what sends the retries (5 s, 30 s, 2 min, ... after a failed attempt) when nothing else runs.
 */
import type { BatchConfig } from '../config.ts';
import { type DeliveryDeps, deliverDue } from '../batches/deliveries.ts';
import type { BatchStore } from '../batches/store.ts';
import { fetchSender } from '../webhooks/deliver.ts';

/** Messages attempted per round, and rounds per drain at most (each round's sends run at once). */
const PER_ROUND = 16;
const MAX_ROUNDS = 8;

export function workerDeliveryDeps(store: BatchStore, config: BatchConfig, log?: (message: string, error?: unknown) => void): DeliveryDeps {
  return { store, send: fetchSender(), openSecret: config.webhookSecret, allowPrivate: config.webhookAllowPrivate, log };
}

/** Sends what is due, round after round while rounds come back full. Resolves with the attempts made. */
export async function drainWebhooks(deps: DeliveryDeps): Promise<number> {
  let attempted = 0;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const n = await deliverDue(deps, PER_ROUND);
    attempted += n;
    if (n < PER_ROUND) break;
  }
  return attempted;
}
