/** Shared pieces for the server's socket tests: a started node, a freezable proxy, polling, a store held back. */
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import type { PeerStorage } from '@zabkit/core';
import { parseConfig } from '../src/config.js';
import { ServerNode } from '../src/node.js';

export async function startStandalone(extra = ''): Promise<ServerNode> {
  const { config } = parseConfig(
    `tickTime=200\ndataDir=/tmp/zabkit-test\nclientPort=0\nclientPortAddress=127.0.0.1\n4lw.commands.whitelist=*\n${extra}`,
  );
  return ServerNode.start({ config });
}

export async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * A TCP proxy that can stop forwarding without closing anything: to a client it looks like
 * a server that went silent, the way a network partition looks.
 */
export class FreezableProxy {
  private frozen = false;
  private readonly sockets = new Set<Socket>();
  private constructor(private readonly server: Server) {}

  static async start(target: { host: string; port: number }): Promise<FreezableProxy> {
    let proxy: FreezableProxy | undefined;
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
      inbound.on('data', (chunk) => {
        if (!proxy!.frozen) outbound.write(chunk);
      });
      outbound.on('data', (chunk) => {
        if (!proxy!.frozen) inbound.write(chunk);
      });
    });
    proxy = new FreezableProxy(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('not listening');
    return address.port;
  }

  freeze(): void {
    this.frozen = true;
  }

  /** Refuses everything from now on: open connections are cut, new ones closed at once. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** Sends raw bytes and collects everything until the server closes the connection. */
export function rawExchange(port: number, bytes: Uint8Array, timeoutMs = 3000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('the server did not close the connection'));
    }, timeoutMs);
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
  });
}

/** A store whose appends can be held back, as a stalled disk: a follower holding them does not ack. */
export class GatedStorage {
  private gate: Promise<void> | undefined;
  private open: () => void = () => undefined;
  readonly storage: PeerStorage;
  /** Appends waiting at the gate now. */
  waiting = 0;

  constructor(inner: PeerStorage) {
    this.storage = new Proxy(inner, {
      get: (target, key) => {
        if (key === 'append')
          return async (...args: Parameters<PeerStorage['append']>) => {
            if (this.gate !== undefined) {
              this.waiting++;
              await this.gate;
              this.waiting--;
            }
            return target.append(...args);
          };
        const value = Reflect.get(target, key) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }

  hold(): void {
    this.gate = new Promise((resolve) => {
      this.open = resolve;
    });
  }

  release(): void {
    this.open();
    this.gate = undefined;
  }
}
