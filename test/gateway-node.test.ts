import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { type NodeGateway, startNodeGateway } from '../apps/edge/src/node.ts';
import { gatewayContract } from './support/gateway-contract.ts';
import { tinyOnly } from './support/reliability.ts';

// The Node gateway as `npm start` runs it: SQLite file, onnxruntime-web in-process and a real
// apps/gpu-runner child process; aurora-tiny only, the model the contract is about
// (gateway-shipped-models.test.ts starts the default set).
let gateway: NodeGateway;
let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-edge-node-'));
  gateway = await startNodeGateway({
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_PATH: path.join(dir, 'cache.sqlite'),
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
  fs.rmSync(dir, { recursive: true, force: true });
});

gatewayContract('node', () => ({ fetch: (p, init) => fetch(`${gateway.url}${p}`, init) }));
