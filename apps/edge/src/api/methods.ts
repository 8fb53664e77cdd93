import type { MiddlewareHandler } from 'hono';
import { TrieRouter } from 'hono/router/trie-router';
import { EdgeError } from '../errors.ts';
import type { EdgeApp } from './context.ts';

/**
 * 405 with `Allow` for a path the app serves under other methods (without it, GET on the
 * generation route would be a 404, as if the route did not exist). Registered after CORS, so the
 * 405 is the JSON error and readable cross-origin; preflights on /v1/* are answered before it. The table of
 * methods by path is built from the app's own routes on first use, once every route is registered.
 */
export function methodNotAllowed(app: EdgeApp): MiddlewareHandler {
  let router: TrieRouter<string[]> | null = null;
  return async (c, next) => {
    router ??= methodsByPath(app);
    const { method, path } = c.req;
    const allowed = new Set<string>();
    for (const [methods] of router.match('ALL', path)[0]) for (const m of methods) allowed.add(m);
    if (allowed.size === 0 || allowed.has(method)) return next();
    if (path.startsWith('/v1/')) allowed.add('OPTIONS');
    const allow = [...allowed].join(', ');
    throw new EdgeError(405, 'method_not_allowed', `${method} is not allowed on ${path}; use ${allow}`, { headers: { allow } });
  };
}

function methodsByPath(app: EdgeApp): TrieRouter<string[]> {
  const byPath = new Map<string, Set<string>>();
  for (const route of app.routes) {
    if (route.method === 'ALL') continue; // middleware
    const methods = byPath.get(route.path) ?? new Set<string>();
    methods.add(route.method);
    if (route.method === 'GET') methods.add('HEAD'); // Hono answers HEAD with the GET handler
    byPath.set(route.path, methods);
  }
  const router = new TrieRouter<string[]>();
  for (const [path, methods] of byPath) router.add('ALL', path, [...methods]);
  return router;
}
