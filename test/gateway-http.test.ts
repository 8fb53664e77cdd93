/**
 * Issue 13 item 13: HTTP details a careful client sees, on the real Node gateway. Every 4xx is the
 * JSON error with CORS (a missing or malformed Host included); a known path under the wrong
 * method is 405 with Allow; a compressed body is 415, not "invalid JSON"; with PUBLIC_URL the
 * gateway's own origin is PUBLIC_URL's alone, not whatever Host the client sent.
 */
import * as net from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeGateway } from '../apps/edge/src/node.ts';
import { createKeyWithCli } from './support/keys.ts';
import { call, expectErrorBody, removeTempDirs, startGateway, tempDir } from './support/reliability.ts';

let gateway: NodeGateway;
let keysGateway: NodeGateway;
let key: string;

beforeAll(async () => {
  gateway = await startGateway({ DATABASE_PATH: path.join(tempDir(), 'cache.sqlite') });
  const db = path.join(tempDir(), 'cache.sqlite');
  keysGateway = await startGateway({ DATABASE_PATH: db, AUTH_MODE: 'keys', PUBLIC_URL: 'https://aurora.example' });
  key = await createKeyWithCli(db, 'shop', 'https://shop.example');
});

afterAll(async () => {
  await gateway?.close();
  await keysGateway?.close();
  removeTempDirs();
});

/** One raw HTTP/1.1 exchange (fetch always sends a valid Host): status line, headers and body. */
function raw(request: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const { port } = new URL(gateway.url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => socket.write(request));
    let text = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const [head, ...rest] = text.split('\r\n\r\n');
      const [statusLine, ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
    });
  });
}

describe('HTTP edges', () => {
  it('a missing or malformed Host is a JSON 400 with CORS, not an empty body', async () => {
    for (const host of [null, 'bad host!', 'a/b', '']) {
      const res = await raw(`GET /healthz HTTP/1.1\r\n${host === null ? '' : `Host: ${host}\r\n`}Connection: close\r\n\r\n`);
      expect(res.status, String(host)).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.headers['access-control-allow-origin']).toBe('*');
      const body = JSON.parse(res.body.replace(/^[0-9a-f]+\r\n|\r\n0\r\n\r\n$/g, ''));
      expect(body.error).toMatchObject({ code: 'invalid_request', field: 'host', request_id: res.headers['x-request-id'] });
    }
  });

  it('a known path under another method is 405 with Allow, as the JSON error with CORS', async () => {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const a = await call(`${gateway.url}/v1/images/generations`, { method });
      expect(a.status, method).toBe(405);
      expect(a.headers.get('allow')).toBe('POST, OPTIONS');
      expect(a.headers.get('access-control-allow-origin')).toBe('*');
      expect(expectErrorBody(a, method).code).toBe('method_not_allowed');
    }
    const put = await call(`${gateway.url}/v1/models`, { method: 'POST', body: '{}' });
    expect([put.status, put.headers.get('allow')]).toEqual([405, 'GET, HEAD, OPTIONS']);
    // An unknown path stays 404, and the right method still works.
    expect((await call(`${gateway.url}/v1/nothing`, { method: 'PUT' })).status).toBe(404);
    expect((await call(`${gateway.url}/v1/models`)).status).toBe(200);
  });

  it('a gzip-encoded body is 415 unsupported_content_encoding, not 400 invalid_json', async () => {
    const { gzipSync } = await import('node:zlib');
    const a = await call(`${gateway.url}/v1/images/generations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(JSON.stringify({ prompt: 'zipped', seed: 1 })),
    });
    expect(a.status).toBe(415);
    expect(a.headers.get('accept-encoding')).toBe('identity');
    expect(expectErrorBody(a)).toMatchObject({ code: 'unsupported_content_encoding', field: 'body' });
  });

  it("with PUBLIC_URL, only PUBLIC_URL's origin is the gateway's own (a page on the Host's origin is not)", async () => {
    const post = (origin: string) =>
      call(`${keysGateway.url}/v1/images/generations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, origin },
        body: JSON.stringify({ prompt: 'own origin', seed: 1 }),
      });
    // The Host the client sent makes this origin; the key allows only https://shop.example.
    const hostOrigin = new URL(keysGateway.url).origin;
    const denied = await post(hostOrigin);
    expect(denied.status).toBe(403);
    expect(expectErrorBody(denied).code).toBe('origin_not_allowed');
    expect((await post('https://aurora.example')).status).toBe(200);
    expect((await post('https://shop.example')).status).toBe(200);
  });
});
