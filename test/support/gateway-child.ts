/**
 * The Node gateway as a child process for tests that must kill or restart it: configured by the
 * environment (as `npm start`), prints `METRICS <url>` (with METRICS_PORT) and `LISTENING <url>` once
 * ready, closes cleanly on SIGTERM.
 *   node --import tsx test/support/gateway-child.ts
 */
import { startNodeGateway } from '../../apps/edge/src/node.ts';

const gateway = await startNodeGateway({ log: (line) => process.stderr.write(`${line}\n`) });
process.once('SIGTERM', () => void gateway.close().then(() => process.exit(0)));
// METRICS_PORT=0 picks a free port in the child: a port a test chose before could be taken by then.
if (gateway.metricsUrl) console.log(`METRICS ${gateway.metricsUrl}`);
console.log(`LISTENING ${gateway.url}`);
