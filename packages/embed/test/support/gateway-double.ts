/**
 * TEST DOUBLE of the gateway (apps/edge): a unit-level harness for the element. The real gateway
 * serves the same (and is driven the same way in test/e2e-browser.test.ts). It serves exactly
 * what the embed needs from the gateway (see docs/embedding.md and the integration checklist):
 * /embed.js and its chunk, /ort/* (onnxruntime-web dist), /bundles/<id>/*,
 * POST /v1/images/generations and GET /v1/images/<id>.png, with an API-key check, a per-key origin
 * allowlist, a 429 key, and CORS. Images come from the REAL AuroraPipeline on onnxruntime-node,
 * so browser-vs-server parity is measured against the server's own code path.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AuroraInputError, type AuroraPipeline, canonicalJson, sha256Hex } from '@aurora-edge/model';

const ORT_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../node_modules/onnxruntime-web/dist');
const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.png': 'image/png',
};

export interface ApiKey {
  /** Origins allowed to use the key from a browser; requests without an Origin (servers) pass. */
  readonly origins: readonly string[];
  /** Answer every generation with 429 (to test the error state). */
  readonly rateLimited?: boolean;
}

export interface GatewayDoubleOptions {
  readonly embedDir: string;
  readonly bundleDir: string;
  readonly bundleId: string;
  readonly pipeline: AuroraPipeline;
  readonly keys: Readonly<Record<string, ApiKey>>;
}

export interface GatewayDouble {
  readonly url: string;
  /** Prompts of every generation request that reached the pipeline. */
  readonly generated: string[];
  close(): Promise<void>;
}

type Res = http.ServerResponse;

function apiCors(req: http.IncomingMessage, res: Res): void {
  // Errors must be readable cross-origin too, or the element could only say "network error".
  if (req.headers.origin) res.setHeader('access-control-allow-origin', req.headers.origin);
  res.setHeader('vary', 'Origin');
  res.setHeader('access-control-expose-headers', 'x-aurora-route, retry-after, ratelimit, ratelimit-policy');
}

function json(res: Res, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

const fail = (res: Res, status: number, code: string, message: string, extra: { field?: string; headers?: Record<string, string> } = {}) =>
  json(res, status, { error: { code, message, ...(extra.field ? { field: extra.field } : {}) } }, extra.headers);

/** Static files are public: CORS `*` on every answer, 404s included (so a page can tell why a load failed). */
const PUBLIC = { 'access-control-allow-origin': '*', 'cross-origin-resource-policy': 'cross-origin' };

function sendFile(res: Res, file: string, cacheControl: string): void {
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) {
    fail(res, 404, 'not_found', `no such file ${path.basename(file)}`, { headers: PUBLIC });
    return;
  }
  const body = fs.readFileSync(file);
  res.writeHead(200, {
    'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
    'cache-control': cacheControl,
    ...PUBLIC,
  });
  res.end(body);
}

export async function startGatewayDouble(o: GatewayDoubleOptions): Promise<GatewayDouble> {
  const images = new Map<string, Uint8Array>();
  const generated: string[] = [];

  async function generate(req: http.IncomingMessage, res: Res, body: string): Promise<void> {
    apiCors(req, res);
    const key = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    const entry = key ? o.keys[key] : undefined;
    if (!entry) return fail(res, 401, 'invalid_api_key', key ? 'unknown API key' : 'send an API key as Authorization: Bearer <key>');
    const origin = req.headers.origin;
    if (origin && !entry.origins.includes(origin)) return fail(res, 403, 'origin_not_allowed', `this API key may not be used from ${origin}`);
    if (entry.rateLimited)
      return fail(res, 429, 'rate_limited', 'too many requests for this key', {
        headers: { 'retry-after': '30', ratelimit: 'limit=10, remaining=0, reset=30' },
      });
    const r = JSON.parse(body);
    if ((r.model ?? o.bundleId) !== o.bundleId) return fail(res, 400, 'invalid_request', `model: unknown model "${r.model}"`, { field: 'model' });
    const n = r.n ?? 1;
    const seed = r.seed ?? Math.floor(Math.random() * 2 ** 31);
    const psi = r.truncation_psi ?? o.pipeline.manifest.sampling.defaultPsi;
    generated.push(r.prompt);
    const out = await o.pipeline.generate(Array.from({ length: n }, (_, i) => ({ prompt: r.prompt, seed: seed + i, psi })));
    const data = out.map((img) => {
      const id = sha256Hex(canonicalJson({ model: o.bundleId, prompt: img.prompt, seed: img.seed, psi: img.psi }));
      const cached = images.has(id);
      images.set(id, img.png);
      return r.response_format === 'b64_json'
        ? { b64_json: Buffer.from(img.png).toString('base64'), seed: img.seed, cached }
        : { url: `/v1/images/${id}.png`, seed: img.seed, cached };
    });
    json(res, 200, { created: Math.floor(Date.now() / 1000), data }, { 'x-aurora-route': 'runner' });
  }

  function route(req: http.IncomingMessage, res: Res, body: string): void | Promise<void> {
    const { pathname } = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'OPTIONS') {
      // Preflight for POST with Authorization + JSON: answered for any origin; the POST itself enforces the allowlist.
      res.writeHead(204, {
        'access-control-allow-origin': req.headers.origin ?? '*',
        'access-control-allow-methods': 'GET, POST, OPTIONS',
        'access-control-allow-headers': 'authorization, content-type',
        'access-control-max-age': '600',
        vary: 'Origin',
      });
      return void res.end();
    }
    if (req.method === 'POST' && pathname === '/v1/images/generations') return generate(req, res, body);
    if (req.method !== 'GET') return fail(res, 405, 'method_not_allowed', `${req.method} ${pathname}`);
    let m: RegExpExecArray | null;
    if ((m = /^\/(embed(?:-local-[A-Z0-9]+)?\.js)$/.exec(pathname))) {
      return sendFile(res, path.join(o.embedDir, m[1]), m[1] === 'embed.js' ? 'public, max-age=300' : 'public, max-age=31536000, immutable');
    }
    // Names without a content hash: cacheable, not immutable (an onnxruntime-web upgrade keeps the names).
    if ((m = /^\/ort\/([\w.-]+\.(?:wasm|mjs))$/.exec(pathname))) return sendFile(res, path.join(ORT_DIST, m[1]), 'public, max-age=86400');
    if ((m = /^\/bundles\/([\w.-]+)\/([\w.-]+)$/.exec(pathname))) {
      return m[1] === o.bundleId
        ? sendFile(res, path.join(o.bundleDir, m[2]), m[2] === 'manifest.json' ? 'public, max-age=300' : 'public, max-age=86400')
        : fail(res, 404, 'not_found', `no bundle ${m[1]}`, { headers: PUBLIC });
    }
    if ((m = /^\/v1\/images\/([0-9a-f]{64})\.png$/.exec(pathname))) {
      const png = images.get(m[1]);
      if (!png) return fail(res, 404, 'not_found', 'no such image', { headers: PUBLIC });
      res.writeHead(200, { 'content-type': 'image/png', 'cache-control': 'public, max-age=31536000, immutable', etag: `"${m[1]}"`, ...PUBLIC });
      return void res.end(png);
    }
    fail(res, 404, 'not_found', `no route ${pathname}`);
  }

  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      Promise.resolve(route(req, res, body)).catch((error) => {
        if (error instanceof AuroraInputError) return fail(res, 400, 'invalid_request', error.message, { field: error.field });
        fail(res, 500, 'internal_error', String(error));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    generated,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
