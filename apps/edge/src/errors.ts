import { AuroraInputError } from '@aurora-edge/model';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ZodError } from 'zod';

/**
 * The gateway's one error class: an HTTP status, a stable machine code, the request field at
 * fault (when there is one), extra headers (Retry-After) and the underlying cause.
 */
export class EdgeError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly options: { field?: string; cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'EdgeError';
  }

  get field(): string | undefined {
    return this.options.field;
  }

  static badRequest(field: string, message: string): EdgeError {
    return new EdgeError(400, 'invalid_request', `${field}: ${message}`, { field });
  }

  static notFound(code: string, message: string): EdgeError {
    return new EdgeError(404, code, message);
  }

  /** The cache database is locked by another writer (SQLITE_BUSY / D1's "database is locked"): retry soon. */
  static databaseBusy(retryAfterS: number, cause?: unknown): EdgeError {
    return new EdgeError(503, 'database_busy', 'the image cache database is busy; nothing was stored, try again shortly', {
      cause,
      headers: { 'retry-after': String(retryAfterS) },
    });
  }

  /** A zod failure: the first issue's path is the field; every issue is listed in the message. */
  static fromZod(error: ZodError, target: string): EdgeError {
    const whole = target === 'json' ? 'body' : target;
    const fieldOf = (path: PropertyKey[]) => (path.length ? path.map(String).join('.') : whole);
    const [first] = error.issues;
    const message = error.issues.map((i) => `${fieldOf(i.path)}: ${i.message}`).join('; ');
    return new EdgeError(400, 'invalid_request', message, { field: fieldOf(first?.path ?? []), cause: error });
  }
}

/** What a thrown HTTPException from Hono's own middleware means to a client. */
function fromHttpException(e: HTTPException): EdgeError {
  if (e.status === 413) return new EdgeError(413, 'payload_too_large', 'request body is over the size limit', { field: 'body', cause: e });
  if (e.status === 415) return new EdgeError(415, 'unsupported_media_type', 'send the body as application/json', { field: 'body', cause: e });
  if (/malformed json/i.test(e.message)) return new EdgeError(400, 'invalid_json', 'request body is not valid JSON', { field: 'body', cause: e });
  return new EdgeError(e.status as ContentfulStatusCode, 'http_error', e.message || 'request failed', { cause: e });
}

/** Retry-After for a busy database when the caller has no configured value. */
const BUSY_RETRY_AFTER_S = 1;

/**
 * Postgres SQLSTATEs that mean "busy, try again": serialization failure, deadlock detected, lock not
 * available, too many connections, the server starting or shutting down.
 */
const PG_BUSY = new Set(['40001', '40P01', '55P03', '53300', '57P03']);

/** SQLITE_BUSY / SQLITE_LOCKED (and their extended codes), or a busy Postgres SQLSTATE, anywhere in the cause chain (drizzle wraps driver errors). */
export function isDatabaseBusy(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (/^SQLITE_(BUSY|LOCKED)/.test(code) || PG_BUSY.has(code))) return true;
    // A query error's message holds the bound parameters (user text): only its cause's counts.
    if (!('query' in e) && /\bSQLITE_(BUSY|LOCKED)\b|database is locked|database table is locked/i.test(e.message)) return true;
  }
  return false;
}

/**
 * The message of an unexpected error, without what only the server should see: drizzle's query
 * errors carry the SQL and every bound parameter (a PNG's bytes among them), so their driver
 * cause speaks for them.
 */
function detailOf(error: unknown): string {
  let e = error;
  if (e instanceof Error && 'query' in e && 'params' in e && e.cause !== undefined) e = e.cause;
  const text = e instanceof Error ? e.message : String(e);
  return text.length > 300 ? `${text.slice(0, 300)}...` : text;
}

export function toEdgeError(error: unknown): EdgeError {
  if (error instanceof EdgeError) return error;
  if (error instanceof AuroraInputError) return new EdgeError(400, 'invalid_request', error.message, { field: error.field, cause: error });
  if (error instanceof HTTPException) return fromHttpException(error);
  if (isDatabaseBusy(error)) return EdgeError.databaseBusy(BUSY_RETRY_AFTER_S, error);
  return new EdgeError(500, 'internal_error', `internal error: ${detailOf(error)}`, { cause: error });
}

/**
 * OpenAI's error `type` for a status. With `param` (the field, or null) it makes the body the
 * shape OpenAI SDKs parse, so their errors carry our field and class as well as code and message.
 */
export function openAiErrorType(status: number): string {
  if (status >= 500) return 'server_error';
  if (status === 401 || status === 403) return 'authentication_error';
  if (status === 429) return 'rate_limit_error';
  return 'invalid_request_error';
}

/** The gateway's error body (schemas.ts errorSchema documents it). */
export interface ErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly field?: string;
    readonly type: string;
    readonly param: string | null;
    /** The request's id (also the x-request-id header): the server log's line for it has the details. */
    readonly request_id?: string;
  };
}

/** URLs (runner addresses among them) in a message meant for a client: servers' addresses stay in the log. */
const ADDRESS_RE = /\b[a-z][a-z0-9+.-]*:\/\/[^\s;,)'"]+/gi;

/** A 5xx message as a client may see it: no internal address, even from an error we did not word. */
export function publicMessage(e: EdgeError): string {
  return e.status >= 500 ? e.message.replace(ADDRESS_RE, '<internal address>') : e.message;
}

export function errorBody(e: EdgeError, requestId?: string): ErrorBody {
  return {
    error: {
      code: e.code,
      message: publicMessage(e),
      ...(e.field ? { field: e.field } : {}),
      type: openAiErrorType(e.status),
      param: e.field ?? null,
      ...(requestId ? { request_id: requestId } : {}),
    },
  };
}

/** A cause's own words for the server log (a NoRunnerError lists every runner and why it failed). */
function causeText(e: EdgeError): string {
  const cause = e.cause;
  return cause instanceof Error && cause !== e ? ` (${cause.message})` : '';
}

/**
 * The app's onError: every failure leaves as `{ error: { code, message, field?, type, param,
 * request_id } }`. The client's message names no internal address; the server log's line, keyed
 * by the same request id, has the details (which runner, and why).
 */
export function onError(log: (message: string, error?: unknown) => void) {
  return (error: unknown, c: Context) => {
    const e = toEdgeError(error);
    const id = (c.get('requestId') as string | undefined) ?? '-';
    // Unexpected failures with their stack; an expected 5xx (no runner, ...) as one line with its cause.
    if (e.status === 500) log(`request ${id}: ${c.req.method} ${c.req.path} -> ${e.status} ${e.code}`, e.cause ?? e);
    else if (e.status > 500) log(`request ${id}: ${c.req.method} ${c.req.path} -> ${e.status} ${e.code}: ${e.message}${causeText(e)}`);
    for (const [k, v] of Object.entries(e.options.headers ?? {})) c.header(k, v);
    // A 413 answers before the body is read: the rest of it is still on the wire, so the connection
    // cannot carry another request (a keep-alive client reusing it would see it reset mid-drain).
    if (e.status === 413) c.header('connection', 'close');
    return c.json(errorBody(e, c.get('requestId') as string | undefined), e.status);
  };
}
