/** Builds fully connected TCP endpoints on 127.0.0.1 with ephemeral ports. */
import { createServer } from 'node:net';
import type { ServerId } from '@zabkit/core';
import { type PeerAddress, TcpTransport, type TcpTransportOptions } from '../src/index.js';

export const localhost = '127.0.0.1';
/** Fast reconnects keep the tests quick. */
export const fastReconnect = { initialMs: 10, maxMs: 100 };

export async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/**
 * Starts one endpoint per id on port 0, then fills in every endpoint's address book with
 * the ports bound, and waits until every link is up.
 */
export async function connectedEndpoints(
  ids: readonly ServerId[],
  options: Partial<TcpTransportOptions> = {},
): Promise<TcpTransport[]> {
  const endpoints = ids.map(
    (serverId) =>
      new TcpTransport({
        reconnect: fastReconnect,
        ...options,
        serverId,
        listen: { host: localhost, port: 0 },
      }),
  );
  const addresses = await Promise.all(endpoints.map((endpoint) => endpoint.start()));
  for (const endpoint of endpoints) {
    for (const [i, id] of ids.entries()) endpoint.setPeer(id, addresses[i]!);
  }
  await until(() => endpoints.every((e) => ids.every((id) => id === e.serverId || e.isLinkUp(id))));
  return endpoints;
}

/** A port nothing listens on right now (bound and released). */
export async function freePort(): Promise<PeerAddress> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, localhost, resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return { host: localhost, port };
}
