/**
 * The real gateway for the embed's browser tests: the Node gateway (apps/edge/src/node.ts, so
 * createApp with the Node runtime's deps) in this process on a loopback port, as the gateway's own
 * tests start it (test/support/reliability.ts): AUTH_MODE=keys, a temp SQLite database, aurora-tiny
 * only, generation in-process on onnxruntime-web (no GPU runner, so API images have route "wasm").
 * It serves what an embedding page loads (/embed.js and its chunks, /ort/*, /bundles/aurora-tiny/*)
 * and the API, with its own image ids, CORS and RateLimit headers.
 */
import type { Page } from 'playwright-core';
import type { NodeGateway } from '../../../../apps/edge/src/node.ts';
import { removeTempDirs, startGateway, tempDir } from '../../../../test/support/reliability.ts';

export interface EmbedGateway {
  readonly url: string;
  readonly gateway: NodeGateway;
  /** An API key allowed from these origins (pages; servers send no Origin and always pass), `rpm` generations a minute. */
  createKey(origins: readonly string[], rpm?: number): Promise<string>;
  close(): Promise<void>;
}

export async function startEmbedGateway(): Promise<EmbedGateway> {
  const gateway = await startGateway({ DATABASE_PATH: `${tempDir('aurora-embed-gateway-')}/cache.sqlite`, AUTH_MODE: 'keys' });
  return {
    url: gateway.url,
    gateway,
    createKey: async (origins, rpm = 60) => (await gateway.deps.access.keys.create({ name: 'embed-test', origins: [...origins], rpm })).secret,
    close: async () => {
      await gateway.close();
      removeTempDirs();
    },
  };
}

/** The prompts of every generation request a page sends (recorded from before it loads). */
export function recordGenerations(page: Page): string[] {
  const prompts: string[] = [];
  page.on('request', (req) => {
    if (req.method() === 'POST' && new URL(req.url()).pathname === '/v1/images/generations') prompts.push(JSON.parse(req.postData() ?? '{}').prompt);
  });
  return prompts;
}
