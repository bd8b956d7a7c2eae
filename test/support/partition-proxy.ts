/**
 * A TCP proxy that plays a network partition between a client and its server: while
 * partitioned it forwards nothing and answers nothing (connections stay open, bytes are
 * dropped, as on a broken route); healed, new connections go through again.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

export class PartitionProxy {
  private partitioned = false;
  private readonly sockets = new Set<Socket>();
  private constructor(private readonly server: Server) {}

  static async start(target: { host: string; port: number }): Promise<PartitionProxy> {
    let proxy: PartitionProxy | undefined;
    const server = createServer((inbound) => {
      const outbound = tcpConnect(target);
      for (const socket of [inbound, outbound]) {
        proxy!.sockets.add(socket);
        socket.on('error', () => undefined);
        socket.on('close', () => {
          proxy!.sockets.delete(socket);
          inbound.destroy();
          outbound.destroy();
        });
      }
      // A connection made during the partition never carries anything, even once it heals:
      // its first bytes were lost, so the server could not make sense of the rest.
      const bornPartitioned = proxy!.partitioned;
      inbound.on('data', (chunk) => {
        if (!proxy!.partitioned && !bornPartitioned) outbound.write(chunk);
      });
      outbound.on('data', (chunk) => {
        if (!proxy!.partitioned && !bornPartitioned) inbound.write(chunk);
      });
    });
    proxy = new PartitionProxy(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get connectString(): string {
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('not listening');
    return `127.0.0.1:${address.port}`;
  }

  partition(): void {
    this.partitioned = true;
  }

  heal(): void {
    this.partitioned = false;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
