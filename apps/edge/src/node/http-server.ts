import * as http from 'node:http';
import { getRequestListener, RequestError } from '@hono/node-server';
import { EdgeError, errorBody } from '../errors.ts';

type FetchCallback = Parameters<typeof getRequestListener>[0];

/** The JSON error for a request the app never saw, readable cross-origin, with a request id. */
function requestError(e: EdgeError): { status: number; headers: Record<string, string>; body: string } {
  const requestId = crypto.randomUUID();
  return {
    status: e.status,
    headers: { 'content-type': 'application/json', 'access-control-allow-origin': '*', 'x-request-id': requestId, connection: 'close' },
    body: JSON.stringify(errorBody(e, requestId)),
  };
}

/** A Host header that is exactly a host and optional port (what `new URL` reads back unchanged). */
function validHost(host: string | undefined): boolean {
  if (!host) return false;
  try {
    const url = new URL(`http://${host}`);
    return url.host === host.toLowerCase() || `${url.hostname}:${url.port || '80'}` === host.toLowerCase();
  } catch {
    return false;
  }
}

/**
 * The app on node:http. What the app cannot answer because no Request can be made from it (a
 * missing or malformed Host, a backslash in the path) gets the JSON error every other 4xx is, with
 * CORS, instead of @hono/node-server's (or Node's own, `requireHostHeader`) bare 400 with an empty
 * body, so a client reads every refusal the same way.
 */
export function listen(fetch: FetchCallback, port: number, hostname?: string): Promise<http.Server> {
  const app = getRequestListener(fetch, {
    errorHandler: (error) => {
      const e =
        error instanceof RequestError
          ? new EdgeError(400, 'invalid_request', `bad request: ${error.message}`, { field: 'url', cause: error })
          : new EdgeError(500, 'internal_error', 'internal error', { cause: error });
      const { status, headers, body } = requestError(e);
      return new Response(body, { status, headers });
    },
  });
  const listener: http.RequestListener = (incoming, outgoing) => {
    if (validHost(incoming.headers.host)) return void app(incoming, outgoing);
    const message = incoming.headers.host ? 'the Host header is not a host name and optional port' : 'a Host header is required';
    const { status, headers, body } = requestError(new EdgeError(400, 'invalid_request', message, { field: 'host' }));
    outgoing.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
    outgoing.end(body);
    incoming.resume(); // the body, if any, is not read
  };
  const server = http.createServer({ requireHostHeader: false }, listener);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, hostname, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
