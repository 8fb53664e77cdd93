/**
 * `client.batches.events` reconnecting: the gateway's stream cut at awkward moments. The gateway
 * never drops its own streams on cue, so a small node:http server stands in for "a gateway whose
 * connection drops" (a proxy timing out, a deploy): it answers GET /v1/batches/{id}/events from a
 * script per connection, in the gateway's wire format. The SDK against the real gateway's stream:
 * batches.test.ts.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AuroraApiError, AuroraClient, type Batch, type BatchEvent } from '../src/index.ts';
import { rejection } from './support/rejection.ts';

const ID = 'batch_0123456789abcdefghijklmn';
const batch = (done: number, status: Batch['status'] = 'running'): Batch => ({
  id: ID,
  object: 'batch',
  status,
  model: 'aurora-tiny',
  total: 4,
  done,
  failed: 0,
  cancelled: 0,
  created: 1_700_000_000,
  finished: status === 'running' ? null : 1_700_000_100,
  webhook: null,
});
/** One event in the gateway's format, its JSON pretty-printed so that data spans several lines. */
const sse = (id: number, event: string, data: Batch, multiline = false) =>
  `id: ${id}\nevent: ${event}\n${(multiline ? JSON.stringify(data, null, 2) : JSON.stringify(data))
    .split('\n')
    .map((l) => `data: ${l}`)
    .join('\n')}\n\n`;

/** What each connection does, in order: its status and the chunks to write; `drop` resets the connection after them. */
interface Script {
  readonly status?: number;
  readonly headers?: Record<string, string>;
  readonly chunks: readonly string[];
  readonly drop?: boolean;
}

let server: http.Server;
let base = '';
let scripts: Script[] = [];
/** What GET /v1/batches/{id} says (the SDK asks when a resumed stream ends without a terminal event). */
let statusNow: Batch['status'] = 'running';
const seen: { url: string; lastEventId: string | undefined; accept: string | undefined }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (!req.url?.includes('/events')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ ...batch(2, statusNow), items: [], has_more: false, next_after: null }));
    }
    seen.push({ url: req.url ?? '', lastEventId: req.headers['last-event-id'] as string | undefined, accept: req.headers.accept });
    const script = scripts.shift() ?? { status: 500, chunks: ['{"error":{"code":"script_over","message":"no more scripted connections"}}'] };
    const status = script.status ?? 200;
    res.writeHead(status, { 'content-type': status === 200 ? 'text/event-stream' : 'application/json', ...script.headers });
    for (const c of script.chunks) res.write(c);
    if (script.drop) setTimeout(() => res.socket?.destroy(), 20);
    else res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  statusNow = 'running';
  scripts = [];
  seen.length = 0;
});

async function all(iterable: AsyncIterable<BatchEvent>): Promise<BatchEvent[]> {
  const out: BatchEvent[] = [];
  for await (const e of iterable) out.push(e);
  return out;
}

