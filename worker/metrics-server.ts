import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { safeEqual } from '../src/common/signing.js';
import type { AppConfig } from '../src/config/app-config.js';
import type { WorkerMetrics } from '../src/metrics/worker-metrics.js';

export interface MetricsServer {
  /** Where Prometheus scrapes this worker (`<url>/metrics`). */
  url: string;
  close(): Promise<void>;
}

/**
 * The worker's own HTTP port: `GET /metrics` (Prometheus text; with METRICS_TOKEN set, scrapers
 * send it as a bearer token, as for the API's) and `GET /healthz`. Nothing else is served.
 */
export async function startMetricsServer(
  config: AppConfig,
  metrics: WorkerMetrics,
): Promise<MetricsServer> {
  const token = config.http.metricsToken;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || (path !== '/metrics' && path !== '/healthz')) {
      res.writeHead(404, { 'content-type': 'application/problem+json' });
      res.end(JSON.stringify({ type: 'about:blank', title: 'Not Found', status: 404 }));
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"ok"}');
      return;
    }
    if (token && !safeEqual(req.headers.authorization ?? '', `Bearer ${token}`)) {
      res.writeHead(401, { 'content-type': 'application/problem+json' });
      res.end(
        JSON.stringify({
          type: 'about:blank',
          title: 'Unauthorized',
          status: 401,
          detail: 'Send the metrics token as `Authorization: Bearer <METRICS_TOKEN>`.',
        }),
      );
      return;
    }
    metrics.render().then(
      ({ contentType, body }) => {
        res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
        res.end(body);
      },
      (err: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(err));
      },
    );
  });
  const { port, host } = config.worker.metrics;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return {
    url: `http://${shown.includes(':') ? `[${shown}]` : shown}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
