import { afterAll, beforeAll, describe } from 'vitest';
import { type NodeGateway, startNodeGateway } from '../apps/edge/src/node.ts';
import { gatewayContract } from './support/gateway-contract.ts';
import { postgresAvailable, startPostgres, type TestPostgres } from './support/postgres.ts';
import { tinyOnly } from './support/reliability.ts';

// The Node gateway on Postgres (DATABASE_URL), otherwise as gateway-node.test.ts runs it: a real
// apps/gpu-runner child process, aurora-tiny only. The same contract as on SQLite and D1.
describe.skipIf(!postgresAvailable)('Node gateway on Postgres', () => {
  let server: TestPostgres;
  let gateway: NodeGateway;

  beforeAll(async () => {
    server = await startPostgres();
    gateway = await startNodeGateway({
      env: {
        ...process.env,
        PORT: '0',
        HOST: '127.0.0.1',
        DATABASE_URL: await server.createDatabase(),
        LOCAL_RUNNER: '1',
        RUNNERS: '',
        WASM_MAX_BATCH: '2',
        ...tinyOnly(),
      },
      log: () => undefined,
    });
  });

  afterAll(async () => {
    await gateway?.close();
    await server?.stop();
  });

  gatewayContract('node + postgres', () => ({ fetch: (p, init) => fetch(`${gateway.url}${p}`, init) }));
});
