/**
 * The Prometheus endpoint: `GET /metrics` on `metricsProvider.httpHost:httpPort`, as ZooKeeper's
 * Prometheus provider serves it (anything else is 404, TRACE is refused).
 *
 * @module
 */
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from '../log.js';
import { emptyQuantilesAsNaN } from './exposition.js';

/** An HTTP listener serving one registry's exposition at /metrics. */
export class MetricsHttpServer {
  private constructor(private readonly server: Server) {}

  /** Listens on host:port (0 for a free port); resolves once bound, rejects if it cannot bind. */
  static async listen(
    registry: Registry,
    host: string,
    port: number,
    log: Logger,
  ): Promise<MetricsHttpServer> {
    const server = createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0];
      if (request.method === 'TRACE') {
        response.writeHead(405).end();
        return;
      }
      if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      registry.metrics().then(
        (text) => {
          response.writeHead(200, { 'content-type': registry.contentType });
          response.end(request.method === 'HEAD' ? undefined : emptyQuantilesAsNaN(text));
        },
        (error: unknown) => {
          log.error({ err: error }, 'collecting metrics failed');
          response.writeHead(500, { 'content-type': 'text/plain' }).end('collecting metrics failed\n');
        },
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (error) => log.error({ err: error }, 'metrics endpoint error'));
    return new MetricsHttpServer(server);
  }

  /** Where it listens. */
  address(): { host: string; port: number } {
    const address = this.server.address();
    if (address === null || typeof address === 'string')
      throw new Error('the metrics endpoint is not listening');
    return { host: address.address, port: address.port };
  }

  /** Stops listening and closes open connections. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }
}
