import { sha256Hex } from '@aurora-edge/model';
import { asc, eq, sql } from 'drizzle-orm';
import type { CacheDb } from '../cache/db.ts';
import { type Dialect, type Prepared, sqliteDialect } from '../cache/dialect.ts';
import type { ApiKeyRow } from './schema.ts';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** A secret: "ak_" and 32 base62 characters (190 bits). */
export const SECRET_RE = /^ak_[0-9A-Za-z]{32}$/;
export const MAX_RPM = 100_000;

/** Uniform base62 text from crypto.getRandomValues (bytes >= 248 are dropped: no modulo bias). */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const b of crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (b < 248 && out.length < length) out += BASE62[b % 62];
    }
  }
  return out;
}

/** The stored form of a secret: sha256 hex. Secrets are random, so no salt or slow hash is needed. */
export const hashSecret = (secret: string): string => sha256Hex(secret);

/** An API key as the gateway sees it (never with its secret). */
export interface ApiKey {
  readonly id: string;
  readonly name: string;
  /** Serialised origins ("https://example.com", lower-case, no path) or "*". */
  readonly origins: readonly string[];
  readonly rpm: number;
  readonly createdAt: number;
  readonly revokedAt: number | null;
}

export interface NewKey {
  readonly name: string;
  readonly origins: readonly string[];
  readonly rpm: number;
}

/** "https://Example.com/" -> "https://example.com"; "*" stays; anything with a path, query or other scheme is a RangeError. */
export function normaliseOrigin(value: string): string {
  const text = value.trim();
  if (text === '*') return '*';
  const shape = /^https?:\/\/[^/?#@\s]+\/?$/i;
  let url: URL | null = null;
  try {
    url = shape.test(text) ? new URL(text) : null;
  } catch {
    url = null;
  }
  if (!url) throw new RangeError(`origins: "${value}" must be an http(s) origin with no path, like https://example.com or http://localhost:5173`);
  return url.origin;
}

/** A Standard Webhooks secret: "whsec_" and the base64 of 24 random bytes (signs this key's batch webhooks). */
export function newWebhookSecret(): string {
  return `whsec_${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(24))))}`;
}

/** Checks a new key's fields (RangeError naming the field) and returns its row and its one-time secret. */
export function prepareKey(input: NewKey, now: number): { row: ApiKeyRow; secret: string; webhookSecret: string; key: ApiKey } {
  const name = input.name.trim();
  if (name.length === 0 || name.length > 100) throw new RangeError('name: must be 1..100 characters');
  if (!Number.isInteger(input.rpm) || input.rpm < 1 || input.rpm > MAX_RPM)
    throw new RangeError(`rpm: must be an integer in [1, ${MAX_RPM}], got ${input.rpm}`);
  if (input.origins.length === 0) throw new RangeError('origins: give at least one origin, or "*" for any');
  const origins = [...new Set(input.origins.map(normaliseOrigin))];
  const secret = `ak_${randomBase62(32)}`;
  const row: ApiKeyRow = {
    id: `key_${randomBase62(12)}`,
    name,
    keyHash: hashSecret(secret),
    origins: JSON.stringify(origins),
    rpm: input.rpm,
    createdAt: now,
    revokedAt: null,
    webhookSecret: newWebhookSecret(),
  };
  return { row, secret, webhookSecret: row.webhookSecret!, key: toKey(row) };
}

export function toKey(row: ApiKeyRow): ApiKey {
  return { id: row.id, name: row.name, origins: JSON.parse(row.origins) as string[], rpm: row.rpm, createdAt: row.createdAt, revokedAt: row.revokedAt };
}

/** May a browser page on `origin` use this key? ("*" allows any, "null" origins included.) */
export function originAllowed(key: ApiKey, origin: string): boolean {
  return key.origins.includes('*') || key.origins.includes(origin.toLowerCase());
}

const literal = (v: string | number | null) => (v === null ? 'NULL' : typeof v === 'number' ? String(v) : `'${v.replaceAll("'", "''")}'`);

/** The INSERT for a prepared row, for `wrangler d1 execute` (Workers have no CLI access to D1). */
export function insertSql(row: ApiKeyRow): string {
  const cols = ['id', 'name', 'key_hash', 'origins', 'rpm', 'created_at', 'revoked_at', 'webhook_secret'];
  const values = [row.id, row.name, row.keyHash, row.origins, row.rpm, row.createdAt, row.revokedAt, row.webhookSecret];
  return `INSERT INTO api_keys (${cols.join(', ')}) VALUES (${values.map(literal).join(', ')});`;
}

export function revokeSql(id: string, now: number): string {
  return `UPDATE api_keys SET revoked_at = ${now} WHERE id = ${literal(id)} AND revoked_at IS NULL;`;
}

/** API keys in the gateway's database (SQLite on Node, D1 on Workers). */
export class KeyStore {
  private readonly byHash: Prepared<ApiKeyRow>;
  private readonly apiKeys;

  constructor(
    private readonly db: CacheDb,
    dialect: Dialect = sqliteDialect,
  ) {
    const { apiKeys } = dialect.tables;
    this.apiKeys = apiKeys;
    // Prepared once: a keyed request then skips query building.
    this.byHash = dialect.prepare<ApiKeyRow>(
      db
        .select()
        .from(apiKeys)
        .where(eq(apiKeys.keyHash, sql.placeholder('hash'))),
      'api_key_by_hash',
    );
  }

  /** Stores a new key; the secret is returned here and nowhere else. */
  async create(input: NewKey, now = Date.now()): Promise<{ key: ApiKey; secret: string }> {
    const { row, secret, key } = prepareKey(input, now);
    await this.insertPrepared(row);
    return { key, secret };
  }

  async insertPrepared(row: ApiKeyRow): Promise<void> {
    await this.db.insert(this.apiKeys).values(row);
  }

  async list(): Promise<ApiKey[]> {
    return (await this.db.select().from(this.apiKeys).orderBy(asc(this.apiKeys.createdAt), asc(this.apiKeys.id))).map(toKey);
  }

  async get(id: string): Promise<ApiKey | null> {
    const [row] = await this.db.select().from(this.apiKeys).where(eq(this.apiKeys.id, id));
    return row ? toKey(row) : null;
  }

  /** Marks a key revoked (from then on it gets 401); null when there is no such key. Revoking twice keeps the first time. */
  async revoke(id: string, now = Date.now()): Promise<ApiKey | null> {
    const key = await this.get(id);
    if (!key || key.revokedAt !== null) return key;
    await this.db.update(this.apiKeys).set({ revokedAt: now }).where(eq(this.apiKeys.id, id));
    return { ...key, revokedAt: now };
  }

  /** The key a secret belongs to (revoked ones included), or null. */
  async find(secret: string): Promise<ApiKey | null> {
    if (!SECRET_RE.test(secret)) return null;
    const [row] = await this.byHash.all({ hash: hashSecret(secret) });
    return row ? toKey(row) : null;
  }
}
