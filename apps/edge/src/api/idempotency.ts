import { z } from '@hono/zod-openapi';
import { and, eq, lt, or, sql } from 'drizzle-orm';
import type { MiddlewareHandler } from 'hono';
import type { AccessControl } from '../auth/access.ts';
import type { CacheDb } from '../cache/db.ts';
import { type Dialect, sqliteDialect } from '../cache/dialect.ts';
import { EdgeError } from '../errors.ts';

/** How long a key's first response is replayed (the IETF draft leaves it to the server). */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** A `running` claim older than this is taken to be a request that died with its process: the key is free again. */
export const IDEMPOTENCY_LEASE_MS = 15 * 60 * 1000;
/** The largest first response stored for replay; a larger one is answered but not stored (the key is released). */
export const IDEMPOTENCY_MAX_STORED_BYTES = 4 * 1024 * 1024;

const KEY_RE = /^[\x20-\x7e]{1,255}$/;
const HEADER = 'Idempotency-Key';

/** What a claim found: the key is ours now, or someone's first response to replay, or a refusal. */
export type Claim =
  | { readonly kind: 'claimed' }
  | { readonly kind: 'replay'; readonly status: number; readonly body: Uint8Array; readonly contentType: string | null }
  | { readonly kind: 'running' }
  | { readonly kind: 'mismatch' };

/**
 * Idempotency keys in the database (table idempotency_keys), so every process and isolate shares
 * them. A claim is ONE statement: an insert that, on conflict, takes the row over only when it has
 * expired (`ON CONFLICT DO UPDATE ... WHERE`), so two concurrent requests can never both claim a key.
 */
export class IdempotencyStore {
  constructor(
    private readonly db: CacheDb,
    private readonly dialect: Dialect = sqliteDialect,
    private readonly now: () => number = Date.now,
  ) {}

  async claim(scope: string, key: string, bodySha256: string): Promise<Claim> {
    const t = this.dialect.tables.idempotencyKeys;
    const now = this.now();
    const fresh = { bodySha256, state: 'running', status: null, body: null, contentType: null, createdAt: now };
    for (let attempt = 0; attempt < 3; attempt++) {
      const claimed = await this.db
        .insert(t)
        .values({ scope, key, ...fresh })
        .onConflictDoUpdate({
          target: [t.scope, t.key],
          set: fresh,
          setWhere: or(
            lt(t.createdAt, sql`${this.dialect.int(now - IDEMPOTENCY_TTL_MS)}`),
            and(eq(t.state, 'running'), lt(t.createdAt, sql`${this.dialect.int(now - IDEMPOTENCY_LEASE_MS)}`)),
          ),
        })
        .returning({ key: t.key });
      if (claimed.length > 0) return { kind: 'claimed' };
      const [row] = await this.db
        .select()
        .from(t)
        .where(and(eq(t.scope, scope), eq(t.key, key)));
      // Released between the two statements: claim again.
      if (!row) continue;
      if (row.bodySha256 !== bodySha256) return { kind: 'mismatch' };
      if (row.state !== 'done' || row.status === null || row.body === null) return { kind: 'running' };
      return { kind: 'replay', status: row.status, body: row.body, contentType: row.contentType };
    }
    return { kind: 'running' };
  }

  async complete(scope: string, key: string, status: number, body: Uint8Array, contentType: string | null): Promise<void> {
    const t = this.dialect.tables.idempotencyKeys;
    await this.db
      .update(t)
      .set({ state: 'done', status, body, contentType })
      .where(and(eq(t.scope, scope), eq(t.key, key), eq(t.state, 'running')));
  }

  /** Frees a running claim (the first request failed, or its response is too large to store): a retry runs again. */
  async release(scope: string, key: string): Promise<void> {
    const t = this.dialect.tables.idempotencyKeys;
    await this.db.delete(t).where(and(eq(t.scope, scope), eq(t.key, key), eq(t.state, 'running')));
  }
}

async function sha256Hex(parts: readonly Uint8Array[]): Promise<string> {
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const all = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.byteLength;
  }
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', all));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Stores a 2xx response of at most IDEMPOTENCY_MAX_STORED_BYTES for replay; false when it is not stored. */
async function keep(store: IdempotencyStore, scope: string, key: string, res: Response): Promise<boolean> {
  if (res.status < 200 || res.status >= 300) return false;
  const length = Number(res.headers.get('content-length') ?? Number.NaN);
  if (length > IDEMPOTENCY_MAX_STORED_BYTES) return false;
  const bytes = new Uint8Array(await res.clone().arrayBuffer());
  if (bytes.byteLength > IDEMPOTENCY_MAX_STORED_BYTES) return false;
  await store.complete(scope, key, res.status, bytes, res.headers.get('content-type'));
  return true;
}

/**
 * The Idempotency-Key header (IETF draft) on a POST route, after the guard and the body limits.
 * Without the header the request runs exactly as before. With it: the first request with a key
 * claims it and runs; its 2xx response (up to IDEMPOTENCY_MAX_STORED_BYTES) is stored, and the same
 * key with the same body (and route) within 24 h answers it again, byte for byte, with
 * `Idempotent-Replayed: true`, without running or charging anything. The same key with another
 * body is 422; while the first is still running, 409. A first request that fails releases the key.
 * Keys are per caller: per API key, or per client address without one.
 */
export function idempotency(store: IdempotencyStore, access: AccessControl, log?: (message: string, error?: unknown) => void): MiddlewareHandler {
  return async (c, next) => {
    const key = c.req.header('idempotency-key');
    if (key === undefined) return next();
    if (!KEY_RE.test(key)) {
      throw new EdgeError(400, 'invalid_request', `${HEADER}: must be 1 to 255 printable ASCII characters`, { field: HEADER });
    }
    const body = new Uint8Array(await c.req.arrayBuffer());
    const hash = await sha256Hex([new TextEncoder().encode(`${c.req.method} ${c.req.path}\n`), body]);
    const scope = access.scopeOf(c);
    const claim = await store.claim(scope, key, hash);
    if (claim.kind === 'mismatch') {
      throw new EdgeError(422, 'idempotency_key_reused', `${HEADER}: this key was used with a different request body`, { field: HEADER });
    }
    if (claim.kind === 'running') {
      throw new EdgeError(409, 'idempotency_key_in_use', `${HEADER}: a request with this key is still being processed; retry later`, {
        field: HEADER,
      });
    }
    if (claim.kind === 'replay') {
      c.header('idempotent-replayed', 'true');
      if (claim.contentType) c.header('content-type', claim.contentType);
      return c.body(claim.body as Uint8Array<ArrayBuffer>, claim.status as 200);
    }
    let stored = false;
    try {
      await next();
      stored = await keep(store, scope, key, c.res).catch((error) => {
        log?.('idempotency: storing a response failed', error);
        return false;
      });
    } finally {
      if (!stored) await store.release(scope, key).catch((error) => log?.('idempotency: releasing a key failed', error));
    }
  };
}

/** The header as the OpenAPI document describes it (both POST routes); the middleware does the checking. */
export const idempotencyHeaders = z.object({
  'idempotency-key': z
    .string()
    .optional()
    .openapi({
      description:
        'IETF draft Idempotency-Key, 1 to 255 printable ASCII characters, per API key (or client IP without one). The same key and body within 24 h ' +
        'answer the first 2xx response again (Idempotent-Replayed: true, not charged); another body is 422, a duplicate while the first runs 409. ' +
        'Responses over 4 MiB are not stored.',
      example: '5f1c2e9a-req-1',
    }),
});
