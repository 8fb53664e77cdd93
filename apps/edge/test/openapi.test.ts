/**
 * Issue 13 item 14: the OpenAPI document says what the gateway does. The lookups (GET /v1/cache,
 * /v1/models, /v1/models/{id}, /v1/gallery) answer 401/403 in keys mode, so they declare the API
 * key and those responses; /docs shows the error body's fields, not "error: object"; GET
 * /v1/models/{id} exists (OpenAI SDKs' models.retrieve). The real app on in-memory SQLite.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { testApp } from './support/deps.ts';

const apps: ReturnType<typeof testApp>[] = [];
const setup = (env: Record<string, string> = {}) => {
  const t = testApp(env);
  apps.push(t);
  return t;
};
afterEach(async () => {
  for (const t of apps.splice(0)) await t.close();
});

describe('OpenAPI document and /docs', () => {
  it('every lookup declares the optional API key and its 401 and 403', async () => {
    const doc = await (await setup().request('/openapi.json')).json();
    for (const path of ['/v1/cache', '/v1/models', '/v1/models/{id}', '/v1/gallery']) {
      const op = doc.paths[path]?.get;
      expect(op, path).toBeTruthy();
      expect(op.security, path).toEqual([{ apiKey: [] }, {}]);
      expect(Object.keys(op.responses), path).toEqual(expect.arrayContaining(['200', '401', '403']));
      expect(op.responses['401'].content['application/json'].schema, path).toEqual({ $ref: '#/components/schemas/Error' });
    }
  });

  it('/docs lists the fields inside the error body', async () => {
    const html = await (await setup().request('/docs')).text();
    const errorSection = /<section id="schema-Error">[\s\S]*?<\/section>/.exec(html)?.[0] ?? '';
    for (const field of ['error.code', 'error.message', 'error.field', 'error.type', 'error.param', 'error.request_id']) {
      expect(errorSection, field).toContain(`<code>${field}</code>`);
    }
  });

  it('GET /v1/models/{id}: the model as listed; 404 model_not_found; keys mode needs a key', async () => {
    const t = setup();
    const list = await (await t.request('/v1/models')).json();
    const one = await t.request('/v1/models/aurora-tiny');
    expect(one.status).toBe(200);
    expect(await one.json()).toEqual(list.data[0]);
    const missing = await t.request('/v1/models/dall-e-3');
    expect(missing.status).toBe(404);
    expect((await missing.json()).error).toMatchObject({ code: 'model_not_found', field: 'id' });
    const keys = setup({ AUTH_MODE: 'keys' });
    const denied = await keys.request('/v1/models/aurora-tiny');
    expect([denied.status, (await denied.json()).error.code]).toEqual([401, 'api_key_required']);
  });
});
