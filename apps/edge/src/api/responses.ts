import { errorSchema } from './schemas.ts';

/** OpenAPI security: an API key, or none (open mode, or lookups with ANONYMOUS_LOOKUPS). */
export const OPTIONAL_KEY: Array<Record<string, string[]>> = [{ apiKey: [] }, {}];

/** An error response in the OpenAPI document: the JSON error body. */
export const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: errorSchema } } });

/** What every lookup route (GET /v1/cache, /v1/models, /v1/models/{id}, /v1/gallery) can answer for its key. */
export const LOOKUP_AUTH_RESPONSES = {
  401: errorResponse('api_key_required (AUTH_MODE=keys without ANONYMOUS_LOOKUPS), invalid_api_key or api_key_revoked'),
  403: errorResponse("origin_not_allowed: the Origin is not on the API key's allowlist"),
};

/** The description lookups carry about keys. */
export const LOOKUP_KEY_NOTE =
  'Needs an API key (Authorization: Bearer) when the gateway runs with AUTH_MODE=keys, unless ANONYMOUS_LOOKUPS=true; a key that is sent is always checked.';
