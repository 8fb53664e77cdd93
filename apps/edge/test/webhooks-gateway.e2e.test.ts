/**
 * Batch webhooks end to end: the real Node gateway (its batch loop and webhook outbox, the Node
 * sender) POSTing to a real receiver on a loopback port (allowed by WEBHOOK_ALLOW_PRIVATE=1, as an
 * operator would for a receiver on its own network), which checks every message with the SDK's
 * verifyWebhook and WEBHOOK_SECRET (open mode). The receiver fails its first answer, so the retry
 * (same webhook-id, same body, signed again) is seen too; and without the flag a loopback URL is
 * refused at creation.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { AuroraClient, type BatchWebhookEvent, verifyWebhook } from '@aurora-edge/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs, startGateway, tempDir } from '../../../test/support/reliability.ts';
import { rejection } from '../../../packages/client/test/support/rejection.ts';
import type { NodeGateway } from '../src/node.ts';
import { generateWebhookSecret } from '../src/webhooks/standard-webhooks.ts';

interface Delivery {
  readonly at: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  readonly event: BatchWebhookEvent | Error;
}

const secret = generateWebhookSecret();
let receiver: http.Server;
let hookUrl = '';
const deliveries: Delivery[] = [];
/** Answers the receiver gives, in order (then 204). */
let answers: number[] = [];

beforeAll(async () => {
  receiver = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const event = await verifyWebhook(secret, req.headers, body).catch((e: Error) => e);
    deliveries.push({ at: Date.now(), headers: req.headers, body: body.toString('utf8'), event });
    res.writeHead(answers.shift() ?? 204).end();
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/aurora`;
});
afterAll(async () => {
  receiver.closeAllConnections();
  await new Promise((resolve) => receiver.close(resolve));
  removeTempDirs();
});

async function until(ok: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms; deliveries: ${JSON.stringify(deliveries.map((d) => d.body))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('batch webhooks from the Node gateway (WEBHOOK_ALLOW_PRIVATE=1, open mode)', () => {
  let gateway: NodeGateway;
  beforeAll(async () => {
    gateway = await startGateway({ DATABASE_PATH: path.join(tempDir(), 'cache.sqlite'), WEBHOOK_SECRET: secret, WEBHOOK_ALLOW_PRIVATE: '1' });
  });
  afterAll(async () => {
    await gateway?.close();
  });

  it('delivers a signed batch.completed the receiver verifies, retrying a 500 with the same id and body', async () => {
    answers = [500];
    deliveries.length = 0;
    const client = new AuroraClient({ baseUrl: gateway.url });
    const batch = await client.batches.create({
      items: [
        { prompt: 'a red apple', seed: 0, n: 2 },
        { prompt: 'a blue cube', seed: 5 },
      ],
      webhook: { url: hookUrl },
    });
    expect(batch.webhook).toEqual({ url: hookUrl, events: ['completed'] });
    const events = [];
    for await (const e of client.batches.events(batch.id)) events.push(e);
    expect(events.at(-1)?.data).toMatchObject({ status: 'completed', done: 3, total: 3 });

    // The first attempt is answered 500; the retry comes about 5 s (+-20%) later.
    await until(() => deliveries.length >= 2, 30_000);
    const [first, retry] = deliveries;
    for (const d of [first, retry]) {
      expect(d.event, String(d.event)).not.toBeInstanceOf(Error);
      expect(d.event).toMatchObject({ type: 'batch.completed', data: { id: batch.id, status: 'completed', done: 3, total: 3, failed: 0 } });
      expect(d.headers['content-type']).toBe('application/json');
      // One id per message: the batch and the sequence number of the event it reports.
      expect(d.headers['webhook-id']).toMatch(new RegExp(`^msg_${batch.id}_\\d+$`));
    }
    expect(retry.headers['webhook-id']).toBe(first.headers['webhook-id']);
    expect(retry.body).toBe(first.body);
    expect(retry.at - first.at).toBeGreaterThanOrEqual(3_500);
    // Answered 204 the second time: nothing more comes.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(deliveries).toHaveLength(2);
  });
});

describe('without WEBHOOK_ALLOW_PRIVATE', () => {
  it('refuses a loopback or http webhook URL at creation, naming webhook.url', async () => {
    const gateway = await startGateway({ DATABASE_PATH: path.join(tempDir(), 'cache.sqlite'), WEBHOOK_SECRET: secret });
    try {
      const client = new AuroraClient({ baseUrl: gateway.url });
      for (const url of [hookUrl, hookUrl.replace('http:', 'https:'), 'https://[::ffff:127.0.0.1]/hooks', 'https://169.254.169.254/latest/meta-data']) {
        const error = await rejection(client.batches.create({ items: [{ prompt: 'a red apple', seed: 0 }], webhook: { url } }));
        expect([error.status, error.field], url).toEqual([400, 'webhook.url']);
      }
    } finally {
      await gateway.close();
    }
  });
});