describe('batches.events against a stream that drops', () => {
  it('parses keep-alives and multi-line data, and resumes with Last-Event-ID after a dropped connection until the terminal event', async () => {
    scripts = [
      // Cut in the middle of event 5: the part received must not surface.
      { chunks: [': keep-alive\n\n', sse(4, 'progress', batch(1), true), sse(5, 'progress', batch(2)).slice(0, 30)], drop: true },
      { chunks: [': keep-alive\n\n', sse(5, 'progress', batch(2)), sse(6, 'progress', batch(3))], drop: true },
      // Nothing after the terminal event is read.
      { chunks: [sse(7, 'completed', batch(4, 'completed'), true), sse(8, 'progress', batch(4))] },
    ];
    const client = new AuroraClient({ baseUrl: base, apiKey: 'ak_test' });
    const events = await all(client.batches.events(ID, { reconnectDelayMs: 5 }));
    expect(events.map((e) => [e.id, e.event, e.data.done])).toEqual([
      [4, 'progress', 1],
      [5, 'progress', 2],
      [6, 'progress', 3],
      [7, 'completed', 4],
    ]);
    expect(events[3].data).toEqual(batch(4, 'completed'));
    // The first connection asked for the current state; the others resumed after the last event received.
    expect(seen.map((s) => s.lastEventId)).toEqual([undefined, '4', '6']);
    expect(seen.every((s) => s.url === `/v1/batches/${ID}/events` && s.accept === 'text/event-stream')).toBe(true);
  });

  it('starts after lastEventId, and reconnects when a stream ends cleanly before the batch does', async () => {
    scripts = [{ chunks: [sse(3, 'progress', batch(2))] }, { chunks: [sse(4, 'cancelled', batch(2, 'cancelled'))] }];
    const client = new AuroraClient({ baseUrl: base });
    const events = await all(client.batches.events(ID, { lastEventId: 2, reconnectDelayMs: 5 }));
    expect(events.map((e) => e.event)).toEqual(['progress', 'cancelled']);
    expect(seen.map((s) => s.lastEventId)).toEqual(['2', '3']);
  });

  it('ends at once when resumed after the terminal event (the gateway sends nothing; the batch has ended)', async () => {
    scripts = [{ chunks: [': keep-alive\n\n'] }];
    statusNow = 'completed';
    const client = new AuroraClient({ baseUrl: base });
    expect(await all(client.batches.events(ID, { lastEventId: 9, reconnectDelayMs: 5 }))).toEqual([]);
    expect(seen.map((s) => s.lastEventId)).toEqual(['9']);
  });

  it('retries 503 (after Retry-After) but throws 404 at once', async () => {
    scripts = [
      { status: 503, headers: { 'retry-after': '0' }, chunks: ['{"error":{"code":"database_busy","message":"busy"}}'] },
      { chunks: [sse(1, 'failed', batch(0, 'failed'))] },
    ];
    const client = new AuroraClient({ baseUrl: base });
    expect((await all(client.batches.events(ID, { reconnectDelayMs: 5 }))).map((e) => e.event)).toEqual(['failed']);
    scripts = [
      { status: 404, chunks: ['{"error":{"code":"batch_not_found","message":"no batch"}}'] },
      { chunks: [sse(1, 'completed', batch(4, 'completed'))] },
    ];
    seen.length = 0;
    const error = await rejection(all(client.batches.events(ID, { reconnectDelayMs: 5 })));
    expect([error.status, error.code]).toEqual([404, 'batch_not_found']);
    expect(seen).toHaveLength(1);
  });

  it('gives up after maxReconnects failures in a row, and stops when aborted', async () => {
    scripts = [
      { chunks: [], drop: true },
      { chunks: [], drop: true },
      { chunks: [], drop: true },
    ];
    const client = new AuroraClient({ baseUrl: base });
    const error = await rejection(all(client.batches.events(ID, { reconnectDelayMs: 5, maxReconnects: 2 })));
    expect(error.code).toBe('network_error');
    expect(seen).toHaveLength(3);

    scripts = [{ chunks: [sse(1, 'progress', batch(1))] }];
    const controller = new AbortController();
    const got: number[] = [];
    const run = (async () => {
      for await (const e of client.batches.events(ID, { reconnectDelayMs: 60_000, signal: controller.signal })) {
        got.push(e.id);
        controller.abort(new Error('user stopped'));
      }
    })();
    await expect(run).rejects.toThrow('user stopped');
    expect(got).toEqual([1]);
  });

  it('rejects an event whose data is not JSON, and checks the id before sending anything', async () => {
    scripts = [{ chunks: ['id: 1\nevent: progress\ndata: {oops\n\n'] }];
    const client = new AuroraClient({ baseUrl: base });
    const error = await rejection(all(client.batches.events(ID)));
    expect(error.code).toBe('invalid_event');
    await expect(client.batches.events('batch_NOPE').next()).rejects.toThrow(TypeError);
    await expect(client.batches.events('../x').next()).rejects.toThrow(/id must be a batch id/);
    expect(error).toBeInstanceOf(AuroraApiError);
  });
});
