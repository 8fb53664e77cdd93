/**
 * Webhook delivery to a real receiver: a node:http server on a loopback port (so the senders run
 * with allowPrivate, as an operator's WEBHOOK_ALLOW_PRIVATE=1 would let them). Both senders: the
 * Node one (node:http, resolution pinned) and the fetch one (Workers). Also the retry schedule and
 * a signed message verified by the receiver.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  fetchSender,
  isRetryable,
  newWebhookMessage,
  nextAttemptDelay,
  WEBHOOK_MAX_ATTEMPTS,
  WEBHOOK_MAX_BODY_BYTES,
  WEBHOOK_RETRY_DELAYS_MS,
  type WebhookSender,
  webhookHeaders,
} from '../src/webhooks/deliver.ts';
import { nodeSender, sendWebhook } from '../src/webhooks/node-sender.ts';
import { generateWebhookSecret, verifyWebhook } from '../src/webhooks/standard-webhooks.ts';

interface Received {
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** The receiver: its answer depends on the path. */
let server: http.Server;
let base = '';
const received: Received[] = [];
/** Bytes the /huge route managed to write before the sender closed the connection. */
let hugeWritten = 0;
const HUGE_TOTAL = 64 * 1024 * 1024;
let hugeClosed: Promise<void> = Promise.resolve();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '';
      received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      if (path.startsWith('/ok')) return res.writeHead(204).end();
      if (path.startsWith('/fail')) return res.writeHead(500, { 'content-type': 'text/plain' }).end('receiver exploded\nat line 3');
      if (path.startsWith('/redirect')) return res.writeHead(302, { location: `${base}/ok-after-redirect` }).end();
      if (path.startsWith('/slow')) return; // Never answers.
      if (path.startsWith('/headers-then-stall')) return res.writeHead(200).write('partial');
      if (path.startsWith('/huge')) {
        hugeWritten = 0;
        hugeClosed = new Promise((resolve) => res.on('close', resolve));
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        const chunk = Buffer.alloc(64 * 1024, 120);
        const pump = () => {
          while (hugeWritten < HUGE_TOTAL && !res.destroyed) {
            hugeWritten += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        return pump();
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  received.length = 0;
});

const secret = generateWebhookSecret();
async function message() {
  const { id, body } = newWebhookMessage('batch.completed', { id: 'batch_0123456789abcdefghijklmn', status: 'completed', total: 4, done: 4 });
  return { id, body, headers: await webhookHeaders({ secret, id, body }) };
}

const SENDERS: Record<string, WebhookSender> = { 'node sender': sendWebhook, 'fetch sender': fetchSender() };

for (const [name, send] of Object.entries(SENDERS)) {
  describe(`${name} to a real local receiver (allowPrivate)`, () => {
    it('delivers a signed message the receiver verifies; 2xx is ok', async () => {
      const m = await message();
      const result = await send({ url: `${base}/ok?x=1`, headers: m.headers, body: m.body, allowPrivate: true });
      expect(result).toMatchObject({ ok: true, status: 204 });
      expect(received).toHaveLength(1);
      const got = received[0];
      expect(got.path).toBe('/ok?x=1');
      expect(got.body).toBe(m.body);
      expect(got.headers['content-type']).toBe('application/json');
      expect(got.headers['user-agent']).toMatch(/^AuroraEdge-Webhooks\//);
      expect(got.headers['webhook-id']).toBe(m.id);
      expect(await verifyWebhook({ secret, headers: got.headers, body: got.body })).toMatchObject({ id: m.id });
      expect(JSON.parse(got.body)).toMatchObject({ type: 'batch.completed', data: { id: 'batch_0123456789abcdefghijklmn' } });
    });

    it('refuses the loopback receiver without allowPrivate, sending nothing', async () => {
      const m = await message();
      // https, as the policy requires: the address is what is refused.
      const result = await send({ url: `${base.replace('http:', 'https:')}/ok`, headers: m.headers, body: m.body });
      expect(result).toMatchObject({ ok: false, failure: 'refused' });
      expect(result.error).toMatch(/127\.0\.0\.1 is a loopback address/);
      expect(isRetryable(result)).toBe(false);
      expect(received).toHaveLength(0);
    });

    it('500 is not ok (retryable), with the start of the answer in the error', async () => {
      const m = await message();
      const result = await send({ url: `${base}/fail`, headers: m.headers, body: m.body, allowPrivate: true });
      expect(result).toMatchObject({ ok: false, status: 500, failure: 'status', error: 'answered 500: receiver exploded at line 3' });
      expect(isRetryable(result)).toBe(true);
    });

    it('does not follow a redirect', async () => {
      const m = await message();
      const result = await send({ url: `${base}/redirect`, headers: m.headers, body: m.body, allowPrivate: true });
      expect(result).toMatchObject({ ok: false, status: 302, failure: 'redirect' });
      expect(received.map((r) => r.path)).toEqual(['/redirect']);
    });

    it('gives up on a receiver that does not answer within the timeout', async () => {
      const m = await message();
      const started = Date.now();
      const result = await send({ url: `${base}/slow`, headers: m.headers, body: m.body, allowPrivate: true, timeoutMs: 300 });
      expect(result).toMatchObject({ ok: false, failure: 'timeout' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      expect(Date.now() - started).toBeLessThan(3000);
      expect(isRetryable(result)).toBe(true);
    });

    it('keeps a 2xx that arrived before the timeout even when the body never ends', async () => {
      const m = await message();
      const result = await send({ url: `${base}/headers-then-stall`, headers: m.headers, body: m.body, allowPrivate: true, timeoutMs: 300 });
      expect(result).toMatchObject({ ok: true, status: 200 });
    });

    it('reads at most maxResponseBytes of a huge answer and hangs up', async () => {
      const m = await message();
      const result = await send({ url: `${base}/huge`, headers: m.headers, body: m.body, allowPrivate: true, maxResponseBytes: 1000 });
      expect(result).toMatchObject({ ok: true, status: 200, responseBytes: 1000 });
      await hugeClosed;
      // Socket buffers hold a few MiB at most: the receiver was stopped far short of its 64 MiB.
      expect(hugeWritten).toBeLessThan(HUGE_TOTAL / 4);
    });

    it('reports a refused connection as a network failure, and an oversized body without sending it', async () => {
      const probe = http.createServer();
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
      const port = (probe.address() as AddressInfo).port;
      await new Promise((resolve) => probe.close(resolve));
      const m = await message();
      expect(await send({ url: `http://127.0.0.1:${port}/`, headers: m.headers, body: m.body, allowPrivate: true })).toMatchObject({
        ok: false,
        failure: 'network',
      });
      const big = await send({ url: `${base}/ok`, headers: m.headers, body: 'x'.repeat(WEBHOOK_MAX_BODY_BYTES + 1), allowPrivate: true });
      expect(big).toMatchObject({ ok: false, failure: 'body_too_large' });
      expect(received).toHaveLength(0);
    });
  });
}

describe('node sender: the connection goes to the address that was checked', () => {
  it('resolves once and connects to that address, with the URL host in the Host header', async () => {
    const port = (server.address() as AddressInfo).port;
    const lookups: string[] = [];
    // hooks.invalid cannot resolve in DNS (RFC 6761): only the checked address can have been used.
    const send = nodeSender({
      resolve: async (hostname) => {
        lookups.push(hostname);
        return [{ address: '127.0.0.1', family: 4 }];
      },
    });
    const m = await message();
    const result = await send({ url: `http://hooks.invalid:${port}/ok`, headers: m.headers, body: m.body, allowPrivate: true });
    expect(result).toMatchObject({ ok: true, status: 204 });
    expect(lookups).toEqual(['hooks.invalid']);
    expect(received[0].headers.host).toBe(`hooks.invalid:${port}`);
  });

  it('refuses a name that resolves to a private address without allowPrivate (nothing sent)', async () => {
    const port = (server.address() as AddressInfo).port;
    const send = nodeSender({ resolve: async () => [{ address: '127.0.0.1', family: 4 }] });
    const m = await message();
    // https, as the policy requires without allowPrivate: refused before any connection.
    const result = await send({ url: `https://rebind.invalid:${port}/ok`, headers: m.headers, body: m.body });
    expect(result).toMatchObject({ ok: false, failure: 'refused' });
    expect(result.error).toBe(
      'rebind.invalid resolves to 127.0.0.1 is a loopback address: webhooks go to public addresses only (the operator can allow others with WEBHOOK_ALLOW_PRIVATE=1)',
    );
    expect(received).toHaveLength(0);
  });
});

describe('nextAttemptDelay', () => {
  it('is 5 s, 30 s, 2 min, 10 min, 30 min (without jitter), then gives up after 6 attempts', () => {
    const mid = () => 0.5;
    expect([1, 2, 3, 4, 5].map((a) => nextAttemptDelay(a, mid))).toEqual([5_000, 30_000, 120_000, 600_000, 1_800_000]);
    expect(nextAttemptDelay(WEBHOOK_MAX_ATTEMPTS, mid)).toBeNull();
    expect(nextAttemptDelay(7, mid)).toBeNull();
    expect(WEBHOOK_MAX_ATTEMPTS).toBe(6);
  });

  it('jitters each delay within +-20%', () => {
    for (let a = 1; a < WEBHOOK_MAX_ATTEMPTS; a++) {
      const base = WEBHOOK_RETRY_DELAYS_MS[a - 1];
      expect(nextAttemptDelay(a, () => 0)).toBe(base * 0.8);
      expect(nextAttemptDelay(a, () => 0.999999)).toBeCloseTo(base * 1.2, -1);
      const seen = new Set(Array.from({ length: 50 }, () => nextAttemptDelay(a)));
      expect(seen.size).toBeGreaterThan(1);
      for (const d of seen) expect(d! >= base * 0.8 && d! <= base * 1.2).toBe(true);
    }
  });

  it('names a bad attempt number', () => {
    expect(() => nextAttemptDelay(0)).toThrow(/attempt must be/);
    expect(() => nextAttemptDelay(1.5)).toThrow(/attempt must be/);
  });
});

/**
 * A self-signed certificate for hooks.invalid only (made once with `openssl req -x509 -newkey ec
 * -pkeyopt ec_paramgen_curve:prime256v1 -days 36500 -subj /CN=hooks.invalid -addext
 * subjectAltName=DNS:hooks.invalid`; valid until 2126). Test material, trusted by nothing else.
 */
const HOOKS_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgdAefQXeosCLTvUiD
kwxr1ySCmrhUgAmMj2TEUt+SwjShRANCAASjqKUEuns78/ZOY8yvbltR7LydtjcX
o3HFE+elMBGX7buRLRwoX1zfq6bgxyO7UA7Jqe8EOylzB/tEEtmXeFfm
-----END PRIVATE KEY-----`;
const HOOKS_CERT = `-----BEGIN CERTIFICATE-----
MIIBoTCCAUegAwIBAgIUdNrkuQM1KHzuxlEfDBN0MHKNWPcwCgYIKoZIzj0EAwIw
GDEWMBQGA1UEAwwNaG9va3MuaW52YWxpZDAgFw0yNjEyMDQxOTIyMjVaGA8yMTI2
MTExMDE5MjIyNVowGDEWMBQGA1UEAwwNaG9va3MuaW52YWxpZDBZMBMGByqGSM49
AgEGCCqGSM49AwEHA0IABKOopQS6ezvz9k5jzK9uW1HsvJ22NxejccUT56UwEZft
u5EtHChfXN+rpuDHI7tQDsmp7wQ7KXMH+0QS2Zd4V+ajbTBrMB0GA1UdDgQWBBTS
o6fuxUXVCD4j89tU7n6np4GfZzAfBgNVHSMEGDAWgBTSo6fuxUXVCD4j89tU7n6n
p4GfZzAPBgNVHRMBAf8EBTADAQH/MBgGA1UdEQQRMA+CDWhvb2tzLmludmFsaWQw
CgYIKoZIzj0EAwIDSAAwRQIgXhUZXs3QTz56MxtrFhXjl8h6aguESPy1K9E+Wj+5
26sCIQDWiLYdbamnavfTnEHVqZShcwp8I24ZxbAEGsmhmWQabw==
-----END CERTIFICATE-----`;

describe('node sender over TLS: connected to the checked address, the certificate checked for the host name', () => {
  let tls: https.Server;
  let port = 0;
  const names: (string | undefined)[] = [];
  beforeAll(async () => {
    tls = https.createServer({ key: HOOKS_KEY, cert: HOOKS_CERT }, (req, res) => {
      names.push((req.socket as import('node:tls').TLSSocket).servername || undefined);
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
    port = (tls.address() as AddressInfo).port;
  });
  afterAll(async () => {
    tls.closeAllConnections();
    await new Promise((resolve) => tls.close(resolve));
  });
  const loopback = async () => [{ address: '127.0.0.1', family: 4 }];

  it('sends SNI and verifies the certificate against the URL host, not the pinned IP', async () => {
    const m = await message();
    const send = nodeSender({ resolve: loopback, ca: HOOKS_CERT });
    expect(await send({ url: `https://hooks.invalid:${port}/ok`, headers: m.headers, body: m.body, allowPrivate: true })).toMatchObject({
      ok: true,
      status: 204,
    });
    expect(names).toEqual(['hooks.invalid']);
  });

  it('refuses a certificate for another name, an IP URL the certificate does not name, and an untrusted one', async () => {
    const m = await message();
    const send = nodeSender({ resolve: loopback, ca: HOOKS_CERT });
    const other = await send({ url: `https://other.invalid:${port}/ok`, headers: m.headers, body: m.body, allowPrivate: true });
    expect(other).toMatchObject({ ok: false, failure: 'network' });
    expect(other.error).toMatch(/altnames|other\.invalid/i);
    const byIp = await send({ url: `https://127.0.0.1:${port}/ok`, headers: m.headers, body: m.body, allowPrivate: true });
    expect(byIp).toMatchObject({ ok: false, failure: 'network' });
    // Node's own CA store does not trust the test certificate.
    const untrusted = await nodeSender({ resolve: loopback })({
      url: `https://hooks.invalid:${port}/ok`,
      headers: m.headers,
      body: m.body,
      allowPrivate: true,
    });
    expect(untrusted).toMatchObject({ ok: false, failure: 'network' });
    expect(untrusted.error).toMatch(/self[- ]signed/i);
  });
});
