import type { Context } from 'hono';
import type { StaticFile } from '../deps.ts';
import { EdgeError } from '../errors.ts';
import type { EdgeApp, RouteContext } from './context.ts';
import { matchesIfNoneMatch } from './images.ts';

/** Public files: readable from any page, embeddable by cross-origin-isolated (COEP) pages too. */
const PUBLIC = { 'access-control-allow-origin': '*', 'cross-origin-resource-policy': 'cross-origin', 'x-content-type-options': 'nosniff' };
const JS = 'text/javascript; charset=utf-8';
const SHORT = 'public, max-age=300';
const DAY = 'public, max-age=86400';
const IMMUTABLE = 'public, max-age=31536000, immutable';
/**
 * The onnxruntime-web files the local-mode chunks load: the WASM SIMD build, and the `.jspi` or
 * `.asyncify` pair of its WebGPU build (only where the page got an adapter; JSPI where the browser
 * has it). Threads come from the same pairs.
 */
const ORT_FILES = /^ort-wasm-simd-threaded(?:\.jspi|\.asyncify)?\.(mjs|wasm)$/;

const missing = (what: string) => new EdgeError(404, 'not_found', `no such file: ${what}`, { headers: PUBLIC });

/** Answers with the file (or 304); a known `etag` is checked before the file is opened. */
async function send(
  c: Context,
  read: () => Promise<StaticFile | null>,
  what: string,
  type: string,
  cacheControl: string,
  knownEtag?: string,
): Promise<Response> {
  const headers: Record<string, string> = { ...PUBLIC, 'content-type': type, 'cache-control': cacheControl };
  // Weak comparison (RFC 9110 If-None-Match): W/ is ignored on both sides.
  const notModified = (etag: string | undefined) => etag !== undefined && matchesIfNoneMatch(c.req.header('if-none-match'), etag.replace(/^W\//, ''));
  if (knownEtag) headers.etag = knownEtag;
  if (notModified(knownEtag)) return c.body(null, 304, headers);
  const file = await read();
  if (!file) throw missing(what);
  if (!knownEtag && file.etag) {
    headers.etag = file.etag;
    if (notModified(file.etag)) return c.body(null, 304, headers);
  }
  if (file.size !== undefined) headers['content-length'] = String(file.size);
  return c.body(file.body as ReadableStream<Uint8Array>, 200, headers);
}

/**
 * What pages embedding <aurora-image> load from the gateway: /embed.js (short-lived, ETag) and its
 * content-hashed local-mode chunk (immutable), onnxruntime-web's WASM build at /ort/*, and the
 * model bundles at /bundles/<id>/* (raw bytes: vocab.txt.gz is served as the gzip file it is,
 * never with Content-Encoding; strong ETags are the manifest's sha256 of each file).
 */
export function registerStatic(app: EdgeApp, { deps }: RouteContext): void {
  const read = (path: string) => () => deps.staticFiles(path);
  app.get('/embed.js', (c) => send(c, read('embed/embed.js'), 'embed.js', JS, SHORT));
  app.get('/:file{embed-local-[A-Z0-9]+\\.js}', (c) => {
    const name = c.req.param('file');
    return send(c, read(`embed/${name}`), name, JS, IMMUTABLE);
  });
  app.get('/ort/:file', async (c) => {
    const name = c.req.param('file');
    const m = ORT_FILES.exec(name);
    if (!m) throw missing(`ort/${name}`);
    return send(c, read(`ort/${name}`), `ort/${name}`, m[1] === 'wasm' ? 'application/wasm' : JS, DAY);
  });
  app.get('/bundles/:id/:file', async (c) => {
    const { id, file } = c.req.param();
    const model = deps.models.all.find((m) => m.id === id);
    const entry = model?.manifest.files[file];
    if (!model || (!entry && file !== 'manifest.json')) throw missing(`bundles/${id}/${file}`);
    const path = `bundles/${id}/${file}`;
    if (!entry) return send(c, read(path), path, 'application/json; charset=utf-8', SHORT, `W/"${model.contentHash}"`);
    return send(c, read(path), path, file.endsWith('.gz') ? 'application/gzip' : 'application/octet-stream', DAY, `"${entry.sha256}"`);
  });
}
