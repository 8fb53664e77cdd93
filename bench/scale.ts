/**
 * Several gateways on one Postgres (issue 16): two Node gateway processes (aurora-tiny, WASM only)
 * on a throwaway Postgres (test/support/postgres.ts), autocannon over loopback.
 *   scale.two_gateways_hit_rps    cache-hit POST /v1/images/generations requests/s, both gateways
 *                                 loaded at once (10 connections each, 3 s after a 1 s warm-up), summed
 *   scale.coalesced_generations   images generated (the gateways' aurora_edge_images_generated_total)
 *                                 for 40 concurrent identical misses split across the two: 1 is the goal
 * Skipped (no keys) when Postgres's server binaries are not installed.
 *   tsx bench/scale.ts
 */
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import { metric } from '../apps/gpu-runner/test/support/runner-process.ts';
import { postgresBinDir, startPostgres } from '../test/support/postgres.ts';
import { type GatewayChild, postJson, startGatewayChild } from '../test/support/reliability.ts';

const CONNECTIONS = 10;
const DURATION_S = 3;

async function generatedOn(metricsUrl: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  return metric(text, 'aurora_edge_images_generated_total{route="wasm"}') + metric(text, 'aurora_edge_images_generated_total{route="runner"}');
}

function hits(url: string, body: string, duration: number): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(
      { url: `${url}/v1/images/generations`, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections: CONNECTIONS, duration },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
}

export async function runScaleBench(): Promise<Record<string, number>> {
  if (!postgresBinDir()) {
    console.log('scale: skipped (no Postgres server binaries: apt-get install postgresql)');
    return {};
  }
  const server = await startPostgres();
  const gateways: { child: GatewayChild; metricsUrl: string }[] = [];
  try {
    const url = await server.createDatabase();
    for (let i = 0; i < 2; i++) {
      const child = await startGatewayChild({ DATABASE_URL: url, METRICS_PORT: '0', ANON_RPM: '0' });
      gateways.push({ child, metricsUrl: child.metricsUrl! });
    }
    const [a, b] = gateways;

    // 40 concurrent identical misses, alternating between the gateways.
    const before = (await generatedOn(a.metricsUrl)) + (await generatedOn(b.metricsUrl));
    const miss = { prompt: 'one generation for two gateways', n: 1, seed: 777 };
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => postJson(gateways[i % 2].child.url, miss)));
    const failed = answers.filter((r) => r.status !== 200).length;
    if (failed > 0) throw new Error(`scale: ${failed} of 40 concurrent misses failed`);
    const coalesced = (await generatedOn(a.metricsUrl)) + (await generatedOn(b.metricsUrl)) - before;

    // Cache hits through both at once (the image above is cached now).
    const body = JSON.stringify(miss);
    await Promise.all([hits(a.child.url, body, 1), hits(b.child.url, body, 1)]);
    const loaded = await Promise.all([hits(a.child.url, body, DURATION_S), hits(b.child.url, body, DURATION_S)]);
    const non2xx = loaded.reduce((sum, r) => sum + r.non2xx + r.errors, 0);
    if (non2xx > 0) throw new Error(`scale: ${non2xx} cache-hit requests failed`);
    const rps = loaded.reduce((sum, r) => sum + r.requests.average, 0);
    const results = { 'scale.two_gateways_hit_rps': Math.round(rps), 'scale.coalesced_generations': coalesced };
    console.log(`scale: 2 gateways on Postgres: ${results['scale.two_gateways_hit_rps']} cache hits/s; 40 concurrent misses -> ${coalesced} generation(s)`);
    return results;
  } finally {
    for (const g of gateways) {
      g.child.child.kill('SIGTERM');
      await g.child.exited;
    }
    await server.stop();
  }
}

if (process.argv[1] && pathToFileURL(path.resolve(process.argv[1])).href === import.meta.url) {
  runScaleBench().then(
    (r) => console.log(JSON.stringify(r, null, 2)),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
