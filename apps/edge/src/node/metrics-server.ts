import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { GatewayMetrics } from '../observe/gateway-metrics.ts';
import { PROMETHEUS_CONTENT_TYPE } from '../observe/prometheus.ts';

/**
 * GET /metrics (Prometheus text) on a listener of its own, never on the public port: it binds to
 * loopback by default (METRICS_HOST), so only the host itself (a local Prometheus or agent) can
 * read request counts and queue depths. Behind a reverse proxy on the same host the public port's
 * requests also come from loopback, which is why this is a separate port rather than a loopback
 * check on the public one.
 */
export function startMetricsServer(metrics: GatewayMetrics, port: number, host: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url?.split('?')[0] === '/metrics') {
      res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE });
      res.end(metrics.text());
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('only GET /metrics is served here\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const { port: actual } = server.address() as AddressInfo;
      const shown = host.includes(':') ? `[${host}]` : host;
      resolve({ url: `http://${shown}:${actual}`, close: () => new Promise<void>((done) => server.close(() => done())) });
    });
  });
}
