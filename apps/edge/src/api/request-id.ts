import type { MiddlewareHandler } from 'hono';
import { requestId as honoRequestId } from 'hono/request-id';

declare module 'hono' {
  interface ContextVariableMap {
    /** This request's id: the x-request-id header of the answer, error bodies' request_id, and the server log's key for it. */
    requestId: string;
  }
}

/**
 * Gives every request an id: the caller's `x-request-id` when it is a short token (a proxy in
 * front may have set one; at most 64 characters of [A-Za-z0-9_=-]), else a random UUID. It is sent
 * back as `x-request-id`, carried by every error body, and starts the server's log line for the
 * request, so a user's report can be matched to the details that only the log holds.
 */
export function requestId(): MiddlewareHandler {
  return honoRequestId({ limitLength: 64, headerName: 'x-request-id' });
}
